//! `edu audit list`: the audit log, newest first.

use anyhow::Context;
use edu_core::config::Config;
use edu_core::domain::{AuditFilter, Iin, parse_moment};
use edu_core::{Page, Platform, Store};

use crate::backend::{Job, with_platform};

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// List audit records (time, actor, action, target, values), newest first.
    List(ListArgs),
}

#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// Only changes made by this IIN.
    #[arg(long)]
    actor: Option<String>,
    /// Only this target, or targets starting with it (`group:3`, `submission:`).
    #[arg(long)]
    target: Option<String>,
    /// Only this action (`submission.grade`, `group.delete`, …).
    #[arg(long)]
    action: Option<String>,
    /// From this time on: `2026-09-01` or `2026-09-01T08:00:00Z`.
    #[arg(long)]
    since: Option<String>,
    /// Before this time: `2026-09-01` or `2026-09-01T08:00:00Z`.
    #[arg(long)]
    until: Option<String>,
    #[command(flatten)]
    listing: crate::cli::Listing,
}

struct List {
    filter: AuditFilter,
    page: Page,
    json: bool,
}

impl Job for List {
    async fn run<S: Store>(self, platform: Platform<S>) -> anyhow::Result<()> {
        let (records, total) = platform.operator_audit_log(&self.filter, self.page).await?;
        if self.json {
            for r in &records {
                println!("{}", serde_json::to_string(r)?);
            }
            return Ok(());
        }
        println!(
            "{:20}  {:12}  {:24}  {:16}  change",
            "at (UTC)", "actor", "action", "target"
        );
        for r in &records {
            let change = match (&r.before, &r.after) {
                (None, None) => String::new(),
                (before, after) => format!(
                    "{} → {}",
                    before.as_ref().map_or("-".into(), ToString::to_string),
                    after.as_ref().map_or("-".into(), ToString::to_string)
                ),
            };
            println!(
                "{:20}  {:12}  {:24}  {:16}  {change}",
                r.at.format("%Y-%m-%d %H:%M:%S"),
                r.actor_iin.as_deref().unwrap_or(if r.actor_id.is_some() {
                    "(deleted)"
                } else {
                    "(operator)"
                }),
                r.action,
                r.target
            );
        }
        println!("({} of {total})", records.len());
        Ok(())
    }
}

pub async fn run(cmd: Command, config: Config) -> anyhow::Result<()> {
    match cmd {
        Command::List(args) => {
            let moment = |name: &str, v: Option<String>| {
                v.map(|t| {
                    parse_moment(&t)
                        .map_err(anyhow::Error::msg)
                        .with_context(|| format!("--{name}"))
                })
                .transpose()
            };
            let actor = args
                .actor
                .map(|a| Iin::parse(a.trim()).context("--actor"))
                .transpose()?;
            let filter = AuditFilter {
                actor,
                target: args.target,
                action: args.action,
                since: moment("since", args.since)?,
                until: moment("until", args.until)?,
            };
            let job = List {
                filter,
                page: args.listing.page(),
                json: args.listing.json,
            };
            with_platform(&config, true, job).await
        }
    }
}
