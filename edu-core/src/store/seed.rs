//! Bulk writing of a generated dataset, for measuring the read path (`edu seed`).
//!
//! Not part of `Store`: the server never needs it. The whole dataset is written in one
//! transaction with many rows per statement, so thousands of students take seconds, and a
//! refused or failed run leaves nothing behind.

use std::collections::HashMap;
use std::future::Future;

use chrono::{DateTime, Utc};

use super::{PgStore, SqliteStore, StoreResult};
use crate::domain::quiz::Answer;
use crate::domain::{Iin, LessonKind};
use crate::error::StoreError;

/// Rows per statement: at most 11 columns each, well under SQLite's 32,766 and PostgreSQL's
/// 65,535 bound parameters.
const ROWS: usize = 1000;

/// An account to create. Every seeded account has the dataset's password and may log in at once.
#[derive(Debug, Clone)]
pub struct SeedUser {
    /// The account's IIN, unique among the dataset's accounts.
    pub iin: Iin,
    /// Full name, "Surname Name Patronymic".
    pub full_name: String,
}

/// A group to create.
#[derive(Debug, Clone)]
pub struct SeedGroup {
    /// Unique among the groups.
    pub name: String,
    /// Free text about the group, if any.
    pub description: Option<String>,
}

/// A module to create.
#[derive(Debug, Clone)]
pub struct SeedModule {
    /// The module's title.
    pub title: String,
    /// Free-text course, if any.
    pub course: Option<String>,
    /// Free text about the module, if any.
    pub description: Option<String>,
}

/// A subject to create.
#[derive(Debug, Clone)]
pub struct SeedSubject {
    /// Index into [`SeedData::modules`].
    pub module: usize,
    /// Unique within the module (case-insensitively).
    pub title: String,
    /// Index into [`SeedData::teachers`].
    pub teacher: Option<usize>,
}

/// A lesson to create.
#[derive(Debug, Clone)]
pub struct SeedLesson {
    /// Index into [`SeedData::subjects`].
    pub subject: usize,
    /// Unique within the subject.
    pub title: String,
    /// The lesson's kind.
    pub kind: LessonKind,
    /// Free text about the lesson, if any.
    pub description: Option<String>,
    /// An address or a test's `/test/{id}`, if any.
    pub content_url: Option<String>,
    /// Creation time (UTC).
    pub created_at: DateTime<Utc>,
}

/// A test of single-choice questions, linked to a lesson; it belongs to the lesson's subject.
#[derive(Debug, Clone)]
pub struct SeedTest {
    /// Index into [`SeedData::lessons`]; at most one test per lesson.
    pub lesson: usize,
    /// The test's title.
    pub title: String,
    /// Attempts allowed per student, at least 1.
    pub max_attempts: i32,
    /// Minutes per attempt; `None` for no limit.
    pub time_limit_minutes: Option<i32>,
    /// The questions, in order.
    pub questions: Vec<SeedQuestion>,
}

/// A single-choice question; option indexes are the positions of `options`.
#[derive(Debug, Clone)]
pub struct SeedQuestion {
    /// The question's text.
    pub text: String,
    /// The options' texts; option `i` has index `i`.
    pub options: Vec<String>,
    /// Index of the correct option in `options`.
    pub correct: usize,
}

/// A homework submission, graded or not.
#[derive(Debug, Clone)]
pub struct SeedSubmission {
    /// Index into [`SeedData::lessons`].
    pub lesson: usize,
    /// Index into [`SeedData::students`].
    pub student: usize,
    /// The student's note, if any.
    pub comment: Option<String>,
    /// Hand-in time (UTC).
    pub submitted_at: DateTime<Utc>,
    /// The teacher's grade; `None` for homework not graded yet.
    pub grade: Option<SeedGrade>,
}

/// A teacher's grade on a seeded submission.
#[derive(Debug, Clone)]
pub struct SeedGrade {
    /// 0–100.
    pub grade: i32,
    /// The teacher's comment, if any.
    pub feedback: Option<String>,
    /// Index into [`SeedData::teachers`].
    pub by: Option<usize>,
    /// When it was graded (UTC).
    pub at: DateTime<Utc>,
}

/// A submitted attempt at a test, already scored.
#[derive(Debug, Clone)]
pub struct SeedAttempt {
    /// Index into [`SeedData::tests`].
    pub test: usize,
    /// Index into [`SeedData::students`].
    pub student: usize,
    /// When the attempt started (UTC).
    pub started_at: DateTime<Utc>,
    /// The deadline fixed at start, for tests with a time limit.
    pub deadline: Option<DateTime<Utc>>,
    /// When it was submitted (UTC).
    pub submitted_at: DateTime<Utc>,
    /// The option index chosen for each question of the test, in order.
    pub chosen: Vec<i64>,
    /// Score 0–100, two decimals, as `correct` of `total` gives it.
    pub score: f64,
    /// Questions answered right.
    pub correct: i32,
    /// Questions in the test.
    pub total: i32,
}

/// A whole dataset; the `usize` fields are indexes into its lists.
#[derive(Debug, Clone, Default)]
pub struct SeedData {
    /// One bcrypt hash shared by every seeded account.
    pub password_hash: String,
    /// Creation time of the accounts, groups, modules and tests (UTC).
    pub created_at: DateTime<Utc>,
    /// Teachers to create.
    pub teachers: Vec<SeedUser>,
    /// Students to create.
    pub students: Vec<SeedUser>,
    /// Groups to create.
    pub groups: Vec<SeedGroup>,
    /// (student, group)
    pub memberships: Vec<(usize, usize)>,
    /// Modules to create.
    pub modules: Vec<SeedModule>,
    /// (module, group): the group's access to the module.
    pub module_groups: Vec<(usize, usize)>,
    /// Subjects to create.
    pub subjects: Vec<SeedSubject>,
    /// Lessons to create.
    pub lessons: Vec<SeedLesson>,
    /// Tests to create, each linked to its lesson.
    pub tests: Vec<SeedTest>,
    /// Homework submissions to create.
    pub submissions: Vec<SeedSubmission>,
    /// Submitted test attempts to create.
    pub attempts: Vec<SeedAttempt>,
}

/// What seeding did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seeded {
    /// The whole dataset was written.
    Written,
    /// The database already has groups and seeding was not forced: nothing was written.
    Refused {
        /// Groups the database already has.
        groups: i64,
    },
}

/// Writes a generated dataset in one transaction.
pub trait SeedStore {
    /// Writes `data`, or nothing: refused if the database has any group, unless `force`.
    fn seed(&self, data: &SeedData, force: bool) -> impl Future<Output = StoreResult<Seeded>> + Send;
}

fn missing(what: &str) -> StoreError {
    StoreError::Other(format!("seeding lost track of a {what}: the dataset has duplicate names").into())
}

/// Looks up the id a row got, by the natural key it was inserted under.
fn id_of<K: std::hash::Hash + Eq>(ids: &HashMap<K, i64>, key: &K, what: &str) -> StoreResult<i64> {
    ids.get(key).copied().ok_or_else(|| missing(what))
}

/// The answers and layout of an attempt, as JSON, the way the platform stores them.
fn attempt_json(question_ids: &[i64], a: &SeedAttempt, options: &[usize]) -> StoreResult<(String, String)> {
    let answers: Vec<Answer> = question_ids
        .iter()
        .zip(&a.chosen)
        .map(|(&question_id, &i)| Answer {
            question_id,
            selected_index: Some(i),
            selected_indexes: None,
        })
        .collect();
    let layout: Vec<(i64, Vec<i64>)> = question_ids
        .iter()
        .zip(options)
        .map(|(&q, &n)| (q, (0..n as i64).collect()))
        .collect();
    let json = |v: serde_json::Result<String>| v.map_err(|e| StoreError::Other(Box::new(e)));
    Ok((
        json(serde_json::to_string(&answers))?,
        json(serde_json::to_string(&layout))?,
    ))
}

/// Implements [`SeedStore`] for `$store` on the database `$db`; `begin_write` as in `sql.rs`;
/// `analyze`, if given, runs after the commit.
///
/// Rows whose ids are needed later are inserted with `RETURNING id` and their natural key
/// (the order of returned rows is not guaranteed), then looked up by that key.
macro_rules! impl_seed_store {
    ($store:ty, $db:ty, begin_write = $begin:literal $(, analyze = $analyze:literal)?) => {
        impl SeedStore for $store {
            async fn seed(&self, data: &SeedData, force: bool) -> StoreResult<Seeded> {
                type Builder = sqlx::QueryBuilder<$db>;
                let mut tx = self.pool().begin_with($begin).await?;
                let (groups,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM groups").fetch_one(&mut *tx).await?;
                if groups > 0 && !force {
                    return Ok(Seeded::Refused { groups });
                }
                let now = data.created_at;

                let mut user_ids: HashMap<String, i64> = HashMap::new();
                for (role, people) in [("teacher", &data.teachers), ("student", &data.students)] {
                    for chunk in people.chunks(ROWS) {
                        let mut q = Builder::new(
                            "INSERT INTO users (iin, full_name, role, password_hash, must_change_password, \
                             token_version, created_at) ",
                        );
                        q.push_values(chunk, |mut row, u| {
                            row.push_bind(u.iin.as_str())
                                .push_bind(u.full_name.as_str())
                                .push_bind(role)
                                .push_bind(data.password_hash.as_str())
                                .push_bind(false)
                                .push_bind(0_i64)
                                .push_bind(now);
                        });
                        q.push(" RETURNING id, iin");
                        let rows: Vec<(i64, String)> = q.build_query_as().fetch_all(&mut *tx).await?;
                        user_ids.extend(rows.into_iter().map(|(id, iin)| (iin, id)));
                    }
                }
                let user = |u: &SeedUser| id_of(&user_ids, &u.iin.as_str().to_owned(), "user");
                let teachers = data.teachers.iter().map(user).collect::<StoreResult<Vec<_>>>()?;
                let students = data.students.iter().map(user).collect::<StoreResult<Vec<_>>>()?;
                let teacher = |i: Option<usize>| -> StoreResult<Option<i64>> {
                    i.map(|i| teachers.get(i).copied().ok_or_else(|| missing("teacher")))
                        .transpose()
                };
                let student = |i: usize| students.get(i).copied().ok_or_else(|| missing("student"));

                let mut group_ids: HashMap<String, i64> = HashMap::new();
                for chunk in data.groups.chunks(ROWS) {
                    let mut q = Builder::new("INSERT INTO groups (name, description, created_at) ");
                    q.push_values(chunk, |mut row, g| {
                        row.push_bind(g.name.as_str())
                            .push_bind(g.description.as_deref())
                            .push_bind(now);
                    });
                    q.push(" RETURNING id, name");
                    let rows: Vec<(i64, String)> = q.build_query_as().fetch_all(&mut *tx).await?;
                    group_ids.extend(rows.into_iter().map(|(id, name)| (name, id)));
                }
                let groups = data
                    .groups
                    .iter()
                    .map(|g| id_of(&group_ids, &g.name, "group"))
                    .collect::<StoreResult<Vec<_>>>()?;
                let group = |i: usize| groups.get(i).copied().ok_or_else(|| missing("group"));

                let memberships = data
                    .memberships
                    .iter()
                    .map(|&(s, g)| Ok((student(s)?, group(g)?)))
                    .collect::<StoreResult<Vec<_>>>()?;
                for chunk in memberships.chunks(ROWS) {
                    let mut q = Builder::new("INSERT INTO user_group (user_id, group_id) ");
                    q.push_values(chunk, |mut row, &(u, g)| {
                        row.push_bind(u).push_bind(g);
                    });
                    q.build().execute(&mut *tx).await?;
                }

                // Few modules, and nothing unique to find them by: one statement each.
                let mut modules = Vec::with_capacity(data.modules.len());
                for m in &data.modules {
                    let (id,): (i64,) = sqlx::query_as(
                        "INSERT INTO modules (title, course, description, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
                    )
                    .bind(m.title.as_str())
                    .bind(m.course.as_deref())
                    .bind(m.description.as_deref())
                    .bind(now)
                    .fetch_one(&mut *tx)
                    .await?;
                    modules.push(id);
                }
                let module = |i: usize| modules.get(i).copied().ok_or_else(|| missing("module"));

                let links = data
                    .module_groups
                    .iter()
                    .map(|&(m, g)| Ok((module(m)?, group(g)?)))
                    .collect::<StoreResult<Vec<_>>>()?;
                for chunk in links.chunks(ROWS) {
                    let mut q = Builder::new("INSERT INTO module_group (module_id, group_id) ");
                    q.push_values(chunk, |mut row, &(m, g)| {
                        row.push_bind(m).push_bind(g);
                    });
                    q.build().execute(&mut *tx).await?;
                }

                let subject_rows = data
                    .subjects
                    .iter()
                    .map(|s| {
                        Ok((
                            module(s.module)?,
                            teacher(s.teacher)?,
                            s.title.as_str(),
                            $crate::domain::title_key(&s.title),
                        ))
                    })
                    .collect::<StoreResult<Vec<_>>>()?;
                let mut subject_ids: HashMap<(i64, String), i64> = HashMap::new();
                for chunk in subject_rows.chunks(ROWS) {
                    let mut q = Builder::new("INSERT INTO subjects (module_id, teacher_id, title, title_key) ");
                    q.push_values(chunk, |mut row, (m, t, title, key)| {
                        row.push_bind(*m)
                            .push_bind(*t)
                            .push_bind(*title)
                            .push_bind(key.as_str());
                    });
                    q.push(" RETURNING id, module_id, title_key");
                    let rows: Vec<(i64, i64, String)> = q.build_query_as().fetch_all(&mut *tx).await?;
                    subject_ids.extend(rows.into_iter().map(|(id, m, key)| ((m, key), id)));
                }
                let subjects = subject_rows
                    .into_iter()
                    .map(|(m, _, _, key)| id_of(&subject_ids, &(m, key), "subject"))
                    .collect::<StoreResult<Vec<_>>>()?;
                let subject = |i: usize| subjects.get(i).copied().ok_or_else(|| missing("subject"));

                let mut lesson_ids: HashMap<(i64, String), i64> = HashMap::new();
                let lesson_rows = data
                    .lessons
                    .iter()
                    .map(|l| Ok((subject(l.subject)?, l)))
                    .collect::<StoreResult<Vec<_>>>()?;
                for chunk in lesson_rows.chunks(ROWS) {
                    let mut q = Builder::new(
                        "INSERT INTO lessons (subject_id, title, kind, description, content_url, created_at) ",
                    );
                    q.push_values(chunk, |mut row, (s, l)| {
                        row.push_bind(*s)
                            .push_bind(l.title.as_str())
                            .push_bind(l.kind.as_str())
                            .push_bind(l.description.as_deref())
                            .push_bind(l.content_url.as_deref())
                            .push_bind(l.created_at);
                    });
                    q.push(" RETURNING id, subject_id, title");
                    let rows: Vec<(i64, i64, String)> = q.build_query_as().fetch_all(&mut *tx).await?;
                    lesson_ids.extend(rows.into_iter().map(|(id, s, title)| ((s, title), id)));
                }
                let lessons = lesson_rows
                    .iter()
                    .map(|(s, l)| id_of(&lesson_ids, &(*s, l.title.clone()), "lesson"))
                    .collect::<StoreResult<Vec<_>>>()?;
                let lesson = |i: usize| -> StoreResult<(i64, i64)> {
                    let id = lessons.get(i).copied().ok_or_else(|| missing("lesson"))?;
                    let subject = lesson_rows.get(i).map(|(s, _)| *s).ok_or_else(|| missing("lesson"))?;
                    Ok((id, subject))
                };

                let test_rows = data
                    .tests
                    .iter()
                    .map(|t| Ok((lesson(t.lesson)?, t)))
                    .collect::<StoreResult<Vec<_>>>()?;
                let mut test_ids: HashMap<i64, i64> = HashMap::new();
                for chunk in test_rows.chunks(ROWS) {
                    let mut q = Builder::new(
                        "INSERT INTO tests (subject_id, lesson_id, title, max_attempts, time_limit_minutes, shuffle, \
                         scoring, created_at, updated_at) ",
                    );
                    q.push_values(chunk, |mut row, ((l, s), t)| {
                        row.push_bind(*s)
                            .push_bind(*l)
                            .push_bind(t.title.as_str())
                            .push_bind(t.max_attempts)
                            .push_bind(t.time_limit_minutes)
                            .push_bind(false)
                            .push_bind($crate::domain::quiz::Scoring::AllOrNothing.as_str())
                            .push_bind(now)
                            .push_bind(now);
                    });
                    q.push(" RETURNING id, lesson_id");
                    let rows: Vec<(i64, i64)> = q.build_query_as().fetch_all(&mut *tx).await?;
                    test_ids.extend(rows.into_iter().map(|(id, l)| (l, id)));
                }
                let tests = test_rows
                    .iter()
                    .map(|((l, _), _)| id_of(&test_ids, l, "test"))
                    .collect::<StoreResult<Vec<_>>>()?;

                let question_rows: Vec<(i64, i32, &SeedQuestion)> = tests
                    .iter()
                    .zip(&data.tests)
                    .flat_map(|(&id, t)| t.questions.iter().zip(0..).map(move |(q, pos)| (id, pos, q)))
                    .collect();
                let mut question_ids: HashMap<(i64, i32), i64> = HashMap::new();
                for chunk in question_rows.chunks(ROWS) {
                    let mut q = Builder::new("INSERT INTO questions (test_id, position, text, kind) ");
                    q.push_values(chunk, |mut row, (t, pos, question)| {
                        row.push_bind(*t)
                            .push_bind(*pos)
                            .push_bind(question.text.as_str())
                            .push_bind($crate::domain::quiz::QuestionKind::Single.as_str());
                    });
                    q.push(" RETURNING id, test_id, position");
                    let rows: Vec<(i64, i64, i32)> = q.build_query_as().fetch_all(&mut *tx).await?;
                    question_ids.extend(rows.into_iter().map(|(id, t, pos)| ((t, pos), id)));
                }
                let option_rows = question_rows
                    .iter()
                    .map(|(t, pos, question)| {
                        let id = id_of(&question_ids, &(*t, *pos), "question")?;
                        Ok(question.options.iter().enumerate().map(move |(i, text)| (id, i, text, i == question.correct)))
                    })
                    .collect::<StoreResult<Vec<_>>>()?
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>();
                for chunk in option_rows.chunks(ROWS) {
                    let mut q =
                        Builder::new("INSERT INTO options (question_id, position, option_index, text, is_correct) ");
                    q.push_values(chunk, |mut row, (question, i, text, correct)| {
                        let i = i64::try_from(*i).unwrap_or(i64::MAX);
                        row.push_bind(*question)
                            .push_bind(i32::try_from(i).unwrap_or(i32::MAX))
                            .push_bind(i)
                            .push_bind(text.as_str())
                            .push_bind(*correct);
                    });
                    q.build().execute(&mut *tx).await?;
                }

                let submissions = data
                    .submissions
                    .iter()
                    .map(|s| {
                        let by = s.grade.as_ref().map(|g| teacher(g.by)).transpose()?.flatten();
                        Ok((lesson(s.lesson)?.0, student(s.student)?, by, s))
                    })
                    .collect::<StoreResult<Vec<_>>>()?;
                for chunk in submissions.chunks(ROWS) {
                    let mut q = Builder::new(
                        "INSERT INTO submissions (lesson_id, student_id, comment, grade, feedback, graded_by, graded_at, \
                         submitted_at) ",
                    );
                    q.push_values(chunk, |mut row, (l, st, by, s)| {
                        row.push_bind(*l)
                            .push_bind(*st)
                            .push_bind(s.comment.as_deref())
                            .push_bind(s.grade.as_ref().map(|g| g.grade))
                            .push_bind(s.grade.as_ref().and_then(|g| g.feedback.as_deref()))
                            .push_bind(*by)
                            .push_bind(s.grade.as_ref().map(|g| g.at))
                            .push_bind(s.submitted_at);
                    });
                    q.build().execute(&mut *tx).await?;
                }

                let mut questions_of: HashMap<i64, Vec<i64>> = HashMap::new();
                for (t, pos, _) in &question_rows {
                    questions_of
                        .entry(*t)
                        .or_default()
                        .push(id_of(&question_ids, &(*t, *pos), "question")?);
                }
                let attempts = data
                    .attempts
                    .iter()
                    .map(|a| {
                        let ((l, _), t) = test_rows.get(a.test).ok_or_else(|| missing("test"))?;
                        let id = tests.get(a.test).copied().ok_or_else(|| missing("test"))?;
                        let options: Vec<usize> = t.questions.iter().map(|q| q.options.len()).collect();
                        let ids = questions_of.get(&id).map(Vec::as_slice).unwrap_or_default();
                        let (answers, layout) = attempt_json(ids, a, &options)?;
                        Ok((id, *l, student(a.student)?, answers, layout, a))
                    })
                    .collect::<StoreResult<Vec<_>>>()?;
                for chunk in attempts.chunks(ROWS) {
                    let mut q = Builder::new(
                        "INSERT INTO attempts (test_id, lesson_id, student_id, started_at, deadline, submitted_at, score, \
                         correct, total, answers, layout) ",
                    );
                    q.push_values(chunk, |mut row, (t, l, st, answers, layout, a)| {
                        row.push_bind(*t)
                            .push_bind(*l)
                            .push_bind(*st)
                            .push_bind(a.started_at)
                            .push_bind(a.deadline)
                            .push_bind(a.submitted_at)
                            .push_bind(a.score)
                            .push_bind(a.correct)
                            .push_bind(a.total)
                            .push_bind(answers.as_str())
                            .push_bind(layout.as_str());
                    });
                    q.build().execute(&mut *tx).await?;
                }

                tx.commit().await?;
                $(sqlx::query($analyze).execute(self.pool()).await?;)?
                Ok(Seeded::Written)
            }
        }
    };
}

// Statistics at once, as autovacuum would gather them a minute later: measurements taken right
// after seeding then see the query plans a running server has.
impl_seed_store!(PgStore, sqlx::Postgres, begin_write = "BEGIN", analyze = "ANALYZE");
// BEGIN IMMEDIATE: the write lock from the start, so the check for groups and the writes are one.
// Nothing analyzes a SQLite database in production, so neither does seeding.
impl_seed_store!(SqliteStore, sqlx::Sqlite, begin_write = "BEGIN IMMEDIATE");
