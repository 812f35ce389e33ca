//! The one place that picks the database from `DATABASE_URL`; everything else is generic.

use anyhow::{Context, bail};
use edu_core::config::{Config, DatabaseUrl};
use edu_core::{PgStore, Platform, SqliteStore, Store};

/// Work to do with a platform, whichever backend it runs on.
pub trait Job {
    fn run<S: Store>(self, platform: Platform<S>) -> impl Future<Output = anyhow::Result<()>> + Send;
}

/// Connects to the configured database, creating a SQLite one if missing, and runs `job` on it.
pub async fn with_platform<J: Job>(config: &Config, migrate: bool, job: J) -> anyhow::Result<()> {
    run_on(config, migrate, true, job).await
}

/// Like [`with_platform`], for commands that read: a missing SQLite database is an error, never
/// created (an empty school would answer every question with "nothing").
pub async fn with_existing_platform<J: Job>(config: &Config, job: J) -> anyhow::Result<()> {
    if let Some(file) = config.database.sqlite_file()
        && !file.exists()
    {
        bail!(
            "no database at {} (DATABASE_URL); run `edu migrate` or `edu serve` first",
            file.display()
        );
    }
    run_on(config, true, false, job).await
}

async fn run_on<J: Job>(config: &Config, migrate: bool, create: bool, job: J) -> anyhow::Result<()> {
    if create {
        config.prepare_data_dir().with_context(|| {
            format!(
                "could not create the data directory {} (EDU_DATA_DIR)",
                config.data_dir.display()
            )
        })?;
    }
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
        DatabaseUrl::Postgres(_) => {
            let store = connect_postgres(config).await?;
            prepare(&store, migrate).await?;
            job.run(Platform::new(store, platform_config)).await
        }
        DatabaseUrl::Sqlite(url) => {
            let store = if create {
                SqliteStore::connect(url, config.pool).await
            } else {
                SqliteStore::connect_existing(url, config.pool).await
            };
            let store = store
                .with_context(|| format!("could not open the SQLite database {} (DATABASE_URL)", config.database))?;
            prepare(&store, migrate).await?;
            job.run(Platform::new(store, platform_config)).await
        }
    }
}

/// The PostgreSQL database of `DATABASE_URL`, named without its password in errors.
pub async fn connect_postgres(config: &Config) -> anyhow::Result<PgStore> {
    let DatabaseUrl::Postgres(url) = &config.database else {
        bail!("DATABASE_URL is not a PostgreSQL URL");
    };
    PgStore::connect(url, config.pool)
        .await
        .with_context(|| format!("could not connect to PostgreSQL at {} (DATABASE_URL)", config.database))
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
