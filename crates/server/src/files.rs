//! Small file chores shared by the policy file and the token table: atomic replacement, an
//! exclusive lock for read-modify-write edits, and a stamp that tells a reader the file changed.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// Replaces `path` with `bytes` so that a reader sees the old file or the new one, never a
/// mix: write a temporary file beside it, sync it, rename it over, sync the directory.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temporary = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode)
            .open(&temporary)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&temporary, path)?;
        File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    result
}

/// Held while a command edits the node's policy and token files, so that two edits at once
/// cannot lose each other's change. Released on drop.
pub struct EditLock {
    _file: File,
    _path: PathBuf,
}

/// The lock file in the data directory.
pub const LOCK_FILE: &str = "partners.lock";

pub(crate) fn lock(dir: &Path) -> std::io::Result<EditLock> {
    let path = dir.join(LOCK_FILE);
    let file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&path)?;
    file.lock()?;
    Ok(EditLock {
        _file: file,
        _path: path,
    })
}

/// What identifies one version of a file: an atomic replacement gives a new inode, so this
/// changes with every write even within the filesystem's timestamp granularity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stamp {
    device: u64,
    inode: u64,
    length: u64,
    modified_nanos: i128,
}

impl Stamp {
    /// The file's stamp, or `None` when it does not exist.
    pub(crate) fn of(path: &Path) -> std::io::Result<Option<Stamp>> {
        match std::fs::metadata(path) {
            Ok(meta) => Ok(Some(Stamp {
                device: meta.dev(),
                inode: meta.ino(),
                length: meta.len(),
                modified_nanos: i128::from(meta.mtime()) * 1_000_000_000
                    + i128::from(meta.mtime_nsec()),
            })),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// Microseconds since the Unix epoch.
pub(crate) fn now_micros() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64)
}

/// A STIX/TAXII timestamp with microsecond precision.
pub fn micros_text(micros: i64) -> String {
    stix::Timestamp {
        unix_seconds: micros.div_euclid(1_000_000),
        nanos: (micros.rem_euclid(1_000_000) as u32) * 1_000,
        fraction_digits: 6,
    }
    .to_string()
}
