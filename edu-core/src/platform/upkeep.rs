//! Keeping the file store and the rows that refer to it in agreement: `edu fsck`, the store's
//! marker, and the periodic sweep of files that no row will ever refer to.
//!
//! Everything here that deletes is guarded against the same mistake: a store or a database that is
//! not the one it should be (an unmounted volume, a mistyped `EDU_FILES_DIR`, the wrong
//! `DATABASE_URL`) makes every file look lost or every row look dangling. Deleting on that evidence
//! would destroy a school's files, so a store without its marker, or a disagreement too large to be
//! the leftovers of a crash, stops the deletion and says why.

use std::collections::HashSet;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::Platform;
use crate::domain::FileOwner;
use crate::error::Result;
use crate::files::{FileKey, FileStore, Listed, StoreMarker};
use crate::store::Store;

/// A disagreement this large (share of the files concerned, in percent)…
const SUSPICIOUS_PERCENT: usize = 10;
/// …and involving at least this many files is not a crash's leftovers but a wrong store or
/// database: repairs need `--force`, and the sweep leaves it alone.
const SUSPICIOUS_MIN: usize = 5;

fn suspicious(part: usize, whole: usize) -> bool {
    part >= SUSPICIOUS_MIN && part * 100 > whole * SUSPICIOUS_PERCENT
}

/// How `edu fsck` runs.
#[derive(Debug, Clone, Copy, Default)]
pub struct FsckOptions {
    /// Remove orphaned files and drop the rows of missing ones (otherwise only report them).
    pub repair: bool,
    /// Repair even when so many files disagree that the store or the database looks wrong.
    pub force: bool,
    /// Objects younger than this are left alone: their upload may be between its file and its row.
    pub grace: Duration,
}

/// What `edu fsck` found (and, with repair, fixed).
#[derive(Debug, Clone, Default, Serialize)]
pub struct FsckReport {
    /// Objects in the file store (the marker not counted).
    pub objects: usize,
    /// Keys that rows refer to.
    pub referenced: usize,
    /// Stored objects no row refers to (older than the grace period): what a repair removes.
    pub orphans: Vec<String>,
    /// Keys rows refer to whose object is missing.
    pub missing: Vec<String>,
    /// The rows a repair drops: one per missing key, with what the row is.
    pub missing_rows: Vec<MissingRow>,
    /// The store's marker; without one, a repair is refused.
    pub marker: Option<StoreMarker>,
    /// Why a repair that was asked for was not done (then nothing was changed).
    pub refused: Option<String>,
    /// Whether a repair was asked for and done (`false` when refused or not asked for).
    pub repaired: bool,
}

impl FsckReport {
    /// True when nothing is orphaned and nothing is missing.
    pub fn is_clean(&self) -> bool {
        self.orphans.is_empty() && self.missing.is_empty()
    }
}

/// A row whose file is missing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MissingRow {
    /// The object key that is missing from the file store.
    pub key: String,
    /// What the row is, e.g. "homework file of student 7 in lesson 3".
    pub row: String,
}

/// What a sweep removed (and what it left alone, and why).
#[derive(Debug, Clone, Default, Serialize)]
pub struct SweepReport {
    /// Temporary files of uploads that never finished.
    pub interrupted: Vec<String>,
    /// Files under final keys that no row refers to (a crash between a file and its row).
    pub orphans: Vec<String>,
    /// Why orphans were found but left in place.
    pub held_back: Option<String>,
}

/// The ages past which a sweep removes what it finds.
#[derive(Debug, Clone, Copy)]
pub struct SweepAges {
    /// Temporary files: an upload still running is never this old.
    pub interrupted: Duration,
    /// Files under final keys without a row. Longer than any import that copies its files before
    /// writing its rows (`edu import legacy` writes them all at the end).
    pub orphaned: Duration,
}

/// Whether a file store has its marker after [`Platform::mark_file_store`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Marking {
    /// It had one.
    Present(StoreMarker),
    /// It had none, and evidently belongs to this database (new, or holding files its rows refer
    /// to): it has one now.
    Created(StoreMarker),
    /// It had none and was left without, for this reason.
    Unmarked(String),
}

/// Referenced keys looked up when deciding whether an unmarked store belongs to the database.
const MARKING_SAMPLE: usize = 20;

fn cutoff(age: Duration) -> DateTime<Utc> {
    // File times come from the store's own clock (the wall clock), not the platform's.
    // An age too large to subtract means "nothing is that old".
    chrono::Duration::from_std(age)
        .ok()
        .and_then(|age| Utc::now().checked_sub_signed(age))
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

impl<S: Store> Platform<S> {
    /// The keys that protect an object from removal. Callers list the store first and read these
    /// after it.
    ///
    /// Uploads write their object first and their row after it, possibly in another process, and
    /// the grace period protects an object only until its row is written. Read in this order, every
    /// listed object either had its row when the rows were read (and is kept), or its upload had
    /// not written its row even after the listing ended, so it is still in flight and its object is
    /// younger than the grace period. Had the rows been read first, a listing that takes a while
    /// (a large bucket is paged through) would find objects whose rows were written after the rows
    /// were read, and nothing but their age would keep them from being taken for orphans.
    async fn keys_in_use(&self) -> Result<(HashSet<String>, HashSet<String>)> {
        let referenced = self.store().referenced_keys().await?.into_iter().collect();
        let legacy = self.store().legacy_file_keys().await?.into_iter().collect();
        Ok((referenced, legacy))
    }

    /// Compares the file store with the rows that refer to it; with `repair`, removes orphans and
    /// drops rows whose file is missing. Shorthand for [`Platform::fsck_with`] without `force`.
    pub async fn fsck(&self, repair: bool, grace: Duration) -> Result<FsckReport> {
        self.fsck_with(FsckOptions {
            repair,
            force: false,
            grace,
        })
        .await
    }

    /// Compares the file store with the rows that refer to it. Objects younger than the grace
    /// period, and keys `legacy_files` maps old paths to, are never orphans. A repair is refused
    /// (see [`FsckReport::refused`]) on a store without its marker, and, unless forced, when more
    /// than a small share of the files disagree.
    pub async fn fsck_with(&self, options: FsckOptions) -> Result<FsckReport> {
        let files = self.files()?;
        let marker = files.marker().await?;
        let listed = files.list().await?;
        let (referenced, legacy) = self.keys_in_use().await?;
        let present: HashSet<&str> = listed.iter().map(|l| l.key.as_str()).collect();
        let old = cutoff(options.grace);
        let orphans: Vec<&Listed> = listed
            .iter()
            .filter(|l| !referenced.contains(&l.key) && !legacy.contains(&l.key) && l.modified < old)
            .collect();
        let mut missing: Vec<String> = referenced
            .iter()
            .filter(|k| !present.contains(k.as_str()))
            .cloned()
            .collect();
        missing.sort();
        let mut missing_rows = Vec::with_capacity(missing.len());
        for key in &missing {
            missing_rows.push(MissingRow {
                key: key.clone(),
                row: self.describe_row(key).await?,
            });
        }
        let mut report = FsckReport {
            objects: listed.len(),
            referenced: referenced.len(),
            orphans: orphans.iter().map(|l| l.key.clone()).collect(),
            missing,
            missing_rows,
            marker,
            refused: None,
            repaired: false,
        };
        if !options.repair {
            return Ok(report);
        }
        if !report.is_clean() {
            report.refused = refusal(&report, options.force);
            if report.refused.is_some() {
                return Ok(report);
            }
            for orphan in orphans {
                files.remove_listed(orphan).await?;
            }
            if !report.missing.is_empty() {
                self.store().forget_files(&report.missing).await?;
            }
        }
        report.repaired = true;
        Ok(report)
    }

    async fn describe_row(&self, key: &str) -> Result<String> {
        Ok(match self.store().file_owner(key).await? {
            Some((FileOwner::LessonDocument { lesson: Some(l), .. }, meta)) => {
                format!("document {:?} of lesson {}", meta.name, l.0)
            }
            Some((FileOwner::LessonDocument { lesson: None, .. }, meta)) => {
                format!("document {:?}, not yet in a lesson", meta.name)
            }
            Some((FileOwner::Homework { lesson, student }, meta)) => {
                format!(
                    "homework file {:?} of student {} in lesson {}",
                    meta.name, student.0, lesson.0
                )
            }
            None if key.starts_with("photos/") => "a user's photo".to_owned(),
            None => "a file row".to_owned(),
        })
    }

    /// Removes what interrupted uploads and crashes left behind: temporary files older than
    /// `ages.interrupted`, and files under final keys that no row (nor `legacy_files`) refers to,
    /// older than `ages.orphaned`. The marker is never touched, nor anything that is not an edu
    /// key. Orphans are left in place, with the reason in the report, when the store has no marker
    /// or when so many files are orphaned that the database looks like the wrong one.
    ///
    /// Safe with several processes sharing the store and the database (see `keys_in_use`).
    pub async fn sweep_stale_files(&self, ages: SweepAges) -> Result<SweepReport> {
        let files = self.files()?;
        let marker = files.marker().await?;
        let listed = files.list().await?;
        let (referenced, legacy) = self.keys_in_use().await?;
        let (tmp_cutoff, orphan_cutoff) = (cutoff(ages.interrupted), cutoff(ages.orphaned));
        let mut report = SweepReport::default();
        let mut interrupted = Vec::new();
        let mut orphans = Vec::new();
        let mut final_keys = 0;
        for l in &listed {
            if l.key.starts_with("tmp/") {
                if l.modified < tmp_cutoff {
                    interrupted.push(l);
                }
            } else if FileKey::parse(&l.key).is_some() {
                final_keys += 1;
                if l.modified < orphan_cutoff && !referenced.contains(&l.key) && !legacy.contains(&l.key) {
                    orphans.push(l);
                }
            }
        }
        if !orphans.is_empty() {
            if marker.is_none() {
                report.held_back = Some(format!(
                    "{} orphaned files left in place: the file store has no marker",
                    orphans.len()
                ));
                orphans.clear();
            } else if suspicious(orphans.len(), final_keys) {
                report.held_back = Some(format!(
                    "{} of {final_keys} stored files belong to no row, too many for a crash's leftovers: \
                     is DATABASE_URL the right database? They are left in place",
                    orphans.len()
                ));
                orphans.clear();
            }
        }
        report.interrupted = remove(files, &interrupted).await;
        report.orphans = remove(files, &orphans).await;
        Ok(report)
    }

    /// Gives the file store its marker if it has none and evidently belongs to this database: it is
    /// new (no files, no rows referring to any), or it holds files the rows refer to. Otherwise it
    /// is left unmarked, with the reason: then repairs are refused until an operator vouches for it
    /// with [`Platform::init_file_store_marker`]. `edu serve` and `edu migrate` run this.
    pub async fn mark_file_store(&self) -> Result<Marking> {
        let files = self.files()?;
        if let Some(marker) = files.marker().await? {
            return Ok(Marking::Present(marker));
        }
        let (referenced, legacy) = self.keys_in_use().await?;
        let holds_files = files.holds_files().await?;
        if referenced.is_empty() && legacy.is_empty() {
            if !holds_files {
                return Ok(Marking::Created(files.write_marker().await?));
            }
            return Ok(Marking::Unmarked(
                "the file store holds files but the database refers to none: is DATABASE_URL the right database?"
                    .to_owned(),
            ));
        }
        if holds_files && holds_any(files, referenced.iter().chain(&legacy)).await? {
            return Ok(Marking::Created(files.write_marker().await?));
        }
        Ok(Marking::Unmarked(
            "none of the files the database refers to is in the file store: is it mounted (EDU_FILES_DIR / EDU_FILES_URL)?"
                .to_owned(),
        ))
    }

    /// Gives the file store a marker unconditionally (if it has none): an operator's word that this
    /// is the store of this database (`edu fsck --init-marker`).
    pub async fn init_file_store_marker(&self) -> Result<StoreMarker> {
        let files = self.files()?;
        match files.marker().await? {
            Some(marker) => Ok(marker),
            None => Ok(files.write_marker().await?),
        }
    }
}

/// Why a repair must not run, if it must not.
fn refusal(report: &FsckReport, force: bool) -> Option<String> {
    if report.marker.is_none() {
        return Some(format!(
            "the file store has no marker ({}), so it may not be the store of this database: an unmounted \
             volume or a mistyped EDU_FILES_DIR / EDU_FILES_URL looks the same. Nothing was changed. Check \
             the setting, then vouch for this store with `edu fsck --init-marker`",
            crate::files::MARKER_KEY
        ));
    }
    if force {
        return None;
    }
    if suspicious(report.missing.len(), report.referenced) {
        return Some(format!(
            "{} of the {} files that rows refer to are missing: is the file store mounted (EDU_FILES_DIR / \
             EDU_FILES_URL)? Nothing was changed; repair with --force only if they are really lost",
            report.missing.len(),
            report.referenced
        ));
    }
    if suspicious(report.orphans.len(), report.objects) {
        return Some(format!(
            "{} of the {} stored files belong to no row: is DATABASE_URL the right database? Nothing was \
             changed; repair with --force only if they are really unwanted",
            report.orphans.len(),
            report.objects
        ));
    }
    None
}

/// Whether any of the first few of `keys` is in the store.
async fn holds_any<'a>(files: &FileStore, keys: impl Iterator<Item = &'a String>) -> Result<bool> {
    for key in keys.filter_map(|k| FileKey::parse(k)).take(MARKING_SAMPLE) {
        if files.exists(&key).await? {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Removes what was listed, logging each removal; returns the keys removed. A failure is logged and
/// the rest go on: the next sweep tries again.
async fn remove(files: &FileStore, listed: &[&Listed]) -> Vec<String> {
    let mut removed = Vec::with_capacity(listed.len());
    for l in listed {
        match files.remove_listed(l).await {
            Ok(()) => {
                tracing::info!(key = %l.key, size = l.size, modified = %l.modified, "swept a stale file");
                removed.push(l.key.clone());
            }
            Err(e) => tracing::warn!(key = %l.key, error = %e, "could not sweep a stale file"),
        }
    }
    removed
}
