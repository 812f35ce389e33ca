//! Prometheus metrics: the request layer ([`MetricsLayer`]: requests by route template, method
//! and status as a latency histogram, and requests in flight), the recorder ([`install`]) and the
//! separate listener that serves `/metrics` ([`serve_metrics`]), never the API's port.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use http::{Request, Response};
use metrics_exporter_prometheus::{BuildError, Matcher, PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;
use tower::{Layer, Service};

/// Requests answered, by `method`, `route` (the OpenAPI path template) and `status`.
pub const REQUESTS: &str = "edu_http_requests_total";
/// Seconds from a request's arrival to its answer's head, with the same labels.
pub const DURATION: &str = "edu_http_request_duration_seconds";
/// Requests being answered now.
pub const IN_FLIGHT: &str = "edu_http_requests_in_flight";

/// Latency buckets, in seconds: from a cached read to a bcrypt login under load.
const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Installs the Prometheus recorder as the process's `metrics` recorder and describes every
/// metric. Fails if another recorder is installed already.
pub fn install() -> Result<PrometheusHandle, BuildError> {
    let recorder = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), BUCKETS)?
        .build_recorder();
    let handle = recorder.handle();
    metrics::set_global_recorder(recorder).map_err(BuildError::FailedToSetGlobalRecorder)?;
    describe();
    Ok(handle)
}

fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!(REQUESTS, "Requests answered, by method, route template and status");
    describe_histogram!(
        DURATION,
        Unit::Seconds,
        "Time to answer a request, by method, route template and status"
    );
    describe_gauge!(IN_FLIGHT, "Requests being answered now");
    edu_core::telemetry::describe();
}

/// Serves `GET /metrics` on `listener` until `shutdown`: the recorder's text, with the pool
/// gauges `pool` reports refreshed first. Anything else is 404.
pub async fn serve_metrics(
    listener: TcpListener,
    handle: PrometheusHandle,
    pool: impl Fn() -> edu_core::store::PoolStatus + Send + Sync + 'static,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use warp::Filter;
    let pool = Arc::new(pool);
    let route = warp::path!("metrics").and(warp::get()).map(move || {
        edu_core::telemetry::pool_gauges(pool());
        let mut res = warp::reply::Response::new(handle.render().into());
        res.headers_mut().insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        );
        res
    });
    warp::serve(route).incoming(listener).graceful(shutdown).run().await;
    Ok(())
}

/// The API's path templates (`/lessons/{id}`), to label a request by its route rather than by
/// its path: ids in paths would make a series per lesson.
#[derive(Debug)]
pub struct RouteTable {
    /// Templates split into segments; `None` matches any one segment.
    routes: Vec<(String, Vec<Option<String>>)>,
}

impl RouteTable {
    /// Every path of the OpenAPI document.
    pub fn from_openapi() -> RouteTable {
        let doc = crate::openapi::document();
        let mut routes: Vec<(String, Vec<Option<String>>)> = doc
            .paths
            .paths
            .keys()
            .map(|template| {
                let segments = segments(template)
                    .map(|s| (!(s.starts_with('{') && s.ends_with('}'))).then(|| s.to_owned()))
                    .collect();
                (template.trim_end_matches('/').to_owned(), segments)
            })
            .collect();
        // A literal segment wins over a parameter (`/lessons/student/grades` over `/lessons/{id}`).
        routes.sort_by_key(|(_, segs)| segs.iter().map(Option::is_none).collect::<Vec<_>>());
        RouteTable { routes }
    }

    /// The template `path` belongs to, or `unmatched`.
    pub fn route(&self, path: &str) -> &str {
        let wanted: Vec<&str> = segments(path).collect();
        self.routes
            .iter()
            .find(|(_, segs)| {
                segs.len() == wanted.len()
                    && segs
                        .iter()
                        .zip(&wanted)
                        .all(|(s, w)| s.as_deref().is_none_or(|s| s == *w))
            })
            .map_or("unmatched", |(t, _)| if t.is_empty() { "/" } else { t.as_str() })
    }
}

fn segments(path: &str) -> impl Iterator<Item = &str> {
    path.split('/').filter(|s| !s.is_empty())
}

/// Records [`REQUESTS`], [`DURATION`] and [`IN_FLIGHT`] for every request.
#[derive(Debug, Clone)]
pub struct MetricsLayer {
    routes: Arc<RouteTable>,
}

impl MetricsLayer {
    /// A layer whose `route` label is the OpenAPI path template a request matched.
    pub fn new() -> Self {
        Self {
            routes: Arc::new(RouteTable::from_openapi()),
        }
    }
}

impl Default for MetricsLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl<S> Layer<S> for MetricsLayer {
    type Service = Metrics<S>;
    fn layer(&self, inner: S) -> Self::Service {
        Metrics {
            inner,
            routes: self.routes.clone(),
        }
    }
}

/// The service [`MetricsLayer`] wraps around the inner one.
#[derive(Debug, Clone)]
pub struct Metrics<S> {
    inner: S,
    routes: Arc<RouteTable>,
}

/// Keeps [`IN_FLIGHT`] right even when a request is dropped before it is answered.
struct InFlight;

impl InFlight {
    fn start() -> InFlight {
        metrics::gauge!(IN_FLIGHT).increment(1.0);
        InFlight
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        metrics::gauge!(IN_FLIGHT).decrement(1.0);
    }
}

impl<S, ReqB, ResB> Service<Request<ReqB>> for Metrics<S>
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
        let started = Instant::now();
        let method = req.method().as_str().to_owned();
        let route = self.routes.route(req.uri().path()).to_owned();
        let in_flight = InFlight::start();
        let fut = self.inner.call(req);
        Box::pin(async move {
            let res = fut.await;
            drop(in_flight);
            if let Ok(res) = &res {
                let labels = [
                    ("method", method),
                    ("route", route),
                    ("status", res.status().as_u16().to_string()),
                ];
                metrics::counter!(REQUESTS, &labels).increment(1);
                metrics::histogram!(DURATION, &labels).record(started.elapsed().as_secs_f64());
            }
            res
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_labelled_by_their_template() {
        let t = RouteTable::from_openapi();
        assert_eq!(t.route("/lessons/17"), "/lessons/{id}");
        assert_eq!(t.route("/lessons/student/grades"), "/lessons/student/grades");
        assert_eq!(t.route("/lessons/student/grades/"), "/lessons/student/grades");
        assert_eq!(
            t.route("/admin/users/990101300123/suspend"),
            "/admin/users/{iin}/suspend"
        );
        assert_eq!(t.route("/healthz"), "/healthz");
        assert_eq!(t.route("/"), "/");
        assert_eq!(t.route("/no/such/thing/here/at/all"), "unmatched");
    }
}
