//! GDELT 2.0 event CSV to STIX.
//!
//! GDELT codes every event in the news with a CAMEO code. Only the root codes 18 (assault), 19
//! (fight) and 20 (unconventional mass violence) describe attacks; every other event is counted
//! as out of scope and skipped. Each attack becomes:
//!
//! - an `incident` with the Tessera extension: `SQLDATE` as the day; attack and weapon types and
//!   suicide from the CAMEO event code ([`crate::vocab::cameo_attack`]); the target type from
//!   `Actor2Type1Code`; the location precision from `ActionGeo_Type`. GDELT is coded by machine
//!   from news text, so its incidents carry a low STIX confidence ([`CONFIDENCE`]);
//! - a `location` for the action's place (FIPS country code turned into ISO 3166-1), shared by
//!   the events at one place, and `located-at`;
//! - when `Actor1Name` names a group the [`AliasIndex`] already knows (from the curated table or
//!   an earlier import), a `threat-actor` for it and `attributed-to`, at the same low
//!   confidence. GDELT's actor names are often labels ("GUNMAN", "REBEL", "UNITED NATIONS"), so
//!   GDELT never adds a group of its own.
//!
//! The file may carry a header row (the sample in the project data does, with an added
//! `CAMEOCodeDescription` column) or be a raw GDELT export: tab-separated, 61 columns, no header.

use std::collections::BTreeMap;

use csv::StringRecord;
use stix::Object;

use super::csv_table::{Column, CsvTable, FieldProblem};
use super::{
    Import, ImportError, ImportReport, Provenance, Sink, build_problem, parse_code,
    parse_coordinate,
};
use crate::alias::{AliasIndex, GroupId};
use crate::country;
use crate::date::Date;
use crate::extension::IncidentExtension;
use crate::ids::deterministic_id;
use crate::incident::Incident;
use crate::relationship::RelationshipType;
use crate::sdo::{ExternalReference, Location, Relationship, ThreatActor};
use crate::vocab::{DatePrecision, LocationPrecision, cameo_attack, cameo_target_type};

/// The source as cited on every object.
pub const SOURCE_NAME: &str = "GDELT 2.0 Event Database";
const KEY: &str = "gdelt";
const LICENCE: &str = "The GDELT Project (gdeltproject.org), GDELT 2.0 Event Database; free for any use with citation of the GDELT Project";
const URL: &str = "https://www.gdeltproject.org/";

/// STIX confidence of a GDELT incident: one machine-coded reading of news text.
pub const CONFIDENCE: u8 = 30;

/// The CAMEO root codes that describe attacks.
pub const ATTACK_ROOT_CODES: &[&str] = &["18", "19", "20"];

/// The 61 columns of a raw GDELT 2.0 event export, in order.
pub const GDELT_2_COLUMNS: &[&str] = &[
    "GLOBALEVENTID",
    "SQLDATE",
    "MonthYear",
    "Year",
    "FractionDate",
    "Actor1Code",
    "Actor1Name",
    "Actor1CountryCode",
    "Actor1KnownGroupCode",
    "Actor1EthnicCode",
    "Actor1Religion1Code",
    "Actor1Religion2Code",
    "Actor1Type1Code",
    "Actor1Type2Code",
    "Actor1Type3Code",
    "Actor2Code",
    "Actor2Name",
    "Actor2CountryCode",
    "Actor2KnownGroupCode",
    "Actor2EthnicCode",
    "Actor2Religion1Code",
    "Actor2Religion2Code",
    "Actor2Type1Code",
    "Actor2Type2Code",
    "Actor2Type3Code",
    "IsRootEvent",
    "EventCode",
    "EventBaseCode",
    "EventRootCode",
    "QuadClass",
    "GoldsteinScale",
    "NumMentions",
    "NumSources",
    "NumArticles",
    "AvgTone",
    "Actor1Geo_Type",
    "Actor1Geo_FullName",
    "Actor1Geo_CountryCode",
    "Actor1Geo_ADM1Code",
    "Actor1Geo_ADM2Code",
    "Actor1Geo_Lat",
    "Actor1Geo_Long",
    "Actor1Geo_FeatureID",
    "Actor2Geo_Type",
    "Actor2Geo_FullName",
    "Actor2Geo_CountryCode",
    "Actor2Geo_ADM1Code",
    "Actor2Geo_ADM2Code",
    "Actor2Geo_Lat",
    "Actor2Geo_Long",
    "Actor2Geo_FeatureID",
    "ActionGeo_Type",
    "ActionGeo_FullName",
    "ActionGeo_CountryCode",
    "ActionGeo_ADM1Code",
    "ActionGeo_ADM2Code",
    "ActionGeo_Lat",
    "ActionGeo_Long",
    "ActionGeo_FeatureID",
    "DATEADDED",
    "SOURCEURL",
];

fn reference() -> ExternalReference {
    ExternalReference::new(SOURCE_NAME)
        .with_description(LICENCE)
        .with_url(URL)
}

struct Columns {
    event_id: Column,
    date: Column,
    event_code: Column,
    root_code: Column,
    actor1_name: Option<Column>,
    actor2_name: Option<Column>,
    actor2_type: Option<Column>,
    description: Option<Column>,
    geo_type: Option<Column>,
    geo_name: Option<Column>,
    geo_country: Option<Column>,
    geo_adm1: Option<Column>,
    geo_latitude: Option<Column>,
    geo_longitude: Option<Column>,
    geo_feature: Option<Column>,
    source_url: Option<Column>,
}

impl Columns {
    fn find(table: &CsvTable<'_>) -> Result<Columns, ImportError> {
        Ok(Columns {
            event_id: table.require("GLOBALEVENTID")?,
            date: table.require("SQLDATE")?,
            event_code: table.require("EventCode")?,
            root_code: table.require("EventRootCode")?,
            actor1_name: table.optional("Actor1Name"),
            actor2_name: table.optional("Actor2Name"),
            actor2_type: table.optional("Actor2Type1Code"),
            description: table.optional("CAMEOCodeDescription"),
            geo_type: table.optional("ActionGeo_Type"),
            geo_name: table.optional("ActionGeo_FullName"),
            geo_country: table.optional("ActionGeo_CountryCode"),
            geo_adm1: table.optional("ActionGeo_ADM1Code"),
            geo_latitude: table.optional("ActionGeo_Lat"),
            geo_longitude: table.optional("ActionGeo_Long"),
            geo_feature: table.optional("ActionGeo_FeatureID"),
            source_url: table.optional("SOURCEURL"),
        })
    }
}

/// The action's place, when GDELT gives one.
struct Place<'r> {
    name: &'r str,
    precision: LocationPrecision,
    coordinates: Option<(f64, f64)>,
    country: Option<&'static str>,
    adm1: &'r str,
    feature: &'r str,
}

/// Converts GDELT 2.0 event CSV to STIX. Actors are resolved through `index`, which GDELT never
/// grows.
///
/// ```
/// use incident::{AliasIndex, Provenance};
/// use incident::import::gdelt;
/// use stix::Timestamp;
///
/// let csv = "GLOBALEVENTID,SQLDATE,EventCode,EventRootCode,ActionGeo_Type,ActionGeo_FullName,ActionGeo_CountryCode,ActionGeo_Lat,ActionGeo_Long\n\
///            1,20170601,193,19,4,\"Kabul, Kabol, Afghanistan\",AF,34.5167,69.1833\n\
///            2,20170601,040,04,4,\"Kabul, Kabol, Afghanistan\",AF,34.5167,69.1833\n";
/// let provenance = Provenance::new(Timestamp::parse("2017-07-01T00:00:00Z").unwrap(), incident::ids::TESSERA_IDENTITY_ID);
/// let import = gdelt::import(csv.as_bytes(), &provenance, &AliasIndex::curated()).unwrap();
/// assert_eq!((import.report.imported, import.report.skipped_out_of_scope), (1, 1));
/// ```
pub fn import(
    csv: &[u8],
    provenance: &Provenance,
    index: &AliasIndex,
) -> Result<Import, ImportError> {
    super::collect(|emit| import_each(csv, provenance, index, emit))
}

/// The streaming form of [`import`]: hands each object to `emit` as soon as it is built and
/// returns the report.
pub fn import_each(
    csv: &[u8],
    provenance: &Provenance,
    index: &AliasIndex,
    emit: &mut dyn FnMut(Object),
) -> Result<ImportReport, ImportError> {
    let first_line = csv.split(|b| *b == b'\n').next().unwrap_or(&[]);
    let delimiter = if first_line.contains(&b'\t') {
        b'\t'
    } else {
        b','
    };
    let has_header = first_line
        .strip_prefix(b"\xef\xbb\xbf".as_slice())
        .unwrap_or(first_line)
        .starts_with(b"GLOBALEVENTID");
    let mut table = CsvTable::open(
        csv,
        delimiter,
        if has_header {
            None
        } else {
            Some(GDELT_2_COLUMNS)
        },
        SOURCE_NAME,
    )?;
    let columns = Columns::find(&table)?;
    let mut sink = Sink::new(SOURCE_NAME, emit);
    let mut groups: BTreeMap<GroupId, Vec<String>> = BTreeMap::new();
    let mut record = StringRecord::new();
    while let Some(next) = table.next(&mut record) {
        sink.report.rows += 1;
        let line = match next? {
            Ok(line) => line,
            Err(unreadable) => {
                sink.report
                    .problem(unreadable.line, None, unreadable.reason);
                continue;
            }
        };
        match convert_row(&columns, &record, provenance, index, &mut sink, &mut groups) {
            Ok(true) => sink.report.imported += 1,
            Ok(false) => sink.report.skipped_out_of_scope += 1,
            Err(problem) => sink
                .report
                .problem(line, Some(&problem.column), problem.reason),
        }
    }
    for (group, names) in groups {
        let group_record = index.group(group);
        let actor = ThreatActor {
            id: group_id(index, group),
            name: group_record.name.clone(),
            aliases: names
                .into_iter()
                .filter(|n| *n != group_record.name)
                .collect(),
            external_references: vec![reference()],
            ..ThreatActor::default()
        };
        match actor.build(provenance) {
            Ok(object) => sink.push(object),
            Err(error) => sink.report.note(build_problem(&error)),
        }
    }
    Ok(sink.finish())
}

fn group_id(index: &AliasIndex, group: GroupId) -> String {
    deterministic_id(
        "threat-actor",
        &format!("{KEY}|threat-actor|{}", index.group(group).key()),
    )
}

/// Converts one row: `Ok(false)` when it is not an attack.
fn convert_row(
    columns: &Columns,
    record: &StringRecord,
    provenance: &Provenance,
    index: &AliasIndex,
    sink: &mut Sink,
    groups: &mut BTreeMap<GroupId, Vec<String>>,
) -> Result<bool, FieldProblem> {
    let text = |column: &Column| column.get(record).map(str::trim);
    let optional = |column: &Option<Column>| -> &str {
        column
            .as_ref()
            .and_then(|c| record.get(c.index))
            .map_or("", str::trim)
    };
    let event_id = text(&columns.event_id)?;
    if event_id.is_empty() || !event_id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(columns
            .event_id
            .problem(format!("{event_id:?} is not a GDELT event id")));
    }
    let root_code = text(&columns.root_code)?;
    if !ATTACK_ROOT_CODES.contains(&root_code) {
        return Ok(false);
    }
    let event_code = text(&columns.event_code)?;
    let (attack_type, weapon_types, suicide) = cameo_attack(event_code).ok_or_else(|| {
        columns.event_code.problem(format!(
            "{event_code:?} is not a CAMEO attack code under root {root_code}"
        ))
    })?;
    let date_text = text(&columns.date)?;
    let date = Date::parse_compact(date_text).map_err(|e| columns.date.problem(e.to_string()))?;
    let place = parse_place(columns, record)?;

    let mut extension = IncidentExtension::new(date, DatePrecision::Day);
    extension.attack_types = vec![attack_type];
    extension.weapon_types = weapon_types.to_vec();
    if suicide {
        extension.suicide = Some(true);
    }
    if let Some(target) = cameo_target_type(optional(&columns.actor2_type)) {
        extension.target_types = vec![target];
    }
    extension.location_precision = place.as_ref().map(|p| p.precision);

    let actor1 = optional(&columns.actor1_name);
    let actor2 = optional(&columns.actor2_name);
    let action = match optional(&columns.description) {
        "" => format!("CAMEO {event_code}"),
        description => description.to_string(),
    };
    let mut name = action.clone();
    if !actor1.is_empty() {
        name.push_str(&format!(" by {actor1}"));
    }
    if !actor2.is_empty() {
        name.push_str(&format!(" against {actor2}"));
    }
    if let Some(place) = &place
        && !place.name.is_empty()
    {
        name.push_str(&format!(" in {}", place.name));
    }
    name.push_str(&format!(", {date}"));
    let incident_id = deterministic_id("incident", &format!("{KEY}|incident|{event_id}"));
    let mut incident = Incident::new(&incident_id, name, extension);
    incident.description = Some(format!(
        "GDELT event {event_id}: CAMEO {event_code} ({}), coded by machine from news reports.",
        action.trim()
    ));
    incident.confidence = Some(CONFIDENCE);
    incident.external_references = vec![reference().with_external_id(event_id)];
    let url = optional(&columns.source_url);
    if url.starts_with("http://") || url.starts_with("https://") {
        incident
            .external_references
            .push(ExternalReference::new("news report (via GDELT)").with_url(url));
    }
    let object = incident.build(provenance).map_err(|e| {
        columns
            .event_id
            .problem(format!("the row would produce an invalid incident: {e}"))
    })?;
    sink.push(object);

    let mut links = Vec::new();
    if let Some(place) = place {
        let location_key = if place.feature.is_empty() {
            format!("{:?}|{}", place.coordinates, place.name)
        } else {
            place.feature.to_string()
        };
        let location_id = deterministic_id(
            "location",
            &format!("{KEY}|location|{location_key}|{}", place.precision),
        );
        if !sink.has(&location_id) {
            let location = Location {
                id: location_id.clone(),
                name: (!place.name.is_empty()).then(|| place.name.to_string()),
                coordinates: place.coordinates,
                precision_m: place
                    .coordinates
                    .and(place.precision.radius_km())
                    .map(|km| km * 1000.0),
                country: place.country.map(str::to_string),
                administrative_area: (!place.adm1.is_empty()).then(|| place.adm1.to_string()),
                external_references: vec![reference()],
                ..Location::default()
            };
            let object = location
                .build(provenance)
                .map_err(|e| columns.event_id.problem(build_problem(&e)))?;
            sink.push(object);
        }
        links.push(Relationship::between(
            KEY,
            RelationshipType::LocatedAt.as_str(),
            &incident_id,
            &location_id,
        ));
    }
    // GDELT's actor names are labels as often as names ("GUNMAN", "REBEL", "UNITED NATIONS"):
    // only an actor the index already knows as a group (curated, or named by an earlier import)
    // is one, and only then is the attack attributed to it.
    if let Some(group) = (!actor1.is_empty())
        .then(|| index.resolve_exact(actor1))
        .flatten()
    {
        let names = groups.entry(group).or_default();
        if !names.iter().any(|n| n == actor1) {
            names.push(actor1.to_string());
        }
        links.push(
            Relationship::between(
                KEY,
                RelationshipType::AttributedTo.as_str(),
                &incident_id,
                &group_id(index, group),
            )
            .with_description("GDELT Actor1, coded by machine from news reports")
            .with_confidence(CONFIDENCE),
        );
    }
    for link in links {
        let object = link
            .with_reference(reference())
            .build(provenance)
            .map_err(|e| columns.event_id.problem(build_problem(&e)))?;
        sink.push(object);
    }
    Ok(true)
}

fn parse_place<'r>(
    columns: &Columns,
    record: &'r StringRecord,
) -> Result<Option<Place<'r>>, FieldProblem> {
    let optional = |column: &Option<Column>| -> &'r str {
        column
            .as_ref()
            .and_then(|c| record.get(c.index))
            .map_or("", str::trim)
    };
    let Some(precision) = parse_code(optional(&columns.geo_type))
        .and_then(|c| LocationPrecision::from_gdelt_geo_type(c.min(255) as u8))
    else {
        // ActionGeo_Type 0: GDELT found no place for the action.
        return Ok(None);
    };
    let latitude = optional(&columns.geo_latitude);
    let longitude = optional(&columns.geo_longitude);
    let coordinates = match (latitude.is_empty(), longitude.is_empty()) {
        (true, true) => None,
        _ => {
            let problem = |column: &Option<Column>, name: &str, reason: String| FieldProblem {
                column: column.as_ref().map_or(name.to_string(), |c| c.name.clone()),
                reason,
            };
            let latitude = parse_coordinate(latitude, 90.0)
                .map_err(|r| problem(&columns.geo_latitude, "ActionGeo_Lat", r))?;
            let longitude = parse_coordinate(longitude, 180.0)
                .map_err(|r| problem(&columns.geo_longitude, "ActionGeo_Long", r))?;
            Some((latitude, longitude))
        }
    };
    let country = country::iso2_from_fips(optional(&columns.geo_country));
    if coordinates.is_none() && country.is_none() {
        return Ok(None);
    }
    Ok(Some(Place {
        name: optional(&columns.geo_name),
        precision,
        coordinates,
        country,
        adm1: optional(&columns.geo_adm1),
        feature: optional(&columns.geo_feature),
    }))
}
