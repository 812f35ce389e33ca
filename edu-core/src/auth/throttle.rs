//! The login throttle as a pure state machine; the store keeps the state so every server
//! process shares it.
//!
//! One rule: **an attempt is reserved before its password is checked.** A reservation counts
//! against the limit at once, so requests in flight cannot all be checked: when the recent
//! failures plus the reservations in flight reach the limit, the next attempt is refused before
//! any password is looked at. A reservation that fails becomes a failure (the one that reaches
//! the limit locks the key). On an account, one that succeeds alone is taken back and forgives
//! the earlier failures; one that succeeds while other attempts were in flight keeps its place as
//! one of the policy's attempts, so a right password among wrong guesses opens no room for more
//! of them. On an address, which many people may share, a success is always taken back. A
//! reservation whose check could not run, or whose request went away, is taken back without
//! counting: nobody learnt its result. The store applies [`Attempt::reserve`] and
//! [`Attempt::settle`] to every key of an attempt in one transaction
//! ([`crate::store::Store::throttle_update`]).

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// How many failures within which window lock a key, and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Failures within `window` that lock the key.
    pub max_failures: usize,
    /// How far back failures count.
    pub window: Duration,
    /// How long a key stays locked once `max_failures` is reached.
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

/// A reservation whose attempt has not been settled yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    /// The id of the attempt that made the reservation.
    pub id: u64,
    /// When the reservation was made; after `PENDING_TTL` it is dropped.
    pub at: DateTime<Utc>,
    /// Another attempt on the key was in flight at the same time.
    #[serde(default)]
    pub contended: bool,
}

/// The longest a password check may take, settling included, before its answer is given up
/// (the caller gets "unavailable" instead): a check takes well under a second.
pub const CHECK_DEADLINE: Duration = Duration::from_secs(10);

/// How long a reservation may stay unsettled before it is dropped. Longer than
/// [`CHECK_DEADLINE`], so one this old belongs to a request whose answer was given up, or to a
/// process that died: nobody learnt its result, it does not count, and it contends with nobody.
pub const PENDING_TTL: Duration = Duration::from_secs(15);

const _: () = assert!(CHECK_DEADLINE.as_secs() < PENDING_TTL.as_secs());

/// Recent failures (only those inside the window matter), attempts in flight, and the lock.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThrottleState {
    /// When each counted failure happened.
    pub failures: Vec<DateTime<Utc>>,
    /// Reservations of attempts still in flight.
    #[serde(default)]
    pub pending: Vec<Pending>,
    /// The end of the current lock; no attempt is reserved before it.
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

    /// Reserves attempt `id` at `now`, or answers how long to wait: while locked, or while the
    /// recent failures and the attempts in flight already fill the policy.
    pub fn reserve(&mut self, policy: &ThrottlePolicy, now: DateTime<Utc>, id: u64) -> Result<(), Duration> {
        self.expire(policy, now);
        if let Some(left) = self.locked_for(now) {
            return Err(left);
        }
        if self.failures.len() + self.pending.len() >= policy.max_failures {
            return Err(policy.lock);
        }
        let contended = !self.pending.is_empty();
        for other in &mut self.pending {
            other.contended = true;
        }
        self.pending.push(Pending { id, at: now, contended });
        Ok(())
    }

    /// Settles reservation `id` as a failure; the failure that reaches the limit locks the key.
    /// A failure counts even when its reservation was dropped meanwhile: its result was given.
    pub fn fail(&mut self, policy: &ThrottlePolicy, now: DateTime<Utc>, id: u64) {
        self.take(id);
        self.expire(policy, now);
        self.failures.push(now);
        self.lock_if_full(policy, now);
    }

    /// Settles reservation `id` as a success.
    ///
    /// On an account's key (`account`), an attempt that was alone while in flight is taken back
    /// and the earlier failures are forgiven; one that raced other attempts (or whose reservation
    /// was dropped meanwhile) keeps its place as one of the policy's attempts: a right password
    /// among wrong guesses opens no room for more of them.
    ///
    /// On an address's key a success is always taken back and forgives nothing: the address
    /// carries many people (a classroom behind one router logging in at once), and another
    /// person's right password is no failure. The wrong guesses racing it still count.
    pub fn succeed(&mut self, policy: &ThrottlePolicy, now: DateTime<Utc>, id: u64, account: bool) {
        let reserved = self.take(id);
        self.expire(policy, now);
        if !account {
            return;
        }
        match reserved {
            Some(Pending { contended: false, .. }) if self.locked_for(now).is_none() => self.failures.clear(),
            Some(Pending { contended: false, .. }) => {}
            _ => {
                self.failures.push(now);
                self.lock_if_full(policy, now);
            }
        }
    }

    /// Takes reservation `id` back without counting it: its check could not run, or its answer
    /// was never given.
    pub fn release(&mut self, id: u64) {
        self.take(id);
    }

    /// True when nothing is left worth keeping: no failure, nothing in flight, no lock.
    pub fn is_clear(&self, now: DateTime<Utc>) -> bool {
        self.failures.is_empty() && self.pending.is_empty() && self.locked_for(now).is_none()
    }

    fn take(&mut self, id: u64) -> Option<Pending> {
        let at = self.pending.iter().position(|p| p.id == id)?;
        Some(self.pending.swap_remove(at))
    }

    /// Drops what left the window, and reservations abandoned long enough that no answer can
    /// have come from them.
    fn expire(&mut self, policy: &ThrottlePolicy, now: DateTime<Utc>) {
        let stale_before = now - chrono::Duration::from_std(PENDING_TTL).unwrap_or_default();
        self.pending.retain(|p| p.at > stale_before);
        let since = now - window(policy);
        self.failures.retain(|t| *t > since);
        self.failures.sort_unstable();
        if self.locked_for(now).is_none() {
            self.locked_until = None;
            self.lock_if_full(policy, now);
        }
    }

    fn lock_if_full(&mut self, policy: &ThrottlePolicy, now: DateTime<Utc>) {
        if self.locked_for(now).is_none() && self.failures.len() >= policy.max_failures {
            self.failures.clear();
            self.locked_until = Some(now + chrono::Duration::from_std(policy.lock).unwrap_or_default());
        }
    }
}

fn window(policy: &ThrottlePolicy) -> chrono::Duration {
    chrono::Duration::from_std(policy.window).unwrap_or_default()
}

/// The throttle key of an account.
pub fn account_key(iin: &str) -> String {
    format!("iin:{iin}")
}

/// The throttle key of a client address.
pub fn address_key(address: std::net::IpAddr) -> String {
    format!("ip:{address}")
}

/// What a throttled key stands for, which decides the error a refusal becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// An account: refusals are "locked", and a success forgives its failures.
    Account,
    /// A client address: refusals are "too many requests"; a success neither counts nor forgives,
    /// since one address may carry many users.
    Address,
}

/// One key an attempt is counted under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThrottleKey {
    /// The store key, as made by `account_key` or `address_key`.
    pub key: String,
    /// What the key stands for: it decides how a success settles and the refusal's error.
    pub kind: KeyKind,
    /// The limits this key is held to.
    pub policy: ThrottlePolicy,
}

/// One password check, counted under every one of its keys at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    id: u64,
    keys: Vec<ThrottleKey>,
}

/// Why an attempt was not allowed to check its password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    /// Which kind of key refused the attempt.
    pub kind: KeyKind,
    /// How long until that key takes attempts again.
    pub retry_after: Duration,
}

impl Attempt {
    /// A new attempt with a random id, counted under `keys`.
    pub fn new(keys: Vec<ThrottleKey>) -> Self {
        Self {
            id: rand::random(),
            keys,
        }
    }

    /// The store keys, in the order [`Attempt::reserve`] and [`Attempt::settle`] expect the states.
    pub fn keys(&self) -> Vec<String> {
        self.keys.iter().map(|k| k.key.clone()).collect()
    }

    /// Reserves the attempt under every key, or under none: a refusal by one key leaves the
    /// others untouched.
    pub fn reserve(&self, states: &mut [ThrottleState], now: DateTime<Utc>) -> Result<(), Refused> {
        let mut reserved = states.to_vec();
        for (key, state) in self.keys.iter().zip(reserved.iter_mut()) {
            state
                .reserve(&key.policy, now, self.id)
                .map_err(|retry_after| Refused {
                    kind: key.kind,
                    retry_after,
                })?;
        }
        states.clone_from_slice(&reserved);
        Ok(())
    }

    /// Takes the attempt back under every key: its password could not be checked.
    pub fn release(&self, states: &mut [ThrottleState]) {
        for state in states {
            state.release(self.id);
        }
    }

    /// Settles the attempt under every key; answers the lock this failure put on an account, if
    /// any.
    pub fn settle(&self, states: &mut [ThrottleState], now: DateTime<Utc>, succeeded: bool) -> Option<Duration> {
        let mut locked = None;
        for (key, state) in self.keys.iter().zip(states.iter_mut()) {
            if succeeded {
                state.succeed(&key.policy, now, self.id, key.kind == KeyKind::Account);
            } else {
                state.fail(&key.policy, now, self.id);
                if key.kind == KeyKind::Account {
                    locked = locked.or(state.locked_for(now));
                }
            }
        }
        locked
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const P: ThrottlePolicy = ThrottlePolicy::PER_IIN;

    fn t0() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).expect("valid timestamp")
    }

    /// One wrong password at `now`, reserved and settled at once as a sequential client would.
    fn wrong(mut s: ThrottleState, now: DateTime<Utc>) -> ThrottleState {
        let id = rand::random();
        if s.reserve(&P, now, id).is_ok() {
            s.fail(&P, now, id);
        }
        s
    }

    #[test]
    fn five_failures_lock_for_five_minutes() {
        let mut s = ThrottleState::default();
        for i in 0..4 {
            s = wrong(s, t0() + chrono::Duration::seconds(i));
            assert_eq!(s.locked_for(t0() + chrono::Duration::seconds(i)), None);
        }
        s = wrong(s, t0() + chrono::Duration::seconds(4));
        let left = s.locked_for(t0() + chrono::Duration::seconds(4)).expect("locked");
        assert_eq!(left, Duration::from_secs(300));
        assert_eq!(s.locked_for(t0() + chrono::Duration::seconds(304)), None);
    }

    #[test]
    fn failures_expire() {
        let mut s = ThrottleState::default();
        for i in 0..4 {
            s = wrong(s, t0() + chrono::Duration::seconds(i));
        }
        // The window is rolling: a failure long after the first four starts a new count.
        let later = t0() + chrono::Duration::minutes(20);
        s = wrong(s, later);
        assert_eq!(s.locked_for(later), None);
        assert_eq!(s.recent_failures(&P, later), 1);
    }

    #[test]
    fn attempts_in_flight_fill_the_policy_before_any_is_checked() {
        let mut s = ThrottleState::default();
        for id in 0..5 {
            s.reserve(&P, t0(), id).expect("room for five");
        }
        assert_eq!(s.reserve(&P, t0(), 5), Err(P.lock), "the sixth waits, unchecked");
        for id in 0..4 {
            s.fail(&P, t0(), id);
        }
        assert_eq!(s.locked_for(t0()), None);
        s.fail(&P, t0(), 4);
        assert_eq!(s.locked_for(t0()), Some(P.lock));
    }

    #[test]
    fn a_success_forgives_only_when_it_raced_nothing() {
        let mut s = ThrottleState::default();
        for id in 0..3 {
            s.reserve(&P, t0(), id).expect("room");
        }
        s.fail(&P, t0(), 0);
        s.succeed(&P, t0(), 1, true);
        assert_eq!(
            s.recent_failures(&P, t0()),
            2,
            "it raced attempt 2: the success keeps its place"
        );
        s.fail(&P, t0(), 2);
        assert_eq!(s.recent_failures(&P, t0()), 3);
        let id = 3;
        s.reserve(&P, t0(), id).expect("room");
        s.succeed(&P, t0(), id, true);
        assert!(s.is_clear(t0()), "alone, a success forgives: {s:?}");
    }

    #[test]
    fn a_classroom_behind_one_address_logs_in_at_once_without_a_lock() {
        let mut s = ThrottleState::default();
        let mut now = t0();
        for round in 0..10u64 {
            let ids: Vec<u64> = (0..20).map(|i| round * 100 + i).collect();
            for &id in &ids {
                s.reserve(&ThrottlePolicy::PER_ADDRESS, now, id)
                    .expect("room for the class");
            }
            for &id in &ids {
                s.succeed(&ThrottlePolicy::PER_ADDRESS, now, id, false);
            }
            now += chrono::Duration::seconds(30);
        }
        assert!(s.is_clear(now), "right passwords left a trace: {s:?}");
    }

    #[test]
    fn wrong_guesses_racing_right_passwords_still_fill_an_address() {
        let policy = ThrottlePolicy::PER_ADDRESS;
        let mut s = ThrottleState::default();
        for id in 0..policy.max_failures as u64 {
            s.reserve(&policy, t0(), id).expect("room");
        }
        for id in 0..policy.max_failures as u64 {
            if id % 2 == 0 {
                s.succeed(&policy, t0(), id, false);
            } else {
                s.fail(&policy, t0(), id);
            }
        }
        assert_eq!(s.recent_failures(&policy, t0()), policy.max_failures / 2);
        assert!(s.locked_for(t0()).is_none());
    }

    #[test]
    fn abandoned_reservations_are_dropped_without_counting() {
        let mut s = ThrottleState::default();
        for id in 0..5 {
            s.reserve(&P, t0(), id).expect("room");
        }
        assert!(s.reserve(&P, t0(), 9).is_err(), "five in flight fill the policy");
        let later = t0() + chrono::Duration::from_std(PENDING_TTL).expect("ttl") + chrono::Duration::seconds(1);
        s.reserve(&P, later, 9).expect("nobody learnt the abandoned results");
        assert_eq!(s.recent_failures(&P, later), 0);
        assert_eq!(s.locked_for(later), None);
        s.succeed(&P, later, 9, true);
        assert!(s.is_clear(later), "a dropped reservation contends with nobody: {s:?}");
    }

    #[test]
    fn a_failure_settled_after_its_reservation_was_dropped_still_counts() {
        let mut s = ThrottleState::default();
        s.reserve(&P, t0(), 1).expect("room");
        let later = t0() + chrono::Duration::from_std(PENDING_TTL).expect("ttl") + chrono::Duration::seconds(1);
        s.fail(&P, later, 1);
        assert_eq!(s.recent_failures(&P, later), 1);
    }

    #[test]
    fn released_reservations_leave_nothing_behind() {
        let mut s = ThrottleState::default();
        s.reserve(&P, t0(), 1).expect("room");
        s.release(1);
        s.reserve(&P, t0(), 2).expect("room");
        s.succeed(&P, t0(), 2, true);
        assert!(s.is_clear(t0()), "the released one raced nothing: {s:?}");
    }

    #[test]
    fn an_attempt_is_reserved_under_all_its_keys_or_none() {
        let attempt = Attempt::new(vec![
            ThrottleKey {
                key: "ip:a".into(),
                kind: KeyKind::Address,
                policy: ThrottlePolicy::PER_ADDRESS,
            },
            ThrottleKey {
                key: "iin:b".into(),
                kind: KeyKind::Account,
                policy: P,
            },
        ]);
        let mut locked = ThrottleState {
            locked_until: Some(t0() + chrono::Duration::minutes(1)),
            ..ThrottleState::default()
        };
        let mut states = vec![ThrottleState::default(), locked.clone()];
        let refused = attempt.reserve(&mut states, t0()).expect_err("the account is locked");
        assert_eq!(refused.kind, KeyKind::Account);
        assert_eq!(states[0], ThrottleState::default(), "the address kept no reservation");
        locked.locked_until = None;
        let mut states = vec![ThrottleState::default(), locked];
        attempt.reserve(&mut states, t0()).expect("both have room");
        assert_eq!(attempt.settle(&mut states, t0(), false), None);
        assert_eq!(states[0].recent_failures(&ThrottlePolicy::PER_ADDRESS, t0()), 1);
        assert_eq!(states[1].recent_failures(&P, t0()), 1);
    }

    /// Offsets in seconds between successive failures.
    fn gaps() -> impl Strategy<Value = Vec<u32>> {
        prop::collection::vec(prop_oneof![0u32..30, 0u32..400, 0u32..2000], 0..40)
    }

    /// Steps of clients racing on one key at one instant: `Some(i)` settles the i-th open
    /// reservation (mod their number) as a failure, `None` asks for a new one.
    fn race() -> impl Strategy<Value = Vec<Option<usize>>> {
        prop::collection::vec(prop_oneof![Just(None), (0usize..64).prop_map(Some)], 0..200)
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
                s = wrong(s, now);
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

        /// However reservations and failures interleave, no more passwords are checked than
        /// the policy allows: the guesses of clients racing each other add up.
        #[test]
        fn racing_guesses_never_exceed_the_policy(steps in race()) {
            let mut s = ThrottleState::default();
            let mut open: Vec<u64> = Vec::new();
            let mut granted = 0usize;
            for (n, step) in steps.into_iter().enumerate() {
                match step {
                    None => {
                        if s.reserve(&P, t0(), n as u64).is_ok() {
                            granted += 1;
                            open.push(n as u64);
                        }
                    }
                    Some(i) if !open.is_empty() => {
                        let id = open.remove(i % open.len());
                        s.fail(&P, t0(), id);
                    }
                    Some(_) => {}
                }
                prop_assert!(granted <= P.max_failures, "{} checks", granted);
            }
        }

        /// The right password among racing wrong ones gets through only with one of the
        /// policy's reservations, and its success opens no room for the guesses still in flight.
        #[test]
        fn the_right_password_succeeds_only_within_the_policy(
            right in 0usize..50,
            order in Just((0u64..50).collect::<Vec<_>>()).prop_shuffle(),
        ) {
            let mut s = ThrottleState::default();
            let granted: Vec<u64> = (0..50u64).filter(|id| s.reserve(&P, t0(), *id).is_ok()).collect();
            prop_assert_eq!(granted.len(), P.max_failures);
            for id in order.into_iter().filter(|id| granted.contains(id)) {
                if id as usize == right {
                    s.succeed(&P, t0(), id, true);
                } else {
                    s.fail(&P, t0(), id);
                }
                if !s.pending.is_empty() {
                    prop_assert!(s.clone().reserve(&P, t0(), 1000).is_err(),
                        "room opened while guesses were in flight: {:?}", s);
                }
            }
            prop_assert_eq!(right < P.max_failures, granted.contains(&(right as u64)));
        }

        /// Once locked, the lock holds until its end: never released early.
        #[test]
        fn never_unlocks_early(probe in 0i64..300) {
            let mut s = ThrottleState::default();
            for i in 0..5 {
                s = wrong(s, t0() + chrono::Duration::seconds(i));
            }
            let locked_at = t0() + chrono::Duration::seconds(4);
            let at = locked_at + chrono::Duration::seconds(probe);
            let left = s.locked_for(at).expect("still locked");
            prop_assert_eq!(left.as_secs() as i64, 300 - probe);
            prop_assert!(crate::error::minutes_left(left) >= 1);
        }
    }
}
