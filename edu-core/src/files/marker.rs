//! The store's marker: an object `.edu-store` at the root of the file store, holding the store's id
//! and when it was first set up.
//!
//! An empty directory left by a mistyped `EDU_FILES_DIR`, an unmounted volume's mount point or a
//! wrong S3 prefix all look like a store whose files were lost. The marker tells them apart: only a
//! store that edu set up (or that an operator vouched for) has one, and repairs that delete rows or
//! files are refused without it.

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use serde::{Deserialize, Serialize};

use super::{FileError, FileStore};

/// The marker's key. Never listed, so that nothing that walks the store can remove it.
pub const MARKER_KEY: &str = ".edu-store";

/// What the marker holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreMarker {
    /// A random id, to tell one store from another in logs and reports.
    pub store_id: String,
    /// When the marker was written (UTC).
    pub created_at: DateTime<Utc>,
}

impl FileStore {
    /// The store's marker, if it has one.
    pub async fn marker(&self) -> Result<Option<StoreMarker>, FileError> {
        let found = match self.inner.get(&Path::from(MARKER_KEY)).await {
            Ok(found) => found,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let bytes = found.bytes().await?;
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| FileError::Config(format!("the marker {MARKER_KEY} of the file store is damaged: {e}")))
    }

    /// Writes a new marker (replacing any). Two processes doing this at once leave one of the two,
    /// which is as good as the other.
    pub async fn write_marker(&self) -> Result<StoreMarker, FileError> {
        let marker = StoreMarker {
            store_id: uuid::Uuid::new_v4().to_string(),
            created_at: Utc::now(),
        };
        let body = serde_json::to_vec_pretty(&marker).map_err(|e| FileError::Config(e.to_string()))?;
        self.inner.put(&Path::from(MARKER_KEY), body.into()).await?;
        Ok(marker)
    }

    /// Whether the store holds any file besides the marker and temporary uploads. Stops at the
    /// first one found, so it is cheap on a large bucket.
    pub async fn holds_files(&self) -> Result<bool, FileError> {
        let mut listing = self.inner.list(None);
        while let Some(meta) = listing.next().await {
            let key = meta?.location.to_string();
            if key != MARKER_KEY && !key.starts_with("tmp/") {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_missing_directory_is_never_created_for_checking() {
        let root = std::env::temp_dir().join(format!("edu-marker-{}", uuid::Uuid::new_v4().simple()));
        let err = FileStore::existing_local(&root).expect_err("the directory does not exist");
        let text = err.to_string();
        assert!(
            text.contains("is the store mounted") && text.contains("EDU_FILES_DIR"),
            "{text}"
        );
        assert!(!root.exists(), "checking must not create the directory");

        let files = FileStore::local(&root).expect("created for serving");
        assert_eq!(files.marker().await.expect("read"), None);
        assert!(!files.holds_files().await.expect("list"));
        let marker = files.write_marker().await.expect("written");
        assert!(root.join(MARKER_KEY).is_file());
        let again = FileStore::existing_local(&root).expect("exists now");
        assert_eq!(again.marker().await.expect("read"), Some(marker));
        assert!(again.list().await.expect("list").is_empty(), "the marker is not listed");
        assert!(!again.holds_files().await.expect("list"), "the marker is not a file");
        std::fs::write(root.join(MARKER_KEY), b"not json").expect("damage");
        assert!(matches!(again.marker().await, Err(FileError::Config(_))));
        let _ = std::fs::remove_dir_all(&root);
    }
}
