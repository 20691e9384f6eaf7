//! Valid STIX 2.1 content must pass `stix::validate` with no error at all: a minimal object of
//! every type, richer objects that use every predefined extension and most properties, the
//! OASIS examples, and MITRE ATT&CK for ICS (which adds custom `x-mitre-*` types and
//! `x_mitre_*` properties).

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};
use stix::spec;

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/stix")
}

/// A valid identifier of `object_type`; `n` tells objects apart.
fn id(object_type: &str, n: u32) -> String {
    format!("{object_type}--6ba7b810-9dad-41d1-80b4-{n:012}")
}

const CREATED: &str = "2024-03-01T12:00:00.000Z";

/// The common properties of an SDO, SRO or versioned meta object, with `own` on top.
fn versioned(object_type: &str, own: Value) -> Value {
    let mut object = json!({
        "type": object_type,
        "spec_version": "2.1",
        "id": id(object_type, 1),
        "created": CREATED,
        "modified": CREATED,
    });
    merge(&mut object, own);
    object
}

/// The common properties of an SCO, with `own` on top.
fn observable(object_type: &str, own: Value) -> Value {
    let mut object = json!({"type": object_type, "spec_version": "2.1", "id": id(object_type, 1)});
    merge(&mut object, own);
    object
}

fn merge(object: &mut Value, own: Value) {
    let (Value::Object(target), Value::Object(source)) = (object, own) else {
        panic!("examples are JSON objects")
    };
    target.extend(source);
}

fn errors_of(object: &Value) -> Vec<String> {
    let map = object.as_object().expect("examples are JSON objects");
    stix::validate(map)
        .iter()
        .map(ToString::to_string)
        .collect()
}

/// The smallest valid object of every type: only required properties and those a type rule
/// demands ("at least one of").
fn minimal(object_type: &str) -> Value {
    match object_type {
        "artifact" => observable(object_type, json!({"payload_bin": "aGVsbG8="})),
        "attack-pattern" | "campaign" | "course-of-action" | "identity" | "incident"
        | "infrastructure" | "intrusion-set" | "threat-actor" | "tool" | "vulnerability" => {
            versioned(object_type, json!({"name": "Example"}))
        }
        "autonomous-system" => observable(object_type, json!({"number": 15139})),
        "directory" => observable(object_type, json!({"path": "C:\\Windows"})),
        "domain-name" => observable(object_type, json!({"value": "example.com"})),
        "email-addr" => observable(object_type, json!({"value": "jdoe@example.com"})),
        "email-message" => observable(object_type, json!({"is_multipart": false})),
        "extension-definition" => versioned(
            object_type,
            json!({"created_by_ref": id("identity", 9), "name": "Example", "schema": "https://example.com/schema.json",
                   "version": "1.0.0", "extension_types": ["property-extension"]}),
        ),
        "file" => observable(object_type, json!({"name": "foo.dll"})),
        "grouping" => versioned(
            object_type,
            json!({"context": "suspicious-activity", "object_refs": [id("indicator", 2)]}),
        ),
        "indicator" => versioned(
            object_type,
            json!({"pattern": "[ipv4-addr:value = '198.51.100.1']", "pattern_type": "stix", "valid_from": "2024-03-01T00:00:00Z"}),
        ),
        "ipv4-addr" => observable(object_type, json!({"value": "198.51.100.3"})),
        "ipv6-addr" => observable(
            object_type,
            json!({"value": "2001:0db8:85a3:0000:0000:8a2e:0370:7334"}),
        ),
        "language-content" => versioned(
            object_type,
            json!({"object_ref": id("campaign", 2), "contents": {"de": {"name": "Bankangriff"}}}),
        ),
        "location" => versioned(object_type, json!({"region": "northern-america"})),
        "mac-addr" => observable(object_type, json!({"value": "d2:fb:49:24:37:18"})),
        "malware" => versioned(object_type, json!({"is_family": false})),
        "malware-analysis" => versioned(
            object_type,
            json!({"product": "anonymized", "result": "malicious"}),
        ),
        "marking-definition" => json!({
            "type": "marking-definition", "spec_version": "2.1", "id": id("marking-definition", 1), "created": CREATED,
            "definition_type": "statement", "definition": {"statement": "Copyright 2024, Example Corp"}
        }),
        "mutex" => observable(object_type, json!({"name": "__CLEANSWEEP__"})),
        "network-traffic" => observable(
            object_type,
            json!({"dst_ref": id("ipv4-addr", 2), "protocols": ["tcp"]}),
        ),
        "note" => versioned(
            object_type,
            json!({"content": "Seen on a forum.", "object_refs": [id("campaign", 2)]}),
        ),
        "observed-data" => versioned(
            object_type,
            json!({"first_observed": "2024-03-01T00:00:00Z", "last_observed": "2024-03-01T00:00:00Z", "number_observed": 1,
                   "object_refs": [id("ipv4-addr", 2)]}),
        ),
        "opinion" => versioned(
            object_type,
            json!({"opinion": "agree", "object_refs": [id("relationship", 2)]}),
        ),
        "process" => observable(object_type, json!({"pid": 1221})),
        "relationship" => versioned(
            object_type,
            json!({"relationship_type": "indicates", "source_ref": id("indicator", 2), "target_ref": id("malware", 3)}),
        ),
        "report" => versioned(
            object_type,
            json!({"name": "Example", "published": CREATED, "object_refs": [id("campaign", 2)]}),
        ),
        "sighting" => versioned(object_type, json!({"sighting_of_ref": id("indicator", 2)})),
        "software" => observable(object_type, json!({"name": "Word"})),
        "url" => observable(
            object_type,
            json!({"value": "https://example.com/research/index.html"}),
        ),
        "user-account" => observable(object_type, json!({"user_id": "1001"})),
        "windows-registry-key" => observable(
            object_type,
            json!({"key": "HKEY_LOCAL_MACHINE\\System\\Foo\\Bar"}),
        ),
        "x509-certificate" => observable(
            object_type,
            json!({"serial_number": "36:f7:d4:32:f4:ab:70:ea"}),
        ),
        other => panic!("no minimal example for {other}; add one"),
    }
}

#[test]
fn a_minimal_object_of_every_type_is_valid() {
    let mut failures = Vec::new();
    for type_spec in spec::TYPES {
        let object = minimal(type_spec.name);
        let errors = errors_of(&object);
        if !errors.is_empty() {
            failures.push(format!("{}:\n  {}", type_spec.name, errors.join("\n  ")));
        }
    }
    assert!(
        failures.is_empty(),
        "minimal valid objects were rejected:\n{}",
        failures.join("\n")
    );
}

/// Objects that use most properties of their type, every predefined extension and both forms of
/// the either-or rules, written after the examples of the specification.
fn rich_examples() -> Vec<Value> {
    vec![
        versioned(
            "attack-pattern",
            json!({
                "name": "Spear Phishing", "description": "...", "aliases": ["spearphishing"],
                "kill_chain_phases": [{"kill_chain_name": "lockheed-martin-cyber-kill-chain", "phase_name": "delivery"}],
                "external_references": [{"source_name": "capec", "external_id": "CAPEC-163"}],
            }),
        ),
        versioned(
            "campaign",
            json!({
                "name": "Green Group Attacks", "aliases": ["GG"], "first_seen": "2016-01-01T00:00:00Z",
                "last_seen": "2016-01-01T00:00:00Z", "objective": "Steal money",
            }),
        ),
        versioned(
            "grouping",
            json!({"name": "Black Vine", "description": "Intel", "context": "x-custom-context",
            "object_refs": [id("indicator", 2), id("relationship", 3), id("file", 4), id("marking-definition", 5)]}),
        ),
        versioned(
            "identity",
            json!({"name": "ACME", "roles": ["CEO"], "identity_class": "organization",
            "sectors": ["technology"], "contact_information": "ceo@example.com"}),
        ),
        versioned(
            "indicator",
            json!({
                "name": "Poison Ivy", "indicator_types": ["malicious-activity"], "pattern": "[file:hashes.'SHA-256' = 'ef537f25c895bfa782526529a9b63d97aa631564d5d789c2b765448c8635fb6c']",
                "pattern_type": "stix", "pattern_version": "2.1", "valid_from": "2016-01-01T00:00:00Z",
                "valid_until": "2016-01-01T00:00:00.001Z",
                "kill_chain_phases": [{"kill_chain_name": "mitre-attack", "phase_name": "execution"}],
            }),
        ),
        versioned(
            "infrastructure",
            json!({"name": "C2", "infrastructure_types": ["command-and-control"],
            "first_seen": "2016-01-01T00:00:00Z", "last_seen": "2017-01-01T00:00:00Z"}),
        ),
        versioned(
            "intrusion-set",
            json!({"name": "Bobcat", "goals": ["theft"], "resource_level": "government",
            "primary_motivation": "organizational-gain", "secondary_motivations": ["dominance"]}),
        ),
        versioned(
            "location",
            json!({"name": "Paris", "latitude": 48.8566, "longitude": 2.3522, "precision": 1000.0,
            "country": "fr", "administrative_area": "FR-75", "city": "Paris", "street_address": "Rue X", "postal_code": "75001"}),
        ),
        versioned("location", json!({"latitude": -90, "longitude": 180})),
        versioned("location", json!({"country": "th"})),
        versioned(
            "malware",
            json!({
                "name": "Cryptolocker", "is_family": true, "malware_types": ["ransomware"], "aliases": ["CL"],
                "first_seen": "2016-01-01T00:00:00Z", "last_seen": "2016-02-01T00:00:00Z",
                "operating_system_refs": [id("software", 2)], "architecture_execution_envs": ["x86"],
                "implementation_languages": ["c"], "capabilities": ["anti-sandbox"], "sample_refs": [id("file", 3), id("artifact", 4)],
            }),
        ),
        versioned(
            "malware-analysis",
            json!({
                "product": "microsoft", "version": "5.1", "host_vm_ref": id("software", 2), "operating_system_ref": id("software", 3),
                "installed_software_refs": [id("software", 4)], "configuration_version": "1", "modules": ["dridex"],
                "analysis_engine_version": "5.1.0", "analysis_definition_version": "053514-0062",
                "submitted": "2012-02-11T08:36:14Z", "analysis_started": "2012-02-11T08:36:14Z", "analysis_ended": "2012-02-11T08:36:14Z",
                "result_name": "Trojan", "result": "x-not-in-the-vocabulary", "analysis_sco_refs": [id("file", 5)], "sample_ref": id("network-traffic", 6),
            }),
        ),
        versioned(
            "malware-analysis",
            json!({"product": "anonymized", "analysis_sco_refs": [id("x-custom-sco", 5)]}),
        ),
        versioned(
            "note",
            json!({"abstract": "Tracking", "content": "...", "authors": ["John Doe"], "object_refs": [id("campaign", 2)]}),
        ),
        versioned(
            "observed-data",
            json!({
                "first_observed": "2015-12-21T19:00:00Z", "last_observed": "2016-04-06T19:58:16Z", "number_observed": 999_999_999,
                "objects": {"0": {"type": "ipv4-addr", "value": "198.51.100.2"}, "1": {"type": "network-traffic", "dst_ref": "0"}},
            }),
        ),
        versioned(
            "observed-data",
            json!({
                "first_observed": "2015-12-21T19:00:00Z", "last_observed": "2015-12-21T19:00:00Z", "number_observed": 1,
                "object_refs": [id("relationship", 2), id("domain-name", 3)],
            }),
        ),
        versioned(
            "opinion",
            json!({"explanation": "Seen it", "authors": ["A"], "opinion": "strongly-disagree", "object_refs": [id("report", 2)]}),
        ),
        versioned(
            "report",
            json!({"name": "Report", "report_types": ["campaign"], "published": "2016-01-20T17:00:00.000Z",
            "object_refs": [id("indicator", 2)]}),
        ),
        versioned(
            "threat-actor",
            json!({
                "name": "Evil Org", "threat_actor_types": ["crime-syndicate"], "aliases": ["Syndicate 1"], "roles": ["director"],
                "goals": ["Steal bank money"], "sophistication": "advanced", "resource_level": "team",
                "primary_motivation": "organizational-gain", "secondary_motivations": ["dominance"], "personal_motivations": ["revenge"],
                "first_seen": "2016-01-01T00:00:00Z", "last_seen": "2016-01-01T00:00:00Z",
            }),
        ),
        versioned(
            "tool",
            json!({"name": "VNC", "tool_types": ["remote-access"], "tool_version": "1.0"}),
        ),
        versioned(
            "vulnerability",
            json!({"name": "CVE-2016-1234", "external_references": [{"source_name": "cve", "external_id": "CVE-2016-1234"}]}),
        ),
        versioned(
            "relationship",
            json!({
                "relationship_type": "x-custom-type", "description": "d", "source_ref": id("ipv4-addr", 2), "target_ref": id("x-mitre-tactic", 3),
                "start_time": "2016-01-01T00:00:00Z", "stop_time": "2016-01-01T00:00:00.001Z",
            }),
        ),
        versioned(
            "sighting",
            json!({
                "description": "seen", "first_seen": "2015-12-21T19:00:00Z", "last_seen": "2015-12-21T19:00:00Z", "count": 0,
                "sighting_of_ref": id("x-mitre-analytic", 2), "observed_data_refs": [id("observed-data", 3)],
                "where_sighted_refs": [id("identity", 4), id("location", 5)], "summary": true,
            }),
        ),
        // Meta objects.
        json!({"type": "marking-definition", "spec_version": "2.1", "id": "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9",
            "created": "2017-01-20T00:00:00.000Z", "definition_type": "tlp", "name": "TLP:WHITE", "definition": {"tlp": "white"}}),
        json!({"type": "marking-definition", "spec_version": "2.1", "id": "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed",
            "created": "2017-01-20T00:00:00.000Z", "definition_type": "tlp", "name": "TLP:RED", "definition": {"tlp": "red"}}),
        json!({"type": "marking-definition", "spec_version": "2.1", "id": id("marking-definition", 7), "created": CREATED,
            "name": "Extension-based", "object_marking_refs": ["marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"],
            "extensions": {"extension-definition--6ba7b810-9dad-41d1-80b4-000000000009": {"extension_type": "property-extension", "level": 3}}}),
        json!({"type": "marking-definition", "spec_version": "2.1", "id": id("marking-definition", 8), "created": CREATED,
            "definition_type": "x-acme-marking", "definition": {"x_acme_level": "restricted"}}),
        versioned(
            "extension-definition",
            json!({
                "created_by_ref": id("identity", 9), "name": "Foo 1a", "description": "adds rank", "schema": "https://example.com/schema-foo-1a/v1/",
                "version": "1.2.1", "extension_types": ["toplevel-property-extension", "new-sdo"], "extension_properties": ["toxicity", "rank"],
            }),
        ),
        versioned(
            "language-content",
            json!({
                "object_ref": id("threat-actor", 2), "object_modified": "2019-07-08T21:31:22.007Z",
                "contents": {"de": {"goals": ["Bankgeld stehlen", ""]}, "fr-CA": {"name": "Organisation"}},
            }),
        ),
        // SCOs.
        observable(
            "artifact",
            json!({"mime_type": "application/zip", "url": "https://example.com/x.zip",
            "hashes": {"SHA-256": "effb46bba03f6c8aea5c653f9cf984f170dcdd3bbbe2ff6843c3e5da0e698766"},
            "encryption_algorithm": "mime-type-indicated", "decryption_key": "My voice is my passport"}),
        ),
        observable(
            "autonomous-system",
            json!({"number": 15139, "name": "Slime Industries", "rir": "ARIN"}),
        ),
        observable(
            "directory",
            json!({"path": "C:\\Windows\\System32", "path_enc": "windows-1252", "ctime": "2016-01-01T00:00:00Z",
            "mtime": "2016-01-01T00:00:00Z", "atime": "2016-01-01T00:00:00Z", "contains_refs": [id("file", 2), id("directory", 3)]}),
        ),
        observable(
            "domain-name",
            json!({"value": "example.com", "resolves_to_refs": [id("ipv4-addr", 2), id("domain-name", 3)]}),
        ),
        observable(
            "email-addr",
            json!({"value": "john@example.com", "display_name": "John Doe", "belongs_to_ref": id("user-account", 2)}),
        ),
        observable(
            "email-message",
            json!({
                "is_multipart": true, "received_lines": ["from mail.example.com"], "content_type": "multipart/mixed",
                "date": "2016-06-19T14:20:40.000Z", "from_ref": id("email-addr", 2), "sender_ref": id("email-addr", 3),
                "to_refs": [id("email-addr", 4)], "cc_refs": [id("email-addr", 5)], "bcc_refs": [id("email-addr", 6)],
                "message_id": "<1@example.com>", "subject": "Cats", "raw_email_ref": id("artifact", 7),
                "additional_header_fields": {"Reply-To": ["steve@example.com", "jane@example.com"]},
                "body_multipart": [
                    {"content_type": "text/plain; charset=utf-8", "content_disposition": "inline", "body": "Cats are funny!"},
                    {"content_type": "image/png", "body_raw_ref": id("artifact", 8)},
                    {"content_type": "application/zip", "body_raw_ref": id("file", 9)},
                ],
            }),
        ),
        observable(
            "email-message",
            json!({"is_multipart": false, "body": "Hello", "subject": "Hi"}),
        ),
        observable(
            "file",
            json!({
                "hashes": {"SHA-256": "35a01331e9ad96f751278b891b6ea09699806faedfa237d40513d92ad1b7100f"}, "size": 25536,
                "name": "qu\u{ea}ry.dll", "name_enc": "windows-1252", "magic_number_hex": "504b0304", "mime_type": "application/zip",
                "ctime": "2016-01-01T00:00:00Z", "parent_directory_ref": id("directory", 2), "contains_refs": [id("ipv4-addr", 3)],
                "content_ref": id("artifact", 4),
                "extensions": {
                    "archive-ext": {"contains_refs": [id("file", 5), id("directory", 6)], "comment": "zip"},
                    "ntfs-ext": {"sid": "1234567", "alternate_data_streams": [{"name": "second.stream", "size": 25536,
                        "hashes": {"MD5": "3773a88f65a5e780c8dff9cdc3a056f3"}}]},
                    "pdf-ext": {"version": "1.7", "is_optimized": false, "pdfid0": "DFCE", "pdfid1": "57A1",
                        "document_info_dict": {"Title": "Sample document", "CreationDate": "20070412090123-02"}},
                    "raster-image-ext": {"image_height": 768, "image_width": 1024, "bits_per_pixel": 72,
                        "exif_tags": {"Make": "Nikon", "XResolution": 4928}},
                    "windows-pebinary-ext": {
                        "pe_type": "exe", "imphash": "abc", "machine_hex": "014c", "number_of_sections": 4,
                        "time_date_stamp": "2016-01-22T12:31:12Z", "pointer_to_symbol_table_hex": "74726144", "number_of_symbols": 4_542_568,
                        "size_of_optional_header": 224, "characteristics_hex": "818f",
                        "file_header_hashes": {"SHA-256": "fe90a7e910cb3a4739bed9180e807e93fa70c90f25a8915476f5e4bfbac681db"},
                        "optional_header": {"magic_hex": "010b", "major_linker_version": 2, "size_of_code": 512, "image_base": 14_548_992,
                            "win32_version_value_hex": "00", "checksum_hex": "00", "loader_flags_hex": "abdbffde",
                            "number_of_rva_and_sizes": 3_758_087_646_u64},
                        "sections": [{"name": "CODE", "entropy": 0.061089}, {"name": ".idata", "size": 10, "entropy": 8}],
                    },
                    "x-example-com-foo-ext": {"foo_val": "foo"},
                    "extension-definition--6ba7b810-9dad-41d1-80b4-000000000009": {"extension_type": "property-extension", "rank": 5},
                },
            }),
        ),
        observable(
            "file",
            json!({"hashes": {"MD5": "3773a88f65a5e780c8dff9cdc3a056f3"}}),
        ),
        observable(
            "ipv4-addr",
            json!({"value": "198.51.100.0/24", "resolves_to_refs": [id("mac-addr", 2)],
            "belongs_to_refs": [id("autonomous-system", 3)]}),
        ),
        observable("ipv6-addr", json!({"value": "2001:0db8::/96"})),
        observable("ipv6-addr", json!({"value": "fe80::1%eth0"})),
        observable("mac-addr", json!({"value": "00:00:ab:cd:ef:01"})),
        observable(
            "network-traffic",
            json!({
                "start": "2016-01-01T00:00:00Z", "end": "2016-01-01T00:00:00Z", "is_active": false,
                "src_ref": id("ipv4-addr", 2), "dst_ref": id("domain-name", 3), "src_port": 0, "dst_port": 65535,
                "protocols": ["ipv4", "tcp", "http"], "src_byte_count": 147_600, "dst_byte_count": 0, "src_packets": 100, "dst_packets": 1,
                "ipfix": {"minimumIpTotalLength": 32, "protocolIdentifier": "tcp"},
                "src_payload_ref": id("artifact", 4), "dst_payload_ref": id("artifact", 5),
                "encapsulates_refs": [id("network-traffic", 6)], "encapsulated_by_ref": id("network-traffic", 7),
                "extensions": {
                    "http-request-ext": {"request_method": "get", "request_value": "/download.html", "request_version": "http/1.1",
                        "request_header": {"Accept-Encoding": ["gzip,deflate"], "Host": ["www.example.com"]},
                        "message_body_length": 0, "message_body_data_ref": id("artifact", 8)},
                    "icmp-ext": {"icmp_type_hex": "08", "icmp_code_hex": "00"},
                    "socket-ext": {"address_family": "AF_INET", "is_blocking": true, "is_listening": true, "socket_type": "SOCK_STREAM",
                        "options": {"SO_ACCEPTCONN": 1}, "socket_descriptor": 3, "socket_handle": -1},
                    "tcp-ext": {"src_flags_hex": "00000002"},
                },
            }),
        ),
        observable(
            "network-traffic",
            json!({"src_ref": id("mac-addr", 2), "protocols": ["arp"], "is_active": true,
            "start": "2016-01-01T00:00:00Z"}),
        ),
        observable(
            "process",
            json!({
                "is_hidden": false, "pid": 2217, "created_time": "2016-01-20T14:11:25.55Z", "cwd": "/tmp",
                "command_line": "./gedit-bin --new-window", "environment_variables": {"PATH": "/usr/bin"},
                "opened_connection_refs": [id("network-traffic", 2)], "creator_user_ref": id("user-account", 3),
                "image_ref": id("file", 4), "parent_ref": id("process", 5), "child_refs": [id("process", 6)],
                "extensions": {
                    "windows-process-ext": {"aslr_enabled": true, "dep_enabled": true, "priority": "HIGH_PRIORITY_CLASS",
                        "owner_sid": "S-1-5-21", "window_title": "gedit", "startup_info": {"lpDesktop": "WinSta0"}, "integrity_level": "high"},
                    "windows-service-ext": {"service_name": "sirvizio", "descriptions": ["d"], "display_name": "Sirvizio",
                        "group_name": "g", "start_type": "SERVICE_AUTO_START", "service_dll_refs": [id("file", 7)],
                        "service_type": "SERVICE_WIN32_OWN_PROCESS", "service_status": "SERVICE_RUNNING"},
                },
            }),
        ),
        // A process described only by an extension.
        observable(
            "process",
            json!({"extensions": {"windows-process-ext": {"aslr_enabled": true}}}),
        ),
        observable(
            "software",
            json!({"name": "Word", "cpe": "cpe:2.3:a:microsoft:word:2000:*:*:*:*:*:*:*", "swid": "x",
            "languages": ["en", "fr-CA", "zh-Hant-TW"], "vendor": "Microsoft", "version": "2002"}),
        ),
        observable(
            "url",
            json!({"value": "hxxp://example[.]com", "defanged": true}),
        ),
        observable(
            "user-account",
            json!({
                "user_id": "1001", "credential": "password", "account_login": "jdoe", "account_type": "unix", "display_name": "John Doe",
                "is_service_account": false, "is_privileged": false, "can_escalate_privs": true, "is_disabled": false,
                "account_created": "2016-01-20T12:31:12Z", "account_expires": "2017-01-20T12:31:12Z",
                "credential_last_changed": "2016-01-20T14:27:43Z", "account_first_login": "2016-01-20T14:26:07Z",
                "account_last_login": "2016-07-22T16:08:28Z",
                "extensions": {"unix-account-ext": {"gid": 1001, "groups": ["wheel"], "home_dir": "/home/jdoe", "shell": "/bin/bash"}},
            }),
        ),
        observable(
            "windows-registry-key",
            json!({
                "key": "hkey_local_machine\\system\\bar\\foo", "modified_time": "2016-01-01T00:00:00Z",
                "creator_user_ref": id("user-account", 2), "number_of_subkeys": 2,
                "values": [{"name": "Foo", "data": "qwerty", "data_type": "REG_SZ"}, {"name": ""}],
            }),
        ),
        observable(
            "x509-certificate",
            json!({
                "is_self_signed": false, "hashes": {"SHA-256": "effb46bba03f6c8aea5c653f9cf984f170dcdd3bbbe2ff6843c3e5da0e698766"},
                "version": "3", "serial_number": "02:08:87", "signature_algorithm": "sha256WithRSAEncryption", "issuer": "C=ZA",
                "validity_not_before": "2016-03-12T12:00:00Z", "validity_not_after": "2016-08-21T12:00:00Z", "subject": "C=US",
                "subject_public_key_algorithm": "rsaEncryption", "subject_public_key_modulus": "00:b8", "subject_public_key_exponent": 65537,
                "x509_v3_extensions": {"basic_constraints": "critical,CA:TRUE, pathlen:0", "inhibit_any_policy": "2",
                    "private_key_usage_period_not_before": "2016-03-12T12:00:00Z", "private_key_usage_period_not_after": "2018-03-12T12:00:00Z"},
            }),
        ),
    ]
}

#[test]
fn rich_objects_of_every_type_are_valid() {
    let mut failures = Vec::new();
    for object in rich_examples() {
        let errors = errors_of(&object);
        if !errors.is_empty() {
            failures.push(format!("{}:\n  {}", object["type"], errors.join("\n  ")));
        }
    }
    assert!(
        failures.is_empty(),
        "valid objects were rejected:\n{}",
        failures.join("\n")
    );
}

/// The objects of a file holding a bundle, a list of objects, or one object.
fn objects_in(path: &Path) -> Vec<Map<String, Value>> {
    let text =
        fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let value: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()));
    let items = match value {
        Value::Object(mut map) if map.get("type").and_then(Value::as_str) == Some("bundle") => {
            match map.remove("objects") {
                Some(Value::Array(items)) => items,
                _ => Vec::new(),
            }
        }
        Value::Array(items) => items,
        single => vec![single],
    };
    items
        .into_iter()
        .map(|item| {
            item.as_object()
                .cloned()
                .expect("STIX objects are JSON objects")
        })
        .collect()
}

fn json_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
    {
        let path = entry.expect("a directory entry of the examples").path();
        if path.is_dir() {
            json_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
}

fn assert_all_valid(files: &[PathBuf]) -> usize {
    let mut failures = Vec::new();
    let mut count = 0;
    for file in files {
        for object in objects_in(file) {
            count += 1;
            for error in stix::validate(&object) {
                failures.push(format!("{}: {error}", file.display()));
            }
        }
    }
    let shown: Vec<&String> = failures.iter().take(50).collect();
    assert!(
        failures.is_empty(),
        "{} errors in valid content, the first ones:\n{shown:#?}",
        failures.len()
    );
    count
}

#[test]
fn the_oasis_examples_are_valid() {
    let mut files = Vec::new();
    json_files(&data_dir().join("oasis-examples"), &mut files);
    files.sort();
    assert!(
        files.len() >= 8,
        "the OASIS examples are missing from {}",
        data_dir().display()
    );
    let count = assert_all_valid(&files);
    assert!(
        count > 200,
        "only {count} objects read from the OASIS examples"
    );
}

#[test]
fn mitre_attack_for_ics_is_valid() {
    let count = assert_all_valid(&[data_dir().join("ics-attack-18.1.json")]);
    assert!(
        count > 1500,
        "only {count} objects read from ATT&CK for ICS"
    );
}
