use std::time::Duration;

/// Connection pool limits (`DB_POOL_SIZE + DB_MAX_OVERFLOW` connections, `DB_POOL_TIMEOUT` seconds).
///
/// `acquire_timeout` bounds everything a request waits for a connection: a free one from the pool,
/// or a new one while the database refuses or does not answer. Past it the request fails as
/// unavailable (503 with `Retry-After`), so it is short: a client should hear "try again" in
/// about two seconds rather than hang while the database is away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolSettings {
    /// Connections open at most (default 15).
    pub max_connections: u32,
    /// How long a request waits for a connection before it fails as unavailable (default 2 seconds).
    pub acquire_timeout: Duration,
    /// What stands between the pool and PostgreSQL (`EDU_PGBOUNCER`).
    pub pooler: Pooler,
}

/// What stands between edu's connections and PostgreSQL. SQLite ignores it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Pooler {
    /// PostgreSQL itself, or a pooler that keeps a server connection per client connection
    /// (PgBouncer's `session` mode), or one that follows prepared statements across server
    /// connections (PgBouncer 1.21 and later with `max_prepared_statements` above 0).
    #[default]
    None,
    /// A pooler in transaction mode that does not follow prepared statements (PgBouncer before
    /// 1.21, or `max_prepared_statements = 0`): statements are not cached, each statement outside
    /// a transaction runs in one of its own, and migrations run in one transaction. The pooler
    /// must forget a connection's statements between transactions (PgBouncer:
    /// `server_reset_query = DISCARD ALL` and `server_reset_query_always = 1`).
    Transaction,
}

impl Pooler {
    /// `EDU_PGBOUNCER`'s spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Pooler::None => "off",
            Pooler::Transaction => "transaction",
        }
    }
}

impl std::str::FromStr for Pooler {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "" | "off" | "none" | "session" => Ok(Pooler::None),
            "transaction" => Ok(Pooler::Transaction),
            other => Err(format!("{other:?} is not one of off, session, transaction")),
        }
    }
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self {
            max_connections: 15,
            acquire_timeout: Duration::from_secs(2),
            pooler: Pooler::None,
        }
    }
}

/// How a store's connection pool stands, for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PoolStatus {
    /// Connections open, in use or idle.
    pub size: u32,
    /// Connections open and idle.
    pub idle: usize,
    /// The most it may open.
    pub max: u32,
}
