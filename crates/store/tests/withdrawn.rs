//! A version withdrawn by TAXII DELETE is hidden from every read, not only TAXII's.

use store::query::VersionMatch;
use store::{PreparedVersion, Scan, Store};

fn campaign(modified: &str, name: &str) -> PreparedVersion {
    let value = serde_json::json!({
        "type": "campaign", "spec_version": "2.1", "id": "campaign--0c7b5b88-8ff7-4a4d-aa9d-feb398cd0061",
        "created": "2024-01-01T00:00:00.000Z", "modified": modified, "name": name,
    });
    PreparedVersion::from_object(&stix::Object::from_value(value).unwrap())
}

#[test]
fn withdrawn_versions_leave_get_versions_and_scans() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::init(dir.path()).unwrap();
    store
        .write_batch(
            &[
                campaign("2024-01-01T00:00:00.000Z", "first"),
                campaign("2024-02-01T00:00:00.000Z", "second"),
            ],
            "test",
        )
        .unwrap();
    let id = "campaign--0c7b5b88-8ff7-4a4d-aa9d-feb398cd0061";
    assert!(
        store
            .get(id)
            .unwrap()
            .unwrap()
            .canonical_json
            .windows(6)
            .any(|w| w == b"second")
    );

    assert_eq!(store.delete(id, &VersionMatch::last()).unwrap().len(), 1);
    let latest = store
        .get(id)
        .unwrap()
        .expect("the first version is still held");
    assert!(
        latest.canonical_json.windows(5).any(|w| w == b"first"),
        "the latest view skips the withdrawn version"
    );
    assert_eq!(store.versions(id).unwrap().len(), 1);
    let all = Scan {
        limit: 100,
        ..Scan::default()
    };
    assert_eq!(store.scan(&all).unwrap().versions.len(), 1);
    let latest_only = Scan {
        limit: 100,
        latest_only: true,
        ..Scan::default()
    };
    assert_eq!(store.scan(&latest_only).unwrap().versions.len(), 1);

    store.delete(id, &VersionMatch::all()).unwrap();
    assert!(store.get(id).unwrap().is_none());
    assert!(store.versions(id).unwrap().is_empty());
    assert!(store.scan(&latest_only).unwrap().versions.is_empty());
}
