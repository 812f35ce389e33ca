//! `edu seed`: fills an empty database with a college's worth of generated data, for measuring.

mod people;
mod plan;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use chrono::Utc;
use edu_core::auth::Hasher;
use edu_core::config::{Config, DatabaseUrl};
use edu_core::domain::{LessonKind, Password};
use edu_core::store::seed::{SeedData, SeedStore, Seeded};
use edu_core::{PgStore, SqliteStore, Store, StoreError};
use indicatif::ProgressBar;
use rand::SeedableRng;
use rand::rngs::StdRng;

/// Fill an empty database with generated groups, students, teachers, modules, lessons, tests,
/// homework and grades, for measuring.
///
/// Every seeded account has the same password (hashed once) and can log in at once. The whole
/// dataset is written in one transaction: a failure writes nothing.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[arg(long, default_value_t = 2000)]
    pub students: usize,
    #[arg(long, default_value_t = 70)]
    pub groups: usize,
    /// Teachers; subjects are shared out among them in turn.
    #[arg(long, default_value_t = 20)]
    pub teachers: usize,
    #[arg(long, default_value_t = 10)]
    pub modules: usize,
    #[arg(long, default_value_t = 4)]
    pub subjects_per_module: usize,
    /// Lessons of each subject: about 40% video, 30% PDF, 30% tests.
    #[arg(long, default_value_t = 10)]
    pub lessons_per_subject: usize,
    /// Modules each group has access to (chosen at random).
    #[arg(long, default_value_t = 4)]
    pub modules_per_group: usize,
    /// Share of the visible video and PDF lessons a student has handed homework in for (0–1,
    /// varied per student).
    #[arg(long, default_value_t = 0.25)]
    pub homework_share: f64,
    /// Share of the homework already graded (0–1).
    #[arg(long, default_value_t = 0.8)]
    pub graded_share: f64,
    /// Share of the visible tests a student has taken (0–1, varied per student).
    #[arg(long, default_value_t = 0.4)]
    pub test_share: f64,
    /// The password of every seeded account (at least 8 characters).
    #[arg(
        long,
        env = "EDU_SEED_PASSWORD",
        default_value = "seed-password",
        hide_env_values = true
    )]
    pub password: String,
    /// Seed of the random generator: the same seed gives the same people, courses and grades
    /// (default: a random one, printed).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Write the seeded students' IINs to this file, one per line.
    #[arg(long, value_name = "FILE")]
    pub iins_out: Option<PathBuf>,
    /// Seed even if the database already has groups. Group names then carry the seed (e.g.
    /// "ПО-22-1 (seed 7)") so they do not collide with earlier ones; IINs must be new too.
    #[arg(long)]
    pub force: bool,
}

impl Args {
    fn shape(&self, seed: u64) -> anyhow::Result<plan::Shape> {
        let at_least_one = [
            ("--students", self.students),
            ("--groups", self.groups),
            ("--modules", self.modules),
            ("--subjects-per-module", self.subjects_per_module),
            ("--lessons-per-subject", self.lessons_per_subject),
            ("--modules-per-group", self.modules_per_group),
        ];
        for (flag, n) in at_least_one {
            if n == 0 {
                bail!("{flag} must be at least 1");
            }
        }
        if self.students > 1_000_000 || self.teachers > 100_000 {
            bail!("--students is limited to 1,000,000 and --teachers to 100,000");
        }
        if self.groups > self.students {
            bail!(
                "--groups ({}) cannot exceed --students ({})",
                self.groups,
                self.students
            );
        }
        if self.modules_per_group > self.modules {
            bail!(
                "--modules-per-group ({}) cannot exceed --modules ({})",
                self.modules_per_group,
                self.modules
            );
        }
        let lessons = self.modules * self.subjects_per_module * self.lessons_per_subject;
        if lessons > 100_000 {
            bail!("{lessons} lessons is too many: keep modules × subjects × lessons within 100,000");
        }
        for (flag, share) in [
            ("--homework-share", self.homework_share),
            ("--graded-share", self.graded_share),
            ("--test-share", self.test_share),
        ] {
            if !(0.0..=1.0).contains(&share) {
                bail!("{flag} must be between 0 and 1");
            }
        }
        Ok(plan::Shape {
            students: self.students,
            groups: self.groups,
            teachers: self.teachers,
            modules: self.modules,
            subjects_per_module: self.subjects_per_module,
            lessons_per_subject: self.lessons_per_subject,
            modules_per_group: self.modules_per_group,
            homework: self.homework_share,
            graded: self.graded_share,
            tests: self.test_share,
            group_tag: self.force.then(|| format!("seed {seed}")),
        })
    }
}

pub async fn run(args: Args, config: Config) -> anyhow::Result<()> {
    let seed = args.seed.unwrap_or_else(rand::random);
    let shape = args.shape(seed)?;
    let password = Password::new(&args.password).map_err(|e| anyhow::anyhow!("--password: {e}"))?;
    let started = Instant::now();

    // One hash for every account: bcrypt at the configured cost takes long enough once.
    let hash = Hasher::new(config.bcrypt_cost).hash(&password).await?;
    let data = plan::generate(&shape, &mut StdRng::seed_from_u64(seed), hash, Utc::now())?;
    let generated = started.elapsed();

    // The IIN list is written beside its final name first, so a bad path fails before the
    // database is touched and the file only appears once the data is there.
    let iins = args.iins_out.as_deref().map(IinFile::new);
    if let Some(file) = &iins {
        file.write(&data)?;
    }

    let spinner = ProgressBar::new_spinner().with_message("writing the dataset in one transaction…");
    spinner.enable_steady_tick(Duration::from_millis(120));
    let written = write(&config, &data, args.force).await;
    spinner.finish_and_clear();
    let refused = match written {
        Ok(Seeded::Written) => None,
        Ok(Seeded::Refused { groups }) => Some(groups),
        Err(e) => {
            if let Some(file) = &iins {
                file.discard();
            }
            return Err(e);
        }
    };
    if let Some(groups) = refused {
        if let Some(file) = &iins {
            file.discard();
        }
        bail!(
            "the database already has {groups} group(s); edu seed fills an empty database \
             (pass --force to add to it anyway). Nothing was written."
        );
    }
    if let Some(file) = &iins {
        file.commit()?;
    }
    let total = started.elapsed();
    report(&data, &config, seed, args.iins_out.as_deref(), generated, total);
    Ok(())
}

/// Connects to the configured database and writes the dataset. The bulk writer is not part of
/// `Store` (the server never needs it), so this command picks the concrete store itself.
async fn write(config: &Config, data: &SeedData, force: bool) -> anyhow::Result<Seeded> {
    match &config.database {
        DatabaseUrl::Postgres(url) => {
            let store = PgStore::connect(url, config.pool)
                .await
                .context("could not connect to PostgreSQL (DATABASE_URL)")?;
            write_to(&store, data, force).await
        }
        DatabaseUrl::Sqlite(url) => {
            let store = SqliteStore::connect(url, config.pool)
                .await
                .with_context(|| format!("could not open the SQLite database {} (DATABASE_URL)", config.database))?;
            write_to(&store, data, force).await
        }
    }
}

async fn write_to<S: Store + SeedStore>(store: &S, data: &SeedData, force: bool) -> anyhow::Result<Seeded> {
    store.migrate().await.context("could not apply database migrations")?;
    match store.seed(data, force).await {
        Ok(seeded) => Ok(seeded),
        Err(StoreError::Conflict { constraint }) => bail!(
            "a seeded name or IIN is already in the database ({constraint}); nothing was written. \
             Seed an empty database, or pass another --seed"
        ),
        Err(e) => Err(anyhow::Error::new(e).context("could not write the dataset; nothing was written")),
    }
}

/// The list of seeded students' IINs: written to `NAME.partial`, renamed to `NAME` on success.
struct IinFile {
    path: PathBuf,
    partial: PathBuf,
}

impl IinFile {
    fn new(path: &Path) -> Self {
        let mut partial = path.as_os_str().to_owned();
        partial.push(".partial");
        Self {
            path: path.to_owned(),
            partial: partial.into(),
        }
    }

    fn write(&self, data: &SeedData) -> anyhow::Result<()> {
        let file = std::fs::File::create(&self.partial)
            .with_context(|| format!("could not create {}", self.partial.display()))?;
        let mut out = std::io::BufWriter::new(file);
        for s in &data.students {
            writeln!(out, "{}", s.iin)?;
        }
        out.into_inner()
            .map_err(|e| e.into_error())
            .and_then(|f| f.sync_all())
            .with_context(|| format!("could not write {}", self.partial.display()))
    }

    fn commit(&self) -> anyhow::Result<()> {
        std::fs::rename(&self.partial, &self.path).with_context(|| {
            format!(
                "the data is written, but {} could not be renamed",
                self.partial.display()
            )
        })
    }

    fn discard(&self) {
        // Nothing useful to do if the partial file is already gone.
        let _ = std::fs::remove_file(&self.partial);
    }
}

fn report(data: &SeedData, config: &Config, seed: u64, iins: Option<&Path>, generated: Duration, total: Duration) {
    let mut per_group: BTreeMap<usize, usize> = BTreeMap::new();
    for &(_, g) in &data.memberships {
        *per_group.entry(g).or_default() += 1;
    }
    let kinds = |k: LessonKind| data.lessons.iter().filter(|l| l.kind == k).count();
    let graded = data.submissions.iter().filter(|s| s.grade.is_some()).count();
    let fractional = data.attempts.iter().filter(|a| a.score.fract() != 0.0).count();
    let mut items = vec![0_usize; data.students.len()];
    for s in data.submissions.iter().filter(|s| s.grade.is_some()) {
        items[s.student] += 1;
    }
    for a in &data.attempts {
        items[a.student] += 1;
    }
    items.sort_unstable();
    let at = |p: f64| {
        items
            .get(((items.len().saturating_sub(1)) as f64 * p) as usize)
            .copied()
            .unwrap_or(0)
    };
    let backend = match &config.database {
        DatabaseUrl::Postgres(_) => "PostgreSQL".to_owned(),
        DatabaseUrl::Sqlite(_) => format!("SQLite ({})", config.database),
    };
    println!(
        "seeded {backend} in {:.1} s (hashing and generating {:.1} s, writing {:.1} s), --seed {seed}",
        total.as_secs_f64(),
        generated.as_secs_f64(),
        (total - generated).as_secs_f64()
    );
    println!("  teachers        {}", data.teachers.len());
    println!(
        "  students        {} in {} groups ({}–{} per group)",
        data.students.len(),
        data.groups.len(),
        per_group.values().min().copied().unwrap_or(0),
        per_group.values().max().copied().unwrap_or(0)
    );
    println!(
        "  modules         {} ({} group links)",
        data.modules.len(),
        data.module_groups.len()
    );
    println!("  subjects        {}", data.subjects.len());
    println!(
        "  lessons         {} ({} video, {} pdf, {} test)",
        data.lessons.len(),
        kinds(LessonKind::Video),
        kinds(LessonKind::Pdf),
        kinds(LessonKind::Test)
    );
    println!(
        "  tests           {} with {} questions",
        data.tests.len(),
        data.tests.iter().map(|t| t.questions.len()).sum::<usize>()
    );
    println!(
        "  homework        {} submissions, {graded} graded",
        data.submissions.len()
    );
    println!(
        "  test results    {} ({fractional} with a fractional score)",
        data.attempts.len()
    );
    println!(
        "  graded items per student: min {}, p10 {}, median {}, p90 {}, max {}",
        at(0.0),
        at(0.1),
        at(0.5),
        at(0.9),
        at(1.0)
    );
    if let Some(path) = iins {
        println!("  student IINs in {}", path.display());
    }
}
