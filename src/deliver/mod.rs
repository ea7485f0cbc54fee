//! Stage `deliver`: turns a digest's [`BodyTemplate`](crate::model::BodyTemplate)
//! and a subscriber's [`Email`](crate::model::Email) into RFC 5322 bytes and
//! hands them to a transport.
//!
//! This module owns the transports (a file outbox and SMTP via lettre's
//! low-level client), MIME structure and list headers (`List-Id`,
//! `List-Unsubscribe`, `List-Unsubscribe-Post`), and the classification of
//! every delivery into a [`DeliveryOutcome`](crate::model::DeliveryOutcome)
//! that the ledger's retry policy relies on. It must not render templates or
//! touch the database: it receives finished `Email` values and reports
//! outcomes; `app` records them.

mod body;
mod dkim;
mod mime;
mod outbox;
mod smtp;

pub use body::EncodedBody;
pub use dkim::{DkimKeyError, DkimSigner, SIGNED_HEADERS};
pub use mime::build_message;
pub use outbox::FileOutbox;
pub use smtp::{Security, SmtpSettings, SmtpTransport};

use crate::model::DeliveryOutcome;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The caller's two moments in one delivery, which a transport reports as
/// it reaches them (see [`Transport::send_when`]).
pub trait Gate {
    /// The transport is ready for this message's own transaction: for SMTP
    /// the session is established (greeted, EHLO, TLS, AUTH done), so
    /// nothing but the envelope stands before the point of no return. The
    /// caller starts its claim on the delivery here, so that its commit
    /// overlaps the envelope's round trips. Called at most once, always
    /// before [`Gate::go_ahead`]; a transport that fails earlier calls
    /// neither, and the caller then knows no byte of the message left.
    fn ready(&mut self);

    /// The point of no return: after everything the transport can still
    /// take back (for SMTP: `MAIL`, `RCPT`, `DATA`), before the first byte
    /// that could deliver the message. `false` abandons the message
    /// undelivered. Called at most once, after [`Gate::ready`].
    fn go_ahead(&mut self) -> bool;
}

/// A bare closure is a gate with nothing to do when the transport is ready.
impl<F: FnMut() -> bool> Gate for F {
    fn ready(&mut self) {}

    fn go_ahead(&mut self) -> bool {
        self()
    }
}

/// Something that can deliver one finished RFC 5322 message.
///
/// Implementations never panic and never return an error: every problem is
/// classified into a [`DeliveryOutcome`] so the caller can record it and move
/// on to the next subscriber.
pub trait Transport: Send {
    /// Delivers `message` (the bytes from [`build_message`]) from the
    /// envelope sender `envelope_from` to the single recipient `to`,
    /// telling `gate` when it is [ready](Gate::ready) and asking it at the
    /// [point of no return](Gate::go_ahead). When the gate says no the
    /// message is abandoned undelivered and `None` is returned. A transport
    /// that fails earlier returns the outcome without asking.
    fn send_when(
        &mut self,
        envelope_from: &str,
        to: &str,
        message: &[u8],
        gate: &mut dyn Gate,
    ) -> Option<DeliveryOutcome>;

    /// Delivers `message` at once: [`Transport::send_when`] with nothing to wait for.
    fn send(&mut self, envelope_from: &str, to: &str, message: &[u8]) -> DeliveryOutcome {
        self.send_when(envelope_from, to, message, &mut || true)
            .unwrap_or_else(|| DeliveryOutcome::Deferred("abandoned before sending".to_owned()))
    }
}

/// Spaces messages evenly so that at most `max_per_second` start each
/// second, across every thread that shares it (it is `Sync`).
///
/// Relays throttle or block senders that burst; an even pace is kinder than
/// a token bucket that allows a burst at the start of every second.
#[derive(Debug)]
pub struct RateLimiter {
    /// Time between two messages; `None` means unlimited.
    interval: Option<Duration>,
    /// The earliest instant the next caller may go.
    next: Mutex<Instant>,
}

impl RateLimiter {
    /// A limiter allowing `max_per_second` messages a second; 0 means unlimited.
    pub fn new(max_per_second: u32) -> Self {
        let interval = (max_per_second > 0).then(|| Duration::from_secs(1) / max_per_second);
        RateLimiter {
            interval,
            next: Mutex::new(Instant::now()),
        }
    }

    /// Blocks the calling thread until it may send its next message.
    pub fn wait(&self) {
        let Some(interval) = self.interval else {
            return;
        };
        let now = Instant::now();
        let slot = {
            // A poisoned lock only means another thread panicked while holding
            // an Instant; the value is still usable.
            let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
            let slot = (*next).max(now);
            *next = slot + interval;
            slot
        };
        if slot > now {
            std::thread::sleep(slot - now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn unlimited_rate_limiter_never_waits() {
        let limiter = RateLimiter::new(0);
        let start = Instant::now();
        for _ in 0..10_000 {
            limiter.wait();
        }
        assert!(start.elapsed() < Duration::from_millis(500));
    }

    #[test]
    fn rate_limiter_spaces_messages_across_threads() {
        // 50/s: 20 ms apart; 4 threads x 5 waits = 20 slots, the first free,
        // so at least 19 * 20 ms = 380 ms in total.
        let limiter = Arc::new(RateLimiter::new(50));
        let start = Instant::now();
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let limiter = Arc::clone(&limiter);
                std::thread::spawn(move || {
                    for _ in 0..5 {
                        limiter.wait();
                    }
                })
            })
            .collect();
        for handle in handles {
            handle.join().expect("worker thread panicked");
        }
        let elapsed = start.elapsed();
        assert!(elapsed >= Duration::from_millis(370), "{elapsed:?}");
        assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
    }
}
