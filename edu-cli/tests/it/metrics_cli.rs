//! `edu serve` with `EDU_METRICS_BIND`: `/metrics` on its own listener (never the API's port),
//! and numbers that move with what the server does.

use serde_json::json;

use crate::common::{Workdir, free_port, serve};

const ADMIN_IIN: &str = "800101300011";
const ADMIN_PASSWORD: &str = "Admin-pass-1";

/// The value of the series `name{labels}` (labels as Prometheus writes them), if present.
fn value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.trim().parse().ok())
}

async fn scrape(client: &reqwest::Client, port: u16) -> String {
    let r = client
        .get(format!("http://127.0.0.1:{port}/metrics"))
        .send()
        .await
        .expect("metrics answer");
    assert_eq!(r.status(), 200);
    let ct = r.headers()["content-type"].to_str().expect("ascii").to_owned();
    assert!(ct.starts_with("text/plain; version=0.0.4"), "{ct}");
    r.text().await.expect("text")
}

#[tokio::test]
async fn metrics_are_served_apart_and_count_what_happens() {
    let dir = Workdir::new("metrics");
    let (api, metrics) = (free_port(), free_port());
    let mut vars = dir.vars();
    vars.extend([
        ("ADMIN_IIN", ADMIN_IIN.into()),
        ("ADMIN_PASSWORD", ADMIN_PASSWORD.into()),
        ("EDU_BIND", format!("127.0.0.1:{api}")),
        ("EDU_METRICS_BIND", format!("127.0.0.1:{metrics}")),
    ]);
    let client = edu_tests::http().build().expect("http client");
    let _server = serve(&dir.path(""), vars, api, &client).await;
    let url = |path: &str| format!("http://127.0.0.1:{api}{path}");

    // Never on the API's port.
    let r = client.get(url("/metrics")).send().await.expect("answer");
    assert_eq!(r.status(), 404);

    // N requests to a route: its counter says N, labelled by template, method and status.
    for _ in 0..7 {
        client.get(url("/healthz")).send().await.expect("healthz");
    }
    for id in [3, 17, 912] {
        let r = client.get(url(&format!("/lessons/{id}"))).send().await.expect("answer");
        assert_eq!(r.status(), 401);
    }
    let text = scrape(&client, metrics).await;
    let healthz = r#"edu_http_requests_total{method="GET",route="/healthz",status="200"}"#;
    assert_eq!(value(&text, healthz), Some(7.0), "{text}");
    let lessons = r#"edu_http_requests_total{method="GET",route="/lessons/{id}",status="401"}"#;
    assert_eq!(
        value(&text, lessons),
        Some(3.0),
        "one series for every lesson id: {text}"
    );
    let histogram = r#"edu_http_request_duration_seconds_count{method="GET",route="/healthz",status="200"}"#;
    assert_eq!(value(&text, histogram), Some(7.0), "{text}");
    assert!(
        text.contains(
            r#"edu_http_request_duration_seconds_bucket{method="GET",route="/healthz",status="200",le="0.005"}"#
        ),
        "a histogram with buckets: {text}"
    );
    assert_eq!(value(&text, "edu_http_requests_in_flight"), Some(0.0), "{text}");
    let max = value(&text, "edu_db_pool_max_connections").expect("the pool's maximum");
    let size = value(&text, "edu_db_pool_connections").expect("the pool's size");
    let idle = value(&text, "edu_db_pool_idle_connections").expect("idle connections");
    assert!(max >= 1.0 && size >= 1.0 && idle <= size && size <= max, "{text}");

    // An upload refused for its type, and one accepted with its bytes.
    let login = client
        .post(url("/auth/login"))
        .json(&json!({"iin": ADMIN_IIN, "password": ADMIN_PASSWORD}))
        .send()
        .await
        .expect("login");
    assert_eq!(login.status(), 200);
    let token = login.json::<serde_json::Value>().await.expect("json")["access_token"]
        .as_str()
        .expect("a token")
        .to_owned();
    let photo = |name: &'static str, bytes: Vec<u8>| {
        let form = reqwest::multipart::Form::new().part("file", reqwest::multipart::Part::bytes(bytes).file_name(name));
        client
            .post(url("/user/upload-photo"))
            .bearer_auth(&token)
            .multipart(form)
            .send()
    };
    let refused = photo("notes.exe", b"MZ not a picture".to_vec()).await.expect("answer");
    assert!(refused.status().is_client_error(), "{}", refused.status());
    let png = edu_tests::PNG;
    let accepted = photo("me.png", png.to_vec()).await.expect("answer");
    assert_eq!(accepted.status(), 200, "{:?}", accepted.text().await);

    // Five wrong passwords lock the account; the sixth attempt is refused by the lock.
    for _ in 0..6 {
        client
            .post(url("/auth/login"))
            .json(&json!({"iin": ADMIN_IIN, "password": "wrong-password"}))
            .send()
            .await
            .expect("answer");
    }
    let text = scrape(&client, metrics).await;
    assert_eq!(
        value(&text, r#"edu_upload_refusals_total{reason="type"}"#),
        Some(1.0),
        "{text}"
    );
    assert_eq!(value(&text, "edu_upload_bytes_total"), Some(png.len() as f64), "{text}");
    assert_eq!(
        value(&text, r#"edu_login_locks_total{key="account"}"#),
        Some(2.0),
        "the failure that locked and the attempt refused: {text}"
    );
    let checks = value(&text, "edu_bcrypt_wait_seconds_count").expect("bcrypt waits");
    assert!(checks >= 6.0, "one good and five wrong passwords checked: {text}");
    assert_eq!(value(&text, "edu_bcrypt_queue_depth"), Some(0.0), "{text}");
    // Four wrong passwords answered 401; the fifth locks (403), and so is the sixth refused.
    let wrong = r#"edu_http_requests_total{method="POST",route="/auth/login",status="401"}"#;
    assert_eq!(value(&text, wrong), Some(4.0), "{text}");
    let locked = r#"edu_http_requests_total{method="POST",route="/auth/login",status="403"}"#;
    assert_eq!(value(&text, locked), Some(2.0), "{text}");
}
