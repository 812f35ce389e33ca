//! The accept loop: each connection served by hyper through the tower stack, with graceful shutdown.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use edu_core::{Platform, Store};
use http_body_util::BodyExt;
use http_body_util::combinators::UnsyncBoxBody;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tower::ServiceBuilder;
use tower_http::add_extension::AddExtension;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::map_response_body::MapResponseBodyLayer;

type BoxError = Box<dyn std::error::Error + Send + Sync>;
use tower_http::normalize_path::NormalizePathLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;
use warp::filters::BoxedFilter;
use warp::reply::Response;

use crate::conditional::ConditionalLayer;
use crate::extract::PeerAddr;
use crate::forwarded::{ClientAddr, ClientAddrLayer};
use crate::i18n::LanguageLayer;
use crate::layers::{BodyLimitLayer, SecurityHeadersLayer, cors, loggable_path};
use crate::{Options, routes_with};

fn box_body<B>(body: B) -> UnsyncBoxBody<bytes::Bytes, BoxError>
where
    B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    UnsyncBoxBody::new(body.map_err(Into::into))
}

/// gzip or brotli, as the client asks, for JSON answers over 1 KiB: the module trees and grade
/// lists a phone polls. Files and spreadsheets are not recompressed (PDFs, images, XLSX and the
/// rest are compressed already, and downloads answer `Range` requests).
fn compression() -> tower_http::compression::CompressionLayer<impl tower_http::compression::Predicate> {
    use tower_http::compression::predicate::{Predicate, SizeAbove};
    let json = |_: http::StatusCode, _: http::Version, h: &http::HeaderMap, _: &http::Extensions| {
        h.get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.starts_with("application/json"))
    };
    tower_http::compression::CompressionLayer::new()
        .gzip(true)
        .br(true)
        .compress_when(SizeAbove::new(1024).and(json))
}

/// Serves the API on `listener` until `shutdown` completes, then drains requests in flight.
pub async fn serve<S: Store>(
    platform: Platform<S>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(platform, listener, Options::default(), shutdown).await
}

/// Serves the API with `options` on `listener` until `shutdown` completes, then drains requests
/// in flight.
pub async fn serve_with<S: Store>(
    platform: Platform<S>,
    listener: TcpListener,
    options: Options,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let filter = routes_with(platform, &options);
    serve_routes(filter, listener, options, shutdown).await
}

/// Serves any warp filter through the same tower stack as [`serve_with`] (client address,
/// request ids, tracing, security headers, compression, languages, CORS, body limit…): how a
/// service mounts routes of its own beside edu's, sharing one [`Platform`] and its logins.
///
/// [`routes_with`] answers every request (an unknown path with edu's 404), so a service's own
/// routes go first and edu's after them:
///
/// ```no_run
/// use warp::Filter;
///
/// # async fn run(platform: edu_core::Platform<edu_core::SqliteStore>) -> std::io::Result<()> {
/// let options = edu_http::Options::default();
/// let own = warp::path!("school" / "hello").map(|| warp::reply::Reply::into_response("hello"));
/// let routes = own.or(edu_http::routes_with(platform, &options)).unify().boxed();
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8000").await?;
/// edu_http::serve_routes(routes, listener, options, async { let _ = tokio::signal::ctrl_c().await; }).await
/// # }
/// ```
///
/// `edu-http/examples/mount.rs` is a whole service that does this.
pub async fn serve_routes(
    filter: BoxedFilter<(Response,)>,
    listener: TcpListener,
    options: Options,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_boxed(filter, listener, options, Box::pin(shutdown)).await
}

/// [`serve_routes`] without a type parameter, so that the server's stack is compiled once, in this
/// crate, and not again in every binary that serves.
async fn serve_boxed(
    filter: BoxedFilter<(Response,)>,
    listener: TcpListener,
    options: Options,
    mut shutdown: Pin<Box<dyn Future<Output = ()> + Send>>,
) -> std::io::Result<()> {
    let stack = ServiceBuilder::new()
        // First, so that the log, the headers and the throttle all see the same client.
        .layer(ClientAddrLayer::new(options.trusted_proxies.clone()))
        .option_layer(options.metrics.then(crate::metrics::MetricsLayer::new))
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &http::Request<_>| {
                    let id = req
                        .headers()
                        .get("x-request-id")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("-");
                    let client = req.extensions().get::<ClientAddr>().map(|c| c.address);
                    tracing::info_span!(
                        "request",
                        client = %client.map_or_else(|| "-".to_owned(), |a| a.to_string()),
                        method = %req.method(),
                        path = %loggable_path(req.uri().path()),
                        request_id = %id,
                    )
                })
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(CatchPanicLayer::new())
        // Outside CORS and the body limit, so that preflights and 413s carry the headers too.
        .layer(SecurityHeadersLayer)
        // Outside the language layer, which may rewrite a body: what is compressed is final.
        .layer(compression())
        // Outside the body limit, so that its 413 is told in the reader's language too.
        .layer(LanguageLayer::new(options.default_lang))
        .layer(cors(&options.cors_origins))
        .layer(BodyLimitLayer::new(options.max_body, options.body_idle_timeout))
        .layer(NormalizePathLayer::trim_trailing_slash())
        .layer(ConditionalLayer)
        // A boxed body: CORS answers preflights with an empty one of the same type.
        .layer(MapResponseBodyLayer::new(box_body))
        .service(warp::service(filter));

    let graceful = GracefulShutdown::new();
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let svc = TowerToHyperService::new(AddExtension::new(stack.clone(), PeerAddr(peer)));
        let conn = auto::Builder::new(TokioExecutor::new())
            .serve_connection_with_upgrades(TokioIo::new(stream), svc)
            .into_owned();
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    tracing::info!("shutting down: waiting for requests in flight");
    tokio::select! {
        () = graceful.shutdown() => tracing::info!("all connections closed"),
        () = tokio::time::sleep(options.shutdown_grace) => tracing::warn!("shutdown grace period over; closing"),
    }
    Ok(())
}
