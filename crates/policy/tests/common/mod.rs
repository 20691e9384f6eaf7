//! Fixtures shared by the policy tests: ids, object builders and an in-memory store.

#![allow(dead_code)]

use std::cell::Cell;
use std::collections::HashMap;

use policy::{Held, Provenance};
use serde_json::{Value, json};
use stix::Object;

pub const TLP2_CLEAR: &str = "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487";
pub const TLP2_GREEN: &str = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb";
pub const TLP2_AMBER: &str = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421";
pub const TLP2_AMBER_STRICT: &str = "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003";
pub const TLP2_RED: &str = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1";
pub const TLP1_WHITE: &str = "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9";
pub const TLP1_GREEN: &str = "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da";
pub const TLP1_AMBER: &str = "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82";
pub const TLP1_RED: &str = "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed";

pub const GROUP_MARKING: &str = "marking-definition--9377ca90-5868-4ddc-9e2c-d2b389c0abe2";
pub const OTHER_GROUP_MARKING: &str = "marking-definition--1b0c8d7e-5f4a-4e3b-9c2d-7a6f5e4d3c2b";
pub const NEUTRAL_MARKING: &str = "marking-definition--3c0fd00e-f9a8-41d9-9e4a-7fc1ff8a0c18";
pub const UNKNOWN_MARKING: &str = "marking-definition--ae8929e8-10a6-49bc-8fc4-878f159d6c87";

pub const BFV_IDENTITY: &str = "identity--bf5d16eb-35fc-458f-b144-51b2948c2e44";
pub const DGSI_IDENTITY: &str = "identity--ccd29914-2138-48cd-a2e6-9c40060244c2";
pub const AIVD_IDENTITY: &str = "identity--256c665f-9234-4db4-91aa-1cdfe6c8e1a4";
pub const OWN_IDENTITY: &str = "identity--5d6f55e7-d337-42a9-89ef-658976546091";

/// A deterministic, valid (version 4) STIX id: `type--00000000-0000-4000-8000-<n>`.
pub fn id(object_type: &str, n: u64) -> String {
    format!("{object_type}--00000000-0000-4000-8000-{n:012x}")
}

pub const TIME: &str = "2024-03-22T10:00:00.000Z";

fn common(object_type: &str, n: u64, markings: &[&str]) -> serde_json::Map<String, Value> {
    let mut map = serde_json::Map::new();
    map.insert("type".into(), json!(object_type));
    map.insert("spec_version".into(), json!("2.1"));
    map.insert("id".into(), json!(id(object_type, n)));
    map.insert("created".into(), json!(TIME));
    map.insert("modified".into(), json!(TIME));
    if !markings.is_empty() {
        map.insert("object_marking_refs".into(), json!(markings));
    }
    map
}

pub fn with(mut object: Object, property: &str, value: Value) -> Object {
    let mut map = std::mem::replace(&mut object, placeholder()).into_map();
    map.insert(property.to_string(), value);
    Object::from_map(map).expect("type and id are kept")
}

pub fn without(object: Object, property: &str) -> Object {
    let mut map = object.into_map();
    map.remove(property);
    Object::from_map(map).expect("type and id are kept")
}

fn placeholder() -> Object {
    Object::from_value(json!({"type": "x-placeholder", "id": "x-placeholder--00000000-0000-4000-8000-000000000000"}))
        .expect("a placeholder")
}

pub fn indicator(n: u64, markings: &[&str]) -> Object {
    let mut map = common("indicator", n, markings);
    map.insert("name".into(), json!(format!("indicator {n}")));
    map.insert(
        "pattern".into(),
        json!("[ipv4-addr:value = '198.51.100.7']"),
    );
    map.insert("pattern_type".into(), json!("stix"));
    map.insert("valid_from".into(), json!(TIME));
    Object::from_map(map).expect("an object")
}

pub fn threat_actor(n: u64, markings: &[&str]) -> Object {
    let mut map = common("threat-actor", n, markings);
    map.insert("name".into(), json!(format!("group {n}")));
    Object::from_map(map).expect("an object")
}

pub fn identity(n: u64, markings: &[&str]) -> Object {
    let mut map = common("identity", n, markings);
    map.insert("name".into(), json!(format!("organisation {n}")));
    map.insert("identity_class".into(), json!("organization"));
    Object::from_map(map).expect("an object")
}

pub fn location(n: u64, markings: &[&str]) -> Object {
    let mut map = common("location", n, markings);
    map.insert("name".into(), json!("Safe house, 12 Canal Street"));
    map.insert("description".into(), json!("Second floor, rear entrance"));
    map.insert("latitude".into(), json!(34.0151));
    map.insert("longitude".into(), json!(71.5249));
    map.insert("precision".into(), json!(10.0));
    map.insert("region".into(), json!("southern-asia"));
    map.insert("country".into(), json!("PK"));
    map.insert("administrative_area".into(), json!("Khyber Pakhtunkhwa"));
    map.insert("city".into(), json!("Peshawar"));
    map.insert("street_address".into(), json!("12 Canal Street"));
    map.insert("postal_code".into(), json!("25000"));
    map.insert("labels".into(), json!(["safe-house"]));
    map.insert(
        "external_references".into(),
        json!([{"source_name": "osm", "url": "https://www.openstreetmap.org/#map=19/34.0151/71.5249"}]),
    );
    Object::from_map(map).expect("an object")
}

pub fn relationship(n: u64, markings: &[&str], source: &str, target: &str) -> Object {
    let mut map = common("relationship", n, markings);
    map.insert("relationship_type".into(), json!("related-to"));
    map.insert("source_ref".into(), json!(source));
    map.insert("target_ref".into(), json!(target));
    Object::from_map(map).expect("an object")
}

pub fn sighting(
    n: u64,
    markings: &[&str],
    of: &str,
    where_sighted: &[&str],
    observed: &[&str],
) -> Object {
    let mut map = common("sighting", n, markings);
    map.insert("sighting_of_ref".into(), json!(of));
    if !where_sighted.is_empty() {
        map.insert("where_sighted_refs".into(), json!(where_sighted));
    }
    if !observed.is_empty() {
        map.insert("observed_data_refs".into(), json!(observed));
    }
    Object::from_map(map).expect("an object")
}

pub fn report(n: u64, markings: &[&str], refs: &[&str]) -> Object {
    let mut map = common("report", n, markings);
    map.insert("name".into(), json!(format!("report {n}")));
    map.insert("published".into(), json!(TIME));
    map.insert("object_refs".into(), json!(refs));
    Object::from_map(map).expect("an object")
}

pub fn marking_definition(marking_id: &str, statement: &str) -> Object {
    Object::from_value(json!({
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": marking_id,
        "created": TIME,
        "definition_type": "statement",
        "definition": {"statement": statement},
    }))
    .expect("an object")
}

/// An in-memory store: the resolver counts its calls.
#[derive(Default)]
pub struct Store {
    pub objects: HashMap<String, Held>,
    pub calls: Cell<usize>,
}

impl Store {
    pub fn new() -> Store {
        Store::default()
    }

    pub fn put(&mut self, object: &Object) {
        self.put_from(object, Provenance::Local);
    }

    pub fn put_from(&mut self, object: &Object, provenance: Provenance) {
        self.objects.insert(
            object.id().to_string(),
            Held {
                object: object.clone(),
                provenance,
            },
        );
    }

    pub fn resolve(&self, id: &str) -> Option<Held> {
        self.calls.set(self.calls.get() + 1);
        self.objects.get(id).cloned()
    }
}

impl policy::Resolver for Store {
    fn resolve(&self, id: &str) -> Option<Held> {
        Store::resolve(self, id)
    }
}

pub fn string_list(object: &Object, property: &str) -> Vec<String> {
    object
        .get(property)
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}
