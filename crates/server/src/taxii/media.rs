//! Content negotiation: TAXII 2.1 speaks `application/taxii+json;version=2.1` both ways.
//! A request whose `Accept` admits no such response gets 406; a body of another type, 415.

use axum::http::{HeaderMap, header};

use super::error::TaxiiError;

/// The media type of every response body.
pub(crate) const TAXII_MEDIA_TYPE: &str = "application/taxii+json;version=2.1";
/// The media type of STIX content in manifests.
pub(crate) const STIX_MEDIA_TYPE: &str = "application/stix+json;version=2.1";

/// One media range of an `Accept` header, or a `Content-Type`, split into its parts.
struct MediaRange<'a> {
    essence: String,
    version: Option<&'a str>,
    quality_zero: bool,
}

fn parse(range: &str) -> MediaRange<'_> {
    let mut parts = range.split(';');
    let essence = parts.next().unwrap_or("").trim().to_ascii_lowercase();
    let mut version = None;
    let mut quality_zero = false;
    for parameter in parts {
        let Some((key, value)) = parameter.split_once('=') else {
            continue;
        };
        let value = value.trim().trim_matches('"');
        match key.trim().to_ascii_lowercase().as_str() {
            "version" => version = Some(value),
            "q" => quality_zero = value.parse::<f32>().is_ok_and(|q| q <= 0.0),
            _ => {}
        }
    }
    MediaRange {
        essence,
        version,
        quality_zero,
    }
}

/// Whether a request may be answered with a TAXII 2.1 body. No `Accept` header accepts
/// anything (RFC 9110); `*/*` and `application/*` admit TAXII too.
pub(crate) fn check_accept(headers: &HeaderMap) -> Result<(), TaxiiError> {
    let values: Vec<&str> = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    if values.is_empty() {
        return Ok(());
    }
    let acceptable = values
        .iter()
        .flat_map(|v| v.split(','))
        .map(parse)
        .any(|range| {
            !range.quality_zero
                && match range.essence.as_str() {
                    "application/taxii+json" => range.version.is_none_or(|v| v == "2.1"),
                    "*/*" | "application/*" => true,
                    _ => false,
                }
        });
    if acceptable {
        Ok(())
    } else {
        Err(TaxiiError::not_acceptable(format!(
            "this server answers only {TAXII_MEDIA_TYPE}; the request's Accept header admits none of it"
        )))
    }
}

/// Whether a request body is TAXII 2.1 (`application/taxii+json`, version 2.1 or unstated).
pub(crate) fn check_content_type(headers: &HeaderMap) -> Result<(), TaxiiError> {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return Err(TaxiiError::unsupported_media_type(format!(
            "a request body needs Content-Type: {TAXII_MEDIA_TYPE}"
        )));
    };
    let range = parse(value);
    if range.essence == "application/taxii+json" && range.version.is_none_or(|v| v == "2.1") {
        Ok(())
    } else {
        Err(TaxiiError::unsupported_media_type(format!(
            "the body is {value}; this server accepts only {TAXII_MEDIA_TYPE}"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn accept(value: &str) -> bool {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, HeaderValue::from_str(value).unwrap());
        check_accept(&headers).is_ok()
    }

    #[test]
    fn negotiates_taxii_2_1_only() {
        assert!(accept("application/taxii+json;version=2.1"));
        assert!(accept("application/taxii+json; version=2.1"));
        assert!(accept("application/taxii+json"));
        assert!(accept("text/html, */*"));
        assert!(!accept("application/taxii+json;version=2.0"));
        assert!(!accept("application/json"));
        assert!(!accept("application/taxii+json;version=2.1;q=0"));
        assert!(check_accept(&HeaderMap::new()).is_ok());

        let mut headers = HeaderMap::new();
        assert!(check_content_type(&headers).is_err());
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        assert!(check_content_type(&headers).is_err());
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(TAXII_MEDIA_TYPE),
        );
        assert!(check_content_type(&headers).is_ok());
    }
}
