//! `/auth/*`: login (JSON and OAuth2 form), token check, refresh, logout.

use edu_core::policy::Guard;
use edu_core::{ClientInfo, Platform, Role, Session, Store, TokenPair, UserProfile};
use serde::{Deserialize, Serialize};
use warp::Filter;
use warp::filters::BoxedFilter;
use warp::reply::Response;

use super::{Detail, detail, ok};
use crate::error::{ApiError, ErrorBody, respond};
use crate::extract::{Body, authenticate_own_account, bearer, body, client, form, json, with_platform};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct LoginRequest {
    /// 12 digits.
    pub iin: String,
    #[schema(format = Password)]
    pub password: String,
}

/// A session: tokens and the user they belong to.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LoginResponse {
    #[serde(flatten)]
    pub tokens: TokenPair,
    pub user: UserProfile,
}

impl From<Session> for LoginResponse {
    fn from(s: Session) -> Self {
        Self {
            tokens: s.tokens,
            user: s.user,
        }
    }
}

/// The OAuth2 password form: `username` is the IIN.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct TokenForm {
    pub username: String,
    #[schema(format = Password)]
    pub password: String,
    #[serde(default)]
    pub grant_type: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AccessToken {
    pub access_token: String,
    pub token_type: &'static str,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CheckedUser {
    pub iin: String,
    pub role: Role,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CheckResponse {
    /// Always "ok".
    pub status: &'static str,
    pub user: CheckedUser,
}

pub(crate) fn routes<S: Store>(p: Platform<S>) -> BoxedFilter<(Response,)> {
    let login = warp::path!("auth" / "login")
        .and(warp::post())
        .and(with_platform(p.clone()))
        .and(client())
        .and(body())
        .then(login::<S>);
    let token = warp::path!("auth" / "token")
        .and(warp::post())
        .and(with_platform(p.clone()))
        .and(client())
        .and(body())
        .then(token::<S>);
    let check = warp::path!("auth" / "check")
        .and(warp::get())
        .and(with_platform(p.clone()))
        .and(bearer())
        .then(check::<S>);
    let refresh = warp::path!("auth" / "refresh")
        .and(warp::post())
        .and(with_platform(p.clone()))
        .and(body())
        .then(refresh::<S>);
    let logout = warp::path!("auth" / "logout")
        .and(warp::post())
        .and(with_platform(p))
        .and(bearer())
        .then(logout::<S>);
    super::one_of([
        login.boxed(),
        token.boxed(),
        check.boxed(),
        refresh.boxed(),
        logout.boxed(),
    ])
}

/// Log in with IIN and password.
///
/// Throttled: 5 failures for one IIN within 15 minutes lock it for 5 minutes (403 with
/// `Retry-After`, even for the right password); too many failures from one address answer 429.
#[utoipa::path(post, path = "/auth/login", tag = "auth", extensions(("x-guard" = json!(Guard::Public.as_str()))),
    request_body = LoginRequest,
    responses(
        (status = 200, body = LoginResponse),
        (status = 400, body = ErrorBody, description = "Malformed JSON"),
        (status = 401, body = ErrorBody, description = "Wrong IIN or password"),
        (status = 403, body = ErrorBody, description = "IIN locked by the throttle; see Retry-After"),
        (status = 422, body = ErrorBody, description = "Malformed IIN, password over 72 bytes"),
        (status = 429, body = ErrorBody, description = "Too many attempts from this address; see Retry-After"),
    ))]
pub(crate) async fn login<S: Store>(p: Platform<S>, client: ClientInfo, body: Body) -> Response {
    respond(
        async {
            let req: LoginRequest = json(body).await?;
            let session = p.login(&req.iin, &req.password, client).await?;
            Ok::<_, ApiError>(ok(&LoginResponse::from(session)))
        }
        .await,
    )
}

/// OAuth2 password flow (`username` = IIN), throttled exactly like `/auth/login`.
#[utoipa::path(post, path = "/auth/token", tag = "auth", extensions(("x-guard" = json!(Guard::Public.as_str()))),
    request_body(content = TokenForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, body = AccessToken),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "IIN locked by the throttle"),
        (status = 422, body = ErrorBody),
        (status = 429, body = ErrorBody),
    ))]
pub(crate) async fn token<S: Store>(p: Platform<S>, client: ClientInfo, body: Body) -> Response {
    respond(
        async {
            let req: TokenForm = form(body).await?;
            if req
                .grant_type
                .as_deref()
                .is_some_and(|g| !g.is_empty() && g != "password")
            {
                return Err(edu_core::Error::Validation("grant_type must be \"password\"".into()).into());
            }
            let session = p.login(&req.username, &req.password, client).await?;
            Ok::<_, ApiError>(ok(&AccessToken {
                access_token: session.tokens.access_token,
                token_type: "bearer",
            }))
        }
        .await,
    )
}

/// Checks the bearer token.
#[utoipa::path(get, path = "/auth/check", tag = "auth", security(("bearer" = [])),
    extensions(("x-guard" = json!(Guard::Account.as_str()))),
    responses((status = 200, body = CheckResponse), (status = 401, body = ErrorBody)))]
pub(crate) async fn check<S: Store>(p: Platform<S>, auth: Option<String>) -> Response {
    respond(
        async {
            let who = authenticate_own_account(&p, auth.as_deref()).await?;
            Ok::<_, ApiError>(ok(&CheckResponse {
                status: "ok",
                user: CheckedUser {
                    iin: who.iin().to_string(),
                    role: who.role(),
                },
            }))
        }
        .await,
    )
}

/// Exchanges a refresh token for a new pair. A spent token presented again revokes its whole family.
#[utoipa::path(post, path = "/auth/refresh", tag = "auth", extensions(("x-guard" = json!(Guard::Public.as_str()))),
    request_body = RefreshRequest,
    responses((status = 200, body = LoginResponse), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn refresh<S: Store>(p: Platform<S>, body: Body) -> Response {
    respond(
        async {
            let req: RefreshRequest = json(body).await?;
            let session = p.refresh(&req.refresh_token).await?;
            Ok::<_, ApiError>(ok(&LoginResponse::from(session)))
        }
        .await,
    )
}

/// Revokes every access and refresh token of the caller.
#[utoipa::path(post, path = "/auth/logout", tag = "auth", security(("bearer" = [])),
    extensions(("x-guard" = json!(Guard::Account.as_str()))),
    responses((status = 200, body = Detail), (status = 401, body = ErrorBody)))]
pub(crate) async fn logout<S: Store>(p: Platform<S>, auth: Option<String>) -> Response {
    respond(
        async {
            let who = authenticate_own_account(&p, auth.as_deref()).await?;
            p.logout(&who).await?;
            Ok::<_, ApiError>(detail("logged out"))
        }
        .await,
    )
}
