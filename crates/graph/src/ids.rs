//! A table of STIX ids: every id once, in one text arena, found by a keyed 64-bit hash.
//!
//! Why not `HashMap<String, u32>`: at 6 million ids (a million objects, five million
//! relationships) one heap string per id plus the map's copy of it cost about a gigabyte; the
//! arena and a map from hash to index cost about a third of that. The hash is SipHash with the
//! process's random key (`RandomState`), so ids chosen by a partner cannot be made to collide
//! on purpose; two ids that collide anyway are both kept, the later one in a small side map.

use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher, RandomState};

/// Hashes a u64 key as itself: the keys are already keyed SipHash values.
#[derive(Default)]
struct Identity(u64);

impl Hasher for Identity {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | u64::from(b);
        }
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = value;
    }
}

#[derive(Debug, Clone, Default)]
pub(crate) struct IdTable {
    text: String,
    /// Where each id starts in `text`; one more entry than ids.
    start: Vec<u64>,
    by_hash: HashMap<u64, u32, BuildHasherDefault<Identity>>,
    /// Ids whose hash an earlier id already had.
    collided: HashMap<Box<str>, u32>,
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

    pub(crate) fn get(&self, id: &str) -> Option<u32> {
        let hash = self.keys.hash_one(id);
        match self.by_hash.get(&hash) {
            Some(&i) if self.text(i) == id => Some(i),
            Some(_) => self.collided.get(id).copied(),
            None => None,
        }
    }

    /// Adds an id the table does not hold (the caller looked first), returning its index.
    pub(crate) fn push(&mut self, id: &str, index: u32) {
        if self.start.is_empty() {
            self.start.push(0);
        }
        debug_assert_eq!(index as usize, self.len(), "ids are numbered in order");
        self.text.push_str(id);
        self.start.push(self.text.len() as u64);
        let hash = self.keys.hash_one(id);
        match self.by_hash.entry(hash) {
            std::collections::hash_map::Entry::Occupied(_) => {
                self.collided.insert(id.into(), index);
            }
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert(index);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_every_id_and_nothing_else() {
        let mut table = IdTable::default();
        for i in 0..10_000u32 {
            table.push(&format!("relationship--{i}"), i);
        }
        for i in 0..10_000u32 {
            assert_eq!(table.get(&format!("relationship--{i}")), Some(i));
            assert_eq!(table.text(i), format!("relationship--{i}"));
        }
        assert_eq!(table.get("relationship--10000"), None);
        assert_eq!(table.len(), 10_000);
    }

    #[test]
    fn a_collision_keeps_both() {
        let mut table = IdTable::default();
        table.push("a", 0);
        // Force the second id into the side map, as a real collision would.
        let hash = table.keys.hash_one("b");
        table.by_hash.insert(hash, 0);
        table.push("b", 1);
        assert_eq!(table.get("a"), Some(0));
        assert_eq!(table.get("b"), Some(1));
    }
}
