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
pub use mime::{build_message, notice_message};
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

    /// The message the caller will hand this transport next, once this one
    /// passed its point of no return, if it knows: a transport may send
    /// its envelope behind this message, so that both wait on one round
    /// trip. The caller then sends that message next if it can: sending
    /// another, or none, costs the transport its connection (the relay
    /// waits for the named message's body), never a delivery. `None` by
    /// default.
    fn next(&self) -> Option<Envelope<'_>> {
        None
    }
}

/// A message as a transport's [`Gate::next`] names it.
#[derive(Debug, Clone, Copy)]
pub struct Envelope<'a> {
    /// The envelope sender.
    pub from: &'a str,
    /// The envelope recipient.
    pub to: &'a str,
    /// The message bytes, as [`Transport::send_when`] will get them.
    pub message: &'a [u8],
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

/// Where a [`RateLimiter`] reads the time and how it waits: the real
/// clock in production ([`SystemClock`]), a fake one in tests, so they do
/// not depend on how busy the machine is.
pub trait Clock: Send + Sync {
    fn now(&self) -> Instant;
    fn sleep(&self, duration: Duration);
}

/// The monotonic clock and `thread::sleep`.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn sleep(&self, duration: Duration) {
        std::thread::sleep(duration);
    }
}

/// Spaces messages evenly so that at most `max_per_second` start each
/// second, across every thread that shares it (it is `Sync`).
///
/// Relays throttle or block senders that burst; an even pace is kinder than
/// a token bucket that allows a burst at the start of every second.
#[derive(Debug)]
pub struct RateLimiter<C: Clock = SystemClock> {
    /// Time between two messages; `None` means unlimited.
    interval: Option<Duration>,
    /// The earliest instant the next caller may go.
    next: Mutex<Instant>,
    clock: C,
}

impl RateLimiter {
    /// A limiter allowing `max_per_second` messages a second; 0 means unlimited.
    pub fn new(max_per_second: u32) -> Self {
        RateLimiter::with_clock(max_per_second, SystemClock)
    }
}

impl<C: Clock> RateLimiter<C> {
    /// [`RateLimiter::new`] reading the time from `clock`.
    pub fn with_clock(max_per_second: u32, clock: C) -> Self {
        let interval = (max_per_second > 0).then(|| Duration::from_secs(1) / max_per_second);
        RateLimiter {
            interval,
            next: Mutex::new(clock.now()),
            clock,
        }
    }

    /// Whether it never makes anyone wait (a rate of 0).
    pub fn is_unlimited(&self) -> bool {
        self.interval.is_none()
    }

    /// Blocks the calling thread until it may send its next message.
    pub fn wait(&self) {
        let Some(interval) = self.interval else {
            return;
        };
        let now = self.clock.now();
        let slot = {
            // A poisoned lock only means another thread panicked while holding
            // an Instant; the value is still usable.
            let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
            let slot = (*next).max(now);
            *next = slot + interval;
            slot
        };
        if slot > now {
            self.clock.sleep(slot - now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// A clock that moves only when told to (`advance`) or, if `sleep_advances`,
    /// when a caller sleeps; it records every sleep.
    #[derive(Debug)]
    struct FakeClock {
        now: Mutex<Instant>,
        sleeps: Mutex<Vec<Duration>>,
        sleep_advances: bool,
    }

    impl FakeClock {
        fn new(sleep_advances: bool) -> Self {
            FakeClock {
                now: Mutex::new(Instant::now()),
                sleeps: Mutex::new(Vec::new()),
                sleep_advances,
            }
        }

        fn advance(&self, by: Duration) {
            *self.now.lock().unwrap() += by;
        }

        fn sleeps(&self) -> Vec<Duration> {
            self.sleeps.lock().unwrap().clone()
        }
    }

    impl Clock for Arc<FakeClock> {
        fn now(&self) -> Instant {
            *self.now.lock().unwrap()
        }

        fn sleep(&self, duration: Duration) {
            self.sleeps.lock().unwrap().push(duration);
            if self.sleep_advances {
                self.advance(duration);
            }
        }
    }

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn unlimited_rate_limiter_never_waits() {
        let clock = Arc::new(FakeClock::new(true));
        let limiter = RateLimiter::with_clock(0, Arc::clone(&clock));
        for _ in 0..10_000 {
            limiter.wait();
        }
        assert!(clock.sleeps().is_empty());
    }

    #[test]
    fn rate_limiter_spaces_messages_evenly_without_bursts_after_a_pause() {
        // 50/s: 20 ms apart, the first message at once.
        let clock = Arc::new(FakeClock::new(true));
        let limiter = RateLimiter::with_clock(50, Arc::clone(&clock));
        for _ in 0..5 {
            limiter.wait();
        }
        assert_eq!(clock.sleeps(), [20 * MS; 4]);
        // Time spent elsewhere counts: 5 ms later, 15 ms are left.
        clock.advance(5 * MS);
        limiter.wait();
        assert_eq!(clock.sleeps()[4], 15 * MS);
        // A long pause earns no burst: one message at once, then the pace.
        clock.advance(Duration::from_secs(10));
        limiter.wait();
        limiter.wait();
        assert_eq!(clock.sleeps()[5..], [20 * MS]);
    }

    #[test]
    fn rate_limiter_spaces_messages_across_threads() {
        // The clock stands still, so each of the 4 threads x 5 waits is
        // given its own slot 20 ms after the one before, whatever the
        // order the threads run in: sleeps of 20, 40, ..., 380 ms (the
        // first slot is free).
        let clock = Arc::new(FakeClock::new(false));
        let limiter = Arc::new(RateLimiter::with_clock(50, Arc::clone(&clock)));
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
        let mut sleeps = clock.sleeps();
        sleeps.sort();
        let expected: Vec<Duration> = (1..20u32).map(|i| i * 20 * MS).collect();
        assert_eq!(sleeps, expected);
    }
}
