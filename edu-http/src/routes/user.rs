//! `/user/*`: a user's own account.

use edu_core::policy::Guard;
use edu_core::{Platform, Store, TokenPair, UserProfile, UserRef};
use serde::{Deserialize, Serialize};
use warp::Filter;
use warp::filters::BoxedFilter;
use warp::reply::Response;

use super::ok;
use crate::error::{ApiError, ErrorBody, respond};
use crate::extract::{
    Body, authenticate, authenticate_own_account, bearer, body, json, optional_header, with_platform,
};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct UpdatePhone {
    /// 10–15 digits, optionally with `+` and separators; empty or null clears it.
    pub phone: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UserEnvelope {
    pub user: UserProfile,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ChangePassword {
    #[schema(format = Password)]
    pub old_password: String,
    /// At least 8 characters, at most 72 bytes.
    #[schema(format = Password)]
    pub new_password: String,
}

/// The old answer's `message`, and a new session. Every other session is revoked; the access
/// token used for the change stays valid until it expires.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PasswordChanged {
    pub message: String,
    pub detail: String,
    #[serde(flatten)]
    pub tokens: TokenPair,
}

pub(crate) fn routes<S: Store>(p: Platform<S>) -> BoxedFilter<(Response,)> {
    let by_iin = warp::path!("user" / "by-iin" / String)
        .and(warp::get())
        .and(with_platform(p.clone()))
        .and(bearer())
        .then(by_iin::<S>);
    let phone = warp::path!("user" / "update-phone")
        .and(warp::post())
        .and(with_platform(p.clone()))
        .and(bearer())
        .and(body())
        .then(update_phone::<S>);
    let password = warp::path!("user" / "change-password")
        .and(warp::patch())
        .and(with_platform(p.clone()))
        .and(bearer())
        .and(body())
        .then(change_password::<S>);
    let photo = warp::path!("user" / "upload-photo")
        .and(warp::post())
        .and(with_platform(p))
        .and(bearer())
        .and(optional_header("content-type"))
        .and(optional_header("content-length"))
        .and(body())
        .then(upload_photo::<S>);
    super::one_of([by_iin.boxed(), phone.boxed(), password.boxed(), photo.boxed()])
}

/// Multipart form of an avatar.
#[derive(Debug, utoipa::ToSchema)]
#[allow(dead_code)]
pub struct PhotoForm {
    /// jpg, jpeg, png, webp or gif (never SVG), at most 5 MiB; the content must match the name.
    #[schema(value_type = String, format = Binary)]
    pub photo: Vec<u8>,
}

/// Replaces the caller's avatar; served publicly at the returned `user.photo` path.
#[utoipa::path(post, path = "/user/upload-photo", tag = "user", security(("bearer" = [])),
    extensions(("x-guard" = json!(Guard::Account.as_str()))), request_body(content = PhotoForm, content_type = "multipart/form-data"),
    responses((status = 200, body = UserEnvelope), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn upload_photo<S: Store>(
    p: Platform<S>,
    auth: Option<String>,
    content_type: Option<String>,
    content_length: Option<String>,
    body: Body,
) -> Response {
    use crate::upload::{Overrun, check_declared, form_error, multipart};
    use edu_core::PHOTO_LIMIT;
    crate::extract::authed_own_account(p, auth, async |p, who| {
        check_declared(content_length.as_deref(), PHOTO_LIMIT)?;
        let mut form = multipart(content_type.as_deref(), body, PHOTO_LIMIT)?;
        while let Some(field) = form.next_field().await.map_err(|e| form_error(e, PHOTO_LIMIT))? {
            if matches!(field.name(), Some("photo" | "file")) {
                let name = field.file_name().unwrap_or("photo").to_owned();
                let overrun = Overrun::default();
                return match p.upload_photo(&who, &name, overrun.watch(field, PHOTO_LIMIT)).await {
                    Ok(user) => Ok(ok(&UserEnvelope { user })),
                    Err(e) => Err(overrun.explain(e)),
                };
            }
        }
        Err(ApiError::Core(edu_core::Error::Validation(
            "the form has no `photo` field".into(),
        )))
    })
    .await
}

/// Looks a user up by IIN.
#[utoipa::path(get, path = "/user/by-iin/{iin}", tag = "user", security(("bearer" = [])),
    extensions(("x-guard" = json!(Guard::Auth.as_str()))),
    params(("iin" = String, Path, description = "12 digits")),
    responses((status = 200, body = UserRef), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody, description = "Malformed IIN")))]
pub(crate) async fn by_iin<S: Store>(iin: String, p: Platform<S>, auth: Option<String>) -> Response {
    respond(
        async {
            let who = authenticate(&p, auth.as_deref()).await?;
            Ok::<_, ApiError>(ok(&p.user_ref(&who, &iin).await?))
        }
        .await,
    )
}

/// Sets or clears the caller's phone number.
#[utoipa::path(post, path = "/user/update-phone", tag = "user", security(("bearer" = [])),
    extensions(("x-guard" = json!(Guard::Account.as_str()))),
    request_body = UpdatePhone,
    responses((status = 200, body = UserEnvelope), (status = 401, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "Number in use by another user"),
        (status = 422, body = ErrorBody, description = "Not a phone number")))]
pub(crate) async fn update_phone<S: Store>(p: Platform<S>, auth: Option<String>, body: Body) -> Response {
    respond(
        async {
            let who = authenticate_own_account(&p, auth.as_deref()).await?;
            let req: UpdatePhone = json(body).await?;
            let user = p.update_phone(&who, req.phone.as_deref()).await?;
            Ok::<_, ApiError>(ok(&UserEnvelope { user }))
        }
        .await,
    )
}

/// Changes the caller's password: answers the old `message` and a new session; every other session
/// and every refresh token stop working, the access token used here stays valid until it expires.
#[utoipa::path(patch, path = "/user/change-password", tag = "user", security(("bearer" = [])),
    extensions(("x-guard" = json!(Guard::Account.as_str()))),
    request_body = ChangePassword,
    responses((status = 200, body = PasswordChanged),
        (status = 400, body = ErrorBody, description = "Current password is wrong"),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "Locked by the login throttle: wrong current passwords count as failed logins"),
        (status = 422, body = ErrorBody, description = "New password too short or over 72 bytes")))]
pub(crate) async fn change_password<S: Store>(p: Platform<S>, auth: Option<String>, body: Body) -> Response {
    respond(
        async {
            let who = authenticate_own_account(&p, auth.as_deref()).await?;
            let req: ChangePassword = json(body).await?;
            let session = p.change_password(&who, &req.old_password, &req.new_password).await?;
            Ok::<_, ApiError>(crate::i18n::localized(
                warp::http::StatusCode::OK,
                &PasswordChanged {
                    message: "password changed".into(),
                    detail: "password changed".into(),
                    tokens: session.tokens,
                },
                &["message", "detail"],
            ))
        }
        .await,
    )
}
