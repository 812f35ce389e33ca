//! Importing a whole deployment of the previous backend: its PostgreSQL database and its
//! `static/` folder (`edu import legacy`).
//!
//! The import reads every old table at once ([`LegacySource`]), turns the rows into edu's rows
//! while reporting every defect of the old data per row ([`plan`]), copies the files the rows
//! refer to into the [`FileStore`] (each read back and compared), then writes every row in one
//! transaction ([`crate::store::legacy`]). A failure writes no rows and removes the files it
//! copied. See docs/LEGACY_IMPORT.md for the mapping and the rules.
//!
//! - **Empty target**: one with no groups, modules, subjects, lessons, tests, homework or results
//!   and no users but administrators. Ids are kept there. Anything else is refused unless
//!   `merge` is set; then every row gets a new id and the report maps old ids to new ones.
//! - **Re-run**: when the target already holds every user (by IIN), module (by title) and lesson
//!   (by module, subject and lesson title) of the import, nothing is done.

pub mod ids;
pub mod plan;
pub mod report;
pub mod source;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use futures_util::{StreamExt, stream};

pub use report::{FileCounts, LegacyReport, Outcome, Problem, ProblemKind};
pub use source::{LegacySource, OldData};

use crate::error::StoreError;
use crate::files::{FileError, FileKey, FileStore};
use crate::store::legacy::{LegacyStore, LegacyWrite, LegacyWritten};

/// How to import.
#[derive(Debug, Clone)]
pub struct LegacyOptions {
    /// The old deployment's `static/` folder.
    pub static_dir: PathBuf,
    /// Read and check everything; write nothing (no rows, no files).
    pub dry_run: bool,
    /// Import into a target that already has data, with new ids.
    pub merge: bool,
}

/// Where an import is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LegacyProgress {
    /// Reading every table of the old database.
    Reading,
    /// Files copied so far (with `dry_run`: checked).
    Files {
        /// Files copied (or checked) so far.
        done: u64,
        /// Files to copy in all.
        total: u64,
        /// Bytes copied (or checked) so far.
        bytes: u64,
        /// Bytes to copy in all.
        total_bytes: u64,
    },
    /// Rows written so far.
    Rows {
        /// Rows written so far.
        done: u64,
        /// Rows to write in all.
        total: u64,
    },
}

/// Why an import did not happen.
#[derive(Debug, thiserror::Error)]
pub enum LegacyError {
    /// The target holds data and `merge` is not set; says what it holds.
    #[error(
        "the target database is not empty ({0}); import into an empty one, or pass --merge to add the old data with new ids"
    )]
    NotEmpty(String),
    /// The `static_dir` given is not a directory.
    #[error("{0} is not a directory (the old deployment's static folder)")]
    NoStaticDir(PathBuf),
    /// Reading the old database failed.
    #[error("the old database: {0}")]
    Source(#[source] StoreError),
    /// Reading or writing the target database failed; no rows are written.
    #[error("the target database: {0}")]
    Target(#[source] StoreError),
    /// A file could not be copied (or, with `dry_run`, opened); the files copied before are removed.
    #[error("copying {path} into the file store: {source}")]
    File {
        /// The file's path in the old `static/` folder.
        path: String,
        /// What went wrong.
        #[source]
        source: FileError,
    },
}

/// Files copied at once: enough to keep a remote store busy, few enough for a local disk.
const PARALLEL_COPIES: usize = 8;

/// Imports `source` into `target` and `files`.
pub async fn import<T: LegacyStore + Sync>(
    source: &LegacySource,
    target: &T,
    files: &FileStore,
    options: &LegacyOptions,
    progress: &(dyn Fn(LegacyProgress) + Sync),
) -> Result<LegacyReport, LegacyError> {
    let started = Instant::now();
    if !options.static_dir.is_dir() {
        return Err(LegacyError::NoStaticDir(options.static_dir.clone()));
    }
    progress(LegacyProgress::Reading);
    let old = source.read().await.map_err(LegacyError::Source)?;
    let plan = plan::plan(&old, &options.static_dir, chrono::Utc::now());
    let mut report = LegacyReport {
        outcome: if options.dry_run {
            Outcome::DryRun
        } else {
            Outcome::Imported
        },
        dry_run: options.dry_run,
        merge: options.merge,
        read: read_counts(&old),
        written: Default::default(),
        files: FileCounts {
            missing: plan.missing_files,
            ..FileCounts::default()
        },
        id_map: Default::default(),
        problems: plan.problems.clone(),
        elapsed_ms: 0,
    };

    // Decided before any file is copied; checked again inside the writing transaction.
    let state = target.legacy_target().await.map_err(LegacyError::Target)?;
    if state.holds(&plan) {
        report.outcome = Outcome::NothingToDo;
        report.elapsed_ms = elapsed(started);
        return Ok(report);
    }
    if !options.merge && !state.is_empty() {
        return Err(LegacyError::NotEmpty(state.describe()));
    }

    let keys = copy_files(&plan, files, options.dry_run, progress).await?;
    report.files.copied = keys.iter().filter(|k| k.is_some()).count() as u64;
    report.files.bytes = plan
        .files
        .iter()
        .zip(&keys)
        .filter(|(_, k)| k.is_some())
        .map(|(f, _)| f.size)
        .sum();
    let copied: Vec<FileKey> = if options.dry_run {
        Vec::new()
    } else {
        keys.iter().flatten().cloned().collect()
    };

    let total = plan.rows() as u64;
    let done = AtomicU64::new(0);
    let on_rows = |n: u64| {
        let done = done.fetch_add(n, Ordering::Relaxed) + n;
        progress(LegacyProgress::Rows { done, total });
    };
    let write = LegacyWrite {
        plan: &plan,
        keys: &keys,
        merge: options.merge,
        dry_run: options.dry_run,
    };
    let written = match target.legacy_write(write, &on_rows).await {
        Ok(w) => w,
        Err(e) => {
            files.remove_all(&copied).await;
            return Err(LegacyError::Target(e));
        }
    };
    match written {
        LegacyWritten::AlreadyThere => {
            files.remove_all(&copied).await;
            report.outcome = Outcome::NothingToDo;
            report.files = FileCounts::default();
        }
        LegacyWritten::NotEmpty(what) => {
            files.remove_all(&copied).await;
            return Err(LegacyError::NotEmpty(what));
        }
        LegacyWritten::Written {
            assignment,
            counts,
            used,
            problems,
        } => {
            // Files no row ended up referring to (the photo of an account that already existed).
            let unused: Vec<FileKey> = keys
                .iter()
                .enumerate()
                .filter(|(i, _)| !used.contains(i))
                .filter_map(|(_, k)| k.clone())
                .collect();
            if !options.dry_run {
                files.remove_all(&unused).await;
            }
            report.files.copied -= unused.len() as u64;
            report.files.bytes -= keys
                .iter()
                .enumerate()
                .filter(|(i, k)| k.is_some() && !used.contains(i))
                .filter_map(|(i, _)| plan.files.get(i).map(|f| f.size))
                .sum::<u64>();
            report.written = counts;
            report.id_map = assignment.ids.changed();
            report.problems.extend(assignment.problems);
            report.problems.extend(problems);
        }
    }
    report.elapsed_ms = elapsed(started);
    Ok(report)
}

fn elapsed(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
}

fn read_counts(old: &OldData) -> std::collections::BTreeMap<&'static str, u64> {
    [
        ("users", old.users.len()),
        ("groups", old.groups.len()),
        ("user_group", old.user_group.len()),
        ("modules", old.modules.len()),
        ("module_group", old.module_group.len()),
        ("teacher_module", old.teacher_module.len()),
        ("subjects", old.subjects.len()),
        ("lessons", old.lessons.len()),
        ("lesson_submissions", old.submissions.len()),
        ("submission_files", old.submission_files.len()),
        ("tests", old.tests.len()),
        ("questions", old.questions.len()),
        ("options", old.options.len()),
        ("results", old.results.len()),
    ]
    .into_iter()
    .map(|(t, n)| (t, n as u64))
    .collect()
}

/// Copies every file of the plan under a fresh key (with `dry_run`, only checks that each can be
/// opened). On a failure, removes what it copied.
async fn copy_files(
    plan: &plan::Plan,
    files: &FileStore,
    dry_run: bool,
    progress: &(dyn Fn(LegacyProgress) + Sync),
) -> Result<Vec<Option<FileKey>>, LegacyError> {
    let total = plan.files.len() as u64;
    let total_bytes: u64 = plan.files.iter().map(|f| f.size).sum();
    let done = AtomicU64::new(0);
    let bytes = AtomicU64::new(0);
    progress(LegacyProgress::Files {
        done: 0,
        total,
        bytes: 0,
        total_bytes,
    });
    let copied: Vec<Result<FileKey, LegacyError>> = stream::iter(plan.files.iter())
        .map(|file| {
            let key = FileKey::fresh(file.area, &file.ext);
            let (done, bytes) = (&done, &bytes);
            async move {
                let result = if dry_run {
                    readable(&file.source).await.map(|()| key)
                } else {
                    files.ingest(&key, &file.source).await.map(|i| i.key)
                };
                let result = result.map_err(|source| LegacyError::File {
                    path: file.path.clone(),
                    source,
                });
                progress(LegacyProgress::Files {
                    done: done.fetch_add(1, Ordering::Relaxed) + 1,
                    total,
                    bytes: bytes.fetch_add(file.size, Ordering::Relaxed) + file.size,
                    total_bytes,
                });
                result
            }
        })
        .buffered(PARALLEL_COPIES)
        .collect()
        .await;
    let good: Vec<FileKey> = copied.iter().filter_map(|r| r.as_ref().ok().cloned()).collect();
    match copied.into_iter().collect::<Result<Vec<FileKey>, LegacyError>>() {
        Ok(keys) => Ok(keys.into_iter().map(Some).collect()),
        Err(e) => {
            if !dry_run {
                files.remove_all(&good).await;
            }
            Err(e)
        }
    }
}

/// Whether a file can be opened for reading.
async fn readable(path: &Path) -> Result<(), FileError> {
    let owned = path.to_owned();
    tokio::task::spawn_blocking(move || std::fs::File::open(owned).map(drop))
        .await
        .map_err(std::io::Error::other)
        .and_then(|r| r)
        .map_err(|e| FileError::Rejected(format!("{}: {e}", path.display())))
}
