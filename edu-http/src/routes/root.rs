//! `/`, health checks and the API document.

use edu_core::policy::Guard;
use edu_core::{Platform, Store};
use serde::Serialize;
use warp::filters::BoxedFilter;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Filter, Reply};

use super::{ok, with_status};
use crate::Options;
use crate::error::ErrorBody;
use crate::extract::with_platform;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Welcome {
    pub message: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Health {
    /// "ok" or "unavailable".
    pub status: String,
}

pub(crate) fn routes<S: Store>(p: Platform<S>, options: &Options) -> BoxedFilter<(Response,)> {
    let welcome = warp::path::end().and(warp::get()).map(welcome);
    let healthz = warp::path!("healthz").and(warp::get()).map(healthz);
    let readyz = warp::path!("readyz")
        .and(warp::get())
        .and(with_platform(p))
        .then(readyz::<S>);
    let api_docs = options.api_docs;
    let openapi = warp::path!("openapi.json")
        .and(warp::get())
        .and_then(move || async move {
            if api_docs {
                Ok(openapi())
            } else {
                Err(warp::reject::not_found())
            }
        });
    super::one_of([welcome.boxed(), healthz.boxed(), readyz.boxed(), openapi.boxed()])
}

/// A welcome message.
#[utoipa::path(get, path = "/", tag = "service", extensions(("x-guard" = json!(Guard::Public.as_str()))),
    responses((status = 200, body = Welcome)))]
pub(crate) fn welcome() -> Response {
    crate::i18n::localized(
        warp::http::StatusCode::OK,
        &Welcome {
            message: "Welcome to the edu platform API".into(),
        },
        &["message"],
    )
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "service", extensions(("x-guard" = json!(Guard::Public.as_str()))),
    responses((status = 200, body = Health)))]
pub(crate) fn healthz() -> Response {
    ok(&Health { status: "ok".into() })
}

/// How long `/readyz` waits for the database: a probe must hear "not ready" before its own
/// timeout, whatever the pool's wait for a connection is.
const READY_DEADLINE: std::time::Duration = std::time::Duration::from_secs(1);

/// Readiness: the database answers within a second.
#[utoipa::path(get, path = "/readyz", tag = "service", extensions(("x-guard" = json!(Guard::Public.as_str()))),
    responses((status = 200, body = Health), (status = 503, body = Health)))]
pub(crate) async fn readyz<S: Store>(p: Platform<S>) -> Response {
    let failure = match tokio::time::timeout(READY_DEADLINE, p.ready()).await {
        Ok(Ok(())) => return ok(&Health { status: "ok".into() }),
        Ok(Err(e)) => format!("{e:?}"),
        Err(elapsed) => elapsed.to_string(),
    };
    tracing::warn!(error = %failure, "readiness check failed");
    let mut res = with_status(
        StatusCode::SERVICE_UNAVAILABLE,
        &Health {
            status: "unavailable".into(),
        },
    );
    res.headers_mut().insert(
        warp::http::header::RETRY_AFTER,
        warp::http::HeaderValue::from_static("5"),
    );
    res
}

/// This document (only with `EDU_API_DOCS=true`).
#[utoipa::path(get, path = "/openapi.json", tag = "service", extensions(("x-guard" = json!(Guard::Public.as_str()))),
    responses((status = 200, description = "OpenAPI 3.1 document", content_type = "application/json"),
        (status = 404, body = ErrorBody, description = "API docs are disabled")))]
pub(crate) fn openapi() -> Response {
    let mut res = warp::reply::json(&crate::openapi::document()).into_response();
    res.headers_mut().remove(warp::http::header::CACHE_CONTROL);
    res
}
