//! Fresh databases for tests: a temporary SQLite file, or a new schema on PostgreSQL.
//!
//! PostgreSQL comes from `EDU_TEST_DATABASE_URL`; without it, from a testcontainers PostgreSQL when
//! the `containers` feature is on and a Docker engine answers; otherwise the PostgreSQL half is
//! skipped with a loud message — except under `CI`, where a missing database fails the run instead
//! of passing silently.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::str::FromStr;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use sqlx::postgres::PgConnectOptions;
use sqlx::sqlite::SqliteConnectOptions;
use tokio::sync::OnceCell;

use crate::platform::{Clock, Platform, PlatformConfig};
use crate::store::{PgStore, PoolSettings, SqliteStore, Store};

/// A clock that only moves when told to.
#[derive(Clone)]
pub struct TestClock(Arc<Mutex<DateTime<Utc>>>);

impl TestClock {
    /// A clock standing at `start`.
    pub fn new(start: DateTime<Utc>) -> Self {
        Self(Arc::new(Mutex::new(start)))
    }

    /// Moves the clock forward by `by` (backward when negative), for every clone of it.
    pub fn advance(&self, by: chrono::Duration) {
        let mut now = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *now += by;
    }
}

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

type Reconnect<S> = Arc<dyn Fn() -> Pin<Box<dyn Future<Output = S> + Send>> + Send + Sync>;
type Execute = Arc<dyn Fn(String) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// One test's database, with a platform over it.
pub struct Fixture<S: Store> {
    /// The platform under test, on this test's database and [`TestClock`].
    pub platform: Platform<S>,
    /// The platform's clock; advancing it moves the platform's time.
    pub clock: TestClock,
    /// The settings the platform was made with ([`test_config`]).
    pub config: PlatformConfig,
    reconnect: Reconnect<S>,
    execute: Execute,
    /// Kept so the directory lives as long as the test.
    _dir: Option<TempDir>,
    /// The file store's directory.
    pub files_dir: TempDir,
}

impl<S: Store> Fixture<S> {
    /// Runs one SQL statement on the test's database, to break it on purpose (e.g. take a table
    /// away) and see that a change is not half made.
    pub async fn execute(&self, sql: &str) {
        (self.execute)(sql.to_owned()).await;
    }

    /// The test's database itself, for setting up and checking what the platform cannot show.
    pub fn store(&self) -> &S {
        self.platform.store()
    }

    /// Another platform on the same database through its own pool: a second server process.
    pub async fn second_process(&self) -> Platform<S> {
        let store = (self.reconnect)().await;
        Platform::with_clock(store, self.config.clone(), self.clock.clone())
    }
}

/// The pool of a test's platform: a loaded machine running many suites at once can keep a test
/// waiting for a connection longer than a server's short default would allow.
const TEST_POOL: PoolSettings = PoolSettings {
    max_connections: 8,
    acquire_timeout: std::time::Duration::from_secs(30),
    pooler: crate::store::Pooler::None,
};

/// The settings tests use: the real algorithms, the cheapest bcrypt cost.
pub fn test_config() -> PlatformConfig {
    let mut c = PlatformConfig::new(b"conformance-suite-signing-key-0123456789".to_vec());
    c.bcrypt_cost = 4;
    c
}

/// A directory removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    /// A new empty directory `<prefix>-<uuid>` in the system's temporary directory.
    pub fn new(prefix: &str) -> std::io::Result<Self> {
        let path = std::env::temp_dir().join(format!("{prefix}-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&path)?;
        Ok(Self(path))
    }

    /// Where the directory is.
    pub fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn start_time() -> DateTime<Utc> {
    Utc::now()
}

/// A fresh SQLite database in a temporary directory. Always available.
pub async fn sqlite_fixture() -> Option<Fixture<SqliteStore>> {
    let dir = TempDir::new("edu-test").expect("temporary directory");
    let file = dir.path().join("edu.db");
    let connect = move || {
        let file = file.clone();
        Box::pin(async move {
            let options = SqliteConnectOptions::new().filename(&file);
            SqliteStore::connect_with(options, TEST_POOL)
                .await
                .expect("open test SQLite database")
        }) as Pin<Box<dyn Future<Output = SqliteStore> + Send>>
    };
    let store = connect().await;
    store.migrate().await.expect("migrate SQLite");
    let pool = store.pool().clone();
    let execute: Execute = Arc::new(move |sql| {
        let pool = pool.clone();
        Box::pin(async move {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .execute(&pool)
                .await
                .expect("test SQL statement");
        })
    });
    Some(build(store, Arc::new(connect), execute, Some(dir)))
}

/// A fresh SQLite database with uploads kept in `files` (e.g. an S3-compatible bucket).
pub async fn sqlite_fixture_with_files(files: crate::files::FileStore) -> Fixture<SqliteStore> {
    let mut fx = sqlite_fixture().await.expect("SQLite is always available");
    fx.config.files = Some(files);
    fx.platform = Platform::with_clock(fx.platform.store().clone(), fx.config.clone(), fx.clock.clone());
    fx
}

/// The names of tests' schemas (in the database of `EDU_TEST_DATABASE_URL`) and, for the suite
/// through PgBouncer, of their databases: `<prefix><unix seconds>_<random>`.
const SCHEMA_PREFIX: &str = "edu_t_";
const DATABASE_PREFIX: &str = "edu_pgb_";

/// How old a test's schema or database is before a later test process drops it: longer than any
/// run, so that only what earlier runs left behind goes.
const LEFTOVER_AGE_SECS: u64 = 3600;

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A new schema or database name, carrying the time it was made.
fn unique_name(prefix: &str) -> String {
    let random = uuid::Uuid::new_v4().simple().to_string();
    format!("{prefix}{}_{}", unix_now(), &random[..12])
}

/// Whether `name` (made by [`unique_name`] with `prefix`, or by an older harness whose names had no
/// time) was left behind by a run over [`LEFTOVER_AGE_SECS`] ago.
fn is_leftover(name: &str, prefix: &str, now: u64) -> bool {
    let Some(rest) = name.strip_prefix(prefix) else {
        return false;
    };
    match rest.split_once('_').and_then(|(made, _)| made.parse::<u64>().ok()) {
        Some(made) => made.saturating_add(LEFTOVER_AGE_SECS) < now,
        None => true,
    }
}

/// Drops, on a thread of its own while the tests run, the schemas and databases earlier test runs
/// left on the server at `url`. Without it every run leaves a few hundred schemas and some fifty
/// databases behind, and a server used for months of runs grows slower catalogs and gigabytes of
/// files. Failures are ignored: the next run tries again.
fn sweep_leftovers(url: String) {
    let sweep = move || {
        let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
            return;
        };
        runtime.block_on(async move {
            use sqlx::Connection;
            let Ok(options) = PgConnectOptions::from_str(&crate::store::normalize_url(&url)) else {
                return;
            };
            let Ok(mut conn) = sqlx::PgConnection::connect_with(&options).await else {
                return;
            };
            let now = unix_now();
            let kinds = [
                (
                    "SELECT nspname::text FROM pg_namespace WHERE starts_with(nspname, $1)",
                    SCHEMA_PREFIX,
                    "DROP SCHEMA IF EXISTS \"{}\" CASCADE",
                ),
                (
                    "SELECT datname::text FROM pg_database WHERE starts_with(datname, $1)",
                    DATABASE_PREFIX,
                    "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                ),
            ];
            for (list, prefix, drop) in kinds {
                let names: Vec<String> = sqlx::query_scalar(list)
                    .bind(prefix)
                    .fetch_all(&mut conn)
                    .await
                    .unwrap_or_default();
                for name in names.iter().filter(|n| is_leftover(n, prefix, now)) {
                    let sql = drop.replace("{}", name);
                    let _ = sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut conn).await;
                }
            }
            let _ = conn.close().await;
        });
    };
    let _ = std::thread::Builder::new().name("edu-test-sweep".into()).spawn(sweep);
}

/// Runs one statement on the test server through a connection of its own (creating a test's
/// schema or database).
async fn run_on_server(server: &PgConnectOptions, sql: &str) {
    let admin = PgStore::connect_with(
        server.clone(),
        PoolSettings {
            max_connections: 1,
            ..PoolSettings::default()
        },
    )
    .await
    .expect("connect to the test PostgreSQL server");
    sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
        .execute(admin.pool())
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    admin.pool().close().await;
}

/// A fresh schema on the test PostgreSQL server, or `None` (with a message) when there is none.
pub async fn pg_fixture() -> Option<Fixture<PgStore>> {
    let base = pg_base_url().await?;
    let schema = unique_name(SCHEMA_PREFIX);
    let server = PgConnectOptions::from_str(&crate::store::normalize_url(&base)).expect("valid EDU_TEST_DATABASE_URL");
    run_on_server(&server, &format!("CREATE SCHEMA {schema}")).await;
    let connect = move || {
        let base = base.clone();
        let schema = schema.clone();
        Box::pin(async move {
            let options = PgConnectOptions::from_str(&crate::store::normalize_url(&base))
                .expect("valid EDU_TEST_DATABASE_URL")
                .options([("search_path", schema.as_str())]);
            PgStore::connect_with(options, TEST_POOL)
                .await
                .expect("connect to the test schema")
        }) as Pin<Box<dyn Future<Output = PgStore> + Send>>
    };
    let store = connect().await;
    store.migrate().await.expect("migrate PostgreSQL");
    let execute = pg_execute(&store);
    Some(build(store, Arc::new(connect), execute, None))
}

/// A fresh database reached through a transaction-mode PgBouncer (`EDU_TEST_PGBOUNCER_URL`, any
/// database name of which leads to the server of `EDU_TEST_DATABASE_URL`), or `None` (with a
/// message) when there is none. Each test gets a database of its own, created directly on the
/// server: a pooler in transaction mode carries no session settings such as `search_path`.
/// Migrations run through the pooler; the SQL a test runs to break things goes directly.
pub async fn pgbouncer_fixture() -> Option<Fixture<PgStore>> {
    let bouncer = match std::env::var("EDU_TEST_PGBOUNCER_URL") {
        Ok(url) if !url.trim().is_empty() => url,
        _ => {
            let msg = "EDU_TEST_PGBOUNCER_URL is not set: the suite through PgBouncer cannot run";
            if std::env::var_os("CI").is_some() {
                panic!("{msg} (refusing to skip under CI)");
            }
            use std::io::Write;
            let _ = writeln!(std::io::stderr(), "\n!!! SKIPPING PGBOUNCER TESTS: {msg}\n");
            return None;
        }
    };
    let base = pg_base_url().await?;
    let database = unique_name(DATABASE_PREFIX);
    let direct = PgConnectOptions::from_str(&crate::store::normalize_url(&base)).expect("valid EDU_TEST_DATABASE_URL");
    run_on_server(&direct, &format!("CREATE DATABASE {database}")).await;
    let through = PgConnectOptions::from_str(&crate::store::normalize_url(&bouncer))
        .expect("valid EDU_TEST_PGBOUNCER_URL")
        .database(&database);
    let connect = move || {
        let through = through.clone();
        Box::pin(async move {
            let pool = PoolSettings {
                pooler: crate::store::Pooler::Transaction,
                ..TEST_POOL
            };
            PgStore::connect_with(through, pool)
                .await
                .expect("connect to the test database through PgBouncer")
        }) as Pin<Box<dyn Future<Output = PgStore> + Send>>
    };
    let store = connect().await;
    store.migrate().await.expect("migrate PostgreSQL through PgBouncer");
    let straight = PgStore::connect_with(direct.database(&database), TEST_POOL)
        .await
        .expect("connect to the test database directly");
    let execute = pg_execute(&straight);
    Some(build(store, Arc::new(connect), execute, None))
}

/// A platform on the whole database at `url` (no schema of its own) with these pool settings: for
/// a test that runs its own PostgreSQL server, stops it and starts it again.
pub async fn pg_fixture_at(url: &str, pool: PoolSettings) -> Fixture<PgStore> {
    let url = url.to_owned();
    let connect = move || {
        let url = url.clone();
        Box::pin(async move {
            PgStore::connect(&url, pool)
                .await
                .expect("connect to the test's PostgreSQL server")
        }) as Pin<Box<dyn Future<Output = PgStore> + Send>>
    };
    let store = connect().await;
    store.migrate().await.expect("migrate PostgreSQL");
    let execute = pg_execute(&store);
    build(store, Arc::new(connect), execute, None)
}

fn pg_execute(store: &PgStore) -> Execute {
    let pool = store.pool().clone();
    Arc::new(move |sql| {
        let pool = pool.clone();
        Box::pin(async move {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .execute(&pool)
                .await
                .expect("test SQL statement");
        })
    })
}

fn build<S: Store>(store: S, reconnect: Reconnect<S>, execute: Execute, dir: Option<TempDir>) -> Fixture<S> {
    let clock = TestClock::new(start_time());
    let files_dir = TempDir::new("edu-files").expect("temporary directory");
    let mut config = test_config();
    config.files = Some(crate::files::FileStore::local(files_dir.path()).expect("file store"));
    Fixture {
        files_dir,
        platform: Platform::with_clock(store, config.clone(), clock.clone()),
        clock,
        config,
        reconnect,
        execute,
        _dir: dir,
    }
}

static PG_URL: OnceCell<Option<String>> = OnceCell::const_new();

async fn pg_base_url() -> Option<String> {
    PG_URL
        .get_or_init(|| async {
            if let Ok(url) = std::env::var("EDU_TEST_DATABASE_URL")
                && !url.trim().is_empty()
            {
                sweep_leftovers(url.clone());
                return Some(url);
            }
            #[cfg(feature = "containers")]
            if let Some(url) = container::start().await {
                return Some(url);
            }
            let msg = if cfg!(feature = "containers") {
                "EDU_TEST_DATABASE_URL is not set and no Docker engine answers: the PostgreSQL half of the suite cannot run"
            } else {
                "EDU_TEST_DATABASE_URL is not set (and the tests were built without the `containers` feature, which would start PostgreSQL in Docker): the PostgreSQL half of the suite cannot run"
            };
            if std::env::var_os("CI").is_some() {
                panic!("{msg} (refusing to skip under CI)");
            }
            // Written past the test harness's capture, so that the skip is seen.
            use std::io::Write;
            let _ = writeln!(std::io::stderr(), "\n!!! SKIPPING POSTGRESQL TESTS: {msg}\n");
            None
        })
        .await
        .clone()
}

#[cfg(feature = "containers")]
mod container {
    use testcontainers::core::{IntoContainerPort, WaitFor};
    use testcontainers::runners::AsyncRunner;
    use testcontainers::{ContainerAsync, GenericImage, ImageExt};
    use tokio::sync::OnceCell;

    /// Kept for the whole test process; the container is removed when the process ends.
    static CONTAINER: OnceCell<ContainerAsync<GenericImage>> = OnceCell::const_new();

    fn docker_answers() -> bool {
        std::process::Command::new("docker")
            .args(["info", "--format", "{{.ServerVersion}}"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    pub(super) async fn start() -> Option<String> {
        if !docker_answers() {
            return None;
        }
        let container = CONTAINER
            .get_or_try_init(|| async {
                GenericImage::new("postgres", "16-alpine")
                    .with_exposed_port(5432.tcp())
                    .with_wait_for(WaitFor::message_on_stderr(
                        "database system is ready to accept connections",
                    ))
                    .with_env_var("POSTGRES_HOST_AUTH_METHOD", "trust")
                    .start()
                    .await
            })
            .await
            .map_err(|e| eprintln!("could not start a PostgreSQL container: {e}"))
            .ok()?;
        let port = container.get_host_port_ipv4(5432).await.ok()?;
        Some(format!("postgres://postgres@127.0.0.1:{port}/postgres"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_names_older_than_an_hour_are_leftovers() {
        let now = 2_000_000_000;
        let made = |secs: u64| format!("{SCHEMA_PREFIX}{secs}_0123456789ab");
        assert!(is_leftover(&made(now - LEFTOVER_AGE_SECS - 1), SCHEMA_PREFIX, now));
        assert!(!is_leftover(&made(now - LEFTOVER_AGE_SECS), SCHEMA_PREFIX, now));
        assert!(!is_leftover(&made(now), SCHEMA_PREFIX, now));
        // A name from a clock ahead of this one is not this run's to judge.
        assert!(!is_leftover(&made(now + 60), SCHEMA_PREFIX, now));
        // Names from before they carried their time are leftovers of some earlier run.
        assert!(is_leftover(
            "edu_t_0123456789abcdef0123456789abcdef",
            SCHEMA_PREFIX,
            now
        ));
        // Other schemas and databases are never touched.
        assert!(!is_leftover("public", SCHEMA_PREFIX, now));
        assert!(!is_leftover("edu_mn_0123456789abcdef", DATABASE_PREFIX, now));
        assert!(!is_leftover(&made(1), DATABASE_PREFIX, now));
    }

    #[test]
    fn new_names_carry_their_time_and_differ() {
        let a = unique_name(DATABASE_PREFIX);
        let b = unique_name(DATABASE_PREFIX);
        assert_ne!(a, b);
        assert!(!is_leftover(&a, DATABASE_PREFIX, unix_now()));
        assert!(is_leftover(&a, DATABASE_PREFIX, unix_now() + LEFTOVER_AGE_SECS + 1));
        // PostgreSQL keeps 63 bytes of a name.
        assert!(a.len() <= 63 && unique_name(SCHEMA_PREFIX).len() <= 63);
    }
}
