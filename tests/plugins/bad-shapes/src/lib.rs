//! Test plugin `test-bad-shapes`: a valid model whose `forward`, `decode` or `loss` returns a
//! tensor of the wrong shape or dtype, chosen by `--bad` (see the README's table). With
//! `--bad none` (the default) every output is well formed: the host decodes and computes the
//! loss. `decode` and `loss` run only when `--bad` names them (the model declares them only
//! then), and then decode with their own linear layer and compute a mean squared error.

use gs_plugin_sdk::prelude::*;
use test_plugin_kit::TargetLinear;

/// Every value `--bad` accepts.
const CASES: &[&str] = &[
    "none",
    "forward-width",
    "forward-rows",
    "forward-dtype",
    "forward-op",
    "forward-aggregate",
    "forward-aggregate-many",
    "forward-linear",
    "forward-random",
    "decode-rows",
    "decode-width",
    "decode-rank",
    "decode-dtype",
    "loss-shape",
    "loss-dtype",
    "loss-constant",
];

struct BadShapes {
    bad: String,
    model: TargetLinear,
    /// `[hidden_size, num_classes]`, used when `decode` runs.
    decoder: Linear,
    /// Adds one column to the embeddings for `forward-width`.
    extra: Tensor,
}

impl BadShapes {
    /// Whether `export` is the one that misbehaves.
    fn breaks(&self, export: &str) -> bool {
        self.bad.starts_with(export)
    }
}

impl Model for BadShapes {
    fn info() -> Info {
        Info::new("test-bad-shapes", "0.1.0").all_tasks().hyper_param(
            "bad",
            "none",
            "which output is malformed: none, forward-width, forward-rows, forward-dtype, \
             forward-op, forward-aggregate, forward-aggregate-many, forward-linear, forward-random, decode-rows, decode-width, decode-rank, decode-dtype, loss-shape, loss-dtype, \
             loss-constant",
        )
    }

    fn init(config: &ModelConfig, schema: &GraphSchema) -> Result<Self> {
        let bad = config.choice("bad", "none", CASES)?.to_string();
        let hidden = i64::from(config.hidden_size);
        Ok(BadShapes {
            bad,
            model: TargetLinear::new(config, schema)?,
            decoder: Linear::new(
                &Scope::root().sub("decoder"),
                hidden,
                i64::from(config.num_classes),
            ),
            extra: Scope::root().param("extra", &[1, 1], Init::Ones),
        })
    }

    fn forward(&self, batch: &Batch, mode: Mode) -> Result<Vec<(String, Tensor)>> {
        if self.bad == "forward-aggregate" {
            // One row where the block has one per source node: the host refuses it.
            for block in batch.blocks(0) {
                block.aggregate(&Tensor::ones(&[1, 3], Dtype::F32), Reduce::Mean);
            }
        }
        if self.bad == "forward-aggregate-many" {
            // Every block of the first layer at once, into both node types of the demo graph:
            // the host refuses blocks into different destination types.
            let blocks = batch.blocks(0);
            let sources: Vec<Tensor> = blocks
                .iter()
                .map(|b| Tensor::ones(&[b.num_src(), 3], Dtype::F32))
                .collect();
            Block::aggregate_many(
                &blocks.iter().collect::<Vec<_>>(),
                &sources.iter().collect::<Vec<_>>(),
                Reduce::Sum,
            );
        }
        if self.bad == "forward-linear" {
            // A weight `[out, in]` whose `in` is not the input's width.
            Tensor::ones(&[4, 3], Dtype::F32).linear(&Tensor::ones(&[2, 5], Dtype::F32), None);
        }
        let outputs = self.model.forward(batch)?;
        if !self.breaks("forward") {
            return Ok(outputs);
        }
        if self.bad == "forward-random" {
            // Well formed, but scaled by a factor from WASI's random source in training: the
            // same seed gives other gradients each run (evaluation stays deterministic).
            if mode != Mode::Train {
                return Ok(outputs);
            }
            use std::hash::BuildHasher;
            let random = std::collections::hash_map::RandomState::new().hash_one(0u8);
            let factor = 1.0 + (random % 1_000) as f64 * 1e-3;
            return Ok(outputs
                .into_iter()
                .map(|(node_type, h)| (node_type, h.mul_scalar(factor)))
                .collect());
        }
        Ok(outputs
            .into_iter()
            .map(|(node_type, h)| {
                let h = match self.bad.as_str() {
                    "forward-width" => {
                        let column = h.narrow(1, 0, 1).mul(&self.extra);
                        Tensor::cat(&[&h, &column], 1)
                    }
                    "forward-rows" => Tensor::cat(&[&h, &h], 0),
                    // Shapes libtorch refuses to broadcast: the host op fails inside libtorch.
                    "forward-op" => h.add(&Tensor::ones(&[1, 3], Dtype::F32)),
                    _ => h.to_dtype(Dtype::I64),
                };
                (node_type, h)
            })
            .collect())
    }

    fn decodes(&self, _task: Task) -> bool {
        self.breaks("decode")
    }

    fn computes_loss(&self, _task: Task) -> bool {
        self.breaks("loss")
    }

    fn decode(
        &self,
        batch: &Batch,
        embeddings: &[(String, Tensor)],
        _mode: Mode,
    ) -> Result<Tensor> {
        if !self.breaks("decode") {
            return Err(Error::not_implemented("the host decodes"));
        }
        let target = batch.target_node_type();
        let (_, h) = embeddings
            .iter()
            .find(|(t, _)| *t == target)
            .ok_or_else(|| Error::invalid_argument("no target embeddings"))?;
        let logits = self.decoder.forward(h);
        Ok(match self.bad.as_str() {
            "decode-rows" => Tensor::cat(&[&logits, &logits], 0),
            "decode-width" => Tensor::cat(&[&logits, &logits.narrow(1, 0, 1)], 1),
            "decode-rank" => logits.sum_dim(1, false),
            "decode-dtype" => logits.to_dtype(Dtype::I64),
            _ => logits,
        })
    }

    fn loss(&self, outputs: &Tensor, labels: &Tensor) -> Result<Tensor> {
        if !self.breaks("loss") {
            return Err(Error::not_implemented("the host computes the loss"));
        }
        // Per node: the mean over the outputs' columns, minus the label, squared.
        let per_node = outputs
            .mean_dim(1, false)
            .sub(&labels.to_dtype(Dtype::F32))
            .pow_scalar(2.0);
        Ok(match self.bad.as_str() {
            "loss-shape" => per_node,
            "loss-dtype" => per_node.mean_dim(0, false).to_dtype(Dtype::I64),
            "loss-constant" => Tensor::zeros(&[], Dtype::F32),
            _ => per_node.mean_dim(0, false),
        })
    }
}

gs_plugin_sdk::export_model!(BadShapes);
