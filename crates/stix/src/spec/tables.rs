//! The property table of every STIX 2.1 type, in the order of [`TYPES`] (sorted by name, so
//! that `type_spec` can binary-search it).
//!
//! Conventions, so that a reviewer can read a row against the spec:
//! - `open-vocab` is [`Kind::String`]: any string is valid, the vocabulary is only a SHOULD.
//! - `enum` is [`Kind::Enum`] with every value of the enumeration of section 10.
//! - `identifier` lists the types the property description says it MUST reference; `ANY_SDO`
//!   and `ANY_SCO` stand for a whole category (custom types count as both), and an empty list
//!   means "any STIX Object".
//! - "MUST NOT be negative" is `min: Some(0)`; ranges the spec states are bounds here.

use crate::validate::{ANY_SCO, ANY_SDO};

use super::{Category, EXTENSION_TYPES, KILL_CHAIN_PHASE, Kind, Prop, TypeSpec, opt, req};

const STRING: Kind = Kind::String;
const STRINGS: Kind = Kind::List(&Kind::String);
const BOOLEAN: Kind = Kind::Boolean;
const TIMESTAMP: Kind = Kind::Timestamp;
const INTEGER: Kind = Kind::Integer {
    min: None,
    max: None,
};
const NON_NEGATIVE: Kind = Kind::Integer {
    min: Some(0),
    max: None,
};
const HEX: Kind = Kind::Hex;
const HASHES: Kind = Kind::Hashes;
const DICTIONARY: Kind = Kind::Dictionary;
const KILL_CHAIN_PHASES: Kind = Kind::List(&Kind::Object(KILL_CHAIN_PHASE));

/// Any STIX Object (`object_refs` of grouping, note, opinion, report; `object_ref` of
/// language-content).
const ANY_OBJECT: Kind = Kind::Identifier(&[]);
const ANY_OBJECTS: Kind = Kind::List(&ANY_OBJECT);

const fn refs(types: &'static [&'static str]) -> Kind {
    Kind::Identifier(types)
}

const ARTIFACT: Kind = refs(&["artifact"]);
const SOFTWARE: Kind = refs(&["software"]);
const SOFTWARES: Kind = Kind::List(&SOFTWARE);
const USER_ACCOUNT: Kind = refs(&["user-account"]);
const EMAIL_ADDR: Kind = refs(&["email-addr"]);
const EMAIL_ADDRS: Kind = Kind::List(&EMAIL_ADDR);
const NETWORK_TRAFFIC: Kind = refs(&["network-traffic"]);
const NETWORK_TRAFFICS: Kind = Kind::List(&NETWORK_TRAFFIC);
const PROCESS: Kind = refs(&["process"]);
/// Where network traffic comes from or goes to (section 6.12.1).
const ENDPOINT: Kind = refs(&["ipv4-addr", "ipv6-addr", "mac-addr", "domain-name"]);

/// `opinion-enum` (section 10.18).
pub(super) const OPINION_ENUM: &[&str] = &[
    "strongly-disagree",
    "disagree",
    "neutral",
    "agree",
    "strongly-agree",
];

/// `encryption-algorithm-enum` (section 10.4).
pub(super) const ENCRYPTION_ALGORITHM_ENUM: &[&str] =
    &["AES-256-GCM", "ChaCha20-Poly1305", "mime-type-indicated"];

/// `windows-registry-datatype-enum` (section 10.29).
pub(super) const WINDOWS_REGISTRY_DATATYPE_ENUM: &[&str] = &[
    "REG_NONE",
    "REG_SZ",
    "REG_EXPAND_SZ",
    "REG_BINARY",
    "REG_DWORD",
    "REG_DWORD_BIG_ENDIAN",
    "REG_DWORD_LITTLE_ENDIAN",
    "REG_LINK",
    "REG_MULTI_SZ",
    "REG_RESOURCE_LIST",
    "REG_FULL_RESOURCE_DESCRIPTION",
    "REG_RESOURCE_REQUIREMENTS_LIST",
    "REG_QWORD",
    "REG_INVALID_TYPE",
];

/// `email-mime-part-type` (section 6.6.2). Exactly one of `body` and `body_raw_ref` is checked
/// by a rule.
pub(super) const EMAIL_MIME_PART: &[Prop] = &[
    opt("body", STRING),
    opt("body_raw_ref", refs(&["artifact", "file"])),
    opt("content_type", STRING),
    opt("content_disposition", STRING),
];

/// `windows-registry-value-type` (section 6.17.2). "At least one property" is a rule.
pub(super) const WINDOWS_REGISTRY_VALUE: &[Prop] = &[
    opt("name", STRING),
    opt("data", STRING),
    opt("data_type", Kind::Enum(WINDOWS_REGISTRY_DATATYPE_ENUM)),
];

/// `x509-v3-extensions-type` (section 6.18.2). "At least one property" is a rule.
pub(super) const X509_V3_EXTENSIONS: &[Prop] = &[
    opt("basic_constraints", STRING),
    opt("name_constraints", STRING),
    opt("policy_constraints", STRING),
    opt("key_usage", STRING),
    opt("extended_key_usage", STRING),
    opt("subject_key_identifier", STRING),
    opt("authority_key_identifier", STRING),
    opt("subject_alternative_name", STRING),
    opt("issuer_alternative_name", STRING),
    opt("subject_directory_attributes", STRING),
    opt("crl_distribution_points", STRING),
    opt("inhibit_any_policy", STRING),
    opt("private_key_usage_period_not_before", TIMESTAMP),
    opt("private_key_usage_period_not_after", TIMESTAMP),
    opt("certificate_policies", STRING),
    opt("policy_mappings", STRING),
];

/// Every type of STIX 2.1, sorted by name. Looked up by [`super::type_spec`].
pub static TYPES: &[TypeSpec] = &[
    // 6.1. One of payload_bin/url, url requires hashes, decryption_key requires
    // encryption_algorithm: rules.
    TypeSpec {
        name: "artifact",
        category: Category::Sco,
        properties: &[
            opt("mime_type", STRING),
            opt("payload_bin", Kind::Binary),
            opt("url", STRING),
            opt("hashes", HASHES),
            opt(
                "encryption_algorithm",
                Kind::Enum(ENCRYPTION_ALGORITHM_ENUM),
            ),
            opt("decryption_key", STRING),
        ],
    },
    // 4.1
    TypeSpec {
        name: "attack-pattern",
        category: Category::Sdo,
        properties: &[
            req("name", STRING),
            opt("description", STRING),
            opt("aliases", STRINGS),
            opt("kill_chain_phases", KILL_CHAIN_PHASES),
        ],
    },
    // 6.2
    TypeSpec {
        name: "autonomous-system",
        category: Category::Sco,
        properties: &[
            req("number", INTEGER),
            opt("name", STRING),
            opt("rir", STRING),
        ],
    },
    // 4.2. last_seen >= first_seen: rule.
    TypeSpec {
        name: "campaign",
        category: Category::Sdo,
        properties: &[
            req("name", STRING),
            opt("description", STRING),
            opt("aliases", STRINGS),
            opt("first_seen", TIMESTAMP),
            opt("last_seen", TIMESTAMP),
            opt("objective", STRING),
        ],
    },
    // 4.3. The RESERVED `action` property is a rule.
    TypeSpec {
        name: "course-of-action",
        category: Category::Sdo,
        properties: &[req("name", STRING), opt("description", STRING)],
    },
    // 6.3
    TypeSpec {
        name: "directory",
        category: Category::Sco,
        properties: &[
            req("path", STRING),
            opt("path_enc", STRING),
            opt("ctime", TIMESTAMP),
            opt("mtime", TIMESTAMP),
            opt("atime", TIMESTAMP),
            opt("contains_refs", Kind::List(&refs(&["file", "directory"]))),
        ],
    },
    // 6.4
    TypeSpec {
        name: "domain-name",
        category: Category::Sco,
        properties: &[
            req("value", STRING),
            opt(
                "resolves_to_refs",
                Kind::List(&refs(&["ipv4-addr", "ipv6-addr", "domain-name"])),
            ),
        ],
    },
    // 6.5
    TypeSpec {
        name: "email-addr",
        category: Category::Sco,
        properties: &[
            req("value", STRING),
            opt("display_name", STRING),
            opt("belongs_to_ref", USER_ACCOUNT),
        ],
    },
    // 6.6. body / body_multipart against is_multipart, the values of additional_header_fields
    // and the MIME parts' body / body_raw_ref: rules.
    TypeSpec {
        name: "email-message",
        category: Category::Sco,
        properties: &[
            req("is_multipart", BOOLEAN),
            opt("date", TIMESTAMP),
            opt("content_type", STRING),
            opt("from_ref", EMAIL_ADDR),
            opt("sender_ref", EMAIL_ADDR),
            opt("to_refs", EMAIL_ADDRS),
            opt("cc_refs", EMAIL_ADDRS),
            opt("bcc_refs", EMAIL_ADDRS),
            opt("message_id", STRING),
            opt("subject", STRING),
            opt("received_lines", STRINGS),
            opt("additional_header_fields", DICTIONARY),
            opt("body", STRING),
            opt("body_multipart", Kind::List(&Kind::Object(EMAIL_MIME_PART))),
            opt("raw_email_ref", ARTIFACT),
        ],
    },
    // 7.3. created_by_ref is required here (a common property: `validate` checks its value).
    // extension_properties only with toplevel-property-extension: rule.
    TypeSpec {
        name: "extension-definition",
        category: Category::Meta,
        properties: &[
            req("created_by_ref", Kind::Any),
            req("name", STRING),
            opt("description", STRING),
            req("schema", STRING),
            req("version", STRING),
            req("extension_types", Kind::List(&Kind::Enum(EXTENSION_TYPES))),
            opt("extension_properties", STRINGS),
        ],
    },
    // 6.7. At least one of hashes/name and name_enc requires name: rules.
    TypeSpec {
        name: "file",
        category: Category::Sco,
        properties: &[
            opt("hashes", HASHES),
            opt("size", NON_NEGATIVE),
            opt("name", STRING),
            opt("name_enc", STRING),
            opt("magic_number_hex", HEX),
            opt("mime_type", STRING),
            opt("ctime", TIMESTAMP),
            opt("mtime", TIMESTAMP),
            opt("atime", TIMESTAMP),
            opt("parent_directory_ref", refs(&["directory"])),
            opt("contains_refs", Kind::List(&refs(&[ANY_SCO]))),
            opt("content_ref", ARTIFACT),
        ],
    },
    // 4.4. The Errata 01 markdown marks `name` required; STIX 2.1 OS, the OASIS schema and
    // cti-python-stix2 have it optional, and Errata 01 lists no such change: optional.
    TypeSpec {
        name: "grouping",
        category: Category::Sdo,
        properties: &[
            opt("name", STRING),
            opt("description", STRING),
            req("context", STRING),
            req("object_refs", ANY_OBJECTS),
        ],
    },
    // 4.5
    TypeSpec {
        name: "identity",
        category: Category::Sdo,
        properties: &[
            req("name", STRING),
            opt("description", STRING),
            opt("roles", STRINGS),
            opt("identity_class", STRING),
            opt("sectors", STRINGS),
            opt("contact_information", STRING),
        ],
    },
    // 4.6 (a stub in 2.1)
    TypeSpec {
        name: "incident",
        category: Category::Sdo,
        properties: &[req("name", STRING), opt("description", STRING)],
    },
    // 4.7. valid_until > valid_from: rule.
    TypeSpec {
        name: "indicator",
        category: Category::Sdo,
        properties: &[
            opt("name", STRING),
            opt("description", STRING),
            opt("indicator_types", STRINGS),
            req("pattern", STRING),
            req("pattern_type", STRING),
            opt("pattern_version", STRING),
            req("valid_from", TIMESTAMP),
            opt("valid_until", TIMESTAMP),
            opt("kill_chain_phases", KILL_CHAIN_PHASES),
        ],
    },
    // 4.8. last_seen >= first_seen: rule.
    TypeSpec {
        name: "infrastructure",
        category: Category::Sdo,
        properties: &[
            req("name", STRING),
            opt("description", STRING),
            opt("infrastructure_types", STRINGS),
            opt("aliases", STRINGS),
            opt("kill_chain_phases", KILL_CHAIN_PHASES),
            opt("first_seen", TIMESTAMP),
            opt("last_seen", TIMESTAMP),
        ],
    },
    // 4.9. last_seen >= first_seen: rule.
    TypeSpec {
        name: "intrusion-set",
        category: Category::Sdo,
        properties: &[
            req("name", STRING),
            opt("description", STRING),
            opt("aliases", STRINGS),
            opt("first_seen", TIMESTAMP),
            opt("last_seen", TIMESTAMP),
            opt("goals", STRINGS),
            opt("resource_level", STRING),
            opt("primary_motivation", STRING),
            opt("secondary_motivations", STRINGS),
        ],
    },
    // 6.8. The value's CIDR syntax: rule.
    TypeSpec {
        name: "ipv4-addr",
        category: Category::Sco,
        properties: &[
            req("value", STRING),
            opt("resolves_to_refs", Kind::List(&refs(&["mac-addr"]))),
            opt("belongs_to_refs", Kind::List(&refs(&["autonomous-system"]))),
        ],
    },
    // 6.9. The value's CIDR syntax: rule.
    TypeSpec {
        name: "ipv6-addr",
        category: Category::Sco,
        properties: &[
            req("value", STRING),
            opt("resolves_to_refs", Kind::List(&refs(&["mac-addr"]))),
            opt("belongs_to_refs", Kind::List(&refs(&["autonomous-system"]))),
        ],
    },
    // 7.1. The language tags of `contents`, and that object_ref is not a bundle: rules.
    TypeSpec {
        name: "language-content",
        category: Category::Meta,
        properties: &[
            req("object_ref", ANY_OBJECT),
            opt("object_modified", TIMESTAMP),
            req("contents", DICTIONARY),
        ],
    },
    // 4.10. Latitude/longitude pairing, precision only with both, and at least one of region,
    // country or coordinates: rules.
    TypeSpec {
        name: "location",
        category: Category::Sdo,
        properties: &[
            opt("name", STRING),
            opt("description", STRING),
            opt(
                "latitude",
                Kind::Float {
                    min: Some(-90.0),
                    max: Some(90.0),
                },
            ),
            opt(
                "longitude",
                Kind::Float {
                    min: Some(-180.0),
                    max: Some(180.0),
                },
            ),
            // A distance in meters; the spec states no bound, but a negative one has no meaning
            // (cti-python-stix2 rejects it too).
            opt(
                "precision",
                Kind::Float {
                    min: Some(0.0),
                    max: None,
                },
            ),
            opt("region", STRING),
            opt("country", STRING),
            opt("administrative_area", STRING),
            opt("city", STRING),
            opt("street_address", STRING),
            opt("postal_code", STRING),
        ],
    },
    // 6.10. The MAC-48 syntax: rule.
    TypeSpec {
        name: "mac-addr",
        category: Category::Sco,
        properties: &[req("value", STRING)],
    },
    // 4.11. `is_family` is required (STIX 2.1 OS and the schema; the Errata 01 markdown's
    // "optional" is a conversion slip not listed among its changes). A family needs a name and
    // last_seen >= first_seen: rules.
    TypeSpec {
        name: "malware",
        category: Category::Sdo,
        properties: &[
            opt("name", STRING),
            opt("description", STRING),
            opt("malware_types", STRINGS),
            req("is_family", BOOLEAN),
            opt("aliases", STRINGS),
            opt("kill_chain_phases", KILL_CHAIN_PHASES),
            opt("first_seen", TIMESTAMP),
            opt("last_seen", TIMESTAMP),
            opt("operating_system_refs", SOFTWARES),
            opt("architecture_execution_envs", STRINGS),
            opt("implementation_languages", STRINGS),
            opt("capabilities", STRINGS),
            opt("sample_refs", Kind::List(&refs(&["file", "artifact"]))),
        ],
    },
    // 4.12. One of result / analysis_sco_refs: rule. `result` is an open vocabulary
    // (malware-result-ov), not an enumeration.
    TypeSpec {
        name: "malware-analysis",
        category: Category::Sdo,
        properties: &[
            req("product", STRING),
            opt("version", STRING),
            opt("host_vm_ref", SOFTWARE),
            opt("operating_system_ref", SOFTWARE),
            opt("installed_software_refs", SOFTWARES),
            opt("configuration_version", STRING),
            opt("modules", STRINGS),
            opt("analysis_engine_version", STRING),
            opt("analysis_definition_version", STRING),
            opt("submitted", TIMESTAMP),
            opt("analysis_started", TIMESTAMP),
            opt("analysis_ended", TIMESTAMP),
            opt("result_name", STRING),
            opt("result", STRING),
            opt("analysis_sco_refs", Kind::List(&refs(&[ANY_SCO]))),
            opt("sample_ref", refs(&["file", "network-traffic", "artifact"])),
        ],
    },
    // 7.2.1. `created` is required and there is no `modified` (`validate` knows). definition_type
    // is a deprecated open vocabulary; definition_type + definition are required without
    // `extensions`, and the statement / TLP shapes: rules.
    TypeSpec {
        name: "marking-definition",
        category: Category::Meta,
        properties: &[
            opt("name", STRING),
            opt("definition_type", STRING),
            opt("definition", DICTIONARY),
        ],
    },
    // 6.11
    TypeSpec {
        name: "mutex",
        category: Category::Sco,
        properties: &[req("name", STRING)],
    },
    // 6.12. At least one of src_ref/dst_ref, end >= start, no end while active, ipfix values:
    // rules.
    TypeSpec {
        name: "network-traffic",
        category: Category::Sco,
        properties: &[
            opt("start", TIMESTAMP),
            opt("end", TIMESTAMP),
            opt("is_active", BOOLEAN),
            opt("src_ref", ENDPOINT),
            opt("dst_ref", ENDPOINT),
            opt(
                "src_port",
                Kind::Integer {
                    min: Some(0),
                    max: Some(65535),
                },
            ),
            opt(
                "dst_port",
                Kind::Integer {
                    min: Some(0),
                    max: Some(65535),
                },
            ),
            req("protocols", STRINGS),
            // "as a positive integer": counts, so never negative.
            opt("src_byte_count", NON_NEGATIVE),
            opt("dst_byte_count", NON_NEGATIVE),
            opt("src_packets", NON_NEGATIVE),
            opt("dst_packets", NON_NEGATIVE),
            opt("ipfix", DICTIONARY),
            opt("src_payload_ref", ARTIFACT),
            opt("dst_payload_ref", ARTIFACT),
            opt("encapsulates_refs", NETWORK_TRAFFICS),
            opt("encapsulated_by_ref", NETWORK_TRAFFIC),
        ],
    },
    // 4.13
    TypeSpec {
        name: "note",
        category: Category::Sdo,
        properties: &[
            opt("abstract", STRING),
            req("content", STRING),
            opt("authors", STRINGS),
            req("object_refs", ANY_OBJECTS),
        ],
    },
    // 4.14. Exactly one of objects / object_refs, object_refs holding an SCO, and
    // last_observed >= first_observed: rules. `objects` is the deprecated observable container.
    TypeSpec {
        name: "observed-data",
        category: Category::Sdo,
        properties: &[
            req("first_observed", TIMESTAMP),
            req("last_observed", TIMESTAMP),
            req(
                "number_observed",
                Kind::Integer {
                    min: Some(1),
                    max: Some(999_999_999),
                },
            ),
            opt("objects", DICTIONARY),
            opt(
                "object_refs",
                Kind::List(&refs(&[ANY_SCO, "relationship", "sighting"])),
            ),
        ],
    },
    // 4.15
    TypeSpec {
        name: "opinion",
        category: Category::Sdo,
        properties: &[
            opt("explanation", STRING),
            opt("authors", STRINGS),
            req("opinion", Kind::Enum(OPINION_ENUM)),
            req("object_refs", ANY_OBJECTS),
        ],
    },
    // 6.13. At least one property (or extension) and the environment variables' values: rules.
    TypeSpec {
        name: "process",
        category: Category::Sco,
        properties: &[
            opt("is_hidden", BOOLEAN),
            opt("pid", INTEGER),
            opt("created_time", TIMESTAMP),
            opt("cwd", STRING),
            opt("command_line", STRING),
            opt("environment_variables", DICTIONARY),
            opt("opened_connection_refs", NETWORK_TRAFFICS),
            opt("creator_user_ref", USER_ACCOUNT),
            opt("image_ref", refs(&["file"])),
            opt("parent_ref", PROCESS),
            opt("child_refs", Kind::List(&PROCESS)),
        ],
    },
    // 5.1. stop_time > start_time and the relationship_type syntax: rules.
    TypeSpec {
        name: "relationship",
        category: Category::Sro,
        properties: &[
            req("relationship_type", STRING),
            opt("description", STRING),
            req("source_ref", refs(&[ANY_SDO, ANY_SCO])),
            req("target_ref", refs(&[ANY_SDO, ANY_SCO])),
            opt("start_time", TIMESTAMP),
            opt("stop_time", TIMESTAMP),
        ],
    },
    // 4.16
    TypeSpec {
        name: "report",
        category: Category::Sdo,
        properties: &[
            req("name", STRING),
            opt("description", STRING),
            opt("report_types", STRINGS),
            req("published", TIMESTAMP),
            req("object_refs", ANY_OBJECTS),
        ],
    },
    // 5.2. last_seen >= first_seen: rule. `summary` is a boolean (STIX 2.1 OS and the schema;
    // the Errata 01 markdown's "string" contradicts its own description).
    TypeSpec {
        name: "sighting",
        category: Category::Sro,
        properties: &[
            opt("description", STRING),
            opt("first_seen", TIMESTAMP),
            opt("last_seen", TIMESTAMP),
            opt(
                "count",
                Kind::Integer {
                    min: Some(0),
                    max: Some(999_999_999),
                },
            ),
            req("sighting_of_ref", refs(&[ANY_SDO])),
            opt("observed_data_refs", Kind::List(&refs(&["observed-data"]))),
            opt(
                "where_sighted_refs",
                Kind::List(&refs(&["identity", "location"])),
            ),
            opt("summary", BOOLEAN),
        ],
    },
    // 6.14. Language tags and the CPE 2.3 prefix: rules.
    TypeSpec {
        name: "software",
        category: Category::Sco,
        properties: &[
            req("name", STRING),
            opt("cpe", STRING),
            opt("swid", STRING),
            opt("languages", STRINGS),
            opt("vendor", STRING),
            opt("version", STRING),
        ],
    },
    // 4.17. last_seen >= first_seen: rule.
    TypeSpec {
        name: "threat-actor",
        category: Category::Sdo,
        properties: &[
            req("name", STRING),
            opt("description", STRING),
            opt("threat_actor_types", STRINGS),
            opt("aliases", STRINGS),
            opt("first_seen", TIMESTAMP),
            opt("last_seen", TIMESTAMP),
            opt("roles", STRINGS),
            opt("goals", STRINGS),
            opt("sophistication", STRING),
            opt("resource_level", STRING),
            opt("primary_motivation", STRING),
            opt("secondary_motivations", STRINGS),
            opt("personal_motivations", STRINGS),
        ],
    },
    // 4.18
    TypeSpec {
        name: "tool",
        category: Category::Sdo,
        properties: &[
            req("name", STRING),
            opt("description", STRING),
            opt("tool_types", STRINGS),
            opt("aliases", STRINGS),
            opt("kill_chain_phases", KILL_CHAIN_PHASES),
            opt("tool_version", STRING),
        ],
    },
    // 6.15. The URL syntax (a scheme): rule.
    TypeSpec {
        name: "url",
        category: Category::Sco,
        properties: &[req("value", STRING)],
    },
    // 6.16. At least one property (or extension): rule.
    TypeSpec {
        name: "user-account",
        category: Category::Sco,
        properties: &[
            opt("user_id", STRING),
            opt("credential", STRING),
            opt("account_login", STRING),
            opt("account_type", STRING),
            opt("display_name", STRING),
            opt("is_service_account", BOOLEAN),
            opt("is_privileged", BOOLEAN),
            opt("can_escalate_privs", BOOLEAN),
            opt("is_disabled", BOOLEAN),
            opt("account_created", TIMESTAMP),
            opt("account_expires", TIMESTAMP),
            opt("credential_last_changed", TIMESTAMP),
            opt("account_first_login", TIMESTAMP),
            opt("account_last_login", TIMESTAMP),
        ],
    },
    // 4.19
    TypeSpec {
        name: "vulnerability",
        category: Category::Sdo,
        properties: &[req("name", STRING), opt("description", STRING)],
    },
    // 6.17. At least one property, values with at least one property, and the unabbreviated
    // hive: rules.
    TypeSpec {
        name: "windows-registry-key",
        category: Category::Sco,
        properties: &[
            opt("key", STRING),
            opt("values", Kind::List(&Kind::Object(WINDOWS_REGISTRY_VALUE))),
            opt("modified_time", TIMESTAMP),
            opt("creator_user_ref", USER_ACCOUNT),
            opt("number_of_subkeys", INTEGER),
        ],
    },
    // 6.18. At least one property, and at least one in x509_v3_extensions: rules.
    TypeSpec {
        name: "x509-certificate",
        category: Category::Sco,
        properties: &[
            opt("is_self_signed", BOOLEAN),
            opt("hashes", HASHES),
            opt("version", STRING),
            opt("serial_number", STRING),
            opt("signature_algorithm", STRING),
            opt("issuer", STRING),
            opt("validity_not_before", TIMESTAMP),
            opt("validity_not_after", TIMESTAMP),
            opt("subject", STRING),
            opt("subject_public_key_algorithm", STRING),
            opt("subject_public_key_modulus", STRING),
            opt("subject_public_key_exponent", INTEGER),
            opt("x509_v3_extensions", Kind::Object(X509_V3_EXTENSIONS)),
        ],
    },
];
