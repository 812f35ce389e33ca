//! Checks of the grade rule (`domain::grades`): a student's summary and their gradebook row agree,
//! homework is not taken where the rule has no homework cell, and an attempt whose time ran out is
//! scored with its own test's key.

use super::{Class, answers, class, create_and_login, lesson_request, minutes, new_module, nth_iin, quiz_draft};
use crate::conformance::Fixture;
use crate::domain::{LessonId, ModuleId, SubmissionId, TestId};
use crate::store::AttemptFilter;
use crate::{Error, Platform, Principal, Role, Store};

/// A lesson is linked to another test while a student's attempt at its first test is running;
/// the attempt runs out unsubmitted. Every read shows it scored with the key of the test it was
/// taken on, nothing is written by reading, and closing it stores that same score.
pub async fn expired_attempts_are_scored_with_their_own_test<S: Store>(fx: Fixture<S>) {
    let p = &fx.platform;
    let c = class(p).await;
    let lesson = p
        .create_lesson(&c.teacher, c.subject, lesson_request("Контрольная", "test"))
        .await
        .expect("lesson");
    let elsewhere = p
        .create_lesson(&c.teacher, c.subject, lesson_request("Пересдача", "test"))
        .await
        .expect("lesson");
    let mut first = quiz_draft(c.subject);
    first.time_limit_minutes = Some(10);
    first.lesson_id = Some(lesson.id.0);
    let first = p.create_test(&c.teacher, first).await.expect("first test");
    let started = p.start_attempt(&c.student, first.id).await.expect("started");
    assert_eq!(started.attempt.lesson_id, Some(lesson.id));

    // The teacher moves the first test to another lesson and gives this lesson a new one, with
    // one question whose right answer is not the first test's.
    let mut moved = quiz_draft(c.subject);
    moved.time_limit_minutes = Some(10);
    moved.lesson_id = Some(elsewhere.id.0);
    let first = p.update_test(&c.teacher, first.id, moved).await.expect("moved");
    let mut second = quiz_draft(c.subject);
    second.questions.truncate(1);
    second.questions[0].correct_option_index = Some(1);
    second.lesson_id = Some(lesson.id.0);
    let second = p.create_test(&c.teacher, second).await.expect("second test");

    // The student answers the test they are taking (all right), and lets the time run out.
    let q = &first.questions;
    p.save_answers(
        &c.student,
        started.attempt.id,
        answers(serde_json::json!([
            {"question_id": q[0].id, "selected_index": 2},
            {"question_id": q[1].id, "selected_indexes": [10, 30]},
            {"question_id": q[2].id, "selected_index": 0}
        ])),
    )
    .await
    .expect("saved in time");
    fx.clock.advance(minutes(11));
    let deadline = started.attempt.deadline.expect("a deadline");

    let stored = |p: &Platform<S>| {
        let p = p.clone();
        let id = started.attempt.id;
        async move {
            p.store()
                .attempts(&AttemptFilter {
                    id: Some(id),
                    ..AttemptFilter::default()
                })
                .await
                .expect("attempts")
                .pop()
                .expect("the attempt")
        }
    };
    for _ in 0..2 {
        let results = p.lesson_results(&c.teacher, lesson.id).await.expect("results");
        assert_eq!(results.len(), 1, "the attempt was taken in this lesson");
        let shown = &results[0];
        assert_eq!(shown.test_id, first.id);
        assert_eq!(
            (shown.score, shown.correct, shown.total),
            (Some(100.0), Some(3), Some(3)),
            "scored with the key of the test it was taken on, not the lesson's new test {}",
            second.id
        );
        assert_eq!(shown.submitted_at, Some(deadline), "closed at its deadline");
        let mine = p.my_results(&c.student, first.id).await.expect("mine");
        assert_eq!(mine[0].score, Some(100.0));
        let row = stored(p).await;
        assert_eq!(
            (row.submitted_at, row.score),
            (None, None),
            "reading results writes nothing"
        );
    }

    assert_eq!(p.close_expired_attempts().await.expect("closed"), 1);
    let row = stored(p).await;
    assert_eq!(
        (row.submitted_at, row.score, row.correct),
        (Some(deadline), Some(100.0), Some(3))
    );
    assert_eq!(p.close_expired_attempts().await.expect("nothing left"), 0);
    // It counts where its test is now: the other lesson's cell.
    let summary = p.summarize(&c.student, c.student.id).await.expect("summary");
    assert_eq!((summary.overall.counted, summary.overall.average), (1, Some(100.0)));
}

/// Homework is refused on a lesson that is a test or has a test linked, with a message of its
/// own; other lessons take it.
pub async fn homework_is_refused_where_the_cell_is_a_test<S: Store>(fx: Fixture<S>) {
    let p = &fx.platform;
    let c = class(p).await;
    let test_lesson = p
        .create_lesson(&c.teacher, c.subject, lesson_request("Тест", "Тест"))
        .await
        .expect("lesson");
    let practice = p
        .create_lesson(&c.teacher, c.subject, lesson_request("Практика", "Практика"))
        .await
        .expect("lesson");
    let essay = p
        .create_lesson(&c.teacher, c.subject, lesson_request("Эссе", "pdf"))
        .await
        .expect("lesson");
    let draft = p.begin_homework(&c.student, practice.id).await.expect("may submit");
    draft.finish(Some("до теста")).await.expect("submitted");
    let mut quiz = quiz_draft(c.subject);
    quiz.lesson_id = Some(practice.id.0);
    p.create_test(&c.teacher, quiz)
        .await
        .expect("linked to the practice lesson");
    for lesson in [test_lesson.id, practice.id] {
        let e = expect_err!(p.begin_homework(&c.student, lesson).await, Error::Conflict(_));
        assert_eq!(e.to_string(), "this lesson is a test: it takes no homework");
        assert_eq!(e.code(), "conflict");
    }
    let draft = p.begin_homework(&c.student, essay.id).await.expect("may submit");
    draft.finish(Some("эссе")).await.expect("submitted");
    // Homework handed in before the test came is still listed, and not counted.
    let summary = p.summarize(&c.student, c.student.id).await.expect("summary");
    assert_eq!(summary.items.len(), 2);
    assert_eq!((summary.overall.counted, summary.overall.pending), (0, 1));
}

/// What a teacher or a student does in one step of [`gradebook_rows_equal_summaries`].
#[derive(Debug, Clone)]
enum Step {
    /// Hand in homework for a lesson, graded at once (or not).
    Homework {
        student: usize,
        lesson: usize,
        grade: Option<i64>,
    },
    /// Grade (again) a student's n-th submission so far.
    Regrade { student: usize, nth: usize, grade: i64 },
    /// Take a test, answering the first `right` questions correctly.
    Test { student: usize, test: usize, right: usize },
    /// Link a test to a lesson (moving it from the lesson it had).
    Link { test: usize, lesson: usize },
    /// Let time pass.
    Wait { minutes: i64 },
}

fn step_strategy() -> impl proptest::strategy::Strategy<Value = Step> {
    use proptest::prelude::*;
    prop_oneof![
        4 => (0..2usize, 0..LESSONS, proptest::option::weighted(0.7, 0..=100i64))
            .prop_map(|(student, lesson, grade)| Step::Homework { student, lesson, grade }),
        1 => (0..2usize, 0..6usize, 0..=100i64).prop_map(|(student, nth, grade)| Step::Regrade { student, nth, grade }),
        3 => (0..2usize, 0..TESTS, 0..=2usize).prop_map(|(student, test, right)| Step::Test { student, test, right }),
        2 => (0..TESTS, 0..LESSONS).prop_map(|(test, lesson)| Step::Link { test, lesson }),
        1 => (1..90i64).prop_map(|minutes| Step::Wait { minutes }),
    ]
}

const LESSONS: usize = 4;
const TESTS: usize = 3;

/// A two-question test of `subject`, linked to `lesson` or to none.
fn two_questions(subject: crate::domain::SubjectId, lesson: Option<LessonId>) -> crate::domain::quiz::TestDraft {
    serde_json::from_value(serde_json::json!({
        "title": "Проверочная", "subject_id": subject.0, "lesson_id": lesson.map(|l| l.0), "max_attempts": 3,
        "questions": (0..2).map(|q| serde_json::json!({
            "question_text": format!("Вопрос {q}"), "correct_option_index": 1,
            "options": [{"option_text": "да", "option_index": 1}, {"option_text": "нет", "option_index": 2}]
        })).collect::<Vec<_>>()
    }))
    .expect("a well-formed draft")
}

/// A fresh module with one subject, lessons (the third is a test lesson) and tests (the first
/// linked to the test lesson, the others to none), taught to a fresh group of two students.
struct Course {
    module: ModuleId,
    group: crate::domain::GroupId,
    students: Vec<Principal>,
    subject: crate::domain::SubjectId,
    lessons: Vec<(LessonId, bool)>,
    tests: Vec<(TestId, Vec<i64>)>,
}

async fn course<S: Store>(p: &Platform<S>, c: &Class, n: usize) -> Course {
    let module = new_module(p, &c.admin, &format!("Модуль {n}")).await;
    let subject = p.create_subject(&c.admin, module, "Предмет").await.expect("subject").id;
    p.assign_teacher(&c.admin, &nth_iin(1), module, subject)
        .await
        .expect("assign");
    let group = p
        .create_group(&c.admin, &format!("Группа {n}"), None)
        .await
        .expect("group")
        .id;
    p.link_group_to_module(&c.admin, group, module).await.expect("link");
    let mut students = Vec::new();
    for k in 0..2u64 {
        let s = create_and_login(p, &c.admin, &nth_iin(5000 + 2 * n as u64 + k), Role::Student).await;
        p.add_group_members(&c.admin, group, &[s.id]).await.expect("member");
        students.push(s);
    }
    let mut lessons = Vec::new();
    for i in 0..LESSONS {
        let kind = if i == 2 { "test" } else { "pdf" };
        let l = p
            .create_lesson(&c.teacher, subject, lesson_request(&format!("Урок {i}"), kind))
            .await
            .expect("lesson");
        lessons.push((l.id, i == 2));
    }
    let mut tests = Vec::new();
    for i in 0..TESTS {
        let lesson = (i == 0).then_some(lessons[2].0);
        let t = p
            .create_test(&c.teacher, two_questions(subject, lesson))
            .await
            .expect("test");
        tests.push((t.id, t.questions.iter().map(|q| q.id).collect()));
    }
    Course {
        module,
        group,
        students,
        subject,
        lessons,
        tests,
    }
}

fn close(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => (a - b).abs() < 1e-9,
        (None, None) => true,
        _ => false,
    }
}

/// For random histories (homework, grades, attempts, tests linked and moved between lessons,
/// tests linked to none), every student's row in the module's gradebook is their summary's
/// module average: the same number of counted cells, pending ones and the same average; and
/// the row's average is the mean of the cells the dean sees.
pub async fn gradebook_rows_equal_summaries<S: Store>(fx: Fixture<S>) {
    use proptest::test_runner::{Config, TestCaseError, TestRunner};

    let p = &fx.platform;
    let c = class(p).await;
    let handle = tokio::runtime::Handle::current();
    let case = std::sync::atomic::AtomicUsize::new(0);
    let mut runner = TestRunner::new(Config {
        cases: 24,
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = proptest::collection::vec(step_strategy(), 0..16);
    let result = runner.run(&strategy, |steps| {
        tokio::task::block_in_place(|| {
            handle.block_on(async {
                let n = case.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let mut k = course(p, &c, n).await;
                // Which test each lesson has now.
                let mut linked: Vec<Option<usize>> = vec![None; LESSONS];
                linked[2] = Some(0);
                let mut submissions: Vec<Vec<SubmissionId>> = vec![Vec::new(), Vec::new()];
                for step in &steps {
                    match *step {
                        Step::Homework { student, lesson, grade } => {
                            let (id, is_test) = k.lessons[lesson];
                            match p.begin_homework(&k.students[student], id).await {
                                Ok(draft) => {
                                    if is_test || linked[lesson].is_some() {
                                        return Err(TestCaseError::fail(format!("homework taken on lesson {lesson}")));
                                    }
                                    let done = draft.finish(Some("работа")).await.expect("submitted");
                                    if let Some(g) = grade {
                                        p.grade_submission(&c.teacher, done.id, g, None).await.expect("graded");
                                    }
                                    submissions[student].push(done.id);
                                }
                                Err(Error::Conflict(_)) if is_test || linked[lesson].is_some() => {}
                                Err(e) => panic!("homework: {e:?}"),
                            }
                        }
                        Step::Regrade { student, nth, grade } => {
                            if let Some(&id) = submissions[student].get(nth) {
                                p.grade_submission(&c.admin, id, grade, None).await.expect("regraded");
                            }
                        }
                        Step::Test { student, test, right } => {
                            let (id, ref questions) = k.tests[test];
                            let given = answers(serde_json::Value::Array(
                                questions
                                    .iter()
                                    .enumerate()
                                    .map(|(i, q)| serde_json::json!({"question_id": q, "selected_index": if i < right { 1 } else { 2 }}))
                                    .collect(),
                            ));
                            match p.submit_test(&k.students[student], id, given).await {
                                Ok(_) | Err(Error::Conflict(_)) => {}
                                Err(e) => panic!("submitting a test: {e:?}"),
                            }
                        }
                        Step::Link { test, lesson } => {
                            let (id, _) = k.tests[test];
                            let draft = two_questions(k.subject, Some(k.lessons[lesson].0));
                            match p.update_test(&c.teacher, id, draft).await {
                                Ok(view) => {
                                    for held in linked.iter_mut() {
                                        if *held == Some(test) {
                                            *held = None;
                                        }
                                    }
                                    linked[lesson] = Some(test);
                                    k.tests[test].1 = view.questions.iter().map(|q| q.id).collect();
                                }
                                Err(Error::Conflict(_)) if linked[lesson].is_some_and(|t| t != test) => {}
                                Err(e) => panic!("linking a test: {e:?}"),
                            }
                        }
                        Step::Wait { minutes } => fx.clock.advance(chrono::Duration::minutes(minutes)),
                    }
                }
                let book = p.full_gradebook(&c.admin, k.group, k.module).await.expect("gradebook");
                for (i, student) in k.students.iter().enumerate() {
                    let summary = p.summarize(student, student.id).await.expect("summary");
                    let mine = summary
                        .modules
                        .iter()
                        .find(|m| m.id == k.module.0)
                        .map(|m| m.tally)
                        .unwrap_or_default();
                    let row = book
                        .students
                        .iter()
                        .find(|r| r.student_id == student.id)
                        .expect("every student has a row");
                    if row.tally.counted != mine.counted
                        || row.tally.pending != mine.pending
                        || !close(row.tally.average, mine.average)
                    {
                        return Err(TestCaseError::fail(format!(
                            "student {i}: gradebook {:?}, summary {mine:?}",
                            row.tally
                        )));
                    }
                    let shown: Vec<f64> = row.cells.iter().filter_map(|cell| cell.value()).collect();
                    let mean = (!shown.is_empty()).then(|| shown.iter().sum::<f64>() / shown.len() as f64);
                    let pending = row.cells.iter().filter(|cell| cell.pending && cell.value().is_none()).count();
                    if shown.len() != row.tally.counted as usize
                        || pending != row.tally.pending as usize
                        || !close(mean, row.tally.average)
                    {
                        return Err(TestCaseError::fail(format!("student {i}: cells {:?} against {:?}", row.cells, row.tally)));
                    }
                    // A cell is one kind: a test lesson shows its test, never homework too.
                    if row.cells.iter().any(|cell| cell.homework.is_some() && cell.test.is_some()) {
                        return Err(TestCaseError::fail(format!("student {i}: a cell with two values {:?}", row.cells)));
                    }
                }
                Ok(())
            })
        })
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}
