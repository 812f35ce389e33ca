//! The auth, account and user-administration routes over real HTTP, on both backends: each test
//! tries to get past a guard or a validation and checks the exact status and `{"detail","code"}`.

use edu_core::Store;
use edu_tests::{Actor, Reply, TestApp, call, fresh_iin, send};
use reqwest::Method;
use serde_json::{Value, json};
use tokio::sync::oneshot;

edu_tests::on_both_backends!(
    login_then_check,
    login_response_has_the_legacy_shape,
    wrong_password_and_unknown_iin_answer_alike,
    malformed_login_input_is_refused_with_4xx,
    throttle_locks_the_fifth_failure_even_for_the_right_password,
    throttle_reports_minutes_left_never_zero_and_lock_ends,
    token_form_logs_in_and_is_throttled_like_login,
    throttle_is_shared_by_two_servers_on_one_database,
    racing_guesses_on_both_login_routes_and_two_servers_stay_within_the_throttle,
    wrong_current_passwords_lock_the_account,
    one_address_spraying_many_iins_gets_429,
    refresh_rotates_and_reuse_revokes_the_family,
    logout_revokes_access_and_refresh_tokens,
    change_password_keeps_the_callers_token_and_ends_other_sessions,
    a_reset_ends_the_session_a_password_change_kept,
    user_lookup_by_iin,
    update_phone_validates_and_keeps_numbers_unique,
    admin_creates_users,
    admin_create_refuses_bad_input_without_5xx,
    passwords_of_exactly_72_bytes_are_accepted,
    admin_lists_users_in_pages,
    admin_deletes_users_but_not_admins,
    admin_resets_passwords,
    admin_routes_refuse_students_and_teachers,
    admin_routes_require_a_token,
);

async fn call_with_token<S: Store>(app: &TestApp<S>, method: Method, path: &str, token: &str) -> Reply {
    send(app.client.request(method, app.url(path)).bearer_auth(token)).await
}

async fn login<S: Store>(app: &TestApp<S>, iin: &str, password: &str) -> Reply {
    send(
        app.client
            .post(app.url("/auth/login"))
            .json(&json!({"iin": iin, "password": password})),
    )
    .await
}

async fn token_form<S: Store>(app: &TestApp<S>, iin: &str, password: &str) -> Reply {
    send(
        app.client
            .post(app.url("/auth/token"))
            .form(&[("username", iin), ("password", password)]),
    )
    .await
}

async fn raw_login<S: Store>(app: &TestApp<S>, body: impl Into<reqwest::Body>) -> Reply {
    send(
        app.client
            .post(app.url("/auth/login"))
            .header("content-type", "application/json")
            .body(body),
    )
    .await
}

/// Asserts a throttle lock: 403, code "locked", a positive `Retry-After`, and whole minutes in the detail.
#[track_caller]
fn expect_locked(r: &Reply) -> u64 {
    let detail = r.expect_error(403, "locked").to_owned();
    let retry: u64 = r
        .header("retry-after")
        .expect("a lock carries Retry-After")
        .parse()
        .expect("Retry-After is whole seconds");
    assert!((1..=300).contains(&retry), "Retry-After within the lock: {retry}");
    assert!(detail.contains("minute"), "the detail names the minutes left: {detail}");
    assert!(!detail.contains(" 0 minute"), "never zero minutes: {detail}");
    retry
}

fn minutes(n: i64) -> chrono::Duration {
    chrono::Duration::minutes(n)
}

async fn login_then_check<S: Store>(app: TestApp<S>) {
    let admin: Actor = app.admin().await;
    let res = app.get("/auth/check", Some(&admin)).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["status"], "ok");
    assert_eq!(body["user"]["iin"], admin.iin.as_str());
    assert_eq!(body["user"]["role"], "admin");
}

async fn login_response_has_the_legacy_shape<S: Store>(app: TestApp<S>) {
    let admin = app.admin().await;
    let iin = fresh_iin();
    let created = call(
        &app,
        Method::POST,
        "/admin/users/",
        Some(&admin),
        Some(json!({"iin": iin, "full_name": "Иванов Иван Иванович", "password": "long-enough-1", "role": "teacher"})),
    )
    .await;
    created.expect(200);

    let r = login(&app, &iin, "long-enough-1").await;
    let body = r.expect(200);
    assert_eq!(body["token_type"], "bearer");
    let access = body["access_token"].as_str().expect("access_token");
    assert_eq!(access.split('.').count(), 3, "a JWT");
    assert!(
        body["refresh_token"].as_str().is_some_and(|t| t.len() >= 32),
        "an opaque refresh token"
    );
    let user = &body["user"];
    assert_eq!(user["iin"], iin.as_str());
    assert_eq!(user["role"], "teacher");
    assert_eq!(user["phone"], Value::Null);
    assert_eq!(user["photo"], Value::Null);
    assert_eq!(user["full_name"], "Иванов Иван Иванович");
    assert_eq!(user["short_name"], "Иванов И. И.");
    let text = body.to_string();
    assert!(
        !text.contains("password_hash") && !text.contains("$2b$"),
        "no hash leaks: {text}"
    );
    assert_eq!(r.header("cache-control"), Some("no-store"), "tokens are never cached");

    // The token authenticates.
    let check = call_with_token(&app, Method::GET, "/auth/check", access).await;
    assert_eq!(check.expect(200)["user"]["role"], "teacher");
}

async fn wrong_password_and_unknown_iin_answer_alike<S: Store>(app: TestApp<S>) {
    let student = app.student().await;
    let wrong = login(&app, &student.iin, "not-the-password").await;
    let unknown = login(&app, &fresh_iin(), "not-the-password").await;
    wrong.expect_error(401, "unauthorized");
    unknown.expect_error(401, "unauthorized");
    assert_eq!(
        wrong.body, unknown.body,
        "an unknown IIN is indistinguishable from a wrong password"
    );
    assert_eq!(wrong.header("www-authenticate"), unknown.header("www-authenticate"));
    assert_eq!(wrong.header("content-type"), unknown.header("content-type"));
}

async fn malformed_login_input_is_refused_with_4xx<S: Store>(app: TestApp<S>) {
    let student = app.student().await;
    for bad_iin in [
        "12345",
        "1234567890123",
        "abcdefghijkl",
        "",
        "12345678901a",
        "１２３４５６７８９０１２",
    ] {
        login(&app, bad_iin, "whatever-password")
            .await
            .expect_error(422, "validation_error");
    }
    // Over 72 bytes is refused, never truncated; 37 two-byte letters are 74 bytes.
    login(&app, &student.iin, &"a".repeat(73))
        .await
        .expect_error(422, "validation_error");
    login(&app, &student.iin, &"ж".repeat(37))
        .await
        .expect_error(422, "validation_error");
    let truncated = format!("{}{}", student.password, "x".repeat(80));
    login(&app, &student.iin, &truncated)
        .await
        .expect_error(422, "validation_error");
    login(&app, &student.iin, "")
        .await
        .expect_error(422, "validation_error");

    // Broken JSON is 400; well-formed JSON of the wrong shape is 422.
    for broken in ["{", "{\"iin\": ", "not json", "{\"iin\": \"1\",}", ""] {
        raw_login(&app, broken).await.expect_error(400, "malformed_body");
    }
    raw_login(&app, vec![0xff_u8, 0xfe, 0x00])
        .await
        .expect_error(400, "malformed_body");
    for wrong_shape in [
        json!({"iin": 123_456_789_012_u64, "password": "x"}),
        json!({"iin": student.iin, "password": 12_345_678}),
        json!({"iin": student.iin}),
        json!({"password": "x"}),
        json!("just a string"),
        json!(null),
        json!({"iin": null, "password": null}),
        json!({"iin": ["123"], "password": {"a": 1}}),
    ] {
        let r = raw_login(&app, wrong_shape.to_string()).await;
        r.expect_error(422, "validation_error");
    }
    // None of that locked the account or counted as a failure.
    login(&app, &student.iin, &student.password).await.expect(200);
}

async fn throttle_locks_the_fifth_failure_even_for_the_right_password<S: Store>(app: TestApp<S>) {
    let student = app.student().await;
    let neighbour = app.student().await;
    for n in 1..=4 {
        let r = login(&app, &student.iin, "wrong-password").await;
        r.expect_error(401, "unauthorized");
        assert!(r.header("retry-after").is_none(), "failure {n} is not a lock yet");
    }
    let fifth = login(&app, &student.iin, "wrong-password").await;
    assert_eq!(expect_locked(&fifth), 300);
    assert!(
        fifth.body["detail"].as_str().is_some_and(|d| d.contains("5 minute")),
        "{}",
        fifth.body
    );

    // The right password does not get through the lock, on either login route.
    expect_locked(&login(&app, &student.iin, &student.password).await);
    expect_locked(&token_form(&app, &student.iin, &student.password).await);
    // The lock is on that IIN only.
    login(&app, &neighbour.iin, &neighbour.password).await.expect(200);
    // Tokens issued before the lock still work: the lock is about logging in.
    call(&app, Method::GET, "/auth/check", Some(&student), None)
        .await
        .expect(200);
}

async fn throttle_reports_minutes_left_never_zero_and_lock_ends<S: Store>(app: TestApp<S>) {
    let student = app.student().await;
    for _ in 0..5 {
        login(&app, &student.iin, "wrong-password").await;
    }
    app.fx.clock.advance(chrono::Duration::seconds(150));
    let mid = login(&app, &student.iin, &student.password).await;
    assert_eq!(expect_locked(&mid), 150);
    assert!(
        mid.body["detail"].as_str().is_some_and(|d| d.contains("3 minute")),
        "{}",
        mid.body
    );

    // A moment before the end: less than a second left still reads "1 minute", Retry-After 1.
    app.fx.clock.advance(chrono::Duration::milliseconds(149_900));
    let last = login(&app, &student.iin, &student.password).await;
    assert_eq!(expect_locked(&last), 1);
    assert!(
        last.body["detail"].as_str().is_some_and(|d| d.contains("1 minute")),
        "{}",
        last.body
    );

    app.fx.clock.advance(chrono::Duration::seconds(1));
    login(&app, &student.iin, &student.password).await.expect(200);

    // Failures expire: four now, four more 16 minutes later, and still no lock.
    for _ in 0..4 {
        login(&app, &student.iin, "wrong-password")
            .await
            .expect_error(401, "unauthorized");
    }
    app.fx.clock.advance(minutes(16));
    for _ in 0..4 {
        login(&app, &student.iin, "wrong-password")
            .await
            .expect_error(401, "unauthorized");
    }
    // A success clears the count.
    login(&app, &student.iin, &student.password).await.expect(200);
    for _ in 0..4 {
        login(&app, &student.iin, "wrong-password")
            .await
            .expect_error(401, "unauthorized");
    }
    login(&app, &student.iin, &student.password).await.expect(200);
}

async fn token_form_logs_in_and_is_throttled_like_login<S: Store>(app: TestApp<S>) {
    let student = app.student().await;
    let ok = token_form(&app, &student.iin, &student.password).await;
    let body = ok.expect(200);
    assert_eq!(body["token_type"], "bearer");
    let token = body["access_token"].as_str().expect("access_token");
    call_with_token(&app, Method::GET, "/auth/check", token)
        .await
        .expect(200);

    // The form's own input rules.
    token_form(&app, "123", "whatever")
        .await
        .expect_error(422, "validation_error");
    token_form(&app, &student.iin, &"a".repeat(73))
        .await
        .expect_error(422, "validation_error");
    let missing = send(
        app.client
            .post(app.url("/auth/token"))
            .form(&[("username", student.iin.as_str())]),
    )
    .await;
    missing.expect_error(422, "validation_error");
    let grant = send(app.client.post(app.url("/auth/token")).form(&[
        ("username", student.iin.as_str()),
        ("password", student.password.as_str()),
        ("grant_type", "client_credentials"),
    ]))
    .await;
    grant.expect_error(422, "validation_error");
    token_form(&app, &fresh_iin(), "whatever")
        .await
        .expect_error(401, "unauthorized");

    // Failures through either route count together.
    for n in 0..4 {
        let r = if n % 2 == 0 {
            token_form(&app, &student.iin, "wrong-password").await
        } else {
            login(&app, &student.iin, "wrong-password").await
        };
        r.expect_error(401, "unauthorized");
    }
    expect_locked(&token_form(&app, &student.iin, "wrong-password").await);
    expect_locked(&token_form(&app, &student.iin, &student.password).await);
    expect_locked(&login(&app, &student.iin, &student.password).await);
}

async fn throttle_is_shared_by_two_servers_on_one_database<S: Store>(app: TestApp<S>) {
    let student = app.student().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a second port");
    let second_addr = listener.local_addr().expect("local address");
    let (stop, stopped) = oneshot::channel::<()>();
    let second = tokio::spawn(edu_http::serve_with(
        app.fx.second_process().await,
        listener,
        edu_http::Options::default(),
        async {
            let _ = stopped.await;
        },
    ));
    let second_login = |password: String| {
        let req = app
            .client
            .post(format!("http://{second_addr}/auth/login"))
            .json(&json!({"iin": student.iin, "password": password}));
        send(req)
    };

    for n in 0..4 {
        let r = if n % 2 == 0 {
            login(&app, &student.iin, "wrong-password").await
        } else {
            second_login("wrong-password".into()).await
        };
        r.expect_error(401, "unauthorized");
    }
    expect_locked(&second_login("wrong-password".into()).await);
    expect_locked(&login(&app, &student.iin, &student.password).await);
    expect_locked(&second_login(student.password.clone()).await);

    // After the lock, a success on one server clears the count the other sees.
    app.fx.clock.advance(minutes(6));
    for _ in 0..4 {
        second_login("wrong-password".into())
            .await
            .expect_error(401, "unauthorized");
    }
    login(&app, &student.iin, &student.password).await.expect(200);
    for _ in 0..4 {
        second_login("wrong-password".into())
            .await
            .expect_error(401, "unauthorized");
    }
    second_login(student.password.clone()).await.expect(200);

    let _ = stop.send(());
    second.await.expect("second server task").expect("second server result");
}

/// Fifty guesses at once, through `/auth/login` and `/auth/token` on two servers sharing the
/// database, with the right password among them: at most the policy's five passwords are checked.
async fn racing_guesses_on_both_login_routes_and_two_servers_stay_within_the_throttle<S: Store>(app: TestApp<S>) {
    const GUESSES: usize = 50;
    let student = app.student().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a second port");
    let second_addr = listener.local_addr().expect("local address");
    let second_platform = app.fx.second_process().await;
    let (stop, stopped) = oneshot::channel::<()>();
    let second = tokio::spawn(edu_http::serve_with(
        second_platform.clone(),
        listener,
        edu_http::Options::default(),
        async {
            let _ = stopped.await;
        },
    ));
    let checks = || app.fx.platform.hasher().checks() + second_platform.hasher().checks();
    let before = checks();
    let right = 23;
    let start = std::sync::Arc::new(tokio::sync::Barrier::new(GUESSES));
    let mut racers = tokio::task::JoinSet::new();
    for n in 0..GUESSES {
        let base = if n % 2 == 0 {
            app.url("")
        } else {
            format!("http://{second_addr}")
        };
        let password = if n == right {
            student.password.clone()
        } else {
            format!("wrong-password-{n}")
        };
        let req = if n % 4 < 2 {
            app.client
                .post(format!("{base}/auth/login"))
                .json(&json!({"iin": student.iin, "password": password}))
        } else {
            app.client
                .post(format!("{base}/auth/token"))
                .form(&[("username", student.iin.as_str()), ("password", password.as_str())])
        };
        let start = std::sync::Arc::clone(&start);
        racers.spawn(async move {
            start.wait().await;
            (n, send(req).await)
        });
    }
    let (mut unauthorized, mut admitted) = (0, 0);
    for (n, reply) in racers.join_all().await {
        match reply.status {
            200 => {
                assert_eq!(n, right, "only the right password gets in");
                admitted += 1;
            }
            401 => unauthorized += 1,
            _ => {
                expect_locked(&reply);
            }
        }
    }
    let checked = checks() - before;
    assert!(checked <= 5, "{checked} passwords checked for {GUESSES} racing guesses");
    assert!(
        unauthorized + admitted <= 5,
        "{unauthorized} wrong and {admitted} right answered"
    );
    if admitted == 0 {
        expect_locked(&login(&app, &student.iin, &student.password).await);
    }
    let _ = stop.send(());
    second.await.expect("second server task").expect("second server result");
}

/// Guessing the current password on a password change counts like failed logins, so a stolen
/// access token cannot be used to find the password.
async fn wrong_current_passwords_lock_the_account<S: Store>(app: TestApp<S>) {
    let student = app.student().await;
    let change = |old: String| {
        call(
            &app,
            Method::PATCH,
            "/user/change-password",
            Some(&student),
            Some(json!({"old_password": old, "new_password": "brand-new-pass"})),
        )
    };
    for n in 0..4 {
        change(format!("guess-{n}")).await.expect_error(400, "bad_request");
    }
    expect_locked(&change("guess-4".into()).await);
    expect_locked(&change(student.password.clone()).await);
    expect_locked(&login(&app, &student.iin, &student.password).await);
    app.fx.clock.advance(minutes(6));
    change(student.password.clone()).await.expect(200);
}

async fn one_address_spraying_many_iins_gets_429<S: Store>(app: TestApp<S>) {
    let student = app.student().await;
    let limit = app.fx.config.address_throttle.max_failures;
    for _ in 0..limit {
        login(&app, &fresh_iin(), "guess-password")
            .await
            .expect_error(401, "unauthorized");
    }
    let r = login(&app, &fresh_iin(), "guess-password").await;
    r.expect_error(429, "too_many_requests");
    let retry: u64 = r.header("retry-after").expect("Retry-After").parse().expect("seconds");
    assert!(retry >= 1);
    // The address is refused as a whole, the form route included.
    login(&app, &student.iin, &student.password)
        .await
        .expect_error(429, "too_many_requests");
    token_form(&app, &student.iin, &student.password)
        .await
        .expect_error(429, "too_many_requests");
    // Tokens already issued keep working.
    call(&app, Method::GET, "/auth/check", Some(&student), None)
        .await
        .expect(200);
}

async fn refresh(app: &TestApp<impl Store>, token: &str) -> Reply {
    send(
        app.client
            .post(app.url("/auth/refresh"))
            .json(&json!({"refresh_token": token})),
    )
    .await
}

async fn refresh_rotates_and_reuse_revokes_the_family<S: Store>(app: TestApp<S>) {
    let student = app.student().await;
    let first = refresh(&app, &student.refresh_token).await;
    let body = first.expect(200).clone();
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["user"]["iin"], student.iin.as_str());
    let rotated = body["refresh_token"].as_str().expect("a new refresh token").to_owned();
    assert_ne!(rotated, student.refresh_token, "rotated");
    let access = body["access_token"].as_str().expect("access token");
    call_with_token(&app, Method::GET, "/auth/check", access)
        .await
        .expect(200);

    // Presenting the spent token again is refused and revokes the whole family.
    refresh(&app, &student.refresh_token)
        .await
        .expect_error(401, "unauthorized");
    refresh(&app, &rotated).await.expect_error(401, "unauthorized");

    // Garbage and wrong shapes.
    refresh(&app, "").await.expect_error(401, "unauthorized");
    refresh(&app, "not-a-token").await.expect_error(401, "unauthorized");
    refresh(&app, &student.token).await.expect_error(401, "unauthorized");
    let wrong = send(
        app.client
            .post(app.url("/auth/refresh"))
            .json(&json!({"refresh_token": 5})),
    )
    .await;
    wrong.expect_error(422, "validation_error");
    let broken = send(app.client.post(app.url("/auth/refresh")).body("{")).await;
    broken.expect_error(400, "malformed_body");

    // Another login starts a family of its own, unaffected.
    let again = app.login(&student.iin, &student.password).await;
    let fresh = again["refresh_token"].as_str().expect("refresh token");
    refresh(&app, fresh).await.expect(200);
}

async fn logout_revokes_access_and_refresh_tokens<S: Store>(app: TestApp<S>) {
    let student = app.student().await;
    let second_session = app.login(&student.iin, &student.password).await;
    let r = call(&app, Method::POST, "/auth/logout", Some(&student), None).await;
    assert_eq!(r.expect(200)["detail"], "logged out");

    call(&app, Method::GET, "/auth/check", Some(&student), None)
        .await
        .expect_error(401, "unauthorized");
    let other_access = second_session["access_token"].as_str().expect("access token");
    call_with_token(&app, Method::GET, "/auth/check", other_access)
        .await
        .expect_error(401, "unauthorized");
    refresh(&app, &student.refresh_token)
        .await
        .expect_error(401, "unauthorized");
    let other_refresh = second_session["refresh_token"].as_str().expect("refresh token");
    refresh(&app, other_refresh).await.expect_error(401, "unauthorized");
    // Logging out twice with the revoked token is a 401, not a 500.
    call(&app, Method::POST, "/auth/logout", Some(&student), None)
        .await
        .expect_error(401, "unauthorized");
    call(&app, Method::POST, "/auth/logout", None, None)
        .await
        .expect_error(401, "unauthorized");
    // Logging in again works.
    login(&app, &student.iin, &student.password).await.expect(200);
}

async fn change_password_keeps_the_callers_token_and_ends_other_sessions<S: Store>(app: TestApp<S>) {
    let student = app.student().await;
    let path = "/user/change-password";

    let wrong_old = call(
        &app,
        Method::PATCH,
        path,
        Some(&student),
        Some(json!({"old_password": "not-my-password", "new_password": "brand-new-pass"})),
    )
    .await;
    wrong_old.expect_error(400, "bad_request");
    for bad_new in ["short", "1234567", &"a".repeat(73)] {
        let r = call(
            &app,
            Method::PATCH,
            path,
            Some(&student),
            Some(json!({"old_password": student.password, "new_password": bad_new})),
        )
        .await;
        r.expect_error(422, "validation_error");
    }
    let missing = call(
        &app,
        Method::PATCH,
        path,
        Some(&student),
        Some(json!({"old_password": student.password})),
    )
    .await;
    missing.expect_error(422, "validation_error");
    let broken = send(app.request(Method::PATCH, path, Some(&student)).body("{old_password")).await;
    broken.expect_error(400, "malformed_body");
    let anonymous = call(
        &app,
        Method::PATCH,
        path,
        None,
        Some(json!({"old_password": student.password, "new_password": "brand-new-pass"})),
    )
    .await;
    anonymous.expect_error(401, "unauthorized");
    // None of the refusals changed anything.
    call(&app, Method::GET, "/auth/check", Some(&student), None)
        .await
        .expect(200);

    // Another session of the same student (another browser), and a token of that session renewed
    // once, before the change.
    let other = login(&app, &student.iin, &student.password).await.expect(200).clone();
    let other_access = other["access_token"].as_str().expect("access").to_owned();
    let other_refresh = other["refresh_token"].as_str().expect("refresh").to_owned();
    let renewed = refresh(&app, &other_refresh).await.expect(200).clone();
    let renewed_access = renewed["access_token"].as_str().expect("access").to_owned();
    let renewed_refresh = renewed["refresh_token"].as_str().expect("refresh").to_owned();

    let r = call(
        &app,
        Method::PATCH,
        path,
        Some(&student),
        Some(json!({"old_password": student.password, "new_password": "brand-new-pass"})),
    )
    .await;
    let body = r.expect(200).clone();
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "the old `message`: {body}"
    );
    let new_access = body["access_token"].as_str().expect("a new access token").to_owned();
    let new_refresh = body["refresh_token"].as_str().expect("a new refresh token").to_owned();

    // The old page keeps using the token it changed the password with: it still works.
    call(&app, Method::GET, "/auth/check", Some(&student), None)
        .await
        .expect(200);
    call(&app, Method::GET, "/access/my-modules", Some(&student), None)
        .await
        .expect(200);
    // Every other session is logged out, and no earlier refresh token renews anything.
    for token in [&other_access, &renewed_access] {
        call_with_token(&app, Method::GET, "/auth/check", token)
            .await
            .expect_error(401, "unauthorized");
    }
    for token in [&student.refresh_token, &other_refresh, &renewed_refresh] {
        refresh(&app, token).await.expect_error(401, "unauthorized");
    }
    call_with_token(&app, Method::GET, "/auth/check", &new_access)
        .await
        .expect(200);
    login(&app, &student.iin, &student.password)
        .await
        .expect_error(401, "unauthorized");
    let relogin = login(&app, &student.iin, "brand-new-pass").await;
    assert_eq!(relogin.expect(200)["user"]["must_change_password"], false);
    refresh(&app, &new_refresh).await.expect(200);

    // A second change from the kept token keeps it again, and ends the first change's session.
    let second = call(
        &app,
        Method::PATCH,
        path,
        Some(&student),
        Some(json!({"old_password": "brand-new-pass", "new_password": "third-password"})),
    )
    .await;
    second.expect(200);
    call(&app, Method::GET, "/auth/check", Some(&student), None)
        .await
        .expect(200);
    call_with_token(&app, Method::GET, "/auth/check", &new_access)
        .await
        .expect_error(401, "unauthorized");

    // Logging out ends the kept token too.
    call(&app, Method::POST, "/auth/logout", Some(&student), None)
        .await
        .expect(200);
    call(&app, Method::GET, "/auth/check", Some(&student), None)
        .await
        .expect_error(401, "unauthorized");
}

async fn a_reset_ends_the_session_a_password_change_kept<S: Store>(app: TestApp<S>) {
    let admin = app.admin().await;
    let teacher = app.teacher().await;
    call(
        &app,
        Method::PATCH,
        "/user/change-password",
        Some(&teacher),
        Some(json!({"old_password": teacher.password, "new_password": "changed-by-me"})),
    )
    .await
    .expect(200);
    call(&app, Method::GET, "/auth/check", Some(&teacher), None)
        .await
        .expect(200);
    call(
        &app,
        Method::PATCH,
        "/admin/users/reset_password",
        Some(&admin),
        Some(json!({"user_iin": teacher.iin, "new_password": "reset-by-admin"})),
    )
    .await
    .expect(200);
    call(&app, Method::GET, "/auth/check", Some(&teacher), None)
        .await
        .expect_error(401, "unauthorized");
}

async fn user_lookup_by_iin<S: Store>(app: TestApp<S>) {
    let student = app.student().await;
    let teacher = app.teacher().await;
    let r = call(
        &app,
        Method::GET,
        &format!("/user/by-iin/{}", teacher.iin),
        Some(&student),
        None,
    )
    .await;
    let body = r.expect(200);
    let obj = body.as_object().expect("an object");
    let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["full_name", "id", "iin"], "only the public reference: {body}");
    assert_eq!(body["id"], teacher.id);
    assert_eq!(body["iin"], teacher.iin.as_str());
    assert_eq!(r.header("cache-control"), Some("no-store"));

    call(
        &app,
        Method::GET,
        &format!("/user/by-iin/{}", fresh_iin()),
        Some(&student),
        None,
    )
    .await
    .expect_error(404, "not_found");
    for bad in ["123", "abcdefghijkl", "1234567890123", "%20%20"] {
        call(&app, Method::GET, &format!("/user/by-iin/{bad}"), Some(&student), None)
            .await
            .expect_error(422, "validation_error");
    }
    call(&app, Method::GET, &format!("/user/by-iin/{}", teacher.iin), None, None)
        .await
        .expect_error(401, "unauthorized");
    // Unknown IINs answer 404 only to logged-in callers.
    call(&app, Method::GET, &format!("/user/by-iin/{}", fresh_iin()), None, None)
        .await
        .expect_error(401, "unauthorized");
}

async fn update_phone_validates_and_keeps_numbers_unique<S: Store>(app: TestApp<S>) {
    let alice = app.student().await;
    let bob = app.student().await;
    let path = "/user/update-phone";

    let r = call(
        &app,
        Method::POST,
        path,
        Some(&alice),
        Some(json!({"phone": "+7 (701) 123-45-67"})),
    )
    .await;
    let user = &r.expect(200)["user"];
    assert_eq!(user["phone"], "+77011234567");
    assert_eq!(user["iin"], alice.iin.as_str());
    // Setting one's own number again is fine.
    call(
        &app,
        Method::POST,
        path,
        Some(&alice),
        Some(json!({"phone": "+77011234567"})),
    )
    .await
    .expect(200);
    // Someone else's number is a conflict, in any spelling.
    call(
        &app,
        Method::POST,
        path,
        Some(&bob),
        Some(json!({"phone": "+77011234567"})),
    )
    .await
    .expect_error(409, "conflict");
    call(
        &app,
        Method::POST,
        path,
        Some(&bob),
        Some(json!({"phone": "+7 701 123 45 67"})),
    )
    .await
    .expect_error(409, "conflict");
    for bad in [
        json!("123"),
        json!("+7 701 abc 45 67"),
        json!("1".repeat(16)),
        json!(77_011_234_567_u64),
    ] {
        call(&app, Method::POST, path, Some(&bob), Some(json!({ "phone": bad })))
            .await
            .expect_error(422, "validation_error");
    }
    call(&app, Method::POST, path, None, Some(json!({"phone": "+77019999999"})))
        .await
        .expect_error(401, "unauthorized");
    let broken = send(app.request(Method::POST, path, Some(&bob)).body("{\"phone\": ")).await;
    broken.expect_error(400, "malformed_body");

    // Clearing: null and "" both leave no phone, and two phoneless users are fine.
    let cleared = call(&app, Method::POST, path, Some(&alice), Some(json!({ "phone": null }))).await;
    assert_eq!(cleared.expect(200)["user"]["phone"], Value::Null);
    let cleared = call(&app, Method::POST, path, Some(&bob), Some(json!({"phone": ""}))).await;
    assert_eq!(cleared.expect(200)["user"]["phone"], Value::Null);
    // The freed number can now be taken by Bob.
    let taken = call(
        &app,
        Method::POST,
        path,
        Some(&bob),
        Some(json!({"phone": "87011234567"})),
    )
    .await;
    assert_eq!(taken.expect(200)["user"]["phone"], "87011234567");
}

async fn admin_creates_users<S: Store>(app: TestApp<S>) {
    let admin = app.admin().await;
    let iin = fresh_iin();
    let r = call(
        &app,
        Method::POST,
        "/admin/users/",
        Some(&admin),
        Some(json!({"iin": iin, "full_name": "Петров Пётр", "password": "initial-pass-1"})),
    )
    .await;
    let user = r.expect(200).clone();
    assert!(
        user["id"].as_i64().is_some_and(|id| id > 0),
        "create returns the id: {user}"
    );
    assert_eq!(user["iin"], iin.as_str());
    assert_eq!(user["role"], "student", "student unless a role is given");
    assert_eq!(user["short_name"], "Петров П.");
    assert_eq!(
        user["must_change_password"], true,
        "the administrator chose the password: the user changes it first"
    );
    assert!(!user.to_string().contains("$2b$"), "no hash in the response");
    login(&app, &iin, "initial-pass-1").await.expect(200);

    // The same without the trailing slash, and with a role and a phone.
    let iin2 = fresh_iin();
    let r = call(
        &app,
        Method::POST,
        "/admin/users",
        Some(&admin),
        Some(
            json!({"iin": iin2, "full_name": "Teacher Two", "password": "initial-pass-2",
            "role": "teacher", "phone": "8 701 555 44 33"}),
        ),
    )
    .await;
    let user = r.expect(200);
    assert_eq!(user["role"], "teacher");
    assert_eq!(user["phone"], "87015554433");
    // IINs keep their leading zeros.
    let zeros = "000101300123";
    let r = call(
        &app,
        Method::POST,
        "/admin/users/",
        Some(&admin),
        Some(json!({"iin": zeros, "full_name": "Zero Lead", "password": "initial-pass-3"})),
    )
    .await;
    assert_eq!(r.expect(200)["iin"], zeros);
    let lookup = call(&app, Method::GET, &format!("/user/by-iin/{zeros}"), Some(&admin), None).await;
    assert_eq!(lookup.expect(200)["iin"], zeros);
}

async fn admin_create_refuses_bad_input_without_5xx<S: Store>(app: TestApp<S>) {
    let admin = app.admin().await;
    let taken = app.student().await;
    let phoned = fresh_iin();
    call(
        &app,
        Method::POST,
        "/admin/users/",
        Some(&admin),
        Some(json!({"iin": phoned, "full_name": "Has Phone", "password": "initial-pass", "phone": "+77010000001"})),
    )
    .await
    .expect(200);

    let cases: Vec<(Value, u16, &str)> = vec![
        (
            json!({"iin": taken.iin, "full_name": "Dup", "password": "initial-pass"}),
            409,
            "conflict",
        ),
        (
            json!({"iin": fresh_iin(), "full_name": "Dup Phone", "password": "initial-pass", "phone": "+7 701 000 00 01"}),
            409,
            "conflict",
        ),
        (
            json!({"iin": "12345", "full_name": "Short", "password": "initial-pass"}),
            422,
            "validation_error",
        ),
        (
            json!({"iin": fresh_iin(), "full_name": "", "password": "initial-pass"}),
            422,
            "validation_error",
        ),
        (
            json!({"iin": fresh_iin(), "full_name": "   ", "password": "initial-pass"}),
            422,
            "validation_error",
        ),
        (
            json!({"iin": fresh_iin(), "full_name": "x".repeat(201), "password": "initial-pass"}),
            422,
            "validation_error",
        ),
        (
            json!({"iin": fresh_iin(), "full_name": "Short Pw", "password": "short"}),
            422,
            "validation_error",
        ),
        (
            json!({"iin": fresh_iin(), "full_name": "Long Pw", "password": "a".repeat(73)}),
            422,
            "validation_error",
        ),
        (
            json!({"iin": fresh_iin(), "full_name": "Bad Role", "password": "initial-pass", "role": "superuser"}),
            422,
            "validation_error",
        ),
        (
            json!({"iin": fresh_iin(), "full_name": "Bad Phone", "password": "initial-pass", "phone": "call me"}),
            422,
            "validation_error",
        ),
        (
            json!({"iin": fresh_iin(), "full_name": "No Password"}),
            422,
            "validation_error",
        ),
        (
            json!({"iin": 123_456_789_012_u64, "full_name": "Numeric", "password": "initial-pass"}),
            422,
            "validation_error",
        ),
        (json!([1, 2, 3]), 422, "validation_error"),
    ];
    for (body, status, code) in cases {
        let r = call(&app, Method::POST, "/admin/users/", Some(&admin), Some(body.clone())).await;
        assert_eq!(r.status, status, "{body} → {}", r.body);
        r.expect_error(status, code);
    }
    let broken = send(
        app.request(Method::POST, "/admin/users/", Some(&admin))
            .body("{\"iin\":"),
    )
    .await;
    broken.expect_error(400, "malformed_body");

    // Text PostgreSQL cannot store (NUL) and other odd input: refused or stored, never a 5xx.
    for name in ["Nul\u{0}Byte", "Tab\tName", "\u{202e}evil", "😀 Emoji"] {
        let r = call(
            &app,
            Method::POST,
            "/admin/users/",
            Some(&admin),
            Some(json!({"iin": fresh_iin(), "full_name": name, "password": "initial-pass"})),
        )
        .await;
        assert!(r.status == 200 || r.status == 422, "{name:?} → {} {}", r.status, r.body);
    }
    let r = call(
        &app,
        Method::POST,
        "/admin/users/",
        Some(&admin),
        Some(json!({"iin": fresh_iin(), "full_name": "Nul Password", "password": "pass\u{0}word"})),
    )
    .await;
    assert!(
        r.status == 200 || r.status == 422,
        "NUL in a password → {} {}",
        r.status,
        r.body
    );
}

async fn passwords_of_exactly_72_bytes_are_accepted<S: Store>(app: TestApp<S>) {
    let admin = app.admin().await;
    let iin = fresh_iin();
    let password = "p".repeat(72);
    let r = call(
        &app,
        Method::POST,
        "/admin/users/",
        Some(&admin),
        Some(json!({"iin": iin, "full_name": "Max Length", "password": password})),
    )
    .await;
    r.expect(200);
    let session = login(&app, &iin, &password).await;
    let body = session.expect(200).clone();
    // 71 of the 72 bytes are not the password: nothing was truncated.
    login(&app, &iin, &password[..71])
        .await
        .expect_error(401, "unauthorized");

    // The same limit when changing and resetting.
    let token = body["access_token"].as_str().expect("access token");
    let cyrillic = "ж".repeat(36);
    let changed = send(
        app.client
            .patch(app.url("/user/change-password"))
            .bearer_auth(token)
            .json(&json!({"old_password": password, "new_password": cyrillic})),
    )
    .await;
    changed.expect(200);
    login(&app, &iin, &cyrillic).await.expect(200);
    let reset = call(
        &app,
        Method::PATCH,
        "/admin/users/reset_password",
        Some(&admin),
        Some(json!({"user_iin": iin, "new_password": "q".repeat(72)})),
    )
    .await;
    reset.expect(200);
    login(&app, &iin, &"q".repeat(72)).await.expect(200);
}

async fn admin_lists_users_in_pages<S: Store>(app: TestApp<S>) {
    let admin = app.admin().await;
    let _ = app.student().await;
    let _ = app.teacher().await;
    let all = call(&app, Method::GET, "/admin/users/", Some(&admin), None).await;
    let users = all.expect(200).as_array().expect("an array").clone();
    let total: i64 = all
        .header("x-total-count")
        .expect("X-Total-Count")
        .parse()
        .expect("a number");
    assert_eq!(total, 3);
    assert_eq!(users.len(), 3);
    assert_eq!(all.header("cache-control"), Some("no-store"));
    assert!(users.iter().all(|u| u["id"].is_i64() && u["iin"].is_string()));
    assert!(!all.body.to_string().contains("$2b$"));

    let page = call(&app, Method::GET, "/admin/users?limit=1&offset=1", Some(&admin), None).await;
    let one = page.expect(200).as_array().expect("an array");
    assert_eq!(one.len(), 1);
    assert_eq!(one[0], users[1], "offset skips in id order");
    assert_eq!(page.header("x-total-count"), Some("3"));
    let past = call(&app, Method::GET, "/admin/users/?offset=10", Some(&admin), None).await;
    assert_eq!(past.expect(200).as_array().map(Vec::len), Some(0));
    assert_eq!(past.header("x-total-count"), Some("3"));
    // Out-of-range values are clamped, not errors.
    for q in [
        "limit=100000",
        "limit=0",
        "limit=-5&offset=-5",
        "offset=9223372036854775807",
        "unknown=1",
    ] {
        call(&app, Method::GET, &format!("/admin/users/?{q}"), Some(&admin), None)
            .await
            .expect(200);
    }
    for q in ["limit=abc", "offset=1.5", "limit=99999999999999999999", "limit=1e3"] {
        call(&app, Method::GET, &format!("/admin/users/?{q}"), Some(&admin), None)
            .await
            .expect_error(422, "validation_error");
    }
}

async fn admin_deletes_users_but_not_admins<S: Store>(app: TestApp<S>) {
    let admin = app.admin().await;
    let other_admin = app.admin().await;
    let student = app.student().await;

    call(
        &app,
        Method::DELETE,
        &format!("/admin/users/{}", other_admin.iin),
        Some(&admin),
        None,
    )
    .await
    .expect_error(403, "forbidden");
    call(
        &app,
        Method::DELETE,
        &format!("/admin/users/{}", admin.iin),
        Some(&admin),
        None,
    )
    .await
    .expect_error(403, "forbidden");
    call(&app, Method::GET, "/auth/check", Some(&other_admin), None)
        .await
        .expect(200);

    let r = call(
        &app,
        Method::DELETE,
        &format!("/admin/users/{}", student.iin),
        Some(&admin),
        None,
    )
    .await;
    assert!(r.expect(200)["detail"].is_string(), "{}", r.body);

    login(&app, &student.iin, &student.password)
        .await
        .expect_error(401, "unauthorized");
    // A deleted user's token answers 401, never 404.
    call(&app, Method::GET, "/auth/check", Some(&student), None)
        .await
        .expect_error(401, "unauthorized");
    call(
        &app,
        Method::GET,
        &format!("/user/by-iin/{}", admin.iin),
        Some(&student),
        None,
    )
    .await
    .expect_error(401, "unauthorized");
    call(
        &app,
        Method::POST,
        "/user/update-phone",
        Some(&student),
        Some(json!({"phone": null})),
    )
    .await
    .expect_error(401, "unauthorized");
    refresh(&app, &student.refresh_token)
        .await
        .expect_error(401, "unauthorized");

    call(
        &app,
        Method::DELETE,
        &format!("/admin/users/{}", student.iin),
        Some(&admin),
        None,
    )
    .await
    .expect_error(404, "not_found");
    call(&app, Method::DELETE, "/admin/users/12345", Some(&admin), None)
        .await
        .expect_error(422, "validation_error");
    // A lookup of the deleted user is now a 404.
    call(
        &app,
        Method::GET,
        &format!("/user/by-iin/{}", student.iin),
        Some(&admin),
        None,
    )
    .await
    .expect_error(404, "not_found");
}

async fn admin_resets_passwords<S: Store>(app: TestApp<S>) {
    let admin = app.admin().await;
    let student = app.student().await;
    let path = "/admin/users/reset_password";

    let r = call(
        &app,
        Method::PATCH,
        path,
        Some(&admin),
        Some(json!({"user_iin": student.iin, "new_password": "reset-by-admin"})),
    )
    .await;
    let body = r.expect(200).clone();
    assert!(body["detail"].is_string());
    assert_eq!(body["user"]["iin"], student.iin.as_str());
    assert_eq!(body["user"]["must_change_password"], true);

    call(&app, Method::GET, "/auth/check", Some(&student), None)
        .await
        .expect_error(401, "unauthorized");
    refresh(&app, &student.refresh_token)
        .await
        .expect_error(401, "unauthorized");
    login(&app, &student.iin, &student.password)
        .await
        .expect_error(401, "unauthorized");
    let session = login(&app, &student.iin, "reset-by-admin").await;
    assert_eq!(session.expect(200)["user"]["must_change_password"], true);

    for (body, status, code) in [
        (
            json!({"user_iin": fresh_iin(), "new_password": "reset-by-admin"}),
            404,
            "not_found",
        ),
        (
            json!({"user_iin": "123", "new_password": "reset-by-admin"}),
            422,
            "validation_error",
        ),
        (
            json!({"user_iin": student.iin, "new_password": "short"}),
            422,
            "validation_error",
        ),
        (
            json!({"user_iin": student.iin, "new_password": "a".repeat(73)}),
            422,
            "validation_error",
        ),
        (json!({"user_iin": student.iin}), 422, "validation_error"),
        (
            json!({"iin": student.iin, "password": "reset-by-admin"}),
            422,
            "validation_error",
        ),
    ] {
        call(&app, Method::PATCH, path, Some(&admin), Some(body))
            .await
            .expect_error(status, code);
    }
    // The refusals left the last reset in place.
    login(&app, &student.iin, "reset-by-admin").await.expect(200);
}

/// Every `/admin/users` operation, each with a body good enough to succeed for an admin.
fn admin_user_calls(target_iin: &str) -> Vec<(Method, String, Option<Value>)> {
    vec![
        (Method::GET, "/admin/users/".into(), None),
        (Method::GET, "/admin/users".into(), None),
        (Method::GET, "/admin/users/?limit=abc".into(), None),
        (
            Method::POST,
            "/admin/users/".into(),
            Some(json!({"iin": fresh_iin(), "full_name": "Sneaky", "password": "sneaky-pass", "role": "admin"})),
        ),
        (Method::POST, "/admin/users".into(), Some(json!({"garbage": true}))),
        (Method::DELETE, format!("/admin/users/{target_iin}"), None),
        (Method::DELETE, "/admin/users/not-an-iin".into(), None),
        (
            Method::PATCH,
            "/admin/users/reset_password".into(),
            Some(json!({"user_iin": target_iin, "new_password": "taken-over!"})),
        ),
        (
            Method::PATCH,
            "/admin/users/reset_password".into(),
            Some(json!("garbage")),
        ),
    ]
}

async fn admin_routes_refuse_students_and_teachers<S: Store>(app: TestApp<S>) {
    let student = app.student().await;
    let teacher = app.teacher().await;
    let victim = app.student().await;
    for who in [&student, &teacher] {
        for (method, path, body) in admin_user_calls(&victim.iin) {
            let r = call(&app, method.clone(), &path, Some(who), body).await;
            assert_eq!(r.status, 403, "{} {method} {path} → {} {}", who.role, r.status, r.body);
            r.expect_error(403, "forbidden");
        }
    }
    // Nothing happened to the victim, and no account was created.
    login(&app, &victim.iin, &victim.password).await.expect(200);
    let total = app
        .fx
        .platform
        .operator_list_users(edu_core::Page::default())
        .await
        .expect("list")
        .1;
    assert_eq!(total, 3);
}

async fn admin_routes_require_a_token<S: Store>(app: TestApp<S>) {
    let victim = app.student().await;
    for (method, path, body) in admin_user_calls(&victim.iin) {
        let r = call(&app, method.clone(), &path, None, body.clone()).await;
        assert_eq!(r.status, 401, "{method} {path} → {} {}", r.status, r.body);
        r.expect_error(401, "unauthorized");
        let r = send(
            app.client
                .request(method.clone(), app.url(&path))
                .bearer_auth("not.a.token")
                .json(&body),
        )
        .await;
        r.expect_error(401, "unauthorized");
    }
    login(&app, &victim.iin, &victim.password).await.expect(200);
}
