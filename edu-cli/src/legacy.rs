//! `edu import legacy`: a whole deployment of the previous backend (its PostgreSQL database and
//! its `static/` folder) into the configured database and file store.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use edu_core::config::{Config, DatabaseUrl};
use edu_core::legacy::{self, LegacyOptions, LegacyProgress, LegacyReport, LegacySource, Outcome};
use edu_core::store::legacy::LegacyStore;
use edu_core::{PgStore, SqliteStore, Store};
use indicatif::{ProgressBar, ProgressStyle};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The old database, e.g. postgresql+asyncpg://user:pass@host/db (add
    /// `?options=-c%20search_path%3Dname` for a schema other than public).
    #[arg(long, value_name = "URL", env = "EDU_LEGACY_DATABASE_URL", hide_env_values = true)]
    pub from: String,
    /// The old deployment's static/ folder (with homework/, lesson_docs/, photos/).
    #[arg(long, value_name = "DIR")]
    pub static_dir: PathBuf,
    /// Read and check everything, report what would be imported; write nothing (no files either).
    #[arg(long)]
    pub dry_run: bool,
    /// Import into a database that already has data: rows get new ids (mapped in the report).
    #[arg(long)]
    pub merge: bool,
    /// Print the report as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

pub async fn run(args: Args, config: Config) -> anyhow::Result<()> {
    let source = LegacySource::connect(&args.from)
        .await
        .context("could not connect to the old database (--from)")?;
    let files = config
        .file_store()
        .context("could not open the file store (EDU_FILES_URL / EDU_FILES_DIR)")?;
    files.check().await.context("the file store does not answer")?;
    let options = LegacyOptions {
        static_dir: args.static_dir.clone(),
        dry_run: args.dry_run,
        merge: args.merge,
    };
    let report = match &config.database {
        DatabaseUrl::Postgres(url) => {
            let store = PgStore::connect(url, config.pool)
                .await
                .context("could not connect to PostgreSQL (DATABASE_URL)")?;
            import(&source, &store, &files, &options).await?
        }
        DatabaseUrl::Sqlite(url) => {
            let store = SqliteStore::connect(url, config.pool)
                .await
                .with_context(|| format!("could not open the SQLite database {} (DATABASE_URL)", config.database))?;
            import(&source, &store, &files, &options).await?
        }
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_report(&report);
    }
    Ok(())
}

async fn import<S: Store + LegacyStore + Sync>(
    source: &LegacySource,
    store: &S,
    files: &edu_core::files::FileStore,
    options: &LegacyOptions,
) -> anyhow::Result<LegacyReport> {
    store.migrate().await.context("could not apply database migrations")?;
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg} [{bar:40}] {pos}/{len} ({eta} left)")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.enable_steady_tick(Duration::from_millis(120));
    let progress = |p: LegacyProgress| match p {
        LegacyProgress::Reading => bar.set_message("reading the old database"),
        LegacyProgress::Files {
            done,
            total,
            bytes,
            total_bytes,
        } => {
            bar.set_message(format!(
                "files ({} of {} MiB)",
                bytes / (1024 * 1024),
                total_bytes / (1024 * 1024)
            ));
            bar.set_length(total);
            bar.set_position(done);
        }
        LegacyProgress::Rows { done, total } => {
            bar.set_message("rows");
            bar.set_length(total);
            bar.set_position(done);
        }
    };
    let result = legacy::import(source, store, files, options, &progress).await;
    bar.finish_and_clear();
    result.map_err(|e| anyhow::Error::new(e).context("the import did not happen; nothing was written"))
}

fn print_report(report: &LegacyReport) {
    match report.outcome {
        Outcome::NothingToDo => {
            println!("nothing to do: the target already holds this import");
            return;
        }
        Outcome::DryRun => println!("dry run: everything was read and checked; nothing was written"),
        Outcome::Imported => println!("imported{}", if report.merge { " (merged, new ids)" } else { "" }),
    }
    let verb = if report.dry_run { "would write" } else { "written" };
    println!("rows {verb}:");
    for (table, n) in &report.written {
        println!("  {table:<18} {n}");
    }
    println!(
        "files {}: {} ({:.1} MiB), missing: {}",
        if report.dry_run { "found" } else { "copied and verified" },
        report.files.copied,
        report.files.bytes as f64 / (1024.0 * 1024.0),
        report.files.missing
    );
    for (table, map) in &report.id_map {
        println!("{table}: {} id(s) changed (see --json for the mapping)", map.len());
    }
    if report.problems.is_empty() {
        println!("no problems found");
    } else {
        println!("{} problem(s):", report.problems.len());
        for p in &report.problems {
            println!("  {p}");
        }
    }
    println!("took {:.2} s", report.elapsed_ms as f64 / 1000.0);
}
