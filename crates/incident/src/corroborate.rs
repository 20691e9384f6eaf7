//! Corroboration: which incidents from different sources describe the same event.
//!
//! When two partners (or two datasets) report one attack, Tessera keeps both objects: only each
//! object's creator may change it, and a silent merge would lose who said what. The matcher
//! here only *proposes* pairs, each with a score in 0..=1 and the reason in words; a resolution
//! index outside this crate records the ones an analyst (or a rule) accepts, and the graph shows
//! them as one node with several sources. Nothing here mutates an object.
//!
//! A pair is proposed when, within the precision each source gives:
//! - the dates agree: the days each incident may have happened on overlap (a day-precise date
//!   stands for that day plus or minus [`MatchOptions::day_slack`] days, since sources disagree
//!   on time zones and on which day a night attack belongs to);
//! - the places agree: same country at least, and when both give coordinates at town or province
//!   precision, no farther apart than the coarser precision's radius
//!   ([`LocationPrecision::radius_km`]);
//! - the types are compatible: attack types intersect and violence types are equal, where both
//!   sides know them;
//! - and the weighted agreement (dates 0.3, places 0.35, types 0.15, casualties 0.2) reaches
//!   [`MatchOptions::score_min`]. Casualties never exclude a pair (sources count differently),
//!   but ranges that overlap raise the score.
//!
//! The cost is one comparison per pair of incidents of one country whose day windows overlap:
//! incidents are grouped by country and swept in date order.

use std::collections::HashMap;

use stix::Object;

use crate::extension::IncidentExtension;
use crate::incident::Incident;
use crate::vocab::{AttackType, LocationPrecision, ViolenceType};

/// What the matcher needs to know of one incident.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub incident_id: String,
    /// Who reported it: the first external reference's `source_name`, else `created_by_ref`.
    pub source: String,
    /// Days since 1970-01-01 on which the incident may have happened, both ends included.
    pub days: (i64, i64),
    /// Latitude and longitude of the linked location.
    pub coordinates: Option<(f64, f64)>,
    /// ISO 3166-1 alpha-2 code of the linked location.
    pub country: Option<String>,
    pub location_precision: Option<LocationPrecision>,
    pub attack_types: Vec<AttackType>,
    pub violence_type: Option<ViolenceType>,
    /// The fewest and most killed the source allows.
    pub killed: Option<(u32, u32)>,
}

impl Candidate {
    /// The candidate for an incident object with the Tessera extension and, when known, the
    /// location it is `located-at`. `None` for an object that is not such an incident.
    pub fn from_objects(incident: &Object, location: Option<&Object>) -> Option<Candidate> {
        let typed = Incident::from_object(incident).ok()?;
        let source = typed
            .external_references
            .first()
            .map(|r| r.source_name.clone())
            .or_else(|| incident.created_by_ref().map(str::to_string))
            .unwrap_or_default();
        let coordinates = location
            .and_then(|l| Some((l.get("latitude")?.as_f64()?, l.get("longitude")?.as_f64()?)));
        let country = location
            .and_then(|l| l.get_str("country"))
            .map(str::to_uppercase);
        Some(Candidate::from_extension(
            &typed.id,
            &source,
            &typed.extension,
            coordinates,
            country,
        ))
    }

    /// The candidate for a typed incident extension and its place.
    pub fn from_extension(
        incident_id: &str,
        source: &str,
        extension: &IncidentExtension,
        coordinates: Option<(f64, f64)>,
        country: Option<String>,
    ) -> Candidate {
        Candidate {
            incident_id: incident_id.to_string(),
            source: source.to_string(),
            days: extension.day_window(),
            coordinates,
            country,
            location_precision: extension.location_precision,
            attack_types: extension
                .attack_types
                .iter()
                .copied()
                .filter(|t| *t != AttackType::Unknown)
                .collect(),
            violence_type: extension.violence_type,
            killed: extension.killed.and_then(|k| k.bounds()),
        }
    }
}

/// The candidates among a set of objects: every incident with the Tessera extension, with the
/// location its `located-at` relationship points to (the first, when there are several).
pub fn candidates(objects: &[Object]) -> Vec<Candidate> {
    let locations: HashMap<&str, &Object> = objects
        .iter()
        .filter(|o| o.object_type() == "location")
        .map(|o| (o.id(), o))
        .collect();
    let mut location_of: HashMap<&str, &Object> = HashMap::new();
    for object in objects {
        if let Some(link) = object.as_relationship()
            && link.relationship_type == "located-at"
            && let Some(location) = locations.get(link.target_ref)
        {
            location_of.entry(link.source_ref).or_insert(location);
        }
    }
    objects
        .iter()
        .filter(|o| o.object_type() == "incident")
        .filter_map(|o| Candidate::from_objects(o, location_of.get(o.id()).copied()))
        .collect()
}

/// Tuning and limits of the matcher.
#[derive(Debug, Clone, PartialEq)]
pub struct MatchOptions {
    /// Lowest score proposed.
    pub score_min: f64,
    /// Days of tolerance around a day-precise date.
    pub day_slack: i64,
    /// Most pairs compared; past it the matcher stops and says so ([`Matches::truncated`]).
    pub comparisons_max: usize,
}

impl Default for MatchOptions {
    fn default() -> MatchOptions {
        MatchOptions {
            score_min: 0.6,
            day_slack: 1,
            comparisons_max: 50_000_000,
        }
    }
}

/// A proposed corroboration: incidents `a` and `b` may describe one event.
#[derive(Debug, Clone, PartialEq)]
pub struct Match {
    pub a: String,
    pub b: String,
    /// Agreement in 0..=1.
    pub score: f64,
    /// Why, for the analyst who decides.
    pub reason: String,
}

/// What the matcher found.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Matches {
    /// Proposals, best first.
    pub matches: Vec<Match>,
    /// Pairs compared.
    pub comparisons: usize,
    /// Whether [`MatchOptions::comparisons_max`] stopped the matcher before it compared every pair.
    pub truncated: bool,
}

/// Proposes matches between candidates of different sources.
///
/// ```
/// use incident::corroborate::{Candidate, MatchOptions, propose};
/// use incident::vocab::{DatePrecision, LocationPrecision};
/// use incident::{Date, IncidentExtension};
///
/// let mut a = IncidentExtension::new(Date::parse("2024-01-03").unwrap(), DatePrecision::Day);
/// a.location_precision = Some(LocationPrecision::Exact);
/// let mut b = a.clone();
/// b.date = Date::parse("2024-01-04").unwrap();
/// let candidates = [
///     Candidate::from_extension("incident--a", "Agency A", &a, Some((30.28, 57.08)), Some("IR".into())),
///     Candidate::from_extension("incident--b", "Agency B", &b, Some((30.29, 57.07)), Some("IR".into())),
/// ];
/// let found = propose(&candidates, &MatchOptions::default());
/// assert_eq!(found.matches.len(), 1);
/// assert!(found.matches[0].score > 0.6);
/// ```
pub fn propose(candidates: &[Candidate], options: &MatchOptions) -> Matches {
    let mut by_country: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, candidate) in candidates.iter().enumerate() {
        if let Some(country) = candidate.country.as_deref() {
            by_country.entry(country).or_default().push(i);
        }
    }
    let window = |c: &Candidate| -> (i64, i64) {
        if c.days.0 == c.days.1 {
            (c.days.0 - options.day_slack, c.days.1 + options.day_slack)
        } else {
            c.days
        }
    };
    let mut found = Matches::default();
    let mut countries: Vec<&str> = by_country.keys().copied().collect();
    countries.sort_unstable();
    'countries: for country in countries {
        let mut members = by_country.remove(country).unwrap_or_default();
        members.sort_by_key(|&i| (window(&candidates[i]).0, i));
        for (position, &i) in members.iter().enumerate() {
            let (_, end) = window(&candidates[i]);
            for &j in &members[position + 1..] {
                if window(&candidates[j]).0 > end {
                    break;
                }
                if found.comparisons >= options.comparisons_max {
                    found.truncated = true;
                    break 'countries;
                }
                found.comparisons += 1;
                let (a, b) = if i < j {
                    (&candidates[i], &candidates[j])
                } else {
                    (&candidates[j], &candidates[i])
                };
                if a.source == b.source {
                    continue;
                }
                if let Some((score, reason)) = compare(a, b, window(a), window(b))
                    && score >= options.score_min
                {
                    found.matches.push(Match {
                        a: a.incident_id.clone(),
                        b: b.incident_id.clone(),
                        score,
                        reason,
                    });
                }
            }
        }
    }
    found.matches.sort_by(|x, y| {
        y.score
            .total_cmp(&x.score)
            .then_with(|| x.a.cmp(&y.a))
            .then_with(|| x.b.cmp(&y.b))
    });
    found
}

/// Scores one pair of the same country, or `None` when a hard criterion fails.
fn compare(
    a: &Candidate,
    b: &Candidate,
    window_a: (i64, i64),
    window_b: (i64, i64),
) -> Option<(f64, String)> {
    let mut reasons = Vec::new();

    // Dates: the windows must overlap; the closer their centres, the better.
    if window_a.1 < window_b.0 || window_b.1 < window_a.0 {
        return None;
    }
    let centre = |w: (i64, i64)| (w.0 + w.1) as f64 / 2.0;
    let half = |w: (i64, i64)| (w.1 - w.0) as f64 / 2.0;
    let centre_gap = (centre(window_a) - centre(window_b)).abs();
    let date_score = 1.0 - 0.5 * (centre_gap / (half(window_a) + half(window_b) + 1.0)).min(1.0);
    reasons.push(if a.days == b.days && a.days.0 == a.days.1 {
        "same day".to_string()
    } else {
        format!(
            "dates agree within their precision ({} days apart)",
            (a.days.0 - b.days.0).abs()
        )
    });

    // Places: same country (the caller grouped by it); within the coarser radius when both are
    // placed more precisely than the country.
    let country = a.country.as_deref().unwrap_or("");
    let radius = match (
        a.location_precision.and_then(LocationPrecision::radius_km),
        b.location_precision.and_then(LocationPrecision::radius_km),
    ) {
        (Some(ra), Some(rb)) => Some(ra.max(rb)),
        _ => None,
    };
    let place_score = match (a.coordinates, b.coordinates, radius) {
        (Some(pa), Some(pb), Some(radius)) => {
            let distance = distance_km(pa, pb);
            if distance > radius {
                return None;
            }
            reasons.push(format!(
                "{distance:.1} km apart, within {radius:.0} km, in {country}"
            ));
            1.0 - 0.5 * distance / radius
        }
        _ => {
            reasons.push(format!(
                "same country {country} (no finer place to compare)"
            ));
            0.4
        }
    };

    // Types: where both sides know them, they must agree.
    let mut type_score = 0.6;
    if !a.attack_types.is_empty() && !b.attack_types.is_empty() {
        let shared: Vec<&str> = a
            .attack_types
            .iter()
            .filter(|t| b.attack_types.contains(t))
            .map(|t| t.as_str())
            .collect();
        if shared.is_empty() {
            return None;
        }
        reasons.push(format!("attack types agree ({})", shared.join(", ")));
        type_score = 1.0;
    }
    if let (Some(va), Some(vb)) = (a.violence_type, b.violence_type) {
        if va != vb {
            return None;
        }
        reasons.push(format!("both {va} violence"));
        type_score = 1.0;
    }

    // Casualties raise or lower the score, never exclude: sources count differently.
    let casualty_score = match (a.killed, b.killed) {
        (Some((la, ha)), Some((lb, hb))) if la <= hb && lb <= ha => {
            reasons.push(format!(
                "killed {} and {} overlap",
                range_text(la, ha),
                range_text(lb, hb)
            ));
            1.0
        }
        (Some((la, ha)), Some((lb, hb))) => {
            let gap = if ha < lb { lb - ha } else { la - hb };
            reasons.push(format!(
                "killed {} and {} differ",
                range_text(la, ha),
                range_text(lb, hb)
            ));
            0.5 * (1.0 - f64::from(gap) / f64::from(ha.max(hb).max(1))).max(0.0)
        }
        _ => 0.6,
    };

    let score = 0.3 * date_score + 0.35 * place_score + 0.15 * type_score + 0.2 * casualty_score;
    Some(((score * 1000.0).round() / 1000.0, reasons.join("; ")))
}

fn range_text(low: u32, high: u32) -> String {
    if low == high {
        low.to_string()
    } else {
        format!("{low}-{high}")
    }
}

/// Great-circle distance (haversine, mean Earth radius 6371 km).
pub fn distance_km(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (lat_a, lat_b) = (a.0.to_radians(), b.0.to_radians());
    let d_lat = lat_b - lat_a;
    let d_lon = (b.1 - a.1).to_radians();
    let h = (d_lat / 2.0).sin().powi(2) + lat_a.cos() * lat_b.cos() * (d_lon / 2.0).sin().powi(2);
    2.0 * 6371.0 * h.sqrt().min(1.0).asin()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::date::Date;
    use crate::extension::CasualtyRange;
    use crate::vocab::DatePrecision;

    fn candidate(
        id: &str,
        source: &str,
        date: &str,
        place: (f64, f64),
        precision: LocationPrecision,
    ) -> Candidate {
        let mut extension = IncidentExtension::new(Date::parse(date).unwrap(), DatePrecision::Day);
        extension.location_precision = Some(precision);
        extension.attack_types = vec![AttackType::BombingExplosion];
        extension.killed = Some(CasualtyRange::range(90, 95, 103));
        Candidate::from_extension(id, source, &extension, Some(place), Some("IR".into()))
    }

    #[test]
    fn distances_are_great_circle() {
        assert!((distance_km((0.0, 0.0), (0.0, 1.0)) - 111.19).abs() < 0.1);
        assert_eq!(distance_km((30.0, 57.0), (30.0, 57.0)), 0.0);
    }

    #[test]
    fn one_event_reported_twice_matches() {
        let a = candidate(
            "incident--a",
            "A",
            "2024-01-03",
            (30.2839, 57.0834),
            LocationPrecision::Exact,
        );
        let b = candidate(
            "incident--b",
            "B",
            "2024-01-04",
            (30.30, 57.10),
            LocationPrecision::Near,
        );
        let found = propose(&[a, b], &MatchOptions::default());
        assert_eq!(found.matches.len(), 1, "{found:?}");
        assert!(found.matches[0].reason.contains("km apart"));
    }

    #[test]
    fn hard_criteria_exclude() {
        let a = candidate(
            "incident--a",
            "A",
            "2024-01-03",
            (30.2839, 57.0834),
            LocationPrecision::Exact,
        );
        // Too far for exact precision.
        let far = candidate(
            "incident--far",
            "B",
            "2024-01-03",
            (29.5, 57.0),
            LocationPrecision::Exact,
        );
        // Too late.
        let late = candidate(
            "incident--late",
            "B",
            "2024-01-06",
            (30.2839, 57.0834),
            LocationPrecision::Exact,
        );
        // Same source: not a corroboration.
        let same = candidate(
            "incident--same",
            "A",
            "2024-01-03",
            (30.2839, 57.0834),
            LocationPrecision::Exact,
        );
        // Another attack type.
        let mut shooting = candidate(
            "incident--shooting",
            "B",
            "2024-01-03",
            (30.2839, 57.0834),
            LocationPrecision::Exact,
        );
        shooting.attack_types = vec![AttackType::ArmedAssault];
        // Another country.
        let mut elsewhere = candidate(
            "incident--elsewhere",
            "B",
            "2024-01-03",
            (30.2839, 57.0834),
            LocationPrecision::Exact,
        );
        elsewhere.country = Some("PK".into());
        let found = propose(
            &[a, far, late, same, shooting, elsewhere],
            &MatchOptions::default(),
        );
        assert_eq!(found.matches, vec![]);
    }

    #[test]
    fn comparisons_are_bounded() {
        let all: Vec<Candidate> = (0..50)
            .map(|i| {
                candidate(
                    &format!("incident--{i}"),
                    &format!("S{}", i % 2),
                    "2024-01-03",
                    (30.28, 57.08),
                    LocationPrecision::Exact,
                )
            })
            .collect();
        let found = propose(
            &all,
            &MatchOptions {
                comparisons_max: 100,
                ..MatchOptions::default()
            },
        );
        assert!(found.truncated);
        assert_eq!(found.comparisons, 100);
    }
}
