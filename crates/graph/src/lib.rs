//! Link analysis over what a node may show one viewer: which attacks trace back to one cell,
//! which place or person connects two networks, where a group is surging.
//!
//! - [`Snapshot`]: a compact graph in CSR form, built from [`Batch`]es of objects and links
//!   (and resolution pairs: objects that are one thing reported by several sources), and
//!   extended in place as new batches arrive. Each node lists the source objects it stands for,
//!   each link the relationships that support it.
//! - [`traverse`]: neighbourhood to depth k, shortest and k-shortest paths (Yen), and
//!   time-respecting paths (each hop no earlier than the last, within a maximum gap), all under
//!   a [`Filter`] (node types, link types, time window, minimum confidence).
//! - [`centrality`]: degree, betweenness (exact Brandes, or sampled sources) and eigenvector.
//! - [`community`]: connected components, Louvain communities and modularity.
//! - [`trend`]: incident counts per group, country and attack type per interval, and surge
//!   detection by a one-sided Poisson rate test with Benjamini–Hochberg control, each surge
//!   explained in words.
//!
//! # Architecture invariants
//!
//! - **Pure.** No IO, no clock, no HTTP, no knowledge of the store or of release policy: the
//!   caller decides what a viewer may see and hands in only that. The same input always gives
//!   the same answer (sampling and Louvain take a seed).
//! - **A limit on everything.** Depth, k, result sizes, visited states and iterations are
//!   bounded by [`Limits`]; exceeding one is an error ([`GraphError::Limit`]) naming it, or, for
//!   result sizes, a `truncated` flag on the answer.
//! - Times are whole days since 1970-01-01 (UTC); the analysis works at day resolution.

pub mod centrality;
pub mod community;
mod ids;
mod marks;
mod pages;
pub mod rng;
mod snapshot;
pub mod traverse;
pub mod trend;

pub use snapshot::{
    Batch, LinkIx, LinkRecord, LinkView, NodeIx, NodeView, ObjectRecord, SimpleGraph, Snapshot,
    Text,
};
pub use traverse::Filter;

/// Asks for the cache line of `at` (a hint: it reads nothing and cannot fault).
#[inline(always)]
pub(crate) fn prefetch<T>(at: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch reads nothing and cannot fault; `sse` is part of x86-64.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(at.cast::<i8>())
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = at;
}

/// Bounds on every query. The defaults are the ones the API and CLI enforce.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Deepest neighbourhood.
    pub depth_max: usize,
    /// Most nodes one neighbourhood returns (the answer says `truncated` beyond).
    pub nodes_max: usize,
    /// Most hops of a path.
    pub hops_max: usize,
    /// Most paths of a k-shortest query.
    pub paths_max: usize,
    /// Most (node, time) states a time-respecting search visits.
    pub states_max: usize,
    /// Most iterations of eigenvector centrality and of each Louvain level.
    pub iterations_max: usize,
    /// Most sources of a betweenness computation.
    pub sources_max: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            depth_max: 6,
            nodes_max: 10_000,
            hops_max: 16,
            paths_max: 20,
            states_max: 2_000_000,
            iterations_max: 1_000,
            sources_max: 100_000,
        }
    }
}

/// Why a query was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GraphError {
    #[error("{what} is {asked}; the limit is {max}")]
    Limit {
        what: &'static str,
        asked: usize,
        max: usize,
    },
    #[error("no node {0} in this view (unknown, or not visible to this viewer)")]
    UnknownNode(String),
    #[error("the graph has {0} nodes; a node index must fit in 32 bits")]
    TooLarge(usize),
}

/// `Err(Limit)` when `asked` exceeds `max`.
pub(crate) fn check_limit(what: &'static str, asked: usize, max: usize) -> Result<(), GraphError> {
    if asked > max {
        Err(GraphError::Limit { what, asked, max })
    } else {
        Ok(())
    }
}

/// `Err(Limit)` when a requested answer size exceeds its maximum.
pub fn check_top(asked: usize, max: usize) -> Result<(), GraphError> {
    check_limit("answer size", asked, max)
}

// Civil dates are STIX's: one implementation of the calendar for the whole workspace.
pub use stix::timestamp::{civil_from_days, days_from_civil};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_round_trip() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2024, 1, 3), 19_725);
        assert_eq!(civil_from_days(19_725), (2024, 1, 3));
        for days in (-800_000..800_000).step_by(997) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(civil_from_days(days_from_civil(2024, 2, 29)), (2024, 2, 29));
    }
}
