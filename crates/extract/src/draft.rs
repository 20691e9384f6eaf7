//! A [`Draft`] as a STIX 2.1 bundle for an analyst to review: a `report` for the source, the
//! incidents with Tessera's incident extension, the groups (existing ones referenced by id, new
//! ones as `threat-actor`s labelled `tessera-new-group`), the places as `location`s, the
//! relationships, and a `note` per incident holding the evidence spans.

use incident::alias::{AliasIndex, GroupId};
use incident::ids::{TESSERA_IDENTITY_ID, deterministic_id};
use incident::vocab::LocationPrecision;
use incident::{
    Incident, IncidentExtension, Location, Provenance, Relationship, ThreatActor,
    extension_definition, tessera_identity,
};
use serde_json::{Value, json};
use stix::{Object, Timestamp};

use crate::gazetteer::PlaceKind;
use crate::news::{Draft, DraftIncident};

/// The groups a node knows: an alias index over them, and for each group the id of the STIX
/// object the node holds for it, if any.
#[derive(Debug, Clone, Default)]
pub struct GroupDirectory {
    pub index: AliasIndex,
    ids: Vec<Option<String>>,
}

impl GroupDirectory {
    /// The groups of the node's `threat-actor` and `intrusion-set` objects, then the curated
    /// groups of the 2024 case that none of them already names (these have no object yet).
    pub fn new(objects: &[Object]) -> GroupDirectory {
        let mut directory = GroupDirectory::default();
        for object in objects {
            if !matches!(object.object_type(), "threat-actor" | "intrusion-set") {
                continue;
            }
            let names = object.names();
            let Some((name, aliases)) = names.split_first() else {
                continue;
            };
            if directory.index.resolve_object(object).is_some() {
                continue;
            }
            let Ok(id) = directory
                .index
                .resolve_or_add(name, aliases.iter().copied())
            else {
                continue;
            };
            directory.set(id, object.id());
        }
        for (name, aliases) in incident::alias::CURATED_GROUPS {
            if directory.index.resolve_exact(name).is_none() {
                let _ = directory
                    .index
                    .resolve_or_add(name, aliases.iter().copied());
            }
        }
        directory
    }

    fn set(&mut self, id: GroupId, object_id: &str) {
        if self.ids.len() <= id.index() {
            self.ids.resize(id.index() + 1, None);
        }
        if self.ids[id.index()].is_none() {
            self.ids[id.index()] = Some(object_id.to_string());
        }
    }

    /// The id of the object the node holds for `group`, if any.
    pub fn object_id(&self, group: GroupId) -> Option<&str> {
        self.ids.get(group.index()).and_then(|id| id.as_deref())
    }
}

/// Where the text came from.
#[derive(Debug, Clone)]
pub struct Source {
    /// The file name or URL of the source.
    pub name: String,
    /// The source's publication date.
    pub published: incident::Date,
    /// When the draft is made (`created` of every object).
    pub created: Timestamp,
    /// A digest of the text, so that the same text gives the same ids.
    pub text_key: String,
}

/// Why a draft could not be turned into STIX.
#[derive(Debug, thiserror::Error)]
pub enum DraftError {
    #[error("incident {index}: {source}")]
    Incident {
        index: usize,
        #[source]
        source: incident::IncidentError,
    },
    #[error("{0}")]
    Build(#[from] incident::BuildError),
    #[error("the {object_type} would be invalid STIX: {problems}")]
    Invalid {
        object_type: String,
        problems: String,
    },
}

/// A short stable digest of a text (FNV-1a 64), for ids.
pub fn text_key(text: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}-{}", text.len())
}

/// The draft's objects, every one valid STIX 2.1. The report comes first.
pub fn to_objects(
    draft: &Draft,
    source: &Source,
    groups: &GroupDirectory,
) -> Result<Vec<Object>, DraftError> {
    let provenance = Provenance::new(source.created, TESSERA_IDENTITY_ID);
    let key = format!(
        "draft|{}|{}|{}",
        source.name, source.published, source.text_key
    );
    let mut objects: Vec<Object> = Vec::new();
    let mut refs: Vec<String> = Vec::new();
    // Groups: one object per group, new or existing.
    let mut group_refs: Vec<(GroupId, String)> = Vec::new();
    for mention in &draft.groups {
        if group_refs.iter().any(|(g, _)| *g == mention.group) {
            continue;
        }
        let id = match groups.object_id(mention.group) {
            Some(existing) => existing.to_string(),
            None => {
                let group = groups.index.group(mention.group);
                let actor = ThreatActor {
                    id: deterministic_id("threat-actor", &format!("{key}|group|{}", group.name)),
                    name: group.name.clone(),
                    aliases: group.aliases.clone(),
                    description: Some(format!(
                        "New group: named \"{}\" in {} and known to no object of this node.",
                        mention.written, source.name
                    )),
                    threat_actor_types: vec!["terrorist".to_string()],
                    ..ThreatActor::default()
                };
                let mut object = actor.build(&provenance)?.into_map();
                object.insert("labels".into(), json!(["tessera-new-group"]));
                let object = checked(Value::Object(object))?;
                let id = object.id().to_string();
                objects.push(object);
                id
            }
        };
        refs.push(id.clone());
        group_refs.push((mention.group, id));
    }
    for (index, found) in draft.incidents.iter().enumerate() {
        let incident_key = format!("{key}|incident|{index}");
        let incident_id = deterministic_id("incident", &incident_key);
        let mut extension = IncidentExtension::new(found.date, found.date_precision);
        extension.killed = found.killed;
        extension.wounded = found.wounded;
        extension.attack_types = found.attack_type.into_iter().collect();
        extension.suicide = found.suicide.then_some(true);
        extension.claimed = None;
        extension.location_precision = match &found.place {
            Some(PlaceKind::City(_)) => Some(LocationPrecision::Exact),
            Some(_) => Some(LocationPrecision::Country),
            None => None,
        };
        let mut incident = Incident::new(&incident_id, found.title(), extension);
        incident.description = Some(format!(
            "Draft extracted from {}: check every field against its evidence note.",
            source.name
        ));
        incident.labels = vec!["tessera-draft".to_string()];
        let object = incident
            .build(&provenance)
            .map_err(|source| DraftError::Incident { index, source })?;
        objects.push(object);
        refs.push(incident_id.clone());
        if let Some(place) = &found.place {
            let location = location(place, &provenance)?;
            let location_id = location.id().to_string();
            if !objects.iter().any(|o| o.id() == location_id) {
                objects.push(location);
                refs.push(location_id.clone());
            }
            let link =
                Relationship::between(&incident_key, "located-at", &incident_id, &location_id)
                    .build(&provenance)?;
            refs.push(link.id().to_string());
            objects.push(link);
        }
        for (group, _) in &found.perpetrators {
            if let Some((_, actor_id)) = group_refs.iter().find(|(g, _)| g == group) {
                let link =
                    Relationship::between(&incident_key, "attributed-to", &incident_id, actor_id)
                        .with_description(
                            "Named as responsible in the source text; see the evidence note.",
                        )
                        .build(&provenance)?;
                refs.push(link.id().to_string());
                objects.push(link);
            }
        }
        let note = evidence_note(found, &incident_id, &incident_key, source, &provenance)?;
        refs.push(note.id().to_string());
        objects.push(note);
    }
    let report = checked(json!({
        "type": "report",
        "spec_version": "2.1",
        "id": deterministic_id("report", &key),
        "created": stix_time(source.created),
        "modified": stix_time(source.created),
        "created_by_ref": TESSERA_IDENTITY_ID,
        "name": format!("Draft from {}", source.name),
        "description": format!(
            "Machine-extracted draft of {} incident(s) and {} group(s) from {} (published {}). Review before import.",
            draft.incidents.len(),
            group_refs.len(),
            source.name,
            source.published
        ),
        "report_types": ["threat-report"],
        "published": source.published.to_timestamp().to_string(),
        "labels": ["tessera-draft"],
        "external_references": [{
            "source_name": source.name,
            "description": format!("Source text, published {}; text key {}", source.published, source.text_key),
        }],
        "object_refs": if refs.is_empty() { json!([TESSERA_IDENTITY_ID]) } else { json!(refs) },
    }))?;
    let mut out = vec![report, tessera_identity(), extension_definition()];
    out.extend(objects);
    Ok(out)
}

/// The draft as a STIX 2.1 bundle (JSON value).
pub fn to_bundle(
    draft: &Draft,
    source: &Source,
    groups: &GroupDirectory,
) -> Result<Value, DraftError> {
    let objects = to_objects(draft, source, groups)?;
    let id = format!(
        "bundle--{}",
        &deterministic_id("report", &source.text_key)["report--".len()..]
    );
    Ok(json!({
        "type": "bundle",
        "id": id,
        "objects": objects.into_iter().map(Object::into_value).collect::<Vec<_>>(),
    }))
}

/// STIX wants `created` and `modified` to the millisecond at least.
fn stix_time(t: Timestamp) -> String {
    let millis = t.unix_nanos().div_euclid(1_000_000);
    Timestamp::from_unix_millis(i64::try_from(millis).unwrap_or(0)).to_string()
}

fn checked(value: Value) -> Result<Object, DraftError> {
    let object = Object::from_value(value).map_err(|e| DraftError::Invalid {
        object_type: "object".into(),
        problems: e.to_string(),
    })?;
    let problems = object.validate();
    if !problems.is_empty() {
        return Err(DraftError::Invalid {
            object_type: object.object_type().to_string(),
            problems: problems
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; "),
        });
    }
    Ok(object)
}

fn location(place: &PlaceKind, provenance: &Provenance) -> Result<Object, DraftError> {
    let location = match place {
        PlaceKind::City(city) => Location {
            id: deterministic_id(
                "location",
                &format!("geonames|{}|{}", city.country, city.name),
            ),
            name: Some(city.name.clone()),
            coordinates: Some((city.latitude, city.longitude)),
            country: Some(city.country.clone()),
            city: Some(city.name.clone()),
            ..Location::default()
        },
        other => Location {
            id: deterministic_id("location", &format!("country|{}", other.country())),
            name: incident::country::name(other.country()).map(str::to_string),
            country: Some(other.country().to_string()),
            ..Location::default()
        },
    };
    Ok(location.build(provenance)?)
}

fn evidence_note(
    found: &DraftIncident,
    incident_id: &str,
    incident_key: &str,
    source: &Source,
    provenance: &Provenance,
) -> Result<Object, DraftError> {
    let lines: Vec<String> = found
        .evidence
        .iter()
        .map(|e| format!("{} [{}..{}]: {}", e.field, e.start, e.end, e.text))
        .collect();
    let spans: Vec<Value> = found
        .evidence
        .iter()
        .map(|e| json!({"field": e.field, "start": e.start, "end": e.end, "text": e.text}))
        .collect();
    checked(json!({
        "type": "note",
        "spec_version": "2.1",
        "id": deterministic_id("note", &format!("{incident_key}|evidence")),
        "created": stix_time(provenance.created),
        "modified": stix_time(provenance.created),
        "created_by_ref": TESSERA_IDENTITY_ID,
        "abstract": format!("Evidence for {}", found.title()),
        "content": format!("Character offsets in {}:\n{}", source.name, lines.join("\n")),
        "object_refs": [incident_id],
        "x_tessera_evidence": spans,
    }))
}
