//! `edu import groups FILE` and `edu import teachers FILE`: the spreadsheet imports from the
//! command line (README, "Import format").

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use edu_core::config::Config;
use edu_core::export::{Format, Separator, Table};
use edu_core::i18n::{Lang, tr};
use edu_core::import::{ImportMode, ImportOptions, ImportProgress, ImportReport, InitialPasswords, RosterKind};
use edu_core::{Platform, Store};
use indicatif::{ProgressBar, ProgressStyle};

use crate::backend::{Job, with_platform};

/// The largest spreadsheet read (the HTTP upload allows 10 MiB).
const MAX_FILE: u64 = 64 * 1024 * 1024;

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Import groups and students from a spreadsheet (xlsx, xls, ods or csv): each row's student into that row's group.
    ///
    /// The header row (any of the first 20; case, spaces and punctuation ignored) names the
    /// columns, in Russian, Kazakh or English:
    ///   group:       Группа, Класс | Топ, Тобы, Сынып | Group
    ///   IIN:         ИИН | ЖСН | IIN                                   (required)
    ///   full name:   ФИО, Студент | Аты-жөні, Толық аты | Full name, Student
    ///   or in parts: Фамилия, Имя, Отчество | Тегі, Аты, Әкесінің аты | Surname, Name, Patronymic
    ///   optional:    Телефон | Телефон нөмірі | Phone;  Описание | Сипаттама | Description
    /// A CSV file is UTF-8 (with or without a BOM), its cells separated by `;` or `,`.
    ///
    /// Re-importing the same file changes nothing. New students get a random first password, written
    /// to the --credentials file (never to the log); they must change it at first login.
    Groups(RosterArgs),
    /// Import teachers from a spreadsheet (xlsx, xls, ods or csv), each made the teacher of the subjects its row names.
    ///
    /// The header names the columns as for `import groups`, without a group:
    ///   IIN:         ИИН | ЖСН | IIN                                   (required)
    ///   full name:   ФИО | Аты-жөні | Full name   (or Фамилия, Имя, Отчество | Тегі, Аты, Әкесінің аты)
    ///   optional:    Телефон | Телефон нөмірі | Phone
    ///   subjects:    Предметы, Предмет | Пәндер, Пән | Subjects, Subject
    /// Subjects are separated by `;` or `,` and must exist; a title used in several modules is
    /// written `Module / Subject`. A subject taught by someone else passes to the file's teacher
    /// (the report lists each change). An IIN of a student or an administrator is a row error.
    ///
    /// Re-importing the same file changes nothing. New teachers get a random first password,
    /// written to the --credentials file; they must change it at first login.
    Teachers(RosterArgs),
    /// Import a whole deployment of the previous backend: its PostgreSQL database and static/ folder.
    ///
    /// Users (with their passwords), groups, modules, subjects, lessons, tests, results, homework
    /// and files come across; every defect of the old data is reported per row. Into an empty
    /// database ids are kept; a non-empty one is refused unless --merge. Running it again
    /// changes nothing.
    Legacy(crate::legacy::Args),
}

#[derive(Debug, clap::Args)]
pub struct RosterArgs {
    /// The spreadsheet.
    pub file: PathBuf,
    /// Read only this sheet of the workbook (any case); by default every sheet with an IIN header.
    #[arg(long)]
    pub sheet: Option<String>,
    /// Check the file and report what would change; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Import the valid rows even if some are invalid (by default one invalid row stops the import).
    #[arg(long)]
    pub skip_invalid: bool,
    /// Use the old backend's rule for first passwords: the first three and last three digits of
    /// the IIN. Weak; only for compatibility. Without it, `EDU_IMPORT_PASSWORDS` decides (random
    /// by default).
    #[arg(long)]
    pub legacy_iin_passwords: bool,
    /// Accept any twelve digits as an IIN, for registries that hold test accounts. By default an
    /// IIN with an impossible birth date or a wrong check digit makes its row invalid.
    #[arg(long)]
    pub allow_invalid_iin: bool,
    /// Give existing students the names the file has. By default a different name is kept and
    /// reported as "name differs, not updated".
    #[arg(long)]
    pub update_names: bool,
    /// Where to write new accounts' first passwords: a new .csv or .xlsx file (never overwritten).
    /// Required unless --dry-run.
    #[arg(long, value_name = "FILE")]
    pub credentials: Option<PathBuf>,
    /// The credentials file's language and CSV separator.
    #[command(flatten)]
    pub style: crate::export::StyleArgs,
    /// Print the report as JSON (without passwords) instead of text.
    #[arg(long)]
    pub json: bool,
}

pub async fn run(cmd: Command, config: Config) -> anyhow::Result<()> {
    match cmd {
        Command::Groups(args) => roster(RosterKind::Students, args, config).await,
        Command::Teachers(args) => roster(RosterKind::Teachers, args, config).await,
        Command::Legacy(args) => crate::legacy::run(args, config).await,
    }
}

async fn roster(kind: RosterKind, args: RosterArgs, config: Config) -> anyhow::Result<()> {
    let file = read_spreadsheet(&args.file)?;
    let (lang, sep) = args.style.resolve(config.lang);
    // The credentials file is created before anything is written to the database, so a bad path
    // fails the command while nothing has happened yet.
    let credentials = match (&args.credentials, args.dry_run) {
        (Some(path), false) => Some(CredentialsFile::create(path, kind, lang, sep)?),
        (None, false) => bail!("--credentials FILE.csv|FILE.xlsx is required to receive new accounts' passwords"),
        (_, true) => None,
    };
    let options = ImportOptions {
        dry_run: args.dry_run,
        mode: if args.skip_invalid {
            ImportMode::SkipInvalid
        } else {
            ImportMode::AllOrNothing
        },
        passwords: args.legacy_iin_passwords.then_some(InitialPasswords::Legacy),
        allow_invalid_iin: args.allow_invalid_iin,
        update_names: args.update_names,
        sheet: args.sheet.clone(),
    };
    let job = Import {
        kind,
        file,
        options,
        credentials,
        json: args.json,
    };
    with_platform(&config, true, job).await
}

fn read_spreadsheet(path: &Path) -> anyhow::Result<Vec<u8>> {
    let size = std::fs::metadata(path)
        .with_context(|| format!("cannot read {}", path.display()))?
        .len();
    if size > MAX_FILE {
        bail!(
            "{} is {} MiB; the largest spreadsheet accepted is {} MiB",
            path.display(),
            size / (1024 * 1024),
            MAX_FILE / (1024 * 1024)
        );
    }
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

/// The not-yet-written credentials file. Dropped without `finish`, it is removed.
struct CredentialsFile {
    path: PathBuf,
    file: Option<File>,
    format: Format,
    kind: RosterKind,
    lang: Lang,
    sep: Separator,
}

impl CredentialsFile {
    fn create(path: &Path, kind: RosterKind, lang: Lang, sep: Separator) -> anyhow::Result<CredentialsFile> {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let Some(format) = Format::from_file_name(name) else {
            bail!("--credentials must name a .csv or .xlsx file, not {}", path.display());
        };
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let file = options.open(path).with_context(|| {
            format!(
                "cannot create {} (it must not exist yet; passwords are never written over an existing file)",
                path.display()
            )
        })?;
        Ok(CredentialsFile {
            path: path.to_owned(),
            file: Some(file),
            format,
            kind,
            lang,
            sep,
        })
    }

    /// The passwords as a sheet in the file's language, sorted by name in its alphabetical order.
    fn finish(mut self, report: &ImportReport) -> anyhow::Result<usize> {
        let lang = self.lang;
        let what = match self.kind {
            RosterKind::Students => "Group",
            RosterKind::Teachers => "Subjects",
        };
        let headers = ["Row", "IIN", "Full name", what, "Password"].map(|h| tr(lang, h));
        let headers: Vec<&str> = headers.iter().map(AsRef::as_ref).collect();
        let mut table = Table::new(tr(lang, "Credentials"), &headers);
        let mut credentials: Vec<_> = report.credentials.iter().collect();
        edu_core::i18n::Collation::new(lang).sort_by_key(&mut credentials, |c| c.full_name.as_str());
        for c in credentials {
            let group_or_subjects = match self.kind {
                RosterKind::Students => c.group.clone(),
                RosterKind::Teachers => c.subjects.join(", "),
            };
            table.push(vec![
                (c.row as f64).into(),
                c.iin.as_str().into(),
                c.full_name.as_str().into(),
                group_or_subjects.into(),
                c.password.as_str().into(),
            ]);
        }
        let bytes = table.write(self.format, self.sep)?;
        let mut file = self.file.take().context("credentials file already written")?;
        file.write_all(&bytes)
            .and_then(|()| file.sync_all())
            .with_context(|| format!("could not write {}", self.path.display()))?;
        Ok(report.credentials.len())
    }
}

impl Drop for CredentialsFile {
    fn drop(&mut self) {
        if self.file.take().is_some() {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

struct Import {
    kind: RosterKind,
    file: Vec<u8>,
    options: ImportOptions,
    credentials: Option<CredentialsFile>,
    json: bool,
}

impl Job for Import {
    async fn run<S: Store>(self, platform: Platform<S>) -> anyhow::Result<()> {
        let bar = ProgressBar::new(0);
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg} [{bar:40}] {pos}/{len} ({eta} left)")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.set_message("reading");
        bar.enable_steady_tick(Duration::from_millis(120));
        let started = Instant::now();
        let progress = |p: ImportProgress| match p {
            ImportProgress::Hashing { done, total } => {
                bar.set_message("hashing first passwords");
                bar.set_length(total as u64);
                bar.set_position(done as u64);
            }
            ImportProgress::Writing => bar.set_message("writing"),
        };
        let result = match self.kind {
            RosterKind::Students => {
                platform
                    .operator_import_groups(&self.file, self.options, &progress)
                    .await
            }
            RosterKind::Teachers => {
                platform
                    .operator_import_teachers(&self.file, self.options, &progress)
                    .await
            }
        };
        bar.finish_and_clear();
        let report = result.context("import failed; nothing was written")?;
        let credentials_path = self.credentials.as_ref().map(|c| c.path.clone());
        // A re-import that creates nobody leaves no (empty) credentials file behind.
        let written = match self.credentials {
            Some(file) if report.applied && !report.credentials.is_empty() => file.finish(&report)?,
            _ => 0,
        };
        if self.json {
            let mut shown = report.clone();
            shown.credentials.clear();
            println!("{}", serde_json::to_string_pretty(&shown)?);
        } else {
            print_report(self.kind, &report, started.elapsed());
        }
        let who = match self.kind {
            RosterKind::Students => "student",
            RosterKind::Teachers => "teacher",
        };
        match credentials_path {
            Some(path) if written > 0 => eprintln!(
                "first passwords of {written} new {who}(s) written to {}",
                path.display()
            ),
            Some(path) if report.applied => eprintln!(
                "no new {who}s: no passwords to hand out, {} was not written",
                path.display()
            ),
            _ => {}
        }
        if report.errors.is_empty() {
            Ok(())
        } else if report.dry_run {
            bail!(
                "{} invalid row(s) (fix them, or import the valid ones with --skip-invalid)",
                report.errors.len()
            )
        } else if !report.applied {
            bail!(
                "{} invalid row(s); nothing was imported (fix them, or import the rest with --skip-invalid)",
                report.errors.len()
            )
        } else {
            Ok(())
        }
    }
}

fn print_report(kind: RosterKind, report: &ImportReport, elapsed: Duration) {
    let verb = if report.dry_run { "would create" } else { "created" };
    println!(
        "{} rows, {} valid, {} invalid{}",
        report.rows_total,
        report.rows_valid,
        report.errors.len(),
        if report.dry_run {
            " (dry run: nothing written)"
        } else {
            ""
        }
    );
    let who = match kind {
        RosterKind::Students => "students",
        RosterKind::Teachers => "teachers",
    };
    println!(
        "{who}: {verb} {}, already existing {}",
        report.users_created, report.users_existing
    );
    if kind == RosterKind::Teachers {
        let verb = if report.dry_run { "would change" } else { "changed" };
        println!("subjects whose teacher {verb}: {}", report.subjects_assigned.len());
        for a in &report.subjects_assigned {
            let from = a
                .previous_teacher
                .as_deref()
                .map_or_else(String::new, |t| format!(" (was {t})"));
            println!("  row {}: {} / {} → {}{from}", a.row, a.module, a.subject, a.full_name);
        }
    } else if report.groups_created.is_empty() {
        println!("groups: {verb} none");
    } else {
        println!(
            "groups: {verb} {} ({})",
            report.groups_created.len(),
            report.groups_created.join(", ")
        );
    }
    if report.applied && kind == RosterKind::Students {
        println!("memberships added: {}", report.memberships_added);
    }
    for e in &report.errors {
        println!("  {e}");
    }
    if !report.name_changes.is_empty() {
        let kept = report.name_changes.iter().filter(|c| !c.updated).count();
        println!(
            "names differing from the accounts': {}{}",
            report.name_changes.len(),
            if kept > 0 {
                " (kept; --update-names replaces them)"
            } else {
                ""
            }
        );
    }
    for c in &report.name_changes {
        println!(
            "  row {}: {}: \"{}\" → \"{}\": {}",
            c.row, c.iin, c.old_name, c.new_name, c.message
        );
    }
    println!("took {:.2} s", elapsed.as_secs_f64());
}
