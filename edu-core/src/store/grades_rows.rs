//! Rows of the grade queries and how they become domain values.

use chrono::{DateTime, Utc};

use super::GradebookPage;
use crate::domain::grades::{GradebookLesson, GradebookStudent, GradebookWork, Place};
use crate::domain::{GradeItem, Iin, LessonId, LessonKind, ModuleId, Source, SubjectId, TestId, UserId};
use crate::error::StoreError;

fn unreadable(what: &str, value: &str) -> StoreError {
    StoreError::Other(format!("unreadable {what} in the database: {value:?}").into())
}

fn source(s: &str) -> Result<Source, StoreError> {
    match s {
        "homework" => Ok(Source::Homework),
        "test" => Ok(Source::Test),
        other => Err(unreadable("grade source", other)),
    }
}

fn kind(s: &str) -> Result<LessonKind, StoreError> {
    s.parse().map_err(|_| unreadable("lesson type", s))
}

#[derive(sqlx::FromRow)]
pub(crate) struct GradeItemRow {
    source: String,
    submission_id: i64,
    lesson_id: Option<i64>,
    lesson_title: Option<String>,
    lesson_type: String,
    lesson_kind: Option<String>,
    subject_id: i64,
    subject_title: String,
    module_id: i64,
    module_title: String,
    test_id: Option<i64>,
    grade: Option<f64>,
    submitted_at: DateTime<Utc>,
    place_lesson_id: Option<i64>,
    lesson_has_test: bool,
}

impl TryFrom<GradeItemRow> for GradeItem {
    type Error = StoreError;

    fn try_from(r: GradeItemRow) -> Result<Self, Self::Error> {
        Ok(GradeItem {
            source: source(&r.source)?,
            submission_id: r.submission_id,
            lesson_id: r.lesson_id.map(LessonId),
            lesson_title: r.lesson_title,
            lesson_type: r.lesson_type,
            kind: r.lesson_kind.as_deref().map(kind).transpose()?,
            subject_id: SubjectId(r.subject_id),
            subject_title: r.subject_title,
            module_id: ModuleId(r.module_id),
            module_title: r.module_title,
            test_id: r.test_id.map(TestId),
            grade: r.grade,
            submitted_at: r.submitted_at,
            place: Place {
                lesson: r.place_lesson_id.map(LessonId),
                lesson_has_test: r.lesson_has_test,
            },
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct GradebookLessonRow {
    lesson_id: i64,
    title: String,
    lesson_type: String,
    subject_id: i64,
    subject_title: String,
    test_id: Option<i64>,
}

impl TryFrom<GradebookLessonRow> for GradebookLesson {
    type Error = StoreError;

    fn try_from(r: GradebookLessonRow) -> Result<Self, Self::Error> {
        Ok(GradebookLesson {
            lesson_id: LessonId(r.lesson_id),
            title: r.title,
            lesson_type: kind(&r.lesson_type)?,
            subject_id: SubjectId(r.subject_id),
            subject_title: r.subject_title,
            test_id: r.test_id.map(TestId),
        })
    }
}

/// A student of the page, with one piece of their work (or none: a student without work).
#[derive(sqlx::FromRow)]
pub(crate) struct GradebookRowOut {
    student_id: i64,
    iin: String,
    full_name: Option<String>,
    source: Option<String>,
    work_id: Option<i64>,
    lesson_id: Option<i64>,
    grade: Option<f64>,
    submitted_at: Option<DateTime<Utc>>,
    lesson_has_test: Option<bool>,
    total: i64,
}

/// Students in the order the rows come in, each once, and all the work.
pub(crate) fn assemble_page(rows: Vec<GradebookRowOut>) -> Result<GradebookPage, StoreError> {
    let mut page = GradebookPage {
        total: rows.first().map_or(0, |r| r.total),
        ..GradebookPage::default()
    };
    for r in rows {
        let student = UserId(r.student_id);
        if page.students.last().is_none_or(|s| s.id != student) {
            page.students.push(GradebookStudent {
                id: student,
                iin: Iin::parse(&r.iin).map_err(|_| unreadable("IIN", &r.iin))?,
                full_name: r.full_name,
            });
        }
        if let (Some(kind), Some(id), Some(submitted_at)) = (r.source, r.work_id, r.submitted_at) {
            page.work.push(GradebookWork {
                student_id: student,
                source: source(&kind)?,
                id,
                place: Place {
                    lesson: r.lesson_id.map(LessonId),
                    lesson_has_test: r.lesson_has_test.unwrap_or(false),
                },
                grade: r.grade,
                submitted_at,
            });
        }
    }
    Ok(page)
}
