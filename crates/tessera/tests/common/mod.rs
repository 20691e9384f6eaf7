//! Shared helpers for the end-to-end tests: they run the real `tessera` binary on real data.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the crate sits two levels below the repository root")
}

/// A file of the shared real data (`../shared/data` beside the repository).
pub fn shared_data(relative: &str) -> PathBuf {
    let path = repo_root().join("../shared/data").join(relative);
    assert!(path.exists(), "missing shared data file {}", path.display());
    path
}

/// The Python interpreter of the venv that `scripts/test` builds, with the OASIS validator.
pub fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("TESSERA_PYTHON") {
        return PathBuf::from(p);
    }
    let venv = repo_root().join(".venv/bin/python");
    assert!(
        venv.exists(),
        "no Python venv: run scripts/test, which creates .venv with stix2-validator"
    );
    venv
}

/// Runs `tessera --data-dir DIR ARGS...`.
pub fn tessera(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tessera"))
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .output()
        .expect("the tessera binary runs")
}

/// Runs a command expecting success, returning its standard output.
pub fn ok(dir: &Path, args: &[&str]) -> String {
    let out = tessera(dir, args);
    assert!(
        out.status.success(),
        "tessera {args:?} failed with {:?}:\n{}\n{}",
        out.status.code(),
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A fresh, initialised node.
pub fn fresh_node() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temporary directory");
    ok(dir.path(), &["init"]);
    dir
}

/// `tessera --json stats` as JSON.
pub fn stats(dir: &Path) -> Value {
    serde_json::from_str(&ok(dir, &["--json", "stats"])).expect("stats prints JSON")
}

/// The whole store as a canonical fingerprint: every version's content, in order.
pub fn fingerprint(dir: &Path) -> String {
    let out = tempfile::NamedTempFile::new().expect("a temporary file");
    ok(
        dir,
        &[
            "export",
            "--all-versions",
            "--out",
            out.path().to_str().expect("utf-8 path"),
        ],
    );
    let bundle: Value = serde_json::from_slice(&std::fs::read(out.path()).expect("export written"))
        .expect("export is JSON");
    serde_json::to_string(&bundle["objects"]).expect("serialisable")
}
