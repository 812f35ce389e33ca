//! `Platform<S>`: every operation of the product, authorized here (through [`crate::policy`]) so
//! that an embedding service gets the same access control as the HTTP API.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use jsonwebtoken::Algorithm;

use crate::auth::{Hasher, ThrottlePolicy, TokenKeys};
use crate::files::FileStore;
use crate::store::Store;

mod academic;
mod files;
mod grades;
mod import;
mod quiz;
mod session;
mod upkeep;
mod users;

pub use academic::{AccessOverview, LessonView, ModuleAccess, ModuleDetails, SubjectAccess};
pub use files::{
    HOMEWORK_FILES, HOMEWORK_LIMIT, HomeworkDraft, LESSON_FILE_LIMIT, LessonPatch, NewLesson, PHOTO_LIMIT, UploadedUrl,
};
pub use grades::{gradebook_table, summary_table};
pub use quiz::{Answers, AttemptView, DEADLINE_GRACE, TestResult};
pub use session::{ClientInfo, Session, TokenPair};
pub use upkeep::{FsckOptions, FsckReport, Marking, MissingRow, SweepAges, SweepReport};
pub use users::{BootstrapAdmin, CreateUser, UpdateUser, UserRef};

/// Settings of the core, independent of how they were read.
#[derive(Clone)]
pub struct PlatformConfig {
    /// The key access tokens are signed with (`SECRET_KEY`); never logged.
    pub jwt_secret: Vec<u8>,
    /// The JWT algorithm, pinned at verification (an HMAC one).
    pub jwt_algorithm: Algorithm,
    /// How long an access token is valid (`ACCESS_TOKEN_EXPIRE_MINUTES`); 30 minutes by default.
    pub access_ttl: Duration,
    /// How long a refresh token is valid; 14 days by default.
    pub refresh_ttl: Duration,
    /// The bcrypt cost of new password hashes (`BCRYPT_COST`, 4–31); 12 by default.
    pub bcrypt_cost: u32,
    /// The login throttle per account (IIN).
    pub iin_throttle: ThrottlePolicy,
    /// The login throttle per client address.
    pub address_throttle: ThrottlePolicy,
    /// Where uploaded files live. Without one, file operations fail with an internal error.
    pub files: Option<FileStore>,
    /// First passwords of imported students when the import does not say (`EDU_IMPORT_PASSWORDS`).
    pub import_passwords: crate::import::InitialPasswords,
}

impl PlatformConfig {
    /// Defaults of the product with the given signing secret.
    pub fn new(jwt_secret: impl Into<Vec<u8>>) -> Self {
        Self {
            jwt_secret: jwt_secret.into(),
            jwt_algorithm: Algorithm::HS256,
            access_ttl: Duration::from_secs(30 * 60),
            refresh_ttl: Duration::from_secs(14 * 24 * 3600),
            bcrypt_cost: 12,
            iin_throttle: ThrottlePolicy::PER_IIN,
            address_throttle: ThrottlePolicy::PER_ADDRESS,
            files: None,
            import_passwords: crate::import::InitialPasswords::Random,
        }
    }
}

impl std::fmt::Debug for PlatformConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlatformConfig")
            .field("jwt_secret", &"***")
            .field("jwt_algorithm", &self.jwt_algorithm)
            .field("access_ttl", &self.access_ttl)
            .field("refresh_ttl", &self.refresh_ttl)
            .field("bcrypt_cost", &self.bcrypt_cost)
            .field("files", &self.files)
            .field("import_passwords", &self.import_passwords)
            .finish_non_exhaustive()
    }
}

/// Where "now" comes from; tests move it forward instead of sleeping.
pub trait Clock: Send + Sync + 'static {
    /// The current time, in UTC.
    fn now(&self) -> DateTime<Utc>;
}

/// The wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// The platform over one store. Cheap to clone: clones share everything.
pub struct Platform<S> {
    inner: Arc<Inner<S>>,
}

struct Inner<S> {
    store: S,
    hasher: Hasher,
    tokens: TokenKeys,
    config: PlatformConfig,
    clock: Box<dyn Clock>,
    /// Throttle reservations this process could not settle (the database was away, or the
    /// request went away mid-check); taken back before the next password check.
    abandoned: std::sync::Mutex<Vec<crate::auth::Attempt>>,
}

impl<S> Clone for Platform<S> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<S: Store> Platform<S> {
    /// A platform over `store` with `config`, on the wall clock.
    pub fn new(store: S, config: PlatformConfig) -> Self {
        Self::with_clock(store, config, SystemClock)
    }

    /// A platform over `store` with `config` whose time comes from `clock`.
    pub fn with_clock(store: S, config: PlatformConfig, clock: impl Clock) -> Self {
        let tokens = TokenKeys::new(&config.jwt_secret, config.jwt_algorithm, config.access_ttl);
        Self {
            inner: Arc::new(Inner {
                store,
                hasher: Hasher::new(config.bcrypt_cost),
                tokens,
                config,
                clock: Box::new(clock),
                abandoned: std::sync::Mutex::default(),
            }),
        }
    }

    /// The store, for the platform's own operations only: handing it out would let any code
    /// that holds a `Platform` read and write past the access control.
    pub(crate) fn store(&self) -> &S {
        &self.inner.store
    }

    /// The rules that read the store ([`crate::policy`]).
    pub(crate) fn policy(&self) -> crate::policy::Policy<'_, S> {
        crate::policy::Policy::new(&self.inner.store)
    }

    /// The database pool's size and idle connections (for metrics).
    pub fn pool_status(&self) -> crate::store::PoolStatus {
        self.store().pool_status()
    }

    /// The settings the platform was made with.
    pub fn config(&self) -> &PlatformConfig {
        &self.inner.config
    }

    /// The password hasher, shared by every clone of the platform.
    pub fn hasher(&self) -> &Hasher {
        &self.inner.hasher
    }

    pub(crate) fn tokens(&self) -> &TokenKeys {
        &self.inner.tokens
    }

    pub(crate) fn abandoned_attempts(&self) -> std::sync::MutexGuard<'_, Vec<crate::auth::Attempt>> {
        self.inner
            .abandoned
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The file store, or an internal error if none was configured.
    pub fn files(&self) -> crate::Result<&FileStore> {
        self.inner
            .config
            .files
            .as_ref()
            .ok_or_else(|| crate::Error::Internal("no file store is configured (PlatformConfig::files)".into()))
    }

    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.inner.clock.now()
    }

    /// Readiness: the database answers.
    pub async fn ready(&self) -> crate::Result<()> {
        self.inner.store.ping().await?;
        Ok(())
    }
}
