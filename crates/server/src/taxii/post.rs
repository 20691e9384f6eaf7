//! Add Objects and Get Status: a POSTed envelope becomes a store import (valid objects stored,
//! invalid ones reported, never the whole envelope refused for one bad object), answered with a
//! status resource that lists each object's success or failure.
//!
//! The envelope is checked before it is accepted (413 over `max_content_length` or
//! `objects_per_post_max`, 415 for another media type, 400 when it is not JSON or not an
//! envelope); what is accepted is imported by the node's one writer, and the answer waits up
//! to `post_wait_ms` for it, so small POSTs come back complete and large ones pending.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Extension, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use http_body_util::BodyExt;
use policy::Role;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};
use store::{BundleInput, ImportOptions, ImportReport, import_bundle};

use super::collections::{self, Access, PEER_SOURCE_PREFIX};
use super::error::TaxiiError;
use super::media;
use super::{Caller, PAGE_SIGNATURE_HEADER, on_store, taxii};
use crate::files::{micros_text, now_micros};
use crate::state::{App, Detail, Status};

/// Longest message kept for one failed object.
const FAILURE_MESSAGE_BYTES_MAX: usize = 2_048;

pub(crate) async fn add_objects(
    State(app): State<Arc<App>>,
    Extension(caller): Extension<Caller>,
    Path(collection): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, TaxiiError> {
    collections::resolve(&collection, caller.role, Access::Write)?;
    media::check_content_type(&headers)?;
    let max = app.limits.max_content_length;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > max as u64) {
        return Err(too_large(max));
    }
    let bytes = read_limited(body, max).await?;
    let request_micros = now_micros();

    let objects_max = app.limits.objects_per_post_max;
    let signature = headers
        .get(PAGE_SIGNATURE_HEADER)
        .map(|v| v.to_str().unwrap_or("").to_string());
    let signer = (caller.role == Role::Partner).then(|| caller.name.clone());
    let (bundle, heads, signature) = on_store(&app, move |app| {
        // Checked before anything is parsed into the store: a push that fails its signature
        // is refused whole.
        let signature = match (signature, signer) {
            (Some(signature), Some(partner)) => {
                Some(verified_push(&app.data_dir, &partner, &bytes, &signature)?)
            }
            _ => None,
        };
        let (bundle, heads) = wrap_envelope(&bytes, objects_max)?;
        Ok((bundle, heads, signature))
    })
    .await?;

    let pending_max = app.limits.pending_imports_max;
    if app.pending_imports.fetch_add(1, Ordering::SeqCst) >= pending_max {
        app.pending_imports.fetch_sub(1, Ordering::SeqCst);
        return Err(TaxiiError::unavailable(
            "pending_imports_max",
            pending_max as u64,
            format!("{pending_max} POSTs are already being written; retry shortly"),
        ));
    }
    let request_version = micros_text(request_micros);
    let status = Status {
        id: uuid::Uuid::new_v4().to_string(),
        owner: caller.name.clone(),
        request_micros,
        complete: heads.is_empty(),
        successes: Vec::new(),
        failures: Vec::new(),
        pendings: heads
            .iter()
            .map(|h| Detail {
                id: h.id.clone(),
                version: h.version.clone().unwrap_or_else(|| request_version.clone()),
                message: None,
            })
            .collect(),
    };
    let status_id = status.id.clone();
    lock(&app).insert(status.clone());

    let source = match caller.role {
        Role::Partner => format!("{PEER_SOURCE_PREFIX}{}", caller.name),
        Role::Analyst => format!("analyst:{}", caller.name),
    };
    let (done_sender, done_receiver) = tokio::sync::oneshot::channel::<()>();
    let importer = Arc::clone(&app);
    let caller = caller.clone();
    tokio::spawn(async move {
        let outcome = match importer.writer.clone().acquire_owned().await {
            Ok(permit) => {
                let store = Arc::clone(&importer.store);
                let ledger = Arc::clone(&importer.ledger);
                let data_dir = importer.data_dir.clone();
                let objects = heads.len();
                tokio::task::spawn_blocking(move || {
                    let _permit = permit;
                    let options = ImportOptions {
                        skip_invalid: true,
                        source,
                        problems_max: objects.saturating_mul(4).clamp(1_000, 1_000_000),
                        bundle: stix::BundleReader {
                            objects_max: objects.max(1),
                        },
                        ..ImportOptions::default()
                    };
                    let pushed_by = match caller.role {
                        Role::Partner => Some(caller.name.as_str()),
                        Role::Analyst => None,
                    };
                    // The writer permit is held: every version after this seq is this POST's.
                    let before_seq = store
                        .snapshot()
                        .and_then(|s| s.watermark())
                        .map_err(|e| e.to_string())?
                        .last_seq();
                    let report =
                        import_bundle(&store, BundleInput::Slice(&bundle), &options, &mut ())
                            .map_err(|e| e.to_string())?;
                    let mut ledger = ledger
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                    // What the node's analysts added is the node's own: the ledger records it
                    // as created. A partner's push is received: recorded with the partner's
                    // signature when it signed the envelope.
                    let recorded = match pushed_by {
                        None => crate::node::record_created(&data_dir, &store, &mut ledger),
                        Some(partner) => crate::node::record_pushed(
                            &store,
                            &mut ledger,
                            partner,
                            before_seq,
                            signature.as_deref().unwrap_or(""),
                        ),
                    };
                    if let Err(e) = recorded {
                        crate::log(&format!("recording the posted versions in the ledger: {e}"));
                    }
                    Ok(report)
                })
                .await
                .unwrap_or_else(|e| Err(format!("the import worker failed: {e}")))
            }
            Err(_) => Err("the node is shutting down".to_string()),
        };
        let finished = finish(status, &heads, outcome, &request_version);
        crate::log(&format!(
            "{} posted {} objects: {} stored or already held, {} failed",
            finished.owner,
            heads.len(),
            finished.successes.len(),
            finished.failures.len()
        ));
        lock(&importer).update(finished);
        importer.pending_imports.fetch_sub(1, Ordering::SeqCst);
        let _ = done_sender.send(());
    });

    let wait = Duration::from_millis(app.limits.post_wait_ms);
    let _ = tokio::time::timeout(wait, done_receiver).await;
    let body = {
        let book = lock(&app);
        match book.get(&status_id) {
            Some(status) => status_json(status),
            None => return Err(TaxiiError::internal("a status was forgotten at once")),
        }
    };
    Ok(taxii(StatusCode::ACCEPTED, body.to_string()))
}

pub(crate) async fn get_status(
    State(app): State<Arc<App>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Response, TaxiiError> {
    let body = {
        let book = lock(&app);
        book.get(&id)
            .filter(|s| s.owner == caller.name || caller.role == Role::Analyst)
            .map(status_json)
    };
    match body {
        Some(body) => Ok(taxii(StatusCode::OK, body.to_string())),
        None => Err(TaxiiError::not_found(format!("no status {id} for you"))),
    }
}

fn lock(app: &App) -> std::sync::MutexGuard<'_, crate::state::StatusBook> {
    app.statuses
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The signature of a partner's push, once it verifies against the key this node pinned for
/// a peer of the same name (`tessera peer add`): the envelope as received, or its RFC 8785
/// form, as for pages. A signature this node cannot check is refused, not taken on trust.
fn verified_push(
    data_dir: &std::path::Path,
    partner: &str,
    body: &[u8],
    signature_hex: &str,
) -> Result<String, TaxiiError> {
    let refuse = |detail: String| {
        let message = format!("the push from {partner} is refused, nothing of it stored: {detail}");
        crate::log(&message);
        TaxiiError::forbidden(message)
    };
    let mut signature = [0u8; 64];
    hex::decode_to_slice(signature_hex, &mut signature)
        .map_err(|_| refuse(format!("{PAGE_SIGNATURE_HEADER} is not 64 bytes of hex")))?;
    let peers = crate::peers::load(data_dir).map_err(|e| TaxiiError::internal(e.to_string()))?;
    let key = peers
        .iter()
        .find(|p| p.name == partner)
        .ok_or_else(|| {
            refuse(format!(
                "it is signed, but no key is pinned for {partner} to check it (`tessera peer add {partner} --key ...`)"
            ))
        })?
        .key()
        .map_err(|e| TaxiiError::internal(e.to_string()))?;
    let verifies = key.verifies(body, &signature)
        || serde_json::from_slice::<Value>(body)
            .is_ok_and(|envelope| key.verifies(&stix::canonical::canonical(&envelope), &signature));
    if !verifies {
        return Err(refuse(format!(
            "the signature does not match the envelope under the key pinned for {partner}"
        )));
    }
    Ok(signature_hex.to_ascii_lowercase())
}

fn too_large(max: usize) -> TaxiiError {
    TaxiiError::over_limit(
        StatusCode::PAYLOAD_TOO_LARGE,
        "max_content_length",
        max as u64,
        format!("the body is larger than this API root's max_content_length of {max} bytes"),
    )
}

/// Reads a body, refusing it as soon as it passes `max` bytes (whatever it declared).
async fn read_limited(mut body: Body, max: usize) -> Result<Vec<u8>, TaxiiError> {
    let mut bytes = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame =
            frame.map_err(|e| TaxiiError::bad_request(format!("reading the body failed: {e}")))?;
        if let Ok(data) = frame.into_data() {
            if bytes.len() + data.len() > max {
                return Err(too_large(max));
            }
            bytes.extend_from_slice(&data);
        }
    }
    Ok(bytes)
}

/// What the status needs of each POSTed object before it is judged.
struct Head {
    id: String,
    version: Option<String>,
}

/// Checks the envelope and turns it into a bundle for the store's importer (reusing each
/// object's text as it came), with each object's id and version for the status resource.
fn wrap_envelope(bytes: &[u8], objects_max: usize) -> Result<(Vec<u8>, Vec<Head>), TaxiiError> {
    #[derive(Deserialize)]
    struct Envelope<'a> {
        #[serde(borrow)]
        objects: Option<Vec<&'a RawValue>>,
    }
    #[derive(Deserialize, Default)]
    struct Versioned {
        id: Option<Value>,
        modified: Option<Value>,
        created: Option<Value>,
    }
    let envelope: Envelope<'_> = serde_json::from_slice(bytes).map_err(|e| {
        use serde_json::error::Category;
        match e.classify() {
            Category::Syntax | Category::Eof | Category::Io => TaxiiError::bad_request(format!(
                "the body is not valid JSON (line {}, column {}): {e}",
                e.line(),
                e.column()
            )),
            Category::Data => TaxiiError::bad_request(format!(
                "the body is not a TAXII envelope (a JSON object with a list \"objects\"): {e}"
            )),
        }
    })?;
    let Some(objects) = envelope.objects else {
        return Err(TaxiiError::bad_request(
            "the envelope has no \"objects\" list",
        ));
    };
    if objects.len() > objects_max {
        return Err(TaxiiError::over_limit(
            StatusCode::PAYLOAD_TOO_LARGE,
            "objects_per_post_max",
            objects_max as u64,
            format!(
                "the envelope holds {} objects; the limit (objects_per_post_max) is {objects_max}",
                objects.len()
            ),
        ));
    }
    let as_text = |value: Option<Value>| match value {
        Some(Value::String(text)) => Some(text),
        _ => None,
    };
    let heads = objects
        .iter()
        .map(|raw| {
            let versioned: Versioned = serde_json::from_str(raw.get()).unwrap_or_default();
            Head {
                id: as_text(versioned.id).unwrap_or_default(),
                version: as_text(versioned.modified).or_else(|| as_text(versioned.created)),
            }
        })
        .collect();
    let mut bundle = Vec::with_capacity(bytes.len() + 96);
    bundle.extend_from_slice(b"{\"type\":\"bundle\",\"id\":\"bundle--");
    bundle.extend_from_slice(uuid::Uuid::new_v4().to_string().as_bytes());
    bundle.extend_from_slice(b"\",\"objects\":[");
    for (i, raw) in objects.iter().enumerate() {
        if i > 0 {
            bundle.push(b',');
        }
        bundle.extend_from_slice(raw.get().as_bytes());
    }
    bundle.extend_from_slice(b"]}");
    Ok((bundle, heads))
}

/// The status once the import is over: each object a success unless the import reported a
/// problem with it.
fn finish(
    mut status: Status,
    heads: &[Head],
    outcome: Result<ImportReport, String>,
    request_version: &str,
) -> Status {
    let detail = |index: usize, message: Option<String>| Detail {
        id: heads[index].id.clone(),
        version: heads[index]
            .version
            .clone()
            .unwrap_or_else(|| request_version.to_string()),
        message,
    };
    status.pendings.clear();
    status.complete = true;
    match outcome {
        Ok(report) => {
            let mut problems: HashMap<usize, Vec<String>> = HashMap::new();
            for problem in &report.problems {
                let prefix = format!("objects[{}]", problem.index);
                let path = problem
                    .path
                    .strip_prefix(&prefix)
                    .map(|p| p.trim_start_matches('.'))
                    .unwrap_or(&problem.path);
                let text = if path.is_empty() {
                    format!("[{}] {}", problem.rule, problem.message)
                } else {
                    format!("[{}] {path}: {}", problem.rule, problem.message)
                };
                problems.entry(problem.index).or_default().push(text);
            }
            for index in 0..heads.len() {
                match problems.remove(&index) {
                    Some(messages) => {
                        let mut message = messages.join("; ");
                        if message.len() > FAILURE_MESSAGE_BYTES_MAX {
                            let mut cut = FAILURE_MESSAGE_BYTES_MAX;
                            while !message.is_char_boundary(cut) {
                                cut -= 1;
                            }
                            message.truncate(cut);
                            message.push('…');
                        }
                        status.failures.push(detail(index, Some(message)));
                    }
                    None => status.successes.push(detail(index, None)),
                }
            }
        }
        Err(message) => {
            for index in 0..heads.len() {
                status.failures.push(detail(index, Some(message.clone())));
            }
        }
    }
    status
}

/// The TAXII status resource.
fn status_json(status: &Status) -> Value {
    let details = |list: &[Detail]| -> Vec<Value> {
        list.iter()
            .map(|d| {
                let mut value = json!({ "id": d.id, "version": d.version });
                if let Some(message) = &d.message {
                    value["message"] = json!(message);
                }
                value
            })
            .collect()
    };
    let total = status.successes.len() + status.failures.len() + status.pendings.len();
    json!({
        "id": status.id,
        "status": if status.complete { "complete" } else { "pending" },
        "request_timestamp": micros_text(status.request_micros),
        "total_count": total,
        "success_count": status.successes.len(),
        "successes": details(&status.successes),
        "failure_count": status.failures.len(),
        "failures": details(&status.failures),
        "pending_count": status.pendings.len(),
        "pendings": details(&status.pendings),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes_are_checked_and_wrapped() {
        let error = wrap_envelope(b"{\"objects\": [", 10).err().unwrap();
        assert_eq!(error.status(), StatusCode::BAD_REQUEST);
        let error = wrap_envelope(b"[1, 2]", 10).err().unwrap();
        assert_eq!(error.status(), StatusCode::BAD_REQUEST);
        let error = wrap_envelope(b"{\"more\": false}", 10).err().unwrap();
        assert_eq!(error.status(), StatusCode::BAD_REQUEST);
        let error = wrap_envelope(b"{\"objects\": [1, 2, 3]}", 2).err().unwrap();
        assert_eq!(error.status(), StatusCode::PAYLOAD_TOO_LARGE);
        let (bundle, heads) = wrap_envelope(
            br#"{"objects": [{"id": "x--1", "modified": "2020-01-01T00:00:00Z"}, 7]}"#,
            10,
        )
        .unwrap();
        let bundle: Value = serde_json::from_slice(&bundle).unwrap();
        assert_eq!(bundle["type"], "bundle");
        assert_eq!(bundle["objects"][1], 7);
        assert_eq!(heads[0].id, "x--1");
        assert_eq!(heads[0].version.as_deref(), Some("2020-01-01T00:00:00Z"));
        assert_eq!(heads[1].id, "");
    }
}
