//! Marks the suites of a backend this test run cannot reach, so that `cargo test` counts them as
//! ignored instead of passed: PostgreSQL without `EDU_TEST_DATABASE_URL` (and no Docker engine
//! for a container), the S3-compatible store without `EDU_TEST_S3_URL`. Under `CI` nothing is
//! ignored: a missing service fails the run instead.

use std::process::{Command, Stdio};

fn main() {
    println!("cargo::rustc-check-cfg=cfg(edu_skip_postgres)");
    println!("cargo::rustc-check-cfg=cfg(edu_skip_s3)");
    for var in ["EDU_TEST_DATABASE_URL", "EDU_TEST_S3_URL", "CI"] {
        println!("cargo::rerun-if-env-changed={var}");
    }
    println!("cargo::rerun-if-changed=build.rs");
    if std::env::var_os("CI").is_some() {
        return;
    }
    let set = |var: &str| std::env::var(var).is_ok_and(|v| !v.trim().is_empty());
    if !set("EDU_TEST_DATABASE_URL") && !docker_answers() {
        println!("cargo::rustc-cfg=edu_skip_postgres");
    }
    if !set("EDU_TEST_S3_URL") {
        println!("cargo::rustc-cfg=edu_skip_s3");
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
