//! Pacing a batch under Dfns' rate limits (`dfns-auth.md`, "Errors": 100 calls a minute on
//! trial organizations, 1000 otherwise).
//!
//! [`Pacer`] hands out slots for API calls at most [`Rate`] a minute, spread evenly (no
//! bursts), and measures nothing but the monotonic clock. A 429 is still possible (other
//! clients share the organization's budget); the batch then waits for its `Retry-After`
//! ([`Pacer::hold`]). One pacer serves all of a batch's workers, so the rate is the whole
//! batch's.

use std::time::{Duration, Instant};

use crate::cli::Rate;

/// Hands out evenly spaced slots for API calls.
#[derive(Debug)]
pub struct Pacer {
    interval: Duration,
    next: Option<Instant>,
}

impl Pacer {
    /// A pacer for `rate`.
    pub fn new(rate: Rate) -> Pacer {
        Pacer {
            interval: rate.interval(),
            next: None,
        }
    }

    /// How long to wait before making `calls` calls; the slots are then taken.
    pub fn reserve(&mut self, calls: u32, now: Instant) -> Duration {
        let start = match self.next {
            Some(next) if next > now => next,
            _ => now,
        };
        self.next = Some(start + self.interval.saturating_mul(calls));
        start - now
    }

    /// Gives out no slot before `until` (a 429's `Retry-After`: it holds every worker).
    pub fn hold(&mut self, until: Instant) {
        if self.next.is_none_or(|next| next < until) {
            self.next = Some(until);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_spread_evenly() {
        let mut pacer = Pacer::new(Rate::PerMinute(100));
        let t0 = Instant::now();
        // 100 calls a minute: 0.6 s per call, 2.4 s per key of 4 calls.
        assert_eq!(pacer.reserve(4, t0), Duration::ZERO);
        assert_eq!(pacer.reserve(4, t0), Duration::from_millis(2400));
        assert_eq!(
            pacer.reserve(4, t0 + Duration::from_secs(1)),
            Duration::from_millis(3800)
        );
        // Idle time is not banked into a burst.
        let later = t0 + Duration::from_secs(600);
        assert_eq!(pacer.reserve(4, later), Duration::ZERO);
        assert_eq!(pacer.reserve(1, later), Duration::from_millis(2400));
    }

    #[test]
    fn a_hold_delays_every_later_slot_even_unlimited() {
        for rate in [Rate::Unlimited, Rate::PerMinute(600)] {
            let mut pacer = Pacer::new(rate);
            let t0 = Instant::now();
            assert_eq!(pacer.reserve(1, t0), Duration::ZERO);
            pacer.hold(t0 + Duration::from_secs(5));
            assert_eq!(pacer.reserve(1, t0), Duration::from_secs(5));
            // An earlier hold does not pull slots forward.
            pacer.hold(t0);
            assert!(pacer.reserve(1, t0) >= Duration::from_secs(5));
        }
    }

    #[test]
    fn unlimited_never_waits() {
        let mut pacer = Pacer::new(Rate::Unlimited);
        let t0 = Instant::now();
        for _ in 0..10 {
            assert_eq!(pacer.reserve(4, t0), Duration::ZERO);
        }
    }
}
