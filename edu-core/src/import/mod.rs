//! Spreadsheet import of groups and students, and of teachers with their subjects (the format is
//! in the README, "Import format").

mod grid;
mod roster;

pub use grid::{Cell, GridError, MAX_ROWS, Sheet, read_grid, read_sheets};
pub use roster::{RosterEntry, RosterKind, RosterRules, RowError, parse_roster, parse_workbook};

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

/// Initial passwords of new students. Either way they must be changed at first login.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InitialPasswords {
    /// A random password per student, returned once in the report.
    #[default]
    Random,
    /// The old backend's rule: the first three and the last three digits of the IIN
    /// (`990101300123` → `990123`). Weak; for schools that hand out passwords that way.
    /// `iin_digits` is accepted as another name.
    #[serde(alias = "iin_digits")]
    Legacy,
}

impl InitialPasswords {
    /// `random` or `legacy` (also `iin_digits`), as `EDU_IMPORT_PASSWORDS` and `?passwords=` take it.
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "random" => Some(Self::Random),
            "legacy" | "iin_digits" => Some(Self::Legacy),
            _ => None,
        }
    }

    /// The legacy first password of the student with this IIN.
    pub fn legacy_password(iin: &crate::domain::Iin) -> String {
        let digits = iin.as_str();
        format!("{}{}", &digits[..3], &digits[digits.len() - 3..])
    }
}

/// How to run a spreadsheet import.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportOptions {
    /// Check every row and report what would be done; write nothing.
    pub dry_run: bool,
    /// What to do when some rows are invalid.
    pub mode: ImportMode,
    /// `None`: the deployment's default ([`PlatformConfig::import_passwords`](crate::PlatformConfig)).
    pub passwords: Option<InitialPasswords>,
    /// Take any twelve digits as an IIN (registries with test accounts); by default each must pass
    /// the national rules ([`Iin::verify`](crate::domain::Iin::verify)).
    pub allow_invalid_iin: bool,
    /// Replace an existing account's name with the file's; by default it is kept and reported.
    pub update_names: bool,
    /// Read only this sheet (matched in any case); by default every sheet with an IIN header.
    pub sheet: Option<String>,
}

/// An existing account whose name in the file is different.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct NameChange {
    /// The first row giving the new name.
    pub row: usize,
    /// The account's IIN.
    pub iin: String,
    /// The account's name now.
    pub old_name: String,
    /// The name in the file.
    pub new_name: String,
    /// Whether the account takes the new name (in a dry run: would take it), which it does only
    /// when the import was asked to update names.
    pub updated: bool,
    /// For people: "name updated" or "name differs, not updated".
    pub message: String,
}

/// [`NameChange::message`] of a name replaced.
pub const NAME_UPDATED: &str = "name updated";
/// [`NameChange::message`] of a name kept.
pub const NAME_KEPT: &str = "name differs, not updated";

/// A new account's first password, shown once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Credential {
    /// The row that created the account (1-based).
    pub row: usize,
    /// The new account's IIN, its login.
    pub iin: String,
    /// The new account's full name.
    pub full_name: String,
    /// The student's group; empty for a teacher.
    pub group: String,
    /// The teacher's subjects, as the file wrote them; absent for a student.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub subjects: Vec<String>,
    /// The first password, in clear text; shown only in this report.
    pub password: String,
}

/// A subject that a teachers' import gives to the row's teacher (or, in a dry run, would give).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SubjectAssignment {
    /// The row naming the subject (1-based).
    pub row: usize,
    /// The teacher's IIN.
    pub iin: String,
    /// The teacher's full name.
    pub full_name: String,
    /// Database id of the subject.
    #[schema(value_type = i64)]
    pub subject_id: crate::domain::SubjectId,
    /// The subject's title.
    pub subject: String,
    /// The title of the subject's module.
    pub module: String,
    /// Who taught it until now; `null` if nobody did.
    pub previous_teacher: Option<String>,
}

/// What an import did (or, in a dry run, would do).
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ImportReport {
    /// Whether nothing was to be written.
    pub dry_run: bool,
    /// Whether anything was written.
    pub applied: bool,
    /// Non-blank rows under the header.
    pub rows_total: usize,
    /// Rows without errors.
    pub rows_valid: usize,
    /// Rows that cannot be imported, and why.
    pub errors: Vec<RowError>,
    /// Names of the groups the import creates.
    pub groups_created: Vec<String>,
    /// Accounts the import creates.
    pub users_created: usize,
    /// Rows whose IIN already had an account, which was reused.
    pub users_existing: usize,
    /// Students put into a group they were not in yet.
    pub memberships_added: u64,
    /// Existing accounts whose name differs from the file's: old → new, and whether it was updated.
    pub name_changes: Vec<NameChange>,
    /// Teachers' imports: the subjects whose teacher changes (a subject already taught by the
    /// row's teacher is not listed).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub subjects_assigned: Vec<SubjectAssignment>,
    /// New students' passwords (empty in a dry run); must be changed at first login.
    pub credentials: Vec<Credential>,
}

/// Progress of the slow part (hashing new passwords).
#[derive(Debug, Clone, Copy)]
pub enum ImportProgress {
    /// Hashing the new accounts' first passwords.
    Hashing {
        /// Passwords hashed so far.
        done: usize,
        /// Passwords to hash in all.
        total: usize,
    },
    /// Writing the groups, accounts and memberships.
    Writing,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Iin;

    #[test]
    fn the_legacy_password_is_the_first_and_last_three_digits() {
        let iin = Iin::parse("990101300123").expect("valid");
        assert_eq!(InitialPasswords::legacy_password(&iin), "990123");
        let iin = Iin::parse("000102500789").expect("valid");
        assert_eq!(InitialPasswords::legacy_password(&iin), "000789", "leading zeros count");
        assert_eq!(InitialPasswords::parse("iin_digits"), Some(InitialPasswords::Legacy));
        assert_eq!(InitialPasswords::parse("RANDOM"), Some(InitialPasswords::Random));
        assert_eq!(InitialPasswords::parse("digits"), None);
    }
}
