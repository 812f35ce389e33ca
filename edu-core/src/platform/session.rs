//! Login, tokens, refresh, logout and password changes.

use std::net::IpAddr;

use serde::Serialize;

use super::Platform;
use crate::auth::throttle::{CHECK_DEADLINE, account_key, address_key};
use crate::auth::token::{new_refresh_token, refresh_token_digest};
use crate::auth::{Attempt, KeyKind, Principal, SessionRef, ThrottleKey};
use crate::domain::{Iin, Password, User, UserProfile};
use crate::error::{Error, Result};
use crate::store::{RefreshToken, RefreshUse, Store};

/// What the server knows of the caller's connection.
#[derive(Debug, Clone, Copy, Default)]
pub struct ClientInfo {
    /// The client's address (after trusted proxies), used as a login throttle key; `None` leaves only the account's key.
    pub address: Option<IpAddr>,
}

/// An access token and the refresh token that renews it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TokenPair {
    /// The signed JWT to send as `Authorization: Bearer …`.
    pub access_token: String,
    /// Always "bearer".
    pub token_type: &'static str,
    /// The opaque token that `Platform::refresh` exchanges, once, for the next pair.
    pub refresh_token: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
}

/// A successful login.
#[derive(Debug, Clone)]
pub struct Session {
    /// The new access and refresh tokens.
    pub tokens: TokenPair,
    /// The profile of the account logged in.
    pub user: UserProfile,
}

const WRONG_CREDENTIALS: &str = "incorrect IIN or password";

/// A reservation whose check has not been settled; dropped unsettled, it goes to the platform's
/// list of reservations to take back.
struct Unsettled<'a, S: Store> {
    platform: &'a Platform<S>,
    attempt: Option<Attempt>,
}

impl<S: Store> Unsettled<'_, S> {
    fn settled(mut self) {
        self.attempt = None;
    }
}

impl<S: Store> Drop for Unsettled<'_, S> {
    fn drop(&mut self) {
        if let Some(attempt) = self.attempt.take() {
            self.platform.abandoned_attempts().push(attempt);
        }
    }
}

fn iin_key(iin: &Iin) -> String {
    account_key(iin.as_str())
}

impl<S: Store> Platform<S> {
    /// Checks IIN and password under the throttle and opens a session.
    ///
    /// Unknown IINs cost the same bcrypt time as known ones, and get the same answer.
    pub async fn login(&self, iin: &str, password: &str, client: ClientInfo) -> Result<Session> {
        let iin = Iin::parse(iin).map_err(|e| Error::Validation(e.to_string()))?;
        let password = Password::presented(password).map_err(|e| Error::Validation(e.to_string()))?;
        let mut keys = Vec::with_capacity(2);
        if let Some(address) = client.address {
            keys.push(ThrottleKey {
                key: address_key(address),
                kind: KeyKind::Address,
                policy: self.config().address_throttle,
            });
        }
        keys.push(self.account_key(&iin));
        let attempt = Attempt::new(keys);
        let checked = self
            .throttled(&attempt, async {
                let user = self.store().user_by_iin(&iin).await?;
                let ok = self
                    .hasher()
                    .verify(&password, user.as_ref().map(|u| u.password_hash.as_str()))
                    .await?;
                Ok(user.filter(|_| ok))
            })
            .await?;
        match checked {
            // Only the right password learns that the account is suspended.
            Ok(user) if user.suspended_at.is_some() => Err(Error::Suspended),
            Ok(user) => self.open_session(&user, None).await,
            Err(locked) => {
                tracing::info!(iin = %iin.masked(), "failed login");
                Err(match locked {
                    Some(retry_after) => Error::Locked { retry_after },
                    None => Error::Unauthorized(WRONG_CREDENTIALS.into()),
                })
            }
        }
    }

    fn account_key(&self, iin: &Iin) -> ThrottleKey {
        ThrottleKey {
            key: iin_key(iin),
            kind: KeyKind::Account,
            policy: self.config().iin_throttle,
        }
    }

    /// Runs a password check under the throttle: reserved first, refused while the keys are full,
    /// settled after. Answers `Ok(value)` when the check found one, otherwise `Err` with the lock
    /// this failure caused, if any.
    ///
    /// A check that cannot finish (the database went away, the request was dropped, it ran past
    /// [`CHECK_DEADLINE`]) gives no answer and leaves its reservation to be taken back: it does
    /// not count against the account.
    async fn throttled<T>(
        &self,
        attempt: &Attempt,
        check: impl Future<Output = Result<Option<T>>>,
    ) -> Result<std::result::Result<T, Option<std::time::Duration>>> {
        self.take_back_abandoned().await?;
        let keys = attempt.keys();
        let now = self.now();
        let reserved = self
            .store()
            .throttle_update(&keys, now, |states| attempt.reserve(states, now))
            .await?;
        if let Err(refused) = reserved {
            let retry_after = refused.retry_after;
            crate::telemetry::login_locked(match refused.kind {
                KeyKind::Account => "account",
                KeyKind::Address => "address",
            });
            return Err(match refused.kind {
                KeyKind::Account => Error::Locked { retry_after },
                KeyKind::Address => Error::TooManyRequests { retry_after },
            });
        }
        let unsettled = Unsettled {
            platform: self,
            attempt: Some(attempt.clone()),
        };
        let checked = tokio::time::timeout(CHECK_DEADLINE, async {
            let found = check.await?;
            let now = self.now();
            let succeeded = found.is_some();
            let locked = self
                .store()
                .throttle_update(&keys, now, |states| attempt.settle(states, now, succeeded))
                .await?;
            Ok(found.ok_or(locked))
        })
        .await
        .map_err(|_| Error::Unavailable("the password check did not finish in time".into()))
        .and_then(|checked| checked);
        if checked.is_ok() {
            unsettled.settled();
        }
        if let Ok(Err(Some(_))) = &checked {
            // This failure locked the account.
            crate::telemetry::login_locked("account");
        }
        checked
    }

    /// Takes back the reservations this process left unsettled, each in its own transaction;
    /// those the store cannot take yet wait for the next check. (Taking one back twice is
    /// harmless, so concurrent checks may both try.) A database that cannot be reached ends it at
    /// once: the check that follows could not run either.
    async fn take_back_abandoned(&self) -> Result<()> {
        let abandoned = self.abandoned_attempts().clone();
        for attempt in abandoned {
            self.store()
                .throttle_update(&attempt.keys(), self.now(), |states| attempt.release(states))
                .await?;
            self.abandoned_attempts().retain(|a| *a != attempt);
        }
        Ok(())
    }

    /// Issues an access token and a refresh token, starting a new family unless one is given.
    async fn open_session(&self, user: &User, family: Option<String>) -> Result<Session> {
        let now = self.now();
        let family = family.unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let access_token =
            self.tokens()
                .issue_in_session(&user.iin, user.id.0, user.token_version, Some(&family), now)?;
        let refresh_token = new_refresh_token();
        let ttl = chrono::Duration::from_std(self.config().refresh_ttl).map_err(Error::internal)?;
        self.store()
            .insert_refresh_token(&RefreshToken {
                user_id: user.id,
                family,
                digest: refresh_token_digest(&refresh_token),
                token_version: user.token_version,
                expires_at: now + ttl,
                created_at: now,
            })
            .await?;
        Ok(Session {
            tokens: TokenPair {
                access_token,
                token_type: "bearer",
                refresh_token,
                expires_in: self.tokens().access_ttl().as_secs(),
            },
            user: user.profile(),
        })
    }

    /// Resolves an access token to its principal: the signature, expiry, user and token version must
    /// all hold. An earlier version is accepted only for the session a password change kept. A
    /// user who must change their password gets [`Error::PasswordChangeRequired`]: see
    /// [`Platform::authenticate_own_account`] for the few things they may still do.
    pub async fn authenticate(&self, token: &str) -> Result<Principal> {
        let (principal, must_change_password) = self.resolve(token).await?;
        if must_change_password {
            return Err(Error::PasswordChangeRequired);
        }
        Ok(principal)
    }

    /// Resolves an access token for the caller's own account only: reading their profile,
    /// changing their password or phone or photo, and logging out. Unlike
    /// [`Platform::authenticate`], a user who must change their password passes.
    pub async fn authenticate_own_account(&self, token: &str) -> Result<Principal> {
        Ok(self.resolve(token).await?.0)
    }

    async fn resolve(&self, token: &str) -> Result<(Principal, bool)> {
        let claims = self.tokens().verify(token)?;
        let rejected = || Error::Unauthorized("could not validate credentials".into());
        let iin = Iin::parse(&claims.sub).map_err(|_| rejected())?;
        let user = self.store().user_by_iin(&iin).await?.ok_or_else(rejected)?;
        if user.id.0 != claims.uid {
            return Err(rejected());
        }
        if user.suspended_at.is_some() {
            return Err(Error::Suspended);
        }
        if user.token_version != claims.ver {
            // The rare path, so the common one stays one query.
            let kept = match &claims.sid {
                Some(sid) => self.store().kept_session(user.id).await?.is_some_and(|k| {
                    k.family == *sid
                        && k.version == user.token_version
                        && (k.min_version..k.version).contains(&claims.ver)
                }),
                None => false,
            };
            if !kept {
                return Err(rejected());
            }
        }
        let principal = Principal {
            id: user.id,
            iin: user.iin,
            role: user.role,
            session: claims.sid.map(|family| SessionRef {
                family,
                version: claims.ver,
            }),
        };
        Ok((principal, user.must_change_password))
    }

    /// Spends a refresh token and issues the next pair of its family.
    pub async fn refresh(&self, refresh_token: &str) -> Result<Session> {
        let rejected = || Error::Unauthorized("invalid refresh token".into());
        let now = self.now();
        let digest = refresh_token_digest(refresh_token);
        let spent = match self.store().use_refresh_token(&digest, now).await? {
            RefreshUse::Fresh(t) => t,
            RefreshUse::Reused => {
                tracing::warn!("a spent refresh token was presented again; its family is revoked");
                return Err(rejected());
            }
            RefreshUse::Unknown => return Err(rejected()),
        };
        if spent.expires_at <= now {
            return Err(rejected());
        }
        let user = self.store().user_by_id(spent.user_id).await?.ok_or_else(rejected)?;
        if user.token_version != spent.token_version || user.suspended_at.is_some() {
            return Err(rejected());
        }
        self.open_session(&user, Some(spent.family)).await
    }

    /// Revokes every token of the caller.
    pub async fn logout(&self, who: &Principal) -> Result<()> {
        self.store().revoke_tokens(who.id, self.now()).await?;
        Ok(())
    }

    /// Changes the caller's own password and returns a new session. Every other session's tokens
    /// and every refresh token stop working; the access token the caller used stays valid until it
    /// expires, so a client that keeps it (the old web frontend does) is not logged out.
    pub async fn change_password(&self, who: &Principal, old: &str, new: &str) -> Result<Session> {
        let new = Password::new(new).map_err(|e| Error::Validation(e.to_string()))?;
        let user = self
            .store()
            .user_by_id(who.id)
            .await?
            .ok_or_else(|| Error::not_found("user"))?;
        // The old password is a password check like a login's, under the account's throttle.
        let old =
            Password::presented(old).map_err(|_| Error::BadRequest("the current password is incorrect".into()))?;
        let attempt = Attempt::new(vec![self.account_key(&user.iin)]);
        let checked = self
            .throttled(&attempt, async {
                let ok = self.hasher().verify(&old, Some(&user.password_hash)).await?;
                Ok(ok.then_some(()))
            })
            .await?;
        if let Err(locked) = checked {
            return Err(match locked {
                Some(retry_after) => Error::Locked { retry_after },
                None => Error::BadRequest("the current password is incorrect".into()),
            });
        }
        let hash = self.hasher().hash(&new).await?;
        let user = self
            .store()
            .set_password(&crate::policy::own_account(who).into(), &hash, false, self.now(), None)
            .await?;
        if let Some(session) = &who.session {
            self.store()
                .keep_session(user.id, &session.family, session.version, user.token_version)
                .await?;
        }
        self.open_session(&user, None).await
    }
}
