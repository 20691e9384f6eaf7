//! Holds the property tables of `stix::spec` against the OASIS STIX 2.1 JSON schemas, so that
//! the tables cannot drift from them: every property a schema declares is in our table, every
//! property it requires is required by us, the STIX data types agree, and closed enumerations
//! hold the same values.
//!
//! The schemas are informative and have known errata (section 1.2.12 makes the specification
//! normative); each place where we follow the specification instead is listed below with the
//! reason, so a reviewer sees every deviation in one place.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;
use stix::spec::{self, Category, Kind, Prop};
use stix::validate::{ANY_SCO, ANY_SDO};

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/stix")
}

fn read_json(path: &Path) -> Value {
    let text =
        fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// The common properties, which `validate` checks and our tables leave out.
const COMMON: &[&str] = &[
    "type",
    "spec_version",
    "id",
    "created",
    "modified",
    "created_by_ref",
    "revoked",
    "labels",
    "confidence",
    "lang",
    "external_references",
    "object_marking_refs",
    "granular_markings",
    "extensions",
    "defanged",
];

/// Property names that schemas mention but STIX 2.1 does not define: leftovers of STIX 2.0.
const SCHEMA_ERRATA_NAMES: &[(&str, &str, &str)] = &[
    (
        "process",
        "name",
        "STIX 2.0 property; 2.1 moved it to image_ref.name",
    ),
    ("process", "created", "STIX 2.0 name of created_time"),
    (
        "process",
        "arguments",
        "STIX 2.0 property; 2.1 folded it into command_line",
    ),
    (
        "windows-registry-key",
        "modified",
        "STIX 2.0 name of modified_time",
    ),
    (
        "raster-image-ext",
        "image_compression_algorithm",
        "STIX 2.0 property that 2.1 dropped",
    ),
];

/// Properties we require although the schema does not (the specification does).
const REQUIRED_BEYOND_SCHEMA: &[(&str, &str, &str)] = &[(
    "extension-definition",
    "created_by_ref",
    "section 7.3.1 lists it among the required common properties",
)];

/// Data types where the schema disagrees with the specification's property table.
const KIND_ERRATA: &[(&str, &str, &str)] = &[(
    "unix-account-ext",
    "gid",
    "the schema says number; section 6.16.2 says integer",
)];

/// What the schemas declare for one type or extension.
#[derive(Default, Debug)]
struct Declared {
    properties: BTreeMap<String, Value>,
    /// Required whatever the other properties are.
    required: BTreeSet<String>,
    /// Required in some branch of a oneOf/anyOf ("at least one of", "exactly one of").
    conditional: BTreeSet<String>,
}

/// Collects properties and `required` lists, following allOf (unconditional) and oneOf/anyOf
/// (conditional), but not `$ref`s to the common schemas, `not`, `if`/`then` or definitions.
fn collect(node: &Value, unconditional: bool, out: &mut Declared) {
    if let Some(Value::Object(properties)) = node.get("properties") {
        for (name, schema) in properties {
            out.properties
                .entry(name.clone())
                .or_insert_with(|| schema.clone());
        }
    }
    if let Some(Value::Array(required)) = node.get("required") {
        for name in required.iter().filter_map(Value::as_str) {
            if unconditional {
                out.required.insert(name.to_string());
            } else {
                out.conditional.insert(name.to_string());
            }
        }
    }
    if let Some(Value::Array(parts)) = node.get("allOf") {
        for part in parts {
            collect(part, unconditional, out);
        }
    }
    // A name that every branch of a oneOf/anyOf requires is required whatever the branch.
    for key in ["oneOf", "anyOf"] {
        let Some(Value::Array(parts)) = node.get(key) else {
            continue;
        };
        let branches: Vec<Declared> = parts
            .iter()
            .map(|part| {
                let mut branch = Declared::default();
                collect(part, true, &mut branch);
                branch
            })
            .collect();
        let in_every_branch: BTreeSet<String> = branches
            .iter()
            .map(|b| b.required.clone())
            .reduce(|a, b| a.intersection(&b).cloned().collect())
            .unwrap_or_default();
        for branch in branches {
            for (name, schema) in branch.properties {
                out.properties.entry(name).or_insert(schema);
            }
            for name in branch.required.into_iter().chain(branch.conditional) {
                if unconditional && in_every_branch.contains(&name) {
                    out.required.insert(name);
                } else {
                    out.conditional.insert(name);
                }
            }
        }
    }
}

fn is_common(name: &str) -> bool {
    COMMON.contains(&name)
}

fn listed(list: &[(&str, &str, &str)], owner: &str, name: &str) -> bool {
    list.iter().any(|(o, n, _)| *o == owner && *n == name)
}

/// The coarse shape of a STIX data type, comparable between a schema and a `Kind`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Shape {
    String,
    Identifier,
    Boolean,
    Integer,
    Number,
    Timestamp,
    Hex,
    Binary,
    Hashes,
    Dictionary,
    Object,
    Enum(BTreeSet<String>),
    List(Box<Shape>),
    Unknown,
}

fn shape_of_kind(kind: &Kind) -> Shape {
    match kind {
        Kind::Any => Shape::Unknown,
        Kind::String => Shape::String,
        Kind::Boolean => Shape::Boolean,
        Kind::Integer { .. } => Shape::Integer,
        Kind::Float { .. } => Shape::Number,
        Kind::Timestamp | Kind::TimestampMillis => Shape::Timestamp,
        Kind::Identifier(_) => Shape::Identifier,
        Kind::Enum(values) => Shape::Enum(values.iter().map(|v| v.to_string()).collect()),
        Kind::Hex => Shape::Hex,
        Kind::Binary => Shape::Binary,
        Kind::Hashes => Shape::Hashes,
        Kind::Dictionary => Shape::Dictionary,
        Kind::Object(_) => Shape::Object,
        Kind::List(inner) => Shape::List(Box::new(shape_of_kind(inner))),
    }
}

fn shape_of_ref(reference: &str, document: &Value) -> Shape {
    if let Some(definition) = reference.strip_prefix("#/definitions/") {
        return shape_of_schema(&document["definitions"][definition], document);
    }
    match reference.rsplit('/').next().unwrap_or("") {
        "timestamp.json" => Shape::Timestamp,
        "identifier.json" => Shape::Identifier,
        "hex.json" => Shape::Hex,
        "binary.json" => Shape::Binary,
        "hashes-type.json" => Shape::Hashes,
        "dictionary.json" => Shape::Dictionary,
        "url-regex.json" => Shape::String,
        "kill-chain-phase.json" | "external-reference.json" => Shape::Object,
        _ => Shape::Unknown,
    }
}

/// What a property's schema says its data type is.
fn shape_of_schema(schema: &Value, document: &Value) -> Shape {
    // `"enum": [true]` pins a boolean in one branch of a oneOf; only string enums are STIX enums.
    if let Some(Value::Array(values)) = schema.get("enum")
        && values.iter().all(Value::is_string)
    {
        return Shape::Enum(
            values
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
        );
    }
    if let Some(Value::String(reference)) = schema.get("$ref") {
        return shape_of_ref(reference, document);
    }
    if let Some(Value::Array(parts)) = schema.get("allOf") {
        // The first part that says something decides (e.g. timestamp + a millisecond pattern).
        if let Some(shape) = parts
            .iter()
            .map(|p| shape_of_schema(p, document))
            .find(|s| *s != Shape::Unknown)
        {
            return shape;
        }
    }
    match schema.get("type").and_then(Value::as_str) {
        Some("string") => Shape::String,
        Some("boolean") => Shape::Boolean,
        Some("integer") => Shape::Integer,
        Some("number") => Shape::Number,
        Some("object") => Shape::Object,
        Some("array") => Shape::List(Box::new(
            schema
                .get("items")
                .map_or(Shape::Unknown, |items| shape_of_schema(items, document)),
        )),
        _ => Shape::Unknown,
    }
}

/// Whether our shape is what the schema's shape allows. Schemas write SCO references as plain
/// strings and dictionaries as objects, so those pairs agree.
fn agrees(ours: &Shape, schema: &Shape) -> bool {
    match (ours, schema) {
        (_, Shape::Unknown) => true,
        (Shape::Identifier, Shape::String) => true,
        (Shape::Dictionary, Shape::Object) | (Shape::Object, Shape::Dictionary) => true,
        (Shape::List(a), Shape::List(b)) => agrees(a, b),
        (a, b) => a == b,
    }
}

/// Compares one of our tables with what a schema declares; returns the disagreements.
fn compare(owner: &str, ours: &[Prop], declared: &Declared, document: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let our_names: BTreeSet<&str> = ours.iter().map(|p| p.name).collect();
    for name in declared.properties.keys().filter(|n| !is_common(n)) {
        if !our_names.contains(name.as_str()) && !listed(SCHEMA_ERRATA_NAMES, owner, name) {
            problems.push(format!(
                "{owner}: the schema declares {name:?}, our table lacks it"
            ));
        }
    }
    for name in declared.required.iter().filter(|n| !is_common(n)) {
        if !ours.iter().any(|p| p.name == name && p.required) {
            problems.push(format!(
                "{owner}: the schema requires {name:?}, our table does not"
            ));
        }
    }
    for name in declared.conditional.iter().filter(|n| !is_common(n)) {
        if !our_names.contains(name.as_str()) && !listed(SCHEMA_ERRATA_NAMES, owner, name) {
            problems.push(format!(
                "{owner}: the schema's oneOf/anyOf names {name:?}, our table lacks it"
            ));
        }
    }
    for prop in ours {
        if prop.required
            && !declared.required.contains(prop.name)
            && !listed(REQUIRED_BEYOND_SCHEMA, owner, prop.name)
        {
            problems.push(format!(
                "{owner}: we require {:?}, the schema does not",
                prop.name
            ));
        }
        match declared.properties.get(prop.name) {
            None if !is_common(prop.name) => problems.push(format!(
                "{owner}: {:?} is in our table but not in the schema",
                prop.name
            )),
            None => {}
            Some(schema) => {
                let (our_shape, schema_shape) =
                    (shape_of_kind(&prop.kind), shape_of_schema(schema, document));
                if !agrees(&our_shape, &schema_shape) && !listed(KIND_ERRATA, owner, prop.name) {
                    problems.push(format!(
                        "{owner}.{}: our type is {our_shape:?}, the schema's is {schema_shape:?}",
                        prop.name
                    ));
                }
            }
        }
    }
    problems
}

fn schema_files(directory: &str) -> Vec<PathBuf> {
    let dir = data_dir().join("oasis-schemas").join(directory);
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|entry| {
            entry
                .expect("a directory entry of the schema folder")
                .path()
        })
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

/// The type a schema describes, from its `type` property's single enum value.
fn schema_type_name(document: &Value) -> Option<String> {
    let mut declared = Declared::default();
    collect(document, true, &mut declared);
    declared
        .properties
        .get("type")?
        .get("enum")?
        .get(0)?
        .as_str()
        .map(str::to_string)
}

#[test]
fn every_type_agrees_with_its_oasis_schema() {
    let mut problems = Vec::new();
    let mut seen = BTreeSet::new();
    let meta_schemas = [
        "language-content.json",
        "marking-definition.json",
        "extension-definition.json",
    ];
    let mut files: Vec<(PathBuf, Category)> = Vec::new();
    for (directory, category) in [
        ("sdos", Category::Sdo),
        ("sros", Category::Sro),
        ("observables", Category::Sco),
    ] {
        files.extend(schema_files(directory).into_iter().map(|f| (f, category)));
    }
    files.extend(meta_schemas.iter().map(|f| {
        (
            data_dir().join("oasis-schemas/common").join(f),
            Category::Meta,
        )
    }));

    for (file, category) in files {
        let document = read_json(&file);
        let name = schema_type_name(&document)
            .unwrap_or_else(|| panic!("{} names no type", file.display()));
        let Some(type_spec) = spec::type_spec(&name) else {
            problems.push(format!("{name}: in the schemas, not in TYPES"));
            continue;
        };
        if type_spec.category != category {
            problems.push(format!(
                "{name}: category {:?}, the schema folder says {category:?}",
                type_spec.category
            ));
        }
        let mut declared = Declared::default();
        collect(&document, true, &mut declared);
        problems.extend(compare(&name, type_spec.properties, &declared, &document));
        seen.insert(name);
    }

    for type_spec in spec::TYPES {
        if !seen.contains(type_spec.name) {
            problems.push(format!(
                "{}: in TYPES, but no schema describes it",
                type_spec.name
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "the tables drifted from the OASIS schemas:\n{}",
        problems.join("\n")
    );
}

#[test]
fn every_predefined_extension_agrees_with_its_oasis_schema() {
    let mut problems = Vec::new();
    let mut seen = BTreeSet::new();
    for file in schema_files("observables") {
        let document = read_json(&file);
        let owner = schema_type_name(&document).expect("an observable schema names its type");
        let Some(Value::Object(definitions)) = document.get("definitions") else {
            continue;
        };
        for dictionary in definitions.values() {
            let Some(Value::Object(patterns)) = dictionary.get("patternProperties") else {
                continue;
            };
            for (pattern, schema) in patterns {
                let Some(name) = pattern
                    .strip_prefix('^')
                    .and_then(|p| p.strip_suffix('$'))
                    .filter(|n| n.ends_with("-ext"))
                else {
                    continue;
                };
                let Some(extension) = spec::predefined_extension(name) else {
                    problems.push(format!(
                        "{name}: in the {owner} schema, not in PREDEFINED_EXTENSIONS"
                    ));
                    continue;
                };
                if !extension.applies_to.contains(&owner.as_str()) {
                    problems.push(format!("{name}: the schema puts it on {owner}, we do not"));
                }
                let mut declared = Declared::default();
                collect(schema, true, &mut declared);
                problems.extend(compare(name, extension.properties, &declared, &document));
                seen.insert(name.to_string());
            }
        }
    }
    for extension in spec::PREDEFINED_EXTENSIONS {
        if !seen.contains(extension.name) {
            problems.push(format!(
                "{}: in PREDEFINED_EXTENSIONS, but no schema describes it",
                extension.name
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "the extension tables drifted from the OASIS schemas:\n{}",
        problems.join("\n")
    );
}

#[test]
fn types_are_sorted_unique_and_found() {
    for pair in spec::TYPES.windows(2) {
        assert!(
            pair[0].name < pair[1].name,
            "TYPES must stay sorted for binary search: {} before {}",
            pair[0].name,
            pair[1].name
        );
    }
    for type_spec in spec::TYPES {
        let found = spec::type_spec(type_spec.name).map(|t| t.name);
        assert_eq!(found, Some(type_spec.name));
        assert_eq!(spec::category_of(type_spec.name), type_spec.category);
    }
    for pair in spec::PREDEFINED_EXTENSIONS.windows(2) {
        assert!(
            pair[0].name < pair[1].name,
            "PREDEFINED_EXTENSIONS must stay sorted: {} before {}",
            pair[0].name,
            pair[1].name
        );
    }
    for extension in spec::PREDEFINED_EXTENSIONS {
        assert_eq!(
            spec::predefined_extension(extension.name).map(|e| e.name),
            Some(extension.name)
        );
    }
    for custom in [
        "bundle",
        "x-mitre-tactic",
        "",
        "zzz",
        "aaa",
        "malware-",
        "indicator2",
    ] {
        assert!(
            spec::type_spec(custom).is_none(),
            "{custom:?} is not a STIX 2.1 type"
        );
        assert_eq!(spec::category_of(custom), Category::Custom);
    }
    assert!(spec::predefined_extension("x-example-com-foo-ext").is_none());
}

#[test]
fn every_type_of_stix_21_is_listed_once_in_its_category() {
    let count = |category: Category| {
        spec::TYPES
            .iter()
            .filter(|t| t.category == category)
            .count()
    };
    assert_eq!(count(Category::Sdo), 19, "section 4 defines 19 SDOs");
    assert_eq!(count(Category::Sro), 2, "section 5 defines 2 SROs");
    assert_eq!(count(Category::Sco), 18, "section 6 defines 18 SCOs");
    assert_eq!(count(Category::Meta), 3, "section 7 defines 3 meta objects");
    assert_eq!(count(Category::Custom), 0);
    assert_eq!(
        spec::PREDEFINED_EXTENSIONS.len(),
        12,
        "sections 6.7 to 6.16 define 12 predefined extensions"
    );
}

/// Every type named in an identifier property exists, so a typo cannot silently reject every
/// reference.
#[test]
fn identifier_properties_name_real_types() {
    fn visit(owner: &str, path: &str, kind: &Kind, problems: &mut Vec<String>) {
        match kind {
            Kind::Identifier(types) => {
                for t in *types {
                    if *t != ANY_SDO && *t != ANY_SCO && spec::type_spec(t).is_none() {
                        problems.push(format!("{owner}.{path} refers to the unknown type {t:?}"));
                    }
                }
            }
            Kind::List(inner) => visit(owner, path, inner, problems),
            Kind::Object(props) => {
                for p in *props {
                    visit(owner, &format!("{path}.{}", p.name), &p.kind, problems);
                }
            }
            _ => {}
        }
    }
    let mut problems = Vec::new();
    for type_spec in spec::TYPES {
        for p in type_spec.properties {
            visit(type_spec.name, p.name, &p.kind, &mut problems);
        }
    }
    for extension in spec::PREDEFINED_EXTENSIONS {
        for p in extension.properties {
            visit(extension.name, p.name, &p.kind, &mut problems);
        }
        for t in extension.applies_to {
            assert_eq!(
                spec::category_of(t),
                Category::Sco,
                "{} applies to {t}, which must be an SCO",
                extension.name
            );
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Names follow section 3.1: `_ref`/`_refs` for identifiers, `_hex` for hex, `_bin` for binary.
#[test]
fn property_names_carry_the_suffix_of_their_type() {
    let mut problems = Vec::new();
    let mut check = |owner: &str, p: &Prop| {
        let (kind, list) = match &p.kind {
            Kind::List(inner) => (*inner, true),
            other => (other, false),
        };
        let expected = match kind {
            Kind::Identifier(_) if list => Some("_refs"),
            Kind::Identifier(_) => Some("_ref"),
            Kind::Hex => Some("_hex"),
            Kind::Binary => Some("_bin"),
            _ => None,
        };
        if let Some(suffix) = expected
            && !p.name.ends_with(suffix)
        {
            problems.push(format!("{owner}.{} should end in {suffix}", p.name));
        }
    };
    for type_spec in spec::TYPES {
        for p in type_spec
            .properties
            .iter()
            .filter(|p| !matches!(p.kind, Kind::Any))
        {
            check(type_spec.name, p);
        }
    }
    for extension in spec::PREDEFINED_EXTENSIONS {
        for p in extension.properties {
            check(extension.name, p);
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
