//! What an import did, and every defect of the old data it met, row by row.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

/// A kind of defect (or notable change) found in one old row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// An IIN that lost its leading zeros, restored to 12 digits.
    IinRestored,
    /// An IIN that is not 12 digits and cannot be restored: the user is skipped.
    InvalidIin,
    /// Two old users end up with the same IIN: the later one is skipped.
    DuplicateIin,
    /// Not a phone number edu accepts: the user is imported without a phone.
    InvalidPhone,
    /// A phone already used by another user: the user is imported without a phone.
    DuplicatePhone,
    /// A role that is not admin, teacher or student: the user is skipped.
    UnknownRole,
    /// A password hash edu cannot verify: imported, but that user cannot log in until reset.
    UnusableHash,
    /// The target already has an account with this IIN: that account is kept unchanged and the
    /// old user's rows are attached to it.
    ExistingAccount,
    /// A blank name or title: a placeholder is used.
    BlankName,
    /// A name that is already taken (group names; subject titles within a module): renamed.
    DuplicateName,
    /// The row refers to a row that is missing or was skipped: skipped too (or the link dropped).
    MissingReference,
    /// A result or test whose lesson is gone.
    LessonGone,
    /// Another result for the same student and one-attempt test: only the best is kept.
    ExtraResult,
    /// An empty `content_url`: stored as none.
    EmptyContentUrl,
    /// A homework grade outside 0–100: the submission is imported ungraded.
    GradeOutOfRange,
    /// A test score outside 0–100 (clamped) or not a number (skipped).
    ScoreOutOfRange,
    /// No time recorded: the time of the import is used.
    MissingTime,
    /// A file the row refers to is not in the static folder.
    MissingFile,
    /// A file path that leaves the static folder or is not a path at all: ignored.
    UnsafePath,
    /// A photo that is not an image edu serves (jpg, jpeg, png, webp, gif): not imported.
    NotAnImage,
    /// Two options of one question with the same index: the later one is skipped.
    DuplicateOption,
    /// A question none of whose options is the correct one.
    NoCorrectOption,
    /// A test linked to a lesson of another subject.
    TestLessonMismatch,
    /// An old file path already mapped by an earlier import: the earlier mapping is kept.
    PathTaken,
}

/// One defect of one old row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Problem {
    /// The old table.
    pub table: &'static str,
    /// The old row's id (for link tables, the first of its two ids).
    pub id: i64,
    /// What kind of defect.
    pub kind: ProblemKind,
    /// What was found and what was done, in English, for people.
    pub detail: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} #{}: {}", self.table, self.id, self.detail)
    }
}

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Everything was written.
    Imported,
    /// `dry_run`: everything was read and checked; nothing was written.
    DryRun,
    /// The target already holds this import (see [`crate::legacy`]): nothing was written.
    NothingToDo,
}

/// Files brought across.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FileCounts {
    /// Files copied into the file store and read back identical (with `dry_run`: files found).
    pub copied: u64,
    /// Bytes in the files counted in `copied`.
    pub bytes: u64,
    /// Files the old rows refer to that are not in the static folder.
    pub missing: u64,
}

/// The report of an import.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LegacyReport {
    /// What happened.
    pub outcome: Outcome,
    /// Whether nothing was to be written.
    pub dry_run: bool,
    /// Whether the old data was added to a target that already had data, with new ids.
    pub merge: bool,
    /// Rows read from the old database, per old table.
    pub read: BTreeMap<&'static str, u64>,
    /// Rows written (with `dry_run`: that would be written), per edu table.
    pub written: BTreeMap<&'static str, u64>,
    /// Files brought across.
    pub files: FileCounts,
    /// Old id → new id, per edu table, for every row whose id changed (with `merge`, all of them).
    pub id_map: BTreeMap<&'static str, BTreeMap<i64, i64>>,
    /// Every defect of the old data met, row by row.
    pub problems: Vec<Problem>,
    /// Time the import took, in milliseconds.
    pub elapsed_ms: u64,
}
