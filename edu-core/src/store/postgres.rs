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

    /// Opens the pool; a server that cannot be reached, a missing database or refused
    /// credentials are told in one line naming the host and port.
    pub async fn connect_with(options: PgConnectOptions, pool: PoolSettings) -> Result<Self, StoreError> {
        let connected = PgPoolOptions::new()
            .max_connections(pool.max_connections)
            .acquire_timeout(pool.acquire_timeout)
            // A connection that broke while idle (the server restarted) is found out and replaced
            // before a request gets it, so the first request after an outage succeeds.
            .test_before_acquire(true)
            .connect_with(options.clone())
            .await;
        match connected {
            Ok(pool) => Ok(Self { pool }),
            Err(e) => Err(explain_connect(&options, e).await),
        }
    }

    pub fn from_pool(pool: PgPool) -> Self {
        Self { pool }
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

/// Why the first connection failed, in words an operator can act on. A pool that timed out says
/// nothing of the cause, so one direct connection is tried for it.
async fn explain_connect(options: &PgConnectOptions, e: sqlx::Error) -> StoreError {
    use sqlx::Connection;
    let cause = match e {
        sqlx::Error::PoolTimedOut => match sqlx::PgConnection::connect_with(options).await {
            Ok(_) => sqlx::Error::PoolTimedOut,
            Err(direct) => direct,
        },
        other => other,
    };
    let (host, port) = (options.get_host(), options.get_port());
    let at = format!("{host}:{port}");
    let refused = |e: &sqlx::Error| {
        matches!(e, sqlx::Error::Io(io) if matches!(io.kind(),
            std::io::ErrorKind::ConnectionRefused | std::io::ErrorKind::NotFound | std::io::ErrorKind::TimedOut))
    };
    match &cause {
        e if refused(e) => StoreError::Unavailable(
            format!("connection refused at {at}: is PostgreSQL running and listening there?").into(),
        ),
        sqlx::Error::PoolTimedOut => {
            StoreError::Unavailable(format!("no connection to {at} within the pool's wait (DB_POOL_TIMEOUT)").into())
        }
        sqlx::Error::Database(db) if db.code().as_deref() == Some("3D000") => {
            let database = options.get_database().unwrap_or("edu");
            StoreError::Other(
                format!(
                    "database {database:?} does not exist at {at}; create it with `createdb -h {host} -p {port} -U {} {database}`",
                    options.get_username()
                )
                .into(),
            )
        }
        sqlx::Error::Database(db) => {
            StoreError::Other(format!("PostgreSQL at {at} refused the connection: {}", db.message()).into())
        }
        other => StoreError::Other(format!("could not connect to {at}: {other}").into()),
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
