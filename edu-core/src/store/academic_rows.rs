//! Rows of the academic structure and the assembly of module trees.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::domain::{
    AttemptId, Group, GroupId, Lesson, LessonId, LessonKind, LessonResult, Module, ModuleId, ModuleScope, ModuleTree,
    Subject, SubjectId, SubjectTree, TeacherRef, TestId, UserId,
};
use crate::error::StoreError;
use crate::files::legacy;

#[derive(sqlx::FromRow)]
pub(crate) struct GroupRow {
    id: i64,
    name: String,
    description: Option<String>,
    created_at: DateTime<Utc>,
    member_count: i64,
}

impl From<GroupRow> for Group {
    fn from(r: GroupRow) -> Self {
        Group {
            id: GroupId(r.id),
            title: r.name.clone(),
            name: r.name,
            description: r.description,
            created_at: r.created_at,
            member_count: Some(r.member_count),
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct ModuleRow {
    pub(crate) id: i64,
    title: String,
    course: Option<String>,
    description: Option<String>,
    created_at: DateTime<Utc>,
}

impl From<ModuleRow> for Module {
    fn from(r: ModuleRow) -> Self {
        Module {
            id: ModuleId(r.id),
            title: r.title,
            course: r.course,
            description: r.description,
            created_at: r.created_at,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct SubjectRow {
    id: i64,
    module_id: i64,
    title: String,
    teacher_id: Option<i64>,
    teacher_name: Option<String>,
    teacher_iin: Option<String>,
}

impl SubjectRow {
    fn teacher(&self) -> Option<TeacherRef> {
        match (self.teacher_id, &self.teacher_name, &self.teacher_iin) {
            (Some(id), Some(name), Some(iin)) => Some(TeacherRef {
                id: UserId(id),
                full_name: name.clone(),
                iin: iin.clone(),
            }),
            _ => None,
        }
    }
}

impl From<SubjectRow> for Subject {
    fn from(r: SubjectRow) -> Self {
        Subject {
            id: SubjectId(r.id),
            module_id: ModuleId(r.module_id),
            title: r.title,
            teacher_id: r.teacher_id.map(UserId),
        }
    }
}

/// A lesson with the reader's result on its test, as `lessons_with_results` selects it.
#[derive(sqlx::FromRow)]
pub(crate) struct LessonRow {
    id: i64,
    subject_id: i64,
    title: String,
    kind: String,
    type_label: Option<String>,
    description: Option<String>,
    content_url: Option<String>,
    created_at: DateTime<Utc>,
    result_id: Option<i64>,
    result_user_id: Option<i64>,
    result_test_id: Option<i64>,
    result_score: Option<f64>,
    result_submitted_at: Option<DateTime<Utc>>,
}

impl TryFrom<LessonRow> for Lesson {
    type Error = StoreError;
    fn try_from(r: LessonRow) -> Result<Self, StoreError> {
        let kind = r
            .kind
            .parse::<LessonKind>()
            .map_err(|e| StoreError::Other(Box::new(e)))?;
        let result = match (
            r.result_id,
            r.result_user_id,
            r.result_test_id,
            r.result_score,
            r.result_submitted_at,
        ) {
            (Some(id), Some(user), Some(test), Some(score), Some(at)) => Some(LessonResult {
                id: AttemptId(id),
                user_id: UserId(user),
                lesson_id: LessonId(r.id),
                test_id: TestId(test),
                score,
                submitted_at: at,
            }),
            _ => None,
        };
        Ok(Lesson {
            id: LessonId(r.id),
            subject_id: SubjectId(r.subject_id),
            title: r.title,
            label: r.type_label.unwrap_or_else(|| kind.as_str().to_owned()),
            kind,
            description: r.description,
            content_url: r.content_url.map(|url| legacy::content_url_for_clients(&url)),
            created_at: r.created_at,
            result,
        })
    }
}

/// Lessons (`l`, with their subject `s`) matching `filter`, in id order, each with the result of
/// the reader (the parameter `reader`, NULL for none) on its test: the best submitted attempt,
/// the later one on a tie — the attempt that counts in grades. One statement, whatever the number
/// of lessons.
pub(crate) fn lessons_with_results(filter: &str, reader: &str) -> String {
    format!(
        "SELECT l.id, l.subject_id, l.title, l.kind, l.type_label, l.description, l.content_url, l.created_at, \
         r.id AS result_id, r.student_id AS result_user_id, r.test_id AS result_test_id, \
         r.score AS result_score, r.submitted_at AS result_submitted_at \
         FROM lessons l JOIN subjects s ON s.id = l.subject_id \
         LEFT JOIN (SELECT a.id, a.student_id, a.test_id, a.score, a.submitted_at, \
         COALESCE(a.lesson_id, t.lesson_id) AS lesson_id, ROW_NUMBER() OVER (\
         PARTITION BY COALESCE(a.lesson_id, t.lesson_id) ORDER BY a.score DESC, a.submitted_at DESC, a.id DESC) AS rn \
         FROM attempts a JOIN tests t ON t.id = a.test_id \
         WHERE a.student_id = {reader} AND a.submitted_at IS NOT NULL AND a.score IS NOT NULL) r \
         ON r.lesson_id = l.id AND r.rn = 1 \
         WHERE {filter} ORDER BY l.id"
    )
}

/// The SQL condition selecting the modules of `scope` (and only `only`, if given) by the module id
/// expression `col`, with its parameters in order.
pub(crate) fn scope_condition(scope: ModuleScope, col: &str, only: Option<ModuleId>) -> (String, Vec<i64>) {
    let mut binds = Vec::new();
    let mut cond = match scope {
        ModuleScope::All => "1 = 1".to_owned(),
        ModuleScope::Teacher(t) => {
            binds.push(t.0);
            format!(
                "{col} IN (SELECT module_id FROM subjects WHERE teacher_id = $1 \
                 UNION SELECT module_id FROM teacher_module WHERE teacher_id = $1)"
            )
        }
        ModuleScope::Student(s) => {
            binds.push(s.0);
            format!(
                "{col} IN (SELECT mg.module_id FROM module_group mg \
                 JOIN user_group ug ON ug.group_id = mg.group_id WHERE ug.user_id = $1)"
            )
        }
    };
    if let Some(m) = only {
        binds.push(m.0);
        cond = format!("{cond} AND {col} = ${}", binds.len());
    }
    (cond, binds)
}

/// Puts modules, subjects and lessons (each in id order) together.
pub(crate) fn assemble(
    modules: Vec<ModuleRow>,
    subjects: Vec<SubjectRow>,
    lessons: Vec<LessonRow>,
) -> Result<Vec<ModuleTree>, StoreError> {
    let mut lessons_by_subject: BTreeMap<i64, Vec<Lesson>> = BTreeMap::new();
    for l in lessons {
        let subject = l.subject_id;
        lessons_by_subject.entry(subject).or_default().push(l.try_into()?);
    }
    let mut subjects_by_module: BTreeMap<i64, Vec<SubjectTree>> = BTreeMap::new();
    for s in subjects {
        let teacher = s.teacher();
        let lessons = lessons_by_subject.remove(&s.id).unwrap_or_default();
        let module = s.module_id;
        subjects_by_module.entry(module).or_default().push(SubjectTree {
            subject: s.into(),
            teacher,
            lessons,
        });
    }
    Ok(modules
        .into_iter()
        .map(|m| {
            let subjects = subjects_by_module.remove(&m.id).unwrap_or_default();
            ModuleTree {
                module: m.into(),
                subjects,
            }
        })
        .collect())
}
