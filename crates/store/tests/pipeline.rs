//! The parallel import pipeline and the log's read-ahead, on a real bundle: ICS ATT&CK 18.1
//! (1,826 objects, so judged in several chunks, more than the workers may run ahead of the
//! merge) with objects damaged at the start, in the middle and at the end.

use std::path::PathBuf;

use serde_json::Value;
use store::query::{Selection, VersionMatch};
use store::{BundleInput, ImportOptions, Store, import_bundle};

fn ics_attack() -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/stix/ics-attack-18.1.json");
    serde_json::from_slice(&std::fs::read(&path).expect("the shared ICS ATT&CK bundle"))
        .expect("ICS ATT&CK is JSON")
}

/// The bundle with `modified` set before `created` in the objects at `damaged`.
fn damaged_bundle(damaged: &[usize]) -> Vec<u8> {
    let mut bundle = ics_attack();
    let objects = bundle["objects"].as_array_mut().unwrap();
    for &i in damaged {
        objects[i]["modified"] = Value::from("1999-01-01T00:00:00.000Z");
    }
    serde_json::to_vec(&bundle).unwrap()
}

fn import(store: &Store, bytes: &[u8], skip_invalid: bool) -> store::ImportReport {
    let options = ImportOptions {
        skip_invalid,
        source: "test".into(),
        ..ImportOptions::default()
    };
    import_bundle(store, BundleInput::Slice(bytes), &options, &mut ()).unwrap()
}

// Not 0: the collection object there (216 KB) is the body larger than a read ahead.
const DAMAGED: [usize; 4] = [1, 700, 1301, 1825];

#[test]
fn every_problem_is_reported_in_bundle_order_and_nothing_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::init(dir.path()).unwrap();
    let report = import(&store, &damaged_bundle(&DAMAGED), false);
    assert!(report.bundle_rejected);
    assert_eq!(
        (report.objects_read, report.rejected, report.written),
        (1826, 4, 0)
    );
    let indexes: Vec<usize> = report.problems.iter().map(|p| p.index).collect();
    assert_eq!(indexes, DAMAGED);
    assert!(
        report
            .problems
            .iter()
            .all(|p| p.path.ends_with(".modified"))
    );
    assert_eq!(store.stats().unwrap().versions, 0);
    assert!(store.verify().unwrap().is_ok());
}

#[test]
fn skipping_the_invalid_keeps_the_rest_in_bundle_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::init(dir.path()).unwrap();
    let bytes = damaged_bundle(&DAMAGED);
    let report = import(&store, &bytes, true);
    assert_eq!((report.rejected, report.written), (4, 1822));

    // The log holds the valid objects in bundle order, each body as imported: read back
    // through the log walk (which reads bodies ahead, in 256 KB reads) and through `get`
    // (one read each), and compared with the bundle's own ids.
    let bundle: Value = serde_json::from_slice(&bytes).unwrap();
    let expected: Vec<&str> = bundle["objects"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .filter(|(i, _)| !DAMAGED.contains(i))
        .map(|(_, o)| o["id"].as_str().unwrap())
        .collect();
    let selection = Selection {
        versions: VersionMatch::all(),
        ..Selection::default()
    };
    let snapshot = store.snapshot().unwrap();
    let walked: Vec<_> = snapshot
        .select(&selection, 0, usize::MAX)
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let ids: Vec<&str> = walked.iter().map(|v| v.id.as_str()).collect();
    assert_eq!(ids, expected);
    // The collection object is 216 KB, so a read ahead ends inside it.
    assert!(walked.iter().any(|v| v.canonical_json.len() > 200_000));
    for version in &walked {
        let read = snapshot.version(version.seq).unwrap();
        assert_eq!(&read, version);
    }
    // The edge index gives back every reference of every object (the compact layout on real
    // data), and counts them without decoding.
    let mut edges = 0;
    for version in &walked {
        let stored = store.references_of(version.seq).unwrap();
        assert_eq!(
            stored,
            version.object().unwrap().references(),
            "{}",
            version.id
        );
        edges += stored.len() as u64;
    }
    assert!(edges > 5_000, "{edges}");
    assert_eq!(store.stats().unwrap().reference_edges, edges);
    assert!(store.verify().unwrap().is_ok());

    // The same bundle again: every valid object is a duplicate, nothing is written.
    let again = import(&store, &bytes, true);
    assert_eq!(
        (again.written, again.duplicates, again.rejected),
        (0, 1822, 4)
    );
}

#[test]
fn any_custom_reference_is_stored_and_read_back() {
    // A custom `_ref` property may hold any text with `--` in it: a long custom type, a long
    // "id". The edge index must take them (they once could fail a whole import).
    let long_type = format!(
        "x-{}--0b6e3f2a-1111-4222-8333-944445555666",
        "t".repeat(300)
    );
    let long_id = format!("x-thing--{}", "u".repeat(100_000));
    let bundle = serde_json::json!({
        "type": "bundle",
        "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d",
        "objects": [{
            "type": "campaign", "spec_version": "2.1",
            "id": "campaign--0c7b5b88-8ff7-4a4d-aa9d-feb398cd0061",
            "created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z",
            "name": "edges", "x_long_type_ref": long_type, "x_long_id_refs": [long_id],
        }],
    });
    let dir = tempfile::tempdir().unwrap();
    let store = Store::init(dir.path()).unwrap();
    let report = import(&store, &serde_json::to_vec(&bundle).unwrap(), false);
    assert_eq!(
        (report.written, report.rejected),
        (1, 0),
        "{:?}",
        report.problems
    );
    let stored = store
        .get("campaign--0c7b5b88-8ff7-4a4d-aa9d-feb398cd0061")
        .unwrap()
        .unwrap();
    let edges = store.references_of(stored.seq).unwrap();
    assert!(edges.contains(&("x_long_type_ref".to_string(), long_type.clone())));
    assert!(edges.contains(&("x_long_id_refs".to_string(), long_id.clone())));
    assert_eq!(store.referrers(&long_id, 10).unwrap().len(), 1);
    assert!(store.verify().unwrap().is_ok());
}

#[test]
fn small_batches_commit_while_judging_runs_ahead_and_roll_back_whole() {
    // Batches of 300 versions commit several times while the workers judge ahead; a bad
    // object near the end must still undo every one of them.
    let options = |skip_invalid| ImportOptions {
        skip_invalid,
        batch_size: 300,
        source: "test".into(),
        ..ImportOptions::default()
    };
    let dir = tempfile::tempdir().unwrap();
    let store = Store::init(dir.path()).unwrap();
    let bad = damaged_bundle(&[1800]);
    let report = import_bundle(&store, BundleInput::Slice(&bad), &options(false), &mut ()).unwrap();
    assert!(report.bundle_rejected);
    assert_eq!((report.rejected, report.written), (1, 0));
    assert_eq!(store.stats().unwrap().versions, 0);
    assert!(store.verify().unwrap().is_ok());

    let good = damaged_bundle(&[]);
    let report =
        import_bundle(&store, BundleInput::Slice(&good), &options(false), &mut ()).unwrap();
    assert_eq!((report.rejected, report.written), (0, 1826));
    assert_eq!(report.batches, 1826usize.div_ceil(300));
    let stats = store.stats().unwrap();
    assert_eq!((stats.versions, stats.batches), (1826, 7));
    assert!(store.verify().unwrap().is_ok());
}

/// A bundle in memory is judged and written while it is still being split. When it turns out
/// not to split (here, cut short at its end), the reader in order runs instead, and the
/// outcome is the same as reading it in order from the start, in either mode.
#[test]
fn a_bundle_cut_short_after_batches_were_written_ends_as_read_in_order() {
    let whole = serde_json::to_vec(&ics_attack()).unwrap();
    let cut = &whole[..whole.len() - 40];
    for skip_invalid in [false, true] {
        let options = ImportOptions {
            skip_invalid,
            batch_size: 500,
            source: "test".into(),
            ..ImportOptions::default()
        };
        let dir = tempfile::tempdir().unwrap();
        let store = Store::init(dir.path()).unwrap();
        let error = import_bundle(&store, BundleInput::Slice(cut), &options, &mut ())
            .expect_err("a bundle cut short is an error");
        assert!(
            matches!(
                error,
                store::ImportError::Bundle(stix::BundleError::Json { .. })
            ),
            "{error}"
        );
        // The reader in order keeps the whole batches before the cut when skipping invalid
        // objects, and nothing otherwise; each version once.
        let held = store.stats().unwrap().versions;
        if skip_invalid {
            assert_eq!(held, 1500);
        } else {
            assert_eq!(held, 0);
        }
        assert!(store.verify().unwrap().is_ok());
        // Imported whole afterwards, every object is there once.
        let report = import_bundle(&store, BundleInput::Slice(&whole), &options, &mut ()).unwrap();
        assert_eq!(report.written + report.duplicates, 1826);
        assert_eq!(store.stats().unwrap().versions, 1826);
    }
}

/// The objects over the bound stop the split; the reader in order says why.
#[test]
fn a_bundle_over_the_object_bound_is_refused_whole() {
    let whole = serde_json::to_vec(&ics_attack()).unwrap();
    let options = ImportOptions {
        batch_size: 300,
        bundle: stix::bundle::BundleReader { objects_max: 1000 },
        ..ImportOptions::default()
    };
    let dir = tempfile::tempdir().unwrap();
    let store = Store::init(dir.path()).unwrap();
    let error = import_bundle(&store, BundleInput::Slice(&whole), &options, &mut ())
        .expect_err("more objects than the bound");
    assert!(
        matches!(
            error,
            store::ImportError::Bundle(stix::BundleError::TooManyObjects { limit: 1000 })
        ),
        "{error}"
    );
    assert_eq!(store.stats().unwrap().versions, 0);
}

/// A bundle's `spec_version` may follow its objects. The objects are judged by what was read
/// before them, as the reader in order judges them: an observable without a `spec_version`
/// before `"spec_version": "2.0"` is read as 2.1; after it, as 2.0.
#[test]
fn a_bundle_version_after_the_objects_applies_to_none_of_them() {
    let object = r#"{"type":"ipv4-addr","id":"ipv4-addr--0b6e3f2a-1111-4222-8333-944445555666","value":"198.51.100.3"}"#;
    let before = format!(
        r#"{{"type":"bundle","id":"bundle--0b6e3f2a-1111-4222-8333-944445555667","objects":[{object}],"spec_version":"2.0"}}"#
    );
    let after = format!(
        r#"{{"type":"bundle","id":"bundle--0b6e3f2a-1111-4222-8333-944445555667","spec_version":"2.0","objects":[{object}]}}"#
    );
    for (text, upgraded) in [(before, 0), (after, 1)] {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::init(dir.path()).unwrap();
        let report = import_bundle(
            &store,
            BundleInput::Slice(text.as_bytes()),
            &ImportOptions::default(),
            &mut (),
        )
        .unwrap();
        assert_eq!(
            (report.objects_read, report.upgraded_from_20),
            (1, upgraded),
            "{text}"
        );
    }
}
