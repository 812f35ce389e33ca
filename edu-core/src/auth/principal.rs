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
    /// The refresh-token family (session id) the token was issued in.
    pub family: String,
    /// The account's token version the access token was issued with.
    pub version: i64,
}

impl Principal {
    /// The caller's user id.
    pub fn id(&self) -> UserId {
        self.id
    }

    /// The caller's IIN.
    pub fn iin(&self) -> &Iin {
        &self.iin
    }

    /// The caller's role, as read from the account when the token was resolved.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The session the caller's access token belongs to; `None` for tokens issued outside one.
    pub fn session(&self) -> Option<&SessionRef> {
        self.session.as_ref()
    }
}
