//! Marks the multi-node test ignored when this run cannot reach what it needs (PostgreSQL at
//! `EDU_TEST_DATABASE_URL`, an S3-compatible service at `EDU_TEST_S3_URL`, and HAProxy), so that
//! `cargo test` counts it as ignored instead of passed. Under `CI` nothing is ignored: a missing
//! service fails the run instead.

use std::path::PathBuf;

fn main() {
    println!("cargo::rustc-check-cfg=cfg(edu_skip_multi_node)");
    for var in ["EDU_TEST_DATABASE_URL", "EDU_TEST_S3_URL", "EDU_TEST_HAPROXY", "CI"] {
        println!("cargo::rerun-if-env-changed={var}");
    }
    println!("cargo::rerun-if-changed=build.rs");
    // Where HAProxy is, handed to the test so that it looks nowhere else.
    let found = haproxy();
    let shown = found.as_ref().map(|p| p.display().to_string()).unwrap_or_default();
    println!("cargo::rustc-env=EDU_MULTI_NODE_HAPROXY={shown}");
    if std::env::var_os("CI").is_some() {
        return;
    }
    let set = |var: &str| std::env::var(var).is_ok_and(|v| !v.trim().is_empty());
    if !set("EDU_TEST_DATABASE_URL") || !set("EDU_TEST_S3_URL") || found.is_none() {
        println!("cargo::rustc-cfg=edu_skip_multi_node");
    }
}

/// `EDU_TEST_HAPROXY`, else `haproxy` on the PATH, else Debian's `/usr/sbin/haproxy`.
fn haproxy() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("EDU_TEST_HAPROXY").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(path)).filter(|p| p.is_file());
    }
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .map(|dir| dir.join("haproxy"))
        .chain([PathBuf::from("/usr/sbin/haproxy")])
        .find(|p| p.is_file())
}
