//! Homework: what students hand in, and the teacher's grade.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{LessonId, SubmissionId, UserId};

/// One file of a submission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SubmissionFile {
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
    pub size: i64,
    pub content_type: String,
}

/// A homework submission. Resubmitting adds a new one; earlier ones are kept.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Submission {
    pub id: SubmissionId,
    pub lesson_id: LessonId,
    pub student_id: UserId,
    /// The same as `student_id` (the previous backend's name).
    pub user_id: UserId,
    pub student_name: String,
    pub student_iin: String,
    pub comment: Option<String>,
    /// 0–100, absent until graded.
    pub grade: Option<i32>,
    pub feedback: Option<String>,
    pub graded_by: Option<UserId>,
    pub graded_at: Option<DateTime<Utc>>,
    pub submitted_at: DateTime<Utc>,
    pub files: Vec<SubmissionFile>,
    /// The first file's `file_path`, `""` without files: the previous frontend reads one file
    /// per submission from here.
    pub file_path: String,
}

/// Which submissions a listing covers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubmissionFilter {
    pub lesson: Option<LessonId>,
    pub student: Option<UserId>,
    /// Case-insensitive part of the student's name.
    pub name_contains: Option<String>,
}

/// Who a stored file belongs to, for access checks on download.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileOwner {
    /// A lesson document; `lesson` is `None` until a lesson refers to it.
    LessonDocument {
        lesson: Option<LessonId>,
        uploaded_by: Option<UserId>,
    },
    /// A homework file.
    Homework { lesson: LessonId, student: UserId },
}

/// Whose stored files a deletion takes with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilesOf {
    Lesson(LessonId),
    Subject(super::SubjectId),
    Module(super::ModuleId),
    /// The user's avatar and homework files.
    User(UserId),
    /// The avatars and homework of a group's non-admin members.
    GroupMembers(super::GroupId),
    Submission(SubmissionId),
}
