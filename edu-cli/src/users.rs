//! `edu users …`.

use edu_core::config::Config;
use edu_core::{Page, Platform, Store};

use crate::backend::{Job, with_existing_platform};

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// List users (id, IIN, role, whether suspended, name).
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
        // Padded as text: the IIN's and the role's own formatting ignore widths.
        println!("{:>6}  {:12}  {:8}  {:9}  name", "id", "iin", "role", "status");
        for u in &users {
            let status = if u.suspended { "suspended" } else { "active" };
            println!(
                "{:>6}  {:12}  {:8}  {:9}  {}",
                u.id.0,
                u.iin.as_str(),
                u.role.as_str(),
                status,
                u.full_name
            );
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
