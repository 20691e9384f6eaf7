//! Sparse linear models over hashed features: the averaged perceptron that trains them and the
//! compact binary form in which their weights ship.
//!
//! A feature is a string hashed to 32 bits ([`FeatureHash`]); a model maps each known feature
//! to one weight per label. Unknown features weigh nothing.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A feature's 32-bit hash.
pub type FeatureHash = u32;

/// Hashes feature parts (FNV-1a, with a separator between parts so that ("ab","c") and
/// ("a","bc") differ).
pub fn feature(tag: u8, parts: &[&str]) -> FeatureHash {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ u64::from(tag);
    h = h.wrapping_mul(0x0100_0000_01b3);
    for part in parts {
        for b in part.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        h ^= 0xff;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    (h ^ (h >> 32)) as u32
}

/// Combines a feature hash with a small number (a label), for label-conjoined features.
pub fn combine(hash: FeatureHash, value: u32) -> FeatureHash {
    let mut h = u64::from(hash) ^ (u64::from(value).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    h = h.wrapping_mul(0x0100_0000_01b3);
    (h ^ (h >> 29)) as u32
}

/// The keys are hashes already: pass them through.
#[derive(Default)]
pub struct IdentityHasher(u64);

impl Hasher for IdentityHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8) | u64::from(*b);
        }
    }
    fn write_u32(&mut self, n: u32) {
        // Spread the bits: hashbrown uses the top bits for its control bytes.
        self.0 = u64::from(n).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

type FeatureMap = HashMap<FeatureHash, u32, BuildHasherDefault<IdentityHasher>>;

/// A trained sparse linear model: for each known feature, one weight per label.
#[derive(Debug, Clone)]
pub struct Linear {
    labels: usize,
    rows: FeatureMap,
    weights: Vec<f32>,
}

/// Why model bytes could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ModelError {
    #[error("the model bytes end early (at byte {0})")]
    Truncated(usize),
    #[error("the model has {0} labels; between 1 and 64 are allowed")]
    Labels(usize),
    #[error("the model bytes do not start with the expected magic")]
    Magic,
}

/// Labels above this are refused when reading (bounds the scratch arrays).
pub const LABELS_MAX: usize = 64;

impl Linear {
    /// The number of labels.
    pub fn labels(&self) -> usize {
        self.labels
    }

    /// The number of features with weights.
    pub fn features(&self) -> usize {
        self.rows.len()
    }

    /// Adds the weights of `features` to `scores` (one slot per label).
    pub fn accumulate(&self, features: &[FeatureHash], scores: &mut [f32]) {
        for f in features {
            if let Some(&row) = self.rows.get(f) {
                let row = row as usize * self.labels;
                for (s, w) in scores.iter_mut().zip(&self.weights[row..row + self.labels]) {
                    *s += *w;
                }
            }
        }
    }

    /// Adds the weights of one feature to `scores`.
    pub fn accumulate_one(&self, feature: FeatureHash, scores: &mut [f32]) {
        if let Some(&row) = self.rows.get(&feature) {
            let row = row as usize * self.labels;
            for (s, w) in scores.iter_mut().zip(&self.weights[row..row + self.labels]) {
                *s += *w;
            }
        }
    }

    /// Writes the model compactly: the feature hashes, then the weights quantised to 16 bits
    /// with one scale for the model.
    pub fn write(&self, out: &mut Vec<u8>) {
        let mut rows: Vec<(FeatureHash, u32)> = self.rows.iter().map(|(f, r)| (*f, *r)).collect();
        rows.sort_unstable();
        let max = self.weights.iter().fold(0f32, |m, w| m.max(w.abs()));
        let scale = if max == 0.0 { 1.0 } else { max / 32767.0 };
        out.push(self.labels as u8);
        out.extend_from_slice(&(rows.len() as u32).to_le_bytes());
        out.extend_from_slice(&scale.to_le_bytes());
        for (f, _) in &rows {
            out.extend_from_slice(&f.to_le_bytes());
        }
        for (_, r) in &rows {
            let row = *r as usize * self.labels;
            for w in &self.weights[row..row + self.labels] {
                out.extend_from_slice(&((w / scale).round() as i16).to_le_bytes());
            }
        }
    }

    /// Reads a model written by [`Linear::write`] from `bytes` at `*at`, advancing `*at`.
    pub fn read(bytes: &[u8], at: &mut usize) -> Result<Linear, ModelError> {
        let labels = usize::from(
            *take(bytes, at, 1)?
                .first()
                .ok_or(ModelError::Truncated(*at))?,
        );
        if labels == 0 || labels > LABELS_MAX {
            return Err(ModelError::Labels(labels));
        }
        let count = u32::from_le_bytes(array(take(bytes, at, 4)?)) as usize;
        let scale = f32::from_le_bytes(array(take(bytes, at, 4)?));
        let hashes = take(
            bytes,
            at,
            count.checked_mul(4).ok_or(ModelError::Truncated(*at))?,
        )?;
        let values = take(
            bytes,
            at,
            count
                .checked_mul(labels * 2)
                .ok_or(ModelError::Truncated(*at))?,
        )?;
        let mut rows = FeatureMap::with_capacity_and_hasher(count, Default::default());
        for (i, chunk) in hashes.chunks_exact(4).enumerate() {
            rows.insert(u32::from_le_bytes(array(chunk)), i as u32);
        }
        let weights = values
            .chunks_exact(2)
            .map(|c| f32::from(i16::from_le_bytes([c[0], c[1]])) * scale)
            .collect();
        Ok(Linear {
            labels,
            rows,
            weights,
        })
    }
}

fn take<'a>(bytes: &'a [u8], at: &mut usize, n: usize) -> Result<&'a [u8], ModelError> {
    let end = at.checked_add(n).ok_or(ModelError::Truncated(*at))?;
    let slice = bytes.get(*at..end).ok_or(ModelError::Truncated(*at))?;
    *at = end;
    Ok(slice)
}

fn array<const N: usize>(slice: &[u8]) -> [u8; N] {
    let mut out = [0; N];
    out.copy_from_slice(slice);
    out
}

/// An averaged perceptron being trained. Averaging uses the usual lazy timestamps, so an update
/// costs only the features involved.
pub struct Perceptron {
    labels: usize,
    rows: FeatureMap,
    weights: Vec<f32>,
    totals: Vec<f64>,
    stamps: Vec<u64>,
    /// The number of examples seen.
    clock: u64,
}

impl Perceptron {
    /// A model with `labels` labels and no weights.
    pub fn new(labels: usize) -> Perceptron {
        Perceptron {
            labels,
            rows: FeatureMap::default(),
            weights: Vec::new(),
            totals: Vec::new(),
            stamps: Vec::new(),
            clock: 0,
        }
    }

    /// The current (not averaged) scores of `features`.
    pub fn scores(&self, features: &[FeatureHash], scores: &mut [f32]) {
        for f in features {
            if let Some(&row) = self.rows.get(f) {
                let row = row as usize * self.labels;
                for (s, w) in scores.iter_mut().zip(&self.weights[row..row + self.labels]) {
                    *s += *w;
                }
            }
        }
    }

    /// Marks the start of one more example (for averaging).
    pub fn tick(&mut self) {
        self.clock += 1;
    }

    /// Moves the weights of `features` towards `truth` and away from `guess`.
    pub fn update(&mut self, features: &[FeatureHash], truth: usize, guess: usize) {
        if truth == guess {
            return;
        }
        for f in features {
            let next = self.rows.len() as u32;
            let row = *self.rows.entry(*f).or_insert(next) as usize;
            if row == next as usize {
                self.weights.extend(std::iter::repeat_n(0.0, self.labels));
                self.totals.extend(std::iter::repeat_n(0.0, self.labels));
                self.stamps.extend(std::iter::repeat_n(0, self.labels));
            }
            for (label, delta) in [(truth, 1.0f32), (guess, -1.0f32)] {
                let i = row * self.labels + label;
                self.totals[i] += f64::from(self.weights[i]) * (self.clock - self.stamps[i]) as f64;
                self.stamps[i] = self.clock;
                self.weights[i] += delta;
            }
        }
    }

    /// The averaged model, dropping features whose averaged weights are all below `floor` in
    /// magnitude (they change almost no decision and cost bytes).
    pub fn finish(mut self, floor: f32) -> Linear {
        let clock = self.clock.max(1);
        for i in 0..self.weights.len() {
            self.totals[i] += f64::from(self.weights[i]) * (clock - self.stamps[i]) as f64;
        }
        let mut rows = FeatureMap::default();
        let mut weights = Vec::new();
        let mut sorted: Vec<(FeatureHash, u32)> = self.rows.iter().map(|(f, r)| (*f, *r)).collect();
        sorted.sort_unstable();
        for (f, r) in sorted {
            let base = r as usize * self.labels;
            let row: Vec<f32> = (0..self.labels)
                .map(|l| (self.totals[base + l] / clock as f64) as f32)
                .collect();
            if row.iter().all(|w| w.abs() < floor) {
                continue;
            }
            rows.insert(f, (weights.len() / self.labels) as u32);
            weights.extend(row);
        }
        Linear {
            labels: self.labels,
            rows,
            weights,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perceptron_learns_and_round_trips() {
        let mut p = Perceptron::new(2);
        let a = feature(1, &["a"]);
        let b = feature(1, &["b"]);
        let bias = feature(0, &[]);
        for _ in 0..10 {
            for (f, truth) in [(b, 1), (a, 0)] {
                p.tick();
                let mut s = [0.0; 2];
                p.scores(&[bias, f], &mut s);
                let guess = if s[1] > s[0] { 1 } else { 0 };
                p.update(&[bias, f], truth, guess);
            }
        }
        let model = p.finish(0.0);
        let mut bytes = Vec::new();
        model.write(&mut bytes);
        let mut at = 0;
        let back = Linear::read(&bytes, &mut at).expect("written bytes read back");
        assert_eq!(at, bytes.len());
        let mut s = [0.0; 2];
        back.accumulate(&[bias, b], &mut s);
        assert!(s[1] > s[0]);
        let mut s = [0.0; 2];
        back.accumulate(&[bias, a], &mut s);
        assert!(s[0] > s[1]);
        assert!(Linear::read(&bytes[..bytes.len() - 1], &mut 0).is_err());
        assert!(Linear::read(&[], &mut 0).is_err());
        assert_ne!(feature(1, &["ab", "c"]), feature(1, &["a", "bc"]));
    }
}
