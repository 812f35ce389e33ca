//! `/admin/modules/*`: modules and their subjects.

use edu_core::domain::{Module, ModuleId, ModulePatch, ModuleTree, NewModule, Subject, SubjectId};
use edu_core::{Platform, Store};
use serde::Deserialize;
use warp::Filter;
use warp::filters::BoxedFilter;
use warp::http::StatusCode;
use warp::reply::Response;

use super::{Detail, detail, ok, with_status};
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
    create
        .or(list)
        .unify()
        .or(with_teachers)
        .unify()
        .or(read)
        .unify()
        .or(update)
        .unify()
        .or(delete)
        .unify()
        .or(add_subject)
        .unify()
        .or(delete_subject)
        .unify()
        .boxed()
}

/// Creates a module; the response carries its id.
#[utoipa::path(post, operation_id = "create_module", path = "/admin/modules/", tag = "admin: modules", security(("bearer" = [])),
    extensions(("x-guard" = json!("admin"))), request_body = NewModule,
    responses((status = 201, body = Module), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub(crate) async fn create<S: Store>(p: Platform<S>, auth: Option<String>, body: Body) -> Response {
    authed(p, auth, async |p, who| {
        who.require_admin()?;
        let req: NewModule = json(body).await?;
        Ok(with_status(StatusCode::CREATED, &p.create_module(&who, req).await?))
    })
    .await
}

/// Modules with subjects and lessons: all for an admin, otherwise those the caller may see.
#[utoipa::path(get, operation_id = "list_modules", path = "/admin/modules/", tag = "admin: modules", security(("bearer" = [])),
    extensions(("x-guard" = json!("auth(own)"))),
    responses((status = 200, body = Vec<ModuleTree>), (status = 401, body = ErrorBody)))]
pub(crate) async fn list<S: Store>(p: Platform<S>, auth: Option<String>) -> Response {
    authed(p, auth, async |p, who| Ok(ok(&p.modules(&who).await?))).await
}

/// Modules → subjects → teacher.
#[utoipa::path(get, path = "/admin/modules/with-teachers", tag = "admin: modules", security(("bearer" = [])),
    extensions(("x-guard" = json!("admin"))),
    responses((status = 200, body = Vec<ModuleTree>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn with_teachers<S: Store>(p: Platform<S>, auth: Option<String>) -> Response {
    authed(p, auth, async |p, who| {
        who.require_admin()?;
        Ok(ok(&p.modules(&who).await?))
    })
    .await
}

/// One module, if the caller may see it (404 otherwise).
#[utoipa::path(get, operation_id = "read_module", path = "/admin/modules/{id}", tag = "admin: modules", security(("bearer" = [])),
    extensions(("x-guard" = json!("auth(own)"))), params(("id" = i64, Path)),
    responses((status = 200, body = ModuleTree), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn read<S: Store>(id: i64, p: Platform<S>, auth: Option<String>) -> Response {
    authed(p, auth, async |p, who| Ok(ok(&p.module(&who, ModuleId(id)).await?))).await
}

/// Partial update: absent fields are kept, `null` clears course or description.
#[utoipa::path(put, operation_id = "update_module", path = "/admin/modules/{id}", tag = "admin: modules", security(("bearer" = [])),
    extensions(("x-guard" = json!("admin"))), params(("id" = i64, Path)), request_body = ModulePatch,
    responses((status = 200, body = Module), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn update<S: Store>(id: i64, p: Platform<S>, auth: Option<String>, body: Body) -> Response {
    authed(p, auth, async |p, who| {
        who.require_admin()?;
        let patch: ModulePatch = json(body).await?;
        Ok(ok(&p.update_module(&who, ModuleId(id), patch).await?))
    })
    .await
}

/// Deletes a module with its subjects, lessons and access links.
#[utoipa::path(delete, operation_id = "delete_module", path = "/admin/modules/{id}", tag = "admin: modules", security(("bearer" = [])),
    extensions(("x-guard" = json!("admin"))), params(("id" = i64, Path)),
    responses((status = 200, body = Detail), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub(crate) async fn delete<S: Store>(id: i64, p: Platform<S>, auth: Option<String>) -> Response {
    authed(p, auth, async |p, who| {
        p.delete_module(&who, ModuleId(id)).await?;
        Ok(detail("module deleted"))
    })
    .await
}

/// Adds a subject; 404 for an unknown module, 409 for a title the module has (any case).
#[utoipa::path(post, path = "/admin/modules/{id}/subjects", tag = "admin: modules", security(("bearer" = [])),
    extensions(("x-guard" = json!("admin"))), params(("id" = i64, Path)), request_body = CreateSubject,
    responses((status = 201, body = Subject), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn add_subject<S: Store>(id: i64, p: Platform<S>, auth: Option<String>, body: Body) -> Response {
    authed(p, auth, async |p, who| {
        who.require_admin()?;
        let req: CreateSubject = json(body).await?;
        Ok(with_status(
            StatusCode::CREATED,
            &p.create_subject(&who, ModuleId(id), &req.title).await?,
        ))
    })
    .await
}

/// Deletes a subject with its lessons.
#[utoipa::path(delete, path = "/admin/modules/subjects/{id}", tag = "admin: modules", security(("bearer" = [])),
    extensions(("x-guard" = json!("admin"))), params(("id" = i64, Path)),
    responses((status = 200, body = Detail), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub(crate) async fn delete_subject<S: Store>(id: i64, p: Platform<S>, auth: Option<String>) -> Response {
    authed(p, auth, async |p, who| {
        p.delete_subject(&who, SubjectId(id)).await?;
        Ok(detail("subject deleted"))
    })
    .await
}
