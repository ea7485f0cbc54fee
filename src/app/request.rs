//! What the user asked for, as plain values: the command line's meaning
//! without clap's types, so the library can be driven from tests, and
//! later from `serve`, the same way it is from the binary.
//!
//! Built by `cli`; read by the rest of `app`. Holds no behaviour.

use crate::state::SendRole;
use chrono::{DateTime, FixedOffset, NaiveDate};
use std::path::PathBuf;

/// One run of gazette.
#[derive(Debug, Clone)]
pub struct Request {
    /// The site's config file.
    pub config: PathBuf,
    /// The instant treated as "now"; `None` is the machine's clock.
    pub now: Option<DateTime<FixedOffset>>,
    pub output: Output,
    pub command: Command,
}

/// How much a command prints of what it did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// Summaries and progress.
    Normal,
    /// Only errors and warnings (and the summary of a send that left
    /// something undelivered).
    Quiet,
}

impl Output {
    /// True when summaries and progress are printed.
    pub fn is_normal(self) -> bool {
        self == Output::Normal
    }
}

/// What a failing feed source does to `build` and `check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceFailures {
    /// Warn and use its last good copy.
    Tolerate,
    /// Fail, publishing nothing (`--strict`).
    Refuse,
}

/// `gazette subscribers …`.
#[derive(Debug, Clone)]
pub enum SubscribersRequest {
    List,
    /// CSV to standard output.
    Export,
    Import {
        file: PathBuf,
    },
    Resubscribe {
        address: String,
    },
}

/// The commands.
#[derive(Debug, Clone)]
pub enum Command {
    Build {
        failures: SourceFailures,
    },
    Check {
        failures: SourceFailures,
    },
    Send(SendRequest),
    Unsubscribe {
        address: String,
    },
    Subscribers(SubscribersRequest),
    /// `gazette mailbox`; no path: one message on standard input.
    Mailbox {
        paths: Vec<PathBuf>,
        /// Where processed Maildir messages go (default: their own `cur/`).
        move_to: Option<PathBuf>,
    },
    /// `gazette serve`; `listen` overrides `serve.listen`.
    Serve {
        listen: Option<std::net::SocketAddr>,
    },
    Import(ImportRequest),
    Init {
        dir: PathBuf,
    },
}

/// `gazette send`.
#[derive(Debug, Clone)]
pub struct SendRequest {
    /// Render every message into this folder (relative to the config's
    /// folder) as `.eml`; send and record nothing.
    pub dry_run: Option<PathBuf>,
    pub unknown: UnknownDeliveries,
    pub deferred: DeferredDeliveries,
    pub new_state: NewState,
    /// The only sender, or one of several workers (`--worker`).
    pub role: SendRole,
}

/// What `send` does with deferred deliveries whose backoff has not passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeferredDeliveries {
    /// Wait for their next attempt time.
    Wait,
    /// Retry them now (`--retry-deferred`: the relay was just fixed).
    RetryNow,
}

/// What `send` does when the state database knows no digest but the
/// published digest pages show that digests went out before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NewState {
    /// Refuse: the database was probably lost or replaced.
    Refuse,
    /// Go on with the new database (`--accept-new-state`).
    Accept,
}

/// What `send` does with deliveries whose fate is unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnknownDeliveries {
    /// List them; never resend on its own.
    Leave,
    /// Resend them on purpose (`--retry-unknown`).
    Retry,
}

/// `gazette import`.
#[derive(Debug, Clone)]
pub struct ImportRequest {
    pub pages: Vec<PathBuf>,
    /// Locale key; `None` means the default locale.
    pub lang: Option<String>,
    /// Output folder; `None` means the first markdown source's folder.
    pub into: Option<PathBuf>,
    /// Date for pages that show none.
    pub date: Option<ImportDate>,
    /// `--tz`: the zone datelines without an offset are read in; `None`
    /// means `site.time_zone`, else the machine's zone.
    pub time_zone: Option<chrono_tz::Tz>,
    /// `--slug`: the article's slug instead of the headline's; one page only.
    pub slug: Option<String>,
    pub existing: ExistingFiles,
}

/// `--date` of `gazette import`: an instant, or a day read in the import's zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportDate {
    Instant(DateTime<FixedOffset>),
    Day(NaiveDate),
}

/// What `import` does with an article file that already exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExistingFiles {
    /// Refuse to overwrite it.
    Keep,
    /// Overwrite it (`--force`).
    Replace,
}
