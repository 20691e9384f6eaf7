//! TAXII 2.1 over HTTP: the routes, the gate every request passes (authentication, rate,
//! content negotiation), and the handlers.
//!
//! ```text
//! GET    /taxii2/                                                   discovery
//! GET    /api/                                                      API root
//! GET    /api/collections/                                          collections
//! GET    /api/collections/{collection}/                             one collection
//! GET    /api/collections/{collection}/manifest/                    manifest entries
//! GET    /api/collections/{collection}/objects/                     objects
//! POST   /api/collections/{collection}/objects/                     add objects (202 + status)
//! GET    /api/collections/{collection}/objects/{id}/                one object
//! DELETE /api/collections/{collection}/objects/{id}/                withdraw an object
//! GET    /api/collections/{collection}/objects/{id}/versions/       its versions
//! GET    /api/status/{status}/                                      status of a POST
//! ```
//!
//! `{collection}` is a collection's id or alias. Every path also answers without its final
//! slash.

pub(crate) mod collections;
pub(crate) mod error;
pub(crate) mod media;
pub(crate) mod params;
mod post;

use std::sync::Arc;

use axum::Router;
use axum::extract::{ConnectInfo, Extension, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get};
use policy::{Policy, Role};
use serde_json::{Value, json};
use store::query::{Selection, VersionMatch};

use crate::outbound::{self, Page};
use crate::state::App;
use crate::tls::ClientCertificate;
use collections::Access;
use error::TaxiiError;
use media::TAXII_MEDIA_TYPE;
use params::Accepts;

/// Where the API root lives.
pub(crate) const API_ROOT_PATH: &str = "/api/";

/// The response header that carries the node's detached Ed25519 signature (hex) over the
/// body of every page of objects, manifest entries or versions: the body is the RFC 8785
/// canonical JSON of the resource, so a receiver checks the signature against the canonical
/// form of what it parsed.
pub const PAGE_SIGNATURE_HEADER: &str = "x-tessera-signature";

/// Who is asking, as the gate established it: the partner a valid token belongs to, its role,
/// and the policy in force when the request arrived (used for the whole request).
#[derive(Clone)]
pub(crate) struct Caller {
    pub name: String,
    pub role: Role,
    pub policy: Arc<Policy>,
}

/// The whole HTTP surface.
pub(crate) fn router(app: Arc<App>) -> Router {
    let routes: [(&str, MethodRouter<Arc<App>>); 11] = [
        ("/taxii2/", get(discovery)),
        (API_ROOT_PATH, get(api_root)),
        ("/api/collections/", get(list_collections)),
        ("/api/collections/{collection}/", get(get_collection)),
        (
            "/api/collections/{collection}/objects/",
            get(get_objects).post(post::add_objects),
        ),
        (
            "/api/collections/{collection}/objects/{object}/",
            get(get_object).delete(delete_object),
        ),
        (
            "/api/collections/{collection}/objects/{object}/versions/",
            get(get_versions),
        ),
        ("/api/collections/{collection}/manifest/", get(get_manifest)),
        ("/api/status/{status}/", get(post::get_status)),
        (
            crate::federation::HEAD_PATH,
            get(crate::federation::ledger_head),
        ),
        (
            crate::federation::WITHDRAWALS_PATH,
            get(crate::federation::withdrawals),
        ),
    ];
    let mut router = Router::new();
    for (path, method_router) in routes {
        router = router
            .route(path, method_router.clone())
            .route(path.trim_end_matches('/'), method_router);
    }
    router
        .fallback(|| async { TaxiiError::not_found("no such TAXII resource on this server") })
        .method_not_allowed_fallback(|| async {
            TaxiiError::method_not_allowed("this resource does not take that method")
        })
        .layer(axum::middleware::from_fn_with_state(app.clone(), gate))
        .with_state(app)
}

/// Every request passes here first: a valid token (401), within its rate (429), asking for a
/// TAXII 2.1 answer (406).
async fn gate(State(app): State<Arc<App>>, mut request: Request, next: Next) -> Response {
    match admit(&app, &request) {
        Ok(caller) => {
            request.extensions_mut().insert(caller);
            next.run(request).await
        }
        Err(error) => error.into_response(),
    }
}

fn admit(app: &App, request: &Request) -> Result<Caller, TaxiiError> {
    let caller = authenticate(app, request)?;
    media::check_accept(request.headers())?;
    Ok(caller)
}

/// A valid token (401), presented over the connection its partner is bound to if it is bound
/// (401), within its rate (429): who is asking. The app API's gate too.
pub(crate) fn authenticate(app: &App, request: &Request) -> Result<Caller, TaxiiError> {
    let token = bearer_token(request.headers())?;
    let book = app.partners.get();
    let record = book
        .authenticate(token)
        .ok_or_else(|| TaxiiError::unauthorized("the token is not valid (unknown or revoked)"))?;
    let name = record.name.as_str();
    if let Some(bound) = record.certificate_sha256 {
        let presented = request
            .extensions()
            .get::<ConnectInfo<ClientCertificate>>()
            .and_then(|info| info.0.0);
        if presented != Some(bound) {
            let found = if presented.is_some() {
                "another client certificate"
            } else {
                "no client certificate"
            };
            return Err(TaxiiError::unauthorized(format!(
                "this token is bound to its partner's client certificate, and the connection presented {found}"
            )));
        }
    }
    let policy = app.policy.get();
    let role = policy.partner(name).map(|p| p.role).ok_or_else(|| {
        TaxiiError::unauthorized("the token's partner is not in this node's policy")
    })?;
    if let Err(wait) = app.rate.take(name) {
        return Err(TaxiiError::too_many_requests(
            "requests_per_second",
            app.rate.per_second(),
            wait.as_secs_f64().ceil().max(1.0) as u64,
        ));
    }
    Ok(Caller {
        name: name.to_string(),
        role,
        policy,
    })
}

/// The token of `Authorization: Bearer TOKEN` (or `Token TOKEN`, as taxii2-client's
/// `TokenAuth` sends it).
fn bearer_token(headers: &HeaderMap) -> Result<&str, TaxiiError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .ok_or_else(|| TaxiiError::unauthorized("a bearer token is required"))?
        .to_str()
        .map_err(|_| TaxiiError::unauthorized("the Authorization header is not text"))?;
    let (scheme, token) = value
        .trim()
        .split_once(' ')
        .ok_or_else(|| TaxiiError::unauthorized("Authorization must be \"Bearer TOKEN\""))?;
    if !scheme.eq_ignore_ascii_case("bearer") && !scheme.eq_ignore_ascii_case("token") {
        return Err(TaxiiError::unauthorized(
            "Authorization must be \"Bearer TOKEN\"",
        ));
    }
    Ok(token.trim())
}

/// A TAXII response with a body.
pub(crate) fn taxii(status: StatusCode, body: impl Into<axum::body::Body>) -> Response {
    let mut response = (status, body.into()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(TAXII_MEDIA_TYPE),
    );
    response
}

fn taxii_json(value: &Value) -> Response {
    taxii(StatusCode::OK, value.to_string())
}

/// The API root's URL as the client reached it: from `Host` when it is a plain host name or
/// address (the server has no public name of its own), else relative.
fn api_root_url(scheme: &str, headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.len() <= 255
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        });
    match host {
        Some(host) => format!("{scheme}://{host}{API_ROOT_PATH}"),
        None => API_ROOT_PATH.to_string(),
    }
}

async fn discovery(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    let root = api_root_url(app.scheme, &headers);
    taxii_json(&json!({
        "title": app.title,
        "description": "A Tessera node: STIX 2.1 shared under release policy.",
        "default": root,
        "api_roots": [root],
        // The key that signs this node's pages and ledger heads, for a peer to compare with
        // the one it pinned (it must never simply trust this copy).
        "x_tessera_public_key": app.key.public_key().to_hex(),
    }))
}

async fn api_root(State(app): State<Arc<App>>) -> Response {
    taxii_json(&json!({
        "title": app.title,
        "description": "Collections of this Tessera node.",
        "versions": [TAXII_MEDIA_TYPE],
        "max_content_length": app.limits.max_content_length,
    }))
}

async fn list_collections(Extension(caller): Extension<Caller>) -> Response {
    let list: Vec<Value> = collections::visible(caller.role)
        .map(|c| c.resource(caller.role))
        .collect();
    taxii_json(&json!({ "collections": list }))
}

async fn get_collection(
    Extension(caller): Extension<Caller>,
    Path(collection): Path<String>,
) -> Result<Response, TaxiiError> {
    let collection = collections::resolve(&collection, caller.role, Access::See)?;
    Ok(taxii_json(&collection.resource(caller.role)))
}

/// Runs store work on the blocking pool, at most `store_workers` at once.
pub(crate) async fn on_store<T: Send + 'static>(
    app: &Arc<App>,
    job: impl FnOnce(&App) -> Result<T, TaxiiError> + Send + 'static,
) -> Result<T, TaxiiError> {
    let _permit = app
        .store_jobs
        .acquire()
        .await
        .map_err(|_| TaxiiError::internal("the store workers are shut down"))?;
    let app = Arc::clone(app);
    tokio::task::spawn_blocking(move || job(&app))
        .await
        .map_err(|e| TaxiiError::internal(format!("a store worker failed: {e}")))?
}

/// What a paged endpoint renders.
#[derive(Clone, Copy)]
enum Render {
    Envelope,
    Manifest,
    Versions,
}

/// One page of a paged endpoint, released to the caller and rendered. For the endpoints about
/// one object (`object`), a page with nothing on it from the start is a 404 unless some
/// version of the object is released to the caller at all.
async fn paged(
    app: &Arc<App>,
    caller: Caller,
    selection: Selection,
    after_seq: u64,
    limit: usize,
    render: Render,
    object: Option<String>,
) -> Result<Response, TaxiiError> {
    let examine_max = app.limits.examine_max;
    let (body, range, signature) = on_store(app, move |app| {
        let snapshot = app.store.snapshot()?;
        let page = outbound::page(
            &snapshot,
            &app.outbound,
            &caller.policy,
            &caller.name,
            &selection,
            after_seq,
            limit,
            examine_max,
        )?;
        if page.items.is_empty()
            && after_seq == 0
            && let Some(id) = &object
        {
            let any_version = Selection {
                ids: vec![id.clone()],
                versions: VersionMatch::all(),
                sources: selection.sources.clone(),
                ..Selection::default()
            };
            let found = outbound::page(
                &snapshot,
                &app.outbound,
                &caller.policy,
                &caller.name,
                &any_version,
                0,
                1,
                examine_max,
            )?;
            if found.items.is_empty() {
                return Err(TaxiiError::not_found(format!(
                    "no object {id} in this collection"
                )));
            }
        }
        let body = match render {
            // What a partner receives is recorded before it is sent; the node's own analysts
            // are not partners, and their reads are not releases.
            Render::Envelope if caller.role == Role::Partner => {
                outbound::recorded_envelope(&page, &caller.name, &app.ledger)?.0
            }
            Render::Envelope => outbound::envelope(&page, None)?,
            Render::Manifest => outbound::manifest(&page)?,
            Render::Versions => outbound::versions(&page)?,
        };
        let signature = hex::encode(app.key.sign_message(&body));
        Ok((body, Page::date_added_range(&page), signature))
    })
    .await?;
    let mut response = taxii(StatusCode::OK, body);
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&signature) {
        headers.insert(PAGE_SIGNATURE_HEADER, value);
    }
    if let Some((first, last)) = range {
        for (name, value) in [
            ("x-taxii-date-added-first", first),
            ("x-taxii-date-added-last", last),
        ] {
            if let Ok(value) = HeaderValue::from_str(&value) {
                headers.insert(name, value);
            }
        }
    }
    Ok(response)
}

async fn get_objects(
    State(app): State<Arc<App>>,
    Extension(caller): Extension<Caller>,
    Path(collection): Path<String>,
    uri: Uri,
) -> Result<Response, TaxiiError> {
    list(app, caller, collection, uri, Render::Envelope).await
}

async fn get_manifest(
    State(app): State<Arc<App>>,
    Extension(caller): Extension<Caller>,
    Path(collection): Path<String>,
    uri: Uri,
) -> Result<Response, TaxiiError> {
    list(app, caller, collection, uri, Render::Manifest).await
}

async fn list(
    app: Arc<App>,
    caller: Caller,
    collection: String,
    uri: Uri,
    render: Render,
) -> Result<Response, TaxiiError> {
    let collection = collections::resolve(&collection, caller.role, Access::Read)?;
    let params = params::parse(uri.query(), &app.limits, Accepts::LISTS)?;
    let selection = Selection {
        added_after_micros: params.added_after_micros,
        types: params.types,
        ids: params.ids,
        versions: params.versions.unwrap_or_else(VersionMatch::last),
        spec_versions: params.spec_versions,
        sources: collection.sources(),
    };
    paged(
        &app,
        caller,
        selection,
        params.after_seq,
        params.limit,
        render,
        None,
    )
    .await
}

async fn get_object(
    State(app): State<Arc<App>>,
    Extension(caller): Extension<Caller>,
    Path((collection, object)): Path<(String, String)>,
    uri: Uri,
) -> Result<Response, TaxiiError> {
    one_object(app, caller, collection, object, uri, Render::Envelope).await
}

async fn get_versions(
    State(app): State<Arc<App>>,
    Extension(caller): Extension<Caller>,
    Path((collection, object)): Path<(String, String)>,
    uri: Uri,
) -> Result<Response, TaxiiError> {
    one_object(app, caller, collection, object, uri, Render::Versions).await
}

/// Get An Object (its envelope: the last version unless `match[version]` says otherwise) or
/// Get Object Versions (every version's string).
async fn one_object(
    app: Arc<App>,
    caller: Caller,
    collection: String,
    object: String,
    uri: Uri,
    render: Render,
) -> Result<Response, TaxiiError> {
    let collection = collections::resolve(&collection, caller.role, Access::Read)?;
    let accepts = match render {
        Render::Versions => Accepts::VERSIONS,
        _ => Accepts::OBJECT,
    };
    let params = params::parse(uri.query(), &app.limits, accepts)?;
    let versions = match render {
        Render::Versions => VersionMatch::all(),
        _ => params.versions.unwrap_or_else(VersionMatch::last),
    };
    let selection = Selection {
        added_after_micros: params.added_after_micros,
        ids: vec![object.clone()],
        versions,
        spec_versions: params.spec_versions,
        sources: collection.sources(),
        ..Selection::default()
    };
    paged(
        &app,
        caller,
        selection,
        params.after_seq,
        params.limit,
        render,
        Some(object),
    )
    .await
}

async fn delete_object(
    State(app): State<Arc<App>>,
    Extension(caller): Extension<Caller>,
    Path((collection, object)): Path<(String, String)>,
    uri: Uri,
) -> Result<Response, TaxiiError> {
    let collection = collections::resolve(&collection, caller.role, Access::Delete)?;
    let params = params::parse(uri.query(), &app.limits, Accepts::DELETE)?;
    // Deleting "an object" withdraws every version unless match[version] narrows it.
    let versions = params.versions.unwrap_or_else(VersionMatch::all);
    let not_found = || TaxiiError::not_found(format!("no object {object} in this collection"));
    if !params.spec_versions.is_empty() && !params.spec_versions.iter().any(|s| s == "2.1") {
        // Every version this node holds is STIX 2.1.
        return Err(not_found());
    }
    let _writer = app
        .writer
        .clone()
        .acquire_owned()
        .await
        .map_err(|_| TaxiiError::internal("the writer is shut down"))?;
    let sources = collection.sources();
    let examine_max = app.limits.examine_max;
    let id = object.clone();
    let deleted = on_store(&app, move |app| {
        let in_collection = {
            let snapshot = app.store.snapshot()?;
            let selection = Selection {
                ids: vec![id.clone()],
                versions: VersionMatch::all(),
                sources,
                ..Selection::default()
            };
            snapshot
                .select(&selection, 0, examine_max)?
                .next()
                .is_some()
        };
        if !in_collection {
            return Ok(Vec::new());
        }
        Ok(app.store.delete(&id, &versions)?)
    })
    .await?;
    if deleted.is_empty() {
        return Err(not_found());
    }
    crate::log(&format!(
        "{} deleted {} version(s) of {object}",
        caller.name,
        deleted.len()
    ));
    Ok(taxii(StatusCode::OK, axum::body::Body::empty()))
}
