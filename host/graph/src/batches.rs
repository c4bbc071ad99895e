//! `SeedBatches`: an epoch's seed nodes split into mini-batches, shuffled per epoch.

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_pcg::Pcg64Mcg;

use crate::error::GraphError;
use crate::seed::mix;
use crate::types::NodeId;

const SHUFFLE_STREAM: u64 = 0x5348_5546; // "SHUF"
const SAMPLE_STREAM: u64 = 0x5341_4D50; // "SAMP"

/// A mini-batch's seeds, with its position in the epoch and its own sampling seed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedBatch {
    /// Position of the batch in its epoch (0-based).
    pub index: usize,
    /// The seed nodes.
    pub seeds: Vec<NodeId>,
    /// Seed for sampling this batch (derived from the base seed, epoch and index), to pass to
    /// [`crate::sample_blocks`].
    pub rng_seed: u64,
}

/// Splits a seed list into batches of `batch_size` (the last may be smaller; none is dropped),
/// in a fresh seeded order each epoch when `shuffle` is set (training) or in the given order
/// otherwise (evaluation). Same seed and epoch give the same batches.
#[derive(Debug, Clone)]
pub struct SeedBatches {
    seeds: Vec<NodeId>,
    batch_size: usize,
    shuffle: bool,
    seed: u64,
}

impl SeedBatches {
    /// Batches over `seeds`. `batch_size` must be at least 1.
    pub fn new(
        seeds: Vec<NodeId>,
        batch_size: usize,
        shuffle: bool,
        seed: u64,
    ) -> Result<Self, GraphError> {
        if batch_size == 0 {
            return Err(GraphError::BadBatchSize(batch_size));
        }
        Ok(SeedBatches {
            seeds,
            batch_size,
            shuffle,
            seed,
        })
    }

    /// Number of seeds per epoch.
    pub fn num_seeds(&self) -> usize {
        self.seeds.len()
    }

    /// Number of batches per epoch.
    pub fn num_batches(&self) -> usize {
        self.seeds.len().div_ceil(self.batch_size)
    }

    /// The batches of epoch `epoch`; an owned iterator that can move to a prefetch thread.
    pub fn epoch(&self, epoch: u64) -> EpochBatches {
        let mut order = self.seeds.clone();
        if self.shuffle {
            let mut rng = Pcg64Mcg::seed_from_u64(mix(mix(self.seed, SHUFFLE_STREAM), epoch));
            order.shuffle(&mut rng);
        }
        EpochBatches {
            order,
            batch_size: self.batch_size,
            next: 0,
            sample_seed: mix(mix(self.seed, SAMPLE_STREAM), epoch),
        }
    }
}

/// The batches of one epoch, in order (see [`SeedBatches::epoch`]).
#[derive(Debug, Clone)]
pub struct EpochBatches {
    order: Vec<NodeId>,
    batch_size: usize,
    next: usize,
    sample_seed: u64,
}

impl Iterator for EpochBatches {
    type Item = SeedBatch;

    fn next(&mut self) -> Option<SeedBatch> {
        let start = self.next * self.batch_size;
        if start >= self.order.len() {
            return None;
        }
        let end = (start + self.batch_size).min(self.order.len());
        let batch = SeedBatch {
            index: self.next,
            seeds: self.order[start..end].to_vec(),
            rng_seed: mix(self.sample_seed, self.next as u64),
        };
        self.next += 1;
        Some(batch)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.order.len().div_ceil(self.batch_size) - self.next;
        (left, Some(left))
    }
}

impl ExactSizeIterator for EpochBatches {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_cover_the_seeds_once() {
        let b = SeedBatches::new((0..10).collect(), 4, false, 1).unwrap();
        assert_eq!(b.num_batches(), 3);
        let e: Vec<SeedBatch> = b.epoch(0).collect();
        assert_eq!(
            e.iter().map(|s| s.seeds.clone()).collect::<Vec<_>>(),
            vec![vec![0, 1, 2, 3], vec![4, 5, 6, 7], vec![8, 9]]
        );
        assert_eq!(e.iter().map(|s| s.index).collect::<Vec<_>>(), [0, 1, 2]);
        assert_ne!(e[0].rng_seed, e[1].rng_seed);
        assert_eq!(b.epoch(0).len(), 3);
        assert!(SeedBatches::new(vec![1], 0, true, 0).is_err());
        assert_eq!(
            SeedBatches::new(vec![], 3, true, 0)
                .unwrap()
                .epoch(0)
                .count(),
            0
        );
    }

    #[test]
    fn shuffling_is_seeded_per_epoch() {
        let b = SeedBatches::new((0..100).collect(), 32, true, 7).unwrap();
        let flat = |e: u64| b.epoch(e).flat_map(|s| s.seeds).collect::<Vec<_>>();
        assert_eq!(flat(0), flat(0));
        assert_ne!(flat(0), flat(1));
        assert_ne!(flat(0), (0..100).collect::<Vec<_>>());
        let mut sorted = flat(1);
        sorted.sort_unstable();
        assert_eq!(sorted, (0..100).collect::<Vec<_>>());
        let other = SeedBatches::new((0..100).collect(), 32, true, 8).unwrap();
        assert_ne!(
            flat(0),
            other.epoch(0).flat_map(|s| s.seeds).collect::<Vec<_>>()
        );
    }
}
