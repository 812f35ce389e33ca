//! `edu fsck`: the file store against the rows that refer to it.

use std::time::Duration;

use anyhow::bail;
use edu_core::config::Config;
use edu_core::{Platform, Store};

use crate::backend::{Job, with_existing_platform};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Remove orphaned files and drop rows whose file is missing.
    #[arg(long)]
    pub repair: bool,
    /// Leave files younger than this many seconds alone (uploads in flight).
    #[arg(long, default_value_t = 3600, value_name = "SECONDS")]
    pub grace: u64,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

struct Fsck(Args);

impl Job for Fsck {
    async fn run<S: Store>(self, platform: Platform<S>) -> anyhow::Result<()> {
        let args = self.0;
        let report = platform.fsck(args.repair, Duration::from_secs(args.grace)).await?;
        if args.json {
            println!("{}", serde_json::to_string_pretty(&report)?);
        } else {
            println!(
                "{} stored objects, {} referenced by rows",
                report.objects, report.referenced
            );
            println!("orphaned files (no row refers to them): {}", report.orphans.len());
            for key in &report.orphans {
                println!("  {key}");
            }
            println!("rows whose file is missing: {}", report.missing.len());
            for key in &report.missing {
                println!("  {key}");
            }
            if report.repaired && !report.is_clean() {
                println!("repaired: orphans removed, rows of missing files dropped");
            }
        }
        if !report.is_clean() && !report.repaired {
            bail!("the file store and the database disagree; run `edu fsck --repair` to fix it");
        }
        Ok(())
    }
}

pub async fn run(args: Args, config: Config) -> anyhow::Result<()> {
    with_existing_platform(&config, Fsck(args)).await
}
