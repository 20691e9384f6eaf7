//! A list of `u64` that grows in fixed chunks, for the ledger's per-entry tables.
//!
//! A `Vec` doubles: on a ledger of millions of entries, the append that crosses a power of
//! two copies tens of megabytes into fresh pages, and the partner page that made the append
//! waits for it (hundreds of milliseconds were measured). Chunks are never moved, so an append
//! costs the same at any size.

/// Entries per chunk: half a megabyte.
const CHUNK: usize = 1 << 16;

#[derive(Debug, Default)]
pub(crate) struct Chunked {
    chunks: Vec<Vec<u64>>,
    len: usize,
}

impl Chunked {
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn push(&mut self, value: u64) {
        match self.chunks.last_mut() {
            Some(chunk) if chunk.len() < CHUNK => chunk.push(value),
            _ => {
                let mut chunk = Vec::with_capacity(CHUNK);
                chunk.push(value);
                self.chunks.push(chunk);
            }
        }
        self.len += 1;
    }

    pub(crate) fn get(&self, index: usize) -> Option<u64> {
        self.chunks
            .get(index / CHUNK)
            .and_then(|chunk| chunk.get(index % CHUNK))
            .copied()
    }

    /// Room for `additional` more entries' chunk pointers (the chunks come as they fill).
    pub(crate) fn reserve(&mut self, additional: usize) {
        self.chunks.reserve(additional.div_ceil(CHUNK));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_every_value_across_chunk_boundaries() {
        let mut list = Chunked::default();
        list.reserve(3 * CHUNK);
        for n in 0..(2 * CHUNK + 3) as u64 {
            list.push(n * 7);
        }
        assert_eq!(list.len(), 2 * CHUNK + 3);
        for index in [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK, 2 * CHUNK + 2] {
            assert_eq!(list.get(index), Some(index as u64 * 7), "{index}");
        }
        assert_eq!(list.get(2 * CHUNK + 3), None);
        assert_eq!(Chunked::default().get(0), None);
    }
}
