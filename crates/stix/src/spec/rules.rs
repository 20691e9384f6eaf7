//! The MUSTs of STIX 2.1 that concern one type but span several properties, or a value's syntax
//! beyond its JSON shape.
//!
//! Each rule reports through [`Checker::fail`], and the choice of rule and path follows one
//! convention, so that a report reads the same whatever the type:
//! - "B MUST be present when A is" and B is absent: [`Rule::RequiredProperty`] at B.
//! - "B MUST NOT be present when A is" (or without A): [`Rule::Constraint`] at B.
//! - "at least one of" / "exactly one of": [`Rule::Constraint`] at the object (or the embedded
//!   object) that lacks or overfills them.
//! - Two timestamps out of order: [`Rule::TimeOrder`] at the later one.
//! - A string whose syntax the spec fixes (a MAC address, a CPE, a relationship type):
//!   [`Rule::PropertyType`] at the value; a language tag: [`Rule::LanguageTag`].
//!
//! Values of the wrong JSON type are already reported by the property tables; the rules here
//! skip them rather than report them twice.

use std::net::{Ipv4Addr, Ipv6Addr};

use serde_json::{Map, Value};

use crate::id::type_of;
use crate::timestamp::Timestamp;
use crate::validate::{Checker, Rule, is_language_tag, json_type};

use super::tables::{WINDOWS_REGISTRY_VALUE, X509_V3_EXTENSIONS};
use super::{Category, TypeSpec, category_of, predefined_extension, type_spec};

/// The four TLP marking definitions of section 7.2.1.4, the only TLP markings that may exist.
const TLP_MARKINGS: &[(&str, &str)] = &[
    (
        "white",
        "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9",
    ),
    (
        "green",
        "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da",
    ),
    (
        "amber",
        "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82",
    ),
    (
        "red",
        "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed",
    ),
];

/// Registry hive abbreviations that section 6.17.1 forbids ("HKEY_LOCAL_MACHINE must be used
/// instead of HKLM").
const HIVE_ABBREVIATIONS: &[&str] = &["HKLM", "HKCU", "HKCR", "HKU", "HKCC"];

pub(super) fn check(check: &mut Checker<'_>, object_type: &str, object: &Map<String, Value>) {
    let Some(spec) = type_spec(object_type) else {
        return;
    };
    check_extension_placement(check, spec, object);

    match object_type {
        "campaign" | "infrastructure" | "intrusion-set" | "threat-actor" => {
            not_before(check, object, "first_seen", "last_seen")
        }
        "course-of-action" if object.contains_key("action") => {
            check.fail(
                "action",
                Rule::Reserved,
                "action is RESERVED on course-of-action (section 4.3) and must not be present",
            );
        }
        "extension-definition" => check_extension_definition(check, object),
        "indicator" => later_than(check, object, "valid_from", "valid_until"),
        "language-content" => check_language_content(check, object),
        "location" => check_location(check, object),
        "malware" => {
            not_before(check, object, "first_seen", "last_seen");
            if object.get("is_family") == Some(&Value::Bool(true)) && !object.contains_key("name") {
                check.fail(
                    "name",
                    Rule::RequiredProperty,
                    "a malware family (is_family true) must have a name",
                );
            }
        }
        "malware-analysis" if !has_any(object, ["result", "analysis_sco_refs"]) => {
            check.fail(
                "",
                Rule::Constraint,
                "a malware-analysis needs at least one of result or analysis_sco_refs",
            );
        }
        "marking-definition" => check_marking_definition(check, object),
        "observed-data" => check_observed_data(check, object),
        "relationship" => {
            later_than(check, object, "start_time", "stop_time");
            if let Some(Value::String(name)) = object.get("relationship_type")
                && (name.is_empty()
                    || !name
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'))
            {
                check.fail(
                    "relationship_type",
                    Rule::PropertyType,
                    format!("{name:?} must hold only a-z, 0-9 and hyphens"),
                );
            }
        }
        "sighting" => not_before(check, object, "first_seen", "last_seen"),

        "artifact" => check_artifact(check, object),
        "email-message" => check_email_message(check, object),
        "file" => {
            if !has_any(object, ["hashes", "name"]) {
                check.fail(
                    "",
                    Rule::Constraint,
                    "a file needs at least one of hashes or name",
                );
            }
            encoding_needs_original(check, object, "name_enc", "name");
        }
        "directory" => encoding_needs_original(check, object, "path_enc", "path"),
        "ipv4-addr" => check_address(
            check,
            object,
            is_ipv4_cidr,
            "an IPv4 address or CIDR block (a.b.c.d or a.b.c.d/n)",
        ),
        "ipv6-addr" => check_address(check, object, is_ipv6_cidr, "an IPv6 address or CIDR block"),
        "mac-addr" => check_address(
            check,
            object,
            is_mac_48,
            "a colon-delimited, lowercase MAC-48 address with leading zeros (00:00:ab:cd:ef:01)",
        ),
        "url" => check_address(
            check,
            object,
            has_url_scheme,
            "a URL with a scheme (RFC 3986)",
        ),
        "network-traffic" => check_network_traffic(check, object),
        "process" => {
            if !has_own_property_or_extension(object, spec) {
                check.fail(
                    "",
                    Rule::Constraint,
                    "a process needs at least one of its own properties or an extension",
                );
            }
            check_dictionary_values(
                check,
                object,
                "environment_variables",
                "",
                is_string,
                "an environment variable's value must be a string",
            );
        }
        "software" => check_software(check, object),
        "user-account" if !has_own_property_or_extension(object, spec) => {
            check.fail(
                "",
                Rule::Constraint,
                "a user-account needs at least one of its own properties or an extension",
            );
        }
        "windows-registry-key" => check_registry_key(check, object, spec),
        "x509-certificate" => {
            if !has_any(object, spec.properties.iter().map(|p| p.name)) {
                check.fail(
                    "",
                    Rule::Constraint,
                    "an x509-certificate needs at least one of its own properties",
                );
            }
            if let Some(Value::Object(extensions)) = object.get("x509_v3_extensions")
                && !has_any(extensions, X509_V3_EXTENSIONS.iter().map(|p| p.name))
            {
                check.fail(
                    "x509_v3_extensions",
                    Rule::Constraint,
                    "x509_v3_extensions must hold at least one of its properties",
                );
            }
        }
        _ => {}
    }
}

/// Predefined extensions belong to the SCO types that define them, and custom `-ext`
/// extensions (section 11.3) "can only be used with SCOs". Extension-definition keys are
/// section 7.3 extensions and may go anywhere.
fn check_extension_placement(
    check: &mut Checker<'_>,
    spec: &TypeSpec,
    object: &Map<String, Value>,
) {
    let Some(Value::Object(extensions)) = object.get("extensions") else {
        return;
    };
    for key in extensions.keys().filter(|k| k.ends_with("-ext")) {
        match predefined_extension(key) {
            Some(extension) if !extension.applies_to.contains(&spec.name) => check.fail(
                format!("extensions.{key}"),
                Rule::Extension,
                format!("{key} is defined for {} objects, not {}", extension.applies_to.join(" and "), spec.name),
            ),
            None if spec.category != Category::Sco => check.fail(
                format!("extensions.{key}"),
                Rule::Extension,
                format!("custom -ext extensions can only be used on SCOs, not on {}; use an extension-definition", spec.name),
            ),
            _ => {}
        }
    }
}

fn check_extension_definition(check: &mut Checker<'_>, object: &Map<String, Value>) {
    if !object.contains_key("extension_properties") {
        return;
    }
    if let Some(Value::Array(types)) = object.get("extension_types")
        && !types
            .iter()
            .any(|t| t.as_str() == Some("toplevel-property-extension"))
    {
        check.fail(
            "extension_properties",
            Rule::Constraint,
            "extension_properties may only be used when extension_types includes toplevel-property-extension",
        );
    }
}

fn check_language_content(check: &mut Checker<'_>, object: &Map<String, Value>) {
    // "It MUST be the identifier for a STIX Object"; a bundle is not one (section 8).
    if let Some(Value::String(target)) = object.get("object_ref")
        && type_of(target) == Some("bundle")
    {
        check.fail(
            "object_ref",
            Rule::RefType,
            "object_ref must refer to a STIX Object, not a bundle",
        );
    }
    let Some(Value::Object(contents)) = object.get("contents") else {
        return;
    };
    for (language, translation) in contents {
        let path = format!("contents.{language}");
        if !is_language_tag(language) {
            check.fail(
                &path,
                Rule::LanguageTag,
                format!("{language:?} is not an RFC 5646 language tag"),
            );
        }
        if !translation.is_object() {
            check.fail(path, Rule::PropertyType, "each language's content must be an object mirroring the target object's properties");
        }
    }
}

fn check_location(check: &mut Checker<'_>, object: &Map<String, Value>) {
    let latitude = object.contains_key("latitude");
    let longitude = object.contains_key("longitude");
    if latitude && !longitude {
        check.fail(
            "longitude",
            Rule::RequiredProperty,
            "longitude must be present when latitude is",
        );
    }
    if longitude && !latitude {
        check.fail(
            "latitude",
            Rule::RequiredProperty,
            "latitude must be present when longitude is",
        );
    }
    // With one coordinate present, the pairing rule above has already said what is missing.
    if object.contains_key("precision") && !latitude && !longitude {
        check.fail(
            "precision",
            Rule::Constraint,
            "precision may only be used with latitude and longitude",
        );
    }
    if !(latitude || longitude || has_any(object, ["region", "country"])) {
        check.fail(
            "",
            Rule::Constraint,
            "a location needs at least one of region, country, or latitude and longitude",
        );
    }
}

fn check_marking_definition(check: &mut Checker<'_>, object: &Map<String, Value>) {
    if !object.contains_key("extensions") {
        for name in ["definition_type", "definition"] {
            if !object.contains_key(name) {
                check.fail(
                    name,
                    Rule::RequiredProperty,
                    format!("{name} is required on a marking-definition without extensions"),
                );
            }
        }
    }

    let id = object.get("id").and_then(Value::as_str);
    let definition_type = object.get("definition_type").and_then(Value::as_str);
    let definition = object.get("definition").and_then(Value::as_object);
    match (definition_type, definition) {
        (Some("statement"), Some(definition)) => match definition.get("statement") {
            Some(Value::String(_)) => {}
            Some(other) => check.fail("definition.statement", Rule::PropertyType, format!("must be a string, found {}", json_type(other))),
            None => check.fail("definition.statement", Rule::RequiredProperty, "a statement marking's definition must hold statement"),
        },
        (Some("tlp"), Some(definition)) => match definition.get("tlp") {
            Some(Value::String(level)) => match TLP_MARKINGS.iter().find(|(l, _)| l == level) {
                Some((_, canonical_id)) if id != Some(*canonical_id) => check.fail(
                    "id",
                    Rule::Marking,
                    format!("only the TLP marking definitions of section 7.2.1.4 may exist: TLP:{} has id {canonical_id}", level.to_ascii_uppercase()),
                ),
                Some(_) => {}
                None => check.fail("definition.tlp", Rule::Enumeration, format!("{level:?} is not one of white, green, amber, red")),
            },
            Some(other) => check.fail("definition.tlp", Rule::PropertyType, format!("must be a string, found {}", json_type(other))),
            None => check.fail("definition.tlp", Rule::RequiredProperty, "a TLP marking's definition must hold tlp"),
        },
        _ => {}
    }
    // The four TLP ids are taken: no other kind of marking may use them.
    let is_tlp_id = id.is_some_and(|id| TLP_MARKINGS.iter().any(|(_, tlp_id)| *tlp_id == id));
    if is_tlp_id && definition_type != Some("tlp") {
        let path = if definition_type.is_some() {
            "definition_type"
        } else {
            "id"
        };
        check.fail(path, Rule::Marking, "this id belongs to a TLP marking definition of section 7.2.1.4, whose definition_type is tlp");
    }

    // A marking definition may be marked, but not by itself (section 3.2).
    let Some(id) = id else { return };
    if let Some(Value::Array(refs)) = object.get("object_marking_refs") {
        for (i, target) in refs.iter().enumerate() {
            if target.as_str() == Some(id) {
                check.fail(
                    format!("object_marking_refs[{i}]"),
                    Rule::Marking,
                    "a marking definition must not mark itself",
                );
            }
        }
    }
    if let Some(Value::Array(markings)) = object.get("granular_markings") {
        for (i, marking) in markings.iter().enumerate() {
            if marking.get("marking_ref").and_then(Value::as_str) == Some(id) {
                check.fail(
                    format!("granular_markings[{i}].marking_ref"),
                    Rule::Marking,
                    "a marking definition must not mark itself",
                );
            }
        }
    }
}

fn check_observed_data(check: &mut Checker<'_>, object: &Map<String, Value>) {
    not_before(check, object, "first_observed", "last_observed");
    match (
        object.contains_key("objects"),
        object.contains_key("object_refs"),
    ) {
        (true, true) => check.fail(
            "",
            Rule::Constraint,
            "observed-data must have objects or object_refs, not both",
        ),
        (false, false) => check.fail(
            "",
            Rule::Constraint,
            "observed-data needs one of object_refs or the deprecated objects",
        ),
        _ => {}
    }
    // "The object_refs MUST contain at least one SCO reference." Custom types may be SCOs.
    if let Some(Value::Array(refs)) = object.get("object_refs")
        && !refs.is_empty()
        && !refs
            .iter()
            .filter_map(|r| r.as_str().and_then(type_of))
            .any(|t| matches!(category_of(t), Category::Sco | Category::Custom))
    {
        check.fail(
            "object_refs",
            Rule::Constraint,
            "object_refs must hold at least one SCO",
        );
    }
}

fn check_artifact(check: &mut Checker<'_>, object: &Map<String, Value>) {
    let url = object.contains_key("url");
    match (object.contains_key("payload_bin"), url) {
        (true, true) => check.fail(
            "",
            Rule::Constraint,
            "an artifact has payload_bin or url, not both",
        ),
        (false, false) => check.fail(
            "",
            Rule::Constraint,
            "an artifact needs one of payload_bin or url",
        ),
        _ => {}
    }
    if url && !object.contains_key("hashes") {
        check.fail(
            "hashes",
            Rule::RequiredProperty,
            "hashes must be present when url is",
        );
    }
    if object.contains_key("decryption_key") && !object.contains_key("encryption_algorithm") {
        check.fail(
            "decryption_key",
            Rule::Constraint,
            "decryption_key must not be present without encryption_algorithm",
        );
    }
}

fn check_email_message(check: &mut Checker<'_>, object: &Map<String, Value>) {
    match object.get("is_multipart") {
        Some(Value::Bool(true)) if object.contains_key("body") => {
            check.fail(
                "body",
                Rule::Constraint,
                "body must not be used when is_multipart is true; use body_multipart",
            );
        }
        Some(Value::Bool(false)) if object.contains_key("body_multipart") => {
            check.fail(
                "body_multipart",
                Rule::Constraint,
                "body_multipart must not be used when is_multipart is false; use body",
            );
        }
        _ => {}
    }
    check_dictionary_values(
        check,
        object,
        "additional_header_fields",
        "",
        is_string_list,
        "a header field's value must be a list of strings",
    );
    if let Some(Value::Array(parts)) = object.get("body_multipart") {
        for (i, part) in parts.iter().enumerate() {
            let Some(part) = part.as_object() else {
                continue;
            };
            match (part.contains_key("body"), part.contains_key("body_raw_ref")) {
                (true, true) => check.fail(
                    format!("body_multipart[{i}]"),
                    Rule::Constraint,
                    "a MIME part has body or body_raw_ref, not both",
                ),
                (false, false) => check.fail(
                    format!("body_multipart[{i}]"),
                    Rule::Constraint,
                    "a MIME part needs one of body or body_raw_ref",
                ),
                _ => {}
            }
        }
    }
}

fn check_network_traffic(check: &mut Checker<'_>, object: &Map<String, Value>) {
    if !has_any(object, ["src_ref", "dst_ref"]) {
        check.fail(
            "",
            Rule::Constraint,
            "network-traffic needs at least one of src_ref or dst_ref",
        );
    }
    not_before(check, object, "start", "end");
    if object.get("is_active") == Some(&Value::Bool(true)) && object.contains_key("end") {
        check.fail(
            "end",
            Rule::Constraint,
            "end must not be present while is_active is true",
        );
    }
    check_dictionary_values(
        check,
        object,
        "ipfix",
        "",
        |v| is_integer(v) || is_string(v),
        "an IPFIX value must be an integer or a string",
    );
}

fn check_software(check: &mut Checker<'_>, object: &Map<String, Value>) {
    if let Some(Value::Array(languages)) = object.get("languages") {
        for (i, language) in languages.iter().enumerate() {
            if let Some(tag) = language.as_str()
                && !is_language_tag(tag)
            {
                check.fail(
                    format!("languages[{i}]"),
                    Rule::LanguageTag,
                    format!("{tag:?} is not an RFC 5646 language tag"),
                );
            }
        }
    }
    if let Some(Value::String(cpe)) = object.get("cpe")
        && !cpe.starts_with("cpe:2.3:")
    {
        check.fail(
            "cpe",
            Rule::PropertyType,
            format!("{cpe:?} is not a CPE 2.3 name (cpe:2.3:...)"),
        );
    }
}

fn check_registry_key(check: &mut Checker<'_>, object: &Map<String, Value>, spec: &TypeSpec) {
    if !has_any(object, spec.properties.iter().map(|p| p.name)) {
        check.fail(
            "",
            Rule::Constraint,
            "a windows-registry-key needs at least one of its own properties",
        );
    }
    if let Some(Value::String(key)) = object.get("key") {
        let hive = key.split('\\').next().unwrap_or("");
        if HIVE_ABBREVIATIONS
            .iter()
            .any(|a| a.eq_ignore_ascii_case(hive))
        {
            check.fail(
                "key",
                Rule::PropertyType,
                format!(
                    "the hive {hive:?} must be written in full (e.g. HKEY_LOCAL_MACHINE, not HKLM)"
                ),
            );
        }
    }
    if let Some(Value::Array(values)) = object.get("values") {
        for (i, value) in values.iter().enumerate() {
            if let Some(value) = value.as_object()
                && !has_any(value, WINDOWS_REGISTRY_VALUE.iter().map(|p| p.name))
            {
                check.fail(
                    format!("values[{i}]"),
                    Rule::Constraint,
                    "a registry value needs at least one of name, data or data_type",
                );
            }
        }
    }
}

/// The value syntax of an address-like SCO. Defanged values (`hxxp://`, `198.51.100[.]1`) are
/// deliberately not valid syntax, so they are not checked.
fn check_address(
    check: &mut Checker<'_>,
    object: &Map<String, Value>,
    valid: fn(&str) -> bool,
    expected: &str,
) {
    if object.get("defanged") == Some(&Value::Bool(true)) {
        return;
    }
    if let Some(Value::String(value)) = object.get("value")
        && !valid(value)
    {
        check.fail(
            "value",
            Rule::PropertyType,
            format!("{value:?} is not {expected}"),
        );
    }
}

/// Section 3.1: "The encoding property MUST NOT be present when the original property is not
/// present."
fn encoding_needs_original(
    check: &mut Checker<'_>,
    object: &Map<String, Value>,
    encoding: &str,
    original: &str,
) {
    if object.contains_key(encoding) && !object.contains_key(original) {
        check.fail(
            encoding,
            Rule::Constraint,
            format!("{encoding} must not be present without {original}"),
        );
    }
}

/// "If both are defined, `later` MUST be greater than or equal to `earlier`."
fn not_before(check: &mut Checker<'_>, object: &Map<String, Value>, earlier: &str, later: &str) {
    if let (Some(a), Some(b)) = (timestamp(object, earlier), timestamp(object, later))
        && b < a
    {
        check.fail(
            later,
            Rule::TimeOrder,
            format!("{later} ({b}) is earlier than {earlier} ({a})"),
        );
    }
}

/// "If both are defined, `later` MUST be later than `earlier`" (strictly).
fn later_than(check: &mut Checker<'_>, object: &Map<String, Value>, earlier: &str, later: &str) {
    if let (Some(a), Some(b)) = (timestamp(object, earlier), timestamp(object, later))
        && b <= a
    {
        check.fail(
            later,
            Rule::TimeOrder,
            format!("{later} ({b}) must be later than {earlier} ({a})"),
        );
    }
}

/// A timestamp property's value; malformed ones are reported by the property table.
fn timestamp(object: &Map<String, Value>, name: &str) -> Option<Timestamp> {
    object
        .get(name)
        .and_then(Value::as_str)
        .and_then(|text| Timestamp::parse(text).ok())
}

pub(super) fn has_any<'a>(
    object: &Map<String, Value>,
    names: impl IntoIterator<Item = &'a str>,
) -> bool {
    names.into_iter().any(|name| object.contains_key(name))
}

/// Process and user-account count an extension (predefined or not) as one of their properties.
fn has_own_property_or_extension(object: &Map<String, Value>, spec: &TypeSpec) -> bool {
    has_any(object, spec.properties.iter().map(|p| p.name))
        || object
            .get("extensions")
            .and_then(Value::as_object)
            .is_some_and(|e| !e.is_empty())
}

/// Checks each value of the dictionary `name` inside `container` (whose path is `parent`,
/// empty for the object itself). Property tables only know that a dictionary is an object with
/// sane keys; several dictionaries fix the type of their values.
pub(super) fn check_dictionary_values(
    check: &mut Checker<'_>,
    container: &Map<String, Value>,
    name: &str,
    parent: &str,
    valid: fn(&Value) -> bool,
    message: &str,
) {
    let Some(Value::Object(dictionary)) = container.get(name) else {
        return;
    };
    for (key, value) in dictionary {
        if !valid(value) {
            let path = if parent.is_empty() {
                format!("{name}.{key}")
            } else {
                format!("{parent}.{name}.{key}")
            };
            check.fail(path, Rule::PropertyType, message);
        }
    }
}

pub(super) fn is_string(value: &Value) -> bool {
    value.is_string()
}

pub(super) fn is_integer(value: &Value) -> bool {
    value.is_i64() || value.is_u64()
}

pub(super) fn is_string_list(value: &Value) -> bool {
    value
        .as_array()
        .is_some_and(|items| !items.is_empty() && items.iter().all(Value::is_string))
}

/// `a.b.c.d` or `a.b.c.d/n` with n in 0..=32.
fn is_ipv4_cidr(value: &str) -> bool {
    let (address, prefix) = split_prefix(value);
    address.parse::<Ipv4Addr>().is_ok()
        && prefix.is_none_or(|p| p.parse::<u8>().is_ok_and(|n| n <= 32) && !p.starts_with('+'))
}

/// An IPv6 address, optionally with a zone (`%eth0`, as the OASIS schema allows) and a prefix
/// length in 0..=128.
fn is_ipv6_cidr(value: &str) -> bool {
    let (address, prefix) = split_prefix(value);
    let address = address
        .split_once('%')
        .map_or(address, |(a, zone)| if zone.is_empty() { "" } else { a });
    address.parse::<Ipv6Addr>().is_ok()
        && prefix.is_none_or(|p| p.parse::<u8>().is_ok_and(|n| n <= 128) && !p.starts_with('+'))
}

fn split_prefix(value: &str) -> (&str, Option<&str>) {
    match value.split_once('/') {
        Some((address, prefix)) => (address, Some(prefix)),
        None => (value, None),
    }
}

/// `00:00:ab:cd:ef:01`: six colon-separated pairs of lowercase hexadecimal digits.
fn is_mac_48(value: &str) -> bool {
    let bytes = value.as_bytes();
    bytes.len() == 17
        && bytes.iter().enumerate().all(|(i, &b)| {
            if i % 3 == 2 {
                b == b':'
            } else {
                b.is_ascii_digit() || (b'a'..=b'f').contains(&b)
            }
        })
}

/// RFC 3986 section 3.1: `scheme ":" ...` with scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ).
fn has_url_scheme(value: &str) -> bool {
    let Some((scheme, rest)) = value.split_once(':') else {
        return false;
    };
    let mut bytes = scheme.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
        && !rest.is_empty()
}
