use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::SqlitePool;
use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use super::sql::impl_sql_store;
use super::{PoolSettings, Pooled, Pooler};
use crate::error::StoreError;

static MIGRATOR: Migrator = sqlx::migrate!("../migrations/sqlite");

/// The embedded backend: one file, no server. Several processes may share the file.
#[derive(Clone, Debug)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if needed) `sqlite://path`, making the parent directory. The files are
    /// made readable by this user only: they hold password hashes.
    pub async fn connect(url: &str, pool: PoolSettings) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)?;
        if let Some(parent) = Path::new(options.get_filename()).parent()
            && !parent.as_os_str().is_empty()
        {
            crate::config::create_private_dir(parent).map_err(|e| StoreError::Other(Box::new(e)))?;
        }
        Self::connect_with(options, pool).await
    }

    /// Opens `sqlite://path` only if the database file exists, for commands that read: a
    /// mistyped path must not leave an empty database behind.
    pub async fn connect_existing(url: &str, pool: PoolSettings) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)?;
        Self::open(options, pool, false).await
    }

    /// Opens the database `options` name, creating it if missing (readable by this user only);
    /// WAL mode, foreign keys and the busy timeout are set on top of `options`.
    pub async fn connect_with(options: SqliteConnectOptions, pool: PoolSettings) -> Result<Self, StoreError> {
        Self::open(options, pool, true).await
    }

    async fn open(options: SqliteConnectOptions, pool: PoolSettings, create: bool) -> Result<Self, StoreError> {
        make_private(options.get_filename(), create).map_err(|e| StoreError::Other(Box::new(e)))?;
        let options = options
            .create_if_missing(create)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(15));
        let pool = SqlitePoolOptions::new()
            .max_connections(pool.max_connections)
            .acquire_timeout(pool.acquire_timeout)
            // A connection that broke while idle (the server restarted) is found out and replaced
            // before a request gets it, so the first request after an outage succeeds.
            .test_before_acquire(true)
            .connect_with(options)
            .await?;
        Ok(Self { pool })
    }

    /// The connection pool, for queries the [`Store`](super::Store) trait does not offer.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Where statements outside a transaction run.
    pub(crate) fn pooled(&self) -> Pooled<'_, sqlx::Sqlite> {
        Pooled::new(&self.pool, Pooler::None)
    }

    async fn apply_migrations(&self) -> Result<(), StoreError> {
        MIGRATOR.run(&self.pool).await?;
        Ok(())
    }

    /// Writes a consistent copy of the whole database to `file` (which must not exist) while it
    /// stays in use: SQLite's `VACUUM INTO`, one transaction's snapshot. The copy is made
    /// readable by its owner only.
    pub async fn backup_into(&self, file: &Path) -> Result<(), StoreError> {
        let target = file.to_str().ok_or_else(|| {
            StoreError::Other(format!("the backup path {} is not valid UTF-8", file.display()).into())
        })?;
        sqlx::query("VACUUM INTO ?").bind(target).execute(self.pooled()).await?;
        make_private(file, false).map_err(|e| StoreError::Other(Box::new(e)))
    }
}

/// The database file is created 0600 before SQLite opens it, so that its `-wal` and `-shm`
/// files, which SQLite creates with the database's mode, are private too; files an earlier
/// version left readable are tightened. In-memory databases have no file.
fn make_private(file: &Path, create: bool) -> std::io::Result<()> {
    let name = file.as_os_str();
    if name.is_empty() || file.to_string_lossy().starts_with("file:sqlx-in-memory") {
        return Ok(());
    }
    if create {
        crate::config::create_private_file(file)?;
    }
    for suffix in ["", "-wal", "-shm"] {
        let mut path = name.to_owned();
        path.push(suffix);
        crate::config::tighten_private_file(Path::new(&path))?;
    }
    Ok(())
}

// SQLite has no row locks: BEGIN IMMEDIATE takes the database write lock up front instead.
impl_sql_store!(SqliteStore, begin_write = "BEGIN IMMEDIATE", for_update = "");
