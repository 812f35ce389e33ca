//! The SQL shared by both backends. PostgreSQL and SQLite accept the same statements here
//! (`$n` parameters, `RETURNING`, `ON CONFLICT`); what differs is passed in as literals.

macro_rules! user_columns {
    () => {
        "id, iin, full_name, phone, role, password_hash, photo, must_change_password, token_version, created_at"
    };
}
pub(crate) use user_columns;

/// Implements `Store` for `$store` (a struct with a `pool` field).
///
/// `begin_write` starts a transaction that holds the write lock from its first statement;
/// `for_update` locks a selected row where the database supports row locks.
macro_rules! impl_sql_store {
    ($store:ty, migrator = $migrator:expr, begin_write = $begin:literal, for_update = $for_update:literal) => {
        impl $crate::store::Store for $store {
            async fn migrate(&self) -> $crate::store::StoreResult<()> {
                $migrator.run(&self.pool).await?;
                Ok(())
            }

            async fn ping(&self) -> $crate::store::StoreResult<()> {
                sqlx::query("SELECT 1").execute(&self.pool).await?;
                Ok(())
            }

            async fn insert_user(
                &self,
                u: &$crate::domain::NewUser,
                now: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::StoreResult<$crate::domain::User> {
                let row: $crate::store::rows::UserRow = sqlx::query_as(concat!(
                    "INSERT INTO users (iin, full_name, phone, role, password_hash, must_change_password, token_version, created_at) ",
                    "VALUES ($1, $2, $3, $4, $5, $6, 0, $7) RETURNING ",
                    $crate::store::sql::user_columns!()
                ))
                .bind(u.iin.as_str())
                .bind(&u.full_name)
                .bind(u.phone.as_ref().map(|p| p.as_str()))
                .bind(u.role.as_str())
                .bind(&u.password_hash)
                .bind(u.must_change_password)
                .bind(now)
                .fetch_one(&self.pool)
                .await?;
                row.try_into()
            }

            async fn user_by_iin(
                &self,
                iin: &$crate::domain::Iin,
            ) -> $crate::store::StoreResult<Option<$crate::domain::User>> {
                let row: Option<$crate::store::rows::UserRow> = sqlx::query_as(concat!(
                    "SELECT ", $crate::store::sql::user_columns!(), " FROM users WHERE iin = $1"
                ))
                .bind(iin.as_str())
                .fetch_optional(&self.pool)
                .await?;
                row.map(TryInto::try_into).transpose()
            }

            async fn user_by_id(
                &self,
                id: $crate::domain::UserId,
            ) -> $crate::store::StoreResult<Option<$crate::domain::User>> {
                let row: Option<$crate::store::rows::UserRow> = sqlx::query_as(concat!(
                    "SELECT ", $crate::store::sql::user_columns!(), " FROM users WHERE id = $1"
                ))
                .bind(id.0)
                .fetch_optional(&self.pool)
                .await?;
                row.map(TryInto::try_into).transpose()
            }

            async fn list_users(
                &self,
                page: $crate::domain::Page,
            ) -> $crate::store::StoreResult<(Vec<$crate::domain::User>, i64)> {
                let rows: Vec<$crate::store::rows::UserRow> = sqlx::query_as(concat!(
                    "SELECT ", $crate::store::sql::user_columns!(), " FROM users ORDER BY id LIMIT $1 OFFSET $2"
                ))
                .bind(page.list_limit())
                .bind(page.offset())
                .fetch_all(&self.pool)
                .await?;
                let (total,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM users").fetch_one(&self.pool).await?;
                let users = rows.into_iter().map(TryInto::try_into).collect::<Result<Vec<_>, _>>()?;
                Ok((users, total))
            }

            async fn delete_user(&self, id: $crate::domain::UserId) -> $crate::store::StoreResult<bool> {
                let done = sqlx::query("DELETE FROM users WHERE id = $1").bind(id.0).execute(&self.pool).await?;
                Ok(done.rows_affected() > 0)
            }

            async fn set_phone(
                &self,
                id: $crate::domain::UserId,
                phone: Option<&$crate::domain::Phone>,
            ) -> $crate::store::StoreResult<$crate::domain::User> {
                let row: $crate::store::rows::UserRow = sqlx::query_as(concat!(
                    "UPDATE users SET phone = $2 WHERE id = $1 RETURNING ", $crate::store::sql::user_columns!()
                ))
                .bind(id.0)
                .bind(phone.map(|p| p.as_str()))
                .fetch_one(&self.pool)
                .await?;
                row.try_into()
            }

            async fn set_photo(
                &self,
                id: $crate::domain::UserId,
                key: Option<&str>,
            ) -> $crate::store::StoreResult<$crate::domain::User> {
                let row: $crate::store::rows::UserRow = sqlx::query_as(concat!(
                    "UPDATE users SET photo = $2 WHERE id = $1 RETURNING ", $crate::store::sql::user_columns!()
                ))
                .bind(id.0)
                .bind(key)
                .fetch_one(&self.pool)
                .await?;
                row.try_into()
            }

            async fn set_password(
                &self,
                id: $crate::domain::UserId,
                hash: &str,
                must_change: bool,
                now: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::StoreResult<$crate::domain::User> {
                let mut tx = self.pool.begin_with($begin).await?;
                let row: $crate::store::rows::UserRow = sqlx::query_as(concat!(
                    "UPDATE users SET password_hash = $2, must_change_password = $3, token_version = token_version + 1 ",
                    "WHERE id = $1 RETURNING ", $crate::store::sql::user_columns!()
                ))
                .bind(id.0)
                .bind(hash)
                .bind(must_change)
                .fetch_one(&mut *tx)
                .await?;
                sqlx::query("UPDATE refresh_tokens SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL")
                    .bind(id.0)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                row.try_into()
            }

            async fn revoke_tokens(
                &self,
                id: $crate::domain::UserId,
                now: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::StoreResult<()> {
                let mut tx = self.pool.begin_with($begin).await?;
                let done = sqlx::query("UPDATE users SET token_version = token_version + 1 WHERE id = $1")
                    .bind(id.0)
                    .execute(&mut *tx)
                    .await?;
                if done.rows_affected() == 0 {
                    return Err($crate::error::StoreError::NotFound);
                }
                sqlx::query("UPDATE refresh_tokens SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL")
                    .bind(id.0)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn keep_session(
                &self,
                user: $crate::domain::UserId,
                family: &str,
                min_version: i64,
                version: i64,
            ) -> $crate::store::StoreResult<()> {
                sqlx::query(concat!(
                    "INSERT INTO kept_sessions (user_id, family, min_version, version) VALUES ($1, $2, $3, $4) ",
                    "ON CONFLICT (user_id) DO UPDATE SET family = excluded.family, ",
                    "min_version = excluded.min_version, version = excluded.version"
                ))
                .bind(user.0)
                .bind(family)
                .bind(min_version)
                .bind(version)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn kept_session(
                &self,
                user: $crate::domain::UserId,
            ) -> $crate::store::StoreResult<Option<$crate::store::KeptSession>> {
                let row: Option<(String, i64, i64)> =
                    sqlx::query_as("SELECT family, min_version, version FROM kept_sessions WHERE user_id = $1")
                        .bind(user.0)
                        .fetch_optional(&self.pool)
                        .await?;
                Ok(row.map(|(family, min_version, version)| $crate::store::KeptSession {
                    family,
                    min_version,
                    version,
                }))
            }

            async fn insert_refresh_token(&self, t: &$crate::store::RefreshToken) -> $crate::store::StoreResult<()> {
                sqlx::query(concat!(
                    "INSERT INTO refresh_tokens (user_id, family, token_hash, token_version, expires_at, created_at) ",
                    "VALUES ($1, $2, $3, $4, $5, $6)"
                ))
                .bind(t.user_id.0)
                .bind(&t.family)
                .bind(&t.digest)
                .bind(t.token_version)
                .bind(t.expires_at)
                .bind(t.created_at)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn use_refresh_token(
                &self,
                digest: &str,
                now: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::StoreResult<$crate::store::RefreshUse> {
                let mut tx = self.pool.begin_with($begin).await?;
                let spent: Option<$crate::store::rows::RefreshRow> = sqlx::query_as(concat!(
                    "UPDATE refresh_tokens SET used_at = $2 ",
                    "WHERE token_hash = $1 AND used_at IS NULL AND revoked_at IS NULL ",
                    "RETURNING user_id, family, token_hash, token_version, expires_at, created_at"
                ))
                .bind(digest)
                .bind(now)
                .fetch_optional(&mut *tx)
                .await?;
                let outcome = match spent {
                    Some(r) => $crate::store::RefreshUse::Fresh($crate::store::RefreshToken {
                        user_id: $crate::domain::UserId(r.user_id),
                        family: r.family,
                        digest: r.token_hash,
                        token_version: r.token_version,
                        expires_at: r.expires_at,
                        created_at: r.created_at,
                    }),
                    None => {
                        let family: Option<(String,)> =
                            sqlx::query_as("SELECT family FROM refresh_tokens WHERE token_hash = $1")
                                .bind(digest)
                                .fetch_optional(&mut *tx)
                                .await?;
                        match family {
                            Some((family,)) => {
                                sqlx::query("UPDATE refresh_tokens SET revoked_at = $2 WHERE family = $1 AND revoked_at IS NULL")
                                    .bind(&family)
                                    .bind(now)
                                    .execute(&mut *tx)
                                    .await?;
                                $crate::store::RefreshUse::Reused
                            }
                            None => $crate::store::RefreshUse::Unknown,
                        }
                    }
                };
                tx.commit().await?;
                Ok(outcome)
            }

            async fn throttle_state(&self, key: &str) -> $crate::store::StoreResult<$crate::auth::ThrottleState> {
                let row: Option<$crate::store::rows::ThrottleRow> =
                    sqlx::query_as("SELECT failures, locked_until FROM login_attempts WHERE throttle_key = $1")
                        .bind(key)
                        .fetch_optional(&self.pool)
                        .await?;
                Ok(row.map(Into::into).unwrap_or_default())
            }

            async fn throttle_fail(
                &self,
                key: &str,
                policy: &$crate::auth::ThrottlePolicy,
                now: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::StoreResult<$crate::auth::ThrottleState> {
                // Insert first so that the row exists to be locked: the read-modify-write below is
                // serialised across every process sharing the database.
                let mut tx = self.pool.begin_with($begin).await?;
                sqlx::query(concat!(
                    "INSERT INTO login_attempts (throttle_key, failures, locked_until, updated_at) ",
                    "VALUES ($1, '[]', NULL, $2) ON CONFLICT (throttle_key) DO NOTHING"
                ))
                .bind(key)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                let row: $crate::store::rows::ThrottleRow = sqlx::query_as(concat!(
                    "SELECT failures, locked_until FROM login_attempts WHERE throttle_key = $1", $for_update
                ))
                .bind(key)
                .fetch_one(&mut *tx)
                .await?;
                let state = $crate::auth::ThrottleState::from(row).fail(policy, now);
                let failures = serde_json::to_string(&state.failures).map_err(|e| $crate::error::StoreError::Other(Box::new(e)))?;
                sqlx::query("UPDATE login_attempts SET failures = $2, locked_until = $3, updated_at = $4 WHERE throttle_key = $1")
                    .bind(key)
                    .bind(failures)
                    .bind(state.locked_until)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(state)
            }

            async fn throttle_clear(&self, key: &str) -> $crate::store::StoreResult<()> {
                sqlx::query("DELETE FROM login_attempts WHERE throttle_key = $1")
                    .bind(key)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn audit(&self, e: &$crate::store::AuditEntry) -> $crate::store::StoreResult<()> {
                sqlx::query(concat!(
                    "INSERT INTO audit_log (actor_id, action, target, before_value, after_value, at) ",
                    "VALUES ($1, $2, $3, $4, $5, $6)"
                ))
                .bind(e.actor.map(|a| a.0))
                .bind(e.action)
                .bind(&e.target)
                .bind(e.before.as_ref().map(|v| v.to_string()))
                .bind(e.after.as_ref().map(|v| v.to_string()))
                .bind(e.at)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            $crate::store::academic_sql::academic_methods!(begin_write = $begin);
            $crate::store::files_sql::files_methods!(begin_write = $begin, for_update = $for_update);
            $crate::store::quiz_sql::quiz_methods!(begin_write = $begin, for_update = $for_update);
            $crate::store::grades_sql::grades_methods!();
        }

        impl $store {
            $crate::store::files_sql::files_helpers!();
        }
    };
}
pub(crate) use impl_sql_store;
