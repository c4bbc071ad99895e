//! Test plugin `test-edge-decoder`: a model that decodes edge regression and link prediction
//! itself, with the batch targets of `gs:plugin@0.1.1`. Its `forward` embeds every node type
//! with its own linear layer (no message passing); its `decode` scores each of
//! `batch.target_edges()` by the dot product of its endpoints' embeddings plus a learnt bias
//! (`[E, 1]`), and each pair of `batch.lp_pairs()` by the dot product alone (`[P, 1 + K]`). It
//! declares both with `Info::decodes`, so the host calls it instead of its own decoders, and
//! logs the first time it decodes each kind of target in each mode, so a run shows it did.
//!
//! `--decode-shape wide` makes `decode` return one column too many, which the host must refuse
//! naming the plugin, the task and both shapes.

use std::cell::RefCell;

use gs_plugin_sdk::prelude::*;
use test_plugin_kit::TypeLinears;

/// Every value `--decode-shape` accepts.
const SHAPES: &[&str] = &["right", "wide"];

struct EdgeDecoder {
    embed: TypeLinears,
    /// Added to every edge score: the ratings' mean is learnt here.
    bias: Tensor,
    /// `--decode-shape wide`: one column too many.
    wide: bool,
    /// The kinds of target (`edges`, `pairs`) and modes `decode` has logged for.
    logged: RefCell<Vec<(&'static str, Mode)>>,
}

impl EdgeDecoder {
    /// `scores` with one column too many under `--decode-shape wide`.
    fn shaped(&self, scores: Tensor) -> Tensor {
        if self.wide {
            Tensor::cat(&[&scores, &scores.narrow(1, 0, 1)], 1)
        } else {
            scores
        }
    }

    /// Logs `message` the first time `decode` decodes `kind` in `mode`.
    fn log_once(&self, kind: &'static str, mode: Mode, message: impl FnOnce() -> String) {
        let mut logged = self.logged.borrow_mut();
        if !logged.contains(&(kind, mode)) {
            logged.push((kind, mode));
            gs_plugin_sdk::info!("decode ({}): {}", mode.as_str(), message());
        }
    }
}

impl Model for EdgeDecoder {
    fn info() -> Info {
        Info::new("test-edge-decoder", "0.1.0")
            .task(Task::EdgeRegression)
            .task(Task::LinkPrediction)
            .decodes(Task::EdgeRegression)
            .decodes(Task::LinkPrediction)
            .hyper_param(
                "decode-shape",
                "right",
                "the shape `decode` returns: right, or wide (one column too many)",
            )
    }

    fn init(config: &ModelConfig, schema: &GraphSchema) -> Result<Self> {
        let wide = config.choice("decode-shape", "right", SHAPES)? == "wide";
        Ok(EdgeDecoder {
            embed: TypeLinears::new(config, schema),
            bias: Scope::root().param("bias", &[1], Init::Zeros),
            wide,
            logged: RefCell::new(Vec::new()),
        })
    }

    fn forward(&self, batch: &Batch, _mode: Mode) -> Result<Vec<(String, Tensor)>> {
        Ok(self.embed.forward(batch))
    }

    fn decode(&self, batch: &Batch, embeddings: &[(String, Tensor)], mode: Mode) -> Result<Tensor> {
        if let Some(edges) = batch.target_edges() {
            let (h_src, h_dst) = edges.endpoint_embeddings(embeddings)?;
            let scores = (&h_src * &h_dst).sum_dim(1, true) + &self.bias;
            self.log_once("edges", mode, || {
                format!(
                    "dot product of the endpoints of {} target edges of {}",
                    edges.len(),
                    edges.edge_type
                )
            });
            return Ok(self.shaped(scores));
        }
        if let Some(pairs) = batch.lp_pairs() {
            let pair = pairs.pair_embeddings(embeddings)?;
            let scores = (&pair.src * &pair.dst).sum_dim(2, false);
            self.log_once("pairs", mode, || {
                format!(
                    "dot product of {} positive pairs of {} and {} negatives each",
                    pairs.num_positives(),
                    pairs.edge_type,
                    pairs.negatives_per_positive()
                )
            });
            return Ok(self.shaped(scores));
        }
        Err(Error::invalid_argument(
            "`decode` got a batch with neither target edges nor link-prediction pairs",
        ))
    }
}

gs_plugin_sdk::export_model!(EdgeDecoder);
