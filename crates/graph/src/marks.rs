//! The nodes one walk has marked, each with a side and a value (a distance, or the node it was
//! reached from).
//!
//! A walk visits a few hundred or a few thousand nodes of a graph of a million. A table sized
//! to the graph (or a hash map with a keyed hash) costs a cache miss (or a hash) per step;
//! this one is sized to the walk: open addressing with linear probing, at most half full,
//! doubling as the walk grows, keyed by the node index under a multiplicative hash (node
//! indices are the snapshot's own, not chosen by a partner). A depth-2 neighbourhood fits in a
//! few kilobytes, in the core's first-level cache.

/// An empty slot (keys are node + 1).
const EMPTY: u32 = 0;

pub(crate) struct Marks {
    /// `[node + 1, side, value]`, or `EMPTY` first.
    slots: Vec<[u32; 3]>,
    /// log2 of the number of slots.
    bits: u32,
    len: usize,
}

impl Marks {
    pub(crate) fn new() -> Marks {
        Marks {
            slots: vec![[EMPTY; 3]; 1 << 8],
            bits: 8,
            len: 0,
        }
    }

    #[inline]
    fn home(&self, node: u32) -> usize {
        (node.wrapping_mul(0x9e37_79b9) >> (32 - self.bits)) as usize
    }

    /// The slot of `node`, or the empty slot where it would go.
    #[inline]
    fn find(&self, node: u32) -> usize {
        let mask = self.slots.len() - 1;
        let key = node + 1;
        let mut at = self.home(node);
        loop {
            let k = self.slots[at][0];
            if k == key || k == EMPTY {
                return at;
            }
            at = (at + 1) & mask;
        }
    }

    /// The value of `node` marked on `side` (0 or 1).
    #[inline]
    pub(crate) fn get(&self, node: u32, side: u32) -> Option<u32> {
        self.side(node)
            .filter(|&(on, _)| on == side)
            .map(|(_, value)| value)
    }

    /// The side `node` is marked on, and its value.
    #[inline]
    pub(crate) fn side(&self, node: u32) -> Option<(u32, u32)> {
        let [key, side, value] = self.slots[self.find(node)];
        (key != EMPTY).then_some((side, value))
    }

    /// Marks `node` (again) on `side` with `value`.
    #[inline]
    pub(crate) fn set(&mut self, node: u32, side: u32, value: u32) {
        let at = self.find(node);
        if self.slots[at][0] == EMPTY {
            if (self.len + 1) * 2 > self.slots.len() {
                self.grow();
                return self.set(node, side, value);
            }
            self.len += 1;
        }
        self.slots[at] = [node + 1, side, value];
    }

    fn grow(&mut self) {
        let doubled = vec![[EMPTY; 3]; self.slots.len() * 2];
        let old = std::mem::replace(&mut self.slots, doubled);
        self.bits += 1;
        let mask = self.slots.len() - 1;
        for slot in old.into_iter().filter(|slot| slot[0] != EMPTY) {
            let mut at = self.home(slot[0] - 1);
            while self.slots[at][0] != EMPTY {
                at = (at + 1) & mask;
            }
            self.slots[at] = slot;
        }
    }
}

/// Runs `walk` with marks of its own.
pub(crate) fn with_marks<R>(walk: impl FnOnce(&mut Marks) -> R) -> R {
    walk(&mut Marks::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_hold_through_growth() {
        let mut m = Marks::new();
        // Enough nodes, in strides that share low bits, to double the table several times.
        for i in 0..5_000u32 {
            m.set(i * 1024, i % 2, i);
        }
        m.set(0, 1, 77);
        for i in 1..5_000u32 {
            assert_eq!(m.side(i * 1024), Some((i % 2, i)));
            assert_eq!(m.get(i * 1024, i % 2), Some(i));
            assert_eq!(m.get(i * 1024, 1 - i % 2), None);
        }
        assert_eq!(m.side(0), Some((1, 77)));
        assert_eq!(m.side(1), None);
        assert_eq!(m.side(u32::MAX - 1), None);
        assert_eq!(m.len, 5_000);
    }
}
