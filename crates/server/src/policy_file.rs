//! The node's policy file, `<data-dir>/policy.toml`: read it, and replace it atomically after
//! an edit. The policy crate parses and writes the text; this module only moves it to and from
//! the disk.

use std::path::{Path, PathBuf};

use policy::{Policy, PolicyError};

/// The policy file's name inside the data directory.
pub const POLICY_FILE: &str = "policy.toml";

/// Why the policy file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum PolicyFileError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Invalid { path: PathBuf, source: PolicyError },
}

/// Where the policy file of a data directory is.
pub fn path(data_dir: &Path) -> PathBuf {
    data_dir.join(POLICY_FILE)
}

/// Reads and checks the policy file. `Ok(None)` when there is none.
pub fn load(data_dir: &Path) -> Result<Option<Policy>, PolicyFileError> {
    let path = path(data_dir);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(PolicyFileError::Io { path, source }),
    };
    Policy::from_toml_str(&text)
        .map(Some)
        .map_err(|source| PolicyFileError::Invalid { path, source })
}

/// Writes the policy file atomically: a running server reads the old policy or the new one.
/// Comments in the file it replaces are not kept (the policy crate writes the data only).
pub fn save(data_dir: &Path, policy: &Policy) -> Result<(), PolicyFileError> {
    let path = path(data_dir);
    let text = policy.to_toml_string();
    crate::files::write_atomically(&path, text.as_bytes(), 0o600)
        .map_err(|source| PolicyFileError::Io { path, source })
}
