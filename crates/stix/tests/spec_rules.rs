//! One invalid object per MUST of `stix::spec`: each must produce exactly one error, with the
//! expected rule at the expected path, so that a rule that stops firing, fires twice or reports
//! at the wrong place is caught. Each object is a valid one (as in `spec_valid.rs`) with one
//! thing broken.

use serde_json::{Value, json};
use stix::Rule;

fn id(object_type: &str, n: u32) -> String {
    format!("{object_type}--6ba7b810-9dad-41d1-80b4-{n:012}")
}

const CREATED: &str = "2024-03-01T12:00:00.000Z";
const TLP_RED: &str = "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed";

fn versioned(object_type: &str, own: Value) -> Value {
    let mut object = json!({"type": object_type, "spec_version": "2.1", "id": id(object_type, 1), "created": CREATED, "modified": CREATED});
    merge(&mut object, own);
    object
}

fn observable(object_type: &str, own: Value) -> Value {
    let mut object = json!({"type": object_type, "spec_version": "2.1", "id": id(object_type, 1)});
    merge(&mut object, own);
    object
}

fn marking(own: Value) -> Value {
    let mut object = json!({"type": "marking-definition", "spec_version": "2.1", "id": id("marking-definition", 1), "created": CREATED});
    merge(&mut object, own);
    object
}

fn merge(object: &mut Value, own: Value) {
    let (Value::Object(target), Value::Object(source)) = (object, own) else {
        panic!("examples are JSON objects")
    };
    target.extend(source);
}

/// An invalid example: what it breaks, the object, and the one error it must produce.
struct Case {
    what: &'static str,
    object: Value,
    path: &'static str,
    rule: Rule,
}

fn case(what: &'static str, object: Value, path: &'static str, rule: Rule) -> Case {
    Case {
        what,
        object,
        path,
        rule,
    }
}

fn assert_cases(cases: Vec<Case>) {
    let mut failures = Vec::new();
    for case in &cases {
        let map = case.object.as_object().expect("examples are JSON objects");
        let errors = stix::validate(map);
        let got: Vec<(&str, Rule)> = errors.iter().map(|e| (e.path.as_str(), e.rule)).collect();
        if got != [(case.path, case.rule)] {
            let listed: Vec<String> = errors.iter().map(ToString::to_string).collect();
            failures.push(format!(
                "{}: expected [{}] at {:?}, got {listed:#?}",
                case.what, case.rule, case.path
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn domain_object_rules() {
    let seen = |object_type: &str| {
        versioned(
            object_type,
            json!({"name": "X", "first_seen": "2020-01-02T00:00:00Z", "last_seen": "2020-01-01T00:00:00Z"}),
        )
    };
    let mut malware_seen = seen("malware");
    merge(&mut malware_seen, json!({"is_family": false}));
    let indicator = |valid_until: &str| {
        versioned(
            "indicator",
            json!({"pattern": "[ipv4-addr:value = '198.51.100.1']", "pattern_type": "stix",
            "valid_from": "2020-01-01T00:00:00Z", "valid_until": valid_until}),
        )
    };
    let observed = |own: Value| {
        let mut object = versioned(
            "observed-data",
            json!({"first_observed": "2020-01-01T00:00:00Z", "last_observed": "2020-01-01T00:00:00Z", "number_observed": 1}),
        );
        merge(&mut object, own);
        object
    };
    assert_cases(vec![
        case(
            "campaign last_seen before first_seen",
            seen("campaign"),
            "last_seen",
            Rule::TimeOrder,
        ),
        case(
            "infrastructure last_seen before first_seen",
            seen("infrastructure"),
            "last_seen",
            Rule::TimeOrder,
        ),
        case(
            "intrusion-set last_seen before first_seen",
            seen("intrusion-set"),
            "last_seen",
            Rule::TimeOrder,
        ),
        case(
            "threat-actor last_seen before first_seen",
            seen("threat-actor"),
            "last_seen",
            Rule::TimeOrder,
        ),
        case(
            "malware last_seen before first_seen",
            malware_seen,
            "last_seen",
            Rule::TimeOrder,
        ),
        case(
            "malware without is_family",
            versioned("malware", json!({"name": "X"})),
            "is_family",
            Rule::RequiredProperty,
        ),
        case(
            "malware family without a name",
            versioned("malware", json!({"is_family": true})),
            "name",
            Rule::RequiredProperty,
        ),
        case(
            "indicator valid_until equal to valid_from",
            indicator("2020-01-01T00:00:00.000Z"),
            "valid_until",
            Rule::TimeOrder,
        ),
        case(
            "indicator valid_until before valid_from",
            indicator("2019-12-31T23:59:59Z"),
            "valid_until",
            Rule::TimeOrder,
        ),
        case(
            "indicator without pattern_type",
            versioned(
                "indicator",
                json!({"pattern": "[x:y = 'z']", "valid_from": "2020-01-01T00:00:00Z"}),
            ),
            "pattern_type",
            Rule::RequiredProperty,
        ),
        case(
            "observed-data last_observed before first_observed",
            observed(
                json!({"last_observed": "2019-12-31T00:00:00Z", "object_refs": [id("file", 2)]}),
            ),
            "last_observed",
            Rule::TimeOrder,
        ),
        case(
            "observed-data number_observed 0",
            observed(json!({"number_observed": 0, "object_refs": [id("file", 2)]})),
            "number_observed",
            Rule::Range,
        ),
        case(
            "observed-data number_observed above 999,999,999",
            observed(json!({"number_observed": 1_000_000_000, "object_refs": [id("file", 2)]})),
            "number_observed",
            Rule::Range,
        ),
        case(
            "observed-data with objects and object_refs",
            observed(
                json!({"object_refs": [id("file", 2)], "objects": {"0": {"type": "file", "name": "a"}}}),
            ),
            "",
            Rule::Constraint,
        ),
        case(
            "observed-data with neither objects nor object_refs",
            observed(json!({})),
            "",
            Rule::Constraint,
        ),
        case(
            "observed-data whose object_refs hold no SCO",
            observed(json!({"object_refs": [id("relationship", 2)]})),
            "object_refs",
            Rule::Constraint,
        ),
        case(
            "observed-data referring to an SDO",
            observed(json!({"object_refs": [id("file", 2), id("indicator", 3)]})),
            "object_refs[1]",
            Rule::RefType,
        ),
        case(
            "location latitude above 90",
            versioned("location", json!({"latitude": 90.5, "longitude": 0})),
            "latitude",
            Rule::Range,
        ),
        case(
            "location longitude below -180",
            versioned("location", json!({"latitude": 0, "longitude": -180.1})),
            "longitude",
            Rule::Range,
        ),
        case(
            "location latitude without longitude",
            versioned("location", json!({"latitude": 10.0})),
            "longitude",
            Rule::RequiredProperty,
        ),
        case(
            "location longitude without latitude",
            versioned("location", json!({"longitude": 10.0, "region": "europe"})),
            "latitude",
            Rule::RequiredProperty,
        ),
        case(
            "location precision without coordinates",
            versioned("location", json!({"region": "europe", "precision": 10.0})),
            "precision",
            Rule::Constraint,
        ),
        case(
            "location precision below 0",
            versioned(
                "location",
                json!({"latitude": 1, "longitude": 1, "precision": -1.0}),
            ),
            "precision",
            Rule::Range,
        ),
        case(
            "location with neither region, country nor coordinates",
            versioned("location", json!({"name": "Somewhere"})),
            "",
            Rule::Constraint,
        ),
        case(
            "malware-analysis with neither result nor analysis_sco_refs",
            versioned("malware-analysis", json!({"product": "x"})),
            "",
            Rule::Constraint,
        ),
        case(
            "malware-analysis sample_ref to an SDO",
            versioned(
                "malware-analysis",
                json!({"product": "x", "result": "benign", "sample_ref": id("malware", 2)}),
            ),
            "sample_ref",
            Rule::RefType,
        ),
        case(
            "malware-analysis analysis_sco_refs to an SDO",
            versioned(
                "malware-analysis",
                json!({"product": "x", "analysis_sco_refs": [id("indicator", 2)]}),
            ),
            "analysis_sco_refs[0]",
            Rule::RefType,
        ),
        case(
            "malware operating_system_refs to a file",
            versioned(
                "malware",
                json!({"is_family": false, "operating_system_refs": [id("file", 2)]}),
            ),
            "operating_system_refs[0]",
            Rule::RefType,
        ),
        case(
            "opinion outside opinion-enum",
            versioned(
                "opinion",
                json!({"opinion": "maybe", "object_refs": [id("note", 2)]}),
            ),
            "opinion",
            Rule::Enumeration,
        ),
        case(
            "course-of-action with the RESERVED action",
            versioned("course-of-action", json!({"name": "X", "action": {"x": 1}})),
            "action",
            Rule::Reserved,
        ),
        case(
            "grouping without context",
            versioned("grouping", json!({"object_refs": [id("note", 2)]})),
            "context",
            Rule::RequiredProperty,
        ),
        case(
            "report without published",
            versioned(
                "report",
                json!({"name": "X", "object_refs": [id("note", 2)]}),
            ),
            "published",
            Rule::RequiredProperty,
        ),
        case(
            "note with an empty object_refs",
            versioned("note", json!({"content": "X", "object_refs": []})),
            "object_refs",
            Rule::PropertyType,
        ),
        case(
            "identity sectors not a list",
            versioned("identity", json!({"name": "X", "sectors": "energy"})),
            "sectors",
            Rule::PropertyType,
        ),
        case(
            "attack-pattern kill chain phase without phase_name",
            versioned(
                "attack-pattern",
                json!({"name": "X", "kill_chain_phases": [{"kill_chain_name": "k"}]}),
            ),
            "kill_chain_phases[0].phase_name",
            Rule::RequiredProperty,
        ),
        case(
            "custom -ext extension on an SDO",
            versioned(
                "indicator",
                json!({"pattern": "[x:y = 'z']", "pattern_type": "stix", "valid_from": "2020-01-01T00:00:00Z",
                "extensions": {"x-acme-ext": {"score": 5}}}),
            ),
            "extensions.x-acme-ext",
            Rule::Extension,
        ),
    ]);
}

#[test]
fn relationship_object_rules() {
    let relationship = |own: Value| {
        let mut object = versioned(
            "relationship",
            json!({"relationship_type": "uses", "source_ref": id("malware", 2), "target_ref": id("tool", 3)}),
        );
        merge(&mut object, own);
        object
    };
    let sighting = |own: Value| {
        let mut object = versioned("sighting", json!({"sighting_of_ref": id("indicator", 2)}));
        merge(&mut object, own);
        object
    };
    assert_cases(vec![
        case(
            "relationship stop_time equal to start_time",
            relationship(
                json!({"start_time": "2020-01-01T00:00:00Z", "stop_time": "2020-01-01T00:00:00.000Z"}),
            ),
            "stop_time",
            Rule::TimeOrder,
        ),
        case(
            "relationship stop_time before start_time",
            relationship(
                json!({"start_time": "2020-01-02T00:00:00Z", "stop_time": "2020-01-01T00:00:00Z"}),
            ),
            "stop_time",
            Rule::TimeOrder,
        ),
        case(
            "relationship_type with capitals",
            relationship(json!({"relationship_type": "Uses"})),
            "relationship_type",
            Rule::PropertyType,
        ),
        case(
            "relationship_type with a space",
            relationship(json!({"relationship_type": "related to"})),
            "relationship_type",
            Rule::PropertyType,
        ),
        case(
            "relationship from an SRO",
            relationship(json!({"source_ref": id("sighting", 4)})),
            "source_ref",
            Rule::RefType,
        ),
        case(
            "relationship to a marking definition",
            relationship(json!({"target_ref": TLP_RED})),
            "target_ref",
            Rule::RefType,
        ),
        case(
            "relationship to a language-content",
            relationship(json!({"target_ref": id("language-content", 4)})),
            "target_ref",
            Rule::RefType,
        ),
        case(
            "relationship without target_ref",
            versioned(
                "relationship",
                json!({"relationship_type": "uses", "source_ref": id("malware", 2)}),
            ),
            "target_ref",
            Rule::RequiredProperty,
        ),
        case(
            "sighting last_seen before first_seen",
            sighting(
                json!({"first_seen": "2020-01-02T00:00:00Z", "last_seen": "2020-01-01T00:00:00Z"}),
            ),
            "last_seen",
            Rule::TimeOrder,
        ),
        case(
            "sighting count above 999,999,999",
            sighting(json!({"count": 1_000_000_000})),
            "count",
            Rule::Range,
        ),
        case(
            "sighting count below 0",
            sighting(json!({"count": -1})),
            "count",
            Rule::Range,
        ),
        case(
            "sighting of an SCO",
            sighting(json!({"sighting_of_ref": id("ipv4-addr", 2)})),
            "sighting_of_ref",
            Rule::RefType,
        ),
        case(
            "sighting of a relationship",
            sighting(json!({"sighting_of_ref": id("relationship", 2)})),
            "sighting_of_ref",
            Rule::RefType,
        ),
        case(
            "sighting observed_data_refs to an indicator",
            sighting(json!({"observed_data_refs": [id("indicator", 3)]})),
            "observed_data_refs[0]",
            Rule::RefType,
        ),
        case(
            "sighting where_sighted_refs to a threat actor",
            sighting(json!({"where_sighted_refs": [id("identity", 3), id("threat-actor", 4)]})),
            "where_sighted_refs[1]",
            Rule::RefType,
        ),
        case(
            "sighting summary as a string",
            sighting(json!({"summary": "false"})),
            "summary",
            Rule::PropertyType,
        ),
    ]);
}

#[test]
fn meta_object_rules() {
    let extension_definition = |own: Value| {
        let mut object = versioned(
            "extension-definition",
            json!({"created_by_ref": id("identity", 9), "name": "X",
            "schema": "https://example.com/s.json", "version": "1.0.0", "extension_types": ["property-extension"]}),
        );
        merge(&mut object, own);
        object
    };
    let language_content = |own: Value| {
        let mut object = versioned(
            "language-content",
            json!({"object_ref": id("campaign", 2), "contents": {"de": {"name": "X"}}}),
        );
        merge(&mut object, own);
        object
    };
    assert_cases(vec![
        case(
            "extension-definition without created_by_ref",
            versioned(
                "extension-definition",
                json!({"name": "X", "schema": "s", "version": "1", "extension_types": ["new-sdo"]}),
            ),
            "created_by_ref",
            Rule::RequiredProperty,
        ),
        case(
            "extension-definition with an unknown extension type",
            extension_definition(json!({"extension_types": ["new-thing"]})),
            "extension_types[0]",
            Rule::Enumeration,
        ),
        case(
            "extension_properties without toplevel-property-extension",
            extension_definition(json!({"extension_properties": ["rank"]})),
            "extension_properties",
            Rule::Constraint,
        ),
        case(
            "language-content for a bundle",
            language_content(json!({"object_ref": id("bundle", 3)})),
            "object_ref",
            Rule::RefType,
        ),
        case(
            "language-content keyed by a non-language",
            language_content(json!({"contents": {"german_": {"name": "X"}}})),
            "contents.german_",
            Rule::LanguageTag,
        ),
        case(
            "language-content whose translation is not an object",
            language_content(json!({"contents": {"de": "X"}})),
            "contents.de",
            Rule::PropertyType,
        ),
        case(
            "language-content without contents",
            versioned("language-content", json!({"object_ref": id("campaign", 2)})),
            "contents",
            Rule::RequiredProperty,
        ),
        case(
            "marking-definition without definition_type or extensions",
            marking(json!({"definition": {"statement": "X"}})),
            "definition_type",
            Rule::RequiredProperty,
        ),
        case(
            "marking-definition without definition or extensions",
            marking(json!({"definition_type": "x-custom"})),
            "definition",
            Rule::RequiredProperty,
        ),
        case(
            "statement marking without statement",
            marking(json!({"definition_type": "statement", "definition": {"text": "X"}})),
            "definition.statement",
            Rule::RequiredProperty,
        ),
        case(
            "statement marking whose statement is not a string",
            marking(json!({"definition_type": "statement", "definition": {"statement": 3}})),
            "definition.statement",
            Rule::PropertyType,
        ),
        case(
            "a new TLP marking definition",
            marking(
                json!({"definition_type": "tlp", "name": "TLP:RED", "definition": {"tlp": "red"}}),
            ),
            "id",
            Rule::Marking,
        ),
        case(
            "a TLP id with another level",
            marking(
                json!({"id": TLP_RED, "created": "2017-01-20T00:00:00.000Z", "definition_type": "tlp", "definition": {"tlp": "green"}}),
            ),
            "id",
            Rule::Marking,
        ),
        case(
            "a TLP level outside white, green, amber, red",
            marking(json!({"definition_type": "tlp", "definition": {"tlp": "purple"}})),
            "definition.tlp",
            Rule::Enumeration,
        ),
        case(
            "a TLP marking without tlp",
            marking(json!({"definition_type": "tlp", "definition": {"level": "red"}})),
            "definition.tlp",
            Rule::RequiredProperty,
        ),
        case(
            "a statement marking reusing a TLP id",
            marking(
                json!({"id": TLP_RED, "definition_type": "statement", "definition": {"statement": "X"}}),
            ),
            "definition_type",
            Rule::Marking,
        ),
        case(
            "a marking definition marking itself",
            marking(
                json!({"definition_type": "statement", "definition": {"statement": "X"}, "object_marking_refs": [id("marking-definition", 1)]}),
            ),
            "object_marking_refs[0]",
            Rule::Marking,
        ),
        case(
            "a marking definition granularly marking itself",
            marking(
                json!({"definition_type": "statement", "definition": {"statement": "X"},
                "granular_markings": [{"marking_ref": id("marking-definition", 1), "selectors": ["definition"]}]}),
            ),
            "granular_markings[0].marking_ref",
            Rule::Marking,
        ),
        case(
            "marking-definition with a custom -ext extension",
            marking(json!({"extensions": {"x-acme-ext": {"level": 1}}})),
            "extensions.x-acme-ext",
            Rule::Extension,
        ),
    ]);
}

#[test]
fn cyber_observable_rules() {
    let sha256 =
        json!({"SHA-256": "effb46bba03f6c8aea5c653f9cf984f170dcdd3bbbe2ff6843c3e5da0e698766"});
    let traffic = |own: Value| {
        let mut object = observable(
            "network-traffic",
            json!({"src_ref": id("ipv4-addr", 2), "protocols": ["tcp"]}),
        );
        merge(&mut object, own);
        object
    };
    let email = |own: Value| {
        let mut object = observable("email-message", json!({"is_multipart": true}));
        merge(&mut object, own);
        object
    };
    assert_cases(vec![
        case(
            "artifact with payload_bin and url",
            observable(
                "artifact",
                json!({"payload_bin": "aGVsbG8=", "url": "https://example.com/a", "hashes": sha256}),
            ),
            "",
            Rule::Constraint,
        ),
        case(
            "artifact with neither payload_bin nor url",
            observable("artifact", json!({"mime_type": "image/png"})),
            "",
            Rule::Constraint,
        ),
        case(
            "artifact url without hashes",
            observable("artifact", json!({"url": "https://example.com/a"})),
            "hashes",
            Rule::RequiredProperty,
        ),
        case(
            "artifact decryption_key without encryption_algorithm",
            observable(
                "artifact",
                json!({"payload_bin": "aGVsbG8=", "decryption_key": "k"}),
            ),
            "decryption_key",
            Rule::Constraint,
        ),
        case(
            "artifact encryption outside encryption-algorithm-enum",
            observable(
                "artifact",
                json!({"payload_bin": "aGVsbG8=", "encryption_algorithm": "rot13"}),
            ),
            "encryption_algorithm",
            Rule::Enumeration,
        ),
        case(
            "artifact payload_bin not base64",
            observable("artifact", json!({"payload_bin": "not base64!"})),
            "payload_bin",
            Rule::PropertyType,
        ),
        case(
            "autonomous-system number not an integer",
            observable("autonomous-system", json!({"number": "AS15139"})),
            "number",
            Rule::PropertyType,
        ),
        case(
            "directory contains a process",
            observable(
                "directory",
                json!({"path": "/tmp", "contains_refs": [id("process", 2)]}),
            ),
            "contains_refs[0]",
            Rule::RefType,
        ),
        case(
            "domain-name resolving to a URL",
            observable(
                "domain-name",
                json!({"value": "example.com", "resolves_to_refs": [id("url", 2)]}),
            ),
            "resolves_to_refs[0]",
            Rule::RefType,
        ),
        case(
            "email-addr belonging to an identity",
            observable(
                "email-addr",
                json!({"value": "a@example.com", "belongs_to_ref": id("identity", 2)}),
            ),
            "belongs_to_ref",
            Rule::RefType,
        ),
        case(
            "multipart email-message with body",
            email(json!({"body": "Hello"})),
            "body",
            Rule::Constraint,
        ),
        case(
            "single-part email-message with body_multipart",
            email(json!({"is_multipart": false, "body_multipart": [{"body": "Hello"}]})),
            "body_multipart",
            Rule::Constraint,
        ),
        case(
            "email-message without is_multipart",
            observable("email-message", json!({"subject": "Hi"})),
            "is_multipart",
            Rule::RequiredProperty,
        ),
        case(
            "MIME part with body and body_raw_ref",
            email(
                json!({"body_multipart": [{"body": "Hello", "body_raw_ref": id("artifact", 2)}]}),
            ),
            "body_multipart[0]",
            Rule::Constraint,
        ),
        case(
            "MIME part with neither body nor body_raw_ref",
            email(json!({"body_multipart": [{"content_type": "text/plain"}]})),
            "body_multipart[0]",
            Rule::Constraint,
        ),
        case(
            "MIME part body_raw_ref to a URL",
            email(json!({"body_multipart": [{"body_raw_ref": id("url", 2)}]})),
            "body_multipart[0].body_raw_ref",
            Rule::RefType,
        ),
        case(
            "header field value not a list",
            email(json!({"additional_header_fields": {"Reply-To": "steve@example.com"}})),
            "additional_header_fields.Reply-To",
            Rule::PropertyType,
        ),
        case(
            "email-message from a user-account",
            email(json!({"from_ref": id("user-account", 2)})),
            "from_ref",
            Rule::RefType,
        ),
        case(
            "file with neither hashes nor name",
            observable("file", json!({"size": 10})),
            "",
            Rule::Constraint,
        ),
        case(
            "file name_enc without name",
            observable(
                "file",
                json!({"hashes": sha256, "name_enc": "windows-1252"}),
            ),
            "name_enc",
            Rule::Constraint,
        ),
        case(
            "file size negative",
            observable("file", json!({"name": "a", "size": -1})),
            "size",
            Rule::Range,
        ),
        case(
            "file parent directory that is a file",
            observable(
                "file",
                json!({"name": "a", "parent_directory_ref": id("file", 2)}),
            ),
            "parent_directory_ref",
            Rule::RefType,
        ),
        case(
            "file magic number not hex",
            observable("file", json!({"name": "a", "magic_number_hex": "PK"})),
            "magic_number_hex",
            Rule::PropertyType,
        ),
        case(
            "ipv4-addr out of range",
            observable("ipv4-addr", json!({"value": "256.1.1.1"})),
            "value",
            Rule::PropertyType,
        ),
        case(
            "ipv4-addr prefix above 32",
            observable("ipv4-addr", json!({"value": "10.0.0.0/33"})),
            "value",
            Rule::PropertyType,
        ),
        case(
            "ipv4-addr holding an IPv6 address",
            observable("ipv4-addr", json!({"value": "2001:db8::1"})),
            "value",
            Rule::PropertyType,
        ),
        case(
            "ipv4-addr resolving to an IP",
            observable(
                "ipv4-addr",
                json!({"value": "10.0.0.1", "resolves_to_refs": [id("ipv4-addr", 2)]}),
            ),
            "resolves_to_refs[0]",
            Rule::RefType,
        ),
        case(
            "ipv6-addr not an address",
            observable("ipv6-addr", json!({"value": "2001:db8::g"})),
            "value",
            Rule::PropertyType,
        ),
        case(
            "ipv6-addr prefix above 128",
            observable("ipv6-addr", json!({"value": "2001:db8::/129"})),
            "value",
            Rule::PropertyType,
        ),
        case(
            "mac-addr in capitals",
            observable("mac-addr", json!({"value": "D2:FB:49:24:37:18"})),
            "value",
            Rule::PropertyType,
        ),
        case(
            "mac-addr without leading zeros",
            observable("mac-addr", json!({"value": "0:0:ab:cd:ef:1"})),
            "value",
            Rule::PropertyType,
        ),
        case(
            "mutex without name",
            observable("mutex", json!({})),
            "name",
            Rule::RequiredProperty,
        ),
        case(
            "network-traffic with neither src_ref nor dst_ref",
            observable("network-traffic", json!({"protocols": ["tcp"]})),
            "",
            Rule::Constraint,
        ),
        case(
            "network-traffic without protocols",
            observable("network-traffic", json!({"dst_ref": id("ipv4-addr", 2)})),
            "protocols",
            Rule::RequiredProperty,
        ),
        case(
            "network-traffic end before start",
            traffic(json!({"start": "2020-01-02T00:00:00Z", "end": "2020-01-01T00:00:00Z"})),
            "end",
            Rule::TimeOrder,
        ),
        case(
            "active network-traffic with an end",
            traffic(json!({"is_active": true, "end": "2020-01-01T00:00:00Z"})),
            "end",
            Rule::Constraint,
        ),
        case(
            "network-traffic port above 65535",
            traffic(json!({"dst_port": 65536})),
            "dst_port",
            Rule::Range,
        ),
        case(
            "network-traffic byte count negative",
            traffic(json!({"src_byte_count": -5})),
            "src_byte_count",
            Rule::Range,
        ),
        case(
            "network-traffic from a URL",
            traffic(json!({"src_ref": id("url", 3)})),
            "src_ref",
            Rule::RefType,
        ),
        case(
            "network-traffic payload that is a file",
            traffic(json!({"src_payload_ref": id("file", 3)})),
            "src_payload_ref",
            Rule::RefType,
        ),
        case(
            "IPFIX value neither integer nor string",
            traffic(json!({"ipfix": {"flag": true}})),
            "ipfix.flag",
            Rule::PropertyType,
        ),
        case(
            "process with no property",
            observable("process", json!({})),
            "",
            Rule::Constraint,
        ),
        case(
            "process environment variable not a string",
            observable("process", json!({"environment_variables": {"DEBUG": 1}})),
            "environment_variables.DEBUG",
            Rule::PropertyType,
        ),
        case(
            "process image that is an artifact",
            observable("process", json!({"image_ref": id("artifact", 2)})),
            "image_ref",
            Rule::RefType,
        ),
        case(
            "software language not a language tag",
            observable(
                "software",
                json!({"name": "Word", "languages": ["en", "english!"]}),
            ),
            "languages[1]",
            Rule::LanguageTag,
        ),
        case(
            "software CPE 2.2",
            observable(
                "software",
                json!({"name": "Word", "cpe": "cpe:/a:microsoft:word:2000"}),
            ),
            "cpe",
            Rule::PropertyType,
        ),
        case(
            "url without a scheme",
            observable("url", json!({"value": "example.com/index.html"})),
            "value",
            Rule::PropertyType,
        ),
        case(
            "user-account with no property",
            observable("user-account", json!({})),
            "",
            Rule::Constraint,
        ),
        case(
            "user-account is_privileged as a string",
            observable(
                "user-account",
                json!({"user_id": "0", "is_privileged": "yes"}),
            ),
            "is_privileged",
            Rule::PropertyType,
        ),
        case(
            "windows-registry-key with no property",
            observable("windows-registry-key", json!({})),
            "",
            Rule::Constraint,
        ),
        case(
            "windows-registry-key with an abbreviated hive",
            observable(
                "windows-registry-key",
                json!({"key": "HKLM\\Software\\Foo"}),
            ),
            "key",
            Rule::PropertyType,
        ),
        case(
            "registry value with no property",
            observable("windows-registry-key", json!({"values": [{}]})),
            "values[0]",
            Rule::Constraint,
        ),
        case(
            "registry value type outside the enumeration",
            observable(
                "windows-registry-key",
                json!({"values": [{"name": "a", "data_type": "REG_FOO"}]}),
            ),
            "values[0].data_type",
            Rule::Enumeration,
        ),
        case(
            "x509-certificate with no property",
            observable("x509-certificate", json!({})),
            "",
            Rule::Constraint,
        ),
        case(
            "x509 v3 extensions with none of their properties",
            observable(
                "x509-certificate",
                json!({"serial_number": "1", "x509_v3_extensions": {"x_custom": "a"}}),
            ),
            "x509_v3_extensions",
            Rule::Constraint,
        ),
        case(
            "x509 exponent not an integer",
            observable(
                "x509-certificate",
                json!({"subject_public_key_exponent": "65537"}),
            ),
            "subject_public_key_exponent",
            Rule::PropertyType,
        ),
    ]);
}

#[test]
fn predefined_extension_rules() {
    let file =
        |extensions: Value| observable("file", json!({"name": "a.exe", "extensions": extensions}));
    let traffic = |extensions: Value| {
        observable(
            "network-traffic",
            json!({"dst_ref": id("ipv4-addr", 2), "protocols": ["tcp"], "extensions": extensions}),
        )
    };
    let process =
        |extensions: Value| observable("process", json!({"pid": 1, "extensions": extensions}));
    assert_cases(vec![
        case(
            "archive-ext without contains_refs",
            file(json!({"archive-ext": {"comment": "zip"}})),
            "extensions.archive-ext.contains_refs",
            Rule::RequiredProperty,
        ),
        case(
            "archive-ext containing a URL",
            file(json!({"archive-ext": {"contains_refs": [id("url", 2)]}})),
            "extensions.archive-ext.contains_refs[0]",
            Rule::RefType,
        ),
        case(
            "archive-ext on network-traffic",
            traffic(json!({"archive-ext": {"contains_refs": [id("file", 2)]}})),
            "extensions.archive-ext",
            Rule::Extension,
        ),
        case(
            "ntfs-ext with none of its properties",
            file(json!({"ntfs-ext": {"x_acme_flag": true}})),
            "extensions.ntfs-ext",
            Rule::Constraint,
        ),
        case(
            "ntfs alternate data stream without name",
            file(json!({"ntfs-ext": {"alternate_data_streams": [{"size": 3}]}})),
            "extensions.ntfs-ext.alternate_data_streams[0].name",
            Rule::RequiredProperty,
        ),
        case(
            "pdf-ext with none of its properties",
            file(json!({"pdf-ext": {"x_acme": 1}})),
            "extensions.pdf-ext",
            Rule::Constraint,
        ),
        case(
            "pdf document information value not a string",
            file(json!({"pdf-ext": {"document_info_dict": {"Pages": 3}}})),
            "extensions.pdf-ext.document_info_dict.Pages",
            Rule::PropertyType,
        ),
        case(
            "raster-image-ext with none of its properties",
            file(json!({"raster-image-ext": {"x_acme": 1}})),
            "extensions.raster-image-ext",
            Rule::Constraint,
        ),
        case(
            "EXIF tag neither integer nor string",
            file(json!({"raster-image-ext": {"exif_tags": {"Flash": true}}})),
            "extensions.raster-image-ext.exif_tags.Flash",
            Rule::PropertyType,
        ),
        case(
            "windows-pebinary-ext without pe_type",
            file(json!({"windows-pebinary-ext": {"imphash": "abc"}})),
            "extensions.windows-pebinary-ext.pe_type",
            Rule::RequiredProperty,
        ),
        case(
            "windows-pebinary-ext with only pe_type",
            file(json!({"windows-pebinary-ext": {"pe_type": "exe"}})),
            "extensions.windows-pebinary-ext",
            Rule::Constraint,
        ),
        case(
            "PE time_date_stamp finer than the second",
            file(
                json!({"windows-pebinary-ext": {"pe_type": "exe", "time_date_stamp": "2016-01-22T12:31:12.5Z"}}),
            ),
            "extensions.windows-pebinary-ext.time_date_stamp",
            Rule::TimestampFormat,
        ),
        case(
            "PE optional header with no property",
            file(json!({"windows-pebinary-ext": {"pe_type": "exe", "optional_header": {}}})),
            "extensions.windows-pebinary-ext.optional_header",
            Rule::Constraint,
        ),
        case(
            "PE section without name",
            file(
                json!({"windows-pebinary-ext": {"pe_type": "dll", "sections": [{"entropy": 1.0}]}}),
            ),
            "extensions.windows-pebinary-ext.sections[0].name",
            Rule::RequiredProperty,
        ),
        case(
            "PE section entropy above 8",
            file(
                json!({"windows-pebinary-ext": {"pe_type": "dll", "sections": [{"name": "a", "entropy": 8.5}]}}),
            ),
            "extensions.windows-pebinary-ext.sections[0].entropy",
            Rule::Range,
        ),
        case(
            "windows-pebinary-ext on a process",
            process(json!({"windows-pebinary-ext": {"pe_type": "exe", "imphash": "abc"}})),
            "extensions.windows-pebinary-ext",
            Rule::Extension,
        ),
        case(
            "http-request-ext without request_value",
            traffic(json!({"http-request-ext": {"request_method": "get"}})),
            "extensions.http-request-ext.request_value",
            Rule::RequiredProperty,
        ),
        case(
            "HTTP header value not a list",
            traffic(
                json!({"http-request-ext": {"request_method": "get", "request_value": "/", "request_header": {"Host": "example.com"}}}),
            ),
            "extensions.http-request-ext.request_header.Host",
            Rule::PropertyType,
        ),
        case(
            "HTTP body that is a file",
            traffic(
                json!({"http-request-ext": {"request_method": "get", "request_value": "/", "message_body_data_ref": id("file", 3)}}),
            ),
            "extensions.http-request-ext.message_body_data_ref",
            Rule::RefType,
        ),
        case(
            "icmp-ext without icmp_code_hex",
            traffic(json!({"icmp-ext": {"icmp_type_hex": "08"}})),
            "extensions.icmp-ext.icmp_code_hex",
            Rule::RequiredProperty,
        ),
        case(
            "socket-ext with an unknown address family",
            traffic(json!({"socket-ext": {"address_family": "AF_FOO"}})),
            "extensions.socket-ext.address_family",
            Rule::Enumeration,
        ),
        case(
            "socket option value not an integer",
            traffic(
                json!({"socket-ext": {"address_family": "AF_INET", "options": {"SO_RCVTIMEO": "10"}}}),
            ),
            "extensions.socket-ext.options.SO_RCVTIMEO",
            Rule::PropertyType,
        ),
        case(
            "socket descriptor negative",
            traffic(json!({"socket-ext": {"address_family": "AF_INET", "socket_descriptor": -1}})),
            "extensions.socket-ext.socket_descriptor",
            Rule::Range,
        ),
        case(
            "tcp-ext with none of its properties",
            traffic(json!({"tcp-ext": {"x_acme": 1}})),
            "extensions.tcp-ext",
            Rule::Constraint,
        ),
        case(
            "unix-account-ext with none of its properties",
            observable(
                "user-account",
                json!({"user_id": "0", "extensions": {"unix-account-ext": {"x_acme": 1}}}),
            ),
            "extensions.unix-account-ext",
            Rule::Constraint,
        ),
        case(
            "unix-account-ext on a process",
            process(json!({"unix-account-ext": {"gid": 0}})),
            "extensions.unix-account-ext",
            Rule::Extension,
        ),
        case(
            "windows-process-ext with none of its properties",
            process(json!({"windows-process-ext": {"x_acme": 1}})),
            "extensions.windows-process-ext",
            Rule::Constraint,
        ),
        case(
            "windows-process-ext integrity level outside the enumeration",
            process(json!({"windows-process-ext": {"integrity_level": "root"}})),
            "extensions.windows-process-ext.integrity_level",
            Rule::Enumeration,
        ),
        case(
            "windows-service-ext with none of its properties",
            process(json!({"windows-service-ext": {"x_acme": 1}})),
            "extensions.windows-service-ext",
            Rule::Constraint,
        ),
        case(
            "windows-service-ext start type outside the enumeration",
            process(json!({"windows-service-ext": {"start_type": "SERVICE_SOMETIMES"}})),
            "extensions.windows-service-ext.start_type",
            Rule::Enumeration,
        ),
        case(
            "windows-service-ext DLL that is an artifact",
            process(json!({"windows-service-ext": {"service_dll_refs": [id("artifact", 2)]}})),
            "extensions.windows-service-ext.service_dll_refs[0]",
            Rule::RefType,
        ),
    ]);
}
