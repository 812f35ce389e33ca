//! The checks of the conformance suite. Each one gets a fresh database and must hold on every `Store`.
//!
//! The checks go through [`Platform`], the way every caller does, and reach into the store only to
//! plant data that the API cannot make (a hash made by the Python backend).

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use super::Fixture;
use crate::domain::{NewUser, Password};
use crate::{
    BootstrapAdmin, ClientInfo, Clock, CreateUser, Error, Iin, Page, Platform, Principal, Role, Session, Store,
    UserProfile, UserRef, minutes_left,
};

/// Unwraps the error of `$result`, panicking unless it matches `$pattern`.
macro_rules! expect_err {
    ($result:expr, $pattern:pat $(,)?) => {
        match $result {
            Err(e @ $pattern) => e,
            Err(other) => panic!("expected {}, got the error {other:?}", stringify!($pattern)),
            Ok(value) => panic!("expected {}, got Ok({value:?})", stringify!($pattern)),
        }
    };
}

const ADMIN_IIN: &str = "800101300011";
const ADMIN_PASSWORD: &str = "Admin-pass-1";
const PASSWORD: &str = "Right-pass-1";
const WRONG_PASSWORD: &str = "Wrong-pass-1";

/// Made by Python's bcrypt (`bcrypt.hashpw(b"Secret-pass-1", bcrypt.gensalt(rounds=4))`).
const PYTHON_HASH: &str = "$2b$04$JCubIWcNxQ.ro6w2quLdYOsXBQQnYAJi4D/U0dpl9vFmmdnEmOPHi";
/// Same, for the Cyrillic password "Пароль-2024" encoded as UTF-8.
const PYTHON_HASH_CYRILLIC: &str = "$2b$04$QMFv/DlnzfnpI.o3jwhhHu8j4T7NS4vQsI8.C4JPJypyJ0ODGuboy";

fn no_client() -> ClientInfo {
    ClientInfo::default()
}

fn from_address(a: u8, b: u8, c: u8, d: u8) -> ClientInfo {
    ClientInfo {
        address: Some(IpAddr::V4(Ipv4Addr::new(a, b, c, d))),
    }
}

fn iin(s: &str) -> Iin {
    Iin::parse(s).expect("a valid IIN in the test")
}

/// A distinct valid IIN per number.
fn nth_iin(n: u64) -> String {
    format!("{:012}", 900_000_000_000 + n)
}

fn bootstrap(iin_text: &str, password: &str) -> BootstrapAdmin {
    BootstrapAdmin {
        iin: iin(iin_text),
        password: Password::new(password).expect("a valid password in the test"),
        full_name: "Администратор Системы".into(),
        phone: None,
    }
}

/// Logs in, panicking with the error if that fails.
async fn login<S: Store>(p: &Platform<S>, iin: &str, password: &str) -> Session {
    p.login(iin, password, no_client())
        .await
        .expect("login with the right password")
}

/// Logs in and resolves the access token: the caller of later operations. An account an
/// administrator created must change its password first; it changes it to the same one.
async fn principal<S: Store>(p: &Platform<S>, iin: &str, password: &str) -> Principal {
    let mut session = login(p, iin, password).await;
    if session.user.must_change_password {
        let own = p
            .authenticate_own_account(&session.tokens.access_token)
            .await
            .expect("a fresh access token reaches its own account");
        session = p
            .change_password(&own, password, password)
            .await
            .expect("the required password change");
    }
    p.authenticate(&session.tokens.access_token)
        .await
        .expect("a fresh access token authenticates")
}

/// The bootstrap administrator, logged in.
async fn admin<S: Store>(p: &Platform<S>) -> Principal {
    p.bootstrap_admin(bootstrap(ADMIN_IIN, ADMIN_PASSWORD))
        .await
        .expect("bootstrap the admin");
    principal(p, ADMIN_IIN, ADMIN_PASSWORD).await
}

fn new_user(iin: &str, role: Role, phone: Option<&str>) -> CreateUser {
    CreateUser {
        iin: iin.into(),
        full_name: format!("Тестов {} Тестович", role.as_str()),
        phone: phone.map(Into::into),
        role: Some(role),
        password: PASSWORD.into(),
    }
}

/// Creates a user of `role` with [`PASSWORD`], who then makes the change of password that a
/// password an administrator chose requires (to the same password), as a real user would first.
async fn create<S: Store>(p: &Platform<S>, admin: &Principal, iin: &str, role: Role) -> UserProfile {
    let created = p
        .create_user(admin, new_user(iin, role, None))
        .await
        .expect("create a user");
    assert!(created.must_change_password);
    let session = login(p, iin, PASSWORD).await;
    let own = p
        .authenticate_own_account(&session.tokens.access_token)
        .await
        .expect("a fresh token reaches its own account");
    p.change_password(&own, PASSWORD, PASSWORD)
        .await
        .expect("the required change")
        .user
}

/// Creates a user of `role` and logs them in.
async fn create_and_login<S: Store>(p: &Platform<S>, admin: &Principal, iin: &str, role: Role) -> Principal {
    create(p, admin, iin, role).await;
    principal(p, iin, PASSWORD).await
}

/// One failed login, which must be answered as wrong credentials (not yet locked).
async fn fail_once<S: Store>(p: &Platform<S>, iin: &str) {
    expect_err!(p.login(iin, WRONG_PASSWORD, no_client()).await, Error::Unauthorized(_));
}

/// Failed logins until the IIN locks: the last of the policy's failures answers `Locked`.
async fn lock<S: Store>(fx: &Fixture<S>, iin: &str) {
    for _ in 1..fx.config.iin_throttle.max_failures {
        fail_once(&fx.platform, iin).await;
    }
    expect_err!(
        fx.platform.login(iin, WRONG_PASSWORD, no_client()).await,
        Error::Locked { .. }
    );
}

/// The time left on a lock, from an error that must be `Locked` or `TooManyRequests`.
fn retry_after(e: &Error) -> Duration {
    match e {
        Error::Locked { retry_after } | Error::TooManyRequests { retry_after } => *retry_after,
        other => panic!("expected a lock, got {other:?}"),
    }
}

fn minutes(n: i64) -> chrono::Duration {
    chrono::Duration::minutes(n)
}

/// The start-up administrator is created once: later starts, on any process, leave the account and its password as they are.
pub async fn bootstrap_admin_is_created_once<S: Store>(fx: Fixture<S>) {
    let p = &fx.platform;
    assert!(
        p.bootstrap_admin(bootstrap(ADMIN_IIN, ADMIN_PASSWORD))
            .await
            .expect("first bootstrap")
    );
    assert!(
        !p.bootstrap_admin(bootstrap(ADMIN_IIN, "Another-pass-2"))
            .await
            .expect("second bootstrap")
    );
    let other = fx.second_process().await;
    assert!(
        !other
            .bootstrap_admin(bootstrap(ADMIN_IIN, "Third-pass-3"))
            .await
            .expect("bootstrap elsewhere")
    );

    // The account is untouched: the first password still works, the later ones do not.
    let session = login(p, ADMIN_IIN, ADMIN_PASSWORD).await;
    assert_eq!(session.user.role, Role::Admin);
    assert!(!session.user.must_change_password);
    expect_err!(
        p.login(ADMIN_IIN, "Another-pass-2", no_client()).await,
        Error::Unauthorized(_)
    );
    expect_err!(
        p.login(ADMIN_IIN, "Third-pass-3", no_client()).await,
        Error::Unauthorized(_)
    );

    let me = p
        .authenticate(&session.tokens.access_token)
        .await
        .expect("authenticate");
    let (users, total) = p.list_users(&me, Page::default()).await.expect("list users");
    assert_eq!(total, 1, "exactly one administrator was created");
    assert_eq!(users.len(), 1);
    assert_eq!(users[0].iin.as_str(), ADMIN_IIN);
}

/// A login answers the account's profile and a token pair whose access token authenticates (on another process too); refresh and tampered tokens do not.
pub async fn login_returns_tokens_that_authenticate<S: Store>(fx: Fixture<S>) {
    let p = &fx.platform;
    // An account the operator made (an administrator's choice of password would have to be
    // changed first: see `a_password_an_admin_chose_must_be_changed_first`).
    let created = p
        .provision_user(CreateUser {
            iin: "900202400022".into(),
            full_name: "Иванов Иван Иванович".into(),
            phone: Some("+7 701 000 11 22".into()),
            role: Some(Role::Teacher),
            password: PASSWORD.into(),
        })
        .await
        .expect("create a teacher");

    let session = login(p, "900202400022", PASSWORD).await;
    assert_eq!(session.user, created, "login shows the profile that creation returned");
    assert_eq!(session.user.iin.as_str(), "900202400022");
    assert_eq!(session.user.role, Role::Teacher);
    assert_eq!(session.user.full_name, "Иванов Иван Иванович");
    assert_eq!(session.user.short_name, "Иванов И. И.");
    assert_eq!(session.user.phone.as_deref(), Some("+77010001122"));
    assert_eq!(session.user.photo, None);
    assert!(!session.user.must_change_password);

    let tokens = &session.tokens;
    assert_eq!(tokens.token_type, "bearer");
    assert_eq!(tokens.expires_in, fx.config.access_ttl.as_secs());
    assert!(!tokens.access_token.is_empty());
    assert!(!tokens.refresh_token.is_empty());
    assert_ne!(tokens.access_token, tokens.refresh_token);

    let me = p
        .authenticate(&tokens.access_token)
        .await
        .expect("the access token authenticates");
    assert_eq!((me.id, &me.iin, me.role), (created.id, &created.iin, Role::Teacher));
    assert!(me.session.is_some(), "a login's token belongs to its session");
    assert_eq!(p.me(&me).await.expect("own profile"), created);

    // Another process with the same secret accepts it too.
    let other = fx.second_process().await;
    assert_eq!(
        other
            .authenticate(&tokens.access_token)
            .await
            .expect("authenticate elsewhere"),
        me
    );

    // Only access tokens authenticate.
    expect_err!(p.authenticate(&tokens.refresh_token).await, Error::Unauthorized(_));
    expect_err!(p.authenticate("not-a-token").await, Error::Unauthorized(_));
    let (signed, signature) = tokens.access_token.rsplit_once('.').expect("a JWT has three parts");
    let first = if signature.starts_with('A') { 'B' } else { 'A' };
    let tampered = format!("{signed}.{first}{}", &signature[1..]);
    expect_err!(p.authenticate(&tampered).await, Error::Unauthorized(_));
}

/// A wrong password and an unknown IIN get the same answer, whatever password comes with the IIN.
pub async fn wrong_password_and_unknown_iin_answer_alike<S: Store>(fx: Fixture<S>) {
    let p = &fx.platform;
    let admin = admin(p).await;
    create(p, &admin, "900303500033", Role::Student).await;

    let wrong = expect_err!(
        p.login("900303500033", WRONG_PASSWORD, no_client()).await,
        Error::Unauthorized(_)
    );
    let unknown = expect_err!(
        p.login("900303500034", WRONG_PASSWORD, no_client()).await,
        Error::Unauthorized(_)
    );
    let unknown_right = expect_err!(
        p.login("900303500034", PASSWORD, no_client()).await,
        Error::Unauthorized(_)
    );
    assert_eq!(wrong.to_string(), unknown.to_string());
    assert_eq!(wrong.to_string(), unknown_right.to_string());
    assert_eq!(wrong.code(), unknown.code());
    assert!(!wrong.to_string().is_empty());
}

/// A malformed IIN or password is a validation error and never counts against the throttle.
pub async fn malformed_input_is_a_validation_error<S: Store>(fx: Fixture<S>) {
    let p = &fx.platform;
    let admin = admin(p).await;
    let student = "900404600044";
    create(p, &admin, student, Role::Student).await;
    let too_long = "a".repeat(73);
    // 37 two-byte letters: 74 bytes, though only 37 characters.
    let too_long_cyrillic = "ж".repeat(37);
    let address = from_address(198, 51, 100, 4);

    // More malformed attempts than either policy allows, on a real IIN and from one address.
    let rounds = fx
        .config
        .iin_throttle
        .max_failures
        .max(fx.config.address_throttle.max_failures)
        + 1;
    for _ in 0..rounds {
        expect_err!(p.login(student, &too_long, address).await, Error::Validation(_));
        expect_err!(
            p.login(student, &too_long_cyrillic, address).await,
            Error::Validation(_)
        );
        expect_err!(p.login(student, "", address).await, Error::Validation(_));
    }
    for bad in [
        "90040460004",
        "9004046000444",
        "90040460004a",
        "abcdefghijkl",
        "",
        "٩٠٠٤٠٤٦٠٠٠٤٤",
    ] {
        expect_err!(p.login(bad, PASSWORD, address).await, Error::Validation(_));
    }

    // None of them counted: 4 real failures still do not lock, and the right password works.
    for _ in 1..fx.config.iin_throttle.max_failures {
        expect_err!(p.login(student, WRONG_PASSWORD, address).await, Error::Unauthorized(_));
    }
    p.login(student, PASSWORD, address)
        .await
        .expect("malformed attempts are not failures");
}

/// Hashes made by the previous Python backend's bcrypt log in, Cyrillic passwords included.
pub async fn python_bcrypt_hashes_log_in<S: Store>(fx: Fixture<S>) {
    let p = &fx.platform;
    for (iin_text, hash) in [("900505700055", PYTHON_HASH), ("900505700056", PYTHON_HASH_CYRILLIC)] {
        let user = NewUser {
            iin: iin(iin_text),
            full_name: "Перенесён Из Питона".into(),
            phone: None,
            role: Role::Student,
            password_hash: hash.into(),
            must_change_password: false,
        };
        fx.store()
            .insert_user(
                &crate::policy::Operator.admin(),
                &user,
                fx.clock.now(),
                &crate::store::AuditEntry {
                    actor: None,
                    action: "user.plant",
                    target: "user:{id}".into(),
                    before: None,
                    after: None,
                    at: fx.clock.now(),
                },
            )
            .await
            .expect("plant a user");
    }

    let session = login(p, "900505700055", "Secret-pass-1").await;
    assert_eq!(session.user.iin.as_str(), "900505700055");
    p.authenticate(&session.tokens.access_token)
        .await
        .expect("the session authenticates");
    login(p, "900505700056", "Пароль-2024").await;

    expect_err!(
        p.login("900505700055", "Secret-pass-2", no_client()).await,
        Error::Unauthorized(_)
    );
    expect_err!(
        p.login("900505700056", "Secret-pass-1", no_client()).await,
        Error::Unauthorized(_)
    );
}

/// The fifth failure within the window locks the IIN, and while it is locked even the right password is refused; other accounts are not touched.
pub async fn throttle_locks_on_fifth_failure_even_for_right_password<S: Store>(fx: Fixture<S>) {
    let p = &fx.platform;
    let admin = admin(p).await;
    let student = "900606800066";
    let neighbour = "900606800067";
    create(p, &admin, student, Role::Student).await;
    create(p, &admin, neighbour, Role::Student).await;
    assert_eq!(fx.config.iin_throttle.max_failures, 5);

    for _ in 1..=4 {
        fail_once(p, student).await;
    }
    let fifth = expect_err!(
        p.login(student, WRONG_PASSWORD, no_client()).await,
        Error::Locked { .. }
    );
    assert!(retry_after(&fifth) <= fx.config.iin_throttle.lock);

    fx.clock.advance(chrono::Duration::seconds(10));
    let e = expect_err!(p.login(student, PASSWORD, no_client()).await, Error::Locked { .. });
    let left = retry_after(&e);
    assert!(left > Duration::ZERO, "a lock reports time left");
    assert!(
        left <= Duration::from_secs(5 * 60),
        "locked for at most 5 minutes, got {left:?}"
    );
    assert!(minutes_left(left) >= 1);
    assert_eq!(minutes_left(left), 5);
    assert!(
        e.to_string().contains("5 minute"),
        "the message names the minutes left: {e}"
    );

    // The lock is on that IIN only.
    login(p, neighbour, PASSWORD).await;
    // Attempts during the lock neither lift nor extend it.
    expect_err!(
        p.login(student, WRONG_PASSWORD, no_client()).await,
        Error::Locked { .. }
    );
    let again = expect_err!(p.login(student, PASSWORD, no_client()).await, Error::Locked { .. });
    assert_eq!(retry_after(&again), left);
}

/// Failures older than the window stop counting.
pub async fn throttle_failures_expire<S: Store>(fx: Fixture<S>) {
    let p = &fx.platform;
    let admin = admin(p).await;
    let student = "900707900077";
    create(p, &admin, student, Role::Student).await;

    for _ in 0..4 {
        fail_once(p, student).await;
    }
    fx.clock.advance(minutes(16));
    for _ in 0..4 {
        fail_once(p, student).await;
    }
    login(p, student, PASSWORD).await;

    // The window is rolling, not reset: failures 14 minutes apart still add up.
    for _ in 0..4 {
        fail_once(p, student).await;
    }
    fx.clock.advance(minutes(14));
    expect_err!(
        p.login(student, WRONG_PASSWORD, no_client()).await,
        Error::Locked { .. }
    );
}

/// A lock ends after five minutes, and the refusal says how long is left.
pub async fn throttle_lock_ends_after_five_minutes<S: Store>(fx: Fixture<S>) {
    let p = &fx.platform;
    let admin = admin(p).await;
    let student = "900808000088";
    create(p, &admin, student, Role::Student).await;

    lock(&fx, student).await;
    fx.clock.advance(minutes(4));
    let e = expect_err!(p.login(student, PASSWORD, no_client()).await, Error::Locked { .. });
    assert!(
        retry_after(&e) <= Duration::from_secs(60),
        "one minute left, got {:?}",
        retry_after(&e)
    );
    assert_eq!(minutes_left(retry_after(&e)), 1);

    fx.clock.advance(minutes(1) + chrono::Duration::seconds(1));
    let session = login(p, student, PASSWORD).await;
    assert_eq!(session.user.iin.as_str(), student);

    // Counting starts again from zero.
    for _ in 1..fx.config.iin_throttle.max_failures {
        fail_once(p, student).await;
    }
    login(p, student, PASSWORD).await;
}

/// A successful login forgives the failures before it.
pub async fn success_clears_failures<S: Store>(fx: Fixture<S>) {
    let p = &fx.platform;
    let admin = admin(p).await;
    let student = "900909100099";
    create(p, &admin, student, Role::Student).await;

    for _ in 0..4 {
        fail_once(p, student).await;
    }
    login(p, student, PASSWORD).await;
    for _ in 0..4 {
        fail_once(p, student).await;
    }
    login(p, student, PASSWORD).await;

    // Without a success in between the same failures do lock: the count was really cleared above.
    for _ in 0..4 {
        fail_once(p, student).await;
    }
    expect_err!(
        p.login(student, WRONG_PASSWORD, no_client()).await,
        Error::Locked { .. }
    );
}

/// One address failing on many IINs is refused with "too many requests" before any single IIN locks.
pub async fn per_address_limit_answers_too_many_requests<S: Store>(fx: Fixture<S>) {
    let p = &fx.platform;
    let admin = admin(p).await;
    let student = "901010200010";
    create(p, &admin, student, Role::Student).await;
    let policy = fx.config.address_throttle;
    let sprayer = from_address(203, 0, 113, 7);

    // One failure on each of many IINs: no IIN locks, but the address does.
    for n in 0..policy.max_failures {
        let target = nth_iin(n as u64);
        let e = p.login(&target, WRONG_PASSWORD, sprayer).await;
        expect_err!(e, Error::Unauthorized(_));
    }
    let e = expect_err!(p.login(student, PASSWORD, sprayer).await, Error::TooManyRequests { .. });
    let left = retry_after(&e);
    assert!(left > Duration::ZERO && left <= policy.lock, "retry after {left:?}");
    expect_err!(
        p.login(&nth_iin(0), WRONG_PASSWORD, sprayer).await,
        Error::TooManyRequests { .. }
    );

    // Other addresses, and the sprayed IINs themselves, are unaffected.
    login(p, student, PASSWORD).await;
    let session = p
        .login(student, PASSWORD, from_address(203, 0, 113, 8))
        .await
        .expect("another address");
    assert_eq!(session.user.iin.as_str(), student);
    expect_err!(
        p.login(&nth_iin(0), WRONG_PASSWORD, from_address(203, 0, 113, 8)).await,
        Error::Unauthorized(_)
    );

    // The address lock is shared by every process, and ends.
    let other = fx.second_process().await;
    expect_err!(
        other.login(student, PASSWORD, sprayer).await,
        Error::TooManyRequests { .. }
    );
    fx.clock
        .advance(chrono::Duration::from_std(policy.lock).expect("a short lock") + chrono::Duration::seconds(1));
    p.login(student, PASSWORD, sprayer)
        .await
        .expect("the address lock ended");
}

/// Failures counted by one process and another add up under the same limit.
pub async fn throttle_is_shared_between_processes<S: Store>(fx: Fixture<S>) {
    let p = &fx.platform;
    let admin = admin(p).await;
    let student = "901111300011";
    create(p, &admin, student, Role::Student).await;
    let other = fx.second_process().await;

    for n in 1..fx.config.iin_throttle.max_failures {
        let process = if n % 2 == 0 { p } else { &other };
        fail_once(process, student).await;
    }
    expect_err!(
        p.login(student, WRONG_PASSWORD, no_client()).await,
        Error::Locked { .. }
    );
    expect_err!(p.login(student, PASSWORD, no_client()).await, Error::Locked { .. });
    expect_err!(other.login(student, PASSWORD, no_client()).await, Error::Locked { .. });

    // A success in one process clears the count seen by the other.
    fx.clock.advance(minutes(6));
    for _ in 1..fx.config.iin_throttle.max_failures {
        fail_once(&other, student).await;
    }
    login(p, student, PASSWORD).await;
    for _ in 1..fx.config.iin_throttle.max_failures {
        fail_once(&other, student).await;
    }
    login(&other, student, PASSWORD).await;
}

/// Failures racing each other, on processes of their own, are all counted: none is lost to a concurrent update.
pub async fn parallel_failures_are_all_counted<S: Store>(fx: Fixture<S>) {
    // A lost update shows only when the racers overlap: a few rounds make that likely.
    const ROUNDS: u64 = 3;
    let p = &fx.platform;
    let admin = admin(p).await;
    let other = fx.second_process().await;
    let max = fx.config.iin_throttle.max_failures;
    let fresh: Vec<String> = (0..ROUNDS).map(nth_iin).collect();
    let known: Vec<String> = (ROUNDS..2 * ROUNDS).map(nth_iin).collect();
    for iin in fresh.iter().chain(&known) {
        create(p, &admin, iin, Role::Student).await;
    }

    for (fresh, known) in fresh.iter().zip(&known) {
        // On an IIN with no throttle state yet, the racers also race to create it.
        assert_eq!(
            race(p, &other, fresh, max).await,
            (max - 1, 1),
            "every failure was counted exactly once"
        );
        // On one that already has a failure, they race to update the existing state.
        fail_once(&other, known).await;
        assert_eq!(
            race(p, &other, known, max - 1).await,
            (max - 2, 1),
            "every failure was counted exactly once"
        );
        for iin in [fresh, known] {
            expect_err!(p.login(iin, PASSWORD, no_client()).await, Error::Locked { .. });
            expect_err!(other.login(iin, PASSWORD, no_client()).await, Error::Locked { .. });
        }
    }
}

/// Makes `attempts` wrong logins on `iin` at once, half through each process; counts the
/// `Unauthorized` and `Locked` answers.
async fn race<S: Store>(p: &Platform<S>, other: &Platform<S>, iin: &str, attempts: usize) -> (usize, usize) {
    let start = std::sync::Arc::new(tokio::sync::Barrier::new(attempts));
    let mut racers = tokio::task::JoinSet::new();
    for n in 0..attempts {
        let process = if n % 2 == 0 { p.clone() } else { other.clone() };
        let start = std::sync::Arc::clone(&start);
        let iin = iin.to_owned();
        racers.spawn(async move {
            start.wait().await;
            process.login(&iin, WRONG_PASSWORD, ClientInfo::default()).await
        });
    }
    let (mut unauthorized, mut locked) = (0, 0);
    for outcome in racers.join_all().await {
        match outcome {
            Err(Error::Unauthorized(_)) => unauthorized += 1,
            Err(Error::Locked { .. }) => locked += 1,
            other => panic!("a wrong password gave {other:?}"),
        }
    }
    (unauthorized, locked)
}

/// Fifty guesses at once, half through each of two processes, the right password among them
/// at several places: no more passwords are checked than the policy allows, and the right one
/// gets in only when it was one of them.
pub async fn racing_guesses_check_no_more_passwords_than_the_policy<S: Store>(fx: Fixture<S>) {
    const GUESSES: usize = 50;
    let p = &fx.platform;
    let admin = admin(p).await;
    let other = fx.second_process().await;
    let max = fx.config.iin_throttle.max_failures;
    for (round, right) in [0usize, 2, 4, 5, 17, 49].into_iter().enumerate() {
        let iin = nth_iin(100 + round as u64);
        create(p, &admin, &iin, Role::Student).await;
        let checked_before = p.hasher().checks() + other.hasher().checks();
        let start = std::sync::Arc::new(tokio::sync::Barrier::new(GUESSES));
        let mut racers = tokio::task::JoinSet::new();
        for n in 0..GUESSES {
            let process = if n % 2 == 0 { p.clone() } else { other.clone() };
            let start = std::sync::Arc::clone(&start);
            let iin = iin.clone();
            racers.spawn(async move {
                start.wait().await;
                let password = if n == right { PASSWORD } else { WRONG_PASSWORD };
                (n, process.login(&iin, password, ClientInfo::default()).await)
            });
        }
        let (mut wrong, mut locked, mut admitted) = (0, 0, false);
        for (n, outcome) in racers.join_all().await {
            match outcome {
                Ok(_) if n == right => admitted = true,
                Err(Error::Unauthorized(_)) if n != right => wrong += 1,
                Err(Error::Locked { .. }) => locked += 1,
                other => panic!("guess {n} (right one: {right}) gave {other:?}"),
            }
        }
        let checked = p.hasher().checks() + other.hasher().checks() - checked_before;
        eprintln!(
            "{GUESSES} racing guesses, the right one sent as number {right}: {checked} passwords checked, admitted: {admitted}"
        );
        assert!(
            checked as usize <= max,
            "{checked} passwords checked for {GUESSES} racing guesses; the policy allows {max}"
        );
        assert!(wrong < max, "{wrong} wrong guesses were answered before the lock");
        assert_eq!(wrong + locked + usize::from(admitted), GUESSES);
        // Checked means reserved among the first `max`: the right one is admitted exactly then.
        if !admitted {
            expect_err!(p.login(&iin, PASSWORD, no_client()).await, Error::Locked { .. });
        }
    }
}

/// A password an administrator chose (a new account, a reset) must be changed before anything
/// else; the account's own routes stay open meanwhile. Accounts the operator made are not asked.
pub async fn a_password_an_admin_chose_must_be_changed_first<S: Store>(fx: Fixture<S>) {
    let p = &fx.platform;
    let admin = admin(p).await;
    let iin = nth_iin(160);
    let created = p
        .create_user(&admin, new_user(&iin, Role::Student, None))
        .await
        .expect("create");
    assert!(created.must_change_password);
    let session = login(p, &iin, PASSWORD).await;
    assert!(session.user.must_change_password);
    expect_err!(
        p.authenticate(&session.tokens.access_token).await,
        Error::PasswordChangeRequired
    );
    let own = p
        .authenticate_own_account(&session.tokens.access_token)
        .await
        .expect("the own account stays open");
    p.me(&own).await.expect("their profile");
    let changed = p
        .change_password(&own, PASSWORD, "Own-choice-12")
        .await
        .expect("the change");
    assert!(!changed.user.must_change_password);
    p.authenticate(&changed.tokens.access_token)
        .await
        .expect("everything is open after the change");
    p.authenticate(&session.tokens.access_token)
        .await
        .expect("and to the token the change was made with");

    let operator_made = p
        .provision_user(new_user(&nth_iin(161), Role::Teacher, None))
        .await
        .expect("provision");
    assert!(!operator_made.must_change_password);
    let session = login(p, &nth_iin(161), PASSWORD).await;
    p.authenticate(&session.tokens.access_token)
        .await
        .expect("the operator's account is open at once");
}

/// A login whose request goes away while its password is being checked gave nobody an answer:
/// its place under the throttle is taken back, so clients that hang up, or a database that goes
/// away mid-check, never lock the account. Wrong guesses answered still count.
pub async fn abandoned_password_checks_do_not_lock_the_account<S: Store>(fx: Fixture<S>) {
    let p = &fx.platform;
    let admin = admin(p).await;
    let iin = nth_iin(150);
    create(p, &admin, &iin, Role::Student).await;
    let max = fx.config.iin_throttle.max_failures;
    let mut cut = 0;
    for _ in 0..200 {
        if cut > max {
            break;
        }
        let checks = p.hasher().checks();
        let mut login = std::pin::pin!(p.login(&iin, WRONG_PASSWORD, no_client()));
        // Poll the login until its password is being checked, then let it go.
        loop {
            tokio::select! {
                biased;
                done = &mut login => {
                    expect_err!(done, Error::Unauthorized(_));
                    break;
                }
                () = tokio::task::yield_now() => {}
            }
            if p.hasher().checks() > checks {
                cut += 1;
                break;
            }
        }
    }
    assert!(cut > max, "{cut} logins were cut off while their password was checked");
    p.login(&iin, PASSWORD, no_client())
        .await
        .expect("cut-off checks did not count against the account");
    // Nothing is left behind in the database: another process has the whole policy.
    let other = fx.second_process().await;
    for _ in 1..max {
        expect_err!(
            other.login(&iin, WRONG_PASSWORD, no_client()).await,
            Error::Unauthorized(_)
        );
    }
    other
        .login(&iin, PASSWORD, no_client())
        .await
        .expect("four wrong guesses leave room for the right password");
    for _ in 0..max {
        let _ = other.login(&iin, WRONG_PASSWORD, no_client()).await;
    }
    expect_err!(p.login(&iin, PASSWORD, no_client()).await, Error::Locked { .. });
}

/// The current password of a password change is a guess like a login's: it locks the account.
pub async fn change_password_guesses_are_throttled<S: Store>(fx: Fixture<S>) {
    let p = &fx.platform;
    let admin = admin(p).await;
    let student = "901414600014";
    let me = create_and_login(p, &admin, student, Role::Student).await;
    let max = fx.config.iin_throttle.max_failures;
    for _ in 1..max {
        expect_err!(
            p.change_password(&me, WRONG_PASSWORD, "Brand-new-pass-1").await,
            Error::BadRequest(_)
        );
    }
    expect_err!(
        p.change_password(&me, WRONG_PASSWORD, "Brand-new-pass-1").await,
        Error::Locked { .. }
    );
    let checked = p.hasher().checks();
    expect_err!(
        p.change_password(&me, PASSWORD, "Brand-new-pass-1").await,
        Error::Locked { .. }
    );
    assert_eq!(
        p.hasher().checks(),
        checked,
        "a locked account's password is not even checked"
    );
    // The lock is the account's: logging in is locked too, and it ends with the lock.
    expect_err!(p.login(student, PASSWORD, no_client()).await, Error::Locked { .. });
    fx.clock.advance(minutes(6));
    p.change_password(&me, PASSWORD, "Brand-new-pass-1")
        .await
        .expect("after the lock, the right password changes it");
}

/// Refreshing spends the refresh token for a new pair; presenting a spent one again revokes its whole family and no other.
pub async fn refresh_rotates_and_reuse_revokes_family<S: Store>(fx: Fixture<S>) {
    let p = &fx.platform;
    let admin = admin(p).await;
    let student = "901313500013";
    let me = create_and_login(p, &admin, student, Role::Student).await;
    let first = login(p, student, PASSWORD).await;
    let unrelated = login(p, student, PASSWORD).await;

    fx.clock.advance(chrono::Duration::seconds(2));
    let second = p.refresh(&first.tokens.refresh_token).await.expect("refresh");
    assert_ne!(second.tokens.refresh_token, first.tokens.refresh_token);
    assert_ne!(second.tokens.access_token, first.tokens.access_token);
    assert_eq!(second.tokens.token_type, "bearer");
    assert_eq!(second.user.iin.as_str(), student);
    assert_eq!(
        p.authenticate(&second.tokens.access_token)
            .await
            .expect("new access token")
            .id,
        me.id
    );

    let third = p
        .refresh(&second.tokens.refresh_token)
        .await
        .expect("refresh the rotated token");

    // Presenting a spent token again is refused, and takes the rest of its family with it.
    expect_err!(p.refresh(&first.tokens.refresh_token).await, Error::Unauthorized(_));
    expect_err!(p.refresh(&third.tokens.refresh_token).await, Error::Unauthorized(_));
    expect_err!(p.refresh(&second.tokens.refresh_token).await, Error::Unauthorized(_));
    expect_err!(p.refresh("never-issued").await, Error::Unauthorized(_));

    // Another login is another family, untouched.
    let other = fx.second_process().await;
    let renewed = other
        .refresh(&unrelated.tokens.refresh_token)
        .await
        .expect("another family still works");
    expect_err!(p.refresh(&unrelated.tokens.refresh_token).await, Error::Unauthorized(_));
    expect_err!(
        other.refresh(&renewed.tokens.refresh_token).await,
        Error::Unauthorized(_)
    );
}

/// Logging out revokes every access and refresh token of the account, and no other account's.
pub async fn logout_revokes_access_and_refresh_tokens<S: Store>(fx: Fixture<S>) {
    let p = &fx.platform;
    let admin = admin(p).await;
    let student = "901414600014";
    create(p, &admin, student, Role::Student).await;
    let one = login(p, student, PASSWORD).await;
    let two = login(p, student, PASSWORD).await;
    let admin_session = login(p, ADMIN_IIN, ADMIN_PASSWORD).await;

    let me = p.authenticate(&one.tokens.access_token).await.expect("authenticate");
    p.logout(&me).await.expect("logout");

    for session in [&one, &two] {
        expect_err!(
            p.authenticate(&session.tokens.access_token).await,
            Error::Unauthorized(_)
        );
        expect_err!(p.refresh(&session.tokens.refresh_token).await, Error::Unauthorized(_));
    }
    // Other users keep their sessions; the user can log in again.
    p.authenticate(&admin_session.tokens.access_token)
        .await
        .expect("another user's token");
    let again = login(p, student, PASSWORD).await;
    assert_eq!(
        p.authenticate(&again.tokens.access_token)
            .await
            .expect("a new session")
            .id,
        me.id
    );
    p.refresh(&again.tokens.refresh_token)
        .await
        .expect("a new refresh token");
}

/// A password change needs the current password and a valid new one; it ends every other session and earlier refresh token, and keeps the caller's access token.
pub async fn change_password_revokes_earlier_tokens<S: Store>(fx: Fixture<S>) {
    let p = &fx.platform;
    let admin = admin(p).await;
    let student = "901515700015";
    create(p, &admin, student, Role::Student).await;
    let before = login(p, student, PASSWORD).await;
    let other = login(p, student, PASSWORD).await;
    let me = p.authenticate(&before.tokens.access_token).await.expect("authenticate");

    expect_err!(
        p.change_password(&me, WRONG_PASSWORD, "New-pass-123").await,
        Error::BadRequest(_)
    );
    expect_err!(p.change_password(&me, PASSWORD, "short").await, Error::Validation(_));
    expect_err!(
        p.change_password(&me, PASSWORD, &"a".repeat(73)).await,
        Error::Validation(_)
    );
    // The refused attempts changed nothing.
    p.authenticate(&before.tokens.access_token)
        .await
        .expect("still valid after refused changes");

    let after = p
        .change_password(&me, PASSWORD, "New-pass-123")
        .await
        .expect("change password");
    assert!(!after.user.must_change_password);
    // The session that changed the password keeps its access token until it expires; every
    // other session and every earlier refresh token ends.
    assert_eq!(
        p.authenticate(&before.tokens.access_token)
            .await
            .expect("the caller's own access token")
            .id,
        me.id
    );
    expect_err!(p.authenticate(&other.tokens.access_token).await, Error::Unauthorized(_));
    expect_err!(p.refresh(&before.tokens.refresh_token).await, Error::Unauthorized(_));
    expect_err!(p.refresh(&other.tokens.refresh_token).await, Error::Unauthorized(_));

    assert_eq!(
        p.authenticate(&after.tokens.access_token)
            .await
            .expect("the new session")
            .id,
        me.id
    );
    p.refresh(&after.tokens.refresh_token)
        .await
        .expect("the new refresh token");

    expect_err!(p.login(student, PASSWORD, no_client()).await, Error::Unauthorized(_));
    login(p, student, "New-pass-123").await;
}

/// Only an administrator resets another's password; the reset revokes earlier tokens and must be changed before anything else.
pub async fn reset_password_requires_change_and_revokes<S: Store>(fx: Fixture<S>) {
    let p = &fx.platform;
    let admin = admin(p).await;
    let student = "901616800016";
    let teacher = create_and_login(p, &admin, "901616800017", Role::Teacher).await;
    create(p, &admin, student, Role::Student).await;
    let before = login(p, student, PASSWORD).await;
    let me = p.authenticate(&before.tokens.access_token).await.expect("authenticate");

    expect_err!(
        p.reset_password(&teacher, student, "Teacher-set-1").await,
        Error::Forbidden(_)
    );
    expect_err!(
        p.reset_password(&me, student, "Self-set-123").await,
        Error::Forbidden(_)
    );
    expect_err!(p.reset_password(&admin, student, "short").await, Error::Validation(_));
    expect_err!(
        p.reset_password(&admin, "901616800099", "Reset-pass-1").await,
        Error::NotFound(_)
    );
    p.authenticate(&before.tokens.access_token)
        .await
        .expect("still valid after refused resets");
    login(p, student, PASSWORD).await;

    let profile = p.reset_password(&admin, student, "Reset-pass-1").await.expect("reset");
    assert!(profile.must_change_password);
    assert_eq!(profile.iin.as_str(), student);
    expect_err!(
        p.authenticate(&before.tokens.access_token).await,
        Error::Unauthorized(_)
    );
    expect_err!(p.refresh(&before.tokens.refresh_token).await, Error::Unauthorized(_));

    expect_err!(p.login(student, PASSWORD, no_client()).await, Error::Unauthorized(_));
    let session = login(p, student, "Reset-pass-1").await;
    assert!(session.user.must_change_password);

    // Until it is changed, only the account's own routes are open; changing it lifts that.
    expect_err!(
        p.authenticate(&session.tokens.access_token).await,
        Error::PasswordChangeRequired
    );
    let me = p
        .authenticate_own_account(&session.tokens.access_token)
        .await
        .expect("authenticate for the own account");
    let changed = p
        .change_password(&me, "Reset-pass-1", "Own-choice-1")
        .await
        .expect("change");
    assert!(!changed.user.must_change_password);
    assert!(!p.me(&me).await.expect("profile").must_change_password);
}

/// A deleted user's tokens, refresh tokens and password stop working at once.
pub async fn deleted_user_token_is_rejected<S: Store>(fx: Fixture<S>) {
    let p = &fx.platform;
    let admin = admin(p).await;
    let student = "901717900017";
    create(p, &admin, student, Role::Student).await;
    let session = login(p, student, PASSWORD).await;
    let me = p
        .authenticate(&session.tokens.access_token)
        .await
        .expect("authenticate");

    p.delete_user(&admin, student).await.expect("delete");
    expect_err!(
        p.authenticate(&session.tokens.access_token).await,
        Error::Unauthorized(_)
    );
    expect_err!(p.refresh(&session.tokens.refresh_token).await, Error::Unauthorized(_));
    expect_err!(p.login(student, PASSWORD, no_client()).await, Error::Unauthorized(_));

    expect_err!(p.me(&me).await, Error::NotFound(_));
}

/// Phones are unique among accounts that have one; no phone, or a blank one, is never a conflict.
pub async fn phone_is_unique_only_when_present<S: Store>(fx: Fixture<S>) {
    let p = &fx.platform;
    let admin = admin(p).await;

    let a = p
        .create_user(&admin, new_user("901818000018", Role::Student, None))
        .await
        .expect("no phone");
    let b = p
        .create_user(&admin, new_user("901818000019", Role::Student, Some(" ")))
        .await
        .expect("blank phone");
    assert_eq!(a.phone, None);
    assert_eq!(b.phone, None);

    let c = p
        .create_user(
            &admin,
            new_user("901818000020", Role::Student, Some("+7 701 123 45 67")),
        )
        .await
        .expect("with a phone");
    assert_eq!(c.phone.as_deref(), Some("+77011234567"));
    expect_err!(
        p.create_user(&admin, new_user("901818000021", Role::Student, Some("+77011234567")))
            .await,
        Error::Conflict(_),
    );
    expect_err!(
        p.create_user(
            &admin,
            new_user("901818000021", Role::Student, Some("+7 (701) 123-45-67"))
        )
        .await,
        Error::Conflict(_),
    );
    expect_err!(
        p.create_user(&admin, new_user("901818000021", Role::Student, Some("12345")))
            .await,
        Error::Validation(_),
    );
    let user_ref = p.user_ref(&admin, "901818000021").await;
    expect_err!(user_ref, Error::NotFound(_));

    let a_me = principal(p, "901818000018", PASSWORD).await;
    expect_err!(
        p.update_phone(&a_me, Some("+7-701-123-45-67")).await,
        Error::Conflict(_)
    );
    expect_err!(p.update_phone(&a_me, Some("+7 701 abc")).await, Error::Validation(_));
    expect_err!(p.update_phone(&a_me, Some("123")).await, Error::Validation(_));
    assert_eq!(
        p.me(&a_me).await.expect("profile").phone,
        None,
        "refused updates change nothing"
    );

    let updated = p
        .update_phone(&a_me, Some("8 (702) 555-00-11"))
        .await
        .expect("a free number");
    assert_eq!(updated.phone.as_deref(), Some("87025550011"));
    // Setting one's own number again is no conflict; clearing it frees it for others.
    p.update_phone(&a_me, Some("87025550011"))
        .await
        .expect("own number again");
    let cleared = p.update_phone(&a_me, None).await.expect("clear the phone");
    assert_eq!(cleared.phone, None);
    let b_me = principal(p, "901818000019", PASSWORD).await;
    assert_eq!(
        p.update_phone(&b_me, Some("87025550011"))
            .await
            .expect("a freed number")
            .phone
            .as_deref(),
        Some("87025550011")
    );
    p.update_phone(&a_me, Some(""))
        .await
        .expect("several users without a phone");
}

/// A second account with an IIN in use, however spaced, is a conflict and leaves the first as it was.
pub async fn duplicate_iin_is_a_conflict<S: Store>(fx: Fixture<S>) {
    let p = &fx.platform;
    let admin = admin(p).await;
    let first = create(p, &admin, "901919100019", Role::Student).await;

    let mut again = new_user("901919100019", Role::Teacher, Some("+77019998877"));
    again.password = "Other-pass-1".into();
    expect_err!(p.create_user(&admin, again).await, Error::Conflict(_));
    expect_err!(
        p.create_user(&admin, new_user(" 901919100019 ", Role::Student, None))
            .await,
        Error::Conflict(_)
    );
    expect_err!(
        p.create_user(&admin, new_user(ADMIN_IIN, Role::Student, None)).await,
        Error::Conflict(_)
    );

    // The existing account is unchanged, and the refused phone is still free.
    let session = login(p, "901919100019", PASSWORD).await;
    assert_eq!(session.user, first);
    expect_err!(
        p.login("901919100019", "Other-pass-1", no_client()).await,
        Error::Unauthorized(_)
    );
    p.create_user(&admin, new_user("901919100020", Role::Teacher, Some("+77019998877")))
        .await
        .expect("free phone");
    let (_, total) = p.list_users(&admin, Page::default()).await.expect("list");
    assert_eq!(total, 3);
}

/// Administrators cannot be deleted; teachers and students can.
pub async fn admins_cannot_be_deleted<S: Store>(fx: Fixture<S>) {
    let p = &fx.platform;
    let admin = admin(p).await;
    create(p, &admin, "902020200020", Role::Admin).await;
    create(p, &admin, "902020200021", Role::Student).await;
    create(p, &admin, "902020200022", Role::Teacher).await;

    expect_err!(p.delete_user(&admin, ADMIN_IIN).await, Error::Forbidden(_));
    expect_err!(p.delete_user(&admin, "902020200020").await, Error::Forbidden(_));
    login(p, "902020200020", PASSWORD).await;
    login(p, ADMIN_IIN, ADMIN_PASSWORD).await;

    p.delete_user(&admin, "902020200021").await.expect("delete a student");
    p.delete_user(&admin, "902020200022").await.expect("delete a teacher");
    expect_err!(p.user_ref(&admin, "902020200021").await, Error::NotFound(_));
    expect_err!(p.delete_user(&admin, "902020200021").await, Error::NotFound(_));
    expect_err!(p.delete_user(&admin, "2020").await, Error::Validation(_));
    let (users, total) = p.list_users(&admin, Page::default()).await.expect("list");
    assert_eq!(total, 2);
    assert!(users.iter().all(|u| u.role == Role::Admin));
}

/// Teachers and students cannot list, create, reset the password of or delete accounts.
pub async fn only_admins_manage_users<S: Store>(fx: Fixture<S>) {
    let p = &fx.platform;
    let admin = admin(p).await;
    let teacher = create_and_login(p, &admin, "902121300021", Role::Teacher).await;
    let student = create_and_login(p, &admin, "902121300022", Role::Student).await;
    let target = "902121300023";
    create(p, &admin, target, Role::Student).await;

    for caller in [&teacher, &student] {
        expect_err!(
            p.create_user(caller, new_user("902121300024", Role::Student, None))
                .await,
            Error::Forbidden(_)
        );
        expect_err!(
            p.create_user(caller, new_user("902121300025", Role::Admin, None)).await,
            Error::Forbidden(_)
        );
        expect_err!(p.list_users(caller, Page::default()).await, Error::Forbidden(_));
        expect_err!(p.delete_user(caller, target).await, Error::Forbidden(_));
        expect_err!(p.delete_user(caller, ADMIN_IIN).await, Error::Forbidden(_));
        expect_err!(
            p.reset_password(caller, target, "Hijacked-pass-1").await,
            Error::Forbidden(_)
        );
        expect_err!(
            p.reset_password(caller, ADMIN_IIN, "Hijacked-pass-1").await,
            Error::Forbidden(_)
        );
    }

    // Nothing was changed by the refused calls.
    let session = login(p, target, PASSWORD).await;
    assert!(!session.user.must_change_password);
    login(p, ADMIN_IIN, ADMIN_PASSWORD).await;
    let (users, total) = p.list_users(&admin, Page::default()).await.expect("admins may list");
    assert_eq!(total, 4);
    assert_eq!(users.len(), 4);
}

/// Users are listed in id order, a page at a time, with the total count.
pub async fn users_are_listed_in_pages<S: Store>(fx: Fixture<S>) {
    let p = &fx.platform;
    let admin = admin(p).await;
    let created: Vec<String> = (0..7).map(|n| format!("90222240{n:04}")).collect();
    for (n, iin_text) in created.iter().enumerate() {
        let role = if n % 3 == 0 { Role::Teacher } else { Role::Student };
        create(p, &admin, iin_text, role).await;
    }
    let count = created.len() + 1;

    let (all, total) = p.list_users(&admin, Page::default()).await.expect("list everything");
    assert_eq!(total, count as i64);
    assert_eq!(all.len(), count);
    assert!(all.windows(2).all(|w| w[0].id < w[1].id), "users come in id order");
    let iins: Vec<&str> = all.iter().map(|u| u.iin.as_str()).collect();
    let mut expected = vec![ADMIN_IIN];
    expected.extend(created.iter().map(String::as_str));
    assert_eq!(iins, expected, "creation order is id order");

    let mut seen = Vec::new();
    for offset in (0..count).step_by(3) {
        let (page, total) = p.list_users(&admin, Page::new(3, offset as i64)).await.expect("a page");
        assert_eq!(total, count as i64, "the total does not depend on the page");
        let end = (offset + 3).min(count);
        assert_eq!(page, all[offset..end], "page at offset {offset}");
        seen.extend(page);
    }
    assert_eq!(seen, all, "the pages cover every user once");

    let (page, _) = p.list_users(&admin, Page::new(2, 5)).await.expect("an unaligned page");
    assert_eq!(page, all[5..7]);
    let (beyond, total) = p.list_users(&admin, Page::new(3, 100)).await.expect("past the end");
    assert!(beyond.is_empty());
    assert_eq!(total, count as i64);
    // Out-of-range values are clamped, not refused.
    let (clamped, _) = p.list_users(&admin, Page::new(0, -4)).await.expect("clamped page");
    assert_eq!(clamped, all[..1]);
}

/// Any logged-in user may look up another by IIN (leading zeros kept); an unknown IIN is not found, a malformed one a validation error.
pub async fn user_lookup_by_iin<S: Store>(fx: Fixture<S>) {
    let p = &fx.platform;
    let admin = admin(p).await;
    let teacher = p
        .create_user(
            &admin,
            CreateUser {
                iin: "002323500023".into(),
                full_name: "Сейткали Айгерим".into(),
                phone: None,
                role: Some(Role::Teacher),
                password: PASSWORD.into(),
            },
        )
        .await
        .expect("create a teacher");
    let student = create_and_login(p, &admin, "902323500024", Role::Student).await;

    // Any logged-in user may look anyone up; leading zeros are kept.
    let expected = UserRef {
        id: teacher.id,
        iin: iin("002323500023"),
        full_name: "Сейткали Айгерим".into(),
    };
    assert_eq!(
        p.user_ref(&student, "002323500023")
            .await
            .expect("look up as a student"),
        expected
    );
    assert_eq!(
        p.user_ref(&admin, "002323500023").await.expect("look up as an admin"),
        expected
    );
    let own = p.user_ref(&student, "902323500024").await.expect("look up oneself");
    assert_eq!(own.id, student.id);
    assert_eq!(own.iin, student.iin);

    expect_err!(p.user_ref(&student, "902323500025").await, Error::NotFound(_));
    expect_err!(p.user_ref(&student, "2323500023").await, Error::Validation(_));
    expect_err!(p.user_ref(&student, "00232350002x").await, Error::Validation(_));
    expect_err!(p.user_ref(&student, "").await, Error::Validation(_));
}

// ---- groups, modules, subjects and who sees them ----

fn module_ids(trees: &[crate::domain::ModuleTree]) -> Vec<crate::domain::ModuleId> {
    let mut ids: Vec<_> = trees.iter().map(|t| t.module.id).collect();
    ids.sort_unstable_by_key(|id| id.0);
    ids
}

async fn new_module<S: Store>(p: &Platform<S>, admin: &Principal, title: &str) -> crate::domain::ModuleId {
    let module = crate::domain::NewModule {
        title: title.into(),
        course: None,
        description: None,
    };
    p.create_module(admin, module).await.expect("create a module").id
}

/// Students see the modules linked to their groups, teachers those they teach, administrators all; only administrators manage the structure, and unlinking takes a module away.
pub async fn modules_are_visible_by_role_and_link<S: Store>(fx: Fixture<S>) {
    let p = &fx.platform;
    let admin = admin(p).await;
    let teacher = create_and_login(p, &admin, &nth_iin(1), Role::Teacher).await;
    let other_teacher = create_and_login(p, &admin, &nth_iin(2), Role::Teacher).await;
    let student = create_and_login(p, &admin, &nth_iin(3), Role::Student).await;
    let other_student = create_and_login(p, &admin, &nth_iin(4), Role::Student).await;
    let g1 = p.create_group(&admin, "ИС-21", None).await.expect("group 1");
    let g2 = p.create_group(&admin, "ИС-22", Some("")).await.expect("group 2");
    assert_eq!(g2.description, None, "a blank description is none");
    p.add_group_members(&admin, g1.id, &[student.id])
        .await
        .expect("add to g1");
    p.add_group_members(&admin, g2.id, &[other_student.id])
        .await
        .expect("add to g2");
    let m1 = new_module(p, &admin, "Модуль 1").await;
    let m2 = new_module(p, &admin, "Модуль 2").await;
    let m3 = new_module(p, &admin, "Никому").await;
    let s1 = p.create_subject(&admin, m1, "Математика").await.expect("subject 1");
    let s2 = p.create_subject(&admin, m2, "Физика").await.expect("subject 2");
    p.assign_teacher(&admin, &nth_iin(1), m1, s1.id)
        .await
        .expect("assign teacher 1");
    p.assign_teacher(&admin, &nth_iin(2), m2, s2.id)
        .await
        .expect("assign teacher 2");
    assert!(p.link_group_to_module(&admin, g1.id, m1).await.expect("link g1"));
    assert!(!p.link_group_to_module(&admin, g1.id, m1).await.expect("link g1 again"));
    assert!(
        p.link_group_to_subject(&admin, s2.id, g2.id)
            .await
            .expect("link g2 via subject")
    );

    assert_eq!(
        module_ids(&p.modules(&admin).await.expect("admin modules")),
        vec![m1, m2, m3]
    );
    assert_eq!(
        module_ids(&p.modules(&teacher).await.expect("teacher modules")),
        vec![m1]
    );
    assert_eq!(
        module_ids(&p.modules(&other_teacher).await.expect("teacher modules")),
        vec![m2]
    );
    assert_eq!(
        module_ids(&p.modules(&student).await.expect("student modules")),
        vec![m1]
    );
    assert_eq!(
        module_ids(&p.modules(&other_student).await.expect("student modules")),
        vec![m2]
    );
    for (who, module) in [
        (&student, m2),
        (&student, m3),
        (&other_student, m1),
        (&teacher, m2),
        (&other_teacher, m1),
    ] {
        expect_err!(p.module(who, module).await, Error::NotFound(_));
    }
    expect_err!(p.subject_lessons(&student, s2.id).await, Error::NotFound(_));
    assert!(
        p.subject_lessons(&student, s1.id)
            .await
            .expect("own subject")
            .is_empty()
    );
    // Only admins manage structure; only staff read the teachers' views.
    expect_err!(p.create_group(&teacher, "x", None).await, Error::Forbidden(_));
    expect_err!(p.link_group_to_module(&teacher, g2.id, m1).await, Error::Forbidden(_));
    expect_err!(p.teacher_modules(&student).await, Error::Forbidden(_));

    // Unlinking takes the module away.
    p.unlink_group_from_subject(&admin, s1.id, g1.id).await.expect("unlink");
    assert!(p.modules(&student).await.expect("student modules").is_empty());
    expect_err!(
        p.unlink_group_from_subject(&admin, s1.id, g1.id).await,
        Error::NotFound(_)
    );
}

/// Subject titles are unique within a module, ignoring case and surrounding spaces; another module may reuse one.
pub async fn subject_titles_are_unique_per_module_ignoring_case<S: Store>(fx: Fixture<S>) {
    let p = &fx.platform;
    let admin = admin(p).await;
    let m = new_module(p, &admin, "m").await;
    let other = new_module(p, &admin, "other").await;
    p.create_subject(&admin, m, "Математика").await.expect("first subject");
    for dup in ["МАТЕМАТИКА", "математика", " Математика  ", "мАТЕМАТИКА"] {
        expect_err!(p.create_subject(&admin, m, dup).await, Error::Conflict(_));
    }
    p.create_subject(&admin, m, "Ёжик").await.expect("Ёжик");
    expect_err!(p.create_subject(&admin, m, "ЁЖИК").await, Error::Conflict(_));
    p.create_subject(&admin, other, "МАТЕМАТИКА")
        .await
        .expect("same title, other module");
    expect_err!(
        p.create_subject(&admin, crate::domain::ModuleId(987_654), "Математика")
            .await,
        Error::NotFound(_)
    );
    expect_err!(p.create_subject(&admin, m, "   ").await, Error::Validation(_));
    let tree = p.module(&admin, m).await.expect("module");
    assert_eq!(tree.subjects.len(), 2);
}

/// Group names are unique, ignoring surrounding spaces, and never empty.
pub async fn group_names_are_unique<S: Store>(fx: Fixture<S>) {
    let p = &fx.platform;
    let admin = admin(p).await;
    p.create_group(&admin, "ВТ-11", None).await.expect("group");
    expect_err!(p.create_group(&admin, "ВТ-11", None).await, Error::Conflict(_));
    expect_err!(p.create_group(&admin, " ВТ-11 ", None).await, Error::Conflict(_));
    expect_err!(p.create_group(&admin, "", None).await, Error::Validation(_));
    assert_eq!(p.list_groups(&admin, Page::default()).await.expect("groups").0.len(), 1);
}

/// Deleting a group with its users deletes its students and teachers but keeps administrators, and the subjects they taught stay without a teacher; a plain delete keeps every member.
pub async fn delete_group_with_users_keeps_admins<S: Store>(fx: Fixture<S>) {
    let p = &fx.platform;
    let admin = admin(p).await;
    let student = create(p, &admin, &nth_iin(1), Role::Student).await;
    let teacher = create(p, &admin, &nth_iin(2), Role::Teacher).await;
    let other_admin = create(p, &admin, &nth_iin(3), Role::Admin).await;
    let g = p.create_group(&admin, "g", None).await.expect("group");
    let kept = p.create_group(&admin, "kept", None).await.expect("group");
    p.add_group_members(&admin, g.id, &[student.id, teacher.id, other_admin.id])
        .await
        .expect("members");
    p.add_group_members(&admin, kept.id, &[student.id])
        .await
        .expect("members");
    let m = new_module(p, &admin, "m").await;
    let s = p.create_subject(&admin, m, "s").await.expect("subject");
    p.assign_teacher(&admin, &nth_iin(2), m, s.id).await.expect("assign");
    p.link_group_to_module(&admin, g.id, m).await.expect("link");

    assert_eq!(p.delete_group_with_users(&admin, g.id).await.expect("delete"), 2);
    expect_err!(p.group(&admin, g.id).await, Error::NotFound(_));
    expect_err!(p.user_ref(&admin, &nth_iin(1)).await, Error::NotFound(_));
    expect_err!(p.user_ref(&admin, &nth_iin(2)).await, Error::NotFound(_));
    p.user_ref(&admin, &nth_iin(3)).await.expect("the admin is kept");
    assert!(p.group_members(&admin, kept.id).await.expect("members").is_empty());
    let tree = p.module(&admin, m).await.expect("the module stays");
    assert_eq!(
        tree.subjects[0].subject.teacher_id, None,
        "the subject stays, without a teacher"
    );
    expect_err!(p.delete_group_with_users(&admin, g.id).await, Error::NotFound(_));

    // A plain delete keeps the members.
    let g = p.create_group(&admin, "g2", None).await.expect("group");
    p.add_group_members(&admin, g.id, &[other_admin.id])
        .await
        .expect("members");
    p.delete_group(&admin, g.id).await.expect("delete");
    p.user_ref(&admin, &nth_iin(3)).await.expect("kept");
}

/// Deleting a module deletes its subjects and keeps the groups that were linked to it, with their members.
pub async fn deleting_a_module_cascades_to_subjects_only<S: Store>(fx: Fixture<S>) {
    let p = &fx.platform;
    let admin = admin(p).await;
    let student = create_and_login(p, &admin, &nth_iin(1), Role::Student).await;
    let g = p.create_group(&admin, "g", None).await.expect("group");
    p.add_group_members(&admin, g.id, &[student.id]).await.expect("members");
    let m = new_module(p, &admin, "m").await;
    let s = p.create_subject(&admin, m, "s").await.expect("subject");
    p.link_group_to_module(&admin, g.id, m).await.expect("link");
    p.delete_module(&admin, m).await.expect("delete");
    expect_err!(p.module(&admin, m).await, Error::NotFound(_));
    expect_err!(p.delete_subject(&admin, s.id).await, Error::NotFound(_));
    expect_err!(p.subject_lessons(&admin, s.id).await, Error::NotFound(_));
    assert_eq!(p.group_members(&admin, g.id).await.expect("group stays").len(), 1);
    assert!(p.modules(&student).await.expect("modules").is_empty());
    expect_err!(p.delete_module(&admin, m).await, Error::NotFound(_));
}

// ---- lessons, files and homework ----

fn bytes_of(data: &'static [u8]) -> impl futures_util::Stream<Item = Result<bytes::Bytes, std::io::Error>> + Send {
    futures_util::stream::iter(data.chunks(7).map(|c| Ok(bytes::Bytes::from_static(c))))
}

const PDF: &[u8] = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n";

/// A module with a subject taught by a teacher and a group with a student, linked.
struct Class {
    admin: Principal,
    teacher: Principal,
    other_teacher: Principal,
    student: Principal,
    outsider: Principal,
    module: crate::domain::ModuleId,
    subject: crate::domain::SubjectId,
}

async fn class<S: Store>(p: &Platform<S>) -> Class {
    let admin = admin(p).await;
    let teacher = create_and_login(p, &admin, &nth_iin(1), Role::Teacher).await;
    let other_teacher = create_and_login(p, &admin, &nth_iin(2), Role::Teacher).await;
    let student = create_and_login(p, &admin, &nth_iin(3), Role::Student).await;
    let outsider = create_and_login(p, &admin, &nth_iin(4), Role::Student).await;
    let g = p.create_group(&admin, "ИС-21", None).await.expect("group");
    p.add_group_members(&admin, g.id, &[student.id]).await.expect("members");
    let module = new_module(p, &admin, "Модуль").await;
    let subject = p.create_subject(&admin, module, "Математика").await.expect("subject");
    let other = p.create_subject(&admin, module, "Физика").await.expect("subject");
    p.assign_teacher(&admin, &nth_iin(1), module, subject.id)
        .await
        .expect("assign");
    p.assign_teacher(&admin, &nth_iin(2), module, other.id)
        .await
        .expect("assign");
    p.link_group_to_module(&admin, g.id, module).await.expect("link");
    Class {
        admin,
        teacher,
        other_teacher,
        student,
        outsider,
        module,
        subject: subject.id,
    }
}

fn lesson_request(title: &str, kind: &str) -> crate::NewLesson {
    crate::NewLesson {
        title: title.into(),
        label: kind.into(),
        content_url: None,
        description: None,
        test_id: None,
    }
}

async fn submit<S: Store>(
    p: &Platform<S>,
    who: &Principal,
    lesson: crate::domain::LessonId,
    comment: Option<&str>,
) -> crate::domain::Submission {
    let mut draft = p.begin_homework(who, lesson).await.expect("may submit");
    draft.add_file("работа.pdf", bytes_of(PDF)).await.expect("file staged");
    draft.finish(comment).await.expect("submitted")
}

/// A spreadsheet of one student in one group, as an import reads it.
fn one_row_roster(group: &str, iin: &str) -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let ws = book.add_worksheet();
    for (col, text) in ["Группа", "ИИН", "ФИО", group, iin, "Новый Ученик"].iter().enumerate() {
        let (row, col) = ((col / 3) as u32, (col % 3) as u16);
        ws.write_string(row, col, *text).expect("a cell");
    }
    book.save_to_buffer().expect("a workbook")
}

async fn assert_store_consistent<S: Store>(p: &Platform<S>) {
    let report = p.fsck(false, Duration::ZERO).await.expect("fsck");
    assert!(report.is_clean(), "file store and rows agree: {report:?}");
}

/// A change and its audit record commit together: with the record impossible to write, the
/// grade, the deletions and the administrator's actions are not made either; once it can be
/// written, each is made and recorded, and the log reads back filtered and paged.
pub async fn audit_records_commit_with_their_changes<S: Store>(fx: Fixture<S>) {
    use crate::domain::{AuditFilter, Page};
    let p = &fx.platform;
    let c = class(p).await;
    let lesson = p
        .create_lesson(&c.teacher, c.subject, lesson_request("Урок", "pdf"))
        .await
        .expect("lesson");
    let work = submit(p, &c.student, lesson.id, Some("работа")).await;
    let group = p.create_group(&c.admin, "Аудит-1", None).await.expect("group");
    let victim = nth_iin(40);
    create(p, &c.admin, &victim, Role::Student).await;
    let module = new_module(p, &c.admin, "Удаляемый").await;

    fx.execute("ALTER TABLE audit_log RENAME TO audit_log_away").await;
    assert!(p.grade_submission(&c.teacher, work.id, 75, None).await.is_err());
    assert!(p.delete_group(&c.admin, group.id).await.is_err());
    assert!(p.delete_user(&c.admin, &victim).await.is_err());
    assert!(p.reset_password(&c.admin, &victim, "Reset-pass-1").await.is_err());
    assert!(p.delete_module(&c.admin, module).await.is_err());
    assert!(p.delete_lesson(&c.teacher, lesson.id).await.is_err());
    assert!(p.create_group(&c.admin, "Аудит-2", None).await.is_err());
    let newcomer = nth_iin(41);
    let roster = one_row_roster("Аудит-3", &newcomer);
    let import = async || {
        let options = crate::import::ImportOptions {
            allow_invalid_iin: true,
            ..crate::import::ImportOptions::default()
        };
        p.import_groups(&c.admin, &roster, options, &|_| {}).await
    };
    assert!(import().await.is_err(), "an import is one change with its record");
    fx.execute("ALTER TABLE audit_log_away RENAME TO audit_log").await;
    assert!(
        p.user_ref(&c.admin, &newcomer).await.is_err(),
        "the import made nothing without its record"
    );

    // Nothing of it happened.
    let mine = p.my_submissions(&c.student, lesson.id).await.expect("submissions");
    assert_eq!(mine[0].grade, None, "the grade was not written without its record");
    p.group(&c.admin, group.id).await.expect("the group is still there");
    p.user_ref(&c.admin, &victim).await.expect("the user is still there");
    login(p, &victim, PASSWORD).await;
    p.module(&c.admin, module).await.expect("the module is still there");
    p.lesson(&c.teacher, lesson.id)
        .await
        .expect("the lesson is still there");
    let (groups, _) = p.list_groups(&c.admin, Page::default()).await.expect("groups");
    assert!(groups.iter().all(|g| g.name != "Аудит-2"));

    // With the log back, each is made and recorded.
    p.grade_submission(&c.teacher, work.id, 75, None).await.expect("grade");
    p.grade_submission(&c.admin, work.id, 80, None).await.expect("regrade");
    p.delete_group(&c.admin, group.id).await.expect("delete group");
    p.delete_user(&c.admin, &victim).await.expect("delete user");
    let report = import().await.expect("import");
    assert_eq!(report.users_created, 1);
    p.user_ref(&c.admin, &newcomer).await.expect("imported");
    let (imports, _) = p
        .audit_log(
            &c.admin,
            &AuditFilter {
                action: Some("groups.import".into()),
                ..AuditFilter::default()
            },
            Page::default(),
        )
        .await
        .expect("audit log");
    assert_eq!(imports.len(), 1);
    assert_eq!(imports[0].actor_id, Some(c.admin.id()));
    assert_eq!(
        imports[0].after.as_ref().map(|a| a["users_created"].clone()),
        Some(serde_json::json!(1))
    );

    let target = format!("submission:{}", work.id);
    let admin = &c.admin;
    let only = |f: AuditFilter| async move { p.audit_log(admin, &f, Page::default()).await.expect("audit log") };
    let (grades, total) = only(AuditFilter {
        target: Some(target.clone()),
        ..AuditFilter::default()
    })
    .await;
    assert_eq!(total, 2);
    let actions: Vec<_> = grades.iter().map(|r| (r.action.as_str(), r.target.as_str())).collect();
    assert_eq!(actions, [("submission.grade", target.as_str()); 2], "newest first");
    assert_eq!(grades[0].actor_id, Some(c.admin.id()));
    assert_eq!(
        grades[0].before,
        Some(serde_json::json!({"grade": 75})),
        "the regrade keeps the old grade"
    );
    assert_eq!(grades[1].actor_iin.as_deref(), Some(nth_iin(1).as_str()));
    assert_eq!(grades[1].before, Some(serde_json::json!({"grade": null})));

    let (by_teacher, _) = only(AuditFilter {
        actor: Some(c.teacher.iin().clone()),
        action: Some("submission.grade".into()),
        ..AuditFilter::default()
    })
    .await;
    assert_eq!(by_teacher.len(), 1);
    let (groups, _) = only(AuditFilter {
        target: Some(format!("group:{}", group.id)),
        ..AuditFilter::default()
    })
    .await;
    let actions: Vec<_> = groups.iter().map(|r| r.action.as_str()).collect();
    assert_eq!(actions, ["group.delete", "group.create"]);
    // `_` and `%` in a target are themselves, not patterns.
    let (none, total) = only(AuditFilter {
        target: Some("gro_p:%".into()),
        ..AuditFilter::default()
    })
    .await;
    assert!(none.is_empty() && total == 0);

    let now = fx.clock.now();
    let (later, _) = only(AuditFilter {
        since: Some(now + chrono::Duration::seconds(1)),
        ..AuditFilter::default()
    })
    .await;
    assert!(later.is_empty());
    let (all, total) = only(AuditFilter::default()).await;
    let (page, paged_total) = p
        .audit_log(&c.admin, &AuditFilter::default(), Page::new(2, 1))
        .await
        .expect("a page");
    assert_eq!(paged_total, total);
    assert_eq!(page, all[1..3].to_vec());

    for who in [&c.teacher, &c.student] {
        expect_err!(
            p.audit_log(who, &AuditFilter::default(), Page::default()).await,
            Error::Forbidden(_)
        );
    }
}

/// Homework keeps every submission with its files, only the subject's teacher grades it, every grade is audited, and only those allowed can download or delete it.
pub async fn homework_keeps_history_and_grades_are_audited<S: Store>(fx: Fixture<S>) {
    let p = &fx.platform;
    let c = class(p).await;
    let lesson = p
        .create_lesson(&c.teacher, c.subject, lesson_request("Урок 1", "pdf"))
        .await
        .expect("the subject's teacher creates a lesson");
    assert_eq!(lesson.kind, crate::domain::LessonKind::Pdf);
    expect_err!(
        p.create_lesson(&c.other_teacher, c.subject, lesson_request("x", "pdf"))
            .await,
        Error::Forbidden(_)
    );
    expect_err!(
        p.create_lesson(&c.student, c.subject, lesson_request("x", "pdf")).await,
        Error::Forbidden(_)
    );
    let mut with_test = lesson_request("x", "test");
    with_test.test_id = Some(1);
    expect_err!(
        p.create_lesson(&c.teacher, c.subject, with_test).await,
        Error::NotFound(_)
    );
    assert_eq!(
        p.subject_lessons(&c.admin, c.subject).await.expect("lessons").len(),
        1,
        "nothing was written for the refused lessons"
    );

    let first = submit(p, &c.student, lesson.id, Some("первая попытка")).await;
    fx.clock.advance(chrono::Duration::seconds(60));
    let second = submit(p, &c.student, lesson.id, None).await;
    assert_eq!(first.files.len(), 1);
    assert_eq!(first.files[0].file_name, "работа.pdf");
    assert_eq!(first.files[0].size, PDF.len() as i64);
    let mine = p.my_submissions(&c.student, lesson.id).await.expect("mine");
    let ids: Vec<_> = mine.iter().map(|s| s.id).collect();
    assert_eq!(ids, [second.id, first.id], "every submission kept, newest first");
    assert!(p.my_submissions(&c.outsider, lesson.id).await.is_err(), "not enrolled");
    expect_err!(p.begin_homework(&c.outsider, lesson.id).await, Error::NotFound(_));
    expect_err!(p.begin_homework(&c.teacher, lesson.id).await, Error::Forbidden(_));
    let draft = p.begin_homework(&c.student, lesson.id).await.expect("draft");
    expect_err!(draft.finish(Some("  ")).await, Error::BadRequest(_));

    let listed = p
        .lesson_submissions(&c.teacher, lesson.id, Some("ТЕСТОВ"))
        .await
        .expect("teacher lists");
    assert_eq!(listed.len(), 2, "search ignores case, Cyrillic included");
    assert!(
        p.lesson_submissions(&c.teacher, lesson.id, Some("nobody"))
            .await
            .expect("search")
            .is_empty()
    );
    expect_err!(
        p.lesson_submissions(&c.other_teacher, lesson.id, None).await,
        Error::Forbidden(_)
    );

    expect_err!(
        p.grade_submission(&c.teacher, first.id, 101, None).await,
        Error::Validation(_)
    );
    expect_err!(
        p.grade_submission(&c.other_teacher, first.id, 90, None).await,
        Error::Forbidden(_)
    );
    expect_err!(
        p.grade_submission(&c.student, first.id, 100, None).await,
        Error::Forbidden(_)
    );
    let graded = p
        .grade_submission(&c.teacher, first.id, 87, Some("хорошо"))
        .await
        .expect("graded");
    assert_eq!((graded.grade, graded.feedback.as_deref()), (Some(87), Some("хорошо")));
    assert_eq!(graded.graded_by, Some(c.teacher.id));
    let regraded = p
        .grade_submission(&c.admin, first.id, 90, None)
        .await
        .expect("regraded");
    assert_eq!(regraded.grade, Some(90));

    // Downloads: the student, the subject's teacher and admins; nobody else learns it exists.
    let key = first.files[0].key.clone();
    // The previous backend's path of the same file, with the same checks.
    let old = first.files[0].url.trim_start_matches("/files/download/").to_owned();
    assert!(old.starts_with("homework/lesson_"), "{old}");
    for path in [&key, &old] {
        for who in [&c.student, &c.teacher, &c.admin] {
            let (meta, download) = p.download(who, path, None).await.expect("may download");
            assert_eq!(meta.name, "работа.pdf");
            assert_eq!(download.size, PDF.len() as u64);
        }
        for who in [&c.outsider, &c.other_teacher] {
            expect_err!(p.download(who, path, None).await, Error::NotFound(_));
        }
    }
    for bad in ["../edu.db", "/etc/passwd", "homework/../../secret.key", "tmp/x"] {
        expect_err!(p.download(&c.admin, bad, None).await, Error::NotFound(_));
    }

    // Deleting: another student cannot; the owner can, and the files go with the row.
    expect_err!(p.delete_submission(&c.outsider, second.id).await, Error::NotFound(_));
    p.delete_submission(&c.student, second.id).await.expect("owner deletes");
    expect_err!(
        p.download(&c.admin, &second.files[0].key, None).await,
        Error::NotFound(_)
    );
    assert_store_consistent(p).await;

    // Deleting the module takes lessons, submissions and their files.
    p.delete_module(&c.admin, c.module).await.expect("module deleted");
    expect_err!(p.download(&c.admin, &key, None).await, Error::NotFound(_));
    let report = p.fsck(false, Duration::ZERO).await.expect("fsck");
    assert_eq!((report.objects, report.referenced), (0, 0), "{report:?}");
}

/// Deleting a teacher keeps the grades they gave (without the grader); deleting a student takes their submissions and files with them.
pub async fn deleting_users_removes_their_files_and_keeps_grades_they_gave<S: Store>(fx: Fixture<S>) {
    let p = &fx.platform;
    let c = class(p).await;
    let lesson = p
        .create_lesson(&c.teacher, c.subject, lesson_request("Урок", "pdf"))
        .await
        .expect("lesson");
    let submission = submit(p, &c.student, lesson.id, None).await;
    p.grade_submission(&c.teacher, submission.id, 75, None)
        .await
        .expect("graded");
    p.delete_user(&c.admin, c.teacher.iin.as_str())
        .await
        .expect("teacher deleted");
    let kept = p
        .lesson_submissions(&c.admin, lesson.id, None)
        .await
        .expect("admin lists");
    assert_eq!(kept.len(), 1);
    assert_eq!((kept[0].grade, kept[0].graded_by), (Some(75), None), "the grade stays");
    p.delete_user(&c.admin, c.student.iin.as_str())
        .await
        .expect("student deleted");
    assert!(
        p.lesson_submissions(&c.admin, lesson.id, None)
            .await
            .expect("admin lists")
            .is_empty(),
        "a deleted student's submissions go with them"
    );
    let report = p.fsck(false, Duration::ZERO).await.expect("fsck");
    assert!(report.is_clean() && report.objects == 0, "{report:?}");
}

/// `fsck` finds files without a row and rows without their file, and a repair removes both.
pub async fn fsck_finds_and_repairs_orphans_and_missing_files<S: Store>(fx: Fixture<S>) {
    let p = &fx.platform;
    let c = class(p).await;
    let lesson = p
        .create_lesson(&c.teacher, c.subject, lesson_request("Урок", "pdf"))
        .await
        .expect("lesson");
    let submission = submit(p, &c.student, lesson.id, None).await;
    // A file without a row (as a crash between the two would leave).
    let files = p.files().expect("file store");
    let staged = files
        .stage("lost.pdf", crate::files::DOCUMENTS, 1000, bytes_of(PDF))
        .await
        .expect("staged");
    let orphan = files
        .commit(&staged, crate::files::Area::Homework)
        .await
        .expect("committed");
    // A row without its file.
    let key = &submission.files[0].key;
    files.delete_key(key).await.expect("remove the stored file");

    let young = p.fsck(false, Duration::from_secs(3600)).await.expect("fsck");
    assert!(
        young.orphans.is_empty(),
        "files younger than the grace period are left alone"
    );
    let report = p.fsck(false, Duration::ZERO).await.expect("fsck");
    assert_eq!(report.orphans, [orphan.key.to_string()]);
    assert_eq!(report.missing, std::slice::from_ref(key));
    p.init_file_store_marker().await.expect("the store is vouched for");
    let repaired = p.fsck(true, Duration::ZERO).await.expect("repair");
    assert!(repaired.repaired);
    assert_store_consistent(p).await;
    let left = p.lesson_submissions(&c.teacher, lesson.id, None).await.expect("list");
    assert!(left[0].files.is_empty(), "the row of the missing file was dropped");
}

// ---- tests (quizzes) ----

fn quiz_draft(subject: crate::domain::SubjectId) -> crate::domain::quiz::TestDraft {
    serde_json::from_value(serde_json::json!({
        "title": "Контрольная",
        "subject_id": subject.0,
        "questions": [
            {"question_text": "2 + 2?", "correct_option_index": 2,
             "options": [{"option_text": "3", "option_index": 1}, {"option_text": "4", "option_index": 2}]},
            {"question_text": "Чётные?", "kind": "multiple", "correct_option_indexes": [10, 30],
             "options": [{"option_text": "2", "option_index": 10}, {"option_text": "3", "option_index": 20},
                         {"option_text": "4", "option_index": 30}]},
            {"question_text": "Столица?", "correct_option_index": 0,
             "options": [{"option_text": "Астана", "option_index": 0}, {"option_text": "Алматы", "option_index": 1}]}
        ]
    }))
    .expect("a well-formed draft")
}

fn answers(v: serde_json::Value) -> Vec<crate::domain::quiz::Answer> {
    serde_json::from_value(v).expect("well-formed answers")
}

/// Invalid tests are refused with nothing written, a student's view never shows the answers, and submissions are scored by the test's rule.
pub async fn tests_never_show_answers_to_students_and_score_fairly<S: Store>(fx: Fixture<S>) {
    let p = &fx.platform;
    let c = class(p).await;
    // Validation: every rule, each a 422 with nothing written.
    for bad in [
        serde_json::json!({"title": "x", "subject_id": c.subject.0, "questions": []}),
        serde_json::json!({"title": "x", "subject_id": c.subject.0, "questions": [
            {"question_text": "q", "correct_option_index": 1, "options": [{"option_text": "a", "option_index": 1}]}]}),
        serde_json::json!({"title": "x", "subject_id": c.subject.0, "questions": [
            {"question_text": "q", "correct_option_index": 1, "options": [
                {"option_text": "a", "option_index": 1}, {"option_text": "b", "option_index": 1}]}]}),
        serde_json::json!({"title": "x", "subject_id": c.subject.0, "questions": [
            {"question_text": "q", "correct_option_index": 7, "options": [
                {"option_text": "a", "option_index": 1}, {"option_text": "b", "option_index": 2}]}]}),
    ] {
        let draft = serde_json::from_value(bad).expect("draft");
        expect_err!(p.create_test(&c.teacher, draft).await, Error::Validation(_));
    }
    assert!(p.subject_tests(&c.admin, c.subject).await.expect("tests").is_empty());
    expect_err!(
        p.create_test(&c.other_teacher, quiz_draft(c.subject)).await,
        Error::Forbidden(_)
    );
    expect_err!(
        p.create_test(&c.student, quiz_draft(c.subject)).await,
        Error::Forbidden(_)
    );

    let created = p.create_test(&c.teacher, quiz_draft(c.subject)).await.expect("created");
    assert_eq!(
        created.questions[0].correct_option_index,
        Some(2),
        "the author sees the key"
    );
    // Link it to a new lesson; a second lesson cannot take it.
    let mut req = lesson_request("Контрольная", "test");
    req.test_id = Some(created.id.0);
    let lesson = p
        .create_lesson(&c.teacher, c.subject, req)
        .await
        .expect("lesson with test");
    let mut again = lesson_request("Ещё", "test");
    again.test_id = Some(created.id.0);
    expect_err!(p.create_lesson(&c.teacher, c.subject, again).await, Error::Conflict(_));

    let seen = p.test(&c.student, created.id).await.expect("student reads");
    let json = serde_json::to_string(&seen).expect("json");
    for leak in ["correct", "is_correct"] {
        assert!(!json.contains(leak), "no {leak} in a student's view: {json}");
    }
    expect_err!(p.test(&c.outsider, created.id).await, Error::NotFound(_));

    let q = &created.questions;
    let result = p
        .submit_test(
            &c.student,
            created.id,
            answers(serde_json::json!([
                {"question_id": q[0].id, "selected_index": 2},
                {"question_id": q[0].id, "selected_index": 1},
                {"question_id": q[1].id, "selected_indexes": [30, 10]},
                {"question_id": 999_999, "selected_index": 0}
            ])),
        )
        .await
        .expect("submitted");
    assert_eq!((result.score, result.correct, result.total), (66.67, 2, 3));
    // One attempt by default: a second is refused.
    expect_err!(
        p.submit_test(&c.student, created.id, Vec::new()).await,
        Error::Conflict(_)
    );
    let view = p.lesson(&c.student, lesson.id).await.expect("lesson");
    assert_eq!(view.my_result, Some(66.67), "the lesson shows the caller's result");
    let shown = view.lesson.result.as_ref().expect("the caller's result");
    assert_eq!(
        (shown.score, shown.user_id, shown.test_id),
        (66.67, c.student.id, created.id)
    );
    let tree = p.modules(&c.student).await.expect("modules");
    let in_tree = tree
        .iter()
        .flat_map(|m| &m.subjects)
        .flat_map(|s| &s.lessons)
        .find(|l| l.id == lesson.id)
        .expect("the lesson in the student's tree");
    assert_eq!(in_tree.result.as_ref().map(|r| r.score), Some(66.67));
    let teachers = p.lesson(&c.teacher, lesson.id).await.expect("lesson");
    assert_eq!(teachers.lesson.result, None, "a result is the reader's own");
    let results = p.lesson_results(&c.teacher, lesson.id).await.expect("results");
    assert_eq!(results.len(), 1);
    assert_eq!(results[0].score, Some(66.67));
    assert!(results[0].student_name.contains("Тестов"));
    expect_err!(p.lesson_results(&c.other_teacher, lesson.id).await, Error::Forbidden(_));
    expect_err!(p.lesson_results(&c.student, lesson.id).await, Error::Forbidden(_));

    // Editing keeps results.
    let mut edited = quiz_draft(c.subject);
    edited.questions.truncate(1);
    edited.lesson_id = Some(lesson.id.0);
    edited.max_attempts = Some(3);
    p.update_test(&c.teacher, created.id, edited).await.expect("edited");
    let kept = p.my_results(&c.student, created.id).await.expect("mine");
    assert_eq!(kept[0].score, Some(66.67), "an earlier result survives an edit");
    expect_err!(p.delete_result(&c.student, results[0].id).await, Error::Forbidden(_));
    p.delete_result(&c.teacher, results[0].id).await.expect("deleted");
    assert!(p.lesson_results(&c.admin, lesson.id).await.expect("results").is_empty());
}

/// An attempt's deadline follows the time limit, a shuffled attempt shows every question once, and after the deadline only the answers saved in time count.
pub async fn attempts_keep_time_limits_and_saved_answers<S: Store>(fx: Fixture<S>) {
    let p = &fx.platform;
    let c = class(p).await;
    let mut draft = quiz_draft(c.subject);
    draft.time_limit_minutes = Some(10);
    draft.max_attempts = Some(2);
    draft.shuffle = true;
    let test = p.create_test(&c.teacher, draft).await.expect("created");
    let started = p.start_attempt(&c.student, test.id).await.expect("started");
    let deadline = started.attempt.deadline.expect("a deadline");
    assert_eq!(deadline - started.attempt.started_at, chrono::Duration::minutes(10));
    let mut shown: Vec<i64> = started.test.questions.iter().map(|q| q.id).collect();
    shown.sort_unstable();
    let mut all: Vec<i64> = test.questions.iter().map(|q| q.id).collect();
    all.sort_unstable();
    assert_eq!(shown, all, "a shuffled attempt shows every question once");
    let resumed = p.start_attempt(&c.student, test.id).await.expect("resumed");
    assert_eq!(
        resumed.attempt.id, started.attempt.id,
        "an open attempt is resumed, not doubled"
    );
    assert_eq!(
        resumed.test.questions, started.test.questions,
        "the stored order is shown again"
    );

    let q = &test.questions;
    p.save_answers(
        &c.student,
        started.attempt.id,
        answers(serde_json::json!([{"question_id": q[0].id, "selected_index": 2}])),
    )
    .await
    .expect("saved in time");
    expect_err!(
        p.save_answers(&c.outsider, started.attempt.id, Vec::new()).await,
        Error::NotFound(_)
    );
    // Past the deadline (and its grace), nothing new is taken; what was saved in time counts.
    fx.clock.advance(chrono::Duration::minutes(11));
    expect_err!(
        p.save_answers(
            &c.student,
            started.attempt.id,
            answers(serde_json::json!([{"question_id": q[2].id, "selected_index": 0}]))
        )
        .await,
        Error::Conflict(_)
    );
    let late = p
        .submit_attempt(
            &c.student,
            started.attempt.id,
            answers(serde_json::json!([{"question_id": q[2].id, "selected_index": 0}])),
        )
        .await
        .expect("closed");
    assert_eq!(
        (late.score, late.correct),
        (33.33, 1),
        "only the answer saved in time counts"
    );
    let second = p.start_attempt(&c.student, test.id).await.expect("second attempt");
    assert_ne!(second.attempt.id, started.attempt.id);
    p.submit_attempt(&c.student, second.attempt.id, Vec::new())
        .await
        .expect("submitted");
    expect_err!(p.start_attempt(&c.student, test.id).await, Error::Conflict(_));
    expect_err!(p.start_attempt(&c.teacher, test.id).await, Error::Forbidden(_));
}

/// Forty students each sending the same submission twice at once get exactly one attempt each.
pub async fn concurrent_submissions_are_stored_once_each<S: Store>(fx: Fixture<S>) {
    let p = &fx.platform;
    let c = class(p).await;
    let test = p.create_test(&c.teacher, quiz_draft(c.subject)).await.expect("created");
    let g = p.create_group(&c.admin, "Поток", None).await.expect("group");
    p.link_group_to_module(&c.admin, g.id, c.module).await.expect("link");
    let mut students = Vec::new();
    for n in 0..40 {
        let s = create_and_login(p, &c.admin, &nth_iin(100 + n), Role::Student).await;
        students.push(s);
    }
    let ids: Vec<_> = students.iter().map(|s| s.id).collect();
    p.add_group_members(&c.admin, g.id, &ids).await.expect("members");
    let q0 = test.questions[0].id;
    // Each student sends the same submission twice at once: exactly one attempt each.
    let tasks = students.iter().flat_map(|s| {
        (0..2).map(move |_| {
            p.submit_test(
                s,
                test.id,
                answers(serde_json::json!([{"question_id": q0, "selected_index": 2}])),
            )
        })
    });
    let outcomes = futures_util::future::join_all(tasks).await;
    let attempts: std::collections::BTreeSet<_> = outcomes
        .iter()
        .filter_map(|r| r.as_ref().ok().map(|t| t.attempt_id))
        .collect();
    assert!(
        outcomes.iter().all(|r| matches!(r, Ok(_) | Err(Error::Conflict(_)))),
        "only successes and 'no attempts left': {:?}",
        outcomes.iter().find(|r| !matches!(r, Ok(_) | Err(Error::Conflict(_))))
    );
    assert_eq!(attempts.len(), 40, "one attempt per student, whichever request made it");
    for s in &students {
        let mine = p.my_results(s, test.id).await.expect("mine");
        assert_eq!(mine.len(), 1);
        assert_eq!(mine[0].score, Some(33.33));
    }
}

/// What a student does in one step of [`grade_summary_matches_the_records`].
#[derive(Debug, Clone)]
enum Step {
    /// Hand in homework for a lesson, graded at once (or not).
    Homework {
        student: usize,
        lesson: usize,
        grade: Option<i64>,
    },
    /// Grade (again) a student's n-th submission so far.
    Regrade { student: usize, nth: usize, grade: i64 },
    /// Take a test, answering the first `right` questions correctly.
    Test { student: usize, test: usize, right: usize },
    /// Let time pass.
    Wait { minutes: i64 },
}

fn step_strategy() -> impl proptest::strategy::Strategy<Value = Step> {
    use proptest::prelude::*;
    prop_oneof![
        4 => (0..2usize, 0..4usize, proptest::option::weighted(0.7, 0..=100i64))
            .prop_map(|(student, lesson, grade)| Step::Homework { student, lesson, grade }),
        1 => (0..2usize, 0..8usize, 0..=100i64).prop_map(|(student, nth, grade)| Step::Regrade { student, nth, grade }),
        3 => (0..2usize, 0..2usize, 0..=3usize).prop_map(|(student, test, right)| Step::Test { student, test, right }),
        2 => (1..90i64).prop_map(|minutes| Step::Wait { minutes }),
    ]
}

/// A record as the check itself keeps it: enough to work out the summary without the store.
#[derive(Debug, Clone)]
struct Record {
    student: usize,
    source: crate::domain::Source,
    id: i64,
    /// The lesson (homework) or the test (tests).
    unit: i64,
    subject: crate::domain::SubjectId,
    module: crate::domain::ModuleId,
    grade: Option<f64>,
    at: chrono::DateTime<chrono::Utc>,
}

/// Averages per subject and per module (with how many values count), overall, and the pending.
type Expected = (Vec<(i64, Option<f64>)>, Vec<(i64, Option<f64>, u32)>, Option<f64>, u32);

/// The summary straight from the rule: per homework lesson the latest graded submission (else
/// pending), per test the best score; plain means per subject, per module and overall.
fn expected_summary(records: &[Record], student: usize) -> Expected {
    use crate::domain::Source;
    use std::collections::BTreeMap;
    let mine: Vec<&Record> = records.iter().filter(|r| r.student == student).collect();
    let mut counted: BTreeMap<(Source, i64), (crate::domain::SubjectId, crate::domain::ModuleId, f64)> =
        BTreeMap::new();
    let mut pending = 0u32;
    let units: std::collections::BTreeSet<(Source, i64)> = mine.iter().map(|r| (r.source, r.unit)).collect();
    for (source, unit) in units {
        let of: Vec<&&Record> = mine.iter().filter(|r| r.source == source && r.unit == unit).collect();
        let chosen = match source {
            Source::Homework => of
                .iter()
                .filter(|r| r.grade.is_some())
                .max_by_key(|r| (r.at, r.id))
                .copied(),
            Source::Test => of
                .iter()
                .filter(|r| r.grade.is_some())
                .max_by(|a, b| a.grade.partial_cmp(&b.grade).unwrap_or(std::cmp::Ordering::Equal))
                .copied(),
        };
        match chosen {
            Some(r) => {
                counted.insert((source, unit), (r.subject, r.module, r.grade.unwrap_or_default()));
            }
            None => pending += 1,
        }
    }
    let mean = |vs: Vec<f64>| (!vs.is_empty()).then(|| vs.iter().sum::<f64>() / vs.len() as f64);
    let subjects: std::collections::BTreeSet<i64> = mine.iter().map(|r| r.subject.0).collect();
    let modules: std::collections::BTreeSet<i64> = mine.iter().map(|r| r.module.0).collect();
    let by_subject = subjects
        .into_iter()
        .map(|s| (s, mean(counted.values().filter(|c| c.0.0 == s).map(|c| c.2).collect())))
        .collect();
    let by_module = modules
        .into_iter()
        .map(|m| {
            let values: Vec<f64> = counted.values().filter(|c| c.1.0 == m).map(|c| c.2).collect();
            let n = values.len() as u32;
            (m, mean(values), n)
        })
        .collect();
    let overall = mean(counted.values().map(|c| c.2).collect());
    (by_subject, by_module, overall, pending)
}

fn close(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => (a - b).abs() < 1e-9,
        (None, None) => true,
        _ => false,
    }
}

/// The summary read from the store (one query) agrees with the rule worked out from what was
/// recorded, for random histories of two students in two modules; neither sees the other's work.
pub async fn grade_summary_matches_the_records<S: Store>(fx: Fixture<S>) {
    use proptest::test_runner::{Config, TestCaseError, TestRunner};

    let p = &fx.platform;
    let c = class(p).await;
    let second_module = new_module(p, &c.admin, "Второй модуль").await;
    let history = p
        .create_subject(&c.admin, second_module, "История")
        .await
        .expect("subject");
    p.assign_teacher(&c.admin, &nth_iin(1), second_module, history.id)
        .await
        .expect("assign");
    let group = p.create_group(&c.admin, "ГР-2", None).await.expect("group");
    p.link_group_to_module(&c.admin, group.id, c.module)
        .await
        .expect("link");
    p.link_group_to_module(&c.admin, group.id, second_module)
        .await
        .expect("link");
    // Lessons 0, 1 in the first module's subject; 2, 3 in the second module.
    let mut lessons = Vec::new();
    for (i, (subject, module)) in [
        (c.subject, c.module),
        (c.subject, c.module),
        (history.id, second_module),
        (history.id, second_module),
    ]
    .into_iter()
    .enumerate()
    {
        let lesson = p
            .create_lesson(&c.teacher, subject, lesson_request(&format!("Урок {i}"), "pdf"))
            .await
            .expect("lesson");
        lessons.push((lesson.id, subject, module));
    }
    // Tests 0 (first module) and 1 (second), each linked to a lesson of its own, three attempts.
    let mut tests = Vec::new();
    for (i, (subject, module)) in [(c.subject, c.module), (history.id, second_module)]
        .into_iter()
        .enumerate()
    {
        let lesson = p
            .create_lesson(&c.teacher, subject, lesson_request(&format!("Тест {i}"), "test"))
            .await
            .expect("lesson");
        let draft: crate::domain::quiz::TestDraft = serde_json::from_value(serde_json::json!({
            "title": format!("Тест {i}"), "subject_id": subject.0, "lesson_id": lesson.id.0, "max_attempts": 3,
            "questions": (0..3).map(|q| serde_json::json!({
                "question_text": format!("Вопрос {q}"), "correct_option_index": 1,
                "options": [{"option_text": "да", "option_index": 1}, {"option_text": "нет", "option_index": 2}]
            })).collect::<Vec<_>>()
        }))
        .expect("a well-formed draft");
        let test = p.create_test(&c.teacher, draft).await.expect("test");
        let questions: Vec<i64> = test.questions.iter().map(|q| q.id).collect();
        tests.push((test.id, subject, module, questions));
    }

    let handle = tokio::runtime::Handle::current();
    let case = std::sync::atomic::AtomicUsize::new(0);
    let mut runner = TestRunner::new(Config {
        cases: 32,
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = proptest::collection::vec(step_strategy(), 0..14);
    let result = runner.run(&strategy, |steps| {
        tokio::task::block_in_place(|| {
            handle.block_on(async {
                // Two new students in the group for each case.
                let n = case.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let mut students = Vec::new();
                for k in 0..2 {
                    let s = create_and_login(p, &c.admin, &nth_iin(1000 + 2 * n as u64 + k), Role::Student).await;
                    p.add_group_members(&c.admin, group.id, &[s.id]).await.expect("member");
                    students.push(s);
                }
                let mut records: Vec<Record> = Vec::new();
                let mut submissions: Vec<Vec<usize>> = vec![Vec::new(), Vec::new()];
                for step in &steps {
                    match *step {
                        Step::Homework { student, lesson, grade } => {
                            let (lesson_id, subject, module) = lessons[lesson];
                            let draft = p
                                .begin_homework(&students[student], lesson_id)
                                .await
                                .expect("may submit");
                            let done = draft.finish(Some("работа")).await.expect("submitted");
                            if let Some(g) = grade {
                                p.grade_submission(&c.teacher, done.id, g, None).await.expect("graded");
                            }
                            submissions[student].push(records.len());
                            records.push(Record {
                                student,
                                source: crate::domain::Source::Homework,
                                id: done.id.0,
                                unit: lesson_id.0,
                                subject,
                                module,
                                grade: grade.map(|g| g as f64),
                                at: done.submitted_at,
                            });
                        }
                        Step::Regrade { student, nth, grade } => {
                            let Some(&index) = submissions[student].get(nth) else {
                                continue;
                            };
                            let id = crate::domain::SubmissionId(records[index].id);
                            p.grade_submission(&c.admin, id, grade, None).await.expect("regraded");
                            records[index].grade = Some(grade as f64);
                        }
                        Step::Test { student, test, right } => {
                            let (test_id, subject, module, ref questions) = tests[test];
                            let answers: Vec<crate::domain::quiz::Answer> = questions
                                .iter()
                                .enumerate()
                                .map(|(i, q)| crate::domain::quiz::Answer {
                                    question_id: *q,
                                    selected_index: Some(if i < right { 1 } else { 2 }),
                                    selected_indexes: None,
                                })
                                .collect();
                            match p.submit_test(&students[student], test_id, answers).await {
                                Ok(result) => records.push(Record {
                                    student,
                                    source: crate::domain::Source::Test,
                                    id: result.attempt_id.0,
                                    unit: test_id.0,
                                    subject,
                                    module,
                                    grade: Some(result.score),
                                    at: fx.clock.now(),
                                }),
                                // The fourth attempt: refused, and nothing recorded.
                                Err(Error::Conflict(_)) => {}
                                Err(e) => panic!("submitting a test: {e:?}"),
                            }
                        }
                        Step::Wait { minutes } => fx.clock.advance(chrono::Duration::minutes(minutes)),
                    }
                }
                for (k, student) in students.iter().enumerate() {
                    let summary = p.summarize(student, student.id).await.expect("summary");
                    let mut got: Vec<(crate::domain::Source, i64)> =
                        summary.items.iter().map(|i| (i.source, i.submission_id)).collect();
                    got.sort_unstable();
                    let mut want: Vec<(crate::domain::Source, i64)> = records
                        .iter()
                        .filter(|r| r.student == k)
                        .map(|r| (r.source, r.id))
                        .collect();
                    want.sort_unstable();
                    if got != want {
                        return Err(TestCaseError::fail(format!(
                            "student {k}: items {got:?}, expected {want:?}"
                        )));
                    }
                    for item in &summary.items {
                        let r = records
                            .iter()
                            .find(|r| r.source == item.source && r.id == item.submission_id)
                            .expect("listed above");
                        if !close(item.grade, r.grade) || item.subject_id != r.subject || item.module_id != r.module {
                            return Err(TestCaseError::fail(format!("{item:?} does not match {r:?}")));
                        }
                    }
                    let (subjects, modules, overall, pending) = expected_summary(&records, k);
                    if !close(summary.overall.average, overall) || summary.overall.pending != pending {
                        return Err(TestCaseError::fail(format!(
                            "student {k}: overall {:?}, expected {overall:?} with {pending} pending",
                            summary.overall
                        )));
                    }
                    for (id, average) in subjects {
                        let s = summary
                            .subjects
                            .iter()
                            .find(|s| s.id == id)
                            .expect("every subject is summarised");
                        if !close(s.tally.average, average) {
                            return Err(TestCaseError::fail(format!(
                                "subject {id}: {:?}, expected {average:?}",
                                s.tally
                            )));
                        }
                    }
                    for (id, average, counted) in modules {
                        let m = summary
                            .modules
                            .iter()
                            .find(|m| m.id == id)
                            .expect("every module is summarised");
                        if !close(m.tally.average, average) || m.tally.counted != counted {
                            return Err(TestCaseError::fail(format!(
                                "module {id}: {:?}, expected {average:?}",
                                m.tally
                            )));
                        }
                    }
                    // Another student's summary is not theirs to read.
                    let other = &students[1 - k];
                    expect_err!(p.summarize(student, other.id).await, Error::Forbidden(_));
                }
                Ok(())
            })
        })
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

// ---- the file store's upkeep ----

mod store_care;
pub use store_care::*;

mod grade_rule;
pub use grade_rule::{
    expired_attempts_are_scored_with_their_own_test, gradebook_rows_equal_summaries,
    homework_is_refused_where_the_cell_is_a_test,
};

/// Setting the teacher of a subject that is gone changes nothing, records nothing and says so;
/// through the platform it is `NotFound`.
pub async fn a_teacher_for_a_missing_subject_is_not_found<S: Store>(fx: Fixture<S>) {
    use crate::domain::{AuditFilter, Page, SubjectId};
    let p = &fx.platform;
    let c = class(p).await;
    let admin = crate::policy::admin(&c.admin).expect("an administrator");
    let recorded = async || {
        let filter = AuditFilter {
            action: Some("subject.assign_teacher".into()),
            ..AuditFilter::default()
        };
        let (entries, _) = p
            .audit_log(&c.admin, &filter, Page::default())
            .await
            .expect("audit log");
        entries.len()
    };
    let before = recorded().await;
    let missing = SubjectId(c.subject.0 + 10_000);
    let entry = p.audit_entry(
        Some(&c.admin),
        "subject.assign_teacher",
        format!("subject:{}", missing.0),
        None,
        None,
    );
    let set = fx
        .store()
        .set_subject_teacher(&admin, missing, Some(c.teacher.id()), &entry);
    assert!(!set.await.expect("no error"), "no subject, nothing set");
    assert_eq!(
        recorded().await,
        before,
        "nothing recorded for a subject that is not there"
    );

    let entry = p.audit_entry(
        Some(&c.admin),
        "subject.assign_teacher",
        format!("subject:{}", c.subject.0),
        None,
        None,
    );
    let set = fx
        .store()
        .set_subject_teacher(&admin, c.subject, Some(c.other_teacher.id()), &entry);
    assert!(set.await.expect("set"), "the subject is there");
    assert_eq!(recorded().await, before + 1);

    expect_err!(
        p.assign_teacher(&c.admin, c.teacher.iin().as_str(), c.module, missing)
            .await,
        Error::NotFound(_)
    );
}
