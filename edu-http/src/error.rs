//! The one place where failures become HTTP responses: `{"detail": "...", "code": "..."}`.

use std::convert::Infallible;

use edu_core::Error;
use serde::Serialize;
use warp::http::{HeaderValue, StatusCode, header};
use warp::reply::Response;
use warp::{Rejection, Reply};

/// The body of every error response.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// What went wrong, for people, in the language of `Accept-Language` (ru, kk, en), else of
    /// `EDU_LANG`; the answer says which in `Content-Language`.
    pub detail: String,
    /// What went wrong, for programs: unauthorized, forbidden, not_found, validation_error,
    /// bad_request, conflict, locked, too_many_requests, payload_too_large, request_timeout,
    /// service_unavailable, internal_error, …; the same in every language.
    pub code: String,
}

/// An error answer; its `detail` is told in the reader's language by [`crate::i18n`].
fn body(status: StatusCode, detail: impl Into<String>, code: &str) -> Response {
    let body = ErrorBody {
        detail: detail.into(),
        code: code.to_owned(),
    };
    crate::i18n::localized(status, &body, &["detail"])
}

/// An error on its way out: a core error, or one of the adapter's own (bad body, too large).
#[derive(Debug)]
pub enum ApiError {
    /// A core error, answered with the status and `code` of its variant.
    Core(Error),
    /// A request body that is not valid JSON for the route: 400 `malformed_body`; says what is wrong.
    MalformedBody(String),
    /// A request body larger than the route's limit, in bytes: 413 `payload_too_large`.
    PayloadTooLarge(u64),
    /// The client stopped sending the body.
    Stalled(std::time::Duration),
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError::Core(e)
    }
}

impl Reply for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::MalformedBody(detail) => body(StatusCode::BAD_REQUEST, detail, "malformed_body"),
            ApiError::PayloadTooLarge(limit) => body(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("the request body is larger than {limit} bytes"),
                "payload_too_large",
            ),
            ApiError::Stalled(after) => {
                let mut res = body(
                    StatusCode::REQUEST_TIMEOUT,
                    format!("the request body stalled: nothing arrived for {} s", after.as_secs()),
                    "request_timeout",
                );
                res.headers_mut()
                    .insert(header::CONNECTION, HeaderValue::from_static("close"));
                res
            }
            ApiError::Core(e) => core_error(e),
        }
    }
}

/// When a client should try again after a 503: database restarts and fail-overs take seconds.
const UNAVAILABLE_RETRY: std::time::Duration = std::time::Duration::from_secs(5);

/// An error with its causes, for the log.
fn chain(cause: &(dyn std::error::Error + 'static)) -> String {
    let mut chain = cause.to_string();
    let mut source = cause.source();
    while let Some(s) = source {
        chain.push_str(": ");
        chain.push_str(&s.to_string());
        source = s.source();
    }
    chain
}

fn core_error(e: Error) -> Response {
    let code = e.code();
    let (status, retry_after) = match &e {
        Error::Unauthorized(_) => (StatusCode::UNAUTHORIZED, None),
        Error::TokenExpired => (StatusCode::UNAUTHORIZED, None),
        Error::Forbidden(_) | Error::PasswordChangeRequired | Error::Suspended => (StatusCode::FORBIDDEN, None),
        Error::NotFound(_) => (StatusCode::NOT_FOUND, None),
        Error::Validation(_) => (StatusCode::UNPROCESSABLE_ENTITY, None),
        Error::BadRequest(_) => (StatusCode::BAD_REQUEST, None),
        Error::Conflict(_) => (StatusCode::CONFLICT, None),
        Error::TooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, None),
        Error::UnsupportedMedia(_) => (StatusCode::UNSUPPORTED_MEDIA_TYPE, None),
        Error::Locked { retry_after } => (StatusCode::FORBIDDEN, Some(*retry_after)),
        Error::TooManyRequests { retry_after } => (StatusCode::TOO_MANY_REQUESTS, Some(*retry_after)),
        Error::Unavailable(cause) => {
            tracing::warn!(error = %chain(cause.as_ref()), "a service the platform depends on is unavailable");
            (StatusCode::SERVICE_UNAVAILABLE, Some(UNAVAILABLE_RETRY))
        }
        Error::Internal(cause) => {
            tracing::error!(error = %chain(cause.as_ref()), "internal error");
            return body(StatusCode::INTERNAL_SERVER_ERROR, "internal server error", code);
        }
    };
    let mut res = body(status, e.to_string(), code);
    if let Some(after) = retry_after {
        // Rounded up: a client that waits this long finds the lock over.
        let secs = after
            .as_secs()
            .saturating_add(u64::from(after.subsec_nanos() > 0))
            .max(1);
        if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
            res.headers_mut().insert(header::RETRY_AFTER, v);
        }
    }
    if status == StatusCode::UNAUTHORIZED {
        res.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    res
}

/// Turns a handler's result into a response.
pub fn respond<R: Reply>(result: Result<R, ApiError>) -> Response {
    match result {
        Ok(r) => r.into_response(),
        Err(e) => e.into_response(),
    }
}

/// Rejections only mean "no route matched this"; here they become 404/405/4xx bodies.
pub async fn recover(rejection: Rejection) -> Result<Response, Infallible> {
    use warp::reject::{InvalidHeader, InvalidQuery, LengthRequired, MethodNotAllowed, MissingHeader, PayloadTooLarge};
    let res = if rejection.is_not_found() {
        body(StatusCode::NOT_FOUND, "not found", "not_found")
    } else if rejection.find::<MethodNotAllowed>().is_some() {
        body(
            StatusCode::METHOD_NOT_ALLOWED,
            "method not allowed",
            "method_not_allowed",
        )
    } else if rejection.find::<PayloadTooLarge>().is_some() {
        body(
            StatusCode::PAYLOAD_TOO_LARGE,
            "the request body is too large",
            "payload_too_large",
        )
    } else if rejection.find::<LengthRequired>().is_some() {
        body(
            StatusCode::LENGTH_REQUIRED,
            "a content-length header is required",
            "length_required",
        )
    } else if let Some(e) = rejection.find::<InvalidQuery>() {
        body(StatusCode::BAD_REQUEST, e.to_string(), "bad_request")
    } else if let Some(e) = rejection.find::<InvalidHeader>() {
        body(StatusCode::BAD_REQUEST, e.to_string(), "bad_request")
    } else if let Some(e) = rejection.find::<MissingHeader>() {
        body(StatusCode::BAD_REQUEST, e.to_string(), "bad_request")
    } else {
        tracing::debug!(?rejection, "unhandled rejection");
        body(StatusCode::BAD_REQUEST, "bad request", "bad_request")
    };
    Ok(res)
}
