//! The login throttle as a pure state machine; the store keeps the state so every server
//! process shares it.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// How many failures within which window lock a key, and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottlePolicy {
    pub max_failures: usize,
    pub window: Duration,
    pub lock: Duration,
}

impl ThrottlePolicy {
    /// Per IIN: 5 failures within 15 minutes lock the IIN for 5 minutes.
    pub const PER_IIN: Self = Self {
        max_failures: 5,
        window: Duration::from_secs(15 * 60),
        lock: Duration::from_secs(5 * 60),
    };
    /// Per client address: stops one address from spraying many IINs.
    pub const PER_ADDRESS: Self = Self {
        max_failures: 50,
        window: Duration::from_secs(10 * 60),
        lock: Duration::from_secs(10 * 60),
    };
}

/// Recent failures (only those inside the window matter) and the lock, if any.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThrottleState {
    pub failures: Vec<DateTime<Utc>>,
    pub locked_until: Option<DateTime<Utc>>,
}

impl ThrottleState {
    /// Time left on the lock at `now`, if locked.
    pub fn locked_for(&self, now: DateTime<Utc>) -> Option<Duration> {
        let until = self.locked_until?;
        (until > now).then(|| (until - now).to_std().unwrap_or_default())
    }

    /// Failures that still count at `now`.
    pub fn recent_failures(&self, policy: &ThrottlePolicy, now: DateTime<Utc>) -> usize {
        let since = now - window(policy);
        self.failures.iter().filter(|t| **t > since).count()
    }

    /// The state after one more failure at `now`.
    pub fn fail(mut self, policy: &ThrottlePolicy, now: DateTime<Utc>) -> Self {
        if self.locked_for(now).is_some() {
            return self;
        }
        let since = now - window(policy);
        self.failures.retain(|t| *t > since);
        self.failures.push(now);
        self.locked_until = None;
        if self.failures.len() >= policy.max_failures {
            self.failures.clear();
            self.locked_until = Some(now + chrono::Duration::from_std(policy.lock).unwrap_or_default());
        }
        self
    }
}

fn window(policy: &ThrottlePolicy) -> chrono::Duration {
    chrono::Duration::from_std(policy.window).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const P: ThrottlePolicy = ThrottlePolicy::PER_IIN;

    fn t0() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).expect("valid timestamp")
    }

    #[test]
    fn five_failures_lock_for_five_minutes() {
        let mut s = ThrottleState::default();
        for i in 0..4 {
            s = s.fail(&P, t0() + chrono::Duration::seconds(i));
            assert_eq!(s.locked_for(t0() + chrono::Duration::seconds(i)), None);
        }
        s = s.fail(&P, t0() + chrono::Duration::seconds(4));
        let left = s.locked_for(t0() + chrono::Duration::seconds(4)).expect("locked");
        assert_eq!(left, Duration::from_secs(300));
        assert_eq!(s.locked_for(t0() + chrono::Duration::seconds(304)), None);
    }

    #[test]
    fn failures_expire() {
        let mut s = ThrottleState::default();
        for i in 0..4 {
            s = s.fail(&P, t0() + chrono::Duration::seconds(i));
        }
        // The window is rolling: a failure long after the first four starts a new count.
        let later = t0() + chrono::Duration::minutes(20);
        s = s.fail(&P, later);
        assert_eq!(s.locked_for(later), None);
        assert_eq!(s.recent_failures(&P, later), 1);
    }

    /// Offsets in seconds between successive failures.
    fn gaps() -> impl Strategy<Value = Vec<u32>> {
        prop::collection::vec(prop_oneof![0u32..30, 0u32..400, 0u32..2000], 0..40)
    }

    proptest! {
        /// Compares the machine with a direct reading of the rule over the failure history.
        #[test]
        fn locks_exactly_on_the_fifth_failure_in_the_window(gaps in gaps()) {
            let mut s = ThrottleState::default();
            let mut now = t0();
            // Failures that counted (made while not locked), since the last lock.
            let mut counted: Vec<DateTime<Utc>> = Vec::new();
            let mut lock_until: Option<DateTime<Utc>> = None;
            for g in gaps {
                now += chrono::Duration::seconds(i64::from(g));
                let was_locked = lock_until.is_some_and(|u| u > now);
                prop_assert_eq!(s.locked_for(now).is_some(), was_locked);
                s = s.fail(&P, now);
                if was_locked {
                    // Attempts during a lock change nothing and never shorten or extend it.
                    prop_assert_eq!(s.locked_until, lock_until);
                    continue;
                }
                counted.retain(|t| *t > now - chrono::Duration::minutes(15));
                counted.push(now);
                if counted.len() >= 5 {
                    lock_until = Some(now + chrono::Duration::minutes(5));
                    counted.clear();
                    prop_assert_eq!(s.locked_for(now), Some(Duration::from_secs(300)));
                } else {
                    prop_assert_eq!(s.locked_for(now), None, "locked before the fifth failure");
                }
            }
        }

        /// Once locked, the lock holds until its end: never released early.
        #[test]
        fn never_unlocks_early(probe in 0i64..300) {
            let mut s = ThrottleState::default();
            for i in 0..5 {
                s = s.fail(&P, t0() + chrono::Duration::seconds(i));
            }
            let locked_at = t0() + chrono::Duration::seconds(4);
            let at = locked_at + chrono::Duration::seconds(probe);
            let left = s.locked_for(at).expect("still locked");
            prop_assert_eq!(left.as_secs() as i64, 300 - probe);
            prop_assert!(crate::error::minutes_left(left) >= 1);
        }
    }
}
