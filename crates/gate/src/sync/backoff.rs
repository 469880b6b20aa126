//! Exponential backoff with jitter between connection attempts.
//!
//! After the n-th failure in a row the engine waits a random time in `[d/2, d]`, where
//! `d = min(max, initial * 2^n)`: the pause grows quickly when the relay is down for long, and
//! two hundred gates that lost the relay together do not all come back in the same
//! millisecond. A link that got as far as `welcome` resets the count.

use std::time::Duration;

/// The bounds of the backoff.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    pub initial: Duration,
    pub max: Duration,
}

impl Default for Policy {
    /// 250 ms, doubling up to 10 s.
    fn default() -> Policy {
        Policy {
            initial: Duration::from_millis(250),
            max: Duration::from_secs(10),
        }
    }
}

/// The backoff state: how many attempts failed in a row, and a small random generator.
#[derive(Debug)]
pub struct Backoff {
    policy: Policy,
    failures: u32,
    rng: u64,
}

impl Backoff {
    pub fn new(policy: Policy) -> Backoff {
        let mut seed = [0u8; 8];
        // Without the OS's randomness the jitter is merely predictable, not wrong.
        let _ = getrandom::getrandom(&mut seed);
        Backoff::with_seed(policy, u64::from_le_bytes(seed))
    }

    /// A backoff with a fixed seed, for tests.
    pub fn with_seed(policy: Policy, seed: u64) -> Backoff {
        Backoff {
            policy,
            failures: 0,
            rng: seed | 1,
        }
    }

    /// The pause before the next attempt; counts one more failure.
    pub fn next_delay(&mut self) -> Duration {
        let factor = 1u32.checked_shl(self.failures.min(20)).unwrap_or(u32::MAX);
        let ceiling = self
            .policy
            .initial
            .saturating_mul(factor)
            .min(self.policy.max);
        self.failures = self.failures.saturating_add(1);
        let half = ceiling / 2;
        let span = u64::try_from((ceiling - half).as_micros()).unwrap_or(u64::MAX);
        let jitter = if span == 0 {
            0
        } else {
            self.random() % (span + 1)
        };
        half + Duration::from_micros(jitter)
    }

    /// Forgets the failures: the next pause is the shortest again.
    pub fn reset(&mut self) {
        self.failures = 0;
    }

    /// xorshift64: plenty for spreading reconnects.
    fn random(&mut self) -> u64 {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        self.rng
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_maximum_with_jitter_in_the_upper_half() {
        let policy = Policy::default();
        let mut backoff = Backoff::with_seed(policy, 42);
        let ceilings = [250, 500, 1_000, 2_000, 4_000, 8_000, 10_000, 10_000, 10_000];
        for ceiling in ceilings {
            let delay = backoff.next_delay();
            let ceiling = Duration::from_millis(ceiling);
            assert!(
                delay >= ceiling / 2 && delay <= ceiling,
                "{delay:?} vs {ceiling:?}"
            );
        }
        backoff.reset();
        assert!(backoff.next_delay() <= policy.initial);
    }

    #[test]
    fn gates_with_different_seeds_spread_out() {
        let policy = Policy::default();
        let delays: std::collections::HashSet<Duration> = (0..50)
            .map(|seed| {
                let mut b = Backoff::with_seed(policy, seed * 7919 + 1);
                b.next_delay();
                b.next_delay()
            })
            .collect();
        assert!(delays.len() > 40, "{} distinct delays of 50", delays.len());
    }

    #[test]
    fn many_failures_do_not_overflow() {
        let mut backoff = Backoff::with_seed(Policy::default(), 1);
        for _ in 0..10_000 {
            assert!(backoff.next_delay() <= Duration::from_secs(10));
        }
    }
}
