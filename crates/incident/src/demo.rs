//! The demo case every node ships: the 2024 Isis-K surge.
//!
//! A curated STIX 2.1 bundle (`demo/case-2024.json`), written for Tessera from public reporting:
//! the attacks at Kerman (3 January 2024), Istanbul (28 January), Mir Ali (16 March), Gwadar
//! (20 March), Crocus City Hall near Moscow (22 March) and Besham (26 March); the groups involved
//! with their aliases and affiliations (ISKP part of the Islamic State, the Majeed Brigade part
//! of the BLA, the Turkistan Islamic Party affiliated with al-Qaeda, ...); the places with
//! coordinates; the targets; and the reported same-cell link between Kerman and Istanbul. Every
//! statement cites its source, uncertain figures are ranges, uncertain links carry a low STIX
//! confidence, and every object is marked TLP:CLEAR.
//!
//! `tessera serve` with no arguments loads it so that a newcomer sees a case at once.

use stix::Object;

/// The demo bundle, as JSON text.
pub const DEMO_BUNDLE: &str = include_str!("../demo/case-2024.json");

/// The objects of [`DEMO_BUNDLE`].
///
/// ```
/// let objects = incident::demo::demo_objects();
/// assert!(objects.iter().any(|o| o.get_str("name") == Some("Islamic State Khorasan Province")));
/// assert!(objects.iter().all(|o| o.validate().is_empty()));
/// ```
pub fn demo_objects() -> Vec<Object> {
    let bundle: serde_json::Value =
        serde_json::from_str(DEMO_BUNDLE).expect("the demo bundle is JSON (its test reads it)");
    bundle["objects"]
        .as_array()
        .expect("the demo bundle has objects (its test checks them)")
        .iter()
        .map(|value| {
            Object::from_value(value.clone())
                .expect("every demo object has a type and an id (its test checks them)")
        })
        .collect()
}
