//! Test plugin `test-edge-decoder`: a model that decodes edge regression and link prediction
//! itself, with the batch targets of `gs:plugin@0.1.1`. Its `forward` embeds every node type
//! with its own linear layer (no message passing); its `decode` scores each of
//! `batch.target_edges()` by the dot product of its endpoints' embeddings plus a learnt bias
//! (`[E, 1]`), and each pair of `batch.lp_pairs()` by the dot product alone (`[P, 1 + K]`). It
//! declares both with `Info::decodes`, so the host calls it instead of its own decoders, and
//! logs the first time it decodes each kind of target in each mode, so a run shows it did.
//!
//! `--decode-shape wide` makes `decode` return one column too many, which the host must refuse
//! naming the plugin, the task and both shapes. `--own-loss true` declares `loss` too: the mean
//! squared error of edge regression, and for link prediction binary cross-entropy over
//! `decode`'s `[P, 1 + K]` scores against the host's labels (1 in column 0).

use std::cell::RefCell;

use gs_plugin_sdk::prelude::*;
use test_plugin_kit::TypeLinears;

/// Every value `--decode-shape` accepts.
const SHAPES: &[&str] = &["right", "wide"];
/// Every value `--own-loss` accepts.
const OWN_LOSS: &[&str] = &["false", "true"];

struct EdgeDecoder {
    embed: TypeLinears,
    /// Added to every edge score: the ratings' mean is learnt here.
    bias: Tensor,
    /// `--decode-shape wide`: one column too many.
    wide: bool,
    /// `--own-loss true`: `loss` is declared and computed here.
    own_loss: bool,
    /// What has been logged: `decode` per kind of target (`edges`, `pairs`) and mode, `loss`.
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

    /// Logs `message` the first time `kind` (`edges` or `pairs` for `decode`, `loss`) runs in
    /// `mode`.
    fn log_once(&self, kind: &'static str, mode: Mode, message: impl FnOnce() -> String) {
        let mut logged = self.logged.borrow_mut();
        if !logged.contains(&(kind, mode)) {
            logged.push((kind, mode));
            let export = if kind == "loss" { "loss" } else { "decode" };
            gs_plugin_sdk::info!("{export} ({}): {}", mode.as_str(), message());
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
            .hyper_param(
                "own-loss",
                "false",
                "whether the plugin computes the loss itself (true or false)",
            )
    }

    fn init(config: &ModelConfig, schema: &GraphSchema) -> Result<Self> {
        let wide = config.choice("decode-shape", "right", SHAPES)? == "wide";
        let own_loss = config.choice("own-loss", "false", OWN_LOSS)? == "true";
        Ok(EdgeDecoder {
            embed: TypeLinears::new(config, schema),
            bias: Scope::root().param("bias", &[1], Init::Zeros),
            wide,
            own_loss,
            logged: RefCell::new(Vec::new()),
        })
    }

    fn computes_loss(&self, _task: Task) -> bool {
        self.own_loss
    }

    /// Edge regression (`[E, 1]` values and labels): the mean squared error. Link prediction
    /// (`[P, 1 + K]` scores, labels 1 for the positives): binary cross-entropy with logits,
    /// `mean(log(1 + e^s) - y·s)`.
    fn loss(&self, outputs: &Tensor, labels: &Tensor) -> Result<Tensor> {
        let columns = outputs.size(1);
        let per_element = if columns == 1 {
            (outputs - labels).pow_scalar(2.0)
        } else {
            outputs.exp().add_scalar(1.0).log() - labels * outputs
        };
        self.log_once("loss", Mode::Train, || {
            format!("loss over {} outputs of {columns} columns", outputs.size(0))
        });
        Ok(per_element.reshape(&[-1]).mean_dim(0, false))
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
