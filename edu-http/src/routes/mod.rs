//! The HTTP API, one module per area, joined under their prefixes.

use edu_core::{Platform, Store};
use serde::Serialize;
use warp::filters::BoxedFilter;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Filter, Reply};

pub(crate) mod access;
pub(crate) mod admin_audit;
pub(crate) mod admin_groups;
pub(crate) mod admin_modules;
pub(crate) mod admin_users;
pub(crate) mod auth;
pub(crate) mod grades;
pub(crate) mod import;
pub(crate) mod lessons;
pub(crate) mod root;
pub(crate) mod tests;
pub(crate) mod user;

use crate::Options;

/// Every route of the API, with rejections recovered into JSON errors.
pub fn routes_with<S: Store>(platform: Platform<S>, options: &Options) -> BoxedFilter<(Response,)> {
    one_of([
        root::routes(platform.clone(), options),
        auth::routes(platform.clone()),
        user::routes(platform.clone()),
        admin_users::routes(platform.clone()),
        admin_audit::routes(platform.clone()),
        admin_groups::routes(platform.clone()),
        admin_modules::routes(platform.clone()),
        access::routes(platform.clone()),
        grades::routes(platform.clone()),
        lessons::routes(platform.clone()),
        tests::routes(platform),
    ])
    .recover(crate::error::recover)
    .unify()
    .boxed()
}

/// The first of `routes` that matches answers (a rejection from every one is combined, as `or`
/// does).
///
/// Each join is boxed: a chain of `or`s nests the filters' types one inside the other, and with
/// some ninety routes those types grow so large that compiling them for each store and each binary
/// took minutes. Boxed, every join has the same small type, for the cost of one allocation per
/// route tried.
pub(crate) fn one_of<const N: usize>(routes: [BoxedFilter<(Response,)>; N]) -> BoxedFilter<(Response,)> {
    routes
        .into_iter()
        .reduce(|tried, next| tried.or(next).unify().boxed())
        .unwrap_or_else(|| warp::any().and_then(reject_all).boxed())
}

/// Matches nothing: the join of no routes.
async fn reject_all() -> Result<Response, warp::Rejection> {
    Err(warp::reject::not_found())
}

/// A JSON body with status 200.
pub(crate) fn ok<T: Serialize>(value: &T) -> Response {
    warp::reply::json(value).into_response()
}

/// A JSON body with another status.
pub(crate) fn with_status<T: Serialize>(status: StatusCode, value: &T) -> Response {
    let mut res = warp::reply::json(value).into_response();
    *res.status_mut() = status;
    res
}

/// `resp` with the list's total in `X-Total-Count`.
pub(crate) fn with_total(mut resp: Response, total: i64) -> Response {
    resp.headers_mut()
        .insert("x-total-count", warp::http::HeaderValue::from(total));
    resp
}

/// An empty 204 answer.
pub(crate) fn no_content() -> Response {
    let mut res = Response::default();
    *res.status_mut() = StatusCode::NO_CONTENT;
    res
}

/// `{"detail": "..."}` for operations that have nothing else to say.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Detail {
    pub detail: String,
}

/// A JSON body with status 200 whose `detail` is a message for people, told in their language.
pub(crate) fn ok_with_detail<T: Serialize>(value: &T) -> Response {
    crate::i18n::localized(StatusCode::OK, value, &["detail"])
}

/// `{"detail": text}` with status 200, the text told in the reader's language.
pub(crate) fn detail(text: impl Into<String>) -> Response {
    crate::i18n::localized(StatusCode::OK, &Detail { detail: text.into() }, &["detail"])
}
