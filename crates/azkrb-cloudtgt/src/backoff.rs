//! Waiting between attempts at a service that failed in a way that may pass: a delay that
//! doubles up to a limit, each wait with jitter (a random part of the delay added), so
//! that clients failing together do not all come back at once.
//!
//! ```
//! use std::time::Duration;
//! use azkrb_cloudtgt::backoff::Backoff;
//!
//! let mut b = Backoff::new(Duration::from_millis(100), Duration::from_millis(300));
//! let first = b.next_wait();
//! assert!(first >= Duration::from_millis(100) && first < Duration::from_millis(200));
//! b.next_wait(); // 200 ms and its jitter
//! let third = b.next_wait(); // capped at 300 ms
//! assert!(third >= Duration::from_millis(300) && third < Duration::from_millis(600));
//! ```

use std::time::Duration;

/// The waits between attempts (see the module docs).
#[derive(Debug, Clone)]
pub struct Backoff {
    delay: Duration,
    max: Duration,
}

impl Backoff {
    /// Starting at `first`, doubling up to `max`.
    pub fn new(first: Duration, max: Duration) -> Self {
        Self { delay: first, max }
    }

    /// The next wait: the delay and up to as much again at random; the delay then doubles.
    pub fn next_wait(&mut self) -> Duration {
        let wait = self.delay + jitter(self.delay);
        self.delay = (self.delay * 2).min(self.max);
        wait
    }

    /// Sleeps the next wait.
    pub async fn wait(&mut self) {
        tokio::time::sleep(self.next_wait()).await;
    }
}

/// A random fraction of `d` (0..d) from the system's generator (none if it fails).
pub fn jitter(d: Duration) -> Duration {
    let mut b = [0u8; 2];
    if getrandom::fill(&mut b).is_err() {
        return Duration::ZERO;
    }
    d.mul_f64(f64::from(u16::from_le_bytes(b)) / 65536.0)
}
