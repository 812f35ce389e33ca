//! The SQL shared by both backends. PostgreSQL and SQLite accept the same statements here
//! (`$n` parameters, `RETURNING`, `ON CONFLICT`); what differs is passed in as literals.

macro_rules! user_columns {
    () => {
        "id, iin, full_name, phone, role, password_hash, photo, must_change_password, token_version, created_at, suspended_at"
    };
}
pub(crate) use user_columns;

/// Writes the audit entry `$entry` through `$executor`: a transaction's connection wherever the
/// change it records is written, so that both commit or neither does.
macro_rules! write_audit {
    ($executor:expr, $entry:expr) => {{
        let e: &$crate::store::AuditEntry = $entry;
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
        .execute($executor)
        .await
    }};
}
pub(crate) use write_audit;

/// Implements `Store` for `$store` (a struct with a `pool` field).
///
/// `begin_write` starts a transaction that holds the write lock from its first statement;
/// `for_update` locks a selected row where the database supports row locks.
macro_rules! impl_sql_store {
    ($store:ty, begin_write = $begin:literal, for_update = $for_update:literal) => {
        impl $crate::store::Store for $store {
            async fn migrate(&self) -> $crate::store::StoreResult<()> {
                self.apply_migrations().await
            }

            async fn ping(&self) -> $crate::store::StoreResult<()> {
                sqlx::query("SELECT 1").execute(self.pooled()).await?;
                Ok(())
            }

            fn pool_status(&self) -> $crate::store::PoolStatus {
                $crate::store::PoolStatus {
                    size: self.pool.size(),
                    idle: self.pool.num_idle(),
                    max: self.pool.options().get_max_connections(),
                }
            }

            async fn insert_user(
                &self,
                _admin: &$crate::policy::Admin,
                u: &$crate::domain::NewUser,
                now: chrono::DateTime<chrono::Utc>,
                audit: &$crate::store::AuditEntry,
            ) -> $crate::store::StoreResult<$crate::domain::User> {
                let mut tx = self.pool.begin_with($begin).await?;
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
                .fetch_one(&mut *tx)
                .await?;
                $crate::store::sql::write_audit!(&mut *tx, &audit.for_id(row.id))?;
                tx.commit().await?;
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
                .fetch_optional(self.pooled())
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
                .fetch_optional(self.pooled())
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
                .fetch_all(self.pooled())
                .await?;
                let (total,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM users").fetch_one(self.pooled()).await?;
                let users = rows.into_iter().map(TryInto::try_into).collect::<Result<Vec<_>, _>>()?;
                Ok((users, total))
            }

            async fn delete_user(
                &self,
                _admin: &$crate::policy::Admin,
                id: $crate::domain::UserId,
                audit: &$crate::store::AuditEntry,
            ) -> $crate::store::StoreResult<bool> {
                let mut tx = self.pool.begin_with($begin).await?;
                let done = sqlx::query("DELETE FROM users WHERE id = $1").bind(id.0).execute(&mut *tx).await?;
                if done.rows_affected() == 0 {
                    return Ok(false);
                }
                $crate::store::sql::write_audit!(&mut *tx, audit)?;
                tx.commit().await?;
                Ok(true)
            }

            async fn set_phone(
                &self,
                own: &$crate::policy::Own<$crate::domain::UserId>,
                phone: Option<&$crate::domain::Phone>,
            ) -> $crate::store::StoreResult<$crate::domain::User> {
                let id = own.id();
                let row: $crate::store::rows::UserRow = sqlx::query_as(concat!(
                    "UPDATE users SET phone = $2 WHERE id = $1 RETURNING ", $crate::store::sql::user_columns!()
                ))
                .bind(id.0)
                .bind(phone.map(|p| p.as_str()))
                .fetch_one(self.pooled())
                .await?;
                row.try_into()
            }

            async fn set_photo(
                &self,
                own: &$crate::policy::Own<$crate::domain::UserId>,
                key: Option<&str>,
            ) -> $crate::store::StoreResult<$crate::domain::User> {
                let id = own.id();
                let row: $crate::store::rows::UserRow = sqlx::query_as(concat!(
                    "UPDATE users SET photo = $2 WHERE id = $1 RETURNING ", $crate::store::sql::user_columns!()
                ))
                .bind(id.0)
                .bind(key)
                .fetch_one(self.pooled())
                .await?;
                row.try_into()
            }

            async fn set_password(
                &self,
                account: &$crate::policy::SelfOrAdmin<$crate::domain::UserId>,
                hash: &str,
                must_change: bool,
                now: chrono::DateTime<chrono::Utc>,
                audit: Option<&$crate::store::AuditEntry>,
            ) -> $crate::store::StoreResult<$crate::domain::User> {
                let id = account.id();
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
                // A new password makes the guesses at the old one moot: a reset unlocks the account.
                sqlx::query("DELETE FROM login_attempts WHERE throttle_key = $1")
                    .bind($crate::auth::throttle::account_key(&row.iin()))
                    .execute(&mut *tx)
                    .await?;
                if let Some(audit) = audit {
                    $crate::store::sql::write_audit!(&mut *tx, audit)?;
                }
                tx.commit().await?;
                row.try_into()
            }

            async fn update_user(
                &self,
                _admin: &$crate::policy::Admin,
                id: $crate::domain::UserId,
                change: &$crate::store::UserChange,
                now: chrono::DateTime<chrono::Utc>,
                audit: &$crate::store::AuditEntry,
            ) -> $crate::store::StoreResult<$crate::domain::User> {
                let mut tx = self.pool.begin_with($begin).await?;
                if change.role.is_some() {
                    // The administrators first, always in this order: two demotions wait for
                    // each other instead of both counting the other as the one left.
                    let _: Vec<(i64,)> =
                        sqlx::query_as(concat!("SELECT id FROM users WHERE role = 'admin' ORDER BY id", $for_update))
                            .fetch_all(&mut *tx)
                            .await?;
                }
                let row: Option<$crate::store::rows::UserRow> = sqlx::query_as(concat!(
                    "SELECT ", $crate::store::sql::user_columns!(), " FROM users WHERE id = $1", $for_update
                ))
                .bind(id.0)
                .fetch_optional(&mut *tx)
                .await?;
                let before: $crate::domain::User = row.ok_or($crate::error::StoreError::NotFound)?.try_into()?;
                let next = change.apply(&before);
                if before.role == $crate::domain::Role::Admin && next.role != $crate::domain::Role::Admin {
                    let (others,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM users WHERE role = 'admin' AND id <> $1")
                        .bind(id.0)
                        .fetch_one(&mut *tx)
                        .await?;
                    if others == 0 {
                        return Err($crate::error::StoreError::Conflict {
                            constraint: "last_admin".into(),
                        });
                    }
                }
                let suspends = before.suspended_at.is_none() && next.suspended_at.is_some();
                let row: $crate::store::rows::UserRow = sqlx::query_as(concat!(
                    "UPDATE users SET full_name = $2, phone = $3, role = $4, suspended_at = $5, ",
                    "token_version = token_version + $6 WHERE id = $1 RETURNING ",
                    $crate::store::sql::user_columns!()
                ))
                .bind(id.0)
                .bind(&next.full_name)
                .bind(next.phone.as_deref())
                .bind(next.role.as_str())
                .bind(next.suspended_at)
                .bind(i64::from(suspends))
                .fetch_one(&mut *tx)
                .await?;
                if suspends {
                    sqlx::query("UPDATE refresh_tokens SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL")
                        .bind(id.0)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                }
                let after: $crate::domain::User = row.try_into()?;
                if let Some(entry) = $crate::store::UserChange::record(&before, &after, audit) {
                    $crate::store::sql::write_audit!(&mut *tx, &entry)?;
                }
                tx.commit().await?;
                Ok(after)
            }

            async fn clear_throttle(
                &self,
                _admin: &$crate::policy::Admin,
                key: &str,
                audit: &$crate::store::AuditEntry,
            ) -> $crate::store::StoreResult<bool> {
                let mut tx = self.pool.begin_with($begin).await?;
                let done = sqlx::query("DELETE FROM login_attempts WHERE throttle_key = $1")
                    .bind(key)
                    .execute(&mut *tx)
                    .await?;
                $crate::store::sql::write_audit!(&mut *tx, audit)?;
                tx.commit().await?;
                Ok(done.rows_affected() > 0)
            }

            async fn administrators(&self) -> $crate::store::StoreResult<i64> {
                let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM users WHERE role = 'admin'")
                    .fetch_one(self.pooled())
                    .await?;
                Ok(n)
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
                .execute(self.pooled())
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
                        .fetch_optional(self.pooled())
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
                .execute(self.pooled())
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

            async fn throttle_update<T, F>(
                &self,
                keys: &[String],
                now: chrono::DateTime<chrono::Utc>,
                rule: F,
            ) -> $crate::store::StoreResult<T>
            where
                T: Send,
                F: FnOnce(&mut [$crate::auth::ThrottleState]) -> T + Send,
            {
                // Rows are inserted first so that they exist to be locked, and locked in key order
                // so that two attempts sharing keys cannot deadlock: the read-modify-write below
                // is serialised across every process sharing the database.
                let mut order: Vec<usize> = (0..keys.len()).collect();
                order.sort_by(|a, b| keys[*a].cmp(&keys[*b]));
                let mut states = vec![$crate::auth::ThrottleState::default(); keys.len()];
                let mut tx = self.pool.begin_with($begin).await?;
                for &i in &order {
                    sqlx::query(concat!(
                        "INSERT INTO login_attempts (throttle_key, failures, pending, locked_until, updated_at) ",
                        "VALUES ($1, '[]', '[]', NULL, $2) ON CONFLICT (throttle_key) DO NOTHING"
                    ))
                    .bind(&keys[i])
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                    let row: $crate::store::rows::ThrottleRow = sqlx::query_as(concat!(
                        "SELECT failures, pending, locked_until FROM login_attempts WHERE throttle_key = $1", $for_update
                    ))
                    .bind(&keys[i])
                    .fetch_one(&mut *tx)
                    .await?;
                    states[i] = row.into();
                }
                let answer = rule(&mut states);
                for &i in &order {
                    let state = &states[i];
                    if state.is_clear(now) {
                        sqlx::query("DELETE FROM login_attempts WHERE throttle_key = $1")
                            .bind(&keys[i])
                            .execute(&mut *tx)
                            .await?;
                        continue;
                    }
                    let failures = $crate::store::rows::to_json(&state.failures)?;
                    let pending = $crate::store::rows::to_json(&state.pending)?;
                    sqlx::query(
                        "UPDATE login_attempts SET failures = $2, pending = $3, locked_until = $4, updated_at = $5 WHERE throttle_key = $1",
                    )
                    .bind(&keys[i])
                    .bind(failures)
                    .bind(pending)
                    .bind(state.locked_until)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok(answer)
            }

            async fn audit(&self, e: &$crate::store::AuditEntry) -> $crate::store::StoreResult<()> {
                $crate::store::sql::write_audit!(self.pooled(), e)?;
                Ok(())
            }

            async fn audit_log(
                &self,
                filter: &$crate::domain::AuditFilter,
                page: $crate::domain::Page,
            ) -> $crate::store::StoreResult<(Vec<$crate::domain::AuditRecord>, i64)> {
                // Only the conditions given become SQL, each with its value bound.
                fn conditions<DB: sqlx::Database>(
                    q: &mut sqlx::QueryBuilder<DB>,
                    f: &$crate::domain::AuditFilter,
                    like: Option<String>,
                ) where
                    String: for<'t> sqlx::Encode<'t, DB> + sqlx::Type<DB>,
                    chrono::DateTime<chrono::Utc>: for<'t> sqlx::Encode<'t, DB> + sqlx::Type<DB>,
                {
                    q.push(" WHERE 1 = 1");
                    if let Some(actor) = &f.actor {
                        q.push(" AND u.iin = ").push_bind(actor.as_str().to_owned());
                    }
                    if let Some(like) = like {
                        q.push(" AND a.target LIKE ").push_bind(like).push(" ESCAPE '\\'");
                    }
                    if let Some(action) = f.action.as_deref() {
                        q.push(" AND a.action = ").push_bind(action.to_owned());
                    }
                    if let Some(since) = f.since {
                        q.push(" AND a.at >= ").push_bind(since);
                    }
                    if let Some(until) = f.until {
                        q.push(" AND a.at < ").push_bind(until);
                    }
                }
                let like = filter.target.as_deref().map(|t| {
                    let escaped = t.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
                    format!("{escaped}%")
                });
                let mut q = sqlx::QueryBuilder::new(concat!(
                    "SELECT a.id, a.at, a.actor_id, u.iin AS actor_iin, u.full_name AS actor_name, a.action, a.target, ",
                    "a.before_value, a.after_value FROM audit_log a LEFT JOIN users u ON u.id = a.actor_id"
                ));
                conditions(&mut q, filter, like.clone());
                q.push(" ORDER BY a.id DESC LIMIT ").push_bind(page.list_limit()).push(" OFFSET ").push_bind(page.offset());
                let rows: Vec<$crate::store::rows::AuditRow> = q.build_query_as().fetch_all(self.pooled()).await?;
                let mut count =
                    sqlx::QueryBuilder::new("SELECT COUNT(*) FROM audit_log a LEFT JOIN users u ON u.id = a.actor_id");
                conditions(&mut count, filter, like);
                let (total,): (i64,) = count.build_query_as().fetch_one(self.pooled()).await?;
                Ok((rows.into_iter().map(Into::into).collect(), total))
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
