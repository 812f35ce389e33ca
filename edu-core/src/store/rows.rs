//! Rows as both backends return them, and their conversion to domain values.

use chrono::{DateTime, Utc};

use crate::domain::{Iin, Role, User, UserId};
use crate::error::StoreError;

#[derive(sqlx::FromRow)]
pub(crate) struct UserRow {
    pub(crate) id: i64,
    iin: String,
    full_name: String,
    phone: Option<String>,
    role: String,
    password_hash: String,
    photo: Option<String>,
    must_change_password: bool,
    token_version: i64,
    created_at: DateTime<Utc>,
    suspended_at: Option<DateTime<Utc>>,
}

impl UserRow {
    pub(crate) fn iin(&self) -> &str {
        &self.iin
    }
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
            suspended_at: r.suspended_at,
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
    pub pending: String,
    pub locked_until: Option<DateTime<Utc>>,
}

impl From<ThrottleRow> for crate::auth::ThrottleState {
    fn from(r: ThrottleRow) -> Self {
        Self {
            // A garbled history is treated as no history rather than failing logins.
            failures: serde_json::from_str(&r.failures).unwrap_or_default(),
            pending: serde_json::from_str(&r.pending).unwrap_or_default(),
            locked_until: r.locked_until,
        }
    }
}

/// A value as the JSON text a column keeps.
pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> crate::store::StoreResult<String> {
    serde_json::to_string(value).map_err(|e| crate::error::StoreError::Other(Box::new(e)))
}

#[derive(sqlx::FromRow)]
pub(crate) struct AuditRow {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor_id: Option<i64>,
    pub actor_iin: Option<String>,
    pub actor_name: Option<String>,
    pub action: String,
    pub target: String,
    pub before_value: Option<String>,
    pub after_value: Option<String>,
}

impl From<AuditRow> for crate::domain::AuditRecord {
    fn from(r: AuditRow) -> Self {
        // Values are written by the platform as JSON; anything else is shown as the text it is.
        let value =
            |v: Option<String>| v.map(|text| serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)));
        Self {
            id: r.id,
            at: r.at,
            actor_id: r.actor_id.map(crate::domain::UserId),
            actor_iin: r.actor_iin,
            actor_name: r.actor_name,
            action: r.action,
            target: r.target,
            before: value(r.before_value),
            after: value(r.after_value),
        }
    }
}
