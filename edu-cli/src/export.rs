//! `edu export gradebook`: a group's grades in a module as a spreadsheet.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use edu_core::config::Config;
use edu_core::domain::{GroupId, ModuleId};
use edu_core::export::{Format, Separator};
use edu_core::i18n::Lang;
use edu_core::{Platform, Store, gradebook_table};

use crate::backend::{Job, with_existing_platform};

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// A group's gradebook in a module: a row per student, a column per lesson, the averages.
    Gradebook(GradebookArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FormatArg {
    Xlsx,
    Csv,
}

/// The language a spreadsheet is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LangArg {
    Ru,
    Kk,
    En,
}

/// A CSV's cell separator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SepArg {
    /// `;` between cells and decimal commas (87,5): what Excel in ru-RU and kk-KZ expects.
    Semicolon,
    /// `,` between cells and decimal points (87.5).
    Comma,
}

/// The language and CSV separator of a spreadsheet a person will open.
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct StyleArgs {
    /// Language of the column headers and markers (and of the alphabetical order of names):
    /// ru, kk or en. By default `EDU_LANG`, else ru.
    #[arg(long, value_enum)]
    pub lang: Option<LangArg>,
    /// CSV only: the cell separator. By default the language decides: semicolon for ru and kk,
    /// comma for en. XLSX opens correctly in every locale and is recommended.
    #[arg(long, value_enum)]
    pub sep: Option<SepArg>,
}

impl StyleArgs {
    pub fn resolve(self, default: Lang) -> (Lang, Separator) {
        let lang = match self.lang {
            Some(LangArg::Ru) => Lang::Ru,
            Some(LangArg::Kk) => Lang::Kk,
            Some(LangArg::En) => Lang::En,
            None => default,
        };
        let sep = match self.sep {
            Some(SepArg::Semicolon) => Separator::Semicolon,
            Some(SepArg::Comma) => Separator::Comma,
            None => Separator::for_lang(lang),
        };
        (lang, sep)
    }
}

#[derive(Debug, clap::Args)]
pub struct GradebookArgs {
    /// The group: its id or its exact name.
    #[arg(long)]
    pub group: String,
    /// The module: its id or its exact title.
    #[arg(long)]
    pub module: String,
    /// The file format; by default the output file's extension decides, else xlsx.
    #[arg(long, value_enum)]
    pub format: Option<FormatArg>,
    /// The file to write; `-` writes to standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,
    /// Replace the output file if it exists.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub style: StyleArgs,
}

struct ExportGradebook(GradebookArgs, Lang);

impl Job for ExportGradebook {
    async fn run<S: Store>(self, platform: Platform<S>) -> anyhow::Result<()> {
        let args = self.0;
        let (lang, sep) = args.style.resolve(self.1);
        let to_stdout = args.output.as_os_str() == "-";
        let format = match (args.format, Format::from_file_name(&args.output.to_string_lossy())) {
            (Some(FormatArg::Xlsx), _) => Format::Xlsx,
            (Some(FormatArg::Csv), _) => Format::Csv,
            (None, Some(f)) => f,
            (None, None) => Format::Xlsx,
        };
        if !to_stdout && !args.force && args.output.exists() {
            bail!("{} exists already (use --force to replace it)", args.output.display());
        }
        let group = find_group(&platform, &args.group).await?;
        let module = find_module(&platform, &args.module).await?;
        let book = platform.operator_gradebook(group, module).await?;
        let bytes = gradebook_table(&book, lang).write(format, sep)?;
        if to_stdout {
            std::io::stdout().lock().write_all(&bytes)?;
        } else {
            write_atomically(&args.output, &bytes)?;
            eprintln!(
                "{}: {} students × {} lessons of {} in {}",
                args.output.display(),
                book.students.len(),
                book.lessons.len(),
                book.group_name,
                book.module_title
            );
        }
        Ok(())
    }
}

async fn find_group<S: Store>(platform: &Platform<S>, wanted: &str) -> anyhow::Result<GroupId> {
    match platform.find_group(wanted).await? {
        Some(group) => Ok(group),
        None => bail!("no group has the id or name {wanted:?}"),
    }
}

async fn find_module<S: Store>(platform: &Platform<S>, wanted: &str) -> anyhow::Result<ModuleId> {
    match platform.find_modules(wanted).await?.as_slice() {
        [one] => Ok(*one),
        [] => bail!("no module has the id or title {wanted:?}"),
        many => bail!(
            "{} modules are titled {wanted:?} (ids {}); give the id",
            many.len(),
            many.iter().map(|m| m.0.to_string()).collect::<Vec<_>>().join(", ")
        ),
    }
}

/// Writes beside the target and renames, so that a reader never sees half a file.
fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path.file_name().context("the output needs a file name")?;
    let tmp = dir.join(format!(".{}.{}.tmp", name.to_string_lossy(), std::process::id()));
    let written = std::fs::File::create(&tmp)
        .and_then(|mut f| {
            f.write_all(bytes)?;
            f.sync_all()
        })
        .and_then(|()| std::fs::rename(&tmp, path));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e).with_context(|| format!("cannot write {}", path.display()));
    }
    Ok(())
}

pub async fn run(cmd: Command, config: Config) -> anyhow::Result<()> {
    match cmd {
        Command::Gradebook(args) => {
            let lang = config.lang;
            with_existing_platform(&config, ExportGradebook(args, lang)).await
        }
    }
}
