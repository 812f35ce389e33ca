//! Groups, modules, subjects and the access links between them, with the visibility rule
//! ("own") applied to every read.

use serde::Serialize;

use super::Platform;
use crate::auth::Principal;
use crate::domain::{
    Group, GroupId, GroupPatch, Iin, Lesson, LessonId, Module, ModuleId, ModulePatch, ModuleScope, ModuleTree,
    NewModule, Page, Subject, SubjectId, SubjectPatch, SubjectTree, TeacherRef, User, UserId, UserProfile, text,
    title_key,
};
use crate::error::{Error, Result, StoreError};
use crate::policy;
use crate::store::Store;

/// Who may see what: every module with its groups, and its subjects with their teachers.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AccessOverview {
    /// Every module, with its linked groups and its subjects.
    pub modules: Vec<ModuleAccess>,
}

/// One module of the access overview, keyed as the old backend keyed it (`module_id`,
/// `module_title`), with the module's own fields beside.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ModuleAccess {
    /// The module's id, under the old backend's name.
    pub module_id: ModuleId,
    /// The module's title, under the old backend's name.
    pub module_title: String,
    /// The module's own fields, flattened beside the two above.
    #[serde(flatten)]
    pub module: Module,
    /// The groups given access to the module.
    pub groups: Vec<Group>,
    /// The module's subjects, each with its teacher.
    pub subjects: Vec<SubjectAccess>,
}

/// A subject of the access overview with its teacher (`null` when none).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SubjectAccess {
    /// The subject's id, under the old backend's name.
    pub subject_id: SubjectId,
    /// The subject's own fields, flattened beside.
    #[serde(flatten)]
    pub subject: Subject,
    /// The subject's teacher; `None` (`null`) when it has none.
    pub teacher: Option<TeacherRef>,
}

/// A module with its subjects and lessons, its teachers (of its subjects or linked to it) and the
/// groups given access to it (`GET /admin/modules/{id}`).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ModuleDetails {
    /// The module with its subjects and lessons, flattened.
    #[serde(flatten)]
    pub module: ModuleTree,
    /// The teachers of its subjects and those linked to the module.
    pub teachers: Vec<TeacherRef>,
    /// The linked groups (empty for a student).
    pub groups: Vec<Group>,
}

/// A lesson as its reader sees it: with its subject, module and the reader's own result.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LessonView {
    /// The lesson's own fields, with the reader's result, flattened.
    #[serde(flatten)]
    pub lesson: Lesson,
    /// The subject the lesson belongs to.
    pub subject: Subject,
    /// The module of that subject.
    pub module_id: ModuleId,
    /// The score of `result` (0–100), if any: kept for clients of earlier edu versions.
    pub my_result: Option<f64>,
}

fn text(value: &str, what: &'static str, max: usize) -> Result<String> {
    text::line(value, what, max).map_err(|e| Error::Validation(e.to_string()))
}

fn optional_text(value: Option<&str>, what: &'static str, max: usize) -> Result<Option<String>> {
    text::optional_line(value, what, max).map_err(|e| Error::Validation(e.to_string()))
}

fn description_text(value: Option<&str>) -> Result<Option<String>> {
    text::optional_block(value, "description", 10_000).map_err(|e| Error::Validation(e.to_string()))
}

impl<S: Store> Platform<S> {
    /// The one visibility rule: which modules `who` may see ([`crate::policy::scope`]).
    pub fn module_scope(&self, who: &Principal) -> ModuleScope {
        policy::scope(who)
    }

    /// The module, if `who` may see it; a hidden module answers exactly like a missing one.
    async fn visible_module(&self, who: &Principal, id: ModuleId) -> Result<ModuleTree> {
        Ok(self.policy().visible_module(who, id).await?.1)
    }

    // ---- groups (admin) ----

    /// Creates a group (admin only). `Conflict` when the name is taken; `Validation` for an empty or overlong name (100 characters) or description.
    pub async fn create_group(&self, who: &Principal, name: &str, description: Option<&str>) -> Result<Group> {
        let admin = policy::admin(who)?;
        let name = text(name, "group name", 100)?;
        self.refuse_taken_group_name(&name, None).await?;
        let entry = self.audit_entry(
            Some(who),
            "group.create",
            "group:{id}".into(),
            None,
            Some(serde_json::json!({"name": name})),
        );
        let group = self
            .store()
            .insert_group(
                &admin,
                &name,
                description_text(description)?.as_deref(),
                self.now(),
                &entry,
            )
            .await
            .map_err(|e| match e {
                StoreError::Conflict { .. } => Error::Conflict(format!("a group named {name:?} already exists")),
                other => other.into(),
            })?;
        Ok(group)
    }

    /// Renames a group or changes its description (admin only); members and history stay.
    pub async fn update_group(&self, who: &Principal, id: GroupId, patch: GroupPatch) -> Result<Group> {
        let admin = policy::admin(who)?;
        self.update_group_as(&admin, Some(who), id, patch).await
    }

    async fn update_group_as(
        &self,
        admin: &policy::Admin,
        who: Option<&Principal>,
        id: GroupId,
        patch: GroupPatch,
    ) -> Result<Group> {
        let group = self.store().group(id).await?.ok_or_else(|| Error::not_found("group"))?;
        let name = match &patch.name {
            Some(name) => text(name, "group name", 100)?,
            None => group.name.clone(),
        };
        self.refuse_taken_group_name(&name, Some(id)).await?;
        let description = match patch.description {
            Some(description) => description_text(description.as_deref())?,
            None => group.description.clone(),
        };
        let before = serde_json::json!({"name": group.name, "description": group.description});
        let entry = self.audit_entry(who, "group.update", format!("group:{id}"), Some(before), None);
        self.store()
            .update_group(admin, id, &name, description.as_deref(), &entry)
            .await
            .map_err(|e| match e {
                StoreError::Conflict { .. } => Error::Conflict(format!("a group named {name:?} already exists")),
                other => other.into(),
            })?
            .ok_or_else(|| Error::not_found("group"))
    }

    /// Moves every member of group `from` into group `to` (year-end promotion, or merging two
    /// groups) and leaves `from` empty (admin only). The students' homework, results and grades
    /// are theirs, so they stay; answers how many members moved.
    pub async fn move_group_members(&self, who: &Principal, from: GroupId, to: GroupId) -> Result<u64> {
        let admin = policy::admin(who)?;
        self.move_members_as(&admin, Some(who), from, to).await
    }

    /// Operator task (`edu groups move-members`): the same, with the database's authority.
    pub async fn operator_move_group_members(&self, from: GroupId, to: GroupId) -> Result<u64> {
        self.move_members_as(&policy::Operator.admin(), None, from, to).await
    }

    async fn move_members_as(
        &self,
        admin: &policy::Admin,
        who: Option<&Principal>,
        from: GroupId,
        to: GroupId,
    ) -> Result<u64> {
        if from == to {
            return Err(Error::Validation(
                "a group's members cannot move into the same group".into(),
            ));
        }
        for id in [from, to] {
            self.store().group(id).await?.ok_or_else(|| Error::not_found("group"))?;
        }
        let entry = self.audit_entry(who, "group.move_members", format!("group:{from}"), None, None);
        self.store()
            .move_members(admin, from, to, &entry)
            .await
            .map_err(|e| match e {
                StoreError::Conflict { .. } => Error::NotFound("a group was just deleted".into()),
                other => other.into(),
            })
    }

    /// Operator task (`edu groups rename`): renames a group, with the database's authority.
    pub async fn operator_rename_group(&self, id: GroupId, name: &str) -> Result<Group> {
        let patch = GroupPatch {
            name: Some(name.to_owned()),
            description: None,
        };
        self.update_group_as(&policy::Operator.admin(), None, id, patch).await
    }

    /// Operator task (`edu groups list`): every group with its member count.
    pub async fn operator_groups(&self) -> Result<Vec<Group>> {
        Ok(self.store().list_groups(Page::default()).await?.0)
    }

    /// Operator task (`edu modules list`, `edu subjects list`): every module with its subjects.
    pub async fn operator_modules(&self) -> Result<Vec<ModuleTree>> {
        Ok(self.store().module_trees(ModuleScope::All, None).await?)
    }

    /// Group names are unique regardless of case: `ПО-23-1` and `по-23-1` name one group.
    async fn refuse_taken_group_name(&self, name: &str, except: Option<GroupId>) -> Result<()> {
        let key = title_key(name);
        let (groups, _) = self.store().list_groups(Page::default()).await?;
        match groups
            .iter()
            .find(|g| Some(g.id) != except && title_key(&g.name) == key)
        {
            Some(_) => Err(Error::Conflict(format!("a group named {name:?} already exists"))),
            None => Ok(()),
        }
    }

    /// One group (admin only); `NotFound` when there is none.
    pub async fn group(&self, who: &Principal, id: GroupId) -> Result<Group> {
        policy::admin(who)?;
        self.store().group(id).await?.ok_or_else(|| Error::not_found("group"))
    }

    /// A page of groups (every group when no limit is given) and how many there are in all.
    pub async fn list_groups(&self, who: &Principal, page: Page) -> Result<(Vec<Group>, i64)> {
        policy::admin(who)?;
        Ok(self.store().list_groups(page).await?)
    }

    /// Deletes the group; its members keep their accounts.
    pub async fn delete_group(&self, who: &Principal, id: GroupId) -> Result<()> {
        let admin = policy::admin(who)?;
        let entry = self.audit_entry(Some(who), "group.delete", format!("group:{id}"), None, None);
        if !self.store().delete_group(&admin, id, &entry).await? {
            return Err(Error::not_found("group"));
        }
        Ok(())
    }

    /// Deletes the group and its members who are not administrators; returns how many users went.
    pub async fn delete_group_with_users(&self, who: &Principal, id: GroupId) -> Result<u64> {
        let admin = policy::admin(who)?;
        let files = self.store().files_of(crate::domain::FilesOf::GroupMembers(id)).await?;
        let deleted = self
            .store()
            .delete_group_with_users(
                &admin,
                id,
                &self.audit_entry(Some(who), "group.delete_with_users", format!("group:{id}"), None, None),
            )
            .await?
            .ok_or_else(|| Error::not_found("group"))?;
        self.purge_files(&files).await;
        Ok(deleted)
    }

    /// Enrols students in a group (administrators only): the name an embedder looks for, the
    /// same operation as [`Platform::add_group_members`]. Returns how many were not members yet.
    ///
    /// ```no_run
    /// # async fn term(p: &edu_core::Platform<edu_core::SqliteStore>, admin: &edu_core::Principal,
    /// #     group: edu_core::domain::GroupId, students: &[edu_core::UserId]) -> edu_core::Result<()> {
    /// let added = p.enroll(admin, group, students).await?;
    /// println!("{added} new member(s)");
    /// # Ok(()) }
    /// ```
    pub async fn enroll(&self, who: &Principal, group: GroupId, students: &[UserId]) -> Result<u64> {
        self.add_group_members(who, group, students).await
    }

    /// Adds users to the group; all must exist. Returns how many were not members yet.
    pub async fn add_group_members(&self, who: &Principal, id: GroupId, users: &[UserId]) -> Result<u64> {
        let admin = policy::admin(who)?;
        if users.len() > 5000 {
            return Err(Error::Validation("at most 5000 users at once".into()));
        }
        self.store().group(id).await?.ok_or_else(|| Error::not_found("group"))?;
        let mut missing = Vec::new();
        for user in users {
            if self.store().user_by_id(*user).await?.is_none() {
                missing.push(user.0);
            }
        }
        if !missing.is_empty() {
            return Err(Error::NotFound(format!("users not found: {missing:?}")));
        }
        // Memberships already present are skipped, so a conflict here is a foreign key: the group
        // or a user was deleted since the checks above.
        self.store().add_members(&admin, id, users).await.map_err(|e| match e {
            StoreError::Conflict { .. } => Error::NotFound("the group or a user was just deleted".into()),
            other => other.into(),
        })
    }

    /// The members of a group as profiles (admin only); `NotFound` when the group does not exist.
    pub async fn group_members(&self, who: &Principal, id: GroupId) -> Result<Vec<UserProfile>> {
        policy::admin(who)?;
        self.store().group(id).await?.ok_or_else(|| Error::not_found("group"))?;
        Ok(self.store().members(id).await?.iter().map(User::profile).collect())
    }

    /// Takes a user out of a group (admin only); `NotFound` when they were not in it.
    pub async fn remove_group_member(&self, who: &Principal, id: GroupId, user: UserId) -> Result<()> {
        let admin = policy::admin(who)?;
        if !self.store().remove_member(&admin, id, user).await? {
            return Err(Error::NotFound("no such member in this group".into()));
        }
        Ok(())
    }

    // ---- modules and subjects ----

    /// Creates a module (admin only) after checking its title (200 characters), course (50) and description.
    pub async fn create_module(&self, who: &Principal, module: NewModule) -> Result<Module> {
        let admin = policy::admin(who)?;
        let module = NewModule {
            title: text(&module.title, "title", 200)?,
            course: optional_text(module.course.as_deref(), "course", 50)?,
            description: description_text(module.description.as_deref())?,
        };
        let entry = self.audit_entry(Some(who), "module.create", "module:{id}".into(), None, None);
        Ok(self.store().insert_module(&admin, &module, self.now(), &entry).await?)
    }

    /// The modules `who` may see, with subjects and lessons, each lesson with `who`'s result.
    pub async fn modules(&self, who: &Principal) -> Result<Vec<ModuleTree>> {
        Ok(self
            .store()
            .module_trees_for(self.module_scope(who), None, Some(who.id))
            .await?)
    }

    /// One module, if `who` may see it (404 otherwise).
    pub async fn module(&self, who: &Principal, id: ModuleId) -> Result<ModuleTree> {
        self.visible_module(who, id).await
    }

    /// One module with its teachers and groups, if `who` may see it (404 otherwise).
    pub async fn module_details(&self, who: &Principal, id: ModuleId) -> Result<ModuleDetails> {
        let module = self.visible_module(who, id).await?;
        let teachers = self.store().module_teachers(id).await?;
        // Which other groups share a module is the staff's business, not a student's.
        let groups = if policy::sees_module_groups(who) {
            self.store().module_groups(id).await?
        } else {
            Vec::new()
        };
        Ok(ModuleDetails {
            module,
            teachers,
            groups,
        })
    }

    /// One subject with its teacher and lessons, if `who` may see it.
    pub async fn subject_tree(&self, who: &Principal, id: SubjectId) -> Result<SubjectTree> {
        let subject = self.policy().visible_subject(who, id).await?.1;
        self.visible_module(who, subject.module_id)
            .await?
            .subjects
            .into_iter()
            .find(|s| s.subject.id == id)
            .ok_or_else(|| Error::not_found("subject"))
    }

    /// Changes a module's title, course or description (admin only); fields absent from the patch stay. `NotFound` when there is none.
    pub async fn update_module(&self, who: &Principal, id: ModuleId, patch: ModulePatch) -> Result<Module> {
        let admin = policy::admin(who)?;
        let mut module = self
            .store()
            .module(id)
            .await?
            .ok_or_else(|| Error::not_found("module"))?;
        let before = serde_json::to_value(&module).ok();
        if let Some(title) = &patch.title {
            module.title = text(title, "title", 200)?;
        }
        if let Some(course) = patch.course {
            module.course = optional_text(course.as_deref(), "course", 50)?;
        }
        if let Some(description) = patch.description {
            module.description = description_text(description.as_deref())?;
        }
        // The store adds the updated module as the entry's `after`.
        let entry = self.audit_entry(Some(who), "module.update", format!("module:{id}"), before, None);
        Ok(self.store().update_module(&admin, &module, &entry).await?)
    }

    /// Deletes the module with its subjects and lessons.
    pub async fn delete_module(&self, who: &Principal, id: ModuleId) -> Result<()> {
        let admin = policy::admin(who)?;
        let files = self.store().files_of(crate::domain::FilesOf::Module(id)).await?;
        let entry = self.audit_entry(Some(who), "module.delete", format!("module:{id}"), None, None);
        if !self.store().delete_module(&admin, id, &entry).await? {
            return Err(Error::not_found("module"));
        }
        self.purge_files(&files).await;
        Ok(())
    }

    /// Adds a subject; titles are unique in a module regardless of case.
    pub async fn create_subject(&self, who: &Principal, module: ModuleId, title: &str) -> Result<Subject> {
        let admin = policy::admin(who)?;
        let title = text(title, "title", 200)?;
        self.store()
            .module(module)
            .await?
            .ok_or_else(|| Error::not_found("module"))?;
        self.store()
            .insert_subject(&admin, module, &title)
            .await
            .map_err(|e| match e {
                StoreError::Conflict { .. } => Error::Conflict(format!("the module already has a subject {title:?}")),
                other => other.into(),
            })
    }

    /// Renames a subject (admin only); its lessons, teacher and links stay.
    pub async fn update_subject(&self, who: &Principal, id: SubjectId, patch: SubjectPatch) -> Result<Subject> {
        let admin = policy::admin(who)?;
        let subject = self
            .store()
            .subject(id)
            .await?
            .ok_or_else(|| Error::not_found("subject"))?;
        let Some(title) = patch.title else {
            return Ok(subject);
        };
        let title = text(&title, "title", 200)?;
        let before = serde_json::json!({"title": subject.title});
        let entry = self.audit_entry(Some(who), "subject.update", format!("subject:{id}"), Some(before), None);
        self.store()
            .rename_subject(&admin, id, &title, &entry)
            .await
            .map_err(|e| match e {
                StoreError::Conflict { .. } => Error::Conflict(format!("the module already has a subject {title:?}")),
                other => other.into(),
            })?
            .ok_or_else(|| Error::not_found("subject"))
    }

    /// Deletes a subject with its lessons and their files (admin only); `NotFound` when there is none.
    pub async fn delete_subject(&self, who: &Principal, id: SubjectId) -> Result<()> {
        let admin = policy::admin(who)?;
        let files = self.store().files_of(crate::domain::FilesOf::Subject(id)).await?;
        let entry = self.audit_entry(Some(who), "subject.delete", format!("subject:{id}"), None, None);
        if !self.store().delete_subject(&admin, id, &entry).await? {
            return Err(Error::not_found("subject"));
        }
        self.purge_files(&files).await;
        Ok(())
    }

    // ---- access links (admin) ----

    /// Gives a group access to a module; linking twice is fine. Returns whether the link is new.
    pub async fn link_group_to_module(&self, who: &Principal, group: GroupId, module: ModuleId) -> Result<bool> {
        let admin = policy::admin(who)?;
        self.store()
            .group(group)
            .await?
            .ok_or_else(|| Error::not_found("group"))?;
        self.store()
            .module(module)
            .await?
            .ok_or_else(|| Error::not_found("module"))?;
        // An existing link is not an error, so a conflict is a foreign key: deleted since the checks.
        self.store()
            .link_group_module(&admin, module, group)
            .await
            .map_err(|e| match e {
                StoreError::Conflict { .. } => Error::NotFound("the group or the module was just deleted".into()),
                other => other.into(),
            })
    }

    /// Links a group to the module of a subject.
    pub async fn link_group_to_subject(&self, who: &Principal, subject: SubjectId, group: GroupId) -> Result<bool> {
        policy::admin(who)?;
        let subject = self
            .store()
            .subject(subject)
            .await?
            .ok_or_else(|| Error::not_found("subject"))?;
        self.link_group_to_module(who, group, subject.module_id).await
    }

    /// Removes a group's access to the module of a subject.
    pub async fn unlink_group_from_subject(&self, who: &Principal, subject: SubjectId, group: GroupId) -> Result<()> {
        let admin = policy::admin(who)?;
        let subject = self
            .store()
            .subject(subject)
            .await?
            .ok_or_else(|| Error::not_found("subject"))?;
        if !self
            .store()
            .unlink_group_module(&admin, subject.module_id, group)
            .await?
        {
            return Err(Error::NotFound(
                "the group is not linked to this subject's module".into(),
            ));
        }
        Ok(())
    }

    /// Makes a teacher the teacher of a subject of a module. 400 if the user is not a teacher.
    pub async fn assign_teacher(
        &self,
        who: &Principal,
        teacher_iin: &str,
        module: ModuleId,
        subject: SubjectId,
    ) -> Result<Subject> {
        let admin = policy::admin(who)?;
        let iin = Iin::parse(teacher_iin).map_err(|e| Error::Validation(e.to_string()))?;
        let teacher = self
            .store()
            .user_by_iin(&iin)
            .await?
            .ok_or_else(|| Error::not_found("teacher"))?;
        if !policy::may_teach(&teacher) {
            return Err(Error::BadRequest("the user is not a teacher".into()));
        }
        let found = self.store().subject(subject).await?.filter(|s| s.module_id == module);
        let subject = found.ok_or_else(|| Error::NotFound("subject not found in this module".into()))?;
        let entry = self.audit_entry(
            Some(who),
            "subject.assign_teacher",
            format!("subject:{}", subject.id),
            subject.teacher_id.map(|t| serde_json::json!({"teacher_id": t})),
            Some(serde_json::json!({"teacher_id": teacher.id})),
        );
        // The subject may have been deleted since it was read: then there is nothing to assign.
        if !self
            .store()
            .set_subject_teacher(&admin, subject.id, Some(teacher.id), &entry)
            .await?
        {
            return Err(Error::not_found("subject"));
        }
        self.store()
            .subject(subject.id)
            .await?
            .ok_or_else(|| Error::not_found("subject"))
    }

    /// The groups given access to a module (admin only); `NotFound` when the module does not exist.
    pub async fn module_groups(&self, who: &Principal, module: ModuleId) -> Result<Vec<Group>> {
        policy::admin(who)?;
        self.store()
            .module(module)
            .await?
            .ok_or_else(|| Error::not_found("module"))?;
        Ok(self.store().module_groups(module).await?)
    }

    /// Every module with its groups, subjects and teachers.
    pub async fn access_overview(&self, who: &Principal) -> Result<AccessOverview> {
        policy::admin(who)?;
        let trees = self.store().module_trees(ModuleScope::All, None).await?;
        let mut links = self.store().module_links().await?;
        let modules = trees
            .into_iter()
            .map(|tree| {
                let id = tree.module.id;
                let groups = links.iter().filter(|(m, _)| *m == id).map(|(_, g)| g.clone()).collect();
                links.retain(|(m, _)| *m != id);
                ModuleAccess {
                    module_id: id,
                    module_title: tree.module.title.clone(),
                    module: tree.module,
                    groups,
                    subjects: tree
                        .subjects
                        .into_iter()
                        .map(|s| SubjectAccess {
                            subject_id: s.subject.id,
                            subject: s.subject,
                            teacher: s.teacher,
                        })
                        .collect(),
                }
            })
            .collect();
        Ok(AccessOverview { modules })
    }

    // ---- teachers' views ----

    /// Modules of a teacher (all of them for an admin).
    pub async fn teacher_modules(&self, who: &Principal) -> Result<Vec<ModuleTree>> {
        policy::staff(who)?;
        self.modules(who).await
    }

    /// One module for a teacher or administrator, if they may see it (`NotFound` otherwise).
    pub async fn teacher_module(&self, who: &Principal, id: ModuleId) -> Result<ModuleTree> {
        policy::staff(who)?;
        self.visible_module(who, id).await
    }

    /// Subjects a teacher teaches (all subjects for an admin), with their lessons.
    pub async fn teacher_subjects(&self, who: &Principal) -> Result<Vec<SubjectTree>> {
        policy::staff(who)?;
        let trees = self.store().module_trees(self.module_scope(who), None).await?;
        let mut subjects: Vec<SubjectTree> = trees
            .into_iter()
            .flat_map(|m| m.subjects)
            .filter(|s| policy::teaches(who, &s.subject))
            .collect();
        subjects.sort_by_key(|s| s.subject.id);
        Ok(subjects)
    }

    // ---- lessons as readers see them ----

    /// The lessons of a subject `who` may see, each with `who`'s result; a hidden subject answers `NotFound`.
    pub async fn subject_lessons(&self, who: &Principal, subject: SubjectId) -> Result<Vec<Lesson>> {
        let (_, subject) = self.policy().visible_subject(who, subject).await?;
        Ok(self.store().subject_lessons(subject.id, Some(who.id)).await?)
    }

    /// A lesson `who` may see, with its subject and `who`'s result on its test.
    pub async fn lesson(&self, who: &Principal, id: LessonId) -> Result<LessonView> {
        let lesson = self
            .store()
            .lesson_for(id, Some(who.id))
            .await?
            .ok_or_else(|| Error::not_found("lesson"))?;
        let (_, subject) = self.policy().visible_lesson(who, &lesson).await?;
        let my_result = lesson.result.as_ref().map(|r| r.score);
        Ok(LessonView {
            module_id: subject.module_id,
            lesson,
            subject,
            my_result,
        })
    }
}
