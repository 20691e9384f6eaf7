//! The nodes one walk has marked, each with a side and a value (a distance, or the node it was
//! reached from).
//!
//! A walk visits a few hundred or a few thousand nodes of a graph of a million. A table sized
//! to the graph (or a hash map with a keyed hash) costs a cache miss (or a hash) per step;
//! this one is sized to the walk: open addressing with linear probing, at most half full,
//! doubling as the walk grows, keyed by the node index under a multiplicative hash (node
//! indices are the snapshot's own, not chosen by a partner). A depth-2 neighbourhood fits in a
//! few kilobytes, in the core's first-level cache.
//!
//! Each thread keeps its table between walks: a shortest path on a million nodes marks tens of
//! thousands, and growing a fresh table to that size took a tenth of the walk (measured in
//! `bench/graph`). A walk empties only the slots it filled. A table more than 16 times what
//! each of the last `SMALL_WALKS_MAX` walks needed is given back, so a run of small walks after
//! a large one works in the first-level cache again; until then a thread holds at most 52 bytes
//! per node the largest walk marked (12-byte slots, a quarter to half full, and a 4-byte list).

use std::cell::RefCell;

/// An empty slot (keys are node + 1).
const EMPTY: u32 = 0;

/// log2 of the slots of a new table: 128 marks.
const FIRST_BITS: u32 = 8;

pub(crate) struct Marks {
    /// `[node + 1, side, value]`, or `EMPTY` first.
    slots: Vec<[u32; 3]>,
    /// log2 of the number of slots.
    bits: u32,
    len: usize,
    /// The slots this walk filled, to empty them when it ends.
    filled: Vec<u32>,
    /// Walks in a row that needed less than a sixteenth of the table.
    small_walks: u32,
}

/// Small walks in a row after which the table is given back: walks of mixed sizes (shortest
/// paths) keep it, a run of small ones (neighbourhoods) gets a table that fits the cache.
const SMALL_WALKS_MAX: u32 = 64;

impl Marks {
    pub(crate) fn new() -> Marks {
        Marks {
            slots: vec![[EMPTY; 3]; 1 << FIRST_BITS],
            bits: FIRST_BITS,
            len: 0,
            filled: Vec::new(),
            small_walks: 0,
        }
    }

    /// Forgets every mark, keeping the table unless it has been more than 16 times what each
    /// of the last `SMALL_WALKS_MAX` walks needed.
    fn clear(&mut self) {
        if self.len == 0 {
            return;
        }
        let needed = (self.len * 2).next_power_of_two().max(1 << FIRST_BITS);
        if self.slots.len() > needed * 16 {
            self.small_walks += 1;
            if self.small_walks > SMALL_WALKS_MAX {
                *self = Marks::new();
                return;
            }
        } else {
            self.small_walks = 0;
        }
        for &at in &self.filled {
            self.slots[at as usize] = [EMPTY; 3];
        }
        self.filled.clear();
        self.len = 0;
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
            self.filled.push(at as u32);
        }
        self.slots[at] = [node + 1, side, value];
    }

    fn grow(&mut self) {
        let doubled = vec![[EMPTY; 3]; self.slots.len() * 2];
        let old = std::mem::replace(&mut self.slots, doubled);
        self.bits += 1;
        let mask = self.slots.len() - 1;
        self.filled.clear();
        for slot in old.into_iter().filter(|slot| slot[0] != EMPTY) {
            let mut at = self.home(slot[0] - 1);
            while self.slots[at][0] != EMPTY {
                at = (at + 1) & mask;
            }
            self.slots[at] = slot;
            self.filled.push(at as u32);
        }
    }
}

thread_local! {
    static MARKS: RefCell<Marks> = RefCell::new(Marks::new());
}

/// Runs `walk` with marks of its own: the thread's table, emptied, or a new one when a walk
/// on this thread holds the thread's table already.
pub(crate) fn with_marks<R>(walk: impl FnOnce(&mut Marks) -> R) -> R {
    MARKS.with(|cell| match cell.try_borrow_mut() {
        Ok(mut marks) => {
            // Emptied before as well as after: a walk that panicked left its marks behind.
            marks.clear();
            let result = walk(&mut marks);
            marks.clear();
            result
        }
        Err(_) => walk(&mut Marks::new()),
    })
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

    #[test]
    fn a_walk_sees_none_of_the_last_walks_marks() {
        let big = with_marks(|m| {
            for i in 0..50_000u32 {
                m.set(i * 7, 1, i);
            }
            m.slots.len()
        });
        with_marks(|m| {
            // The large table is kept for the next walk, and it is empty.
            assert_eq!(m.slots.len(), big);
            assert_eq!(m.len, 0);
            assert!((0..50_000u32).all(|i| m.side(i * 7).is_none()));
            m.set(14, 0, 3);
            assert_eq!(m.side(14), Some((0, 3)));
            // A walk inside a walk gets a table of its own.
            with_marks(|inner| {
                assert_eq!(inner.side(14), None);
                inner.set(21, 1, 9);
            });
            assert_eq!(m.side(21), None);
        });
        // A run of small walks after it gives the large table back.
        let small_walk = |m: &mut Marks| {
            m.set(5, 0, 1);
            m.slots.len()
        };
        // The walk above was the first small one.
        for _ in 0..SMALL_WALKS_MAX {
            assert_eq!(with_marks(small_walk), big);
        }
        assert_eq!(with_marks(small_walk), 1 << FIRST_BITS);
    }
}
