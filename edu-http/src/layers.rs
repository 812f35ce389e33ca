//! Tower layers around the routes: request ids, tracing, CORS, security headers, limits.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::{HeaderMap, HeaderValue, Request, Response, header};
use tower::{Layer, Service};
use tower_http::cors::{AllowHeaders, AllowMethods, AllowOrigin, Any, CorsLayer};

/// CORS per `PLACE_URL`: empty means any origin without credentials; otherwise exactly those
/// origins, with credentials.
pub fn cors(origins: &[String]) -> CorsLayer {
    let base = CorsLayer::new().max_age(std::time::Duration::from_secs(600));
    if origins.is_empty() {
        return base.allow_origin(Any).allow_methods(Any).allow_headers(Any);
    }
    let list: Vec<HeaderValue> = origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()).collect();
    base.allow_origin(AllowOrigin::list(list))
        .allow_credentials(true)
        .allow_methods(AllowMethods::mirror_request())
        .allow_headers(AllowHeaders::mirror_request())
}

/// Adds the security headers of SPEC §5 to every response.
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

/// HTTPS directly, or behind a proxy that says so.
fn is_https<B>(req: &Request<B>) -> bool {
    req.uri().scheme_str() == Some("https")
        || req
            .headers()
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.split(',')
                    .next()
                    .is_some_and(|p| p.trim().eq_ignore_ascii_case("https"))
            })
}

fn add_security_headers(h: &mut HeaderMap, https: bool) {
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'; base-uri 'none'"),
    );
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
        let proxied = Request::builder()
            .uri("/")
            .header("x-forwarded-proto", "https")
            .body(())
            .expect("request");
        assert!(is_https(&proxied));
        let mut h = HeaderMap::new();
        add_security_headers(&mut h, false);
        assert!(!h.contains_key(header::STRICT_TRANSPORT_SECURITY));
        add_security_headers(&mut h, true);
        assert!(h.contains_key(header::STRICT_TRANSPORT_SECURITY));
    }
}
