//! The rules a device follows around its connection to the relay, sans-IO so
//! the web app and the CLI behave alike: how long to wait before
//! reconnecting ([`Backoff`]), what a close code from the relay asks of the
//! device ([`after_close`]), and when to refresh the access token
//! ([`refresh_at`]). Close codes are documented in docs/operating.md.

use std::time::Duration;

/// Waits between reconnection attempts: exponential (0.5 s doubling to a
/// cap of 30 s) with jitter, so that thousands of devices that lost the
/// relay at the same moment do not all come back at the same moment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Backoff {
    base: Duration,
    cap: Duration,
    failures: u32,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff::new(Duration::from_millis(500), Duration::from_secs(30))
    }
}

impl Backoff {
    /// Backoff starting at `base`, never waiting longer than `cap`.
    pub fn new(base: Duration, cap: Duration) -> Self {
        Backoff {
            base,
            cap,
            failures: 0,
        }
    }

    /// The wait before the next attempt, after one more failure. `random` is
    /// uniform in [0, 1) (the caller's random source): the wait is between
    /// half and all of the exponential step ("equal jitter"), so it never
    /// collapses to zero and never exceeds the cap.
    pub fn next_delay(&mut self, random: f64) -> Duration {
        let step = self
            .base
            .saturating_mul(1u32 << self.failures.min(16))
            .min(self.cap);
        self.failures = self.failures.saturating_add(1);
        let random = if random.is_finite() {
            random.clamp(0.0, 1.0)
        } else {
            0.5
        };
        step.mul_f64(0.5 + random / 2.0)
    }

    /// A connection succeeded (or the network came back): start over.
    pub fn reset(&mut self) {
        self.failures = 0;
    }

    /// Failed attempts since the last success.
    pub fn failures(&self) -> u32 {
        self.failures
    }
}

/// What the device should do after the relay closed its connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AfterClose {
    /// Connect again after the backoff delay.
    Reconnect,
    /// Get a new access token with the refresh token, then connect again; if
    /// the refresh fails, the user must sign in again (local data stays).
    RefreshThenReconnect,
    /// Another connection of this same device replaced this one: stay quiet.
    Stop,
    /// The relay refused what the client sent: a bug in this client. Report
    /// it, and reconnect only after the backoff (an update may fix it).
    ReportAndReconnect,
}

/// The meaning of a WebSocket close `code` from the relay (`None`: the
/// connection dropped without a close frame, like the network going away).
pub fn after_close(code: Option<u16>) -> AfterClose {
    match code {
        Some(4001) => AfterClose::RefreshThenReconnect,
        Some(4009) => AfterClose::Stop,
        Some(1002 | 1003 | 1007 | 1008 | 1009) => AfterClose::ReportAndReconnect,
        _ => AfterClose::Reconnect,
    }
}

/// When to refresh an access token issued at `issued_at` that expires at
/// `expires_at` (seconds since the epoch): a minute before it expires, or
/// halfway through its life if that is shorter.
pub fn refresh_at(issued_at: i64, expires_at: i64) -> i64 {
    let life = (expires_at - issued_at).max(0);
    expires_at - (life / 2).min(60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_with_jitter_up_to_the_cap_and_resets() {
        let mut b = Backoff::default();
        let lows: Vec<Duration> = (0..8).map(|_| b.next_delay(0.0)).collect();
        let ms: Vec<u128> = lows.iter().map(Duration::as_millis).collect();
        assert_eq!(ms, vec![250, 500, 1000, 2000, 4000, 8000, 15000, 15000]);
        b.reset();
        assert_eq!(b.failures(), 0);
        assert_eq!(b.next_delay(0.999_999).as_millis(), 499);
        // Many failures never overflow and stay within the cap.
        let mut b = Backoff::default();
        for _ in 0..1000 {
            let d = b.next_delay(0.7);
            assert!(d <= Duration::from_secs(30) && d >= Duration::from_millis(250));
        }
        // A broken random source cannot break it.
        assert_eq!(Backoff::default().next_delay(f64::NAN).as_millis(), 375);
        assert_eq!(Backoff::default().next_delay(7.0).as_millis(), 500);
    }

    #[test]
    fn close_codes() {
        assert_eq!(after_close(Some(4001)), AfterClose::RefreshThenReconnect);
        assert_eq!(after_close(Some(4008)), AfterClose::Reconnect);
        assert_eq!(after_close(Some(4009)), AfterClose::Stop);
        assert_eq!(after_close(Some(1001)), AfterClose::Reconnect);
        assert_eq!(after_close(Some(1011)), AfterClose::Reconnect);
        assert_eq!(after_close(Some(1008)), AfterClose::ReportAndReconnect);
        assert_eq!(after_close(None), AfterClose::Reconnect);
    }

    #[test]
    fn tokens_are_refreshed_before_they_expire() {
        // The relay's 15-minute tokens: one minute early.
        assert_eq!(refresh_at(1000, 1900), 1840);
        // A short-lived token: halfway.
        assert_eq!(refresh_at(1000, 1060), 1030);
        // Nonsense (expiry before issue): refresh at once.
        assert_eq!(refresh_at(1000, 900), 900);
    }
}
