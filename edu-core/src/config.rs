//! Configuration from environment variables (the README's table), read from any source of key/value pairs
//! so that embedding services and tests can supply their own.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use jsonwebtoken::Algorithm;

use crate::auth::token::parse_algorithm;
use crate::domain::{Iin, Password, Phone};
use crate::files::StoreUrl;
use crate::import::InitialPasswords;
use crate::platform::{BootstrapAdmin, PlatformConfig};
use crate::store::PoolSettings;

mod private;
mod redact;
mod trusted_proxies;

pub(crate) use private::create_private_file;
pub use private::{create_private_dir, tighten_private_file};
pub use redact::redact_url;
pub use trusted_proxies::{Network, TrustedProxies};

/// Which database `DATABASE_URL` names.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// A PostgreSQL URL, `postgresql+…` schemes already rewritten to `postgresql://`.
    Postgres(String),
    /// A `sqlite://` URL naming a file (or an in-memory database).
    Sqlite(String),
}

impl DatabaseUrl {
    /// Checks the form of the URL; whether the database answers is found out when connecting.
    pub fn parse(url: &str) -> Result<Self, String> {
        use std::str::FromStr;
        let url = url.trim();
        let scheme = url.split_once("://").map(|(s, _)| s).unwrap_or_default();
        match scheme {
            "postgres" | "postgresql" => Self::postgres(url.to_owned()),
            s if s.starts_with("postgresql+") => Self::postgres(crate::store::normalize_url(url)),
            "sqlite" => {
                let options = sqlx::sqlite::SqliteConnectOptions::from_str(url)
                    .map_err(|e| format!("{} is not a SQLite URL: {e}", redact_url(url)))?;
                if options.get_filename().as_os_str().is_empty() && !is_in_memory(url) {
                    return Err("sqlite:// names no file; write sqlite://path/to/edu.db".into());
                }
                Ok(Self::Sqlite(url.to_owned()))
            }
            _ => Err("must start with postgres://, postgresql://, postgresql+asyncpg:// or sqlite://".into()),
        }
    }

    fn postgres(url: String) -> Result<Self, String> {
        use std::str::FromStr;
        // The driver logs the value of every parameter it does not know, so a secret it would
        // ignore anyway must not reach it.
        if let Some(key) = redact::secret_parameters(&url)
            .into_iter()
            .find(|k| !k.eq_ignore_ascii_case("password"))
        {
            return Err(format!(
                "the parameter {key} is not supported by the PostgreSQL driver; remove it"
            ));
        }
        match sqlx::postgres::PgConnectOptions::from_str(&url) {
            Ok(_) => Ok(Self::Postgres(url)),
            Err(e) => Err(format!("{} is not a PostgreSQL URL: {e}", redact_url(&url))),
        }
    }

    /// The database file of a SQLite URL; `None` for PostgreSQL and in-memory databases.
    pub fn sqlite_file(&self) -> Option<PathBuf> {
        use std::str::FromStr;
        match self {
            Self::Sqlite(url) if !is_in_memory(url) => sqlx::sqlite::SqliteConnectOptions::from_str(url)
                .ok()
                .map(|o| o.get_filename().to_path_buf())
                .filter(|p| !p.as_os_str().is_empty()),
            _ => None,
        }
    }
}

fn is_in_memory(url: &str) -> bool {
    let rest = url.trim_start_matches("sqlite://").trim_start_matches("sqlite:");
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    path == ":memory:" || query.split('&').any(|p| p == "mode=memory")
}

impl fmt::Debug for DatabaseUrl {
    /// Never prints credentials.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Postgres(url) | Self::Sqlite(url) => f.write_str(&redact_url(url)),
        }
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// Everything read from the environment.
#[derive(Debug, Clone)]
pub struct Config {
    /// `DATABASE_URL`, by default `sqlite://` the file `edu.db` in the data directory.
    pub database: DatabaseUrl,
    /// `SECRET_KEY`; with SQLite and none given, one is generated in the data directory.
    pub secret_key: Option<Secret>,
    /// `ALGORITHM`: the JWT algorithm, HS256, HS384 or HS512; pinned at verification.
    pub algorithm: Algorithm,
    /// `ACCESS_TOKEN_EXPIRE_MINUTES`: how long an access token is valid (default 30 minutes).
    pub access_ttl: Duration,
    /// `PLACE_URL`: empty means any origin without credentials.
    pub cors_origins: Vec<String>,
    /// `ADMIN_IIN`, `ADMIN_PASSWORD`, `ADMIN_FULL_NAME`, `ADMIN_PHONE`: the administrator created
    /// at start when no user has that IIN.
    pub admin: Option<BootstrapAdmin>,
    /// `DB_POOL_SIZE`, `DB_MAX_OVERFLOW`, `DB_POOL_TIMEOUT`: the database connection pool.
    pub pool: PoolSettings,
    /// `EDU_DATA_DIR` (default `./edu-data`): the SQLite file, a generated key and uploads.
    pub data_dir: PathBuf,
    /// Uploaded files: `EDU_FILES_URL` (`file:///dir` or `s3://bucket/prefix`), or the directory
    /// `EDU_FILES_DIR`, by default `files` in the data directory.
    pub files: StoreUrl,
    /// `BCRYPT_COST`: the bcrypt work factor, 4–31 (default 12).
    pub bcrypt_cost: u32,
    /// `EDU_API_DOCS`: whether `/openapi.json` is served.
    pub api_docs: bool,
    /// `EDU_IMPORT_PASSWORDS`: first passwords of imported students, `random` or `legacy`.
    pub import_passwords: InitialPasswords,
    /// `EDU_LANG`: the language of messages for clients whose `Accept-Language` names none of
    /// ru, kk, en. Russian by default, as the legacy backend answered.
    pub lang: crate::i18n::Lang,
    /// `EDU_TRUSTED_PROXIES`: the reverse proxies whose `X-Forwarded-For`, `Forwarded` and
    /// `X-Forwarded-Proto` are believed. Empty: those headers are ignored.
    pub trusted_proxies: TrustedProxies,
}

/// A secret that never prints.
#[derive(Clone)]
pub struct Secret(pub Vec<u8>);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// One bad variable, as one line naming it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The environment variable's name.
    pub variable: &'static str,
    /// What is wrong with its value, for people; never shows a secret.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.variable, self.message)
    }
}

/// All the bad variables at once, one per line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "invalid configuration: {e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

struct Reader<F> {
    get: F,
    errors: Vec<ConfigError>,
}

impl<F: Fn(&str) -> Option<String>> Reader<F> {
    /// The trimmed value, or `None` when unset or blank.
    fn value(&self, name: &str) -> Option<String> {
        (self.get)(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
    }

    fn fail(&mut self, variable: &'static str, message: impl Into<String>) {
        self.errors.push(ConfigError {
            variable,
            message: message.into(),
        });
    }

    fn number<T>(&mut self, name: &'static str, default: T, range: (T, T)) -> T
    where
        T: std::str::FromStr + PartialOrd + fmt::Display + Copy,
    {
        match self.value(name) {
            None => default,
            Some(v) => match v.parse::<T>() {
                Ok(n) if n >= range.0 && n <= range.1 => n,
                _ => {
                    self.fail(
                        name,
                        format!("expected a whole number from {} to {}, got {v:?}", range.0, range.1),
                    );
                    default
                }
            },
        }
    }

    fn flag(&mut self, name: &'static str) -> bool {
        match self.value(name).map(|v| v.to_ascii_lowercase()) {
            None => false,
            Some(v) if matches!(v.as_str(), "1" | "true" | "yes" | "on") => true,
            Some(v) if matches!(v.as_str(), "0" | "false" | "no" | "off") => false,
            Some(v) => {
                self.fail(name, format!("expected true or false, got {v:?}"));
                false
            }
        }
    }
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigErrors> {
        Self::from_vars(|k| std::env::var(k).ok())
    }

    /// Reads from any lookup; every bad variable is reported, not just the first.
    pub fn from_vars(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigErrors> {
        let mut r = Reader {
            get,
            errors: Vec::new(),
        };
        let data_dir = PathBuf::from(r.value("EDU_DATA_DIR").unwrap_or_else(|| "./edu-data".into()));
        let files = match (r.value("EDU_FILES_URL"), r.value("EDU_FILES_DIR")) {
            (Some(_), Some(_)) => {
                r.fail("EDU_FILES_URL", "set either EDU_FILES_URL or EDU_FILES_DIR, not both");
                StoreUrl::Directory(data_dir.join("files"))
            }
            (Some(url), None) => StoreUrl::parse(&url).unwrap_or_else(|msg| {
                r.fail("EDU_FILES_URL", msg);
                StoreUrl::Directory(data_dir.join("files"))
            }),
            (None, dir) => StoreUrl::Directory(dir.map_or_else(|| data_dir.join("files"), PathBuf::from)),
        };
        let explicit_db = r.value("DATABASE_URL");
        let default_db = format!("sqlite://{}", data_dir.join("edu.db").display());
        let database = match DatabaseUrl::parse(explicit_db.as_deref().unwrap_or(&default_db)) {
            Ok(d) => d,
            Err(msg) => {
                r.fail("DATABASE_URL", msg);
                DatabaseUrl::Sqlite(String::new())
            }
        };
        if let Some(msg) = missing_sqlite_directory(&database, &data_dir) {
            r.fail("DATABASE_URL", msg);
        }
        // `SECRET_KEY_FILE` names a file holding the key (a secret mounted by the service manager),
        // so the key survives restarts without being in the environment.
        let from_file = match (r.value("SECRET_KEY"), r.value("SECRET_KEY_FILE")) {
            (Some(_), Some(_)) => {
                r.fail("SECRET_KEY_FILE", "set either SECRET_KEY or SECRET_KEY_FILE, not both");
                None
            }
            (None, Some(path)) => match std::fs::read_to_string(&path) {
                Ok(key) if key.trim().is_empty() => {
                    r.fail("SECRET_KEY_FILE", format!("{path} is empty"));
                    None
                }
                Ok(key) => Some(key.trim().to_owned()),
                Err(e) => {
                    r.fail("SECRET_KEY_FILE", format!("cannot read {path}: {e}"));
                    None
                }
            },
            _ => None,
        };
        let secret_key = match from_file.or_else(|| r.value("SECRET_KEY")) {
            Some(k) if k.len() < 16 => {
                r.fail("SECRET_KEY", "must be at least 16 characters");
                None
            }
            Some(k) => Some(Secret(k.into_bytes())),
            None => {
                if matches!(database, DatabaseUrl::Postgres(_)) && r.value("SECRET_KEY_FILE").is_none() {
                    r.fail(
                        "SECRET_KEY",
                        "is required when DATABASE_URL is PostgreSQL (or SECRET_KEY_FILE naming a file that holds it)",
                    );
                }
                None
            }
        };
        let algorithm = match r.value("ALGORITHM") {
            None => Algorithm::HS256,
            Some(a) => parse_algorithm(&a).unwrap_or_else(|| {
                r.fail("ALGORITHM", format!("{a:?} is not accepted; use HS256, HS384 or HS512"));
                Algorithm::HS256
            }),
        };
        let access_minutes: u64 = r.number("ACCESS_TOKEN_EXPIRE_MINUTES", 30, (1, 60 * 24 * 30));
        let cors_origins = r
            .value("PLACE_URL")
            .map(|v| {
                v.split(',')
                    .map(|o| {
                        o.trim()
                            .trim_matches(|c| c == '"' || c == '\'')
                            .trim()
                            .trim_end_matches('/')
                            .to_owned()
                    })
                    .filter(|o| !o.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        let pool_size: u32 = r.number("DB_POOL_SIZE", 5, (1, 1000));
        let overflow: u32 = r.number("DB_MAX_OVERFLOW", 10, (0, 1000));
        // Short by default: a request waits this long for a connection before answering 503 with
        // Retry-After, which is what a client should hear while the database is away.
        let timeout: u64 = r.number("DB_POOL_TIMEOUT", 2, (1, 3600));
        let pooler = match r.value("EDU_PGBOUNCER") {
            None => crate::store::Pooler::None,
            Some(v) => v.parse().unwrap_or_else(|msg: String| {
                r.fail("EDU_PGBOUNCER", msg);
                crate::store::Pooler::None
            }),
        };
        let bcrypt_cost: u32 = r.number("BCRYPT_COST", 12, (4, 31));
        let api_docs = r.flag("EDU_API_DOCS");
        let import_passwords = match r.value("EDU_IMPORT_PASSWORDS") {
            None => InitialPasswords::Random,
            Some(v) => InitialPasswords::parse(&v).unwrap_or_else(|| {
                r.fail("EDU_IMPORT_PASSWORDS", format!("expected random or legacy, got {v:?}"));
                InitialPasswords::Random
            }),
        };
        let lang = match r.value("EDU_LANG") {
            None => crate::i18n::Lang::default(),
            Some(v) => v.parse().unwrap_or_else(|msg: String| {
                r.fail("EDU_LANG", msg);
                crate::i18n::Lang::default()
            }),
        };
        let trusted_proxies = match r.value("EDU_TRUSTED_PROXIES") {
            None => TrustedProxies::default(),
            Some(v) => TrustedProxies::parse(&v).unwrap_or_else(|msg| {
                r.fail("EDU_TRUSTED_PROXIES", msg);
                TrustedProxies::default()
            }),
        };
        let admin = read_admin(&mut r);

        if !r.errors.is_empty() {
            return Err(ConfigErrors(r.errors));
        }
        Ok(Self {
            database,
            secret_key,
            algorithm,
            access_ttl: Duration::from_secs(access_minutes * 60),
            cors_origins,
            admin,
            pool: PoolSettings {
                max_connections: pool_size + overflow,
                acquire_timeout: Duration::from_secs(timeout),
                pooler,
            },
            data_dir,
            files,
            bcrypt_cost,
            api_docs,
            import_passwords,
            lang,
            trusted_proxies,
        })
    }

    /// Creates the data directory, readable by this user only, unless it exists; an existing one
    /// that other users may read is left as the operator made it, with a warning.
    pub fn prepare_data_dir(&self) -> std::io::Result<()> {
        create_private_dir(&self.data_dir)
    }

    /// The signing secret: `SECRET_KEY`, or a key generated once and kept in the data directory.
    pub fn resolve_secret(&self) -> std::io::Result<Secret> {
        match &self.secret_key {
            Some(s) => Ok(s.clone()),
            None => load_or_create_key(&self.data_dir.join("secret.key")),
        }
    }

    /// The file store of this configuration (a directory is created if missing; nothing is
    /// contacted yet, see [`FileStore::check`](crate::files::FileStore::check)).
    pub fn file_store(&self) -> Result<crate::files::FileStore, crate::files::FileError> {
        use crate::files::{FileError, FileStore};
        match &self.files {
            StoreUrl::Directory(dir) => FileStore::local(dir)
                .map_err(|e| FileError::Config(format!("cannot open the directory {}: {e}", dir.display()))),
            StoreUrl::S3 { bucket, prefix } => FileStore::from_url(&format!("s3://{bucket}/{prefix}"), &[]),
        }
    }

    /// The core's settings with this configuration and secret.
    pub fn platform_config(&self, secret: Secret) -> PlatformConfig {
        let mut c = PlatformConfig::new(secret.0);
        c.jwt_algorithm = self.algorithm;
        c.access_ttl = self.access_ttl;
        c.bcrypt_cost = self.bcrypt_cost;
        c.import_passwords = self.import_passwords;
        c
    }
}

fn read_admin<F: Fn(&str) -> Option<String>>(r: &mut Reader<F>) -> Option<BootstrapAdmin> {
    let iin = r.value("ADMIN_IIN");
    let password = (r.get)("ADMIN_PASSWORD").filter(|p| !p.is_empty());
    let (Some(iin), Some(password)) = (iin, password) else {
        // Whether that matters (is there an administrator already?) is for `edu serve` to say.
        return None;
    };
    let iin = match Iin::parse(&iin) {
        Ok(i) => Some(i),
        Err(e) => {
            r.fail("ADMIN_IIN", e.to_string());
            None
        }
    };
    let password = match Password::new(&password) {
        Ok(p) => Some(p),
        Err(e) => {
            r.fail("ADMIN_PASSWORD", e.to_string());
            None
        }
    };
    let phone = match r.value("ADMIN_PHONE") {
        None => None,
        Some(p) => match Phone::parse(&p) {
            Ok(p) => Some(p),
            Err(e) => {
                r.fail("ADMIN_PHONE", e.to_string());
                None
            }
        },
    };
    let full_name = r.value("ADMIN_FULL_NAME").unwrap_or_else(|| "Administrator".into());
    Some(BootstrapAdmin {
        iin: iin?,
        password: password?,
        full_name,
        phone,
    })
}

/// A SQLite file outside the data directory must be in a directory that exists: a typo in
/// `DATABASE_URL` would otherwise start an empty school in a new directory.
fn missing_sqlite_directory(database: &DatabaseUrl, data_dir: &Path) -> Option<String> {
    let file = database.sqlite_file()?;
    let parent = file.parent().filter(|p| !p.as_os_str().is_empty())?;
    if parent == data_dir || parent.is_dir() {
        return None;
    }
    Some(format!(
        "the directory {} of the SQLite database does not exist (only the data directory, EDU_DATA_DIR, is created)",
        parent.display()
    ))
}

fn load_or_create_key(path: &Path) -> std::io::Result<Secret> {
    use std::io::Write;
    if let Ok(existing) = std::fs::read(path) {
        let trimmed: Vec<u8> = existing.trim_ascii().to_vec();
        if trimmed.len() >= 32 {
            return Ok(Secret(trimmed));
        }
    }
    if let Some(dir) = path.parent() {
        create_private_dir(dir)?;
    }
    let key = crate::auth::token::new_refresh_token().into_bytes();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(&key)?;
    tracing::warn!(path = %path.display(), "SECRET_KEY is not set: generated a signing key in the data directory");
    Ok(Secret(key))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn read(pairs: &[(&str, &str)]) -> Result<Config, ConfigErrors> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        Config::from_vars(|k| map.get(k).cloned())
    }

    #[test]
    fn the_secret_key_may_come_from_a_file() {
        let dir = std::env::temp_dir().join(format!("edu-secret-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let file = dir.join("key");
        std::fs::write(&file, "0123456789abcdef0123456789abcdef\n").expect("key file");
        let path = file.display().to_string();
        let pg = ("DATABASE_URL", "postgres://u@localhost/edu");
        let c = read(&[pg, ("SECRET_KEY_FILE", &path)]).expect("a key from the file");
        assert_eq!(
            c.secret_key.as_ref().map(|k| k.0.clone()),
            Some(b"0123456789abcdef0123456789abcdef".to_vec()),
            "trimmed"
        );
        let both = read(&[pg, ("SECRET_KEY_FILE", &path), ("SECRET_KEY", "0123456789abcdef0123")]);
        assert_eq!(both.expect_err("both").0[0].variable, "SECRET_KEY_FILE");
        let missing = read(&[pg, ("SECRET_KEY_FILE", "/nonexistent/edu-key")]);
        let err = missing.expect_err("unreadable");
        assert_eq!(err.0[0].variable, "SECRET_KEY_FILE");
        assert!(err.0[0].message.contains("/nonexistent/edu-key"), "{err}");
        std::fs::write(&file, " \n").expect("blank");
        assert_eq!(
            read(&[pg, ("SECRET_KEY_FILE", &path)]).expect_err("empty").0[0].variable,
            "SECRET_KEY_FILE"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn defaults_are_sqlite_without_admin() {
        let c = read(&[]).expect("defaults are valid");
        assert_eq!(c.database, DatabaseUrl::Sqlite("sqlite://./edu-data/edu.db".into()));
        assert_eq!(c.pool.max_connections, 15);
        assert_eq!(c.access_ttl, Duration::from_secs(1800));
        assert!(c.admin.is_none());
    }

    #[test]
    fn every_bad_value_gets_its_own_line() {
        let err = read(&[
            ("DATABASE_URL", "mysql://x"),
            ("ALGORITHM", "RS256"),
            ("ADMIN_IIN", "123"),
            ("ADMIN_PASSWORD", "long-enough-pw"),
            ("DB_POOL_SIZE", "lots"),
        ])
        .expect_err("invalid");
        let vars: Vec<_> = err.0.iter().map(|e| e.variable).collect();
        assert_eq!(vars, ["DATABASE_URL", "ALGORITHM", "DB_POOL_SIZE", "ADMIN_IIN"]);
        assert_eq!(err.to_string().lines().count(), 4);
    }

    #[test]
    fn import_passwords_are_random_unless_legacy_is_asked_for() {
        assert_eq!(read(&[]).expect("defaults").import_passwords, InitialPasswords::Random);
        let c = read(&[("EDU_IMPORT_PASSWORDS", " Legacy ")]).expect("legacy");
        assert_eq!(c.import_passwords, InitialPasswords::Legacy);
        assert_eq!(
            c.platform_config(Secret(vec![0; 16])).import_passwords,
            InitialPasswords::Legacy
        );
        let err = read(&[("EDU_IMPORT_PASSWORDS", "iin")]).expect_err("unknown");
        assert_eq!(err.0[0].variable, "EDU_IMPORT_PASSWORDS");
        assert!(err.to_string().contains("EDU_IMPORT_PASSWORDS"), "{err}");
    }

    #[test]
    fn postgres_needs_a_secret_and_accepts_the_legacy_url() {
        let err = read(&[("DATABASE_URL", "postgresql+asyncpg://u:p@h/db")]).expect_err("no secret");
        assert_eq!(err.0[0].variable, "SECRET_KEY");
        let c = read(&[
            ("DATABASE_URL", "postgresql+asyncpg://u:p@h/db"),
            ("SECRET_KEY", "0123456789abcdef0123"),
        ])
        .expect("valid");
        assert_eq!(c.database, DatabaseUrl::Postgres("postgres://u:p@h/db".into()));
        assert!(!format!("{c:?}").contains("u:p"), "credentials must not be printed");
    }

    #[test]
    fn database_urls_that_would_start_an_empty_school_are_refused() {
        let dir = std::env::temp_dir().join(format!("edu-config-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let secret = ("SECRET_KEY", "0123456789abcdef0123");
        let missing = format!("sqlite://{}", dir.join("typo").join("edu.db").display());
        for bad in [
            "sqlite://",
            "sqlite://?mode=rwc",
            "postgres://[broken",
            "postgresql://u@h:notaport/db",
            &missing,
        ] {
            let err = read(&[("DATABASE_URL", bad), secret]).expect_err(bad);
            assert_eq!(err.0.len(), 1, "{bad}: {err}");
            assert_eq!(err.0[0].variable, "DATABASE_URL", "{bad}");
        }
        assert!(!dir.join("typo").exists(), "nothing is created while reading");
        let err = read(&[("DATABASE_URL", "mysql://db/x")]).expect_err("mysql");
        assert!(err.to_string().contains("postgresql://"), "{err}");
        // A file in an existing directory, in the data directory (created later) or in memory.
        let here = format!("sqlite://{}", dir.join("edu.db").display());
        let c = read(&[("DATABASE_URL", &here)]).expect("an existing directory");
        assert_eq!(c.database.sqlite_file(), Some(dir.join("edu.db")));
        let data = dir.join("new-data");
        let in_data = format!("sqlite://{}", data.join("edu.db").display());
        read(&[
            ("DATABASE_URL", &in_data),
            ("EDU_DATA_DIR", &data.display().to_string()),
        ])
        .expect("the data directory");
        read(&[("DATABASE_URL", "sqlite::memory:")]).expect_err("no ://");
        let c = read(&[("DATABASE_URL", "sqlite://:memory:")]).expect("in memory");
        assert_eq!(c.database.sqlite_file(), None);
        read(&[("DATABASE_URL", "sqlite://edu.db")]).expect("the working directory");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn database_passwords_never_print() {
        let err = read(&[
            (
                "DATABASE_URL",
                "postgresql://u@h/db?sslmode=require&sslpassword=pw-secret-1",
            ),
            ("SECRET_KEY", "0123456789abcdef0123"),
        ])
        .expect_err("the driver does not read sslpassword and would log it");
        assert!(
            err.to_string().contains("sslpassword") && !err.to_string().contains("pw-secret-1"),
            "{err}"
        );
        for url in [
            "postgres://u:pw-secret-1@h/db",
            "postgres://h/db?user=u&password=pw-secret-1",
        ] {
            let c = read(&[("DATABASE_URL", url), ("SECRET_KEY", "0123456789abcdef0123")]).expect(url);
            for shown in [format!("{c:?}"), format!("{:?}", c.database), c.database.to_string()] {
                assert!(!shown.contains("pw-secret-1"), "{shown}");
                assert!(
                    shown.contains("h/db") || shown.contains("@h"),
                    "the host is kept: {shown}"
                );
            }
        }
        let err = read(&[
            ("DATABASE_URL", "postgres://u:pw-secret-1@[broken/db"),
            ("SECRET_KEY", "0123456789abcdef0123"),
        ])
        .expect_err("malformed");
        assert!(!err.to_string().contains("pw-secret-1"), "{err}");
        let err = read(&[("EDU_FILES_URL", "s3://u:pw-secret-1@bucket/x")]).expect_err("userinfo in S3");
        assert!(!err.to_string().contains("pw-secret-1"), "{err}");
    }

    #[test]
    fn trusted_proxies_are_read_and_checked() {
        assert!(read(&[]).expect("defaults").trusted_proxies.is_empty());
        let c = read(&[("EDU_TRUSTED_PROXIES", "127.0.0.1, 10.0.0.0/8, ::1")]).expect("valid");
        assert!(c.trusted_proxies.contains("10.1.2.3".parse().expect("ip")));
        let err = read(&[("EDU_TRUSTED_PROXIES", "10.0.0.0/8, nginx")]).expect_err("a name");
        assert_eq!(err.0[0].variable, "EDU_TRUSTED_PROXIES");
        assert!(err.to_string().contains("nginx"), "{err}");
    }

    #[test]
    fn cors_origins_are_cleaned() {
        let c = read(&[("PLACE_URL", " \"https://a.example\" , 'https://b.example/',, ")]).expect("valid");
        assert_eq!(c.cors_origins, ["https://a.example", "https://b.example"]);
    }

    #[test]
    fn generated_key_is_kept_private() {
        let dir = std::env::temp_dir().join(format!("edu-key-{}", uuid::Uuid::new_v4()));
        let path = dir.join("secret.key");
        let a = load_or_create_key(&path).expect("create");
        let b = load_or_create_key(&path).expect("reuse");
        assert_eq!(a.0, b.0);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn the_message_language_defaults_to_russian() {
        use crate::i18n::Lang;
        assert_eq!(read(&[]).expect("defaults").lang, Lang::Ru);
        assert_eq!(read(&[("EDU_LANG", "kk")]).expect("kk").lang, Lang::Kk);
        assert_eq!(read(&[("EDU_LANG", " EN ")]).expect("en").lang, Lang::En);
        let err = read(&[("EDU_LANG", "de")]).expect_err("de");
        assert_eq!(err.0[0].variable, "EDU_LANG");
        assert!(err.to_string().contains("EDU_LANG"), "{err}");
    }

    #[test]
    fn the_file_store_is_a_directory_or_a_checked_url() {
        let c = read(&[("EDU_DATA_DIR", "/srv/edu")]).expect("defaults");
        assert_eq!(c.files, StoreUrl::Directory("/srv/edu/files".into()));
        let c = read(&[("EDU_FILES_DIR", "/mnt/files")]).expect("a directory");
        assert_eq!(c.files, StoreUrl::Directory("/mnt/files".into()));
        let c = read(&[("EDU_FILES_URL", "file:///mnt/other")]).expect("a file URL");
        assert_eq!(c.files, StoreUrl::Directory("/mnt/other".into()));
        for bad in [
            "relative/dir",
            "file://relative",
            "ftp://host/x",
            "s3://",
            "s3://UPPER",
            "s3://ok-bucket/../up",
        ] {
            let err = read(&[("EDU_FILES_URL", bad)]).expect_err(bad);
            assert_eq!(err.0.len(), 1, "{bad}");
            assert_eq!(err.0[0].variable, "EDU_FILES_URL", "{bad}");
        }
        let both = read(&[("EDU_FILES_URL", "file:///a"), ("EDU_FILES_DIR", "/b")]).expect_err("both");
        assert!(both.to_string().contains("not both"), "{both}");
        let s3 = read(&[("EDU_FILES_URL", "s3://school-files/edu/")]);
        if cfg!(feature = "s3") {
            let c = s3.expect("an S3 URL");
            assert_eq!(
                c.files,
                StoreUrl::S3 {
                    bucket: "school-files".into(),
                    prefix: "edu".into()
                }
            );
        } else {
            let err = s3.expect_err("no S3 in this build");
            assert!(err.to_string().contains("no S3 support"), "{err}");
        }
    }
}
