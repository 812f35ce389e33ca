//! Rows of the academic structure and the assembly of module trees.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::domain::{
    Group, GroupId, Lesson, LessonId, LessonKind, Module, ModuleId, ModuleScope, ModuleTree, Subject, SubjectId,
    SubjectTree, TeacherRef, UserId,
};
use crate::error::StoreError;

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
    id: i64,
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

#[derive(sqlx::FromRow)]
pub(crate) struct LessonRow {
    id: i64,
    subject_id: i64,
    title: String,
    kind: String,
    description: Option<String>,
    content_url: Option<String>,
    created_at: DateTime<Utc>,
}

impl TryFrom<LessonRow> for Lesson {
    type Error = StoreError;
    fn try_from(r: LessonRow) -> Result<Self, StoreError> {
        Ok(Lesson {
            id: LessonId(r.id),
            subject_id: SubjectId(r.subject_id),
            title: r.title,
            kind: r
                .kind
                .parse::<LessonKind>()
                .map_err(|e| StoreError::Other(Box::new(e)))?,
            description: r.description,
            content_url: r.content_url,
            created_at: r.created_at,
        })
    }
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
