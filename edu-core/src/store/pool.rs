use std::time::Duration;

/// Connection pool limits (`DB_POOL_SIZE + DB_MAX_OVERFLOW` connections, `DB_POOL_TIMEOUT` seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolSettings {
    pub max_connections: u32,
    pub acquire_timeout: Duration,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self {
            max_connections: 15,
            acquire_timeout: Duration::from_secs(30),
        }
    }
}
