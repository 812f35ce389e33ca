//! Filters that hand each handler what it needs, and body readers that run after authentication.

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::{Buf, Bytes, BytesMut};
use edu_core::{ClientInfo, Platform, Principal, Store};
use futures_util::stream::BoxStream;
use futures_util::{StreamExt, TryStreamExt};
use serde::de::DeserializeOwned;
use warp::Filter;

use crate::error::ApiError;
use crate::layers::{BodyStalled, BodyTooLarge};

/// The body, unread: handlers authenticate first and read it after.
pub type Body = BoxStream<'static, Result<Bytes, warp::Error>>;

/// Bodies of JSON and form requests: far more than any of them needs.
pub const JSON_LIMIT: u64 = 64 * 1024;

/// The peer address, set by the server for every connection.
#[derive(Debug, Clone, Copy)]
pub struct PeerAddr(pub SocketAddr);

pub fn with_platform<S: Store>(p: Platform<S>) -> impl Filter<Extract = (Platform<S>,), Error = Infallible> + Clone {
    warp::any().map(move || p.clone())
}

/// A header's value if present and readable as text; never rejects the request.
pub fn optional_header(name: &'static str) -> impl Filter<Extract = (Option<String>,), Error = Infallible> + Clone {
    warp::header::optional::<String>(name)
        .or(warp::any().map(|| None))
        .unify()
}

/// The raw `Authorization` header, checked by the handler.
pub fn bearer() -> impl Filter<Extract = (Option<String>,), Error = Infallible> + Clone {
    optional_header("authorization")
}

/// The client as [`ClientAddr`](crate::forwarded::ClientAddr) resolved it (behind a trusted
/// proxy, the address the proxy names), else the connection's address.
pub fn client() -> impl Filter<Extract = (ClientInfo,), Error = Infallible> + Clone {
    warp::ext::optional::<crate::forwarded::ClientAddr>()
        .and(warp::ext::optional::<PeerAddr>())
        .map(
            |client: Option<crate::forwarded::ClientAddr>, peer: Option<PeerAddr>| ClientInfo {
                address: client.map(|c| c.address).or(peer.map(|p| p.0.ip())),
            },
        )
}

pub fn body() -> impl Filter<Extract = (Body,), Error = warp::Rejection> + Clone {
    warp::body::stream().map(boxed_body)
}

fn boxed_body<St, B>(s: St) -> Body
where
    St: futures_util::Stream<Item = Result<B, warp::Error>> + Send + 'static,
    B: Buf,
{
    s.map_ok(|mut buf| buf.copy_to_bytes(buf.remaining())).boxed()
}

/// The raw query string ("" when there is none).
pub fn query() -> impl Filter<Extract = (String,), Error = Infallible> + Clone {
    warp::query::raw().or(warp::any().map(String::new)).unify()
}

/// Resolves the bearer token of an `Authorization` header to the calling principal, or 401 (403
/// while the account must change its password): what every edu route does first, for a service's
/// own routes mounted beside edu's (`edu-http/examples/mount.rs`).
pub async fn authenticate<S: Store>(p: &Platform<S>, header: Option<&str>) -> Result<Principal, ApiError> {
    Ok(p.authenticate(bearer_token(header)?).await?)
}

/// Resolves the bearer token for a route of the caller's own account (guard `account`), which a
/// user who must change their password may still use.
pub async fn authenticate_own_account<S: Store>(p: &Platform<S>, header: Option<&str>) -> Result<Principal, ApiError> {
    Ok(p.authenticate_own_account(bearer_token(header)?).await?)
}

fn bearer_token(header: Option<&str>) -> Result<&str, ApiError> {
    Ok(header
        .and_then(|h| h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer ")))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| edu_core::Error::Unauthorized("not authenticated".into()))?)
}

/// Reads the whole body, refusing it as soon as it passes `limit` bytes.
pub async fn read_limited(mut body: Body, limit: u64) -> Result<Bytes, ApiError> {
    let mut buf = BytesMut::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| {
            body_fault(&e).unwrap_or_else(|| ApiError::MalformedBody(format!("could not read the request body: {e}")))
        })?;
        if (buf.len() + chunk.len()) as u64 > limit {
            return Err(ApiError::PayloadTooLarge(limit));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

/// The answer when the body could not be read because of the server's own rules: over the
/// server-wide limit (413), or stalled (408).
pub(crate) fn body_fault(e: &(dyn std::error::Error + 'static)) -> Option<ApiError> {
    let mut cause = Some(e);
    while let Some(c) = cause {
        if let Some(t) = c.downcast_ref::<BodyTooLarge>() {
            return Some(ApiError::PayloadTooLarge(t.limit));
        }
        if let Some(s) = c.downcast_ref::<BodyStalled>() {
            return Some(ApiError::Stalled(s.after));
        }
        cause = c.source();
    }
    None
}

/// Parses a JSON body: broken syntax is 400, a well-formed body of the wrong shape is 422.
pub async fn json<T: DeserializeOwned>(body: Body) -> Result<T, ApiError> {
    let bytes = read_limited(body, JSON_LIMIT).await?;
    parse_json(&bytes)
}

pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => ApiError::Core(edu_core::Error::Validation(e.to_string())),
        _ => ApiError::MalformedBody(format!("malformed JSON: {e}")),
    })
}

/// Parses an `application/x-www-form-urlencoded` body.
pub async fn form<T: DeserializeOwned>(body: Body) -> Result<T, ApiError> {
    let bytes = read_limited(body, JSON_LIMIT).await?;
    serde_urlencoded::from_bytes(&bytes).map_err(|e| ApiError::Core(edu_core::Error::Validation(e.to_string())))
}

/// Parses query parameters; a wrong type is a 422 naming the parameter.
pub fn parse_query<T: DeserializeOwned>(raw: &str) -> Result<T, ApiError> {
    serde_urlencoded::from_str(raw)
        .map_err(|e| ApiError::Core(edu_core::Error::Validation(format!("invalid query parameters: {e}"))))
}

/// Authenticates, then runs `f` with the principal; every failure becomes its error response.
pub async fn authed<S: Store>(
    p: Platform<S>,
    header: Option<String>,
    f: impl AsyncFnOnce(Platform<S>, Principal) -> Result<warp::reply::Response, ApiError>,
) -> warp::reply::Response {
    let who = authenticate(&p, header.as_deref()).await;
    run_authed(p, who, f).await
}

/// [`authed`] for a route of the caller's own account (see [`authenticate_own_account`]).
pub async fn authed_own_account<S: Store>(
    p: Platform<S>,
    header: Option<String>,
    f: impl AsyncFnOnce(Platform<S>, Principal) -> Result<warp::reply::Response, ApiError>,
) -> warp::reply::Response {
    let who = authenticate_own_account(&p, header.as_deref()).await;
    run_authed(p, who, f).await
}

async fn run_authed<S: Store>(
    p: Platform<S>,
    who: Result<Principal, ApiError>,
    f: impl AsyncFnOnce(Platform<S>, Principal) -> Result<warp::reply::Response, ApiError>,
) -> warp::reply::Response {
    let result = match who {
        Ok(who) => f(p, who).await,
        Err(e) => Err(e),
    };
    crate::error::respond(result)
}
