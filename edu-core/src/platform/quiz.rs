//! Tests (quizzes): authoring, reading without answers, attempts with deadlines, scoring, results.

use std::collections::hash_map::Entry;
use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

use super::Platform;
use crate::auth::Principal;
use crate::domain::quiz::{Answer, Attempt, QuestionKind, Score, Test, TestDraft, TestView};
use crate::domain::{AttemptId, LessonId, SubjectId, TestId, UserId, text};
use crate::error::{Error, Result};
use crate::policy::{self, Own, Taught, Visible};
use crate::store::{AttemptFilter, AttemptStart, OptionRowIn, QuestionRowIn, Started, Store, TestRow};

/// Answers arriving this long after the deadline still count (network, clocks).
pub const DEADLINE_GRACE: Duration = Duration::from_secs(30);
const MAX_QUESTIONS: usize = 200;
const MAX_OPTIONS: usize = 20;

/// What a student sees when an attempt starts or resumes.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AttemptView {
    /// The attempt: when it started, its deadline, and its result once submitted.
    pub attempt: Attempt,
    /// The questions in this attempt's order, without answers.
    pub test: TestView,
    /// The answers saved so far.
    pub answers: Vec<Answer>,
}

/// A finished attempt's result: the old backend's result keys (`id`, `user_id`, `lesson_id`,
/// `test_id`, `score`, `submitted_at`) and the attempt's counts.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TestResult {
    /// The result's id (the attempt's).
    pub id: AttemptId,
    /// The same as `id`.
    pub attempt_id: AttemptId,
    /// The student who made the attempt.
    pub user_id: UserId,
    /// The lesson the test belongs to (`null` for a test outside any lesson).
    pub lesson_id: Option<LessonId>,
    /// The test attempted.
    pub test_id: TestId,
    /// When the answers were submitted (UTC); `null` while the attempt is open.
    pub submitted_at: Option<chrono::DateTime<chrono::Utc>>,
    /// 0–100 with two decimals.
    pub score: f64,
    /// Questions answered right.
    pub correct: usize,
    /// Questions in the attempt.
    pub total: usize,
    /// Attempts used and allowed.
    pub attempts_used: usize,
    /// Attempts allowed per student, at least 1.
    pub max_attempts: i32,
}

/// Answers sent with a submission or a save.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct Answers {
    /// The answers given, one per question answered.
    #[serde(default)]
    pub answers: Vec<Answer>,
}

fn validation(e: impl std::fmt::Display) -> Error {
    Error::Validation(e.to_string())
}

/// Where a checked test is written: a new test of a subject, or over an existing test.
enum WriteTo<'a> {
    New(&'a Taught<SubjectId>),
    Existing(&'a Taught<TestId>),
}

/// A checked question: text, kind, and options as (index, text, is correct).
type CheckedQuestion = (String, QuestionKind, Vec<(i64, String, bool)>);

/// A draft checked against every rule, ready to store.
struct Checked {
    title: String,
    subject: SubjectId,
    lesson: Option<LessonId>,
    max_attempts: i32,
    time_limit_minutes: Option<i32>,
    shuffle: bool,
    scoring: crate::domain::quiz::Scoring,
    questions: Vec<CheckedQuestion>,
}

fn check(draft: &TestDraft) -> Result<Checked> {
    let title = text::line(&draft.title, "title", 200).map_err(validation)?;
    if draft.questions.is_empty() {
        return Err(Error::Validation("a test needs at least one question".into()));
    }
    if draft.questions.len() > MAX_QUESTIONS {
        return Err(Error::Validation(format!("at most {MAX_QUESTIONS} questions")));
    }
    let max_attempts = draft.max_attempts.unwrap_or(1);
    if !(1..=100).contains(&max_attempts) {
        return Err(Error::Validation("max_attempts must be from 1 to 100".into()));
    }
    if draft.time_limit_minutes.is_some_and(|m| !(1..=24 * 60).contains(&m)) {
        return Err(Error::Validation("time_limit_minutes must be from 1 to 1440".into()));
    }
    let mut questions = Vec::with_capacity(draft.questions.len());
    for (n, q) in draft.questions.iter().enumerate() {
        let n = n + 1;
        let text = text::line(&q.question_text, "question_text", 2000)
            .map_err(|e| Error::Validation(format!("question {n}: {e}")))?;
        if q.options.len() < 2 || q.options.len() > MAX_OPTIONS {
            return Err(Error::Validation(format!(
                "question {n}: 2 to {MAX_OPTIONS} options are needed"
            )));
        }
        let mut indexes = BTreeSet::new();
        for o in &q.options {
            if !indexes.insert(o.option_index) {
                return Err(Error::Validation(format!(
                    "question {n}: option index {} is used twice",
                    o.option_index
                )));
            }
        }
        let correct: BTreeSet<i64> = match q.kind {
            QuestionKind::Single => {
                let c = q
                    .correct_option_index
                    .or_else(|| q.correct_option_indexes.as_ref().filter(|v| v.len() == 1).map(|v| v[0]))
                    .ok_or_else(|| Error::Validation(format!("question {n}: correct_option_index is required")))?;
                [c].into()
            }
            QuestionKind::Multiple => {
                let set: BTreeSet<i64> = q
                    .correct_option_indexes
                    .iter()
                    .flatten()
                    .copied()
                    .chain(q.correct_option_index)
                    .collect();
                if set.is_empty() {
                    return Err(Error::Validation(format!(
                        "question {n}: correct_option_indexes needs at least one index"
                    )));
                }
                set
            }
        };
        if let Some(bad) = correct.iter().find(|c| !indexes.contains(c)) {
            return Err(Error::Validation(format!(
                "question {n}: the correct index {bad} is not one of the options"
            )));
        }
        let mut options = Vec::with_capacity(q.options.len());
        for o in &q.options {
            let t = text::line(&o.option_text, "option_text", 1000)
                .map_err(|e| Error::Validation(format!("question {n}: {e}")))?;
            options.push((o.option_index, t, correct.contains(&o.option_index)));
        }
        questions.push((text, q.kind, options));
    }
    Ok(Checked {
        title,
        subject: SubjectId(draft.subject_id),
        lesson: draft.lesson_id.map(LessonId),
        max_attempts,
        time_limit_minutes: draft.time_limit_minutes,
        shuffle: draft.shuffle,
        scoring: draft.scoring,
        questions,
    })
}

impl<S: Store> Platform<S> {
    async fn test_row(&self, id: TestId) -> Result<Test> {
        self.store()
            .tests(Some(id), None, None)
            .await?
            .pop()
            .ok_or_else(|| Error::not_found("test"))
    }

    /// The test, if `who` may see it (its subject is visible); 404 otherwise.
    async fn visible_test(&self, who: &Principal, id: TestId) -> Result<(Visible<TestId>, Test)> {
        let test = self.test_row(id).await?;
        let visible = self.policy().visible_test(who, &test).await?;
        Ok((visible, test))
    }

    /// Checks a lesson to link: in the test's subject.
    async fn check_lesson_link(&self, subject: SubjectId, lesson: Option<LessonId>) -> Result<()> {
        if let Some(lesson) = lesson {
            let l = self
                .store()
                .lesson(lesson)
                .await?
                .ok_or_else(|| Error::not_found("lesson"))?;
            if l.subject_id != subject {
                return Err(Error::Validation("the lesson belongs to another subject".into()));
            }
        }
        Ok(())
    }

    async fn write_test(&self, who: &Principal, to: WriteTo<'_>, c: &Checked) -> Result<TestId> {
        let questions: Vec<QuestionRowIn<'_>> = c
            .questions
            .iter()
            .map(|(t, kind, options)| QuestionRowIn {
                text: t,
                kind: *kind,
                options: options
                    .iter()
                    .map(|(i, t, ok)| OptionRowIn {
                        index: *i,
                        text: t,
                        is_correct: *ok,
                    })
                    .collect(),
            })
            .collect();
        let row = TestRow {
            subject: c.subject,
            lesson: c.lesson,
            title: &c.title,
            max_attempts: c.max_attempts,
            time_limit_minutes: c.time_limit_minutes,
            shuffle: c.shuffle,
            scoring: c.scoring,
            questions: &questions,
        };
        let conflict = |e: crate::error::StoreError| match e {
            crate::error::StoreError::Conflict { .. } => Error::Conflict("that lesson already has a test".into()),
            other => other.into(),
        };
        match to {
            WriteTo::New(subject) => {
                let entry = self.audit_entry(Some(who), "test.create", "test:{id}".into(), None, None);
                self.store()
                    .insert_test(subject, &row, self.now(), &entry)
                    .await
                    .map_err(conflict)
            }
            WriteTo::Existing(taught) => {
                let id = taught.id();
                let entry = self.audit_entry(Some(who), "test.update", format!("test:{id}"), None, None);
                if self
                    .store()
                    .replace_test(taught, &row, self.now(), &entry)
                    .await
                    .map_err(conflict)?
                {
                    Ok(id)
                } else {
                    Err(Error::not_found("test"))
                }
            }
        }
    }

    /// Creates a test (the subject's teacher or an admin); every rule is checked first.
    pub async fn create_test(&self, who: &Principal, draft: TestDraft) -> Result<TestView> {
        policy::staff(who)?;
        let c = check(&draft)?;
        let (taught, _) = self.policy().taught_subject(who, c.subject).await?;
        self.check_lesson_link(c.subject, c.lesson).await?;
        let id = self.write_test(who, WriteTo::New(&taught), &c).await?;
        Ok(self.test_row(id).await?.view(true, None))
    }

    /// Replaces a test's settings and questions; earlier results stay readable.
    pub async fn update_test(&self, who: &Principal, id: TestId, draft: TestDraft) -> Result<TestView> {
        policy::staff(who)?;
        let existing = self.test_row(id).await?;
        let taught = self.policy().taught_test(who, &existing).await?;
        let mut c = check(&draft)?;
        if c.subject != existing.subject_id {
            return Err(Error::Validation("a test cannot move to another subject".into()));
        }
        // The previous frontend's editor always sends `lesson_id: null`: no lesson named keeps
        // the lesson the test has (a test leaves its lesson when the lesson is deleted).
        if c.lesson.is_none() {
            c.lesson = existing.lesson_id;
        }
        self.check_lesson_link(c.subject, c.lesson).await?;
        self.write_test(who, WriteTo::Existing(&taught), &c).await?;
        Ok(self.test_row(id).await?.view(true, None))
    }

    /// Deletes a test with its attempts (results go with the test; lessons stay).
    pub async fn delete_test(&self, who: &Principal, id: TestId) -> Result<()> {
        policy::staff(who)?;
        let test = self.test_row(id).await?;
        let taught = self.policy().taught_test(who, &test).await?;
        let entry = self.audit_entry(Some(who), "test.delete", format!("test:{id}"), None, None);
        if !self.store().delete_test(&taught, &entry).await? {
            return Err(Error::not_found("test"));
        }
        Ok(())
    }

    /// A test: with answers for its subject's teacher and admins, without for everyone else.
    pub async fn test(&self, who: &Principal, id: TestId) -> Result<TestView> {
        let (_, test) = self.visible_test(who, id).await?;
        let answers = self.policy().sees_answers(who, test.subject_id).await?;
        Ok(test.view(answers, None))
    }

    /// The tests of a subject the caller may see.
    pub async fn subject_tests(&self, who: &Principal, subject: SubjectId) -> Result<Vec<TestView>> {
        self.policy().visible_subject(who, subject).await?;
        let answers = self.policy().sees_answers(who, subject).await?;
        Ok(self
            .store()
            .tests(None, Some(subject), None)
            .await?
            .iter()
            .map(|t| t.view(answers, None))
            .collect())
    }

    /// Closes `test`'s attempts among `attempts` whose deadline (plus grace) has passed, scoring
    /// what was saved with that test's key. Only the write paths and the sweep call this.
    async fn close_expired(&self, test: &Test, attempts: &[Attempt]) -> Result<usize> {
        let mut closed = 0;
        for a in attempts.iter().filter(|a| a.test_id == test.id) {
            if let Some((deadline, s)) = self.expired_score(test, a) {
                let answers = serde_json::to_string(&a.answers).map_err(Error::internal)?;
                // Time ran out: the attempt closes in its student's name, whoever asks.
                let own = policy::Operator.own(a.id, a.student_id);
                if self.store().finish_attempt(&own, &answers, &s, deadline).await? {
                    closed += 1;
                }
            }
        }
        Ok(closed)
    }

    /// An open attempt whose deadline (plus grace) has passed: its deadline and the score of its
    /// saved answers under `test`, which must be the attempt's own test.
    fn expired_score(&self, test: &Test, a: &Attempt) -> Option<(chrono::DateTime<chrono::Utc>, Score)> {
        let deadline = a.deadline?;
        (a.submitted_at.is_none() && a.test_id == test.id && self.now() > deadline + grace()).then(|| {
            (
                deadline,
                crate::domain::quiz::score(&test.keys(), &a.answers, test.scoring),
            )
        })
    }

    /// Attempts as they stand: one whose time ran out unsubmitted is shown closed at its
    /// deadline and scored from its saved answers with its own test's key. Nothing is written — a
    /// read does not change results; the write paths and [`Self::close_expired_attempts`] store
    /// the same score.
    async fn as_they_stand(&self, mut attempts: Vec<Attempt>) -> Result<Vec<Attempt>> {
        let mut tests: HashMap<TestId, Test> = HashMap::new();
        for a in &mut attempts {
            if a.submitted_at.is_some() || a.deadline.is_none() {
                continue;
            }
            let test = match tests.entry(a.test_id) {
                Entry::Occupied(t) => t.into_mut(),
                Entry::Vacant(v) => v.insert(self.test_row(a.test_id).await?),
            };
            if let Some((deadline, s)) = self.expired_score(test, a) {
                a.submitted_at = Some(deadline);
                a.score = Some(s.score);
                a.correct = Some(i32::try_from(s.correct).unwrap_or(i32::MAX));
                a.total = Some(i32::try_from(s.total).unwrap_or(i32::MAX));
            }
        }
        Ok(attempts)
    }

    /// Closes every attempt whose time ran out unsubmitted, each scored with its own test, so
    /// that grades count it without anyone opening the test again. Run periodically by `edu
    /// serve`; returns how many were closed.
    pub async fn close_expired_attempts(&self) -> Result<usize> {
        let open = self
            .store()
            .attempts(&AttemptFilter {
                open_with_deadline: true,
                ..AttemptFilter::default()
            })
            .await?;
        let now = self.now();
        let mut by_test: HashMap<TestId, Vec<Attempt>> = HashMap::new();
        for a in open {
            if a.deadline.is_some_and(|d| now > d + grace()) {
                by_test.entry(a.test_id).or_default().push(a);
            }
        }
        let mut closed = 0;
        for (test, attempts) in by_test {
            let test = match self.test_row(test).await {
                Ok(t) => t,
                // Deleted meanwhile, with its attempts.
                Err(Error::NotFound(_)) => continue,
                Err(e) => return Err(e),
            };
            closed += self.close_expired(&test, &attempts).await?;
        }
        Ok(closed)
    }

    /// Starts (or resumes) the caller's attempt: a student who may see the test, within the limit.
    pub async fn start_attempt(&self, who: &Principal, id: TestId) -> Result<AttemptView> {
        let (visible, test) = self.visible_test(who, id).await?;
        let attempt = self.open_attempt(who, visible, &test).await?;
        Ok(AttemptView {
            test: test.view(false, Some(&attempt.layout)),
            answers: attempt.answers.clone(),
            attempt,
        })
    }

    /// The caller's open attempt at a test they may see: resumed, or started within the limit.
    async fn open_attempt(&self, who: &Principal, visible: Visible<TestId>, test: &Test) -> Result<Attempt> {
        let taker = policy::enrolled(who, visible, "only students take tests")?;
        let mine = self.my_attempts_of(who, test).await?;
        self.close_expired(test, &mine).await?;
        let layout = layout(test);
        let layout_json = serde_json::to_string(&layout).map_err(Error::internal)?;
        let now = self.now();
        let deadline = test
            .time_limit_minutes
            .map(|m| now + chrono::Duration::minutes(i64::from(m)));
        let started = self
            .store()
            .start_attempt(
                &taker,
                &AttemptStart {
                    lesson: test.lesson_id,
                    max_attempts: test.max_attempts,
                    now,
                    deadline,
                    layout: &layout_json,
                },
            )
            .await?;
        let id = match started {
            Started::New(id) | Started::Open(id) => id,
            Started::LimitReached => {
                return Err(Error::Conflict(format!(
                    "no attempts left: {} allowed",
                    test.max_attempts
                )));
            }
        };
        self.attempt_row(id).await
    }

    async fn attempt_row(&self, id: AttemptId) -> Result<Attempt> {
        self.store()
            .attempts(&AttemptFilter {
                id: Some(id),
                ..AttemptFilter::default()
            })
            .await?
            .pop()
            .ok_or_else(|| Error::not_found("attempt"))
    }

    async fn my_attempts_of(&self, who: &Principal, test: &Test) -> Result<Vec<Attempt>> {
        Ok(self
            .store()
            .attempts(&AttemptFilter {
                test: Some(test.id),
                student: Some(who.id),
                ..AttemptFilter::default()
            })
            .await?)
    }

    /// The caller's own open attempt, with its test.
    async fn own_open_attempt(&self, who: &Principal, id: AttemptId) -> Result<(Own<AttemptId>, Attempt, Test)> {
        let attempt = self.attempt_row(id).await?;
        let own = policy::own_attempt(who, &attempt)?;
        let test = self.test_row(attempt.test_id).await?;
        Ok((own, attempt, test))
    }

    /// Saves answers so far (merged: a later save replaces that question's answer). Refused once
    /// the attempt is closed or its deadline (plus grace) has passed.
    pub async fn save_answers(&self, who: &Principal, id: AttemptId, answers: Vec<Answer>) -> Result<Attempt> {
        let (own, attempt, test) = self.own_open_attempt(who, id).await?;
        if attempt.submitted_at.is_some() {
            return Err(Error::Conflict("this attempt is already submitted".into()));
        }
        if attempt.deadline.is_some_and(|d| self.now() > d + grace()) {
            self.close_expired(&test, std::slice::from_ref(&attempt)).await?;
            return Err(Error::Conflict(
                "the time is up; the answers saved before the deadline were submitted".into(),
            ));
        }
        let merged = merge(&attempt.answers, answers);
        let json = serde_json::to_string(&merged).map_err(Error::internal)?;
        if !self.store().save_answers(&own, &json).await? {
            return Err(Error::Conflict("this attempt is already submitted".into()));
        }
        self.attempt_row(id).await
    }

    /// Submits an attempt: `answers` are merged with those saved. After the deadline (plus
    /// grace) only the saved answers count.
    pub async fn submit_attempt(&self, who: &Principal, id: AttemptId, answers: Vec<Answer>) -> Result<TestResult> {
        let (own, attempt, test) = self.own_open_attempt(who, id).await?;
        self.close_attempt(who, own, attempt, &test, answers).await
    }

    /// Scores and closes the caller's attempt (once; a closed one keeps its result).
    async fn close_attempt(
        &self,
        who: &Principal,
        own: Own<AttemptId>,
        attempt: Attempt,
        test: &Test,
        answers: Vec<Answer>,
    ) -> Result<TestResult> {
        let id = attempt.id;
        if attempt.submitted_at.is_none() {
            let late = attempt.deadline.is_some_and(|d| self.now() > d + grace());
            let merged = if late {
                attempt.answers.clone()
            } else {
                merge(&attempt.answers, answers)
            };
            let s = crate::domain::quiz::score(&test.keys(), &merged, test.scoring);
            let json = serde_json::to_string(&merged).map_err(Error::internal)?;
            let at = match (late, attempt.deadline) {
                (true, Some(d)) => d,
                _ => self.now(),
            };
            self.store().finish_attempt(&own, &json, &s, at).await?;
        }
        let done = self.attempt_row(id).await?;
        let used = self.my_attempts_of(who, test).await?.len();
        Ok(result(&done, test, used))
    }

    /// The existing frontend's one call: start an attempt and submit these answers.
    pub async fn submit_test(&self, who: &Principal, id: TestId, answers: Vec<Answer>) -> Result<TestResult> {
        let (visible, test) = self.visible_test(who, id).await?;
        let attempt = self.open_attempt(who, visible, &test).await?;
        let own = policy::own_attempt(who, &attempt)?;
        self.close_attempt(who, own, attempt, &test, answers).await
    }

    /// The caller's attempts at a test, newest first (one whose time ran out shown as closed).
    pub async fn my_results(&self, who: &Principal, id: TestId) -> Result<Vec<Attempt>> {
        let (_, test) = self.visible_test(who, id).await?;
        let mine = self.my_attempts_of(who, &test).await?;
        self.as_they_stand(mine).await
    }

    /// Results of the tests taken in a lesson, with student names (the subject's teacher or an
    /// admin). Every attempt is scored with its own test: after the lesson is linked to another
    /// test, earlier attempts keep the key of the test they answered.
    pub async fn lesson_results(&self, who: &Principal, lesson: LessonId) -> Result<Vec<Attempt>> {
        let (_, lesson, _) = self.policy().taught_lesson(who, lesson).await?;
        let filter = AttemptFilter {
            lesson: Some(lesson.id),
            ..AttemptFilter::default()
        };
        let all = self.store().attempts(&filter).await?;
        self.as_they_stand(all).await
    }

    /// Deletes a result (the subject's teacher or an admin).
    pub async fn delete_result(&self, who: &Principal, id: AttemptId) -> Result<()> {
        policy::staff(who)?;
        let attempt = self.attempt_row(id).await?;
        let test = self.test_row(attempt.test_id).await?;
        let taught = self.policy().taught_attempt(who, &attempt, &test).await?;
        let entry = self.audit_entry(
            Some(who),
            "result.delete",
            format!("attempt:{id}"),
            Some(serde_json::json!({"score": attempt.score, "student": attempt.student_id})),
            None,
        );
        if !self.store().delete_attempt(&taught, &entry).await? {
            return Err(Error::not_found("attempt"));
        }
        Ok(())
    }
}

fn grace() -> chrono::Duration {
    chrono::Duration::from_std(DEADLINE_GRACE).unwrap_or_else(|_| chrono::Duration::zero())
}

fn result(a: &Attempt, test: &Test, used: usize) -> TestResult {
    TestResult {
        id: a.id,
        attempt_id: a.id,
        user_id: a.student_id,
        lesson_id: a.lesson_id.or(test.lesson_id),
        test_id: test.id,
        submitted_at: a.submitted_at,
        score: a.score.unwrap_or(0.0),
        correct: a.correct.and_then(|c| usize::try_from(c).ok()).unwrap_or(0),
        total: a
            .total
            .and_then(|t| usize::try_from(t).ok())
            .unwrap_or(test.questions.len()),
        attempts_used: used,
        max_attempts: test.max_attempts,
    }
}

/// Earlier answers, with each question's answer replaced by a later one.
fn merge(earlier: &[Answer], later: Vec<Answer>) -> Vec<Answer> {
    let mut out: Vec<Answer> = Vec::new();
    let mut seen = BTreeSet::new();
    // The first answer per question within one request counts, as in scoring.
    let mut latest: Vec<Answer> = Vec::new();
    for a in later {
        if seen.insert(a.question_id) {
            latest.push(a);
        }
    }
    for a in earlier {
        if !seen.contains(&a.question_id) {
            out.push(a.clone());
        }
    }
    out.extend(latest);
    out
}

/// The order of questions and options in a new attempt: shuffled if the test says so.
fn layout(test: &Test) -> Vec<(i64, Vec<i64>)> {
    let mut rng = rand::rng();
    let mut questions: Vec<(i64, Vec<i64>)> = test
        .questions
        .iter()
        .map(|q| (q.id, q.options.iter().map(|o| o.index).collect()))
        .collect();
    if test.shuffle {
        questions.shuffle(&mut rng);
        for (_, options) in &mut questions {
            options.shuffle(&mut rng);
        }
    }
    questions
}
