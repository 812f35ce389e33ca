//! Files that hold password hashes and keys are readable by the server's user only.
//!
//! What edu creates (the data directory, the SQLite database and its `-wal` and `-shm` files, the
//! generated key) is made private. A directory the operator made is theirs: when other users can
//! read it, that is logged, not changed, as it may be shared on purpose (backups, a group).

use std::path::Path;

/// Creates `dir` and any missing parents with mode 0700; an existing directory is left as it is,
/// with a warning when other users may enter it.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    if dir.is_dir() {
        warn_if_open(dir);
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// Makes an existing file of ours (an earlier version made them 0644) readable by its owner only.
/// A missing file is not an error.
pub fn tighten_private_file(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        match std::fs::metadata(path) {
            Ok(meta) if meta.permissions().mode() & 0o077 != 0 => {
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
                tracing::warn!(path = %path.display(), "other users could read this file; made it private (0600)");
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// Creates an empty file with mode 0600 unless it exists. SQLite gives its `-wal` and `-shm`
/// files the mode of the database file, so making this one private makes them private too.
pub(crate) fn create_private_file(path: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

fn warn_if_open(dir: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(dir)
            && meta.permissions().mode() & 0o007 != 0
        {
            tracing::warn!(
                path = %dir.display(),
                "other users can enter the data directory; the database and key in it are private, \
                 but consider `chmod 700` on it"
            );
        }
    }
    #[cfg(not(unix))]
    let _ = dir;
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).expect("metadata").permissions().mode() & 0o777
    }

    #[test]
    fn what_we_create_is_private_and_an_operators_directory_is_kept() {
        let root = std::env::temp_dir().join(format!("edu-private-{}", uuid::Uuid::new_v4()));
        let dir = root.join("a").join("data");
        create_private_dir(&dir).expect("create");
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&root.join("a")), 0o700);

        let shared = root.join("shared");
        std::fs::create_dir(&shared).expect("create");
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        create_private_dir(&shared).expect("exists");
        assert_eq!(mode(&shared), 0o755, "an operator's directory is not changed");

        let file = dir.join("edu.db");
        create_private_file(&file).expect("create");
        assert_eq!(mode(&file), 0o600);
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        create_private_file(&file).expect("exists");
        tighten_private_file(&file).expect("tighten");
        assert_eq!(mode(&file), 0o600);
        tighten_private_file(&dir.join("missing")).expect("a missing file is fine");
        let _ = std::fs::remove_dir_all(root);
    }
}
