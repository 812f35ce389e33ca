//! Accounts: creation, lookup, phone, photo, administrative resets and deletion.

use serde::{Deserialize, Serialize};

use super::Platform;
use crate::auth::Principal;
use crate::domain::{
    AuditFilter, AuditRecord, Iin, NewUser, Page, Password, Phone, Role, User, UserId, UserProfile, text,
};
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
        let iin_target = iin.clone();
        let user = self
            .insert_user_with_password(
                iin,
                full_name,
                phone,
                req.role.unwrap_or(Role::Student),
                &password,
                self.audit_entry(
                    Some(who),
                    "user.create",
                    iin_target.masked(),
                    None,
                    Some(serde_json::json!({"role": req.role.unwrap_or(Role::Student)})),
                ),
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
        audit: AuditEntry,
    ) -> Result<User> {
        let password_hash = self.hasher().hash(password).await?;
        let new = NewUser {
            iin,
            full_name,
            phone,
            role,
            password_hash,
            must_change_password: false,
        };
        self.store()
            .insert_user(&new, self.now(), &audit)
            .await
            .map_err(user_conflict)
    }

    /// Creates the configured administrator if no user has that IIN; an existing account is left alone.
    /// Returns whether it was created.
    pub async fn bootstrap_admin(&self, admin: BootstrapAdmin) -> Result<bool> {
        if self.store().user_by_iin(&admin.iin).await?.is_some() {
            return Ok(false);
        }
        let entry = self.audit_entry(
            None,
            "user.bootstrap_admin",
            admin.iin.masked(),
            None,
            Some(serde_json::json!({"role": Role::Admin})),
        );
        match self
            .insert_user_with_password(
                admin.iin,
                admin.full_name,
                admin.phone,
                Role::Admin,
                &admin.password,
                entry,
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
        let entry = self.audit_entry(
            Some(who),
            "user.delete",
            user.iin.masked(),
            Some(serde_json::json!({"role": user.role})),
            None,
        );
        if !self.store().delete_user(user.id, &entry).await? {
            return Err(Error::not_found("user"));
        }
        self.purge_files(&files).await;
        Ok(())
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
        let entry = self.audit_entry(Some(who), "user.reset_password", user.iin.masked(), None, None);
        let user = self
            .store()
            .set_password(user.id, &hash, true, self.now(), Some(&entry))
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
        let entry = self.audit_entry(
            None,
            "user.provision",
            iin.masked(),
            None,
            Some(serde_json::json!({"role": role})),
        );
        let user = self
            .insert_user_with_password(iin, full_name, phone.map_err(validation)?, role, &password, entry)
            .await?;
        Ok(user.profile())
    }

    /// Operator task: a page of users and the total, for the command line.
    pub async fn operator_list_users(&self, page: Page) -> Result<(Vec<UserProfile>, i64)> {
        let (users, total) = self.store().list_users(page).await?;
        Ok((users.iter().map(User::profile).collect(), total))
    }

    /// An audit entry for the store to write with the change it records; `who` is `None` for
    /// operator tasks run from the command line.
    pub(crate) fn audit_entry(
        &self,
        who: Option<&Principal>,
        action: &'static str,
        target: String,
        before: Option<serde_json::Value>,
        after: Option<serde_json::Value>,
    ) -> AuditEntry {
        AuditEntry {
            actor: who.map(|w| w.id),
            action,
            target,
            before,
            after,
            at: self.now(),
        }
    }

    /// A page of the audit log, newest first, and how many records match ("A").
    pub async fn audit_log(
        &self,
        who: &Principal,
        filter: &AuditFilter,
        page: Page,
    ) -> Result<(Vec<AuditRecord>, i64)> {
        who.require_admin()?;
        self.operator_audit_log(filter, page).await
    }

    /// The audit log for the operator's command line.
    pub async fn operator_audit_log(&self, filter: &AuditFilter, page: Page) -> Result<(Vec<AuditRecord>, i64)> {
        if let (Some(since), Some(until)) = (filter.since, filter.until)
            && since >= until
        {
            return Err(Error::Validation("`since` must be earlier than `until`".into()));
        }
        Ok(self.store().audit_log(filter, page).await?)
    }
}
