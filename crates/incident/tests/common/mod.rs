//! Helpers shared by the integration tests: the project's real data, read by the tests (the
//! crate itself never opens a file).

#![allow(dead_code)]

use std::path::PathBuf;

use incident::Provenance;
use stix::{Object, Timestamp};

/// `shared/data` beside the repository root, where the project keeps real datasets.
pub fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data")
}

/// Reads a file of the project's real data; a missing file fails the test with its path.
pub fn read_data(relative: &str) -> Vec<u8> {
    let path = data_dir().join(relative);
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "the real data file {} is needed by this test: {e}",
            path.display()
        )
    })
}

pub fn provenance() -> Provenance {
    Provenance::new(
        Timestamp::parse("2023-06-15T00:00:00.000Z").unwrap(),
        incident::ids::TESSERA_IDENTITY_ID,
    )
}

/// Asserts that every object passes STIX validation, listing the first failures.
pub fn assert_all_valid(objects: &[Object]) {
    let failures: Vec<String> = objects
        .iter()
        .flat_map(|o| o.validate())
        .take(10)
        .map(|e| e.to_string())
        .collect();
    assert!(
        failures.is_empty(),
        "invalid STIX objects:\n{}",
        failures.join("\n")
    );
}
