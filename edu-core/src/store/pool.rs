use std::time::Duration;

/// Connection pool limits (`DB_POOL_SIZE + DB_MAX_OVERFLOW` connections, `DB_POOL_TIMEOUT` seconds).
///
/// `acquire_timeout` bounds everything a request waits for a connection: a free one from the pool,
/// or a new one while the database refuses or does not answer. Past it the request fails as
/// unavailable (503 with `Retry-After`), so it is short: a client should hear "try again" in
/// about two seconds rather than hang while the database is away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolSettings {
    pub max_connections: u32,
    pub acquire_timeout: Duration,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self {
            max_connections: 15,
            acquire_timeout: Duration::from_secs(2),
        }
    }
}

/// How a store's connection pool stands, for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PoolStatus {
    /// Connections open, in use or idle.
    pub size: u32,
    pub idle: usize,
    /// The most it may open.
    pub max: u32,
}
