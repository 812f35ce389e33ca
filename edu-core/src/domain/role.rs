use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// What a user may do. An admin can do everything a teacher can.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Manages users, groups, modules and everything a teacher can do.
    Admin,
    /// Teaches subjects: lessons, tests, homework grading.
    Teacher,
    /// Studies in groups: reads lessons, takes tests, hands in homework.
    Student,
}

impl Role {
    /// The role's name in storage, tokens and JSON: `admin`, `teacher` or `student`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Teacher => "teacher",
            Role::Student => "student",
        }
    }

    /// Teachers and admins: the "T" guard.
    pub fn is_staff(self) -> bool {
        matches!(self, Role::Admin | Role::Teacher)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A role name that is none of `admin`, `teacher`, `student`; holds the name as given.
#[derive(Debug, thiserror::Error)]
#[error("unknown role {0:?}: expected admin, teacher or student")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "admin" => Ok(Role::Admin),
            "teacher" => Ok(Role::Teacher),
            "student" => Ok(Role::Student),
            _ => Err(UnknownRole(s.to_owned())),
        }
    }
}
