//! `edu import legacy` through the library: an old deployment (database on the test PostgreSQL
//! server, static folder in a temporary directory) imported into SQLite and into PostgreSQL, and
//! checked through `Platform` as its users would see it.

use std::collections::HashSet;

use edu_core::conformance::Fixture;
use edu_core::domain::LessonId;
use edu_core::files::FileStore;
use edu_core::legacy::{self, LegacyError, LegacyOptions, LegacyReport, LegacySource, Outcome, ProblemKind};
use edu_core::store::legacy::LegacyStore;
use edu_core::{ClientInfo, PgStore, Platform, Principal, SqliteStore, Store};
use edu_tests::legacy::{OldDeployment, Sample, fill_sample};
use edu_tests::{pg_fixture, sqlite_fixture};
use futures_util::TryStreamExt;

/// Raw reads of what no platform call shows: the `legacy_files` contract table and triggers
/// that make a write fail midway.
trait Raw {
    async fn legacy_key(&self, path: &str) -> Option<String>;
    async fn exec(&self, sql: &str);
    const FAIL_ATTEMPTS: &'static str;
    const UNFAIL_ATTEMPTS: &'static str;
}

impl Raw for SqliteStore {
    async fn legacy_key(&self, path: &str) -> Option<String> {
        sqlx::query_scalar("SELECT storage_key FROM legacy_files WHERE path = $1")
            .bind(path)
            .fetch_optional(self.pool())
            .await
            .expect("legacy_files")
    }
    async fn exec(&self, sql: &str) {
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
            .execute(self.pool())
            .await
            .expect("sql");
    }
    const FAIL_ATTEMPTS: &'static str =
        "CREATE TRIGGER fail_attempts BEFORE INSERT ON attempts BEGIN SELECT RAISE(ABORT, 'disk full'); END";
    const UNFAIL_ATTEMPTS: &'static str = "DROP TRIGGER fail_attempts";
}

impl Raw for PgStore {
    async fn legacy_key(&self, path: &str) -> Option<String> {
        sqlx::query_scalar("SELECT storage_key FROM legacy_files WHERE path = $1")
            .bind(path)
            .fetch_optional(self.pool())
            .await
            .expect("legacy_files")
    }
    async fn exec(&self, sql: &str) {
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
            .execute(self.pool())
            .await
            .expect("sql");
    }
    const FAIL_ATTEMPTS: &'static str = "CREATE FUNCTION fail() RETURNS trigger LANGUAGE plpgsql AS \
        $$ BEGIN RAISE EXCEPTION 'disk full'; END $$; \
        CREATE TRIGGER fail_attempts BEFORE INSERT ON attempts FOR EACH STATEMENT EXECUTE FUNCTION fail()";
    const UNFAIL_ATTEMPTS: &'static str = "DROP TRIGGER fail_attempts ON attempts";
}

async fn run<S: LegacyStore + Sync>(
    old: &OldDeployment,
    store: &S,
    files: &FileStore,
    dry_run: bool,
    merge: bool,
) -> Result<LegacyReport, LegacyError> {
    let source = LegacySource::connect(&old.url).await.expect("old database");
    let options = LegacyOptions {
        static_dir: old.static_dir().to_owned(),
        dry_run,
        merge,
    };
    legacy::import(&source, store, files, &options, &|_| {}).await
}

async fn login<S: Store>(platform: &Platform<S>, iin: &str, password: &str) -> Principal {
    let session = platform
        .login(iin, password, ClientInfo::default())
        .await
        .unwrap_or_else(|e| panic!("{iin} logs in with the old password: {e}"));
    platform
        .authenticate(&session.tokens.access_token)
        .await
        .expect("token")
}

async fn bytes_of(download: edu_core::files::Download) -> Vec<u8> {
    let chunks: Vec<bytes::Bytes> = download.body.try_collect().await.expect("download body");
    chunks.concat()
}

fn stored_files(dir: &std::path::Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries
        .flatten()
        .map(|e| {
            let path = e.path();
            if path.is_dir() { stored_files(&path) } else { 1 }
        })
        .sum()
}

fn kinds(report: &LegacyReport, table: &str, id: i64) -> Vec<ProblemKind> {
    report
        .problems
        .iter()
        .filter(|p| p.table == table && p.id == id)
        .map(|p| p.kind)
        .collect()
}

/// Every defect of the sample, reported on its row.
fn assert_defects_reported(report: &LegacyReport) {
    let expect = [
        ("users", 5, ProblemKind::IinRestored),
        ("users", 5, ProblemKind::DuplicatePhone),
        ("users", 6, ProblemKind::InvalidIin),
        ("users", 7, ProblemKind::DuplicateIin),
        ("users", 8, ProblemKind::InvalidPhone),
        ("groups", 2, ProblemKind::DuplicateName),
        ("user_group", 6, ProblemKind::MissingReference),
        ("user_group", 7, ProblemKind::MissingReference),
        ("subjects", 2, ProblemKind::DuplicateName),
        ("lessons", 13, ProblemKind::EmptyContentUrl),
        ("lessons", 14, ProblemKind::MissingFile),
        ("questions", 3, ProblemKind::NoCorrectOption),
        ("options", 9, ProblemKind::DuplicateOption),
        ("lesson_submissions", 2, ProblemKind::GradeOutOfRange),
        ("lesson_submissions", 3, ProblemKind::MissingReference),
        ("lesson_submissions", 4, ProblemKind::MissingReference),
        ("submission_files", 3, ProblemKind::MissingFile),
        ("submission_files", 4, ProblemKind::UnsafePath),
        ("results", 1, ProblemKind::ExtraResult),
        ("results", 4, ProblemKind::LessonGone),
        ("results", 5, ProblemKind::LessonGone),
        ("results", 6, ProblemKind::ScoreOutOfRange),
        ("results", 6, ProblemKind::MissingTime),
    ];
    for (table, id, kind) in expect {
        assert!(
            kinds(report, table, id).contains(&kind),
            "{table} #{id} reported as {kind:?}; problems: {:#?}",
            report.problems
        );
    }
}

/// What a student and the others see after the import.
async fn assert_imported<S: Store + Raw>(fx: &Fixture<S>, sample: &Sample, lesson_offset: i64) {
    let platform = &fx.platform;
    let student = login(platform, sample.student_iin, sample.student_password).await;
    let restored = login(platform, sample.restored_iin, sample.restored_password).await;
    assert_ne!(student.id(), restored.id());

    // The same lessons, under the same ids (or the mapped ones).
    let modules = platform.modules(&student).await.expect("modules");
    let mut lessons: Vec<i64> = modules
        .iter()
        .flat_map(|m| m.subjects.iter().flat_map(|s| s.lessons.iter().map(|l| l.id.0)))
        .collect();
    lessons.sort();
    let expected: Vec<i64> = sample.visible_lessons.iter().map(|l| l + lesson_offset).collect();
    assert_eq!(lessons, expected, "the student sees the old lessons");
    let subjects: HashSet<String> = modules
        .iter()
        .flat_map(|m| m.subjects.iter().map(|s| s.subject.title.clone()))
        .collect();
    assert!(
        subjects.contains("rust (2)"),
        "the duplicate subject was renamed: {subjects:?}"
    );

    // The same grades: homework 90, the best of two results (100), the clamped score.
    let grades = platform.my_grades(&student).await.expect("grades");
    let homework: Vec<Option<f64>> = grades
        .iter()
        .filter(|g| g.lesson_id == Some(LessonId(11 + lesson_offset)) && g.test_id.is_none())
        .map(|g| g.grade)
        .collect();
    assert_eq!(homework, vec![Some(90.0)]);
    let test1: Vec<Option<f64>> = grades
        .iter()
        .filter(|g| g.lesson_id == Some(LessonId(12 + lesson_offset)))
        .map(|g| g.grade)
        .collect();
    assert_eq!(test1, vec![Some(100.0)], "one result per one-attempt test, the best");
    let restored_grades = platform.my_grades(&restored).await.expect("grades");
    assert!(
        restored_grades
            .iter()
            .any(|g| g.grade.is_some_and(|s| (s - 33.33).abs() < 1e-9)),
        "fractional scores survive: {restored_grades:?}"
    );
    assert!(
        restored_grades.iter().all(|g| g.grade != Some(150.0)),
        "an out-of-range grade is not imported"
    );

    // The homework file, byte for byte, to its owner.
    let submissions = platform
        .my_submissions(&student, LessonId(11 + lesson_offset))
        .await
        .expect("submissions");
    assert_eq!(submissions.len(), 1);
    assert_eq!(submissions[0].comment.as_deref(), Some("готово"));
    assert_eq!(submissions[0].files.len(), 2);
    let pdf = submissions[0]
        .files
        .iter()
        .find(|f| f.file_name.ends_with(".pdf"))
        .expect("the homework pdf");
    let (meta, download) = platform
        .download(&student, &pdf.file_path, None)
        .await
        .expect("download");
    assert_eq!(meta.content_type, "application/pdf");
    assert_eq!(bytes_of(download).await, sample.homework);
    let key = fx.store().legacy_key(&sample.homework_path).await;
    assert_eq!(
        key.as_deref(),
        Some(pdf.key.as_str()),
        "the old homework path leads to it"
    );
    let other = login(platform, "990909300008", "old-pass-8").await;
    assert!(
        platform.download(&other, &pdf.file_path, None).await.is_err(),
        "someone else's homework stays private"
    );

    // The lesson document, attached to its lesson, by its old path.
    let doc_key = fx
        .store()
        .legacy_key(&sample.document_path)
        .await
        .expect("the document's old path is mapped");
    let (_, download) = platform.download(&student, &doc_key, None).await.expect("document");
    assert_eq!(bytes_of(download).await, sample.document);
    let lesson = platform
        .lesson(&student, LessonId(10 + lesson_offset))
        .await
        .expect("lesson");
    assert_eq!(
        lesson.lesson.content_url.as_deref(),
        Some(format!("/{}", sample.document_path).as_str())
    );
    assert_eq!(lesson.lesson.kind, edu_core::domain::LessonKind::Pdf);

    // The photo, under the key the profile shows, and by its old path.
    let me = platform.me(&student).await.expect("me");
    let url = me.photo.expect("the photo came across");
    let name = url.rsplit('/').next().expect("file name");
    let (_, download) = platform.photo(name, None).await.expect("photo");
    assert_eq!(bytes_of(download).await, sample.photo);
    let photo_key = fx
        .store()
        .legacy_key(sample.photo_path)
        .await
        .expect("photo path mapped");
    assert_eq!(format!("static/{photo_key}"), url, "the photo path in the old form");
}

async fn imports_a_deployment<S: Store + LegacyStore + Raw + Sync>(fx: Option<Fixture<S>>) {
    let Some(fx) = fx else { return };
    let Some(old) = OldDeployment::create().await else {
        return;
    };
    let sample = fill_sample(&old).await;
    let files = fx.platform.files().expect("file store").clone();
    let store = fx.store();

    // A dry run reads and checks everything and writes nothing.
    let dry = run(&old, store, &files, true, false).await.expect("dry run");
    assert_eq!(dry.outcome, Outcome::DryRun);
    assert_defects_reported(&dry);
    assert_eq!(dry.written.get("users"), Some(&6));
    assert_eq!(stored_files(fx.files_dir.path()), 0, "a dry run copies no file");
    assert!(
        fx.platform
            .login(sample.student_iin, sample.student_password, ClientInfo::default())
            .await
            .is_err(),
        "a dry run writes no user"
    );

    // A failure midway (while writing results) writes no rows and leaves no file behind.
    store.exec(S::FAIL_ATTEMPTS).await;
    let failed = run(&old, store, &files, false, false).await;
    assert!(matches!(failed, Err(LegacyError::Target(_))), "{failed:?}");
    assert_eq!(
        stored_files(fx.files_dir.path()),
        0,
        "the copied files are removed again"
    );
    assert!(
        fx.platform
            .login(sample.student_iin, sample.student_password, ClientInfo::default())
            .await
            .is_err()
    );
    store.exec(S::UNFAIL_ATTEMPTS).await;

    // The import.
    let report = run(&old, store, &files, false, false).await.expect("import");
    assert_eq!(report.outcome, Outcome::Imported);
    assert_defects_reported(&report);
    assert!(report.id_map.is_empty(), "ids are kept: {:?}", report.id_map);
    assert_eq!(report.written.get("users"), Some(&6));
    assert_eq!(report.written.get("lessons"), Some(&6));
    assert_eq!(report.written.get("attempts"), Some(&4));
    assert_eq!(report.written.get("submissions"), Some(&2));
    assert_eq!(report.written.get("legacy_files"), Some(&4));
    assert_eq!(report.files.copied, 4);
    assert_eq!(report.files.missing, 2);
    let json = serde_json::to_value(&report).expect("json");
    assert_eq!(json["outcome"], "imported");
    assert!(
        json["problems"]
            .as_array()
            .is_some_and(|p| p.iter().any(|p| p["kind"] == "iin_restored"))
    );
    assert_imported(&fx, &sample, 0).await;

    // New rows continue after the imported ids.
    let admin = login(&fx.platform, "800101300001", "admin-pass-1").await;
    let group = fx.platform.create_group(&admin, "Новая", None).await.expect("group");
    assert!(
        group.id.0 > 3,
        "the group sequence continues after the imported ids: {}",
        group.id.0
    );

    // A second run changes nothing.
    let files_before = stored_files(fx.files_dir.path());
    let again = run(&old, store, &files, false, false).await.expect("second run");
    assert_eq!(again.outcome, Outcome::NothingToDo);
    assert!(again.written.is_empty());
    assert_eq!(stored_files(fx.files_dir.path()), files_before);
    let again = run(&old, store, &files, false, true)
        .await
        .expect("second run with --merge");
    assert_eq!(again.outcome, Outcome::NothingToDo);
    assert_imported(&fx, &sample, 0).await;
    old.drop().await;
}

#[tokio::test]
#[cfg_attr(
    edu_skip_postgres,
    ignore = "the old database is PostgreSQL: set EDU_TEST_DATABASE_URL"
)]
async fn imports_a_deployment_into_sqlite() {
    imports_a_deployment(sqlite_fixture().await).await;
}

#[tokio::test]
#[cfg_attr(
    edu_skip_postgres,
    ignore = "the old database is PostgreSQL: set EDU_TEST_DATABASE_URL"
)]
async fn imports_a_deployment_into_postgres() {
    imports_a_deployment(pg_fixture().await).await;
}

async fn merges_into_a_target_with_data<S: Store + LegacyStore + Raw + Sync>(fx: Option<Fixture<S>>) {
    let Some(fx) = fx else { return };
    let Some(old) = OldDeployment::create().await else {
        return;
    };
    let sample = fill_sample(&old).await;
    let files = fx.platform.files().expect("file store").clone();
    let store = fx.store();

    // The target already runs a school: a group, a module with a lesson, a student.
    let admin = fx
        .platform
        .provision_user(edu_core::CreateUser {
            iin: "800101300001".into(),
            full_name: "Админ Здесь".into(),
            phone: None,
            role: Some(edu_core::Role::Admin),
            password: "admin-here-pass".into(),
        })
        .await
        .expect("admin");
    let admin = login(&fx.platform, admin.iin.as_str(), "admin-here-pass").await;
    fx.platform.create_group(&admin, "ПО-22-1", None).await.expect("group");
    for i in 0..10 {
        fx.platform
            .provision_user(edu_core::CreateUser {
                iin: format!("7001013000{i:02}"),
                full_name: format!("Студент {i}"),
                phone: None,
                role: Some(edu_core::Role::Student),
                password: "student-here-pass".into(),
            })
            .await
            .expect("student");
    }
    let module = fx
        .platform
        .create_module(
            &admin,
            edu_core::domain::NewModule {
                title: "Уже здесь".into(),
                course: None,
                description: None,
            },
        )
        .await
        .expect("module");
    let subject = fx
        .platform
        .create_subject(&admin, module.id, "Предмет")
        .await
        .expect("subject");
    for i in 0..20 {
        fx.platform
            .create_lesson(
                &admin,
                subject.id,
                edu_core::NewLesson {
                    title: format!("lesson {i}"),
                    label: "video".into(),
                    content_url: None,
                    description: None,
                    test_id: None,
                },
            )
            .await
            .expect("lesson");
    }

    let refused = run(&old, store, &files, false, false).await;
    assert!(matches!(refused, Err(LegacyError::NotEmpty(_))), "{refused:?}");
    assert_eq!(stored_files(fx.files_dir.path()), 0, "a refused import copies no file");

    let report = run(&old, store, &files, false, true).await.expect("merge");
    assert_eq!(report.outcome, Outcome::Imported);
    assert!(report.merge);
    let lessons = report.id_map.get("lessons").expect("lesson ids mapped");
    assert_eq!(lessons.len(), 6);
    let offset = lessons[&10] - 10;
    assert!(lessons[&10] > 20, "new lesson ids come after the target's: {lessons:?}");
    assert!(
        lessons.iter().all(|(old, new)| new - old == offset),
        "one run, consecutive ids"
    );
    assert_eq!(admin.id().0, 1, "the target's admin has the old admin's id and IIN");
    assert!(
        !report.id_map["users"].contains_key(&1),
        "the old admin is the target's admin"
    );
    assert!(report.id_map["users"][&4] > 11, "everyone else gets a new id");
    assert!(kinds(&report, "users", 1).contains(&ProblemKind::ExistingAccount));
    assert!(
        kinds(&report, "groups", 1).contains(&ProblemKind::DuplicateName),
        "{:?}",
        report.problems
    );
    assert_imported(&fx, &sample, offset).await;
    // The existing admin keeps their own password.
    login(&fx.platform, "800101300001", "admin-here-pass").await;

    let again = run(&old, store, &files, false, true).await.expect("second merge");
    assert_eq!(again.outcome, Outcome::NothingToDo);
    old.drop().await;
}

#[tokio::test]
#[cfg_attr(
    edu_skip_postgres,
    ignore = "the old database is PostgreSQL: set EDU_TEST_DATABASE_URL"
)]
async fn merges_into_a_target_with_data_sqlite() {
    merges_into_a_target_with_data(sqlite_fixture().await).await;
}

#[tokio::test]
#[cfg_attr(
    edu_skip_postgres,
    ignore = "the old database is PostgreSQL: set EDU_TEST_DATABASE_URL"
)]
async fn merges_into_a_target_with_data_postgres() {
    merges_into_a_target_with_data(pg_fixture().await).await;
}

/// An S3 file store in its own prefix of the test bucket (see conformance_s3.rs).
async fn s3_store() -> Option<FileStore> {
    let Some(endpoint) = std::env::var("EDU_TEST_S3_URL").ok().filter(|u| !u.trim().is_empty()) else {
        let msg = "EDU_TEST_S3_URL is not set: the legacy import into S3 cannot run";
        if std::env::var_os("CI").is_some() {
            panic!("{msg} (refusing to skip under CI)");
        }
        use std::io::Write;
        let _ = writeln!(std::io::stderr(), "\n!!! SKIPPING S3 TEST: {msg}\n");
        return None;
    };
    let endpoint = endpoint.trim_end_matches('/').to_owned();
    let bucket = "edu-legacy";
    let created = edu_tests::http()
        .build()
        .expect("http client")
        .put(format!("{endpoint}/{bucket}"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("the S3 service at {endpoint} does not answer: {e}"));
    assert!(created.status().is_success() || created.status().as_u16() == 409);
    let url = format!("s3://{bucket}/t{}", uuid::Uuid::new_v4().simple());
    let options = [
        ("aws_endpoint", endpoint.as_str()),
        ("aws_allow_http", "true"),
        ("aws_region", "us-east-1"),
        ("aws_access_key_id", "edu-test"),
        ("aws_secret_access_key", "edu-test-secret"),
    ];
    let store = FileStore::from_url(&url, &options).expect("an S3 store");
    store.check().await.expect("the bucket answers");
    Some(store)
}

#[tokio::test]
#[cfg_attr(
    edu_skip_postgres,
    ignore = "the old database is PostgreSQL: set EDU_TEST_DATABASE_URL"
)]
async fn imports_files_into_s3() {
    let Some(files) = s3_store().await else { return };
    let fx = edu_core::conformance::harness::sqlite_fixture_with_files(files.clone()).await;
    let Some(old) = OldDeployment::create().await else {
        return;
    };
    let sample = fill_sample(&old).await;
    let report = run(&old, fx.store(), &files, false, false).await.expect("import");
    assert_eq!(report.files.copied, 4);
    assert_eq!(
        report.files.bytes,
        (sample.homework.len() + sample.document.len() + sample.photo.len() + "заметки\n".len()) as u64
    );
    assert_imported(&fx, &sample, 0).await;
    old.drop().await;
}

/// Refuses a database at an older migration of the old backend, before anything is written.
#[tokio::test]
#[cfg_attr(
    edu_skip_postgres,
    ignore = "the old database is PostgreSQL: set EDU_TEST_DATABASE_URL"
)]
async fn refuses_an_old_database_not_at_its_last_migration() {
    let Some(fx) = sqlite_fixture().await else { return };
    let Some(old) = OldDeployment::create().await else {
        return;
    };
    old.sql("UPDATE alembic_version SET version_num = '33732b012934'").await;
    let files = fx.platform.files().expect("files").clone();
    let result = run(&old, fx.store(), &files, false, false).await;
    let Err(LegacyError::Source(e)) = result else {
        panic!("refused: {result:?}")
    };
    assert!(e.to_string().contains("alembic upgrade head"), "{e}");
    old.drop().await;
}

/// The default `edu seed` school (2,000 students in 70 groups, 20 teachers, 10 modules of 4
/// subjects of 10 lessons, 4 modules per group; ~100k homework and test results, most graded)
/// written in the old schema, with lesson documents and a share of homework files on disk.
/// One IIN in 20 has lost its leading zero, as spreadsheets leave them.
async fn fill_school(old: &OldDeployment) {
    let hash = edu_tests::legacy::old_hash("school-password");
    old.sql(&format!(
        "INSERT INTO users (id, full_name, iin, role, hashed_password) VALUES (1, 'Админ', '800101300001', 'admin', '{hash}');
         INSERT INTO users (id, full_name, iin, role, hashed_password)
           SELECT 1 + i, 'Учитель ' || i, (850000000000 + i)::text, 'teacher', '{hash}' FROM generate_series(1, 20) i;
         INSERT INTO users (id, full_name, iin, role, hashed_password)
           SELECT 100 + i, 'Студент ' || i,
                  CASE WHEN i % 20 = 0 THEN (10000000000 + i)::text ELSE lpad((10000000000 + i)::text, 12, '0') END,
                  'student', '{hash}'
           FROM generate_series(1, 2000) i;
         INSERT INTO groups (id, name) SELECT g, 'Группа ' || g FROM generate_series(1, 70) g;
         INSERT INTO user_group SELECT 100 + i, 1 + (i % 70) FROM generate_series(1, 2000) i;
         INSERT INTO modules (id, title, course, created_at) SELECT m, 'Модуль ' || m, '2', now() FROM generate_series(1, 10) m;
         INSERT INTO module_group SELECT DISTINCT 1 + ((g + k) % 10), g FROM generate_series(1, 70) g, generate_series(0, 3) k;
         INSERT INTO subjects (id, module_id, teacher_id, title)
           SELECT s, 1 + (s - 1) / 4, 2 + ((s - 1) % 20), 'Предмет ' || s FROM generate_series(1, 40) s;
         INSERT INTO lessons (id, subject_id, title, type, content_url, created_at)
           SELECT l, 1 + (l - 1) / 10, 'Урок ' || l,
                  CASE WHEN (l - 1) % 10 < 4 THEN 'Лекция' WHEN (l - 1) % 10 < 7 THEN 'Практика' ELSE 'Тест' END,
                  CASE WHEN (l - 1) % 10 < 4 THEN 'https://video.example/' || l
                       WHEN (l - 1) % 10 < 7 THEN '/static/lesson_docs/' || lpad(l::text, 32, '0') || '.pdf'
                       ELSE '/test/' || l END,
                  now()
           FROM generate_series(1, 400) l;
         INSERT INTO tests (id, title, subject_id, lesson_id)
           SELECT l, 'Тест ' || l, 1 + (l - 1) / 10, l FROM generate_series(1, 400) l WHERE (l - 1) % 10 >= 7;
         INSERT INTO questions (id, test_id, question_text, correct_option_index)
           SELECT t.id * 10 + q, t.id, 'Вопрос ' || q, q % 4 FROM tests t, generate_series(0, 4) q;
         INSERT INTO options (id, question_id, option_text, option_index)
           SELECT q.id * 10 + o, q.id, 'Ответ ' || o, o FROM questions q, generate_series(0, 3) o;
         INSERT INTO lesson_submissions (lesson_id, user_id, grade, submitted_at)
           SELECT l, 100 + i, CASE WHEN (i + l) % 5 = 0 THEN NULL ELSE 50 + (i * l) % 51 END, now() - interval '1 day'
           FROM generate_series(1, 2000) i CROSS JOIN generate_series(0, 3) k
           CROSS JOIN LATERAL generate_series(((1 + ((1 + (i % 70) + k) % 10)) - 1) * 40 + 1,
                                              (1 + ((1 + (i % 70) + k) % 10)) * 40) l
           WHERE (l - 1) % 10 < 7 AND (i * 31 + l * 17) % 10 < 3;
         INSERT INTO submission_files (submission_id, file_path)
           SELECT id, 'static/homework/lesson_' || lesson_id || '/' || user_id || '_' || lpad(id::text, 32, '0') || '.pdf'
           FROM lesson_submissions WHERE id % 20 = 0;
         INSERT INTO results (user_id, lesson_id, test_id, score, submitted_at)
           SELECT 100 + i, l, l, ((i + l) % 6) * 20.0, now() - interval '2 days'
           FROM generate_series(1, 2000) i CROSS JOIN generate_series(0, 3) k
           CROSS JOIN LATERAL generate_series(((1 + ((1 + (i % 70) + k) % 10)) - 1) * 40 + 1,
                                              (1 + ((1 + (i % 70) + k) % 10)) * 40) l
           WHERE (l - 1) % 10 >= 7 AND (i * 13 + l * 7) % 5 < 2;"
    ))
    .await;
    let mut doc = b"%PDF-1.4\n".to_vec();
    doc.resize(200 * 1024, b'x');
    for l in (1..=400).filter(|l| (l - 1) % 10 >= 4 && (l - 1) % 10 < 7) {
        old.put_file(&format!("static/lesson_docs/{l:032}.pdf"), &doc);
    }
    let paths: Vec<(String,)> = sqlx::query_as("SELECT file_path FROM submission_files")
        .fetch_all(&old.pool)
        .await
        .expect("homework paths");
    let mut homework = b"%PDF-1.7\n".to_vec();
    homework.resize(20 * 1024, b'h');
    for (path,) in &paths {
        old.put_file(path, &homework);
    }
}

async fn time_school_import<S: Store + LegacyStore + Sync>(fx: Option<Fixture<S>>, backend: &str) {
    let Some(fx) = fx else { return };
    let Some(old) = OldDeployment::create().await else {
        return;
    };
    let started = std::time::Instant::now();
    fill_school(&old).await;
    let filled = started.elapsed();
    let files = fx.platform.files().expect("files").clone();
    let started = std::time::Instant::now();
    let report = run(&old, fx.store(), &files, false, false).await.expect("import");
    let took = started.elapsed();
    let items =
        report.written.get("submissions").copied().unwrap_or(0) + report.written.get("attempts").copied().unwrap_or(0);
    eprintln!(
        "{backend}: old school written in {:.1} s; imported in {:.2} s: {} rows in all, {items} homework and results, \
         {} files ({:.1} MiB), {} problems",
        filled.as_secs_f64(),
        took.as_secs_f64(),
        report.written.values().sum::<u64>(),
        report.files.copied,
        report.files.bytes as f64 / (1024.0 * 1024.0),
        report.problems.len()
    );
    assert_eq!(report.written.get("users"), Some(&2021));
    old.drop().await;
}

/// Timing: `cargo test -p edu-tests --test legacy_import -- --ignored --nocapture school`.
#[tokio::test]
#[ignore = "a measurement: run it on purpose"]
async fn school_import_sqlite() {
    time_school_import(sqlite_fixture().await, "SQLite").await;
}

#[tokio::test]
#[ignore = "a measurement: run it on purpose"]
async fn school_import_postgres() {
    time_school_import(pg_fixture().await, "PostgreSQL").await;
}
