//! The HTTP face of edu: a thin warp adapter over [`edu_core::Platform`], with tower layers.
//!
//! ```no_run
//! # async fn run(platform: edu_core::Platform<edu_core::SqliteStore>) -> std::io::Result<()> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8000").await?;
//! edu_http::serve(platform, listener, async { let _ = tokio::signal::ctrl_c().await; }).await
//! # }
//! ```

#![warn(missing_docs)]

pub mod conditional;
pub mod error;
mod extract;
mod forwarded;
mod i18n;
mod layers;
pub mod metrics;
pub mod openapi;
mod routes;
mod server;
mod upload;

pub use edu_core::i18n::Lang;
pub use extract::{PeerAddr, authenticate};
pub use forwarded::{ClientAddr, ClientAddrLayer};
pub use i18n::LanguageLayer;
pub use layers::loggable_path;
pub use routes::routes_with;
pub use server::{serve, serve_routes, serve_with};

use edu_core::{Platform, Store};
use warp::filters::BoxedFilter;
use warp::reply::Response;

/// Settings of the HTTP adapter.
#[derive(Debug, Clone)]
pub struct Options {
    /// `PLACE_URL` origins; empty allows any origin without credentials.
    pub cors_origins: Vec<String>,
    /// Serve `/openapi.json`.
    pub api_docs: bool,
    /// The largest request body accepted on any route (uploads included).
    pub max_body: u64,
    /// How long a request body may send nothing while it is being read before the request is
    /// answered 408 (a stalled upload must not hold its temporary file until the connection ends).
    pub body_idle_timeout: std::time::Duration,
    /// How long shutdown waits for requests in flight.
    pub shutdown_grace: std::time::Duration,
    /// `EDU_LANG`: the language of messages when `Accept-Language` names none of ru, kk, en.
    pub default_lang: Lang,
    /// `EDU_TRUSTED_PROXIES`: connections from these may name the client and its scheme in
    /// forwarding headers. Empty: the connection's address is the client.
    pub trusted_proxies: edu_core::config::TrustedProxies,
    /// Record request metrics ([`metrics::MetricsLayer`]) for the installed recorder.
    pub metrics: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            cors_origins: Vec::new(),
            api_docs: false,
            max_body: 64 * 1024 * 1024,
            body_idle_timeout: std::time::Duration::from_secs(30),
            shutdown_grace: std::time::Duration::from_secs(30),
            default_lang: Lang::default(),
            trusted_proxies: edu_core::config::TrustedProxies::default(),
            metrics: false,
        }
    }
}

/// Every route of the API with default options.
///
/// The filter answers every request (an unknown path with edu's 404): a service that mounts
/// routes of its own puts them before it (`own.or(edu_http::routes(platform))`) and serves the
/// whole through [`serve_routes`].
pub fn routes<S: Store>(platform: Platform<S>) -> BoxedFilter<(Response,)> {
    routes_with(platform, &Options::default())
}

/// The routes of the two stores edu ships, named here so that they are compiled once, in this
/// crate.
///
/// Generic code is compiled in the crate that first gives it concrete types, and development
/// builds share such copies with the crates that depend on it. Without this, every binary, test
/// and example serving edu compiled all of its routes again for each store. Optimised builds share
/// nothing of the kind, so there it would only be compiled twice: it is left out.
#[cfg(all(not(test), debug_assertions))]
#[doc(hidden)]
pub static COMPILED_ROUTES: (RoutesOf<edu_core::SqliteStore>, RoutesOf<edu_core::PgStore>) =
    (routes_with::<edu_core::SqliteStore>, routes_with::<edu_core::PgStore>);

/// [`routes_with`] for one store.
#[cfg(all(not(test), debug_assertions))]
#[doc(hidden)]
pub type RoutesOf<S> = fn(Platform<S>, &Options) -> BoxedFilter<(Response,)>;
