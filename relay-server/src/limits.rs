//! Attempt limits for sensitive endpoints (login, password reset): a fixed
//! window per key (an IP address, an email), in memory. Each relay counts for
//! itself; behind a load balancer with several relays an attacker gets at
//! most `relays × limit` tries per window, which still stops brute force.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How many attempts a key may make per window.
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    /// Attempts allowed per window.
    pub attempts: u32,
    /// The window.
    pub window: Duration,
}

/// Counters for one kind of attempt.
pub struct Limiter {
    limit: Limit,
    counters: Mutex<HashMap<String, (Instant, u32)>>,
}

/// Entries kept before stale ones are pruned.
const PRUNE_AT: usize = 10_000;

impl Limiter {
    /// A limiter enforcing `limit`.
    pub fn new(limit: Limit) -> Self {
        Limiter {
            limit,
            counters: Mutex::new(HashMap::new()),
        }
    }

    /// Counts an attempt for every key; `Err(retry_after)` if any key is over its limit.
    pub fn attempt(&self, keys: &[String], now: Instant) -> Result<(), Duration> {
        let mut counters = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        if counters.len() > PRUNE_AT {
            counters.retain(|_, (start, _)| now.duration_since(*start) < self.limit.window);
        }
        let mut wait = Duration::ZERO;
        for key in keys {
            let entry = counters.entry(key.clone()).or_insert((now, 0));
            if now.duration_since(entry.0) >= self.limit.window {
                *entry = (now, 0);
            }
            entry.1 = entry.1.saturating_add(1);
            if entry.1 > self.limit.attempts {
                wait = wait.max(
                    self.limit
                        .window
                        .saturating_sub(now.duration_since(entry.0)),
                );
            }
        }
        if wait.is_zero() {
            Ok(())
        } else {
            Err(wait.max(Duration::from_secs(1)))
        }
    }

    /// Forgets `key` (a successful login clears its email's count).
    pub fn reset(&self, key: &str) {
        self.counters
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_per_key_and_window() {
        let l = Limiter::new(Limit {
            attempts: 3,
            window: Duration::from_secs(60),
        });
        let t0 = Instant::now();
        let keys = |k: &str| vec![k.to_string()];
        for _ in 0..3 {
            assert!(l.attempt(&keys("a"), t0).is_ok());
        }
        let wait = l
            .attempt(&keys("a"), t0 + Duration::from_secs(10))
            .unwrap_err();
        assert_eq!(wait, Duration::from_secs(50));
        assert!(
            l.attempt(&keys("b"), t0).is_ok(),
            "other keys are unaffected"
        );
        assert!(
            l.attempt(&keys("a"), t0 + Duration::from_secs(61)).is_ok(),
            "a new window"
        );
        l.reset("a");
        assert!(l.attempt(&keys("a"), t0 + Duration::from_secs(62)).is_ok());
        // Any key over its limit refuses the attempt.
        for _ in 0..4 {
            let _ = l.attempt(&keys("c"), t0);
        }
        assert!(l.attempt(&["d".to_string(), "c".to_string()], t0).is_err());
    }
}
