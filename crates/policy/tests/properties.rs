//! Property tests: for arbitrary objects, markings, provenance, sharing groups and rules, and for
//! every partner,
//!
//! (a) what is released is exactly what an independent oracle (written here, from the rules as
//!     data, with its own TLP table and its own fixpoint) says may be released;
//! (b) no released copy holds, anywhere, the id of an object not released to that partner
//!     (TLP marking definitions excepted);
//! (c) every redaction of every matching rule is applied, granular markings are enforced, and
//!     the TLP markings stay on the copy;
//! (d) analysts get every object exactly as stored;
//!
//! and a releaser that memoises across a whole page (and across releasers, through
//! `Memberships`) decides exactly as fresh ones do.

mod common;

use std::collections::{BTreeSet, HashMap, HashSet};

use common::*;
use policy::{
    Decision, Held, LocationPrecision, Partner, Policy, Provenance, Redact, ReleaseFacts, Resolver,
    Role, Rule, SharingGroup, StoredDecision, Tlp,
};
use proptest::prelude::*;
use serde_json::{Map, Value, json};
use stix::Object;

// ---- the oracle's own tables --------------------------------------------------------------------

/// (id, level) with levels 0 = CLEAR ... 4 = RED: the oracle's own copy, not the crate's.
const ORACLE_TLP: &[(&str, u8)] = &[
    (TLP2_CLEAR, 0),
    (TLP2_GREEN, 1),
    (TLP2_AMBER, 2),
    (TLP2_AMBER_STRICT, 3),
    (TLP2_RED, 4),
    (TLP1_WHITE, 0),
    (TLP1_GREEN, 1),
    (TLP1_AMBER, 2),
    (TLP1_RED, 4),
];

fn oracle_tlp(id: &str) -> Option<u8> {
    ORACLE_TLP
        .iter()
        .find(|(i, _)| *i == id)
        .map(|(_, level)| *level)
}

const LEVELS: [Tlp; 5] = [
    Tlp::Clear,
    Tlp::Green,
    Tlp::Amber,
    Tlp::AmberStrict,
    Tlp::Red,
];
const GROUP_MARKINGS: [&str; 2] = [GROUP_MARKING, OTHER_GROUP_MARKING];
/// Object markings to draw from: nine TLP, two group, one neutral, one unknown.
const MARKING_CHOICES: [&str; 13] = [
    TLP2_CLEAR,
    TLP2_GREEN,
    TLP2_AMBER,
    TLP2_AMBER_STRICT,
    TLP2_RED,
    TLP1_WHITE,
    TLP1_GREEN,
    TLP1_AMBER,
    TLP1_RED,
    GROUP_MARKING,
    OTHER_GROUP_MARKING,
    NEUTRAL_MARKING,
    UNKNOWN_MARKING,
];
const PARTNERS: [&str; 3] = ["p0", "p1", "p2"];
const ANALYST: &str = "an";
const RULE_TYPES: [&str; 8] = [
    "identity",
    "indicator",
    "threat-actor",
    "location",
    "relationship",
    "sighting",
    "report",
    "marking-definition",
];
const REDACTABLE: [&str; 2] = ["x_source_handler", "labels"];

// ---- generated specs --------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Identity,
    Indicator,
    ThreatActor,
    Location,
    Relationship,
    Sighting,
    Report,
}

impl Kind {
    fn type_name(self) -> &'static str {
        match self {
            Kind::Identity => "identity",
            Kind::Indicator => "indicator",
            Kind::ThreatActor => "threat-actor",
            Kind::Location => "location",
            Kind::Relationship => "relationship",
            Kind::Sighting => "sighting",
            Kind::Report => "report",
        }
    }
}

#[derive(Debug, Clone)]
struct ObjectSpec {
    kind: Kind,
    markings: Vec<usize>,
    received: bool,
    description: bool,
    external_references: bool,
    created_by: Option<usize>,
    source_handler: bool,
    labels: bool,
    nested_ref: Option<usize>,
    granular: Option<(usize, bool)>,
    refs: Vec<usize>,
    location_fields: u8,
}

#[derive(Debug, Clone)]
struct RuleSpec {
    everyone: bool,
    partners: Vec<usize>,
    groups: Vec<usize>,
    tlp: usize,
    types: Option<Vec<usize>>,
    marking: Option<usize>,
    redact: (bool, bool, bool, bool, usize, Vec<usize>),
}

#[derive(Debug, Clone)]
struct MarkingSpec {
    held: bool,
    markings: Vec<usize>,
}

#[derive(Debug, Clone)]
struct World {
    groups: Vec<Vec<usize>>,
    rules: Vec<RuleSpec>,
    objects: Vec<ObjectSpec>,
    /// Definitions of GROUP_MARKING, OTHER_GROUP_MARKING and NEUTRAL_MARKING.
    marking_definitions: Vec<MarkingSpec>,
}

fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![
        1 => Just(Kind::Identity),
        1 => Just(Kind::Indicator),
        1 => Just(Kind::ThreatActor),
        1 => Just(Kind::Location),
        2 => Just(Kind::Relationship),
        1 => Just(Kind::Sighting),
        2 => Just(Kind::Report),
    ]
}

fn markings() -> impl Strategy<Value = Vec<usize>> {
    // Mostly TLP, some group and neutral markings, rarely the unknown one (the last), and now
    // and then none at all.
    let marking = prop_oneof![
        16 => 0..9usize,
        4 => 9..11usize,
        2 => Just(11usize),
        1 => Just(12usize),
    ];
    prop_oneof![
        1 => Just(Vec::new()),
        8 => prop::collection::vec(marking, 1..3),
    ]
}

fn object_spec() -> impl Strategy<Value = ObjectSpec> {
    (
        kind(),
        markings(),
        prop::bool::weighted(0.15),
        any::<bool>(),
        any::<bool>(),
        prop::option::of(0..8usize),
        any::<bool>(),
        any::<bool>(),
        prop::option::weighted(0.3, 0..40usize),
        prop::option::weighted(0.3, (0..5usize, any::<bool>())),
        prop::collection::vec(0..40usize, 1..5),
        any::<u8>(),
    )
        .prop_map(
            |(
                kind,
                markings,
                received,
                description,
                external_references,
                created_by,
                source_handler,
                labels,
                nested_ref,
                granular,
                refs,
                location_fields,
            )| ObjectSpec {
                kind,
                markings,
                received,
                description,
                external_references,
                created_by,
                source_handler,
                labels,
                nested_ref,
                granular,
                refs,
                location_fields,
            },
        )
}

fn rule_spec() -> impl Strategy<Value = RuleSpec> {
    (
        prop::bool::weighted(0.5),
        prop::sample::subsequence(vec![0usize, 1, 2], 0..=2),
        prop::sample::subsequence(vec![0usize, 1], 0..=2),
        0..5usize,
        prop::option::weighted(
            0.25,
            prop::sample::subsequence((0..RULE_TYPES.len()).collect::<Vec<_>>(), 1..=5),
        ),
        prop::option::weighted(0.35, 0..2usize),
        (
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
            prop::bool::weighted(0.2),
            0..4usize,
            prop::sample::subsequence(vec![0usize, 1], 0..=2),
        ),
    )
        .prop_map(
            |(everyone, partners, groups, tlp, types, marking, redact)| RuleSpec {
                everyone,
                partners,
                groups,
                tlp,
                types,
                marking,
                redact,
            },
        )
}

fn world() -> impl Strategy<Value = World> {
    (
        prop::collection::vec(prop::sample::subsequence(vec![0usize, 1, 2], 0..=3), 2),
        prop::collection::vec(rule_spec(), 1..6),
        prop::collection::vec(object_spec(), 1..14),
        prop::collection::vec(
            (any::<bool>(), prop::collection::vec(0..9usize, 0..2))
                .prop_map(|(held, markings)| MarkingSpec { held, markings }),
            3,
        ),
    )
        .prop_map(|(groups, rules, objects, marking_definitions)| World {
            groups,
            rules,
            objects,
            marking_definitions,
        })
}

// ---- building the world -------------------------------------------------------------------------------

/// A rule the policy accepted, as the oracle sees it.
#[derive(Debug, Clone)]
struct OracleRule {
    everyone: bool,
    partners: Vec<String>,
    groups: Vec<String>,
    tlp_max: u8,
    types: Option<Vec<String>>,
    marking: Option<String>,
    redact: Redact,
}

fn precision(index: usize) -> LocationPrecision {
    [
        LocationPrecision::Exact,
        LocationPrecision::AdministrativeArea,
        LocationPrecision::Country,
        LocationPrecision::Region,
    ][index]
}

/// Sharing groups as the oracle sees them: (name, member names).
type OracleGroups = Vec<(String, Vec<String>)>;

fn build_policy(world: &World) -> (Policy, Vec<OracleRule>, OracleGroups) {
    let mut policy = Policy::new();
    let identities = [BFV_IDENTITY, DGSI_IDENTITY, AIVD_IDENTITY];
    for (i, name) in PARTNERS.iter().enumerate() {
        policy
            .add_partner(Partner::new(*name, identities[i], Role::Partner))
            .unwrap();
    }
    policy
        .add_partner(Partner::new(ANALYST, OWN_IDENTITY, Role::Analyst))
        .unwrap();
    let mut groups = Vec::new();
    for (g, members) in world.groups.iter().enumerate() {
        let name = format!("g{g}");
        let members: Vec<String> = members.iter().map(|&m| PARTNERS[m].to_string()).collect();
        policy
            .add_group(SharingGroup::new(name.clone(), members.clone()))
            .unwrap();
        groups.push((name, members));
    }
    policy.add_neutral_marking(NEUTRAL_MARKING).unwrap();
    let mut accepted = Vec::new();
    for (r, spec) in world.rules.iter().enumerate() {
        let (
            external_references,
            created_by_ref,
            description,
            custom_properties,
            location,
            properties,
        ) = spec.redact.clone();
        let redact = Redact {
            external_references,
            created_by_ref,
            description,
            custom_properties,
            location: precision(location),
            properties: properties
                .iter()
                .map(|&p| REDACTABLE[p].to_string())
                .collect(),
        };
        let mut rule = Rule::new(format!("r{r}"), LEVELS[spec.tlp]).redact(redact.clone());
        rule.everyone = spec.everyone;
        rule.partners = spec
            .partners
            .iter()
            .map(|&p| PARTNERS[p].to_string())
            .collect();
        rule.groups = spec.groups.iter().map(|&g| format!("g{g}")).collect();
        rule.types = spec
            .types
            .as_ref()
            .map(|t| t.iter().map(|&i| RULE_TYPES[i].to_string()).collect());
        rule.marking = spec.marking.map(|m| GROUP_MARKINGS[m].to_string());
        // Rules the policy refuses (conflicts, RED to everyone, no audience) are simply not part
        // of this world.
        if policy.add_rule(rule.clone()).is_ok() {
            accepted.push(OracleRule {
                everyone: rule.everyone,
                partners: rule.partners,
                groups: rule.groups,
                tlp_max: spec.tlp as u8,
                types: rule.types,
                marking: rule.marking,
                redact,
            });
        }
    }
    (policy, accepted, groups)
}

fn build_objects(world: &World) -> Vec<Held> {
    // Ids first: the objects refer to each other by position.
    let ids: Vec<String> = world
        .objects
        .iter()
        .enumerate()
        .map(|(n, spec)| id(spec.kind.type_name(), n as u64 + 1))
        .collect();
    let pick = |wanted: &[Kind], choice: usize, fallback_type: &str| -> String {
        let candidates: Vec<&String> = world
            .objects
            .iter()
            .zip(&ids)
            .filter(|(spec, _)| wanted.contains(&spec.kind))
            .map(|(_, id)| id)
            .collect();
        // One choice in five (and every choice when there is no candidate) is an id the node
        // does not hold.
        if candidates.is_empty() || choice % 5 == 4 {
            id(fallback_type, 900 + choice as u64)
        } else {
            candidates[choice % candidates.len()].clone()
        }
    };
    let sdo = [
        Kind::Identity,
        Kind::Indicator,
        Kind::ThreatActor,
        Kind::Location,
        Kind::Report,
    ];
    let mut held = Vec::new();
    for (n, spec) in world.objects.iter().enumerate() {
        let mut map = Map::new();
        let object_type = spec.kind.type_name();
        map.insert("type".into(), json!(object_type));
        map.insert("spec_version".into(), json!("2.1"));
        map.insert("id".into(), json!(ids[n]));
        map.insert("created".into(), json!(TIME));
        map.insert("modified".into(), json!(TIME));
        let marking_ids: Vec<&str> = spec.markings.iter().map(|&m| MARKING_CHOICES[m]).collect();
        if !marking_ids.is_empty() {
            map.insert("object_marking_refs".into(), json!(marking_ids));
        }
        let has_name = matches!(
            spec.kind,
            Kind::Identity | Kind::Indicator | Kind::ThreatActor | Kind::Report | Kind::Location
        );
        if has_name {
            map.insert("name".into(), json!(format!("{object_type} {n}")));
        }
        match spec.kind {
            Kind::Identity => {
                map.insert("identity_class".into(), json!("organization"));
            }
            Kind::Indicator => {
                map.insert(
                    "pattern".into(),
                    json!("[domain-name:value = 'example.org']"),
                );
                map.insert("pattern_type".into(), json!("stix"));
                map.insert("valid_from".into(), json!(TIME));
            }
            Kind::ThreatActor => {}
            Kind::Location => {
                let bits = spec.location_fields;
                if bits & 1 != 0 {
                    map.insert("latitude".into(), json!(34.0));
                    map.insert("longitude".into(), json!(71.5));
                    if bits & 64 != 0 {
                        map.insert("precision".into(), json!(25.0));
                    }
                }
                if bits & 2 != 0 {
                    map.insert("region".into(), json!("southern-asia"));
                }
                if bits & 4 != 0 || bits & 3 == 0 {
                    map.insert("country".into(), json!("PK"));
                }
                if bits & 8 != 0 {
                    map.insert("administrative_area".into(), json!("Khyber Pakhtunkhwa"));
                }
                if bits & 16 != 0 {
                    map.insert("city".into(), json!("Peshawar"));
                }
                if bits & 32 != 0 {
                    map.insert("street_address".into(), json!("12 Canal Street"));
                }
            }
            Kind::Relationship => {
                map.insert("relationship_type".into(), json!("related-to"));
                map.insert(
                    "source_ref".into(),
                    json!(pick(&sdo, spec.refs[0], "threat-actor")),
                );
                let target = spec.refs.get(1).copied().unwrap_or(spec.refs[0] + 1);
                map.insert("target_ref".into(), json!(pick(&sdo, target, "indicator")));
            }
            Kind::Sighting => {
                map.insert(
                    "sighting_of_ref".into(),
                    json!(pick(
                        &[Kind::Indicator, Kind::ThreatActor],
                        spec.refs[0],
                        "indicator"
                    )),
                );
                let mut places: Vec<String> = spec.refs[1..]
                    .iter()
                    .map(|&r| pick(&[Kind::Identity, Kind::Location], r, "identity"))
                    .collect();
                places.dedup();
                if !places.is_empty() {
                    map.insert("where_sighted_refs".into(), json!(places));
                }
                if spec.refs[0] % 2 == 0 {
                    map.insert(
                        "observed_data_refs".into(),
                        json!([id("observed-data", 950)]),
                    );
                }
            }
            Kind::Report => {
                let all = [
                    Kind::Identity,
                    Kind::Indicator,
                    Kind::ThreatActor,
                    Kind::Location,
                    Kind::Relationship,
                    Kind::Sighting,
                    Kind::Report,
                ];
                let mut refs: Vec<String> = spec
                    .refs
                    .iter()
                    .map(|&r| pick(&all, r, "indicator"))
                    .collect();
                refs.sort();
                refs.dedup();
                map.insert("published".into(), json!(TIME));
                map.insert("object_refs".into(), json!(refs));
            }
        }
        if spec.description {
            map.insert(
                "description".into(),
                json!("met the source at the usual place"),
            );
        }
        if spec.external_references {
            map.insert(
                "external_references".into(),
                json!([{"source_name": "case", "external_id": format!("C-{n}")}]),
            );
        }
        if let Some(creator) = spec.created_by {
            map.insert(
                "created_by_ref".into(),
                json!(pick(&[Kind::Identity], creator, "identity")),
            );
        }
        if spec.source_handler {
            map.insert("x_source_handler".into(), json!("J. Smith"));
        }
        if spec.labels {
            map.insert("labels".into(), json!(["sensitive"]));
        }
        if let Some(target) = spec.nested_ref {
            map.insert(
                "x_meta".into(),
                json!({"handler_ref": pick(&sdo, target, "identity"), "note": "n"}),
            );
            // An id under a name that does not say it is a reference.
            if target % 2 == 1 {
                map.insert(
                    "x_related".into(),
                    json!(pick(&sdo, target / 2, "indicator")),
                );
            }
        }
        if let Some((level, on_name)) = spec.granular {
            let property = if on_name && has_name {
                Some("name")
            } else if spec.description {
                Some("description")
            } else {
                None
            };
            if let Some(property) = property {
                map.insert(
                    "granular_markings".into(),
                    json!([{"marking_ref": LEVELS[level].marking_id(), "selectors": [property]}]),
                );
            }
        }
        let provenance = if spec.received {
            Provenance::Received {
                peer: "peer-x".into(),
            }
        } else {
            Provenance::Local
        };
        held.push(Held {
            object: Object::from_map(map).expect("type and id"),
            provenance,
        });
    }
    for (marking_id, spec) in [GROUP_MARKING, OTHER_GROUP_MARKING, NEUTRAL_MARKING]
        .iter()
        .zip(&world.marking_definitions)
    {
        if spec.held {
            let mut object = marking_definition(marking_id, "Releasable to the group");
            if !spec.markings.is_empty() {
                let markings: Vec<&str> =
                    spec.markings.iter().map(|&m| MARKING_CHOICES[m]).collect();
                object = with(object, "object_marking_refs", json!(markings));
            }
            held.push(Held {
                object,
                provenance: Provenance::Local,
            });
        }
    }
    for tlp in [TLP2_AMBER, TLP1_GREEN] {
        held.push(Held {
            object: policy::published_definition(tlp).unwrap(),
            provenance: Provenance::Local,
        });
    }
    held
}

// ---- the oracle -------------------------------------------------------------------------------------------

struct Oracle<'w> {
    rules: &'w [OracleRule],
    groups: &'w [(String, Vec<String>)],
}

/// What the oracle expects for an object on its own.
#[derive(Debug, Clone)]
enum Local {
    Denied,
    /// Released by these rules with this clearance.
    Cleared {
        rules: Vec<usize>,
        clearance: u8,
    },
    /// A TLP definition or a group marking definition: no rule redaction to check.
    Definition,
}

impl Oracle<'_> {
    fn in_audience(&self, rule: &OracleRule, partner: &str) -> bool {
        rule.everyone
            || rule.partners.iter().any(|p| p == partner)
            || rule.groups.iter().any(|g| {
                self.groups
                    .iter()
                    .any(|(name, members)| name == g && members.iter().any(|m| m == partner))
            })
    }

    fn local(&self, object: &Object, provenance: &Provenance, partner: &str) -> Local {
        let object_type = object.object_type();
        if object_type == "marking-definition" {
            if oracle_tlp(object.id()).is_some() {
                return Local::Definition;
            }
            if self
                .rules
                .iter()
                .any(|r| r.marking.as_deref() == Some(object.id()) && self.in_audience(r, partner))
            {
                return Local::Definition;
            }
        }
        let markings: Vec<String> = string_list(object, "object_marking_refs");
        let known = |m: &String| {
            oracle_tlp(m).is_some()
                || m == NEUTRAL_MARKING
                || self.rules.iter().any(|r| r.marking.as_ref() == Some(m))
        };
        if !markings.iter().all(known) {
            return Local::Denied;
        }
        let tlp = markings.iter().filter_map(|m| oracle_tlp(m)).max();
        let group_marked = markings
            .iter()
            .any(|m| self.rules.iter().any(|r| r.marking.as_ref() == Some(m)));
        if tlp.is_none() && !group_marked {
            return Local::Denied;
        }
        let received = matches!(provenance, Provenance::Received { .. });
        if received && !matches!(tlp, Some(0 | 1)) {
            return Local::Denied;
        }
        let matching: Vec<usize> = (0..self.rules.len())
            .filter(|&r| {
                let rule = &self.rules[r];
                self.in_audience(rule, partner)
                    && rule
                        .types
                        .as_ref()
                        .is_none_or(|types| types.iter().any(|t| t == object_type))
                    && match &rule.marking {
                        None => tlp.is_some_and(|t| t <= rule.tlp_max),
                        Some(marking) => {
                            markings.contains(marking) && tlp.is_none_or(|t| t <= rule.tlp_max)
                        }
                    }
            })
            .collect();
        if matching.is_empty() {
            return Local::Denied;
        }
        let mut clearance = matching
            .iter()
            .map(|&r| self.rules[r].tlp_max)
            .max()
            .unwrap();
        if received {
            clearance = clearance.min(1);
        }
        // The redactions must leave a valid object: a granular marking above the clearance on a
        // required name, or a location coarsened to nothing, withholds it.
        let redact = self.redact(&matching);
        if let Some(property) = self.granular_removed(object, clearance) {
            let name_required = matches!(object_type, "identity" | "threat-actor" | "report");
            if property == "name" && name_required {
                return Local::Denied;
            }
        }
        if object_type == "location" && redact.location != LocationPrecision::Exact {
            let region = object.get("region").is_some();
            let country =
                object.get("country").is_some() && redact.location != LocationPrecision::Region;
            if !region && !country {
                return Local::Denied;
            }
        }
        Local::Cleared {
            rules: matching,
            clearance,
        }
    }

    fn redact(&self, rules: &[usize]) -> Redact {
        let mut all = Redact::default();
        for &r in rules {
            let redact = &self.rules[r].redact;
            all.external_references |= redact.external_references;
            all.created_by_ref |= redact.created_by_ref;
            all.description |= redact.description;
            all.custom_properties |= redact.custom_properties;
            all.location = all.location.max(redact.location);
            all.properties.extend(redact.properties.iter().cloned());
        }
        all
    }

    /// The property a granular TLP marking above the clearance removes.
    fn granular_removed(&self, object: &Object, clearance: u8) -> Option<String> {
        let entries = object.get("granular_markings")?.as_array()?;
        entries.iter().find_map(|entry| {
            let level = oracle_tlp(entry.get("marking_ref")?.as_str()?)?;
            (level > clearance).then(|| entry["selectors"][0].as_str().unwrap().to_string())
        })
    }

    /// The least fixpoint of "cleared on its own, with every required reference released".
    fn released_set(&self, held: &[Held], partner: &str) -> HashSet<String> {
        let mut released: HashSet<String> = HashSet::new();
        loop {
            let before = released.len();
            for h in held {
                let object = &h.object;
                if released.contains(object.id())
                    || matches!(self.local(object, &h.provenance, partner), Local::Denied)
                {
                    continue;
                }
                let ok = |id: &str| oracle_tlp(id).is_some() || released.contains(id);
                let singles_ok = ["source_ref", "target_ref", "sighting_of_ref"]
                    .iter()
                    .all(|p| object.get_str(p).is_none_or(ok));
                let lists_ok = object.get("object_refs").is_none()
                    || string_list(object, "object_refs").iter().any(|id| ok(id));
                if singles_ok && lists_ok {
                    released.insert(object.id().to_string());
                }
            }
            if released.len() == before {
                break;
            }
        }
        released
    }
}

/// Every string at any depth that is a STIX id, with where it sits.
fn ids_in(value: &Value, path: &str, out: &mut Vec<(String, String)>) {
    match value {
        Value::String(s) if stix::parse_identifier(s).is_ok() => {
            out.push((path.to_string(), s.clone()))
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                ids_in(item, &format!("{path}[{i}]"), out);
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                ids_in(item, &format!("{path}.{key}"), out);
            }
        }
        _ => {}
    }
}

fn tlp_ids(object: &Object) -> BTreeSet<String> {
    string_list(object, "object_marking_refs")
        .into_iter()
        .filter(|m| oracle_tlp(m).is_some())
        .collect()
}

// ---- the properties ----------------------------------------------------------------------------------------

/// A resolver that hands out release facts scanned from each object's canonical text, as the
/// server's does, instead of facts taken from the parsed object.
struct ScanningResolver<'a> {
    store: &'a HashMap<String, Held>,
}

impl Resolver for ScanningResolver<'_> {
    fn resolve(&self, id: &str) -> Option<Held> {
        self.store.get(id).cloned()
    }

    fn resolve_facts(&self, id: &str) -> Option<std::sync::Arc<ReleaseFacts>> {
        let held = self.store.get(id)?;
        let text = stix::canonical::canonical_object(held.object.as_map());
        let facts = ReleaseFacts::from_json(&text, &held.provenance).expect("canonical text scans");
        assert_eq!(facts, ReleaseFacts::of(&held.object, &held.provenance));
        Some(std::sync::Arc::new(facts))
    }
}

fn check_world(world: &World) -> Result<(), TestCaseError> {
    let (policy, rules, groups) = build_policy(world);
    // The policy survives being written and read back (the CLI's path).
    let written = policy.to_toml_string();
    let reread = Policy::from_toml_str(&written)
        .map_err(|e| TestCaseError::fail(format!("{e}\n{written}")))?;
    prop_assert_eq!(&reread, &policy);
    let policy = reread;

    let held = build_objects(world);
    for h in &held {
        prop_assert!(
            h.object.validate().is_empty(),
            "generated an invalid object: {:?} {:?}",
            h.object,
            h.object.validate()
        );
    }
    let store: HashMap<String, Held> = held
        .iter()
        .map(|h| (h.object.id().to_string(), h.clone()))
        .collect();
    let resolver = |id: &str| store.get(id).cloned();
    let oracle = Oracle {
        rules: &rules,
        groups: &groups,
    };

    // (d) analysts see everything, unredacted.
    let mut to_analyst = policy.releaser(ANALYST, &resolver);
    prop_assert!(to_analyst.releases_as_held().is_some());
    for h in &held {
        match to_analyst.release(&h.object, &h.provenance) {
            Decision::Release(release) => prop_assert_eq!(release.object(), &h.object),
            Decision::Withhold(reason) => {
                prop_assert!(false, "withheld from an analyst: {}", reason)
            }
        }
    }

    for partner in PARTNERS {
        let expected = oracle.released_set(&held, partner);
        let mut page = policy.releaser(partner, &resolver);
        prop_assert!(page.releases_as_held().is_none());
        for (n, h) in held.iter().enumerate() {
            if n % 3 == 2 {
                // Memberships carried into a new releaser (the next request, same store and
                // policy) decide as before.
                page = policy
                    .releaser(partner, &resolver)
                    .with_memberships(page.into_memberships());
            }
            let decision = page.release(&h.object, &h.provenance);
            // A fresh releaser (no memo) decides the same.
            let fresh = policy.release(&h.object, &h.provenance, partner, &resolver);
            prop_assert_eq!(&decision, &fresh);
            // Facts scanned from the stored text decide the same.
            let scanning = ScanningResolver { store: &store };
            let scanned = policy.release(&h.object, &h.provenance, partner, &scanning);
            prop_assert_eq!(&decision, &scanned);
            // Deciding from the stored text and its facts, where that settles it, decides the
            // same: the same reason to withhold, or the copy is the object unchanged.
            let text = stix::canonical::canonical_object(h.object.as_map());
            let facts =
                ReleaseFacts::from_json(&text, &h.provenance).expect("canonical text scans");
            // Once from a fresh releaser (the graph is explored), once from the page's (what
            // the page learnt decides).
            let fresh_stored = policy
                .releaser(partner, &scanning)
                .release_stored(&facts, &text);
            prop_assert_eq!(&fresh_stored, &page.release_stored(&facts, &text));
            match fresh_stored {
                StoredDecision::Release(stored) => {
                    let Decision::Release(release) = &decision else {
                        return Err(TestCaseError::fail(format!(
                            "{} to {}: released from its text, but the object's decision is {:?}",
                            h.object.id(),
                            partner,
                            decision
                        )));
                    };
                    prop_assert_eq!(stored.basis(), release.basis());
                    prop_assert_eq!(stored.redactions(), release.redactions());
                    prop_assert_eq!(stored.is_unchanged(), release.is_unchanged());
                    prop_assert_eq!(
                        stored.into_text(text.clone()),
                        stix::canonical::canonical_object(release.object().as_map())
                    );
                }
                StoredDecision::Withhold(reason) => {
                    prop_assert_eq!(&decision, &Decision::Withhold(reason))
                }
                StoredDecision::NeedsObject => {}
            }

            // (a) released exactly when the oracle says so.
            let should = expected.contains(h.object.id());
            prop_assert_eq!(
                decision.is_release(),
                should,
                "{} to {}: policy {:?}, oracle {}",
                h.object.id(),
                partner,
                decision.withheld(),
                should
            );
            let Decision::Release(release) = decision else {
                continue;
            };
            let copy = release.object();
            // A copy said to be unchanged is the object, so its stored text may go out.
            prop_assert!(!release.is_unchanged() || copy == &h.object);
            prop_assert_eq!(copy.id(), h.object.id());
            prop_assert_eq!(copy.object_type(), h.object.object_type());

            // (b) every id the copy holds, anywhere, is released to the partner or is TLP.
            let mut found = Vec::new();
            for (key, value) in copy.as_map() {
                if key != "id" {
                    ids_in(value, key, &mut found);
                }
            }
            for (path, referenced) in found {
                prop_assert!(
                    oracle_tlp(&referenced).is_some() || expected.contains(&referenced),
                    "{} to {} refers at {} to {}, which is not released",
                    h.object.id(),
                    partner,
                    path,
                    referenced
                );
            }

            // (c) the redactions of every matching rule, granular markings, TLP kept.
            if let Local::Cleared {
                rules: matching,
                clearance,
            } = oracle.local(&h.object, &h.provenance, partner)
            {
                let redact = oracle.redact(&matching);
                let gone = |property: &str| copy.get(property).is_none();
                if redact.external_references {
                    prop_assert!(gone("external_references"));
                }
                if redact.created_by_ref {
                    prop_assert!(gone("created_by_ref"));
                }
                if redact.description {
                    prop_assert!(gone("description"));
                }
                if redact.custom_properties {
                    prop_assert!(copy.as_map().keys().all(|k| !k.starts_with("x_")));
                }
                for property in &redact.properties {
                    prop_assert!(gone(property));
                }
                if h.object.object_type() == "location"
                    && redact.location != LocationPrecision::Exact
                {
                    for property in [
                        "latitude",
                        "longitude",
                        "precision",
                        "city",
                        "street_address",
                        "name",
                        "description",
                    ] {
                        prop_assert!(gone(property), "{} kept on a coarsened location", property);
                    }
                    if redact.location >= LocationPrecision::Country {
                        prop_assert!(gone("administrative_area"));
                    }
                    if redact.location == LocationPrecision::Region {
                        prop_assert!(gone("country"));
                    }
                }
                if let Some(property) = oracle.granular_removed(&h.object, clearance) {
                    prop_assert!(
                        gone(&property),
                        "{} is marked above the clearance",
                        property
                    );
                }
                prop_assert_eq!(
                    tlp_ids(copy),
                    tlp_ids(&h.object),
                    "TLP markings must travel with the copy"
                );
            } else {
                // A definition: TLP ones go out in their published form.
                if let Some(published) = policy::published_definition(h.object.id()) {
                    prop_assert_eq!(copy, &published);
                }
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, ..ProptestConfig::default() })]

    #[test]
    fn releases_follow_the_rules_and_never_leak(world in world()) {
        check_world(&world)?;
    }
}
