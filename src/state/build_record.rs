//! What the last `build` read and wrote, so an unchanged build can stop
//! early.
//!
//! It must never work out what the inputs are or whether they changed
//! (that is `app::incremental`'s): it keeps one record and hands it back.

use super::State;
use super::db::args;
use anyhow::{Context, Result};
use chrono::{DateTime, FixedOffset};

#[cfg(test)]
mod tests;

/// What the last `build` read and wrote: a digest of every input, the span
/// of `now` in which the same stories are published, and each output file
/// with its size and modification time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildRecord {
    /// Hex digest of every input (see `app::incremental`).
    pub inputs: String,
    /// The newest publication time at or before the build's `now`.
    pub valid_from: Option<DateTime<FixedOffset>>,
    /// The first scheduled publication after the build's `now`.
    pub valid_until: Option<DateTime<FixedOffset>>,
    /// (path under the feeds folder, size in bytes, mtime in ns since the epoch).
    pub outputs: Vec<(String, u64, i128)>,
}

impl State {
    /// The record of the last build, if one was stored (none in a database
    /// written by an older gazette that has no such table).
    pub fn build_record(&self) -> Result<Option<BuildRecord>> {
        let context = || format!("cannot read the last build's record from {}", self.label);
        if !self.has_table("build_record").with_context(context)? {
            return Ok(None);
        }
        let row: Option<(String, Option<String>, Option<String>, String)> = self
            .db
            .query_opt(
                "SELECT inputs, valid_from, valid_until, outputs FROM build_record WHERE id = 1",
                &[],
                |row| {
                    Ok((
                        row.text(0)?,
                        row.opt_text(1)?,
                        row.opt_text(2)?,
                        row.text(3)?,
                    ))
                },
            )
            .with_context(context)?;
        let Some((inputs, valid_from, valid_until, outputs)) = row else {
            return Ok(None);
        };
        let time = |text: Option<String>| -> Result<Option<DateTime<FixedOffset>>> {
            text.map(|t| DateTime::parse_from_rfc3339(&t).with_context(context))
                .transpose()
        };
        Ok(Some(BuildRecord {
            inputs,
            valid_from: time(valid_from)?,
            valid_until: time(valid_until)?,
            outputs: serde_json::from_str(&outputs).with_context(context)?,
        }))
    }

    /// Replaces the record of the last build.
    pub fn store_build_record(&self, record: &BuildRecord) -> Result<()> {
        let outputs = serde_json::to_string(&record.outputs)?;
        let valid_from = record.valid_from.map(|t| t.to_rfc3339());
        let valid_until = record.valid_until.map(|t| t.to_rfc3339());
        self.db
            .execute(
                "INSERT INTO build_record (id, inputs, valid_from, valid_until, outputs)
                 VALUES (1, ?1, ?2, ?3, ?4)
                 ON CONFLICT (id) DO UPDATE SET inputs = excluded.inputs,
                   valid_from = excluded.valid_from, valid_until = excluded.valid_until,
                   outputs = excluded.outputs",
                args![&record.inputs, &valid_from, &valid_until, &outputs],
            )
            .with_context(|| format!("cannot record the build in {}", self.label))?;
        Ok(())
    }
}
