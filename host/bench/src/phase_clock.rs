//! [`PhaseClock`]: a [`Progress`] that adds up the time the training loop reports per phase and
//! keeps the epoch reports, for `gs bench task`.

use std::collections::BTreeMap;
use std::time::Duration;

use gs_train::{EpochReport, Phase, Progress};
use serde_json::{Value, json};

/// Time per phase and the epochs of one run.
#[derive(Default)]
pub(crate) struct PhaseClock {
    totals: BTreeMap<Phase, Duration>,
    epochs: Vec<EpochReport>,
    batches: Vec<usize>,
}

impl Progress for PhaseClock {
    fn epoch_start(&mut self, _epoch: usize, _num_epochs: usize, num_batches: usize) {
        self.batches.push(num_batches);
    }

    fn epoch_end(&mut self, report: &EpochReport) {
        self.epochs.push(report.clone());
    }

    fn phase_done(&mut self, phase: Phase, elapsed: Duration) {
        *self.totals.entry(phase).or_default() += elapsed;
    }
}

/// A phase's key in the job's JSON line.
pub(crate) fn phase_key(phase: Phase) -> &'static str {
    match phase {
        Phase::WaitForBatch => "wait_for_batch",
        Phase::PrepareBatches => "prepare_batches",
        Phase::Forward => "forward",
        Phase::Backward => "backward",
        Phase::Optimizer => "optimizer",
        Phase::Evaluation => "evaluation",
        Phase::Checkpoint => "checkpoint",
    }
}

/// The phases on the trainer thread, in report order (they add up to the training loop's time,
/// apart from bookkeeping).
pub(crate) const TRAINER_PHASES: [Phase; 6] = [
    Phase::WaitForBatch,
    Phase::Forward,
    Phase::Backward,
    Phase::Optimizer,
    Phase::Evaluation,
    Phase::Checkpoint,
];

impl PhaseClock {
    /// Seconds per phase, keyed by [`phase_key`].
    pub(crate) fn phases_json(&self) -> Value {
        let map: serde_json::Map<String, Value> = self
            .totals
            .iter()
            .map(|(p, d)| (phase_key(*p).to_string(), json!(d.as_secs_f64())))
            .collect();
        Value::Object(map)
    }

    /// Per epoch: seconds (training and evaluation), training batches, mean loss and scores.
    pub(crate) fn epochs_json(&self) -> Value {
        let epochs: Vec<Value> = self
            .epochs
            .iter()
            .zip(&self.batches)
            .map(|(e, batches)| {
                json!({
                    "epoch": e.epoch,
                    "seconds": e.seconds,
                    "batches": batches,
                    "train_loss": e.train_loss,
                    "val": e.val_score,
                    "test": e.test_score,
                })
            })
            .collect();
        Value::Array(epochs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds_up_each_phase() {
        let mut clock = PhaseClock::default();
        clock.phase_done(Phase::Forward, Duration::from_millis(3));
        clock.phase_done(Phase::Forward, Duration::from_millis(4));
        clock.phase_done(Phase::Backward, Duration::from_millis(5));
        let phases = clock.phases_json();
        assert!((phases["forward"].as_f64().unwrap() - 0.007).abs() < 1e-9);
        assert!((phases["backward"].as_f64().unwrap() - 0.005).abs() < 1e-9);
        assert!(phases.get("optimizer").is_none());
    }
}
