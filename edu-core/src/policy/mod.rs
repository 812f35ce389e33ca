//! Who may do what: the one place that turns a [`Principal`] (and the ids it acts on) into
//! decisions and proofs.
//!
//! # The rules
//!
//! Every operation of the API has one [`Guard`]; its text is the `x-guard` of the OpenAPI
//! document, and [`admit`] holds its role part. The "own" parts are the proofs below.
//!
//! | guard | who | rule (function here → proof) |
//! |---|---|---|
//! | `public` | anyone, no token | — |
//! | `account` | the caller's own account, even before a required password change | [`own_account`] → [`Own<UserId>`] |
//! | `auth` | any logged-in user | — |
//! | `auth(own)` | any logged-in user, on what they may see or own | visibility: [`scope`]; [`Policy::visible_module`], [`Policy::visible_subject`], [`Policy::visible_lesson`], [`Policy::visible_test`] → [`Visible`]; a student's own work: [`enrolled`] → [`Enrolled`], [`own_attempt`] → [`Own<AttemptId>`], [`Policy::submission_remover`] → [`OwnOrTaught<SubmissionId>`]; grades: [`self_or_admin`] → [`SelfOrAdmin<UserId>`]; downloads: [`Policy::may_download`] |
//! | `teacher` | teachers and administrators | [`staff`] → [`Staff`] |
//! | `teacher(own)` | the teacher of the subject, or an administrator | [`Policy::taught_subject`], [`Policy::taught_lesson`], [`Policy::taught_test`], [`Policy::taught_submission`], [`Policy::taught_attempt`], [`Policy::gradebook`] → [`Taught`]; answers shown: [`Policy::sees_answers`] |
//! | `admin` | administrators | [`admin`] → [`Admin`]; who may be deleted or suspended: [`deletable`], [`suspendable`] |
//!
//! Refusals keep the product's answers: a role that is missing is `Forbidden`; something the
//! caller may not see answers exactly like something missing (`NotFound`), so that its existence
//! is not given away.
//!
//! # How proofs flow
//!
//! 1. A route (`edu-http/src/routes`) authenticates the caller into a [`Principal`] and calls one
//!    `Platform` method with it. Where the operation must be refused before its input is read
//!    (an administrator's form sent by a student answers 403, not 422), the route passes its own
//!    [`Guard`] to [`admit`]: the decision is still made here.
//! 2. The `Platform` method asks this module for the proof the operation needs
//!    (`policy::admin(who)?`, `self.policy().taught_lesson(who, id).await?`).
//! 3. The proof goes to the store: every write to protected data takes one (`&Admin` for every
//!    administrator's write, `&Taught<…>` for writes to a subject's lessons, tests and grades,
//!    `&Own<…>`/`&Enrolled<…>` for a student's own attempts and submissions). Proof types have
//!    private fields and no public constructor, so only this module makes them, and a write whose
//!    check was forgotten does not compile.
//!
//! Operator tasks (the command line's `operator_*` methods, the attempt sweep) run with the
//! database's own authority and no principal: they get their proofs from the crate-private
//! `Operator`.
//!
//! Reads keep plain ids: the rules above read through them (a subject's teacher, a lesson's
//! subject, a module's visibility), so a proof there would be circular, and reads change nothing.
//! The exceptions that take proofs are the reads a rule guards as a whole
//! ([`crate::Store::student_grades`] takes [`SelfOrAdmin<UserId>`]). Session writes (tokens,
//! the login throttle) belong to authentication, not to these rules: the throttle's rule is
//! `auth/throttle.rs`, applied by one atomic `Store::throttle_update`.
//!
//! # Adding a rule
//!
//! 1. Write the decision here: a function taking the [`Principal`] (and the ids, loading through
//!    the store what the rule needs) that answers a proof, with the refusal the API should give.
//!    A new kind of operation gets a new [`Guard`] variant (its text, a line in [`Guard::rule`],
//!    a row in the table above, and its role part in [`admit`]).
//! 2. Make the store method that writes the protected data take the proof (`&Admin`,
//!    `&Taught<…>`, …) and use its [`id`](Taught::id) instead of a bare id.
//! 3. Call the function from the `Platform` method and hand the proof to the store; annotate the
//!    route with `Guard::….as_str()`.

use crate::auth::Principal;
use crate::domain::quiz::{Attempt, Test};
use crate::domain::{
    AttemptId, FileOwner, GroupId, Lesson, LessonId, ModuleId, ModuleScope, ModuleTree, Role, Subject, SubjectId,
    Submission, SubmissionId, TestId, User, UserId,
};
use crate::error::{Error, Result};
use crate::store::Store;

/// The guard of an operation: who may call it. Its text is the operation's `x-guard` in the
/// OpenAPI document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Guard {
    /// No token needed.
    Public,
    /// The caller's own account; allowed while a password change is required.
    Account,
    /// Any logged-in user.
    Auth,
    /// Any logged-in user, on what they may see or what is theirs (otherwise 404).
    AuthOwn,
    /// Teachers and administrators.
    Teacher,
    /// The teacher of the subject concerned, or an administrator.
    TeacherOwn,
    /// Administrators.
    Admin,
}

impl Guard {
    /// Every guard, in the order of the rules table.
    pub const ALL: [Guard; 7] = [
        Guard::Public,
        Guard::Account,
        Guard::Auth,
        Guard::AuthOwn,
        Guard::Teacher,
        Guard::TeacherOwn,
        Guard::Admin,
    ];

    /// The guard's text, as the OpenAPI document's `x-guard` shows it.
    pub const fn as_str(self) -> &'static str {
        match self {
            Guard::Public => "public",
            Guard::Account => "account",
            Guard::Auth => "auth",
            Guard::AuthOwn => "auth(own)",
            Guard::Teacher => "teacher",
            Guard::TeacherOwn => "teacher(own)",
            Guard::Admin => "admin",
        }
    }

    /// The guard with this text.
    pub fn parse(text: &str) -> Option<Guard> {
        Guard::ALL.into_iter().find(|g| g.as_str() == text)
    }

    /// The rule in a line, for people.
    pub const fn rule(self) -> &'static str {
        match self {
            Guard::Public => "anyone, without a token",
            Guard::Account => "the caller's own account, even before a required password change",
            Guard::Auth => "any logged-in user",
            Guard::AuthOwn => "any logged-in user, on what they may see or own (404 otherwise)",
            Guard::Teacher => "teachers and administrators",
            Guard::TeacherOwn => "the subject's teacher or an administrator",
            Guard::Admin => "administrators",
        }
    }
}

impl std::fmt::Display for Guard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The role part of a guard, checked before an operation reads its input: administrators for
/// [`Guard::Admin`], teachers and administrators for [`Guard::Teacher`] and
/// [`Guard::TeacherOwn`]; nothing more for the others (their "own" part needs the data, and the
/// `Platform` method checks it).
pub fn admit(who: &Principal, guard: Guard) -> Result<()> {
    match guard {
        Guard::Admin => admin(who).map(drop),
        Guard::Teacher | Guard::TeacherOwn => staff(who).map(drop),
        Guard::Public | Guard::Account | Guard::Auth | Guard::AuthOwn => Ok(()),
    }
}

// ---- proofs ----

/// Proof that the caller is an administrator, or an operator task.
#[derive(Debug)]
pub struct Admin {
    actor: Option<UserId>,
}

impl Admin {
    /// The administrator; `None` for an operator task.
    pub fn id(&self) -> Option<UserId> {
        self.actor
    }
}

/// Proof that the caller is a teacher or an administrator.
#[derive(Debug)]
pub struct Staff {
    id: UserId,
    admin: bool,
}

impl Staff {
    /// The teacher or administrator.
    pub fn id(&self) -> UserId {
        self.id
    }

    /// Whether the caller is an administrator, who sees every subject, rather than a teacher.
    pub fn is_admin(&self) -> bool {
        self.admin
    }
}

/// Proof that the caller may see `I` (a module, subject, lesson or test).
#[derive(Debug)]
pub struct Visible<I> {
    id: I,
}

impl<I: Copy> Visible<I> {
    /// The module, subject, lesson or test the caller may see.
    pub fn id(&self) -> I {
        self.id
    }
}

/// Proof that the caller teaches the subject `I` belongs to, or is an administrator (or an
/// operator task).
#[derive(Debug)]
pub struct Taught<I> {
    id: I,
    by: Option<UserId>,
    as_teacher: bool,
}

impl<I: Copy> Taught<I> {
    /// The item (in a subject the caller teaches) the proof is for.
    pub fn id(&self) -> I {
        self.id
    }

    /// Who acts: the teacher or administrator; `None` for an operator task.
    pub fn by(&self) -> Option<UserId> {
        self.by
    }

    /// The teacher whose subjects the proof is limited to; `None` for an administrator or an
    /// operator task, who see every subject.
    pub fn teacher(&self) -> Option<UserId> {
        if self.as_teacher { self.by } else { None }
    }
}

/// Proof that `I` is the caller's own (their account, their attempt, their submission).
#[derive(Debug)]
pub struct Own<I> {
    id: I,
    owner: UserId,
}

impl<I: Copy> Own<I> {
    /// The caller's own item the proof is for.
    pub fn id(&self) -> I {
        self.id
    }

    /// The caller, whose the item is.
    pub fn owner(&self) -> UserId {
        self.owner
    }
}

/// Proof that the caller is a student who may see `I` (a lesson to hand homework in for, a test
/// to take).
#[derive(Debug)]
pub struct Enrolled<I> {
    id: I,
    student: UserId,
}

impl<I: Copy> Enrolled<I> {
    /// The lesson or test the student may see.
    pub fn id(&self) -> I {
        self.id
    }

    /// The student acting.
    pub fn student(&self) -> UserId {
        self.student
    }
}

/// Proof that the caller is the user `I` or an administrator.
#[derive(Debug)]
pub struct SelfOrAdmin<I> {
    id: I,
}

impl<I: Copy> SelfOrAdmin<I> {
    /// The user whose account the caller may act on.
    pub fn id(&self) -> I {
        self.id
    }
}

impl<I> From<Own<I>> for SelfOrAdmin<I> {
    fn from(own: Own<I>) -> Self {
        SelfOrAdmin { id: own.id }
    }
}

/// Proof that `I` is the caller's own, or that they teach its subject (or are an administrator).
#[derive(Debug)]
pub enum OwnOrTaught<I> {
    /// The item is the caller's own.
    Own(Own<I>),
    /// The caller teaches the item's subject, or is an administrator.
    Taught(Taught<I>),
}

impl<I: Copy> OwnOrTaught<I> {
    /// The item the proof is for, whichever way it was proved.
    pub fn id(&self) -> I {
        match self {
            OwnOrTaught::Own(p) => p.id(),
            OwnOrTaught::Taught(p) => p.id(),
        }
    }
}

/// The database's own authority, for operator tasks (the command line) and the platform's own
/// upkeep: it proves anything, so it never leaves the crate.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Operator;

impl Operator {
    pub(crate) fn admin(self) -> Admin {
        Admin { actor: None }
    }

    /// An attempt closed by the sweep in its student's name.
    pub(crate) fn own<I>(self, id: I, owner: UserId) -> Own<I> {
        Own { id, owner }
    }
}

// ---- rules on the principal alone ----

/// The "admin" guard.
pub fn admin(who: &Principal) -> Result<Admin> {
    if who.role == Role::Admin {
        Ok(Admin { actor: Some(who.id) })
    } else {
        Err(Error::Forbidden("administrator access required".into()))
    }
}

/// The "teacher" guard: teachers and administrators.
pub fn staff(who: &Principal) -> Result<Staff> {
    if who.role.is_staff() {
        Ok(Staff {
            id: who.id,
            admin: who.role == Role::Admin,
        })
    } else {
        Err(Error::Forbidden("teacher or administrator access required".into()))
    }
}

/// The one visibility rule: which modules `who` may see.
pub fn scope(who: &Principal) -> ModuleScope {
    match who.role {
        Role::Admin => ModuleScope::All,
        Role::Teacher => ModuleScope::Teacher(who.id),
        Role::Student => ModuleScope::Student(who.id),
    }
}

/// The caller's own account.
pub fn own_account(who: &Principal) -> Own<UserId> {
    Own {
        id: who.id,
        owner: who.id,
    }
}

/// Any account, for an administrator (or an operator task).
pub fn any_account(_: &Admin, id: UserId) -> SelfOrAdmin<UserId> {
    SelfOrAdmin { id }
}

/// Which other groups share a module is the staff's business, not a student's.
pub fn sees_module_groups(who: &Principal) -> bool {
    who.role.is_staff()
}

/// Whether `who` teaches `subject` (every subject, for an administrator).
pub fn teaches(who: &Principal, subject: &Subject) -> bool {
    who.role == Role::Admin || subject.teacher_id == Some(who.id)
}

/// A student's grades: their own, or anyone's for an administrator.
pub fn self_or_admin(who: &Principal, student: UserId) -> Result<SelfOrAdmin<UserId>> {
    if student != who.id && who.role != Role::Admin {
        return Err(Error::Forbidden("only your own grades".into()));
    }
    Ok(SelfOrAdmin { id: student })
}

/// Homework and tests are for students: `who`, a student, with a lesson or test they may see.
pub fn enrolled<I: Copy>(who: &Principal, visible: Visible<I>, refusal: &'static str) -> Result<Enrolled<I>> {
    if who.role != Role::Student {
        return Err(Error::Forbidden(refusal.into()));
    }
    Ok(Enrolled {
        id: visible.id,
        student: who.id,
    })
}

/// The caller's own attempt (404 for anyone else's).
pub fn own_attempt(who: &Principal, attempt: &Attempt) -> Result<Own<AttemptId>> {
    if attempt.student_id != who.id {
        return Err(Error::not_found("attempt"));
    }
    Ok(Own {
        id: attempt.id,
        owner: who.id,
    })
}

/// Only a teacher's account may be given subjects to teach (assigned or imported).
pub fn may_teach(user: &User) -> bool {
    user.role == Role::Teacher
}

/// Administrators cannot be deleted.
pub fn deletable(_: &Admin, user: &User) -> Result<()> {
    if user.role == Role::Admin {
        return Err(Error::Forbidden("administrators cannot be deleted".into()));
    }
    Ok(())
}

/// Administrators cannot be suspended (demote them first).
pub fn suspendable(_: &Admin, user: &User) -> Result<()> {
    if user.role == Role::Admin {
        return Err(Error::Forbidden("administrators cannot be suspended".into()));
    }
    Ok(())
}

// ---- rules that read the store ----

/// The rules that need data, reading through the store.
pub struct Policy<'s, S> {
    store: &'s S,
}

impl<'s, S: Store> Policy<'s, S> {
    pub(crate) fn new(store: &'s S) -> Self {
        Self { store }
    }

    /// The module with its subjects and lessons (each with `who`'s result), if `who` may see it;
    /// a hidden module answers exactly like a missing one.
    pub async fn visible_module(&self, who: &Principal, id: ModuleId) -> Result<(Visible<ModuleId>, ModuleTree)> {
        let mut trees = self.store.module_trees_for(scope(who), Some(id), Some(who.id)).await?;
        let tree = trees.pop().ok_or_else(|| Error::not_found("module"))?;
        Ok((Visible { id }, tree))
    }

    /// The subject, if `who` may see its module (404 otherwise).
    pub async fn visible_subject(&self, who: &Principal, id: SubjectId) -> Result<(Visible<SubjectId>, Subject)> {
        let subject = self
            .store
            .subject(id)
            .await?
            .ok_or_else(|| Error::not_found("subject"))?;
        if !self.store.module_visible(scope(who), subject.module_id).await? {
            return Err(Error::not_found("subject"));
        }
        Ok((Visible { id }, subject))
    }

    /// A lesson read by the caller, if they may see its subject (404 "lesson" otherwise); with
    /// its subject.
    pub async fn visible_lesson(&self, who: &Principal, lesson: &Lesson) -> Result<(Visible<LessonId>, Subject)> {
        let (_, subject) = self
            .visible_subject(who, lesson.subject_id)
            .await
            .map_err(|e| match e {
                Error::NotFound(_) => Error::not_found("lesson"),
                other => other,
            })?;
        Ok((Visible { id: lesson.id }, subject))
    }

    /// A test read by the caller, if they may see its subject (404 "test" otherwise).
    pub async fn visible_test(&self, who: &Principal, test: &Test) -> Result<Visible<TestId>> {
        match self.visible_subject(who, test.subject_id).await {
            Ok(_) => Ok(Visible { id: test.id }),
            Err(Error::NotFound(_)) => Err(Error::not_found("test")),
            Err(e) => Err(e),
        }
    }

    /// The subject, if `who` teaches it or is an administrator ("teacher(own)").
    pub async fn taught_subject(&self, who: &Principal, id: SubjectId) -> Result<(Taught<SubjectId>, Subject)> {
        staff(who)?;
        let subject = self
            .store
            .subject(id)
            .await?
            .ok_or_else(|| Error::not_found("subject"))?;
        let proof = self.teacher_of(who, &subject, id)?;
        Ok((proof, subject))
    }

    fn teacher_of<I>(&self, who: &Principal, subject: &Subject, id: I) -> Result<Taught<I>> {
        if teaches(who, subject) {
            Ok(Taught {
                id,
                by: Some(who.id),
                as_teacher: who.role != Role::Admin,
            })
        } else {
            Err(Error::Forbidden(
                "only the subject's teacher or an administrator may do this".into(),
            ))
        }
    }

    /// The lesson and its subject, if `who` teaches the subject or is an administrator.
    pub async fn taught_lesson(&self, who: &Principal, id: LessonId) -> Result<(Taught<LessonId>, Lesson, Subject)> {
        staff(who)?;
        let lesson = self.store.lesson(id).await?.ok_or_else(|| Error::not_found("lesson"))?;
        let (_, subject) = self.taught_subject(who, lesson.subject_id).await?;
        let proof = self.teacher_of(who, &subject, id)?;
        Ok((proof, lesson, subject))
    }

    /// A test whose subject `who` teaches (any, for an administrator).
    pub async fn taught_test(&self, who: &Principal, test: &Test) -> Result<Taught<TestId>> {
        let (_, subject) = self.taught_subject(who, test.subject_id).await?;
        self.teacher_of(who, &subject, test.id)
    }

    /// A submission to a lesson whose subject `who` teaches (any, for an administrator).
    pub async fn taught_submission(&self, who: &Principal, submission: &Submission) -> Result<Taught<SubmissionId>> {
        let (_, _, subject) = self.taught_lesson(who, submission.lesson_id).await?;
        self.teacher_of(who, &subject, submission.id)
    }

    /// An attempt at `test` (the attempt's own test), if `who` teaches the test's subject.
    pub async fn taught_attempt(&self, who: &Principal, attempt: &Attempt, test: &Test) -> Result<Taught<AttemptId>> {
        let (_, subject) = self.taught_subject(who, test.subject_id).await?;
        self.teacher_of(who, &subject, attempt.id)
    }

    /// A submission may go by its student, the subject's teacher or an administrator; anyone
    /// else is told it does not exist.
    pub async fn submission_remover(
        &self,
        who: &Principal,
        submission: &Submission,
    ) -> Result<OwnOrTaught<SubmissionId>> {
        if submission.student_id == who.id {
            return Ok(OwnOrTaught::Own(Own {
                id: submission.id,
                owner: who.id,
            }));
        }
        if !who.role.is_staff() {
            return Err(Error::not_found("submission"));
        }
        Ok(OwnOrTaught::Taught(self.taught_submission(who, submission).await?))
    }

    /// Whether `who` may see the answers of tests of this subject: its teacher and administrators.
    pub async fn sees_answers(&self, who: &Principal, subject: SubjectId) -> Result<bool> {
        if who.role == Role::Admin {
            return Ok(true);
        }
        if who.role != Role::Teacher {
            return Ok(false);
        }
        Ok(self
            .store
            .subject(subject)
            .await?
            .is_some_and(|s| s.teacher_id == Some(who.id)))
    }

    /// A group's gradebook in a module: every subject for an administrator; for a teacher of a
    /// subject in the module, their subjects, and only for a group linked to it; otherwise
    /// forbidden (no subject there) or not found (a group the module is not taught to).
    pub async fn gradebook(
        &self,
        who: &Principal,
        group: GroupId,
        module: ModuleId,
    ) -> Result<Taught<(GroupId, ModuleId)>> {
        staff(who)?;
        let proof = Taught {
            id: (group, module),
            by: Some(who.id),
            as_teacher: who.role != Role::Admin,
        };
        if who.role == Role::Admin {
            return Ok(proof);
        }
        let taught = self.store.teacher_subjects(Some(who.id)).await?;
        if !taught.iter().any(|s| s.module_id == module) {
            return Err(Error::Forbidden("you teach no subject in this module".into()));
        }
        let groups = self.store.module_groups(module).await?;
        if !groups.iter().any(|g| g.id == group) {
            return Err(Error::not_found("group"));
        }
        Ok(proof)
    }

    /// Whether `who` may download a stored file of `owner`: a lesson document of a lesson they
    /// may see, an unattached one if staff or its uploader, homework if theirs or if they teach
    /// its lesson's subject.
    pub async fn may_download(&self, who: &Principal, owner: &FileOwner) -> Result<bool> {
        Ok(match *owner {
            FileOwner::LessonDocument {
                lesson: Some(lesson), ..
            } => match self.store.lesson_for(lesson, Some(who.id)).await? {
                None => false,
                Some(lesson) => match self.visible_lesson(who, &lesson).await {
                    Ok(_) => true,
                    Err(Error::NotFound(_)) => false,
                    Err(e) => return Err(e),
                },
            },
            FileOwner::LessonDocument {
                lesson: None,
                uploaded_by,
            } => who.role.is_staff() || uploaded_by == Some(who.id),
            FileOwner::Homework { lesson, student } => {
                student == who.id
                    || (who.role.is_staff()
                        && match self.taught_lesson(who, lesson).await {
                            Ok(_) => true,
                            Err(Error::NotFound(_) | Error::Forbidden(_)) => false,
                            Err(e) => return Err(e),
                        })
            }
        })
    }

    /// A lesson document `who` may attach to lesson `this` (or to a new lesson, `None`): one the
    /// lesson already has, or one nobody has attached yet that `who` uploaded (any, for an
    /// administrator). `Ok(false)` when the key is no lesson document at all.
    pub async fn attachable_document(&self, who: &Principal, key: &str, this: Option<LessonId>) -> Result<bool> {
        match self.store.file_owner(key).await? {
            Some((
                FileOwner::LessonDocument {
                    lesson: Some(owner), ..
                },
                _,
            )) if Some(owner) == this => Ok(true),
            Some((
                FileOwner::LessonDocument {
                    lesson: None,
                    uploaded_by,
                },
                _,
            )) if who.role == Role::Admin || uploaded_by == Some(who.id) => Ok(true),
            Some((FileOwner::LessonDocument { lesson: None, .. }, _)) => Err(Error::Validation(
                "content_url refers to a document uploaded by someone else".into(),
            )),
            Some((FileOwner::LessonDocument { lesson: Some(_), .. }, _)) => Err(Error::Validation(
                "this document belongs to another lesson; upload it again for this one".into(),
            )),
            _ => Ok(false),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_guard_reads_back_from_its_text() {
        for guard in Guard::ALL {
            assert_eq!(Guard::parse(guard.as_str()), Some(guard));
            assert!(!guard.rule().is_empty());
        }
        assert_eq!(Guard::parse("teacher (own)"), None);
    }
}
