//! `/access/*`: who sees what, and the admin links that decide it.

use edu_core::domain::{Group, GroupId, Lesson, LessonId, ModuleId, ModuleTree, SubjectId, SubjectTree};
use edu_core::policy::{self, Guard};
use edu_core::{AccessOverview, LessonView, Platform, Store};
use serde::{Deserialize, Serialize};
use warp::Filter;
use warp::filters::BoxedFilter;
use warp::reply::Response;

use super::{Detail, detail, ok, ok_with_detail};
use crate::conditional::tagged;
use crate::error::ErrorBody;
use crate::extract::{Body, authed, bearer, body, json, with_platform};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct GroupToModule {
    pub group_id: i64,
    pub module_id: i64,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct TeacherToSubject {
    pub teacher_iin: String,
    pub module_id: i64,
    pub subject_id: i64,
}

/// The module a group was linked to, as the old backend answered (`id`, `title`, `course`,
/// `description`, `created_at`, `subjects`), and whether the link is new.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct GroupLinked {
    #[serde(flatten)]
    pub module: ModuleTree,
    pub detail: String,
    /// False when the link already existed.
    pub created: bool,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Linked {
    pub detail: String,
    /// False when the link already existed.
    pub created: bool,
}

pub(crate) fn routes<S: Store>(p: Platform<S>) -> BoxedFilter<(Response,)> {
    let w = || with_platform(p.clone()).and(bearer());
    let get = warp::get;
    let overview = warp::path!("access" / "access-overview")
        .and(get())
        .and(w())
        .then(overview::<S>);
    let group_to_module = warp::path!("access" / "admin" / "group-to-module")
        .and(warp::post())
        .and(w())
        .and(body())
        .then(group_to_module::<S>);
    let teacher_to_subject = warp::path!("access" / "admin" / "teacher-to-subject")
        .and(warp::post())
        .and(w())
        .and(body())
        .then(teacher_to_subject::<S>);
    let module_groups = warp::path!("access" / "module" / i64 / "groups")
        .and(get())
        .and(w())
        .then(module_groups::<S>);
    let admin_modules = warp::path!("access" / "admin-modules")
        .and(get())
        .and(w())
        .then(admin_modules::<S>);
    let admin_module = warp::path!("access" / "admin-modules" / i64)
        .and(get())
        .and(w())
        .then(admin_module::<S>);
    let my_modules = warp::path!("access" / "my-modules")
        .and(get())
        .and(w())
        .then(my_modules::<S>);
    let my_module = warp::path!("access" / "my-modules" / i64)
        .and(get())
        .and(w())
        .then(my_module::<S>);
    let teacher_modules = warp::path!("access" / "teacher-modules")
        .and(get())
        .and(w())
        .then(teacher_modules::<S>);
    let teacher_module = warp::path!("access" / "teacher-modules" / i64)
        .and(get())
        .and(w())
        .then(teacher_module::<S>);
    let teacher_subjects = warp::path!("access" / "teacher-subjects")
        .and(get())
        .and(w())
        .then(teacher_subjects::<S>);
    let subject_lessons = warp::path!("access" / "subjects" / i64 / "lessons")
        .and(get())
        .and(w())
        .then(subject_lessons::<S>);
    let link = warp::path!("access" / "subjects" / i64 / "groups" / i64)
        .and(warp::post())
        .and(w())
        .then(link_subject_group::<S>);
    let unlink = warp::path!("access" / "subjects" / i64 / "groups" / i64)
        .and(warp::delete())
        .and(w())
        .then(unlink_subject_group::<S>);
    let lesson = warp::path!("access" / "lessons" / i64)
        .and(get())
        .and(w())
        .then(lesson::<S>);
    super::one_of([
        overview.boxed(),
        group_to_module.boxed(),
        teacher_to_subject.boxed(),
        module_groups.boxed(),
        admin_modules.boxed(),
        admin_module.boxed(),
        my_modules.boxed(),
        my_module.boxed(),
        teacher_modules.boxed(),
        teacher_module.boxed(),
        teacher_subjects.boxed(),
        subject_lessons.boxed(),
        link.boxed(),
        unlink.boxed(),
        lesson.boxed(),
    ])
}

/// Every module with its groups, and its subjects with their teachers.
#[utoipa::path(get, path = "/access/access-overview", tag = "access", security(("bearer" = [])),
    extensions(("x-guard" = json!(Guard::Admin.as_str()))),
    responses((status = 200, body = AccessOverview), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn overview<S: Store>(p: Platform<S>, auth: Option<String>) -> Response {
    authed(p, auth, async |p, who| Ok(ok(&p.access_overview(&who).await?))).await
}

/// Gives a group access to a module (linking twice is fine); answers the module.
#[utoipa::path(post, path = "/access/admin/group-to-module", tag = "access", security(("bearer" = [])),
    extensions(("x-guard" = json!(Guard::Admin.as_str()))), request_body = GroupToModule,
    responses((status = 200, body = GroupLinked), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn group_to_module<S: Store>(p: Platform<S>, auth: Option<String>, body: Body) -> Response {
    authed(p, auth, async |p, who| {
        policy::admit(&who, Guard::Admin)?;
        let req: GroupToModule = json(body).await?;
        let created = p
            .link_group_to_module(&who, GroupId(req.group_id), ModuleId(req.module_id))
            .await?;
        let module = p.module(&who, ModuleId(req.module_id)).await?;
        Ok(ok_with_detail(&GroupLinked {
            module,
            detail: "group linked to module".into(),
            created,
        }))
    })
    .await
}

/// Makes a teacher the teacher of a subject; 400 if the user is not a teacher. Answers the subject
/// with its teacher and lessons.
#[utoipa::path(post, path = "/access/admin/teacher-to-subject", tag = "access", security(("bearer" = [])),
    extensions(("x-guard" = json!(Guard::Admin.as_str()))), request_body = TeacherToSubject,
    responses((status = 200, body = SubjectTree), (status = 400, body = ErrorBody, description = "Not a teacher"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub(crate) async fn teacher_to_subject<S: Store>(p: Platform<S>, auth: Option<String>, body: Body) -> Response {
    authed(p, auth, async |p, who| {
        policy::admit(&who, Guard::Admin)?;
        let req: TeacherToSubject = json(body).await?;
        let subject = p
            .assign_teacher(
                &who,
                &req.teacher_iin,
                ModuleId(req.module_id),
                SubjectId(req.subject_id),
            )
            .await?;
        Ok(ok(&p.subject_tree(&who, subject.id).await?))
    })
    .await
}

/// The groups linked to a module.
#[utoipa::path(get, path = "/access/module/{id}/groups", tag = "access", security(("bearer" = [])),
    extensions(("x-guard" = json!(Guard::Admin.as_str()))), params(("id" = i64, Path)),
    responses((status = 200, body = Vec<Group>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub(crate) async fn module_groups<S: Store>(id: i64, p: Platform<S>, auth: Option<String>) -> Response {
    authed(p, auth, async |p, who| {
        Ok(ok(&p.module_groups(&who, ModuleId(id)).await?))
    })
    .await
}

/// All modules (admin).
#[utoipa::path(get, path = "/access/admin-modules", tag = "access", security(("bearer" = [])),
    extensions(("x-guard" = json!(Guard::Admin.as_str()))),
    responses((status = 304, description = "Not modified: `If-None-Match` names the current `ETag` (a hash of the answer)"), (status = 200, body = Vec<ModuleTree>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn admin_modules<S: Store>(p: Platform<S>, auth: Option<String>) -> Response {
    authed(p, auth, async |p, who| {
        policy::admit(&who, Guard::Admin)?;
        Ok(tagged(&p.modules(&who).await?))
    })
    .await
}

/// One module (admin).
#[utoipa::path(get, path = "/access/admin-modules/{id}", tag = "access", security(("bearer" = [])),
    extensions(("x-guard" = json!(Guard::Admin.as_str()))), params(("id" = i64, Path)),
    responses((status = 304, description = "Not modified: `If-None-Match` names the current `ETag` (a hash of the answer)"), (status = 200, body = ModuleTree), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub(crate) async fn admin_module<S: Store>(id: i64, p: Platform<S>, auth: Option<String>) -> Response {
    authed(p, auth, async |p, who| {
        policy::admit(&who, Guard::Admin)?;
        Ok(tagged(&p.module(&who, ModuleId(id)).await?))
    })
    .await
}

/// The caller's modules: all for an admin; a teacher's taught or linked modules; a student's group modules.
#[utoipa::path(get, path = "/access/my-modules", tag = "access", security(("bearer" = [])),
    extensions(("x-guard" = json!(Guard::Auth.as_str()))),
    responses((status = 304, description = "Not modified: `If-None-Match` names the current `ETag` (a hash of the answer)"), (status = 200, body = Vec<ModuleTree>), (status = 401, body = ErrorBody)))]
pub(crate) async fn my_modules<S: Store>(p: Platform<S>, auth: Option<String>) -> Response {
    authed(p, auth, async |p, who| Ok(tagged(&p.modules(&who).await?))).await
}

/// One of the caller's modules (404 if not theirs).
#[utoipa::path(get, path = "/access/my-modules/{id}", tag = "access", security(("bearer" = [])),
    extensions(("x-guard" = json!(Guard::AuthOwn.as_str()))), params(("id" = i64, Path)),
    responses((status = 304, description = "Not modified: `If-None-Match` names the current `ETag` (a hash of the answer)"), (status = 200, body = ModuleTree), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn my_module<S: Store>(id: i64, p: Platform<S>, auth: Option<String>) -> Response {
    authed(p, auth, async |p, who| Ok(tagged(&p.module(&who, ModuleId(id)).await?))).await
}

/// The modules a teacher teaches or is linked to (all for an admin).
#[utoipa::path(get, path = "/access/teacher-modules", tag = "access", security(("bearer" = [])),
    extensions(("x-guard" = json!(Guard::Teacher.as_str()))),
    responses((status = 304, description = "Not modified: `If-None-Match` names the current `ETag` (a hash of the answer)"), (status = 200, body = Vec<ModuleTree>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn teacher_modules<S: Store>(p: Platform<S>, auth: Option<String>) -> Response {
    authed(p, auth, async |p, who| Ok(tagged(&p.teacher_modules(&who).await?))).await
}

/// One of a teacher's modules.
#[utoipa::path(get, path = "/access/teacher-modules/{id}", tag = "access", security(("bearer" = [])),
    extensions(("x-guard" = json!(Guard::TeacherOwn.as_str()))), params(("id" = i64, Path)),
    responses((status = 304, description = "Not modified: `If-None-Match` names the current `ETag` (a hash of the answer)"), (status = 200, body = ModuleTree), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub(crate) async fn teacher_module<S: Store>(id: i64, p: Platform<S>, auth: Option<String>) -> Response {
    authed(p, auth, async |p, who| {
        Ok(tagged(&p.teacher_module(&who, ModuleId(id)).await?))
    })
    .await
}

/// The subjects a teacher teaches (all for an admin), with their lessons.
#[utoipa::path(get, path = "/access/teacher-subjects", tag = "access", security(("bearer" = [])),
    extensions(("x-guard" = json!(Guard::Teacher.as_str()))),
    responses((status = 304, description = "Not modified: `If-None-Match` names the current `ETag` (a hash of the answer)"), (status = 200, body = Vec<SubjectTree>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn teacher_subjects<S: Store>(p: Platform<S>, auth: Option<String>) -> Response {
    authed(p, auth, async |p, who| Ok(tagged(&p.teacher_subjects(&who).await?))).await
}

/// The lessons of a subject the caller may see.
#[utoipa::path(get, path = "/access/subjects/{id}/lessons", tag = "access", security(("bearer" = [])),
    extensions(("x-guard" = json!(Guard::AuthOwn.as_str()))), params(("id" = i64, Path)),
    responses((status = 200, body = Vec<Lesson>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn subject_lessons<S: Store>(id: i64, p: Platform<S>, auth: Option<String>) -> Response {
    authed(p, auth, async |p, who| {
        Ok(ok(&p.subject_lessons(&who, SubjectId(id)).await?))
    })
    .await
}

/// Gives a group access to the module of a subject.
#[utoipa::path(post, path = "/access/subjects/{sid}/groups/{gid}", tag = "access", security(("bearer" = [])),
    extensions(("x-guard" = json!(Guard::Admin.as_str()))), params(("sid" = i64, Path), ("gid" = i64, Path)),
    responses((status = 200, body = Linked), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub(crate) async fn link_subject_group<S: Store>(sid: i64, gid: i64, p: Platform<S>, auth: Option<String>) -> Response {
    authed(p, auth, async |p, who| {
        let created = p.link_group_to_subject(&who, SubjectId(sid), GroupId(gid)).await?;
        Ok(ok_with_detail(&Linked {
            detail: "group linked to the subject's module".into(),
            created,
        }))
    })
    .await
}

/// Removes a group's access to the module of a subject.
#[utoipa::path(delete, path = "/access/subjects/{sid}/groups/{gid}", tag = "access", security(("bearer" = [])),
    extensions(("x-guard" = json!(Guard::Admin.as_str()))), params(("sid" = i64, Path), ("gid" = i64, Path)),
    responses((status = 200, body = Detail), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub(crate) async fn unlink_subject_group<S: Store>(
    sid: i64,
    gid: i64,
    p: Platform<S>,
    auth: Option<String>,
) -> Response {
    authed(p, auth, async |p, who| {
        p.unlink_group_from_subject(&who, SubjectId(sid), GroupId(gid)).await?;
        Ok(detail("group unlinked from the subject's module"))
    })
    .await
}

/// A lesson with its subject and the caller's result.
#[utoipa::path(get, path = "/access/lessons/{id}", tag = "access", security(("bearer" = [])),
    extensions(("x-guard" = json!(Guard::AuthOwn.as_str()))), params(("id" = i64, Path)),
    responses((status = 200, body = LessonView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn lesson<S: Store>(id: i64, p: Platform<S>, auth: Option<String>) -> Response {
    authed(p, auth, async |p, who| Ok(ok(&p.lesson(&who, LessonId(id)).await?))).await
}
