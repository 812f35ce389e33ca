//! Several nodes: three `edu serve` processes on one PostgreSQL database and one S3-compatible
//! bucket, behind HAProxy, under load from twenty students at once, one node killed with SIGKILL
//! in the middle of it.
//!
//! What it proves: a session, a logout, a password change and the login throttle hold on every
//! node whichever node made them; the balancer takes the dead node out and then every request
//! succeeds; every write a client was told succeeded (homework with its file, a test attempt with
//! its score) is there afterwards, read through each surviving node, and every acknowledged file
//! downloads byte for byte through a node other than the one that stored it; no request was
//! applied twice (every homework carries a comment used once).
//!
//! Needs PostgreSQL (`EDU_TEST_DATABASE_URL`: a fresh database is created on that server and
//! dropped after), an S3-compatible service (`EDU_TEST_S3_URL`) and HAProxy (`EDU_TEST_HAPROXY`,
//! `haproxy` on the PATH, or `/usr/sbin/haproxy`). Without them the test is ignored (decided
//! when it is built, by `edu-cli/build.rs`), except under `CI`, where it fails.
//!
//! `cargo test -p edu-cli --test it multi_node -- --nocapture` shows the ledger.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::Method;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};
use sqlx::Executor;

use crate::common::free_port;

/// Students loading the platform at once, one task each.
const STUDENTS: usize = 20;
/// How long the load runs, and when in it a node is killed.
const LOAD: Duration = Duration::from_secs(12);
const KILL_AFTER: Duration = Duration::from_secs(5);
/// The node killed: `n2`.
const VICTIM: usize = 1;
const BUCKET: &str = "edu-multi-node";
const SECRET_KEY: &str = "multi-node-signing-key-shared-by-every-node";
const ADMIN_IIN: &str = "800101300011";
const ADMIN_PASSWORD: &str = "Admin-pass-1";
/// Generous: three debug builds, PostgreSQL and the S3 emulator share a small machine.
const READY_WITHIN: Duration = Duration::from_secs(60);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

// ---------------------------------------------------------------------------------------------
// What the test needs, and the processes it runs

struct Services {
    database: String,
    s3: String,
    haproxy: PathBuf,
}

/// The services from the environment. A missing one fails: outside `CI` the test is ignored when
/// one is missing at build time and does not get here.
fn services() -> Services {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let needed = |what: &str| -> String {
        format!("{what}: the multi-node test needs it (set it, or leave CI unset to have the test ignored)")
    };
    let database =
        var("EDU_TEST_DATABASE_URL").unwrap_or_else(|| panic!("{}", needed("EDU_TEST_DATABASE_URL is not set")));
    let s3 = var("EDU_TEST_S3_URL").unwrap_or_else(|| panic!("{}", needed("EDU_TEST_S3_URL is not set")));
    let haproxy = haproxy().unwrap_or_else(|| {
        panic!(
            "{}",
            needed("HAProxy was not found (EDU_TEST_HAPROXY, haproxy on the PATH, /usr/sbin/haproxy)")
        )
    });
    Services {
        database,
        s3: s3.trim_end_matches('/').to_owned(),
        haproxy,
    }
}

/// The HAProxy `build.rs` found: `EDU_TEST_HAPROXY`, the PATH, Debian's `/usr/sbin/haproxy`.
fn haproxy() -> Option<PathBuf> {
    Some(PathBuf::from(env!("EDU_MULTI_NODE_HAPROXY"))).filter(|p| p.is_file())
}

/// A temporary directory, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        let dir = std::env::temp_dir().join(format!(
            "edu-multi-node-{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A database of its own on the test server, dropped when this is.
struct Database {
    server_url: String,
    name: String,
    url: String,
}

impl Database {
    async fn create(base: &str) -> Database {
        let base = edu_core::store::normalize_url(base);
        let (address, query) = match base.split_once('?') {
            Some((address, query)) => (address, Some(query)),
            None => (base.as_str(), None),
        };
        let (server, _) = address
            .rsplit_once('/')
            .expect("a database URL ending in a database name");
        let name = format!("edu_mn_{}", uuid::Uuid::new_v4().simple());
        let url = match query {
            Some(q) => format!("{server}/{name}?{q}"),
            None => format!("{server}/{name}"),
        };
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(1)
            .connect(&base)
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL at EDU_TEST_DATABASE_URL does not answer: {e}"));
        pool.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .await
            .expect("CREATE DATABASE");
        pool.close().await;
        Database {
            server_url: base.clone(),
            name,
            url,
        }
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        // Dropped inside the test's runtime, which cannot be blocked on: a thread with a runtime
        // of its own drops the database (and the connections a killed node may have left).
        let (server, name) = (self.server_url.clone(), self.name.clone());
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(async {
                let pool = sqlx::postgres::PgPoolOptions::new()
                    .max_connections(1)
                    .connect(&server)
                    .await
                    .ok()?;
                let dropped = pool
                    .execute(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                    )))
                    .await
                    .ok();
                pool.close().await;
                dropped
            })
        })
        .join();
    }
}

/// The environment every node shares (and the commands run before them).
fn shared_env(db: &Database, s3: &str, prefix: &str, data_dir: &Path) -> Vec<(&'static str, String)> {
    let mut vars = vec![
        ("DATABASE_URL", db.url.clone()),
        ("SECRET_KEY", SECRET_KEY.into()),
        ("EDU_FILES_URL", format!("s3://{BUCKET}/{prefix}")),
        ("AWS_ENDPOINT", s3.into()),
        ("AWS_ALLOW_HTTP", "true".into()),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_ACCESS_KEY_ID", "edu-test".into()),
        ("AWS_SECRET_ACCESS_KEY", "edu-test-secret".into()),
        ("BCRYPT_COST", "4".into()),
        ("EDU_TRUSTED_PROXIES", "127.0.0.1".into()),
        // 3 × 10 connections, well within PostgreSQL's 100 beside the other suites.
        ("DB_POOL_SIZE", "5".into()),
        ("DB_MAX_OVERFLOW", "5".into()),
        ("EDU_DATA_DIR", data_dir.display().to_string()),
    ];
    if std::env::var_os("TEST_LOG").is_some() {
        vars.push(("RUST_LOG", "info".into()));
    }
    vars
}

/// Runs a command in `cwd` with exactly `env`, and expects it to succeed.
fn output(
    program: &Path,
    cwd: &Path,
    args: &[&str],
    env: &[(&'static str, String)],
    stdin: Option<&str>,
) -> std::process::Output {
    use std::io::Write;
    let mut child = Command::new(program)
        .args(args)
        .current_dir(cwd)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{} runs: {e}", program.display()));
    if let Some(mut input) = child.stdin.take() {
        input.write_all(stdin.unwrap_or("").as_bytes()).expect("write to stdin");
    }
    let out = child.wait_with_output().expect("the command finishes");
    assert!(
        out.status.success(),
        "{} {args:?}: {:?}\n{}\n{}",
        program.display(),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A running process, killed (SIGKILL) when dropped.
struct Process {
    name: String,
    port: u16,
    child: Option<Child>,
}

impl Process {
    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.as_mut().and_then(|c| c.try_wait().ok().flatten())
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

fn logs() -> Stdio {
    if std::env::var_os("TEST_LOG").is_some() {
        Stdio::inherit()
    } else {
        Stdio::null()
    }
}

fn start_node(n: usize, cwd: &Path, env: &[(&'static str, String)]) -> Process {
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_edu"))
        .args(["serve", "--no-migrate"])
        .current_dir(cwd)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .env("EDU_BIND", format!("127.0.0.1:{port}"))
        .stdout(logs())
        .stderr(logs())
        .spawn()
        .expect("edu serve starts");
    Process {
        name: format!("n{}", n + 1),
        port,
        child: Some(child),
    }
}

/// The balancer's configuration: round robin over the nodes, each checked on `/readyz` every
/// 200 ms and taken out after two failures. A request is retried on another node only when it
/// could not be sent (`conn-failure`); a request that reached a node that died is retried only if
/// it is a GET or HEAD, since a POST may have been applied before the node died.
fn haproxy_config(front: u16, stats: u16, nodes: &[Process]) -> String {
    let mut servers = String::new();
    for n in nodes {
        let _ = writeln!(servers, "    server {} 127.0.0.1:{}", n.name, n.port);
    }
    format!(
        "global
    maxconn 2000

defaults
    mode http
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    timeout check 2s
    timeout http-request 30s

frontend edu
    bind 127.0.0.1:{front}
    option forwardfor
    default_backend nodes

frontend stats
    bind 127.0.0.1:{stats}
    stats enable
    stats uri /stats

backend nodes
    balance roundrobin
    option httpchk GET /readyz
    http-check expect status 200
    retries 3
    option redispatch 1
    retry-on conn-failure empty-response response-timeout
    http-request disable-l7-retry unless METH_GET
    http-response set-header X-Served-By %s
    default-server check inter 200ms fall 2 rise 2
{servers}"
    )
}

struct Balancer {
    process: Process,
    stats: u16,
}

impl Balancer {
    fn start(program: &Path, dir: &Path, nodes: &[Process]) -> Balancer {
        let (front, stats) = (free_port(), free_port());
        let config = dir.join("haproxy.cfg");
        std::fs::write(&config, haproxy_config(front, stats, nodes)).expect("write haproxy.cfg");
        let config = config.display().to_string();
        output(program, dir, &["-c", "-f", &config], &[], None);
        let child = Command::new(program)
            .args(["-f", &config, "-db"])
            .current_dir(dir)
            .stdout(logs())
            .stderr(logs())
            .spawn()
            .expect("haproxy starts");
        Balancer {
            process: Process {
                name: "haproxy".into(),
                port: front,
                child: Some(child),
            },
            stats,
        }
    }

    fn url(&self, path: &str) -> String {
        self.process.url(path)
    }

    /// Each node's state as the balancer sees it (`UP`, `DOWN`, `UP 1/2`…) and the requests it
    /// sent there.
    async fn servers(&self, client: &reqwest::Client) -> Option<BTreeMap<String, (String, u64)>> {
        let csv = client
            .get(format!("http://127.0.0.1:{}/stats;csv", self.stats))
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        let mut lines = csv.lines();
        let header: Vec<&str> = lines.next()?.trim_start_matches("# ").split(',').collect();
        let column = |name: &str| header.iter().position(|h| *h == name);
        let (px, sv, status, total) = (column("pxname")?, column("svname")?, column("status")?, column("stot")?);
        let mut servers = BTreeMap::new();
        for line in lines {
            let cells: Vec<&str> = line.split(',').collect();
            if cells.get(px) == Some(&"nodes") && !matches!(cells.get(sv), Some(&"BACKEND" | &"FRONTEND")) {
                servers.insert(
                    (*cells.get(sv)?).to_owned(),
                    ((*cells.get(status)?).to_owned(), cells.get(total)?.parse().unwrap_or(0)),
                );
            }
        }
        Some(servers)
    }

    /// Waits until the balancer says `name` is in `state` (exactly).
    async fn wait_for(&mut self, client: &reqwest::Client, name: &str, state: &str) -> Instant {
        let deadline = Instant::now() + READY_WITHIN;
        loop {
            if let Some(status) = self.process.exited() {
                panic!("haproxy exited: {status}");
            }
            let servers = self.servers(client).await;
            if servers
                .as_ref()
                .and_then(|s| s.get(name))
                .is_some_and(|(s, _)| s == state)
            {
                return Instant::now();
            }
            assert!(
                Instant::now() < deadline,
                "the balancer never saw {name} {state}: {servers:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Talking to the API

/// An account with its own client address: the balancer appends the address it sees (always
/// 127.0.0.1 here) to `X-Forwarded-For`, and the nodes, trusting it, take the address before it,
/// as they would each student's own.
#[derive(Debug, Clone)]
struct User {
    id: i64,
    iin: String,
    password: String,
    address: String,
    token: String,
}

fn request(client: &reqwest::Client, method: Method, url: String, who: &User) -> reqwest::RequestBuilder {
    client
        .request(method, url)
        .timeout(REQUEST_TIMEOUT)
        .header("accept-language", "en")
        .header("x-forwarded-for", &who.address)
        .bearer_auth(&who.token)
}

fn login_request(client: &reqwest::Client, url: String, who: &User, password: &str) -> reqwest::RequestBuilder {
    client
        .post(url)
        .timeout(REQUEST_TIMEOUT)
        .header("accept-language", "en")
        .header("x-forwarded-for", &who.address)
        .json(&json!({"iin": who.iin, "password": password}))
}

/// What came back: status, the node that answered (as the balancer names it), body.
struct Answer {
    status: u16,
    node: String,
    retry_after: bool,
    bytes: bytes::Bytes,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes).unwrap_or(Value::Null)
    }
}

/// What went wrong, down to the innermost cause (without the URL, which differs per request).
fn cause(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(inner) = source {
        let _ = write!(text, ": {inner}");
        source = inner.source();
    }
    text
}

async fn exchange(req: reqwest::RequestBuilder) -> Result<Answer, String> {
    let res = req.send().await.map_err(cause)?;
    let status = res.status().as_u16();
    let header = |name: &str| res.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let node = header("x-served-by").unwrap_or_default();
    let retry_after = header("retry-after").is_some();
    let bytes = res
        .bytes()
        .await
        .map_err(|e| format!("reading the body: {}", cause(e)))?;
    Ok(Answer {
        status,
        node,
        retry_after,
        bytes,
    })
}

/// A request that must succeed with 200 (setup and checks).
async fn ok(req: reqwest::RequestBuilder, what: &str) -> Value {
    let a = exchange(req).await.unwrap_or_else(|e| panic!("{what}: {e}"));
    assert_eq!(a.status, 200, "{what}: {}", String::from_utf8_lossy(&a.bytes));
    a.json()
}

async fn status(req: reqwest::RequestBuilder, what: &str) -> Answer {
    exchange(req).await.unwrap_or_else(|e| panic!("{what}: {e}"))
}

fn id(v: &Value, what: &str) -> i64 {
    v["id"].as_i64().unwrap_or_else(|| panic!("{what}: no id in {v}"))
}

/// An account made by the administrator, which must change its password at first login: done
/// here, so that it can act.
async fn account(client: &reqwest::Client, base: &str, admin: &User, n: usize, role: &str) -> User {
    let iin = edu_tests::fresh_iin();
    let first = format!("first-{iin}");
    let created = ok(
        request(client, Method::POST, format!("{base}/admin/users/"), admin).json(&json!({
            "iin": iin, "full_name": format!("{role} {n}"), "role": role, "password": first
        })),
        "create an account",
    )
    .await;
    let mut user = User {
        id: id(&created, "a new account"),
        iin,
        password: first.clone(),
        address: format!("10.77.{}.{}", n / 250, n % 250 + 1),
        token: String::new(),
    };
    let session = ok(
        login_request(client, format!("{base}/auth/login"), &user, &first),
        "first login",
    )
    .await;
    assert_eq!(session["user"]["must_change_password"], true, "{session}");
    user.token = session["access_token"].as_str().expect("a token").to_owned();
    let own = format!("own-{}", user.iin);
    let changed = ok(
        request(client, Method::PATCH, format!("{base}/user/change-password"), &user)
            .json(&json!({"old_password": first, "new_password": own})),
        "change the first password",
    )
    .await;
    user.token = changed["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("a new token: {changed}"))
        .to_owned();
    user.password = own;
    user
}

async fn log_in(client: &reqwest::Client, url: String, who: &User) -> String {
    let session = ok(login_request(client, url, who, &who.password), "login").await;
    session["access_token"].as_str().expect("a token").to_owned()
}

// ---------------------------------------------------------------------------------------------
// The course the students work in

/// A test's questions: id, option indexes, the correct one.
#[derive(Debug, Clone)]
struct Quiz {
    id: i64,
    lesson: i64,
    key: HashMap<i64, i64>,
}

impl Quiz {
    /// The score the server must give: right ÷ total × 100, two decimals.
    fn expected(&self, answers: &[(i64, i64)]) -> f64 {
        let right = answers.iter().filter(|(q, a)| self.key.get(q) == Some(a)).count();
        (right as f64 * 10_000.0 / self.key.len() as f64).round() / 100.0
    }
}

struct Course {
    homework_lesson: i64,
    quiz: Quiz,
}

async fn course(client: &reqwest::Client, base: &str, admin: &User, teacher: &User, students: &[User]) -> Course {
    let url = |path: &str| format!("{base}{path}");
    let group = id(
        &ok(
            request(client, Method::POST, url("/admin/groups/"), admin).json(&json!({"name": "ПО-25-1"})),
            "a group",
        )
        .await,
        "group",
    );
    let members: Vec<i64> = students.iter().map(|s| s.id).collect();
    ok(
        request(
            client,
            Method::POST,
            url(&format!("/admin/groups/{group}/users")),
            admin,
        )
        .json(&members),
        "members",
    )
    .await;
    let module = id(
        &ok(
            request(client, Method::POST, url("/admin/modules/"), admin).json(&json!({"title": "1 курс"})),
            "a module",
        )
        .await,
        "module",
    );
    let subject = id(
        &ok(
            request(
                client,
                Method::POST,
                url(&format!("/admin/modules/{module}/subjects")),
                admin,
            )
            .json(&json!({"title": "Алгебра"})),
            "a subject",
        )
        .await,
        "subject",
    );
    ok(
        request(client, Method::POST, url("/access/admin/teacher-to-subject"), admin)
            .json(&json!({"teacher_iin": teacher.iin, "module_id": module, "subject_id": subject})),
        "the subject's teacher",
    )
    .await;
    ok(
        request(client, Method::POST, url("/access/admin/group-to-module"), admin)
            .json(&json!({"group_id": group, "module_id": module})),
        "the group's module",
    )
    .await;
    let homework_lesson = id(
        &ok(
            request(
                client,
                Method::POST,
                url(&format!("/lessons/add/subjects/{subject}")),
                teacher,
            )
            .json(&json!({
                "title": "Квадратные уравнения", "type": "video", "content_url": "https://video.example/quadratic"
            })),
            "a lesson taking homework",
        )
        .await,
        "lesson",
    );
    let options = |n: i64| -> Vec<Value> {
        (0..n)
            .map(|i| json!({"option_text": format!("вариант {i}"), "option_index": i}))
            .collect()
    };
    let test = ok(
        request(client, Method::POST, url("/tests/create"), teacher).json(&json!({
            "title": "Контрольная", "subject_id": subject, "max_attempts": 100,
            "questions": [
                {"question_text": "2 + 2?", "correct_option_index": 1, "options": options(2)},
                {"question_text": "x² = 9, x > 0?", "correct_option_index": 2, "options": options(3)},
                {"question_text": "√16?", "correct_option_index": 0, "options": options(4)}
            ]
        })),
        "a test",
    )
    .await;
    let key = test["questions"]
        .as_array()
        .expect("questions")
        .iter()
        .map(|q| {
            let correct = q["correct_option_index"].as_i64().expect("the teacher sees the key");
            (id(q, "question"), correct)
        })
        .collect();
    let quiz_id = id(&test, "test");
    let quiz_lesson = id(
        &ok(
            request(
                client,
                Method::POST,
                url(&format!("/lessons/add/subjects/{subject}")),
                teacher,
            )
            .json(&json!({"title": "Контрольная", "type": "тест", "test_id": quiz_id})),
            "a test lesson",
        )
        .await,
        "lesson",
    );
    Course {
        homework_lesson,
        quiz: Quiz {
            id: quiz_id,
            lesson: quiz_lesson,
            key,
        },
    }
}

// ---------------------------------------------------------------------------------------------
// Sessions and the throttle across nodes

async fn sessions_hold_on_every_node(client: &reqwest::Client, nodes: &[Process], users: [&User; 3]) {
    let [leaving, changing, guessed] = users;
    let check = |node: &Process, token: &str, who: &User| {
        let who = User {
            token: token.to_owned(),
            ..who.clone()
        };
        let req = request(client, Method::GET, node.url("/auth/check"), &who);
        async move { status(req, "check").await.status }
    };

    // A logout on one node revokes the token on the others.
    let token = log_in(client, nodes[0].url("/auth/login"), leaving).await;
    assert_eq!(
        check(&nodes[1], &token, leaving).await,
        200,
        "a token from n1 works on n2"
    );
    let with = User {
        token: token.clone(),
        ..leaving.clone()
    };
    ok(
        request(client, Method::POST, nodes[2].url("/auth/logout"), &with),
        "logout on n3",
    )
    .await;
    for node in &nodes[..2] {
        assert_eq!(
            check(node, &token, leaving).await,
            401,
            "logged out on n3, the token still works on {}",
            node.name
        );
    }

    // A password change on one node revokes the earlier sessions on the others.
    let earlier = log_in(client, nodes[0].url("/auth/login"), changing).await;
    let current = log_in(client, nodes[1].url("/auth/login"), changing).await;
    let with = User {
        token: current,
        ..changing.clone()
    };
    let new_password = format!("changed-{}", changing.iin);
    let changed = ok(
        request(client, Method::PATCH, nodes[2].url("/user/change-password"), &with)
            .json(&json!({"old_password": changing.password, "new_password": new_password})),
        "change the password on n3",
    )
    .await;
    for node in &nodes[..2] {
        assert_eq!(
            check(node, &earlier, changing).await,
            401,
            "the password changed on n3, an earlier session still works on {}",
            node.name
        );
    }
    let fresh = changed["access_token"].as_str().expect("a new token");
    assert_eq!(
        check(&nodes[0], fresh, changing).await,
        200,
        "the new session works on n1"
    );
    let old = status(
        login_request(client, nodes[1].url("/auth/login"), changing, &changing.password),
        "old password",
    )
    .await;
    assert_eq!(old.status, 401, "the old password is refused on n2");
    let new = status(
        login_request(client, nodes[0].url("/auth/login"), changing, &new_password),
        "new password",
    )
    .await;
    assert_eq!(new.status, 200, "the new password is taken on n1");

    // Five wrong passwords spread over the nodes lock the account everywhere.
    for (attempt, node) in [0, 1, 2, 0, 1].into_iter().enumerate() {
        let a = status(
            login_request(client, nodes[node].url("/auth/login"), guessed, "wrong-password"),
            "wrong password",
        )
        .await;
        let expected = if attempt < 4 { 401 } else { 403 };
        assert_eq!(
            a.status,
            expected,
            "wrong password {} on {}: {}",
            attempt + 1,
            nodes[node].name,
            String::from_utf8_lossy(&a.bytes)
        );
    }
    let right = status(
        login_request(client, nodes[2].url("/auth/login"), guessed, &guessed.password),
        "right password",
    )
    .await;
    assert_eq!(
        right.status, 403,
        "locked by failures on n1 and n2, the right password is refused on n3"
    );
    assert!(right.retry_after, "a lock says when to come back");
}

// ---------------------------------------------------------------------------------------------
// The load

#[derive(Debug, Clone)]
enum Outcome {
    Ok,
    /// Refused as the rules say (the login throttle, no attempts left): not a failure.
    Refused(u16),
    /// No answer, or a 5xx: what a dying node costs.
    Failed(String),
    /// Anything else: a fault of the product or of this test.
    Unexpected(String),
}

struct Sample {
    op: &'static str,
    done: Instant,
    outcome: Outcome,
}

/// An acknowledged homework submission.
struct Upload {
    submission: i64,
    student: usize,
    comment: String,
    url: String,
    bytes: Vec<u8>,
    node: String,
    done: Instant,
}

/// An acknowledged test attempt.
struct Attempt {
    id: i64,
    score: f64,
}

struct Worker {
    student: usize,
    user: User,
    samples: Vec<Sample>,
    uploads: Vec<Upload>,
    attempts: Vec<Attempt>,
}

struct Load {
    client: reqwest::Client,
    base: String,
    homework_lesson: i64,
    quiz: Quiz,
    stop: AtomicBool,
}

fn classify(answer: &Result<Answer, String>, refusals: &[u16]) -> Outcome {
    match answer {
        Err(e) => Outcome::Failed(e.clone()),
        Ok(a) if (200..300).contains(&a.status) => Outcome::Ok,
        Ok(a) if refusals.contains(&a.status) => Outcome::Refused(a.status),
        Ok(a) if a.status >= 500 => Outcome::Failed(format!("{}", a.status)),
        Ok(a) => Outcome::Unexpected(format!("{}: {}", a.status, String::from_utf8_lossy(&a.bytes))),
    }
}

impl Worker {
    fn record(&mut self, op: &'static str, outcome: Outcome) {
        self.samples.push(Sample {
            op,
            done: Instant::now(),
            outcome,
        });
    }

    async fn login(&mut self, load: &Load) {
        let answer = exchange(login_request(
            &load.client,
            format!("{}/auth/login", load.base),
            &self.user,
            &self.user.password,
        ))
        .await;
        // The throttle may refuse (403, 429): the current token stays in use.
        let mut outcome = classify(&answer, &[403, 429]);
        if let (Outcome::Ok, Ok(a)) = (&outcome, &answer) {
            match a.json()["access_token"].as_str() {
                Some(token) => self.user.token = token.to_owned(),
                None => outcome = Outcome::Unexpected("a login without a token".into()),
            }
        }
        self.record("login", outcome);
    }

    async fn read(&mut self, load: &Load, rng: &mut StdRng) {
        let path = ["/", "/auth/check", "/access/my-modules", "/lessons/student/grades"][rng.random_range(0..4)];
        let answer = exchange(request(
            &load.client,
            Method::GET,
            format!("{}{path}", load.base),
            &self.user,
        ))
        .await;
        self.record("read", classify(&answer, &[]));
    }

    async fn upload(&mut self, load: &Load, rng: &mut StdRng) {
        let mut bytes = b"%PDF-1.7\n".to_vec();
        let mut body = vec![0u8; rng.random_range(2048..8192)];
        rng.fill(&mut body[..]);
        bytes.extend_from_slice(&body);
        let comment = format!("upload {} {}", self.student, uuid::Uuid::new_v4().simple());
        let form = Form::new()
            .part(
                "files",
                Part::bytes(bytes.clone())
                    .file_name("work.pdf")
                    .mime_str("application/pdf")
                    .expect("a mime type"),
            )
            .text("comment", comment.clone());
        let url = format!("{}/lessons/{}/submit-homework", load.base, load.homework_lesson);
        let answer = exchange(request(&load.client, Method::POST, url, &self.user).multipart(form)).await;
        let mut outcome = classify(&answer, &[]);
        if let (Outcome::Ok, Ok(a)) = (&outcome, &answer) {
            let body = a.json();
            let s = &body["submission"];
            let file = &s["files"][0];
            match (s["id"].as_i64(), file["url"].as_str(), file["size"].as_u64()) {
                (Some(submission), Some(url), Some(size)) if size == bytes.len() as u64 && s["comment"] == comment => {
                    self.uploads.push(Upload {
                        submission,
                        student: self.student,
                        comment,
                        url: url.to_owned(),
                        bytes,
                        node: a.node.clone(),
                        done: Instant::now(),
                    });
                }
                _ => outcome = Outcome::Unexpected(format!("a submission not as sent: {body}")),
            }
        }
        self.record("upload", outcome);
    }

    async fn download(&mut self, load: &Load, rng: &mut StdRng) {
        let Some(upload) = self.uploads.get(rng.random_range(0..self.uploads.len().max(1))) else {
            return self.read(load, rng).await;
        };
        let url = format!("{}{}", load.base, upload.url);
        let answer = exchange(request(&load.client, Method::GET, url, &self.user)).await;
        let mut outcome = classify(&answer, &[]);
        if let (Outcome::Ok, Ok(a)) = (&outcome, &answer)
            && a.bytes[..] != upload.bytes[..]
        {
            outcome = Outcome::Unexpected(format!("submission {} downloads different bytes", upload.submission));
        }
        self.record("download", outcome);
    }

    async fn quiz(&mut self, load: &Load, rng: &mut StdRng) {
        let url = format!("{}/tests/{}/start", load.base, load.quiz.id);
        let answer = exchange(request(&load.client, Method::POST, url, &self.user)).await;
        let mut outcome = classify(&answer, &[409]);
        let started = match (&outcome, &answer) {
            (Outcome::Ok, Ok(a)) => Some(a.json()),
            _ => None,
        };
        let attempt = started.as_ref().and_then(|v| v["attempt"]["id"].as_i64());
        let questions = started
            .as_ref()
            .and_then(|v| v["test"]["questions"].as_array().cloned())
            .unwrap_or_default();
        if started.is_some() && (attempt.is_none() || questions.len() != load.quiz.key.len()) {
            outcome = Outcome::Unexpected(format!("an attempt without its questions: {started:?}"));
        }
        self.record("quiz start", outcome);
        let Some(attempt) = attempt.filter(|_| questions.len() == load.quiz.key.len()) else {
            return;
        };
        let chosen: Vec<(i64, i64)> = questions
            .iter()
            .map(|q| {
                let options = q["options"].as_array().map(Vec::len).unwrap_or(1).max(1);
                (q["id"].as_i64().unwrap_or(0), rng.random_range(0..options as i64))
            })
            .collect();
        let answers: Vec<Value> = chosen
            .iter()
            .map(|(q, i)| json!({"question_id": q, "selected_index": i}))
            .collect();
        let url = format!("{}/tests/attempts/{attempt}/submit", load.base);
        let answer =
            exchange(request(&load.client, Method::POST, url, &self.user).json(&json!({"answers": answers}))).await;
        let mut outcome = classify(&answer, &[]);
        if let (Outcome::Ok, Ok(a)) = (&outcome, &answer) {
            let body = a.json();
            let expected = load.quiz.expected(&chosen);
            match body["score"].as_f64() {
                Some(score) if body["id"].as_i64() == Some(attempt) && (score - expected).abs() < 0.005 => {
                    self.attempts.push(Attempt { id: attempt, score });
                }
                _ => outcome = Outcome::Unexpected(format!("attempt {attempt} scored {body}, expected {expected}")),
            }
        }
        self.record("quiz submit", outcome);
    }
}

/// One student's share of the load: logins, reads, homework up and down, tests.
async fn student(load: Arc<Load>, student: usize, user: User, seed: u64) -> Worker {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut w = Worker {
        student,
        user,
        samples: Vec::new(),
        uploads: Vec::new(),
        attempts: Vec::new(),
    };
    while !load.stop.load(Ordering::Relaxed) {
        match rng.random_range(0..100) {
            0..5 => w.login(&load).await,
            5..50 => w.read(&load, &mut rng).await,
            50..68 => w.upload(&load, &mut rng).await,
            68..80 => w.download(&load, &mut rng).await,
            _ => w.quiz(&load, &mut rng).await,
        }
    }
    w
}

// ---------------------------------------------------------------------------------------------
// The test

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    edu_skip_multi_node,
    ignore = "needs EDU_TEST_DATABASE_URL, EDU_TEST_S3_URL and HAProxy (EDU_TEST_HAPROXY)"
)]
async fn nodes_behind_a_balancer_share_everything_and_survive_a_killed_node() {
    let began = Instant::now();
    let services = services();
    let client = edu_tests::http()
        .pool_max_idle_per_host(64)
        .build()
        .expect("an HTTP client");
    let dir = TempDir::new();

    // One database, one bucket, migrated once; then the first administrator.
    let db = Database::create(&services.database).await;
    let bucket = client
        .put(format!("{}/{BUCKET}", services.s3))
        .send()
        .await
        .unwrap_or_else(|e| panic!("the S3 service at {} does not answer: {e}", services.s3));
    assert!(
        bucket.status().is_success() || bucket.status().as_u16() == 409,
        "could not create the bucket: {}",
        bucket.status()
    );
    let prefix = format!("run-{}", uuid::Uuid::new_v4().simple());
    let env = shared_env(&db, &services.s3, &prefix, &dir.0.join("data"));
    let edu = Path::new(env!("CARGO_BIN_EXE_edu"));
    output(edu, &dir.0, &["migrate"], &env, None);
    output(
        edu,
        &dir.0,
        &["admin", "create", "--iin", ADMIN_IIN, "--full-name", "Администратор"],
        &env,
        Some(&format!("{ADMIN_PASSWORD}\n")),
    );

    // Three nodes, and the balancer once it sees them all up.
    let mut nodes: Vec<Process> = (0..3).map(|n| start_node(n, &dir.0, &env)).collect();
    let deadline = Instant::now() + READY_WITHIN;
    for node in &mut nodes {
        loop {
            if let Some(status) = node.exited() {
                panic!("{} exited at start: {status} (TEST_LOG=1 shows its log)", node.name);
            }
            let ready = client
                .get(node.url("/readyz"))
                .timeout(Duration::from_secs(5))
                .send()
                .await;
            if ready.is_ok_and(|r| r.status().is_success()) {
                break;
            }
            assert!(Instant::now() < deadline, "{} did not become ready", node.name);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let mut balancer = Balancer::start(&services.haproxy, &dir.0, &nodes);
    for node in &nodes {
        balancer.wait_for(&client, &node.name, "UP").await;
    }
    let base = balancer.url("");
    let ready_at = began.elapsed();

    // Accounts and the course, all through the balancer.
    let mut admin = User {
        id: 0,
        iin: ADMIN_IIN.into(),
        password: ADMIN_PASSWORD.into(),
        address: "10.77.255.1".into(),
        token: String::new(),
    };
    admin.token = log_in(&client, format!("{base}/auth/login"), &admin).await;
    let accounts = futures_util::future::join_all(
        (0..STUDENTS + 4).map(|n| account(&client, &base, &admin, n, if n == 0 { "teacher" } else { "student" })),
    )
    .await;
    let (teacher, rest) = accounts.split_first().expect("accounts");
    let (students, others) = rest.split_at(STUDENTS);
    let course = course(&client, &base, &admin, teacher, students).await;
    let set_up_at = began.elapsed();

    sessions_hold_on_every_node(&client, &nodes, [&others[0], &others[1], &others[2]]).await;

    // The load, with n2 killed in the middle of it.
    let load = Arc::new(Load {
        client: client.clone(),
        base: base.clone(),
        homework_lesson: course.homework_lesson,
        quiz: course.quiz.clone(),
        stop: AtomicBool::new(false),
    });
    let seed: u64 = rand::random();
    let started = Instant::now();
    let workers: Vec<_> = students
        .iter()
        .enumerate()
        .map(|(n, user)| tokio::spawn(student(load.clone(), n, user.clone(), seed.wrapping_add(n as u64))))
        .collect();
    tokio::time::sleep(KILL_AFTER).await;
    let killed_at = Instant::now();
    nodes[VICTIM].kill();
    let victim = nodes[VICTIM].name.clone();
    let down_at = balancer.wait_for(&client, &victim, "DOWN").await;
    tokio::time::sleep(LOAD.saturating_sub(started.elapsed())).await;
    load.stop.store(true, Ordering::Relaxed);
    let mut finished = Vec::new();
    for w in workers {
        finished.push(w.await.expect("a student's task"));
    }
    let load_time = started.elapsed();
    let served = balancer.servers(&client).await.unwrap_or_default();

    // The ledger of the load.
    let samples: Vec<&Sample> = finished.iter().flat_map(|w| &w.samples).collect();
    let uploads: Vec<&Upload> = finished.iter().flat_map(|w| &w.uploads).collect();
    let attempts: Vec<&Attempt> = finished.iter().flat_map(|w| &w.attempts).collect();
    let unexpected: Vec<String> = samples
        .iter()
        .filter_map(|s| match &s.outcome {
            Outcome::Unexpected(e) => Some(format!("{}: {e}", s.op)),
            _ => None,
        })
        .collect();
    let mut phases: BTreeMap<(u8, &str), (usize, usize, usize)> = BTreeMap::new();
    let mut failures: BTreeMap<String, usize> = BTreeMap::new();
    let mut refusals: BTreeMap<String, usize> = BTreeMap::new();
    for s in &samples {
        let phase = if s.done < killed_at {
            (0, "before the kill")
        } else if s.done < down_at {
            (1, "while n2 died")
        } else {
            (2, "after n2 was marked down")
        };
        let counts = phases.entry(phase).or_default();
        match &s.outcome {
            Outcome::Ok => counts.0 += 1,
            Outcome::Refused(status) => {
                counts.1 += 1;
                *refusals.entry(format!("{} {status}", s.op)).or_default() += 1;
            }
            Outcome::Failed(e) | Outcome::Unexpected(e) => {
                counts.2 += 1;
                let e: String = e.chars().take(120).collect();
                *failures.entry(format!("{}: {e}", s.op)).or_default() += 1;
            }
        }
    }

    // Around the dead node: 50 requests in a row through the balancer all succeed.
    let after = &finished[0].user;
    let mut routed: BTreeMap<String, usize> = BTreeMap::new();
    for n in 0..50 {
        let path = ["/", "/auth/check", "/access/my-modules", "/lessons/student/grades"][n % 4];
        let a = status(request(&client, Method::GET, format!("{base}{path}"), after), path).await;
        assert_eq!(
            a.status,
            200,
            "request {} after {victim} was marked down: {}",
            n + 1,
            String::from_utf8_lossy(&a.bytes)
        );
        assert_ne!(a.node, victim, "the balancer sent a request to the dead node");
        *routed.entry(a.node).or_default() += 1;
    }

    // Every acknowledged write, read through each surviving node itself.
    let survivors: Vec<&Process> = nodes.iter().filter(|n| n.child.is_some()).collect();
    let mut found_uploads = BTreeMap::new();
    let mut found_attempts = BTreeMap::new();
    let mut unacknowledged = 0;
    for node in &survivors {
        let mut teacher = teacher.clone();
        teacher.token = log_in(&client, node.url("/auth/login"), &teacher).await;
        let listed = ok(
            request(
                &client,
                Method::GET,
                node.url(&format!("/lessons/{}/submissions/files", course.homework_lesson)),
                &teacher,
            ),
            "the teacher's listing",
        )
        .await;
        let listed = listed.as_array().expect("a list of submissions");
        let mut by_id = HashMap::new();
        let mut comments = HashSet::new();
        for s in listed {
            let comment = s["comment"].as_str().unwrap_or_default();
            assert!(
                comments.insert(comment.to_owned()),
                "a homework request applied twice: {comment:?} on {}",
                node.name
            );
            by_id.insert(s["id"].as_i64().expect("an id"), s);
        }
        for u in &uploads {
            let s = by_id.get(&u.submission).unwrap_or_else(|| {
                panic!(
                    "acknowledged submission {} (taken by {}) is missing on {}",
                    u.submission, u.node, node.name
                )
            });
            assert_eq!(s["comment"], u.comment.as_str(), "submission {}", u.submission);
            assert_eq!(s["files"][0]["size"].as_u64(), Some(u.bytes.len() as u64));
        }
        unacknowledged = listed.len().saturating_sub(uploads.len());
        let results = ok(
            request(
                &client,
                Method::GET,
                node.url(&format!("/lessons/{}/submissions/tests", course.quiz.lesson)),
                &teacher,
            ),
            "the test's results",
        )
        .await;
        let scores: HashMap<i64, f64> = results
            .as_array()
            .expect("a list of results")
            .iter()
            .filter_map(|r| Some((r["id"].as_i64()?, r["score"].as_f64()?)))
            .collect();
        for a in &attempts {
            let stored = scores
                .get(&a.id)
                .unwrap_or_else(|| panic!("acknowledged attempt {} is missing on {}", a.id, node.name));
            assert!(
                (stored - a.score).abs() < 0.005,
                "attempt {}: {stored} ≠ {}",
                a.id,
                a.score
            );
        }
        // And as each student sees their own.
        for w in &finished {
            let mine = ok(
                request(
                    &client,
                    Method::GET,
                    node.url(&format!("/lessons/{}/my-submissions", course.homework_lesson)),
                    &w.user,
                ),
                "my submissions",
            )
            .await;
            let mine = ids(&mine);
            assert!(
                w.uploads.iter().all(|u| mine.contains(&u.submission)),
                "student {}",
                w.student
            );
            let results = ok(
                request(
                    &client,
                    Method::GET,
                    node.url(&format!("/tests/{}/my-results", course.quiz.id)),
                    &w.user,
                ),
                "my results",
            )
            .await;
            let results = ids(&results);
            assert!(
                w.attempts.iter().all(|a| results.contains(&a.id)),
                "student {}",
                w.student
            );
        }
        found_uploads.insert(node.name.clone(), uploads.len());
        found_attempts.insert(node.name.clone(), attempts.len());
    }

    // Every acknowledged file, byte for byte, through each surviving node.
    let checks: Vec<(&Process, &Upload)> = survivors
        .iter()
        .flat_map(|node| uploads.iter().map(move |u| (*node, *u)))
        .collect();
    let downloaded: Vec<(String, bool, bool)> = futures_util::stream::iter(checks)
        .map(|(node, u)| {
            let req = request(&client, Method::GET, node.url(&u.url), &finished[u.student].user);
            async move {
                let a = status(req, "download").await;
                assert_eq!(a.status, 200, "submission {} on {}", u.submission, node.name);
                (node.name.clone(), a.bytes[..] == u.bytes[..], u.node != node.name)
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    let mut identical: BTreeMap<String, usize> = BTreeMap::new();
    let mut elsewhere = 0;
    for (node, same, other) in &downloaded {
        assert!(same, "a file downloads different bytes through {node}");
        *identical.entry(node.clone()).or_default() += 1;
        elsewhere += usize::from(*other);
    }

    // The ledger.
    let total = samples.len();
    let acknowledged_after = uploads.iter().filter(|u| u.done > down_at).count();
    println!("\nmulti-node ledger: 3 nodes behind HAProxy, {STUDENTS} students, {victim} killed with SIGKILL");
    println!(
        "  ready in {:.1} s, set up in {:.1} s; load {:.1} s, {victim} killed at {:.1} s, marked down {:.2} s later",
        ready_at.as_secs_f64(),
        set_up_at.as_secs_f64(),
        load_time.as_secs_f64(),
        (killed_at - started).as_secs_f64(),
        (down_at - killed_at).as_secs_f64()
    );
    println!(
        "  requests            {total} = {:.0}/s; balancer sent {}",
        total as f64 / load_time.as_secs_f64(),
        served
            .iter()
            .map(|(n, (state, count))| format!("{n} {count} ({state})"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    for ((_, phase), (good, refused, failed)) in &phases {
        println!("  {phase:<26} ok {good}, refused {refused}, failed {failed}");
    }
    for (what, n) in &failures {
        println!("    failed: {what} ×{n}");
    }
    for (what, n) in &refusals {
        println!("    refused: {what} ×{n}");
    }
    println!(
        "  homework            acknowledged {}, found {found_uploads:?}, byte-identical {identical:?} \
         ({elsewhere} downloads through a node other than the one that took the upload); \
         stored without an acknowledgement {unacknowledged}",
        uploads.len()
    );
    println!(
        "  test attempts       acknowledged {}, found with the same score {found_attempts:?}",
        attempts.len()
    );
    println!("  after the kill      50 of 50 requests succeeded, served by {routed:?}");
    println!("  took {:.1} s in all", began.elapsed().as_secs_f64());

    assert!(unexpected.is_empty(), "answers no rule explains: {unexpected:#?}");
    assert!(
        !uploads.is_empty() && !attempts.is_empty(),
        "the load acknowledged no homework or no attempt"
    );
    assert!(
        acknowledged_after > 0,
        "no upload was acknowledged after {victim} was marked down"
    );
    assert!(elsewhere > 0, "no file was read through a node other than its uploader");

    balancer.process.kill();
    drop(nodes);
    drop(db);
}

/// The `id`s of a JSON list's items.
fn ids(list: &Value) -> HashSet<i64> {
    list.as_array()
        .expect("a list")
        .iter()
        .filter_map(|item| item["id"].as_i64())
        .collect()
}
