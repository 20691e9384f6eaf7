//! URL parameters of the TAXII 2.1 endpoints (sections 3.4 and 3.5): `added_after`, `limit`,
//! `next` and the `match[...]` filters, parsed and bounded before anything reads the store.

use axum::http::StatusCode;
use store::query::{
    SELECTION_IDS_MAX, SELECTION_SPEC_VERSIONS_MAX, SELECTION_TYPES_MAX, SELECTION_VERSIONS_MAX,
    VersionMatch,
};

use super::error::TaxiiError;
use crate::Limits;

/// Which filters an endpoint takes; the others are ignored, as TAXII allows.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Accepts {
    pub ids: bool,
    pub types: bool,
    pub versions: bool,
    pub paging: bool,
}

impl Accepts {
    /// Get Objects and Get Object Manifests.
    pub(crate) const LISTS: Accepts = Accepts {
        ids: true,
        types: true,
        versions: true,
        paging: true,
    };
    /// Get An Object.
    pub(crate) const OBJECT: Accepts = Accepts {
        ids: false,
        types: false,
        versions: true,
        paging: true,
    };
    /// Get Object Versions.
    pub(crate) const VERSIONS: Accepts = Accepts {
        ids: false,
        types: false,
        versions: false,
        paging: true,
    };
    /// Delete An Object.
    pub(crate) const DELETE: Accepts = Accepts {
        ids: false,
        types: false,
        versions: true,
        paging: false,
    };
}

/// The parameters of one request.
#[derive(Debug, Clone, Default)]
pub(crate) struct Params {
    pub added_after_micros: Option<i64>,
    pub limit: usize,
    /// Where `next` says the previous page ended (0: from the start).
    pub after_seq: u64,
    pub ids: Vec<String>,
    pub types: Vec<String>,
    /// `None`: the endpoint's default.
    pub versions: Option<VersionMatch>,
    pub spec_versions: Vec<String>,
}

/// The opaque `next` of a page: the last sequence number the page covered. Sequence numbers
/// only grow, so a walk stays exact while objects are added, unlike an offset.
pub(crate) fn encode_cursor(after_seq: u64) -> String {
    format!("t1.{after_seq:x}")
}

fn decode_cursor(text: &str) -> Result<u64, TaxiiError> {
    text.strip_prefix("t1.")
        .filter(|hex| !hex.is_empty() && hex.len() <= 16)
        .and_then(|hex| u64::from_str_radix(hex, 16).ok())
        .ok_or_else(|| {
            TaxiiError::bad_request(format!(
                "next={text:?} is not a cursor this server gave out"
            ))
        })
}

/// Parses the query string of a request.
pub(crate) fn parse(
    query: Option<&str>,
    limits: &Limits,
    accepts: Accepts,
) -> Result<Params, TaxiiError> {
    let query = query.unwrap_or("");
    if query.len() > limits.query_bytes_max {
        return Err(TaxiiError::over_limit(
            StatusCode::URI_TOO_LONG,
            "query_bytes_max",
            limits.query_bytes_max as u64,
            format!(
                "the query string is {} bytes; the limit (query_bytes_max) is {}",
                query.len(),
                limits.query_bytes_max
            ),
        ));
    }
    let mut params = Params {
        limit: limits.page_size_default,
        ..Params::default()
    };
    let mut versions: Option<VersionMatch> = None;
    for (count, (key, value)) in form_urlencoded::parse(query.as_bytes()).enumerate() {
        if count >= limits.query_parameters_max {
            return Err(TaxiiError::over_limit(
                StatusCode::URI_TOO_LONG,
                "query_parameters_max",
                limits.query_parameters_max as u64,
                format!(
                    "more than {} query parameters (query_parameters_max)",
                    limits.query_parameters_max
                ),
            ));
        }
        match key.as_ref() {
            "added_after" if accepts.paging => {
                params.added_after_micros = Some(timestamp_micros("added_after", &value)?);
            }
            "limit" if accepts.paging => {
                let limit: usize = value.trim().parse().map_err(|_| {
                    TaxiiError::bad_request(format!("limit={value:?} is not a positive integer"))
                })?;
                if limit == 0 {
                    return Err(TaxiiError::bad_request("limit must be at least 1"));
                }
                // TAXII lets a server return fewer than asked; it never errs on a large limit.
                params.limit = limit.min(limits.page_size_max);
            }
            "next" if accepts.paging => params.after_seq = decode_cursor(&value)?,
            "match[id]" if accepts.ids => {
                extend(&mut params.ids, &value, SELECTION_IDS_MAX, "match[id]")?;
            }
            "match[type]" if accepts.types => {
                extend(
                    &mut params.types,
                    &value,
                    SELECTION_TYPES_MAX,
                    "match[type]",
                )?;
            }
            "match[spec_version]" => extend(
                &mut params.spec_versions,
                &value,
                SELECTION_SPEC_VERSIONS_MAX,
                "match[spec_version]",
            )?,
            "match[version]" if accepts.versions => {
                let selected = versions.get_or_insert_with(VersionMatch::default);
                for item in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                    match item {
                        "first" => selected.first = true,
                        "last" => selected.last = true,
                        "all" => selected.all = true,
                        instant => {
                            if selected.at.len() >= SELECTION_VERSIONS_MAX {
                                return Err(TaxiiError::bad_request(format!(
                                    "match[version] names more than {SELECTION_VERSIONS_MAX} versions"
                                )));
                            }
                            let nanos = stix::Timestamp::parse(instant)
                                .map_err(|e| {
                                    TaxiiError::bad_request(format!(
                                        "match[version]={instant:?} is neither first, last, all nor a timestamp: {e}"
                                    ))
                                })?
                                .unix_nanos();
                            selected.at.push(nanos);
                        }
                    }
                }
            }
            _ => {}
        }
    }
    if let Some(selected) = &versions
        && *selected == VersionMatch::default()
    {
        return Err(TaxiiError::bad_request(
            "match[version] is empty: give first, last, all or a timestamp",
        ));
    }
    params.versions = versions;
    Ok(params)
}

fn extend(into: &mut Vec<String>, value: &str, max: usize, name: &str) -> Result<(), TaxiiError> {
    for item in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        if into.len() >= max {
            return Err(TaxiiError::bad_request(format!(
                "{name} names more than {max} values"
            )));
        }
        into.push(item.to_string());
    }
    Ok(())
}

/// A STIX timestamp as microseconds, rounded down (`added_after` compares with the node's
/// microsecond `date_added`: a version added at D is after T when D > T).
fn timestamp_micros(name: &str, text: &str) -> Result<i64, TaxiiError> {
    let nanos = stix::Timestamp::parse(text.trim())
        .map_err(|e| TaxiiError::bad_request(format!("{name}={text:?} is not a timestamp: {e}")))?
        .unix_nanos();
    Ok(nanos
        .div_euclid(1_000)
        .clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_filters_and_bounds_them() {
        let limits = Limits::default();
        let params = parse(
            Some("limit=5000&match[type]=indicator,malware&match[version]=first,2020-01-01T00:00:00Z&added_after=2020-01-01T00:00:00.000001Z&next=t1.ff"),
            &limits,
            Accepts::LISTS,
        )
        .unwrap();
        assert_eq!(params.limit, limits.page_size_max);
        assert_eq!(params.types, vec!["indicator", "malware"]);
        let versions = params.versions.unwrap();
        assert!(versions.first && !versions.last && versions.at.len() == 1);
        assert_eq!(params.after_seq, 255);
        assert_eq!(params.added_after_micros, Some(1_577_836_800_000_001));
        assert_eq!(decode_cursor(&encode_cursor(u64::MAX)).unwrap(), u64::MAX);

        for bad in [
            "limit=0",
            "limit=x",
            "next=17",
            "added_after=yesterday",
            "match[version]=newest",
        ] {
            let error = parse(Some(bad), &limits, Accepts::LISTS).unwrap_err();
            assert_eq!(error.status(), StatusCode::BAD_REQUEST, "{bad}");
        }
        let long = "a=".repeat(limits.query_bytes_max);
        assert_eq!(
            parse(Some(&long), &limits, Accepts::LISTS)
                .unwrap_err()
                .status(),
            StatusCode::URI_TOO_LONG
        );
        // Filters an endpoint does not take are ignored.
        let params = parse(Some("match[type]=indicator"), &limits, Accepts::OBJECT).unwrap();
        assert!(params.types.is_empty());
    }
}
