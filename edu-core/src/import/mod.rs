//! Spreadsheet import of groups and students (SPEC §6).

mod grid;
mod roster;

pub use grid::{Cell, GridError, MAX_ROWS, read_grid};
pub use roster::{RosterEntry, RowError, parse_roster};

use serde::{Deserialize, Serialize};

/// What to do when some rows are invalid.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ImportMode {
    /// Import nothing if any row is invalid.
    #[default]
    AllOrNothing,
    /// Import the valid rows and report the others.
    SkipInvalid,
}

/// Initial passwords of new students.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InitialPasswords {
    /// A random password per student, returned once in the report.
    #[default]
    Random,
    /// The legacy rule: the digits of the IIN. Only on explicit request.
    IinDigits,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportOptions {
    pub dry_run: bool,
    pub mode: ImportMode,
    pub passwords: InitialPasswords,
}

/// A new student's first password, shown once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Credential {
    pub row: usize,
    pub iin: String,
    pub full_name: String,
    pub group: String,
    pub password: String,
}

/// What an import did (or, in a dry run, would do).
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ImportReport {
    pub dry_run: bool,
    /// Whether anything was written.
    pub applied: bool,
    /// Non-blank rows under the header.
    pub rows_total: usize,
    pub rows_valid: usize,
    pub errors: Vec<RowError>,
    pub groups_created: Vec<String>,
    pub users_created: usize,
    /// Rows whose IIN already had an account, which was reused.
    pub users_existing: usize,
    pub memberships_added: u64,
    /// New students' passwords (empty in a dry run); must be changed at first login.
    pub credentials: Vec<Credential>,
}

/// Progress of the slow part (hashing new passwords).
#[derive(Debug, Clone, Copy)]
pub enum ImportProgress {
    Hashing { done: usize, total: usize },
    Writing,
}
