//! Rows as both backends return them, and their conversion to domain values.

use chrono::{DateTime, Utc};

use crate::domain::{Iin, Role, User, UserId};
use crate::error::StoreError;

#[derive(sqlx::FromRow)]
pub(crate) struct UserRow {
    id: i64,
    iin: String,
    full_name: String,
    phone: Option<String>,
    role: String,
    password_hash: String,
    photo: Option<String>,
    must_change_password: bool,
    token_version: i64,
    created_at: DateTime<Utc>,
}

impl TryFrom<UserRow> for User {
    type Error = StoreError;

    fn try_from(r: UserRow) -> Result<Self, Self::Error> {
        Ok(User {
            id: UserId(r.id),
            iin: Iin::parse(&r.iin).map_err(|e| StoreError::Other(Box::new(e)))?,
            full_name: r.full_name,
            phone: r.phone,
            role: r.role.parse::<Role>().map_err(|e| StoreError::Other(Box::new(e)))?,
            password_hash: r.password_hash,
            photo: r.photo,
            must_change_password: r.must_change_password,
            token_version: r.token_version,
            created_at: r.created_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct RefreshRow {
    pub user_id: i64,
    pub family: String,
    pub token_hash: String,
    pub token_version: i64,
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
pub(crate) struct ThrottleRow {
    pub failures: String,
    pub locked_until: Option<DateTime<Utc>>,
}

impl From<ThrottleRow> for crate::auth::ThrottleState {
    fn from(r: ThrottleRow) -> Self {
        Self {
            // A garbled history is treated as no history rather than failing logins.
            failures: serde_json::from_str(&r.failures).unwrap_or_default(),
            locked_until: r.locked_until,
        }
    }
}
