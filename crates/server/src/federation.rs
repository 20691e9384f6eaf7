//! The server side of federation: the node's public key in discovery, and its ledger's signed
//! tree head with a consistency proof from the head a peer saw last.
//!
//! ```text
//! GET /tessera/ledger/head/?since=N     the current signed head, and a proof that the tree of
//!                                       N entries (a head the caller holds) is its prefix
//! GET /tessera/withdrawals/?after=T.S   versions withdrawn (TAXII DELETE) after a point, among
//!                                       those the ledger shows were released to the caller
//! ```
//!
//! Withdrawals are signed like pages of objects. A partner learns only of withdrawn versions
//! it was given: the ledger's `Released` records say which those are.

use std::sync::Arc;

use axum::extract::{Extension, State};
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use ledger::{Hash, SignedTreeHead};
use serde_json::{Value, json};

use crate::state::App;
use crate::taxii::error::TaxiiError;
use crate::taxii::{Caller, on_store, taxii};

/// Where a peer asks for the ledger head.
pub(crate) const HEAD_PATH: &str = "/tessera/ledger/head/";
/// Where a peer asks what was withdrawn.
pub(crate) const WITHDRAWALS_PATH: &str = "/tessera/withdrawals/";
/// Withdrawals per answer.
const WITHDRAWALS_PAGE_MAX: usize = 1_000;

/// The value of the one query parameter these resources take, refusing any other.
fn only_parameter(uri: &Uri, name: &str) -> Result<Option<String>, TaxiiError> {
    let mut found = None;
    for (key, value) in form_urlencoded::parse(uri.query().unwrap_or("").as_bytes()) {
        if key != name {
            return Err(TaxiiError::bad_request(format!(
                "unknown parameter {key:?}; this resource takes only `{name}`"
            )));
        }
        found = Some(value.into_owned());
    }
    Ok(found)
}

/// A withdrawals cursor: `MICROS.SEQ`.
pub fn parse_withdrawal_point(text: &str) -> Option<(i64, u64)> {
    let (micros, seq) = text.split_once('.')?;
    Some((micros.parse().ok()?, seq.parse().ok()?))
}

pub(crate) async fn withdrawals(
    State(app): State<Arc<App>>,
    Extension(caller): Extension<Caller>,
    uri: Uri,
) -> Result<Response, TaxiiError> {
    let after = match only_parameter(&uri, "after")? {
        Some(value) => parse_withdrawal_point(&value).ok_or_else(|| {
            TaxiiError::bad_request(format!(
                "after={value:?} is not a withdrawal point this node gave out (MICROS.SEQ)"
            ))
        })?,
        None => (i64::MIN, 0),
    };
    let (body, signature) = on_store(&app, move |app| {
        let snapshot = app.store.snapshot()?;
        // One more than a page, to know whether more follow.
        let points = snapshot.withdrawals(after, WITHDRAWALS_PAGE_MAX + 1)?;
        let more = points.len() > WITHDRAWALS_PAGE_MAX;
        let ledger = app.ledger();
        let mut listed = Vec::new();
        let mut last = None;
        for &(at, seq) in points.iter().take(WITHDRAWALS_PAGE_MAX) {
            last = Some((at, seq));
            let version = snapshot.version(seq)?;
            let text =
                crate::node::version_text(&version.canonical_json, version.date_added_micros);
            let told = caller.role == policy::Role::Analyst
                || crate::node::released_to(&ledger, &caller.name, &version.id, &text)
                    .map_err(|e| TaxiiError::internal(format!("reading the ledger: {e}")))?;
            if told {
                listed.push(json!({
                    "id": version.id,
                    "version": text,
                    "withdrawn": crate::files::micros_text(at),
                }));
            }
        }
        let mut envelope = json!({ "more": more, "withdrawals": listed });
        if let Some((at, seq)) = last {
            envelope["next"] = json!(format!("{at}.{seq}"));
        }
        let body = stix::canonical::canonical(&envelope);
        let signature = hex::encode(app.key.sign_message(&body));
        Ok((body, signature))
    })
    .await?;
    let mut response = taxii(StatusCode::OK, body);
    if let Ok(value) = axum::http::HeaderValue::from_str(&signature) {
        response
            .headers_mut()
            .insert(crate::taxii::PAGE_SIGNATURE_HEADER, value);
    }
    Ok(response)
}

/// A head and the consistency proof that comes with it, as JSON.
pub fn head_json(head: &SignedTreeHead, consistency: &[Hash], public_key_hex: &str) -> Value {
    json!({
        "tree_size": head.tree_size,
        "root_hash": hex::encode(head.root_hash),
        "timestamp_unix_ms": head.timestamp_unix_ms,
        "signature": hex::encode(head.signature),
        "public_key": public_key_hex,
        "consistency": consistency.iter().map(hex::encode).collect::<Vec<_>>(),
    })
}

/// Reads [`head_json`]; says nothing of the signature (the caller checks it against the key
/// it pinned, never against `public_key`).
pub fn parse_head(value: &Value) -> Result<(SignedTreeHead, Vec<Hash>), String> {
    fn hex_array<const N: usize>(value: &Value, name: &str) -> Result<[u8; N], String> {
        let text = value
            .as_str()
            .ok_or_else(|| format!("`{name}` is not a string"))?;
        let mut out = [0u8; N];
        hex::decode_to_slice(text, &mut out)
            .map_err(|e| format!("`{name}` is not {N} bytes of hex: {e}"))?;
        Ok(out)
    }
    let number = |name: &str| {
        value[name]
            .as_u64()
            .ok_or_else(|| format!("`{name}` is not a non-negative integer"))
    };
    let head = SignedTreeHead {
        tree_size: number("tree_size")?,
        root_hash: hex_array::<32>(&value["root_hash"], "root_hash")?,
        timestamp_unix_ms: number("timestamp_unix_ms")?,
        signature: hex_array::<64>(&value["signature"], "signature")?,
    };
    let proof = value["consistency"]
        .as_array()
        .ok_or("`consistency` is not an array")?;
    if proof.len() > 64 {
        return Err(format!(
            "a consistency proof of {} hashes is longer than any tree needs",
            proof.len()
        ));
    }
    let proof = proof
        .iter()
        .map(|h| hex_array::<32>(h, "consistency[]"))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((head, proof))
}

pub(crate) async fn ledger_head(
    State(app): State<Arc<App>>,
    Extension(_caller): Extension<Caller>,
    uri: Uri,
) -> Result<Response, TaxiiError> {
    let since: u64 = match only_parameter(&uri, "since")? {
        Some(value) => value.parse().map_err(|_| {
            TaxiiError::bad_request(format!(
                "since={value:?} is not a tree size (a non-negative integer)"
            ))
        })?,
        None => 0,
    };
    let body = on_store(&app, move |app| {
        let mut ledger = app.ledger();
        let size = ledger.tree_size();
        let head = crate::node::current_head(&mut ledger, &app.key)
            .map_err(|e| TaxiiError::internal(format!("signing the ledger head: {e}")))?;
        // A caller holding a head beyond this ledger gets the head alone: it is the caller's
        // check that finds the history inconsistent, not this node's to judge.
        let proof = if since == 0 || since >= size {
            Vec::new()
        } else {
            ledger
                .prove_consistency(since, size)
                .map_err(|e| TaxiiError::internal(format!("proving consistency: {e}")))?
        };
        Ok(head_json(&head, &proof, &app.key.public_key().to_hex()).to_string())
    })
    .await?;
    Ok(taxii(StatusCode::OK, body))
}
