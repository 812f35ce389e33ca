//! What the command-line tests share: a working directory with its own SQLite database, the real
//! binary run in it, and a platform over the same database for checking what it did.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use edu_core::config::Config;
use edu_core::{CreateUser, Platform, Role, SqliteStore, UserProfile};

pub struct Workdir(PathBuf);

impl Workdir {
    pub fn new(name: &str) -> Workdir {
        let dir = std::env::temp_dir().join(format!("edu-cli-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        Workdir(dir)
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    pub fn vars(&self) -> Vec<(&'static str, String)> {
        vec![
            ("DATABASE_URL", format!("sqlite://{}", self.path("edu.db").display())),
            ("EDU_DATA_DIR", self.path("data").display().to_string()),
            ("BCRYPT_COST", "4".into()),
        ]
    }

    pub fn edu(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_edu"))
            .args(args)
            .current_dir(&self.0)
            .env_clear()
            .envs(self.vars())
            .output()
            .expect("the edu binary runs")
    }

    /// The binary with `extra` variables set over (or beside) the usual ones.
    pub fn edu_with(&self, args: &[&str], extra: &[(&str, String)]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_edu"))
            .args(args)
            .current_dir(&self.0)
            .env_clear()
            .envs(self.vars())
            .envs(extra.iter().map(|(k, v)| (k, v)))
            .output()
            .expect("the edu binary runs")
    }

    pub async fn platform(&self) -> Platform<SqliteStore> {
        let config = self.config();
        let secret = config.resolve_secret().expect("secret");
        Platform::new(self.store().await, config.platform_config(secret))
    }

    /// The database itself, for checking what the commands wrote.
    pub async fn store(&self) -> SqliteStore {
        let url = format!("sqlite://{}", self.path("edu.db").display());
        SqliteStore::connect(&url, self.config().pool).await.expect("database")
    }

    fn config(&self) -> Config {
        let vars = self.vars();
        Config::from_vars(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone())).expect("config")
    }
}

impl Drop for Workdir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// An account made with the database's authority, as `edu admin create` makes one.
pub async fn provision(
    p: &Platform<SqliteStore>,
    iin: &str,
    full_name: &str,
    role: Role,
    password: &str,
) -> UserProfile {
    p.provision_user(CreateUser {
        iin: iin.into(),
        full_name: full_name.into(),
        phone: None,
        role: Some(role),
        password: password.into(),
    })
    .await
    .expect("an account")
}

pub fn text(out: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A free local port (bound and released: another process could take it, rarely).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// A running `edu serve`, killed when dropped (also when a check fails).
pub struct Server(Child);

impl Server {
    pub fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Starts `edu serve` in `dir` with exactly `vars`, and waits until `/readyz` on `port` answers.
pub async fn serve(dir: &Path, vars: Vec<(&'static str, String)>, port: u16, client: &reqwest::Client) -> Server {
    let child = Command::new(env!("CARGO_BIN_EXE_edu"))
        .arg("serve")
        .current_dir(dir)
        .env_clear()
        .envs(vars)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("edu serve starts");
    let server = Server(child);
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let ready = client.get(format!("http://127.0.0.1:{port}/readyz")).send().await;
        if ready.is_ok_and(|r| r.status().is_success()) {
            return server;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the server did not become ready");
}
