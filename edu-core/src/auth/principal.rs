use crate::domain::{Iin, Role, UserId};
use crate::error::{Error, Result};

/// The authenticated caller of a `Platform` operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub id: UserId,
    pub iin: Iin,
    pub role: Role,
    /// The session the caller's access token belongs to; `None` for principals an embedding
    /// service builds itself, and for tokens issued outside a session.
    pub session: Option<SessionRef>,
}

/// The session of an access token: its refresh-token family and the token version it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRef {
    pub family: String,
    pub version: i64,
}

impl Principal {
    /// The "A" guard.
    pub fn require_admin(&self) -> Result<()> {
        if self.role == Role::Admin {
            Ok(())
        } else {
            Err(Error::Forbidden("administrator access required".into()))
        }
    }

    /// The "T" guard: teachers and admins.
    pub fn require_staff(&self) -> Result<()> {
        if self.role.is_staff() {
            Ok(())
        } else {
            Err(Error::Forbidden("teacher or administrator access required".into()))
        }
    }

    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}
