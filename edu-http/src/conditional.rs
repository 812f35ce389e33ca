//! Revalidation: answers that may be polled carry an `ETag` made from their bytes
//! (`tagged`), and a request whose `If-None-Match` names it gets `304 Not Modified` with no
//! body ([`ConditionalLayer`]).
//!
//! The tag is a hash of the answer itself, so it changes whenever anything in the answer does (a
//! new result, a regrade, a relinked group) and never when nothing did; no node keeps anything
//! between requests, so nodes sharing a database can never answer from stale state. What a 304
//! saves is the bytes and the client's work, not the server's query.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use base64::Engine;
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Empty};
use serde::Serialize;
use sha2::{Digest, Sha256};
use tower::{Layer, Service};
use warp::Reply;

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type BoxBody = UnsyncBoxBody<bytes::Bytes, BoxError>;

/// The weak entity tag of a body: the same bytes, the same tag. Weak, because a compressed
/// transfer of the same JSON is the same answer.
pub fn etag(body: &[u8]) -> String {
    let digest = Sha256::digest(body);
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..18]);
    format!("W/\"{b64}\"")
}

/// A JSON 200 with its [`etag`], to be revalidated before each use (`Cache-Control: private,
/// no-cache`: kept only by the caller's own client, which asks again with `If-None-Match`).
pub(crate) fn tagged<T: Serialize>(value: &T) -> warp::reply::Response {
    let Ok(bytes) = serde_json::to_vec(value) else {
        return warp::reply::json(value).into_response();
    };
    let tag = etag(&bytes);
    let mut res = warp::reply::Response::new(bytes.into());
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-cache"));
    if let Ok(v) = HeaderValue::from_str(&tag) {
        h.insert(header::ETAG, v);
    }
    res
}

/// Whether `If-None-Match` names `tag` (weak comparison, as RFC 9110 asks for this header).
fn matches(if_none_match: &HeaderValue, tag: &HeaderValue) -> bool {
    let (Ok(list), Ok(tag)) = (if_none_match.to_str(), tag.to_str()) else {
        return false;
    };
    let opaque = |t: &str| t.trim().trim_start_matches("W/").to_owned();
    let tag = opaque(tag);
    list.split(',').any(|t| t.trim() == "*" || opaque(t) == tag)
}

/// Turns a 200 whose `ETag` the request's `If-None-Match` names into a bodiless 304.
#[derive(Debug, Clone, Copy, Default)]
pub struct ConditionalLayer;

impl<S> Layer<S> for ConditionalLayer {
    type Service = Conditional<S>;
    fn layer(&self, inner: S) -> Self::Service {
        Conditional { inner }
    }
}

/// The service [`ConditionalLayer`] wraps around the inner one.
#[derive(Debug, Clone)]
pub struct Conditional<S> {
    inner: S,
}

impl<S, ReqB> Service<Request<ReqB>> for Conditional<S>
where
    S: Service<Request<ReqB>, Response = Response<BoxBody>>,
    S::Future: Send + 'static,
{
    type Response = Response<BoxBody>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqB>) -> Self::Future {
        let wanted = matches!(*req.method(), Method::GET | Method::HEAD)
            .then(|| req.headers().get(header::IF_NONE_MATCH).cloned())
            .flatten();
        let fut = self.inner.call(req);
        Box::pin(async move {
            let res = fut.await?;
            let Some(wanted) = wanted else {
                return Ok(res);
            };
            let fresh = res.status() == StatusCode::OK
                && res.headers().get(header::ETAG).is_some_and(|tag| matches(&wanted, tag));
            if !fresh {
                return Ok(res);
            }
            Ok(not_modified(res.headers()))
        })
    }
}

/// A 304 with the headers a cache needs to keep using what it has.
fn not_modified(headers: &HeaderMap) -> Response<BoxBody> {
    let mut res = Response::new(Empty::new().map_err(|never| match never {}).boxed_unsync());
    *res.status_mut() = StatusCode::NOT_MODIFIED;
    for name in [
        header::ETAG,
        header::CACHE_CONTROL,
        header::VARY,
        header::CONTENT_LOCATION,
    ] {
        for v in headers.get_all(&name) {
            res.headers_mut().append(name.clone(), v.clone());
        }
    }
    res
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn hv(s: &str) -> HeaderValue {
        HeaderValue::from_str(s).expect("a header value")
    }

    #[test]
    fn if_none_match_lists_weak_and_strong_forms_and_any() {
        let tag = etag(b"{\"a\":1}");
        assert!(tag.starts_with("W/\"") && tag.ends_with('"'));
        let t = hv(&tag);
        assert!(matches(&hv(&tag), &t));
        assert!(matches(&hv(&tag.replacen("W/", "", 1)), &t), "weak comparison");
        assert!(matches(&hv(&format!("\"other\", {tag}")), &t));
        assert!(matches(&hv("*"), &t));
        assert!(!matches(&hv("\"other\""), &t));
        assert!(!matches(&hv(&etag(b"{\"a\":2}")), &t));
    }

    fn json() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            (0.0..100.0f64).prop_map(serde_json::Value::from),
            "[a-zА-Яә-ө ]{0,8}".prop_map(serde_json::Value::from),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
                prop::collection::btree_map("[a-z_]{1,6}", inner, 0..4)
                    .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        /// The tag changes whenever anything in the answer does, and only then.
        #[test]
        fn the_tag_follows_the_answer(a in json(), b in json()) {
            let (ta, tb) = (etag(&serde_json::to_vec(&a).unwrap_or_default()), etag(&serde_json::to_vec(&b).unwrap_or_default()));
            prop_assert_eq!(ta == tb, a == b, "{} vs {}", a, b);
            prop_assert_eq!(ta, etag(&serde_json::to_vec(&a).unwrap_or_default()));
        }

        /// A change deep inside an answer (one grade of one item) changes its tag.
        #[test]
        fn one_grade_changes_the_tag(grades in prop::collection::vec(0u8..=100, 1..40), at in any::<prop::sample::Index>(), to in 0u8..=100) {
            let i = at.index(grades.len());
            prop_assume!(grades[i] != to);
            let items = |g: &[u8]| serde_json::json!(g.iter().map(|g| serde_json::json!({"grade": g, "lesson": "Эссе"})).collect::<Vec<_>>());
            let mut changed = grades.clone();
            changed[i] = to;
            let before = etag(&serde_json::to_vec(&items(&grades)).unwrap_or_default());
            let after = etag(&serde_json::to_vec(&items(&changed)).unwrap_or_default());
            prop_assert_ne!(before, after);
        }
    }
}
