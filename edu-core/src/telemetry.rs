//! The numbers edu reports through the [`metrics`] facade: database errors, the bcrypt queue,
//! login locks and uploads. They cost next to nothing until a recorder is installed (`edu serve`
//! installs the Prometheus one when `EDU_METRICS_BIND` is set); an embedder may install its own.
//! The HTTP layer adds the request metrics (`edu_http::metrics`).

use std::time::Instant;

use crate::files::FileError;

/// Database errors by kind (`conflict`, `pool_timeout`, `connection`, `server_away`, `other`).
pub const DB_ERRORS: &str = "edu_db_errors_total";
/// Password hashes and checks waiting for (or holding) one of the bcrypt slots.
pub const BCRYPT_QUEUE: &str = "edu_bcrypt_queue_depth";
/// Seconds a hash or check waited for a bcrypt slot.
pub const BCRYPT_WAIT: &str = "edu_bcrypt_wait_seconds";
/// Password checks refused because an account or an address is locked, and failures that locked
/// an account (`key`: `account`, `address`).
pub const LOGIN_LOCKS: &str = "edu_login_locks_total";
/// Bytes of uploads accepted into the file store.
pub const UPLOAD_BYTES: &str = "edu_upload_bytes_total";
/// Uploads refused (`reason`: `too_large`, `type`, `interrupted`, `storage`).
pub const UPLOAD_REFUSALS: &str = "edu_upload_refusals_total";
/// Connections the database pool holds, and those of them idle; its configured maximum.
pub const DB_POOL_SIZE: &str = "edu_db_pool_connections";
/// Idle connections of the database pool (a gauge; see [`DB_POOL_SIZE`]).
pub const DB_POOL_IDLE: &str = "edu_db_pool_idle_connections";
/// The most connections the database pool may open (a gauge; see [`DB_POOL_SIZE`]).
pub const DB_POOL_MAX: &str = "edu_db_pool_max_connections";

/// Describes every metric of the core to the installed recorder (units and help texts).
pub fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!(DB_ERRORS, "Database errors by kind");
    describe_gauge!(
        BCRYPT_QUEUE,
        "Password hashes and checks waiting for or holding a bcrypt slot"
    );
    describe_histogram!(
        BCRYPT_WAIT,
        Unit::Seconds,
        "Time a password hash or check waited for a bcrypt slot"
    );
    describe_counter!(
        LOGIN_LOCKS,
        "Password checks refused by a lock, and failures that locked an account"
    );
    describe_counter!(
        UPLOAD_BYTES,
        Unit::Bytes,
        "Bytes of uploads accepted into the file store"
    );
    describe_counter!(UPLOAD_REFUSALS, "Uploads refused, by reason");
    describe_gauge!(DB_POOL_SIZE, "Connections the database pool holds");
    describe_gauge!(DB_POOL_IDLE, "Idle connections in the database pool");
    describe_gauge!(DB_POOL_MAX, "The database pool's maximum size");
}

/// Counts a database error by kind; a row not found is an answer, not an error.
pub(crate) fn db_error(e: &sqlx::Error) {
    let kind = match e {
        sqlx::Error::RowNotFound => return,
        sqlx::Error::Database(db) if db.is_unique_violation() || db.is_foreign_key_violation() => "conflict",
        sqlx::Error::PoolTimedOut => "pool_timeout",
        sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::PoolClosed | sqlx::Error::WorkerCrashed => "connection",
        e if crate::error::database_away(e) => "server_away",
        _ => "other",
    };
    metrics::counter!(DB_ERRORS, "kind" => kind).increment(1);
}

/// Counts a bcrypt job from the moment it queues; [`BcryptJob::started`] records its wait.
pub(crate) struct BcryptJob {
    queued: Instant,
}

impl BcryptJob {
    pub(crate) fn queued() -> BcryptJob {
        metrics::gauge!(BCRYPT_QUEUE).increment(1.0);
        BcryptJob { queued: Instant::now() }
    }

    pub(crate) fn started(&self) {
        metrics::histogram!(BCRYPT_WAIT).record(self.queued.elapsed().as_secs_f64());
    }
}

impl Drop for BcryptJob {
    fn drop(&mut self) {
        metrics::gauge!(BCRYPT_QUEUE).decrement(1.0);
    }
}

pub(crate) fn login_locked(key: &'static str) {
    metrics::counter!(LOGIN_LOCKS, "key" => key).increment(1);
}

pub(crate) fn upload<T>(result: &Result<T, FileError>, size: impl FnOnce(&T) -> u64) {
    match result {
        Ok(staged) => metrics::counter!(UPLOAD_BYTES).increment(size(staged)),
        Err(e) => {
            let reason = match e {
                FileError::TooLarge { .. } => "too_large",
                FileError::Rejected(_) => "type",
                FileError::Interrupted(_) => "interrupted",
                FileError::NotFound | FileError::Storage(_) | FileError::Config(_) => "storage",
            };
            metrics::counter!(UPLOAD_REFUSALS, "reason" => reason).increment(1);
        }
    }
}

/// Sets the pool gauges (called by whoever renders the metrics, just before it does).
pub fn pool_gauges(status: crate::store::PoolStatus) {
    metrics::gauge!(DB_POOL_SIZE).set(f64::from(status.size));
    metrics::gauge!(DB_POOL_IDLE).set(status.idle as f64);
    metrics::gauge!(DB_POOL_MAX).set(f64::from(status.max));
}

#[cfg(test)]
mod tests {
    use metrics_util::debugging::{DebugValue, DebuggingRecorder};

    use super::*;
    use crate::error::StoreError;

    /// Counter values by (name, labels), as a recorder saw them.
    fn counters(snapshot: metrics_util::debugging::Snapshot) -> Vec<(String, Vec<String>, u64)> {
        let mut out: Vec<_> = snapshot
            .into_vec()
            .into_iter()
            .filter_map(|(key, _, _, value)| match value {
                DebugValue::Counter(n) => {
                    let (_, key) = key.into_parts();
                    let labels = key.labels().map(|l| format!("{}={}", l.key(), l.value())).collect();
                    Some((key.name().to_owned(), labels, n))
                }
                _ => None,
            })
            .collect();
        out.sort();
        out
    }

    #[test]
    fn database_errors_are_counted_by_kind_and_rows_not_found_are_not_errors() {
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        metrics::with_local_recorder(&recorder, || {
            let _ = StoreError::from(sqlx::Error::PoolTimedOut);
            let _ = StoreError::from(sqlx::Error::PoolTimedOut);
            let _ = StoreError::from(sqlx::Error::Io(std::io::ErrorKind::ConnectionReset.into()));
            let _ = StoreError::from(sqlx::Error::RowNotFound);
            let _ = StoreError::from(sqlx::Error::Protocol("odd".into()));
        });
        assert_eq!(
            counters(snapshotter.snapshot()),
            [
                (DB_ERRORS.to_owned(), vec!["kind=connection".to_owned()], 1),
                (DB_ERRORS.to_owned(), vec!["kind=other".to_owned()], 1),
                (DB_ERRORS.to_owned(), vec!["kind=pool_timeout".to_owned()], 2),
            ]
        );
    }
}
