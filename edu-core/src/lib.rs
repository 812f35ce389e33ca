//! The core of edu: domain values, authorization, and storage for an educational platform.
//!
//! Everything goes through [`Platform`], generic over a [`Store`]. Each operation takes the acting
//! [`Principal`] and checks it here, so embedding services get the same access control as the
//! HTTP API.
//!
//! ```no_run
//! # async fn example() -> edu_core::Result<()> {
//! use edu_core::{ClientInfo, Platform, PlatformConfig, PoolSettings, SqliteStore, Store};
//!
//! let store = SqliteStore::connect("sqlite://./edu-data/edu.db", PoolSettings::default()).await?;
//! store.migrate().await?;
//! let platform = Platform::new(store, PlatformConfig::new(b"a long random secret".to_vec()));
//! let session = platform.login("990101300123", "password", ClientInfo::default()).await?;
//! let me = platform.authenticate(&session.tokens.access_token).await?;
//! # let _ = me; Ok(()) }
//! ```

#![warn(missing_docs)]

pub mod auth;
pub mod config;
pub mod domain;
mod error;
pub mod export;
pub mod files;
pub mod i18n;
pub mod import;
pub mod legacy;
mod platform;
pub mod policy;
pub mod store;
pub mod telemetry;

#[cfg(feature = "conformance")]
pub mod conformance;

pub use auth::{Principal, SessionRef};
pub use domain::{Iin, Page, Role, UserId, UserProfile};
pub use error::{Error, Result, StoreError, minutes_left};
pub use platform::{
    AccessOverview, Answers, AttemptView, BootstrapAdmin, ClientInfo, Clock, CreateUser, DEADLINE_GRACE, FsckReport,
    HOMEWORK_FILES, HOMEWORK_LIMIT, HomeworkDraft, LESSON_FILE_LIMIT, LessonPatch, LessonView, ModuleAccess,
    ModuleDetails, NewLesson, PHOTO_LIMIT, Platform, PlatformConfig, Session, SubjectAccess, SystemClock, TestResult,
    TokenPair, UpdateUser, UploadedUrl, UserRef, gradebook_table, summary_table,
};
pub use platform::{FsckOptions, Marking, MissingRow, SweepAges, SweepReport};
pub use store::{PgStore, PoolSettings, SqliteStore, Store};
