//! The node's own identity and the objects every node ships.

use std::path::Path;

use serde_json::json;
use store::{ImportOptions, Store};

/// The file in the data directory that names the node's STIX identity.
pub const NODE_FILE: &str = "node.json";

/// Creates the node's STIX identity, stores it with the objects every node ships (Tessera's
/// identity, the incident extension's definition, TLP:CLEAR), and records it in `node.json`.
pub fn create(store: &Store, dir: &Path, name: &str) -> Result<String, String> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let created = stix::Timestamp::from_unix_millis(now).to_string();
    let id = format!("identity--{}", uuid::Uuid::new_v4());
    let identity = json!({
        "type": "identity", "spec_version": "2.1", "id": id, "created": created, "modified": created,
        "name": name, "identity_class": "organization",
    });
    let mut objects = vec![identity];
    for shipped in [
        incident::tessera_identity(),
        incident::extension_definition(),
        incident::tlp_clear(),
    ] {
        objects.push(shipped.into_value());
    }
    import_objects(store, objects, "local")?;
    let path = dir.join(NODE_FILE);
    std::fs::write(&path, json!({ "identity": id, "name": name }).to_string())
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(id)
}

/// The node's identity id, from `node.json`.
pub fn identity(dir: &Path) -> Result<String, String> {
    let path = dir.join(NODE_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| {
        format!(
            "{}: {e} (was the node made with `tessera init`?)",
            path.display()
        )
    })?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    value["identity"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| format!("{}: no \"identity\"", path.display()))
}

/// Loads the demo case (the 2024 attacks, the groups and their links); returns its size.
pub fn load_demo(store: &Store) -> Result<usize, String> {
    let report = store::import_bundle(
        store,
        store::BundleInput::Slice(incident::demo::DEMO_BUNDLE.as_bytes()),
        &options("demo"),
        &mut (),
    )
    .map_err(|e| e.to_string())?;
    if report.rejected > 0 {
        return Err(format!(
            "the demo bundle was rejected: {:?}",
            report.problems
        ));
    }
    Ok(report.objects_read)
}

/// Records in the node's ledger the versions it created that the ledger does not hold yet.
pub fn record_created(dir: &Path, store: &Store) -> Result<usize, String> {
    let mut ledger = server::node::open_ledger(dir).map_err(|e| e.to_string())?;
    let recorded =
        server::node::record_created(dir, store, &mut ledger).map_err(|e| e.to_string())?;
    ledger.close().map_err(|e| e.to_string())?;
    Ok(recorded)
}

fn options(source: &str) -> ImportOptions {
    ImportOptions {
        source: source.to_string(),
        ..ImportOptions::default()
    }
}

fn import_objects(
    store: &Store,
    objects: Vec<serde_json::Value>,
    source: &str,
) -> Result<(), String> {
    let bundle = json!({ "type": "bundle", "id": format!("bundle--{}", uuid::Uuid::new_v4()), "objects": objects });
    let bytes = serde_json::to_vec(&bundle).map_err(|e| e.to_string())?;
    let report = store::import_bundle(
        store,
        store::BundleInput::Slice(&bytes),
        &options(source),
        &mut (),
    )
    .map_err(|e| e.to_string())?;
    if report.rejected > 0 {
        return Err(format!(
            "the node's own objects were rejected: {:?}",
            report.problems
        ));
    }
    Ok(())
}
