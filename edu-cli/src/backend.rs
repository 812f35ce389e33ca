//! The one place that picks the database from `DATABASE_URL`; everything else is generic.

use anyhow::Context;
use edu_core::config::{Config, DatabaseUrl};
use edu_core::{PgStore, Platform, SqliteStore, Store};

/// Work to do with a platform, whichever backend it runs on.
pub trait Job {
    fn run<S: Store>(self, platform: Platform<S>) -> impl Future<Output = anyhow::Result<()>> + Send;
}

/// Connects to the configured database and runs `job` on it.
pub async fn with_platform<J: Job>(config: &Config, migrate: bool, job: J) -> anyhow::Result<()> {
    let secret = config
        .resolve_secret()
        .context("could not read or create the signing key in EDU_DATA_DIR")?;
    let mut platform_config = config.platform_config(secret);
    platform_config.files = Some(
        config
            .file_store()
            .context("could not open the file store (EDU_FILES_URL / EDU_FILES_DIR)")?,
    );
    match &config.database {
        DatabaseUrl::Postgres(url) => {
            let store = PgStore::connect(url, config.pool)
                .await
                .with_context(|| format!("could not connect to PostgreSQL at {:?}", config.database))?;
            prepare(&store, migrate).await?;
            job.run(Platform::new(store, platform_config)).await
        }
        DatabaseUrl::Sqlite(url) => {
            let store = SqliteStore::connect(url, config.pool)
                .await
                .with_context(|| format!("could not open the SQLite database {url}"))?;
            prepare(&store, migrate).await?;
            job.run(Platform::new(store, platform_config)).await
        }
    }
}

async fn prepare<S: Store>(store: &S, migrate: bool) -> anyhow::Result<()> {
    if migrate {
        store.migrate().await.context("could not apply database migrations")?;
    }
    Ok(())
}

struct Nothing;

impl Job for Nothing {
    async fn run<S: Store>(self, _: Platform<S>) -> anyhow::Result<()> {
        Ok(())
    }
}

/// `edu migrate`.
pub async fn migrate(config: &Config) -> anyhow::Result<()> {
    with_platform(config, true, Nothing).await?;
    tracing::info!(database = ?config.database, "migrations applied");
    Ok(())
}
