//! An administrator's account work over real HTTP, on both backends: editing a user in place,
//! suspending and reactivating, unlocking, the password change an administrator's password
//! requires, and an expired token told apart from a bad one.

use edu_core::Store;
use edu_tests::{Actor, TestApp, call, fresh_iin, get, send};
use reqwest::Method;
use serde_json::{Value, json};

edu_tests::on_both_backends!(
    an_admin_edits_a_user_in_place,
    only_admins_edit_suspend_and_unlock,
    the_last_admin_cannot_be_demoted_even_by_racing_demotions,
    a_suspended_user_cannot_sign_in_and_their_tokens_stop_at_once,
    an_unlock_or_a_reset_lets_a_locked_user_in,
    a_password_an_admin_chose_must_be_changed_first,
    an_expired_token_is_told_apart_from_a_bad_one,
);

async fn patch<S: Store>(app: &TestApp<S>, who: &Actor, iin: &str, body: Value) -> edu_tests::Reply {
    call(
        app,
        Method::PATCH,
        &format!("/admin/users/{iin}"),
        Some(who),
        Some(body),
    )
    .await
}

async fn act<S: Store>(app: &TestApp<S>, who: &Actor, iin: &str, action: &str) -> edu_tests::Reply {
    call(
        app,
        Method::POST,
        &format!("/admin/users/{iin}/{action}"),
        Some(who),
        None,
    )
    .await
}

/// The audit records of one action, newest first.
async fn audited<S: Store>(app: &TestApp<S>, admin: &Actor, action: &str) -> Vec<Value> {
    get(app, &format!("/admin/audit?action={action}"), Some(admin))
        .await
        .expect(200)
        .as_array()
        .expect("a list")
        .clone()
}

async fn login_reply<S: Store>(app: &TestApp<S>, iin: &str, password: &str) -> edu_tests::Reply {
    send(
        app.client
            .post(app.url("/auth/login"))
            .json(&json!({"iin": iin, "password": password})),
    )
    .await
}

async fn an_admin_edits_a_user_in_place<S: Store>(app: TestApp<S>) {
    let admin = app.admin().await;
    let student = app.student().await;
    let other = app.student().await;

    let r = patch(&app, &admin, &student.iin, json!({"full_name": "  Жанова Айгерим  "})).await;
    let user = r.expect(200);
    assert_eq!(user["full_name"], "Жанова Айгерим", "trimmed as on creation");
    assert_eq!(user["short_name"], "Жанова А.");
    assert_eq!(user["role"], "student", "fields not given are kept");

    let user = patch(
        &app,
        &admin,
        &student.iin,
        json!({"phone": "+77011234567", "role": "teacher"}),
    )
    .await;
    let user = user.expect(200);
    assert_eq!(user["phone"], "+77011234567");
    assert_eq!(user["role"], "teacher");
    assert_eq!(user["full_name"], "Жанова Айгерим");
    // The new role holds on the user's very next request, with the token they already have.
    let me = get(&app, "/auth/check", Some(&student)).await;
    assert_eq!(me.expect(200)["user"]["role"], "teacher");

    // Validated like creation, and nothing is changed by a refused edit.
    patch(&app, &admin, &student.iin, json!({"phone": "12"}))
        .await
        .expect_error(422, "validation_error");
    patch(&app, &admin, &student.iin, json!({"full_name": "   "}))
        .await
        .expect_error(422, "validation_error");
    patch(&app, &admin, &student.iin, json!({"role": "dean"}))
        .await
        .expect_error(422, "validation_error");
    patch(&app, &admin, &other.iin, json!({"phone": "+77011234567"}))
        .await
        .expect_error(409, "conflict");
    patch(&app, &admin, "000000000000", json!({"full_name": "Никто"}))
        .await
        .expect_error(404, "not_found");
    patch(&app, &admin, "12345", json!({"full_name": "Никто"}))
        .await
        .expect_error(422, "validation_error");

    // `null` clears the phone; the rest stays.
    let user = patch(&app, &admin, &student.iin, json!({"phone": null})).await;
    assert_eq!(user.expect(200)["phone"], Value::Null);
    assert_eq!(user.expect(200)["role"], "teacher");

    // Each change is in the log with what it was and what it became; an edit that changes
    // nothing is not.
    patch(&app, &admin, &student.iin, json!({"full_name": "Жанова Айгерим"}))
        .await
        .expect(200);
    let records = audited(&app, &admin, "user.update").await;
    assert_eq!(records.len(), 3, "{records:#?}");
    assert_eq!(records[0]["before"], json!({"phone": "+77011234567"}));
    assert_eq!(records[0]["after"], json!({"phone": null}));
    assert_eq!(records[1]["after"], json!({"phone": "+77011234567", "role": "teacher"}));
    assert_eq!(records[2]["before"]["full_name"], format!("student {}", student.iin));
    assert_eq!(records[2]["actor_iin"], admin.iin.as_str());
}

async fn only_admins_edit_suspend_and_unlock<S: Store>(app: TestApp<S>) {
    let admin = app.admin().await;
    let teacher = app.teacher().await;
    let student = app.student().await;
    for who in [&teacher, &student] {
        patch(&app, who, &student.iin, json!({"role": "admin"}))
            .await
            .expect_error(403, "forbidden");
        for action in ["suspend", "reactivate", "unlock"] {
            act(&app, who, &admin.iin, action).await.expect_error(403, "forbidden");
        }
    }
    call(
        &app,
        Method::PATCH,
        &format!("/admin/users/{}", student.iin),
        None,
        Some(json!({})),
    )
    .await
    .expect_error(401, "unauthorized");
    let me = get(&app, "/auth/check", Some(&student)).await;
    assert_eq!(
        me.expect(200)["user"]["role"],
        "student",
        "the student made themselves nothing"
    );
    // An administrator is demoted before being suspended.
    let second = app.admin().await;
    act(&app, &admin, &second.iin, "suspend")
        .await
        .expect_error(403, "forbidden");
}

async fn the_last_admin_cannot_be_demoted_even_by_racing_demotions<S: Store>(app: TestApp<S>) {
    let first = app.admin().await;
    let second = app.admin().await;
    let everyone = get(&app, "/admin/users/", Some(&first)).await;
    let admins: Vec<String> = everyone
        .expect(200)
        .as_array()
        .expect("users")
        .iter()
        .filter(|u| u["role"] == "admin")
        .filter_map(|u| u["iin"].as_str().map(str::to_owned))
        .filter(|iin| *iin != first.iin && *iin != second.iin)
        .collect();
    for iin in &admins {
        patch(&app, &first, iin, json!({"role": "teacher"})).await.expect(200);
    }
    // Each demotes the other at the same moment: one of them must stay an administrator.
    let (a, b) = tokio::join!(
        patch(&app, &first, &second.iin, json!({"role": "teacher"})),
        patch(&app, &second, &first.iin, json!({"role": "teacher"})),
    );
    let succeeded = [&a, &b].iter().filter(|r| r.status == 200).count();
    assert_eq!(succeeded, 1, "exactly one demotion: {} / {}", a.body, b.body);
    for r in [&a, &b].iter().filter(|r| r.status != 200) {
        // The loser was either demoted first (no longer an admin) or refused as the last one.
        assert!(matches!(r.status, 403 | 409), "{}", r.body);
    }
    let last = if a.status == 200 { &first } else { &second };
    patch(&app, last, &last.iin, json!({"role": "student"}))
        .await
        .expect_error(409, "conflict");
    patch(
        &app,
        last,
        &last.iin,
        json!({"role": "admin", "full_name": "Последний Администратор"}),
    )
    .await
    .expect(200);
    let remaining = get(&app, "/admin/users/", Some(last)).await;
    let admins = remaining
        .expect(200)
        .as_array()
        .expect("users")
        .iter()
        .filter(|u| u["role"] == "admin")
        .count();
    assert_eq!(admins, 1);
}

async fn a_suspended_user_cannot_sign_in_and_their_tokens_stop_at_once<S: Store>(app: TestApp<S>) {
    let admin = app.admin().await;
    let student = app.student().await;
    get(&app, "/access/my-modules", Some(&student)).await.expect(200);

    let user = act(&app, &admin, &student.iin, "suspend").await;
    assert_eq!(user.expect(200)["suspended"], true);
    assert!(user.expect(200)["suspended_at"].is_string());

    // The token they hold stops at once, and so does their refresh token.
    get(&app, "/access/my-modules", Some(&student))
        .await
        .expect_error(403, "account_suspended");
    get(&app, "/auth/check", Some(&student))
        .await
        .expect_error(403, "account_suspended");
    call(
        &app,
        Method::POST,
        "/auth/refresh",
        None,
        Some(json!({"refresh_token": student.refresh_token})),
    )
    .await
    .expect_error(401, "unauthorized");
    // Only the right password learns of the suspension.
    login_reply(&app, &student.iin, &student.password)
        .await
        .expect_error(403, "account_suspended");
    login_reply(&app, &student.iin, "not-the-password")
        .await
        .expect_error(401, "unauthorized");

    // Lists mark them; their history stays.
    let list = get(&app, "/admin/users/", Some(&admin)).await;
    let listed = list
        .expect(200)
        .as_array()
        .expect("users")
        .iter()
        .find(|u| u["iin"] == student.iin.as_str())
        .cloned()
        .expect("still listed");
    assert_eq!(listed["suspended"], true);

    // Suspending again keeps the first time.
    let again = act(&app, &admin, &student.iin, "suspend").await;
    assert_eq!(again.expect(200)["suspended_at"], user.expect(200)["suspended_at"]);

    let back = act(&app, &admin, &student.iin, "reactivate").await;
    assert_eq!(back.expect(200)["suspended"], false);
    let session = app.login(&student.iin, &student.password).await;
    let token = session["access_token"].as_str().expect("a token");
    send(app.client.get(app.url("/access/my-modules")).bearer_auth(token))
        .await
        .expect(200);
    // Recorded once each: the second suspension changed nothing.
    assert_eq!(audited(&app, &admin, "user.suspend").await.len(), 1);
    assert_eq!(audited(&app, &admin, "user.reactivate").await.len(), 1);
}

async fn an_unlock_or_a_reset_lets_a_locked_user_in<S: Store>(app: TestApp<S>) {
    let admin = app.admin().await;
    let student = app.student().await;
    let lock = async || {
        for _ in 0..5 {
            login_reply(&app, &student.iin, "wrong-password-1").await;
        }
        login_reply(&app, &student.iin, &student.password)
            .await
            .expect_error(403, "locked");
    };
    lock().await;
    act(&app, &admin, &student.iin, "unlock").await.expect(200);
    app.login(&student.iin, &student.password).await;
    assert_eq!(audited(&app, &admin, "user.unlock").await.len(), 1);

    lock().await;
    call(
        &app,
        Method::PATCH,
        "/admin/users/reset_password",
        Some(&admin),
        Some(json!({"user_iin": student.iin, "new_password": "Fresh-password-1"})),
    )
    .await
    .expect(200);
    app.login(&student.iin, "Fresh-password-1").await;
    act(&app, &admin, "000000000000", "unlock")
        .await
        .expect_error(404, "not_found");
}

async fn a_password_an_admin_chose_must_be_changed_first<S: Store>(app: TestApp<S>) {
    let admin = app.admin().await;
    let iin = fresh_iin();
    let created = call(
        &app,
        Method::POST,
        "/admin/users/",
        Some(&admin),
        Some(json!({"iin": iin, "full_name": "Новый Студент", "password": "Chosen-by-admin-1"})),
    )
    .await;
    assert_eq!(created.expect(200)["must_change_password"], true);
    let session = app.login(&iin, "Chosen-by-admin-1").await;
    assert_eq!(session["user"]["must_change_password"], true);
    let token = session["access_token"].as_str().expect("a token").to_owned();
    let with = |method: Method, path: &str| app.client.request(method, app.url(path)).bearer_auth(&token);

    for path in ["/access/my-modules", "/lessons/student/grades", "/admin/users/"] {
        send(with(Method::GET, path))
            .await
            .expect_error(403, "password_change_required");
    }
    // Still reachable: the token check, their own account, logging out.
    send(with(Method::GET, "/auth/check")).await.expect(200);
    send(with(Method::POST, "/user/update-phone").json(&json!({"phone": "+77019876543"})))
        .await
        .expect(200);
    let changed = send(
        with(Method::PATCH, "/user/change-password")
            .json(&json!({"old_password": "Chosen-by-admin-1", "new_password": "My-own-password-1"})),
    )
    .await;
    let fresh = changed.expect(200)["access_token"]
        .as_str()
        .expect("a new token")
        .to_owned();
    send(app.client.get(app.url("/access/my-modules")).bearer_auth(&fresh))
        .await
        .expect(200);
    // The token they changed it with works too now.
    send(with(Method::GET, "/access/my-modules")).await.expect(200);

    // An admin's reset asks for a change again.
    call(
        &app,
        Method::PATCH,
        "/admin/users/reset_password",
        Some(&admin),
        Some(json!({"user_iin": iin, "new_password": "Reset-by-admin-1"})),
    )
    .await
    .expect(200);
    let session = app.login(&iin, "Reset-by-admin-1").await;
    let token = session["access_token"].as_str().expect("a token");
    send(app.client.get(app.url("/access/my-modules")).bearer_auth(token))
        .await
        .expect_error(403, "password_change_required");
    send(app.client.post(app.url("/auth/logout")).bearer_auth(token))
        .await
        .expect(200);
}

async fn an_expired_token_is_told_apart_from_a_bad_one<S: Store>(app: TestApp<S>) {
    let student = app.student().await;
    // A token issued an hour ago has expired (they last 30 minutes).
    app.fx.clock.advance(chrono::Duration::hours(-1));
    let old = app.login(&student.iin, &student.password).await;
    app.fx.clock.advance(chrono::Duration::hours(1));
    let expired = old["access_token"].as_str().expect("a token");
    send(app.client.get(app.url("/auth/check")).bearer_auth(expired))
        .await
        .expect_error(401, "token_expired");
    // Tampered or unknown tokens keep the generic answer, expired or not.
    // A changed claim (one character of the payload) breaks the signature.
    let at = expired.find('.').expect("a JWT") + 5;
    let mut tampered = expired.to_owned();
    let swapped = if &expired[at..=at] == "A" { "B" } else { "A" };
    tampered.replace_range(at..=at, swapped);
    for token in [tampered.as_str(), "not-a-token", &format!("{expired}x")] {
        send(app.client.get(app.url("/auth/check")).bearer_auth(token))
            .await
            .expect_error(401, "unauthorized");
    }
    // The refresh token of that session still renews it.
    let renewed = call(
        &app,
        Method::POST,
        "/auth/refresh",
        None,
        Some(json!({"refresh_token": old["refresh_token"]})),
    )
    .await;
    let fresh = renewed.expect(200)["access_token"]
        .as_str()
        .expect("a token")
        .to_owned();
    send(app.client.get(app.url("/auth/check")).bearer_auth(&fresh))
        .await
        .expect(200);
}
