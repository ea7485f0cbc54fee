//! `send --dry-run DIR`: every message the plan would send, written as
//! `.eml` files into `DIR`. The state database is only read; nothing is
//! sent or recorded.

use super::compose::Composer;
use super::plan::{Action, SendPlan};
use crate::deliver::FileOutbox;
use crate::model::{DeliveryOutcome, Subscriber};
use crate::state::State;
use anyhow::{Result, bail};
use std::path::Path;

/// Writes the plan's messages into `dir`; returns how many.
pub fn write(
    plan: &SendPlan<'_>,
    composer: &mut Composer<'_>,
    state: Option<&State>,
    envelope_from: &str,
    dir: &Path,
) -> Result<usize> {
    use rayon::prelude::*;
    if let Some(digest) = plan.new_digest {
        composer.know_digest(&digest.id, digest.story_ids.clone());
    }
    let messages: Vec<(&str, &Subscriber)> = plan
        .deliveries
        .iter()
        .filter_map(|delivery| match delivery.action {
            Action::Send(subscriber) => Some((delivery.digest_id, subscriber)),
            Action::Skip(_) => None,
        })
        .collect();
    // Render each (digest, locale, topics) once, then personalise, build
    // and write the messages in parallel.
    for (digest_id, subscriber) in &messages {
        composer.prepare(state, digest_id, subscriber)?;
    }
    // A preview, not an outbox: no fsync per file.
    let outbox = FileOutbox::preview(dir.to_path_buf())?;
    let composer = &*composer;
    messages
        .par_iter()
        .map(|(digest_id, subscriber)| -> Result<()> {
            let message = composer.build(digest_id, subscriber)?;
            match outbox.store(envelope_from, &subscriber.email, &message) {
                DeliveryOutcome::Sent => Ok(()),
                other => bail!(
                    "cannot write the dry-run message for {}: {other:?}",
                    subscriber.email
                ),
            }
        })
        .collect::<Result<Vec<()>>>()
        .map(|written| written.len())
}
