use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::SqlitePool;
use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use super::PoolSettings;
use super::sql::impl_sql_store;
use crate::error::StoreError;

static MIGRATOR: Migrator = sqlx::migrate!("../migrations/sqlite");

/// The embedded backend: one file, no server. Several processes may share the file.
#[derive(Clone, Debug)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if needed) `sqlite://path`, making the parent directory.
    pub async fn connect(url: &str, pool: PoolSettings) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)?;
        if let Some(parent) = Path::new(options.get_filename()).parent()
            && !parent.as_os_str().is_empty()
        {
            std::fs::create_dir_all(parent).map_err(|e| StoreError::Other(Box::new(e)))?;
        }
        Self::connect_with(options, pool).await
    }

    pub async fn connect_with(options: SqliteConnectOptions, pool: PoolSettings) -> Result<Self, StoreError> {
        let options = options
            .create_if_missing(true)
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

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

// SQLite has no row locks: BEGIN IMMEDIATE takes the database write lock up front instead.
impl_sql_store!(
    SqliteStore,
    migrator = MIGRATOR,
    begin_write = "BEGIN IMMEDIATE",
    for_update = ""
);
