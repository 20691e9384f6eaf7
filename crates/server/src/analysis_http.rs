//! The app API's analysis endpoints (JSON, documented in `docs/openapi.yaml`):
//!
//! ```text
//! GET /app/graph/neighbours   ?node=&depth=
//! GET /app/graph/path         ?source=&target=&k=&time=&gap_days=
//! GET /app/graph/central      ?measure=&top=&sample=&seed=
//! GET /app/graph/communities  ?method=&top=&members=&seed=
//! GET /app/trends             ?by=&interval=&top=
//! GET /app/surge              ?interval=&baseline=&count_min=&alpha=&top=
//! ```
//!
//! Every endpoint also takes the filter `type`, `link_type` (repeatable or comma-separated),
//! `from`, `to` (YYYY-MM-DD) and `confidence_min`, and `grouping=true` to add a STIX
//! `grouping` of the objects the answer names. The token decides the view: an analyst's
//! token sees everything, a partner's only what the policy releases to it
//! ([`crate::analysis`]). Views are kept per viewer and brought up to date with the store
//! before each answer.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Extension, Request, State};
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use graph::trend::SurgeOptions;
use graph::{Filter, Limits};
use policy::{Policy, Role};
use serde_json::Value;

use crate::analysis::{self, View, Viewer};
use crate::state::App;
use crate::taxii::error::TaxiiError;
use crate::taxii::{Caller, authenticate, on_store};

/// Longest query string accepted, in bytes.
const QUERY_BYTES_MAX: usize = 4_096;

/// Each viewer's view, kept between requests. One request at a time uses a viewer's view.
#[derive(Default)]
pub(crate) struct Views {
    by_viewer: Mutex<HashMap<String, Arc<Mutex<Cached>>>>,
}

#[derive(Default)]
struct Cached {
    view: Option<View>,
    /// The policy the view was built under (a partner's view is rebuilt when it changes).
    policy: Option<Arc<Policy>>,
}

/// Every route, in the order `router` mounts them (and `docs/openapi.yaml` documents them).
const ROUTES: [&str; 6] = [
    "/app/graph/neighbours",
    "/app/graph/path",
    "/app/graph/central",
    "/app/graph/communities",
    "/app/trends",
    "/app/surge",
];

pub(crate) fn router(app: Arc<App>) -> Router {
    Router::new()
        .route(ROUTES[0], get(neighbours))
        .route(ROUTES[1], get(path))
        .route(ROUTES[2], get(central))
        .route(ROUTES[3], get(communities))
        .route(ROUTES[4], get(trends))
        .route(ROUTES[5], get(surge))
        .layer(axum::middleware::from_fn_with_state(app.clone(), gate))
        .with_state(app)
}

async fn gate(State(app): State<Arc<App>>, mut request: Request, next: Next) -> Response {
    match authenticate(&app, &request) {
        Ok(caller) => {
            request.extensions_mut().insert(caller);
            next.run(request).await
        }
        Err(error) => json_error(error),
    }
}

/// A TAXII-shaped error (title, description, http_status) as plain JSON.
fn json_error(error: TaxiiError) -> Response {
    let mut response = error.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

fn json_ok(value: &Value) -> Response {
    let mut response = (StatusCode::OK, value.to_string()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// Query parameters, repeated ones kept in order.
struct Params(Vec<(String, String)>);

impl Params {
    fn parse(uri: &Uri) -> Result<Params, TaxiiError> {
        let query = uri.query().unwrap_or("");
        if query.len() > QUERY_BYTES_MAX {
            return Err(TaxiiError::bad_request(format!(
                "the query string is {} bytes; the limit is {QUERY_BYTES_MAX}",
                query.len()
            )));
        }
        Ok(Params(
            form_urlencoded::parse(query.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        ))
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn required(&self, key: &str) -> Result<&str, TaxiiError> {
        self.get(key)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| TaxiiError::bad_request(format!("the parameter {key} is required")))
    }

    fn list(&self, key: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .flat_map(|(_, v)| v.split(','))
            .filter(|v| !v.is_empty())
            .map(str::to_string)
            .collect()
    }

    fn number<T: std::str::FromStr>(&self, key: &str, default: T) -> Result<T, TaxiiError> {
        match self.get(key) {
            None | Some("") => Ok(default),
            Some(text) => text.parse().map_err(|_| {
                TaxiiError::bad_request(format!("{key}={text:?} is not a number of the right kind"))
            }),
        }
    }

    fn flag(&self, key: &str) -> bool {
        matches!(self.get(key), Some("true" | "1" | "yes"))
    }

    fn days(&self) -> Result<Option<(i64, i64)>, TaxiiError> {
        let day = |key: &str| {
            self.get(key)
                .filter(|v| !v.is_empty())
                .map(analysis::parse_day)
                .transpose()
                .map_err(TaxiiError::bad_request)
        };
        Ok(match (day("from")?, day("to")?) {
            (None, None) => None,
            (from, to) => Some((from.unwrap_or(i64::MIN), to.unwrap_or(i64::MAX))),
        })
    }

    fn filter(&self) -> Result<Filter, TaxiiError> {
        let confidence_min: Option<u8> = match self.get("confidence_min") {
            None | Some("") => None,
            Some(text) => Some(
                text.parse::<u8>()
                    .ok()
                    .filter(|c| *c <= 100)
                    .ok_or_else(|| TaxiiError::bad_request("confidence_min must be 0..=100"))?,
            ),
        };
        Ok(Filter {
            node_kinds: self.list("type"),
            link_kinds: self.list("link_type"),
            days: self.days()?,
            confidence_min,
        })
    }
}

/// Runs `question` on the caller's view, brought up to date first, on the blocking pool.
async fn answer(
    app: Arc<App>,
    caller: Caller,
    uri: &Uri,
    question: impl FnOnce(&View, &Params) -> Result<Value, TaxiiError> + Send + 'static,
) -> Response {
    let params = match Params::parse(uri) {
        Ok(p) => p,
        Err(e) => return json_error(e),
    };
    let result = on_store(&app, move |app| {
        let (key, viewer) = match caller.role {
            Role::Analyst => ("analysts".to_string(), Viewer::Analyst),
            Role::Partner => (
                format!("partner:{}", caller.name),
                Viewer::Partner(caller.name.clone()),
            ),
        };
        let slot = {
            let mut views = app
                .analysis
                .by_viewer
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            Arc::clone(views.entry(key).or_default())
        };
        let mut cached = slot
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let policy_changed = cached
            .policy
            .as_ref()
            .is_none_or(|p| !Arc::ptr_eq(p, &caller.policy));
        let stale_policy = policy_changed && viewer != Viewer::Analyst;
        match cached.view.as_mut() {
            Some(view) if !stale_policy => {
                view.catch_up(&app.store, Some(&caller.policy))
                    .map_err(|e| TaxiiError::internal(e.to_string()))?;
            }
            _ => {
                cached.view = Some(
                    View::build(&app.store, viewer, Some(&caller.policy))
                        .map_err(|e| TaxiiError::internal(e.to_string()))?,
                );
            }
        }
        cached.policy = Some(Arc::clone(&caller.policy));
        let view = cached
            .view
            .as_ref()
            .expect("invariant: the view was just built or caught up");
        let mut value = question(view, &params)?;
        if params.flag("grouping") {
            let now = crate::micros_text(crate::files::now_micros());
            // STIX timestamps in a grouping: millisecond precision is plenty.
            let now = format!("{}Z", &now[..now.len().min(23)]);
            if let Some(grouping) = analysis::grouping(&value, "Tessera analysis", &now) {
                value["grouping"] = Value::Object(grouping.as_map().clone());
            }
        }
        Ok(value)
    })
    .await;
    match result {
        Ok(value) => json_ok(&value),
        Err(error) => json_error(error),
    }
}

fn query_error(error: analysis::QueryError) -> TaxiiError {
    match error {
        analysis::QueryError::Find(
            e @ (analysis::AnalysisError::NoMatch(_) | analysis::AnalysisError::Ambiguous { .. }),
        ) => TaxiiError::not_found(e.to_string()),
        other => TaxiiError::bad_request(other.to_string()),
    }
}

async fn neighbours(
    State(app): State<Arc<App>>,
    Extension(caller): Extension<Caller>,
    uri: Uri,
) -> Response {
    answer(app, caller, &uri, |view, p| {
        view.neighbours(
            p.required("node")?,
            p.number("depth", 2usize)?,
            &p.filter()?,
            &Limits::default(),
        )
        .map_err(query_error)
    })
    .await
}

async fn path(
    State(app): State<Arc<App>>,
    Extension(caller): Extension<Caller>,
    uri: Uri,
) -> Response {
    answer(app, caller, &uri, |view, p| {
        let gap_days = match p.get("gap_days") {
            None | Some("") => None,
            Some(_) => Some(p.number("gap_days", 0i64)?),
        };
        view.paths(
            p.required("source")?,
            p.required("target")?,
            p.number("k", 1usize)?,
            p.flag("time"),
            gap_days,
            &p.filter()?,
            &Limits::default(),
        )
        .map_err(query_error)
    })
    .await
}

async fn central(
    State(app): State<Arc<App>>,
    Extension(caller): Extension<Caller>,
    uri: Uri,
) -> Response {
    answer(app, caller, &uri, |view, p| {
        let measure = analysis::Measure::parse(p.get("measure").unwrap_or("betweenness"))
            .map_err(TaxiiError::bad_request)?;
        let sample = match p.get("sample") {
            None | Some("") => None,
            Some(_) => Some(p.number("sample", 0usize)?),
        };
        view.central(
            measure,
            p.number("top", 20usize)?,
            sample,
            p.number("seed", 0u64)?,
            &p.filter()?,
            &Limits::default(),
        )
        .map_err(query_error)
    })
    .await
}

async fn communities(
    State(app): State<Arc<App>>,
    Extension(caller): Extension<Caller>,
    uri: Uri,
) -> Response {
    answer(app, caller, &uri, |view, p| {
        let method = analysis::Grouping::parse(p.get("method").unwrap_or("louvain"))
            .map_err(TaxiiError::bad_request)?;
        view.communities(
            method,
            p.number("top", 10usize)?,
            p.number("members", 10usize)?,
            p.number("seed", 0u64)?,
            &p.filter()?,
            &Limits::default(),
        )
        .map_err(query_error)
    })
    .await
}

async fn trends(
    State(app): State<Arc<App>>,
    Extension(caller): Extension<Caller>,
    uri: Uri,
) -> Response {
    answer(app, caller, &uri, |view, p| {
        view.trends(
            analysis::parse_dimension(p.get("by").unwrap_or("group"))
                .map_err(TaxiiError::bad_request)?,
            analysis::parse_interval(p.get("interval").unwrap_or("year"))
                .map_err(TaxiiError::bad_request)?,
            p.days()?,
            p.number("top", 20usize)?,
        )
        .map_err(query_error)
    })
    .await
}

async fn surge(
    State(app): State<Arc<App>>,
    Extension(caller): Extension<Caller>,
    uri: Uri,
) -> Response {
    answer(app, caller, &uri, |view, p| {
        let alpha: f64 = p.number("alpha", 0.05)?;
        if !(alpha > 0.0 && alpha < 1.0) {
            return Err(TaxiiError::bad_request("alpha must lie in (0, 1)"));
        }
        let top: usize = p.number("top", 20usize)?;
        graph::check_top(top, analysis::TOP_MAX)
            .map_err(|e| TaxiiError::bad_request(e.to_string()))?;
        let options = SurgeOptions {
            interval: analysis::parse_interval(p.get("interval").unwrap_or("quarter"))
                .map_err(TaxiiError::bad_request)?,
            baseline_periods: p.number("baseline", 8usize)?.clamp(1, 1_000),
            count_min: p.number("count_min", 3u32)?,
            alpha,
            days: p.days()?,
            surges_max: top,
        };
        Ok(view.surges(&options))
    })
    .await
}

#[cfg(test)]
mod tests {
    /// Every route is documented in the OpenAPI file, and the file documents no other.
    #[test]
    fn the_openapi_file_documents_every_route() {
        let spec = include_str!("../../../docs/openapi.yaml");
        for route in super::ROUTES {
            assert!(
                spec.contains(&format!("\n  {route}:\n")),
                "{route} undocumented"
            );
        }
        let documented = spec.lines().filter(|l| l.starts_with("  /app/")).count();
        assert_eq!(documented, super::ROUTES.len());
    }
}
