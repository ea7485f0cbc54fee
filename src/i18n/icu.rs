//! Locale-correct dates and numbers through ICU4X: a [`Localizer`]'s long
//! and full dates and grouped integers, and the number formatter its Fluent
//! bundle uses for whole numbers in placeables.
//!
//! Pure formatting of values; it never looks up messages or reads files.

use super::fallback::Localizer;
use crate::model::Locale;
use anyhow::{Context, Result, anyhow};
use chrono::{DateTime, Datelike, FixedOffset};
use fluent_bundle::FluentValue;
use icu_datetime::DateTimeFormatter;
use icu_datetime::fieldsets::{YMD, YMDE};
use icu_decimal::DecimalFormatter;
use intl_memoizer::Memoizable;

/// One locale's ICU4X formatters, made once when the catalog is loaded.
pub(super) struct Formats {
    pub(super) long_date: DateTimeFormatter<YMD>,
    pub(super) full_date: DateTimeFormatter<YMDE>,
    pub(super) decimal: DecimalFormatter,
}

impl Formats {
    /// The formatters for `locale`'s tag; an error names the locale when
    /// ICU4X has no data for it or the tag is not one it can use.
    pub(super) fn new(locale: &Locale) -> Result<Formats> {
        let icu_locale = icu_locale_core::Locale::try_from_str(&locale.tag).map_err(|e| {
            anyhow!(
                "locale `{}`: tag `{}` is not usable for dates: {e}",
                locale.key,
                locale.tag
            )
        })?;
        let long_date = DateTimeFormatter::try_new((&icu_locale).into(), YMD::long())
            .with_context(|| {
                format!(
                    "no date formats for locale `{}` ({})",
                    locale.key, locale.tag
                )
            })?;
        let full_date = DateTimeFormatter::try_new((&icu_locale).into(), YMDE::long())
            .with_context(|| {
                format!(
                    "no date formats for locale `{}` ({})",
                    locale.key, locale.tag
                )
            })?;
        let decimal = DecimalFormatter::try_new((&icu_locale).into(), Default::default())
            .with_context(|| {
                format!(
                    "no number formats for locale `{}` ({})",
                    locale.key, locale.tag
                )
            })?;
        Ok(Formats {
            long_date,
            full_date,
            decimal,
        })
    }
}

impl Localizer {
    /// The date in this locale's long form: "8 March 2021" (en-GB), "2021年3月8日" (zh).
    pub fn long_date(&self, date: &DateTime<FixedOffset>) -> String {
        match icu_date(date) {
            Some(d) => self.formats.long_date.format(&d).to_string(),
            None => date.format("%Y-%m-%d").to_string(),
        }
    }

    /// The date with its weekday: "Sunday, 29 November 2026", "2026年11月29日星期日".
    pub fn full_date(&self, date: &DateTime<FixedOffset>) -> String {
        match icu_date(date) {
            Some(d) => self.formats.full_date.format(&d).to_string(),
            None => date.format("%Y-%m-%d").to_string(),
        }
    }

    /// An integer with this locale's digits and grouping: "1,600".
    pub fn number(&self, n: i64) -> String {
        self.formats
            .decimal
            .format(&icu_decimal::input::Decimal::from(n))
            .to_string()
    }
}

fn icu_date(date: &DateTime<FixedOffset>) -> Option<icu_datetime::input::Date<icu_calendar::Iso>> {
    let month = u8::try_from(date.month()).ok()?;
    let day = u8::try_from(date.day()).ok()?;
    icu_datetime::input::Date::try_new_iso(date.year(), month, day).ok()
}

/// ICU4X decimal formatter, memoized per bundle language by fluent.
struct IcuDecimal(DecimalFormatter);

impl Memoizable for IcuDecimal {
    type Args = ();
    type Error = String;
    fn construct(lang: unic_langid::LanguageIdentifier, _: ()) -> Result<Self, String> {
        let locale =
            icu_locale_core::Locale::try_from_str(&lang.to_string()).map_err(|e| e.to_string())?;
        DecimalFormatter::try_new((&locale).into(), Default::default())
            .map(IcuDecimal)
            .map_err(|e| e.to_string())
    }
}

/// Formats whole numbers in Fluent placeables with ICU4X grouping; other
/// numbers keep Fluent's own formatting.
pub(super) fn format_number(
    value: &FluentValue,
    memoizer: &intl_memoizer::concurrent::IntlLangMemoizer,
) -> Option<String> {
    let FluentValue::Number(number) = value else {
        return None;
    };
    let is_plain_integer = number.value.fract() == 0.0
        && number.value.abs() < 1e15
        && number.options.minimum_fraction_digits.is_none();
    if !is_plain_integer {
        return None;
    }
    let decimal = icu_decimal::input::Decimal::from(number.value as i64);
    memoizer
        .with_try_get::<IcuDecimal, _, _>((), |f| f.0.format(&decimal).to_string())
        .ok()
}
