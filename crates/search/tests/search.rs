//! Search over real data: the demo case, the MISP galaxies and the UCDP sample.

use std::path::PathBuf;

use incident::import::misp::{self, GalaxyFile};
use incident::{AliasIndex, Provenance};
use search::{SearchIndex, SearchQuery};
use store::{PreparedVersion, Store};

fn shared(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data")
        .join(relative)
}

fn write(store: &Store, objects: &[stix::Object]) {
    let prepared: Vec<PreparedVersion> = objects.iter().map(PreparedVersion::from_object).collect();
    store.write_batch(&prepared, "test").unwrap();
}

fn node() -> (tempfile::TempDir, Store, SearchIndex) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::init(&dir.path().join("node")).unwrap();
    let index = SearchIndex::open(&dir.path().join("search")).unwrap();
    (dir, store, index)
}

fn query(text: &str) -> SearchQuery {
    SearchQuery {
        text: text.to_string(),
        limit: 10,
        ..SearchQuery::default()
    }
}

#[test]
fn a_group_is_found_under_every_name() {
    let (_dir, store, mut index) = node();
    write(&store, &incident::demo::demo_objects());
    let terrorist = std::fs::read(shared("groups/clusters_terrorist-groups.json")).unwrap();
    let actors = std::fs::read(shared("groups/clusters_threat-actor.json")).unwrap();
    let files = [
        GalaxyFile {
            label: "terrorist",
            contents: &terrorist,
        },
        GalaxyFile {
            label: "actors",
            contents: &actors,
        },
    ];
    let provenance = Provenance::new(
        stix::Timestamp::parse("2024-01-01T00:00:00.000Z").unwrap(),
        incident::ids::TESSERA_IDENTITY_ID,
    );
    let mut aliases = AliasIndex::curated();
    let imported = misp::import(&files, &provenance, &mut aliases).unwrap();
    write(&store, &imported.objects);
    assert!(index.catch_up(&store).unwrap() > 1_000);

    let first = |text: &str| -> (String, String) {
        let results = index.search(&query(text)).unwrap();
        let hit = results
            .hits
            .first()
            .unwrap_or_else(|| panic!("nothing found for {text:?}"));
        (hit.id.clone(), hit.name.clone())
    };
    let iskp = first("ISKP");
    assert_eq!(first("Islamic State Khorasan Province"), iskp);
    assert_eq!(first("ISIS-K"), iskp);
    assert_eq!(first("isis k"), iskp, "case and punctuation fold away");
    // One group, several sources: the demo's ISKP and the MISP galaxy's are one hit, and
    // neither source object was rewritten.
    let all = index
        .search(&SearchQuery {
            text: "Khorasan".into(),
            types: vec!["threat-actor".into()],
            limit: 50,
            ..SearchQuery::default()
        })
        .unwrap();
    let khorasan: Vec<_> = all
        .hits
        .iter()
        .filter(|h| h.name.to_lowercase().contains("khorasan province"))
        .collect();
    assert_eq!(khorasan.len(), 1, "{khorasan:?}");
    assert_eq!(
        khorasan[0].also.len(),
        1,
        "the MISP cluster is a second source of the same group: {khorasan:?}"
    );

    // Catching up again indexes nothing new.
    assert_eq!(index.catch_up(&store).unwrap(), 0);
}

#[test]
fn facets_count_every_match_and_filter() {
    let (_dir, store, mut index) = node();
    write(&store, &incident::demo::demo_objects());
    index.catch_up(&store).unwrap();
    let everything = index
        .search(&SearchQuery {
            limit: 100,
            ..SearchQuery::default()
        })
        .unwrap();
    let incidents = everything.facets["type"]["incident"];
    assert!(
        incidents >= 6,
        "the demo case has the six 2024 incidents: {:?}",
        everything.facets
    );
    let in_2024 = index
        .search(&SearchQuery {
            types: vec!["incident".into()],
            years: vec![2024],
            limit: 100,
            ..SearchQuery::default()
        })
        .unwrap();
    assert_eq!(in_2024.total as u64, incidents);
    let countries = &in_2024.facets["country"];
    assert!(
        countries.contains_key("IR") && countries.contains_key("PK"),
        "incidents take their location's country: {countries:?}"
    );
    let pakistan = index
        .search(&SearchQuery {
            types: vec!["incident".into()],
            countries: vec!["PK".into()],
            limit: 100,
            ..SearchQuery::default()
        })
        .unwrap();
    assert!(pakistan.total >= 3 && pakistan.total < in_2024.total);
    for hit in &pakistan.hits {
        assert_eq!(hit.object_type, "incident");
    }
}

#[test]
fn odd_queries_are_answered_or_refused_cleanly() {
    let (_dir, store, mut index) = node();
    write(&store, &incident::demo::demo_objects());
    index.catch_up(&store).unwrap();
    for text in ["\"unbalanced", "name:", "(((", "AND OR NOT", "*", "ק", ""] {
        index.search(&query(text)).unwrap();
    }
    assert!(
        index
            .search(&query(&"x".repeat(search::QUERY_BYTES_MAX + 1)))
            .is_err()
    );
    assert!(
        index
            .search(&SearchQuery {
                limit: search::LIMIT_MAX + 1,
                ..SearchQuery::default()
            })
            .is_err()
    );
}
