//! The demo bundle: valid STIX, marked TLP:CLEAR, sourced, and holding the 2024 case.

use std::collections::{HashMap, HashSet};

use incident::demo::{DEMO_BUNDLE, demo_objects};
use incident::ids::{TESSERA_IDENTITY_ID, TLP_CLEAR_ID};
use incident::{AliasIndex, Incident};
use stix::Object;

fn by_name<'a>(objects: &'a [Object], object_type: &str, name: &str) -> &'a Object {
    objects
        .iter()
        .find(|o| o.object_type() == object_type && o.get_str("name") == Some(name))
        .unwrap_or_else(|| panic!("the demo has no {object_type} named {name:?}"))
}

fn incident_named(objects: &[Object], fragment: &str) -> Incident {
    let object = objects
        .iter()
        .find(|o| {
            o.object_type() == "incident" && o.get_str("name").is_some_and(|n| n.contains(fragment))
        })
        .unwrap_or_else(|| panic!("the demo has no incident named like {fragment:?}"));
    Incident::from_object(object).unwrap()
}

fn has_link(objects: &[Object], source: &str, kind: &str, target: &str) -> bool {
    objects
        .iter()
        .filter_map(Object::as_relationship)
        .any(|r| r.source_ref == source && r.relationship_type == kind && r.target_ref == target)
}

#[test]
fn bundle_is_valid_stix() {
    let bundle: serde_json::Value = serde_json::from_str(DEMO_BUNDLE).unwrap();
    assert_eq!(bundle["type"], "bundle");
    assert!(stix::parse_identifier(bundle["id"].as_str().unwrap()).is_ok());
    let objects = demo_objects();
    let errors: Vec<String> = objects
        .iter()
        .flat_map(|o| stix::validate::validate(o.as_map()))
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let ids: HashSet<&str> = objects.iter().map(Object::id).collect();
    assert_eq!(ids.len(), objects.len(), "ids are unique");
    // Every reference resolves inside the bundle: the case stands on its own.
    for object in &objects {
        for (path, target) in object.references() {
            assert!(
                ids.contains(target.as_str()),
                "{} {path} -> {target} is not in the bundle",
                object.id()
            );
        }
    }
}

#[test]
fn shipped_fixed_objects_are_the_crates_own() {
    let objects = demo_objects();
    let find = |id: &str| {
        objects
            .iter()
            .find(|o| o.id() == id)
            .unwrap_or_else(|| panic!("{id} is missing"))
            .clone()
    };
    assert_eq!(find(TLP_CLEAR_ID), incident::tlp_clear());
    assert_eq!(find(TESSERA_IDENTITY_ID), incident::tessera_identity());
    assert_eq!(
        find(incident::ids::EXTENSION_DEFINITION_ID),
        incident::extension_definition()
    );
}

#[test]
fn every_statement_is_marked_and_sourced() {
    for object in demo_objects() {
        if object.object_type() == "marking-definition"
            || object.id() == TESSERA_IDENTITY_ID
            || object.object_type() == "extension-definition"
        {
            continue;
        }
        assert_eq!(
            object.marking_refs().collect::<Vec<_>>(),
            vec![TLP_CLEAR_ID],
            "{} is not TLP:CLEAR",
            object.id()
        );
        assert_eq!(
            object.created_by_ref(),
            Some(TESSERA_IDENTITY_ID),
            "{}",
            object.id()
        );
        let references = object
            .get("external_references")
            .and_then(|r| r.as_array())
            .cloned()
            .unwrap_or_default();
        assert!(!references.is_empty(), "{} cites no source", object.id());
        for reference in references {
            assert!(reference["source_name"].is_string());
            assert!(
                reference.get("url").is_some() || reference.get("description").is_some(),
                "{}: a reference needs a URL or a description",
                object.id()
            );
            if let Some(url) = reference.get("url").and_then(|u| u.as_str()) {
                assert!(url.starts_with("https://"), "{url}");
            }
        }
    }
}

#[test]
fn holds_the_six_incidents_with_their_facts() {
    let objects = demo_objects();
    assert_eq!(
        objects
            .iter()
            .filter(|o| o.object_type() == "incident")
            .count(),
        6
    );

    let kerman = incident_named(&objects, "Kerman");
    assert_eq!(kerman.extension.date.to_string(), "2024-01-03");
    let (low, high) = kerman.extension.killed.unwrap().bounds().unwrap();
    assert!(low <= 95 && 95 <= high, "about 95 killed at Kerman");
    assert_eq!(kerman.extension.suicide, Some(true));

    let istanbul = incident_named(&objects, "Istanbul");
    assert_eq!(istanbul.extension.date.to_string(), "2024-01-28");
    assert_eq!(istanbul.extension.killed.unwrap().best, Some(1));

    let crocus = incident_named(&objects, "Crocus");
    assert_eq!(crocus.extension.date.to_string(), "2024-03-22");
    assert!(crocus.extension.killed.unwrap().best.unwrap() >= 140);

    let gwadar = incident_named(&objects, "Gwadar");
    assert_eq!(gwadar.extension.date.to_string(), "2024-03-20");

    let besham = incident_named(&objects, "Besham");
    assert_eq!(besham.extension.date.to_string(), "2024-03-26");
    // Five Chinese nationals and their driver, plus the bomber.
    let besham_killed = besham.extension.killed.unwrap().best.unwrap();
    assert_eq!(
        besham_killed - besham.extension.perpetrators_killed.unwrap(),
        6
    );
    assert_eq!(besham.extension.claimed, Some(false));
    assert_eq!(besham.extension.perpetrator_uncertain, Some(true));

    let mir_ali = incident_named(&objects, "Mir Ali");
    assert_eq!(mir_ali.extension.date.to_string(), "2024-03-16");
    assert_eq!(
        mir_ali.extension.killed.unwrap().best.unwrap()
            - mir_ali.extension.perpetrators_killed.unwrap(),
        7,
        "seven soldiers"
    );

    // Each incident is located at a place with coordinates in the right country.
    let expected_country = [
        ("Kerman", "IR"),
        ("Istanbul", "TR"),
        ("Crocus", "RU"),
        ("Gwadar", "PK"),
        ("Besham", "PK"),
        ("Mir Ali", "PK"),
    ];
    let locations: HashMap<&str, &Object> = objects
        .iter()
        .filter(|o| o.object_type() == "location")
        .map(|o| (o.id(), o))
        .collect();
    for (fragment, country) in expected_country {
        let incident = incident_named(&objects, fragment);
        let location = objects
            .iter()
            .filter_map(Object::as_relationship)
            .find(|r| r.source_ref == incident.id && r.relationship_type == "located-at")
            .and_then(|r| locations.get(r.target_ref))
            .unwrap_or_else(|| panic!("{fragment} has no location"));
        assert_eq!(location.get_str("country"), Some(country), "{fragment}");
        assert!(
            location.get("latitude").is_some() && location.get("longitude").is_some(),
            "{fragment}"
        );
    }
}

#[test]
fn holds_the_groups_their_aliases_and_affiliations() {
    let objects = demo_objects();
    let index = AliasIndex::curated();
    for actor in objects.iter().filter(|o| o.object_type() == "threat-actor") {
        let name = actor.get_str("name").unwrap();
        let group = index
            .resolve(name)
            .unwrap_or_else(|| panic!("{name} is not a curated group"));
        assert_eq!(
            index.group(group).name,
            name,
            "the demo uses the curated canonical names"
        );
        for alias in actor.names() {
            assert_eq!(
                index.resolve(alias),
                Some(group),
                "{alias} should resolve to {name}"
            );
        }
    }
    let id = |name: &str| by_name(&objects, "threat-actor", name).id().to_string();
    assert!(has_link(
        &objects,
        &id("Islamic State Khorasan Province"),
        "part-of",
        &id("Islamic State")
    ));
    assert!(has_link(
        &objects,
        &id("Majeed Brigade"),
        "part-of",
        &id("Baloch Liberation Army")
    ));
    assert!(has_link(
        &objects,
        &id("Turkistan Islamic Party"),
        "affiliated-with",
        &id("al-Qaeda")
    ));
    assert!(has_link(
        &objects,
        &id("Jaish-e-Fursan-e-Muhammad"),
        "affiliated-with",
        &id("Tehrik-e-Taliban Pakistan")
    ));
    for name in ["Jaish al-Adl", "al-Qaeda in the Indian Subcontinent"] {
        by_name(&objects, "threat-actor", name);
    }
    // The curated affiliations are all in the demo.
    for (source, kind, target) in incident::alias::CURATED_AFFILIATIONS {
        assert!(
            has_link(&objects, &id(source), kind.as_str(), &id(target)),
            "{source} {kind} {target}"
        );
    }

    let kerman = incident_named(&objects, "Kerman").id;
    let istanbul = incident_named(&objects, "Istanbul").id;
    let crocus = incident_named(&objects, "Crocus").id;
    assert!(has_link(&objects, &istanbul, "same-cell", &kerman));
    for incident in [&kerman, &istanbul, &crocus] {
        assert!(has_link(
            &objects,
            incident,
            "attributed-to",
            &id("Islamic State Khorasan Province")
        ));
        assert!(has_link(
            &objects,
            incident,
            "claimed-by",
            &id("Islamic State")
        ));
    }
    assert!(has_link(
        &objects,
        &incident_named(&objects, "Gwadar").id,
        "claimed-by",
        &id("Majeed Brigade")
    ));
    assert!(has_link(
        &objects,
        &incident_named(&objects, "Mir Ali").id,
        "claimed-by",
        &id("Jaish-e-Fursan-e-Muhammad")
    ));
    // Tessera's relationship types are used as the crate documents them.
    for link in objects.iter().filter_map(Object::as_relationship) {
        let kind = incident::RelationshipType::parse(link.relationship_type)
            .unwrap_or_else(|| panic!("{} is not a Tessera type", link.relationship_type));
        assert!(
            kind.allows(link.source_ref, link.target_ref),
            "{} {} {}",
            link.source_ref,
            kind,
            link.target_ref
        );
    }
}

#[test]
fn the_seed_article_names_what_the_demo_holds() {
    // The seed article is test input only: it is read here, never copied into the repository.
    let article =
        String::from_utf8(common::read_data("text/seed/000_5773ec9424cee50c.txt")).unwrap();
    for place in [
        "Kerman",
        "Istanbul",
        "Crocus City Hall",
        "Gwadar",
        "Karakoram Highway",
    ] {
        assert!(article.contains(place), "{place}");
    }
    let index = AliasIndex::curated();
    // The article's spellings resolve to the demo's groups.
    let iskp = index.resolve("Islamic State Khorasan Province").unwrap();
    for spelling in ["Isis-Khorasan", "Isis-K"] {
        assert!(article.contains(spelling));
        assert_eq!(index.resolve(spelling), Some(iskp));
    }
    assert!(article.contains("Tehreek-i-Taliban Pakistan (TTP)"));
    assert_eq!(
        index.resolve("Tehreek-i-Taliban Pakistan (TTP)"),
        index.resolve("TTP")
    );
    assert_eq!(
        index.resolve("Turkistan Islamic Party"),
        index.resolve("ETIM")
    );
}

mod common;
