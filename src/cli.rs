//! Command line: clap derive types whose doc comments are the `--help` text.
//!
//! Parses arguments only and turns them into an [`app::Request`]; it must
//! not read files or run the pipeline.

use crate::app::{
    self, DeferredDeliveries, ExistingFiles, ImportDate, NewState, Output, SourceFailures,
    UnknownDeliveries,
};
use chrono::{DateTime, FixedOffset, NaiveDate};
use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// Multilingual syndication feeds and email digests from Markdown articles.
///
/// Cron runs `gazette build && gazette send` every day.
#[derive(Debug, Parser)]
#[command(name = "gazette", version)]
pub struct Cli {
    /// The site's config file; relative paths inside it are relative to its folder.
    #[arg(
        long,
        global = true,
        default_value = "config.toml",
        value_name = "PATH"
    )]
    pub config: PathBuf,

    /// Treat this RFC 3339 instant as "now" (e.g. 2026-11-29T06:00:00+08:00):
    /// decides which stories are published; for tests and previews.
    #[arg(long, global = true, value_name = "RFC3339", value_parser = parse_now)]
    pub now: Option<DateTime<FixedOffset>>,

    /// Print more about what happens (-v: steps, -vv: debugging detail).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Print only errors and warnings.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    #[command(subcommand)]
    pub command: Command,
}

/// What to do.
/// `gazette subscribers …`.
#[derive(Debug, Subcommand)]
pub enum SubscribersCommand {
    /// Print every reader: address, name, language, topics, where they came
    /// from (csv, import, signup) and their state (active, unsubscribed and
    /// why, no longer in the file, awaiting confirmation).
    List,
    /// Write the list as CSV to standard output (the subscriber file's
    /// columns, which `import` reads back, plus origin and state).
    Export {
        /// The only format so far.
        #[arg(long, value_enum, default_value_t = ExportFormat::Csv)]
        format: ExportFormat,
    },
    /// Add the readers of FILE (the subscriber file's format) to the list.
    /// Fields a reader chose themselves are kept; nobody is removed.
    Import {
        /// A CSV file with the columns email,name,locale[,topics].
        file: PathBuf,
    },
    /// Lift ADDRESS's suppression, when the reader asked to come back. The
    /// lift and the reason it lifts are logged.
    Resubscribe {
        /// The email address to restore.
        address: String,
    },
}

/// `gazette subscribers export --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    Csv,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Load the articles and write every configured feed under feeds/.
    ///
    /// Each feed is checked by a feed reader before it is published, and
    /// written atomically; files whose content would not change are not touched.
    /// A feed source that cannot be fetched or parsed is a warning, and its
    /// last good copy is used.
    Build {
        /// Fail (and publish nothing) when any feed source fails.
        #[arg(long)]
        strict: bool,
    },
    /// Do everything `build` does, in memory, and write nothing.
    ///
    /// Reports problems, messages missing in a locale, and which files a build would change.
    /// Feed sources are fetched but the fetch cache is not updated.
    Check {
        /// Fail when any feed source fails.
        #[arg(long)]
        strict: bool,
    },
    /// Email each subscriber the stories published since their last digest.
    ///
    /// Creates at most one digest per run, records every delivery in the
    /// state database before sending, and never sends one digest twice to
    /// anyone: a rerun after a crash sends only what was not sent.
    /// Exits non-zero when any digest failed, was deferred or has an
    /// unknown fate.
    Send {
        /// Render every message into DIR as .eml files; send and record nothing.
        #[arg(long, value_name = "DIR", num_args = 0..=1, default_missing_value = "dry-run")]
        dry_run: Option<PathBuf>,
        /// Resend deliveries whose fate is unknown (the connection dropped
        /// after the message was handed over); the reader may get it twice.
        #[arg(long)]
        retry_unknown: bool,
        /// Retry deferred deliveries now instead of waiting for their next
        /// attempt time (for when the relay has just been fixed).
        #[arg(long)]
        retry_deferred: bool,
        /// Go on although the state database knows no digest while the
        /// published digest pages show that digests were sent before (a
        /// lost or replaced database); the first digest then holds only
        /// the last `digest.first_window` days of stories.
        #[arg(long)]
        accept_new_state: bool,
        /// Share this send with `gazette send --worker` runs on other hosts
        /// (a PostgreSQL state, `[state] url`): the first to start creates
        /// the digest, every worker takes batches of its deliveries through
        /// its own relay, and a worker that dies leaves its rows to the others.
        #[arg(long, conflicts_with = "dry_run")]
        worker: bool,
    },
    /// Add ADDRESS to the suppression list: it never gets mail again.
    Unsubscribe {
        /// The email address to suppress.
        address: String,
    },
    /// Act on mail that reached the list: bounces, complaints, mailto unsubscribes.
    ///
    /// Reads one message on standard input (for a Postfix pipe or alias:
    /// `bounces: "|gazette --config /srv/news/config.toml mailbox"`), or
    /// the message files, mbox files and Maildirs given. Hard bounces,
    /// complaints and mailto unsubscribes suppress the address; soft
    /// bounces count toward `digest.soft_bounce_limit`; automatic replies
    /// and anything else are ignored. The same message twice changes
    /// nothing; it exits 0 then, so a pipe neither bounces nor retries.
    Mailbox {
        /// Message files, mbox files or Maildir folders (processed
        /// messages move to `cur/` marked seen).
        paths: Vec<PathBuf>,
        /// Move processed Maildir messages into this Maildir folder
        /// (created if missing) instead of the source's own `cur/`.
        #[arg(long, value_name = "MAILDIR")]
        move_to: Option<PathBuf>,
    },
    /// Show, export, import and restore the list in the state database.
    Subscribers {
        #[command(subcommand)]
        action: SubscribersCommand,
    },
    /// Answer readers over HTTP: the unsubscribe links of every digest
    /// (RFC 8058 one-click and the footer's page).
    ///
    /// Runs behind the newsroom's reverse proxy at `serve.public_url`, and
    /// writes to the same state database as a running `send`. Stops on
    /// SIGTERM or Ctrl-C after the requests in flight.
    Serve {
        /// Address and port to listen on (default `serve.listen`, else
        /// 127.0.0.1:8080); port 0 picks a free one, printed at start.
        #[arg(long, value_name = "ADDR:PORT")]
        listen: Option<std::net::SocketAddr>,
    },
    /// Turn news pages saved as plain text into article files to review and commit.
    ///
    /// Keeps the headline, paragraphs, section headings and photo captions,
    /// drops the site's chrome (navigation, share buttons, cookie notices,
    /// hotlines, footers); quotes stay exactly as written. Writes
    /// <slug>.md (or <slug>.<lang>.md) with the slug taken from the headline
    /// (pinyin for Chinese) or --slug. The date is the page's (read in
    /// site.time_zone or --tz), else --date, else the file's modification
    /// time (with a warning). Extend the chrome and caption patterns under
    /// [import] in config.toml.
    Import {
        /// The pages: UTF-8 text files, one news page each.
        #[arg(required = true, value_name = "PAGE.txt")]
        pages: Vec<PathBuf>,
        /// Locale key the pages are in; default: site.default_locale.
        #[arg(long, value_name = "KEY")]
        lang: Option<String>,
        /// Folder to write the articles into; default: the first markdown source's folder.
        #[arg(long, value_name = "DIR")]
        into: Option<PathBuf>,
        /// Date for pages that show none: RFC 3339 (2026-11-20T09:30:00+08:00)
        /// or a day (2026-11-20, midnight in the --tz / site.time_zone zone).
        #[arg(long, value_name = "DATE", value_parser = parse_date)]
        date: Option<ImportDate>,
        /// IANA time zone (Asia/Shanghai) in which datelines without an
        /// offset are read; overrides site.time_zone. Without either, the
        /// machine's zone.
        #[arg(long, value_name = "ZONE", value_parser = parse_zone)]
        tz: Option<chrono_tz::Tz>,
        /// Name the article file SLUG.md (SLUG.<lang>.md) instead of taking
        /// the slug from the headline: import a story's English and Chinese
        /// pages with the same --slug and they pair as translations. One page only.
        #[arg(long, value_name = "SLUG")]
        slug: Option<String>,
        /// Replace article files that already exist.
        #[arg(long)]
        force: bool,
    },
    /// Create a working site (config, sample articles, locales) in DIR.
    Init {
        /// Folder to create the site in; created if missing.
        dir: PathBuf,
    },
}

fn parse_date(text: &str) -> Result<ImportDate, String> {
    DateTime::parse_from_rfc3339(text)
        .map(ImportDate::Instant)
        .or_else(|_| NaiveDate::parse_from_str(text, "%Y-%m-%d").map(ImportDate::Day))
        .map_err(|_| {
            "write an RFC 3339 instant with offset (2026-11-20T09:30:00+08:00) or a day (2026-11-20)"
                .to_owned()
        })
}

fn parse_zone(text: &str) -> Result<chrono_tz::Tz, String> {
    crate::config::parse_time_zone(text)
}

fn parse_now(text: &str) -> Result<DateTime<FixedOffset>, String> {
    DateTime::parse_from_rfc3339(text).map_err(|e| {
        format!("{e}; write an RFC 3339 instant with offset, e.g. 2026-11-29T06:00:00+08:00")
    })
}

impl Cli {
    /// What the command line asks for, as the library's plain request.
    pub fn into_request(self) -> app::Request {
        let failures = |strict: bool| {
            if strict {
                SourceFailures::Refuse
            } else {
                SourceFailures::Tolerate
            }
        };
        let command = match self.command {
            Command::Build { strict } => app::Command::Build {
                failures: failures(strict),
            },
            Command::Check { strict } => app::Command::Check {
                failures: failures(strict),
            },
            Command::Send {
                dry_run,
                retry_unknown,
                retry_deferred,
                accept_new_state,
                worker,
            } => app::Command::Send(app::SendRequest {
                dry_run,
                role: if worker {
                    app::SendRole::Worker
                } else {
                    app::SendRole::Sole
                },
                unknown: if retry_unknown {
                    UnknownDeliveries::Retry
                } else {
                    UnknownDeliveries::Leave
                },
                deferred: if retry_deferred {
                    DeferredDeliveries::RetryNow
                } else {
                    DeferredDeliveries::Wait
                },
                new_state: if accept_new_state {
                    NewState::Accept
                } else {
                    NewState::Refuse
                },
            }),
            Command::Unsubscribe { address } => app::Command::Unsubscribe { address },
            Command::Serve { listen } => app::Command::Serve { listen },
            Command::Mailbox { paths, move_to } => app::Command::Mailbox { paths, move_to },
            Command::Subscribers { action } => app::Command::Subscribers(match action {
                SubscribersCommand::List => app::SubscribersRequest::List,
                SubscribersCommand::Export { format: _ } => app::SubscribersRequest::Export,
                SubscribersCommand::Import { file } => app::SubscribersRequest::Import { file },
                SubscribersCommand::Resubscribe { address } => {
                    app::SubscribersRequest::Resubscribe { address }
                }
            }),
            Command::Import {
                pages,
                lang,
                into,
                date,
                tz,
                slug,
                force,
            } => app::Command::Import(app::ImportRequest {
                pages,
                lang,
                into,
                date,
                time_zone: tz,
                slug,
                existing: if force {
                    ExistingFiles::Replace
                } else {
                    ExistingFiles::Keep
                },
            }),
            Command::Init { dir } => app::Command::Init { dir },
        };
        app::Request {
            config: self.config,
            now: self.now,
            output: if self.quiet {
                Output::Quiet
            } else {
                Output::Normal
            },
            command,
        }
    }
}
