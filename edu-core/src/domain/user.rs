use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Iin, Phone, Role, UserId};

/// A stored user. The password hash never leaves the core: `UserProfile` is what is shown.
#[derive(Debug, Clone)]
pub struct User {
    /// Database id of the user; stable, never reused.
    pub id: UserId,
    /// The user's 12-digit IIN; unique, the login name.
    pub iin: Iin,
    /// Full name as typed, "Surname Name Patronymic".
    pub full_name: String,
    /// Phone number in its stored form, if given.
    pub phone: Option<String>,
    /// What the user may do: admin, teacher or student.
    pub role: Role,
    /// Bcrypt hash of the password.
    pub password_hash: String,
    /// Storage name of the avatar file, if any.
    pub photo: Option<String>,
    /// Whether the next sign-in must set a new password (first passwords, resets).
    pub must_change_password: bool,
    /// Bumped on logout and password change; tokens issued with an older version are refused.
    pub token_version: i64,
    /// When the account was created (UTC).
    pub created_at: DateTime<Utc>,
    /// When an administrator suspended the account; `None` while it is active.
    pub suspended_at: Option<DateTime<Utc>>,
}

/// The public face of a user, as the frontend reads it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct UserProfile {
    /// Database id of the user; stable, never reused.
    pub id: UserId,
    /// The user's 12-digit IIN, the login name.
    pub iin: Iin,
    /// Admin, teacher or student.
    pub role: Role,
    /// Full name, "Surname Name Patronymic".
    pub full_name: String,
    /// "Surname N. P." built from the full name.
    pub short_name: String,
    /// Phone number, if given.
    pub phone: Option<String>,
    /// The avatar's path in the previous backend's form, `static/photos/<name>` (served publicly
    /// at `/static/photos/<name>`), if any.
    pub photo: Option<String>,
    /// Whether the user must set a new password before doing anything else.
    pub must_change_password: bool,
    /// When the account was created (UTC).
    pub created_at: DateTime<Utc>,
    /// Suspended accounts cannot sign in; their history stays.
    pub suspended: bool,
    /// When the account was suspended; `None` while it is active.
    pub suspended_at: Option<DateTime<Utc>>,
}

impl User {
    /// The profile shown for this user (no password hash).
    pub fn profile(&self) -> UserProfile {
        UserProfile {
            id: self.id,
            iin: self.iin.clone(),
            role: self.role,
            full_name: self.full_name.clone(),
            short_name: short_name(&self.full_name),
            phone: self.phone.clone(),
            photo: self.photo.as_deref().map(crate::files::legacy::photo_path),
            must_change_password: self.must_change_password,
            created_at: self.created_at,
            suspended: self.suspended_at.is_some(),
            suspended_at: self.suspended_at,
        }
    }
}

/// "Иванов Иван Иванович" → "Иванов И. И."; a single word stays as it is.
pub fn short_name(full_name: &str) -> String {
    let mut words = full_name.split_whitespace();
    let Some(surname) = words.next() else {
        return String::new();
    };
    let mut out = surname.to_owned();
    for w in words {
        if let Some(c) = w.chars().next() {
            out.push(' ');
            out.extend(c.to_uppercase());
            out.push('.');
        }
    }
    out
}

/// A user about to be stored, with the password already hashed.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// The user's IIN; must not be taken.
    pub iin: Iin,
    /// Full name, already checked by the text rules.
    pub full_name: String,
    /// Phone number, if given.
    pub phone: Option<Phone>,
    /// The role the user starts with.
    pub role: Role,
    /// Bcrypt hash of the first password.
    pub password_hash: String,
    /// Whether the first sign-in must set a new password.
    pub must_change_password: bool,
}

/// `?limit=&offset=`: large limits are clamped. Lists answer everything from `offset` when no
/// `limit` is given (a client that sends neither gets the whole list, as the old backend gave it);
/// the gradebook, which only pages, takes [`Page::DEFAULT_LIMIT`] instead.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Page {
    /// 1–500 (clamped). Without it, lists answer every row from `offset`.
    pub limit: Option<i64>,
    /// Default 0.
    pub offset: Option<i64>,
}

impl Page {
    /// The page size taken when no limit is asked for and one is needed (the gradebook).
    pub const DEFAULT_LIMIT: i64 = 100;
    /// The largest page size; larger limits are clamped to it.
    pub const MAX_LIMIT: i64 = 500;

    /// A page of `limit` rows from `offset`.
    pub fn new(limit: i64, offset: i64) -> Self {
        Self {
            limit: Some(limit),
            offset: Some(offset),
        }
    }

    /// The page size: the one asked for, or [`Page::DEFAULT_LIMIT`], clamped to 1–[`Page::MAX_LIMIT`].
    pub fn limit(&self) -> i64 {
        self.limit.unwrap_or(Self::DEFAULT_LIMIT).clamp(1, Self::MAX_LIMIT)
    }

    /// Rows to skip: the one asked for, never below 0.
    pub fn offset(&self) -> i64 {
        self.offset.unwrap_or(0).max(0)
    }

    /// The `LIMIT` of a list query: the clamped limit when one was asked for, otherwise no limit.
    pub fn list_limit(&self) -> i64 {
        match self.limit {
            Some(_) => self.limit(),
            None => i64::MAX,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names() {
        assert_eq!(short_name("Иванов Иван Иванович"), "Иванов И. И.");
        assert_eq!(short_name("  Smith   john "), "Smith J.");
        assert_eq!(short_name("Admin"), "Admin");
        assert_eq!(short_name(""), "");
    }

    #[test]
    fn page_clamps() {
        assert_eq!(Page::default().limit(), 100);
        assert_eq!(Page::new(10_000, -5).limit(), 500);
        assert_eq!(Page::new(0, -5).limit(), 1);
        assert_eq!(Page::new(0, -5).offset(), 0);
        assert_eq!(Page::default().list_limit(), i64::MAX, "no limit asked: the whole list");
        assert_eq!(Page::new(10_000, 0).list_limit(), 500);
    }
}
