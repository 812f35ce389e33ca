use clap::{Parser, Subcommand, ValueEnum};
use edu_core::config::Config;

use crate::{admin, audit, backup, export, fsck, groups, import, openapi, seed, serve, users};

/// The edu platform: API server and administration.
///
/// Configuration comes from the environment and a `.env` file (see README).
#[derive(Debug, Parser)]
#[command(name = "edu", version, about)]
pub struct Cli {
    /// Log format.
    #[arg(long, global = true, env = "EDU_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP API.
    Serve(serve::Args),
    /// Apply pending database migrations and exit.
    Migrate,
    /// Administrator accounts.
    #[command(subcommand)]
    Admin(admin::Command),
    /// User accounts.
    #[command(subcommand)]
    Users(users::Command),
    /// Groups: list, rename, move members (year-end promotion).
    #[command(subcommand)]
    Groups(groups::GroupsCommand),
    /// Modules: list.
    #[command(subcommand)]
    Modules(groups::ModulesCommand),
    /// Subjects: list.
    #[command(subcommand)]
    Subjects(groups::SubjectsCommand),
    /// Import groups and students from a spreadsheet.
    #[command(subcommand)]
    Import(import::Command),
    /// Export grades as spreadsheets.
    #[command(subcommand)]
    Export(export::Command),
    /// Read the audit log.
    #[command(subcommand)]
    Audit(audit::Command),
    /// Check that every stored file has its row and every row its file (and repair).
    Fsck(fsck::Args),
    /// Copy a SQLite deployment (database and file store) into a new directory, while it runs.
    Backup(backup::Args),
    /// Print the OpenAPI document.
    Openapi,
    /// Fill an empty database with generated data, for measuring.
    Seed(seed::Args),
}

impl Command {
    pub async fn run(self, config: Config) -> anyhow::Result<()> {
        match self {
            Command::Serve(args) => serve::run(args, config).await,
            Command::Migrate => crate::backend::migrate(&config).await,
            Command::Admin(cmd) => admin::run(cmd, config).await,
            Command::Users(cmd) => users::run(cmd, config).await,
            Command::Groups(cmd) => groups::run_groups(cmd, config).await,
            Command::Modules(cmd) => groups::run_modules(cmd, config).await,
            Command::Subjects(cmd) => groups::run_subjects(cmd, config).await,
            Command::Import(cmd) => import::run(cmd, config).await,
            Command::Export(cmd) => export::run(cmd, config).await,
            Command::Audit(cmd) => audit::run(cmd, config).await,
            Command::Fsck(args) => fsck::run(args, config).await,
            Command::Backup(args) => backup::run(args, config).await,
            Command::Openapi => openapi::run(),
            Command::Seed(args) => seed::run(args, config).await,
        }
    }
}

/// Paging and output of the `list` commands.
#[derive(Debug, clap::Args)]
pub struct Listing {
    #[arg(long, default_value_t = 100)]
    pub limit: i64,
    #[arg(long, default_value_t = 0)]
    pub offset: i64,
    /// Print JSON lines instead of a table.
    #[arg(long)]
    pub json: bool,
}

impl Listing {
    pub fn page(&self) -> edu_core::Page {
        edu_core::Page::new(self.limit, self.offset)
    }
}

/// Who a new account is for; the password is read separately (never an argument).
#[derive(Debug, clap::Args)]
pub struct NewAccount {
    #[arg(long)]
    pub iin: String,
    #[arg(long)]
    pub full_name: String,
    #[arg(long)]
    pub phone: Option<String>,
}

impl NewAccount {
    /// The account with `role` and the password read for it.
    pub fn with(self, role: edu_core::Role, password: String) -> edu_core::CreateUser {
        edu_core::CreateUser {
            iin: self.iin,
            full_name: self.full_name,
            phone: self.phone,
            role: Some(role),
            password,
        }
    }
}
