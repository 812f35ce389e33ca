//! From the old rows to the rows edu will hold: every normalisation and every defect check that
//! does not depend on the target database. Ids are still the old ones; references are by old id.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Component, Path, PathBuf};

use chrono::{DateTime, Utc};

use super::report::{Problem, ProblemKind};
use super::source::OldData;
use crate::domain::{Iin, LessonKind, Phone, title_key};
use crate::files::{Area, DOCUMENTS, IMAGES, sniff};

/// A user to write.
#[derive(Debug, Clone)]
pub struct UserRow {
    /// The old id (kept in an empty target, replaced when merging).
    pub id: i64,
    /// The IIN, checked (leading zeros restored where they had been lost).
    pub iin: String,
    /// Full name, trimmed; the IIN when the old name is blank.
    pub full_name: String,
    /// `admin`, `teacher` or `student`.
    pub role: &'static str,
    /// Checked phone, unique among the imported users; `None` when missing or unusable.
    pub phone: Option<String>,
    /// The old bcrypt hash, so that old passwords keep working.
    pub password_hash: String,
    /// Index into [`Plan::files`].
    pub photo: Option<usize>,
}

/// A group to write.
#[derive(Debug, Clone)]
pub struct GroupRow {
    /// The old id.
    pub id: i64,
    /// The group's name, made unique with a ` (2)`, ` (3)`… suffix where needed.
    pub name: String,
    /// Free text about the group, if any.
    pub description: Option<String>,
}

/// A module to write.
#[derive(Debug, Clone)]
pub struct ModuleRow {
    /// The old id.
    pub id: i64,
    /// The module's title.
    pub title: String,
    /// Free-text course, if any.
    pub course: Option<String>,
    /// Free text about the module, if any.
    pub description: Option<String>,
    /// Creation time (UTC); the time of the import when the old row has none.
    pub created_at: DateTime<Utc>,
}

/// A subject to write.
#[derive(Debug, Clone)]
pub struct SubjectRow {
    /// The old id.
    pub id: i64,
    /// Old id of its module.
    pub module: i64,
    /// Old id of its teacher, if any.
    pub teacher: Option<i64>,
    /// The subject's title, made unique in its module with a ` (2)`, ` (3)`… suffix where needed.
    pub title: String,
    /// The title's uniqueness key (see [`title_key`]).
    pub title_key: String,
}

/// A lesson to write.
#[derive(Debug, Clone)]
pub struct LessonRow {
    /// The old id.
    pub id: i64,
    /// Old id of its subject.
    pub subject: i64,
    /// The lesson's title.
    pub title: String,
    /// The normalised kind (see [`lesson_kind`]).
    pub kind: LessonKind,
    /// The old type label, unless blank.
    pub type_label: Option<String>,
    /// Free text about the lesson, if any.
    pub description: Option<String>,
    /// The old `content_url`; `None` when blank.
    pub content_url: Option<String>,
    /// Creation time (UTC); the time of the import when the old row has none.
    pub created_at: DateTime<Utc>,
    /// The lesson document, index into [`Plan::files`].
    pub document: Option<usize>,
    /// Who the document is recorded as uploaded by: the subject's teacher.
    pub uploaded_by: Option<i64>,
}

/// A test to write.
#[derive(Debug, Clone)]
pub struct TestRow {
    /// The old id.
    pub id: i64,
    /// Old id of its subject.
    pub subject: i64,
    /// Old id of the lesson it is linked to, if any.
    pub lesson: Option<i64>,
    /// The test's title.
    pub title: String,
    /// Creation time (UTC): its lesson's, or the time of the import without one.
    pub created_at: DateTime<Utc>,
}

/// A question to write (single choice).
#[derive(Debug, Clone)]
pub struct QuestionRow {
    /// The old id.
    pub id: i64,
    /// Old id of its test.
    pub test: i64,
    /// Place in its test, from 0, in old id order.
    pub position: i32,
    /// The question's text.
    pub text: String,
}

/// An option to write.
#[derive(Debug, Clone)]
pub struct OptionRow {
    /// The old id.
    pub id: i64,
    /// Old id of its question.
    pub question: i64,
    /// Place in its question, from 0, in old id order.
    pub position: i32,
    /// The option's index within its question, as answers name it.
    pub index: i64,
    /// The option's text.
    pub text: String,
    /// Whether this is the question's correct option.
    pub is_correct: bool,
}

/// A homework submission to write.
#[derive(Debug, Clone)]
pub struct SubmissionRow {
    /// The old id.
    pub id: i64,
    /// Old id of its lesson.
    pub lesson: i64,
    /// Old id of the student.
    pub student: i64,
    /// The student's note, if any.
    pub comment: Option<String>,
    /// 0–100; `None` when ungraded or out of range in the old row.
    pub grade: Option<i32>,
    /// Hand-in time (UTC); the time of the import when the old row has none.
    pub submitted_at: DateTime<Utc>,
}

/// A file of a homework submission to write.
#[derive(Debug, Clone)]
pub struct SubmissionFileRow {
    /// Old id of the submission.
    pub submission: i64,
    /// Index into [`Plan::files`].
    pub file: usize,
}

/// A submitted test attempt to write, from an old result.
#[derive(Debug, Clone)]
pub struct AttemptRow {
    /// The old result's id.
    pub id: i64,
    /// Old id of the test.
    pub test: i64,
    /// Old id of the lesson the result counts in, if any.
    pub lesson: Option<i64>,
    /// Old id of the student.
    pub student: i64,
    /// Submission time (UTC); the time of the import when the old row has none.
    pub submitted_at: DateTime<Utc>,
    /// Score 0–100, clamped when the old one was outside.
    pub score: f64,
    /// Questions answered right, when the score and the test's question count agree on a whole number.
    pub correct: Option<i32>,
    /// Questions in the test, when `correct` is known.
    pub total: Option<i32>,
}

/// A file of the old static folder to bring across.
#[derive(Debug, Clone)]
pub struct FileToCopy {
    /// The old path as the old database referred to it, without a leading `/`
    /// (`static/photos/1_Снимок экрана.png`): the `legacy_files.path`.
    pub path: String,
    /// The file in the old `static/` folder on disk.
    pub source: PathBuf,
    /// The area of the file store it goes to.
    pub area: Area,
    /// The file name, the last segment of the old path.
    pub original_name: String,
    /// The file name's extension, lower case, without the dot; empty without one.
    pub ext: String,
    /// The MIME type it is stored with, from the extension.
    pub content_type: String,
    /// Size in bytes, when the plan was made.
    pub size: u64,
}

/// Every row to write, with old ids.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// Users to write.
    pub users: Vec<UserRow>,
    /// Groups to write.
    pub groups: Vec<GroupRow>,
    /// (user, group)
    pub memberships: Vec<(i64, i64)>,
    /// Modules to write.
    pub modules: Vec<ModuleRow>,
    /// (module, group)
    pub module_groups: Vec<(i64, i64)>,
    /// (module, teacher)
    pub teacher_modules: Vec<(i64, i64)>,
    /// Subjects to write.
    pub subjects: Vec<SubjectRow>,
    /// Lessons to write.
    pub lessons: Vec<LessonRow>,
    /// Tests to write.
    pub tests: Vec<TestRow>,
    /// Questions to write.
    pub questions: Vec<QuestionRow>,
    /// Options to write.
    pub options: Vec<OptionRow>,
    /// Homework submissions to write.
    pub submissions: Vec<SubmissionRow>,
    /// Files of homework submissions to write.
    pub submission_files: Vec<SubmissionFileRow>,
    /// Test attempts to write, from the old results.
    pub attempts: Vec<AttemptRow>,
    /// Files to copy into the file store; rows refer to them by index.
    pub files: Vec<FileToCopy>,
    /// Every defect found in the old rows, with what was done about it.
    pub problems: Vec<Problem>,
    /// Files referred to but not found.
    pub missing_files: u64,
}

impl Plan {
    /// Rows to insert, for progress.
    pub fn rows(&self) -> usize {
        self.users.len()
            + self.groups.len()
            + self.memberships.len()
            + self.modules.len()
            + self.module_groups.len()
            + self.teacher_modules.len()
            + self.subjects.len()
            + self.lessons.len()
            + self.tests.len()
            + self.questions.len()
            + self.options.len()
            + self.submissions.len()
            + self.submission_files.len()
            + self.attempts.len()
            + self.files.len()
    }

    fn problem(&mut self, table: &'static str, id: i64, kind: ProblemKind, detail: impl Into<String>) {
        self.problems.push(Problem {
            table,
            id,
            kind,
            detail: detail.into(),
        });
    }
}

/// The old path of a stored file without its leading `/`, if it is one: `static/…` with no
/// `.`/`..` segments. An absolute URL of the old server (`http://host/static/…`) counts too.
pub fn legacy_path(raw: &str) -> Option<String> {
    let s = raw.trim();
    let s = match s.split_once("://") {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https") => {
            &rest[rest.find('/')?..]
        }
        Some(_) => return None,
        None => s,
    };
    let s = s.trim_start_matches('/');
    let rest = s.strip_prefix("static/")?;
    let safe = !rest.is_empty()
        && !s.contains(['\\', '\0', '?', '#'])
        && Path::new(rest).components().all(|c| matches!(c, Component::Normal(_)))
        && !rest.split('/').any(|p| p.is_empty() || p == "." || p == "..");
    safe.then(|| s.to_owned())
}

/// Whether a lesson's `content_url` points at an uploaded lesson document.
pub fn is_document(url: &str) -> bool {
    legacy_path(url).is_some_and(|p| p.starts_with("static/lesson_docs/"))
}

/// The normalised kind of an old lesson: its label says test, or its URL is a document, or video.
pub fn lesson_kind(label: &str, content_url: &str) -> LessonKind {
    let label = label.trim().to_lowercase();
    if label == "тест" || label == "test" {
        LessonKind::Test
    } else if is_document(content_url) {
        LessonKind::Pdf
    } else {
        LessonKind::Video
    }
}

fn blank_to_none(s: Option<&str>) -> Option<String> {
    s.map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned)
}

/// The first of `name`, `name (2)`, `name (3)`… whose key is not in `taken`; records it.
pub fn unique_name(name: &str, taken: &mut HashSet<String>, key: impl Fn(&str) -> String) -> String {
    let mut candidate = name.to_owned();
    let mut n = 2;
    while taken.contains(&key(&candidate)) {
        candidate = format!("{name} ({n})");
        n += 1;
    }
    taken.insert(key(&candidate));
    candidate
}

struct Files<'a> {
    static_dir: &'a Path,
}

impl Files<'_> {
    /// Finds the file an old row refers to; reports it when it is missing or unsafe.
    fn find(&self, plan: &mut Plan, table: &'static str, id: i64, raw: &str, area: Area) -> Option<usize> {
        let Some(path) = legacy_path(raw) else {
            plan.problem(
                table,
                id,
                ProblemKind::UnsafePath,
                format!("{raw:?} is not a file of the static folder"),
            );
            return None;
        };
        let relative = path.strip_prefix("static/").unwrap_or(&path);
        let source = self.static_dir.join(relative);
        let size = match std::fs::metadata(&source) {
            Ok(m) if m.is_file() => m.len(),
            _ => {
                plan.missing_files += 1;
                plan.problem(
                    table,
                    id,
                    ProblemKind::MissingFile,
                    format!("{path} is not in the static folder"),
                );
                return None;
            }
        };
        let original_name = path.rsplit('/').next().unwrap_or(&path).to_owned();
        let ext = sniff::extension(&original_name).unwrap_or_default();
        if area == Area::Photos && IMAGES.family(&ext).is_none() {
            plan.problem(
                table,
                id,
                ProblemKind::NotAnImage,
                format!("{path} is not a jpg, png, webp or gif image"),
            );
            return None;
        }
        let content_type = DOCUMENTS
            .family(&ext)
            .map_or("application/octet-stream", |f| f.content_type(&ext))
            .to_owned();
        plan.files.push(FileToCopy {
            path,
            source,
            area,
            original_name,
            ext,
            content_type,
            size,
        });
        Some(plan.files.len() - 1)
    }
}

/// Builds the plan. `now` stands in for times the old rows lack.
pub fn plan(old: &OldData, static_dir: &Path, now: DateTime<Utc>) -> Plan {
    let mut plan = Plan::default();
    let files = Files { static_dir };

    // ---- users ----
    let exact: HashMap<String, i64> = old
        .users
        .iter()
        .filter_map(|u| Iin::parse(&u.iin).ok().map(|i| (i.as_str().to_owned(), u.id)))
        .collect();
    let mut iins: HashSet<String> = HashSet::new();
    let mut phones: HashSet<String> = HashSet::new();
    for u in &old.users {
        let iin = match Iin::parse(&u.iin) {
            Ok(iin) => iin.as_str().to_owned(),
            Err(_) => match Iin::from_number_text(&u.iin) {
                Ok(restored) if !exact.contains_key(restored.as_str()) => {
                    plan.problem(
                        "users",
                        u.id,
                        ProblemKind::IinRestored,
                        format!("IIN {:?} had lost its leading zeros; restored to {}", u.iin, restored),
                    );
                    restored.as_str().to_owned()
                }
                Ok(restored) => {
                    plan.problem(
                        "users",
                        u.id,
                        ProblemKind::DuplicateIin,
                        format!(
                            "IIN {:?} restored to 12 digits is {restored}, which another user has: skipped",
                            u.iin
                        ),
                    );
                    continue;
                }
                Err(e) => {
                    plan.problem(
                        "users",
                        u.id,
                        ProblemKind::InvalidIin,
                        format!("IIN {:?} is not valid ({e}): user skipped", u.iin),
                    );
                    continue;
                }
            },
        };
        if !iins.insert(iin.clone()) {
            plan.problem(
                "users",
                u.id,
                ProblemKind::DuplicateIin,
                format!("IIN {iin} belongs to an earlier user too: skipped"),
            );
            continue;
        }
        let role = match u.role.trim() {
            "admin" => "admin",
            "teacher" => "teacher",
            "student" => "student",
            other => {
                plan.problem(
                    "users",
                    u.id,
                    ProblemKind::UnknownRole,
                    format!("role {other:?} is unknown: skipped"),
                );
                iins.remove(&iin);
                continue;
            }
        };
        let full_name = match u.full_name.trim() {
            "" => {
                plan.problem("users", u.id, ProblemKind::BlankName, format!("no name: named {iin}"));
                iin.clone()
            }
            name => name.to_owned(),
        };
        let phone = match u.phone.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
            None => None,
            Some(raw) => match Phone::parse(raw) {
                Ok(p) if phones.insert(p.as_str().to_owned()) => Some(p.as_str().to_owned()),
                Ok(p) => {
                    plan.problem(
                        "users",
                        u.id,
                        ProblemKind::DuplicatePhone,
                        format!(
                            "phone {} belongs to an earlier user: imported without a phone",
                            p.as_str()
                        ),
                    );
                    None
                }
                Err(_) => {
                    plan.problem(
                        "users",
                        u.id,
                        ProblemKind::InvalidPhone,
                        format!("phone {raw:?} is not a phone number: imported without a phone"),
                    );
                    None
                }
            },
        };
        if !u.hashed_password.starts_with("$2") {
            plan.problem(
                "users",
                u.id,
                ProblemKind::UnusableHash,
                "the password hash is not bcrypt: the user must have the password reset".to_owned(),
            );
        }
        let photo = match u.photo.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
            None => None,
            Some(raw) => files.find(&mut plan, "users", u.id, raw, Area::Photos),
        };
        plan.users.push(UserRow {
            id: u.id,
            iin,
            full_name,
            role,
            phone,
            password_hash: u.hashed_password.clone(),
            photo,
        });
    }
    let users: HashMap<i64, &'static str> = plan.users.iter().map(|u| (u.id, u.role)).collect();

    // ---- groups and memberships ----
    let mut names = HashSet::new();
    for g in &old.groups {
        let name = match g.name.trim() {
            "" => {
                plan.problem(
                    "groups",
                    g.id,
                    ProblemKind::BlankName,
                    format!("no name: named \"group {}\"", g.id),
                );
                format!("group {}", g.id)
            }
            name => name.to_owned(),
        };
        let unique = unique_name(&name, &mut names, str::to_owned);
        if unique != name {
            plan.problem(
                "groups",
                g.id,
                ProblemKind::DuplicateName,
                format!("the name {name:?} is taken by an earlier group: renamed {unique:?}"),
            );
        }
        plan.groups.push(GroupRow {
            id: g.id,
            name: unique,
            description: blank_to_none(g.description.as_deref()),
        });
    }
    let groups: HashSet<i64> = plan.groups.iter().map(|g| g.id).collect();
    for &(user, group) in &old.user_group {
        if users.contains_key(&user) && groups.contains(&group) {
            plan.memberships.push((user, group));
        } else {
            plan.problem(
                "user_group",
                user,
                ProblemKind::MissingReference,
                format!("membership of user {user} in group {group}: the user or group is not imported"),
            );
        }
    }

    // ---- modules, links, subjects ----
    for m in &old.modules {
        let title = match m.title.trim() {
            "" => {
                plan.problem(
                    "modules",
                    m.id,
                    ProblemKind::BlankName,
                    format!("no title: titled \"module {}\"", m.id),
                );
                format!("module {}", m.id)
            }
            t => t.to_owned(),
        };
        plan.modules.push(ModuleRow {
            id: m.id,
            title,
            course: blank_to_none(m.course.as_deref()),
            description: blank_to_none(m.description.as_deref()),
            created_at: m.created_at.unwrap_or(now),
        });
    }
    let modules: HashSet<i64> = plan.modules.iter().map(|m| m.id).collect();
    for &(module, group) in &old.module_group {
        if modules.contains(&module) && groups.contains(&group) {
            plan.module_groups.push((module, group));
        } else {
            plan.problem(
                "module_group",
                module,
                ProblemKind::MissingReference,
                format!("access of group {group} to module {module}: the group or module is not imported"),
            );
        }
    }
    for &(module, teacher) in &old.teacher_module {
        if modules.contains(&module) && users.contains_key(&teacher) {
            plan.teacher_modules.push((module, teacher));
        } else {
            plan.problem(
                "teacher_module",
                module,
                ProblemKind::MissingReference,
                format!("link of teacher {teacher} to module {module}: the teacher or module is not imported"),
            );
        }
    }
    let mut titles: HashMap<i64, HashSet<String>> = HashMap::new();
    for s in &old.subjects {
        if !modules.contains(&s.module_id) {
            plan.problem(
                "subjects",
                s.id,
                ProblemKind::MissingReference,
                format!("module {} is not imported: subject skipped", s.module_id),
            );
            continue;
        }
        let teacher = match s.teacher_id {
            Some(t) if users.contains_key(&t) => Some(t),
            Some(t) => {
                plan.problem(
                    "subjects",
                    s.id,
                    ProblemKind::MissingReference,
                    format!("teacher {t} is not imported: subject imported without a teacher"),
                );
                None
            }
            None => None,
        };
        let title = match s.title.trim() {
            "" => {
                plan.problem(
                    "subjects",
                    s.id,
                    ProblemKind::BlankName,
                    format!("no title: titled \"subject {}\"", s.id),
                );
                format!("subject {}", s.id)
            }
            t => t.to_owned(),
        };
        let unique = unique_name(&title, titles.entry(s.module_id).or_default(), title_key);
        if unique != title {
            plan.problem(
                "subjects",
                s.id,
                ProblemKind::DuplicateName,
                format!(
                    "module {} already has a subject titled {title:?} (case-insensitively): renamed {unique:?}",
                    s.module_id
                ),
            );
        }
        plan.subjects.push(SubjectRow {
            id: s.id,
            module: s.module_id,
            teacher,
            title_key: title_key(&unique),
            title: unique,
        });
    }
    let subjects: HashMap<i64, Option<i64>> = plan.subjects.iter().map(|s| (s.id, s.teacher)).collect();

    // ---- lessons ----
    for l in &old.lessons {
        let Some(&teacher) = subjects.get(&l.subject_id) else {
            plan.problem(
                "lessons",
                l.id,
                ProblemKind::MissingReference,
                format!("subject {} is not imported: lesson skipped", l.subject_id),
            );
            continue;
        };
        let content_url = match l.content_url.trim() {
            "" => {
                plan.problem(
                    "lessons",
                    l.id,
                    ProblemKind::EmptyContentUrl,
                    "empty content_url: stored as none".to_owned(),
                );
                None
            }
            _ => Some(l.content_url.clone()),
        };
        let kind = lesson_kind(&l.label, &l.content_url);
        let document = match &content_url {
            Some(url) if is_document(url) => files.find(&mut plan, "lessons", l.id, url, Area::Lessons),
            _ => None,
        };
        plan.lessons.push(LessonRow {
            id: l.id,
            subject: l.subject_id,
            title: match l.title.trim() {
                "" => format!("lesson {}", l.id),
                t => t.to_owned(),
            },
            kind,
            type_label: Some(l.label.clone()).filter(|s| !s.trim().is_empty()),
            description: blank_to_none(l.description.as_deref()),
            content_url,
            created_at: l.created_at.unwrap_or(now),
            document,
            uploaded_by: teacher,
        });
    }
    let lessons: HashMap<i64, (i64, DateTime<Utc>)> =
        plan.lessons.iter().map(|l| (l.id, (l.subject, l.created_at))).collect();

    // ---- tests, questions, options ----
    for t in &old.tests {
        if !subjects.contains_key(&t.subject_id) {
            plan.problem(
                "tests",
                t.id,
                ProblemKind::MissingReference,
                format!("subject {} is not imported: test skipped", t.subject_id),
            );
            continue;
        }
        let lesson = match t.lesson_id {
            None => None,
            Some(l) => match lessons.get(&l) {
                None => {
                    plan.problem(
                        "tests",
                        t.id,
                        ProblemKind::LessonGone,
                        format!("lesson {l} is gone: the test is imported without a lesson"),
                    );
                    None
                }
                Some(&(subject, _)) => {
                    if subject != t.subject_id {
                        plan.problem(
                            "tests",
                            t.id,
                            ProblemKind::TestLessonMismatch,
                            format!(
                                "lesson {l} belongs to subject {subject}, the test to subject {}",
                                t.subject_id
                            ),
                        );
                    }
                    Some(l)
                }
            },
        };
        let created_at = lesson.and_then(|l| lessons.get(&l)).map_or(now, |&(_, at)| at);
        plan.tests.push(TestRow {
            id: t.id,
            subject: t.subject_id,
            lesson,
            title: match t.title.trim() {
                "" => format!("test {}", t.id),
                s => s.to_owned(),
            },
            created_at,
        });
    }
    let tests: HashMap<i64, Option<i64>> = plan.tests.iter().map(|t| (t.id, t.lesson)).collect();
    let mut positions: HashMap<i64, i32> = HashMap::new();
    let mut correct_of: HashMap<i64, i64> = HashMap::new();
    for q in &old.questions {
        if !tests.contains_key(&q.test_id) {
            plan.problem(
                "questions",
                q.id,
                ProblemKind::MissingReference,
                format!("test {} is not imported: question skipped", q.test_id),
            );
            continue;
        }
        let position = positions.entry(q.test_id).or_insert(0);
        plan.questions.push(QuestionRow {
            id: q.id,
            test: q.test_id,
            position: *position,
            text: q.question_text.clone(),
        });
        *position += 1;
        correct_of.insert(q.id, q.correct_option_index);
    }
    let mut option_positions: HashMap<i64, i32> = HashMap::new();
    let mut indexes: HashSet<(i64, i64)> = HashSet::new();
    let mut has_correct: HashSet<i64> = HashSet::new();
    for o in &old.options {
        let Some(&correct) = correct_of.get(&o.question_id) else {
            plan.problem(
                "options",
                o.id,
                ProblemKind::MissingReference,
                format!("question {} is not imported: option skipped", o.question_id),
            );
            continue;
        };
        if !indexes.insert((o.question_id, o.option_index)) {
            plan.problem(
                "options",
                o.id,
                ProblemKind::DuplicateOption,
                format!(
                    "question {} already has an option with index {}: skipped",
                    o.question_id, o.option_index
                ),
            );
            continue;
        }
        let position = option_positions.entry(o.question_id).or_insert(0);
        let is_correct = o.option_index == correct;
        if is_correct {
            has_correct.insert(o.question_id);
        }
        plan.options.push(OptionRow {
            id: o.id,
            question: o.question_id,
            position: *position,
            index: o.option_index,
            text: o.option_text.clone(),
            is_correct,
        });
        *position += 1;
    }
    for q in &old.questions {
        if correct_of.contains_key(&q.id) && !has_correct.contains(&q.id) {
            plan.problem(
                "questions",
                q.id,
                ProblemKind::NoCorrectOption,
                format!(
                    "no option has the correct index {}: nobody can answer it right",
                    q.correct_option_index
                ),
            );
        }
    }
    let questions_per_test: HashMap<i64, i32> = positions;

    // ---- homework ----
    for s in &old.submissions {
        let (Some(lesson), Some(student)) = (s.lesson_id, s.user_id) else {
            plan.problem(
                "lesson_submissions",
                s.id,
                ProblemKind::MissingReference,
                "no lesson or no student: skipped".to_owned(),
            );
            continue;
        };
        if !lessons.contains_key(&lesson) {
            plan.problem(
                "lesson_submissions",
                s.id,
                ProblemKind::LessonGone,
                format!("lesson {lesson} is gone: skipped"),
            );
            continue;
        }
        if !users.contains_key(&student) {
            plan.problem(
                "lesson_submissions",
                s.id,
                ProblemKind::MissingReference,
                format!("user {student} is not imported: skipped"),
            );
            continue;
        }
        let grade = match s.grade {
            None => None,
            Some(g) if (0..=100).contains(&g) => i32::try_from(g).ok(),
            Some(g) => {
                plan.problem(
                    "lesson_submissions",
                    s.id,
                    ProblemKind::GradeOutOfRange,
                    format!("grade {g} is outside 0-100: imported ungraded"),
                );
                None
            }
        };
        let submitted_at = s.submitted_at.unwrap_or_else(|| {
            plan.problem(
                "lesson_submissions",
                s.id,
                ProblemKind::MissingTime,
                "no submission time: the time of the import is used".to_owned(),
            );
            now
        });
        plan.submissions.push(SubmissionRow {
            id: s.id,
            lesson,
            student,
            comment: blank_to_none(s.comment.as_deref()),
            grade,
            submitted_at,
        });
    }
    let submissions: HashSet<i64> = plan.submissions.iter().map(|s| s.id).collect();
    for f in &old.submission_files {
        if !submissions.contains(&f.submission_id) {
            plan.problem(
                "submission_files",
                f.id,
                ProblemKind::MissingReference,
                format!("submission {} is not imported: file skipped", f.submission_id),
            );
            continue;
        }
        if let Some(file) = files.find(&mut plan, "submission_files", f.id, &f.file_path, Area::Homework) {
            plan.submission_files.push(SubmissionFileRow {
                submission: f.submission_id,
                file,
            });
        }
    }

    // ---- results → attempts ----
    let test_of_lesson: HashMap<i64, i64> = plan.tests.iter().filter_map(|t| t.lesson.map(|l| (l, t.id))).collect();
    let mut best: BTreeMap<(i64, i64), AttemptRow> = BTreeMap::new();
    for r in &old.results {
        if !users.contains_key(&r.user_id) {
            plan.problem(
                "results",
                r.id,
                ProblemKind::MissingReference,
                format!("user {} is not imported: result skipped", r.user_id),
            );
            continue;
        }
        let lesson_known = r.lesson_id.filter(|l| lessons.contains_key(l));
        let test = r
            .test_id
            .filter(|t| tests.contains_key(t))
            .or_else(|| lesson_known.and_then(|l| test_of_lesson.get(&l).copied()));
        let Some(test) = test else {
            let kind = if r.lesson_id.is_some() && lesson_known.is_none() {
                ProblemKind::LessonGone
            } else {
                ProblemKind::MissingReference
            };
            plan.problem(
                "results",
                r.id,
                kind,
                format!(
                    "neither its test ({:?}) nor its lesson ({:?}) leads to an imported test: skipped",
                    r.test_id, r.lesson_id
                ),
            );
            continue;
        };
        let lesson = match (r.lesson_id, lesson_known) {
            (Some(l), None) => {
                let fallback = tests.get(&test).copied().flatten();
                plan.problem(
                    "results",
                    r.id,
                    ProblemKind::LessonGone,
                    format!("lesson {l} is gone: the result is kept with its test's lesson ({fallback:?})"),
                );
                fallback
            }
            (_, Some(l)) => Some(l),
            (None, None) => tests.get(&test).copied().flatten(),
        };
        if r.score.is_nan() {
            plan.problem(
                "results",
                r.id,
                ProblemKind::ScoreOutOfRange,
                "the score is not a number: skipped".to_owned(),
            );
            continue;
        }
        let score = if (0.0..=100.0).contains(&r.score) {
            r.score
        } else {
            let clamped = r.score.clamp(0.0, 100.0);
            plan.problem(
                "results",
                r.id,
                ProblemKind::ScoreOutOfRange,
                format!("score {} is outside 0-100: stored as {clamped}", r.score),
            );
            clamped
        };
        let submitted_at = r.submitted_at.unwrap_or_else(|| {
            plan.problem(
                "results",
                r.id,
                ProblemKind::MissingTime,
                "no submission time: the time of the import is used".to_owned(),
            );
            now
        });
        let (correct, total) = match questions_per_test.get(&test).copied().filter(|&n| n > 0) {
            Some(total) => {
                let correct = (score * f64::from(total) / 100.0).round();
                let again = (correct / f64::from(total) * 10_000.0).round() / 100.0;
                if (again - score).abs() < 0.006 {
                    (Some(correct as i32), Some(total))
                } else {
                    (None, None)
                }
            }
            None => (None, None),
        };
        let row = AttemptRow {
            id: r.id,
            test,
            lesson,
            student: r.user_id,
            submitted_at,
            score,
            correct,
            total,
        };
        match best.get_mut(&(test, r.user_id)) {
            None => {
                best.insert((test, r.user_id), row);
            }
            Some(kept) => {
                // The best score wins; on a tie, the earlier result.
                let (winner, loser) = if row.score > kept.score {
                    (row, kept.clone())
                } else {
                    (kept.clone(), row)
                };
                plan.problem(
                    "results",
                    loser.id,
                    ProblemKind::ExtraResult,
                    format!(
                        "student {} has another result for test {test} (one attempt allowed): result {} with score {} is kept, this one ({}) skipped",
                        r.user_id, winner.id, winner.score, loser.score
                    ),
                );
                *kept = winner;
            }
        }
    }
    let mut attempts: Vec<AttemptRow> = best.into_values().collect();
    attempts.sort_by_key(|a| a.id);
    plan.attempts = attempts;
    plan
}
