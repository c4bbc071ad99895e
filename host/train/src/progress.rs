//! How a run reports progress; the CLI draws bars, tests and benchmarks stay quiet.
//! Benchmarks also receive how long each phase of training took ([`Progress::phase_done`]).

use std::time::Duration;

use crate::EpochReport;

/// What the training loop was doing, for [`Progress::phase_done`]. The trainer-thread phases
/// (all but [`Phase::PrepareBatches`]) do not overlap one another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Phase {
    /// The trainer waited for the next training batch from the prefetch workers.
    WaitForBatch,
    /// The workers sampled and assembled an epoch's training batches (sampling, feature
    /// gathering, tensors). It runs beside the trainer, so it overlaps the other phases.
    PrepareBatches,
    /// Moving a batch to the device, the model's forward, the decoder and the loss.
    Forward,
    /// `backward` of the loss.
    Backward,
    /// Zeroing gradients, clipping and the Adam step.
    Optimizer,
    /// Evaluation on the validation and test targets (every epoch end, and every
    /// `eval_frequency` steps), sampling included.
    Evaluation,
    /// Writing checkpoints and the training summary.
    Checkpoint,
}

/// Receives progress events of a run.
pub trait Progress {
    /// A training epoch of `num_batches` starts.
    fn epoch_start(&mut self, _epoch: usize, _num_epochs: usize, _num_batches: usize) {}
    /// A training batch finished with this loss.
    fn batch_done(&mut self, _loss: f64) {}
    /// An evaluation pass (`val`, `test`, `predict`) of `num_batches` starts.
    fn eval_start(&mut self, _what: &str, _num_batches: usize) {}
    /// An evaluation batch finished.
    fn eval_batch_done(&mut self) {}
    /// An epoch ended.
    fn epoch_end(&mut self, _report: &EpochReport) {}
    /// A line for the user.
    fn message(&mut self, _text: &str) {}
    /// The training loop spent `elapsed` in `phase` (called once per phase of every step,
    /// once per evaluation, once per epoch for [`Phase::PrepareBatches`]).
    fn phase_done(&mut self, _phase: Phase, _elapsed: Duration) {}
}

/// Reports nothing.
pub struct NoProgress;

impl Progress for NoProgress {}
