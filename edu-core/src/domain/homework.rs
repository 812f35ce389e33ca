//! Homework: what students hand in, and the teacher's grade.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{LessonId, SubmissionId, UserId};

/// One file of a submission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SubmissionFile {
    /// Database id of the file row.
    pub id: i64,
    /// The client's file name (metadata only).
    pub file_name: String,
    /// The previous backend's path, `static/homework/lesson_<n>/<name>` (its frontend downloads
    /// it from `/files/download/homework/lesson_<n>/<name>`).
    pub file_path: String,
    /// Where to download it.
    pub url: String,
    /// The storage key.
    pub key: String,
    /// Size in bytes.
    pub size: i64,
    /// The MIME type the file was stored with.
    pub content_type: String,
}

/// A homework submission. Resubmitting adds a new one; earlier ones are kept.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Submission {
    /// Database id of the submission.
    pub id: SubmissionId,
    /// The lesson the homework is for.
    pub lesson_id: LessonId,
    /// The student who handed it in.
    pub student_id: UserId,
    /// The same as `student_id` (the previous backend's name).
    pub user_id: UserId,
    /// The student's full name.
    pub student_name: String,
    /// The student's 12-digit IIN.
    pub student_iin: String,
    /// The student's note to the teacher, if any.
    pub comment: Option<String>,
    /// 0–100, absent until graded.
    pub grade: Option<i32>,
    /// The teacher's comment on the grade, if any.
    pub feedback: Option<String>,
    /// Who graded it; `None` until graded.
    pub graded_by: Option<UserId>,
    /// When it was graded (UTC); `None` until graded.
    pub graded_at: Option<DateTime<Utc>>,
    /// When it was handed in (UTC).
    pub submitted_at: DateTime<Utc>,
    /// The submission's files, in upload order.
    pub files: Vec<SubmissionFile>,
    /// The first file's `file_path`, `""` without files: the previous frontend reads one file
    /// per submission from here.
    pub file_path: String,
}

/// Which submissions a listing covers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubmissionFilter {
    /// Only submissions for this lesson, when given.
    pub lesson: Option<LessonId>,
    /// Only this student's submissions, when given.
    pub student: Option<UserId>,
    /// Case-insensitive part of the student's name.
    pub name_contains: Option<String>,
}

/// Who a stored file belongs to, for access checks on download.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileOwner {
    /// A lesson document; `lesson` is `None` until a lesson refers to it.
    LessonDocument {
        /// The lesson using the document, if any.
        lesson: Option<LessonId>,
        /// The teacher or administrator who uploaded it, if still known.
        uploaded_by: Option<UserId>,
    },
    /// A homework file.
    Homework {
        /// The lesson it was handed in for.
        lesson: LessonId,
        /// The student who handed it in.
        student: UserId,
    },
}

/// Whose stored files a deletion takes with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilesOf {
    /// The files of one lesson: its document and its homework.
    Lesson(LessonId),
    /// The files of every lesson of one subject.
    Subject(super::SubjectId),
    /// The files of every lesson of one module.
    Module(super::ModuleId),
    /// The user's avatar and homework files.
    User(UserId),
    /// The avatars and homework of a group's non-admin members.
    GroupMembers(super::GroupId),
    /// The files of one homework submission.
    Submission(SubmissionId),
}
