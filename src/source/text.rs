//! Scraped-text source: news pages saved as plain text (copied out of a
//! browser) become a headline, an optional date, the byline's authors, the
//! tag line's tags and body blocks — headings, paragraphs and photo
//! captions — with the site's chrome (navigation, share buttons, cookie
//! banners, hotlines, copyright lines) left out.
//!
//! [`parse_page`] and [`to_markdown`] are pure: no I/O, no clock. `gazette
//! import` writes what [`to_markdown`] returns for a person to review; a
//! `kind = "text"` source ([`load_dir`]) sends the same text through the
//! Markdown source's parser, so rendering and sanitising happen in one place.
//! This module never localises or renders feeds.
//!
//! One line of the page is one unit: browsers copy a paragraph as one line.
//! Classification is a handful of small functions over one line; every
//! pattern is data ([`ChromeRules`]), built in for English and Chinese and
//! extended by the site's `[import]` lists.

use super::clean::is_mostly_cjk;
use super::{LoadContext, Problem, markdown};
use crate::model::Article;
use chrono::{DateTime, FixedOffset, Local, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone};
use pinyin::ToPinyin;
use rayon::prelude::*;
use regex::{Regex, RegexSet};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

/// A page as the importer understood it: plain data, no markup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScrapedPage {
    /// The headline, exactly as written.
    pub title: String,
    /// The date on the page (a dateline near the headline), if it has one.
    /// Pages give wall-clock times without an offset; a date alone is midnight.
    pub date: Option<NaiveDateTime>,
    /// Names from the byline (`By Li Wei and Anna Smith`, `作者：李伟`,
    /// `记者 李伟`), in page order, each once.
    pub authors: Vec<String>,
    /// Tags from a tag line (`Tags: a, b`, `标签：经济、交通`), in page order, each once.
    pub tags: Vec<String>,
    /// The story, in page order.
    pub blocks: Vec<Block>,
}

/// One piece of the story; text is exactly as on the page (trimmed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    /// A section heading: a short line without final punctuation followed by a paragraph.
    Heading(String),
    Paragraph(String),
    /// A photo caption (the photo itself is not in a text copy).
    Caption(String),
}

// --- patterns (data) ---------------------------------------------------------
//
// Every pattern is matched case-insensitively anywhere in a trimmed line;
// anchor with ^…$ for whole lines. They stay specific (anchored, or phrases
// no story paragraph uses) because a false match deletes story text, while
// a miss after the story is harmless: everything after the last paragraph
// is dropped anyway.

/// Lines that are site chrome, wherever they appear.
pub const CHROME_PATTERNS: &[&str] = &[
    // Navigation, buttons and share bars (whole lines).
    r"^(home|menu|search|sign in|sign up|log ?in|log out|register|subscribe|skip to (main )?content|advertisement|advert|sponsored( content)?|share|share this( story| article| page)?|tweet|facebook|twitter|x|whatsapp|linkedin|instagram|weibo|wechat|email|e-mail|print|copy link|comments?|back to top|top stories|most read|trending|accept( all)?( cookies)?|reject( all)?|decline|i agree|agree|got it|ok|close|more|next|previous|loading)[\s:：!.…]*$",
    r"^(home|首页)\s*[>›»/|]",
    r"^share (on|via|to|this)\b",
    r"^follow us\b",
    r"^(sign up|subscribe)\b.*\b(newsletter|updates|alerts)\b",
    r"^(download|get) (our|the) app\b",
    r"^manage (cookies|preferences|settings|consent)",
    // Bylines and tags.
    // Names are capitalised: `(?-i:…)` turns case-insensitivity off there.
    r"^by\s+(?-i:\p{Lu}[\p{L}'’.-]*(\s+(\p{Lu}[\p{L}'’.-]*|and|&|de|van|von|da|del))*)\s*([,|/—–-].*)?$",
    r"^(written|reported|edited) by\b",
    r"^(staff|special) (reporter|correspondent|writer)s?$",
    r"^(tags?|topics?|filed under|categories)\s*[:：]",
    // Cookie, privacy and legal notices.
    r"\bwe use cookies\b",
    r"\bconsent to (our |the use of )?cookies\b",
    r"\bcookie (policy|notice|settings|preferences)\b",
    r"\bprivacy (policy|notice|statement|settings)\b",
    r"\bterms (of (use|service)|and conditions)\b",
    r"\bby (continuing|using) (to use )?(this|our) (site|website)\b",
    r"\ball rights reserved\b",
    r"^(copyright\b|©)|©\s*\d{4}",
    // Contact, hotlines and comment prompts.
    r"^(about us|contact us)|about us\s*\|?\s*contact us",
    r"\b(hotline|tip ?line)\b.*\d",
    r"^report (harmful|illegal|abusive|inappropriate) content\b",
    r"^report (an? )?(error|abuse|correction)\b",
    r"^.{0,80}\b[\w.+-]+@[\w-]+(\.[\w-]+)+\S*$",
    r"^leave a (message|comment|reply)\b",
    r"^(add|post|write) a comment\b",
    r"^\d+ comments?$",
    // Chinese: share and follow prompts, editors, sources, legal lines.
    r"^(扫一扫|扫码|扫描二维码|用微信扫)",
    r"(扫一扫|扫码).{0,10}(分享|关注|下载|阅读)",
    r"^分享(到|至)?\s*[:：]",
    r"^(微信|微博|QQ空间|朋友圈|QQ|抖音|今日头条|分享|收藏|点赞|评论|打印|打印本页|关闭|关闭窗口|返回顶部|返回首页|我要留言|留言|发表评论|网友评论|评论区|接受|同意|我同意|拒绝|我知道了|确定)$",
    r"^【?(责任编辑|责编|编辑|校对|审核|签发|监制|主编|作者|来源|稿源|出处|供稿|通讯员|实习生)\s*[:：]",
    r"^【?(责任编辑|责编)",
    r"^(本报)?记者\s*[:：]?\s*[\p{Han}·]{2,4}(\s+[\p{Han}·]{2,4})*$",
    r"^[（(](记者|通讯员)[\p{Han}\s]{2,12}[）)]$",
    r"版权所有|版权声明|未经(书面)?(授权|许可).{0,20}(转载|使用)",
    r"举报(电话|邮箱|中心|专区)|不良信息举报",
    r"^关注我们|^(欢迎)?关注(我们的)?(微信|公众号|官方)",
    r"^(联系我们|关于我们|网站地图|广告服务|加入我们|意见反馈|隐私政策|用户协议|法律声明|网站声明|免责声明)",
    r"ICP(备|证)|公网安备",
    r"^【?字体\s*[:：]",
    r"^【(纠错|打印|关闭|收藏)】",
    r"^(上一篇|下一篇)",
    r"^(点击|点此)(进入|查看|阅读|下载)",
    r"(本网站|本站)使用\s*cookies?",
    r"^[（(]完[）)]$",
];

/// Lines that start a list of links ("Related stories"): they and the
/// lines right under them, up to a blank line or a paragraph, are chrome.
pub const LIST_PATTERNS: &[&str] = &[
    r"^related( stories| articles| news| coverage| content| links)?\s*[:：]?$",
    r"^(read more|more (stories|from|on)|see also|recommended( for you)?|you (may|might) also like|editor'?s picks|most popular|popular now)\b",
    r"^(相关(新闻|阅读|报道|链接|文章)|推荐阅读|延伸阅读|热点推荐|猜你喜欢|更多精彩|热门推荐|往期回顾)",
];

/// Photo captions: credits in words or in brackets at the end.
pub const CAPTION_PATTERNS: &[&str] = &[
    r"[(（][^()（）]*\b(photo|photograph|picture|image|illustration|graphic|file|credit|courtesy)s?\b[^()（）]*[)）]\s*$",
    r"^(photo|photograph|picture|image|pictured|above|top|below|left|right|main image|illustration)\s*[:：]",
    r"\b(photo|photograph|picture|image)s?\s*[:：]\s*(?-i:\p{Lu})",
    r"\b(photo|image|picture)s?\s*(by|credit|courtesy)\b",
    r"[/|]\s*(getty images|reuters|ap photo|afp|epa|shutterstock|xinhua)\s*[)）]?\s*$",
    r"[（(][^（）()]*(摄|资料图|供图|图片来源|图源|视觉中国|新华社发)[^（）()]*[）)]\s*$",
    r"[（(]\s*(图|图片|照片|摄影)\s*[/／:：|丨]",
    r"^(资料图|图|图片|照片|上图|下图|左图|右图)\s*[为：:|丨]",
];

/// The built-in patterns plus a site's own, compiled once per run.
#[derive(Debug, Clone)]
pub struct ChromeRules {
    chrome: RegexSet,
    lists: RegexSet,
    captions: RegexSet,
}

impl ChromeRules {
    /// The built-in patterns extended by `extra_chrome` and `extra_captions`
    /// (regular expressions, matched case-insensitively anywhere in a line).
    /// A bad pattern is an error naming it.
    pub fn new(extra_chrome: &[String], extra_captions: &[String]) -> Result<Self, String> {
        let set = |builtin: &[&str], extra: &[String]| {
            for pattern in extra {
                crate::config::check_pattern(pattern)?;
            }
            let all = builtin
                .iter()
                .copied()
                .chain(extra.iter().map(String::as_str));
            RegexSet::new(all.map(|p| format!("(?i:{p})"))).map_err(|e| e.to_string())
        };
        Ok(ChromeRules {
            chrome: set(CHROME_PATTERNS, extra_chrome)?,
            lists: set(LIST_PATTERNS, &[])?,
            captions: set(CAPTION_PATTERNS, extra_captions)?,
        })
    }

    /// Site chrome to drop (matched only on lines shorter than a long paragraph).
    pub fn is_chrome(&self, line: &str) -> bool {
        !is_long(line) && self.chrome.is_match(line)
    }

    /// The head of a list of links ("Related stories", "相关新闻").
    pub fn is_list_header(&self, line: &str) -> bool {
        !is_long(line) && self.lists.is_match(line)
    }

    /// A photo caption.
    pub fn is_caption(&self, line: &str) -> bool {
        !is_long(line) && self.captions.is_match(line)
    }
}

impl Default for ChromeRules {
    fn default() -> Self {
        ChromeRules::new(&[], &[]).expect("the built-in patterns compile")
    }
}

// --- bylines and tag lines -----------------------------------------------------
//
// A byline or a tag line is read, not just dropped: its names become
// `authors`, its words `tags`. What is not a name (a role, a bureau, an
// agency after `|`) is left out; a line that only looks like a byline
// (`By continuing to use this site…`) is no byline. Lines the chrome
// patterns drop as bylines or tags but that yield nothing stay dropped.

/// A name in Latin script: capitalised words, with the particles names use.
static LATIN_NAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^\p{Lu}[\p{L}'’.-]*(\s+(\p{Lu}[\p{L}'’.-]*|de|van|von|der|da|del|di|la|le|bin|al))*$",
    )
    .expect("the name pattern compiles")
});
/// A name in Chinese script: two to four characters (`李伟`, `欧阳修`),
/// or parts joined by `·` (`阿卜杜·热合曼`).
static HAN_NAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(\p{Han}{2,4}|\p{Han}+(·\p{Han}+)+)$").expect("the name pattern compiles")
});
/// Words after a name that say what the person is, not who (`Li Wei,
/// Staff Reporter`, `Anna Smith, Beijing Correspondent`).
static ROLE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(reporter|correspondent|editor|writer|staff|contributor|columnist|bureau|desk|agency|news|press|times|daily|herald|post|photographer|intern|chief|reuters|afp|ap|xinhua|bloomberg)s?\b")
        .expect("the role pattern compiles")
});
/// Chinese byline heads: `作者：`, `作者:`, `记者 `, `本报记者 `, `（记者 李伟）`.
/// Every word after the head must be a name, so a sentence that starts
/// with 记者 (`记者从市交通局获悉，…`) stays story text.
static ZH_BYLINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[【（(]?\s*(作者\s*[:：]|(本报|本台|本网)?记者\s*[:：]?)\s*(?P<names>[^】）)]+?)\s*[】）)]?$")
        .expect("the byline pattern compiles")
});
/// Tag line heads: `Tags:`, `Tag:`, `标签：`.
static TAG_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^(tags?|标签)\s*[:：]\s*(?P<tags>.+)$").expect("the tag pattern compiles")
});

/// The authors a byline names, or `None` when the line is no byline.
pub fn byline(line: &str) -> Option<Vec<String>> {
    if is_long(line) {
        return None;
    }
    if let Some(c) = ZH_BYLINE.captures(line) {
        // `李伟 王五` are two names, `Anna Smith` is one.
        let names: Vec<String> = c["names"]
            .split(['、', '，', ',', '/', '／'])
            .flat_map(|part| {
                let part = part.trim();
                if part.chars().any(|c| c.is_ascii_alphabetic()) {
                    vec![part]
                } else {
                    part.split_whitespace().collect()
                }
            })
            .filter(|n| !n.is_empty())
            .map(str::to_owned)
            .collect();
        let all_names = names
            .iter()
            .all(|n| HAN_NAME.is_match(n) || (LATIN_NAME.is_match(n) && n.len() <= 40));
        return (all_names && !names.is_empty()).then_some(names);
    }
    let rest = line
        .get(..3)
        .filter(|by| by.eq_ignore_ascii_case("by "))
        .map(|_| line[3..].trim_start())?;
    // An affiliation after `|`, `/` or a dash is not a name.
    let names = rest
        .split(['|', '/', '—', '–'])
        .next()
        .unwrap_or_default()
        .split(" - ")
        .next()
        .unwrap_or_default();
    let mut authors = Vec::new();
    for part in names
        .split(',')
        .flat_map(|p| p.split(" and "))
        .flat_map(|p| p.split(" & "))
    {
        let part = part.trim();
        // `Li Wei in Beijing`: the place is not part of the name.
        let part = part.split(" in ").next().unwrap_or(part).trim();
        if part.is_empty() || ROLE.is_match(part) {
            continue;
        }
        // Every part is a name or a role: `By continuing to use this
        // site…` and `By Monday, the city will…` are no bylines.
        if !LATIN_NAME.is_match(part) || part.split_whitespace().count() > 5 {
            return None;
        }
        authors.push(part.to_owned());
    }
    (!authors.is_empty()).then_some(authors)
}

/// The tags a tag line lists, or `None` when the line is no tag line.
/// Separated by `,` `，` `、` `;` `；` `|`; a Chinese line without any of
/// them by spaces. A leading `#` is dropped.
pub fn tag_line(line: &str) -> Option<Vec<String>> {
    if is_long(line) {
        return None;
    }
    let list = TAG_LINE.captures(line)?.name("tags")?.as_str();
    let separators = [',', '，', '、', ';', '；', '|'];
    let parts: Vec<&str> = if list.contains(separators) || !is_mostly_cjk(list) {
        list.split(separators).collect()
    } else {
        list.split_whitespace().collect()
    };
    let tags: Vec<String> = parts
        .into_iter()
        .map(|t| t.trim().trim_start_matches('#').trim())
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect();
    (!tags.is_empty()).then_some(tags)
}

/// `values` without repeats, in first-seen order.
fn dedup_in_order(values: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for value in values {
        if !out.contains(&value) {
            out.push(value);
        }
    }
    out
}

// --- one line ----------------------------------------------------------------

/// Closing quotes and brackets that may follow a sentence's final mark.
const CLOSERS: &[char] = &['"', '\'', '”', '’', '」', '』', '）', ')', ']', '》', '】'];
/// Marks that end a sentence.
const SENTENCE_ENDS: &[char] = &['.', '!', '?', '…', '。', '！', '？'];
/// Marks after which a line goes on (a lead-in, a list): never a heading.
const CONTINUATIONS: &[char] = &[':', ';', ',', '：', '；', '，', '、'];

/// Words (space-separated text) or characters (CJK text) in a line.
fn size(line: &str) -> usize {
    if is_mostly_cjk(line) {
        line.chars().filter(|c| !c.is_whitespace()).count()
    } else {
        line.split_whitespace().count()
    }
}

/// Too long to be a heading, a label or a chrome line.
fn is_long(line: &str) -> bool {
    size(line) > if is_mostly_cjk(line) { 150 } else { 60 }
}

/// The line's last mark, ignoring closing quotes and brackets.
fn last_mark(line: &str) -> Option<char> {
    line.trim_end_matches(|c: char| CLOSERS.contains(&c) || c.is_whitespace())
        .chars()
        .next_back()
}

/// Ends like a sentence: `.`, `!`, `?`, `…`, `。`, `！`, `？`, maybe then a
/// closing quote or bracket.
pub fn ends_sentence(line: &str) -> bool {
    last_mark(line).is_some_and(|c| SENTENCE_ENDS.contains(&c))
}

/// A story paragraph: ends like a sentence, or is too long to be anything else.
pub fn is_paragraph(line: &str) -> bool {
    ends_sentence(line) || size(line) > if is_mostly_cjk(line) { 60 } else { 30 }
}

/// Shaped like a heading: short, has letters or digits, and no final
/// punctuation. Whether it *is* one depends on what follows.
pub fn is_heading_shape(line: &str) -> bool {
    let short = size(line) <= if is_mostly_cjk(line) { 25 } else { 12 };
    short
        && line.chars().any(char::is_alphanumeric)
        && !last_mark(line)
            .is_some_and(|c| SENTENCE_ENDS.contains(&c) || CONTINUATIONS.contains(&c))
}

/// Long enough to be a headline rather than a site or section label.
fn is_headline_sized(line: &str) -> bool {
    size(line) >= if is_mostly_cjk(line) { 6 } else { 4 }
}

/// A short question or exclamation can be a headline.
fn is_headline_question(line: &str) -> bool {
    let short = size(line) <= if is_mostly_cjk(line) { 30 } else { 14 };
    short && last_mark(line).is_some_and(|c| matches!(c, '?' | '!' | '？' | '！'))
}

static ISO_DATE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})\b").expect("valid"));
static ZH_DATE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日").expect("valid"));
const MONTH: &str = r"(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?";
static MONTH_FIRST: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?i)\b{MONTH}\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})\b"
    ))
    .expect("valid")
});
static DAY_FIRST: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?i)\b(\d{{1,2}})(?:st|nd|rd|th)?\s+{MONTH},?\s+(\d{{4}})\b"
    ))
    .expect("valid")
});
static TIME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(\d{1,2})[:：](\d{2})(?:[:：](\d{2}))?\s*(a\.?m\.?|p\.?m\.?)?")
        .expect("valid")
});

fn month_number(name: &str) -> Option<u32> {
    let months = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    let prefix = name.get(..3)?.to_ascii_lowercase();
    months
        .iter()
        .position(|m| *m == prefix)
        .map(|i| i as u32 + 1)
}

/// The date (and time, if the line has one after the date) in a line:
/// `2026-03-02 14:30`, `2026年3月2日`, `March 2, 2026 10:15 am`, `14 May 2026`.
pub fn find_date(line: &str) -> Option<NaiveDateTime> {
    let number = |m: Option<regex::Match>| m.and_then(|m| m.as_str().parse::<u32>().ok());
    let (date, end) = if let Some(c) = ISO_DATE.captures(line).or_else(|| ZH_DATE.captures(line)) {
        let year = number(c.get(1))? as i32;
        let date = NaiveDate::from_ymd_opt(year, number(c.get(2))?, number(c.get(3))?)?;
        (date, c.get(0)?.end())
    } else if let Some(c) = MONTH_FIRST.captures(line) {
        let month = month_number(c.get(1)?.as_str())?;
        let date = NaiveDate::from_ymd_opt(number(c.get(3))? as i32, month, number(c.get(2))?)?;
        (date, c.get(0)?.end())
    } else if let Some(c) = DAY_FIRST.captures(line) {
        let month = month_number(c.get(2)?.as_str())?;
        let date = NaiveDate::from_ymd_opt(number(c.get(3))? as i32, month, number(c.get(1))?)?;
        (date, c.get(0)?.end())
    } else {
        return None;
    };
    let time = TIME.captures(&line[end..]).and_then(|c| {
        let mut hour = number(c.get(1))?;
        let pm = c
            .get(4)
            .map(|m| m.as_str().to_ascii_lowercase().starts_with('p'));
        match pm {
            Some(true) if hour < 12 => hour += 12,
            Some(false) if hour == 12 => hour = 0,
            _ => {}
        }
        NaiveTime::from_hms_opt(hour, number(c.get(2))?, number(c.get(3)).unwrap_or(0))
    });
    Some(date.and_time(time.unwrap_or(NaiveTime::MIN)))
}

/// A dateline: a short line with a date that is not a sentence (a sentence
/// that mentions a date is story text).
fn dateline(line: &str) -> Option<NaiveDateTime> {
    let short = size(line) <= if is_mostly_cjk(line) { 50 } else { 16 };
    if short && !ends_sentence(line) {
        find_date(line)
    } else {
        None
    }
}

// --- the page ----------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq)]
enum Class {
    Chrome,
    Dateline(NaiveDateTime),
    /// A byline: the authors it names.
    Byline(Vec<String>),
    /// A tag line: the tags it lists.
    Tags(Vec<String>),
    Caption,
    Text,
}

struct Unit<'a> {
    text: &'a str,
    class: Class,
}

fn classify<'a>(text: &'a str, rules: &ChromeRules) -> Vec<Unit<'a>> {
    let mut units = Vec::new();
    let mut after_gap = true;
    let mut in_list = false;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() {
            after_gap = true;
            continue;
        }
        if in_list && (after_gap || is_paragraph(line)) {
            in_list = false;
        }
        let class = if in_list {
            Class::Chrome
        } else if let Some(date) = dateline(line) {
            Class::Dateline(date)
        } else if let Some(authors) = byline(line) {
            Class::Byline(authors)
        } else if let Some(tags) = tag_line(line) {
            Class::Tags(tags)
        } else if rules.is_list_header(line) {
            in_list = true;
            Class::Chrome
        } else if rules.is_chrome(line) {
            Class::Chrome
        } else if rules.is_caption(line) {
            Class::Caption
        } else {
            Class::Text
        };
        units.push(Unit { text: line, class });
        after_gap = false;
    }
    units
}

/// Parses a page saved as plain text. The headline is the last
/// headline-sized line above the first paragraph (site and section labels
/// come before it); the story runs from the first paragraph to the last;
/// what follows (taglines, footers) is dropped, except captions right after
/// the last paragraph. The error says what the page lacks.
pub fn parse_page(text: &str, rules: &ChromeRules) -> Result<ScrapedPage, String> {
    let text = text.strip_prefix('\u{FEFF}').unwrap_or(text);
    let units = classify(text, rules);
    if units.is_empty() {
        return Err("the page is empty".to_owned());
    }
    let texts: Vec<usize> = (0..units.len())
        .filter(|&i| units[i].class == Class::Text)
        .collect();

    // The lead: text above the first paragraph.
    let mut candidates = Vec::new();
    let mut first = None;
    for &i in &texts {
        let line = units[i].text;
        let has_headline = candidates
            .iter()
            .any(|&c: &usize| is_headline_sized(units[c].text));
        // A short question is the headline when no headline came before it.
        let question_headline = is_headline_question(line) && !has_headline;
        if is_paragraph(line) && !question_headline {
            first = Some(i);
            break;
        }
        candidates.push(i);
    }
    let Some(first) = first else {
        return Err(
            "no story paragraphs found: no line ends like a sentence (. ! ? 。！？); is this a news page?"
                .to_owned(),
        );
    };
    let title = candidates
        .iter()
        .rev()
        .find(|&&i| is_headline_sized(units[i].text))
        .or_else(|| candidates.iter().max_by_key(|&&i| size(units[i].text)))
        .copied()
        .ok_or_else(|| {
            "no headline found: the page needs the headline on a line of its own above the first paragraph"
                .to_owned()
        })?;
    let last = texts
        .iter()
        .rev()
        .copied()
        .find(|&i| is_paragraph(units[i].text))
        .unwrap_or(first);

    let datelines: Vec<(usize, NaiveDateTime)> = units
        .iter()
        .enumerate()
        .filter_map(|(i, u)| match u.class {
            Class::Dateline(date) => Some((i, date)),
            _ => None,
        })
        .collect();
    let date = datelines
        .iter()
        .find(|(i, _)| *i > title)
        .or(datelines.first())
        .map(|(_, date)| *date);
    // Bylines and tag lines anywhere on the page (outside link lists,
    // which are chrome before they are read): above the story, in it, or
    // in the footer under it.
    let authors = dedup_in_order(units.iter().flat_map(|u| match &u.class {
        Class::Byline(names) => names.clone(),
        _ => Vec::new(),
    }));
    let tags = dedup_in_order(units.iter().flat_map(|u| match &u.class {
        Class::Tags(tags) => tags.clone(),
        _ => Vec::new(),
    }));

    let mut blocks = Vec::new();
    for (i, unit) in units.iter().enumerate() {
        let in_story = (first..=last).contains(&i);
        match unit.class {
            // Captions of a lead photo, inside the story, or right under it.
            Class::Caption
                if in_story
                    || i < first
                    || units[last + 1..i].iter().all(|u| u.class != Class::Text) =>
            {
                blocks.push(Block::Caption(unit.text.to_owned()))
            }
            Class::Text if in_story => {
                let next_text = units[i + 1..]
                    .iter()
                    .find(|u| u.class == Class::Text)
                    .map(|u| u.text);
                if is_heading_shape(unit.text) && next_text.is_some_and(is_paragraph) {
                    blocks.push(Block::Heading(unit.text.to_owned()));
                } else {
                    blocks.push(Block::Paragraph(unit.text.to_owned()));
                }
            }
            _ => {}
        }
    }
    Ok(ScrapedPage {
        title: units[title].text.to_owned(),
        date,
        authors,
        tags,
        blocks,
    })
}

// --- the article file --------------------------------------------------------

/// Longest slug, in bytes; cut at a word.
const MAX_SLUG: usize = 60;

/// A URL slug from a headline, the same every time: ASCII letters and
/// digits lowercased, Chinese characters as toneless pinyin, one word per
/// syllable, joined by '-' and cut at a word within 60 characters.
/// Apostrophes vanish (`city’s` → `citys`). A headline with neither
/// (emoji, other scripts) gets `page-` and 8 hex digits of its SHA-256.
pub fn slugify(title: &str) -> String {
    let mut words: Vec<String> = Vec::new();
    let mut word = String::new();
    for c in title.chars() {
        if c.is_ascii_alphanumeric() {
            word.push(c.to_ascii_lowercase());
        } else if matches!(c, '\'' | '’') {
            // Part of the word it sits in.
        } else {
            if !word.is_empty() {
                words.push(std::mem::take(&mut word));
            }
            if let Some(pinyin) = c.to_pinyin() {
                // `ü` is written `v`, as on pinyin keyboards, to keep slugs ASCII.
                words.push(pinyin.plain().replace('ü', "v"));
            }
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    let mut slug = String::new();
    for word in words {
        let extra = if slug.is_empty() { 0 } else { 1 } + word.len();
        if slug.len() + extra > MAX_SLUG {
            if slug.is_empty() {
                slug = word[..MAX_SLUG].to_owned();
            }
            break;
        }
        if !slug.is_empty() {
            slug.push('-');
        }
        slug.push_str(&word);
    }
    if slug.is_empty() {
        let hash = Sha256::digest(title.as_bytes());
        slug = format!("page-{}", hex::encode(&hash[..4]));
    }
    slug
}

/// Checks a slug given by hand (`import --slug`): the loader's rules for
/// the slug in a file name (letters, digits, '-', '_', inner '.'), narrowed
/// to lowercase ASCII, as [`slugify`] makes them (a URL readers can type),
/// and without a last `.part` the loader would read as a locale suffix
/// (`story.zh` would name `story.zh.md`: `story` in `zh`). The error says
/// what to write instead.
pub fn check_slug(slug: &str) -> Result<(), String> {
    let plain = slug
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.'));
    if !plain || !markdown::is_valid_slug(slug) {
        return Err(format!(
            "`{slug}` is not a slug: use lowercase ASCII letters, digits, '-', '_' and inner '.' (it names the file and the article's URL), e.g. `bridge-opens-early`"
        ));
    }
    if let Some((_, suffix)) = slug.rsplit_once('.')
        && markdown::looks_like_locale(suffix)
    {
        return Err(format!(
            "`{slug}` ends in `.{suffix}`, which the loader reads as a locale suffix; use '-' instead (`{}`)",
            slug.replace('.', "-")
        ));
    }
    Ok(())
}

#[derive(serde::Serialize)]
struct FrontMatter<'a> {
    title: &'a str,
    date: toml::value::Datetime,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    authors: &'a [String],
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    tags: &'a [String],
}

/// The article file for `page`: `+++` TOML front matter (title, date, and
/// `authors` and `tags` when the page names any; written by the `toml`
/// crate, so any text is escaped right), then the
/// story as Markdown. Text is escaped so it renders exactly as written;
/// headings are `##`; captions are `<figure><figcaption>`, which the
/// sanitiser keeps.
pub fn to_markdown(page: &ScrapedPage, date: DateTime<FixedOffset>) -> String {
    let date = date
        .to_rfc3339()
        .parse()
        .expect("an RFC 3339 date is a TOML datetime");
    let front = toml::to_string(&FrontMatter {
        title: &page.title,
        date,
        authors: &page.authors,
        tags: &page.tags,
    })
    .expect("strings, a date and lists of strings serialise");
    let mut out = format!("+++\n{front}+++\n");
    for block in &page.blocks {
        out.push('\n');
        match block {
            Block::Heading(text) => {
                out.push_str("## ");
                out.push_str(&escape_markdown(text));
            }
            Block::Paragraph(text) => out.push_str(&escape_markdown(text)),
            Block::Caption(text) => {
                out.push_str("<figure><figcaption>");
                pulldown_cmark_escape::escape_html_body_text(&mut out, text)
                    .expect("writing to a String cannot fail");
                out.push_str("</figcaption></figure>");
            }
        }
        out.push('\n');
    }
    out
}

/// Escapes what Markdown would read as markup, so a line of text renders as
/// exactly that text. Quotes and apostrophes are never touched.
pub fn escape_markdown(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    let chars: Vec<char> = text.chars().collect();
    // An ordered-list marker (`1.` / `1)`) or a bullet at the start.
    let digits = chars.iter().take_while(|c| c.is_ascii_digit()).count();
    let list_mark = (1..=9).contains(&digits)
        && matches!(chars.get(digits), Some('.' | ')'))
        && chars.get(digits + 1).is_none_or(|c| c.is_whitespace());
    for (i, &c) in chars.iter().enumerate() {
        let escape = match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '~' | '#' => true,
            '-' | '+' | '=' => i == 0,
            '.' | ')' => list_mark && i == digits,
            '&' => looks_like_entity(&chars[i + 1..]),
            _ => false,
        };
        if escape {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `&amp;`, `&#38;`, `&#x26;`: text Markdown would turn into a character.
fn looks_like_entity(after: &[char]) -> bool {
    let name: Vec<char> = after
        .iter()
        .copied()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '#')
        .collect();
    !name.is_empty() && after.get(name.len()) == Some(&';')
}

// --- the `kind = "text"` source ------------------------------------------------

/// The zone in which a page's wall-clock times (a dateline without an
/// offset, `import --date DAY`) are read: `site.time_zone` or `--tz`, else
/// the machine's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageZone {
    /// An IANA zone the site or the run named.
    Named(chrono_tz::Tz),
    /// Nothing named one: the machine's zone (`TZ`, `/etc/localtime`).
    Machine,
}

impl PageZone {
    /// `Named` when a zone is given, else `Machine`.
    pub fn new(zone: Option<chrono_tz::Tz>) -> Self {
        zone.map_or(PageZone::Machine, PageZone::Named)
    }

    /// A page date (wall-clock time, no offset) read in this zone. A time
    /// the clocks pass twice (DST ends) or skip (DST starts) never fails:
    /// of the readings with the offsets in force around it, the earlier
    /// instant is taken. So in America/New_York `2026-11-01 01:30` is the
    /// first one (-04:00), and `2026-03-08 02:30`, which does not exist,
    /// is 06:30 UTC, shown as `01:30-05:00`.
    pub fn read(self, date: NaiveDateTime) -> DateTime<FixedOffset> {
        match self {
            PageZone::Named(zone) => earliest(&zone, date),
            PageZone::Machine => earliest(&Local, date),
        }
    }

    /// An instant (a file's modification time) shown in this zone.
    pub fn show(self, time: std::time::SystemTime) -> DateTime<FixedOffset> {
        let utc = DateTime::<chrono::Utc>::from(time);
        match self {
            PageZone::Named(zone) => utc.with_timezone(&zone).fixed_offset(),
            PageZone::Machine => utc.with_timezone(&Local).fixed_offset(),
        }
    }
}

/// `date` in `zone`, the earlier instant when it is ambiguous or in a gap.
fn earliest<Z: TimeZone>(zone: &Z, date: NaiveDateTime) -> DateTime<FixedOffset> {
    if let Some(time) = zone.from_local_datetime(&date).earliest() {
        return time.fixed_offset();
    }
    // A gap: the wall clock jumps over `date`. Read it with the offset in
    // force a day before and a day after (no zone changes twice in a day
    // around a gap), keep the earlier instant, and show it as the zone does.
    let day = chrono::TimeDelta::days(1);
    let offset_at =
        |utc: NaiveDateTime| zone.offset_from_utc_datetime(&utc).fix().local_minus_utc();
    let instant = [date - day, date + day]
        .into_iter()
        .map(|probe| date - chrono::TimeDelta::seconds(offset_at(probe).into()))
        .min()
        .unwrap_or(date);
    zone.from_utc_datetime(&instant).fixed_offset()
}

/// Loads every `.txt` page under `dir` (recursively, hidden entries
/// skipped) as an article in `locale`: parsed, turned into the article file
/// [`to_markdown`] writes, and read by the Markdown source. The slug comes
/// from the headline; the date from the page, else the file's modification
/// time, with a warning. Datelines are read in `zone`.
pub fn load_dir(
    dir: &Path,
    locale: &str,
    rules: &ChromeRules,
    zone: PageZone,
    ctx: &LoadContext,
) -> (Vec<Article>, Vec<Problem>) {
    let files = match markdown::article_files(dir, "txt") {
        Ok(files) => files,
        Err(problem) => return (Vec::new(), vec![problem]),
    };
    let results: Vec<Result<Article, Problem>> = files
        .par_iter()
        .map(|path| load_page(path, locale, rules, zone, ctx))
        .collect();
    super::split_results(results)
}

fn load_page(
    path: &Path,
    locale: &str,
    rules: &ChromeRules,
    zone: PageZone,
    ctx: &LoadContext,
) -> Result<Article, Problem> {
    let problem = |line: Option<usize>, message: String| Problem {
        path: path.to_path_buf(),
        line,
        message,
    };
    let mut bytes = Vec::new();
    super::read_article(path, &mut bytes)?;
    let text = decode(&bytes).map_err(|(line, m)| problem(Some(line), m))?;
    super::warn_about_removed_characters(path, text);
    let page = parse_page(text, rules).map_err(|m| problem(None, m))?;
    let date = match page.date {
        Some(date) => zone.read(date),
        None => {
            let date = modified(path, zone).map_err(|m| problem(None, m))?;
            tracing::warn!(
                "{}: the page has no date; using the file's modification time {}",
                path.display(),
                date.to_rfc3339()
            );
            date
        }
    };
    let markdown = to_markdown(&page, date);
    markdown::parse_document(
        path,
        &markdown,
        slugify(&page.title),
        locale.to_owned(),
        ctx,
    )
}

/// The page as UTF-8, or the line of the first bad byte and what to do.
pub fn decode(bytes: &[u8]) -> Result<&str, (usize, String)> {
    std::str::from_utf8(bytes).map_err(|e| {
        let line = 1 + bytes[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        (
            line,
            "invalid UTF-8; save the page as UTF-8 text".to_owned(),
        )
    })
}

/// The file's modification time, shown in `zone`.
pub fn modified(path: &Path, zone: PageZone) -> Result<DateTime<FixedOffset>, String> {
    let time = std::fs::metadata(path)
        .and_then(|m| m.modified())
        .map_err(|e| format!("cannot read the file's modification time: {e}"))?;
    Ok(zone.show(time))
}

/// The article file name for a page: `<slug>.md` in the default locale,
/// `<slug>.<locale>.md` otherwise.
pub fn file_name(slug: &str, locale: &str, default_locale: &str) -> PathBuf {
    if locale == default_locale {
        PathBuf::from(format!("{slug}.md"))
    } else {
        PathBuf::from(format!("{slug}.{locale}.md"))
    }
}

#[cfg(test)]
mod tests;
