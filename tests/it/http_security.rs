//! Attacks on the HTTP layer, on both backends: forged and expired tokens, garbage credentials,
//! security headers, CORS, body limits, routing edges, the API document, and fuzzed login bodies.

use std::net::SocketAddr;
use std::time::Duration;

use chrono::Utc;
use edu_core::auth::TokenKeys;
use edu_core::{Iin, Store};
use edu_tests::{PNG, Reply, TestApp, fresh_iin, get, raw_reply, send};
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, TestRunner};
use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::{Value, json};

edu_tests::on_both_backends!(
    tampered_tokens_are_refused,
    tokens_with_alg_none_or_another_key_are_refused,
    expired_tokens_are_refused,
    tokens_with_a_stale_version_or_unknown_subject_are_refused,
    garbage_authorization_headers_answer_401_with_the_scheme,
    a_deleted_users_token_answers_401_not_404,
    security_headers_are_on_every_response,
    hsts_only_when_the_request_is_https,
    every_response_has_a_request_id,
    cors_by_default_allows_any_origin_without_credentials,
    unknown_routes_and_methods_answer_json,
    oversized_json_bodies_answer_413,
    health_checks_answer,
    openapi_lists_every_route_with_its_guard,
    openapi_guards_match_the_live_server,
    trailing_slashes_are_optional,
    upload_photo_is_served_and_documented,
);

const SCHOOL: &str = "https://school.example";

fn place_url_options() -> edu_http::Options {
    edu_http::Options {
        cors_origins: vec![SCHOOL.into(), "https://second.example".into()],
        ..edu_http::Options::default()
    }
}

fn small_body_options() -> edu_http::Options {
    edu_http::Options {
        max_body: 1024,
        ..edu_http::Options::default()
    }
}

edu_tests::on_both_backends_with!(with_place_url, super::super::place_url_options; cors_with_place_url_allows_exactly_those_origins);
edu_tests::on_both_backends_with!(with_small_bodies, super::super::small_body_options; bodies_over_max_body_answer_413);
edu_tests::on_both_backends_with!(with_defaults, edu_http::Options::default; openapi_is_off_unless_enabled);

// ---------------------------------------------------------------------------------------------
// Helpers

async fn with_token<S: Store>(app: &TestApp<S>, path: &str, token: &str) -> Reply {
    send(app.client.get(app.url(path)).bearer_auth(token)).await
}

/// Asserts the security headers that every response carries.
#[track_caller]
fn assert_security_headers(headers: &HeaderMap, what: &str) {
    let h = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    assert_eq!(h("x-content-type-options"), Some("nosniff"), "{what}: nosniff");
    assert_eq!(h("x-frame-options"), Some("DENY"), "{what}: frame DENY");
    assert_eq!(h("referrer-policy"), Some("no-referrer"), "{what}: no-referrer");
    let csp = h("content-security-policy").unwrap_or_else(|| panic!("{what}: a CSP"));
    assert!(csp.contains("default-src 'none'"), "{what}: restrictive CSP {csp}");
    assert!(
        csp.contains("frame-ancestors 'none'"),
        "{what}: CSP forbids framing {csp}"
    );
    assert!(
        h("strict-transport-security").is_none(),
        "{what}: no HSTS over plain HTTP"
    );
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn b64url_encode(bytes: &[u8]) -> String {
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(char::from(B64[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

fn b64url_decode(s: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.bytes() {
        let v = B64.iter().position(|&x| x == c).expect("base64url") as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

/// The claims of a JWT, read without checking anything.
fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("a payload");
    serde_json::from_slice(&b64url_decode(payload)).expect("JSON claims")
}

fn jwt_part(value: &Value) -> String {
    b64url_encode(value.to_string().as_bytes())
}

/// Keys like the server's, with the secret given.
fn keys(secret: &[u8]) -> TokenKeys {
    let alg = edu_core::conformance::harness::test_config().jwt_algorithm;
    TokenKeys::new(secret, alg, Duration::from_secs(30 * 60))
}

fn iin(s: &str) -> Iin {
    Iin::parse(s).expect("a valid IIN")
}

// ---------------------------------------------------------------------------------------------
// Tokens

async fn tampered_tokens_are_refused<S: Store>(app: TestApp<S>) {
    let student = app.student().await;
    let admin = app.admin().await;
    with_token(&app, "/auth/check", &student.token).await.expect(200);
    let parts: Vec<&str> = student.token.split('.').collect();
    assert_eq!(parts.len(), 3);

    // One character of the signature changed, at several places.
    for at in [0, parts[2].len() / 2, parts[2].len() - 2] {
        let mut sig: Vec<u8> = parts[2].bytes().collect();
        sig[at] = if sig[at] == b'A' { b'B' } else { b'A' };
        let sig = String::from_utf8(sig).expect("ASCII");
        let forged = format!("{}.{}.{sig}", parts[0], parts[1]);
        with_token(&app, "/auth/check", &forged)
            .await
            .expect_error(401, "unauthorized");
    }
    // No signature, a truncated one, an extra part.
    for forged in [
        format!("{}.{}.", parts[0], parts[1]),
        format!("{}.{}", parts[0], parts[1]),
        format!("{}.{}.{}", parts[0], parts[1], &parts[2][..parts[2].len() - 4]),
        format!("{}.x", student.token),
        format!("{}{}", student.token, "A"),
    ] {
        with_token(&app, "/auth/check", &forged)
            .await
            .expect_error(401, "unauthorized");
    }

    // The payload altered under the student's signature: become the admin, live forever, bump the version.
    let claims = claims_of(&student.token);
    let mut as_admin = claims.clone();
    as_admin["sub"] = json!(admin.iin);
    as_admin["uid"] = json!(admin.id);
    let mut admin_id = claims.clone();
    admin_id["uid"] = json!(admin.id);
    let mut forever = claims.clone();
    forever["exp"] = json!(i64::MAX / 4);
    let mut other_version = claims.clone();
    other_version["ver"] = json!(claims["ver"].as_i64().expect("ver") + 1);
    for altered in [as_admin, admin_id, forever, other_version] {
        let forged = format!("{}.{}.{}", parts[0], jwt_part(&altered), parts[2]);
        with_token(&app, "/auth/check", &forged)
            .await
            .expect_error(401, "unauthorized");
        send(app.client.get(app.url("/admin/users/")).bearer_auth(&forged))
            .await
            .expect_error(401, "unauthorized");
    }
    // The header altered: another HMAC algorithm with the same signature.
    for alg in ["HS384", "HS512", "RS256", "none", "None", "NONE"] {
        let header = jwt_part(&json!({"alg": alg, "typ": "JWT"}));
        let forged = format!("{header}.{}.{}", parts[1], parts[2]);
        with_token(&app, "/auth/check", &forged)
            .await
            .expect_error(401, "unauthorized");
    }
    // The original still works: nothing above revoked it.
    with_token(&app, "/auth/check", &student.token).await.expect(200);
}

async fn tokens_with_alg_none_or_another_key_are_refused<S: Store>(app: TestApp<S>) {
    let admin = app.admin().await;
    let claims = claims_of(&admin.token);
    let (uid, ver) = (
        claims["uid"].as_i64().expect("uid"),
        claims["ver"].as_i64().expect("ver"),
    );
    let secret = app.fx.config.jwt_secret.clone();

    // Control: a token made with the server's own key and these claims is accepted ...
    let genuine = keys(&secret)
        .issue(&iin(&admin.iin), uid, ver, Utc::now())
        .expect("issue");
    with_token(&app, "/auth/check", &genuine).await.expect(200);

    // ... and with anything else it is not.
    let other_key = keys(b"another-signing-key-of-the-same-length-0").issue(&iin(&admin.iin), uid, ver, Utc::now());
    let other_key = other_key.expect("issue");
    with_token(&app, "/auth/check", &other_key)
        .await
        .expect_error(401, "unauthorized");
    for alg in ["HS384", "HS512"] {
        let algorithm = edu_core::auth::token::parse_algorithm(alg).expect("an HMAC algorithm");
        let other_alg = TokenKeys::new(&secret, algorithm, Duration::from_secs(1800))
            .issue(&iin(&admin.iin), uid, ver, Utc::now())
            .expect("issue");
        with_token(&app, "/auth/check", &other_alg)
            .await
            .expect_error(401, "unauthorized");
    }

    // alg "none", with no signature and with the genuine one.
    let claims = claims_of(&genuine);
    let genuine_sig = genuine.split('.').nth(2).expect("signature");
    for alg in ["none", "None", "NONE", "nOnE"] {
        let header = jwt_part(&json!({"alg": alg, "typ": "JWT"}));
        for sig in ["", genuine_sig] {
            let forged = format!("{header}.{}.{sig}", jwt_part(&claims));
            with_token(&app, "/auth/check", &forged)
                .await
                .expect_error(401, "unauthorized");
            send(app.client.get(app.url("/admin/users/")).bearer_auth(&forged))
                .await
                .expect_error(401, "unauthorized");
        }
    }
    // A refresh token is not an access token.
    with_token(&app, "/auth/check", &admin.refresh_token)
        .await
        .expect_error(401, "unauthorized");
}

async fn expired_tokens_are_refused<S: Store>(app: TestApp<S>) {
    let student = app.student().await;
    let claims = claims_of(&student.token);
    let (uid, ver) = (
        claims["uid"].as_i64().expect("uid"),
        claims["ver"].as_i64().expect("ver"),
    );
    let k = keys(&app.fx.config.jwt_secret);
    let made_ago = |minutes: i64| {
        k.issue(
            &iin(&student.iin),
            uid,
            ver,
            Utc::now() - chrono::Duration::minutes(minutes),
        )
        .expect("issue")
    };
    // 29 minutes old: still inside the 30-minute lifetime.
    with_token(&app, "/auth/check", &made_ago(29)).await.expect(200);
    for minutes in [31, 120, 60 * 24 * 365] {
        let r = with_token(&app, "/auth/check", &made_ago(minutes)).await;
        r.expect_error(401, "token_expired");
        let r = send(
            app.client
                .post(app.url("/user/update-phone"))
                .bearer_auth(made_ago(minutes))
                .json(&json!({"phone": null})),
        )
        .await;
        r.expect_error(401, "token_expired");
    }
}

async fn tokens_with_a_stale_version_or_unknown_subject_are_refused<S: Store>(app: TestApp<S>) {
    let student = app.student().await;
    let other = app.student().await;
    let claims = claims_of(&student.token);
    let (uid, ver) = (
        claims["uid"].as_i64().expect("uid"),
        claims["ver"].as_i64().expect("ver"),
    );
    let k = keys(&app.fx.config.jwt_secret);
    with_token(
        &app,
        "/auth/check",
        &k.issue(&iin(&student.iin), uid, ver, Utc::now()).expect("issue"),
    )
    .await
    .expect(200);
    for wrong in [ver + 1, ver - 1, i64::MAX, i64::MIN] {
        let t = k.issue(&iin(&student.iin), uid, wrong, Utc::now()).expect("issue");
        with_token(&app, "/auth/check", &t)
            .await
            .expect_error(401, "unauthorized");
    }
    // The IIN of one user with the id of another, either way round.
    for (who, id) in [
        (&student.iin, other.id),
        (&other.iin, uid),
        (&student.iin, 0),
        (&student.iin, -1),
    ] {
        let t = k.issue(&iin(who), id, ver, Utc::now()).expect("issue");
        with_token(&app, "/auth/check", &t)
            .await
            .expect_error(401, "unauthorized");
    }
    // Correctly signed, for an IIN nobody has: 401 (not 404) everywhere.
    let ghost = k.issue(&iin(&fresh_iin()), uid, 0, Utc::now()).expect("issue");
    for path in ["/auth/check", "/admin/users/", &format!("/user/by-iin/{}", student.iin)] {
        with_token(&app, path, &ghost).await.expect_error(401, "unauthorized");
    }
}

async fn garbage_authorization_headers_answer_401_with_the_scheme<S: Store>(app: TestApp<S>) {
    let student = app.student().await;
    let headers: Vec<HeaderValue> = [
        "Bearer",
        "Bearer ",
        "Bearer    ",
        "",
        "Basic dXNlcjpwYXNz",
        "Token abc",
        "Bearer abc",
        "Bearer a.b.c",
        "Bearer ....",
        "Bearer null",
        "Bearer undefined",
    ]
    .iter()
    .map(|s| HeaderValue::from_str(s).expect("a header value"))
    .chain([
        HeaderValue::from_str(&format!("Basic {}", student.token)).expect("header"),
        HeaderValue::from_str(&format!("{} {}", student.token, "Bearer")).expect("header"),
        HeaderValue::from_str(&student.token).expect("header"),
        HeaderValue::from_str(&format!("Bearer {} extra", student.token)).expect("header"),
        HeaderValue::from_str(&format!("Bearer {}", "A".repeat(8 * 1024))).expect("header"),
        HeaderValue::from_bytes(b"Bearer \xff\xfe").expect("obs-text header"),
    ])
    .collect();
    let lookup = format!("/user/by-iin/{}", student.iin);
    for value in headers {
        for path in ["/auth/check", "/admin/users/", lookup.as_str()] {
            let r = send(app.client.get(app.url(path)).header("authorization", value.clone())).await;
            assert_eq!(r.status, 401, "{value:?} on {path} → {} {}", r.status, r.body);
            r.expect_error(401, "unauthorized");
        }
        let r = send(
            app.client
                .post(app.url("/auth/logout"))
                .header("authorization", value.clone()),
        )
        .await;
        r.expect_error(401, "unauthorized");
    }
    // No header at all.
    get(&app, "/auth/check", None).await.expect_error(401, "unauthorized");
    // The scheme is matched case-insensitively for the usual spelling.
    send(
        app.client
            .get(app.url("/auth/check"))
            .header("authorization", format!("bearer {}", student.token)),
    )
    .await
    .expect(200);
}

async fn a_deleted_users_token_answers_401_not_404<S: Store>(app: TestApp<S>) {
    let admin = app.admin().await;
    let teacher = app.teacher().await;
    let r = send(app.request(Method::DELETE, &format!("/admin/users/{}", teacher.iin), Some(&admin))).await;
    r.expect(200);
    let calls: Vec<reqwest::RequestBuilder> = vec![
        app.request(Method::GET, "/auth/check", Some(&teacher)),
        app.request(Method::GET, &format!("/user/by-iin/{}", admin.iin), Some(&teacher)),
        app.request(Method::POST, "/user/update-phone", Some(&teacher))
            .json(&json!({"phone": "+77010000009"})),
        app.request(Method::PATCH, "/user/change-password", Some(&teacher))
            .json(&json!({"old_password": teacher.password, "new_password": "whatever-new"})),
        app.request(Method::POST, "/auth/logout", Some(&teacher)),
        app.request(Method::GET, "/admin/users/", Some(&teacher)),
    ];
    for req in calls {
        send(req).await.expect_error(401, "unauthorized");
    }
    // Re-creating the same IIN does not resurrect the old token.
    let again = send(app.request(Method::POST, "/admin/users/", Some(&admin)).json(&json!({
        "iin": teacher.iin, "full_name": "Same Iin", "password": "another-pass", "role": "teacher"
    })))
    .await;
    again.expect(200);
    // Both accounts start at token version 0: the old token must still not open the new account.
    let r = get(&app, "/auth/check", Some(&teacher)).await;
    assert_eq!(
        r.status, 401,
        "a token of a deleted account opened a new account with the same IIN: {}",
        r.body
    );
}

// ---------------------------------------------------------------------------------------------
// Headers

async fn security_headers_are_on_every_response<S: Store>(app: TestApp<S>) {
    let student = app.student().await;
    let big = "x".repeat(100 * 1024);
    let cases: Vec<(&str, reqwest::RequestBuilder, u16)> = vec![
        ("welcome", app.client.get(app.url("/")), 200),
        ("healthz", app.client.get(app.url("/healthz")), 200),
        ("readyz", app.client.get(app.url("/readyz")), 200),
        ("openapi", app.client.get(app.url("/openapi.json")), 200),
        ("check", app.request(Method::GET, "/auth/check", Some(&student)), 200),
        ("401", app.client.get(app.url("/auth/check")), 401),
        ("403", app.request(Method::GET, "/admin/users/", Some(&student)), 403),
        ("404", app.client.get(app.url("/no/such/route")), 404),
        ("405", app.client.delete(app.url("/auth/login")), 405),
        ("400", app.client.post(app.url("/auth/login")).body("{"), 400),
        (
            "422",
            app.client
                .post(app.url("/auth/login"))
                .json(&json!({"iin": "1", "password": "x"})),
            422,
        ),
        ("413", app.client.post(app.url("/auth/login")).body(big), 413),
        (
            "login",
            app.client
                .post(app.url("/auth/login"))
                .json(&json!({"iin": student.iin, "password": student.password})),
            200,
        ),
        (
            "preflight",
            app.client
                .request(Method::OPTIONS, app.url("/auth/login"))
                .header("origin", "https://any.example")
                .header("access-control-request-method", "POST"),
            200,
        ),
    ];
    for (what, req, status) in cases {
        let r = send(req).await;
        assert_eq!(r.status, status, "{what}: {}", r.body);
        assert_security_headers(&r.headers, what);
    }

    // Personal data is never cached.
    for path in ["/auth/check", &format!("/user/by-iin/{}", student.iin)] {
        let r = get(&app, path, Some(&student)).await;
        assert_eq!(r.header("cache-control"), Some("no-store"), "{path}");
    }
    let login = send(
        app.client
            .post(app.url("/auth/login"))
            .json(&json!({"iin": student.iin, "password": student.password})),
    )
    .await;
    assert_eq!(login.header("cache-control"), Some("no-store"), "tokens");
}

async fn hsts_only_when_the_request_is_https<S: Store>(app: TestApp<S>) {
    let hsts = |r: &Reply| r.header("strict-transport-security").map(str::to_owned);
    assert_eq!(hsts(&get(&app, "/healthz", None).await), None);
    // This server trusts no proxy, so a client saying it came over HTTPS is not believed; the
    // trusted proxy's case is in `http_proxies`.
    for proto in ["https", "HTTPS", "https, http", " https "] {
        let r = send(app.client.get(app.url("/healthz")).header("x-forwarded-proto", proto)).await;
        assert_eq!(
            hsts(&r),
            None,
            "no HSTS for X-Forwarded-Proto {proto:?} from an untrusted peer"
        );
    }
}

async fn every_response_has_a_request_id<S: Store>(app: TestApp<S>) {
    let mut seen = std::collections::HashSet::new();
    for path in ["/", "/healthz", "/nope", "/auth/check"] {
        let r = get(&app, path, None).await;
        let id = r
            .header("x-request-id")
            .unwrap_or_else(|| panic!("{path}: x-request-id"));
        assert!(!id.is_empty());
        assert!(seen.insert(id.to_owned()), "request ids differ");
    }
    // A caller's id is kept, so logs of a chain of services line up.
    let r = send(
        app.client
            .get(app.url("/healthz"))
            .header("x-request-id", "trace-abc-123"),
    )
    .await;
    assert_eq!(r.header("x-request-id"), Some("trace-abc-123"));
}

// ---------------------------------------------------------------------------------------------
// CORS

fn preflight<S: Store>(app: &TestApp<S>, path: &str, origin: &str, method: &str) -> reqwest::RequestBuilder {
    app.client
        .request(Method::OPTIONS, app.url(path))
        .header("origin", origin)
        .header("access-control-request-method", method)
        .header("access-control-request-headers", "authorization,content-type")
}

fn allows_header(r: &Reply, wanted: &str) -> bool {
    r.header("access-control-allow-headers")
        .is_some_and(|v| v.split(',').any(|h| h.trim().eq_ignore_ascii_case(wanted)))
}

fn exposes(r: &Reply, wanted: &str) -> bool {
    r.header("access-control-expose-headers").is_some_and(|v| {
        v.split(',')
            .any(|h| h.trim().eq_ignore_ascii_case(wanted) || h.trim() == "*")
    })
}

async fn cors_by_default_allows_any_origin_without_credentials<S: Store>(app: TestApp<S>) {
    let admin = app.admin().await;
    let origin = "https://anywhere.example";
    let r = send(app.client.get(app.url("/healthz")).header("origin", origin)).await;
    r.expect(200);
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    assert_eq!(
        r.header("access-control-allow-credentials"),
        None,
        "no credentials with any origin"
    );

    let r = send(preflight(&app, "/admin/users/", origin, "PATCH")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    assert_eq!(r.header("access-control-allow-credentials"), None);
    let methods = r.header("access-control-allow-methods").expect("allowed methods");
    assert!(methods == "*" || methods.contains("PATCH"), "{methods}");
    // A wildcard does not cover Authorization: browsers need it named.
    assert!(
        allows_header(&r, "authorization"),
        "the preflight must name Authorization: {:?}",
        r.header("access-control-allow-headers")
    );
    assert!(allows_header(&r, "content-type") || r.header("access-control-allow-headers") == Some("*"));

    // A browser on another origin can read the pagination total and the throttle's wait.
    let list = send(
        app.request(Method::GET, "/admin/users/", Some(&admin))
            .header("origin", origin),
    )
    .await;
    list.expect(200);
    assert!(
        exposes(&list, "x-total-count"),
        "X-Total-Count must be exposed: {:?}",
        list.header("access-control-expose-headers")
    );
    let student = app.student().await;
    for _ in 0..5 {
        send(
            app.client
                .post(app.url("/auth/login"))
                .header("origin", origin)
                .json(&json!({"iin": student.iin, "password": "wrong-password"})),
        )
        .await;
    }
    let locked = send(
        app.client
            .post(app.url("/auth/login"))
            .header("origin", origin)
            .json(&json!({"iin": student.iin, "password": student.password})),
    )
    .await;
    locked.expect_error(403, "locked");
    assert_eq!(locked.header("access-control-allow-origin"), Some("*"));
    assert!(exposes(&locked, "retry-after"), "Retry-After must be exposed");
}

async fn cors_with_place_url_allows_exactly_those_origins<S: Store>(app: TestApp<S>) {
    let admin = app.admin().await;
    for origin in [SCHOOL, "https://second.example"] {
        let r = send(
            app.request(Method::GET, "/admin/users/", Some(&admin))
                .header("origin", origin),
        )
        .await;
        r.expect(200);
        assert_eq!(r.header("access-control-allow-origin"), Some(origin));
        assert_eq!(r.header("access-control-allow-credentials"), Some("true"));
        assert!(
            r.headers
                .get_all("vary")
                .iter()
                .any(|v| v.to_str().is_ok_and(|v| v.to_ascii_lowercase().contains("origin"))),
            "a per-origin answer varies on Origin"
        );
        assert!(exposes(&r, "x-total-count"));

        let pre = send(preflight(&app, "/admin/users/reset_password", origin, "PATCH")).await;
        assert_eq!(pre.status, 200);
        assert_eq!(pre.header("access-control-allow-origin"), Some(origin));
        assert_eq!(pre.header("access-control-allow-credentials"), Some("true"));
        assert!(allows_header(&pre, "authorization"));
        let methods = pre.header("access-control-allow-methods").expect("allowed methods");
        assert!(methods.contains("PATCH"), "{methods}");
        assert_security_headers(&pre.headers, "preflight");
    }
    for origin in [
        "https://evil.example",
        "https://school.example.evil.example",
        "http://school.example",
        "https://school.example:8443",
        "null",
    ] {
        let r = send(
            app.request(Method::GET, "/admin/users/", Some(&admin))
                .header("origin", origin),
        )
        .await;
        r.expect(200);
        // (Allow-Credentials may still be sent: without Allow-Origin a browser ignores it.)
        assert_eq!(r.header("access-control-allow-origin"), None, "{origin} is not allowed");
        let pre = send(preflight(&app, "/auth/login", origin, "POST")).await;
        assert_eq!(
            pre.header("access-control-allow-origin"),
            None,
            "{origin}: preflight refused"
        );
        assert!(pre.status < 500);
    }
    // Without an Origin (same-origin or non-browser clients) nothing changes.
    let r = get(&app, "/healthz", None).await;
    r.expect(200);
    assert_eq!(r.header("access-control-allow-origin"), None);
}

// ---------------------------------------------------------------------------------------------
// Routing and bodies

async fn unknown_routes_and_methods_answer_json<S: Store>(app: TestApp<S>) {
    let admin = app.admin().await;
    for (method, path) in [
        (Method::GET, "/nope"),
        (Method::POST, "/nope"),
        (Method::GET, "/auth"),
        (Method::GET, "/auth/login/extra"),
        (Method::GET, "/admin/users/123456789012/extra"),
        (Method::GET, "/user/by-iin"),
        (Method::GET, "/admin"),
        (Method::GET, "/%2e%2e/etc/passwd"),
        (Method::GET, "/openapi.json/x"),
    ] {
        let r = send(app.request(method.clone(), path, Some(&admin))).await;
        assert_eq!(r.status, 404, "{method} {path} → {} {}", r.status, r.body);
        r.expect_error(404, "not_found");
    }
    for (method, path) in [
        (Method::GET, "/auth/login"),
        (Method::DELETE, "/auth/login"),
        (Method::PUT, "/auth/token"),
        (Method::POST, "/auth/check"),
        (Method::GET, "/auth/logout"),
        (Method::GET, "/user/update-phone"),
        (Method::POST, "/user/change-password"),
        (Method::PUT, "/admin/users/"),
        (Method::DELETE, "/admin/users"),
        (Method::GET, "/admin/users/reset_password"),
        (Method::POST, "/healthz"),
        (Method::DELETE, "/"),
    ] {
        let r = send(app.request(method.clone(), path, Some(&admin))).await;
        assert_eq!(r.status, 405, "{method} {path} → {} {}", r.status, r.body);
        r.expect_error(405, "method_not_allowed");
    }
}

/// Sends `body` with a `Content-Length` over raw TCP, asking for English like the harness's client. A server that answers before reading a big body
/// and then closes makes an HTTP client fail on its write (broken pipe) without showing the answer;
/// here the write error is ignored and the answer read.
async fn raw_send(addr: SocketAddr, method: &str, path: &str, extra_headers: &str, body: &[u8]) -> Reply {
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nAccept-Language: en\r\n{extra_headers}Connection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(body);
    raw_reply(addr, request).await
}

async fn raw_post(addr: SocketAddr, path: &str, extra_headers: &str, body: &[u8]) -> Reply {
    raw_send(addr, "POST", path, extra_headers, body).await
}

/// Posts `body` in chunks of `chunk` bytes, with no `Content-Length` to go by.
async fn raw_post_chunked(addr: SocketAddr, path: &str, body: &[u8], chunk: usize) -> Reply {
    let mut request = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nAccept-Language: en\r\nConnection: close\r\n\r\n"
    )
    .into_bytes();
    for part in body.chunks(chunk) {
        request.extend_from_slice(format!("{:x}\r\n", part.len()).as_bytes());
        request.extend_from_slice(part);
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"0\r\n\r\n");
    raw_reply(addr, request).await
}

async fn oversized_json_bodies_answer_413<S: Store>(app: TestApp<S>) {
    let student = app.student().await;
    // A valid login padded to 1 MiB.
    let padded = json!({"iin": student.iin, "password": student.password, "pad": "x".repeat(1024 * 1024)}).to_string();
    for path in ["/auth/login", "/auth/token", "/auth/refresh"] {
        let r = raw_post(app.addr, path, "", padded.as_bytes()).await;
        r.expect_error(413, "payload_too_large");
        assert_security_headers(&r.headers, path);
    }
    // Authenticated routes refuse it too.
    let auth = format!("Authorization: Bearer {}\r\n", student.token);
    raw_post(app.addr, "/user/update-phone", &auth, padded.as_bytes())
        .await
        .expect_error(413, "payload_too_large");
    raw_send(app.addr, "PATCH", "/user/change-password", &auth, padded.as_bytes())
        .await
        .expect_error(413, "payload_too_large");
    // The same in chunks, with no Content-Length to go by.
    let r = raw_post_chunked(app.addr, "/auth/login", &padded.as_bytes()[..128 * 1024], 16 * 1024).await;
    r.expect_error(413, "payload_too_large");
    assert_security_headers(&r.headers, "chunked 413");
    // Just under the JSON limit is read and judged on its content.
    let fits = json!({"iin": student.iin, "password": student.password, "pad": "x".repeat(60 * 1024)}).to_string();
    raw_post(app.addr, "/auth/login", "", fits.as_bytes()).await.expect(200);
    // The server still answers afterwards, and the account is not locked by any of it.
    TestApp::login(&app, &student.iin, &student.password).await;
}

async fn bodies_over_max_body_answer_413<S: Store>(app: TestApp<S>) {
    let student = app.student().await;
    let padded = json!({"iin": student.iin, "password": student.password, "pad": "x".repeat(4096)}).to_string();

    // With a Content-Length over the limit: refused before reading, as JSON, with the usual headers.
    let r = raw_post(app.addr, "/auth/login", "", padded.as_bytes()).await;
    r.expect_error(413, "payload_too_large");
    assert_security_headers(&r.headers, "413 over max_body");
    assert!(r.header("x-request-id").is_some(), "a request id on the early 413");
    assert!(
        r.body["detail"].as_str().is_some_and(|d| d.contains("1024")),
        "{}",
        r.body
    );
    let auth = format!("Authorization: Bearer {}\r\n", student.token);
    raw_post(app.addr, "/admin/users/", &auth, padded.as_bytes())
        .await
        .expect_error(413, "payload_too_large");

    // In chunks, so that the limit is only found while reading.
    let r = raw_post_chunked(app.addr, "/auth/login", padded.as_bytes(), 512).await;
    r.expect_error(413, "payload_too_large");
    assert_security_headers(&r.headers, "chunked 413 over max_body");
    assert!(
        r.body["detail"].as_str().is_some_and(|d| d.contains("1024")),
        "{}",
        r.body
    );

    // Small bodies still pass, with and without a Content-Length.
    let small = json!({"iin": student.iin, "password": student.password}).to_string();
    raw_post(app.addr, "/auth/login", "", small.as_bytes())
        .await
        .expect(200);
    raw_post_chunked(app.addr, "/auth/login", small.as_bytes(), 16)
        .await
        .expect(200);
    TestApp::login(&app, &student.iin, &student.password).await;
}

async fn health_checks_answer<S: Store>(app: TestApp<S>) {
    assert_eq!(get(&app, "/healthz", None).await.expect(200)["status"], "ok");
    assert_eq!(get(&app, "/readyz", None).await.expect(200)["status"], "ok");
    let welcome = get(&app, "/", None).await;
    assert!(welcome.expect(200)["message"].is_string(), "{}", welcome.body);
}

async fn trailing_slashes_are_optional<S: Store>(app: TestApp<S>) {
    let admin = app.admin().await;
    let a = get(&app, "/admin/users/", Some(&admin)).await;
    let b = get(&app, "/admin/users", Some(&admin)).await;
    assert_eq!(a.expect(200), b.expect(200));
    assert_eq!(a.header("x-total-count"), b.header("x-total-count"));
    get(&app, "/auth/check/", Some(&admin)).await.expect(200);
    get(&app, "/healthz/", None).await.expect(200);
    get(&app, &format!("/user/by-iin/{}/", admin.iin), Some(&admin))
        .await
        .expect(200);
    for path in ["/admin/users/", "/admin/users"] {
        let r = send(app.request(Method::POST, path, Some(&admin)).json(&json!({
            "iin": fresh_iin(), "full_name": "Slash Test", "password": "slash-pass-1"
        })))
        .await;
        r.expect(200);
    }
    let r = send(
        app.client
            .post(app.url("/auth/login/"))
            .json(&json!({"iin": admin.iin, "password": admin.password})),
    )
    .await;
    r.expect(200);
    // Guards hold on either spelling.
    get(&app, "/admin/users", None).await.expect_error(401, "unauthorized");
    get(&app, "/admin/users/", None).await.expect_error(401, "unauthorized");
}

// ---------------------------------------------------------------------------------------------
// The API document

/// Every operation of the areas served so far, with its guard.
const DOCUMENTED: &[(&str, &str, &str)] = &[
    ("get", "/", "public"),
    ("post", "/auth/login", "public"),
    ("post", "/auth/token", "public"),
    ("get", "/auth/check", "account"),
    ("post", "/auth/refresh", "public"),
    ("post", "/auth/logout", "account"),
    ("get", "/user/by-iin/{iin}", "auth"),
    ("post", "/user/update-phone", "account"),
    ("patch", "/user/change-password", "account"),
    ("post", "/admin/users/", "admin"),
    ("get", "/admin/users/", "admin"),
    ("delete", "/admin/users/{iin}", "admin"),
    ("patch", "/admin/users/reset_password", "admin"),
    ("patch", "/admin/users/{iin}", "admin"),
    ("post", "/admin/users/{iin}/suspend", "admin"),
    ("post", "/admin/users/{iin}/reactivate", "admin"),
    ("post", "/admin/users/{iin}/unlock", "admin"),
    ("get", "/healthz", "public"),
    ("get", "/readyz", "public"),
    ("get", "/openapi.json", "public"),
    ("post", "/user/upload-photo", "account"),
    ("get", "/static/photos/{file}", "public"),
    ("post", "/lessons/add/subjects/{subject_id}", "teacher(own)"),
    ("get", "/lessons/{id}", "auth(own)"),
    ("delete", "/lessons/{id}", "teacher(own)"),
    ("post", "/lessons/upload/lesson-file", "teacher"),
    ("post", "/lessons/{id}/submit-homework", "auth(own)"),
    ("get", "/lessons/{id}/my-submissions", "auth"),
    ("get", "/lessons/{id}/submissions/files", "teacher(own)"),
    ("delete", "/lessons/submission/{id}", "auth(own)"),
    ("patch", "/lessons/submission/{id}/grade", "teacher(own)"),
    ("get", "/files/download/{path}", "auth(own)"),
    ("get", "/static/lesson_docs/{name}", "auth(own)"),
    ("get", "/static/homework/lesson_{n}/{name}", "auth(own)"),
];

const METHODS: &[&str] = &["get", "post", "put", "patch", "delete"];

async fn openapi_document<S: Store>(app: &TestApp<S>) -> Value {
    let r = get(app, "/openapi.json", None).await;
    assert!(
        r.header("content-type")
            .is_some_and(|c| c.starts_with("application/json")),
        "JSON"
    );
    r.expect(200).clone()
}

async fn openapi_lists_every_route_with_its_guard<S: Store>(app: TestApp<S>) {
    let doc = openapi_document(&app).await;
    let version = doc["openapi"].as_str().expect("an openapi version");
    assert!(version.starts_with("3.1."), "OpenAPI 3.1: {version}");
    assert!(doc["info"]["title"].is_string());
    assert!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"]
            .as_str()
            .is_some_and(|s| s.eq_ignore_ascii_case("bearer")),
        "a bearer security scheme"
    );
    let paths = doc["paths"].as_object().expect("paths");
    for (method, path, guard) in DOCUMENTED {
        let op = &paths.get(*path).unwrap_or_else(|| panic!("{path} is documented"))[*method];
        assert!(op.is_object(), "{method} {path} is documented");
        assert_eq!(op["x-guard"], *guard, "{method} {path} guard");
    }
    let mut operation_ids = std::collections::BTreeSet::new();
    for (path, item) in paths {
        for method in METHODS {
            let op = &item[*method];
            if op.is_null() {
                continue;
            }
            let id = op["operationId"]
                .as_str()
                .unwrap_or_else(|| panic!("{method} {path} has an operationId"));
            assert!(operation_ids.insert(id.to_owned()), "operationId {id} is unique");
            let guard = op["x-guard"]
                .as_str()
                .unwrap_or_else(|| panic!("{method} {path} has an x-guard"));
            let secured = op["security"]
                .as_array()
                .is_some_and(|s| s.iter().any(|req| req.get("bearer").is_some()));
            if guard == "public" {
                assert!(!secured, "{method} {path} is public but asks for a token");
            } else {
                assert!(secured, "{method} {path} ({guard}) lists its bearer security");
                assert!(op["responses"]["401"].is_object(), "{method} {path} documents its 401");
            }
            let responses = op["responses"].as_object().expect("responses");
            assert!(!responses.is_empty(), "{method} {path} documents its responses");
            for (status, response) in responses {
                assert!(
                    response["description"].as_str().is_some_and(|d| !d.is_empty()),
                    "{method} {path} {status} has a description (required by OpenAPI 3.1)"
                );
            }
        }
    }
}

/// Each documented guard holds on the running server: no token → 401 exactly where a token is needed.
async fn openapi_guards_match_the_live_server<S: Store>(app: TestApp<S>) {
    let student = app.student().await;
    let doc = openapi_document(&app).await;
    let paths = doc["paths"].as_object().expect("paths");
    for (path, item) in paths {
        for method in METHODS {
            let op = &item[*method];
            if op.is_null() {
                continue;
            }
            let guard = op["x-guard"].as_str().expect("x-guard");
            let concrete = concrete_path(path, &student.iin);
            let m = Method::from_bytes(method.to_ascii_uppercase().as_bytes()).expect("a method");
            let anonymous = send(app.client.request(m.clone(), app.url(&concrete)).json(&json!({}))).await;
            assert!(anonymous.status < 500, "{method} {path}: {}", anonymous.body);
            if guard == "public" {
                assert_ne!(anonymous.status, 401, "{method} {path} is public: {}", anonymous.body);
            } else {
                assert_eq!(anonymous.status, 401, "{method} {path} ({guard}): {}", anonymous.body);
                anonymous.expect_error(401, "unauthorized");
            }
            if guard == "admin" {
                let r = send(
                    app.client
                        .request(m, app.url(&concrete))
                        .bearer_auth(&student.token)
                        .json(&json!({})),
                )
                .await;
                assert_eq!(r.status, 403, "{method} {path} is for admins: {}", r.body);
            }
        }
    }
}

/// A documented path with its parameters filled in: IINs with `iin`, anything else with 1.
fn concrete_path(template: &str, iin: &str) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some((before, after)) = rest.split_once('{') {
        out.push_str(before);
        let (name, tail) = after.split_once('}').expect("a closed path parameter");
        out.push_str(if name.contains("iin") { iin } else { "1" });
        rest = tail;
    }
    out.push_str(rest);
    out
}

async fn openapi_is_off_unless_enabled<S: Store>(app: TestApp<S>) {
    get(&app, "/openapi.json", None).await.expect_error(404, "not_found");
    get(&app, "/healthz", None).await.expect(200);
}

/// `POST /user/upload-photo`: documented as a multipart upload for any logged-in user,
/// refused without a token, and served: the avatar comes back, byte for byte, from the public path
/// named in `user.photo`.
async fn upload_photo_is_served_and_documented<S: Store>(app: TestApp<S>) {
    let doc = openapi_document(&app).await;
    let op = &doc["paths"]["/user/upload-photo"]["post"];
    assert_eq!(op["x-guard"], "account", "{op}");
    assert!(
        op["requestBody"]["content"]["multipart/form-data"].is_object(),
        "documented as a multipart form: {op}"
    );
    assert!(
        op["responses"]["413"].is_object() && op["responses"]["415"].is_object(),
        "{op}"
    );
    assert_eq!(doc["paths"]["/static/photos/{file}"]["get"]["x-guard"], "public");

    let form = || {
        reqwest::multipart::Form::new().part(
            "photo",
            reqwest::multipart::Part::bytes(PNG.to_vec())
                .file_name("me.png")
                .mime_str("image/png")
                .expect("a mime type"),
        )
    };
    send(app.client.post(app.url("/user/upload-photo")).multipart(form()))
        .await
        .expect_error(401, "unauthorized");

    let student = app.student().await;
    let r = send(
        app.request(Method::POST, "/user/upload-photo", Some(&student))
            .multipart(form()),
    )
    .await;
    let user = &r.expect(200)["user"];
    assert_eq!(user["iin"], student.iin.as_str());
    let photo = user["photo"].as_str().expect("user.photo is set");
    assert!(
        photo.starts_with("static/photos/") && photo.ends_with(".png"),
        "the previous backend's form: {photo}"
    );
    let served = get(&app, &format!("/{photo}"), None).await;
    served.expect(200);
    assert_eq!(served.bytes, PNG, "the avatar is served as uploaded");
    assert_eq!(served.header("content-type"), Some("image/png"));
    assert_security_headers(&served.headers, "avatar");
}

// ---------------------------------------------------------------------------------------------
// Fuzzing

/// JSON values with the shapes and sizes that break parsers: deep nesting, huge and odd numbers,
/// IIN-like strings, long and non-ASCII text, and the login's own keys.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("JSON numbers are finite", |f| f.is_finite())
            .prop_map(Value::from),
        "[0-9]{10,14}".prop_map(Value::String),
        "\\PC{0,40}".prop_map(Value::String),
        (1usize..200).prop_map(|n| Value::String("ж".repeat(n))),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![Just("iin".to_owned()), Just("password".to_owned()), "[a-z_]{1,10}"],
                inner,
                0..5
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Request bodies: JSON values, login-shaped objects with odd fields, cut-off JSON, and raw bytes.
fn login_body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        json_value().prop_map(|v| v.to_string().into_bytes()),
        (json_value(), json_value())
            .prop_map(|(iin, password)| { json!({"iin": iin, "password": password}).to_string().into_bytes() }),
        ("[0-9]{12}", "\\PC{0,90}")
            .prop_map(|(iin, password)| { json!({"iin": iin, "password": password}).to_string().into_bytes() }),
        (json_value(), any::<prop::sample::Index>()).prop_map(|(v, cut)| {
            let text = v.to_string().into_bytes();
            let at = cut.index(text.len() + 1);
            text[..at].to_vec()
        }),
        prop::collection::vec(any::<u8>(), 0..256),
        Just(b"1e999999".to_vec()),
        Just(format!("{}1{}", "[".repeat(200), "]".repeat(200)).into_bytes()),
        Just(format!("{}{}", "[".repeat(5000), "]".repeat(5000)).into_bytes()),
    ]
}

/// What every answer to a fuzzed body must be: not a server error, and a JSON error body unless 200.
fn check_answer(what: &str, r: &Reply) -> Result<(), TestCaseError> {
    prop_assert!(r.status < 500, "{} answered {} {}", what, r.status, r.body);
    if r.status != 200 {
        prop_assert!(
            r.body["detail"].is_string() && r.body["code"].is_string(),
            "{} answered {} without a JSON error: {}",
            what,
            r.status,
            r.body
        );
    }
    Ok(())
}

fn fuzz_login_bodies<S: Store>(rt: &tokio::runtime::Runtime, app: &TestApp<S>) {
    let mut runner = TestRunner::new(ProptestConfig {
        cases: 64,
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    let result = runner.run(&login_body(), |body| {
        let (login, token, refresh) = rt.block_on(async {
            let post = |path: &str, content_type: &str| {
                send(
                    app.client
                        .post(app.url(path))
                        .header("content-type", content_type)
                        .body(body.clone()),
                )
            };
            (
                post("/auth/login", "application/json").await,
                post("/auth/token", "application/x-www-form-urlencoded").await,
                post("/auth/refresh", "application/json").await,
            )
        });
        check_answer("/auth/login", &login)?;
        check_answer("/auth/token", &token)?;
        check_answer("/auth/refresh", &refresh)?;
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    // The server is still healthy.
    let ready = rt.block_on(get(app, "/readyz", None));
    assert_eq!(ready.status, 200);
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

#[test]
fn fuzzed_login_bodies_never_cause_5xx_sqlite() {
    let rt = runtime();
    let app = rt.block_on(async {
        let fx = edu_tests::sqlite_fixture().await.expect("SQLite fixture");
        TestApp::spawn(fx).await
    });
    fuzz_login_bodies(&rt, &app);
    rt.block_on(app.stop());
}

#[test]
#[cfg_attr(edu_skip_postgres, ignore = "no PostgreSQL: set EDU_TEST_DATABASE_URL")]
fn fuzzed_login_bodies_never_cause_5xx_postgres() {
    let rt = runtime();
    let Some(app) = rt.block_on(async {
        match edu_tests::pg_fixture().await {
            Some(fx) => Some(TestApp::spawn(fx).await),
            None => None,
        }
    }) else {
        return;
    };
    fuzz_login_bodies(&rt, &app);
    rt.block_on(app.stop());
}
