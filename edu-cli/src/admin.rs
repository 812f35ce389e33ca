//! `edu admin …`.

use std::io::{BufRead, IsTerminal};

use anyhow::{Context, bail};
use edu_core::config::Config;
use edu_core::{CreateUser, Platform, Role, Store};

use crate::backend::{Job, with_platform};

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Create an administrator. The password is asked for (or read from one line of stdin), never taken from arguments.
    Create(crate::cli::NewAccount),
}

struct Create(CreateUser);

impl Job for Create {
    async fn run<S: Store>(self, platform: Platform<S>) -> anyhow::Result<()> {
        let user = platform.provision_user(self.0).await?;
        println!("created administrator {} (id {})", user.full_name, user.id);
        Ok(())
    }
}

pub async fn run(cmd: Command, config: Config) -> anyhow::Result<()> {
    match cmd {
        Command::Create(account) => {
            let password = read_password()?;
            with_platform(&config, true, Create(account.with(Role::Admin, password))).await
        }
    }
}

/// From the terminal (asked twice), or the first line of stdin when it is not a terminal.
pub(crate) fn read_password() -> anyhow::Result<String> {
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password: ").context("could not read the password")?;
        let second = rpassword::prompt_password("Repeat password: ").context("could not read the password")?;
        if first != second {
            bail!("the passwords do not match");
        }
        Ok(first)
    } else {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("could not read the password from stdin")?;
        let password = line.trim_end_matches(['\r', '\n']).to_owned();
        if password.is_empty() {
            bail!("no password on stdin");
        }
        Ok(password)
    }
}
