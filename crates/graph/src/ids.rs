//! A table of STIX ids: every id once, in one arena, found through an open-addressing table of
//! 8-byte slots keyed by a 64-bit seeded hash.
//!
//! Why not `HashMap<String, u32>`: at 6 million ids (a million objects, five million
//! relationships) one heap string per id plus the map's copy of it cost about a gigabyte; the
//! arena and 8 bytes per slot cost about a third of that. Each slot holds the upper half of the
//! id's hash and where its entry starts in the arena, and the entry holds the id's index beside
//! its text: a probe touches one cache line of the table, then the entry once to confirm a
//! match and read the index (an index-to-offset table in between cost a third fetch per
//! lookup: 10% of the build's CPU on the benchmark graph). Two ids with the same hash are both
//! kept (linear probing walks past the one that is not asked for), so a collision costs time,
//! never a wrong answer.
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

/// Bytes of an entry's header in the arena: its index and its length, each a u32.
const HEADER: usize = 8;
/// Entries start at multiples of this: a slot names an entry by its offset / ALIGN, in 32 bits.
const ALIGN: usize = 8;

#[derive(Debug, Clone, Default)]
pub(crate) struct IdTable {
    /// Every id once, as an entry: its index and its length (u32s, little-endian), its UTF-8
    /// bytes, then padding to a multiple of `ALIGN`. A lookup reads one entry from the slot's
    /// offset: the index and the text in the same line or two, no third fetch.
    arena: Vec<u8>,
    /// Where each id's entry starts in `arena`, divided by `ALIGN`.
    start: Vec<u32>,
    /// Open addressing, linear probing, at most half full: `EMPTY`, or the upper 32 bits of the
    /// hash (the tag) above the entry's offset / `ALIGN` + 1. An id's first slot is given by
    /// the top bits of its tag, so growing the table refiles ids without hashing them again,
    /// in one sweep.
    slots: Vec<u64>,
    /// log2 of the number of slots.
    bits: u32,
    keys: RandomState,
}

impl IdTable {
    pub(crate) fn len(&self) -> usize {
        self.start.len()
    }

    pub(crate) fn text(&self, i: u32) -> &str {
        let (_, bytes) = self.entry(self.start[i as usize]);
        // SAFETY: an entry's bytes were copied whole from a `&str` (`get_or_push`).
        unsafe { std::str::from_utf8_unchecked(bytes) }
    }

    /// The index and the bytes of the entry at `at` * `ALIGN`.
    #[inline]
    fn entry(&self, at: u32) -> (u32, &[u8]) {
        let from = at as usize * ALIGN;
        let header = &self.arena[from..from + HEADER];
        let index = u32::from_le_bytes([header[0], header[1], header[2], header[3]]);
        let len = u32::from_le_bytes([header[4], header[5], header[6], header[7]]) as usize;
        (index, &self.arena[from + HEADER..from + HEADER + len])
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
                let (index, bytes) = self.entry((slot as u32) - 1);
                if bytes == id.as_bytes() {
                    return Ok(index);
                }
            }
            at = (at + 1) & mask;
        }
    }

    /// Looks up many ids: `found` gets `get(id)` for each, in order.
    ///
    /// Faster than one by one on a table larger than the caches: a lookup is two dependent
    /// fetches from memory (slot, entry), so each round below makes one of them for a group of
    /// ids at once, and the memory system serves the group's fetches together.
    pub(crate) fn get_each(&self, ids: &[&str], found: &mut Vec<Option<u32>>) {
        const GROUP: usize = 16;
        if self.slots.is_empty() {
            found.extend(ids.iter().map(|_| None));
            return;
        }
        for group in ids.chunks(GROUP) {
            let mut hash = [0u64; GROUP];
            for (k, id) in group.iter().enumerate() {
                hash[k] = self.hash(id);
            }
            for k in 0..group.len() {
                let slot = self.slots[self.home(hash[k] >> 32)];
                if slot != EMPTY && slot >> 32 == hash[k] >> 32 {
                    let from = ((slot as u32) - 1) as usize * ALIGN;
                    let entry = self.arena.as_ptr().wrapping_add(from);
                    crate::prefetch(entry);
                    crate::prefetch(entry.wrapping_add(HEADER + group[k].len()));
                }
            }
            for (k, id) in group.iter().enumerate() {
                found.push(self.get_hashed(id, hash[k]));
            }
        }
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
        self.start.reserve(more);
        self.arena.reserve(text_bytes + more * (HEADER + ALIGN));
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
    /// when the table does not hold it; `true` with a new id. One probe does both. `None`: the
    /// id does not fit (`u32::MAX` ids held, the arena full at 32 GB, or an id longer than
    /// 4 GB); an id held already is still found.
    pub(crate) fn get_or_push(&mut self, id: &str, hash: u64) -> Option<(u32, bool)> {
        if (self.len() + 1) * 2 > self.slots.len() {
            self.grow_to((self.slots.len() * 2).max(16));
        }
        let at = match self.probe(id, hash) {
            Ok(i) => return Some((i, false)),
            Err(at) => at,
        };
        let offset = u32::try_from(self.arena.len() / ALIGN)
            .ok()
            .filter(|&o| o < u32::MAX)?;
        let len = u32::try_from(id.len()).ok()?;
        // `u32::MAX` is no index: the snapshot marks dead entries with it.
        let index = u32::try_from(self.len()).ok().filter(|&i| i < u32::MAX)?;
        self.arena.extend_from_slice(&index.to_le_bytes());
        self.arena.extend_from_slice(&len.to_le_bytes());
        self.arena.extend_from_slice(id.as_bytes());
        self.arena
            .resize(self.arena.len().next_multiple_of(ALIGN), 0);
        self.start.push(offset);
        self.slots[at] = (hash >> 32) << 32 | u64::from(offset + 1);
        Some((index, true))
    }

    #[cfg(test)]
    pub(crate) fn push(&mut self, id: &str) -> u32 {
        let hash = self.hash(id);
        let (index, new) = self.get_or_push(id, hash).expect("fits");
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
        // Entries of every length against the arena's alignment, and text that is not ASCII.
        for (k, id) in [
            "",
            "é",
            "x-ü--1",
            "1234567",
            "12345678",
            "123456789",
            "ид--ж",
        ]
        .iter()
        .enumerate()
        {
            assert_eq!(table.push(id), 10_000 + k as u32);
        }
        assert_eq!(table.text(10_001), "é");
        assert_eq!(table.get("ид--ж"), Some(10_006));
        assert_eq!(table.get("12345678"), Some(10_004));
        assert_eq!(table.get("1234567"), Some(10_003));
        assert_eq!(table.text(10_000), "");
        assert_eq!(table.text(9_999), "relationship--9999");
    }

    #[test]
    fn ids_with_one_hash_are_both_kept() {
        let mut table = IdTable::default();
        table.reserve(4, 8);
        // Force every id onto one hash, as a real collision would.
        let hash = table.hash("a");
        assert_eq!(table.get_or_push("a", hash), Some((0, true)));
        assert_eq!(table.get_or_push("b", hash), Some((1, true)));
        assert_eq!(table.get_or_push("c", hash), Some((2, true)));
        assert_eq!(table.get_or_push("b", hash), Some((1, false)));
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
