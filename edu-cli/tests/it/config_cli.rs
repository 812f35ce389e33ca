//! Configuration that would start an empty school, or show a secret, stops the real binary with
//! a message naming the variable; what edu creates on disk is readable by its user only.

use std::path::Path;
use std::process::{Command, Output};

use crate::common::{Workdir, text};

/// `edu args…` in `wd` with exactly these variables.
fn edu(wd: &Workdir, vars: &[(&str, &str)], args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_edu"))
        .args(args)
        .current_dir(wd.path(""))
        .env_clear()
        .env("BCRYPT_COST", "4")
        .envs(vars.iter().copied())
        .output()
        .expect("the edu binary runs")
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn stops_naming(out: &Output, variable: &str) -> String {
    assert_eq!(out.status.code(), Some(2), "{}", text(out));
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(stderr.contains(variable), "{}", text(out));
    stderr
}

#[test]
fn a_sqlite_url_without_a_path_stops() {
    let wd = Workdir::new("cfg-no-path");
    for args in [
        &["migrate"][..],
        &["serve", "--bind", "127.0.0.1:0"],
        &["users", "list"],
    ] {
        let out = edu(&wd, &[("DATABASE_URL", "sqlite://")], args);
        stops_naming(&out, "DATABASE_URL");
    }
    assert!(
        entries(&wd.path("")).is_empty(),
        "nothing created: {:?}",
        entries(&wd.path(""))
    );
}

#[test]
fn a_sqlite_file_in_a_missing_directory_stops_and_no_directory_is_made() {
    let wd = Workdir::new("cfg-missing-dir");
    let url = format!("sqlite://{}", wd.path("typo/edu.db").display());
    for args in [&["migrate"][..], &["serve", "--bind", "127.0.0.1:0"]] {
        let out = edu(&wd, &[("DATABASE_URL", &url)], args);
        let stderr = stops_naming(&out, "DATABASE_URL");
        assert!(stderr.contains("does not exist"), "{stderr}");
    }
    assert!(!wd.path("typo").exists());
    assert!(entries(&wd.path("")).is_empty(), "{:?}", entries(&wd.path("")));
    // The data directory itself is created, as before.
    let data = wd.path("data").display().to_string();
    let out = edu(&wd, &[("EDU_DATA_DIR", &data)], &["migrate"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(wd.path("data/edu.db").is_file());
}

#[test]
fn a_malformed_postgres_url_stops_at_configuration() {
    let wd = Workdir::new("cfg-bad-pg");
    let out = edu(
        &wd,
        &[
            ("DATABASE_URL", "postgres://[broken"),
            ("SECRET_KEY", "0123456789abcdef0123456789abcdef"),
        ],
        &["migrate"],
    );
    stops_naming(&out, "DATABASE_URL");
    let out = edu(&wd, &[("DATABASE_URL", "mysql://db/edu")], &["migrate"]);
    let stderr = stops_naming(&out, "DATABASE_URL");
    assert!(
        stderr.contains("postgresql://"),
        "the accepted schemes are listed: {stderr}"
    );
    assert!(entries(&wd.path("")).is_empty(), "{:?}", entries(&wd.path("")));
}

#[test]
fn commands_that_read_do_not_create_a_database() {
    let wd = Workdir::new("cfg-readonly");
    let url = format!("sqlite://{}", wd.path("edu.db").display());
    let data = wd.path("data").display().to_string();
    let vars = [("DATABASE_URL", url.as_str()), ("EDU_DATA_DIR", data.as_str())];
    for args in [
        &["users", "list"][..],
        &["fsck"],
        &["export", "gradebook", "--group", "1", "--module", "1", "-o", "out.xlsx"],
    ] {
        let out = edu(&wd, &vars, args);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", text(&out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("no database at") && stderr.contains("edu migrate") && stderr.contains("DATABASE_URL"),
            "{args:?}: {stderr}"
        );
        assert!(
            entries(&wd.path("")).is_empty(),
            "{args:?}: {:?}",
            entries(&wd.path(""))
        );
    }
    // Once it exists, they work.
    let out = edu(&wd, &vars, &["migrate"]);
    assert!(out.status.success(), "{}", text(&out));
    let out = edu(&wd, &vars, &["users", "list"]);
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn passwords_in_database_urls_are_never_shown() {
    let wd = Workdir::new("cfg-redact");
    for (url, code) in [
        ("postgres://edu:Sup3rSecretPw@127.0.0.1:1/edu", 1),
        ("postgres://127.0.0.1:1/edu?user=edu&password=Sup3rSecretPw", 1),
        // The driver would ignore it, and log its value while doing so: refused at start.
        ("postgresql://edu@127.0.0.1:1/edu?sslpassword=Sup3rSecretPw", 2),
    ] {
        let out = edu(
            &wd,
            &[
                ("DATABASE_URL", url),
                ("SECRET_KEY", "0123456789abcdef0123456789abcdef"),
                ("DB_POOL_TIMEOUT", "1"),
                ("RUST_LOG", "debug"),
            ],
            &["users", "list"],
        );
        assert_eq!(out.status.code(), Some(code), "{}", text(&out));
        let all = text(&out);
        assert!(all.contains("DATABASE_URL"), "{all}");
        assert!(!all.contains("Sup3rSecretPw"), "{all}");
        if code == 1 {
            assert!(all.contains("127.0.0.1:1"), "the host is shown: {all}");
        }
    }
}

#[cfg(unix)]
#[test]
fn the_data_directory_and_database_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).expect("metadata").permissions().mode() & 0o777;
    let wd = Workdir::new("cfg-private");
    // The defaults: ./edu-data with the database and a generated key.
    let out = edu(&wd, &[], &["migrate"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(mode(&wd.path("edu-data")), 0o700);
    assert_eq!(mode(&wd.path("edu-data/edu.db")), 0o600);
    assert_eq!(mode(&wd.path("edu-data/secret.key")), 0o600);

    // SQLite makes -wal and -shm with the database's mode; they exist while it is open.
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        use edu_core::Store;
        let url = format!("sqlite://{}", wd.path("edu-data/edu.db").display());
        let store = edu_core::SqliteStore::connect(&url, edu_core::PoolSettings::default())
            .await
            .expect("open");
        store.migrate().await.expect("migrate");
        for name in ["edu.db-wal", "edu.db-shm"] {
            let path = wd.path("edu-data").join(name);
            assert!(path.exists(), "{name} while open");
            assert_eq!(mode(&path), 0o600, "{name}");
        }
    });

    // A database an earlier version left readable is tightened; an operator's directory is kept
    // as it is, with a warning.
    std::fs::set_permissions(wd.path("edu-data/edu.db"), std::fs::Permissions::from_mode(0o644)).expect("chmod");
    std::fs::set_permissions(wd.path("edu-data"), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let out = edu(&wd, &[], &["users", "list"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(mode(&wd.path("edu-data/edu.db")), 0o600);
    assert_eq!(mode(&wd.path("edu-data")), 0o755);
    let out = edu(&wd, &[], &["migrate"]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("chmod 700"),
        "a warning about the open directory: {}",
        text(&out)
    );
}

#[test]
fn a_postgres_that_is_not_listening_is_named_in_one_line() {
    let wd = Workdir::new("cfg-pg-down");
    let out = edu(
        &wd,
        &[
            ("DATABASE_URL", "postgres://edu:secret-pass@127.0.0.1:1/edu"),
            ("SECRET_KEY", "0123456789abcdef0123456789abcdef"),
        ],
        &["users", "list"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("connection refused at 127.0.0.1:1"), "{stderr}");
    assert!(!stderr.contains("pool timed out"), "{stderr}");
    assert!(!stderr.contains("secret-pass"), "{stderr}");
    assert_eq!(stderr.lines().filter(|l| l.contains("error")).count(), 1, "{stderr}");
}

#[test]
fn a_missing_postgres_database_gets_one_line_with_a_createdb_hint() {
    let Ok(base) = std::env::var("EDU_TEST_DATABASE_URL") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI runs this with EDU_TEST_DATABASE_URL"
        );
        return;
    };
    let (server, _) = base.rsplit_once('/').expect("a database URL");
    let url = format!("{server}/edu_no_such_database_7");
    let wd = Workdir::new("cfg-pg-missing-db");
    let out = edu(
        &wd,
        &[
            ("DATABASE_URL", &url),
            ("SECRET_KEY", "0123456789abcdef0123456789abcdef"),
        ],
        &["migrate"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("\"edu_no_such_database_7\" does not exist") && stderr.contains("createdb"),
        "{stderr}"
    );
    assert!(!stderr.contains("at line"), "{stderr}");
    assert_eq!(
        stderr.lines().filter(|l| !l.trim().is_empty()).count(),
        1,
        "one line: {stderr}"
    );
}

#[test]
fn a_reader_that_stops_early_ends_the_command_quietly() {
    use std::io::Read;
    let wd = Workdir::new("cfg-broken-pipe");
    let mut child = Command::new(env!("CARGO_BIN_EXE_edu"))
        .arg("openapi")
        .current_dir(wd.path(""))
        .env_clear()
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the edu binary runs");
    let mut first = [0u8; 10];
    child
        .stdout
        .take()
        .expect("stdout")
        .read_exact(&mut first)
        .expect("the first bytes");
    // The pipe is closed here, as `| head -c 10` closes it.
    let out = child.wait_with_output().expect("edu ends");
    assert_eq!(&first[..1], b"{");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{:?} {stderr}", out.status);
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn logs_written_to_a_file_have_no_colour_codes() {
    let wd = Workdir::new("cfg-no-colour");
    let data = wd.path("data").display().to_string();
    let out = edu(&wd, &[("EDU_DATA_DIR", &data), ("RUST_LOG", "debug")], &["migrate"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(!out.stderr.is_empty(), "something was logged");
    assert!(!out.stderr.contains(&0x1b), "{}", String::from_utf8_lossy(&out.stderr));
}

/// `edu serve` in `wd` until it says it is serving; answers what it logged by then.
fn serve_log(wd: &Workdir) -> String {
    use std::io::{BufRead, BufReader};
    let mut child = Command::new(env!("CARGO_BIN_EXE_edu"))
        .args(["serve", "--bind", "127.0.0.1:0"])
        .current_dir(wd.path(""))
        .env_clear()
        .envs(wd.vars())
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("edu serve starts");
    let stderr = child.stderr.take().expect("stderr");
    let mut log = String::new();
    for line in BufReader::new(stderr).lines() {
        let line = line.expect("a log line");
        log.push_str(&line);
        log.push('\n');
        if line.contains("serving") {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(log.contains("serving"), "the server started: {log}");
    log
}

#[test]
fn serve_warns_of_a_missing_administrator_only_when_there_is_none() {
    use std::io::Write;
    let wd = Workdir::new("cfg-admin-warning");
    assert!(wd.edu(&["migrate"]).status.success());
    let log = serve_log(&wd);
    assert!(log.contains("there is no administrator"), "{log}");

    let mut create = Command::new(env!("CARGO_BIN_EXE_edu"))
        .args(["admin", "create", "--iin", "800101300011", "--full-name", "Админ"])
        .current_dir(wd.path(""))
        .env_clear()
        .envs(wd.vars())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("edu admin create");
    create
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"Admin-pass-1\n")
        .expect("password");
    assert!(create.wait().expect("ends").success());
    let log = serve_log(&wd);
    assert!(!log.contains("no administrator"), "an administrator exists: {log}");
}
