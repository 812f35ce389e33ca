//! Rows of the homework tables and how they become domain values.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::domain::{LessonId, Submission, SubmissionFile, SubmissionId, UserId};
use crate::files::legacy;

#[derive(sqlx::FromRow)]
pub(crate) struct SubmissionRow {
    id: i64,
    lesson_id: i64,
    student_id: i64,
    student_name: String,
    student_iin: String,
    comment: Option<String>,
    grade: Option<i32>,
    feedback: Option<String>,
    graded_by: Option<i64>,
    graded_at: Option<DateTime<Utc>>,
    submitted_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
pub(crate) struct SubmissionFileRow {
    id: i64,
    submission_id: i64,
    storage_key: String,
    original_name: String,
    size: i64,
    content_type: String,
}

/// Puts submissions (in their order) and their files (in id order) together.
pub(crate) fn assemble(rows: Vec<SubmissionRow>, files: Vec<SubmissionFileRow>) -> Vec<Submission> {
    let mut by_submission: HashMap<i64, Vec<SubmissionFileRow>> = HashMap::new();
    for f in files {
        by_submission.entry(f.submission_id).or_default().push(f);
    }
    rows.into_iter()
        .map(|r| {
            let lesson = LessonId(r.lesson_id);
            let files: Vec<SubmissionFile> = by_submission
                .remove(&r.id)
                .unwrap_or_default()
                .into_iter()
                .map(|f| SubmissionFile {
                    id: f.id,
                    file_path: legacy::homework_path(lesson, &f.storage_key),
                    url: legacy::homework_url(lesson, &f.storage_key),
                    file_name: f.original_name,
                    key: f.storage_key,
                    size: f.size,
                    content_type: f.content_type,
                })
                .collect();
            Submission {
                file_path: files.first().map(|f| f.file_path.clone()).unwrap_or_default(),
                files,
                id: SubmissionId(r.id),
                lesson_id: lesson,
                student_id: UserId(r.student_id),
                user_id: UserId(r.student_id),
                student_name: r.student_name,
                student_iin: r.student_iin,
                comment: r.comment,
                grade: r.grade,
                feedback: r.feedback,
                graded_by: r.graded_by.map(UserId),
                graded_at: r.graded_at,
                submitted_at: r.submitted_at,
            }
        })
        .collect()
}
