//! `edu import legacy` run as the real binary: an old database on the test PostgreSQL server
//! (a schema of its own) and a static folder, into a SQLite database.

use edu_core::ClientInfo;
use serde_json::Value;
use sqlx::Executor;
use sqlx::postgres::PgPoolOptions;

use crate::common::{Workdir, text};

const OLD_SCHEMA: &str = include_str!("../../../tests/fixtures/legacy/schema.sql");

fn server_url() -> Option<String> {
    match std::env::var("EDU_TEST_DATABASE_URL") {
        Ok(url) if !url.trim().is_empty() => Some(edu_core::store::normalize_url(&url)),
        _ => {
            let msg = "EDU_TEST_DATABASE_URL is not set: the legacy import CLI test cannot run";
            assert!(std::env::var_os("CI").is_none(), "{msg} (refusing to skip under CI)");
            eprintln!("\n!!! SKIPPING: {msg}\n");
            None
        }
    }
}

#[tokio::test]
async fn imports_a_deployment_with_json_and_dry_run() {
    let Some(base) = server_url() else { return };
    let schema = format!("legacy_cli_{}", uuid::Uuid::new_v4().simple());
    let admin = PgPoolOptions::new()
        .max_connections(1)
        .connect(&base)
        .await
        .expect("server");
    admin
        .execute(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
        .await
        .expect("schema");
    let separator = if base.contains('?') { '&' } else { '?' };
    // The old backend's own URL form.
    let from = format!(
        "{}{separator}options=-c%20search_path%3D{schema}",
        base.replacen("postgres://", "postgresql+asyncpg://", 1)
    );
    let old = PgPoolOptions::new()
        .max_connections(1)
        .connect(&format!("{base}{separator}options=-c%20search_path%3D{schema}"))
        .await
        .expect("old schema");
    sqlx::raw_sql(OLD_SCHEMA).execute(&old).await.expect("old tables");
    let hash = bcrypt::hash("old-password", 4).expect("bcrypt");
    let rows = format!(
        "INSERT INTO users (id, full_name, iin, role, phone, hashed_password, photo) VALUES
           (3, 'Учитель', '850202400002', 'teacher', NULL, '{hash}', NULL),
           (7, 'Студент', '12345678901', 'student', NULL, '{hash}', 'static/photos/7_фото 1.png');
         INSERT INTO groups (id, name) VALUES (2, 'ИС-21');
         INSERT INTO user_group VALUES (7, 2);
         INSERT INTO modules (id, title, course) VALUES (5, 'Сети', '3');
         INSERT INTO module_group VALUES (5, 2);
         INSERT INTO subjects (id, module_id, teacher_id, title) VALUES (9, 5, 3, 'Маршрутизация');
         INSERT INTO lessons (id, subject_id, title, type, content_url) VALUES
           (40, 9, 'Лекция 1', 'Лекция', '/static/lesson_docs/0123456789abcdef0123456789abcdef.pdf'),
           (41, 9, 'Без ссылки', 'Практика', '');
         INSERT INTO lesson_submissions (id, lesson_id, user_id, grade, submitted_at) VALUES (1, 41, 7, 77, now());
         INSERT INTO submission_files (submission_id, file_path) VALUES (1, 'static/homework/lesson_41/7_x.zip');"
    );
    sqlx::raw_sql(sqlx::AssertSqlSafe(rows))
        .execute(&old)
        .await
        .expect("old rows");

    let dir = Workdir::new("legacy");
    let statics = dir.path("static");
    std::fs::create_dir_all(statics.join("photos")).expect("photos");
    std::fs::create_dir_all(statics.join("lesson_docs")).expect("docs");
    std::fs::create_dir_all(statics.join("homework/lesson_41")).expect("homework");
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend([7_u8; 100]);
    std::fs::write(statics.join("photos/7_фото 1.png"), &png).expect("photo");
    std::fs::write(
        statics.join("lesson_docs/0123456789abcdef0123456789abcdef.pdf"),
        b"%PDF-1.4 lecture",
    )
    .expect("doc");
    std::fs::write(statics.join("homework/lesson_41/7_x.zip"), b"PK\x03\x04 homework").expect("homework");
    let static_arg = statics.display().to_string();

    let dry = dir.edu(&[
        "import",
        "legacy",
        "--from",
        &from,
        "--static-dir",
        &static_arg,
        "--dry-run",
        "--json",
    ]);
    assert!(dry.status.success(), "{}", text(&dry));
    let report: Value = serde_json::from_slice(&dry.stdout).expect("JSON report");
    assert_eq!(report["outcome"], "dry_run", "{report}");
    assert_eq!(report["written"]["users"], 2);
    assert_eq!(report["files"]["copied"], 3);
    let platform = dir.platform().await;
    assert!(
        platform
            .login("012345678901", "old-password", ClientInfo::default())
            .await
            .is_err(),
        "a dry run writes nothing"
    );

    let run = dir.edu(&[
        "import",
        "legacy",
        "--from",
        &from,
        "--static-dir",
        &static_arg,
        "--json",
    ]);
    assert!(run.status.success(), "{}", text(&run));
    let report: Value = serde_json::from_slice(&run.stdout).expect("JSON report");
    assert_eq!(report["outcome"], "imported", "{report}");
    assert_eq!(report["written"]["lessons"], 2);
    assert_eq!(report["written"]["legacy_files"], 3);
    assert_eq!(report["files"]["bytes"], (png.len() + 16 + 13) as u64);
    let problems = report["problems"].as_array().expect("problems");
    let kinds: Vec<&str> = problems.iter().filter_map(|p| p["kind"].as_str()).collect();
    assert!(kinds.contains(&"iin_restored"), "{report}");
    assert!(kinds.contains(&"empty_content_url"), "{report}");
    assert_eq!(report["id_map"], serde_json::json!({}));

    let session = platform
        .login("012345678901", "old-password", ClientInfo::default())
        .await
        .expect("the old password works");
    let me = platform
        .authenticate(&session.tokens.access_token)
        .await
        .expect("token");
    let lesson = platform
        .lesson(&me, edu_core::domain::LessonId(40))
        .await
        .expect("lesson 40");
    assert_eq!(lesson.lesson.title, "Лекция 1");

    let again = dir.edu(&["import", "legacy", "--from", &from, "--static-dir", &static_arg]);
    assert!(again.status.success(), "{}", text(&again));
    assert!(
        String::from_utf8_lossy(&again.stdout).contains("nothing to do"),
        "{}",
        text(&again)
    );

    let bad = dir.edu(&["import", "legacy", "--from", &from, "--static-dir", "no/such/dir"]);
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("not a directory"),
        "{}",
        text(&bad)
    );

    old.close().await;
    let _ = admin
        .execute(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
        .await;
}
