//! A table of STIX ids: every id once, in one text arena, found through an open-addressing
//! table of 8-byte slots keyed by a 64-bit keyed hash.
//!
//! Why not `HashMap<String, u32>`: at 6 million ids (a million objects, five million
//! relationships) one heap string per id plus the map's copy of it cost about a gigabyte; the
//! arena and 8 bytes per slot cost about a third of that. Each slot holds the upper half of the
//! id's hash and its index, so a probe touches one cache line of the table, and the arena only
//! to confirm a match: two ids with the same hash are both kept (linear probing walks past the
//! one that is not asked for), so a collision costs time, never a wrong answer.
//!
//! The hash is foldhash (its `quality` variant) under a random seed per table, so ids chosen
//! by a partner cannot be made to crowd one part of the table by choosing them offline. It is
//! not SipHash (the standard library's), which is harder still to attack by watching the
//! running node, because SipHash took about a tenth of the CPU of building the benchmark graph
//! (16 million id hashes); a collision here costs a probe, never a wrong answer, and nothing
//! shows a partner how long one took. Hashes are computed apart from the table
//! ([`IdTable::hash`]) so that callers may compute them for a whole batch in parallel, and look
//! ids up in parallel too ([`IdTable::get_hashed`] takes `&self`).

use std::hash::BuildHasher;

use foldhash::quality::RandomState;

const EMPTY: u64 = 0;

#[derive(Debug, Clone, Default)]
pub(crate) struct IdTable {
    text: String,
    /// Where each id starts in `text`; one more entry than ids (once any id is held).
    start: Vec<u64>,
    /// Open addressing, linear probing, at most half full: `EMPTY`, or the upper 32 bits of the
    /// hash (the tag) above `index + 1`. An id's first slot is given by the top bits of its tag,
    /// so growing the table refiles ids without hashing them again, in one sweep.
    slots: Vec<u64>,
    /// log2 of the number of slots.
    bits: u32,
    keys: RandomState,
}

impl IdTable {
    pub(crate) fn len(&self) -> usize {
        self.start.len().saturating_sub(1)
    }

    pub(crate) fn text(&self, i: u32) -> &str {
        let from = self.start[i as usize] as usize;
        let to = self.start[i as usize + 1] as usize;
        &self.text[from..to]
    }

    /// The keyed hash of an id, as the table files it.
    #[inline]
    pub(crate) fn hash(&self, id: &str) -> u64 {
        self.keys.hash_one(id)
    }

    pub(crate) fn get(&self, id: &str) -> Option<u32> {
        self.get_hashed(id, self.hash(id))
    }

    /// Looks up an id whose [`IdTable::hash`] the caller computed.
    #[inline]
    pub(crate) fn get_hashed(&self, id: &str, hash: u64) -> Option<u32> {
        if self.slots.is_empty() {
            return None;
        }
        self.probe(id, hash).ok()
    }

    /// The index of an id, or the empty slot where it would be filed (the table has slots).
    #[inline]
    fn probe(&self, id: &str, hash: u64) -> Result<u32, usize> {
        let mask = self.slots.len() - 1;
        let tag = hash >> 32;
        let mut at = self.home(tag);
        loop {
            let slot = self.slots[at];
            if slot == EMPTY {
                return Err(at);
            }
            if slot >> 32 == tag {
                let i = (slot as u32) - 1;
                if self.text(i) == id {
                    return Ok(i);
                }
            }
            at = (at + 1) & mask;
        }
    }

    /// Looks up many ids: `found` gets `get(id)` for each, in order.
    ///
    /// Faster than one by one on a table larger than the caches: a lookup is three dependent
    /// fetches from memory (slot, start, text), so each round below makes one of them for a
    /// group of ids at once, and the memory system serves the group's fetches together.
    pub(crate) fn get_each(&self, ids: &[&str], found: &mut Vec<Option<u32>>) {
        const GROUP: usize = 16;
        if self.slots.is_empty() {
            found.extend(ids.iter().map(|_| None));
            return;
        }
        let text = self.text.as_bytes();
        let mut touched = 0u64;
        for group in ids.chunks(GROUP) {
            let mut hash = [0u64; GROUP];
            let mut slot = [EMPTY; GROUP];
            for (k, id) in group.iter().enumerate() {
                hash[k] = self.hash(id);
            }
            for k in 0..group.len() {
                slot[k] = self.slots[self.home(hash[k] >> 32)];
            }
            let mut from = [0usize; GROUP];
            for k in 0..group.len() {
                if slot[k] != EMPTY && slot[k] >> 32 == hash[k] >> 32 {
                    from[k] = self.start[(slot[k] as u32 - 1) as usize] as usize;
                }
            }
            for &at in &from[..group.len()] {
                touched ^= u64::from(text.get(at).copied().unwrap_or(0));
            }
            for (k, id) in group.iter().enumerate() {
                found.push(self.get_hashed(id, hash[k]));
            }
        }
        // The touches only warm the caches; keep the compiler from dropping them.
        std::hint::black_box(touched);
    }

    /// Asks for the slots where ids of these hashes would be filed, so that filing them next
    /// does not wait for memory one id at a time.
    pub(crate) fn warm(&self, hashes: &[u64]) {
        if self.slots.is_empty() {
            return;
        }
        for &hash in hashes {
            crate::prefetch(&self.slots[self.home(hash >> 32)]);
        }
    }

    /// The first slot of an id with this tag.
    #[inline]
    fn home(&self, tag: u64) -> usize {
        home(tag, self.bits)
    }

    /// Makes room for `more` ids without growing the table on the way.
    pub(crate) fn reserve(&mut self, more: usize, text_bytes: usize) {
        let wanted = (self.len() + more)
            .saturating_mul(2)
            .next_power_of_two()
            .max(16);
        if wanted > self.slots.len() {
            self.grow_to(wanted);
        }
        self.start.reserve(more + 1);
        self.text.reserve(text_bytes);
    }

    fn grow_to(&mut self, capacity: usize) {
        debug_assert!(capacity.is_power_of_two());
        let bits = capacity.trailing_zeros();
        let mut slots = vec![EMPTY; capacity];
        // A large table comes from the kernel as untouched pages, each faulted in by the first
        // filing that lands on it, one at a time; touching them first on every core is
        // cheaper.
        if capacity >= 1 << 20 {
            use rayon::prelude::*;
            slots
                .par_chunks_mut(1 << 16)
                .for_each(|part| part.fill(EMPTY));
        }
        let mask = capacity - 1;
        for &slot in &self.slots {
            if slot == EMPTY {
                continue;
            }
            let mut at = home(slot >> 32, bits);
            while slots[at] != EMPTY {
                at = (at + 1) & mask;
            }
            slots[at] = slot;
        }
        self.slots = slots;
        self.bits = bits;
    }

    /// The index of an id, filing it (at the next index, `0, 1, 2, ...` in order of arrival)
    /// when the table does not hold it; `true` with a new id. One probe does both.
    pub(crate) fn get_or_push(&mut self, id: &str, hash: u64) -> (u32, bool) {
        if self.start.is_empty() {
            self.start.push(0);
        }
        if (self.len() + 1) * 2 > self.slots.len() {
            self.grow_to((self.slots.len() * 2).max(16));
        }
        let at = match self.probe(id, hash) {
            Ok(i) => return (i, false),
            Err(at) => at,
        };
        let index = self.len() as u32;
        debug_assert!(index < u32::MAX, "the caller bounds the number of ids");
        self.text.push_str(id);
        self.start.push(self.text.len() as u64);
        self.slots[at] = (hash >> 32) << 32 | u64::from(index + 1);
        (index, true)
    }

    #[cfg(test)]
    pub(crate) fn push(&mut self, id: &str) -> u32 {
        let hash = self.hash(id);
        let (index, new) = self.get_or_push(id, hash);
        assert!(new, "pushed twice: {id}");
        index
    }
}

/// The first slot of a 32-bit tag in a table of 2^bits slots: its top bits.
#[inline]
fn home(tag: u64, bits: u32) -> usize {
    if bits <= 32 {
        (tag >> (32 - bits)) as usize
    } else {
        (tag << (bits - 32)) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_every_id_and_nothing_else() {
        let mut table = IdTable::default();
        for i in 0..10_000u32 {
            assert_eq!(table.push(&format!("relationship--{i}")), i);
        }
        for i in 0..10_000u32 {
            assert_eq!(table.get(&format!("relationship--{i}")), Some(i));
            assert_eq!(table.text(i), format!("relationship--{i}"));
        }
        assert_eq!(table.get("relationship--10000"), None);
        assert_eq!(table.len(), 10_000);
    }

    #[test]
    fn ids_with_one_hash_are_both_kept() {
        let mut table = IdTable::default();
        table.reserve(4, 8);
        // Force every id onto one hash, as a real collision would.
        let hash = table.hash("a");
        assert_eq!(table.get_or_push("a", hash), (0, true));
        assert_eq!(table.get_or_push("b", hash), (1, true));
        assert_eq!(table.get_or_push("c", hash), (2, true));
        assert_eq!(table.get_or_push("b", hash), (1, false));
        assert_eq!(table.get_hashed("a", hash), Some(0));
        assert_eq!(table.get_hashed("b", hash), Some(1));
        assert_eq!(table.get_hashed("c", hash), Some(2));
        assert_eq!(table.get_hashed("d", hash), None);
        // Growing keeps them findable.
        for i in 0..100 {
            table.push(&format!("x{i}"));
        }
        assert_eq!(table.get("a"), Some(0));
        assert_eq!(table.get_hashed("b", hash), Some(1));
        assert_eq!(table.get_hashed("c", hash), Some(2));
        assert_eq!(table.get("x99"), Some(102));
        assert_eq!(table.get("x100"), None);
    }
}
