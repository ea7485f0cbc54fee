//! A graceful stop of `gazette send` on SIGTERM or SIGINT (cron's and
//! systemd's way to end a run, or Ctrl-C): the signal becomes a flag that
//! the producer and the workers read, and an event that wakes the run's
//! main loop. What stopping means (no new messages, in-flight ones finish,
//! claimed ones are released) is decided by the send, not here.
//!
//! It must never run code of ours inside a signal handler: signal-hook's
//! iterator hands each signal to a thread of ours. SIGKILL cannot be caught
//! and stays what it is (the next run turns `sending` rows `unknown`).

use anyhow::{Context, Result};
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::{Handle, Signals};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::thread::JoinHandle;

/// Whether a stop was asked, and by which signal; shared by every thread of a run.
#[derive(Debug, Default)]
pub struct Stop {
    /// The signal's number; 0 while nobody asked.
    signal: AtomicI32,
    /// The run itself stopped starting messages (the relay refuses them
    /// all): the jobs still queued stay due for the next run.
    halted: AtomicBool,
}

impl Stop {
    /// True once SIGTERM or SIGINT arrived.
    pub fn asked(&self) -> bool {
        self.signal.load(Ordering::SeqCst) != 0
    }

    /// Stops new messages without a signal: what is under way finishes,
    /// jobs not yet started (queued or claimed ahead) go back.
    pub fn halt(&self) {
        self.halted.store(true, Ordering::SeqCst);
    }

    /// True once [`Stop::halt`] was called.
    pub fn halted(&self) -> bool {
        self.halted.load(Ordering::SeqCst)
    }

    /// Whether a worker may start another message: neither a signal nor
    /// [`Stop::halt`] said no.
    pub fn takes_new(&self) -> bool {
        !self.asked() && !self.halted()
    }

    /// The signal's name, once one arrived.
    pub fn signal_name(&self) -> Option<&'static str> {
        match self.signal.load(Ordering::SeqCst) {
            0 => None,
            SIGINT => Some("SIGINT"),
            _ => Some("SIGTERM"),
        }
    }

    fn ask(&self, signal: i32) {
        // The first signal names the stop; a second changes nothing.
        let _ = self
            .signal
            .compare_exchange(0, signal, Ordering::SeqCst, Ordering::SeqCst);
    }
}

/// Watches for SIGTERM and SIGINT while it lives; dropping it stops the watch.
pub struct Watcher {
    handle: Handle,
    thread: Option<JoinHandle<()>>,
}

/// Starts watching: each signal sets `stop`, then calls `wake`.
pub fn watch(stop: std::sync::Arc<Stop>, wake: impl Fn() + Send + 'static) -> Result<Watcher> {
    let mut signals = Signals::new([SIGTERM, SIGINT])
        .context("cannot watch for SIGTERM and SIGINT (needed to stop a send gracefully)")?;
    let handle = signals.handle();
    let thread = std::thread::spawn(move || {
        for signal in signals.forever() {
            stop.ask(signal);
            tracing::warn!(
                "{}: stopping; no new messages, the ones under way finish or go back to the queue",
                stop.signal_name().unwrap_or("signal")
            );
            wake();
        }
    });
    Ok(Watcher {
        handle,
        thread: Some(thread),
    })
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.handle.close();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
