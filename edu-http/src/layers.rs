//! Tower layers around the routes: request ids, tracing, CORS, security headers, limits.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Buf, Bytes};
use http::{HeaderMap, HeaderValue, Request, Response, header};
use http_body_util::BodyExt;
use http_body_util::combinators::UnsyncBoxBody;
use tower::{Layer, Service};
use tower_http::cors::{AllowHeaders, AllowMethods, AllowOrigin, Any, CorsLayer};

/// Response headers a browser script on another origin needs to read: the pagination total, the
/// throttle's wait and the id to quote in a support request.
const EXPOSED: [header::HeaderName; 3] = [
    header::HeaderName::from_static("x-total-count"),
    header::RETRY_AFTER,
    header::HeaderName::from_static("x-request-id"),
];

/// CORS per `PLACE_URL`: empty means any origin without credentials; otherwise exactly those
/// origins, with credentials.
pub fn cors(origins: &[String]) -> CorsLayer {
    let base = CorsLayer::new()
        .max_age(std::time::Duration::from_secs(600))
        .expose_headers(EXPOSED);
    if origins.is_empty() {
        // Requested headers are mirrored: a `*` would not cover `Authorization` in browsers.
        return base
            .allow_origin(Any)
            .allow_methods(Any)
            .allow_headers(AllowHeaders::mirror_request());
    }
    let list: Vec<HeaderValue> = origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()).collect();
    base.allow_origin(AllowOrigin::list(list))
        .allow_credentials(true)
        .allow_methods(AllowMethods::mirror_request())
        .allow_headers(AllowHeaders::mirror_request())
}

/// Refuses request bodies over `limit` bytes with the usual JSON 413: at once when `Content-Length`
/// says so, otherwise when a handler reads past the limit ([`BodyTooLarge`]). A body that sends
/// nothing for `idle` while a handler waits for it fails with [`BodyStalled`] (408).
#[derive(Debug, Clone, Copy)]
pub struct BodyLimitLayer {
    limit: u64,
    idle: Duration,
}

impl BodyLimitLayer {
    pub fn new(limit: u64, idle: Duration) -> Self {
        Self { limit, idle }
    }
}

impl<S> Layer<S> for BodyLimitLayer {
    type Service = BodyLimit<S>;
    fn layer(&self, inner: S) -> Self::Service {
        BodyLimit {
            inner,
            limit: self.limit,
            idle: self.idle,
        }
    }
}

#[derive(Debug, Clone)]
pub struct BodyLimit<S> {
    inner: S,
    limit: u64,
    idle: Duration,
}

/// The error a [`LimitedBody`] yields when the client stops sending; answered 408.
#[derive(Debug, thiserror::Error)]
#[error("the request body stalled: nothing arrived for {} s", after.as_secs())]
pub struct BodyStalled {
    pub after: Duration,
}

/// The error a [`LimitedBody`] yields past its limit; `extract::read_limited` turns it into a 413.
#[derive(Debug, thiserror::Error)]
#[error("the request body is larger than {limit} bytes")]
pub struct BodyTooLarge {
    pub limit: u64,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type BoxBody = UnsyncBoxBody<Bytes, BoxError>;

impl<S, B> Service<Request<B>> for BodyLimit<S>
where
    S: Service<Request<LimitedBody<B>>, Response = Response<BoxBody>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = Response<BoxBody>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.trim().parse::<u64>().ok());
        if declared.is_some_and(|n| n > self.limit) {
            let res = warp::Reply::into_response(crate::error::ApiError::PayloadTooLarge(self.limit));
            let res = res.map(|b| UnsyncBoxBody::new(b.map_err(BoxError::from)));
            return Box::pin(std::future::ready(Ok(res)));
        }
        let limit = self.limit;
        let idle = self.idle;
        let fut = self.inner.call(req.map(|inner| LimitedBody {
            inner,
            remaining: limit,
            limit,
            idle,
            timer: None,
        }));
        Box::pin(fut)
    }
}

/// A request body that fails with [`BodyTooLarge`] once more than `limit` bytes have arrived, and
/// with [`BodyStalled`] when a reader has waited `idle` for bytes that do not come. Only waiting
/// counts: a handler busy elsewhere between two reads is not the client's delay.
#[derive(Debug)]
pub struct LimitedBody<B> {
    inner: B,
    remaining: u64,
    limit: u64,
    idle: Duration,
    /// Armed when a read finds nothing, disarmed by the next frame.
    timer: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl<B> http_body::Body for LimitedBody<B>
where
    B: http_body::Body + Unpin,
    B::Error: Into<BoxError>,
{
    type Data = B::Data;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        let this = &mut *self;
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        let Poll::Ready(polled) = polled else {
            let idle = this.idle;
            let timer = this.timer.get_or_insert_with(|| Box::pin(tokio::time::sleep(idle)));
            if timer.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Some(Err(Box::new(BodyStalled { after: idle }))));
            }
            return Poll::Pending;
        };
        this.timer = None;
        match polled {
            Some(Ok(frame)) => {
                if let Some(data) = frame.data_ref() {
                    let len = data.remaining() as u64;
                    if len > this.remaining {
                        this.remaining = 0;
                        return Poll::Ready(Some(Err(Box::new(BodyTooLarge { limit: this.limit }))));
                    }
                    this.remaining -= len;
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Some(Err(e)) => Poll::Ready(Some(Err(e.into()))),
            None => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// Adds the security headers to every response.
#[derive(Debug, Clone, Copy, Default)]
pub struct SecurityHeadersLayer;

impl<S> Layer<S> for SecurityHeadersLayer {
    type Service = SecurityHeaders<S>;
    fn layer(&self, inner: S) -> Self::Service {
        SecurityHeaders { inner }
    }
}

#[derive(Debug, Clone)]
pub struct SecurityHeaders<S> {
    inner: S,
}

/// HTTPS directly, or behind a trusted proxy that says so (see [`crate::forwarded`]): from
/// anyone else `X-Forwarded-Proto` is not believed.
fn is_https<B>(req: &Request<B>) -> bool {
    req.uri().scheme_str() == Some("https")
        || req
            .extensions()
            .get::<crate::forwarded::ClientAddr>()
            .is_some_and(|c| c.forwarded_https)
}

fn add_security_headers(h: &mut HeaderMap, https: bool) {
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    // A route's own, stricter policy (a download's `sandbox`) is kept.
    h.entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(
            "default-src 'none'; frame-ancestors 'none'; base-uri 'none'",
        ));
    if https {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=63072000; includeSubDomains"),
        );
    }
    // Responses carry personal data unless a route says otherwise.
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
}

impl<S, ReqB, ResB> Service<Request<ReqB>> for SecurityHeaders<S>
where
    S: Service<Request<ReqB>, Response = Response<ResB>>,
    S::Future: Send + 'static,
{
    type Response = Response<ResB>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqB>) -> Self::Future {
        let https = is_https(&req);
        let fut = self.inner.call(req);
        Box::pin(async move {
            let mut res = fut.await?;
            add_security_headers(res.headers_mut(), https);
            Ok(res)
        })
    }
}

/// The path as logged: runs of 12 digits (IINs) are masked.
pub fn loggable_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut digits = String::new();
    let flush = |digits: &mut String, out: &mut String| {
        if digits.len() == 12 {
            out.push_str("********");
            out.push_str(&digits[8..]);
        } else {
            out.push_str(digits);
        }
        digits.clear();
    };
    for c in path.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
        } else {
            flush(&mut digits, &mut out);
            out.push(c);
        }
    }
    flush(&mut digits, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iins_are_masked_in_logged_paths() {
        assert_eq!(loggable_path("/user/by-iin/990101300123"), "/user/by-iin/********0123");
        assert_eq!(loggable_path("/admin/groups/42/users/7"), "/admin/groups/42/users/7");
    }

    #[test]
    fn https_detection() {
        let plain = Request::builder().uri("/").body(()).expect("request");
        assert!(!is_https(&plain));
        // The header alone is not enough: only a trusted proxy's word counts.
        let spoofed = Request::builder()
            .uri("/")
            .header("x-forwarded-proto", "https")
            .body(())
            .expect("request");
        assert!(!is_https(&spoofed));
        let mut proxied = spoofed;
        proxied.extensions_mut().insert(crate::forwarded::ClientAddr {
            address: std::net::Ipv4Addr::LOCALHOST.into(),
            forwarded_https: true,
        });
        assert!(is_https(&proxied));
        let mut h = HeaderMap::new();
        add_security_headers(&mut h, false);
        assert!(!h.contains_key(header::STRICT_TRANSPORT_SECURITY));
        add_security_headers(&mut h, true);
        assert!(h.contains_key(header::STRICT_TRANSPORT_SECURITY));
    }
}
