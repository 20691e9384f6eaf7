//! Memory backed by 2 MB pages, for buffers read at random (betweenness's path counts).
//!
//! With 4 kB pages nearly every random read of a buffer of hundreds of megabytes also misses
//! the address translation cache, and in a virtual machine (where these nodes run) that miss is
//! a walk of two page tables. The kernel backs memory with 2 MB pages where asked
//! (`MADV_HUGEPAGE`), which it does only for memory not yet touched.
//!
//! Not everything random is better so: the snapshot's id tables were tried on 2 MB pages and
//! built slower (median 3.15 s against 2.68 s, six runs each, alternating, on a quiet machine;
//! not measured why: faulting in and zeroing 2 MB at a time is the likely cost).
//!
//! The hint is the graph crate's one system call: it says how to back memory, keeps its
//! contents, and its refusal (no transparent huge pages) changes nothing.

/// Bytes of a large page.
pub(crate) const HUGE_PAGE: usize = 2 << 20;

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
