//! A PostgreSQL server of the test's own, in a temporary directory on a free port, that the test
//! may stop and start again. As root the programs run as the `postgres` user (PostgreSQL refuses
//! root); otherwise as the current user.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub struct Cluster {
    dir: PathBuf,
    bindir: PathBuf,
    port: u16,
    as_postgres: bool,
}

/// How the server is stopped: `fast` ends every session with "terminating connection due to
/// administrator command"; `immediate` kills them as a crash would, recovering from the WAL at start.
#[derive(Debug, Clone, Copy)]
pub enum Stop {
    Fast,
    Immediate,
}

impl Cluster {
    /// Creates and starts a cluster; `bindir` holds `initdb` and `pg_ctl`.
    pub fn create(bindir: &Path) -> Cluster {
        let dir = std::env::temp_dir().join(format!("edu-outage-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("a directory for the cluster");
        let as_postgres = run_plain("id", &["-u"]).trim() == "0";
        if as_postgres {
            run_plain("chown", &["postgres:postgres", &dir.display().to_string()]);
        }
        let cluster = Cluster {
            port: super::free_port(),
            bindir: bindir.to_path_buf(),
            dir,
            as_postgres,
        };
        let data = cluster.data();
        cluster.pg(
            "initdb",
            &["-D", &data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"],
        );
        cluster.start();
        cluster
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Starts the server and waits until it accepts connections.
    pub fn start(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c max_connections=40",
            self.port,
            self.dir.display()
        );
        let log = self.dir.join("server.log").display().to_string();
        self.pg(
            "pg_ctl",
            &[
                "-D",
                &self.data(),
                "-l",
                &log,
                "-o",
                &options,
                "-w",
                "-t",
                "60",
                "start",
            ],
        );
    }

    pub fn stop(&self, how: Stop) {
        let mode = match how {
            Stop::Fast => "fast",
            Stop::Immediate => "immediate",
        };
        self.pg("pg_ctl", &["-D", &self.data(), "-m", mode, "-w", "-t", "60", "stop"]);
    }

    /// The server's log so far, to show beside a failed assertion.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
    }

    fn data(&self) -> String {
        self.dir.join("data").display().to_string()
    }

    /// `program` of the server's directory, run as the user the server runs as.
    fn command(&self, program: &str) -> Command {
        let program = self.bindir.join(program);
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(program);
            c
        } else {
            Command::new(program)
        }
    }

    fn pg(&self, program: &str, args: &[&str]) -> Output {
        let out = self
            .command(program)
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
        assert!(
            out.status.success(),
            "{program} {args:?} failed: {}{}\nserver log: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            self.log()
        );
        out
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self
            .command("pg_ctl")
            .args(["-D", &self.data(), "-m", "immediate", "stop"])
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn run_plain(program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    assert!(out.status.success(), "{program} {args:?} failed");
    String::from_utf8_lossy(&out.stdout).into_owned()
}
