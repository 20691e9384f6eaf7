//! The policy file: the example parses, writing and reading back is the identity, and every class
//! of bad policy is refused as a whole with a message that names the problem, its place and the fix.

use policy::{
    LocationPrecision, Partner, Policy, PolicyError, ProblemKind, Redact, Role, Rule, SharingGroup,
    Tlp,
};

const EXAMPLE: &str = include_str!("../policy.example.toml");

const BFV: &str = "identity--bf5d16eb-35fc-458f-b144-51b2948c2e44";
const DGSI: &str = "identity--ccd29914-2138-48cd-a2e6-9c40060244c2";
const GROUP_MARKING: &str = "marking-definition--9377ca90-5868-4ddc-9e2c-d2b389c0abe2";

/// A small valid policy; tests break one thing at a time.
fn valid() -> String {
    format!(
        r#"version = 1

[[partner]]
name = "bfv"
identity_ref = "{BFV}"
role = "partner"

[[partner]]
name = "dgsi"
identity_ref = "{DGSI}"
role = "partner"

[[group]]
name = "ct-core"
members = ["bfv", "dgsi"]

[[rule]]
name = "green-to-all"
everyone = true
tlp_max = "green"

[[rule]]
name = "amber-to-core"
groups = ["ct-core"]
tlp_max = "amber"
marking = "{GROUP_MARKING}"

[rule.redact]
external_references = true
location = "country"
properties = ["x_source_handler"]
"#
    )
}

fn refused(text: &str) -> PolicyError {
    match Policy::from_toml_str(text) {
        Ok(policy) => panic!("expected the policy to be refused, got {policy:?}"),
        Err(error) => error,
    }
}

/// Asserts the text is refused with a problem of this kind at this path, on this line, and that
/// the message carries `words`.
fn assert_refused(
    text: &str,
    path: &str,
    line: usize,
    kind: impl Fn(&ProblemKind) -> bool,
    words: &str,
) {
    let error = refused(text);
    let message = error.to_string();
    let problem = error
        .problems()
        .iter()
        .find(|p| p.path == path)
        .unwrap_or_else(|| panic!("no problem at {path}: {message}"));
    assert!(
        kind(&problem.kind),
        "unexpected kind at {path}: {:?}",
        problem.kind
    );
    assert_eq!(problem.line, Some(line), "line of {path}: {message}");
    assert!(
        message.contains(words),
        "{message:?} should contain {words:?}"
    );
    assert!(
        message.contains(&format!("{path} (line {line})")),
        "{message}"
    );
}

#[test]
fn the_example_file_parses() {
    let policy = Policy::from_toml_str(EXAMPLE).expect("the example policy is valid");
    assert_eq!(policy.partners().len(), 4);
    assert_eq!(
        policy.partner("own-analysts").map(|p| p.role),
        Some(Role::Analyst)
    );
    assert_eq!(policy.group("ct-core").map(|g| g.members.len()), Some(2));
    let rule = policy
        .rule("amber-strict-to-bfv")
        .expect("the example has this rule");
    assert_eq!(rule.tlp_max, Tlp::AmberStrict);
    assert_eq!(rule.redact.location, LocationPrecision::AdministrativeArea);
    assert_eq!(rule.redact.properties, vec!["x_source_handler".to_string()]);
    assert_eq!(
        policy
            .rule("ct-core-shared")
            .and_then(|r| r.marking.as_deref()),
        Some(GROUP_MARKING)
    );
    assert_eq!(policy.neutral_markings().len(), 1);
}

#[test]
fn writing_and_reading_back_gives_the_same_policy() {
    for text in [EXAMPLE.to_string(), valid()] {
        let policy = Policy::from_toml_str(&text).unwrap();
        let written = policy.to_toml_string();
        let read = Policy::from_toml_str(&written).unwrap_or_else(|e| panic!("{e}\n{written}"));
        assert_eq!(read, policy, "{written}");
        assert_eq!(read.to_toml_string(), written);
    }
    // Built through the API, with every field used.
    let mut policy = Policy::new();
    policy
        .add_partner(Partner::new("bfv", BFV, Role::Partner))
        .unwrap();
    policy
        .add_partner(Partner::new("own", DGSI, Role::Analyst))
        .unwrap();
    policy
        .add_group(SharingGroup::new("empty", Vec::<String>::new()))
        .unwrap();
    policy
        .add_group(SharingGroup::new("core", ["bfv"]))
        .unwrap();
    policy
        .add_rule(
            Rule::new("r", Tlp::AmberStrict)
                .partners(["bfv"])
                .groups(["core"])
                .types(["indicator", "x-custom-thing"])
                .marking(GROUP_MARKING)
                .redact(Redact {
                    external_references: true,
                    created_by_ref: true,
                    description: true,
                    custom_properties: true,
                    location: LocationPrecision::Region,
                    properties: vec!["labels".into()],
                }),
        )
        .unwrap();
    policy
        .add_rule(Rule::new("clear", Tlp::Clear).everyone())
        .unwrap();
    policy
        .add_neutral_marking("marking-definition--3c0fd00e-f9a8-41d9-9e4a-7fc1ff8a0c18")
        .unwrap();
    let written = policy.to_toml_string();
    assert_eq!(
        Policy::from_toml_str(&written).unwrap(),
        policy,
        "{written}"
    );
    assert_eq!(
        Policy::from_toml_str(&Policy::new().to_toml_string()).unwrap(),
        Policy::new()
    );
}

#[test]
fn the_valid_fixture_is_valid() {
    Policy::from_toml_str(&valid()).unwrap();
}

#[test]
fn toml_syntax_errors_name_the_line() {
    let text = valid().replace("tlp_max = \"green\"", "tlp_max = green");
    match refused(&text) {
        PolicyError::Syntax { line, .. } => assert_eq!(line, 20),
        other => panic!("{other:?}"),
    }
}

#[test]
fn unknown_keys_are_refused_so_typos_cannot_weaken_a_redaction() {
    let text = valid().replace("external_references = true", "extrnal_references = true");
    let error = refused(&text);
    let PolicyError::Syntax { line, message, .. } = &error else {
        panic!("{error:?}")
    };
    assert_eq!(*line, 29);
    assert!(message.contains("extrnal_references"), "{message}");
    let text = valid().replace("tlp_max = \"amber\"", "tlp_maximum = \"amber\"");
    assert!(refused(&text).to_string().contains("tlp_maximum"));
}

#[test]
fn missing_fields_are_refused() {
    let text = valid().replace("role = \"partner\"\n\n[[partner]]", "\n[[partner]]");
    let error = refused(&text);
    assert!(
        error.to_string().contains("missing field `role`"),
        "{error}"
    );
    let text = valid().replace("version = 1\n", "");
    assert!(refused(&text).to_string().contains("version"));
}

#[test]
fn unknown_partners_in_groups_and_rules_are_refused() {
    let text = valid().replace(
        "members = [\"bfv\", \"dgsi\"]",
        "members = [\"bfv\", \"bnd\"]",
    );
    assert_refused(
        &text,
        "group[0].members[1]",
        15,
        |k| matches!(k, ProblemKind::UnknownPartner { name } if name == "bnd"),
        "no partner named \"bnd\"",
    );
    let text = valid().replace("everyone = true", "partners = [\"mi5\"]");
    assert_refused(
        &text,
        "rule[0].partners[0]",
        19,
        |k| matches!(k, ProblemKind::UnknownPartner { .. }),
        "[[partner]]",
    );
}

#[test]
fn unknown_groups_are_refused() {
    let text = valid().replace("groups = [\"ct-core\"]", "groups = [\"ct-cor\"]");
    assert_refused(
        &text,
        "rule[1].groups[0]",
        24,
        |k| matches!(k, ProblemKind::UnknownGroup { .. }),
        "no sharing group named \"ct-cor\"",
    );
}

#[test]
fn unknown_tlp_role_and_precision_names_are_refused() {
    let text = valid().replace("tlp_max = \"amber\"", "tlp_max = \"orange\"");
    assert_refused(
        &text,
        "rule[1].tlp_max",
        25,
        |k| matches!(k, ProblemKind::UnknownTlp { .. }),
        "\"amber+strict\"",
    );
    let text = valid().replacen("role = \"partner\"", "role = \"friend\"", 1);
    assert_refused(
        &text,
        "partner[0].role",
        6,
        |k| matches!(k, ProblemKind::UnknownRole { .. }),
        "\"analyst\"",
    );
    let text = valid().replace("location = \"country\"", "location = \"city\"");
    assert_refused(
        &text,
        "rule[1].redact.location",
        30,
        |k| matches!(k, ProblemKind::UnknownLocationPrecision { .. }),
        "\"administrative-area\"",
    );
    // TLP names are read loosely (case, TLP: prefix, TLP 1.0 white).
    let text = valid().replace("tlp_max = \"green\"", "tlp_max = \"TLP:WHITE\"");
    assert_eq!(
        Policy::from_toml_str(&text).unwrap().rules()[0].tlp_max,
        Tlp::Clear
    );
}

#[test]
fn duplicate_names_are_refused() {
    let text = valid()
        .replace("name = \"dgsi\"", "name = \"bfv\"")
        .replace("[\"bfv\", \"dgsi\"]", "[\"bfv\"]");
    assert_refused(
        &text,
        "partner[1].name",
        9,
        |k| {
            matches!(
                k,
                ProblemKind::DuplicateName {
                    what: "partner",
                    ..
                }
            )
        },
        "already defined at partner[0]",
    );
    let text = valid().replace("name = \"amber-to-core\"", "name = \"green-to-all\"");
    assert_refused(
        &text,
        "rule[1].name",
        23,
        |k| matches!(k, ProblemKind::DuplicateName { what: "rule", .. }),
        "rename or remove",
    );
    let text = format!(
        "{}\n[[group]]\nname = \"ct-core\"\nmembers = []\n",
        valid()
            .replace("\n[[rule]]", "\n[[rulex]]")
            .split("\n[[rulex]]")
            .next()
            .unwrap()
    );
    assert_refused(
        &text,
        "group[1].name",
        18,
        |k| matches!(k, ProblemKind::DuplicateName { what: "group", .. }),
        "ct-core",
    );
}

#[test]
fn bad_stix_ids_are_refused() {
    let text = valid().replace(BFV, "identity--not-a-uuid");
    assert_refused(
        &text,
        "partner[0].identity_ref",
        5,
        |k| matches!(k, ProblemKind::BadIdentifier { .. }),
        "identity--<uuid>",
    );
    let text = valid().replace(
        BFV,
        "marking-definition--bf5d16eb-35fc-458f-b144-51b2948c2e44",
    );
    assert_refused(
        &text,
        "partner[0].identity_ref",
        5,
        |k| matches!(k, ProblemKind::BadIdentifier { .. }),
        "its type is marking-definition",
    );
    let text = valid().replace(
        GROUP_MARKING,
        "identity--9377ca90-5868-4ddc-9e2c-d2b389c0abe2",
    );
    assert_refused(
        &text,
        "rule[1].marking",
        26,
        |k| matches!(k, ProblemKind::BadIdentifier { .. }),
        "marking-definition--<uuid>",
    );
    let text = valid().replace(
        GROUP_MARKING,
        "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    );
    assert_refused(
        &text,
        "rule[1].marking",
        26,
        |k| matches!(k, ProblemKind::TlpMarkingAsGroupMarking { .. }),
        "use tlp_max",
    );
    let text = valid().replace(
        "version = 1\n",
        "version = 1\nneutral_markings = [\"copyright\"]\n",
    );
    assert_refused(
        &text,
        "neutral_markings[0]",
        2,
        |k| matches!(k, ProblemKind::BadIdentifier { .. }),
        "copyright",
    );
}

#[test]
fn conflicting_rules_are_refused() {
    // Same audience (everyone is bfv and dgsi), same types, same marking, different ceiling.
    let text = format!(
        "{}\n[[rule]]\nname = \"amber-to-both\"\npartners = [\"bfv\", \"dgsi\"]\ntlp_max = \"amber\"\n",
        valid()
    );
    assert_refused(
        &text,
        "rule[2]",
        33,
        |k| matches!(k, ProblemKind::ConflictingRules { .. }),
        "merge the two rules",
    );
    // TLP:RED to everyone contradicts TLP:RED.
    let text = valid().replace("tlp_max = \"green\"", "tlp_max = \"red\"");
    assert_refused(
        &text,
        "rule[0].tlp_max",
        20,
        |k| matches!(k, ProblemKind::RedToEveryone),
        "named recipients",
    );
    // A rule with no audience.
    let text = valid().replace("everyone = true\n", "");
    assert_refused(
        &text,
        "rule[0]",
        17,
        |k| matches!(k, ProblemKind::EmptyAudience),
        "releases to nobody",
    );
    // An analyst in an audience.
    let text = valid().replacen("role = \"partner\"", "role = \"analyst\"", 1);
    let error = refused(&text);
    assert!(
        error
            .problems()
            .iter()
            .any(|p| matches!(p.kind, ProblemKind::AnalystInAudience { .. })),
        "{error}"
    );
    // A marking both neutral and a group marking.
    let text = valid().replace(
        "version = 1\n",
        &format!("version = 1\nneutral_markings = [\"{GROUP_MARKING}\"]\n"),
    );
    assert_refused(
        &text,
        "rule[1].marking",
        27,
        |k| matches!(k, ProblemKind::NeutralMarkingAsGroupMarking { .. }),
        "remove it from one",
    );
}

#[test]
fn bad_types_names_and_redactions_are_refused() {
    let text = valid().replace(
        "tlp_max = \"green\"",
        "tlp_max = \"green\"\ntypes = [\"Threat Actor\"]",
    );
    assert_refused(
        &text,
        "rule[0].types[0]",
        21,
        |k| matches!(k, ProblemKind::BadTypeName { .. }),
        "\"threat-actor\"",
    );
    let text = valid().replace("tlp_max = \"green\"", "tlp_max = \"green\"\ntypes = []");
    assert_refused(
        &text,
        "rule[0].types",
        21,
        |k| matches!(k, ProblemKind::EmptyTypes),
        "remove types",
    );
    let text = valid().replace(
        "[\"x_source_handler\"]",
        "[\"x_source_handler\", \"object_marking_refs\"]",
    );
    assert_refused(
        &text,
        "rule[1].redact.properties[1]",
        31,
        |k| matches!(k, ProblemKind::ReservedProperty { .. }),
        "cannot be redacted",
    );
    let text = valid().replace("name = \"green-to-all\"", "name = \"green to all\"");
    assert_refused(
        &text,
        "rule[0].name",
        18,
        |k| matches!(k, ProblemKind::BadName { .. }),
        "ASCII letters",
    );
    let text = valid().replace("version = 1", "version = 2");
    assert_refused(
        &text,
        "version",
        1,
        |k| matches!(k, ProblemKind::UnsupportedVersion { found: 2 }),
        "version = 1",
    );
}

#[test]
fn every_problem_is_reported_at_once() {
    let text = valid()
        .replace("[\"bfv\", \"dgsi\"]", "[\"bnd\", \"dgsi\"]")
        .replace("tlp_max = \"amber\"", "tlp_max = \"purple\"")
        .replace(BFV, "identity--x");
    let error = refused(&text);
    assert_eq!(error.problems().len(), 3, "{error}");
    assert!(
        error
            .to_string()
            .starts_with("the policy is refused, the one in force stays (3 problems):")
    );
}

#[test]
fn edits_that_would_break_the_policy_are_refused_and_change_nothing() {
    let mut policy = Policy::from_toml_str(&valid()).unwrap();
    let before = policy.clone();

    let error = policy
        .add_partner(Partner::new("bfv", BFV, Role::Partner))
        .unwrap_err();
    assert!(matches!(
        error.problems()[0].kind,
        ProblemKind::DuplicateName { .. }
    ));
    assert!(
        policy
            .add_partner(Partner::new("x", "identity--1", Role::Partner))
            .is_err()
    );
    assert!(policy.add_group_member("ct-core", "nobody").is_err());
    assert!(policy.add_group_member("no-group", "bfv").is_err());
    assert!(
        policy
            .add_rule(Rule::new("open-red", Tlp::Red).everyone())
            .is_err()
    );
    assert!(
        policy
            .add_rule(Rule::new("green-to-all", Tlp::Green).partners(["bfv"]))
            .is_err()
    );
    let error = policy.remove_partner("bfv").unwrap_err();
    assert!(error.to_string().contains("group \"ct-core\""), "{error}");
    assert!(policy.remove_group("ct-core").is_err());
    assert!(policy.remove_rule("no-such-rule").is_err());
    assert_eq!(policy, before, "refused edits leave the policy as it was");

    // The CLI's path: add a partner, put it in a group, give it a rule, then take it all back.
    policy
        .add_partner(Partner::new(
            "aivd",
            "identity--256c665f-9234-4db4-91aa-1cdfe6c8e1a4",
            Role::Partner,
        ))
        .unwrap();
    policy.add_group_member("ct-core", "aivd").unwrap();
    policy
        .add_rule(
            Rule::new("amber-strict-to-aivd", Tlp::AmberStrict)
                .partners(["aivd"])
                .types(["indicator"]),
        )
        .unwrap();
    let replaced = policy
        .replace_rule(
            Rule::new("amber-strict-to-aivd", Tlp::Amber)
                .partners(["aivd"])
                .types(["indicator"]),
        )
        .unwrap();
    assert_eq!(replaced.tlp_max, Tlp::AmberStrict);
    assert_eq!(
        Policy::from_toml_str(&policy.to_toml_string()).unwrap(),
        policy
    );
    policy.remove_rule("amber-strict-to-aivd").unwrap();
    policy.remove_group_member("ct-core", "aivd").unwrap();
    policy.remove_partner("aivd").unwrap();
    assert_eq!(policy, before);
}
