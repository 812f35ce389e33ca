//! `edu fsck`: the file store against the rows that refer to it.
//!
//! A dry run unless `--repair`; a repair is refused on a store without its marker, and (without
//! `--force`) when so many files disagree that the store looks unmounted or the database wrong.

use std::time::Duration;

use anyhow::bail;
use edu_core::config::Config;
use edu_core::{FsckOptions, FsckReport, Platform, Store};

use crate::backend::{FileStoreUse, Job, with_existing_platform};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Remove orphaned files and drop rows whose file is missing (without it, nothing is changed).
    #[arg(long)]
    pub repair: bool,
    /// Repair even when more than 10% of the files disagree (which usually means the store is not
    /// mounted or the database is the wrong one).
    #[arg(long, requires = "repair")]
    pub force: bool,
    /// Vouch for this file store: give it its marker if it has none (needed before `--repair` on a
    /// store set up before markers existed).
    #[arg(long)]
    pub init_marker: bool,
    /// Leave files younger than this many seconds alone (uploads in flight).
    #[arg(long, default_value_t = 3600, value_name = "SECONDS")]
    pub grace: u64,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

struct Fsck(Args);

impl Job for Fsck {
    const FILES: FileStoreUse = FileStoreUse::Existing;

    async fn run<S: Store>(self, platform: Platform<S>) -> anyhow::Result<()> {
        let args = self.0;
        let files = platform.files()?.clone();
        if args.init_marker {
            let marker = platform.init_file_store_marker().await?;
            eprintln!(
                "{files:?} is marked as this deployment's store (id {}, since {})",
                marker.store_id, marker.created_at
            );
        }
        let report = platform
            .fsck_with(FsckOptions {
                repair: args.repair,
                force: args.force,
                grace: Duration::from_secs(args.grace),
            })
            .await?;
        if args.json {
            println!("{}", serde_json::to_string_pretty(&report)?);
        } else {
            print(&files, &report);
        }
        if let Some(why) = &report.refused {
            bail!("repair refused: {why}");
        }
        if !report.is_clean() && !report.repaired {
            bail!("the file store and the database disagree; `edu fsck --repair` removes and drops what is listed");
        }
        Ok(())
    }
}

fn print(files: &edu_core::files::FileStore, report: &FsckReport) {
    match &report.marker {
        Some(m) => println!(
            "file store: {files:?} (store id {}, since {})",
            m.store_id, m.created_at
        ),
        None => println!("file store: {files:?} (no marker)"),
    }
    println!(
        "{} stored objects, {} referenced by rows",
        report.objects, report.referenced
    );
    let (removes, drops) = if report.repaired {
        ("removed", "dropped")
    } else {
        ("to remove", "to drop")
    };
    println!(
        "orphaned files (no row refers to them), {removes}: {}",
        report.orphans.len()
    );
    for key in &report.orphans {
        println!("  {key}");
    }
    println!("rows whose file is missing, {drops}: {}", report.missing_rows.len());
    for row in &report.missing_rows {
        println!("  {}: {}", row.key, row.row);
    }
    if !report.repaired && !report.is_clean() && report.refused.is_none() {
        println!("dry run: nothing was changed");
    }
}

pub async fn run(args: Args, config: Config) -> anyhow::Result<()> {
    with_existing_platform(&config, Fsck(args)).await
}
