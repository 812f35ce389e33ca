//! When the database or the file store goes away: a PostgreSQL server of the suite's own is
//! stopped under load (once as an administrator stops it, once as a crash), an S3 emulator of its
//! own is killed. While they are away every answer that needs them is a quick 503 with
//! `Retry-After`, `/readyz` says "not ready" within its deadline, the rest keeps working, and once
//! they are back the first request succeeds and no acknowledged write is missing.
//!
//! Needs PostgreSQL's server programs (`initdb`, `pg_ctl`; found when the tests are built, or
//! named by `EDU_TEST_PG_BINDIR`) and `moto_server`; without them the tests are ignored, except
//! under `CI`, where they fail.

mod cluster;
mod load;
mod moto;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use edu_core::Role;
use edu_core::config::Config;
use edu_core::conformance::harness::sqlite_fixture_with_files;
use edu_core::conformance::pg_fixture_at;
use edu_core::files::FileStore;
use edu_tests::{PNG, TestApp};
use reqwest::multipart::{Form, Part};
use serde_json::Value;

use cluster::{Cluster, Stop};
use load::{Ask, Load, Sample, Target, histogram};

/// How long the database stays away each time.
const OUTAGE: Duration = Duration::from_secs(5);
/// The slowest acceptable answer while something is away (the pool waits 2 s by default).
const QUICK: Duration = Duration::from_secs(3);
/// `/readyz` answers within its own deadline of 1 s, plus scheduling slack.
const READY_QUICK: Duration = Duration::from_millis(1500);

/// A port nothing listens on at the moment.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// A program found when the tests were built; a missing one fails under `CI`, where nothing may
/// be skipped (elsewhere the test is marked ignored by `build.rs` and does not get here).
fn found(path: &'static str, what: &str) -> &'static str {
    assert!(
        !path.is_empty(),
        "{what} was not found when the tests were built: install it (or set EDU_TEST_PG_BINDIR) and rebuild"
    );
    path
}

/// When one outage began and ended.
#[derive(Debug)]
struct Window {
    how: Stop,
    /// `pg_ctl stop` was called.
    stopping: Instant,
    /// The server is down.
    down: Instant,
    /// `pg_ctl start` was called.
    starting: Instant,
    /// The server accepts connections again.
    up: Instant,
}

/// Where in the run a request was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    Before,
    Stopping,
    Outage,
    Starting,
    After,
}

fn phase(windows: &[Window], s: &Sample) -> Phase {
    let Some(w) = windows.iter().rev().find(|w| s.sent >= w.stopping) else {
        return Phase::Before;
    };
    if s.sent < w.down {
        Phase::Stopping
    } else if s.sent < w.starting {
        Phase::Outage
    } else if s.sent < w.up {
        Phase::Starting
    } else {
        Phase::After
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    edu_skip_outage_pg,
    ignore = "no PostgreSQL server programs (initdb, pg_ctl): set EDU_TEST_PG_BINDIR"
)]
async fn a_stopped_database_answers_503_quickly_and_the_first_request_after_it_succeeds() {
    let bindir = found(env!("EDU_OUTAGE_PG_BINDIR"), "PostgreSQL's initdb and pg_ctl");
    let cluster = Arc::new(
        tokio::task::spawn_blocking(move || Cluster::create(std::path::Path::new(bindir)))
            .await
            .expect("cluster task"),
    );
    // The pool as `edu serve` configures it when nothing is said: the default wait is the one tested.
    let config = Config::from_vars(|k| match k {
        "DATABASE_URL" => Some(cluster.url()),
        "SECRET_KEY" => Some("outage-suite-signing-key-0123456789".into()),
        _ => None,
    })
    .expect("a valid configuration");
    let fx = pg_fixture_at(&cluster.url(), config.pool).await;
    let app = TestApp::spawn(fx).await;
    let admin = app.admin().await;
    let student = app.student().await;
    let target = Target {
        base: app.url(""),
        admin_token: admin.token.clone(),
        student_token: student.token.clone(),
        student_iin: student.iin.clone(),
        student_password: student.password.clone(),
    };
    let load = Load::start(
        &target,
        &[
            Ask::CreateGroup,
            Ask::CreateGroup,
            Ask::CreateGroup,
            Ask::Check,
            Ask::MyModules,
            Ask::Grades,
            Ask::Login,
            Ask::Ready,
        ],
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut windows = Vec::new();
    for how in [Stop::Fast, Stop::Immediate] {
        let stopping = Instant::now();
        let c = cluster.clone();
        tokio::task::spawn_blocking(move || c.stop(how))
            .await
            .expect("stop task");
        let down = Instant::now();
        tokio::time::sleep(OUTAGE).await;
        let starting = Instant::now();
        let c = cluster.clone();
        tokio::task::spawn_blocking(move || c.start())
            .await
            .expect("start task");
        let up = Instant::now();
        windows.push(Window {
            how,
            stopping,
            down,
            starting,
            up,
        });
        tokio::time::sleep(Duration::from_secs(3)).await;
    }
    let samples = load.finish().await;

    // What the clients saw, phase by phase (kept in the test's output for the record).
    let phases: BTreeSet<Phase> = samples.iter().map(|s| phase(&windows, s)).collect();
    for p in &phases {
        let h = histogram(samples.iter().filter(|s| phase(&windows, s) == *p));
        let slowest = samples
            .iter()
            .filter(|s| phase(&windows, s) == *p)
            .map(|s| s.took)
            .max()
            .unwrap_or_default();
        eprintln!("{p:?}: {h:?}, slowest {slowest:.2?}");
    }
    let first_ok: Vec<Option<Duration>> = windows
        .iter()
        .map(|w| {
            samples
                .iter()
                .filter(|s| s.sent >= w.starting && s.ok() && s.ask != Ask::Ready)
                .map(|s| (s.sent + s.took).saturating_duration_since(w.up))
                .min()
        })
        .collect();
    for (w, first) in windows.iter().zip(&first_ok) {
        eprintln!("{:?} stop: first 2xx {first:.2?} after the database was back", w.how);
    }

    // Never a 5xx other than 503, never a request left without an answer.
    let broken: Vec<String> = samples
        .iter()
        .filter(|s| s.status().is_none_or(|st| st >= 500 && st != 503))
        .map(|s| format!("{:?} in {:?}: {:?}", s.ask, phase(&windows, s), s.outcome))
        .collect();
    assert!(broken.is_empty(), "answers other than 2xx or 503: {broken:#?}");
    // Every 503 says when to come back, and what it is.
    for s in samples.iter().filter(|s| s.status() == Some(503)) {
        let load::Outcome::Answer { retry_after, body, .. } = &s.outcome else {
            unreachable!()
        };
        let secs: u64 = retry_after
            .as_deref()
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("a 503 without a Retry-After in seconds: {s:?}"));
        assert!((1..=60).contains(&secs), "Retry-After {secs}");
        if s.ask == Ask::Ready {
            assert_eq!(body["status"], "unavailable", "{s:?}");
        } else {
            assert_eq!(body["code"], "service_unavailable", "{s:?}");
            assert!(body["detail"].as_str().is_some_and(|d| !d.is_empty()), "{s:?}");
        }
    }
    // While the database is away: 503, quickly.
    let outage: Vec<&Sample> = samples.iter().filter(|s| phase(&windows, s) == Phase::Outage).collect();
    assert!(
        outage.len() >= 20,
        "the clients kept asking during the outage: {}",
        outage.len()
    );
    let unavailable = outage.iter().filter(|s| s.status() == Some(503)).count();
    assert!(
        unavailable * 2 > outage.len(),
        "most answers during the outage are 503: {unavailable} of {}",
        outage.len()
    );
    for s in &outage {
        // A request that waited for a connection in the last moments of the outage may be
        // served once the database is back: a success, but never one answered while it was away.
        if s.ok() {
            let w = windows
                .iter()
                .rev()
                .find(|w| s.sent >= w.stopping)
                .expect("sent during an outage");
            assert!(
                s.sent + s.took >= w.starting,
                "{:?} succeeded while the database was away: {s:?}",
                s.ask
            );
        } else {
            assert_eq!(s.status(), Some(503), "{s:?}");
        }
        let limit = if s.ask == Ask::Ready { READY_QUICK } else { QUICK };
        assert!(
            s.took < limit,
            "{:?} took {:?} while the database was away",
            s.ask,
            s.took
        );
    }
    // Before and once it is back: everything succeeds, the first request after it included.
    for s in samples
        .iter()
        .filter(|s| matches!(phase(&windows, s), Phase::Before | Phase::After))
    {
        assert!(
            s.ok(),
            "{:?} in {:?}, sent {:.2?} after the server was back: {:?}\nwindows: {windows:#?}\nserver log:\n{}",
            s.ask,
            phase(&windows, s),
            windows
                .iter()
                .rev()
                .find(|w| s.sent >= w.stopping)
                .map(|w| s.sent.saturating_duration_since(w.up)),
            s.outcome,
            cluster.log()
        );
        assert!(s.took < QUICK, "{:?} took {:?}", s.ask, s.took);
    }
    for first in &first_ok {
        let first = first.expect("a request succeeded after the database came back");
        assert!(
            first < Duration::from_secs(2),
            "first success {first:?} after the database was back"
        );
    }

    // Every write acknowledged with a 2xx is there.
    let acknowledged: BTreeSet<&str> = samples.iter().filter_map(|s| s.acknowledged.as_deref()).collect();
    assert!(acknowledged.len() >= 10, "writes went through: {}", acknowledged.len());
    let groups = edu_tests::get(&app, "/admin/groups/", Some(&admin)).await;
    let stored: BTreeSet<&str> = groups
        .expect(200)
        .as_array()
        .expect("a list of groups")
        .iter()
        .filter_map(|g| g["name"].as_str())
        .collect();
    let lost: Vec<&&str> = acknowledged.iter().filter(|n| !stored.contains(**n)).collect();
    assert!(lost.is_empty(), "acknowledged but lost: {lost:?}");
    app.stop().await;
}

/// A request with what came back and how long it took; a 5xx is a finding here, not a failure.
async fn probe(req: reqwest::RequestBuilder) -> (u16, Option<String>, Value, Duration) {
    let sent = Instant::now();
    let res = req
        .header("accept-language", "en")
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .expect("an answer");
    let status = res.status().as_u16();
    let retry_after = res
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = res.json().await.unwrap_or(Value::Null);
    (status, retry_after, body, sent.elapsed())
}

fn file_part(name: &str, bytes: &[u8]) -> Part {
    Part::bytes(bytes.to_vec())
        .file_name(name.to_owned())
        .mime_str("application/octet-stream")
        .expect("a mime type")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(edu_skip_outage_s3, ignore = "no moto_server: pip install 'moto[server]'")]
async fn a_stopped_file_store_answers_503_on_file_routes_and_the_rest_works() {
    let program = found(env!("EDU_OUTAGE_MOTO_SERVER"), "moto_server");
    let mut moto = moto::Moto::start(program).await;
    let bucket = edu_tests::http()
        .build()
        .expect("http client")
        .put(format!("{}/edu-outage", moto.endpoint))
        .send()
        .await
        .expect("create the bucket");
    assert!(bucket.status().is_success(), "{}", bucket.status());
    let files = FileStore::from_url(
        "s3://edu-outage/files",
        &[
            ("aws_endpoint", moto.endpoint.as_str()),
            ("aws_allow_http", "true"),
            ("aws_region", "us-east-1"),
            ("aws_access_key_id", "edu-test"),
            ("aws_secret_access_key", "edu-test-secret"),
        ],
    )
    .expect("an S3 store");
    files.check().await.expect("the bucket answers");
    let app = TestApp::spawn(sqlite_fixture_with_files(files).await).await;
    let admin = app.admin().await;
    let teacher = app.user(Role::Teacher).await;
    let student = app.student().await;
    let upload_photo = || {
        app.request(reqwest::Method::POST, "/user/upload-photo", Some(&student))
            .multipart(Form::new().part("photo", file_part("me.png", PNG)))
    };
    let (status, _, body, _) = probe(upload_photo()).await;
    assert_eq!(status, 200, "{body}");
    let photo = format!("/{}", body["user"]["photo"].as_str().expect("the photo's path"));
    let (status, ..) = probe(app.request(reqwest::Method::GET, &photo, None)).await;
    assert_eq!(status, 200);

    moto.kill();

    let file_routes = [
        ("download", app.request(reqwest::Method::GET, &photo, None)),
        ("avatar upload", upload_photo()),
        (
            "lesson file upload",
            app.request(reqwest::Method::POST, "/lessons/upload/lesson-file", Some(&teacher))
                .multipart(Form::new().part("file", file_part("notes.pdf", edu_tests::PDF))),
        ),
    ];
    let mut seen = Vec::new();
    for (what, req) in file_routes {
        let (status, retry_after, body, took) = probe(req).await;
        eprintln!("file store away, {what}: {status} in {took:.2?}, Retry-After {retry_after:?}, {body}");
        seen.push((what, status, retry_after, body, took));
    }
    let others = [
        (
            "auth check",
            app.request(reqwest::Method::GET, "/auth/check", Some(&student)),
        ),
        (
            "groups",
            app.request(reqwest::Method::GET, "/admin/groups/", Some(&admin)),
        ),
        (
            "new group",
            app.request(reqwest::Method::POST, "/admin/groups/", Some(&admin))
                .json(&serde_json::json!({"name": "while the files are away"})),
        ),
        ("readyz", app.request(reqwest::Method::GET, "/readyz", None)),
    ];
    let mut fine = Vec::new();
    for (what, req) in others {
        let (status, _, body, took) = probe(req).await;
        eprintln!("file store away, {what}: {status} in {took:.2?}");
        fine.push((what, status, body, took));
    }

    for (what, status, retry_after, body, took) in seen {
        assert_eq!(status, 503, "{what}: {body}");
        assert!(
            retry_after.is_some_and(|r| r.parse::<u64>().is_ok()),
            "{what} says when to retry"
        );
        assert_eq!(body["code"], "service_unavailable", "{what}: {body}");
        assert!(took < QUICK, "{what} took {took:?}");
    }
    for (what, status, body, took) in fine {
        assert_eq!(status, 200, "{what}: {body}");
        assert!(took < QUICK, "{what} took {took:?}");
    }
    app.stop().await;
}
