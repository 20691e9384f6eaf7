//! What the crate's unit tests share.

use store::Store;

/// Imports `objects` as one bundle, insisting that none is rejected.
pub(crate) fn import(store: &Store, objects: Vec<serde_json::Value>) {
    let bytes = serde_json::json!({
        "type": "bundle",
        "id": "bundle--6c4f4c2e-5d8a-4b61-9a39-3c5e1c7c2b10",
        "objects": objects,
    })
    .to_string()
    .into_bytes();
    let report = store::import_bundle(
        store,
        store::BundleInput::Slice(&bytes),
        &store::ImportOptions::default(),
        &mut (),
    )
    .expect("the bundle imports");
    assert_eq!(report.rejected, 0, "{:?}", report.problems);
}
