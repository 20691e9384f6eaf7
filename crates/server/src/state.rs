//! What a running server holds: the store, the policy and token table (reloaded when their
//! files change), the status resources of recent POSTs, the rate limiter and the bounds on
//! concurrent work.

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use policy::Policy;
use store::Store;
use tokio::sync::Semaphore;

use crate::Limits;
use crate::files::Stamp;
use crate::partners::PartnerBook;

/// Shared by every request.
pub(crate) struct App {
    pub store: Arc<Store>,
    pub policy: Watched<Policy>,
    pub partners: Watched<PartnerBook>,
    pub statuses: Mutex<StatusBook>,
    pub rate: RateLimiter,
    pub limits: Limits,
    /// Store reads running at once.
    pub store_jobs: Semaphore,
    /// The node's one writer: imports and deletions take turns.
    pub writer: Arc<Semaphore>,
    /// POSTs accepted and not yet finished.
    pub pending_imports: AtomicUsize,
    pub title: String,
    /// `https` when the server speaks TLS, for the absolute URLs it hands out.
    pub scheme: &'static str,
    /// What release decisions derived from stored versions and learnt per partner, kept
    /// across requests.
    pub outbound: crate::outbound::Caches,
    /// Signs every page of objects, manifest entries or versions the node serves, and its
    /// ledger's tree heads.
    pub key: ledger::NodeKey,
    /// The node's ledger: what it created, received and released.
    pub ledger: Arc<Mutex<ledger::Ledger>>,
    pub data_dir: PathBuf,
    /// Each viewer's analysis view (`/app/` endpoints).
    pub analysis: crate::analysis_http::Views,
}

impl App {
    pub(crate) fn ledger(&self) -> std::sync::MutexGuard<'_, ledger::Ledger> {
        self.ledger
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A value loaded from a file and reloaded when the file changes. A file that fails to load
/// is refused, with a log line saying why, and the value in force stays.
pub(crate) struct Watched<T> {
    path: PathBuf,
    what: &'static str,
    current: RwLock<Arc<T>>,
    /// The stamp of the file last tried, loaded or refused (so a bad file is reported once).
    stamp: Mutex<Option<Stamp>>,
    load: fn(&std::path::Path) -> Result<T, String>,
}

impl<T> Watched<T> {
    pub(crate) fn new(
        path: PathBuf,
        what: &'static str,
        initial: T,
        stamp: Option<Stamp>,
        load: fn(&std::path::Path) -> Result<T, String>,
    ) -> Watched<T> {
        Watched {
            path,
            what,
            current: RwLock::new(Arc::new(initial)),
            stamp: Mutex::new(stamp),
            load,
        }
    }

    /// The value in force, reloading it first if its file changed. One `stat` per call: cheap
    /// next to a request, and a revoked token or tightened rule applies to the next request.
    pub(crate) fn get(&self) -> Arc<T> {
        self.refresh();
        self.current
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn refresh(&self) {
        let stamp = match Stamp::of(&self.path) {
            Ok(stamp) => stamp,
            Err(e) => {
                crate::log(&format!(
                    "cannot check {}: {e}; the {} in force stays",
                    self.path.display(),
                    self.what
                ));
                return;
            }
        };
        let mut seen = self
            .stamp
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if *seen == stamp {
            return;
        }
        *seen = stamp;
        match (self.load)(&self.path) {
            Ok(value) => {
                *self
                    .current
                    .write()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(value);
                crate::log(&format!(
                    "reloaded the {} from {}",
                    self.what,
                    self.path.display()
                ));
            }
            Err(message) => crate::log(&format!(
                "refused the changed {} in {}; the one in force stays. {message}",
                self.what,
                self.path.display()
            )),
        }
    }
}

/// Per-caller token buckets.
pub(crate) struct RateLimiter {
    per_second: f64,
    burst: f64,
    buckets: Mutex<HashMap<String, Bucket>>,
}

struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// Callers tracked at once; the bucket map is cleared beyond it (callers are partners, whose
/// number the token table bounds, so this is a safety net).
const BUCKETS_MAX: usize = 100_000;

impl RateLimiter {
    pub(crate) fn new(per_second: f64, burst: u32) -> RateLimiter {
        RateLimiter {
            per_second: per_second.max(f64::MIN_POSITIVE),
            burst: f64::from(burst.max(1)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one request from `caller`'s bucket, or says how long until one is available.
    pub(crate) fn take(&self, caller: &str) -> Result<(), Duration> {
        let now = Instant::now();
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if buckets.len() >= BUCKETS_MAX && !buckets.contains_key(caller) {
            buckets.clear();
        }
        let bucket = buckets.entry(caller.to_string()).or_insert(Bucket {
            tokens: self.burst,
            updated: now,
        });
        let elapsed = now.duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.per_second).min(self.burst);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64(
                (1.0 - bucket.tokens) / self.per_second,
            ))
        }
    }

    pub(crate) fn per_second(&self) -> f64 {
        self.per_second
    }
}

/// One object's line in a status resource.
#[derive(Debug, Clone)]
pub(crate) struct Detail {
    pub id: String,
    pub version: String,
    pub message: Option<String>,
}

/// A status resource: what became of one POST.
#[derive(Debug, Clone)]
pub(crate) struct Status {
    pub id: String,
    /// The caller who POSTed; only they (and analysts) may read it.
    pub owner: String,
    pub request_micros: i64,
    pub complete: bool,
    pub successes: Vec<Detail>,
    pub failures: Vec<Detail>,
    pub pendings: Vec<Detail>,
}

impl Status {
    fn details(&self) -> usize {
        self.successes.len() + self.failures.len() + self.pendings.len()
    }
}

/// The status resources kept for polling, oldest forgotten first, bounded in count and in
/// per-object entries.
pub(crate) struct StatusBook {
    order: VecDeque<String>,
    entries: HashMap<String, Status>,
    details: usize,
    entries_max: usize,
    details_max: usize,
}

impl StatusBook {
    pub(crate) fn new(entries_max: usize, details_max: usize) -> StatusBook {
        StatusBook {
            order: VecDeque::new(),
            entries: HashMap::new(),
            details: 0,
            entries_max: entries_max.max(1),
            details_max,
        }
    }

    pub(crate) fn insert(&mut self, status: Status) {
        self.details += status.details();
        self.order.push_back(status.id.clone());
        self.entries.insert(status.id.clone(), status);
        while self.order.len() > 1
            && (self.order.len() > self.entries_max || self.details > self.details_max)
        {
            if let Some(oldest) = self.order.pop_front()
                && let Some(gone) = self.entries.remove(&oldest)
            {
                self.details -= gone.details();
            }
        }
    }

    /// Replaces a status (an import finished); a status already forgotten stays forgotten.
    pub(crate) fn update(&mut self, status: Status) {
        if let Some(old) = self.entries.get_mut(&status.id) {
            self.details = self.details - old.details() + status.details();
            *old = status;
        }
    }

    pub(crate) fn get(&self, id: &str) -> Option<&Status> {
        self.entries.get(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(id: &str, details: usize) -> Status {
        Status {
            id: id.into(),
            owner: "bfv".into(),
            request_micros: 0,
            complete: true,
            successes: vec![
                Detail {
                    id: "x".into(),
                    version: "v".into(),
                    message: None
                };
                details
            ],
            failures: Vec::new(),
            pendings: Vec::new(),
        }
    }

    #[test]
    fn statuses_are_bounded_in_count_and_details() {
        let mut book = StatusBook::new(2, 10);
        book.insert(status("a", 1));
        book.insert(status("b", 1));
        book.insert(status("c", 1));
        assert!(book.get("a").is_none() && book.get("c").is_some());
        book.insert(status("d", 10));
        assert!(book.get("c").is_none() && book.get("d").is_some());
    }

    #[test]
    fn buckets_refill_at_the_configured_rate() {
        let limiter = RateLimiter::new(1.0, 2);
        assert!(limiter.take("bfv").is_ok());
        assert!(limiter.take("bfv").is_ok());
        let wait = limiter.take("bfv").unwrap_err();
        assert!(wait > Duration::ZERO && wait <= Duration::from_secs(1));
        assert!(limiter.take("dgsi").is_ok());
    }
}
