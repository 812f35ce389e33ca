//! `edu`: serve the API, migrate the database, and run administrative tasks.

/// `println!` that ends the process quietly when standard output is closed early (`edu users
/// list | head -1`), where the standard one panics. Defined before the modules so that theirs is
/// this one.
macro_rules! println {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if let Err(e) = writeln!(std::io::stdout().lock(), $($arg)*) {
            $crate::stdout_failed(&e);
        }
    }};
}

mod admin;
mod audit;
mod backend;
mod backup;
mod cli;
mod export;
mod fsck;
mod groups;
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
        // A reader that stopped reading (`edu export … -o - | head`) is not a failure.
        Err(e) if e.chain().any(is_broken_pipe) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn is_broken_pipe(e: &(dyn std::error::Error + 'static)) -> bool {
    e.downcast_ref::<std::io::Error>()
        .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
}

/// Standard output failed: quietly done when its reader went away, an error otherwise.
fn stdout_failed(e: &std::io::Error) -> ! {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        std::process::exit(0);
    }
    eprintln!("error: cannot write to standard output: {e}");
    std::process::exit(1);
}
