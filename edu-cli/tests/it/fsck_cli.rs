//! `edu fsck` and the file store's marker, run as the real binary on SQLite and on PostgreSQL:
//! a mistyped or unmounted store is never taken for a store whose files were lost.

use std::path::{Path, PathBuf};
use std::process::Output;

use edu_core::domain::Password;
use edu_core::files::{FileStore, MARKER_KEY};
use edu_core::{BootstrapAdmin, ClientInfo, Iin, PgStore, Platform, PlatformConfig, PoolSettings, SqliteStore, Store};
use serde_json::Value;
use sqlx::Executor;

use crate::common::{Workdir, text};

const ADMIN_IIN: &str = "800101300011";
const ADMIN_PASSWORD: &str = "Admin-pass-1";
const SECRET: &str = "fsck-test-signing-key-0123456789";
const PDF: &[u8] = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n";

/// A deployment: a database, a working directory, and the file store directory it should use.
struct Deployment {
    dir: Workdir,
    database_url: String,
    files: PathBuf,
}

impl Deployment {
    /// `edu` with `EDU_FILES_DIR` set to `files` (a directory name in the working directory).
    fn edu(&self, files: &Path, args: &[&str]) -> Output {
        self.dir.edu_with(
            args,
            &[
                ("DATABASE_URL", self.database_url.clone()),
                ("SECRET_KEY", SECRET.to_owned()),
                ("EDU_FILES_DIR", files.display().to_string()),
            ],
        )
    }

    fn fsck(&self, files: &Path, args: &[&str]) -> Output {
        let mut all = vec!["fsck", "--grace", "0"];
        all.extend_from_slice(args);
        self.edu(files, &all)
    }
}

fn platform<S: Store>(store: S, files: &Path) -> Platform<S> {
    let mut config = PlatformConfig::new(SECRET.as_bytes().to_vec());
    config.bcrypt_cost = 4;
    config.files = Some(FileStore::local(files).expect("the file store"));
    Platform::new(store, config)
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The whole story on one backend; `p` is a platform over the deployment's database.
async fn scenario<S: Store>(d: &Deployment, p: Platform<S>, store: S) {
    // A new deployment: `edu migrate` creates the store and marks it.
    let migrated = d.edu(&d.files, &["migrate"]);
    assert!(migrated.status.success(), "{}", text(&migrated));
    assert!(d.files.join(MARKER_KEY).is_file(), "a new store gets its marker");

    p.bootstrap_admin(BootstrapAdmin {
        iin: Iin::parse(ADMIN_IIN).expect("IIN"),
        password: Password::new(ADMIN_PASSWORD).expect("password"),
        full_name: "Администратор".into(),
        phone: None,
    })
    .await
    .expect("admin");
    let session = p
        .login(ADMIN_IIN, ADMIN_PASSWORD, ClientInfo::default())
        .await
        .expect("login");
    let admin = p.authenticate(&session.tokens.access_token).await.expect("principal");
    let mut keys = Vec::new();
    for _ in 0..6 {
        let body = futures_util::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from_static(PDF))]);
        let uploaded = p
            .upload_lesson_file(&admin, "конспект.pdf", body)
            .await
            .expect("upload");
        keys.push(format!("lessons/{}", uploaded.url.rsplit('/').next().expect("name")));
    }
    // A crash's leftovers: a file without its row, and a row whose file went.
    let orphan = "homework/0123456789abcdef0123456789abcdef.pdf";
    std::fs::create_dir_all(d.files.join("homework")).expect("dir");
    std::fs::write(d.files.join(orphan), PDF).expect("orphan");
    std::fs::remove_file(d.files.join(&keys[0])).expect("lose a file");

    // The default is a dry run that lists what a repair would do, with keys.
    let dry = d.fsck(&d.files, &[]);
    assert_eq!(dry.status.code(), Some(1), "{}", text(&dry));
    let out = stdout(&dry);
    assert!(out.contains(orphan) && out.contains(&keys[0]), "{out}");
    assert!(out.contains("конспект.pdf") && out.contains("dry run"), "{out}");
    assert!(d.files.join(orphan).is_file(), "a dry run changes nothing");
    let json = d.fsck(&d.files, &["--json"]);
    let report: Value = serde_json::from_slice(&json.stdout).unwrap_or_else(|_| panic!("{}", text(&json)));
    assert_eq!(report["orphans"], serde_json::json!([orphan]));
    assert_eq!(report["missing_rows"][0]["key"], keys[0].as_str());
    assert!(report["marker"]["store_id"].is_string(), "{report}");

    // A mistyped directory: refused, and not created.
    let typo = d.dir.path("flies");
    let mistyped = d.fsck(&typo, &["--repair"]);
    assert_eq!(mistyped.status.code(), Some(1), "{}", text(&mistyped));
    let err = stderr(&mistyped);
    assert!(
        err.contains("is the store mounted") && err.contains("EDU_FILES_DIR"),
        "{err}"
    );
    assert!(!typo.exists(), "fsck never creates the store");

    // An unmounted volume's empty mount point: no marker, so no repair.
    let mount_point = d.dir.path("mnt");
    std::fs::create_dir_all(&mount_point).expect("mount point");
    let unmounted = d.fsck(&mount_point, &["--repair"]);
    assert_eq!(unmounted.status.code(), Some(1), "{}", text(&unmounted));
    assert!(stderr(&unmounted).contains(".edu-store"), "{}", text(&unmounted));
    // Even vouched for, every file missing is not believed without --force.
    let vouched = d.fsck(&mount_point, &["--init-marker", "--repair"]);
    assert_eq!(vouched.status.code(), Some(1), "{}", text(&vouched));
    assert!(stderr(&vouched).contains("mounted"), "{}", text(&vouched));
    assert_eq!(
        store.referenced_keys().await.expect("rows").len(),
        6,
        "no row was dropped"
    );

    // The real store, repaired: the orphan removed, the row of the lost file dropped.
    let repaired = d.fsck(&d.files, &["--repair"]);
    assert!(repaired.status.success(), "{}", text(&repaired));
    assert!(!d.files.join(orphan).exists());
    assert_eq!(store.referenced_keys().await.expect("rows").len(), 5);
    let clean = d.fsck(&d.files, &[]);
    assert!(clean.status.success(), "{}", text(&clean));

    // A store from before markers: repairs wait for the marker, which `edu migrate` (and
    // `edu serve`) write because the store holds files the database refers to.
    std::fs::remove_file(d.files.join(MARKER_KEY)).expect("unmark");
    // (The store removed the emptied directory with the orphan.)
    std::fs::create_dir_all(d.files.join("homework")).expect("dir");
    std::fs::write(d.files.join(orphan), PDF).expect("orphan");
    let unmarked = d.fsck(&d.files, &["--repair"]);
    assert_eq!(unmarked.status.code(), Some(1), "{}", text(&unmarked));
    assert!(d.files.join(orphan).is_file());
    let migrated = d.edu(&d.files, &["migrate"]);
    assert!(migrated.status.success(), "{}", text(&migrated));
    assert!(d.files.join(MARKER_KEY).is_file(), "an existing store is marked");
    let repaired = d.fsck(&d.files, &["--repair"]);
    assert!(repaired.status.success(), "{}", text(&repaired));
    assert!(!d.files.join(orphan).exists());
}

#[tokio::test]
async fn fsck_on_sqlite_never_repairs_a_missing_or_unmounted_store() {
    let dir = Workdir::new("fsck");
    let database_url = format!("sqlite://{}", dir.path("edu.db").display());
    let d = Deployment {
        files: dir.path("files"),
        database_url,
        dir,
    };
    // The database exists before the platform opens it.
    let migrated = d.edu(&d.files, &["migrate"]);
    assert!(migrated.status.success(), "{}", text(&migrated));
    let store = SqliteStore::connect(&d.database_url, PoolSettings::default())
        .await
        .expect("database");
    let p = platform(store.clone(), &d.files);
    std::fs::remove_dir_all(&d.files).expect("start without a store");
    scenario(&d, p, store).await;
}

#[tokio::test]
async fn fsck_on_postgres_never_repairs_a_missing_or_unmounted_store() {
    let base = match std::env::var("EDU_TEST_DATABASE_URL") {
        Ok(url) if !url.trim().is_empty() => edu_core::store::normalize_url(&url),
        _ => {
            let msg = "EDU_TEST_DATABASE_URL is not set: the PostgreSQL fsck CLI test cannot run";
            assert!(std::env::var_os("CI").is_none(), "{msg} (refusing to skip under CI)");
            eprintln!("\n!!! SKIPPING: {msg}\n");
            return;
        }
    };
    let schema = format!("fsck_cli_{}", uuid::Uuid::new_v4().simple());
    let admin = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(&base)
        .await
        .expect("server");
    admin
        .execute(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
        .await
        .expect("schema");
    let separator = if base.contains('?') { '&' } else { '?' };
    let dir = Workdir::new("fsck-pg");
    let d = Deployment {
        files: dir.path("files"),
        database_url: format!("{base}{separator}options=-c%20search_path%3D{schema}"),
        dir,
    };
    let migrated = d.edu(&d.files, &["migrate"]);
    assert!(migrated.status.success(), "{}", text(&migrated));
    let store = PgStore::connect(&d.database_url, PoolSettings::default())
        .await
        .expect("database");
    let p = platform(store.clone(), &d.files);
    std::fs::remove_dir_all(&d.files).expect("start without a store");
    scenario(&d, p, store).await;
    admin
        .execute(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
        .await
        .expect("drop schema");
}
