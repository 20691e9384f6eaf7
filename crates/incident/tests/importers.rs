//! The importers, on small hand-made inputs (every kind of bad row) and on the project's real
//! files (exact counts).

mod common;

use std::collections::HashSet;

use incident::import::misp::GalaxyFile;
use incident::import::{gdelt, misp, ucdp};
use incident::{AliasIndex, Incident};
use stix::Object;

const UCDP_HEADER: &str = "id,type_of_violence,conflict_name,dyad_name,side_a,side_a_new_id,side_b,side_b_new_id,where_prec,where_coordinates,where_description,adm_1,latitude,longitude,country,country_id,event_clarity,date_prec,date_start,date_end,deaths_a,best,high,low";

fn ucdp_csv(rows: &[&str]) -> String {
    let mut text = String::from(UCDP_HEADER);
    for row in rows {
        text.push('\n');
        text.push_str(row);
    }
    text.push('\n');
    text
}

fn ids_of(objects: &[Object], object_type: &str) -> Vec<String> {
    objects
        .iter()
        .filter(|o| o.object_type() == object_type)
        .map(|o| o.id().to_string())
        .collect()
}

/// Every `*_ref` of the import points at an object of the import.
fn assert_closed(objects: &[Object]) {
    let ids: HashSet<&str> = objects.iter().map(Object::id).collect();
    for object in objects {
        for (path, target) in object.references() {
            if path == "created_by_ref" {
                continue;
            }
            assert!(
                ids.contains(target.as_str()),
                "{} {path} -> {target} dangles",
                object.id()
            );
        }
    }
}

#[test]
fn ucdp_reports_bad_rows_with_line_and_column_and_imports_the_rest() {
    let csv = ucdp_csv(&[
        // line 2: good, one-sided violence by IS.
        "1,3,IS,IS - Civilians,IS,234,Civilians,1,1,Kabul,in Kabul city,Kabul province,34.53,69.17,Afghanistan,700,1,1,2021-08-26,2021-08-26,2,170,185,160",
        // line 3: the date does not exist.
        "2,1,Syria: Government,Government of Syria - Syrian insurgents,Government of Syria,118,Syrian insurgents,4456,1,Aleppo,,Aleppo governorate,36.2,37.15,Syria,652,1,1,2013-02-30,2013-02-30,0,2,2,2",
        // line 4: latitude out of range.
        "3,1,Syria: Government,Government of Syria - Syrian insurgents,Government of Syria,118,Syrian insurgents,4456,1,Aleppo,,Aleppo governorate,96.2,37.15,Syria,652,1,1,2013-02-03,2013-02-03,0,2,2,2",
        // line 5: a short row, so later columns are missing.
        "4,1,Syria: Government,Government of Syria - Syrian insurgents,Government of Syria",
        // line 6: where_prec outside 1..7.
        "5,1,Syria: Government,Government of Syria - Syrian insurgents,Government of Syria,118,Syrian insurgents,4456,9,Aleppo,,Aleppo governorate,36.2,37.15,Syria,652,1,1,2013-02-03,2013-02-03,0,2,2,2",
        // lines 7-8: good, with a quoted field spanning two lines; state-based, ISIS spelled
        // otherwise: the same group as line 2's IS.
        "6,1,Iraq: IS,Government of Iraq - IS,Government of Iraq,116,ISIS,234,2,\"Mosul\nold city\",,Nineveh,36.34,43.13,Iraq,645,2,2,2017-06-01,2017-06-04,,5,9,4",
        // line 9: deaths not a number.
        "7,1,Iraq: IS,Government of Iraq - IS,Government of Iraq,116,IS,234,1,Mosul,,Nineveh,36.34,43.13,Iraq,645,1,1,2017-06-01,2017-06-01,0,many,9,4",
        // line 10: the end before the start.
        "8,1,Iraq: IS,Government of Iraq - IS,Government of Iraq,116,IS,234,1,Mosul,,Nineveh,36.34,43.13,Iraq,645,1,1,2017-06-05,2017-06-01,0,5,9,4",
    ]);
    let mut index = AliasIndex::curated();
    let import = ucdp::import(csv.as_bytes(), &common::provenance(), &mut index).unwrap();
    let report = &import.report;
    assert_eq!(
        (report.rows, report.imported, report.skipped_invalid),
        (8, 2, 6)
    );
    let problems: Vec<(u64, Option<&str>)> = report
        .problems
        .iter()
        .map(|p| (p.line, p.column.as_deref()))
        .collect();
    assert_eq!(
        problems,
        vec![
            (3, Some("date_start")),
            (4, Some("latitude")),
            (5, Some("side_b")),
            (6, Some("where_prec")),
            (9, Some("best")),
            (10, Some("date_end"))
        ]
    );
    assert!(
        report.problems[2].reason.contains("missing"),
        "{}",
        report.problems[2]
    );
    common::assert_all_valid(&import.objects);
    assert_closed(&import.objects);
    assert_eq!(report.count("incident"), 2);
    // IS and ISIS are one group; the governments and civilians are identities.
    assert_eq!(report.count("threat-actor"), 1);
    let actor = import
        .objects
        .iter()
        .find(|o| o.object_type() == "threat-actor")
        .unwrap();
    assert_eq!(actor.get_str("name"), Some("Islamic State"));
    assert_eq!(
        report.count("identity"),
        2,
        "Civilians in Afghanistan, Government of Iraq"
    );

    let one_sided = import
        .objects
        .iter()
        .find(|o| o.object_type() == "incident" && o.get_str("name").unwrap().contains("Kabul"))
        .unwrap();
    let typed = Incident::from_object(one_sided).unwrap();
    assert_eq!(
        typed.extension.killed,
        Some(incident::CasualtyRange::range(160, 170, 185))
    );
    assert_eq!(typed.extension.perpetrators_killed, Some(2));
    assert_eq!(
        typed.extension.violence_type,
        Some(incident::vocab::ViolenceType::OneSided)
    );
    assert_eq!(typed.confidence, Some(ucdp::CONFIDENCE_CLEAR));
    assert_eq!(typed.external_references[0].source_name, "UCDP GED 23.1");
    assert_eq!(
        typed.external_references[0].external_id.as_deref(),
        Some("1")
    );
    let kinds: HashSet<&str> = import
        .objects
        .iter()
        .filter_map(Object::as_relationship)
        .filter(|r| r.source_ref == typed.id)
        .map(|r| r.relationship_type)
        .collect();
    assert_eq!(
        kinds,
        HashSet::from(["located-at", "attributed-to", "targets"])
    );

    let ranged = import
        .objects
        .iter()
        .find(|o| o.object_type() == "incident" && o.get_str("name").unwrap().contains("Mosul"))
        .unwrap();
    let typed = Incident::from_object(ranged).unwrap();
    assert_eq!(
        typed.extension.date_precision,
        incident::vocab::DatePrecision::Week
    );
    assert_eq!(
        typed.extension.date_end.map(|d| d.to_string()).as_deref(),
        Some("2017-06-04")
    );
    assert_eq!(
        typed.extension.location_precision,
        Some(incident::vocab::LocationPrecision::Near)
    );
    assert_eq!(typed.confidence, Some(ucdp::CONFIDENCE_UNCLEAR));
    let kinds: Vec<&str> = import
        .objects
        .iter()
        .filter_map(Object::as_relationship)
        .filter(|r| r.source_ref == typed.id)
        .map(|r| r.relationship_type)
        .collect();
    assert_eq!(kinds.iter().filter(|k| **k == "involves").count(), 2);
}

#[test]
fn ucdp_refuses_a_file_without_its_columns() {
    let error = ucdp::import(
        b"id,side_a\n1,IS\n",
        &common::provenance(),
        &mut AliasIndex::new(),
    )
    .unwrap_err();
    assert!(
        matches!(error, incident::import::ImportError::MissingColumn { .. }),
        "{error}"
    );
    assert!(matches!(
        ucdp::import(b"", &common::provenance(), &mut AliasIndex::new()),
        Err(incident::import::ImportError::NoHeader)
    ));
}

#[test]
fn ucdp_reimport_is_idempotent() {
    let csv = common::read_data("events/ucdp-ged-23.1-sample.csv");
    let first = ucdp::import(&csv, &common::provenance(), &mut AliasIndex::curated()).unwrap();
    let second = ucdp::import(&csv, &common::provenance(), &mut AliasIndex::curated()).unwrap();
    assert_eq!(first.objects, second.objects);
}

#[test]
fn ucdp_real_sample_gives_one_thousand_incidents() {
    let csv = common::read_data("events/ucdp-ged-23.1-sample.csv");
    let mut index = AliasIndex::curated();
    let import = ucdp::import(&csv, &common::provenance(), &mut index).unwrap();
    let report = &import.report;
    assert_eq!(report.rows, 1000);
    assert_eq!(report.imported, 1000);
    assert_eq!(report.skipped_invalid, 0, "{:?}", report.problems);
    assert_eq!(report.count("incident"), 1000);
    // located-at for every event, and two more edges each (attributed-to and targets, or two
    // involves), except where side B is civilians in organised fighting (none in the sample).
    assert_eq!(report.count("relationship"), 3000);
    assert_eq!(report.count("location"), 839);
    assert_eq!(report.count("threat-actor"), 213);
    assert_eq!(report.count("identity"), 91);
    // GED 23.1 has 13 rows whose best estimate lies outside low..high: kept, widened, noted.
    assert_eq!(
        report
            .notes
            .iter()
            .filter(|n| n.contains("out of order"))
            .count(),
        13
    );
    common::assert_all_valid(&import.objects);
    assert_closed(&import.objects);
    assert_eq!(
        ids_of(&import.objects, "incident")
            .into_iter()
            .collect::<HashSet<_>>()
            .len(),
        1000
    );
    // The Islamic State is one object however UCDP names it, and resolves through the index.
    let is = index.resolve("Daesh").unwrap();
    let is_actors: Vec<&Object> = import
        .objects
        .iter()
        .filter(|o| o.object_type() == "threat-actor" && index.resolve_object(o) == Some(is))
        .collect();
    assert_eq!(is_actors.len(), 1);
    assert_eq!(is_actors[0].get_str("name"), Some("Islamic State"));
    for incident in import
        .objects
        .iter()
        .filter(|o| o.object_type() == "incident")
    {
        Incident::from_object(incident).unwrap();
    }
}

const GDELT_HEADER: &str = "GLOBALEVENTID,SQLDATE,Actor1Code,Actor1Name,Actor1KnownGroupCode,Actor1Type1Code,Actor2Name,Actor2Type1Code,EventCode,CAMEOCodeDescription,EventRootCode,ActionGeo_Type,ActionGeo_FullName,ActionGeo_CountryCode,ActionGeo_ADM1Code,ActionGeo_Lat,ActionGeo_Long,ActionGeo_FeatureID,SOURCEURL";

#[test]
fn gdelt_converts_attacks_skips_the_rest_and_reports_bad_rows() {
    let csv = [
        GDELT_HEADER,
        // line 2: a suicide bombing by the Taliban against police in Kabul.
        "101,20170531,TAL,TALIBAN,TAL,,POLICE,COP,1831,Carry out suicide bombing,18,4,\"Kabul, Kabol, Afghanistan\",AF,AF13,34.5167,69.1833,-3378435,https://example.org/kabul",
        // line 3: a statement, not an attack.
        "102,20170531,AFG,AFGHANISTAN,,,,,010,Make statement,01,4,\"Kabul, Kabol, Afghanistan\",AF,AF13,34.5167,69.1833,-3378435,https://example.org/s",
        // line 4: an impossible date.
        "103,20171341,,,,,,,190,Use conventional military force,19,1,Syria,SY,SY,35,38,SY,",
        // line 5: longitude out of range.
        "104,20170601,,,,,,,193,Fight with small arms,19,4,\"Aleppo, Halab, Syria\",SY,SY09,36.2,237.1,-1,",
        // line 6: too short.
        "105,20170601",
        // line 7: a country-level event, no group.
        "106,20170601,,,,,,,190,Use conventional military force,19,1,Syria,SY,SY,35,38,SY,",
    ]
    .join("\n");
    let index = AliasIndex::curated();
    let import = gdelt::import(csv.as_bytes(), &common::provenance(), &index).unwrap();
    let report = &import.report;
    assert_eq!(
        (
            report.rows,
            report.imported,
            report.skipped_out_of_scope,
            report.skipped_invalid
        ),
        (6, 2, 1, 3)
    );
    let problems: Vec<(u64, Option<&str>)> = report
        .problems
        .iter()
        .map(|p| (p.line, p.column.as_deref()))
        .collect();
    assert_eq!(
        problems,
        vec![
            (4, Some("SQLDATE")),
            (5, Some("ActionGeo_Long")),
            (6, Some("EventRootCode"))
        ]
    );
    common::assert_all_valid(&import.objects);
    assert_closed(&import.objects);
    let kabul = import
        .objects
        .iter()
        .find(|o| o.object_type() == "incident" && o.get_str("name").unwrap().contains("Kabul"))
        .unwrap();
    let typed = Incident::from_object(kabul).unwrap();
    assert_eq!(typed.extension.suicide, Some(true));
    assert_eq!(
        typed.extension.attack_types,
        vec![incident::vocab::AttackType::BombingExplosion]
    );
    assert_eq!(
        typed.extension.target_types,
        vec![incident::vocab::TargetType::Police]
    );
    assert_eq!(typed.confidence, Some(gdelt::CONFIDENCE));
    // The Taliban of GDELT are the curated Taliban, not the TTP.
    let actor = import
        .objects
        .iter()
        .find(|o| o.object_type() == "threat-actor")
        .unwrap();
    assert_eq!(index.resolve_object(actor), index.resolve("Afghan Taliban"));
    let location = import
        .objects
        .iter()
        .find(|o| {
            o.object_type() == "location" && o.get_str("name") == Some("Kabul, Kabol, Afghanistan")
        })
        .unwrap();
    assert_eq!(location.get_str("country"), Some("AF"));
    let syria = import
        .objects
        .iter()
        .find(|o| o.object_type() == "location" && o.get_str("country") == Some("SY"))
        .unwrap();
    assert!(
        syria.get("precision").is_none(),
        "a country-level place has no radius"
    );
}

#[test]
fn gdelt_reads_raw_exports_without_a_header() {
    let mut fields = vec![""; incident::import::gdelt::GDELT_2_COLUMNS.len()];
    let column = |name: &str| {
        incident::import::gdelt::GDELT_2_COLUMNS
            .iter()
            .position(|c| *c == name)
            .unwrap()
    };
    fields[column("GLOBALEVENTID")] = "900";
    fields[column("SQLDATE")] = "20240322";
    fields[column("EventCode")] = "193";
    fields[column("EventRootCode")] = "19";
    fields[column("ActionGeo_Type")] = "4";
    fields[column("ActionGeo_FullName")] = "Krasnogorsk, Moskovskaya Oblast', Russia";
    fields[column("ActionGeo_CountryCode")] = "RS";
    fields[column("ActionGeo_Lat")] = "55.8204";
    fields[column("ActionGeo_Long")] = "37.3302";
    let tsv = fields.join("\t") + "\n";
    let import = gdelt::import(tsv.as_bytes(), &common::provenance(), &AliasIndex::new()).unwrap();
    assert_eq!(import.report.imported, 1);
    let location = import
        .objects
        .iter()
        .find(|o| o.object_type() == "location")
        .unwrap();
    assert_eq!(location.get_str("country"), Some("RU"), "FIPS RS is Russia");
}

#[test]
fn gdelt_real_sample_counts() {
    let csv = common::read_data("events/gdelt-2.0-events-sample.csv");
    // The groups the node knows: curated, and those the MISP galaxies name.
    let mut index = AliasIndex::curated();
    let (terrorist, galaxy_actors) = real_galaxies();
    let files = [
        GalaxyFile {
            label: "clusters_terrorist-groups.json",
            contents: &terrorist,
        },
        GalaxyFile {
            label: "clusters_threat-actor.json",
            contents: &galaxy_actors,
        },
    ];
    misp::import(&files, &common::provenance(), &mut index).unwrap();
    let import = gdelt::import(&csv, &common::provenance(), &index).unwrap();
    let report = &import.report;
    assert_eq!(report.rows, 6090);
    assert_eq!(
        report.imported, 454,
        "CAMEO roots 18 (92), 19 (361) and 20 (1)"
    );
    assert_eq!(report.skipped_out_of_scope, 5636);
    assert_eq!(report.skipped_invalid, 0, "{:?}", report.problems);
    assert_eq!(report.count("incident"), 454);
    assert_eq!(report.count("location"), 198);
    // The sample's attacks name their actors by labels ("MILITANT", "GUNMAN", "REBEL"), none of
    // them a group the node knows, even with the 1,130 galaxy groups: no attribution is made.
    assert_eq!(report.count("threat-actor"), 0);
    assert_eq!(
        report.count("relationship"),
        451,
        "located-at for the events GDELT places"
    );
    common::assert_all_valid(&import.objects);
    assert_closed(&import.objects);
}

fn galaxy(name: &str, kind: &str, clusters: &str) -> String {
    format!(
        "{{\"name\": \"{name}\", \"type\": \"{kind}\", \"source\": \"MISP Project\", \"version\": 1, \"values\": [\n{clusters}\n]}}"
    )
}

#[test]
fn misp_merges_one_group_listed_twice_and_reports_bad_clusters() {
    let terrorist = galaxy(
        "Listed terrorist entities",
        "terrorist-groups",
        r#"{"value": "Islamic State Khorasan Province", "uuid": "11111111-1111-4111-8111-111111111111", "meta": {"summary": "ISIS-K, Daesh Khorasan and Wilayat Khorasan", "content": "Branch in Afghanistan."}},
{"value": "Baloch Liberation Army (BLA)", "uuid": "22222222-2222-4222-8222-222222222222", "meta": {"summary": "N/A"}},
{"uuid": "33333333-3333-4333-8333-333333333333"},
{"value": "Alpha Group", "uuid": "44444444-4444-4444-8444-444444444444", "meta": {"synonyms": ["Beta Team"]}}"#,
    );
    let actors = galaxy(
        "Threat Actor",
        "threat-actor",
        r#"{"value": "ISKP", "uuid": "55555555-5555-4555-8555-555555555555", "meta": {"country": "AF", "synonyms": ["IS-K"]}, "related": [{"dest-uuid": "22222222-2222-4222-8222-222222222222", "type": "similar", "tags": ["estimative-language:likelihood-probability=\"unlikely\""]}]},
{"value": "Beta Team", "uuid": "66666666-6666-4666-8666-666666666666", "meta": {"synonyms": ["Alpha Group"]}},
{"value": "Gamma", "uuid": "77777777-7777-4777-8777-777777777777", "meta": {"synonyms": ["Baloch Liberation Army"]}},
{"value": 5, "uuid": "88888888-8888-4888-8888-888888888888"}"#,
    );
    let files = [
        GalaxyFile {
            label: "terrorist.json",
            contents: terrorist.as_bytes(),
        },
        GalaxyFile {
            label: "actors.json",
            contents: actors.as_bytes(),
        },
    ];
    let mut index = AliasIndex::curated();
    let import = misp::import(&files, &common::provenance(), &mut index).unwrap();
    let report = &import.report;
    assert_eq!(
        (report.rows, report.imported, report.skipped_invalid),
        (8, 6, 2)
    );
    let problems: Vec<(Option<&str>, u64, Option<&str>)> = report
        .problems
        .iter()
        .map(|p| (p.file.as_deref(), p.line, p.column.as_deref()))
        .collect();
    assert_eq!(
        problems,
        vec![
            (Some("terrorist.json"), 4, Some("value")),
            (Some("actors.json"), 5, Some("value"))
        ]
    );
    // ISKP (through the curated index) and Alpha/Beta (mutual synonyms) merge; Gamma names BLA
    // only one way and stays apart.
    assert_eq!(report.merged, 2);
    assert_eq!(report.count("threat-actor"), 4);
    common::assert_all_valid(&import.objects);
    assert_closed(&import.objects);
    let iskp = import
        .objects
        .iter()
        .find(|o| o.get_str("name") == Some("Islamic State Khorasan Province"))
        .unwrap();
    assert_eq!(iskp.get("threat_actor_types").unwrap()[0], "terrorist");
    let references = iskp.get("external_references").unwrap().as_array().unwrap();
    assert_eq!(references.len(), 2, "both clusters are cited");
    assert!(
        references
            .iter()
            .all(|r| r["description"].as_str().unwrap().contains("CC0"))
    );
    for name in ["ISKP", "IS-K", "Daesh Khorasan", "Isis-K"] {
        assert_eq!(
            index.resolve(name),
            index.resolve("Islamic State Khorasan Province"),
            "{name}"
        );
    }
    let bla = import
        .objects
        .iter()
        .find(|o| o.get_str("name") == Some("Baloch Liberation Army"))
        .unwrap();
    assert!(bla.names().contains(&"BLA"));
    // The country becomes a location, and the related link a relationship of MISP's type.
    assert_eq!(report.count("location"), 1);
    let similar = import
        .objects
        .iter()
        .filter_map(Object::as_relationship)
        .find(|r| r.relationship_type == "similar")
        .unwrap();
    assert_eq!(
        (similar.source_ref, similar.target_ref),
        (iskp.id(), bla.id())
    );
}

#[test]
fn misp_refuses_what_is_not_a_galaxy() {
    let error = misp::import(
        &[GalaxyFile {
            label: "x.json",
            contents: b"{\"values\": [",
        }],
        &common::provenance(),
        &mut AliasIndex::new(),
    )
    .unwrap_err();
    assert!(
        matches!(error, incident::import::ImportError::Json { .. }),
        "{error}"
    );
}

fn real_galaxies() -> (Vec<u8>, Vec<u8>) {
    (
        common::read_data("groups/clusters_terrorist-groups.json"),
        common::read_data("groups/clusters_threat-actor.json"),
    )
}

#[test]
fn misp_real_galaxies_import_with_their_synonyms() {
    let (terrorist, actors) = real_galaxies();
    let files = [
        GalaxyFile {
            label: "clusters_terrorist-groups.json",
            contents: &terrorist,
        },
        GalaxyFile {
            label: "clusters_threat-actor.json",
            contents: &actors,
        },
    ];
    let mut index = AliasIndex::curated();
    let import = misp::import(&files, &common::provenance(), &mut index).unwrap();
    let report = &import.report;
    assert_eq!(report.rows, 90 + 1041);
    assert_eq!(report.skipped_invalid, 0, "{:?}", report.problems);
    // BRONZE HIGHLAND and Evasive Panda list each other: one group.
    assert_eq!(report.merged, 1);
    assert_eq!(report.count("threat-actor"), 1130);
    common::assert_all_valid(&import.objects);
    assert_closed(&import.objects);
    assert_eq!(
        import
            .objects
            .iter()
            .filter(|o| o.object_type() == "threat-actor" && o.get("threat_actor_types").is_some())
            .count(),
        90
    );

    // Every synonym of every cluster resolves to the group of its cluster, unless MISP gives the
    // same name to another group too; those are few, and each is reported.
    let clusters: serde_json::Value = serde_json::from_slice(&actors).unwrap();
    let mut checked = 0;
    let mut ambiguous = Vec::new();
    for cluster in clusters["values"].as_array().unwrap() {
        let group = index
            .resolve(cluster["value"].as_str().unwrap())
            .unwrap_or_else(|| panic!("{}", cluster["value"]));
        for synonym in cluster["meta"]["synonyms"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s.as_str())
        {
            checked += 1;
            if index.resolve(synonym) != Some(group) {
                assert!(
                    index.resolve_all(synonym).contains(&group),
                    "{synonym} does not reach {}",
                    cluster["value"]
                );
                ambiguous.push(synonym.to_string());
            }
        }
    }
    assert!(checked > 1000, "{checked}");
    assert!(
        ambiguous.len() * 25 < checked,
        "{} of {checked} synonyms are ambiguous: {ambiguous:?}",
        ambiguous.len()
    );
    for synonym in &ambiguous {
        let quoted = format!("{:?}", synonym.to_lowercase());
        assert!(
            report
                .notes
                .iter()
                .any(|n| n.to_lowercase().contains(&quoted)),
            "{synonym} is not reported"
        );
    }
    // MISP lists GRIZZLY STEPPE under both APT28 and APT29: it stays ambiguous.
    let both = index.resolve_all("GRIZZLY STEPPE");
    assert!(
        both.contains(&index.resolve("APT28").unwrap())
            && both.contains(&index.resolve("APT29").unwrap())
    );
    assert_eq!(index.resolve("GRIZZLY STEPPE"), None);

    // The Canadian list's summaries: each alias resolves to its entity.
    let listed: serde_json::Value = serde_json::from_slice(&terrorist).unwrap();
    for value in [
        "Islamic State Khorasan Province",
        "Tehrik-e-Taliban Pakistan (TTP)",
        "Lashkar-e-Tayyiba (LeT)",
        "Jaish-e-Mohammed (JeM)",
        "Islamic State",
        "Al Qaida",
    ] {
        let cluster = listed["values"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["value"] == value)
            .unwrap();
        let group = index.resolve(value).unwrap();
        let summary = cluster["meta"]["summary"].as_str().unwrap();
        let mut names = 0;
        for name in summary
            .split(", ")
            .map(|s| s.trim_end_matches('.'))
            .filter(|s| {
                !s.contains(" and ") && !s.contains(['(', ')']) && s.split_whitespace().count() >= 2
            })
        {
            names += 1;
            assert_eq!(index.resolve(name), Some(group), "{name:?} of {value}");
        }
        assert!(names >= 3, "{value}");
    }
    // The curated spellings of the 2024 case reach the listed entities.
    assert_eq!(
        index.resolve("Isis-K"),
        index.resolve("Islamic State Khorasan Province")
    );
    assert_eq!(index.resolve("Tehreek-e-Taliban"), index.resolve("TTP"));
    assert_eq!(index.resolve("Lashkar-e-Taiba"), index.resolve("LeT"));
    assert_eq!(index.resolve("Jaish-e-Muhammad"), index.resolve("JeM"));
    assert_eq!(index.resolve("Al Qaeda"), index.resolve("al-Qaida"));
}

#[test]
fn misp_recognises_groups_an_earlier_import_named() {
    let mut index = AliasIndex::curated();
    let ucdp_import = ucdp::import(
        &common::read_data("events/ucdp-ged-23.1-sample.csv"),
        &common::provenance(),
        &mut index,
    )
    .unwrap();
    let (terrorist, actors) = real_galaxies();
    let files = [
        GalaxyFile {
            label: "clusters_terrorist-groups.json",
            contents: &terrorist,
        },
        GalaxyFile {
            label: "clusters_threat-actor.json",
            contents: &actors,
        },
    ];
    let before = index.len();
    let misp_import = misp::import(&files, &common::provenance(), &mut index).unwrap();
    assert!(index.len() > before);
    // UCDP names the Jalisco cartel in English, the galaxy in Spanish with the English alias:
    // both objects resolve to one group, and each import keeps its own object.
    let ucdp_cartel = ucdp_import
        .objects
        .iter()
        .find(|o| o.get_str("name") == Some("Jalisco Cartel New Generation"))
        .unwrap();
    let misp_cartel = misp_import
        .objects
        .iter()
        .find(|o| o.get_str("name") == Some("Cártel de Jalisco Nueva Generación"))
        .unwrap();
    assert_ne!(ucdp_cartel.id(), misp_cartel.id());
    assert_eq!(
        index.resolve_object(ucdp_cartel),
        index.resolve_object(misp_cartel)
    );
    assert!(index.resolve_object(ucdp_cartel).is_some());
    // A cluster does not take over a group another cluster names: Islamic State-Mozambique lists
    // "Al-Shabaab" among its aliases but is not the Somali group.
    assert_ne!(
        index.resolve("Islamic State-Mozambique"),
        index.resolve("Al Shabaab")
    );
}
