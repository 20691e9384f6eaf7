//! Validation of the MUSTs of STIX 2.1: the common properties here, the per-type property
//! tables and cross-property rules in [`crate::spec`].
//!
//! Validation never stops at the first problem: an analyst fixing a feed wants every error of
//! an object in one report, each naming the object, the JSON path and the rule.

use std::fmt;

use serde_json::{Map, Value};

use crate::id::{is_valid_type_name, parse_identifier, type_of};
use crate::spec::{self, Category, Kind, Prop};
use crate::timestamp::Timestamp;

/// Deepest nesting of arrays and objects inside one STIX object. Real objects stay under ten;
/// the bound keeps recursive walks (validation, canonical form, ref extraction) cheap and safe.
pub const DEPTH_MAX: usize = 64;

/// The rule of the specification that an object breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rule {
    /// A property the type requires is absent (sections 3, 4-7).
    RequiredProperty,
    /// A property has the wrong JSON type or shape for its STIX data type (section 2).
    PropertyType,
    /// An identifier is malformed (section 2.9).
    IdentifierSyntax,
    /// The type in `id` differs from `type` (section 2.9).
    IdentifierTypeMismatch,
    /// A type name breaks the naming rules (section 3.1).
    TypeName,
    /// A property name breaks the naming rules (section 3.1).
    PropertyName,
    /// A timestamp is malformed, or not precise to the millisecond where required (section 3.2).
    TimestampFormat,
    /// Two timestamps are out of order, e.g. `modified` before `created` (section 3.2).
    TimeOrder,
    /// A value lies outside its allowed range, e.g. `confidence` in 0..=100 (section 3.2).
    Range,
    /// A value is not one of a closed vocabulary or enumeration.
    Enumeration,
    /// A reference points to an object type the property does not allow.
    RefType,
    /// A marking reference or granular marking is malformed (section 7.2).
    Marking,
    /// `lang` is not an RFC 5646 language tag (section 3.2).
    LanguageTag,
    /// An extension is malformed or breaks the extension rules (section 7.3).
    Extension,
    /// `spec_version` is missing or not one Tessera reads.
    SpecVersion,
    /// A combination of properties that the type forbids or requires (e.g. "at least one of").
    Constraint,
    /// The object is nested deeper than [`DEPTH_MAX`].
    Depth,
    /// A property or type that STIX reserves is used.
    Reserved,
}

impl Rule {
    /// A stable, kebab-case name for reports and machine-readable output.
    pub fn name(self) -> &'static str {
        match self {
            Rule::RequiredProperty => "required-property",
            Rule::PropertyType => "property-type",
            Rule::IdentifierSyntax => "identifier-syntax",
            Rule::IdentifierTypeMismatch => "identifier-type-mismatch",
            Rule::TypeName => "type-name",
            Rule::PropertyName => "property-name",
            Rule::TimestampFormat => "timestamp-format",
            Rule::TimeOrder => "time-order",
            Rule::Range => "range",
            Rule::Enumeration => "enumeration",
            Rule::RefType => "ref-type",
            Rule::Marking => "marking",
            Rule::LanguageTag => "language-tag",
            Rule::Extension => "extension",
            Rule::SpecVersion => "spec-version",
            Rule::Constraint => "constraint",
            Rule::Depth => "depth",
            Rule::Reserved => "reserved",
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One broken rule in one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationError {
    /// The object's `id`, when it has a readable one.
    pub object_id: Option<String>,
    /// JSON path inside the object, e.g. `external_references[2].source_name`; empty for the
    /// object as a whole.
    pub path: String,
    pub rule: Rule,
    pub message: String,
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let id = self.object_id.as_deref().unwrap_or("<no id>");
        if self.path.is_empty() {
            write!(f, "{id}: [{}] {}", self.rule, self.message)
        } else {
            write!(f, "{id} at {}: [{}] {}", self.path, self.rule, self.message)
        }
    }
}

/// Collects the errors of one object. Per-type rules in [`crate::spec`] report through it.
pub struct Checker<'a> {
    object_id: Option<&'a str>,
    errors: Vec<ValidationError>,
}

impl<'a> Checker<'a> {
    pub fn new(object_id: Option<&'a str>) -> Checker<'a> {
        Checker {
            object_id,
            errors: Vec::new(),
        }
    }

    /// Records a broken rule at `path`.
    pub fn fail(&mut self, path: impl Into<String>, rule: Rule, message: impl Into<String>) {
        self.errors.push(ValidationError {
            object_id: self.object_id.map(str::to_string),
            path: path.into(),
            rule,
            message: message.into(),
        });
    }

    pub fn into_errors(self) -> Vec<ValidationError> {
        self.errors
    }

    pub fn is_clean(&self) -> bool {
        self.errors.is_empty()
    }

    /// Checks that `name` is present.
    pub fn require(&mut self, object: &Map<String, Value>, name: &str) -> bool {
        if object.contains_key(name) {
            true
        } else {
            self.fail(
                name,
                Rule::RequiredProperty,
                format!("the required property {name:?} is missing"),
            );
            false
        }
    }

    /// Checks each of `props` against its declared kind, and that required ones are present.
    pub fn check_props(&mut self, object: &Map<String, Value>, props: &[Prop]) {
        for prop in props {
            match object.get(prop.name) {
                Some(value) => self.check_kind(prop.name, value, &prop.kind),
                None if prop.required => {
                    self.fail(
                        prop.name,
                        Rule::RequiredProperty,
                        format!("the required property {:?} is missing", prop.name),
                    );
                }
                None => {}
            }
        }
    }

    /// Checks one value against a STIX data type.
    pub fn check_kind(&mut self, path: &str, value: &Value, kind: &Kind) {
        // Nearly every value conforms; the allocation-free check settles those, and only a
        // value that fails is walked again to name each problem and its path.
        if conforms(value, kind) {
            #[cfg(debug_assertions)]
            {
                let before = self.errors.len();
                self.report_kind(path, value, kind);
                assert_eq!(
                    self.errors.len(),
                    before,
                    "conforms() and report_kind() disagree at {path}: {:?}",
                    &self.errors[before..]
                );
            }
            return;
        }
        self.report_kind(path, value, kind);
    }

    fn report_kind(&mut self, path: &str, value: &Value, kind: &Kind) {
        match kind {
            Kind::Any => {}
            Kind::String => {
                if !value.is_string() {
                    self.fail(
                        path,
                        Rule::PropertyType,
                        format!("must be a string, found {}", json_type(value)),
                    );
                }
            }
            Kind::Boolean => {
                if !value.is_boolean() {
                    self.fail(
                        path,
                        Rule::PropertyType,
                        format!("must be a boolean, found {}", json_type(value)),
                    );
                }
            }
            Kind::Integer { min, max } => {
                match value.as_i64() {
                    Some(n) if n.unsigned_abs() > INTEGER_ABS_MAX => {
                        self.fail(
                            path,
                            Rule::Range,
                            format!(
                                "{n} is beyond ±(2^53-1), the integers STIX allows (section 2.6)"
                            ),
                        );
                    }
                    Some(n) => {
                        if min.is_some_and(|m| n < m) || max.is_some_and(|m| n > m) {
                            self.fail(
                                path,
                                Rule::Range,
                                format!("{n} is outside {}", range_text(*min, *max)),
                            );
                        }
                    }
                    None if value.is_u64() => {
                        self.fail(path, Rule::Range, "the integer is beyond ±(2^53-1), the integers STIX allows (section 2.6)");
                    }
                    None => self.fail(
                        path,
                        Rule::PropertyType,
                        format!("must be an integer, found {}", json_type(value)),
                    ),
                }
            }
            Kind::Float { min, max } => match value.as_f64() {
                Some(n) => {
                    if min.is_some_and(|m| n < m) || max.is_some_and(|m| n > m) {
                        self.fail(
                            path,
                            Rule::Range,
                            format!("{n} is outside the allowed range"),
                        );
                    }
                }
                None => self.fail(
                    path,
                    Rule::PropertyType,
                    format!("must be a number, found {}", json_type(value)),
                ),
            },
            Kind::Timestamp => self.check_timestamp(path, value, false),
            Kind::TimestampMillis => self.check_timestamp(path, value, true),
            Kind::Identifier(types) => self.check_identifier(path, value, types),
            Kind::Enum(allowed) => match value.as_str() {
                Some(s) if allowed.contains(&s) => {}
                Some(s) => self.fail(
                    path,
                    Rule::Enumeration,
                    format!("{s:?} is not one of {}", allowed.join(", ")),
                ),
                None => self.fail(
                    path,
                    Rule::PropertyType,
                    format!("must be a string, found {}", json_type(value)),
                ),
            },
            Kind::Hex => match value.as_str() {
                Some(s) if s.len() % 2 == 0 && s.bytes().all(|b| b.is_ascii_hexdigit()) => {}
                _ => self.fail(
                    path,
                    Rule::PropertyType,
                    "must be a string of an even number of hexadecimal digits",
                ),
            },
            Kind::Binary => match value.as_str() {
                Some(s) if is_base64(s) => {}
                _ => self.fail(
                    path,
                    Rule::PropertyType,
                    "must be a base64-encoded string (RFC 4648)",
                ),
            },
            Kind::Hashes => self.check_hashes(path, value),
            Kind::Dictionary => match value.as_object() {
                Some(map) if map.is_empty() => {
                    self.fail(path, Rule::PropertyType, "a dictionary must not be empty")
                }
                Some(map) => {
                    for key in map.keys() {
                        if key.is_empty() || key.len() > 250 || !key.is_ascii() {
                            self.fail(
                                format!("{path}.{key}"),
                                Rule::PropertyName,
                                "dictionary keys must be 1 to 250 ASCII characters",
                            );
                        }
                    }
                }
                None => self.fail(
                    path,
                    Rule::PropertyType,
                    format!("must be an object, found {}", json_type(value)),
                ),
            },
            Kind::Object(props) => match value.as_object() {
                Some(map) => {
                    for prop in props.iter() {
                        let child = format!("{path}.{}", prop.name);
                        match map.get(prop.name) {
                            Some(v) => self.check_kind(&child, v, &prop.kind),
                            None if prop.required => self.fail(
                                child,
                                Rule::RequiredProperty,
                                format!("the required property {:?} is missing", prop.name),
                            ),
                            None => {}
                        }
                    }
                }
                None => self.fail(
                    path,
                    Rule::PropertyType,
                    format!("must be an object, found {}", json_type(value)),
                ),
            },
            Kind::List(item) => match value.as_array() {
                Some(items) if items.is_empty() => {
                    self.fail(path, Rule::PropertyType, "a list must not be empty")
                }
                Some(items) => {
                    for (i, v) in items.iter().enumerate() {
                        self.check_kind(&format!("{path}[{i}]"), v, item);
                    }
                }
                None => self.fail(
                    path,
                    Rule::PropertyType,
                    format!("must be a list, found {}", json_type(value)),
                ),
            },
        }
    }

    fn check_timestamp(&mut self, path: &str, value: &Value, millis: bool) {
        let Some(text) = value.as_str() else {
            self.fail(
                path,
                Rule::PropertyType,
                format!("must be a timestamp string, found {}", json_type(value)),
            );
            return;
        };
        match Timestamp::parse(text) {
            Ok(ts) if millis && !ts.has_millisecond_precision() => {
                self.fail(
                    path,
                    Rule::TimestampFormat,
                    format!("{text:?} must be precise to at least the millisecond"),
                );
            }
            Ok(_) => {}
            Err(e) => self.fail(path, Rule::TimestampFormat, e.to_string()),
        }
    }

    fn check_identifier(&mut self, path: &str, value: &Value, types: &[&str]) {
        let Some(text) = value.as_str() else {
            self.fail(
                path,
                Rule::PropertyType,
                format!("must be an identifier string, found {}", json_type(value)),
            );
            return;
        };
        match parse_identifier(text) {
            Err(e) => self.fail(path, Rule::IdentifierSyntax, e.to_string()),
            Ok((target_type, _)) => {
                if !ref_type_allowed(target_type, types) {
                    self.fail(
                        path,
                        Rule::RefType,
                        format!(
                            "{text:?} must refer to {}, not {target_type}",
                            describe_types(types)
                        ),
                    );
                }
            }
        }
    }

    fn check_hashes(&mut self, path: &str, value: &Value) {
        let Some(map) = value.as_object() else {
            self.fail(
                path,
                Rule::PropertyType,
                format!("hashes must be an object, found {}", json_type(value)),
            );
            return;
        };
        if map.is_empty() {
            self.fail(
                path,
                Rule::PropertyType,
                "hashes must hold at least one hash",
            );
        }
        for (algorithm, hash) in map {
            let child = format!("{path}.{algorithm}");
            if algorithm.len() > 250 || algorithm.is_empty() {
                self.fail(
                    &child,
                    Rule::PropertyName,
                    "hash names must be 1 to 250 characters",
                );
            }
            match hash.as_str() {
                Some(text) => {
                    let hex_len = hash_hex_len(algorithm);
                    if let Some(len) = hex_len
                        && (text.len() != len || !text.bytes().all(|b| b.is_ascii_hexdigit()))
                    {
                        self.fail(
                            &child,
                            Rule::PropertyType,
                            format!("a {algorithm} hash must be {len} hexadecimal digits"),
                        );
                    }
                }
                None => self.fail(&child, Rule::PropertyType, "a hash value must be a string"),
            }
        }
    }
}

/// Largest magnitude of a STIX integer: JSON numbers are only interoperable up to 2^53-1.
pub const INTEGER_ABS_MAX: u64 = (1 << 53) - 1;

/// Property names section 3.8 reserves for future use; no object may carry them.
const RESERVED_PROPERTIES: &[&str] = &["severity", "username", "phone_numbers", "phone_number"];

/// Pseudo-types accepted in [`Kind::Identifier`] lists, standing for a whole category.
pub const ANY_SDO: &str = "<sdo>";
pub const ANY_SCO: &str = "<sco>";

fn ref_type_allowed(target_type: &str, types: &[&str]) -> bool {
    if types.is_empty() || types.contains(&target_type) {
        return true;
    }
    let category = spec::category_of(target_type);
    (types.contains(&ANY_SDO) && matches!(category, Category::Sdo | Category::Custom))
        || (types.contains(&ANY_SCO) && matches!(category, Category::Sco | Category::Custom))
}

fn describe_types(types: &[&str]) -> String {
    types
        .iter()
        .map(|t| match *t {
            ANY_SDO => "an SDO",
            ANY_SCO => "an SCO",
            other => other,
        })
        .collect::<Vec<_>>()
        .join(" or ")
}

fn range_text(min: Option<i64>, max: Option<i64>) -> String {
    match (min, max) {
        (Some(a), Some(b)) => format!("{a}..={b}"),
        (Some(a), None) => format!(">= {a}"),
        (None, Some(b)) => format!("<= {b}"),
        (None, None) => "any".to_string(),
    }
}

pub(crate) fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn is_base64(text: &str) -> bool {
    let bytes = text.as_bytes();
    if !bytes.len().is_multiple_of(4) {
        return false;
    }
    let body_len = bytes.iter().rev().take_while(|&&b| b == b'=').count();
    if body_len > 2 {
        return false;
    }
    bytes[..bytes.len() - body_len]
        .iter()
        .all(|&b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
}

/// RFC 5646 language tag, in the shape the spec requires (a primary subtag of 2-8 letters and
/// optional subtags of 1-8 letters or digits).
pub fn is_language_tag(tag: &str) -> bool {
    let mut parts = tag.split('-');
    let primary = parts.next().unwrap_or("");
    (2..=8).contains(&primary.len())
        && primary.bytes().all(|b| b.is_ascii_alphabetic())
        && parts.all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

fn depth_exceeds(value: &Value, depth: usize) -> bool {
    if depth > DEPTH_MAX {
        return true;
    }
    match value {
        Value::Array(items) => items.iter().any(|v| depth_exceeds(v, depth + 1)),
        Value::Object(map) => map.values().any(|v| depth_exceeds(v, depth + 1)),
        _ => false,
    }
}

/// Whether a top-level property name follows sections 3.1 and 11.1: lower-case ASCII letters,
/// digits and `_`, starting with a letter, 3 to 250 characters. (`id` is exempt: the spec
/// itself defines it.)
pub fn is_valid_property_name(name: &str) -> bool {
    (3..=250).contains(&name.len())
        && name.as_bytes()[0].is_ascii_lowercase()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// Validates one STIX 2.1 object against every rule Tessera knows. An empty result means valid.
pub fn validate(object: &Map<String, Value>) -> Vec<ValidationError> {
    let id = object.get("id").and_then(Value::as_str);
    let mut check = Checker::new(id);

    if object.values().any(|v| depth_exceeds(v, 1)) {
        check.fail(
            "",
            Rule::Depth,
            format!("the object nests deeper than {DEPTH_MAX} levels"),
        );
        return check.into_errors();
    }

    let object_type = match object.get("type") {
        Some(Value::String(t)) => t.as_str(),
        Some(other) => {
            check.fail(
                "type",
                Rule::PropertyType,
                format!("must be a string, found {}", json_type(other)),
            );
            return check.into_errors();
        }
        None => {
            check.fail(
                "type",
                Rule::RequiredProperty,
                "the required property \"type\" is missing",
            );
            return check.into_errors();
        }
    };
    if !is_valid_type_name(object_type) {
        check.fail("type", Rule::TypeName, format!("{object_type:?} must be 3-250 characters of a-z, 0-9 and single hyphens, starting with a letter"));
    }
    if object_type == "bundle" {
        check.fail(
            "type",
            Rule::Reserved,
            "a bundle is not a STIX object and cannot be stored as one",
        );
        return check.into_errors();
    }

    match object.get("id") {
        Some(Value::String(text)) => match parse_identifier(text) {
            Ok((id_type, _)) if id_type != object_type => check.fail(
                "id",
                Rule::IdentifierTypeMismatch,
                format!("the id's type {id_type:?} differs from the object's type {object_type:?}"),
            ),
            Ok(_) => {}
            Err(e) => check.fail("id", Rule::IdentifierSyntax, e.to_string()),
        },
        Some(other) => check.fail(
            "id",
            Rule::PropertyType,
            format!("must be a string, found {}", json_type(other)),
        ),
        None => check.fail(
            "id",
            Rule::RequiredProperty,
            "the required property \"id\" is missing",
        ),
    }

    let category = spec::category_of(object_type);
    let type_spec = spec::type_spec(object_type);
    let custom = type_spec.is_none();

    // spec_version: required on SDOs, SROs and meta objects; optional on SCOs.
    match object.get("spec_version") {
        Some(Value::String(v)) if v == "2.1" => {}
        Some(Value::String(v)) => check.fail(
            "spec_version",
            Rule::SpecVersion,
            format!("{v:?} is not \"2.1\"; STIX 2.0 content must be upgraded before validation"),
        ),
        Some(other) => check.fail(
            "spec_version",
            Rule::PropertyType,
            format!("must be a string, found {}", json_type(other)),
        ),
        // A custom type without `created` is read as a custom observable, for which
        // spec_version is optional as for any SCO.
        None if category != Category::Sco && (!custom || object.contains_key("created")) => check
            .fail(
                "spec_version",
                Rule::RequiredProperty,
                "the required property \"spec_version\" is missing",
            ),
        None => {}
    }

    check_common(&mut check, object, category, custom);
    if let Some(ts) = type_spec {
        check.check_props(object, ts.properties);
        spec::check_type_rules(&mut check, object_type, object);
    }
    check.into_errors()
}

fn check_common(
    check: &mut Checker<'_>,
    object: &Map<String, Value>,
    category: Category,
    custom: bool,
) {
    for name in object.keys() {
        if name != "id" && !is_valid_property_name(name) {
            check.fail(
                name.as_str(),
                Rule::PropertyName,
                format!(
                    "{name:?} must be 3-250 characters of a-z, 0-9 and '_', starting with a letter"
                ),
            );
        }
        if RESERVED_PROPERTIES.contains(&name.as_str()) {
            check.fail(
                name.as_str(),
                Rule::Reserved,
                format!("{name:?} is reserved by STIX 2.1 (section 3.8) and must not be used"),
            );
        }
    }

    // An unknown (custom) type is held to the SDO rules when it carries SDO timestamps, and to
    // the SCO rules otherwise; that is how STIX 2.1 tells custom objects apart.
    let sdo_like = match category {
        Category::Sdo | Category::Sro | Category::Meta => true,
        Category::Sco => false,
        Category::Custom => object.contains_key("created") || object.contains_key("modified"),
    };
    let _ = custom;

    if sdo_like {
        let has_created = object.contains_key("created");
        if category != Category::Meta
            || object.get("type").and_then(Value::as_str) != Some("marking-definition")
        {
            check.require(object, "modified");
        }
        if has_created || check.require(object, "created") {
            check.check_kind("created", &object["created"], &Kind::TimestampMillis);
        }
        if let Some(v) = object.get("modified") {
            check.check_kind("modified", v, &Kind::TimestampMillis);
        }
        let created = object
            .get("created")
            .and_then(Value::as_str)
            .and_then(|t| Timestamp::parse(t).ok());
        let modified = object
            .get("modified")
            .and_then(Value::as_str)
            .and_then(|t| Timestamp::parse(t).ok());
        if let (Some(c), Some(m)) = (created, modified)
            && m < c
        {
            check.fail(
                "modified",
                Rule::TimeOrder,
                format!("modified ({m}) is earlier than created ({c})"),
            );
        }
        for (name, kind) in [
            ("created_by_ref", Kind::Identifier(&["identity"])),
            ("revoked", Kind::Boolean),
            ("labels", Kind::List(&Kind::String)),
            (
                "confidence",
                Kind::Integer {
                    min: Some(0),
                    max: Some(100),
                },
            ),
        ] {
            if let Some(v) = object.get(name) {
                check.check_kind(name, v, &kind);
            }
        }
    } else if let Some(v) = object.get("defanged") {
        check.check_kind("defanged", v, &Kind::Boolean);
    }
    if sdo_like && object.contains_key("defanged") {
        check.fail(
            "defanged",
            Rule::Constraint,
            "defanged applies only to cyber-observables (section 3.2)",
        );
    }

    if let Some(v) = object.get("lang") {
        match v.as_str() {
            Some(tag) if is_language_tag(tag) => {}
            Some(tag) => check.fail(
                "lang",
                Rule::LanguageTag,
                format!("{tag:?} is not an RFC 5646 language tag"),
            ),
            None => check.fail(
                "lang",
                Rule::PropertyType,
                format!("must be a string, found {}", json_type(v)),
            ),
        }
    }
    if let Some(v) = object.get("external_references") {
        check_external_references(check, v);
    }
    if let Some(v) = object.get("object_marking_refs") {
        check.check_kind(
            "object_marking_refs",
            v,
            &Kind::List(&Kind::Identifier(&["marking-definition"])),
        );
    }
    if let Some(v) = object.get("granular_markings") {
        check_granular_markings(check, object, v);
    }
    if let Some(v) = object.get("extensions") {
        check_extensions(check, v);
    }
}

fn check_external_references(check: &mut Checker<'_>, value: &Value) {
    let Some(items) = value.as_array() else {
        check.fail(
            "external_references",
            Rule::PropertyType,
            format!("must be a list, found {}", json_type(value)),
        );
        return;
    };
    if items.is_empty() {
        check.fail(
            "external_references",
            Rule::PropertyType,
            "a list must not be empty",
        );
    }
    for (i, item) in items.iter().enumerate() {
        let path = format!("external_references[{i}]");
        let Some(reference) = item.as_object() else {
            check.fail(
                path,
                Rule::PropertyType,
                format!("must be an object, found {}", json_type(item)),
            );
            continue;
        };
        check.check_kind(&path, item, &Kind::Object(spec::EXTERNAL_REFERENCE));
        let source = reference
            .get("source_name")
            .and_then(Value::as_str)
            .unwrap_or("");
        let external_id = reference.get("external_id").and_then(Value::as_str);
        if !["description", "url", "external_id"]
            .iter()
            .any(|k| reference.contains_key(*k))
        {
            check.fail(&path, Rule::Constraint, "an external reference needs at least one of description, url or external_id besides source_name");
        }
        if source == "cve" && !external_id.is_some_and(is_cve_id) {
            check.fail(
                format!("{path}.external_id"),
                Rule::Constraint,
                "a reference to source \"cve\" needs an external_id of the form CVE-YYYY-NNNN",
            );
        }
        if source == "capec"
            && !external_id.is_some_and(|e| {
                e.strip_prefix("CAPEC-")
                    .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            })
        {
            check.fail(
                format!("{path}.external_id"),
                Rule::Constraint,
                "a reference to source \"capec\" needs an external_id of the form CAPEC-N",
            );
        }
    }
}

fn is_cve_id(text: &str) -> bool {
    let Some(rest) = text.strip_prefix("CVE-") else {
        return false;
    };
    let Some((year, number)) = rest.split_once('-') else {
        return false;
    };
    year.len() == 4
        && year.bytes().all(|b| b.is_ascii_digit())
        && number.len() >= 4
        && number.bytes().all(|b| b.is_ascii_digit())
}

fn check_granular_markings(check: &mut Checker<'_>, object: &Map<String, Value>, value: &Value) {
    let Some(items) = value.as_array().filter(|a| !a.is_empty()) else {
        check.fail(
            "granular_markings",
            Rule::PropertyType,
            "must be a non-empty list of granular markings",
        );
        return;
    };
    for (i, item) in items.iter().enumerate() {
        let path = format!("granular_markings[{i}]");
        let Some(marking) = item.as_object() else {
            check.fail(
                path,
                Rule::PropertyType,
                "a granular marking must be an object",
            );
            continue;
        };
        match (marking.get("marking_ref"), marking.get("lang")) {
            (Some(r), None) => check.check_kind(
                &format!("{path}.marking_ref"),
                r,
                &Kind::Identifier(&["marking-definition"]),
            ),
            (None, Some(Value::String(tag))) if is_language_tag(tag) => {}
            (None, Some(_)) => check.fail(
                format!("{path}.lang"),
                Rule::LanguageTag,
                "must be an RFC 5646 language tag",
            ),
            (Some(_), Some(_)) => check.fail(
                &path,
                Rule::Marking,
                "a granular marking has either marking_ref or lang, not both",
            ),
            (None, None) => check.fail(
                &path,
                Rule::Marking,
                "a granular marking needs marking_ref or lang",
            ),
        }
        match marking.get("selectors").and_then(Value::as_array) {
            Some(selectors) if !selectors.is_empty() => {
                for (j, selector) in selectors.iter().enumerate() {
                    let selector_path = format!("{path}.selectors[{j}]");
                    match selector.as_str() {
                        Some(s) if selector_resolves(object, s) => {}
                        Some(s) => check.fail(
                            selector_path,
                            Rule::Marking,
                            format!(
                                "the selector {s:?} does not select any property of this object"
                            ),
                        ),
                        None => check.fail(
                            selector_path,
                            Rule::PropertyType,
                            "a selector must be a string",
                        ),
                    }
                }
            }
            _ => check.fail(
                format!("{path}.selectors"),
                Rule::Marking,
                "selectors must be a non-empty list",
            ),
        }
    }
}

/// Whether a granular-marking selector (`description`, `external_references.[0].url`) names a
/// property that exists in the object, as section 7.2.3.1 requires.
fn selector_resolves(object: &Map<String, Value>, selector: &str) -> bool {
    let mut parts = selector.split('.');
    let Some(first) = parts.next() else {
        return false;
    };
    let Some(mut current) = object.get(first) else {
        return false;
    };
    for part in parts {
        let next = if let Some(index) = part.strip_prefix('[').and_then(|p| p.strip_suffix(']')) {
            index
                .parse::<usize>()
                .ok()
                .and_then(|i| current.as_array().and_then(|a| a.get(i)))
        } else {
            current.as_object().and_then(|m| m.get(part))
        };
        match next {
            Some(v) => current = v,
            None => return false,
        }
    }
    true
}

fn check_extensions(check: &mut Checker<'_>, value: &Value) {
    let Some(map) = value.as_object() else {
        check.fail(
            "extensions",
            Rule::PropertyType,
            format!("must be an object, found {}", json_type(value)),
        );
        return;
    };
    if map.is_empty() {
        check.fail(
            "extensions",
            Rule::Extension,
            "extensions must not be empty",
        );
    }
    for (key, extension) in map {
        let path = format!("extensions.{key}");
        let Some(body) = extension.as_object() else {
            check.fail(path, Rule::Extension, "an extension must be an object");
            continue;
        };
        if key.starts_with("extension-definition--") {
            if let Err(e) = parse_identifier(key) {
                check.fail(
                    &path,
                    Rule::Extension,
                    format!("the key is not a valid extension-definition id: {e}"),
                );
            }
            match body.get("extension_type") {
                Some(t) => check.check_kind(
                    &format!("{path}.extension_type"),
                    t,
                    &Kind::Enum(spec::EXTENSION_TYPES),
                ),
                None => check.fail(
                    format!("{path}.extension_type"),
                    Rule::Extension,
                    "an extension-definition extension must say its extension_type (section 3.2)",
                ),
            }
        } else if key.ends_with("-ext") && is_valid_type_name(key) {
            if body.is_empty() {
                check.fail(
                    &path,
                    Rule::Extension,
                    "an extension must hold at least one property",
                );
            }
            spec::check_predefined_extension(check, key, body, &path);
        } else {
            check.fail(
                path,
                Rule::Extension,
                "an extension key must be an extension-definition id or a name ending in -ext",
            );
        }
    }
}

/// Every `*_ref` and `*_refs` value in an object, with its JSON path, at any depth. These are
/// the edges of the knowledge graph. `id` itself is not a reference.
pub fn references(object: &Map<String, Value>) -> Vec<(String, String)> {
    let mut out = Vec::new();
    visit_references(object, |path, target| {
        out.push((path.to_string(), target.to_string()))
    });
    out
}

/// Calls `visit` with (JSON path, referenced id) for each reference [`references`] lists, in
/// the same order, without building the list.
pub fn visit_references(object: &Map<String, Value>, mut visit: impl FnMut(&str, &str)) {
    let mut path = String::with_capacity(64);
    for (key, value) in object {
        path.clear();
        path.push_str(key);
        collect_refs(&mut path, key, value, &mut visit, 0);
    }
}

/// Walks with one path buffer, pushing and truncating segments, so that the (many) values
/// that are not references cost no allocation.
fn collect_refs(
    path: &mut String,
    key: &str,
    value: &Value,
    visit: &mut impl FnMut(&str, &str),
    depth: usize,
) {
    use std::fmt::Write;
    if depth > DEPTH_MAX {
        return;
    }
    let is_ref = key.ends_with("_ref");
    let is_refs = key.ends_with("_refs");
    match value {
        Value::String(s) if is_ref && type_of(s).is_some() => visit(path, s),
        Value::Array(items) if is_refs => {
            for item in items {
                if let Some(s) = item.as_str().filter(|s| type_of(s).is_some()) {
                    visit(path, s);
                }
            }
        }
        Value::Array(items) => {
            let len = path.len();
            for (i, item) in items.iter().enumerate() {
                if matches!(item, Value::Array(_) | Value::Object(_)) {
                    let _ = write!(path, "[{i}]");
                    collect_refs(path, key, item, visit, depth + 1);
                    path.truncate(len);
                }
            }
        }
        Value::Object(map) => {
            let len = path.len();
            for (k, v) in map {
                let nested = matches!(v, Value::Array(_) | Value::Object(_));
                if nested || k.ends_with("_ref") || k.ends_with("_refs") {
                    path.push('.');
                    path.push_str(k);
                    collect_refs(path, k, v, visit, depth + 1);
                    path.truncate(len);
                }
            }
        }
        _ => {}
    }
}

/// Whether a value conforms to a kind; the allocation-free twin of `Checker::report_kind`,
/// which it must agree with (debug builds assert that it does).
fn conforms(value: &Value, kind: &Kind) -> bool {
    match kind {
        Kind::Any => true,
        Kind::String => value.is_string(),
        Kind::Boolean => value.is_boolean(),
        Kind::Integer { min, max } => match value.as_i64() {
            Some(n) => {
                n.unsigned_abs() <= INTEGER_ABS_MAX
                    && !min.is_some_and(|m| n < m)
                    && !max.is_some_and(|m| n > m)
            }
            None => false,
        },
        Kind::Float { min, max } => match value.as_f64() {
            Some(n) => !min.is_some_and(|m| n < m) && !max.is_some_and(|m| n > m),
            None => false,
        },
        Kind::Timestamp => value.as_str().is_some_and(|t| Timestamp::parse(t).is_ok()),
        Kind::TimestampMillis => value
            .as_str()
            .is_some_and(|t| Timestamp::parse(t).is_ok_and(|ts| ts.has_millisecond_precision())),
        Kind::Identifier(types) => value.as_str().is_some_and(|t| {
            parse_identifier(t).is_ok_and(|(target, _)| ref_type_allowed(target, types))
        }),
        Kind::Enum(allowed) => value.as_str().is_some_and(|s| allowed.contains(&s)),
        Kind::Hex => value
            .as_str()
            .is_some_and(|s| s.len() % 2 == 0 && s.bytes().all(|b| b.is_ascii_hexdigit())),
        Kind::Binary => value.as_str().is_some_and(is_base64),
        Kind::Hashes => value.as_object().is_some_and(|map| {
            !map.is_empty()
                && map.iter().all(|(algorithm, hash)| {
                    !algorithm.is_empty()
                        && algorithm.len() <= 250
                        && hash
                            .as_str()
                            .is_some_and(|text| match hash_hex_len(algorithm) {
                                Some(len) => {
                                    text.len() == len && text.bytes().all(|b| b.is_ascii_hexdigit())
                                }
                                None => true,
                            })
                })
        }),
        Kind::Dictionary => value.as_object().is_some_and(|map| {
            !map.is_empty()
                && map
                    .keys()
                    .all(|k| !k.is_empty() && k.len() <= 250 && k.is_ascii())
        }),
        Kind::Object(props) => value.as_object().is_some_and(|map| {
            props.iter().all(|prop| match map.get(prop.name) {
                Some(v) => conforms(v, &prop.kind),
                None => !prop.required,
            })
        }),
        Kind::List(item) => value
            .as_array()
            .is_some_and(|items| !items.is_empty() && items.iter().all(|v| conforms(v, item))),
    }
}

fn hash_hex_len(algorithm: &str) -> Option<usize> {
    match algorithm {
        "MD5" => Some(32),
        "SHA-1" => Some(40),
        "SHA-256" | "SHA3-256" => Some(64),
        "SHA-512" | "SHA3-512" => Some(128),
        _ => None,
    }
}
