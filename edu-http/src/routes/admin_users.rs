//! `/admin/users/*`: account management by administrators.

use edu_core::policy::{self, Guard};
use edu_core::{CreateUser, Page, Platform, Store, UpdateUser, UserProfile};
use serde::{Deserialize, Serialize};
use warp::Filter;
use warp::filters::BoxedFilter;
use warp::reply::Response;

use super::{Detail, detail, ok, ok_with_detail, with_total};
use crate::error::{ApiError, ErrorBody, respond};
use crate::extract::{Body, authenticate, bearer, body, json, parse_query, query, with_platform};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ResetPassword {
    pub user_iin: String,
    /// At least 8 characters, at most 72 bytes.
    #[schema(format = Password)]
    pub new_password: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PasswordReset {
    pub detail: String,
    pub user: UserProfile,
}

pub(crate) fn routes<S: Store>(p: Platform<S>) -> BoxedFilter<(Response,)> {
    let base = warp::path!("admin" / "users");
    let create = base
        .and(warp::post())
        .and(with_platform(p.clone()))
        .and(bearer())
        .and(body())
        .then(create::<S>);
    let list = base
        .and(warp::get())
        .and(with_platform(p.clone()))
        .and(bearer())
        .and(query())
        .then(list::<S>);
    let reset = warp::path!("admin" / "users" / "reset_password")
        .and(warp::patch())
        .and(with_platform(p.clone()))
        .and(bearer())
        .and(body())
        .then(reset_password::<S>);
    let delete = warp::path!("admin" / "users" / String)
        .and(warp::delete())
        .and(with_platform(p.clone()))
        .and(bearer())
        .then(delete::<S>);
    let update = warp::path!("admin" / "users" / String)
        .and(warp::patch())
        .and(with_platform(p.clone()))
        .and(bearer())
        .and(body())
        .then(update::<S>);
    let suspend = warp::path!("admin" / "users" / String / "suspend")
        .and(warp::post())
        .and(with_platform(p.clone()))
        .and(bearer())
        .then(suspend::<S>);
    let reactivate = warp::path!("admin" / "users" / String / "reactivate")
        .and(warp::post())
        .and(with_platform(p.clone()))
        .and(bearer())
        .then(reactivate::<S>);
    let unlock = warp::path!("admin" / "users" / String / "unlock")
        .and(warp::post())
        .and(with_platform(p))
        .and(bearer())
        .then(unlock::<S>);
    super::one_of([
        create.boxed(),
        list.boxed(),
        reset.boxed(),
        delete.boxed(),
        update.boxed(),
        suspend.boxed(),
        reactivate.boxed(),
        unlock.boxed(),
    ])
}

/// Changes a user's name, phone or role; only the fields given change. The last administrator
/// cannot be demoted.
#[utoipa::path(patch, operation_id = "update_user", path = "/admin/users/{iin}", tag = "admin: users", security(("bearer" = [])),
    extensions(("x-guard" = json!(Guard::Admin.as_str()))),
    params(("iin" = String, Path, description = "12 digits")),
    request_body = UpdateUser,
    responses((status = 200, body = UserProfile), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "Phone in use, or the last administrator would be demoted"),
        (status = 422, body = ErrorBody)))]
pub(crate) async fn update<S: Store>(iin: String, p: Platform<S>, auth: Option<String>, body: Body) -> Response {
    respond(
        async {
            let who = authenticate(&p, auth.as_deref()).await?;
            policy::admit(&who, Guard::Admin)?;
            let req: UpdateUser = json(body).await?;
            Ok::<_, ApiError>(ok(&p.update_user(&who, &iin, req).await?))
        }
        .await,
    )
}

/// Suspends an account: it cannot sign in and its tokens stop working at once; its history stays.
/// Administrators cannot be suspended.
#[utoipa::path(post, operation_id = "suspend_user", path = "/admin/users/{iin}/suspend", tag = "admin: users", security(("bearer" = [])),
    extensions(("x-guard" = json!(Guard::Admin.as_str()))),
    params(("iin" = String, Path, description = "12 digits")),
    responses((status = 200, body = UserProfile), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "Not an admin, or the target is an admin"),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn suspend<S: Store>(iin: String, p: Platform<S>, auth: Option<String>) -> Response {
    crate::extract::authed(p, auth, async |p, who| Ok(ok(&p.suspend_user(&who, &iin).await?))).await
}

/// Lets a suspended account sign in again.
#[utoipa::path(post, operation_id = "reactivate_user", path = "/admin/users/{iin}/reactivate", tag = "admin: users", security(("bearer" = [])),
    extensions(("x-guard" = json!(Guard::Admin.as_str()))),
    params(("iin" = String, Path, description = "12 digits")),
    responses((status = 200, body = UserProfile), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn reactivate<S: Store>(iin: String, p: Platform<S>, auth: Option<String>) -> Response {
    crate::extract::authed(p, auth, async |p, who| Ok(ok(&p.reactivate_user(&who, &iin).await?))).await
}

/// Clears the login throttle's lock and failures on an account (a password reset does too).
#[utoipa::path(post, operation_id = "unlock_user", path = "/admin/users/{iin}/unlock", tag = "admin: users", security(("bearer" = [])),
    extensions(("x-guard" = json!(Guard::Admin.as_str()))),
    params(("iin" = String, Path, description = "12 digits")),
    responses((status = 200, body = UserProfile), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn unlock<S: Store>(iin: String, p: Platform<S>, auth: Option<String>) -> Response {
    crate::extract::authed(p, auth, async |p, who| Ok(ok(&p.unlock_user(&who, &iin).await?))).await
}

/// Creates a user (student unless a role is given). Answers 200, as the old backend did.
#[utoipa::path(post, operation_id = "create_user", path = "/admin/users/", tag = "admin: users", security(("bearer" = [])),
    extensions(("x-guard" = json!(Guard::Admin.as_str()))),
    request_body = CreateUser,
    responses((status = 200, body = UserProfile), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "IIN or phone already in use"),
        (status = 422, body = ErrorBody)))]
pub(crate) async fn create<S: Store>(p: Platform<S>, auth: Option<String>, body: Body) -> Response {
    respond(
        async {
            let who = authenticate(&p, auth.as_deref()).await?;
            policy::admit(&who, Guard::Admin)?;
            let req: CreateUser = json(body).await?;
            let user = p.create_user(&who, req).await?;
            Ok::<_, ApiError>(ok(&user))
        }
        .await,
    )
}

/// Lists users in id order: all of them unless `limit` is given; the total is in `X-Total-Count`.
#[utoipa::path(get, operation_id = "list_users", path = "/admin/users/", tag = "admin: users", security(("bearer" = [])),
    extensions(("x-guard" = json!(Guard::Admin.as_str()))),
    params(Page),
    responses((status = 200, body = Vec<UserProfile>, headers(("X-Total-Count" = i64))),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn list<S: Store>(p: Platform<S>, auth: Option<String>, raw_query: String) -> Response {
    respond(
        async {
            let who = authenticate(&p, auth.as_deref()).await?;
            // The guard before the input: a student learns nothing from a malformed query.
            policy::admit(&who, Guard::Admin)?;
            let page: Page = parse_query(&raw_query)?;
            let (users, total) = p.list_users(&who, page).await?;
            Ok::<_, ApiError>(with_total(ok(&users), total))
        }
        .await,
    )
}

/// Deletes a user; administrators cannot be deleted.
#[utoipa::path(delete, operation_id = "delete_user", path = "/admin/users/{iin}", tag = "admin: users", security(("bearer" = [])),
    extensions(("x-guard" = json!(Guard::Admin.as_str()))),
    params(("iin" = String, Path, description = "12 digits")),
    responses((status = 200, body = Detail), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "Not an admin, or the target is an admin"),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn delete<S: Store>(iin: String, p: Platform<S>, auth: Option<String>) -> Response {
    respond(
        async {
            let who = authenticate(&p, auth.as_deref()).await?;
            p.delete_user(&who, &iin).await?;
            Ok::<_, ApiError>(detail("user deleted"))
        }
        .await,
    )
}

/// Sets a new password; the user must change it at next login, and earlier tokens stop working.
#[utoipa::path(patch, path = "/admin/users/reset_password", tag = "admin: users", security(("bearer" = [])),
    extensions(("x-guard" = json!(Guard::Admin.as_str()))),
    request_body = ResetPassword,
    responses((status = 200, body = PasswordReset), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn reset_password<S: Store>(p: Platform<S>, auth: Option<String>, body: Body) -> Response {
    respond(
        async {
            let who = authenticate(&p, auth.as_deref()).await?;
            policy::admit(&who, Guard::Admin)?;
            let req: ResetPassword = json(body).await?;
            let user = p.reset_password(&who, &req.user_iin, &req.new_password).await?;
            Ok::<_, ApiError>(ok_with_detail(&PasswordReset {
                detail: "password reset".into(),
                user,
            }))
        }
        .await,
    )
}
