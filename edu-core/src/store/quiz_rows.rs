//! Rows of the test tables and how they become domain values.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::domain::quiz::{Answer, Attempt, Question, QuestionKind, QuizOption, Scoring, Test};
use crate::domain::{AttemptId, LessonId, SubjectId, TestId, UserId};
use crate::error::StoreError;

#[derive(sqlx::FromRow)]
pub(crate) struct TestRowOut {
    id: i64,
    subject_id: i64,
    lesson_id: Option<i64>,
    title: String,
    max_attempts: i32,
    time_limit_minutes: Option<i32>,
    shuffle: bool,
    scoring: String,
}

#[derive(sqlx::FromRow)]
pub(crate) struct QuestionRow {
    id: i64,
    test_id: i64,
    text: String,
    kind: String,
}

#[derive(sqlx::FromRow)]
pub(crate) struct OptionRow {
    id: i64,
    question_id: i64,
    option_index: i64,
    text: String,
    is_correct: bool,
}

#[derive(sqlx::FromRow)]
pub(crate) struct AttemptRow {
    id: i64,
    test_id: i64,
    lesson_id: Option<i64>,
    student_id: i64,
    student_name: String,
    started_at: DateTime<Utc>,
    deadline: Option<DateTime<Utc>>,
    submitted_at: Option<DateTime<Utc>>,
    score: Option<f64>,
    correct: Option<i32>,
    total: Option<i32>,
    answers: String,
    layout: String,
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Other(format!("unreadable {what} in the database").into())
}

pub(crate) fn assemble(
    tests: Vec<TestRowOut>,
    questions: Vec<QuestionRow>,
    options: Vec<OptionRow>,
) -> Result<Vec<Test>, StoreError> {
    let mut by_question: HashMap<i64, Vec<QuizOption>> = HashMap::new();
    for o in options {
        by_question.entry(o.question_id).or_default().push(QuizOption {
            id: o.id,
            index: o.option_index,
            text: o.text,
            is_correct: o.is_correct,
        });
    }
    let mut by_test: HashMap<i64, Vec<Question>> = HashMap::new();
    for q in questions {
        let kind = QuestionKind::parse(&q.kind).ok_or_else(|| corrupt("question kind"))?;
        by_test.entry(q.test_id).or_default().push(Question {
            options: by_question.remove(&q.id).unwrap_or_default(),
            id: q.id,
            text: q.text,
            kind,
        });
    }
    tests
        .into_iter()
        .map(|t| {
            Ok(Test {
                questions: by_test.remove(&t.id).unwrap_or_default(),
                id: TestId(t.id),
                subject_id: SubjectId(t.subject_id),
                lesson_id: t.lesson_id.map(LessonId),
                title: t.title,
                max_attempts: t.max_attempts,
                time_limit_minutes: t.time_limit_minutes,
                shuffle: t.shuffle,
                scoring: Scoring::parse(&t.scoring).ok_or_else(|| corrupt("scoring"))?,
            })
        })
        .collect()
}

impl TryFrom<AttemptRow> for Attempt {
    type Error = StoreError;
    fn try_from(r: AttemptRow) -> Result<Self, StoreError> {
        let answers: Vec<Answer> = serde_json::from_str(&r.answers).map_err(|_| corrupt("answers"))?;
        let layout: Vec<(i64, Vec<i64>)> = serde_json::from_str(&r.layout).map_err(|_| corrupt("layout"))?;
        Ok(Attempt {
            id: AttemptId(r.id),
            test_id: TestId(r.test_id),
            lesson_id: r.lesson_id.map(LessonId),
            student_id: UserId(r.student_id),
            student_name: r.student_name,
            started_at: r.started_at,
            deadline: r.deadline,
            submitted_at: r.submitted_at,
            score: r.score,
            correct: r.correct,
            total: r.total,
            answers,
            layout,
        })
    }
}
