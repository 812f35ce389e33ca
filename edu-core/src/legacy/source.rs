//! Reading the old backend's database: one query per table, every row at once.
//!
//! The old schema (its last migration) keeps ids as `INTEGER`, the role as an enum type and most
//! times as `timestamp without time zone` written in UTC; the queries turn them into what edu
//! uses (`BIGINT`, text, UTC timestamps) so that nothing is converted row by row here.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{FromRow, PgPool};

use crate::error::StoreError;
use crate::store::normalize_url;

/// The old database's last migration; an older one has homework files inside `lesson_submissions`.
pub const LAST_MIGRATION: &str = "7a2a4924f9e5";

/// A row of the old `users` table.
#[derive(Debug, Clone, FromRow)]
pub struct OldUser {
    /// The old id.
    pub id: i64,
    /// Full name as stored.
    pub full_name: String,
    /// IIN as stored, not yet checked.
    pub iin: String,
    /// The old role enum's name, as text.
    pub role: String,
    /// Phone as stored, not yet checked.
    pub phone: Option<String>,
    /// The old bcrypt hash, kept so that old passwords keep working.
    pub hashed_password: String,
    /// The avatar's path as stored, if any.
    pub photo: Option<String>,
}

/// A row of the old `groups` table.
#[derive(Debug, Clone, FromRow)]
pub struct OldGroup {
    /// The old id.
    pub id: i64,
    /// The group's name as stored.
    pub name: String,
    /// Free text about the group, if any.
    pub description: Option<String>,
}

/// A row of the old `modules` table.
#[derive(Debug, Clone, FromRow)]
pub struct OldModule {
    /// The old id.
    pub id: i64,
    /// The module's title as stored.
    pub title: String,
    /// Free text about the module, if any.
    pub description: Option<String>,
    /// Free-text course, if any.
    pub course: Option<String>,
    /// Creation time (UTC), when the old row has one.
    pub created_at: Option<DateTime<Utc>>,
}

/// A row of the old `subjects` table.
#[derive(Debug, Clone, FromRow)]
pub struct OldSubject {
    /// The old id.
    pub id: i64,
    /// Old id of the module it belongs to.
    pub module_id: i64,
    /// Old id of its teacher, if any.
    pub teacher_id: Option<i64>,
    /// The subject's title as stored.
    pub title: String,
}

/// A row of the old `lessons` table.
#[derive(Debug, Clone, FromRow)]
pub struct OldLesson {
    /// The old id.
    pub id: i64,
    /// Old id of the subject it belongs to.
    pub subject_id: i64,
    /// The lesson's title as stored.
    pub title: String,
    /// The `type` column: the label the old frontend sent.
    pub label: String,
    /// Free text about the lesson, if any.
    pub description: Option<String>,
    /// An address, a document's path under `static/`, or a test's `/test/{id}`, as stored.
    pub content_url: String,
    /// Creation time (UTC), when the old row has one.
    pub created_at: Option<DateTime<Utc>>,
}

/// A row of the old `lesson_submissions` table.
#[derive(Debug, Clone, FromRow)]
pub struct OldSubmission {
    /// The old id.
    pub id: i64,
    /// Old id of the lesson, if the old row names one.
    pub lesson_id: Option<i64>,
    /// Old id of the student, if the old row names one.
    pub user_id: Option<i64>,
    /// The student's note, if any.
    pub comment: Option<String>,
    /// The grade as stored; the plan checks its range.
    pub grade: Option<i64>,
    /// Hand-in time (UTC), when the old row has one.
    pub submitted_at: Option<DateTime<Utc>>,
}

/// A row of the old `submission_files` table.
#[derive(Debug, Clone, FromRow)]
pub struct OldSubmissionFile {
    /// The old id.
    pub id: i64,
    /// Old id of the submission the file belongs to.
    pub submission_id: i64,
    /// The file's path as stored, under the old `static/` folder.
    pub file_path: String,
}

/// A row of the old `tests` table.
#[derive(Debug, Clone, FromRow)]
pub struct OldTest {
    /// The old id.
    pub id: i64,
    /// The test's title as stored.
    pub title: String,
    /// Old id of the subject it belongs to.
    pub subject_id: i64,
    /// Old id of the lesson it is linked to, if any.
    pub lesson_id: Option<i64>,
}

/// A row of the old `questions` table (single choice only).
#[derive(Debug, Clone, FromRow)]
pub struct OldQuestion {
    /// The old id.
    pub id: i64,
    /// Old id of the test it belongs to.
    pub test_id: i64,
    /// The question's text as stored.
    pub question_text: String,
    /// The option index that is correct.
    pub correct_option_index: i64,
}

/// A row of the old `options` table.
#[derive(Debug, Clone, FromRow)]
pub struct OldOption {
    /// The old id.
    pub id: i64,
    /// Old id of the question it belongs to.
    pub question_id: i64,
    /// The option's text as stored.
    pub option_text: String,
    /// The option's index within its question.
    pub option_index: i64,
}

/// A row of the old `results` table: one submitted attempt.
#[derive(Debug, Clone, FromRow)]
pub struct OldResult {
    /// The old id.
    pub id: i64,
    /// Old id of the student.
    pub user_id: i64,
    /// Old id of the lesson, if any.
    pub lesson_id: Option<i64>,
    /// Old id of the test, if any.
    pub test_id: Option<i64>,
    /// The score as stored; 0–100 is expected, and the plan clamps others.
    pub score: f64,
    /// Submission time (UTC), when the old row has one.
    pub submitted_at: Option<DateTime<Utc>>,
}

/// Everything in the old database, each table ordered by id.
#[derive(Debug, Clone, Default)]
pub struct OldData {
    /// The `users` table.
    pub users: Vec<OldUser>,
    /// The `groups` table.
    pub groups: Vec<OldGroup>,
    /// (user, group)
    pub user_group: Vec<(i64, i64)>,
    /// The `modules` table.
    pub modules: Vec<OldModule>,
    /// (module, group)
    pub module_group: Vec<(i64, i64)>,
    /// (module, teacher)
    pub teacher_module: Vec<(i64, i64)>,
    /// The `subjects` table.
    pub subjects: Vec<OldSubject>,
    /// The `lessons` table.
    pub lessons: Vec<OldLesson>,
    /// The `lesson_submissions` table.
    pub submissions: Vec<OldSubmission>,
    /// The `submission_files` table.
    pub submission_files: Vec<OldSubmissionFile>,
    /// The `tests` table.
    pub tests: Vec<OldTest>,
    /// The `questions` table.
    pub questions: Vec<OldQuestion>,
    /// The `options` table.
    pub options: Vec<OldOption>,
    /// The `results` table.
    pub results: Vec<OldResult>,
}

impl OldData {
    /// Rows in all tables.
    pub fn rows(&self) -> usize {
        self.users.len()
            + self.groups.len()
            + self.user_group.len()
            + self.modules.len()
            + self.module_group.len()
            + self.teacher_module.len()
            + self.subjects.len()
            + self.lessons.len()
            + self.submissions.len()
            + self.submission_files.len()
            + self.tests.len()
            + self.questions.len()
            + self.options.len()
            + self.results.len()
    }
}

/// A connection to the old database.
#[derive(Debug, Clone)]
pub struct LegacySource {
    pool: PgPool,
}

impl LegacySource {
    /// Connects to the old database; `postgresql+asyncpg://` URLs are accepted as they are.
    /// `?options=-c search_path=…` selects a schema other than `public`.
    pub async fn connect(url: &str) -> Result<LegacySource, StoreError> {
        let options = PgConnectOptions::from_str(&normalize_url(url))?;
        let pool = PgPoolOptions::new().max_connections(2).connect_with(options).await?;
        Ok(LegacySource { pool })
    }

    /// Reads the old database through a pool the caller already has.
    pub fn from_pool(pool: PgPool) -> LegacySource {
        LegacySource { pool }
    }

    /// Reads every table. Refuses a database that is not at the old backend's last migration.
    pub async fn read(&self) -> Result<OldData, StoreError> {
        let mut tx = self.pool.begin().await?;
        // One snapshot for every table, so that rows refer to rows of the same moment.
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .execute(&mut *tx)
            .await?;
        let (files_table, alembic): (Option<String>, Option<String>) =
            sqlx::query_as("SELECT to_regclass('submission_files')::text, to_regclass('alembic_version')::text")
                .fetch_one(&mut *tx)
                .await?;
        if alembic.is_some() {
            let versions: Vec<(String,)> = sqlx::query_as("SELECT version_num::text FROM alembic_version")
                .fetch_all(&mut *tx)
                .await?;
            if !versions.iter().any(|(v,)| v == LAST_MIGRATION) {
                let found: Vec<&str> = versions.iter().map(|(v,)| v.as_str()).collect();
                return Err(StoreError::Other(
                    format!(
                        "the old database is at migration {found:?}, not at its last one ({LAST_MIGRATION}); \
                         upgrade it with the old backend's `alembic upgrade head` first"
                    )
                    .into(),
                ));
            }
        }
        if files_table.is_none() {
            return Err(StoreError::Other(
                "the old database has no submission_files table: it is not at its last migration \
                 (upgrade it with the old backend's `alembic upgrade head` first)"
                    .into(),
            ));
        }
        let t = &mut *tx;
        let data = OldData {
            users: sqlx::query_as(
                "SELECT id::bigint AS id, full_name, iin, role::text AS role, phone, hashed_password, photo \
                 FROM users ORDER BY id",
            )
            .fetch_all(&mut *t)
            .await?,
            groups: sqlx::query_as("SELECT id::bigint AS id, name, description FROM groups ORDER BY id")
                .fetch_all(&mut *t)
                .await?,
            user_group: sqlx::query_as(
                "SELECT user_id::bigint, group_id::bigint FROM user_group ORDER BY user_id, group_id",
            )
            .fetch_all(&mut *t)
            .await?,
            modules: sqlx::query_as(
                "SELECT id::bigint AS id, title, description, course, created_at AT TIME ZONE 'UTC' AS created_at \
                 FROM modules ORDER BY id",
            )
            .fetch_all(&mut *t)
            .await?,
            module_group: sqlx::query_as(
                "SELECT module_id::bigint, group_id::bigint FROM module_group ORDER BY module_id, group_id",
            )
            .fetch_all(&mut *t)
            .await?,
            teacher_module: sqlx::query_as(
                "SELECT module_id::bigint, teacher_id::bigint FROM teacher_module ORDER BY module_id, teacher_id",
            )
            .fetch_all(&mut *t)
            .await?,
            subjects: sqlx::query_as(
                "SELECT id::bigint AS id, module_id::bigint AS module_id, teacher_id::bigint AS teacher_id, title \
                 FROM subjects ORDER BY id",
            )
            .fetch_all(&mut *t)
            .await?,
            lessons: sqlx::query_as(
                "SELECT id::bigint AS id, subject_id::bigint AS subject_id, title, type AS label, description, \
                 content_url, created_at AT TIME ZONE 'UTC' AS created_at FROM lessons ORDER BY id",
            )
            .fetch_all(&mut *t)
            .await?,
            submissions: sqlx::query_as(
                "SELECT id::bigint AS id, lesson_id::bigint AS lesson_id, user_id::bigint AS user_id, comment, \
                 grade::bigint AS grade, submitted_at AT TIME ZONE 'UTC' AS submitted_at \
                 FROM lesson_submissions ORDER BY id",
            )
            .fetch_all(&mut *t)
            .await?,
            submission_files: sqlx::query_as(
                "SELECT id::bigint AS id, submission_id::bigint AS submission_id, file_path \
                 FROM submission_files ORDER BY id",
            )
            .fetch_all(&mut *t)
            .await?,
            tests: sqlx::query_as(
                "SELECT id::bigint AS id, title, subject_id::bigint AS subject_id, lesson_id::bigint AS lesson_id \
                 FROM tests ORDER BY id",
            )
            .fetch_all(&mut *t)
            .await?,
            questions: sqlx::query_as(
                "SELECT id::bigint AS id, test_id::bigint AS test_id, question_text, \
                 correct_option_index::bigint AS correct_option_index FROM questions ORDER BY id",
            )
            .fetch_all(&mut *t)
            .await?,
            options: sqlx::query_as(
                "SELECT id::bigint AS id, question_id::bigint AS question_id, option_text, \
                 option_index::bigint AS option_index FROM options ORDER BY id",
            )
            .fetch_all(&mut *t)
            .await?,
            results: sqlx::query_as(
                "SELECT id::bigint AS id, user_id::bigint AS user_id, lesson_id::bigint AS lesson_id, \
                 test_id::bigint AS test_id, score::float8 AS score, submitted_at FROM results ORDER BY id",
            )
            .fetch_all(&mut *t)
            .await?,
        };
        tx.commit().await?;
        Ok(data)
    }
}
