//! `edu users …`.

use edu_core::config::Config;
use edu_core::{CreateUser, Page, Platform, Role, Store};

use crate::backend::{Job, with_existing_platform, with_platform};

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum NewRole {
    Student,
    Teacher,
}

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Create a student or a teacher account. The password is asked for (or read from one line
    /// of stdin), never taken from arguments; the user must change it at first login.
    /// (Administrators: `edu admin create`.)
    Create {
        #[command(flatten)]
        account: crate::cli::NewAccount,
        #[arg(long, value_enum, default_value = "student")]
        role: NewRole,
    },
    /// List users (id, IIN, role, whether suspended, name).
    List(crate::cli::Listing),
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

struct Create(CreateUser);

impl Job for Create {
    async fn run<S: Store>(self, platform: Platform<S>) -> anyhow::Result<()> {
        let user = platform.operator_create_user(self.0).await?;
        println!(
            "created {} {} (id {}); the password must be changed at first login",
            user.role.as_str(),
            user.full_name,
            user.id
        );
        Ok(())
    }
}

pub async fn run(cmd: Command, config: Config) -> anyhow::Result<()> {
    match cmd {
        Command::Create { account, role } => {
            let password = crate::admin::read_password()?;
            let role = match role {
                NewRole::Student => Role::Student,
                NewRole::Teacher => Role::Teacher,
            };
            with_platform(&config, true, Create(account.with(role, password))).await
        }
        Command::List(listing) => {
            with_existing_platform(
                &config,
                List {
                    page: listing.page(),
                    json: listing.json,
                },
            )
            .await
        }
    }
}
