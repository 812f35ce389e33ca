//! The one place that picks the database from `DATABASE_URL`; everything else is generic.

use anyhow::{Context, bail};
use edu_core::config::{Config, DatabaseUrl};
use edu_core::files::{FileStore, StoreUrl};
use edu_core::{Marking, PgStore, Platform, SqliteStore, Store};

/// How a command opens the file store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileStoreUse {
    /// A local directory is created if missing (serving, migrating, importing).
    Create,
    /// A local directory must exist: commands that check or repair a store must never create an
    /// empty one in place of an unmounted or mistyped one.
    Existing,
}

/// Work to do with a platform, whichever backend it runs on.
pub trait Job {
    const FILES: FileStoreUse = FileStoreUse::Create;

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
    platform_config.files = Some(open_file_store(config, J::FILES)?);
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

fn open_file_store(config: &Config, usage: FileStoreUse) -> anyhow::Result<FileStore> {
    let opened = match (&config.files, usage) {
        (StoreUrl::Directory(dir), FileStoreUse::Existing) => FileStore::existing_local(dir),
        _ => config.file_store(),
    };
    opened.context("could not open the file store (EDU_FILES_URL / EDU_FILES_DIR)")
}

/// Gives the file store its marker when it evidently belongs to this database (see
/// [`Platform::mark_file_store`]); otherwise says loudly why not.
pub async fn mark_file_store<S: Store>(platform: &Platform<S>) -> anyhow::Result<()> {
    let files = platform.files()?;
    match platform.mark_file_store().await? {
        Marking::Present(_) => {}
        Marking::Created(marker) => {
            tracing::info!(files = ?files, store_id = %marker.store_id, "marked the file store as this deployment's")
        }
        Marking::Unmarked(why) => tracing::warn!(
            files = ?files,
            "the file store has no marker and was not given one: {why}. Until it has one, `edu fsck --repair` \
             refuses to run and stray files are not swept; `edu fsck --init-marker` marks it"
        ),
    }
    Ok(())
}

struct Migrate;

impl Job for Migrate {
    async fn run<S: Store>(self, platform: Platform<S>) -> anyhow::Result<()> {
        // Migrating is this command's work; a store that cannot be reached is only reported here
        // (`edu serve` refuses to start without it).
        if let Err(e) = mark_file_store(&platform).await {
            tracing::warn!(error = %format!("{e:#}"), "could not check the file store's marker");
        }
        Ok(())
    }
}

/// `edu migrate`.
pub async fn migrate(config: &Config) -> anyhow::Result<()> {
    with_platform(config, true, Migrate).await?;
    tracing::info!(database = ?config.database, "migrations applied");
    Ok(())
}
