//! A deployment of the previous backend for the import tests: its database in a schema of its
//! own on the test PostgreSQL server (made from `tests/fixtures/legacy/schema.sql`), and its
//! `static/` folder in a temporary directory.

use std::path::{Path, PathBuf};

use edu_core::conformance::harness::TempDir;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Executor, PgPool};

/// The old schema at its last migration.
pub const OLD_SCHEMA: &str = include_str!("../fixtures/legacy/schema.sql");

/// An old deployment: a database schema and a static folder, both removed by [`OldDeployment::drop`].
pub struct OldDeployment {
    /// `--from`: the server's URL with this schema as its search path.
    pub url: String,
    pub schema: String,
    pub pool: PgPool,
    dir: TempDir,
    admin: PgPool,
}

/// The test PostgreSQL server, or `None` with a loud message (a failure under `CI`).
pub fn server_url() -> Option<String> {
    match std::env::var("EDU_TEST_DATABASE_URL") {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ => {
            let msg = "EDU_TEST_DATABASE_URL is not set: the old database of the legacy import tests cannot be made";
            if std::env::var_os("CI").is_some() {
                panic!("{msg} (refusing to skip under CI)");
            }
            use std::io::Write;
            let _ = writeln!(std::io::stderr(), "\n!!! SKIPPING LEGACY IMPORT TESTS: {msg}\n");
            None
        }
    }
}

impl OldDeployment {
    /// A fresh, empty old deployment (schema created, no rows), or `None` without a server.
    pub async fn create() -> Option<OldDeployment> {
        let base = edu_core::store::normalize_url(&server_url()?);
        let schema = format!("legacy_{}", uuid::Uuid::new_v4().simple());
        let admin = PgPoolOptions::new()
            .max_connections(1)
            .connect(&base)
            .await
            .expect("connect to the test PostgreSQL server");
        admin
            .execute(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
            .await
            .expect("create the old schema");
        let separator = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{separator}options=-c%20search_path%3D{schema}");
        let options: PgConnectOptions = url.parse().expect("old database URL");
        let pool = PgPoolOptions::new()
            .max_connections(2)
            .connect_with(options)
            .await
            .expect("connect to the old schema");
        sqlx::raw_sql(OLD_SCHEMA)
            .execute(&pool)
            .await
            .expect("create the old tables");
        let dir = TempDir::new("edu-legacy-static").expect("temporary directory");
        for sub in ["homework", "lesson_docs", "photos"] {
            std::fs::create_dir_all(dir.path().join(sub)).expect("static subfolder");
        }
        Some(OldDeployment {
            url,
            schema,
            pool,
            dir,
            admin,
        })
    }

    /// The old `static/` folder.
    pub fn static_dir(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a file of the static folder at its old path (`static/…`).
    pub fn put_file(&self, old_path: &str, bytes: &[u8]) -> PathBuf {
        let relative = old_path.trim_start_matches('/').trim_start_matches("static/");
        let path = self.dir.path().join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("static subfolder");
        }
        std::fs::write(&path, bytes).expect("write a static file");
        path
    }

    /// Runs SQL on the old database.
    pub async fn sql(&self, sql: &str) {
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
            .execute(&self.pool)
            .await
            .unwrap_or_else(|e| panic!("old database: {e}\n{sql}"));
    }

    /// Removes the schema (the static folder goes with `self`).
    pub async fn drop(self) {
        self.pool.close().await;
        let _ = self
            .admin
            .execute(sqlx::AssertSqlSafe(format!("DROP SCHEMA {} CASCADE", self.schema)))
            .await;
        self.admin.close().await;
    }
}

/// A bcrypt hash as the old backend made them (`$2b$`), at the cheapest cost.
pub fn old_hash(password: &str) -> String {
    let hash = bcrypt::hash(password, 4).expect("bcrypt");
    assert!(hash.starts_with("$2b$"), "the old backend's hashes are $2b$");
    hash
}

/// What [`fill_sample`] put in, to compare with what comes out.
pub struct Sample {
    pub student_iin: &'static str,
    pub student_password: &'static str,
    pub student_id: i64,
    /// The student whose IIN had lost its leading zero (restored to `restored_iin`).
    pub restored_iin: &'static str,
    pub restored_password: &'static str,
    pub photo: Vec<u8>,
    pub photo_path: &'static str,
    pub homework: Vec<u8>,
    pub homework_path: String,
    pub document: Vec<u8>,
    pub document_path: String,
    /// Lessons of module 1, which the student sees.
    pub visible_lessons: Vec<i64>,
}

/// A small school with one of every defect the import must report.
pub async fn fill_sample(old: &OldDeployment) -> Sample {
    let doc_name = "404ecbce88824fefbc944bb2dbcfae00.pdf";
    let document_path = format!("static/lesson_docs/{doc_name}");
    let homework_path = "static/homework/lesson_11/4_0f1e2d3c4b5a69788796a5b4c3d2e1f0.pdf".to_owned();
    let photo_path = "static/photos/4_Снимок экрана 2025-06-04 132603.png";
    let mut document = b"%PDF-1.4\n".to_vec();
    document.extend((0..300_000u32).map(|i| (i % 251) as u8));
    let mut homework = b"%PDF-1.7\n".to_vec();
    homework.extend((0..70_000u32).map(|i| (i * 7 % 253) as u8));
    let mut photo = b"\x89PNG\r\n\x1a\n".to_vec();
    photo.extend((0..5_000u32).map(|i| (i % 13) as u8));
    old.put_file(&document_path, &document);
    old.put_file(&homework_path, &homework);
    old.put_file("static/homework/lesson_11/4_notes.txt", "заметки\n".as_bytes());
    old.put_file(photo_path, &photo);

    let h = |p: &str| old_hash(p);
    let users = format!(
        "INSERT INTO users (id, full_name, iin, role, phone, hashed_password, photo) VALUES
         (1, 'Админ Главный', '800101300001', 'admin', NULL, '{admin}', NULL),
         (2, 'Иванов Иван Иванович', '850202400002', 'teacher', '+7 701 111 22 33', '{t1}', NULL),
         (3, 'Петров Пётр', '850303400003', 'teacher', NULL, '{t2}', NULL),
         (4, 'Сидорова Анна', '012345678901', 'student', '8 777 000 11 22', '{s1}', '/{photo_path}'),
         (5, 'Ким Олег', '12345678902', 'student', '+77011112233', '{s2}', NULL),
         (6, 'Неверный ИИН', '12AB', 'student', NULL, '{s3}', NULL),
         (7, 'Двойник', '12345678901', 'student', NULL, '{s4}', NULL),
         (8, 'Ахметов Ерлан', '990909300008', 'student', 'abc', '{s5}', NULL)",
        admin = h("admin-pass-1"),
        t1 = h("teacher-pass-2"),
        t2 = h("teacher-pass-3"),
        s1 = h("old-pass-4"),
        s2 = h("old-pass-5"),
        s3 = h("old-pass-6"),
        s4 = h("old-pass-7"),
        s5 = h("old-pass-8"),
    );
    old.sql(&users).await;
    old.sql(&format!(
        "INSERT INTO groups (id, name, description) VALUES (1, 'ПО-22-1', 'программисты'), (2, 'ПО-22-1 ', NULL), (3, 'ИС-21', '');
         INSERT INTO user_group (user_id, group_id) VALUES (4, 1), (5, 1), (6, 1), (7, 2), (8, 3), (2, 1);
         INSERT INTO modules (id, title, description, course, created_at) VALUES
           (1, 'Программирование', 'основы', '2', '2025-01-10 08:00:00'), (2, 'Сети', NULL, NULL, NULL);
         INSERT INTO module_group (module_id, group_id) VALUES (1, 1), (1, 2), (2, 3);
         INSERT INTO teacher_module (module_id, teacher_id) VALUES (1, 2), (2, 3);
         INSERT INTO subjects (id, module_id, teacher_id, title) VALUES
           (1, 1, 2, 'Rust'), (2, 1, 2, 'rust'), (3, 2, 3, 'Маршрутизация');
         INSERT INTO lessons (id, subject_id, title, type, description, content_url, created_at) VALUES
           (10, 1, 'Введение', 'Лекция', 'первая лекция', '/{document_path}', '2025-01-11 09:00:00'),
           (11, 1, 'Задание 1', 'Практика', NULL, 'https://video.example/intro', '2025-01-12 09:00:00'),
           (12, 1, 'Тест 1', 'Тест', NULL, '/test/1', '2025-01-13 09:00:00'),
           (13, 2, 'Пустой', 'video', NULL, '', '2025-01-14 09:00:00'),
           (14, 3, 'Нет файла', 'Лекция', NULL, '/static/lesson_docs/ffffffffffffffffffffffffffffffff.docx', NULL),
           (15, 1, 'Тест 2', 'тест', NULL, '/test/2', '2025-01-15 09:00:00');
         INSERT INTO tests (id, title, subject_id, lesson_id) VALUES (1, 'Тест 1', 1, 12), (2, 'Тест 2', 1, 15), (3, 'Без урока', 3, NULL);
         INSERT INTO questions (id, test_id, question_text, correct_option_index) VALUES
           (1, 1, '2+2?', 0), (2, 1, 'Столица?', 1), (3, 2, 'Без верного', 5), (4, 2, 'Дубль', 0), (5, 3, 'Q', 0);
         INSERT INTO options (id, question_id, option_text, option_index) VALUES
           (1, 1, '4', 0), (2, 1, '5', 1), (3, 1, '6', 2), (4, 2, 'Алматы', 0), (5, 2, 'Астана', 1),
           (6, 3, 'a', 0), (7, 3, 'b', 1), (8, 4, 'x', 0), (9, 4, 'y', 0), (10, 5, 'q', 0);
         INSERT INTO lesson_submissions (id, lesson_id, user_id, comment, grade, submitted_at) VALUES
           (1, 11, 4, 'готово', 90, '2025-02-01 10:00:00'),
           (2, 11, 5, NULL, 150, '2025-02-01 11:00:00'),
           (3, NULL, 4, 'потерянный', NULL, '2025-02-01 12:00:00'),
           (4, 11, 6, NULL, NULL, '2025-02-01 13:00:00');
         INSERT INTO submission_files (id, submission_id, file_path) VALUES
           (1, 1, '{homework_path}'), (2, 1, 'static/homework/lesson_11/4_notes.txt'),
           (3, 2, 'static/homework/lesson_11/5_missing.pdf'), (4, 2, '../../etc/passwd');
         ALTER TABLE results DROP CONSTRAINT results_lesson_fk;
         INSERT INTO results (id, user_id, lesson_id, test_id, score, submitted_at) VALUES
           (1, 4, 12, 1, 50.0, '2025-03-01 10:00:00+00'),
           (2, 4, 12, 1, 100.0, '2025-03-02 10:00:00+00'),
           (3, 5, 15, 2, 33.33, '2025-03-03 10:00:00+00'),
           (4, 8, 999, NULL, 80.0, '2025-03-04 10:00:00+00'),
           (5, 8, 999, 3, 70.0, '2025-03-05 10:00:00+00'),
           (6, 4, 15, 2, 150.0, NULL);"
    ))
    .await;
    Sample {
        student_iin: "012345678901",
        student_password: "old-pass-4",
        student_id: 4,
        restored_iin: "012345678902",
        restored_password: "old-pass-5",
        photo,
        photo_path,
        homework,
        homework_path,
        document,
        document_path,
        visible_lessons: vec![10, 11, 12, 13, 15],
    }
}
