//! `edu`: serve the API, migrate the database, and run administrative tasks.

mod admin;
mod audit;
mod backend;
mod cli;
mod export;
mod fsck;
mod import;
mod legacy;
mod logging;
mod openapi;
mod seed;
mod serve;
mod users;

use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    // A missing .env is normal; a malformed one is reported by the config check below.
    let _ = dotenvy::dotenv();
    let cli = cli::Cli::parse();
    logging::init(cli.log_format);
    let config = match edu_core::config::Config::from_env() {
        Ok(c) => c,
        Err(errors) => {
            eprintln!("{errors}");
            return ExitCode::from(2);
        }
    };
    match cli.command.run(config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
