//! Persistence behind one trait, with a PostgreSQL and a SQLite implementation.
//!
//! # How the two implementations are laid out
//!
//! Both backends run the same SQL (`$n` parameters, `RETURNING`, `ON CONFLICT`), so the code of
//! every method is written once, in macros, and expanded once per backend. What differs between
//! the backends is passed to the macros as literals: the statement that starts a write
//! transaction (`BEGIN` or SQLite's `BEGIN IMMEDIATE`) and the row-lock suffix (` FOR UPDATE` or
//! nothing).
//!
//! | file | holds |
//! |---|---|
//! | `mod.rs` | the [`Store`] trait (every method, documented) and the row types it takes and gives |
//! | `sql.rs` | `impl_sql_store!`: implements `Store` for a backend; users, sessions, throttle and audit methods inline, the rest by the macros below |
//! | `academic_sql.rs` | `academic_methods!`: groups, modules, subjects, links, lessons |
//! | `files_sql.rs` | `files_methods!`, `files_helpers!`: stored files, homework, submissions |
//! | `quiz_sql.rs` | `quiz_methods!`: tests, questions, attempts |
//! | `grades_sql.rs` | `grades_methods!`: grade lists, summaries, gradebooks |
//! | `*_rows.rs`, `rows.rs` | `sqlx::FromRow` structs and their conversion into domain types (plain code, no macros) |
//! | `postgres.rs`, `sqlite.rs` | the two store types, connecting, migrations, and the one `impl_sql_store!` line each |
//! | `pooled.rs` | the executor for statements outside a transaction (see [`Pooler`]) |
//! | `legacy.rs`, `seed.rs` | `impl_legacy_store!`, `impl_seed_store!`: the legacy import's and `edu seed`'s bulk writes |
//!
//! **Adding a method:** declare it on [`Store`] in this file with its documentation; write its
//! body once in the macro of its area (`academic_methods!` for a group query, and so on), using
//! `self.pooled()` for a statement on its own and `self.pool.begin_with($begin)` for a
//! transaction; add a case to the conformance suite (`edu-core/src/conformance/suite`) so that it
//! runs on both backends.
//!
//! **Finding a method's code:** go-to-definition stops at the macro call, so search for
//! `async fn name(` under `store/`; there is exactly one. A compile error inside a macro body is
//! reported at the `impl_sql_store!` line of each backend, with the body's own line shown below
//! it ("in this macro invocation").
//!
//! **Seeing the expansion:** `cargo install cargo-expand`, then
//! `cargo expand -p edu-core store::postgres` shows the whole generated `impl Store for PgStore`.

use std::future::Future;

use chrono::{DateTime, Utc};

use crate::auth::ThrottleState;
use crate::domain::{
    FileOwner, FilesOf, Group, GroupId, Iin, Lesson, LessonId, LessonKind, Module, ModuleId, ModuleScope, ModuleTree,
    NewModule, NewUser, Page, Phone, Role, Subject, SubjectId, Submission, SubmissionFilter, SubmissionId, User,
    UserId,
};
use crate::error::StoreError;
use crate::files::StoredFile;

mod academic_rows;
mod academic_sql;
mod files_rows;
mod files_sql;
mod grades_rows;
mod grades_sql;
pub mod legacy;
mod pool;
mod pooled;
mod postgres;
mod quiz_rows;
mod quiz_sql;
mod rows;
pub mod seed;
mod sql;
mod sqlite;

pub use pool::{PoolSettings, PoolStatus, Pooler};
pub(crate) use pooled::Pooled;
pub use postgres::{PgStore, normalize_url};
pub use sqlite::SqliteStore;

/// What every store method answers: the value, or a `StoreError`.
pub type StoreResult<T> = Result<T, StoreError>;

/// A lesson to insert, already validated.
#[derive(Debug, Clone)]
pub struct NewLessonRow<'a> {
    /// The subject the lesson belongs to.
    pub subject: SubjectId,
    /// The lesson's title.
    pub title: &'a str,
    /// The kind the type label stands for.
    pub kind: LessonKind,
    /// The type label as the client sent it.
    pub label: &'a str,
    /// The lesson's text, if any.
    pub description: Option<&'a str>,
    /// What the lesson links to (an address or a document's URL), if anything.
    pub content_url: Option<&'a str>,
    /// The storage key of an uploaded, not yet attached lesson document that becomes this lesson's.
    pub attach: Option<&'a str>,
    /// A test of the subject, not yet linked, that becomes this lesson's.
    pub link_test: Option<crate::domain::TestId>,
}

/// A validated test to write.
#[derive(Debug, Clone)]
pub struct TestRow<'a> {
    /// The subject the test belongs to.
    pub subject: SubjectId,
    /// The lesson the test is linked to, if any.
    pub lesson: Option<LessonId>,
    /// The test's title.
    pub title: &'a str,
    /// Attempts allowed per student, at least 1.
    pub max_attempts: i32,
    /// Minutes from the start of an attempt; `None` means no limit.
    pub time_limit_minutes: Option<i32>,
    /// Whether each attempt shows questions and options in a random order.
    pub shuffle: bool,
    /// How multiple-choice questions are scored.
    pub scoring: crate::domain::quiz::Scoring,
    /// The questions, in the author's order, each with its options.
    pub questions: &'a [QuestionRowIn<'a>],
}

/// A validated question of a test to write.
#[derive(Debug, Clone)]
pub struct QuestionRowIn<'a> {
    /// The question's text.
    pub text: &'a str,
    /// Single or multiple choice.
    pub kind: crate::domain::quiz::QuestionKind,
    /// The options, in the author's order.
    pub options: Vec<OptionRowIn<'a>>,
}

/// A validated option of a question to write.
#[derive(Debug, Clone)]
pub struct OptionRowIn<'a> {
    /// The author's index of the option within its question; answers name it.
    pub index: i64,
    /// The option's text.
    pub text: &'a str,
    /// Whether choosing this option is right.
    pub is_correct: bool,
}

/// An attempt to start.
#[derive(Debug, Clone)]
pub struct AttemptStart<'a> {
    /// The lesson the test is linked to at the start, if any; the attempt keeps it.
    pub lesson: Option<LessonId>,
    /// Attempts allowed per student: with this many already made, none starts.
    pub max_attempts: i32,
    /// When the attempt starts.
    pub now: DateTime<Utc>,
    /// When the time limit closes the attempt; `None` without a limit.
    pub deadline: Option<DateTime<Utc>>,
    /// JSON of the question and option order shown.
    pub layout: &'a str,
}

/// What starting an attempt did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Started {
    /// A new attempt was started.
    New(crate::domain::AttemptId),
    /// The student already has an attempt in progress: that one.
    Open(crate::domain::AttemptId),
    /// The student has used every attempt the test allows.
    LimitReached,
}

/// Which attempts a listing covers.
#[derive(Debug, Clone, Copy, Default)]
pub struct AttemptFilter {
    /// Only this attempt.
    pub id: Option<crate::domain::AttemptId>,
    /// Only attempts at this test.
    pub test: Option<crate::domain::TestId>,
    /// Only attempts made in this lesson.
    pub lesson: Option<LessonId>,
    /// Only this student's attempts.
    pub student: Option<UserId>,
    /// Only attempts still open that have a deadline (those a time limit may have closed).
    pub open_with_deadline: bool,
}

/// Metadata of a stored file, as recorded beside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileMeta {
    /// The client's file name.
    pub name: String,
    /// The file's size in bytes.
    pub size: i64,
    /// The MIME type the file is served with.
    pub content_type: String,
}

/// A stored refresh token: only its digest is kept.
#[derive(Debug, Clone)]
pub struct RefreshToken {
    /// The account the token belongs to.
    pub user_id: UserId,
    /// Tokens rotated from one login share a family; reuse of a spent one revokes the family.
    pub family: String,
    /// The SHA-256 digest of the token, in hex.
    pub digest: String,
    /// The account's token version when issued; a later version makes the token invalid.
    pub token_version: i64,
    /// When the token stops being accepted.
    pub expires_at: DateTime<Utc>,
    /// When the token was issued.
    pub created_at: DateTime<Utc>,
}

/// What presenting a refresh token found.
#[derive(Debug, Clone)]
pub enum RefreshUse {
    /// Valid and now spent; the caller may issue the next one in the family.
    Fresh(RefreshToken),
    /// Already spent or revoked: the whole family has now been revoked.
    Reused,
    /// No token has this digest.
    Unknown,
}

/// One row of an import, ready to write.
#[derive(Debug, Clone)]
pub struct RosterRow {
    /// The group the account joins (created if need be); `None` for a teacher.
    pub group: Option<String>,
    /// The role of an account the row creates.
    pub role: Role,
    /// Subjects the account is made the teacher of; only a teacher's account takes them.
    pub subjects: Vec<crate::domain::SubjectId>,
    /// The description of a group the row creates.
    pub group_description: Option<String>,
    /// The account's IIN: an existing account with it is reused.
    pub iin: Iin,
    /// The full name of an account the row creates (or renames, with `update_name`).
    pub full_name: String,
    /// The phone of an account the row creates.
    pub phone: Option<Phone>,
    /// Set for the row that creates the account; existing accounts are reused as they are.
    pub new_password_hash: Option<String>,
    /// Give an existing account this row's `full_name` (the import's `update_names`).
    pub update_name: bool,
}

/// What writing an import changed.
#[derive(Debug, Clone, Default)]
pub struct RosterOutcome {
    /// Names of the groups created.
    pub groups_created: Vec<String>,
    /// IINs of the accounts created.
    pub users_created: Vec<Iin>,
    /// Existing accounts whose name was replaced.
    pub names_updated: Vec<Iin>,
    /// Memberships that did not exist before.
    pub memberships_added: u64,
    /// Subjects whose teacher changed.
    pub subjects_assigned: u64,
}

/// What an administrator changes on an account; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UserChange {
    /// A new full name.
    pub full_name: Option<String>,
    /// `Some(None)` clears the phone.
    pub phone: Option<Option<Phone>>,
    /// A new role; demoting the last administrator is refused.
    pub role: Option<Role>,
    /// `Some(Some(at))` suspends the account (an account already suspended keeps its time),
    /// `Some(None)` reactivates it.
    pub suspended_at: Option<Option<DateTime<Utc>>>,
}

/// An account's fields after a [`UserChange`].
pub(crate) struct ChangedUser {
    pub(crate) full_name: String,
    pub(crate) phone: Option<String>,
    pub(crate) role: Role,
    pub(crate) suspended_at: Option<DateTime<Utc>>,
}

impl UserChange {
    pub(crate) fn apply(&self, user: &User) -> ChangedUser {
        ChangedUser {
            full_name: self.full_name.clone().unwrap_or_else(|| user.full_name.clone()),
            phone: match &self.phone {
                Some(phone) => phone.as_ref().map(|p| p.as_str().to_owned()),
                None => user.phone.clone(),
            },
            role: self.role.unwrap_or(user.role),
            suspended_at: match self.suspended_at {
                Some(Some(at)) => user.suspended_at.or(Some(at)),
                Some(None) => None,
                None => user.suspended_at,
            },
        }
    }

    /// `audit` with what changed between `before` and `after`, or `None` when nothing did.
    pub(crate) fn record(before: &User, after: &User, audit: &AuditEntry) -> Option<AuditEntry> {
        let mut was = serde_json::Map::new();
        let mut now = serde_json::Map::new();
        let mut note = |field: &str, old: serde_json::Value, new: serde_json::Value| {
            if old != new {
                was.insert(field.to_owned(), old);
                now.insert(field.to_owned(), new);
            }
        };
        note(
            "full_name",
            before.full_name.clone().into(),
            after.full_name.clone().into(),
        );
        note("phone", before.phone.clone().into(), after.phone.clone().into());
        note("role", before.role.as_str().into(), after.role.as_str().into());
        note(
            "suspended",
            before.suspended_at.is_some().into(),
            after.suspended_at.is_some().into(),
        );
        (!was.is_empty()).then(|| AuditEntry {
            before: Some(was.into()),
            after: Some(now.into()),
            ..audit.clone()
        })
    }
}

/// One line of the audit log. The store writes it in the same transaction as the change it
/// records, so that a change is never made without its record, nor recorded without being made.
#[derive(Debug, Clone)]
pub struct AuditEntry {
    /// Who acted; `None` for an operator task or the system.
    pub actor: Option<UserId>,
    /// What was done, as `area.verb` (`group.create`, `user.update`).
    pub action: &'static str,
    /// What it was done to, as `kind:id` (`group:7`); `{id}` stands for an id not yet known.
    pub target: String,
    /// The changed fields before the change, if recorded.
    pub before: Option<serde_json::Value>,
    /// The changed fields after the change, if recorded.
    pub after: Option<serde_json::Value>,
    /// When the change was made.
    pub at: DateTime<Utc>,
}

impl AuditEntry {
    /// The entry for a row just created with `id`: `{id}` in the target becomes the id.
    pub fn for_id(&self, id: i64) -> AuditEntry {
        AuditEntry {
            target: self.target.replace("{id}", &id.to_string()),
            ..self.clone()
        }
    }
}

/// Everything the platform needs from a database. Implementations must pass the conformance suite.
pub trait Store: Send + Sync + 'static {
    /// Applies the embedded migrations.
    fn migrate(&self) -> impl Future<Output = StoreResult<()>> + Send;
    /// One cheap round trip, for readiness checks.
    fn ping(&self) -> impl Future<Output = StoreResult<()>> + Send;
    /// The connection pool's size and idle connections, without a round trip.
    fn pool_status(&self) -> PoolStatus;

    // Every method that takes an `AuditEntry` writes it in the transaction of its change.

    /// Creates the account, with its record; `Conflict` when the IIN or the phone is taken.
    fn insert_user(
        &self,
        admin: &crate::policy::Admin,
        user: &NewUser,
        now: DateTime<Utc>,
        audit: &AuditEntry,
    ) -> impl Future<Output = StoreResult<User>> + Send;
    /// The account with this IIN, if any.
    fn user_by_iin(&self, iin: &Iin) -> impl Future<Output = StoreResult<Option<User>>> + Send;
    /// The account with this id, if any.
    fn user_by_id(&self, id: UserId) -> impl Future<Output = StoreResult<Option<User>>> + Send;
    /// How many administrators there are.
    fn administrators(&self) -> impl Future<Output = StoreResult<i64>> + Send;
    /// A page of users in id order, and the total count.
    fn list_users(&self, page: Page) -> impl Future<Output = StoreResult<(Vec<User>, i64)>> + Send;
    /// Deletes the user; `false` if there was none.
    fn delete_user(
        &self,
        admin: &crate::policy::Admin,
        id: UserId,
        audit: &AuditEntry,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Sets or clears the user's own phone; `Conflict` when another account has it, `NotFound`
    /// without the account.
    fn set_phone(
        &self,
        own: &crate::policy::Own<UserId>,
        phone: Option<&Phone>,
    ) -> impl Future<Output = StoreResult<User>> + Send;
    /// Sets or clears the storage key of the user's own photo; `NotFound` without the account.
    fn set_photo(
        &self,
        own: &crate::policy::Own<UserId>,
        key: Option<&str>,
    ) -> impl Future<Output = StoreResult<User>> + Send;
    /// Replaces the password hash, bumps the token version and revokes refresh tokens, atomically.
    fn set_password(
        &self,
        account: &crate::policy::SelfOrAdmin<UserId>,
        hash: &str,
        must_change: bool,
        now: DateTime<Utc>,
        audit: Option<&AuditEntry>,
    ) -> impl Future<Output = StoreResult<User>> + Send;
    /// Applies an administrator's `change` to the account, with `audit` (the store adds what each
    /// changed field was and became; a change that changes nothing is not recorded). Suspending
    /// revokes every token. Demoting the last administrator is refused (`Conflict` on
    /// `last_admin`), with the administrators' rows locked so that two demotions cannot race
    /// past the rule. `NotFound` without the account.
    fn update_user(
        &self,
        admin: &crate::policy::Admin,
        id: UserId,
        change: &UserChange,
        now: DateTime<Utc>,
        audit: &AuditEntry,
    ) -> impl Future<Output = StoreResult<User>> + Send;
    /// Clears the login throttle's state of `key` (an administrator's unlock), with its record;
    /// answers whether there was any.
    fn clear_throttle(
        &self,
        admin: &crate::policy::Admin,
        key: &str,
        audit: &AuditEntry,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Bumps the token version and revokes refresh tokens: every earlier token stops working.
    fn revoke_tokens(&self, id: UserId, now: DateTime<Utc>) -> impl Future<Output = StoreResult<()>> + Send;

    /// Keeps the session `family` of the user alive across a password change: its access tokens of
    /// versions `min_version..version` stay valid while the user's token version is `version`.
    /// Replaces any session kept before.
    fn keep_session(
        &self,
        user: UserId,
        family: &str,
        min_version: i64,
        version: i64,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// The session kept by the user's latest password change, if any.
    fn kept_session(&self, user: UserId) -> impl Future<Output = StoreResult<Option<KeptSession>>> + Send;
    /// Records a refresh token just issued (by its digest).
    fn insert_refresh_token(&self, token: &RefreshToken) -> impl Future<Output = StoreResult<()>> + Send;
    /// Spends the token with this digest, atomically; a second use revokes its family.
    fn use_refresh_token(
        &self,
        digest: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<RefreshUse>> + Send;

    /// Reads the login throttle's states of `keys` for update, lets `rule` change them and writes
    /// them back, in one transaction serialised across every process sharing the database. The
    /// rule is [`crate::auth::Attempt`]'s reserve or settle.
    fn throttle_update<T, F>(
        &self,
        keys: &[String],
        now: DateTime<Utc>,
        rule: F,
    ) -> impl Future<Output = StoreResult<T>> + Send
    where
        T: Send,
        F: FnOnce(&mut [ThrottleState]) -> T + Send;

    /// Writes an audit record on its own, outside the transaction of any change.
    fn audit(&self, entry: &AuditEntry) -> impl Future<Output = StoreResult<()>> + Send;
    /// A page of the audit log, newest first, and how many records match in all.
    fn audit_log(
        &self,
        filter: &crate::domain::AuditFilter,
        page: Page,
    ) -> impl Future<Output = StoreResult<(Vec<crate::domain::AuditRecord>, i64)>> + Send;

    // Groups and membership.
    /// Creates the group, with its record; `Conflict` when the name is taken.
    fn insert_group(
        &self,
        admin: &crate::policy::Admin,
        name: &str,
        description: Option<&str>,
        now: DateTime<Utc>,
        audit: &AuditEntry,
    ) -> impl Future<Output = StoreResult<Group>> + Send;
    /// The group with its member count, if any.
    fn group(&self, id: GroupId) -> impl Future<Output = StoreResult<Option<Group>>> + Send;
    /// Renames the group and sets its description (a name in use is a conflict); `None` without
    /// the group. The audit entry gets the new values as its `after`.
    fn update_group(
        &self,
        admin: &crate::policy::Admin,
        id: GroupId,
        name: &str,
        description: Option<&str>,
        audit: &AuditEntry,
    ) -> impl Future<Output = StoreResult<Option<Group>>> + Send;
    /// The group with exactly this name, if any.
    fn group_by_name(&self, name: &str) -> impl Future<Output = StoreResult<Option<Group>>> + Send;
    /// Moves every member of `from` into `to` (those already in `to` stay once) and empties
    /// `from`, with its record; answers how many were moved.
    fn move_members(
        &self,
        admin: &crate::policy::Admin,
        from: GroupId,
        to: GroupId,
        audit: &AuditEntry,
    ) -> impl Future<Output = StoreResult<u64>> + Send;
    /// A page of groups in id order, and how many there are in all.
    fn list_groups(&self, page: Page) -> impl Future<Output = StoreResult<(Vec<Group>, i64)>> + Send;
    /// Deletes the group; its members stay.
    fn delete_group(
        &self,
        admin: &crate::policy::Admin,
        id: GroupId,
        audit: &AuditEntry,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Deletes the group and its non-admin members, atomically; `None` if there is no such group.
    /// The audit entry gets the number of users deleted as its `after`.
    fn delete_group_with_users(
        &self,
        admin: &crate::policy::Admin,
        id: GroupId,
        audit: &AuditEntry,
    ) -> impl Future<Output = StoreResult<Option<u64>>> + Send;
    /// Adds the users (existing memberships are kept); returns how many were new.
    fn add_members(
        &self,
        admin: &crate::policy::Admin,
        group: GroupId,
        users: &[UserId],
    ) -> impl Future<Output = StoreResult<u64>> + Send;
    /// The group's members, by name.
    fn members(&self, group: GroupId) -> impl Future<Output = StoreResult<Vec<User>>> + Send;
    /// Takes the user out of the group; `false` if they were not in it.
    fn remove_member(
        &self,
        admin: &crate::policy::Admin,
        group: GroupId,
        user: UserId,
    ) -> impl Future<Output = StoreResult<bool>> + Send;

    // Modules, subjects, lessons and their links.
    /// Creates the module, with its record.
    fn insert_module(
        &self,
        admin: &crate::policy::Admin,
        module: &NewModule,
        now: DateTime<Utc>,
        audit: &AuditEntry,
    ) -> impl Future<Output = StoreResult<Module>> + Send;
    /// The module, if any.
    fn module(&self, id: ModuleId) -> impl Future<Output = StoreResult<Option<Module>>> + Send;
    /// The audit entry gets the updated module as its `after`.
    fn update_module(
        &self,
        admin: &crate::policy::Admin,
        module: &Module,
        audit: &AuditEntry,
    ) -> impl Future<Output = StoreResult<Module>> + Send;
    /// Deletes the module with its subjects, lessons and links.
    fn delete_module(
        &self,
        admin: &crate::policy::Admin,
        id: ModuleId,
        audit: &AuditEntry,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// A title already used in the module (case-insensitively) is a conflict.
    fn insert_subject(
        &self,
        admin: &crate::policy::Admin,
        module: ModuleId,
        title: &str,
    ) -> impl Future<Output = StoreResult<Subject>> + Send;
    /// The subject, if any.
    fn subject(&self, id: SubjectId) -> impl Future<Output = StoreResult<Option<Subject>>> + Send;
    /// Renames the subject (a title used in its module, in any case, is a conflict); `None`
    /// without the subject. The audit entry gets the new title as its `after`.
    fn rename_subject(
        &self,
        admin: &crate::policy::Admin,
        id: SubjectId,
        title: &str,
        audit: &AuditEntry,
    ) -> impl Future<Output = StoreResult<Option<Subject>>> + Send;
    /// Deletes the subject with its lessons and tests, with its record; `false` if there was none.
    fn delete_subject(
        &self,
        admin: &crate::policy::Admin,
        id: SubjectId,
        audit: &AuditEntry,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Sets or clears the subject's teacher, with its record; `false` (and no record) if there is
    /// no such subject.
    fn set_subject_teacher(
        &self,
        admin: &crate::policy::Admin,
        subject: SubjectId,
        teacher: Option<UserId>,
        audit: &AuditEntry,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Gives the group access to the module; `false` if it already had it.
    fn link_group_module(
        &self,
        admin: &crate::policy::Admin,
        module: ModuleId,
        group: GroupId,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Takes the group's access to the module away; `false` if it had none.
    fn unlink_group_module(
        &self,
        admin: &crate::policy::Admin,
        module: ModuleId,
        group: GroupId,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// The groups given access to the module, in id order.
    fn module_groups(&self, module: ModuleId) -> impl Future<Output = StoreResult<Vec<Group>>> + Send;
    /// The module's teachers: those teaching one of its subjects and those linked to it, by name.
    fn module_teachers(
        &self,
        module: ModuleId,
    ) -> impl Future<Output = StoreResult<Vec<crate::domain::TeacherRef>>> + Send;
    /// Every module–group link.
    fn module_links(&self) -> impl Future<Output = StoreResult<Vec<(ModuleId, Group)>>> + Send;
    /// The modules of `scope` (or just `only`, if visible) with subjects, teachers and lessons, in three queries.
    fn module_trees(
        &self,
        scope: ModuleScope,
        only: Option<ModuleId>,
    ) -> impl Future<Output = StoreResult<Vec<ModuleTree>>> + Send {
        self.module_trees_for(scope, only, None)
    }
    /// Like `module_trees`, with each lesson carrying `reader`'s result on its test, still in three
    /// queries (the results come with the lessons).
    fn module_trees_for(
        &self,
        scope: ModuleScope,
        only: Option<ModuleId>,
        reader: Option<UserId>,
    ) -> impl Future<Output = StoreResult<Vec<ModuleTree>>> + Send;
    /// Whether the module exists and is within `scope`.
    fn module_visible(&self, scope: ModuleScope, module: ModuleId) -> impl Future<Output = StoreResult<bool>> + Send;
    /// The lesson, without a reader's result.
    fn lesson(&self, id: LessonId) -> impl Future<Output = StoreResult<Option<Lesson>>> + Send {
        self.lesson_for(id, None)
    }
    /// The lesson with `reader`'s result on its test, in one query.
    fn lesson_for(
        &self,
        id: LessonId,
        reader: Option<UserId>,
    ) -> impl Future<Output = StoreResult<Option<Lesson>>> + Send;
    /// The subject's lessons, each with `reader`'s result on its test, in one query.
    fn subject_lessons(
        &self,
        subject: SubjectId,
        reader: Option<UserId>,
    ) -> impl Future<Output = StoreResult<Vec<Lesson>>> + Send;
    /// The storage key an imported file of the previous backend is kept under, by its old path
    /// (`static/lesson_docs/<name>`, `static/homework/lesson_<n>/<name>`, `static/photos/<name>`,
    /// percent-decoded, without a leading `/`).
    fn legacy_file(&self, path: &str) -> impl Future<Output = StoreResult<Option<String>>> + Send;
    /// Records that the previous backend's file `path` (as `legacy_file` reads it) is stored under
    /// `key` now; a path recorded again points to the new key.
    fn record_legacy_file(&self, path: &str, key: &str) -> impl Future<Output = StoreResult<()>> + Send;
    /// Subjects taught by `teacher`, or all subjects with `None`.
    fn teacher_subjects(&self, teacher: Option<UserId>) -> impl Future<Output = StoreResult<Vec<Subject>>> + Send;

    /// Writes an import in one transaction: groups created as needed, new students created (with
    /// `must_change_password`), names replaced where a row asks, everyone added to their row's
    /// group. Idempotent.
    /// Applies an import's rows in one transaction, with the audit record `audit` makes of what
    /// they changed.
    fn apply_roster(
        &self,
        admin: &crate::policy::Admin,
        rows: &[RosterRow],
        now: DateTime<Utc>,
        audit: &(dyn Fn(&RosterOutcome) -> AuditEntry + Send + Sync),
    ) -> impl Future<Output = StoreResult<RosterOutcome>> + Send;

    // ---- lessons, stored files, homework ----

    /// Inserts the lesson and, if asked, attaches an uploaded document to it, atomically.
    fn insert_lesson(
        &self,
        subject: &crate::policy::Taught<SubjectId>,
        lesson: &NewLessonRow<'_>,
        now: DateTime<Utc>,
        audit: &AuditEntry,
    ) -> impl Future<Output = StoreResult<Lesson>> + Send;
    /// Replaces the lesson's fields (its subject stays), its document and its test, atomically:
    /// a document no longer named loses its row, and its key is answered for the caller to
    /// delete; a test no longer named is unlinked. A lesson with homework is refused as a test
    /// (`Conflict` on `homework`). `NotFound` without the lesson.
    fn update_lesson(
        &self,
        taught: &crate::policy::Taught<LessonId>,
        lesson: &NewLessonRow<'_>,
        audit: &AuditEntry,
    ) -> impl Future<Output = StoreResult<(Lesson, Vec<String>)>> + Send;
    /// Deletes the lesson with its documents' rows and its submissions.
    fn delete_lesson(
        &self,
        taught: &crate::policy::Taught<LessonId>,
        audit: &AuditEntry,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Storage keys of the files that deleting `of` takes with it.
    fn files_of(&self, of: FilesOf) -> impl Future<Output = StoreResult<Vec<String>>> + Send;
    /// Records an uploaded lesson document, not yet in a lesson, under its uploader.
    fn insert_lesson_file(
        &self,
        file: &StoredFile,
        uploader: &crate::policy::Staff,
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Who a stored key belongs to, with its metadata; `None` for keys no row refers to.
    fn file_owner(&self, key: &str) -> impl Future<Output = StoreResult<Option<(FileOwner, FileMeta)>>> + Send;
    /// Every storage key a row refers to (documents, homework files, avatars).
    fn referenced_keys(&self) -> impl Future<Output = StoreResult<Vec<String>>> + Send;
    /// Storage keys that `legacy_files` maps old paths to: kept even when no other row refers to
    /// them, because old links still lead there.
    fn legacy_file_keys(&self) -> impl Future<Output = StoreResult<Vec<String>>> + Send;
    /// Drops the rows that refer to these keys (for repairing rows whose files are gone).
    fn forget_files(&self, keys: &[String]) -> impl Future<Output = StoreResult<u64>> + Send;
    /// Inserts a submission and its files' rows, atomically.
    fn insert_submission(
        &self,
        by: &crate::policy::Enrolled<LessonId>,
        comment: Option<&str>,
        files: &[StoredFile],
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<Submission>> + Send;
    /// The submission with its files, if any.
    fn submission(&self, id: SubmissionId) -> impl Future<Output = StoreResult<Option<Submission>>> + Send;
    /// Submissions newest first, each with its files (two queries).
    fn submissions(&self, filter: &SubmissionFilter) -> impl Future<Output = StoreResult<Vec<Submission>>> + Send;
    /// Deletes the submission with its files' rows, with its record; `false` if there was none.
    fn delete_submission(
        &self,
        proof: &crate::policy::OwnOrTaught<SubmissionId>,
        audit: &AuditEntry,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Sets the grade; returns the previous one, or `None` if there is no such submission.
    fn grade_submission(
        &self,
        taught: &crate::policy::Taught<SubmissionId>,
        grade: i32,
        feedback: Option<&str>,
        by: UserId,
        now: DateTime<Utc>,
        audit: &AuditEntry,
    ) -> impl Future<Output = StoreResult<Option<Option<i32>>>> + Send;

    // ---- tests (quizzes) and attempts ----

    /// Creates the test with its questions and options, atomically, with its record; answers its id.
    fn insert_test(
        &self,
        subject: &crate::policy::Taught<SubjectId>,
        test: &TestRow<'_>,
        now: DateTime<Utc>,
        audit: &AuditEntry,
    ) -> impl Future<Output = StoreResult<crate::domain::TestId>> + Send;
    /// Replaces the test's settings and questions; attempts are kept. `false` if there is none.
    fn replace_test(
        &self,
        taught: &crate::policy::Taught<crate::domain::TestId>,
        test: &TestRow<'_>,
        now: DateTime<Utc>,
        audit: &AuditEntry,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Tests with questions and options (three queries), filtered by id, subject and lesson.
    fn tests(
        &self,
        only: Option<crate::domain::TestId>,
        subject: Option<SubjectId>,
        lesson: Option<LessonId>,
    ) -> impl Future<Output = StoreResult<Vec<crate::domain::quiz::Test>>> + Send;
    /// Deletes the test with its questions and attempts, with its record; `false` if there was none.
    fn delete_test(
        &self,
        taught: &crate::policy::Taught<crate::domain::TestId>,
        audit: &AuditEntry,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Starts an attempt unless one is open (returned instead) or the limit is reached;
    /// serialised per student.
    fn start_attempt(
        &self,
        taker: &crate::policy::Enrolled<crate::domain::TestId>,
        start: &AttemptStart<'_>,
    ) -> impl Future<Output = StoreResult<Started>> + Send;
    /// Saves answers of an attempt still open; `false` if it is closed.
    fn save_answers(
        &self,
        own: &crate::policy::Own<crate::domain::AttemptId>,
        answers: &str,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Closes an open attempt with its answers and score, once; `false` if it was closed already.
    fn finish_attempt(
        &self,
        own: &crate::policy::Own<crate::domain::AttemptId>,
        answers: &str,
        score: &crate::domain::quiz::Score,
        at: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Attempts newest first, with the students' names.
    fn attempts(
        &self,
        filter: &AttemptFilter,
    ) -> impl Future<Output = StoreResult<Vec<crate::domain::quiz::Attempt>>> + Send;
    /// Deletes the attempt, with its record; `false` if there was none.
    fn delete_attempt(
        &self,
        taught: &crate::policy::Taught<crate::domain::AttemptId>,
        audit: &AuditEntry,
    ) -> impl Future<Output = StoreResult<bool>> + Send;

    /// Every homework submission and submitted attempt of a student, with its lesson, subject and
    /// module: one query, whatever the number of items.
    fn student_grades(
        &self,
        allowed: &crate::policy::SelfOrAdmin<UserId>,
    ) -> impl Future<Output = StoreResult<Vec<crate::domain::GradeItem>>> + Send;
    /// The lessons of a module (of `teacher`'s subjects only, when given), by subject and creation.
    fn gradebook_lessons(
        &self,
        module: ModuleId,
        teacher: Option<UserId>,
    ) -> impl Future<Output = StoreResult<Vec<crate::domain::grades::GradebookLesson>>> + Send;
    /// A page of a group's students (by name) with their work in the module (of `teacher`'s
    /// subjects only, when given), and the number of students in the group: one query.
    fn gradebook_page(
        &self,
        group: GroupId,
        module: ModuleId,
        teacher: Option<UserId>,
        page: Page,
    ) -> impl Future<Output = StoreResult<GradebookPage>> + Send;
}

/// A session kept alive across a password change (see [`Store::keep_session`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptSession {
    /// The refresh-token family (session id) kept.
    pub family: String,
    /// The lowest token version of the session's access tokens still accepted.
    pub min_version: i64,
    /// The account's token version the session is kept for; a later change ends it.
    pub version: i64,
}

/// A page of a gradebook as the store returns it.
#[derive(Debug, Clone, Default)]
pub struct GradebookPage {
    /// The page's students, by name.
    pub students: Vec<crate::domain::grades::GradebookStudent>,
    /// Those students' submissions and attempts in the module.
    pub work: Vec<crate::domain::grades::GradebookWork>,
    /// How many students the group has in all.
    pub total: i64,
}
