//! `edu backup --to DIR`: a copy of a SQLite deployment (database and local file store) that
//! `edu` can run from as it is. PostgreSQL is backed up with its own tools (README, "Backups").

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use edu_core::SqliteStore;
use edu_core::config::{Config, DatabaseUrl};
use edu_core::files::StoreUrl;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The directory to create for the copy (it must not exist yet): `edu.db` and `files/`.
    #[arg(long)]
    pub to: PathBuf,
}

pub async fn run(args: Args, config: Config) -> anyhow::Result<()> {
    let DatabaseUrl::Sqlite(url) = &config.database else {
        bail!(
            "DATABASE_URL is PostgreSQL: back it up with `pg_dump --format=custom` (see the README, \"Backups\"); \
             `edu backup` copies SQLite deployments"
        );
    };
    let Some(file) = config.database.sqlite_file().filter(|f| f.exists()) else {
        bail!("no SQLite database to back up at {} (DATABASE_URL)", config.database);
    };
    create_private_dir(&args.to)?;
    let store = SqliteStore::connect_existing(url, config.pool)
        .await
        .with_context(|| format!("could not open {}", file.display()))?;
    let db = args.to.join("edu.db");
    store
        .backup_into(&db)
        .await
        .with_context(|| format!("could not copy the database to {}", db.display()))?;
    println!("database: {} → {}", file.display(), db.display());
    // After the database: every file a row of the copy names was already stored.
    match &config.files {
        StoreUrl::Directory(dir) if dir.exists() => {
            let (files, bytes) = copy_tree(dir, &args.to.join("files"))
                .with_context(|| format!("could not copy the file store {}", dir.display()))?;
            println!(
                "files: {files} ({bytes} bytes) from {} → {}",
                dir.display(),
                args.to.join("files").display()
            );
        }
        StoreUrl::Directory(dir) => println!("files: none yet ({} does not exist)", dir.display()),
        StoreUrl::S3 { bucket, .. } => println!(
            "files: the file store is the S3 bucket {bucket:?}; keep it with the service's own versioning or replication"
        ),
    }
    Ok(())
}

fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
        .create(dir)
        .with_context(|| format!("cannot create {} (it must not exist yet)", dir.display()))
}

/// Copies a directory tree; interrupted uploads (`tmp/`) are left out. Answers files and bytes.
fn copy_tree(from: &Path, to: &Path) -> std::io::Result<(u64, u64)> {
    std::fs::create_dir_all(to)?;
    let (mut files, mut bytes) = (0, 0);
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let (source, target) = (entry.path(), to.join(entry.file_name()));
        let kind = entry.file_type()?;
        if kind.is_dir() {
            if from.join("tmp") == source {
                continue;
            }
            let (f, b) = copy_tree(&source, &target)?;
            files += f;
            bytes += b;
        } else if kind.is_file() {
            bytes += std::fs::copy(&source, &target)?;
            files += 1;
        }
    }
    Ok((files, bytes))
}
