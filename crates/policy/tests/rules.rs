//! One test (or a few) per release rule: default deny, TLP, sharing groups, each redaction,
//! granular markings, closure, receivers enforcing, and the bounds.

mod common;

use common::*;
use policy::{
    Basis, ClosureLimits, Decision, LocationPrecision, Partner, Policy, Provenance, Reason, Redact,
    Redaction, Role, Rule, SharingGroup, Tlp,
};
use serde_json::json;
use stix::Object;

fn base_policy(rules: Vec<Rule>) -> Policy {
    let mut policy = Policy::new();
    policy
        .add_partner(Partner::new("own", OWN_IDENTITY, Role::Analyst))
        .unwrap();
    policy
        .add_partner(Partner::new("bfv", BFV_IDENTITY, Role::Partner))
        .unwrap();
    policy
        .add_partner(Partner::new("dgsi", DGSI_IDENTITY, Role::Partner))
        .unwrap();
    policy
        .add_partner(Partner::new("aivd", AIVD_IDENTITY, Role::Partner))
        .unwrap();
    policy
        .add_group(SharingGroup::new("ct-core", ["bfv", "dgsi"]))
        .unwrap();
    policy.add_neutral_marking(NEUTRAL_MARKING).unwrap();
    for rule in rules {
        policy.add_rule(rule).unwrap();
    }
    policy
}

fn decide(policy: &Policy, store: &Store, object: &Object, partner: &str) -> Decision {
    policy.release(object, &Provenance::Local, partner, store)
}

fn released(decision: Decision) -> policy::Release {
    match decision {
        Decision::Release(release) => release,
        Decision::Withhold(reason) => {
            panic!("expected a release, got withheld: {reason} ({reason:?})")
        }
    }
}

fn withheld(decision: Decision) -> Reason {
    match decision {
        Decision::Withhold(reason) => reason,
        Decision::Release(release) => {
            panic!("expected withheld, got released: {:?}", release.object())
        }
    }
}

// ---- default deny, partners, analysts ------------------------------------------------------

#[test]
fn an_object_without_a_release_marking_is_never_released_to_a_partner() {
    let policy = base_policy(vec![Rule::new("red-to-bfv", Tlp::Red).partners(["bfv"])]);
    let store = Store::new();
    let object = indicator(1, &[]);
    assert_eq!(
        withheld(decide(&policy, &store, &object, "bfv")),
        Reason::NoReleaseMarking
    );
    // A neutral marking is not a release marking either.
    let object = indicator(2, &[NEUTRAL_MARKING]);
    assert_eq!(
        withheld(decide(&policy, &store, &object, "bfv")),
        Reason::NoReleaseMarking
    );
}

#[test]
fn without_a_rule_nothing_is_released() {
    let policy = base_policy(vec![]);
    let store = Store::new();
    let object = indicator(1, &[TLP2_CLEAR]);
    assert!(matches!(
        withheld(decide(&policy, &store, &object, "bfv")),
        Reason::NoMatchingRule { .. }
    ));
}

#[test]
fn analysts_see_everything_unredacted() {
    let policy = base_policy(vec![Rule::new("green", Tlp::Green).everyone().redact(
        Redact {
            description: true,
            ..Redact::default()
        },
    )]);
    let store = Store::new();
    for object in [
        indicator(1, &[]),
        with(
            indicator(2, &[TLP2_RED, UNKNOWN_MARKING]),
            "description",
            json!("secret"),
        ),
        relationship(3, &[], &id("indicator", 99), &id("threat-actor", 98)),
    ] {
        let release = released(decide(&policy, &store, &object, "own"));
        assert_eq!(release.object(), &object);
        assert_eq!(release.basis(), &Basis::Analyst);
        assert!(release.redactions().is_empty());
        let received = policy.release(
            &object,
            &Provenance::Received { peer: "x".into() },
            "own",
            &store,
        );
        assert_eq!(released(received).object(), &object);
    }
}

#[test]
fn an_unknown_partner_gets_nothing() {
    let policy = base_policy(vec![Rule::new("green", Tlp::Green).everyone()]);
    let store = Store::new();
    assert_eq!(
        withheld(decide(
            &policy,
            &store,
            &indicator(1, &[TLP2_CLEAR]),
            "mossad"
        )),
        Reason::UnknownPartner {
            partner: "mossad".into()
        }
    );
}

// ---- TLP -------------------------------------------------------------------------------------

#[test]
fn tlp_1_and_2_markings_are_ordered_and_the_most_restrictive_wins() {
    let policy = base_policy(vec![
        Rule::new("amber-to-bfv", Tlp::Amber).partners(["bfv"]),
    ]);
    let store = Store::new();
    let cases = [
        (TLP2_CLEAR, true),
        (TLP1_WHITE, true),
        (TLP2_GREEN, true),
        (TLP1_GREEN, true),
        (TLP2_AMBER, true),
        (TLP1_AMBER, true),
        (TLP2_AMBER_STRICT, false),
        (TLP2_RED, false),
        (TLP1_RED, false),
    ];
    for (n, (marking, expected)) in cases.into_iter().enumerate() {
        let object = indicator(n as u64, &[marking]);
        let decision = decide(&policy, &store, &object, "bfv");
        assert_eq!(decision.is_release(), expected, "{marking}: {decision:?}");
        if !expected {
            assert!(matches!(
                decision.withheld(),
                Some(Reason::NotCleared {
                    clearance: Tlp::Amber,
                    ..
                })
            ));
        }
    }
    // GREEN (2.0) and RED (1.0) together: RED.
    let object = indicator(20, &[TLP2_GREEN, TLP1_RED]);
    assert_eq!(
        withheld(decide(&policy, &store, &object, "bfv")),
        Reason::NotCleared {
            partner: "bfv".into(),
            tlp: Some(Tlp::Red),
            clearance: Tlp::Amber
        }
    );
    // A partner no rule names gets nothing, even CLEAR.
    assert!(matches!(
        withheld(decide(
            &policy,
            &store,
            &indicator(21, &[TLP2_CLEAR]),
            "aivd"
        )),
        Reason::NoMatchingRule { .. }
    ));
}

#[test]
fn released_copies_keep_their_tlp_markings() {
    let policy = base_policy(vec![Rule::new("amber", Tlp::Amber).everyone()]);
    let store = Store::new();
    let object = indicator(1, &[TLP1_GREEN, TLP2_AMBER]);
    let release = released(decide(&policy, &store, &object, "aivd"));
    assert_eq!(
        string_list(release.object(), "object_marking_refs"),
        vec![TLP1_GREEN, TLP2_AMBER]
    );
}

#[test]
fn rules_can_be_restricted_to_types() {
    let policy = base_policy(vec![
        Rule::new("indicators", Tlp::Green)
            .partners(["bfv"])
            .types(["indicator"]),
    ]);
    let store = Store::new();
    assert!(decide(&policy, &store, &indicator(1, &[TLP2_GREEN]), "bfv").is_release());
    assert_eq!(
        withheld(decide(
            &policy,
            &store,
            &threat_actor(2, &[TLP2_GREEN]),
            "bfv"
        )),
        Reason::NoMatchingRule {
            partner: "bfv".into(),
            object_type: "threat-actor".into()
        }
    );
}

#[test]
fn the_widest_matching_rule_clears_and_every_matching_rule_redacts() {
    let policy = base_policy(vec![
        Rule::new("green-to-all", Tlp::Green)
            .everyone()
            .redact(Redact {
                created_by_ref: true,
                ..Redact::default()
            }),
        Rule::new("amber-to-bfv", Tlp::Amber)
            .partners(["bfv"])
            .redact(Redact {
                description: true,
                ..Redact::default()
            }),
    ]);
    let store = Store::new();
    let object = with(
        with(
            indicator(1, &[TLP2_GREEN]),
            "description",
            json!("from a human source"),
        ),
        "created_by_ref",
        json!(OWN_IDENTITY),
    );
    let release = released(decide(&policy, &store, &object, "bfv"));
    assert!(release.object().get("description").is_none());
    assert!(release.object().get("created_by_ref").is_none());
    assert_eq!(
        release.basis(),
        &Basis::Rules(vec!["green-to-all".into(), "amber-to-bfv".into()])
    );
    // AMBER: only the bfv rule matches, so only its redaction applies (the creator is not held, so
    // closure removes created_by_ref anyway; check it says so).
    let object = with(object, "object_marking_refs", json!([TLP2_AMBER]));
    let release = released(decide(&policy, &store, &object, "bfv"));
    assert_eq!(release.basis(), &Basis::Rules(vec!["amber-to-bfv".into()]));
    assert!(release.redactions().contains(&Redaction::ReferenceRemoved {
        path: "created_by_ref".into(),
        ref_id: OWN_IDENTITY.into()
    }));
}

// ---- sharing groups and markings -------------------------------------------------------------

fn group_policy() -> Policy {
    base_policy(vec![
        Rule::new("ct-core", Tlp::Amber)
            .groups(["ct-core"])
            .marking(GROUP_MARKING),
        Rule::new("green-to-all", Tlp::Green).everyone(),
    ])
}

#[test]
fn a_sharing_group_marking_releases_to_members_within_their_clearance() {
    let policy = group_policy();
    let mut store = Store::new();
    store.put(&marking_definition(GROUP_MARKING, "Releasable to CT-Core"));

    let amber = indicator(1, &[TLP2_AMBER, GROUP_MARKING]);
    for member in ["bfv", "dgsi"] {
        let release = released(decide(&policy, &store, &amber, member));
        assert_eq!(release.basis(), &Basis::Rules(vec!["ct-core".into()]));
        // The member sees the group marking (its definition is released to the group).
        assert!(
            string_list(release.object(), "object_marking_refs")
                .contains(&GROUP_MARKING.to_string())
        );
    }
    assert!(matches!(
        withheld(decide(&policy, &store, &amber, "aivd")),
        Reason::NotCleared {
            tlp: Some(Tlp::Amber),
            ..
        }
    ));

    // Group marking without TLP: the marking is the release marking.
    let unmarked = indicator(2, &[GROUP_MARKING]);
    assert!(decide(&policy, &store, &unmarked, "bfv").is_release());
    assert!(matches!(
        withheld(decide(&policy, &store, &unmarked, "aivd")),
        Reason::NoMatchingRule { .. }
    ));

    // Above the group's ceiling.
    let red = indicator(3, &[TLP2_RED, GROUP_MARKING]);
    assert!(matches!(
        withheld(decide(&policy, &store, &red, "bfv")),
        Reason::NotCleared { .. }
    ));

    // AMBER without the group marking: no rule releases AMBER by TLP alone.
    let plain_amber = indicator(4, &[TLP2_AMBER]);
    assert!(!decide(&policy, &store, &plain_amber, "bfv").is_release());
}

#[test]
fn the_group_marking_definition_goes_to_the_group_only() {
    let policy = group_policy();
    let store = Store::new();
    let definition = marking_definition(GROUP_MARKING, "Releasable to CT-Core");
    let release = released(decide(&policy, &store, &definition, "bfv"));
    assert_eq!(
        release.basis(),
        &Basis::SharingGroupMarking {
            rule: "ct-core".into()
        }
    );
    assert_eq!(
        withheld(decide(&policy, &store, &definition, "aivd")),
        Reason::NoReleaseMarking
    );
    // Its granular markings are enforced at the group rule's ceiling (AMBER).
    let definition = with(
        with(definition, "name", json!("CT-Core (operation NIGHTJAR)")),
        "granular_markings",
        json!([{"marking_ref": TLP2_RED, "selectors": ["name"]}]),
    );
    let release = released(decide(&policy, &store, &definition, "bfv"));
    assert!(release.object().get("name").is_none());
}

#[test]
fn a_group_marking_whose_definition_is_not_held_is_stripped_from_the_copy() {
    let policy = group_policy();
    let store = Store::new();
    let amber = indicator(1, &[TLP2_AMBER, GROUP_MARKING]);
    let release = released(decide(&policy, &store, &amber, "bfv"));
    assert_eq!(
        string_list(release.object(), "object_marking_refs"),
        vec![TLP2_AMBER]
    );
}

#[test]
fn unknown_markings_withhold_and_neutral_markings_do_not() {
    let policy = group_policy();
    let mut store = Store::new();
    let object = indicator(1, &[TLP2_GREEN, UNKNOWN_MARKING]);
    assert_eq!(
        withheld(decide(&policy, &store, &object, "bfv")),
        Reason::UnknownMarking {
            marking_ref: UNKNOWN_MARKING.into()
        }
    );
    let object = indicator(2, &[TLP2_GREEN, NEUTRAL_MARKING]);
    let release_copy = released(decide(&policy, &store, &object, "bfv"));
    // The neutral marking's definition is not released, so the copy does not name it.
    assert_eq!(
        string_list(release_copy.object(), "object_marking_refs"),
        vec![TLP2_GREEN]
    );
    // Released when its definition is released.
    store.put(&with(
        marking_definition(NEUTRAL_MARKING, "Copyright"),
        "object_marking_refs",
        json!([TLP2_CLEAR]),
    ));
    let release_copy = released(decide(&policy, &store, &object, "bfv"));
    assert_eq!(
        string_list(release_copy.object(), "object_marking_refs"),
        vec![TLP2_GREEN, NEUTRAL_MARKING]
    );
    // Another group's marking (used by a rule for others) does not release to bfv.
    let policy = base_policy(vec![
        Rule::new("aivd-only", Tlp::Amber)
            .partners(["aivd"])
            .marking(OTHER_GROUP_MARKING),
    ]);
    let object = indicator(3, &[OTHER_GROUP_MARKING]);
    assert!(matches!(
        withheld(decide(&policy, &store, &object, "bfv")),
        Reason::NoMatchingRule { .. }
    ));
    assert!(decide(&policy, &store, &object, "aivd").is_release());
}

#[test]
fn malformed_markings_withhold() {
    let policy = group_policy();
    let store = Store::new();
    for markings in [
        json!(TLP2_GREEN),
        json!([TLP2_GREEN, 7]),
        json!({"tlp": "green"}),
    ] {
        let object = with(indicator(1, &[]), "object_marking_refs", markings.clone());
        assert!(
            matches!(
                withheld(decide(&policy, &store, &object, "bfv")),
                Reason::UnknownMarking { .. }
            ),
            "{markings}"
        );
    }
    let object = with(
        indicator(2, &[TLP2_GREEN]),
        "granular_markings",
        json!([{"selectors": ["name"]}]),
    );
    assert!(matches!(
        withheld(decide(&policy, &store, &object, "bfv")),
        Reason::UnknownMarking { .. }
    ));
}

#[test]
fn tlp_marking_definitions_are_always_released_in_their_published_form() {
    let policy = base_policy(vec![]);
    let store = Store::new();
    for marking in policy::TLP_MARKINGS {
        let published = policy::published_definition(marking.id).unwrap();
        let release = released(decide(&policy, &store, &published, "aivd"));
        assert_eq!(release.object(), &published);
        assert_eq!(release.basis(), &Basis::PublishedTlpDefinition);
        assert!(release.redactions().is_empty());
        // A stored copy that gained something is replaced by the published form.
        let tampered = with(
            with(published.clone(), "x_note", json!("source: agent 7")),
            "created_by_ref",
            json!(OWN_IDENTITY),
        );
        let release = released(decide(&policy, &store, &tampered, "aivd"));
        assert_eq!(release.object(), &published);
        assert_eq!(
            release.redactions(),
            &[Redaction::ReplacedByPublishedDefinition]
        );
    }
}

// ---- redactions -------------------------------------------------------------------------------

fn redacting(redact: Redact) -> Policy {
    base_policy(vec![
        Rule::new("green", Tlp::Green)
            .partners(["bfv"])
            .redact(redact),
    ])
}

fn full_indicator() -> Object {
    let object = indicator(1, &[TLP2_GREEN]);
    let object = with(object, "description", json!("Seen by agent BLUEBIRD"));
    let object = with(
        object,
        "external_references",
        json!([{"source_name": "case", "external_id": "2024-117"}]),
    );
    let object = with(object, "x_source_handler", json!("J. Smith"));
    let object = with(object, "x_case_officer", json!("K. Jones"));
    with(object, "labels", json!(["malicious-activity"]))
}

#[test]
fn each_redaction_removes_what_it_says_and_records_it() {
    let store = Store::new();
    let cases: Vec<(Redact, Vec<&str>)> = vec![
        (
            Redact {
                external_references: true,
                ..Redact::default()
            },
            vec!["external_references"],
        ),
        (
            Redact {
                description: true,
                ..Redact::default()
            },
            vec!["description"],
        ),
        (
            Redact {
                custom_properties: true,
                ..Redact::default()
            },
            vec!["x_source_handler", "x_case_officer"],
        ),
        (
            Redact {
                properties: vec!["x_source_handler".into(), "labels".into()],
                ..Redact::default()
            },
            vec!["x_source_handler", "labels"],
        ),
    ];
    let object = full_indicator();
    for (redact, removed) in cases {
        let policy = redacting(redact.clone());
        let release = released(decide(&policy, &store, &object, "bfv"));
        for property in object.as_map().keys() {
            let gone = release.object().get(property).is_none();
            assert_eq!(
                gone,
                removed.contains(&property.as_str()),
                "{property} under {redact:?}"
            );
        }
        for property in &removed {
            assert!(release.redactions().contains(&Redaction::PropertyRemoved {
                property: property.to_string()
            }));
        }
        assert_eq!(release.object().validate(), vec![]);
    }
}

#[test]
fn created_by_ref_is_dropped_for_source_protection_even_when_the_creator_is_released() {
    let mut store = Store::new();
    let creator = identity(7, &[TLP2_CLEAR]);
    store.put(&creator);
    let object = with(
        indicator(1, &[TLP2_GREEN]),
        "created_by_ref",
        json!(creator.id()),
    );
    let keep = redacting(Redact::default());
    let release_copy = released(decide(&keep, &store, &object, "bfv"));
    assert_eq!(release_copy.object().created_by_ref(), Some(creator.id()));
    let drop = redacting(Redact {
        created_by_ref: true,
        ..Redact::default()
    });
    let release_copy = released(decide(&drop, &store, &object, "bfv"));
    assert_eq!(release_copy.object().created_by_ref(), None);
    assert_eq!(
        release_copy.redactions(),
        &[Redaction::PropertyRemoved {
            property: "created_by_ref".into()
        }]
    );
}

#[test]
fn locations_are_coarsened_to_the_rule_precision() {
    let store = Store::new();
    let object = location(1, &[TLP2_GREEN]);
    let cases = [
        (
            LocationPrecision::AdministrativeArea,
            vec!["region", "country", "administrative_area"],
        ),
        (LocationPrecision::Country, vec!["region", "country"]),
        (LocationPrecision::Region, vec!["region"]),
    ];
    for (precision, fields) in cases {
        let policy = redacting(Redact {
            location: precision,
            ..Redact::default()
        });
        let release = released(decide(&policy, &store, &object, "bfv"));
        let mut kept: Vec<&str> = release
            .object()
            .as_map()
            .keys()
            .map(String::as_str)
            .collect();
        kept.sort_unstable();
        let mut expected = vec![
            "type",
            "spec_version",
            "id",
            "created",
            "modified",
            "object_marking_refs",
        ];
        expected.extend(fields.iter().copied());
        expected.sort_unstable();
        assert_eq!(kept, expected, "{precision:?}");
        assert!(matches!(
            release.redactions(),
            [Redaction::LocationCoarsened { .. }]
        ));
        assert_eq!(release.object().validate(), vec![]);
    }
    let exact = redacting(Redact::default());
    assert_eq!(
        released(decide(&exact, &store, &object, "bfv")).object(),
        &object
    );
}

#[test]
fn a_location_coarsened_to_nothing_is_withheld() {
    let store = Store::new();
    let mut map = location(1, &[TLP2_GREEN]).into_map();
    for property in [
        "region",
        "country",
        "administrative_area",
        "city",
        "street_address",
        "postal_code",
    ] {
        map.remove(property);
    }
    let only_coordinates = Object::from_map(map).unwrap();
    assert_eq!(only_coordinates.validate(), vec![]);
    let policy = redacting(Redact {
        location: LocationPrecision::Country,
        ..Redact::default()
    });
    assert!(matches!(
        withheld(decide(&policy, &store, &only_coordinates, "bfv")),
        Reason::RedactionInvalidates { .. }
    ));
}

#[test]
fn redacting_a_required_property_withholds() {
    let store = Store::new();
    let policy = redacting(Redact {
        properties: vec!["pattern".into()],
        ..Redact::default()
    });
    assert_eq!(
        withheld(decide(&policy, &store, &indicator(1, &[TLP2_GREEN]), "bfv")),
        Reason::RequiredPropertyRedacted {
            property: "pattern".into()
        }
    );
}

// ---- granular markings ------------------------------------------------------------------------

#[test]
fn granular_markings_above_the_clearance_remove_their_properties() {
    let store = Store::new();
    let policy = base_policy(vec![Rule::new("amber", Tlp::Amber).partners(["bfv"])]);
    let object = with(
        with(
            indicator(1, &[TLP2_GREEN]),
            "description",
            json!("from agent BLUEBIRD"),
        ),
        "granular_markings",
        json!([
            {"marking_ref": TLP2_RED, "selectors": ["description"]},
            {"marking_ref": TLP2_AMBER, "selectors": ["name"]},
            {"lang": "en", "selectors": ["pattern"]},
        ]),
    );
    assert_eq!(object.validate(), vec![]);
    let release = released(decide(&policy, &store, &object, "bfv"));
    assert!(release.object().get("description").is_none());
    assert!(release.object().get("name").is_some());
    assert_eq!(
        release.object().get("granular_markings"),
        Some(&json!([
            {"marking_ref": TLP2_AMBER, "selectors": ["name"]},
            {"lang": "en", "selectors": ["pattern"]},
        ]))
    );
    assert!(
        release
            .redactions()
            .contains(&Redaction::GranularMarkingApplied {
                property: "description".into(),
                marking_ref: TLP2_RED.into()
            })
    );

    // A granular marking on a required property the partner is not cleared for withholds.
    let object = with(
        indicator(2, &[TLP2_GREEN]),
        "granular_markings",
        json!([{"marking_ref": TLP2_RED, "selectors": ["pattern"]}]),
    );
    assert_eq!(
        withheld(decide(&policy, &store, &object, "bfv")),
        Reason::RequiredPropertyRedacted {
            property: "pattern".into()
        }
    );

    // Unknown granular markings remove what they mark; neutral ones do not.
    let object = with(
        with(indicator(3, &[TLP2_GREEN]), "description", json!("d")),
        "granular_markings",
        json!([
            {"marking_ref": UNKNOWN_MARKING, "selectors": ["description"]},
            {"marking_ref": NEUTRAL_MARKING, "selectors": ["name"]},
        ]),
    );
    let release = released(decide(&policy, &store, &object, "bfv"));
    assert!(release.object().get("description").is_none());
    assert!(release.object().get("name").is_some());
    // The neutral marking's definition is not held: its entry goes, the property stays.
    assert!(release.object().get("granular_markings").is_none());
}

// ---- receivers enforce --------------------------------------------------------------------------

#[test]
fn what_was_received_under_amber_or_stricter_is_not_passed_on() {
    let policy = base_policy(vec![
        Rule::new("red-to-bfv", Tlp::Red).partners(["bfv"]),
        Rule::new("ct-core", Tlp::Red)
            .groups(["ct-core"])
            .marking(GROUP_MARKING),
    ]);
    let store = Store::new();
    let from_peer = Provenance::Received {
        peer: "dgsi".into(),
    };
    for markings in [
        vec![TLP2_AMBER],
        vec![TLP1_AMBER],
        vec![TLP2_AMBER_STRICT],
        vec![TLP2_RED],
        vec![TLP1_RED],
        vec![GROUP_MARKING],
    ] {
        let object = indicator(1, &markings);
        for partner in ["bfv", "dgsi", "aivd"] {
            let decision = policy.release(&object, &from_peer, partner, &store);
            assert!(
                matches!(decision.withheld(), Some(Reason::ReceivedUnderTlp { .. })),
                "{markings:?} to {partner}: {decision:?}"
            );
        }
        assert!(
            policy
                .release(&object, &from_peer, "own", &store)
                .is_release()
        );
        assert!(
            policy
                .release(&object, &Provenance::Local, "bfv", &store)
                .is_release()
        );
    }
    for markings in [vec![TLP2_GREEN], vec![TLP1_WHITE], vec![TLP2_CLEAR]] {
        let object = indicator(2, &markings);
        assert!(
            policy
                .release(&object, &from_peer, "bfv", &store)
                .is_release()
        );
    }
}

#[test]
fn granular_markings_on_received_objects_are_capped_at_green() {
    let policy = base_policy(vec![Rule::new("red-to-bfv", Tlp::Red).partners(["bfv"])]);
    let store = Store::new();
    let object = with(
        with(
            indicator(1, &[TLP2_GREEN]),
            "description",
            json!("partner's source"),
        ),
        "granular_markings",
        json!([{"marking_ref": TLP2_AMBER, "selectors": ["description"]}]),
    );
    let local = released(policy.release(&object, &Provenance::Local, "bfv", &store));
    assert!(local.object().get("description").is_some());
    let received = released(policy.release(
        &object,
        &Provenance::Received {
            peer: "aivd".into(),
        },
        "bfv",
        &store,
    ));
    assert!(received.object().get("description").is_none());
}

#[test]
fn received_references_are_decided_by_their_own_provenance() {
    let policy = base_policy(vec![Rule::new("red-to-bfv", Tlp::Red).partners(["bfv"])]);
    let mut store = Store::new();
    let actor = threat_actor(1, &[TLP2_AMBER]);
    store.put_from(
        &actor,
        Provenance::Received {
            peer: "aivd".into(),
        },
    );
    let target = indicator(2, &[TLP2_GREEN]);
    store.put(&target);
    let link = relationship(3, &[TLP2_GREEN], target.id(), actor.id());
    assert_eq!(
        withheld(decide(&policy, &store, &link, "bfv")),
        Reason::ReferenceWithheld {
            property: "target_ref".into(),
            ref_id: actor.id().into()
        }
    );
}

// ---- closure --------------------------------------------------------------------------------------

fn closure_policy() -> Policy {
    base_policy(vec![
        Rule::new("green-to-all", Tlp::Green).everyone(),
        Rule::new("amber-to-bfv", Tlp::Amber).partners(["bfv"]),
    ])
}

#[test]
fn a_relationship_is_released_only_with_both_ends() {
    let policy = closure_policy();
    let mut store = Store::new();
    let green = indicator(1, &[TLP2_GREEN]);
    let amber = threat_actor(2, &[TLP2_AMBER]);
    store.put(&green);
    store.put(&amber);
    let link = relationship(3, &[TLP2_GREEN], green.id(), amber.id());
    assert!(decide(&policy, &store, &link, "bfv").is_release());
    assert_eq!(
        withheld(decide(&policy, &store, &link, "aivd")),
        Reason::ReferenceWithheld {
            property: "target_ref".into(),
            ref_id: amber.id().into()
        }
    );
    // An end the node does not hold counts as not released.
    let dangling = relationship(4, &[TLP2_GREEN], green.id(), &id("threat-actor", 404));
    assert!(matches!(
        withheld(decide(&policy, &store, &dangling, "bfv")),
        Reason::ReferenceWithheld { .. }
    ));
}

#[test]
fn a_sighting_needs_what_was_sighted_and_loses_unreleased_optional_refs() {
    let policy = closure_policy();
    let mut store = Store::new();
    let actor = threat_actor(1, &[TLP2_GREEN]);
    let visible_place = identity(2, &[TLP2_GREEN]);
    let hidden_place = identity(3, &[TLP2_RED]);
    let hidden_observation = id("observed-data", 4);
    for object in [&actor, &visible_place, &hidden_place] {
        store.put(object);
    }
    let seen = sighting(
        5,
        &[TLP2_GREEN],
        actor.id(),
        &[visible_place.id(), hidden_place.id()],
        &[&hidden_observation],
    );
    let release = released(decide(&policy, &store, &seen, "aivd"));
    assert_eq!(
        string_list(release.object(), "where_sighted_refs"),
        vec![visible_place.id().to_string()]
    );
    assert!(release.object().get("observed_data_refs").is_none());
    assert!(release.redactions().contains(&Redaction::ReferenceRemoved {
        path: "where_sighted_refs".into(),
        ref_id: hidden_place.id().into()
    }));
    assert_eq!(release.object().validate(), vec![]);

    let hidden_actor = threat_actor(6, &[TLP2_RED]);
    store.put(&hidden_actor);
    let seen = sighting(
        7,
        &[TLP2_GREEN],
        hidden_actor.id(),
        &[visible_place.id()],
        &[],
    );
    assert!(matches!(
        withheld(decide(&policy, &store, &seen, "bfv")),
        Reason::ReferenceWithheld { .. }
    ));
}

#[test]
fn a_report_keeps_only_what_the_partner_may_see_and_needs_one_entry() {
    let policy = closure_policy();
    let mut store = Store::new();
    let green = indicator(1, &[TLP2_GREEN]);
    let amber = threat_actor(2, &[TLP2_AMBER]);
    let link = relationship(3, &[TLP2_GREEN], green.id(), amber.id());
    for object in [&green, &amber, &link] {
        store.put(object);
    }
    let all = report(4, &[TLP2_GREEN], &[green.id(), amber.id(), link.id()]);
    let to_bfv = released(decide(&policy, &store, &all, "bfv"));
    assert_eq!(string_list(to_bfv.object(), "object_refs").len(), 3);
    let to_aivd = released(decide(&policy, &store, &all, "aivd"));
    // The relationship goes too: its target is not released to aivd.
    assert_eq!(
        string_list(to_aivd.object(), "object_refs"),
        vec![green.id().to_string()]
    );

    let nothing_visible = report(5, &[TLP2_GREEN], &[amber.id(), link.id()]);
    assert_eq!(
        withheld(decide(&policy, &store, &nothing_visible, "aivd")),
        Reason::RequiredListEmptied {
            property: "object_refs".into()
        }
    );
    // The same reason when closure finds it, for a report referred to.
    store.put(&nothing_visible);
    assert_eq!(
        policy
            .releaser("aivd", &store)
            .membership(nothing_visible.id()),
        Err(Reason::RequiredListEmptied {
            property: "object_refs".into()
        })
    );
}

#[test]
fn reports_that_only_cite_each_other_justify_nothing() {
    let policy = closure_policy();
    let mut store = Store::new();
    let a = id("report", 1);
    let b = id("report", 2);
    let report_a = report(1, &[TLP2_GREEN], &[&b]);
    let report_b = report(2, &[TLP2_GREEN], &[&a]);
    store.put(&report_a);
    store.put(&report_b);
    assert!(matches!(
        withheld(decide(&policy, &store, &report_a, "bfv")),
        Reason::RequiredListEmptied { .. }
    ));

    // Once one of them cites something real, both are released, and keep citing each other.
    let green = indicator(3, &[TLP2_GREEN]);
    store.put(&green);
    let report_a = report(1, &[TLP2_GREEN], &[&b, green.id()]);
    store.put(&report_a);
    let release_a = released(decide(&policy, &store, &report_a, "bfv"));
    assert_eq!(
        string_list(release_a.object(), "object_refs"),
        vec![b.clone(), green.id().to_string()]
    );
    let release_b = released(decide(&policy, &store, &report_b, "bfv"));
    assert_eq!(string_list(release_b.object(), "object_refs"), vec![a]);
}

#[test]
fn creators_are_released_only_under_their_own_marking() {
    let policy = closure_policy();
    let mut store = Store::new();
    let unmarked_creator = identity(1, &[]);
    let green_creator = with(
        identity(2, &[TLP2_GREEN]),
        "created_by_ref",
        json!(id("identity", 2)),
    );
    store.put(&unmarked_creator);
    store.put(&green_creator);

    let object = with(
        indicator(3, &[TLP2_GREEN]),
        "created_by_ref",
        json!(unmarked_creator.id()),
    );
    let release_copy = released(decide(&policy, &store, &object, "aivd"));
    assert_eq!(release_copy.object().created_by_ref(), None);

    let object = with(
        indicator(4, &[TLP2_GREEN]),
        "created_by_ref",
        json!(green_creator.id()),
    );
    let release_copy = released(decide(&policy, &store, &object, "aivd"));
    assert_eq!(
        release_copy.object().created_by_ref(),
        Some(green_creator.id())
    );

    // An identity that created itself keeps saying so.
    let release_copy = released(decide(&policy, &store, &green_creator, "aivd"));
    assert_eq!(
        release_copy.object().created_by_ref(),
        Some(green_creator.id())
    );
}

#[test]
fn nested_and_custom_references_are_removed_too() {
    let policy = closure_policy();
    let mut store = Store::new();
    let hidden = identity(1, &[TLP2_RED]);
    let shown = identity(2, &[TLP2_GREEN]);
    store.put(&hidden);
    store.put(&shown);
    let object = indicator(3, &[TLP2_GREEN]);
    let object = with(object, "x_handler_ref", json!(hidden.id()));
    let object = with(object, "x_contacts_refs", json!([hidden.id(), shown.id()]));
    let object = with(
        object,
        "x_details",
        json!({"source": {"handler_ref": hidden.id(), "note": "met twice"}, "list": [{"who_ref": hidden.id()}]}),
    );
    // Not named like a reference, but a whole STIX id all the same.
    let object = with(object, "x_related", json!(hidden.id()));
    let object = with(
        object,
        "labels",
        json!([hidden.id(), "sensitive", shown.id()]),
    );
    let release = released(decide(&policy, &store, &object, "aivd"));
    let copy = release.object();
    assert!(copy.get("x_handler_ref").is_none());
    assert_eq!(
        string_list(copy, "x_contacts_refs"),
        vec![shown.id().to_string()]
    );
    assert_eq!(
        copy.get("x_details"),
        Some(&json!({"source": {"note": "met twice"}, "list": [{}]}))
    );
    assert!(copy.get("x_related").is_none());
    assert_eq!(
        string_list(copy, "labels"),
        vec!["sensitive".to_string(), shown.id().to_string()]
    );
    for (path, referenced) in copy.references() {
        assert_ne!(referenced, hidden.id(), "{path}");
    }
    assert!(
        !String::from_utf8(copy.canonical_json())
            .unwrap()
            .contains(hidden.id())
    );
}

#[test]
fn a_custom_relationship_keeps_its_ends_or_is_withheld() {
    let policy = closure_policy();
    let mut store = Store::new();
    let hidden = threat_actor(1, &[TLP2_RED]);
    store.put(&hidden);
    let custom = Object::from_value(json!({
        "type": "x-tessera-link", "spec_version": "2.1", "id": id("x-tessera-link", 2),
        "created": TIME, "modified": TIME, "object_marking_refs": [TLP2_GREEN],
        "source_ref": hidden.id(), "target_ref": hidden.id(),
    }))
    .unwrap();
    assert!(matches!(
        withheld(decide(&policy, &store, &custom, "bfv")),
        Reason::ReferenceWithheld { .. }
    ));
}

#[test]
fn a_lying_resolver_is_not_trusted() {
    let policy = closure_policy();
    let green = indicator(1, &[TLP2_GREEN]);
    let held = policy::Held {
        object: green.clone(),
        provenance: Provenance::Local,
    };
    let liar = move |_: &str| Some(held.clone());
    let link = relationship(2, &[TLP2_GREEN], green.id(), &id("threat-actor", 3));
    assert!(matches!(
        policy
            .release(&link, &Provenance::Local, "bfv", &liar)
            .withheld(),
        Some(Reason::ReferenceWithheld { .. })
    ));
}

#[test]
fn membership_answers_for_manifests() {
    let policy = closure_policy();
    let mut store = Store::new();
    let green = indicator(1, &[TLP2_GREEN]);
    let amber = threat_actor(2, &[TLP2_AMBER]);
    let link = relationship(3, &[TLP2_GREEN], green.id(), amber.id());
    for object in [&green, &amber, &link] {
        store.put(object);
    }
    let mut to_aivd = policy.releaser("aivd", &store);
    assert!(to_aivd.is_released(green.id()));
    assert!(!to_aivd.is_released(amber.id()));
    // Found by the fixpoint: the slot that failed, named.
    assert_eq!(
        to_aivd.membership(link.id()),
        Err(Reason::ReferenceWithheld {
            property: "target_ref".into(),
            ref_id: amber.id().into(),
        })
    );
    assert_eq!(
        to_aivd.membership(&id("indicator", 404)),
        Err(Reason::NotHeld)
    );
    assert!(to_aivd.is_released(TLP2_RED));
    let mut to_bfv = policy.releaser("bfv", &store);
    assert!(to_bfv.is_released(link.id()));
}

// ---- bounds and memoisation --------------------------------------------------------------------------

#[test]
fn decisions_about_shared_references_are_memoised() {
    let policy = closure_policy();
    let mut store = Store::new();
    let green = indicator(1, &[TLP2_GREEN]);
    let actor = threat_actor(2, &[TLP2_GREEN]);
    store.put(&green);
    store.put(&actor);
    let links: Vec<Object> = (10..60)
        .map(|n| relationship(n, &[TLP2_GREEN], green.id(), actor.id()))
        .collect();
    let mut releaser = policy.releaser("aivd", &store);
    for link in &links {
        assert!(releaser.release(link, &Provenance::Local).is_release());
    }
    assert_eq!(store.calls.get(), 2, "each end is resolved once");
}

#[test]
fn chains_longer_than_the_depth_bound_are_withheld() {
    let policy = closure_policy();
    let mut store = Store::new();
    let leaf = indicator(1, &[TLP2_GREEN]);
    store.put(&leaf);
    let mut previous = leaf.id().to_string();
    let mut chain = Vec::new();
    for n in 2..12 {
        let next = report(n, &[TLP2_GREEN], &[&previous]);
        store.put(&next);
        previous = next.id().to_string();
        chain.push(next);
    }
    let top = chain.last().unwrap();
    let limits = ClosureLimits {
        depth_max: 5,
        ..ClosureLimits::default()
    };
    let decision = policy
        .releaser("bfv", &store)
        .with_limits(limits)
        .release(top, &Provenance::Local);
    assert_eq!(
        decision.withheld(),
        Some(&Reason::ClosureLimit {
            limit: "depth_max",
            max: 5
        })
    );
    let decision = policy
        .releaser("bfv", &store)
        .release(top, &Provenance::Local);
    assert!(decision.is_release());

    let limits = ClosureLimits {
        nodes_max: 3,
        ..ClosureLimits::default()
    };
    let decision = policy
        .releaser("bfv", &store)
        .with_limits(limits)
        .release(top, &Provenance::Local);
    assert_eq!(
        decision.withheld(),
        Some(&Reason::ClosureLimit {
            limit: "nodes_max",
            max: 3
        })
    );
}

#[test]
fn objects_nested_too_deep_are_withheld() {
    let policy = closure_policy();
    let store = Store::new();
    let mut deep = json!("bottom");
    for _ in 0..(policy::JSON_DEPTH_MAX + 2) {
        deep = json!({ "x": deep });
    }
    let object = with(indicator(1, &[TLP2_GREEN]), "x_deep", deep);
    assert!(matches!(
        withheld(decide(&policy, &store, &object, "bfv")),
        Reason::TooDeep { .. }
    ));
}

#[test]
fn reasons_read_well() {
    let reason = Reason::NotCleared {
        partner: "aivd".into(),
        tlp: Some(Tlp::AmberStrict),
        clearance: Tlp::Green,
    };
    assert_eq!(
        reason.to_string(),
        "aivd is cleared up to TLP:GREEN, the object is TLP:AMBER+STRICT"
    );
}
