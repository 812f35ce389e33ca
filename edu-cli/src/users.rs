//! `edu users …`.

use edu_core::config::Config;
use edu_core::{Page, Platform, Store};

use crate::backend::{Job, with_existing_platform};

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// List users (id, IIN, role, name).
    List {
        #[arg(long, default_value_t = 100)]
        limit: i64,
        #[arg(long, default_value_t = 0)]
        offset: i64,
        /// Print JSON lines instead of a table.
        #[arg(long)]
        json: bool,
    },
}

struct List {
    page: Page,
    json: bool,
}

impl Job for List {
    async fn run<S: Store>(self, platform: Platform<S>) -> anyhow::Result<()> {
        let (users, total) = platform.operator_list_users(self.page).await?;
        if self.json {
            for u in &users {
                println!("{}", serde_json::to_string(u)?);
            }
            return Ok(());
        }
        println!("{:>6}  {:12}  {:8}  name", "id", "iin", "role");
        for u in &users {
            println!("{:>6}  {:12}  {:8}  {}", u.id, u.iin, u.role, u.full_name);
        }
        println!("({} of {total})", users.len());
        Ok(())
    }
}

pub async fn run(cmd: Command, config: Config) -> anyhow::Result<()> {
    match cmd {
        Command::List { limit, offset, json } => {
            with_existing_platform(
                &config,
                List {
                    page: Page::new(limit, offset),
                    json,
                },
            )
            .await
        }
    }
}
