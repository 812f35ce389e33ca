//! The client behind reverse proxies (`EDU_TRUSTED_PROXIES`), over real HTTP on both backends:
//! the per-address login limit and HSTS follow the forwarding headers of a trusted proxy only.
//! The test client connects from 127.0.0.1, which is the proxy when the server trusts it.

use edu_core::Store;
use edu_core::config::TrustedProxies;
use edu_tests::{Reply, TestApp, fresh_iin, send};
use serde_json::json;

edu_tests::on_both_backends!(
    spoofed_forwarding_headers_do_not_move_the_address_key,
    forwarded_https_is_not_believed_from_an_untrusted_peer,
);

fn behind_a_local_proxy() -> edu_http::Options {
    edu_http::Options {
        trusted_proxies: TrustedProxies::parse("127.0.0.1, ::1").expect("valid list"),
        ..edu_http::Options::default()
    }
}

edu_tests::on_both_backends_with!(behind_a_proxy, super::super::behind_a_local_proxy;
    clients_behind_a_trusted_proxy_are_limited_apart,
    the_forwarded_header_names_the_client,
    hsts_follows_the_trusted_proxys_scheme,
);

async fn login_with<S: Store>(app: &TestApp<S>, header: (&str, &str), iin: &str, password: &str) -> Reply {
    send(
        app.client
            .post(app.url("/auth/login"))
            .header(header.0, header.1)
            .json(&json!({"iin": iin, "password": password})),
    )
    .await
}

/// From a peer that is not a trusted proxy the headers change nothing: a sprayer that invents a
/// new `X-Forwarded-For` for every guess is still one address.
async fn spoofed_forwarding_headers_do_not_move_the_address_key<S: Store>(app: TestApp<S>) {
    let student = app.student().await;
    let limit = app.fx.config.address_throttle.max_failures;
    for i in 0..limit {
        let spoofed = format!("198.51.100.{}", i % 250);
        let header = if i % 2 == 0 {
            ("x-forwarded-for", spoofed)
        } else {
            ("forwarded", format!("for={spoofed}"))
        };
        login_with(&app, (header.0, &header.1), &fresh_iin(), "guess-password")
            .await
            .expect_error(401, "unauthorized");
    }
    login_with(
        &app,
        ("x-forwarded-for", "203.0.113.99"),
        &fresh_iin(),
        "guess-password",
    )
    .await
    .expect_error(429, "too_many_requests");
    login_with(
        &app,
        ("x-forwarded-for", "203.0.113.98"),
        &student.iin,
        &student.password,
    )
    .await
    .expect_error(429, "too_many_requests");
}

/// Behind a trusted proxy each client has its own count: one client's failures do not lock
/// out the others, and a client cannot pose as another by writing the header itself.
async fn clients_behind_a_trusted_proxy_are_limited_apart<S: Store>(app: TestApp<S>) {
    let student = app.student().await;
    let limit = app.fx.config.address_throttle.max_failures;
    const A: &str = "203.0.113.10";
    const B: &str = "203.0.113.20";
    for _ in 0..limit {
        login_with(&app, ("x-forwarded-for", A), &fresh_iin(), "guess-password")
            .await
            .expect_error(401, "unauthorized");
    }
    login_with(&app, ("x-forwarded-for", A), &fresh_iin(), "guess-password")
        .await
        .expect_error(429, "too_many_requests");
    // A writes B into the header; the proxy appends A, the address it saw.
    login_with(
        &app,
        ("x-forwarded-for", &format!("{B}, {A}")),
        &fresh_iin(),
        "guess-password",
    )
    .await
    .expect_error(429, "too_many_requests");
    // B, and the proxy's own address, are not locked.
    login_with(&app, ("x-forwarded-for", B), &student.iin, &student.password)
        .await
        .expect(200);
    app.login(&student.iin, &student.password).await;
    // A header that cannot be read counts as the proxy's address, never as a 5xx.
    login_with(
        &app,
        ("x-forwarded-for", "not an address"),
        &student.iin,
        &student.password,
    )
    .await
    .expect(200);
}

async fn the_forwarded_header_names_the_client<S: Store>(app: TestApp<S>) {
    let student = app.student().await;
    let limit = app.fx.config.address_throttle.max_failures;
    const A: &str = "for=\"[2001:db8::1]:4711\";proto=https";
    for _ in 0..limit {
        login_with(&app, ("forwarded", A), &fresh_iin(), "guess-password")
            .await
            .expect_error(401, "unauthorized");
    }
    // The same client on another port is the same address.
    login_with(
        &app,
        ("forwarded", "for=\"[2001:db8::1]:9\""),
        &fresh_iin(),
        "guess-password",
    )
    .await
    .expect_error(429, "too_many_requests");
    login_with(
        &app,
        ("forwarded", "for=\"[2001:db8::2]\""),
        &student.iin,
        &student.password,
    )
    .await
    .expect(200);
    // Obfuscated or broken: the proxy's address, which is not locked.
    for value in ["for=_hidden", "for=unknown", "for=\"[2001:db8::1]", "garbage"] {
        login_with(&app, ("forwarded", value), &student.iin, &student.password)
            .await
            .expect(200);
    }
}

fn hsts(r: &Reply) -> Option<&str> {
    r.header("strict-transport-security")
}

async fn hsts_follows_the_trusted_proxys_scheme<S: Store>(app: TestApp<S>) {
    let get = |name: &'static str, value: &'static str| send(app.client.get(app.url("/healthz")).header(name, value));
    assert!(hsts(&send(app.client.get(app.url("/healthz"))).await).is_none());
    for proto in ["https", "HTTPS", " https ", "http, https"] {
        let r = get("x-forwarded-proto", proto).await;
        let value = hsts(&r).unwrap_or_else(|| panic!("HSTS for X-Forwarded-Proto {proto:?}"));
        let max_age: u64 = value
            .split(';')
            .find_map(|p| p.trim().strip_prefix("max-age="))
            .and_then(|v| v.parse().ok())
            .expect("a numeric max-age");
        assert!(max_age >= 31_536_000, "at least a year: {value}");
    }
    for proto in ["http", "https, http", "", "ftp"] {
        assert!(hsts(&get("x-forwarded-proto", proto).await).is_none(), "{proto:?}");
    }
    assert!(hsts(&get("forwarded", "for=203.0.113.5;proto=https").await).is_some());
    assert!(hsts(&get("forwarded", "for=203.0.113.5;proto=http").await).is_none());
    // Errors over HTTPS carry it too.
    let r = send(app.client.get(app.url("/nope")).header("x-forwarded-proto", "https")).await;
    assert!(hsts(&r).is_some());
}

/// Without `EDU_TRUSTED_PROXIES` a client cannot switch HSTS on by claiming HTTPS.
async fn forwarded_https_is_not_believed_from_an_untrusted_peer<S: Store>(app: TestApp<S>) {
    for (name, value) in [
        ("x-forwarded-proto", "https"),
        ("forwarded", "for=203.0.113.5;proto=https"),
    ] {
        let r = send(app.client.get(app.url("/healthz")).header(name, value)).await;
        assert!(hsts(&r).is_none(), "{name}: {value}");
    }
}
