//! Bringing files that already exist on disk into the store (the import of an older
//! deployment): no allowlist or size limit applies, since the files were accepted long ago, but
//! every copy is proven byte for byte before it counts.

use std::path::Path as FsPath;

use object_store::path::Path;
use object_store::{ObjectStoreExt, WriteMultipart};
use sha2::{Digest, Sha256};

use super::{Area, CLOUD_PART, FileError, FileKey, FileStore, LOCAL_PART};
use futures_util::StreamExt;

/// A file copied into the store and read back identical.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ingested {
    /// The key the file was stored under.
    pub key: FileKey,
    /// Size in bytes.
    pub size: u64,
    /// SHA-256 of the bytes, as read from the source and again from the store.
    pub sha256: [u8; 32],
}

impl FileKey {
    /// A new key in `area`, keeping `ext` if it is a usable extension (lower-case letters and
    /// digits, at most 8) and dropping it otherwise.
    pub fn fresh(area: Area, ext: &str) -> FileKey {
        let ext = ext.to_ascii_lowercase();
        let usable =
            !ext.is_empty() && ext.len() <= 8 && ext.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        let id = uuid::Uuid::new_v4().simple();
        if usable {
            FileKey(format!("{}/{id}.{ext}", area.prefix()))
        } else {
            FileKey(format!("{}/{id}", area.prefix()))
        }
    }
}

/// Bytes read from the source at a time.
const CHUNK: usize = 256 * 1024;

impl FileStore {
    /// Copies the file at `source` to `key`: written to a temporary key, read back and compared
    /// (SHA-256) with what was read from the source, then moved to `key`. On any failure,
    /// nothing is left behind.
    pub async fn ingest(&self, key: &FileKey, source: &FsPath) -> Result<Ingested, FileError> {
        let tmp = Path::from(format!("tmp/{}", uuid::Uuid::new_v4().simple()));
        let written = self.write_from(&tmp, source).await;
        let (size, sha256) = match written {
            Ok(v) => v,
            Err(e) => {
                self.remove(&tmp).await;
                return Err(e);
            }
        };
        match self.digest_path(&tmp).await {
            Ok((back_size, back)) if back_size == size && back == sha256 => {}
            Ok(_) => {
                self.remove(&tmp).await;
                return Err(FileError::Rejected(format!(
                    "{}: the stored copy differs from the source",
                    source.display()
                )));
            }
            Err(e) => {
                self.remove(&tmp).await;
                return Err(e);
            }
        }
        if let Err(e) = self.inner.rename(&tmp, &key.path()).await {
            self.remove(&tmp).await;
            return Err(e.into());
        }
        Ok(Ingested {
            key: key.clone(),
            size,
            sha256,
        })
    }

    /// The size and SHA-256 of a stored file.
    pub async fn digest(&self, key: &FileKey) -> Result<(u64, [u8; 32]), FileError> {
        self.digest_path(&key.path()).await
    }

    async fn digest_path(&self, path: &Path) -> Result<(u64, [u8; 32]), FileError> {
        let result = match self.inner.get(path).await {
            Ok(r) => r,
            Err(object_store::Error::NotFound { .. }) => return Err(FileError::NotFound),
            Err(e) => return Err(e.into()),
        };
        let mut body = result.into_stream();
        let mut hash = Sha256::new();
        let mut size = 0_u64;
        while let Some(chunk) = body.next().await {
            let chunk = chunk?;
            size += chunk.len() as u64;
            hash.update(&chunk);
        }
        Ok((size, hash.finalize().into()))
    }

    async fn write_from(&self, tmp: &Path, source: &FsPath) -> Result<(u64, [u8; 32]), FileError> {
        let io = |e: std::io::Error| FileError::Rejected(format!("{}: {e}", source.display()));
        let mut file = Some(open(source.to_owned()).await.map_err(io)?);
        let upload = self.inner.put_multipart(tmp).await?;
        let part = if self.local_root.is_some() {
            LOCAL_PART
        } else {
            CLOUD_PART
        };
        let mut writer = WriteMultipart::new_with_chunk_size(upload, part);
        let mut hash = Sha256::new();
        let mut size = 0_u64;
        loop {
            let Some(f) = file.take() else { break };
            let (f, chunk) = match read_chunk(f).await {
                Ok(v) => v,
                Err(e) => {
                    let _ = writer.abort().await;
                    return Err(io(e));
                }
            };
            if chunk.is_empty() {
                break;
            }
            file = Some(f);
            hash.update(&chunk);
            size += chunk.len() as u64;
            if let Err(e) = writer.wait_for_capacity(8).await {
                let _ = writer.abort().await;
                return Err(e.into());
            }
            writer.write(&chunk);
        }
        writer.finish().await?;
        Ok((size, hash.finalize().into()))
    }
}

async fn open(path: std::path::PathBuf) -> std::io::Result<std::fs::File> {
    tokio::task::spawn_blocking(move || std::fs::File::open(path))
        .await
        .map_err(std::io::Error::other)?
}

/// Reads the next chunk of `file` off the async threads; an empty chunk is the end.
async fn read_chunk(mut file: std::fs::File) -> std::io::Result<(std::fs::File, Vec<u8>)> {
    tokio::task::spawn_blocking(move || {
        use std::io::Read;
        let mut buf = vec![0_u8; CHUNK];
        let mut filled = 0;
        while filled < CHUNK {
            match file.read(&mut buf[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        buf.truncate(filled);
        Ok((file, buf))
    })
    .await
    .map_err(std::io::Error::other)?
}
