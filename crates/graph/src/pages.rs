//! Vectors backed by 2 MB pages, for the tables a walk or a build reads at random.
//!
//! With 4 kB pages nearly every random read of a table of tens of megabytes also misses the
//! address translation cache, and in a virtual machine (where these nodes run) that miss is a
//! walk of two page tables. The kernel backs memory with 2 MB pages where asked
//! (`MADV_HUGEPAGE`), which it does only for memory not yet touched: so a vector is made with
//! its room first, the hint given for the whole 2 MB pages inside it, and only then filled.
//!
//! The hint is the graph crate's one system call (betweenness asks it for its buffers too): it
//! says how to back memory, keeps its contents, and its refusal (no transparent huge pages)
//! changes nothing.

/// Bytes of a large page.
pub(crate) const HUGE_PAGE: usize = 2 << 20;

/// An empty vector with room for `capacity` values, its whole 2 MB pages hinted as such.
/// Below one such page it is an ordinary vector.
pub(crate) fn with_capacity<T>(capacity: usize) -> Vec<T> {
    let vec: Vec<T> = Vec::with_capacity(capacity);
    let bytes = capacity.saturating_mul(std::mem::size_of::<T>());
    if bytes >= 2 * HUGE_PAGE {
        advise(vec.as_ptr().cast::<u8>(), bytes);
    }
    vec
}

/// `len` copies of `value`, on 2 MB pages where whole ones fit.
pub(crate) fn filled<T: Clone>(len: usize, value: T) -> Vec<T> {
    let mut vec = with_capacity(len);
    vec.resize(len, value);
    vec
}

/// Asks the kernel to back the whole 2 MB pages of `[start, start + bytes)` with large pages:
/// for the room of a vector or string that is not written yet.
pub(crate) fn advise(start: *const u8, bytes: usize) {
    let from = (start as usize).next_multiple_of(HUGE_PAGE);
    let to = (start as usize + bytes) / HUGE_PAGE * HUGE_PAGE;
    if to <= from {
        return;
    }
    #[cfg(target_os = "linux")]
    // SAFETY: `[from, to)` lies inside one live allocation of the caller's, page-aligned;
    // MADV_HUGEPAGE only says how to back it and keeps its contents. A refusal changes
    // nothing, so the result is not checked.
    unsafe {
        libc::madvise(from as *mut libc::c_void, to - from, libc::MADV_HUGEPAGE);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors_hold_what_they_are_given() {
        let small: Vec<u32> = filled(10, 7);
        assert_eq!(small, vec![7; 10]);
        let large: Vec<u64> = filled(3 * HUGE_PAGE / 8 + 5, 9);
        assert_eq!(large.len(), 3 * HUGE_PAGE / 8 + 5);
        assert!(large.iter().all(|&v| v == 9));
        let mut grown: Vec<u32> = with_capacity(HUGE_PAGE);
        grown.extend(0..HUGE_PAGE as u32);
        assert_eq!(grown.capacity(), HUGE_PAGE);
        assert_eq!(grown[12_345], 12_345);
    }
}
