//! How often one client address may submit a move from a personal link: a sliding window
//! kept in the process (each instance counts its own), so that a script cannot walk the slots
//! of an organisation through a stolen link.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Attempts allowed per address in [`WINDOW`].
pub const ATTEMPTS: usize = 20;
pub const WINDOW: Duration = Duration::from_secs(10 * 60);

#[derive(Default)]
pub struct Throttle {
    seen: Mutex<HashMap<Option<IpAddr>, VecDeque<Instant>>>,
}

impl Throttle {
    /// Counts an attempt from `address`; `Err(seconds)` to wait when it is one too many.
    pub fn attempt(&self, address: Option<IpAddr>) -> Result<(), u64> {
        let now = Instant::now();
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        // Forget the addresses whose window is over, so the map stays small.
        seen.retain(|_, times| {
            times
                .back()
                .is_some_and(|t| now.duration_since(*t) < WINDOW)
        });
        let times = seen.entry(address).or_default();
        while times
            .front()
            .is_some_and(|t| now.duration_since(*t) >= WINDOW)
        {
            times.pop_front();
        }
        if times.len() >= ATTEMPTS {
            let oldest = times.front().copied().unwrap_or(now);
            return Err((WINDOW - now.duration_since(oldest)).as_secs().max(1));
        }
        times.push_back(now);
        Ok(())
    }
}
