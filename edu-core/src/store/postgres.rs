use std::str::FromStr;

use sqlx::PgPool;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use super::sql::impl_sql_store;
use super::{PoolSettings, Pooled, Pooler};
use crate::error::StoreError;

static MIGRATOR: Migrator = sqlx::migrate!("../migrations/postgres");

/// The production backend.
#[derive(Clone, Debug)]
pub struct PgStore {
    pool: PgPool,
    pooler: Pooler,
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
        let options = match pool.pooler {
            Pooler::None => options,
            // A transaction-mode pooler hands each transaction to whichever server connection is
            // free, which has never seen the statements this connection prepared before.
            Pooler::Transaction => options.statement_cache_capacity(0),
        };
        let connected = PgPoolOptions::new()
            .max_connections(pool.max_connections)
            .acquire_timeout(pool.acquire_timeout)
            // A connection that broke while idle (the server restarted) is found out and replaced
            // before a request gets it, so the first request after an outage succeeds.
            .test_before_acquire(true)
            .connect_with(options.clone())
            .await;
        match connected {
            Ok(connected) => Ok(Self {
                pool: connected,
                pooler: pool.pooler,
            }),
            Err(e) => Err(explain_connect(&options, e).await),
        }
    }

    /// A store on a pool opened elsewhere, which reaches PostgreSQL directly.
    pub fn from_pool(pool: PgPool) -> Self {
        Self {
            pool,
            pooler: Pooler::None,
        }
    }

    /// Where statements outside a transaction run.
    pub(crate) fn pooled(&self) -> Pooled<'_, sqlx::Postgres> {
        Pooled::new(&self.pool, self.pooler)
    }

    /// Applies the migrations not yet applied. Through a transaction-mode pooler they run in one
    /// transaction, so that the migration lock and every statement stay on one server connection.
    async fn apply_migrations(&self) -> Result<(), StoreError> {
        match self.pooler {
            Pooler::None => MIGRATOR.run(&self.pool).await?,
            Pooler::Transaction => {
                let mut tx = self.pool.begin().await?;
                // `run` on a borrowed connection trips the compiler's lifetime inference in an
                // async trait method; `run_direct` is the same without the acquiring.
                MIGRATOR.run_direct(None, &mut *tx, false).await?;
                tx.commit().await?;
            }
        }
        Ok(())
    }

    /// The connection pool, for queries the [`Store`](super::Store) trait does not offer.
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

impl_sql_store!(PgStore, begin_write = "BEGIN", for_update = " FOR UPDATE");

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
