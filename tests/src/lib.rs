//! Helpers shared by the integration tests: a real server on `127.0.0.1:0` over a fresh database,
//! and typed helpers for acting as users of each role.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use edu_core::conformance::Fixture;
use edu_core::{CreateUser, Role, Store};
use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::{Value, json};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use edu_core::conformance::{pg_fixture, sqlite_fixture};

pub mod legacy;

/// A running server and the database behind it.
pub struct TestApp<S: Store> {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    pub fx: Fixture<S>,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<std::io::Result<()>>>,
}

/// A logged-in user.
#[derive(Debug, Clone)]
pub struct Actor {
    pub id: i64,
    pub iin: String,
    pub password: String,
    pub token: String,
    pub refresh_token: String,
    pub role: Role,
}

impl Actor {
    pub fn bearer(&self) -> String {
        format!("Bearer {}", self.token)
    }
}

static NEXT_IIN: AtomicU64 = AtomicU64::new(0);

/// A fresh IIN that passes the national rules, as a spreadsheet import asks (unique within the
/// test process): ten thousand serial numbers per birth day from 1 January 2000 on.
pub fn fresh_iin() -> String {
    loop {
        let n = NEXT_IIN.fetch_add(1, Ordering::Relaxed);
        let day = chrono::NaiveDate::from_ymd_opt(2000, 1, 1).expect("a date") + chrono::Days::new(n / 10_000);
        let first = format!("{}5{:04}", day.format("%y%m%d"), n % 10_000);
        let mut digits = [0u8; 11];
        for (d, b) in digits.iter_mut().zip(first.bytes()) {
            *d = b - b'0';
        }
        // One number in eleven or so has no control digit and is never issued.
        if let Some(check) = edu_core::domain::Iin::check_digit(&digits) {
            return format!("{first}{check}");
        }
    }
}

/// A client builder for tests and tools, with the TLS provider installed that this build's reqwest
/// needs (see [`edu_core::files::install_tls_provider`]).
pub fn http() -> reqwest::ClientBuilder {
    edu_core::files::install_tls_provider();
    reqwest::Client::builder()
}

/// The tests' client asks for English, as the texts they check are English; a request may say
/// otherwise with its own `Accept-Language`.
fn english_client() -> reqwest::Client {
    let mut headers = HeaderMap::new();
    headers.insert(reqwest::header::ACCEPT_LANGUAGE, HeaderValue::from_static("en"));
    http().default_headers(headers).build().expect("http client")
}

impl<S: Store> TestApp<S> {
    pub async fn spawn(fx: Fixture<S>) -> Self {
        Self::spawn_with(
            fx,
            edu_http::Options {
                api_docs: true,
                ..edu_http::Options::default()
            },
        )
        .await
    }

    pub async fn spawn_with(fx: Fixture<S>, options: edu_http::Options) -> Self {
        init_logs();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a test port");
        let addr = listener.local_addr().expect("local address");
        let (tx, rx) = oneshot::channel::<()>();
        let platform = fx.platform.clone();
        let server = tokio::spawn(edu_http::serve_with(platform, listener, options, async {
            let _ = rx.await;
        }));
        Self {
            addr,
            client: english_client(),
            fx,
            shutdown: Some(tx),
            server: Some(server),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Creates a user of `role` directly in the core and logs them in over HTTP.
    pub async fn user(&self, role: Role) -> Actor {
        self.user_named(role, None).await
    }

    /// Like [`TestApp::user`], with this full name (by default `"<role> <iin>"`).
    pub async fn user_named(&self, role: Role, full_name: Option<&str>) -> Actor {
        let iin = fresh_iin();
        let password = format!("pw-{iin}");
        let profile = self
            .fx
            .platform
            .provision_user(CreateUser {
                iin: iin.clone(),
                full_name: full_name.map_or_else(|| format!("{role} {iin}"), str::to_owned),
                phone: None,
                role: Some(role),
                password: password.clone(),
            })
            .await
            .expect("provision test user");
        let body = self.login(&iin, &password).await;
        Actor {
            id: profile.id.0,
            iin,
            password,
            token: body["access_token"].as_str().expect("access token").to_owned(),
            refresh_token: body["refresh_token"].as_str().expect("refresh token").to_owned(),
            role,
        }
    }

    pub async fn admin(&self) -> Actor {
        self.user(Role::Admin).await
    }

    pub async fn teacher(&self) -> Actor {
        self.user(Role::Teacher).await
    }

    pub async fn student(&self) -> Actor {
        self.user(Role::Student).await
    }

    /// `POST /auth/login`, expecting success.
    pub async fn login(&self, iin: &str, password: &str) -> Value {
        let res = self.post_login(iin, password).await;
        assert_eq!(res.status(), 200, "login of {iin} failed");
        res.json().await.expect("login body")
    }

    pub async fn post_login(&self, iin: &str, password: &str) -> reqwest::Response {
        self.client
            .post(self.url("/auth/login"))
            .json(&serde_json::json!({"iin": iin, "password": password}))
            .send()
            .await
            .expect("request")
    }

    /// A request with an optional bearer token.
    pub fn request(&self, method: reqwest::Method, path: &str, who: Option<&Actor>) -> reqwest::RequestBuilder {
        let req = self.client.request(method, self.url(path));
        match who {
            Some(a) => req.header("authorization", a.bearer()),
            None => req,
        }
    }

    pub async fn get(&self, path: &str, who: Option<&Actor>) -> reqwest::Response {
        self.request(reqwest::Method::GET, path, who)
            .send()
            .await
            .expect("request")
    }

    /// Stops the server and waits for it to drain.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.expect("server task").expect("server result");
        }
    }
}

impl<S: Store> Drop for TestApp<S> {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Responses

/// A response, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    /// The body as JSON; a body that is not JSON as a JSON string of its (lossy) text; no body as null.
    pub body: Value,
    /// The body exactly as received (for downloads).
    pub bytes: Vec<u8>,
}

impl Reply {
    /// A reply from its parts. A 5xx is a bug whatever the test expects, so it fails here.
    #[track_caller]
    pub fn new(status: u16, headers: HeaderMap, bytes: Vec<u8>) -> Reply {
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        assert!(status < 500, "a 5xx is a bug: {status} {body}");
        Reply {
            status,
            headers,
            body,
            bytes,
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts the status and returns the body.
    #[track_caller]
    pub fn expect(&self, status: u16) -> &Value {
        assert_eq!(self.status, status, "unexpected status; body {}", self.body);
        &self.body
    }

    /// Asserts an error response: this status, a JSON body of exactly `{"detail": non-empty,
    /// "code"}`, and on a 401 the `WWW-Authenticate: Bearer` challenge. Returns the detail.
    #[track_caller]
    pub fn expect_error(&self, status: u16, code: &str) -> &str {
        assert_eq!(self.status, status, "unexpected status; body {}", self.body);
        let obj = self.body.as_object().expect("error body is a JSON object");
        assert_eq!(obj.len(), 2, "error body has exactly detail and code: {}", self.body);
        assert_eq!(self.body["code"], code, "error code in {}", self.body);
        let detail = self.body["detail"].as_str().expect("detail is a string");
        assert!(!detail.is_empty(), "detail is not empty");
        if status == 401 {
            assert_eq!(self.header("www-authenticate"), Some("Bearer"), "401 names the scheme");
        }
        assert!(
            self.header("content-type")
                .is_some_and(|c| c.starts_with("application/json")),
            "errors are JSON: {:?}",
            self.header("content-type")
        );
        detail
    }

    /// The `id` of the body.
    #[track_caller]
    pub fn id(&self) -> i64 {
        self.body["id"]
            .as_i64()
            .unwrap_or_else(|| panic!("the response carries an id: {}", self.body))
    }
}

/// Reads a response whole (failing the test on a 5xx).
pub async fn read(res: reqwest::Response) -> Reply {
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let bytes = res.bytes().await.expect("response body");
    Reply::new(status, headers, bytes.to_vec())
}

/// Sends a request and reads its response.
pub async fn send(req: reqwest::RequestBuilder) -> Reply {
    read(req.send().await.expect("request")).await
}

/// A request as `who` (or without a token), with an optional JSON body.
pub async fn call<S: Store>(
    app: &TestApp<S>,
    method: Method,
    path: &str,
    who: Option<&Actor>,
    body: Option<Value>,
) -> Reply {
    let mut req = app.request(method, path, who);
    if let Some(body) = body {
        req = req.json(&body);
    }
    send(req).await
}

/// `GET` as `who` (or without a token).
pub async fn get<S: Store>(app: &TestApp<S>, path: &str, who: Option<&Actor>) -> Reply {
    call(app, Method::GET, path, who, None).await
}

// ---------------------------------------------------------------------------------------------
// Raw HTTP, for what a client library will not send

/// Sends `request` as is over TCP and reads the answer until the server closes (the request should
/// say `Connection: close`). A server may answer and close before reading everything: a failed
/// write is ignored and the answer read. Returns the status, the headers and the raw body.
pub async fn raw_http(addr: SocketAddr, request: Vec<u8>) -> (u16, HeaderMap, Vec<u8>) {
    tokio::task::spawn_blocking(move || {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(addr).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .expect("read timeout");
        let _ = stream.write_all(&request);
        let mut buf = Vec::new();
        let _ = stream.read_to_end(&mut buf);
        let split = buf.windows(4).position(|w| w == b"\r\n\r\n").unwrap_or(buf.len());
        let head = String::from_utf8_lossy(&buf[..split]).into_owned();
        let body = buf.get(split + 4..).unwrap_or_default().to_vec();
        let mut lines = head.lines();
        let status = lines
            .next()
            .and_then(|l| l.split(' ').nth(1))
            .and_then(|c| c.parse().ok())
            .unwrap_or_else(|| panic!("a status line in {head:?}"));
        let mut headers = HeaderMap::new();
        for line in lines {
            if let Some((k, v)) = line.split_once(':')
                && let (Ok(k), Ok(v)) = (
                    HeaderName::from_bytes(k.trim().as_bytes()),
                    HeaderValue::from_str(v.trim()),
                )
            {
                headers.append(k, v);
            }
        }
        (status, headers, body)
    })
    .await
    .expect("raw request task")
}

/// The body of a chunked message, decoded (the tests' bodies are small and well-formed).
pub fn dechunk(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut rest = body;
    while let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") {
        let size = String::from_utf8_lossy(&rest[..eol]).into_owned();
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        let tail = &rest[eol + 2..];
        if n == 0 || tail.len() < n {
            break;
        }
        out.extend_from_slice(&tail[..n]);
        rest = tail[n..].strip_prefix(b"\r\n").unwrap_or(&tail[n..]);
    }
    out
}

/// Sends `request` over raw TCP and reads the answer as a [`Reply`] (chunked bodies decoded).
pub async fn raw_reply(addr: SocketAddr, request: Vec<u8>) -> Reply {
    let (status, headers, raw_body) = raw_http(addr, request).await;
    let bytes = if headers.get("transfer-encoding").is_some() {
        dechunk(&raw_body)
    } else {
        raw_body
    };
    Reply::new(status, headers, bytes)
}

// ---------------------------------------------------------------------------------------------
// Real files (their first bytes are what uploads are checked by)

/// A valid 1×1 PNG.
pub const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4, 0x89, 0x00, 0x00, 0x00, 0x0d, 0x49,
    0x44, 0x41, 0x54, 0x78, 0xda, 0x63, 0x64, 0x60, 0xf8, 0x5f, 0x0f, 0x00, 0x02, 0x87, 0x01, 0x80, 0xeb, 0x47, 0xba,
    0x92, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

/// The start of a JPEG (SOI, a JFIF APP0 segment), a few bytes of data and the end marker.
pub const JPEG: &[u8] = &[
    0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00,
    0x00, 0xff, 0xdb, 0x00, 0x04, 0x00, 0x01, 0xff, 0xd9,
];

/// A small PDF.
pub const PDF: &[u8] = b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n\
2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";

/// `head` followed by filler bytes up to `len` bytes in all (a big file of `head`'s type).
pub fn padded(head: &[u8], len: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(len.max(head.len()));
    v.extend_from_slice(head);
    v.resize(len.max(head.len()), b'.');
    v
}

// ---------------------------------------------------------------------------------------------
// Setting up groups, modules and subjects as an admin, over HTTP

pub async fn new_group<S: Store>(app: &TestApp<S>, admin: &Actor, name: &str) -> i64 {
    let r = call(
        app,
        Method::POST,
        "/admin/groups/",
        Some(admin),
        Some(json!({"name": name})),
    )
    .await;
    r.expect(200);
    r.id()
}

pub async fn new_module<S: Store>(app: &TestApp<S>, admin: &Actor, title: &str) -> i64 {
    let r = call(
        app,
        Method::POST,
        "/admin/modules/",
        Some(admin),
        Some(json!({"title": title})),
    )
    .await;
    r.expect(200);
    r.id()
}

pub async fn new_subject<S: Store>(app: &TestApp<S>, admin: &Actor, module: i64, title: &str) -> i64 {
    let r = call(
        app,
        Method::POST,
        &format!("/admin/modules/{module}/subjects"),
        Some(admin),
        Some(json!({"title": title})),
    )
    .await;
    r.expect(200);
    r.id()
}

/// Adds users to a group.
pub async fn add_members<S: Store>(app: &TestApp<S>, admin: &Actor, group: i64, users: &[i64]) {
    call(
        app,
        Method::POST,
        &format!("/admin/groups/{group}/users"),
        Some(admin),
        Some(json!(users)),
    )
    .await
    .expect(200);
}

/// Gives a group access to a module.
pub async fn link<S: Store>(app: &TestApp<S>, admin: &Actor, group: i64, module: i64) -> Value {
    call(
        app,
        Method::POST,
        "/access/admin/group-to-module",
        Some(admin),
        Some(json!({"group_id": group, "module_id": module})),
    )
    .await
    .expect(200)
    .clone()
}

/// Makes `teacher` the teacher of a subject.
pub async fn assign<S: Store>(app: &TestApp<S>, admin: &Actor, teacher: &Actor, module: i64, subject: i64) {
    call(
        app,
        Method::POST,
        "/access/admin/teacher-to-subject",
        Some(admin),
        Some(json!({"teacher_iin": teacher.iin, "module_id": module, "subject_id": subject})),
    )
    .await
    .expect(200);
}

/// Logs stay quiet unless `TEST_LOG` is set.
fn init_logs() {
    if std::env::var_os("TEST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter("info")
            .with_test_writer()
            .try_init();
    }
}

/// Runs each named `async fn name<S: Store>(app: TestApp<S>)` against SQLite and PostgreSQL.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(fx) = $crate::sqlite_fixture().await else { return };
                    super::$name($crate::TestApp::spawn(fx).await).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[cfg_attr(edu_skip_postgres, ignore = "no PostgreSQL: set EDU_TEST_DATABASE_URL")]
                async fn $name() {
                    let Some(fx) = $crate::pg_fixture().await else { return };
                    super::$name($crate::TestApp::spawn(fx).await).await;
                }
            )*
        }
    };
}

/// Like [`on_both_backends!`], against a server started with `$options()`, in a module of its
/// own: `on_both_backends_with!(small_bodies, super::super::small_body_options; name, …)`.
/// Paths are seen from inside `$module::sqlite`, hence `super::super::` for the suite's items.
#[macro_export]
macro_rules! on_both_backends_with {
    ($module:ident, $options:path; $($name:ident),* $(,)?) => {
        mod $module {
            mod sqlite {
                $(
                    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                    async fn $name() {
                        let Some(fx) = $crate::sqlite_fixture().await else { return };
                        super::super::$name($crate::TestApp::spawn_with(fx, $options()).await).await;
                    }
                )*
            }
            mod postgres {
                $(
                    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                    #[cfg_attr(edu_skip_postgres, ignore = "no PostgreSQL: set EDU_TEST_DATABASE_URL")]
                    async fn $name() {
                        let Some(fx) = $crate::pg_fixture().await else { return };
                        super::super::$name($crate::TestApp::spawn_with(fx, $options()).await).await;
                    }
                )*
            }
        }
    };
}

/// Fails unless every `.rs` file in `<crate_dir>/<dir>/` is declared as a module (`mod name;`) of
/// that folder's `main.rs`, and no suite file sits loose in the folder above it, where it would
/// belong to no test target (or be linked as a binary of its own). A test binary made of modules would otherwise skip a new file
/// without a word.
pub fn assert_all_suites_declared(crate_dir: &str, dir: &str) {
    let folder = std::path::Path::new(crate_dir).join(dir);
    let root = folder.parent().expect("the test folder's parent");
    let main = std::fs::read_to_string(folder.join("main.rs")).expect("the test binary's main.rs");
    let declared: std::collections::BTreeSet<String> = main
        .lines()
        .filter_map(|l| l.trim().strip_prefix("mod ")?.strip_suffix(';').map(str::to_owned))
        .collect();
    let rust_files = |d: &std::path::Path| -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(d)
            .expect("a readable test folder")
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter_map(|n| n.strip_suffix(".rs").map(str::to_owned))
            .collect();
        names.sort();
        names
    };
    let undeclared: Vec<String> = rust_files(&folder)
        .into_iter()
        .filter(|n| n != "main" && !declared.contains(n))
        .collect();
    assert!(
        undeclared.is_empty(),
        "{dir}/{undeclared:?}.rs would never run: declare them in {dir}/main.rs"
    );
    // A build script is the package's own, not a suite.
    let loose: Vec<String> = rust_files(root).into_iter().filter(|n| n != "build").collect();
    assert!(
        loose.is_empty(),
        "{loose:?}.rs in {} belong to no test target: move them to {dir}/ and declare them in {dir}/main.rs",
        root.display()
    );
}
