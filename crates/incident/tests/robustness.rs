//! Property tests: the extension round-trips through JSON, and the importers never panic, emit
//! only valid STIX and account for every row, whatever bytes they are handed.

mod common;

use incident::import::misp::GalaxyFile;
use incident::import::{gdelt, misp, ucdp};
use incident::vocab::{
    AttackType, ClaimMode, DatePrecision, LocationPrecision, TargetType, ViolenceType, WeaponType,
};
use incident::{AliasIndex, CasualtyRange, Date, IncidentExtension};
use proptest::prelude::*;

fn casualties() -> impl Strategy<Value = Option<CasualtyRange>> {
    proptest::option::of((0u32..500, 0u32..500, 0u32..500).prop_map(|(a, b, c)| {
        let mut v = [a, b, c];
        v.sort_unstable();
        CasualtyRange::range(v[0], v[1], v[2])
    }))
}

fn subset<T: Copy + std::fmt::Debug + 'static>(all: &'static [T]) -> impl Strategy<Value = Vec<T>> {
    proptest::sample::subsequence(all, 0..=3.min(all.len()))
}

fn extension() -> impl Strategy<Value = IncidentExtension> {
    (
        (1i64..3_000_000, 0i64..400, any::<bool>()),
        proptest::sample::select(DatePrecision::ALL),
        subset(&AttackType::ALL[..8]),
        subset(&WeaponType::ALL[..12]),
        subset(TargetType::ALL),
        (casualties(), casualties(), proptest::option::of(0u32..50)),
        (
            proptest::option::of(any::<bool>()),
            proptest::option::of(proptest::sample::select(ClaimMode::ALL)),
        ),
        (
            proptest::option::of(any::<bool>()),
            proptest::option::of(any::<bool>()),
            proptest::option::of(any::<bool>()),
            proptest::option::of(any::<bool>()),
        ),
        (
            proptest::option::of(proptest::sample::select(LocationPrecision::ALL)),
            proptest::option::of(proptest::sample::select(ViolenceType::ALL)),
        ),
    )
        .prop_map(
            |(
                (day, span, ranged),
                precision,
                attacks,
                weapons,
                targets,
                (killed, wounded, perpetrators),
                (claimed, mode),
                (suicide, uncertain, logistical, ideological),
                (place, violence),
            )| {
                let date = Date::from_days_since_epoch(day - 719_162).unwrap();
                let mut extension = IncidentExtension::new(date, precision);
                extension.date_end = ranged.then(|| date.add_days(span).unwrap());
                // Unknown stands alone; the subsets above leave it out.
                extension.attack_types = attacks;
                extension.weapon_types = weapons;
                extension.target_types = targets
                    .into_iter()
                    .filter(|t| *t != TargetType::Unknown)
                    .collect();
                extension.killed = killed;
                extension.wounded = wounded;
                extension.perpetrators_killed = perpetrators;
                extension.claimed = claimed;
                extension.claim_mode = if claimed == Some(true) { mode } else { None };
                extension.suicide = suicide;
                extension.perpetrator_uncertain = uncertain;
                extension.international_logistical = logistical;
                extension.international_ideological = ideological;
                extension.location_precision = place;
                extension.violence_type = violence;
                extension
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn extensions_round_trip_through_json(extension in extension()) {
        prop_assert!(extension.problems().is_empty(), "{:?}", extension.problems());
        let json = extension.to_json();
        prop_assert_eq!(IncidentExtension::from_json(&json).unwrap(), extension.clone());
        let text = serde_json::to_string(&json).unwrap();
        prop_assert_eq!(IncidentExtension::from_json(&serde_json::from_str(&text).unwrap()).unwrap(), extension);
    }

    #[test]
    fn ucdp_survives_any_rows(rows in proptest::collection::vec(proptest::collection::vec("[ -~]{0,12}", 1..30), 0..20)) {
        let header = "id,type_of_violence,side_a,side_b,where_prec,latitude,longitude,country,date_prec,date_start,date_end,best,high,low";
        let mut csv = String::from(header);
        for row in &rows {
            csv.push('\n');
            csv.push_str(&row.iter().map(|f| format!("\"{}\"", f.replace('"', "\"\""))).collect::<Vec<_>>().join(","));
        }
        let import = ucdp::import(csv.as_bytes(), &common::provenance(), &mut AliasIndex::curated()).unwrap();
        prop_assert_eq!(import.report.rows, rows.len());
        prop_assert_eq!(import.report.imported + import.report.skipped_invalid, rows.len());
        prop_assert!(import.objects.iter().all(|o| o.validate().is_empty()));
    }

    #[test]
    fn importers_never_panic_on_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = ucdp::import(&bytes, &common::provenance(), &mut AliasIndex::new());
        if let Ok(import) = gdelt::import(&bytes, &common::provenance(), &AliasIndex::new()) {
            prop_assert!(import.objects.iter().all(|o| o.validate().is_empty()));
        }
        let _ = misp::import(&[GalaxyFile { label: "fuzz", contents: &bytes }], &common::provenance(), &mut AliasIndex::new());
    }
}

#[test]
fn a_valid_ucdp_row_turning_invalid_is_reported_not_imported() {
    // The same row, valid, then made invalid field by field: each change is caught by its column.
    let header = "id,type_of_violence,side_a,side_b,where_prec,latitude,longitude,country,country_id,date_prec,date_start,date_end,best,high,low";
    let valid = [
        "9",
        "2",
        "Sinaloa Cartel",
        "Jalisco Cartel New Generation",
        "1",
        "20.67",
        "-103.35",
        "Mexico",
        "70",
        "1",
        "2020-05-01",
        "2020-05-01",
        "3",
        "3",
        "3",
    ];
    let breakages = [
        (1, "4", "type_of_violence"),
        (4, "0", "where_prec"),
        (5, "-91", "latitude"),
        (6, "181", "longitude"),
        (9, "7", "date_prec"),
        (10, "2020-13-01", "date_start"),
        (12, "-1", "best"),
        (2, "  ", "side_a"),
    ];
    for (field, value, column) in breakages {
        let mut row = valid;
        row[0] = "10";
        row[field] = value;
        let csv = format!("{header}\n{}\n{}\n", valid.join(","), row.join(","));
        let import = ucdp::import(
            csv.as_bytes(),
            &common::provenance(),
            &mut AliasIndex::new(),
        )
        .unwrap();
        assert_eq!(import.report.imported, 1, "{column}");
        assert_eq!(import.report.problems.len(), 1, "{column}");
        assert_eq!(import.report.problems[0].line, 3, "{column}");
        assert_eq!(import.report.problems[0].column.as_deref(), Some(column));
    }
}
