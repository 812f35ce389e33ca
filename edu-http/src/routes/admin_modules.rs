//! `/admin/modules/*`: modules and their subjects.

use edu_core::domain::{
    Module, ModuleId, ModulePatch, ModuleTree, NewModule, Subject, SubjectId, SubjectPatch, SubjectTree,
};
use edu_core::policy::{self, Guard};
use edu_core::{ModuleDetails, Platform, Store};
use serde::Deserialize;
use warp::Filter;
use warp::filters::BoxedFilter;
use warp::reply::Response;

use super::{Detail, detail, ok};
use crate::error::ErrorBody;
use crate::extract::{Body, authed, bearer, body, json, with_platform};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct CreateSubject {
    pub title: String,
}

pub(crate) fn routes<S: Store>(p: Platform<S>) -> BoxedFilter<(Response,)> {
    let w = || with_platform(p.clone()).and(bearer());
    let create = warp::path!("admin" / "modules")
        .and(warp::post())
        .and(w())
        .and(body())
        .then(create::<S>);
    let list = warp::path!("admin" / "modules")
        .and(warp::get())
        .and(w())
        .then(list::<S>);
    let with_teachers = warp::path!("admin" / "modules" / "with-teachers")
        .and(warp::get())
        .and(w())
        .then(with_teachers::<S>);
    let read = warp::path!("admin" / "modules" / i64)
        .and(warp::get())
        .and(w())
        .then(read::<S>);
    let update = warp::path!("admin" / "modules" / i64)
        .and(warp::put())
        .and(w())
        .and(body())
        .then(update::<S>);
    let patch = warp::path!("admin" / "modules" / i64)
        .and(warp::patch())
        .and(w())
        .and(body())
        .then(patch::<S>);
    let update_subject = warp::path!("admin" / "modules" / "subjects" / i64)
        .and(warp::patch())
        .and(w())
        .and(body())
        .then(update_subject::<S>);
    let delete = warp::path!("admin" / "modules" / i64)
        .and(warp::delete())
        .and(w())
        .then(delete::<S>);
    let add_subject = warp::path!("admin" / "modules" / i64 / "subjects")
        .and(warp::post())
        .and(w())
        .and(body())
        .then(add_subject::<S>);
    let delete_subject = warp::path!("admin" / "modules" / "subjects" / i64)
        .and(warp::delete())
        .and(w())
        .then(delete_subject::<S>);
    super::one_of([
        create.boxed(),
        list.boxed(),
        with_teachers.boxed(),
        read.boxed(),
        update.boxed(),
        patch.boxed(),
        update_subject.boxed(),
        delete.boxed(),
        add_subject.boxed(),
        delete_subject.boxed(),
    ])
}

/// Creates a module; the response carries its id. Answers 200, as the old backend did.
#[utoipa::path(post, operation_id = "create_module", path = "/admin/modules/", tag = "admin: modules", security(("bearer" = [])),
    extensions(("x-guard" = json!(Guard::Admin.as_str()))), request_body = NewModule,
    responses((status = 200, body = Module), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub(crate) async fn create<S: Store>(p: Platform<S>, auth: Option<String>, body: Body) -> Response {
    authed(p, auth, async |p, who| {
        policy::admit(&who, Guard::Admin)?;
        let req: NewModule = json(body).await?;
        Ok(ok(&p.create_module(&who, req).await?))
    })
    .await
}

/// Modules with subjects and lessons: all for an admin, otherwise those the caller may see.
#[utoipa::path(get, operation_id = "list_modules", path = "/admin/modules/", tag = "admin: modules", security(("bearer" = [])),
    extensions(("x-guard" = json!(Guard::AuthOwn.as_str()))),
    responses((status = 200, body = Vec<ModuleTree>), (status = 401, body = ErrorBody)))]
pub(crate) async fn list<S: Store>(p: Platform<S>, auth: Option<String>) -> Response {
    authed(p, auth, async |p, who| Ok(ok(&p.modules(&who).await?))).await
}

/// Modules → subjects → teacher. `course` is a number when the stored course is a whole number
/// (the old backend declared it an integer and the admin screens print it), otherwise the text as
/// stored, or `null`.
#[utoipa::path(get, path = "/admin/modules/with-teachers", tag = "admin: modules", security(("bearer" = [])),
    extensions(("x-guard" = json!(Guard::Admin.as_str()))),
    responses((status = 200, body = Vec<ModuleTree>, description = "`course` as a number when it is a whole number"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn with_teachers<S: Store>(p: Platform<S>, auth: Option<String>) -> Response {
    authed(p, auth, async |p, who| {
        policy::admit(&who, Guard::Admin)?;
        let modules = p.modules(&who).await?;
        let mut value = serde_json::to_value(&modules).map_err(edu_core::Error::internal)?;
        if let Some(list) = value.as_array_mut() {
            for module in list {
                if let Some(course) = module.get_mut("course") {
                    numeric_course(course);
                }
            }
        }
        Ok(ok(&value))
    })
    .await
}

/// `"2"` → `2`; anything that is not a whole number stays as it is.
fn numeric_course(course: &mut serde_json::Value) {
    if let Some(n) = course.as_str().and_then(|s| s.trim().parse::<i64>().ok()) {
        *course = serde_json::Value::from(n);
    }
}

/// One module with its subjects, teachers and groups, if the caller may see it (404 otherwise).
#[utoipa::path(get, operation_id = "read_module", path = "/admin/modules/{id}", tag = "admin: modules", security(("bearer" = [])),
    extensions(("x-guard" = json!(Guard::AuthOwn.as_str()))), params(("id" = i64, Path)),
    responses((status = 200, body = ModuleDetails), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn read<S: Store>(id: i64, p: Platform<S>, auth: Option<String>) -> Response {
    authed(p, auth, async |p, who| {
        Ok(ok(&p.module_details(&who, ModuleId(id)).await?))
    })
    .await
}

/// Partial update: absent fields are kept, `null` clears course or description.
#[utoipa::path(put, operation_id = "update_module", path = "/admin/modules/{id}", tag = "admin: modules", security(("bearer" = [])),
    extensions(("x-guard" = json!(Guard::Admin.as_str()))), params(("id" = i64, Path)), request_body = ModulePatch,
    responses((status = 200, body = Module), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn update<S: Store>(id: i64, p: Platform<S>, auth: Option<String>, body: Body) -> Response {
    authed(p, auth, async |p, who| {
        policy::admit(&who, Guard::Admin)?;
        let patch: ModulePatch = json(body).await?;
        Ok(ok(&p.update_module(&who, ModuleId(id), patch).await?))
    })
    .await
}

/// The same partial update as `PUT`, under the method every other partial update uses.
#[utoipa::path(patch, operation_id = "patch_module", path = "/admin/modules/{id}", tag = "admin: modules", security(("bearer" = [])),
    extensions(("x-guard" = json!(Guard::Admin.as_str()))), params(("id" = i64, Path)), request_body = ModulePatch,
    responses((status = 200, body = Module), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn patch<S: Store>(id: i64, p: Platform<S>, auth: Option<String>, body: Body) -> Response {
    update(id, p, auth, body).await
}

/// Renames a subject; its lessons, teacher and group links stay. A title the module already has
/// (in any case) is a conflict.
#[utoipa::path(patch, operation_id = "update_subject", path = "/admin/modules/subjects/{id}", tag = "admin: modules", security(("bearer" = [])),
    extensions(("x-guard" = json!(Guard::Admin.as_str()))), params(("id" = i64, Path)), request_body = SubjectPatch,
    responses((status = 200, body = Subject), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn update_subject<S: Store>(id: i64, p: Platform<S>, auth: Option<String>, body: Body) -> Response {
    authed(p, auth, async |p, who| {
        policy::admit(&who, Guard::Admin)?;
        let patch: SubjectPatch = json(body).await?;
        Ok(ok(&p.update_subject(&who, SubjectId(id), patch).await?))
    })
    .await
}

/// Deletes a module with its subjects, lessons and access links.
#[utoipa::path(delete, operation_id = "delete_module", path = "/admin/modules/{id}", tag = "admin: modules", security(("bearer" = [])),
    extensions(("x-guard" = json!(Guard::Admin.as_str()))), params(("id" = i64, Path)),
    responses((status = 200, body = Detail), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub(crate) async fn delete<S: Store>(id: i64, p: Platform<S>, auth: Option<String>) -> Response {
    authed(p, auth, async |p, who| {
        p.delete_module(&who, ModuleId(id)).await?;
        Ok(detail("module deleted"))
    })
    .await
}

/// Adds a subject; 404 for an unknown module, 409 for a title the module has (any case). Answers
/// 200 with the subject and its (empty) `lessons`, as the old backend did.
#[utoipa::path(post, path = "/admin/modules/{id}/subjects", tag = "admin: modules", security(("bearer" = [])),
    extensions(("x-guard" = json!(Guard::Admin.as_str()))), params(("id" = i64, Path)), request_body = CreateSubject,
    responses((status = 200, body = SubjectTree), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn add_subject<S: Store>(id: i64, p: Platform<S>, auth: Option<String>, body: Body) -> Response {
    authed(p, auth, async |p, who| {
        policy::admit(&who, Guard::Admin)?;
        let req: CreateSubject = json(body).await?;
        let subject = p.create_subject(&who, ModuleId(id), &req.title).await?;
        Ok(ok(&SubjectTree {
            subject,
            teacher: None,
            lessons: Vec::new(),
        }))
    })
    .await
}

/// Deletes a subject with its lessons.
#[utoipa::path(delete, path = "/admin/modules/subjects/{id}", tag = "admin: modules", security(("bearer" = [])),
    extensions(("x-guard" = json!(Guard::Admin.as_str()))), params(("id" = i64, Path)),
    responses((status = 200, body = Detail), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub(crate) async fn delete_subject<S: Store>(id: i64, p: Platform<S>, auth: Option<String>) -> Response {
    authed(p, auth, async |p, who| {
        p.delete_subject(&who, SubjectId(id)).await?;
        Ok(detail("subject deleted"))
    })
    .await
}
