use std::str::FromStr;

use sqlx::PgPool;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use super::PoolSettings;
use super::sql::impl_sql_store;
use crate::error::StoreError;

static MIGRATOR: Migrator = sqlx::migrate!("../migrations/postgres");

/// The production backend.
#[derive(Clone, Debug)]
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// Connects to `postgres://…`, `postgresql://…` or the legacy `postgresql+asyncpg://…`.
    pub async fn connect(url: &str, pool: PoolSettings) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(&normalize_url(url))?;
        Self::connect_with(options, pool).await
    }

    pub async fn connect_with(options: PgConnectOptions, pool: PoolSettings) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(pool.max_connections)
            .acquire_timeout(pool.acquire_timeout)
            // A connection that broke while idle (the server restarted) is found out and replaced
            // before a request gets it, so the first request after an outage succeeds.
            .test_before_acquire(true)
            .connect_with(options)
            .await?;
        Ok(Self { pool })
    }

    pub fn from_pool(pool: PgPool) -> Self {
        Self { pool }
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

/// Maps the URL forms accepted by `DATABASE_URL` to the one the driver reads.
pub fn normalize_url(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) if scheme.starts_with("postgresql+") || scheme == "postgresql" => {
            format!("postgres://{rest}")
        }
        _ => url.to_owned(),
    }
}

impl_sql_store!(
    PgStore,
    migrator = MIGRATOR,
    begin_write = "BEGIN",
    for_update = " FOR UPDATE"
);

#[cfg(test)]
mod tests {
    #[test]
    fn legacy_urls() {
        assert_eq!(
            super::normalize_url("postgresql+asyncpg://u:p@h:5432/db"),
            "postgres://u:p@h:5432/db"
        );
        assert_eq!(super::normalize_url("postgresql://h/db"), "postgres://h/db");
        assert_eq!(super::normalize_url("postgres://h/db"), "postgres://h/db");
    }
}
