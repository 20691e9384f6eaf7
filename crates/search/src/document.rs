//! What gets indexed for one object: its names and text, and the facets that come from its
//! links (an incident's country is its location's; its group is the one it is attributed to).

use serde_json::Value;
use stix::Object;
use store::Store;

/// How many objects referring to one object are followed to find its facets; a hub (the
/// identity that created everything) must not make indexing quadratic.
const REFERRERS_MAX: usize = 256;

/// One searchable object.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Document {
    pub id: String,
    pub object_type: String,
    pub name: String,
    pub aliases: Vec<String>,
    pub description: String,
    /// ISO 3166-1 alpha-2 codes (or the names the source gave).
    pub countries: Vec<String>,
    /// Names of the groups the object is attributed to (a group is its own group).
    pub groups: Vec<String>,
    pub year: Option<i32>,
    /// The group this object resolves to, when it is one: objects with the same key are one
    /// group reported by several sources.
    pub resolved: Option<String>,
}

/// Types without searchable text of their own.
const SKIPPED: &[&str] = &[
    "relationship",
    "sighting",
    "marking-definition",
    "extension-definition",
    "language-content",
    "bundle",
];

/// The document for the latest version of an object, or `None` when it has nothing to search.
pub fn document_for(store: &Store, object: &Object) -> Result<Option<Document>, store::StoreError> {
    let object_type = object.object_type();
    if SKIPPED.contains(&object_type) {
        return Ok(None);
    }
    let name = object
        .get_str("name")
        .or_else(|| object.get_str("value"))
        .unwrap_or_default()
        .to_string();
    let description = object
        .get_str("description")
        .unwrap_or_default()
        .to_string();
    if name.is_empty() && description.is_empty() {
        return Ok(None);
    }
    let aliases = object
        .names()
        .into_iter()
        .filter(|n| *n != name)
        .map(str::to_string)
        .collect();
    let mut document = Document {
        id: object.id().to_string(),
        object_type: object_type.to_string(),
        name,
        aliases,
        description,
        year: year_of(object),
        ..Document::default()
    };
    if let Some(country) = object.get_str("country") {
        document.countries.push(country.to_string());
    }
    if matches!(object_type, "threat-actor" | "intrusion-set") {
        document.groups.push(document.name.clone());
    }
    // Follow this object's own located-at and attributed-to relationships.
    for (properties, version) in store.referrers(object.id(), REFERRERS_MAX)? {
        if !properties.iter().any(|p| p == "source_ref") {
            continue;
        }
        let Ok(relationship) = version.object() else {
            continue;
        };
        let Some(link) = relationship.as_relationship() else {
            continue;
        };
        // Only the relationship's latest version speaks for it.
        if store
            .get(relationship.id())?
            .is_none_or(|latest| latest.seq != version.seq)
        {
            continue;
        }
        match link.relationship_type {
            "located-at" => {
                if let Some(target) = store.get(link.target_ref)?.and_then(|v| v.object().ok())
                    && let Some(country) = target.get_str("country")
                {
                    document.countries.push(country.to_string());
                }
            }
            "attributed-to" => {
                if let Some(target) = store.get(link.target_ref)?.and_then(|v| v.object().ok())
                    && let Some(group) = target.get_str("name")
                {
                    document.groups.push(group.to_string());
                }
            }
            _ => {}
        }
    }
    document.countries.sort();
    document.countries.dedup();
    document.groups.sort();
    document.groups.dedup();
    Ok(Some(document))
}

/// The year an object is about: an incident's own date (from any extension's `date`), else
/// when it was first seen or published, else when it was created.
fn year_of(object: &Object) -> Option<i32> {
    let from_extension = object
        .get("extensions")
        .and_then(Value::as_object)
        .and_then(|extensions| {
            extensions
                .values()
                .find_map(|e| e.get("date").and_then(Value::as_str).map(str::to_string))
        });
    let text = from_extension.or_else(|| {
        ["first_seen", "published", "first_observed", "created"]
            .iter()
            .find_map(|p| object.get_str(p).map(str::to_string))
    })?;
    text.get(..4)?.parse().ok()
}
