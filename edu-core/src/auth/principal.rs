use crate::domain::{Iin, Role, UserId};

/// The authenticated caller of a `Platform` operation.
///
/// Only authentication makes one ([`crate::Platform::login`], [`crate::Platform::authenticate`]
/// and the other session operations): its fields are private, so code embedding the platform
/// cannot make up an administrator, and every operation's access control holds for it as for the
/// HTTP API. What a principal may do is decided in [`crate::policy`]. Work that runs with the database's own authority (the command line's operator tasks)
/// goes through the `operator_*` and `provision_*` methods, which need no principal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub(crate) id: UserId,
    pub(crate) iin: Iin,
    pub(crate) role: Role,
    /// The session the caller's access token belongs to; `None` for tokens issued outside one.
    pub(crate) session: Option<SessionRef>,
}

/// The session of an access token: its refresh-token family and the token version it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRef {
    pub family: String,
    pub version: i64,
}

impl Principal {
    pub fn id(&self) -> UserId {
        self.id
    }

    pub fn iin(&self) -> &Iin {
        &self.iin
    }

    pub fn role(&self) -> Role {
        self.role
    }

    pub fn session(&self) -> Option<&SessionRef> {
        self.session.as_ref()
    }
}
