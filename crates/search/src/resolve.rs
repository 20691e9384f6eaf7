//! Resolution without rewriting: which incidents from other sources describe the same event
//! as a given one. Computed from the store on demand; no source object is ever changed.

use incident::corroborate::{Candidate, Match, MatchOptions, propose};
use store::{Scan, Store};

use crate::SearchError;

/// Incidents read per page when gathering candidates.
const PAGE: usize = 5_000;

/// Every incident the store holds as a corroboration candidate, with the location it is
/// `located-at` (the latest version of each).
pub fn incident_candidates(store: &Store) -> Result<Vec<Candidate>, SearchError> {
    let mut scan = Scan {
        types: vec!["incident".to_string()],
        latest_only: true,
        limit: PAGE,
        ..Scan::default()
    };
    let mut candidates = Vec::new();
    loop {
        let page = store.scan(&scan)?;
        for version in &page.versions {
            let Ok(incident) = version.object() else {
                continue;
            };
            let location = located_at(store, incident.id())?;
            if let Some(candidate) = Candidate::from_objects(&incident, location.as_ref()) {
                candidates.push(candidate);
            }
        }
        match page.next_after_seq {
            Some(seq) => scan.after_seq = seq,
            None => break,
        }
    }
    Ok(candidates)
}

/// The location an object is `located-at`, by its latest relationship.
fn located_at(store: &Store, id: &str) -> Result<Option<stix::Object>, SearchError> {
    for (properties, version) in store.referrers(id, 64)? {
        if !properties.iter().any(|p| p == "source_ref") {
            continue;
        }
        let Ok(relationship) = version.object() else {
            continue;
        };
        if let Some(link) = relationship.as_relationship()
            && link.relationship_type == "located-at"
            && let Some(target) = store.get(link.target_ref)?
        {
            return Ok(target.object().ok());
        }
    }
    Ok(None)
}

/// Incidents of other sources that match `incident_id`, best first, with score and reason.
pub fn corroborating(store: &Store, incident_id: &str) -> Result<Vec<Match>, SearchError> {
    let candidates = incident_candidates(store)?;
    let matches = propose(&candidates, &MatchOptions::default());
    Ok(matches
        .matches
        .into_iter()
        .filter(|m| m.a == incident_id || m.b == incident_id)
        .collect())
}
