//! `edu serve`.

use std::net::SocketAddr;

use anyhow::Context;
use edu_core::config::Config;
use edu_core::{Platform, Store};

use crate::backend::{Job, with_platform};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Address to listen on.
    #[arg(long, env = "EDU_BIND", default_value = "127.0.0.1:8000")]
    pub bind: SocketAddr,
    /// Do not apply pending migrations at start (for deployments that run `edu migrate` as a release step).
    #[arg(long)]
    pub no_migrate: bool,
}

struct Serve {
    bind: SocketAddr,
    config: Config,
}

impl Job for Serve {
    async fn run<S: Store>(self, platform: Platform<S>) -> anyhow::Result<()> {
        if let Some(admin) = self.config.admin.clone() {
            let iin = admin.iin.masked();
            if platform
                .bootstrap_admin(admin)
                .await
                .context("could not create the bootstrap administrator")?
            {
                tracing::info!(iin = %iin, "created the bootstrap administrator");
            }
        }
        let files = platform.files().context("no file store is configured")?.clone();
        files
            .check()
            .await
            .with_context(|| format!("the file store ({files:?}) does not answer"))?;
        let listener = tokio::net::TcpListener::bind(self.bind)
            .await
            .with_context(|| format!("could not listen on {}", self.bind))?;
        let options = edu_http::Options {
            cors_origins: self.config.cors_origins.clone(),
            api_docs: self.config.api_docs,
            default_lang: self.config.lang,
            ..edu_http::Options::default()
        };
        tracing::info!(
            address = %listener.local_addr()?,
            database = ?self.config.database,
            files = ?files,
            "serving"
        );
        let sweeper = tokio::spawn(sweep_interrupted_uploads(platform.clone()));
        let closer = tokio::spawn(close_expired_attempts(platform.clone()));
        let served = edu_http::serve_with(platform, listener, options, shutdown_signal()).await;
        sweeper.abort();
        closer.abort();
        served?;
        Ok(())
    }
}

pub async fn run(args: Args, config: Config) -> anyhow::Result<()> {
    for warning in &config.warnings {
        tracing::warn!("{warning}");
    }
    let migrate = !args.no_migrate;
    let job = Serve {
        bind: args.bind,
        config: config.clone(),
    };
    with_platform(&config, migrate, job).await
}

/// Temporary files of uploads cut off by a crash are removed once they are an hour old (an
/// upload still running in another process is never that old), checked every ten minutes.
async fn sweep_interrupted_uploads<S: Store>(platform: Platform<S>) {
    const AGE: std::time::Duration = std::time::Duration::from_secs(3600);
    let mut every = tokio::time::interval(std::time::Duration::from_secs(600));
    loop {
        every.tick().await;
        match platform.sweep_interrupted_uploads(AGE).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(removed = n, "removed temporary files of interrupted uploads"),
            Err(e) => tracing::warn!(error = %e, "could not sweep interrupted uploads"),
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
