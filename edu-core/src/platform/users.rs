//! Accounts: creation, lookup, phone, photo, administrative resets and deletion.

use serde::{Deserialize, Serialize};

use super::Platform;
use crate::auth::Principal;
use crate::domain::{Iin, NewUser, Page, Password, Phone, Role, User, UserId, UserProfile, text};
use crate::error::{Error, Result, StoreError};
use crate::store::{AuditEntry, Store};

/// An account to create.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct CreateUser {
    #[schema(value_type = String, example = "990101300123")]
    pub iin: String,
    pub full_name: String,
    #[serde(default)]
    pub phone: Option<String>,
    /// Default: student.
    #[serde(default)]
    pub role: Option<Role>,
    /// At least 8 characters, at most 72 bytes.
    #[schema(value_type = String, format = Password)]
    pub password: String,
}

/// The minimal view of a user that any logged-in user may look up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct UserRef {
    pub id: UserId,
    pub iin: Iin,
    pub full_name: String,
}

/// The administrator created at start when missing (never modified when present).
#[derive(Debug, Clone)]
pub struct BootstrapAdmin {
    pub iin: Iin,
    pub password: Password,
    pub full_name: String,
    pub phone: Option<Phone>,
}

fn validation(e: impl std::fmt::Display) -> Error {
    Error::Validation(e.to_string())
}

/// Turns a uniqueness conflict on users into a message naming the field.
fn user_conflict(e: StoreError) -> Error {
    match e {
        StoreError::Conflict { constraint } if constraint.contains("phone") => {
            Error::Conflict("this phone number is already in use".into())
        }
        StoreError::Conflict { constraint } if constraint.contains("iin") => {
            Error::Conflict("a user with this IIN already exists".into())
        }
        other => other.into(),
    }
}

impl<S: Store> Platform<S> {
    /// Creates an account (admin only).
    pub async fn create_user(&self, who: &Principal, req: CreateUser) -> Result<UserProfile> {
        who.require_admin()?;
        let iin = Iin::parse(&req.iin).map_err(validation)?;
        let full_name = text::line(&req.full_name, "full_name", 200).map_err(validation)?;
        let phone = match req.phone.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(p) => Some(Phone::parse(p).map_err(validation)?),
        };
        let password = Password::new(&req.password).map_err(validation)?;
        let user = self
            .insert_user_with_password(
                iin,
                full_name,
                phone,
                req.role.unwrap_or(Role::Student),
                &password,
                false,
            )
            .await?;
        self.audit(
            who,
            "user.create",
            user.iin.masked(),
            None,
            Some(serde_json::json!({"role": user.role})),
        )
        .await?;
        Ok(user.profile())
    }

    pub(crate) async fn insert_user_with_password(
        &self,
        iin: Iin,
        full_name: String,
        phone: Option<Phone>,
        role: Role,
        password: &Password,
        must_change_password: bool,
    ) -> Result<User> {
        let password_hash = self.hasher().hash(password).await?;
        let new = NewUser {
            iin,
            full_name,
            phone,
            role,
            password_hash,
            must_change_password,
        };
        self.store().insert_user(&new, self.now()).await.map_err(user_conflict)
    }

    /// Creates the configured administrator if no user has that IIN; an existing account is left alone.
    /// Returns whether it was created.
    pub async fn bootstrap_admin(&self, admin: BootstrapAdmin) -> Result<bool> {
        if self.store().user_by_iin(&admin.iin).await?.is_some() {
            return Ok(false);
        }
        match self
            .insert_user_with_password(
                admin.iin,
                admin.full_name,
                admin.phone,
                Role::Admin,
                &admin.password,
                false,
            )
            .await
        {
            Ok(_) => Ok(true),
            // Another process created it in the meantime.
            Err(Error::Conflict(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The caller's own profile.
    pub async fn me(&self, who: &Principal) -> Result<UserProfile> {
        let user = self
            .store()
            .user_by_id(who.id)
            .await?
            .ok_or_else(|| Error::not_found("user"))?;
        Ok(user.profile())
    }

    /// Looks a user up by IIN (any logged-in user).
    pub async fn user_ref(&self, _who: &Principal, iin: &str) -> Result<UserRef> {
        let iin = Iin::parse(iin).map_err(validation)?;
        let user = self
            .store()
            .user_by_iin(&iin)
            .await?
            .ok_or_else(|| Error::not_found("user"))?;
        Ok(UserRef {
            id: user.id,
            iin: user.iin,
            full_name: user.full_name,
        })
    }

    /// A page of users and the total (admin only).
    pub async fn list_users(&self, who: &Principal, page: Page) -> Result<(Vec<UserProfile>, i64)> {
        who.require_admin()?;
        let (users, total) = self.store().list_users(page).await?;
        Ok((users.iter().map(User::profile).collect(), total))
    }

    /// Deletes a user by IIN (admin only). Administrators cannot be deleted this way.
    pub async fn delete_user(&self, who: &Principal, iin: &str) -> Result<()> {
        who.require_admin()?;
        let iin = Iin::parse(iin).map_err(validation)?;
        let user = self
            .store()
            .user_by_iin(&iin)
            .await?
            .ok_or_else(|| Error::not_found("user"))?;
        if user.role == Role::Admin {
            return Err(Error::Forbidden("administrators cannot be deleted".into()));
        }
        let files = self.store().files_of(crate::domain::FilesOf::User(user.id)).await?;
        if !self.store().delete_user(user.id).await? {
            return Err(Error::not_found("user"));
        }
        self.purge_files(&files).await;
        self.audit(
            who,
            "user.delete",
            user.iin.masked(),
            Some(serde_json::json!({"role": user.role})),
            None,
        )
        .await
    }

    /// Sets a new password for a user (admin only); they must change it at next login and
    /// their earlier tokens stop working.
    pub async fn reset_password(&self, who: &Principal, iin: &str, new_password: &str) -> Result<UserProfile> {
        who.require_admin()?;
        let iin = Iin::parse(iin).map_err(validation)?;
        let password = Password::new(new_password).map_err(validation)?;
        let user = self
            .store()
            .user_by_iin(&iin)
            .await?
            .ok_or_else(|| Error::not_found("user"))?;
        let hash = self.hasher().hash(&password).await?;
        let user = self.store().set_password(user.id, &hash, true, self.now()).await?;
        self.audit(who, "user.reset_password", user.iin.masked(), None, None)
            .await?;
        Ok(user.profile())
    }

    /// Sets or clears the caller's phone; a number in use by someone else is a conflict.
    pub async fn update_phone(&self, who: &Principal, phone: Option<&str>) -> Result<UserProfile> {
        let phone = match phone.map(str::trim) {
            None | Some("") => None,
            Some(p) => Some(Phone::parse(p).map_err(validation)?),
        };
        let user = self
            .store()
            .set_phone(who.id, phone.as_ref())
            .await
            .map_err(user_conflict)?;
        Ok(user.profile())
    }

    /// Records the stored key of the caller's avatar.
    pub async fn set_photo(&self, who: &Principal, key: Option<&str>) -> Result<UserProfile> {
        let user = self.store().set_photo(who.id, key).await?;
        Ok(user.profile())
    }

    /// Operator task: creates an account with any role. The command line runs with the
    /// database's own authority, so there is no principal to check.
    pub async fn provision_user(&self, req: CreateUser) -> Result<UserProfile> {
        let iin = Iin::parse(&req.iin).map_err(validation)?;
        let full_name = text::line(&req.full_name, "full_name", 200).map_err(validation)?;
        let phone = req
            .phone
            .as_deref()
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(Phone::parse)
            .transpose();
        let password = Password::new(&req.password).map_err(validation)?;
        let role = req.role.unwrap_or(Role::Student);
        let user = self
            .insert_user_with_password(iin, full_name, phone.map_err(validation)?, role, &password, false)
            .await?;
        let entry = AuditEntry {
            actor: None,
            action: "user.provision",
            target: user.iin.masked(),
            before: None,
            after: Some(serde_json::json!({"role": user.role})),
            at: self.now(),
        };
        self.store().audit(&entry).await?;
        Ok(user.profile())
    }

    /// Operator task: a page of users and the total, for the command line.
    pub async fn operator_list_users(&self, page: Page) -> Result<(Vec<UserProfile>, i64)> {
        let (users, total) = self.store().list_users(page).await?;
        Ok((users.iter().map(User::profile).collect(), total))
    }

    pub(crate) async fn audit(
        &self,
        who: &Principal,
        action: &'static str,
        target: String,
        before: Option<serde_json::Value>,
        after: Option<serde_json::Value>,
    ) -> Result<()> {
        self.audit_as(Some(who.id), action, target, before, after).await
    }

    /// An audit record; `actor` is `None` for operator tasks run from the command line.
    pub(crate) async fn audit_as(
        &self,
        actor: Option<UserId>,
        action: &'static str,
        target: String,
        before: Option<serde_json::Value>,
        after: Option<serde_json::Value>,
    ) -> Result<()> {
        let entry = AuditEntry {
            actor,
            action,
            target,
            before,
            after,
            at: self.now(),
        };
        self.store().audit(&entry).await?;
        Ok(())
    }
}
