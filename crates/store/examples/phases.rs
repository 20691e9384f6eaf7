//! Times the phases of an import separately: parse, judge (upgrade, validate, prepare) and
//! write. `cargo run --release -p store --example phases -- BUNDLE.json [batch]`
use std::time::Instant;

use store::{PreparedVersion, Store};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let bytes = std::fs::read(&args[1]).expect("bundle");
    let batch: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(5000);
    let t = Instant::now();
    let value: serde_json::Value = serde_json::from_slice(&bytes).expect("json");
    let parse = t.elapsed();
    let objects = value["objects"].as_array().expect("objects").clone();
    drop(value);
    let t = Instant::now();
    let mut maps = Vec::new();
    for o in objects {
        let mut map = match o {
            serde_json::Value::Object(m) => m,
            _ => panic!(),
        };
        stix::upgrade_from_20(&mut map);
        maps.push(map);
    }
    let upgrade = t.elapsed();
    let t = Instant::now();
    let mut errors = 0;
    for m in &maps {
        errors += stix::validate::validate(m).len();
    }
    let validate = t.elapsed();
    let t = Instant::now();
    let mut prepared = Vec::new();
    for m in maps {
        let o = stix::Object::from_map(m).unwrap();
        prepared.push(PreparedVersion::from_object(&o));
    }
    let prepare = t.elapsed();
    let dir = tempfile::tempdir().unwrap();
    let store = Store::init(dir.path()).unwrap();
    let t = Instant::now();
    for chunk in prepared.chunks(batch) {
        store.write_batch(chunk, "bench").unwrap();
    }
    let write = t.elapsed();
    println!(
        "{} objects, {errors} errors: parse {parse:?} upgrade {upgrade:?} validate {validate:?} prepare {prepare:?} write {write:?}",
        prepared.len()
    );
}
