//! Stored files: lesson documents, homework and avatars, on any `object_store` backend.
//!
//! Keys are made by the server (`homework/<uuid>.<ext>`); the client's file name, size and the
//! detected content type are metadata in the database. An upload is streamed to a temporary key
//! (`tmp/<uuid>`) with its size limit enforced while reading and its type checked on the first
//! bytes, then renamed to its final key *before* the database row that refers to it is written, and
//! removed again if that write fails. So a row never points at a missing file; a crash at the wrong
//! moment can only leave an unreferenced file, which `edu fsck` finds and removes.

mod ingest;
pub mod legacy;
mod marker;
pub mod sniff;

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures_util::stream::BoxStream;
use futures_util::{Stream, StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreExt, WriteMultipart};
use thiserror::Error;

pub use ingest::Ingested;
pub use marker::{MARKER_KEY, StoreMarker};
pub use sniff::{Allowlist, DOCUMENTS, Family, IMAGES};

/// Where a stored file belongs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Area {
    /// Lesson documents (`/lessons/upload/lesson-file`).
    Lessons,
    /// Homework submission files.
    Homework,
    /// Avatars, served publicly.
    Photos,
}

impl Area {
    /// Every area, in the order they are checked.
    pub const ALL: [Area; 3] = [Area::Lessons, Area::Homework, Area::Photos];

    /// The first segment of the area's keys: `lessons`, `homework` or `photos`.
    pub fn prefix(self) -> &'static str {
        match self {
            Area::Lessons => "lessons",
            Area::Homework => "homework",
            Area::Photos => "photos",
        }
    }
}

/// A key made by the server: `<area>/<32 hex digits>[.<ext>]`. Anything else (a path with `..`,
/// an absolute path, encoded separators, NUL) does not parse, so it can never reach the store.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileKey(String);

impl FileKey {
    fn generate(area: Area, ext: &str) -> FileKey {
        FileKey(format!("{}/{}.{ext}", area.prefix(), uuid::Uuid::new_v4().simple()))
    }

    /// The key `s` if it is one the server could have made; `None` for anything else.
    pub fn parse(s: &str) -> Option<FileKey> {
        let (area, name) = s.split_once('/')?;
        Area::ALL.iter().find(|a| a.prefix() == area)?;
        let (id, ext) = name.split_once('.').unwrap_or((name, ""));
        let id_ok = id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        let ext_ok = ext.len() <= 8 && ext.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        (id_ok && ext_ok).then(|| FileKey(s.to_owned()))
    }

    /// The area the key belongs to.
    pub fn area(&self) -> Area {
        let prefix = self.0.split('/').next().unwrap_or_default();
        Area::ALL
            .into_iter()
            .find(|a| a.prefix() == prefix)
            .unwrap_or(Area::Homework)
    }

    /// The key as stored: `<area>/<hex>[.<ext>]`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The file name part (`<hex>.<ext>`).
    pub fn file_name(&self) -> &str {
        self.0.rsplit('/').next().unwrap_or(&self.0)
    }

    fn path(&self) -> Path {
        Path::from(self.0.as_str())
    }
}

impl fmt::Display for FileKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a file could not be stored or read.
#[derive(Debug, Error)]
pub enum FileError {
    /// More bytes arrived than the upload may have.
    #[error("the file is larger than {limit} bytes")]
    TooLarge {
        /// The largest size accepted, in bytes.
        limit: u64,
    },
    /// Not an accepted type, or not what its name says.
    #[error("{0}")]
    Rejected(String),
    /// The request body broke off.
    #[error("the upload was interrupted: {0}")]
    Interrupted(String),
    /// No object under the key.
    #[error("no such file")]
    NotFound,
    /// The object store failed (unreachable, refused, out of space).
    #[error("file storage failed: {0}")]
    Storage(#[from] object_store::Error),
    /// The store cannot be set up as configured.
    #[error("the file store is not configured correctly: {0}")]
    Config(String),
}

/// An upload written to its temporary key and checked, not yet part of anything.
#[derive(Debug)]
#[must_use = "a staged file must be committed or discarded"]
pub struct Staged {
    tmp: Path,
    /// The client's file name, kept as metadata only (trimmed to its last path component).
    pub original_name: String,
    /// The file name's extension, lower case, without the dot; empty without one.
    pub ext: String,
    /// Size in bytes.
    pub size: u64,
    /// The MIME type, from the extension after the first bytes agreed with it.
    pub content_type: &'static str,
}

/// A committed file's metadata, as stored beside it in the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFile {
    /// Where the file is stored.
    pub key: FileKey,
    /// The client's file name (metadata only).
    pub original_name: String,
    /// Size in bytes.
    pub size: u64,
    /// The MIME type it is served with.
    pub content_type: String,
}

/// A byte range of a download, inclusive, as HTTP asks for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteRange {
    /// `bytes=a-b` or `bytes=a-`.
    From {
        /// The first byte, counted from 0.
        start: u64,
        /// The last byte, included; `None` for up to the end.
        end: Option<u64>,
    },
    /// `bytes=-n`: the last n bytes.
    Last(u64),
}

/// An open download.
pub struct Download {
    /// The whole object's size.
    pub size: u64,
    /// The bytes sent, `start..end` (the whole object unless a range was asked for).
    pub range: std::ops::Range<u64>,
    /// The bytes of `range`, as they arrive from the store.
    pub body: BoxStream<'static, Result<Bytes, FileError>>,
}

impl fmt::Debug for Download {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Download")
            .field("size", &self.size)
            .field("range", &self.range)
            .finish_non_exhaustive()
    }
}

/// One object found in the store (for `fsck`).
#[derive(Debug, Clone)]
pub struct Listed {
    /// The object's key, whatever it is (unlike [`FileKey`], not checked).
    pub key: String,
    /// Size in bytes.
    pub size: u64,
    /// When the object was last written (UTC).
    pub modified: DateTime<Utc>,
}

/// Bytes written per part of a multipart upload to a cloud store (the S3 minimum part size).
const CLOUD_PART: usize = 5 * 1024 * 1024;
/// A local directory has no minimum part size: smaller parts keep an upload's memory small.
const LOCAL_PART: usize = 256 * 1024;

/// The file store.
#[derive(Clone)]
pub struct FileStore {
    inner: Arc<dyn ObjectStore>,
    /// The directory of a local store, where crashed uploads may leave staging files.
    local_root: Option<PathBuf>,
    describe: String,
}

impl fmt::Debug for FileStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe)
    }
}

impl FileStore {
    /// A directory on this machine (created if missing); writes are fsynced before they count.
    pub fn local(dir: impl Into<PathBuf>) -> std::io::Result<FileStore> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir)?;
        let store = object_store::local::LocalFileSystem::new_with_prefix(&dir)
            .map_err(std::io::Error::other)?
            .with_fsync(true)
            .with_automatic_cleanup(true);
        Ok(FileStore {
            inner: Arc::new(store),
            describe: format!("local directory {}", dir.display()),
            local_root: Some(dir),
        })
    }

    /// A directory on this machine that must exist already. Commands that only check or repair a
    /// store open it this way: creating an empty directory in place of an unmounted volume or a
    /// mistyped path would make every file look lost.
    pub fn existing_local(dir: impl Into<PathBuf>) -> Result<FileStore, FileError> {
        let dir = dir.into();
        if !dir.is_dir() {
            return Err(FileError::Config(format!(
                "the file store directory {} does not exist: is the store mounted? \
                 (check EDU_FILES_DIR / EDU_FILES_URL)",
                dir.display()
            )));
        }
        FileStore::local(dir).map_err(|e| FileError::Config(e.to_string()))
    }

    /// Any `object_store` backend, e.g. an S3-compatible bucket.
    pub fn from_object_store(store: Arc<dyn ObjectStore>) -> FileStore {
        FileStore {
            describe: store.to_string(),
            inner: store,
            local_root: None,
        }
    }

    /// The store a URL names: `file:///absolute/dir`, or (with the `s3` feature)
    /// `s3://bucket[/prefix]` on any S3-compatible service. S3 settings come from the standard
    /// `AWS_*` environment variables (`AWS_ENDPOINT`, `AWS_REGION`, `AWS_ACCESS_KEY_ID`,
    /// `AWS_SECRET_ACCESS_KEY`, `AWS_ALLOW_HTTP`…), then from `options` (the same keys in lower
    /// case without the prefix or with it, e.g. `endpoint` or `aws_endpoint`).
    pub fn from_url(url: &str, options: &[(&str, &str)]) -> Result<FileStore, FileError> {
        match StoreUrl::parse(url).map_err(FileError::Config)? {
            StoreUrl::Directory(dir) => FileStore::local(dir).map_err(|e| FileError::Config(e.to_string())),
            StoreUrl::S3 { bucket, prefix } => s3(&bucket, &prefix, options),
        }
    }

    /// Asks the store for an object that does not exist: proves at start that it answers and that
    /// the credentials are accepted, instead of failing on the first upload.
    pub async fn check(&self) -> Result<(), FileError> {
        match self.inner.head(&Path::from("tmp/.reachable")).await {
            Ok(_) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Streams `body` to a temporary key: refuses a name outside `allow` before reading anything,
    /// content that is not what the name says after the first bytes, and more than `limit` bytes as
    /// soon as they arrive. On any failure nothing is left behind.
    pub async fn stage<S, E>(
        &self,
        original_name: &str,
        allow: Allowlist,
        limit: u64,
        body: S,
    ) -> Result<Staged, FileError>
    where
        S: Stream<Item = Result<Bytes, E>> + Send,
        E: fmt::Display,
    {
        let staged = self.stage_checked(original_name, allow, limit, body).await;
        crate::telemetry::upload(&staged, |s| s.size);
        staged
    }

    async fn stage_checked<S, E>(
        &self,
        original_name: &str,
        allow: Allowlist,
        limit: u64,
        body: S,
    ) -> Result<Staged, FileError>
    where
        S: Stream<Item = Result<Bytes, E>> + Send,
        E: fmt::Display,
    {
        let original_name = client_name(original_name);
        let ext = sniff::extension(&original_name).unwrap_or_default();
        let Some(family) = allow.family(&ext) else {
            let allowed: Vec<&str> = allow.extensions().collect();
            return Err(FileError::Rejected(format!(
                "{original_name:?}: this type of file is not accepted (allowed: {})",
                allowed.join(", ")
            )));
        };
        let tmp = Path::from(format!("tmp/{}", uuid::Uuid::new_v4().simple()));
        let upload = self.inner.put_multipart(&tmp).await?;
        let part = if self.local_root.is_some() {
            LOCAL_PART
        } else {
            CLOUD_PART
        };
        let mut writer = WriteMultipart::new_with_chunk_size(upload, part);
        match copy(&mut writer, body, family, limit, &original_name).await {
            Ok(size) => match writer.finish().await {
                Ok(_) => Ok(Staged {
                    tmp,
                    content_type: family.content_type(&ext),
                    original_name,
                    ext,
                    size,
                }),
                Err(e) => {
                    self.remove(&tmp).await;
                    Err(e.into())
                }
            },
            Err(e) => {
                if let Err(abort) = writer.abort().await {
                    tracing::warn!(error = %abort, "could not abort an upload; `edu fsck` will remove it");
                }
                Err(e)
            }
        }
    }

    /// Moves a staged upload to its final key in `area`.
    pub async fn commit(&self, staged: &Staged, area: Area) -> Result<StoredFile, FileError> {
        let key = FileKey::generate(area, &staged.ext);
        self.inner.rename(&staged.tmp, &key.path()).await?;
        Ok(StoredFile {
            key,
            original_name: staged.original_name.clone(),
            size: staged.size,
            content_type: staged.content_type.to_owned(),
        })
    }

    /// Throws a staged upload away.
    pub async fn discard(&self, staged: Staged) {
        self.remove(&staged.tmp).await;
    }

    /// Removes files, logging (not failing on) any that cannot be removed: their rows are gone
    /// already, so what is left is an orphan for `edu fsck`.
    pub async fn remove_all(&self, keys: &[FileKey]) {
        for key in keys {
            self.remove(&key.path()).await;
        }
    }

    async fn remove(&self, path: &Path) {
        match self.inner.delete(path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => tracing::warn!(key = %path, error = %e, "could not remove a stored file; `edu fsck` will"),
        }
    }

    /// Deletes one object; a missing one is not an error.
    pub async fn delete_key(&self, key: &str) -> Result<(), FileError> {
        match self.inner.delete(&Path::from(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Opens a file for reading, or the asked-for part of it. A range that starts past the end
    /// cannot be satisfied; it is ignored (as HTTP allows) and the whole file is opened.
    pub async fn open(&self, key: &FileKey, range: Option<ByteRange>) -> Result<Download, FileError> {
        let range = match range {
            Some(ByteRange::From { start, end }) => {
                let size = match self.inner.head(&key.path()).await {
                    Ok(meta) => meta.size,
                    Err(object_store::Error::NotFound { .. }) => return Err(FileError::NotFound),
                    Err(e) => return Err(e.into()),
                };
                (start < size).then_some(ByteRange::From { start, end })
            }
            Some(ByteRange::Last(0)) => None,
            other => other,
        };
        let get_range = range.map(|r| match r {
            ByteRange::From { start, end: Some(end) } => GetRange::Bounded(start..end.saturating_add(1)),
            ByteRange::From { start, end: None } => GetRange::Offset(start),
            ByteRange::Last(n) => GetRange::Suffix(n),
        });
        let options = GetOptions::default().with_range(get_range);
        let result = match self.inner.get_opts(&key.path(), options).await {
            Ok(r) => r,
            Err(object_store::Error::NotFound { .. }) => return Err(FileError::NotFound),
            Err(e) => return Err(e.into()),
        };
        Ok(Download {
            size: result.meta.size,
            range: result.range.clone(),
            body: result.into_stream().map_err(FileError::from).boxed(),
        })
    }

    /// Whether the object exists.
    pub async fn exists(&self, key: &FileKey) -> Result<bool, FileError> {
        match self.inner.head(&key.path()).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Every object in the store, including temporary ones (and, on a local store, the staging
    /// files of uploads that a crash interrupted), except the store's marker.
    pub async fn list(&self) -> Result<Vec<Listed>, FileError> {
        let mut found: Vec<Listed> = self
            .inner
            .list(None)
            .try_filter(|m| std::future::ready(m.location.as_ref() != MARKER_KEY))
            .map_ok(|m| Listed {
                key: m.location.to_string(),
                size: m.size,
                modified: m.last_modified,
            })
            .try_collect()
            .await?;
        if let Some(root) = &self.local_root {
            found.extend(local_staging_files(&root.join("tmp")));
        }
        found.sort_by(|a, b| a.key.cmp(&b.key));
        found.dedup_by(|a, b| a.key == b.key);
        Ok(found)
    }

    /// Removes one listed object, staging files included.
    pub async fn remove_listed(&self, listed: &Listed) -> Result<(), FileError> {
        if let (Some(root), Some(name)) = (&self.local_root, listed.key.strip_prefix("tmp/"))
            && name.contains('#')
        {
            return match std::fs::remove_file(root.join("tmp").join(name)) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(FileError::Storage(object_store::Error::Generic {
                    store: "local",
                    source: Box::new(e),
                })),
            };
        }
        self.delete_key(&listed.key).await
    }
}

/// A parsed file store URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreUrl {
    /// `file:///absolute/dir`: a directory on this machine.
    Directory(PathBuf),
    /// `s3://bucket[/prefix]`: a bucket on an S3-compatible service.
    S3 {
        /// The bucket's name: 3–63 lower-case letters, digits, dots and hyphens.
        bucket: String,
        /// The folder inside the bucket, without surrounding `/`; empty for the whole bucket.
        prefix: String,
    },
}

impl StoreUrl {
    /// Checks a URL without connecting to anything, with a message fit for an operator.
    pub fn parse(url: &str) -> Result<StoreUrl, String> {
        let url = url.trim();
        // Errors show the URL without any password it carries.
        let shown = crate::config::redact_url(url);
        let Some((scheme, rest)) = url.split_once("://") else {
            return Err(format!(
                "{shown:?} is not a URL; use file:///absolute/dir or s3://bucket[/prefix]"
            ));
        };
        match scheme.to_ascii_lowercase().as_str() {
            "file" => {
                if !rest.starts_with('/') {
                    return Err(format!(
                        "{shown:?}: a file URL needs an absolute path (file:///srv/edu/files)"
                    ));
                }
                Ok(StoreUrl::Directory(PathBuf::from(rest)))
            }
            "s3" | "s3a" => {
                let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
                let prefix = prefix.trim_matches('/');
                let valid_bucket = (3..=63).contains(&bucket.len())
                    && bucket
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
                if !valid_bucket {
                    return Err(format!(
                        "{shown:?}: the bucket name must be 3-63 lower-case letters, digits, dots and hyphens"
                    ));
                }
                if prefix.split('/').any(|part| part == "." || part == "..") {
                    return Err(format!("{shown:?}: the prefix may not contain . or .. segments"));
                }
                if !cfg!(feature = "s3") {
                    return Err(format!(
                        "{shown:?}: this build has no S3 support (build edu-core with the `s3` feature)"
                    ));
                }
                Ok(StoreUrl::S3 {
                    bucket: bucket.to_owned(),
                    prefix: prefix.to_owned(),
                })
            }
            other => Err(format!(
                "{shown:?}: the scheme {other:?} is not supported; use file:///absolute/dir or s3://bucket[/prefix]"
            )),
        }
    }
}

/// Whether a storage error says that the store is away (the connection refused, cut off or timed
/// out) rather than that the request was wrong: answered 503, not 500.
pub fn store_away(e: &object_store::Error) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cause {
        #[cfg(feature = "s3")]
        if let Some(http) = err.downcast_ref::<object_store::client::HttpError>() {
            use object_store::client::HttpErrorKind as Kind;
            return matches!(
                http.kind(),
                Kind::Connect | Kind::Request | Kind::Timeout | Kind::Interrupted
            );
        }
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind as Kind;
            return matches!(
                io.kind(),
                Kind::ConnectionRefused
                    | Kind::ConnectionReset
                    | Kind::ConnectionAborted
                    | Kind::NotConnected
                    | Kind::TimedOut
            );
        }
        cause = err.source();
    }
    false
}

/// Makes ring the process's crypto provider for rustls, unless a provider is installed already.
///
/// With the `s3` feature, HTTPS to the bucket goes through reqwest and rustls built without a
/// provider of their own, so that one crypto library is compiled rather than two. An S3 file
/// store calls this before it makes its client. A program that makes reqwest clients of its own in
/// the same build (where cargo gives its reqwest the same features) calls it before the first of
/// them, or installs a provider of its choice. Without the `s3` feature it does nothing.
pub fn install_tls_provider() {
    #[cfg(feature = "s3")]
    let _ = rustls::crypto::ring::default_provider().install_default();
}

#[cfg(feature = "s3")]
fn s3(bucket: &str, prefix: &str, options: &[(&str, &str)]) -> Result<FileStore, FileError> {
    use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
    use object_store::prefix::PrefixStore;

    // A few quick retries: a user is waiting on the other end of every call, and a service that
    // is away should be answered 503 within about two seconds (backoff 0.1 s, doubling).
    let retry = object_store::RetryConfig {
        max_retries: 3,
        retry_timeout: std::time::Duration::from_secs(2),
        ..object_store::RetryConfig::default()
    };
    install_tls_provider();
    let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket).with_retry(retry);
    for (key, value) in options {
        let key = key.to_ascii_lowercase();
        let key: AmazonS3ConfigKey = key
            .parse()
            .map_err(|_| FileError::Config(format!("{key:?} is not an S3 setting")))?;
        builder = builder.with_config(key, *value);
    }
    let store = builder.build().map_err(|e| FileError::Config(e.to_string()))?;
    let describe = if prefix.is_empty() {
        format!("S3 bucket {bucket}")
    } else {
        format!("S3 bucket {bucket}, prefix {prefix}/")
    };
    let inner: Arc<dyn ObjectStore> = if prefix.is_empty() {
        Arc::new(store)
    } else {
        Arc::new(PrefixStore::new(store, prefix))
    };
    Ok(FileStore {
        inner,
        local_root: None,
        describe,
    })
}

#[cfg(not(feature = "s3"))]
fn s3(_bucket: &str, _prefix: &str, _options: &[(&str, &str)]) -> Result<FileStore, FileError> {
    Err(FileError::Config(
        "this build has no S3 support (build edu-core with the `s3` feature)".into(),
    ))
}

/// Files under `tmp/` that object_store's listing hides (`<name>#<n>` staging files).
fn local_staging_files(dir: &std::path::Path) -> Vec<Listed> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let meta = e.metadata().ok()?;
            meta.is_file().then(|| Listed {
                key: format!("tmp/{name}"),
                size: meta.len(),
                modified: meta
                    .modified()
                    .map(DateTime::<Utc>::from)
                    .unwrap_or_else(|_| Utc::now()),
            })
        })
        .collect()
}

/// The client's name for display: its last path component, without control characters, at most
/// 255 characters.
fn client_name(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let cleaned: String = last.chars().filter(|c| !c.is_control()).take(255).collect();
    let cleaned = cleaned.trim().to_owned();
    if cleaned.is_empty() { "file".to_owned() } else { cleaned }
}

async fn copy<S, E>(
    writer: &mut WriteMultipart,
    body: S,
    family: Family,
    limit: u64,
    name: &str,
) -> Result<u64, FileError>
where
    S: Stream<Item = Result<Bytes, E>> + Send,
    E: fmt::Display,
{
    let mut body = std::pin::pin!(body);
    let mut size: u64 = 0;
    let mut head: Vec<u8> = Vec::with_capacity(sniff::SNIFF_LEN);
    let mut checked = false;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| FileError::Interrupted(e.to_string()))?;
        size += chunk.len() as u64;
        if size > limit {
            return Err(FileError::TooLarge { limit });
        }
        if !checked {
            let want = sniff::SNIFF_LEN - head.len();
            head.extend_from_slice(&chunk[..chunk.len().min(want)]);
            if head.len() >= sniff::SNIFF_LEN {
                check(family, &head, name)?;
                checked = true;
            }
        }
        writer.wait_for_capacity(2).await?;
        writer.put(chunk);
    }
    if size == 0 {
        return Err(FileError::Rejected(format!("{name:?} is empty")));
    }
    if !checked {
        check(family, &head, name)?;
    }
    Ok(size)
}

fn check(family: Family, head: &[u8], name: &str) -> Result<(), FileError> {
    if sniff::matches(family, head) {
        Ok(())
    } else {
        Err(FileError::Rejected(format!(
            "{name:?}: the content is not what the file name says"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunks(parts: Vec<&'static [u8]>) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Send {
        futures_util::stream::iter(parts.into_iter().map(|p| Ok(Bytes::from_static(p))))
    }

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("edu-files-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn keys_parse_only_as_made() {
        let key = FileKey::generate(Area::Homework, "pdf");
        assert_eq!(FileKey::parse(key.as_str()), Some(key.clone()));
        assert_eq!(key.area(), Area::Homework);
        for bad in [
            "../etc/passwd",
            "/etc/passwd",
            "homework/../secret.key",
            "homework/..%2fsecret",
            "homework\\0123456789abcdef0123456789abcdef.pdf",
            "tmp/0123456789abcdef0123456789abcdef",
            "homework/0123456789abcdef0123456789abcdef.pdf\0",
            "homework/0123456789ABCDEF0123456789abcdef.pdf",
            "homework/0123456789abcdef0123456789abcdef/x.pdf",
            "secret.key",
            "",
        ] {
            assert_eq!(FileKey::parse(bad), None, "{bad:?}");
        }
    }

    #[tokio::test]
    async fn stage_commit_open_and_nothing_left_on_failure() {
        let root = dir("stage");
        let files = FileStore::local(&root).expect("store");
        let pdf: &'static [u8] = b"%PDF-1.7\nhello";
        let staged = files
            .stage(
                "C:\\Users\\me\\Отчёт.PDF",
                DOCUMENTS,
                1000,
                chunks(vec![&pdf[..4], &pdf[4..]]),
            )
            .await
            .expect("staged");
        assert_eq!(staged.original_name, "Отчёт.PDF");
        assert_eq!(staged.size, pdf.len() as u64);
        assert_eq!(staged.content_type, "application/pdf");
        let stored = files.commit(&staged, Area::Homework).await.expect("committed");
        assert!(stored.key.as_str().starts_with("homework/") && stored.key.as_str().ends_with(".pdf"));
        let download = files.open(&stored.key, None).await.expect("open");
        let body: Vec<Bytes> = download.body.try_collect().await.expect("read");
        assert_eq!(body.concat(), pdf);
        let part = files
            .open(&stored.key, Some(ByteRange::From { start: 1, end: Some(3) }))
            .await
            .expect("range");
        assert_eq!(part.range, 1..4);
        let body: Vec<Bytes> = part.body.try_collect().await.expect("read");
        assert_eq!(body.concat(), b"PDF");
        for past_the_end in [
            ByteRange::From {
                start: 100,
                end: Some(200),
            },
            ByteRange::From {
                start: pdf.len() as u64,
                end: None,
            },
        ] {
            let whole = files
                .open(&stored.key, Some(past_the_end))
                .await
                .expect("a range past the end is ignored");
            assert_eq!(whole.range, 0..pdf.len() as u64);
        }

        let too_big = files
            .stage("a.txt", DOCUMENTS, 10, chunks(vec![b"0123456", b"789abc"]))
            .await;
        assert!(matches!(too_big, Err(FileError::TooLarge { limit: 10 })), "{too_big:?}");
        let disguised = files.stage("a.png", IMAGES, 1000, chunks(vec![b"<svg></svg>"])).await;
        assert!(matches!(disguised, Err(FileError::Rejected(_))), "{disguised:?}");
        let svg = files.stage("a.svg", IMAGES, 1000, chunks(vec![b"<svg></svg>"])).await;
        assert!(matches!(svg, Err(FileError::Rejected(_))), "{svg:?}");
        let broken = files
            .stage(
                "a.txt",
                DOCUMENTS,
                1000,
                futures_util::stream::iter(vec![
                    Ok(Bytes::from_static(b"hello")),
                    Err(std::io::Error::other("connection reset")),
                ]),
            )
            .await;
        assert!(matches!(broken, Err(FileError::Interrupted(_))), "{broken:?}");

        let listed = files.list().await.expect("list");
        let keys: Vec<&str> = listed.iter().map(|l| l.key.as_str()).collect();
        assert_eq!(keys, [stored.key.as_str()], "only the committed file remains");
        files.remove_all(std::slice::from_ref(&stored.key)).await;
        assert!(!files.exists(&stored.key).await.expect("head"));
        let _ = std::fs::remove_dir_all(&root);
    }
}
