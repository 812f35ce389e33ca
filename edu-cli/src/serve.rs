//! `edu serve`.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use edu_core::config::Config;
use edu_core::{Platform, Store, SweepAges};

use crate::backend::{Job, with_platform};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Address to listen on.
    #[arg(long, env = "EDU_BIND", default_value = "127.0.0.1:8000")]
    pub bind: SocketAddr,
    /// Do not apply pending migrations at start (for deployments that run `edu migrate` as a release step).
    #[arg(long)]
    pub no_migrate: bool,
    /// Serve Prometheus metrics at `/metrics` on this address (e.g. 127.0.0.1:9100), a listener
    /// of its own: never on the API's port. Off when unset.
    #[arg(long, env = "EDU_METRICS_BIND")]
    pub metrics_bind: Option<SocketAddr>,
}

struct Serve {
    bind: SocketAddr,
    metrics_bind: Option<SocketAddr>,
    config: Config,
}

impl Job for Serve {
    async fn run<S: Store>(self, platform: Platform<S>) -> anyhow::Result<()> {
        match self.config.admin.clone() {
            Some(admin) => {
                let iin = admin.iin.masked();
                if platform
                    .bootstrap_admin(admin)
                    .await
                    .context("could not create the bootstrap administrator")?
                {
                    tracing::info!(iin = %iin, "created the bootstrap administrator");
                }
            }
            None if !platform.operator_administrators_exist().await? => {
                tracing::warn!("there is no administrator: set ADMIN_IIN and ADMIN_PASSWORD, or run `edu admin create`")
            }
            None => {}
        }
        let files = platform.files().context("no file store is configured")?.clone();
        files
            .check()
            .await
            .with_context(|| format!("the file store ({files:?}) does not answer"))?;
        crate::backend::mark_file_store(&platform).await?;
        let listener = tokio::net::TcpListener::bind(self.bind)
            .await
            .with_context(|| format!("could not listen on {}", self.bind))?;
        let metrics = match self.metrics_bind {
            Some(addr) => Some(start_metrics(addr, &platform).await?),
            None => None,
        };
        let options = edu_http::Options {
            cors_origins: self.config.cors_origins.clone(),
            api_docs: self.config.api_docs,
            default_lang: self.config.lang,
            trusted_proxies: self.config.trusted_proxies.clone(),
            metrics: metrics.is_some(),
            ..edu_http::Options::default()
        };
        tracing::info!(
            address = %listener.local_addr()?,
            database = ?self.config.database,
            files = ?files,
            trusted_proxies = %self.config.trusted_proxies,
            "serving"
        );
        let sweeper = tokio::spawn(sweep_stale_files(platform.clone()));
        let closer = tokio::spawn(close_expired_attempts(platform.clone()));
        let served = edu_http::serve_with(platform, listener, options, shutdown_signal()).await;
        sweeper.abort();
        closer.abort();
        if let Some(metrics) = metrics {
            metrics.abort();
        }
        served?;
        Ok(())
    }
}

/// Installs the Prometheus recorder and serves `/metrics` on `addr` until aborted.
async fn start_metrics<S: Store>(
    addr: SocketAddr,
    platform: &Platform<S>,
) -> anyhow::Result<tokio::task::JoinHandle<std::io::Result<()>>> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("could not listen on {addr} (EDU_METRICS_BIND)"))?;
    let handle = edu_http::metrics::install().context("could not install the metrics recorder")?;
    tracing::info!(address = %listener.local_addr()?, "serving metrics at /metrics");
    let platform = platform.clone();
    Ok(tokio::spawn(edu_http::metrics::serve_metrics(
        listener,
        handle,
        move || platform.pool_status(),
        std::future::pending(),
    )))
}

pub async fn run(args: Args, config: Config) -> anyhow::Result<()> {
    let migrate = !args.no_migrate;
    let job = Serve {
        bind: args.bind,
        metrics_bind: args.metrics_bind,
        config: config.clone(),
    };
    with_platform(&config, migrate, job).await
}

/// Every ten minutes, removes what interrupted uploads and crashes left in the file store:
/// temporary files after an hour (an upload still running in another process is never that old),
/// and files under final keys that no row refers to after a day (longer than any import that copies
/// its files before it writes their rows). Each process sharing the store may run it.
async fn sweep_stale_files<S: Store>(platform: Platform<S>) {
    const AGES: SweepAges = SweepAges {
        interrupted: Duration::from_secs(3600),
        orphaned: Duration::from_secs(24 * 3600),
    };
    let mut every = tokio::time::interval(Duration::from_secs(600));
    loop {
        every.tick().await;
        match platform.sweep_stale_files(AGES).await {
            Ok(report) => {
                if !report.interrupted.is_empty() || !report.orphans.is_empty() {
                    tracing::info!(
                        interrupted = report.interrupted.len(),
                        orphans = report.orphans.len(),
                        keys = ?report.orphans,
                        "swept stale files from the file store"
                    );
                }
                if let Some(why) = report.held_back {
                    tracing::warn!("{why}");
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not sweep stale files"),
        }
    }
}

/// Attempts whose time ran out without a submission are closed with what was saved in time (each
/// scored with its own test) every five minutes, so that grades count them even when the student
/// never comes back. Reads already show them scored; this stores the same score.
async fn close_expired_attempts<S: Store>(platform: Platform<S>) {
    let mut every = tokio::time::interval(std::time::Duration::from_secs(300));
    loop {
        every.tick().await;
        match platform.close_expired_attempts().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(closed = n, "closed test attempts whose time ran out"),
            Err(e) => tracing::warn!(error = %e, "could not close test attempts whose time ran out"),
        }
    }
}

/// Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutdown signal received");
}
