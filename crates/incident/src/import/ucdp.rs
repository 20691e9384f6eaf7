//! UCDP Georeferenced Event Dataset (GED) CSV to STIX.
//!
//! One GED row is one event of organised violence: a day (or range of days), a place, the two
//! sides of a dyad and the deaths. Each valid row becomes:
//!
//! - an `incident` with the Tessera extension: `date_start`/`date_end` and `date_prec` give the
//!   date and its precision; `low`/`best`/`high` the killed; `where_prec` the location precision;
//!   `type_of_violence` the violence type; one-sided violence (type 3) also gets the target type
//!   `private-citizens-property` and the perpetrator's own deaths (`deaths_a`);
//! - a `location` (latitude, longitude, ISO country from the Gleditsch-Ward `country_id`, the
//!   place name), shared by all events at one place;
//! - the sides: governments ("Government of ...") become `identity` objects; every other actor is
//!   resolved through the [`AliasIndex`] and becomes one `threat-actor` per group, however UCDP
//!   spells it; the civilians of one-sided violence become one `identity` (class) per country;
//! - relationships: `located-at`; for one-sided violence `attributed-to` side A and `targets`
//!   the civilians; for state-based and non-state violence `involves` both sides, because UCDP
//!   records who fought, not who attacked.
//!
//! `event_clarity` sets the incident's STIX confidence: 80 when UCDP codes the event as clear, 40
//! when it is unclear.

use std::collections::{BTreeMap, HashMap};

use csv::StringRecord;
use serde_json::{Map, Value};
use stix::Object;

use super::csv_table::{Column, CsvTable, FieldProblem};
use super::{
    Import, ImportError, ImportReport, Provenance, Sink, build_problem, parse_code,
    parse_coordinate, parse_count,
};
use crate::alias::{AliasIndex, GroupId, fold};
use crate::country;
use crate::date::Date;
use crate::extension::{CasualtyRange, IncidentExtension};
use crate::ids::deterministic_id;
use crate::incident::Incident;
use crate::relationship::RelationshipType;
use crate::sdo::{
    ExternalReference, Identity, Location, Relationship, Stamp, ThreatActor, finish_generated,
};
use crate::vocab::{DatePrecision, LocationPrecision, TargetType, ViolenceType};

/// The source as cited on every object.
pub const SOURCE_NAME: &str = "UCDP GED 23.1";
/// The natural-key prefix of this importer's identifiers.
const KEY: &str = "ucdp-ged";
const LICENCE: &str = "UCDP Georeferenced Event Dataset (GED) Global version 23.1, Uppsala Conflict Data Program (Sundberg and Melander 2013; Davies, Pettersson and Oberg 2023); licence CC BY 4.0";
const URL: &str = "https://ucdp.uu.se/downloads/";

/// STIX confidence of an event UCDP codes as clear (`event_clarity` 1).
pub const CONFIDENCE_CLEAR: u8 = 80;
/// STIX confidence of an event UCDP codes as unclear (`event_clarity` 2).
pub const CONFIDENCE_UNCLEAR: u8 = 40;

fn reference() -> ExternalReference {
    ExternalReference::new(SOURCE_NAME)
        .with_description(LICENCE)
        .with_url(URL)
}

/// The columns this importer reads.
struct Columns {
    id: Column,
    type_of_violence: Column,
    side_a: Column,
    side_b: Column,
    where_prec: Column,
    latitude: Column,
    longitude: Column,
    country: Column,
    date_prec: Column,
    date_start: Column,
    date_end: Column,
    best: Column,
    high: Column,
    low: Column,
    conflict_name: Option<Column>,
    dyad_name: Option<Column>,
    side_a_new_id: Option<Column>,
    side_b_new_id: Option<Column>,
    where_coordinates: Option<Column>,
    where_description: Option<Column>,
    adm_1: Option<Column>,
    country_id: Option<Column>,
    event_clarity: Option<Column>,
    deaths_a: Option<Column>,
}

impl Columns {
    fn find(table: &CsvTable<'_>) -> Result<Columns, ImportError> {
        Ok(Columns {
            id: table.require("id")?,
            type_of_violence: table.require("type_of_violence")?,
            side_a: table.require("side_a")?,
            side_b: table.require("side_b")?,
            where_prec: table.require("where_prec")?,
            latitude: table.require("latitude")?,
            longitude: table.require("longitude")?,
            country: table.require("country")?,
            date_prec: table.require("date_prec")?,
            date_start: table.require("date_start")?,
            date_end: table.require("date_end")?,
            best: table.require("best")?,
            high: table.require("high")?,
            low: table.require("low")?,
            conflict_name: table.optional("conflict_name"),
            dyad_name: table.optional("dyad_name"),
            side_a_new_id: table.optional("side_a_new_id"),
            side_b_new_id: table.optional("side_b_new_id"),
            where_coordinates: table.optional("where_coordinates"),
            where_description: table.optional("where_description"),
            adm_1: table.optional("adm_1"),
            country_id: table.optional("country_id"),
            event_clarity: table.optional("event_clarity"),
            deaths_a: table.optional("deaths_a"),
        })
    }
}

/// A side of a dyad, as it will be emitted.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Side {
    /// A non-state actor: a group in the alias index.
    Group(GroupId),
    /// A government, by its UCDP name.
    Government(String),
}

/// What the rows said about one side, gathered until the end of the file.
#[derive(Default)]
struct SideRecord {
    /// UCDP's spellings of the side.
    names: Vec<String>,
    /// UCDP actor ids (`side_a_new_id`).
    actor_ids: Vec<String>,
}

/// One valid row, parsed.
struct Event<'r> {
    id: &'r str,
    violence: ViolenceType,
    side_a: &'r str,
    side_b: &'r str,
    side_a_actor: Option<String>,
    side_b_actor: Option<String>,
    location_precision: LocationPrecision,
    latitude: f64,
    longitude: f64,
    country_name: &'r str,
    country_iso2: Option<&'static str>,
    date_precision: DatePrecision,
    date_start: Date,
    date_end: Date,
    killed: CasualtyRange,
    /// Why the deaths were reordered, when they were.
    casualty_note: Option<String>,
    deaths_a: Option<u32>,
    clear: bool,
    conflict_name: &'r str,
    dyad_name: &'r str,
    place: &'r str,
    where_description: &'r str,
    adm_1: &'r str,
}

/// Converts UCDP GED CSV (with its header row) to STIX. Groups are resolved through, and new
/// ones added to, `index`.
///
/// ```
/// use incident::{AliasIndex, Provenance};
/// use incident::import::ucdp;
/// use stix::Timestamp;
///
/// let csv = "id,type_of_violence,side_a,side_b,where_prec,latitude,longitude,country,country_id,date_prec,date_start,date_end,best,high,low\n\
///            1,3,IS,Civilians,1,34.5,69.2,Afghanistan,700,1,2021-08-26,2021-08-26,170,185,160\n";
/// let provenance = Provenance::new(Timestamp::parse("2023-06-01T00:00:00Z").unwrap(), incident::ids::TESSERA_IDENTITY_ID);
/// let mut index = AliasIndex::curated();
/// let import = ucdp::import(csv.as_bytes(), &provenance, &mut index).unwrap();
/// assert_eq!(import.report.imported, 1);
/// assert_eq!(import.report.count("incident"), 1);
/// assert!(import.objects.iter().all(|o| o.validate().is_empty()));
/// ```
pub fn import(
    csv: &[u8],
    provenance: &Provenance,
    index: &mut AliasIndex,
) -> Result<Import, ImportError> {
    super::collect(|emit| import_each(csv, provenance, index, emit))
}

/// The streaming form of [`import`]: hands each object to `emit` as soon as it is built and
/// returns the report.
pub fn import_each(
    csv: &[u8],
    provenance: &Provenance,
    index: &mut AliasIndex,
    emit: &mut dyn FnMut(Object),
) -> Result<ImportReport, ImportError> {
    let mut table = CsvTable::open(csv, b',', None, SOURCE_NAME)?;
    let columns = Columns::find(&table)?;
    let mut sink = Sink::new(SOURCE_NAME, emit);
    let reference_value = reference().to_value();
    let mut shared = Shared {
        stamp: provenance.stamp(),
        references: Value::Array(vec![reference_value.clone()]),
        reference: match reference_value {
            Value::Object(map) => map,
            _ => unreachable!("an external reference is a JSON object"),
        },
        civilians: HashMap::new(),
    };
    let mut sides: BTreeMap<(Side, String), SideRecord> = BTreeMap::new();
    // A file names a few hundred sides across its rows: resolve and identify each once.
    let mut side_cache: HashMap<String, (Side, String)> = HashMap::new();
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
        let event = match parse_row(&columns, &record) {
            Ok(event) => event,
            Err(problem) => {
                sink.report
                    .problem(line, Some(&problem.column), problem.reason);
                continue;
            }
        };
        if let Some(note) = &event.casualty_note {
            sink.report
                .note(format!("line {line}, event {}: {note}", event.id));
        }
        if event.country_iso2.is_none() {
            sink.report.note(format!("line {line}: country {:?} has no ISO code in Tessera's tables; the location keeps its coordinates only", event.country_name));
        }
        let side_a = match side_of(index, &mut side_cache, event.side_a) {
            Ok(side) => side,
            Err(reason) => {
                sink.report.problem(line, Some("side_a"), reason);
                continue;
            }
        };
        let side_b = if is_civilians(event.side_b) {
            None
        } else {
            match side_of(index, &mut side_cache, event.side_b) {
                Ok(side) => Some(side),
                Err(reason) => {
                    sink.report.problem(line, Some("side_b"), reason);
                    continue;
                }
            }
        };
        match emit_event(
            &event,
            &side_a.1,
            side_b.as_ref().map(|(_, id)| id.as_str()),
            &mut shared,
            &mut sink,
        ) {
            Ok(()) => {
                sink.report.imported += 1;
                remember(
                    &mut sides,
                    side_a,
                    event.side_a,
                    event.side_a_actor.as_deref(),
                );
                if let Some(side_b) = side_b {
                    remember(
                        &mut sides,
                        side_b,
                        event.side_b,
                        event.side_b_actor.as_deref(),
                    );
                }
            }
            Err(reason) => sink.report.problem(line, None, reason),
        }
    }
    for ((side, id), record) in sides {
        if let Err(error) = emit_side(&side, &id, &record, index, &shared.stamp, &mut sink) {
            sink.report.note(build_problem(&error));
        }
    }
    Ok(sink.finish())
}

fn parse_row<'r>(columns: &Columns, record: &'r StringRecord) -> Result<Event<'r>, FieldProblem> {
    let text = |column: &Column| column.get(record).map(str::trim);
    let optional = |column: &Option<Column>| -> &'r str {
        column
            .as_ref()
            .and_then(|c| record.get(c.index))
            .map_or("", str::trim)
    };
    let code = |column: &Column| -> Result<u16, FieldProblem> {
        let value = text(column)?;
        parse_code(value).ok_or_else(|| column.problem(format!("{value:?} is not a code number")))
    };
    let id = text(&columns.id)?;
    if id.is_empty() {
        return Err(columns.id.problem("the event id is empty"));
    }
    let violence = ViolenceType::from_ucdp_code(code(&columns.type_of_violence)?.min(255) as u8)
        .ok_or_else(|| {
            columns
                .type_of_violence
                .problem("type_of_violence must be 1, 2 or 3")
        })?;
    let side_a = text(&columns.side_a)?;
    let side_b = text(&columns.side_b)?;
    for (column, side) in [(&columns.side_a, side_a), (&columns.side_b, side_b)] {
        if !side.chars().any(char::is_alphanumeric) {
            return Err(column.problem("the side is empty"));
        }
    }
    let location_precision =
        LocationPrecision::from_ucdp_where_prec(code(&columns.where_prec)?.min(255) as u8)
            .ok_or_else(|| columns.where_prec.problem("where_prec must be 1 to 7"))?;
    let latitude = parse_coordinate(text(&columns.latitude)?, 90.0)
        .map_err(|reason| columns.latitude.problem(reason))?;
    let longitude = parse_coordinate(text(&columns.longitude)?, 180.0)
        .map_err(|reason| columns.longitude.problem(reason))?;
    let country_name = text(&columns.country)?;
    let country_iso2 = columns
        .country_id
        .as_ref()
        .and_then(|c| record.get(c.index))
        .and_then(parse_code)
        .and_then(country::iso2_from_gleditsch_ward)
        .or_else(|| country::iso2_from_name(country_name));
    let date_precision =
        DatePrecision::from_ucdp_date_prec(code(&columns.date_prec)?.min(255) as u8)
            .ok_or_else(|| columns.date_prec.problem("date_prec must be 1 to 5"))?;
    let date = |column: &Column| -> Result<Date, FieldProblem> {
        let value = text(column)?;
        // GED writes dates as YYYY-MM-DD; some exports append a time of day.
        let day = value.split([' ', 'T']).next().unwrap_or(value);
        Date::parse(day).map_err(|e| column.problem(e.to_string()))
    };
    let date_start = date(&columns.date_start)?;
    let date_end = date(&columns.date_end)?;
    if date_end < date_start {
        return Err(columns.date_end.problem(format!(
            "date_end {date_end} is earlier than date_start {date_start}"
        )));
    }
    let count = |column: &Column| -> Result<u32, FieldProblem> {
        let value = text(column)?;
        parse_count(value)
            .ok_or_else(|| column.problem(format!("{value:?} is not a non-negative whole number")))
    };
    let (low, best, high) = (
        count(&columns.low)?,
        count(&columns.best)?,
        count(&columns.high)?,
    );
    // GED 23.1 has rows whose best estimate lies outside low..high (low 3, best 2, high 3). The
    // three figures are all UCDP's; the range is widened to hold them all, best is kept, and
    // the report notes the row.
    let killed = CasualtyRange {
        low: Some(low.min(best).min(high)),
        best: Some(best),
        high: Some(high.max(best).max(low)),
    };
    let casualty_note = (killed.low != Some(low) || killed.high != Some(high))
        .then(|| format!("deaths low {low}, best {best}, high {high} are out of order; imported as low {}, best {best}, high {}", killed.low.unwrap_or(0), killed.high.unwrap_or(0)));
    let actor = |column: &Option<Column>| -> Option<String> {
        let value = optional(column);
        parse_count(value).map(|n| n.to_string())
    };
    Ok(Event {
        id,
        violence,
        side_a,
        side_b,
        side_a_actor: actor(&columns.side_a_new_id),
        side_b_actor: actor(&columns.side_b_new_id),
        location_precision,
        latitude,
        longitude,
        country_name,
        country_iso2,
        date_precision,
        date_start,
        date_end,
        killed,
        casualty_note,
        deaths_a: columns
            .deaths_a
            .as_ref()
            .and_then(|c| record.get(c.index))
            .and_then(parse_count),
        clear: optional(&columns.event_clarity) != "2",
        conflict_name: optional(&columns.conflict_name),
        dyad_name: optional(&columns.dyad_name),
        place: optional(&columns.where_coordinates),
        where_description: optional(&columns.where_description),
        adm_1: optional(&columns.adm_1),
    })
}

fn is_government(name: &str) -> bool {
    name.starts_with("Government of ")
}

fn is_civilians(name: &str) -> bool {
    name.eq_ignore_ascii_case("civilians")
}

/// The side a UCDP actor name denotes, and the STIX id of its object: a group by its folded
/// canonical name, a government by its own.
fn side_of(
    index: &mut AliasIndex,
    cache: &mut HashMap<String, (Side, String)>,
    name: &str,
) -> Result<(Side, String), String> {
    if let Some(known) = cache.get(name) {
        return Ok(known.clone());
    }
    let side = if is_government(name) {
        let id = deterministic_id("identity", &format!("{KEY}|identity|{}", fold(name)));
        (Side::Government(name.to_string()), id)
    } else {
        let group = index.resolve_or_add(name, []).map_err(|e| e.to_string())?;
        let id = deterministic_id(
            "threat-actor",
            &format!("{KEY}|threat-actor|{}", index.group(group).key()),
        );
        (Side::Group(group), id)
    };
    cache.insert(name.to_string(), side.clone());
    Ok(side)
}

fn remember(
    sides: &mut BTreeMap<(Side, String), SideRecord>,
    side: (Side, String),
    name: &str,
    actor_id: Option<&str>,
) {
    let record = sides.entry(side).or_default();
    if !record.names.iter().any(|n| n == name) {
        record.names.push(name.to_string());
    }
    if let Some(actor_id) = actor_id
        && !record.actor_ids.iter().any(|a| a == actor_id)
    {
        record.actor_ids.push(actor_id.to_string());
    }
}

/// What every row's objects share, computed once per file.
struct Shared {
    stamp: Stamp,
    /// `external_references` of the objects that cite the dataset as a whole.
    references: Value,
    /// The dataset's reference, to which each incident adds its event id.
    reference: Map<String, Value>,
    /// The civilians identity of each country, by ISO code.
    civilians: HashMap<&'static str, String>,
}

fn emit_event(
    event: &Event<'_>,
    side_a_id: &str,
    side_b_id: Option<&str>,
    shared: &mut Shared,
    sink: &mut Sink,
) -> Result<(), String> {
    let incident_id = deterministic_id("incident", &concat([KEY, "|incident|", event.id]));
    if sink.has(&incident_id) {
        return Err(format!(
            "event id {} appears on an earlier row; each UCDP event is imported once",
            event.id
        ));
    }
    let mut extension = IncidentExtension::new(event.date_start, event.date_precision);
    if event.date_end != event.date_start {
        extension.date_end = Some(event.date_end);
    }
    extension.killed = Some(event.killed);
    extension.location_precision = Some(event.location_precision);
    extension.violence_type = Some(event.violence);
    if event.violence == ViolenceType::OneSided {
        extension.target_types = vec![TargetType::PrivateCitizensProperty];
        extension.perpetrators_killed = event.deaths_a;
    }
    let place = if event.place.is_empty() {
        event.country_name
    } else {
        event.place
    };
    let date = event.date_start.to_string();
    let name = if event.dyad_name.is_empty() {
        concat([event.side_a, " - ", event.side_b, ": ", place, ", ", &date])
    } else {
        concat([event.dyad_name, ": ", place, ", ", &date])
    };
    let mut incident = Incident::new(&incident_id, name, extension);
    let mut description = concat([
        "UCDP GED event ",
        event.id,
        " (",
        event.violence.as_str(),
        " violence",
    ]);
    if !event.conflict_name.is_empty() {
        description.push_str(", conflict ");
        description.push_str(event.conflict_name);
    }
    description.push(')');
    if !event.where_description.is_empty() {
        description.push_str(". Place: ");
        description.push_str(event.where_description);
    }
    description.push('.');
    incident.description = Some(description);
    incident.confidence = Some(if event.clear {
        CONFIDENCE_CLEAR
    } else {
        CONFIDENCE_UNCLEAR
    });
    let mut map = incident
        .to_map(&shared.stamp)
        .map_err(|e| format!("the row would produce an invalid incident: {e}"))?;
    let mut event_reference = shared.reference.clone();
    event_reference.insert("external_id".into(), Value::String(event.id.to_string()));
    map.insert(
        "external_references".into(),
        Value::Array(vec![Value::Object(event_reference)]),
    );
    sink.push(finish_generated(map));

    let location_id = deterministic_id(
        "location",
        &format!(
            "{KEY}|location|{}|{}|{}|{}",
            event.latitude, event.longitude, place, event.location_precision
        ),
    );
    if !sink.has(&location_id) {
        let location = Location {
            id: location_id.clone(),
            name: Some(place.to_string()),
            coordinates: Some((event.latitude, event.longitude)),
            precision_m: event.location_precision.radius_km().map(|km| km * 1000.0),
            country: event.country_iso2.map(str::to_string),
            administrative_area: (!event.adm_1.is_empty()).then(|| event.adm_1.to_string()),
            ..Location::default()
        };
        let mut map = location.to_map(&shared.stamp);
        map.insert("external_references".into(), shared.references.clone());
        sink.push(finish_generated(map));
    }

    let mut links = vec![Relationship::between(
        KEY,
        RelationshipType::LocatedAt.as_str(),
        &incident_id,
        &location_id,
    )];
    match (event.violence, side_b_id) {
        (ViolenceType::OneSided, _) => {
            links.push(
                Relationship::between(
                    KEY,
                    RelationshipType::AttributedTo.as_str(),
                    &incident_id,
                    side_a_id,
                )
                .with_description("UCDP one-sided violence: side A is the perpetrator"),
            );
            let country = event.country_iso2.unwrap_or("");
            let civilians_id = match shared.civilians.get(country) {
                Some(id) => id.clone(),
                None => {
                    let id = deterministic_id(
                        "identity",
                        &format!("{KEY}|identity|civilians|{country}"),
                    );
                    let name = match country::name(country) {
                        Some(name) => format!("Civilians in {name}"),
                        None => "Civilians".to_string(),
                    };
                    let civilians = Identity {
                        id: id.clone(),
                        name,
                        description: Some(
                            "Civilians targeted in one-sided violence, as UCDP GED records them"
                                .into(),
                        ),
                        identity_class: Some("class".into()),
                        external_references: vec![reference()],
                        ..Identity::default()
                    };
                    sink.push(
                        civilians
                            .build_stamped(&shared.stamp)
                            .map_err(|e| build_problem(&e))?,
                    );
                    shared.civilians.insert(country, id.clone());
                    id
                }
            };
            links.push(Relationship::between(
                KEY,
                RelationshipType::Targets.as_str(),
                &incident_id,
                &civilians_id,
            ));
        }
        (_, side_b_id) => {
            links.push(
                Relationship::between(
                    KEY,
                    RelationshipType::Involves.as_str(),
                    &incident_id,
                    side_a_id,
                )
                .with_description("UCDP side A"),
            );
            if let Some(side_b_id) = side_b_id {
                links.push(
                    Relationship::between(
                        KEY,
                        RelationshipType::Involves.as_str(),
                        &incident_id,
                        side_b_id,
                    )
                    .with_description("UCDP side B"),
                );
            }
        }
    }
    for link in links {
        sink.push_unique(link.build_generated(&shared.stamp, &shared.references));
    }
    Ok(())
}

/// Joins texts without the formatting machinery, which costs more than the copy on this path.
fn concat<const N: usize>(parts: [&str; N]) -> String {
    let mut text = String::with_capacity(parts.iter().map(|p| p.len()).sum());
    for part in parts {
        text.push_str(part);
    }
    text
}

fn emit_side(
    side: &Side,
    id: &str,
    record: &SideRecord,
    index: &AliasIndex,
    stamp: &Stamp,
    sink: &mut Sink,
) -> Result<(), crate::sdo::BuildError> {
    let references: Vec<ExternalReference> = if record.actor_ids.is_empty() {
        vec![reference()]
    } else {
        record
            .actor_ids
            .iter()
            .map(|actor| reference().with_external_id(format!("actor {actor}")))
            .collect()
    };
    let id = id.to_string();
    let object = match side {
        Side::Group(group) => {
            let name = index.group(*group).name.clone();
            let aliases = record
                .names
                .iter()
                .filter(|n| **n != name)
                .cloned()
                .collect();
            ThreatActor {
                id,
                name,
                aliases,
                external_references: references,
                ..ThreatActor::default()
            }
            .build_stamped(stamp)?
        }
        Side::Government(name) => Identity {
            id,
            name: name.clone(),
            identity_class: Some("organization".into()),
            sectors: vec!["government-national".into()],
            external_references: references,
            ..Identity::default()
        }
        .build_stamped(stamp)?,
    };
    sink.push(object);
    Ok(())
}
