//! How a run reports progress; the CLI draws bars, tests and benchmarks stay quiet.

use crate::EpochReport;

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
}

/// Reports nothing.
pub struct NoProgress;

impl Progress for NoProgress {}
