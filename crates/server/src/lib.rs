//! Tessera's HTTP face: TAXII 2.1 for the node's partners and its own analysts.
//!
//! [`serve`] opens a node's store, loads its release policy (`policy.toml`) and token table
//! (`partners.json`), and answers TAXII 2.1 (discovery, API root, collections, objects,
//! manifest, versions, status) until it is told to stop. [`partners`] and [`policy_file`] are
//! the file side of partner administration, which `tessera partner` uses.
//!
//! # Architecture invariants
//!
//! - **The only crate that knows HTTP.** Status codes, headers, media types and the TAXII
//!   resources are made here and nowhere else; domain types are converted at this edge and are
//!   not made `Serialize` for the wire's sake.
//! - **No domain logic.** Which versions a request selects is a `store::query` selection;
//!   whether a partner may see an object, and in what form, is `policy`'s decision; a POST is
//!   `store::import_bundle`. This crate maps requests onto those calls and their answers onto
//!   TAXII.
//! - **Nothing leaves without the policy.** Every body that carries STIX objects, manifest
//!   entries or object versions is written from `policy::Release` values by the `outbound`
//!   module; there is no path from the store to a response that skips it, analysts included
//!   (the policy releases everything to them).
//! - **Never blocks the runtime on the store.** The store is synchronous: every read runs on
//!   the blocking pool (at most `store_workers` at once), every write through the one writer.
//! - **A limit on everything**, each named in the error that enforces it ([`Limits`]).

pub mod analysis;
mod analysis_http;
mod config;
pub mod federation;
mod files;
pub mod node;
mod outbound;
pub mod partners;
pub mod peers;
pub mod policy_file;
pub mod push;
mod release_index;
mod state;
pub mod sync;
mod taxii;
#[cfg(test)]
mod test_support;
pub mod tls;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex};

use policy::Policy;
use store::Store;
use tokio::sync::Semaphore;

pub use config::{Config, DEFAULT_LISTEN, Limits};
pub use files::micros_text;
pub use partners::PartnerBook;

use state::{App, RateLimiter, StatusBook, Watched};

/// Partners whose learnt release memberships are kept at once (each holds at most the policy's
/// memo bound of ids); beyond it the table starts afresh.
const MEMBERSHIP_PARTNERS_MAX: usize = 16;

/// Why a server could not start (once it runs, failures are answered per request and logged).
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error(
        "{0}\nThe server does not start with a policy it refuses; fix the file and start it again."
    )]
    Policy(policy_file::PolicyFileError),
    #[error(transparent)]
    Partners(#[from] partners::PartnersError),
    #[error(transparent)]
    Node(#[from] node::NodeError),
    #[error("cannot listen on {address}: {source}")]
    Listen {
        address: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
    #[error("the server stopped: {0}")]
    Stopped(std::io::Error),
    #[error("TLS: {0}")]
    Tls(#[from] tls::TlsError),
}

/// What the server reports as it starts.
#[derive(Debug, Clone)]
pub struct Started {
    /// The address it listens on (the port the system chose, if the config said 0).
    pub address: SocketAddr,
    /// Partners in the policy, and how many of them hold an active token.
    pub partners: usize,
    pub tokens: usize,
    /// Set when there is no policy file: the empty policy is in force (nothing is released).
    pub no_policy_file: bool,
    /// Whether it speaks TLS (`https`), and whether clients must present a certificate.
    pub tls: bool,
    pub client_certificates: bool,
}

/// Serves a node until SIGINT or SIGTERM. `started` is called once it listens.
pub fn serve(config: Config, started: impl FnOnce(&Started)) -> Result<(), ServeError> {
    let store = Store::open_with_cache(&config.data_dir, config.limits.store_cache_bytes)?;
    let policy_path = policy_file::path(&config.data_dir);
    let policy_stamp = files::Stamp::of(&policy_path).map_err(|source| {
        ServeError::Policy(policy_file::PolicyFileError::Io {
            path: policy_path.clone(),
            source,
        })
    })?;
    let policy = policy_file::load(&config.data_dir).map_err(ServeError::Policy)?;
    let no_policy_file = policy.is_none();
    let policy = policy.unwrap_or_else(Policy::new);
    // TLS files are checked before anything else starts, so a bad one stops the server at once.
    let tls_config = config.tls.as_ref().map(tls::server_config).transpose()?;
    let partners_path = config.data_dir.join(partners::PARTNERS_FILE);
    let partners_stamp =
        files::Stamp::of(&partners_path).map_err(|source| partners::PartnersError::Io {
            path: partners_path.clone(),
            source,
        })?;
    let book = PartnerBook::load(&config.data_dir)?;
    let key = node::load_or_create_key(&config.data_dir)?;
    let mut ledger = node::open_ledger(&config.data_dir)?;
    let recorded = node::record_created(&config.data_dir, &store, &mut ledger)?;
    if recorded > 0 {
        log(&format!("recorded {recorded} versions in the ledger"));
    }

    let limits = config.limits.clone();
    let tokens = book
        .records()
        .iter()
        .filter(|r| r.token_sha256.is_some())
        .count();
    let partners_count = policy.partners().len();
    let asks_certificates = config.tls.as_ref().is_some_and(|t| t.client_ca.is_some());
    for record in book.records() {
        if record.certificate_sha256.is_some() && !asks_certificates {
            log(&format!(
                "partner {:?} is bound to a client certificate, but this server asks for none (--tls-client-ca): its token will be refused",
                record.name
            ));
        }
    }
    let store = Arc::new(store);
    let release_index = Arc::new(release_index::ReleaseIndex::new(
        Arc::clone(&store),
        limits.release_index_max,
    ));
    release_index.build_in_background();
    let app = Arc::new(App {
        store,
        policy: Watched::new(policy_path, "policy", policy, policy_stamp, load_policy),
        partners: Watched::new(
            partners_path,
            "token table",
            book,
            partners_stamp,
            load_partners,
        ),
        statuses: Mutex::new(StatusBook::new(
            limits.statuses_max,
            limits.status_details_max,
        )),
        rate: RateLimiter::new(limits.requests_per_second, limits.requests_burst),
        store_jobs: Semaphore::new(limits.store_workers.max(1)),
        writer: Arc::new(Semaphore::new(1)),
        pending_imports: AtomicUsize::new(0),
        outbound: outbound::Caches {
            held: outbound::HeldCache::new(limits.held_cache_max),
            facts: outbound::FactsCache::new(limits.facts_cache_max),
            memberships: outbound::MembershipCache::new(MEMBERSHIP_PARTNERS_MAX),
            index: release_index,
        },
        key,
        ledger: Arc::new(Mutex::new(ledger)),
        data_dir: config.data_dir.clone(),
        analysis: analysis_http::Views::default(),
        limits,
        title: config.title.clone(),
        scheme: if tls_config.is_some() {
            "https"
        } else {
            "http"
        },
    });

    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .max_blocking_threads(config.limits.store_workers.max(1) + 8)
        .thread_name("tessera-serve")
        .enable_all()
        .build()
        .map_err(ServeError::Runtime)?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|source| ServeError::Listen {
                address: config.listen,
                source,
            })?;
        let address = listener.local_addr().map_err(ServeError::Stopped)?;
        started(&Started {
            address,
            partners: partners_count,
            tokens,
            no_policy_file,
            tls: tls_config.is_some(),
            client_certificates: asks_certificates,
        });
        if let Some(interval_ms) = config.sync_interval_ms {
            tokio::spawn(sync_in_background(Arc::clone(&app), interval_ms));
        }
        if let Some(interval_ms) = config.push_interval_ms {
            tokio::spawn(push_in_background(Arc::clone(&app), interval_ms));
        }
        let routes = taxii::router(Arc::clone(&app)).merge(analysis_http::router(app));
        // Each request learns which client certificate its connection presented, if any.
        let routes = routes.into_make_service_with_connect_info::<tls::ClientCertificate>();
        match tls_config {
            None => axum::serve(listener, routes)
                .with_graceful_shutdown(shutdown_signal())
                .await
                .map_err(ServeError::Stopped),
            Some(tls_config) => {
                let listener =
                    tls::TlsListener::new(listener, tls_config).map_err(ServeError::Stopped)?;
                axum::serve(listener, routes)
                    .with_graceful_shutdown(shutdown_signal())
                    .await
                    .map_err(ServeError::Stopped)
            }
        }
    })
}

/// Pushes to every peer the policy in force names as a partner every `interval_ms`. Pushing
/// only reads the store, so it does not wait for the writer; one run at a time.
async fn push_in_background(app: Arc<App>, interval_ms: u64) {
    let mut ticker = tokio::time::interval(std::time::Duration::from_millis(interval_ms.max(100)));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let worker = Arc::clone(&app);
        let finished = tokio::task::spawn_blocking(move || {
            let peers = match peers::load(&worker.data_dir) {
                Ok(peers) => peers,
                Err(e) => {
                    log(&format!("background push: {e}"));
                    return;
                }
            };
            let policy = worker.policy.get();
            let local = push::Outgoing {
                data_dir: &worker.data_dir,
                store: &worker.store,
                ledger: &worker.ledger,
                key: &worker.key,
                policy: Arc::clone(&policy),
            };
            for peer in peers.iter().filter(|p| {
                policy
                    .partner(&p.name)
                    .is_some_and(|partner| partner.role == policy::Role::Partner)
            }) {
                match push::push_peer(&local, peer, &peer.name, &push::PushOptions::default()) {
                    Ok(report) if report.objects > 0 => log(&format!(
                        "pushed {} versions to {} ({} stored or already held there)",
                        report.objects, peer.name, report.accepted
                    )),
                    Ok(_) => {}
                    Err(e) => log(&format!("background push: {e}")),
                }
            }
        })
        .await;
        if let Err(e) = finished {
            log(&format!("background push failed: {e}"));
        }
    }
}

/// Pulls from every peer every `interval_ms`, as the node's writer (imports wait their turn).
/// A failed run is logged and the next one tries again; each run resumes from its cursors.
async fn sync_in_background(app: Arc<App>, interval_ms: u64) {
    let mut ticker = tokio::time::interval(std::time::Duration::from_millis(interval_ms.max(100)));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let Ok(permit) = app.writer.clone().acquire_owned().await else {
            return;
        };
        let worker = Arc::clone(&app);
        let finished = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let peers = match peers::load(&worker.data_dir) {
                Ok(peers) => peers,
                Err(e) => {
                    log(&format!("background sync: {e}"));
                    return;
                }
            };
            let local = sync::Local {
                data_dir: &worker.data_dir,
                store: &worker.store,
                ledger: &worker.ledger,
            };
            for peer in &peers {
                match sync::sync_peer(&local, peer, &sync::SyncOptions::default()) {
                    Ok(report) => {
                        let written: usize = report.collections.iter().map(|c| c.written).sum();
                        if written > 0 {
                            log(&format!("synced {written} new versions from {}", peer.name));
                        }
                    }
                    Err(e) => log(&format!("background sync: {e}")),
                }
            }
        })
        .await;
        if let Err(e) = finished {
            log(&format!("background sync failed: {e}"));
        }
    }
}

fn load_policy(path: &Path) -> Result<Policy, String> {
    let dir = path.parent().unwrap_or(Path::new("."));
    match policy_file::load(dir) {
        Ok(Some(policy)) => Ok(policy),
        Ok(None) => Err("the policy file is gone".to_string()),
        Err(e) => Err(e.to_string()),
    }
}

fn load_partners(path: &Path) -> Result<PartnerBook, String> {
    let dir = path.parent().unwrap_or(Path::new("."));
    PartnerBook::load(dir).map_err(|e| e.to_string())
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(signal) => signal,
                Err(_) => {
                    let _ = interrupt.await;
                    return;
                }
            };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
    log("stopping: finishing the requests in flight");
}

/// One line on standard error: the server's log, and what the CLI's commands report through
/// this crate (a ledger recovered on open, say). Labelled `tessera`, not `tessera serve`:
/// `tessera import` logs through it too.
pub(crate) fn log(message: &str) {
    eprintln!("{} tessera: {message}", micros_text(files::now_micros()));
}
