//! `edu backup --to DIR` as the real binary: a copy of a SQLite deployment that edu runs from as
//! it is, made while the database is open, never written over an existing directory.

use edu_core::{ClientInfo, Role, SqliteStore, Store};

use crate::common::{Workdir, provision, text};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_is_a_database_and_files_that_edu_runs_from() {
    let wd = Workdir::new("backup");
    assert!(wd.edu(&["migrate"]).status.success());
    let p = wd.platform().await;
    provision(&p, "000000000001", "Админ", Role::Admin, "Admin-pass-1").await;
    let files = wd.path("data/files/lessons");
    std::fs::create_dir_all(&files).expect("file store");
    std::fs::write(files.join("a.pdf"), b"%PDF-1.4 lesson").expect("a stored file");
    std::fs::create_dir_all(wd.path("data/files/tmp")).expect("tmp");
    std::fs::write(wd.path("data/files/tmp/partial"), b"half an upload").expect("an interrupted upload");

    // Taken while the database is open and in use.
    let out = wd.edu(&["backup", "--to", "copy"]);
    assert!(out.status.success(), "{}", text(&out));
    let copy = wd.path("copy");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &std::path::Path| std::fs::metadata(p).expect("metadata").permissions().mode() & 0o777;
        assert_eq!(mode(&copy), 0o700);
        assert_eq!(mode(&copy.join("edu.db")), 0o600);
    }
    assert_eq!(
        std::fs::read(copy.join("files/lessons/a.pdf")).expect("copied"),
        b"%PDF-1.4 lesson"
    );
    assert!(!copy.join("files/tmp").exists(), "interrupted uploads are left out");

    // The copy is a working database: the account is there and logs in.
    let url = format!("sqlite://{}", copy.join("edu.db").display());
    let store = SqliteStore::connect_existing(&url, edu_core::PoolSettings::default())
        .await
        .expect("the copy opens");
    let (users, total) = store.list_users(edu_core::Page::default()).await.expect("users");
    assert_eq!(total, 1);
    assert_eq!(users[0].full_name, "Админ");
    let restored = edu_core::Platform::new(store, edu_core::PlatformConfig::new("0123456789abcdef0123456789abcdef"));
    restored
        .login("000000000001", "Admin-pass-1", ClientInfo::default())
        .await
        .expect("the copy's account logs in");

    // Never over an existing directory.
    let again = wd.edu(&["backup", "--to", "copy"]);
    assert!(!again.status.success(), "{}", text(&again));
    assert!(text(&again).contains("must not exist"), "{}", text(&again));
}

#[test]
fn postgres_deployments_are_pointed_at_pg_dump() {
    let wd = Workdir::new("backup-pg");
    let out = wd.edu_with(
        &["backup", "--to", "copy"],
        &[
            ("DATABASE_URL", "postgres://u@127.0.0.1:1/edu".into()),
            ("SECRET_KEY", "0123456789abcdef0123456789abcdef".into()),
        ],
    );
    assert!(!out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("pg_dump"), "{}", text(&out));
    assert!(!wd.path("copy").exists());
}
