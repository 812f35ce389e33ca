//! Marks the suites of a backend this test run cannot reach, so that `cargo test` counts them as
//! ignored instead of passed: PostgreSQL without `EDU_TEST_DATABASE_URL` (and, with the
//! `containers` feature, no Docker engine for a container), PgBouncer without `EDU_TEST_PGBOUNCER_URL`, the S3-compatible store without
//! `EDU_TEST_S3_URL`, the outage suite without PostgreSQL's server programs (`initdb`, `pg_ctl`)
//! or `moto_server`. Under `CI` nothing is
//! ignored: a missing service fails the run instead.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn main() {
    for cfg in [
        "edu_skip_postgres",
        "edu_skip_pgbouncer",
        "edu_skip_s3",
        "edu_skip_outage_pg",
        "edu_skip_outage_s3",
    ] {
        println!("cargo::rustc-check-cfg=cfg({cfg})");
    }
    for var in [
        "EDU_TEST_DATABASE_URL",
        "EDU_TEST_PGBOUNCER_URL",
        "EDU_TEST_S3_URL",
        "EDU_TEST_PG_BINDIR",
        "CI",
    ] {
        println!("cargo::rerun-if-env-changed={var}");
    }
    println!("cargo::rerun-if-changed=build.rs");

    // The outage suite runs a PostgreSQL server and an S3 emulator of its own, so it needs their
    // programs rather than a URL; where they are is handed to the tests.
    let pg_bindir = postgres_bindir();
    let moto = on_path("moto_server");
    let shown = |p: &Option<PathBuf>| p.as_ref().map(|p| p.display().to_string()).unwrap_or_default();
    println!("cargo::rustc-env=EDU_OUTAGE_PG_BINDIR={}", shown(&pg_bindir));
    println!("cargo::rustc-env=EDU_OUTAGE_MOTO_SERVER={}", shown(&moto));

    if std::env::var_os("CI").is_some() {
        return;
    }
    let set = |var: &str| std::env::var(var).is_ok_and(|v| !v.trim().is_empty());
    let container = || std::env::var_os("CARGO_FEATURE_CONTAINERS").is_some() && docker_answers();
    if !set("EDU_TEST_DATABASE_URL") && !container() {
        println!("cargo::rustc-cfg=edu_skip_postgres");
    }
    if !set("EDU_TEST_PGBOUNCER_URL") || !set("EDU_TEST_DATABASE_URL") {
        println!("cargo::rustc-cfg=edu_skip_pgbouncer");
    }
    if !set("EDU_TEST_S3_URL") {
        println!("cargo::rustc-cfg=edu_skip_s3");
    }
    if pg_bindir.is_none() {
        println!("cargo::rustc-cfg=edu_skip_outage_pg");
    }
    if moto.is_none() {
        println!("cargo::rustc-cfg=edu_skip_outage_s3");
    }
}

/// Whether a Docker engine runs, for a PostgreSQL container (checked when the tests are built).
fn docker_answers() -> bool {
    Command::new("docker")
        .args(["info", "--format", "{{.ServerVersion}}"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The directory of PostgreSQL's `initdb` and `pg_ctl`: `EDU_TEST_PG_BINDIR`, `pg_config
/// --bindir`, the newest `/usr/lib/postgresql/<version>/bin` (Debian keeps them off the PATH), or
/// the PATH.
fn postgres_bindir() -> Option<PathBuf> {
    let has_server = |d: &Path| d.join("initdb").is_file() && d.join("pg_ctl").is_file();
    if let Some(dir) = std::env::var_os("EDU_TEST_PG_BINDIR").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir)).filter(|d| has_server(d));
    }
    let from_pg_config = Command::new("pg_config")
        .arg("--bindir")
        .stderr(Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    let mut debian: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .filter_map(|e| {
            let e = e.ok()?;
            let version = e.file_name().to_str()?.parse::<u32>().ok()?;
            Some((version, e.path().join("bin")))
        })
        .collect();
    debian.sort();
    from_pg_config
        .into_iter()
        .chain(debian.into_iter().rev().map(|(_, d)| d))
        .chain(on_path("initdb").and_then(|p| p.parent().map(Path::to_path_buf)))
        .find(|d| has_server(d))
}

fn on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}
