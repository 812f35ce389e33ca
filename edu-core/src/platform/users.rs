//! Accounts: creation, lookup, phone, photo, administrative resets and deletion.

use serde::{Deserialize, Serialize};

use super::Platform;
use crate::auth::Principal;
use crate::domain::{
    AuditFilter, AuditRecord, Iin, NewUser, Page, Password, Phone, Role, User, UserId, UserProfile, text,
};
use crate::error::{Error, Result, StoreError};
use crate::policy;
use crate::store::{AuditEntry, Store, UserChange};

/// An account to create.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct CreateUser {
    /// The 12-digit IIN the account logs in with.
    #[schema(value_type = String, example = "990101300123")]
    pub iin: String,
    /// The person's name, at most 200 characters.
    pub full_name: String,
    /// 10 to 15 digits, optionally starting with `+`; absent or `""` means none.
    #[serde(default)]
    pub phone: Option<String>,
    /// Default: student.
    #[serde(default)]
    pub role: Option<Role>,
    /// At least 8 characters, at most 72 bytes.
    #[schema(value_type = String, format = Password)]
    pub password: String,
}

/// An administrator's change to an account (`PATCH /admin/users/{iin}`): only the fields given
/// change, each checked as on creation.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    /// A new name, at most 200 characters.
    #[serde(default)]
    pub full_name: Option<String>,
    /// A new number; `null` or `""` clears it.
    #[serde(default, deserialize_with = "crate::domain::text::present")]
    #[schema(value_type = Option<String>)]
    pub phone: Option<Option<String>>,
    /// The last administrator cannot be demoted.
    #[serde(default)]
    pub role: Option<Role>,
}

/// The minimal view of a user that any logged-in user may look up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct UserRef {
    /// The user's id.
    pub id: UserId,
    /// The user's IIN.
    pub iin: Iin,
    /// The user's full name.
    pub full_name: String,
}

/// The administrator created at start when missing (never modified when present).
#[derive(Debug, Clone)]
pub struct BootstrapAdmin {
    /// The administrator's IIN, the one looked for at start.
    pub iin: Iin,
    /// The first password, hashed when the account is created.
    pub password: Password,
    /// The administrator's full name.
    pub full_name: String,
    /// The administrator's phone, if any.
    pub phone: Option<Phone>,
}

/// A new account as `req` describes it, checked as on every creation; the hash is made later.
fn new_account(req: &CreateUser) -> Result<(NewUser, Password)> {
    let user = NewUser {
        iin: Iin::parse(&req.iin).map_err(validation)?,
        full_name: text::line(&req.full_name, "full_name", 200).map_err(validation)?,
        phone: optional_phone(req.phone.as_deref())?,
        role: req.role.unwrap_or(Role::Student),
        password_hash: String::new(),
        must_change_password: false,
    };
    Ok((user, Password::new(&req.password).map_err(validation)?))
}

/// A phone as typed: absent or blank is none.
fn optional_phone(phone: Option<&str>) -> Result<Option<Phone>> {
    match phone.map(str::trim) {
        None | Some("") => Ok(None),
        Some(p) => Phone::parse(p).map(Some).map_err(validation),
    }
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
    /// Creates an account (admin only). The administrator chose its password, so the user must
    /// change it before doing anything else.
    pub async fn create_user(&self, who: &Principal, req: CreateUser) -> Result<UserProfile> {
        let admin = policy::admin(who)?;
        let (mut user, password) = new_account(&req)?;
        user.must_change_password = true;
        let entry = self.audit_entry(
            Some(who),
            "user.create",
            user.iin.masked(),
            None,
            Some(serde_json::json!({"role": user.role})),
        );
        let user = self.insert_user_with_password(&admin, user, &password, entry).await?;
        Ok(user.profile())
    }

    /// Stores `user` with the hash of `password`.
    pub(crate) async fn insert_user_with_password(
        &self,
        admin: &policy::Admin,
        user: NewUser,
        password: &Password,
        audit: AuditEntry,
    ) -> Result<User> {
        let new = NewUser {
            password_hash: self.hasher().hash(password).await?,
            ..user
        };
        self.store()
            .insert_user(admin, &new, self.now(), &audit)
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
        let user = NewUser {
            iin: admin.iin,
            full_name: admin.full_name,
            phone: admin.phone,
            role: Role::Admin,
            password_hash: String::new(),
            must_change_password: false,
        };
        match self
            .insert_user_with_password(&policy::Operator.admin(), user, &admin.password, entry)
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
        policy::admin(who)?;
        let (users, total) = self.store().list_users(page).await?;
        Ok((users.iter().map(User::profile).collect(), total))
    }

    /// Deletes a user by IIN (admin only). Administrators cannot be deleted this way.
    pub async fn delete_user(&self, who: &Principal, iin: &str) -> Result<()> {
        let admin = policy::admin(who)?;
        let iin = Iin::parse(iin).map_err(validation)?;
        let user = self
            .store()
            .user_by_iin(&iin)
            .await?
            .ok_or_else(|| Error::not_found("user"))?;
        policy::deletable(&admin, &user)?;
        let files = self.store().files_of(crate::domain::FilesOf::User(user.id)).await?;
        let entry = self.audit_entry(
            Some(who),
            "user.delete",
            user.iin.masked(),
            Some(serde_json::json!({"role": user.role})),
            None,
        );
        if !self.store().delete_user(&admin, user.id, &entry).await? {
            return Err(Error::not_found("user"));
        }
        self.purge_files(&files).await;
        Ok(())
    }

    /// Changes an account's name, phone or role (admin only). The last administrator cannot be
    /// demoted; a role change takes effect on the user's next request.
    pub async fn update_user(&self, who: &Principal, iin: &str, req: UpdateUser) -> Result<UserProfile> {
        let admin = policy::admin(who)?;
        let change = UserChange {
            full_name: req
                .full_name
                .as_deref()
                .map(|n| text::line(n, "full_name", 200))
                .transpose()
                .map_err(validation)?,
            phone: req.phone.map(|p| optional_phone(p.as_deref())).transpose()?,
            role: req.role,
            suspended_at: None,
        };
        let user = self.user_by_iin_text(iin).await?;
        self.change_user(&admin, who, &user, "user.update", &change).await
    }

    /// Suspends an account (admin only): it cannot sign in and its tokens stop working at once;
    /// its history stays. Administrators cannot be suspended (demote them first), nor can the
    /// caller's own account. Suspending a suspended account changes nothing.
    pub async fn suspend_user(&self, who: &Principal, iin: &str) -> Result<UserProfile> {
        let admin = policy::admin(who)?;
        let user = self.user_by_iin_text(iin).await?;
        policy::suspendable(&admin, &user)?;
        let change = UserChange {
            suspended_at: Some(Some(self.now())),
            ..UserChange::default()
        };
        self.change_user(&admin, who, &user, "user.suspend", &change).await
    }

    /// Lets a suspended account sign in again (admin only).
    pub async fn reactivate_user(&self, who: &Principal, iin: &str) -> Result<UserProfile> {
        let admin = policy::admin(who)?;
        let user = self.user_by_iin_text(iin).await?;
        let change = UserChange {
            suspended_at: Some(None),
            ..UserChange::default()
        };
        self.change_user(&admin, who, &user, "user.reactivate", &change).await
    }

    /// Clears the login throttle's lock and failures on an account (admin only).
    pub async fn unlock_user(&self, who: &Principal, iin: &str) -> Result<UserProfile> {
        let admin = policy::admin(who)?;
        let user = self.user_by_iin_text(iin).await?;
        let entry = self.audit_entry(Some(who), "user.unlock", user.iin.masked(), None, None);
        self.store()
            .clear_throttle(&admin, &crate::auth::throttle::account_key(user.iin.as_str()), &entry)
            .await?;
        Ok(user.profile())
    }

    async fn user_by_iin_text(&self, iin: &str) -> Result<User> {
        let iin = Iin::parse(iin).map_err(validation)?;
        self.store()
            .user_by_iin(&iin)
            .await?
            .ok_or_else(|| Error::not_found("user"))
    }

    async fn change_user(
        &self,
        admin: &policy::Admin,
        who: &Principal,
        user: &User,
        action: &'static str,
        change: &UserChange,
    ) -> Result<UserProfile> {
        let entry = self.audit_entry(Some(who), action, user.iin.masked(), None, None);
        let user = self
            .store()
            .update_user(admin, user.id, change, self.now(), &entry)
            .await
            .map_err(|e| match e {
                StoreError::Conflict { constraint } if constraint == "last_admin" => {
                    Error::Conflict("the last administrator cannot be demoted".into())
                }
                StoreError::NotFound => Error::not_found("user"),
                other => user_conflict(other),
            })?;
        Ok(user.profile())
    }

    /// Sets a new password for a user (admin only); they must change it at next login and
    /// their earlier tokens stop working.
    pub async fn reset_password(&self, who: &Principal, iin: &str, new_password: &str) -> Result<UserProfile> {
        let admin = policy::admin(who)?;
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
            .set_password(
                &policy::any_account(&admin, user.id),
                &hash,
                true,
                self.now(),
                Some(&entry),
            )
            .await?;
        Ok(user.profile())
    }

    /// Sets or clears the caller's phone; a number in use by someone else is a conflict.
    pub async fn update_phone(&self, who: &Principal, phone: Option<&str>) -> Result<UserProfile> {
        let phone = optional_phone(phone)?;
        let user = self
            .store()
            .set_phone(&policy::own_account(who), phone.as_ref())
            .await
            .map_err(user_conflict)?;
        Ok(user.profile())
    }

    /// Operator task: creates an account with any role. The command line runs with the
    /// database's own authority, so there is no principal to check. The operator who typed the
    /// password is the account's owner (the first administrator, a service account): no change is
    /// required.
    pub async fn provision_user(&self, req: CreateUser) -> Result<UserProfile> {
        self.create_as_operator(req, "user.provision", false).await
    }

    /// Operator task (`edu users create`): an account whose password the operator chose for
    /// someone else, who must change it at first login.
    pub async fn operator_create_user(&self, req: CreateUser) -> Result<UserProfile> {
        self.create_as_operator(req, "user.create", true).await
    }

    async fn create_as_operator(
        &self,
        req: CreateUser,
        action: &'static str,
        must_change: bool,
    ) -> Result<UserProfile> {
        let (mut user, password) = new_account(&req)?;
        user.must_change_password = must_change;
        let entry = self.audit_entry(
            None,
            action,
            user.iin.masked(),
            None,
            Some(serde_json::json!({"role": user.role})),
        );
        let user = self
            .insert_user_with_password(&policy::Operator.admin(), user, &password, entry)
            .await?;
        Ok(user.profile())
    }

    /// Operator task: whether any administrator exists.
    pub async fn operator_administrators_exist(&self) -> Result<bool> {
        Ok(self.store().administrators().await? > 0)
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
        policy::admin(who)?;
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
