use std::time::Duration;

/// What a storage backend can report, independent of the database behind it.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No row matches.
    #[error("not found")]
    NotFound,
    /// A uniqueness or reference rule of the schema refused the change.
    #[error("conflict on {constraint}")]
    Conflict {
        /// The constraint's name (PostgreSQL) or the columns it covers (SQLite, `users.iin`).
        constraint: String,
    },
    /// The database cannot be reached: the connection was refused or lost, none came free within
    /// the pool's wait, the server is shutting down or starting. The same call may work shortly.
    #[error(transparent)]
    Unavailable(Box<dyn std::error::Error + Send + Sync>),
    /// Any other failure of the database or the driver.
    #[error(transparent)]
    Other(#[from] Box<dyn std::error::Error + Send + Sync>),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        crate::telemetry::db_error(&e);
        match e {
            sqlx::Error::RowNotFound => StoreError::NotFound,
            sqlx::Error::Database(db) if db.is_unique_violation() || db.is_foreign_key_violation() => {
                // PostgreSQL names the constraint; SQLite says "UNIQUE constraint failed: users.iin".
                let constraint = db
                    .constraint()
                    .map(str::to_owned)
                    .or_else(|| db.message().rsplit_once(": ").map(|(_, c)| c.to_owned()))
                    .unwrap_or_else(|| db.message().to_owned());
                StoreError::Conflict { constraint }
            }
            e if database_away(&e) => StoreError::Unavailable(Box::new(e)),
            other => StoreError::Other(Box::new(other)),
        }
    }
}

/// Whether an error says that the database is away rather than that the request went wrong.
pub(crate) fn database_away(e: &sqlx::Error) -> bool {
    match e {
        // No connection within the pool's wait: refused, unreachable, or all of them busy.
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::WorkerCrashed => true,
        // The connection broke under a query (reset, closed, timed out).
        sqlx::Error::Io(_) | sqlx::Error::Tls(_) => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|c| sqlstate_away(&c)),
        _ => false,
    }
}

/// PostgreSQL's codes for a server that is going, gone or not yet there: class 08 (connection
/// exception), 57P01 "terminating connection due to administrator command", 57P02 crash
/// shutdown, 57P03 "the database system is starting up / shutting down", 53300 too many
/// connections.
fn sqlstate_away(code: &str) -> bool {
    code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03" | "53300")
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        StoreError::Other(Box::new(e))
    }
}

/// Every way a `Platform` operation can fail. One place in the HTTP adapter maps these to responses.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No valid credentials: missing, expired or tampered token, wrong password.
    #[error("{0}")]
    Unauthorized(String),
    /// A genuine access token past its expiry: the client should refresh it, not log out.
    #[error("the access token has expired")]
    TokenExpired,
    /// Authenticated, but this principal may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// The account must change its password before anything but the password change, its own
    /// profile and logging out.
    #[error("change your password to continue")]
    PasswordChangeRequired,
    /// The account is suspended by an administrator.
    #[error("this account is suspended; contact an administrator")]
    Suspended,
    /// What was asked for does not exist, or is not visible to this principal; says what.
    #[error("{0}")]
    NotFound(String),
    /// The input is well-formed but breaks a rule (wrong length, unknown role, …).
    #[error("{0}")]
    Validation(String),
    /// The request cannot be carried out in the current state.
    #[error("{0}")]
    BadRequest(String),
    /// The change clashes with existing data (a taken IIN, name or title); says with what.
    #[error("{0}")]
    Conflict(String),
    /// An upload (or a request body) larger than its limit.
    #[error("the upload is larger than {limit} bytes")]
    TooLarge {
        /// The largest size accepted, in bytes.
        limit: u64,
    },
    /// A file of a type that is not accepted here, or not what its name says.
    #[error("{0}")]
    UnsupportedMedia(String),
    /// The IIN is locked by the login throttle.
    #[error("too many failed login attempts; try again in {} minute(s)", minutes_left(*retry_after))]
    Locked {
        /// Time until the lock ends.
        retry_after: Duration,
    },
    /// One address made too many attempts.
    #[error("too many requests; try again later")]
    TooManyRequests {
        /// Time until the address may try again.
        retry_after: Duration,
    },
    /// Something the platform depends on (the database, the file store) cannot be reached right
    /// now; the same request may succeed in a few seconds. Logged with its cause, never shown.
    #[error("the service is temporarily unavailable; try again in a few seconds")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// A fault that is not the caller's: logged with its cause, never shown.
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Whole minutes left, rounded up and never zero.
pub fn minutes_left(d: Duration) -> u64 {
    d.as_secs().div_ceil(60).max(1)
}

impl Error {
    /// [`Error::NotFound`] with the message "`what` not found".
    pub fn not_found(what: &str) -> Self {
        Error::NotFound(format!("{what} not found"))
    }

    /// [`Error::Internal`] wrapping `e`.
    pub fn internal(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        Error::Internal(Box::new(e))
    }

    /// A stable machine-readable code for the `code` field of error bodies.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Unauthorized(_) => "unauthorized",
            Error::TokenExpired => "token_expired",
            Error::Forbidden(_) => "forbidden",
            Error::PasswordChangeRequired => "password_change_required",
            Error::Suspended => "account_suspended",
            Error::NotFound(_) => "not_found",
            Error::Validation(_) => "validation_error",
            Error::BadRequest(_) => "bad_request",
            Error::Conflict(_) => "conflict",
            Error::TooLarge { .. } => "payload_too_large",
            Error::UnsupportedMedia(_) => "unsupported_media_type",
            Error::Locked { .. } => "locked",
            Error::TooManyRequests { .. } => "too_many_requests",
            Error::Unavailable(_) => "service_unavailable",
            Error::Internal(_) => "internal_error",
        }
    }
}

impl From<crate::files::FileError> for Error {
    fn from(e: crate::files::FileError) -> Self {
        use crate::files::FileError;
        match e {
            FileError::TooLarge { limit } => Error::TooLarge { limit },
            FileError::Rejected(m) => Error::UnsupportedMedia(m),
            FileError::Interrupted(m) => Error::BadRequest(format!("the upload was interrupted: {m}")),
            FileError::NotFound => Error::not_found("file"),
            FileError::Storage(e) if crate::files::store_away(&e) => Error::Unavailable(Box::new(e)),
            FileError::Storage(e) => Error::Internal(Box::new(e)),
            e @ FileError::Config(_) => Error::Internal(Box::new(e)),
        }
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => Error::NotFound("not found".into()),
            StoreError::Conflict { constraint } => {
                Error::Conflict(format!("conflicts with existing data ({constraint})"))
            }
            StoreError::Unavailable(e) => Error::Unavailable(e),
            StoreError::Other(e) => Error::Internal(e),
        }
    }
}

/// The result of a `Platform` operation.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minutes_never_zero() {
        assert_eq!(minutes_left(Duration::from_secs(0)), 1);
        assert_eq!(minutes_left(Duration::from_secs(1)), 1);
        assert_eq!(minutes_left(Duration::from_secs(60)), 1);
        assert_eq!(minutes_left(Duration::from_secs(61)), 2);
        assert_eq!(minutes_left(Duration::from_secs(300)), 5);
    }

    #[test]
    fn a_database_that_is_away_is_unavailable_not_internal() {
        for e in [
            sqlx::Error::PoolTimedOut,
            sqlx::Error::Io(std::io::ErrorKind::ConnectionRefused.into()),
            sqlx::Error::Io(std::io::ErrorKind::ConnectionReset.into()),
        ] {
            let shown = Error::from(StoreError::from(e));
            assert!(matches!(shown, Error::Unavailable(_)), "{shown:?}");
            assert_eq!(shown.code(), "service_unavailable");
        }
        for code in ["57P01", "57P03", "08006", "53300"] {
            assert!(sqlstate_away(code), "{code}");
        }
        for code in ["23505", "40001", "42P01", "57014"] {
            assert!(!sqlstate_away(code), "{code}");
        }
        let wrong = Error::from(StoreError::from(sqlx::Error::ColumnNotFound("x".into())));
        assert!(matches!(wrong, Error::Internal(_)), "{wrong:?}");
    }
}
