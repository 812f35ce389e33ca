//! Bulk writing of an import of the old backend (`edu import legacy`), for both stores.
//!
//! A sibling of `seed.rs`, not part of `Store`: the server never needs it. Every row is written
//! in one transaction, many rows per statement, with the ids decided beforehand (see
//! `legacy::ids`); a failure, a refusal or a dry run leaves nothing behind.

use std::collections::{BTreeMap, HashSet};
use std::future::Future;

use super::{PgStore, SqliteStore, StoreResult};
use crate::error::StoreError;
use crate::files::FileKey;
use crate::legacy::ids::{Assignment, TargetState, TargetUser, assign};
use crate::legacy::plan::Plan;
use crate::legacy::report::{Problem, ProblemKind};

/// Rows per statement: at most 12 columns each, well under both databases' parameter limits.
const ROWS: usize = 1000;

/// Tables whose rows keep (or are given) explicit ids.
pub(crate) const ID_TABLES: [&str; 10] = [
    "users",
    "groups",
    "modules",
    "subjects",
    "lessons",
    "tests",
    "questions",
    "options",
    "submissions",
    "attempts",
];

/// Tables that make a target non-empty, with the condition that counts.
const BUSY: [(&str, &str); 8] = [
    ("users", "SELECT COUNT(*) FROM users WHERE role <> 'admin'"),
    ("groups", "SELECT COUNT(*) FROM groups"),
    ("modules", "SELECT COUNT(*) FROM modules"),
    ("subjects", "SELECT COUNT(*) FROM subjects"),
    ("lessons", "SELECT COUNT(*) FROM lessons"),
    ("tests", "SELECT COUNT(*) FROM tests"),
    ("submissions", "SELECT COUNT(*) FROM submissions"),
    ("attempts", "SELECT COUNT(*) FROM attempts"),
];

/// What to write.
#[derive(Debug, Clone, Copy)]
pub struct LegacyWrite<'a> {
    /// The rows to write, with old ids.
    pub plan: &'a Plan,
    /// Per file of the plan: its key in the file store (`None`: not stored, the row goes without).
    pub keys: &'a [Option<FileKey>],
    /// Give every row a new id, into a target that already has data.
    pub merge: bool,
    /// Write everything, check every constraint, then roll back.
    pub dry_run: bool,
}

/// What writing did.
#[derive(Debug, Clone)]
pub enum LegacyWritten {
    /// Every row is written (or, with `dry_run`, was written and rolled back).
    Written {
        /// The ids and names each planned row was written with, and the defects found on the way.
        assignment: Assignment,
        /// Rows written per edu table.
        counts: BTreeMap<&'static str, u64>,
        /// Files of the plan that a row refers to.
        used: HashSet<usize>,
        /// Defects only the target could reveal.
        problems: Vec<Problem>,
    },
    /// The target is not empty (what it holds) and `merge` was not given: nothing written.
    NotEmpty(String),
    /// The target already holds this import: nothing written.
    AlreadyThere,
}

/// Writes an import in one transaction.
pub trait LegacyStore {
    /// What the target holds, as an import cares.
    fn legacy_target(&self) -> impl Future<Output = StoreResult<TargetState>> + Send;
    /// Writes the plan, or nothing. `progress` is told how many rows each statement wrote.
    fn legacy_write(
        &self,
        write: LegacyWrite<'_>,
        progress: &(dyn Fn(u64) + Sync),
    ) -> impl Future<Output = StoreResult<LegacyWritten>> + Send;
}

fn lost(what: &str, id: i64) -> StoreError {
    StoreError::Other(format!("the import lost track of {what} {id}").into())
}

/// One multi-row INSERT per chunk of `rows`.
macro_rules! bulk {
    ($builder:ty, $tx:expr, $progress:expr, $head:expr, $rows:expr, |$row:ident, $item:pat_param| $body:block) => {
        for chunk in $rows.chunks(ROWS) {
            let mut q = <$builder>::new($head);
            q.push_values(chunk, |mut $row, $item| $body);
            q.build().execute(&mut *$tx).await?;
            $progress(chunk.len() as u64);
        }
    };
}

/// Implements [`LegacyStore`] for `$store`: `begin_write` as in `sql.rs`; `lock` makes the
/// transaction the only writer of the tables it fills; `overriding` lets an insert give ids to
/// identity columns; `next_id` gives the sequence position of a table (`{t}`); `fix_sequence`,
/// if given, moves a table's sequence past the ids written.
macro_rules! impl_legacy_store {
    ($store:ty, $db:ty, begin_write = $begin:literal, lock = $lock:literal, overriding = $over:literal,
     sequence = $seq:literal $(, fix_sequence = $fix:literal)?) => {
        impl $store {
            async fn legacy_state(conn: &mut <$db as sqlx::Database>::Connection) -> StoreResult<TargetState> {
                let users: Vec<(i64, String, String, Option<String>)> =
                    sqlx::query_as("SELECT id, iin, role, phone FROM users ORDER BY id")
                        .fetch_all(&mut *conn)
                        .await?;
                let group_names: Vec<(String,)> = sqlx::query_as("SELECT name FROM groups").fetch_all(&mut *conn).await?;
                let lessons: Vec<(String, String, String)> = sqlx::query_as(
                    "SELECT m.title, s.title, l.title FROM lessons l JOIN subjects s ON s.id = l.subject_id \
                     JOIN modules m ON m.id = s.module_id",
                )
                .fetch_all(&mut *conn)
                .await?;
                let modules: Vec<(String,)> = sqlx::query_as("SELECT title FROM modules").fetch_all(&mut *conn).await?;
                let mut state = TargetState {
                    users: users
                        .into_iter()
                        .map(|(id, iin, role, phone)| TargetUser { id, iin, role, phone })
                        .collect(),
                    group_names: group_names.into_iter().map(|(n,)| n).collect(),
                    lessons,
                    module_titles: modules.into_iter().map(|(t,)| t).collect(),
                    ..TargetState::default()
                };
                for (table, count) in BUSY {
                    let (n,): (i64,) = sqlx::query_as(count).fetch_one(&mut *conn).await?;
                    state.busy.insert(table, n);
                }
                for table in ID_TABLES {
                    let (max,): (Option<i64>,) =
                        sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT MAX(id) FROM {table}")))
                            .fetch_one(&mut *conn)
                            .await?;
                    let seq: Option<(Option<i64>,)> =
                        sqlx::query_as(sqlx::AssertSqlSafe(format!($seq, t = table)))
                            .fetch_optional(&mut *conn)
                            .await?;
                    let used = max.unwrap_or(0).max(seq.and_then(|(s,)| s).unwrap_or(0));
                    state.next_id.insert(table, used + 1);
                }
                Ok(state)
            }
        }

        impl LegacyStore for $store {
            async fn legacy_target(&self) -> StoreResult<TargetState> {
                let mut conn = self.pool().acquire().await?;
                Self::legacy_state(&mut conn).await
            }

            async fn legacy_write(
                &self,
                write: LegacyWrite<'_>,
                progress: &(dyn Fn(u64) + Sync),
            ) -> StoreResult<LegacyWritten> {
                type Builder = sqlx::QueryBuilder<$db>;
                let plan = write.plan;
                let mut tx = self.pool().begin_with($begin).await?;
                if !$lock.is_empty() {
                    sqlx::query($lock).execute(&mut *tx).await?;
                }
                let target = Self::legacy_state(&mut tx).await?;
                if target.holds(plan) {
                    return Ok(LegacyWritten::AlreadyThere);
                }
                if !write.merge && !target.is_empty() {
                    return Ok(LegacyWritten::NotEmpty(target.describe()));
                }
                let assignment = assign(plan, &target, write.merge);
                let ids = &assignment.ids;
                let id = |table: &'static str, old: i64| ids.get(table, old).ok_or_else(|| lost(table, old));
                let key = |file: Option<usize>| -> Option<&str> {
                    file.and_then(|f| write.keys.get(f)).and_then(|k| k.as_ref()).map(FileKey::as_str)
                };
                let now = chrono::Utc::now();
                let mut counts: BTreeMap<&'static str, u64> = BTreeMap::new();
                let mut used: HashSet<usize> = HashSet::new();
                let mut problems = Vec::new();

                // users
                let mut rows = Vec::new();
                for (i, u) in plan.users.iter().enumerate() {
                    if !assignment.insert_user.get(i).copied().unwrap_or(false) {
                        continue;
                    }
                    let photo = key(u.photo);
                    if photo.is_some() {
                        used.extend(u.photo);
                    }
                    let phone = assignment.phones.get(i).cloned().flatten();
                    rows.push((id("users", u.id)?, u, phone, photo));
                }
                counts.insert("users", rows.len() as u64);
                bulk!(Builder, tx, progress, concat!(
                    "INSERT INTO users (id, iin, full_name, phone, role, password_hash, photo, must_change_password, ",
                    "token_version, created_at) ", $over), rows, |b, (new, u, phone, photo)| {
                    b.push_bind(*new)
                        .push_bind(u.iin.as_str())
                        .push_bind(u.full_name.as_str())
                        .push_bind(phone.as_deref())
                        .push_bind(u.role)
                        .push_bind(u.password_hash.as_str())
                        .push_bind(*photo)
                        .push_bind(false)
                        .push_bind(0_i64)
                        .push_bind(now);
                });

                // groups and memberships
                let rows = plan
                    .groups
                    .iter()
                    .zip(&assignment.group_names)
                    .map(|(g, name)| Ok((id("groups", g.id)?, name.as_str(), g.description.as_deref())))
                    .collect::<StoreResult<Vec<_>>>()?;
                counts.insert("groups", rows.len() as u64);
                bulk!(Builder, tx, progress, concat!("INSERT INTO groups (id, name, description, created_at) ", $over),
                    rows, |b, (new, name, description)| {
                    b.push_bind(*new).push_bind(*name).push_bind(*description).push_bind(now);
                });
                let rows = plan
                    .memberships
                    .iter()
                    .map(|&(u, g)| Ok((id("users", u)?, id("groups", g)?)))
                    .collect::<StoreResult<Vec<_>>>()?;
                counts.insert("user_group", rows.len() as u64);
                bulk!(Builder, tx, progress, "INSERT INTO user_group (user_id, group_id) ", rows, |b, (u, g)| {
                    b.push_bind(*u).push_bind(*g);
                });

                // modules, links, subjects
                let rows = plan
                    .modules
                    .iter()
                    .map(|m| Ok((id("modules", m.id)?, m)))
                    .collect::<StoreResult<Vec<_>>>()?;
                counts.insert("modules", rows.len() as u64);
                bulk!(Builder, tx, progress,
                    concat!("INSERT INTO modules (id, title, course, description, created_at) ", $over),
                    rows, |b, (new, m)| {
                    b.push_bind(*new)
                        .push_bind(m.title.as_str())
                        .push_bind(m.course.as_deref())
                        .push_bind(m.description.as_deref())
                        .push_bind(m.created_at);
                });
                let rows = plan
                    .module_groups
                    .iter()
                    .map(|&(m, g)| Ok((id("modules", m)?, id("groups", g)?)))
                    .collect::<StoreResult<Vec<_>>>()?;
                counts.insert("module_group", rows.len() as u64);
                bulk!(Builder, tx, progress, "INSERT INTO module_group (module_id, group_id) ", rows, |b, (m, g)| {
                    b.push_bind(*m).push_bind(*g);
                });
                let rows = plan
                    .teacher_modules
                    .iter()
                    .map(|&(m, t)| Ok((id("modules", m)?, id("users", t)?)))
                    .collect::<StoreResult<Vec<_>>>()?;
                counts.insert("teacher_module", rows.len() as u64);
                bulk!(Builder, tx, progress, "INSERT INTO teacher_module (module_id, teacher_id) ", rows, |b, (m, t)| {
                    b.push_bind(*m).push_bind(*t);
                });
                let rows = plan
                    .subjects
                    .iter()
                    .map(|s| {
                        let teacher = s.teacher.map(|t| id("users", t)).transpose()?;
                        Ok((id("subjects", s.id)?, id("modules", s.module)?, teacher, s))
                    })
                    .collect::<StoreResult<Vec<_>>>()?;
                counts.insert("subjects", rows.len() as u64);
                bulk!(Builder, tx, progress,
                    concat!("INSERT INTO subjects (id, module_id, teacher_id, title, title_key) ", $over),
                    rows, |b, (new, m, t, s)| {
                    b.push_bind(*new)
                        .push_bind(*m)
                        .push_bind(*t)
                        .push_bind(s.title.as_str())
                        .push_bind(s.title_key.as_str());
                });

                // lessons and their documents
                let rows = plan
                    .lessons
                    .iter()
                    .map(|l| Ok((id("lessons", l.id)?, id("subjects", l.subject)?, l)))
                    .collect::<StoreResult<Vec<_>>>()?;
                counts.insert("lessons", rows.len() as u64);
                bulk!(Builder, tx, progress, concat!(
                    "INSERT INTO lessons (id, subject_id, title, kind, type_label, description, content_url, created_at) ",
                    $over), rows, |b, (new, s, l)| {
                    b.push_bind(*new)
                        .push_bind(*s)
                        .push_bind(l.title.as_str())
                        .push_bind(l.kind.as_str())
                        .push_bind(l.type_label.as_deref())
                        .push_bind(l.description.as_deref())
                        .push_bind(l.content_url.as_deref())
                        .push_bind(l.created_at);
                });
                let mut documents = Vec::new();
                for l in &plan.lessons {
                    let (Some(f), Some(k)) = (l.document, key(l.document)) else { continue };
                    let Some(file) = plan.files.get(f) else { continue };
                    used.insert(f);
                    let by = l.uploaded_by.map(|t| id("users", t)).transpose()?;
                    documents.push((k, id("lessons", l.id)?, by, file, l.created_at));
                }
                counts.insert("lesson_files", documents.len() as u64);
                bulk!(Builder, tx, progress, concat!(
                    "INSERT INTO lesson_files (storage_key, lesson_id, uploaded_by, original_name, size, content_type, ",
                    "created_at) "), documents, |b, (k, lesson, by, file, at)| {
                    b.push_bind(*k)
                        .push_bind(*lesson)
                        .push_bind(*by)
                        .push_bind(file.original_name.as_str())
                        .push_bind(i64::try_from(file.size).unwrap_or(i64::MAX))
                        .push_bind(file.content_type.as_str())
                        .push_bind(*at);
                });

                // tests, questions, options
                let rows = plan
                    .tests
                    .iter()
                    .map(|t| {
                        let lesson = t.lesson.map(|l| id("lessons", l)).transpose()?;
                        Ok((id("tests", t.id)?, id("subjects", t.subject)?, lesson, t))
                    })
                    .collect::<StoreResult<Vec<_>>>()?;
                counts.insert("tests", rows.len() as u64);
                bulk!(Builder, tx, progress, concat!(
                    "INSERT INTO tests (id, subject_id, lesson_id, title, max_attempts, time_limit_minutes, shuffle, ",
                    "scoring, created_at, updated_at) ", $over), rows, |b, (new, s, l, t)| {
                    b.push_bind(*new)
                        .push_bind(*s)
                        .push_bind(*l)
                        .push_bind(t.title.as_str())
                        .push_bind(1_i32)
                        .push_bind(None::<i32>)
                        .push_bind(false)
                        .push_bind($crate::domain::quiz::Scoring::AllOrNothing.as_str())
                        .push_bind(t.created_at)
                        .push_bind(t.created_at);
                });
                let rows = plan
                    .questions
                    .iter()
                    .map(|q| Ok((id("questions", q.id)?, id("tests", q.test)?, q)))
                    .collect::<StoreResult<Vec<_>>>()?;
                counts.insert("questions", rows.len() as u64);
                bulk!(Builder, tx, progress,
                    concat!("INSERT INTO questions (id, test_id, position, text, kind) ", $over),
                    rows, |b, (new, t, q)| {
                    b.push_bind(*new)
                        .push_bind(*t)
                        .push_bind(q.position)
                        .push_bind(q.text.as_str())
                        .push_bind($crate::domain::quiz::QuestionKind::Single.as_str());
                });
                let rows = plan
                    .options
                    .iter()
                    .map(|o| Ok((id("options", o.id)?, id("questions", o.question)?, o)))
                    .collect::<StoreResult<Vec<_>>>()?;
                counts.insert("options", rows.len() as u64);
                bulk!(Builder, tx, progress, concat!(
                    "INSERT INTO options (id, question_id, position, option_index, text, is_correct) ", $over),
                    rows, |b, (new, q, o)| {
                    b.push_bind(*new)
                        .push_bind(*q)
                        .push_bind(o.position)
                        .push_bind(o.index)
                        .push_bind(o.text.as_str())
                        .push_bind(o.is_correct);
                });

                // homework
                let rows = plan
                    .submissions
                    .iter()
                    .map(|s| Ok((id("submissions", s.id)?, id("lessons", s.lesson)?, id("users", s.student)?, s)))
                    .collect::<StoreResult<Vec<_>>>()?;
                counts.insert("submissions", rows.len() as u64);
                bulk!(Builder, tx, progress, concat!(
                    "INSERT INTO submissions (id, lesson_id, student_id, comment, grade, feedback, graded_by, ",
                    "graded_at, submitted_at) ", $over), rows, |b, (new, l, st, s)| {
                    b.push_bind(*new)
                        .push_bind(*l)
                        .push_bind(*st)
                        .push_bind(s.comment.as_deref())
                        .push_bind(s.grade)
                        .push_bind(None::<&str>)
                        .push_bind(None::<i64>)
                        .push_bind(None::<chrono::DateTime<chrono::Utc>>)
                        .push_bind(s.submitted_at);
                });
                let mut rows = Vec::new();
                for f in &plan.submission_files {
                    let (Some(k), Some(file)) = (key(Some(f.file)), plan.files.get(f.file)) else { continue };
                    used.insert(f.file);
                    rows.push((id("submissions", f.submission)?, k, file));
                }
                counts.insert("submission_files", rows.len() as u64);
                bulk!(Builder, tx, progress,
                    "INSERT INTO submission_files (submission_id, storage_key, original_name, size, content_type) ",
                    rows, |b, (s, k, file)| {
                    b.push_bind(*s)
                        .push_bind(*k)
                        .push_bind(file.original_name.as_str())
                        .push_bind(i64::try_from(file.size).unwrap_or(i64::MAX))
                        .push_bind(file.content_type.as_str());
                });

                // results
                let rows = plan
                    .attempts
                    .iter()
                    .map(|a| {
                        let lesson = a.lesson.map(|l| id("lessons", l)).transpose()?;
                        Ok((id("attempts", a.id)?, id("tests", a.test)?, lesson, id("users", a.student)?, a))
                    })
                    .collect::<StoreResult<Vec<_>>>()?;
                counts.insert("attempts", rows.len() as u64);
                bulk!(Builder, tx, progress, concat!(
                    "INSERT INTO attempts (id, test_id, lesson_id, student_id, started_at, deadline, submitted_at, ",
                    "score, correct, total, answers, layout) ", $over), rows, |b, (new, t, l, st, a)| {
                    b.push_bind(*new)
                        .push_bind(*t)
                        .push_bind(*l)
                        .push_bind(*st)
                        .push_bind(a.submitted_at)
                        .push_bind(None::<chrono::DateTime<chrono::Utc>>)
                        .push_bind(a.submitted_at)
                        .push_bind(a.score)
                        .push_bind(a.correct)
                        .push_bind(a.total)
                        .push_bind("[]")
                        .push_bind("[]");
                });

                // old paths → stored files; an earlier import's mapping of a path stays.
                let known: Vec<(String,)> = sqlx::query_as("SELECT path FROM legacy_files").fetch_all(&mut *tx).await?;
                let mut known: HashSet<String> = known.into_iter().map(|(p,)| p).collect();
                let mut sorted: Vec<&usize> = used.iter().collect();
                sorted.sort();
                let mut rows = Vec::new();
                for &f in sorted {
                    let (Some(file), Some(k)) = (plan.files.get(f), key(Some(f))) else { continue };
                    if known.insert(file.path.clone()) {
                        rows.push((file.path.as_str(), k));
                    } else if write.merge {
                        problems.push(Problem {
                            table: "legacy_files",
                            id: 0,
                            kind: ProblemKind::PathTaken,
                            detail: format!("{} already leads to another stored file: that mapping is kept", file.path),
                        });
                    }
                }
                counts.insert("legacy_files", rows.len() as u64);
                bulk!(Builder, tx, progress, "INSERT INTO legacy_files (path, storage_key) ", rows, |b, (p, k)| {
                    b.push_bind(*p).push_bind(*k);
                });

                // Sequences are not transactional: a dry run leaves them alone.
                $(
                    if !write.dry_run {
                        for table in ID_TABLES {
                            sqlx::query(sqlx::AssertSqlSafe(format!($fix, t = table))).execute(&mut *tx).await?;
                        }
                    }
                )?
                if write.dry_run {
                    tx.rollback().await?;
                } else {
                    tx.commit().await?;
                }
                Ok(LegacyWritten::Written { assignment, counts, used, problems })
            }
        }
    };
}

// The lock lets readers on but keeps every other writer (a running server, a second import) out
// of these tables until the import commits, so the ids decided inside stay free.
impl_legacy_store!(
    PgStore,
    sqlx::Postgres,
    begin_write = "BEGIN",
    lock = "LOCK TABLE users, groups, user_group, modules, module_group, teacher_module, subjects, lessons, \
            lesson_files, tests, questions, options, submissions, submission_files, attempts, legacy_files \
            IN SHARE ROW EXCLUSIVE MODE",
    overriding = "OVERRIDING SYSTEM VALUE ",
    sequence = "SELECT pg_sequence_last_value(pg_get_serial_sequence('{t}', 'id')::regclass)",
    fix_sequence = "SELECT setval(pg_get_serial_sequence('{t}', 'id'), m) FROM (SELECT MAX(id) AS m FROM {t}) x \
                    WHERE m > COALESCE(pg_sequence_last_value(pg_get_serial_sequence('{t}', 'id')::regclass), 0)"
);
// BEGIN IMMEDIATE takes the write lock at once. AUTOINCREMENT keeps `sqlite_sequence` at the
// highest id ever inserted, explicit ones included, so new rows continue after the imported ids.
impl_legacy_store!(
    SqliteStore,
    sqlx::Sqlite,
    begin_write = "BEGIN IMMEDIATE",
    lock = "",
    overriding = "",
    sequence = "SELECT seq FROM sqlite_sequence WHERE name = '{t}'"
);
