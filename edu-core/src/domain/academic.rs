//! Groups, modules, subjects and lessons.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{AttemptId, GroupId, LessonId, ModuleId, SubjectId, TestId, UserId};

/// A class of students.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Group {
    /// Database id of the group.
    pub id: GroupId,
    /// The group's name, unique among groups.
    pub name: String,
    /// The same as `name`: the existing frontend reads either.
    pub title: String,
    /// Free text about the group, if any.
    pub description: Option<String>,
    /// When the group was created (UTC).
    pub created_at: DateTime<Utc>,
    /// Members, when listed with counts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub member_count: Option<i64>,
}

/// A course unit that groups are given access to; contains subjects.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Module {
    /// Database id of the module.
    pub id: ModuleId,
    /// The module's title.
    pub title: String,
    /// Free text: "1", "2 курс", or nothing.
    pub course: Option<String>,
    /// Free text about the module, if any.
    pub description: Option<String>,
    /// When the module was created (UTC).
    pub created_at: DateTime<Utc>,
}

/// A teacher as shown next to what they teach.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct TeacherRef {
    /// Database id of the teacher.
    pub id: UserId,
    /// The teacher's full name.
    pub full_name: String,
    /// The teacher's 12-digit IIN.
    pub iin: String,
}

/// A subject inside a module, taught by at most one teacher.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Subject {
    /// Database id of the subject.
    pub id: SubjectId,
    /// The module the subject belongs to.
    pub module_id: ModuleId,
    /// The subject's title, unique in its module regardless of case and spacing (see [`title_key`]).
    pub title: String,
    /// The teacher who teaches it; `None` while it has none.
    pub teacher_id: Option<UserId>,
}

/// What a lesson contains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum LessonKind {
    /// A video lesson: `content_url` is an address to watch.
    Video,
    /// A document lesson: `content_url` is an uploaded document or an address.
    Pdf,
    /// A lesson with a test: `content_url` is the test's `/test/{id}`.
    Test,
}

impl LessonKind {
    /// The kind's stored name: `video`, `pdf` or `test`.
    pub fn as_str(self) -> &'static str {
        match self {
            LessonKind::Video => "video",
            LessonKind::Pdf => "pdf",
            LessonKind::Test => "test",
        }
    }
}

impl fmt::Display for LessonKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A lesson type label that is none of the known ones; holds the label as sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("lesson type must be one of Лекция, Практика, Тест, video, pdf or test, got {0:?}")]
pub struct UnknownLessonKind(pub String);

impl FromStr for LessonKind {
    type Err = UnknownLessonKind;
    /// A kind's own name (the legacy Russian spelling of "test" too), as stored.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_lowercase().as_str() {
            "video" | "видео" => Ok(LessonKind::Video),
            "pdf" => Ok(LessonKind::Pdf),
            "test" | "тест" => Ok(LessonKind::Test),
            _ => Err(UnknownLessonKind(s.to_owned())),
        }
    }
}

/// What a lesson type label sent by a client says about the lesson's kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LabelKind {
    /// A kind named outright (`video`, `pdf`, `test`, `тест`, `Тест`).
    Exactly(LessonKind),
    /// The previous frontend's "Лекция" or "Практика": the content decides (an uploaded
    /// document makes it `pdf`, anything else `video`).
    ByContent,
}

/// Reads a lesson type label: the previous frontend's Лекция, Практика, Тест or edu's own
/// kinds, in any case, surrounding spaces ignored.
pub fn parse_lesson_label(label: &str) -> Result<LabelKind, UnknownLessonKind> {
    match label.trim().to_lowercase().as_str() {
        "лекция" | "практика" => Ok(LabelKind::ByContent),
        _ => label.parse().map(LabelKind::Exactly),
    }
}

/// The caller's result on a lesson's test, in the previous backend's shape.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct LessonResult {
    /// The attempt.
    pub id: AttemptId,
    /// The student who made the attempt.
    pub user_id: UserId,
    /// The lesson whose test was taken.
    pub lesson_id: LessonId,
    /// The test taken.
    pub test_id: TestId,
    /// 0–100, possibly fractional.
    pub score: f64,
    /// When the attempt was submitted (UTC).
    pub submitted_at: DateTime<Utc>,
}

/// A lesson of a subject.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Lesson {
    /// Database id of the lesson.
    pub id: LessonId,
    /// The subject the lesson belongs to.
    pub subject_id: SubjectId,
    /// The lesson's title.
    pub title: String,
    /// The type label the lesson was created with ("Лекция", "Практика", "Тест", "video", …);
    /// for lessons made before labels were kept, the kind's name.
    #[serde(rename = "type")]
    pub label: String,
    /// The normalised kind edu reasons about.
    pub kind: LessonKind,
    /// `""` when there is none, as the previous backend answered.
    #[serde(serialize_with = "empty_if_none")]
    #[schema(value_type = String)]
    pub description: Option<String>,
    /// An address, an uploaded document's `/static/lesson_docs/<name>` or a test's `/test/{id}`;
    /// `""` when there is none, as the previous backend answered.
    #[serde(serialize_with = "empty_if_none")]
    #[schema(value_type = String)]
    pub content_url: Option<String>,
    /// When the lesson was created (UTC).
    pub created_at: DateTime<Utc>,
    /// The reader's result on the lesson's test: their best submitted attempt (the attempt that
    /// counts in grades); `null` when there is none.
    pub result: Option<LessonResult>,
}

fn empty_if_none<S: serde::Serializer>(value: &Option<String>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(value.as_deref().unwrap_or(""))
}

/// A subject with its teacher and lessons.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SubjectTree {
    /// The subject itself; its fields appear at the top level in JSON.
    #[serde(flatten)]
    pub subject: Subject,
    /// The subject's teacher, if it has one.
    pub teacher: Option<TeacherRef>,
    /// The subject's lessons, in the order they were created.
    pub lessons: Vec<Lesson>,
}

/// A module with its subjects and their lessons.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ModuleTree {
    /// The module itself; its fields appear at the top level in JSON.
    #[serde(flatten)]
    pub module: Module,
    /// The module's subjects with their lessons.
    pub subjects: Vec<SubjectTree>,
}

/// Which modules a query covers: the one visibility rule, expressed for the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModuleScope {
    /// Every module (administrators).
    All,
    /// Modules where the teacher teaches a subject or is linked.
    Teacher(UserId),
    /// Modules linked to one of the student's groups.
    Student(UserId),
}

/// The key under which subject titles are unique in a module: case-insensitive, Unicode-aware.
pub fn title_key(title: &str) -> String {
    title.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lesson_labels() {
        assert_eq!(parse_lesson_label(" Тест "), Ok(LabelKind::Exactly(LessonKind::Test)));
        assert_eq!(parse_lesson_label("тест"), Ok(LabelKind::Exactly(LessonKind::Test)));
        assert_eq!(parse_lesson_label("ЛЕКЦИЯ"), Ok(LabelKind::ByContent));
        assert_eq!(parse_lesson_label("Практика"), Ok(LabelKind::ByContent));
        assert_eq!(parse_lesson_label("Video"), Ok(LabelKind::Exactly(LessonKind::Video)));
        assert!(parse_lesson_label("Семинар").is_err());
        assert!(parse_lesson_label("").is_err());
    }

    #[test]
    fn lesson_kinds() {
        assert_eq!("Тест".parse::<LessonKind>(), Ok(LessonKind::Test));
        assert_eq!("TEST".parse::<LessonKind>(), Ok(LessonKind::Test));
        assert_eq!("pdf".parse::<LessonKind>(), Ok(LessonKind::Pdf));
        assert!("audio".parse::<LessonKind>().is_err());
    }

    #[test]
    fn title_keys_fold_case_and_space() {
        assert_eq!(title_key("  Математика  Базовая "), "математика базовая");
        assert_eq!(title_key("МАТЕМАТИКА базовая"), title_key("математика БАЗОВАЯ"));
    }
}

/// A module to create.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct NewModule {
    /// The module's title: one line, 1 to 200 characters.
    pub title: String,
    /// Free text or a number.
    #[serde(default, deserialize_with = "text_or_number")]
    #[schema(value_type = Option<String>)]
    pub course: Option<String>,
    /// Free text about the module, up to 10,000 characters; blank is none.
    #[serde(default)]
    pub description: Option<String>,
}

/// A partial update: absent fields are kept, `null` clears the optional ones.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct ModulePatch {
    /// A new title (1 to 200 characters); absent keeps it.
    #[serde(default)]
    pub title: Option<String>,
    /// A new course (text or a number); `null` clears it, absent keeps it.
    #[serde(default, deserialize_with = "present_text_or_number")]
    #[schema(value_type = Option<String>)]
    pub course: Option<Option<String>>,
    /// A new description; `null` clears it, absent keeps it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
}

/// A partial update of a group: absent fields are kept, a `null` description clears it.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupPatch {
    /// Also accepted as `title`, as on creation.
    #[serde(default, alias = "title")]
    pub name: Option<String>,
    /// A new description; `null` clears it, absent keeps it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
}

/// A partial update of a subject.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubjectPatch {
    /// A new title (1 to 200 characters, unique in the module); absent keeps it.
    #[serde(default)]
    pub title: Option<String>,
}

/// Accepts `"2"`, `2` or `null` for a text field.
fn text_or_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum TextOrNumber {
        Text(String),
        Int(i64),
        Float(f64),
    }
    Ok(match Option::<TextOrNumber>::deserialize(d)? {
        None => None,
        Some(TextOrNumber::Text(s)) => Some(s),
        Some(TextOrNumber::Int(n)) => Some(n.to_string()),
        Some(TextOrNumber::Float(f)) => Some(f.to_string()),
    })
}

use super::text::present;

fn present_text_or_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Ok(Some(text_or_number(d)?))
}
