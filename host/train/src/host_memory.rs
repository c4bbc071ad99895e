//! The host's own task tensors (its decoder's weights with their gradient and Adam state, and
//! a batch's logits with the loss's intermediates), sized before anything is allocated and
//! counted against the same budget as a plugin's tensors (`--plugin-tensor-budget-mb`).
//!
//! Without it, a mistyped `--num-classes 4294967295` asks for a 1 TB decoder weight and the
//! process aborts on the allocation.

use gs_config::TrainConfig;

use crate::TrainError;

/// Copies of the decoder's weights the host keeps while training: the weights, their
/// gradient, and Adam's two moment estimates.
const WEIGHT_COPIES: u128 = 4;
/// Copies of a batch's `[batch, width]` outputs alive at once in a training step: the
/// outputs, the loss's (log-)softmax, and the outputs' gradient. Evaluation keeps one.
const TRAIN_OUTPUT_COPIES: u128 = 3;
/// Bytes of one f32.
const F32_BYTES: u128 = 4;
const MIB: u128 = 1 << 20;

/// What the host's decoder would hold for `out_dim` outputs per node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DecoderFootprint {
    pub(crate) in_dim: u64,
    pub(crate) out_dim: u64,
    /// Nodes of the batch whose outputs take the most memory.
    pub(crate) batch: u64,
    /// Weights, gradient and Adam state.
    pub(crate) weight_bytes: u128,
    /// The largest batch's outputs and the loss's intermediates.
    pub(crate) output_bytes: u128,
}

impl DecoderFootprint {
    /// The footprint of a `[in_dim, out_dim]` decoder for training batches of at most
    /// `train_batch` nodes and evaluation batches of at most `eval_batch`.
    pub(crate) fn new(in_dim: u64, out_dim: u64, train_batch: u64, eval_batch: u64) -> Self {
        let (i, o) = (u128::from(in_dim), u128::from(out_dim));
        let train_rows = u128::from(train_batch) * TRAIN_OUTPUT_COPIES;
        let (batch, rows) = if train_rows >= u128::from(eval_batch) {
            (train_batch, train_rows)
        } else {
            (eval_batch, u128::from(eval_batch))
        };
        Self {
            in_dim,
            out_dim,
            batch,
            weight_bytes: (i * o + o) * F32_BYTES * WEIGHT_COPIES,
            output_bytes: rows * o * F32_BYTES,
        }
    }

    pub(crate) fn total_bytes(&self) -> u128 {
        self.weight_bytes + self.output_bytes
    }

    /// Refuse a footprint over `budget_mb` MiB, naming what it is made of and both fixes.
    pub(crate) fn check(&self, budget_mb: u64, what: &str) -> Result<(), TrainError> {
        if self.total_bytes() <= u128::from(budget_mb) * MIB {
            return Ok(());
        }
        Err(TrainError::Config(format!(
            "the host decoder for {what} would need about {} (weights [{}, {}] with their \
             gradient and Adam state: {}; outputs of a batch of {} nodes with the loss's \
             intermediates: {}), over the tensor budget of {budget_mb} MiB\n\
             hint: check --num-classes (num_classes); if the model really is this large, raise \
             --plugin-tensor-budget-mb",
            human(self.total_bytes()),
            self.in_dim,
            self.out_dim,
            human(self.weight_bytes),
            self.batch,
            human(self.output_bytes),
        )))
    }
}

/// Refuse the host decoder of a task with `out_dim` outputs per node before it is created,
/// when it would not fit the tensor budget.
pub(crate) fn check_host_decoder(config: &TrainConfig, out_dim: i64) -> Result<(), TrainError> {
    let footprint = DecoderFootprint::new(
        u64::from(config.embedding_size()),
        out_dim.max(0) as u64,
        u64::from(config.batch_size),
        u64::from(config.eval_batch_size),
    );
    let what = match config.num_classes {
        Some(n) if !config.task_type.is_regression() => format!("`num_classes` {n}"),
        _ => format!("{out_dim} outputs per node"),
    };
    footprint.check(config.plugin_tensor_budget_mb, &what)
}

/// `bytes` in the largest binary unit that keeps it at least 1.
fn human(bytes: u128) -> String {
    const UNITS: [&str; 5] = ["bytes", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} bytes")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_demo_sized_decoder_fits_and_four_billion_classes_do_not() {
        let small = DecoderFootprint::new(64, 4, 1024, 1024);
        assert_eq!(small.weight_bytes, (64 * 4 + 4) * 4 * 4);
        assert_eq!(small.output_bytes, 1024 * 3 * 4 * 4);
        small.check(1, "`num_classes` 4").unwrap();
        let evaluation_bound = DecoderFootprint::new(64, 4, 100, 10_000);
        assert_eq!(evaluation_bound.batch, 10_000);
        assert_eq!(evaluation_bound.output_bytes, 10_000 * 4 * 4);
        let huge = DecoderFootprint::new(64, u64::from(u32::MAX), 256, 256);
        let message = huge
            .check(4096, "`num_classes` 4294967295")
            .unwrap_err()
            .to_string();
        for needle in [
            "`num_classes` 4294967295",
            "[64, 4294967295]",
            "TiB",
            "4096 MiB",
            "--num-classes",
            "--plugin-tensor-budget-mb",
        ] {
            assert!(
                message.contains(needle),
                "`{needle}` missing from: {message}"
            );
        }
    }

    #[test]
    fn the_budget_is_the_limit() {
        let f = DecoderFootprint::new(1024, 1024, 0, 0);
        let mib = f.total_bytes().div_ceil(MIB) as u64;
        f.check(mib, "x").unwrap();
        assert!(f.check(mib - 1, "x").is_err());
    }
}
