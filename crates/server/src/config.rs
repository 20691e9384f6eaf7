//! How a server is started: where the node lives, where it listens, and its limits.

use std::net::SocketAddr;
use std::path::PathBuf;

/// The address `tessera serve` listens on unless told otherwise: loopback only.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8421";

/// Everything [`crate::serve`] needs.
#[derive(Debug, Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    pub limits: Limits,
    /// Shown in discovery and the API root.
    pub title: String,
    /// Pull from every peer in `peers.json` this often, in the background.
    pub sync_interval_ms: Option<u64>,
    /// Push to every peer the policy names as a partner this often, in the background.
    pub push_interval_ms: Option<u64>,
    /// Serve over TLS (and require client certificates) with these files; plain HTTP without.
    pub tls: Option<crate::tls::TlsFiles>,
}

/// Every bound the server enforces. Exceeding one is an error that names it.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Largest request body, in bytes (413 above it; advertised in the API root).
    pub max_content_length: usize,
    /// Most objects in one POSTed envelope (413 above it).
    pub objects_per_post_max: usize,
    /// Largest page a client may ask for with `limit`; larger requests get this many.
    pub page_size_max: usize,
    /// The page size when a client gives no `limit`.
    pub page_size_default: usize,
    /// Most stored versions one page examines (a partner's view may filter most of them out):
    /// a page that reaches it ends early with `more` and a `next` that resumes after them.
    pub examine_max: usize,
    /// Requests a second each caller may make, on average.
    pub requests_per_second: f64,
    /// Requests a caller may make at once after a quiet spell.
    pub requests_burst: u32,
    /// Status resources kept for clients to poll (the oldest are forgotten first).
    pub statuses_max: usize,
    /// Per-object entries (successes, failures, pendings) kept across all status resources.
    pub status_details_max: usize,
    /// POSTs accepted and not yet written; more get 503 with Retry-After.
    pub pending_imports_max: usize,
    /// Store reads running at once; further requests wait their turn.
    pub store_workers: usize,
    /// Longest query string, in bytes (414 above it).
    pub query_bytes_max: usize,
    /// Most query parameters in one request.
    pub query_parameters_max: usize,
    /// How long a POST waits for its import before answering with a pending status.
    pub post_wait_ms: u64,
    /// Parsed objects kept for release decisions across requests (each a few kilobytes).
    pub held_cache_max: usize,
    /// Release facts kept across requests and partners (each well under a kilobyte): about
    /// seventy copies of ICS ATT&CK's references, decided without reading them again.
    pub facts_cache_max: usize,
    /// The store's page cache (redb): enough for the key index of a few million versions, so
    /// that the ids a partner page refers to are looked up in memory.
    pub store_cache_bytes: usize,
    /// Most ids the release index holds in memory (the current version of each, with its
    /// release facts: about half a kilobyte each); a larger store is decided from the store
    /// alone. 0 turns the index off.
    pub release_index_max: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            // The ICS ATT&CK bundle is 3.5 MB and enterprise ATT&CK 45 MB: a partner pushes in
            // envelopes of a few thousand objects, and a node holds at most a few POSTs in
            // memory at once (pending_imports_max x this, twice over while it is wrapped).
            max_content_length: 16 << 20,
            objects_per_post_max: 100_000,
            page_size_max: 1_000,
            page_size_default: 100,
            examine_max: 10_000,
            requests_per_second: 50.0,
            requests_burst: 200,
            statuses_max: 10_000,
            status_details_max: 1_000_000,
            pending_imports_max: 4,
            store_workers: 8,
            query_bytes_max: 16 << 10,
            query_parameters_max: 64,
            post_wait_ms: 2_000,
            held_cache_max: 8_192,
            facts_cache_max: 131_072,
            store_cache_bytes: 512 << 20,
            release_index_max: 4_000_000,
        }
    }
}
