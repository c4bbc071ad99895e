//! A task model: an encoder (a plugin or the native oracle) plus, unless the plugin
//! decodes itself, the host's built-in decoder and loss.
//!
//! A plugin decodes a task itself when it declares so (`model-capabilities`,
//! `gs:plugin@0.1.1`): node tasks get the target nodes, edge tasks the batch's target edges
//! (`batch.target-edges`), link prediction one edge type's pairs at a time
//! (`batch.lp-pairs`), and every output is checked against the shape `wit/model.wit`
//! documents. A component built against 0.1.0 declares nothing: edge tasks and link
//! prediction then decode on the host (`DenseBiDecoder`/`MLPDecoder`, `lp_decoder_type`), and
//! node tasks find out by calling `decode` once. The same holds for `loss`.

use gs_batch::{BatchData, DecodeTargets, EdgeTypeName, LpPairsData, Mode, TargetEdgesData};
use gs_runtime::PluginInstance;
use gs_tensor::{Kind, ParamStore, Tensor, TensorError};

use crate::batching::TargetEdges;
use crate::decoder::NodeDecoder;
use crate::edge_decoder::EdgeDecoder;
use crate::learnable_embeddings::LearnableEmbeddings;
use crate::loss::NodeLoss;
use crate::lp_decoder::LpDecoder;
use crate::plugin_outputs::{ExpectedOutputs, check_decoded_targets, check_loss};
use crate::{NativeSage, PreparedBatch, TrainError};

/// The host's built-in decoder of a task.
pub(crate) enum HostDecoder {
    /// Node tasks: `EntityClassifier` / `EntityRegression`.
    Node(NodeDecoder),
    /// Edge tasks: `DenseBiDecoder` or `MLPDecoder` over the target edges' endpoints.
    Edge(EdgeDecoder),
    /// Link prediction: a score function over pairs ([`LpDecoder`]).
    Lp(LpDecoder),
}

impl HostDecoder {
    fn params(&self) -> &ParamStore {
        match self {
            HostDecoder::Node(d) => d.params(),
            HostDecoder::Edge(d) => d.params(),
            HostDecoder::Lp(d) => d.params(),
        }
    }

    fn params_mut(&mut self) -> &mut ParamStore {
        match self {
            HostDecoder::Node(d) => d.params_mut(),
            HostDecoder::Edge(d) => d.params_mut(),
            HostDecoder::Lp(d) => d.params_mut(),
        }
    }
}

/// The encoder of a task model.
pub enum Encoder {
    /// A WebAssembly plugin.
    Plugin(Box<PluginInstance>),
    /// The native GraphSAGE oracle with its weights.
    Native {
        model: NativeSage,
        params: ParamStore,
    },
}

impl Encoder {
    fn forward(
        &mut self,
        batch: &BatchData,
        mode: Mode,
    ) -> Result<Vec<(String, Tensor)>, TrainError> {
        match self {
            Encoder::Plugin(p) => Ok(p.forward(batch, mode)?),
            Encoder::Native { model, .. } => Ok(model.forward(batch, mode == Mode::Train)?),
        }
    }

    pub fn params(&self) -> &ParamStore {
        match self {
            Encoder::Plugin(p) => p.params(),
            Encoder::Native { params, .. } => params,
        }
    }

    fn params_mut(&mut self) -> &mut ParamStore {
        match self {
            Encoder::Plugin(p) => p.params_mut(),
            Encoder::Native { params, .. } => params,
        }
    }
}

/// Prefix of encoder weights in checkpoints (GraphStorm's `gnn` section).
const ENCODER_PREFIX: &str = "gnn/";
/// Prefix of decoder weights in checkpoints.
const DECODER_PREFIX: &str = "decoder/";

/// Encoder, decoder and loss of a task, and the host-owned learnable node embeddings the
/// encoder's inputs carry.
pub struct TaskModel {
    encoder: Encoder,
    learnable: LearnableEmbeddings,
    decoder: Option<HostDecoder>,
    loss: NodeLoss,
    /// Whether the plugin computes the loss itself: as it declares (`gs:plugin@0.1.1`), else
    /// `None` until first asked.
    plugin_loss: Option<bool>,
    /// Shapes a plugin's outputs must have.
    expected: ExpectedOutputs,
}

impl TaskModel {
    /// A model whose outputs come from `encoder` and, when given, the host's decoder.
    pub(crate) fn new(
        encoder: Encoder,
        decoder: Option<HostDecoder>,
        loss: NodeLoss,
        expected: ExpectedOutputs,
        learnable: LearnableEmbeddings,
    ) -> Self {
        let plugin_loss = match &encoder {
            Encoder::Plugin(p) => p.task().and_then(|task| p.declares_loss(task)),
            Encoder::Native { .. } => Some(false),
        };
        Self {
            encoder,
            learnable,
            decoder,
            loss,
            plugin_loss,
            expected,
        }
    }

    pub fn encoder(&self) -> &Encoder {
        &self.encoder
    }

    /// The encoder's outputs for `batch`, its inputs extended with the learnable node
    /// embeddings (which collect gradients in training).
    fn encode(
        &mut self,
        batch: &BatchData,
        mode: Mode,
    ) -> Result<Vec<(String, Tensor)>, TrainError> {
        match self.learnable.inputs(batch, mode == Mode::Train)? {
            Some(extended) => self.encoder.forward(&extended, mode),
            None => self.encoder.forward(batch, mode),
        }
    }

    /// Apply the sparse optimizer to the learnable embeddings the last training forward used
    /// (call it after the backward).
    pub(crate) fn step_embeddings(&mut self) -> Result<(), TensorError> {
        self.learnable.step()
    }

    /// Whether the host decodes (the plugin does not).
    pub fn host_decodes(&self) -> bool {
        self.decoder.is_some()
    }

    /// The encoder's embeddings of the batch's target nodes (what `save_embed_path` holds).
    pub fn target_embeddings(&mut self, batch: &BatchData) -> Result<Tensor, TrainError> {
        let target = &batch.target_node_type;
        let embeddings = self.encode(batch, Mode::Eval)?;
        let got: Vec<String> = embeddings.iter().map(|(t, _)| t.clone()).collect();
        embeddings
            .into_iter()
            .find(|(t, _)| t == target)
            .map(|(_, h)| h)
            .ok_or_else(|| {
                TrainError::Config(format!(
                    "the model's `forward` returned embeddings for {got:?} but not for the target node type `{target}`"
                ))
            })
    }

    /// Task outputs (logits or values) for a prepared batch's targets: its nodes, or, for an
    /// edge task, its target edges.
    pub fn batch_outputs(
        &mut self,
        batch: &PreparedBatch,
        mode: Mode,
    ) -> Result<Tensor, TrainError> {
        match &batch.edges {
            Some(edges) => self.edge_outputs(&batch.data, edges, mode),
            None => self.outputs(&batch.data, mode),
        }
    }

    /// Edge-task outputs: the plugin's `decode` over the batch's target edges when it decodes
    /// the task, else the host's edge decoder over the embeddings `forward` returns for the
    /// target edges' endpoint types.
    fn edge_outputs(
        &mut self,
        batch: &BatchData,
        edges: &TargetEdges,
        mode: Mode,
    ) -> Result<Tensor, TrainError> {
        let embeddings = self.encode(batch, mode)?;
        if self.decoder.is_none() {
            let targets = DecodeTargets::Edges(TargetEdgesData {
                etype: EdgeTypeName {
                    src: edges.src_type.clone(),
                    rel: edges.rel.clone(),
                    dst: edges.dst_type.clone(),
                },
                src: edges.src.shallow_clone(),
                dst: edges.dst.shallow_clone(),
            });
            let width = self.expected.width;
            return self.plugin_decode(batch, &targets, &embeddings, width, mode);
        }
        let Some(HostDecoder::Edge(decoder)) = &self.decoder else {
            return Err(TrainError::Config(
                "an edge batch reached a model without the host's edge decoder".into(),
            ));
        };
        let side = |ntype: &str, index: &Tensor| -> Result<Tensor, TrainError> {
            let Some((_, h)) = embeddings.iter().find(|(t, _)| t == ntype) else {
                let got: Vec<&str> = embeddings.iter().map(|(t, _)| t.as_str()).collect();
                return Err(TrainError::Config(format!(
                    "the model's `forward` returned embeddings for {got:?} but not for node type \
                     `{ntype}`, an endpoint type of the target edges; hint: `forward` must return \
                     every destination node type of the last layer"
                )));
            };
            if h.dim() != 2 || h.size()[1] != self.expected.hidden {
                return Err(TrainError::Config(format!(
                    "the model's `forward` returned `{ntype}` embeddings of shape {:?}; the host's \
                     edge decoder expects [nodes, {}] (out_emb_size, else hidden_size)",
                    h.size(),
                    self.expected.hidden
                )));
            }
            Ok(gs_tensor::ops::index_select(h, 0, index)?)
        };
        let h_src = side(&edges.src_type, &edges.src)?;
        let h_dst = side(&edges.dst_type, &edges.dst)?;
        Ok(decoder.forward(&h_src, &h_dst, edges.features.as_ref(), mode == Mode::Train)?)
    }

    /// The encoder's embeddings of every node type it returns, each checked to be
    /// `[nodes, out_emb_size or hidden_size]` (link prediction scores pairs of them).
    pub(crate) fn embeddings(
        &mut self,
        batch: &BatchData,
        mode: Mode,
    ) -> Result<Vec<(String, Tensor)>, TrainError> {
        let embeddings = self.encode(batch, mode)?;
        for (ntype, h) in &embeddings {
            if h.dim() != 2 || h.size()[1] != self.expected.hidden {
                return Err(TrainError::Config(format!(
                    "the model's `forward` returned `{ntype}` embeddings of shape {:?}; the host \
                     expects [nodes, {}] (out_emb_size, else hidden_size)",
                    h.size(),
                    self.expected.hidden
                )));
            }
        }
        Ok(embeddings)
    }

    /// The host's link-prediction decoder, if the model has one (none when the plugin decodes).
    pub(crate) fn lp_decoder(&self) -> Option<&LpDecoder> {
        match &self.decoder {
            Some(HostDecoder::Lp(d)) => Some(d),
            _ => None,
        }
    }

    /// Raw scores of one edge type's pairs, positives `[P]` and negatives `[P, K]`: the host's
    /// score function, or the plugin's `decode` (`[P, 1 + K]`, checked) when it decodes link
    /// prediction. `embeddings` are per node type (normalised as `lp_embed_normalizer` says);
    /// the pairs index their rows.
    pub(crate) fn lp_scores(
        &mut self,
        batch: &BatchData,
        pairs: &LpPairsData,
        embeddings: &[(String, Tensor)],
        mode: Mode,
    ) -> Result<(Tensor, Tensor), TrainError> {
        let (p, k) = (pairs.num_positives(), pairs.negatives_per_positive());
        let Some(decoder) = self.lp_decoder() else {
            let targets = DecodeTargets::Pairs(pairs.shallow_clone());
            let scores = self.plugin_decode(batch, &targets, embeddings, 1, mode)?;
            return Ok((scores.select(1, 0), scores.narrow(1, 1, k)));
        };
        let find = |ntype: &str| -> Result<&Tensor, TrainError> {
            embeddings
                .iter()
                .find(|(t, _)| t == ntype)
                .map(|(_, h)| h)
                .ok_or_else(|| {
                    TrainError::Config(format!(
                        "the model's `forward` returned no embeddings for node type `{ntype}`, \
                         an endpoint type of the target edges; hint: `forward` must return \
                         every destination node type of the last layer"
                    ))
                })
        };
        let et = &pairs.etype;
        let etype = gs_graph::EdgeType::new(&et.src, &et.rel, &et.dst);
        let (hs, hd) = (find(&et.src)?, find(&et.dst)?);
        let pos = decoder.score(
            &etype,
            &hs.index_select(0, &pairs.pos_src),
            &hd.index_select(0, &pairs.pos_dst),
        )?;
        let ns = hs
            .index_select(0, &pairs.neg_src.flatten(0, -1))
            .reshape([p, k, -1]);
        let nd = hd
            .index_select(0, &pairs.neg_dst.flatten(0, -1))
            .reshape([p, k, -1]);
        let neg = decoder.score(&etype, &ns, &nd)?;
        Ok((pos, neg))
    }

    /// The plugin's `decode` over `targets` (target edges or pairs), its output checked to
    /// have the documented shape (`width` columns per target edge).
    fn plugin_decode(
        &mut self,
        batch: &BatchData,
        targets: &DecodeTargets,
        embeddings: &[(String, Tensor)],
        width: i64,
        mode: Mode,
    ) -> Result<Tensor, TrainError> {
        let Encoder::Plugin(p) = &mut self.encoder else {
            return Err(TrainError::Config(
                "a model without the host's decoder has no plugin to decode".into(),
            ));
        };
        let task = p.task().map_or("?", |t| t.as_str());
        let outputs = p.decode(batch, targets, embeddings, mode)?.ok_or_else(|| {
            TrainError::Config(format!(
                "plugin `{}` declares `decode` for task `{task}` but returned `not-implemented`; \
                 hint: implement `decode` for the task, or stop declaring it \
                 (`model-capabilities`)",
                p.info().name
            ))
        })?;
        if let Some(task) = p.task() {
            check_decoded_targets(p, task, targets, width, &outputs)?;
        }
        Ok(outputs)
    }

    /// Whether the plugin computes the loss of the task (as declared in `gs:plugin@0.1.1`).
    pub(crate) fn plugin_declares_loss(&self) -> bool {
        self.plugin_loss == Some(true)
    }

    /// Link prediction's loss by the plugin's `loss`, per edge type of the batch (`outputs`
    /// `[P, 1 + K]`, labels 1 in column 0 and 0 elsewhere), averaged weighted by `P`.
    pub(crate) fn plugin_lp_loss(
        &mut self,
        scores: &[(Tensor, Tensor)],
    ) -> Result<Tensor, TrainError> {
        let mut total: Option<Tensor> = None;
        let mut positives = 0i64;
        for (pos, neg) in scores {
            let outputs = Tensor::cat(&[pos.unsqueeze(1), neg.shallow_clone()], 1);
            let labels = Tensor::cat(&[pos.ones_like().unsqueeze(1), neg.zeros_like()], 1);
            let loss = self.plugin_loss(&outputs, &labels)?;
            let p = pos.size()[0];
            positives += p;
            let weighted = loss.reshape([-1]).sum(Kind::Float) * p as f64;
            total = Some(match total {
                Some(t) => t + weighted,
                None => weighted,
            });
        }
        match total {
            Some(t) => Ok(t / positives.max(1) as f64),
            None => Err(TrainError::Config(
                "a link-prediction batch came without pairs".into(),
            )),
        }
    }

    /// The plugin's `loss`, which it declared for the task: `not-implemented` is an error.
    fn plugin_loss(&mut self, outputs: &Tensor, labels: &Tensor) -> Result<Tensor, TrainError> {
        let Encoder::Plugin(p) = &mut self.encoder else {
            return Err(TrainError::Config(
                "the native model has no plugin loss".into(),
            ));
        };
        let loss = p.loss(outputs, labels)?.ok_or_else(|| {
            TrainError::Config(format!(
                "plugin `{}` declares `loss` for task `{}` but returned `not-implemented`; \
                 hint: implement `loss` for the task, or stop declaring it \
                 (`model-capabilities`)",
                p.info().name,
                p.task().map_or("?", |t| t.as_str())
            ))
        })?;
        check_loss(p, outputs, &loss)?;
        Ok(loss)
    }

    /// Task outputs (logits or values) for the batch's target nodes.
    pub fn outputs(&mut self, batch: &BatchData, mode: Mode) -> Result<Tensor, TrainError> {
        let embeddings = self.encode(batch, mode)?;
        match &self.decoder {
            Some(HostDecoder::Edge(_) | HostDecoder::Lp(_)) => Err(TrainError::Config(
                "an edge or link-prediction model needs the batch's target edges".into(),
            )),
            Some(HostDecoder::Node(decoder)) => {
                let target = &batch.target_node_type;
                let Some((_, h)) = embeddings.iter().find(|(t, _)| t == target) else {
                    let got: Vec<&str> = embeddings.iter().map(|(t, _)| t.as_str()).collect();
                    return Err(TrainError::Config(format!(
                        "the model's `forward` returned embeddings for {got:?} but not for the target node type `{target}`"
                    )));
                };
                if let Encoder::Plugin(p) = &self.encoder {
                    self.expected.check_embeddings(p, batch, h)?;
                }
                Ok(decoder.forward(h)?)
            }
            None => match &mut self.encoder {
                Encoder::Plugin(p) => {
                    let targets = DecodeTargets::Nodes;
                    let outputs =
                        p.decode(batch, &targets, &embeddings, mode)?
                            .ok_or_else(|| {
                                TrainError::Config(
                                    "the plugin stopped decoding after it decoded before".into(),
                                )
                            })?;
                    self.expected.check_decoded(p, batch, &outputs)?;
                    Ok(outputs)
                }
                Encoder::Native { .. } => {
                    unreachable!("native encoders always use the host decoder")
                }
            },
        }
    }

    /// The training loss: the plugin's if it provides one, else the host's for the task.
    pub fn loss(&mut self, outputs: &Tensor, labels: &Tensor) -> Result<Tensor, TrainError> {
        if self.plugin_loss == Some(true) {
            return self.plugin_loss(outputs, labels);
        }
        if self.plugin_loss.is_none() {
            if let Encoder::Plugin(p) = &mut self.encoder
                && let Some(loss) = p.loss(outputs, labels)?
            {
                check_loss(p, outputs, &loss)?;
                self.plugin_loss = Some(true);
                return Ok(loss);
            }
            self.plugin_loss = Some(false);
        }
        Ok(self.loss.compute(outputs, labels)?)
    }

    /// The training batch is done (call it after its backward): a plugin's intermediates stop
    /// counting against its tensor budget ([`PluginInstance::end_batch`]).
    pub fn end_batch(&mut self) {
        if let Encoder::Plugin(p) = &mut self.encoder {
            p.end_batch();
        }
        self.learnable.discard_pending();
    }

    /// What a checkpoint's `model.safetensors` holds: [`Self::named_weights`], the encoder's
    /// buffers, and the learnable embedding tables (`sparse_embed/<ntype>`).
    pub fn checkpoint_weights(&self) -> Vec<(String, Tensor)> {
        let mut out = self.named_weights();
        out.extend(
            self.encoder
                .params()
                .named_buffers()
                .into_iter()
                .map(|(n, t)| (format!("{ENCODER_PREFIX}{n}"), t)),
        );
        out.extend(self.learnable.named_tables());
        out
    }

    /// The sparse optimizer's state, saved beside the dense Adam's.
    pub(crate) fn sparse_optimizer_state(&self) -> Vec<(String, Tensor)> {
        self.learnable.optimizer_state()
    }

    /// Restore the sparse optimizer's state from a checkpoint's optimizer entries.
    pub(crate) fn load_sparse_optimizer_state(
        &mut self,
        saved: &[(String, Tensor)],
    ) -> Result<(), TensorError> {
        self.learnable.load_optimizer_state(saved)
    }

    /// Every dense trainable weight (what Adam updates) with its checkpoint name, encoder first;
    /// no buffers (a plugin's running statistics).
    pub fn named_weights(&self) -> Vec<(String, Tensor)> {
        let mut out: Vec<(String, Tensor)> = self
            .encoder
            .params()
            .named_weights()
            .into_iter()
            .map(|(n, t)| (format!("{ENCODER_PREFIX}{n}"), t))
            .collect();
        if let Some(d) = &self.decoder {
            out.extend(
                d.params()
                    .named_tensors()
                    .into_iter()
                    .map(|(n, t)| (format!("{DECODER_PREFIX}{n}"), t)),
            );
        }
        out
    }

    /// Overwrite the weights of the parts `layers` names (GraphStorm's
    /// `restore_model_layers`, see [`crate::model_layers`]; empty: every part, as
    /// [`Self::load_weights`]) from `saved`, which must hold each of them with its shape; the
    /// other parts keep their values.
    pub fn load_model_layers(
        &mut self,
        saved: &[(String, Tensor)],
        layers: &[String],
    ) -> Result<(), TensorError> {
        if layers.is_empty() {
            return self.load_weights(saved);
        }
        let selected = crate::model_layers::selection(layers);
        let merged: Vec<(String, Tensor)> = self
            .checkpoint_weights()
            .into_iter()
            .map(|(name, current)| {
                if !selected(&name) {
                    return Ok((name, current));
                }
                match saved.iter().find(|(n, _)| *n == name) {
                    Some((_, t)) => Ok((name, t.shallow_clone())),
                    None => Err(TensorError::new(
                        "load",
                        format!(
                            "`restore_model_layers` {layers:?} selects `{name}`, which the \
                             restored model does not hold"
                        ),
                    )),
                }
            })
            .collect::<Result<_, _>>()?;
        self.load_weights(&merged)
    }

    /// Overwrite every weight, learnable embeddings included, from a checkpoint's
    /// `model.safetensors`.
    pub fn load_weights(&mut self, saved: &[(String, Tensor)]) -> Result<(), TensorError> {
        self.take_weights(saved, false)
    }

    /// [`Self::load_weights`] for inference only, without copying: the weights point at
    /// `saved`'s storage, so models served from the same checkpoint share one copy
    /// ([`ParamStore::share_values`]).
    pub fn share_weights(&mut self, saved: &[(String, Tensor)]) -> Result<(), TensorError> {
        self.take_weights(saved, true)
    }

    fn take_weights(&mut self, saved: &[(String, Tensor)], share: bool) -> Result<(), TensorError> {
        self.learnable.load_tables(saved)?;
        let take = |store: &mut ParamStore, values: &[(String, Tensor)]| {
            if share {
                store.share_values(values)
            } else {
                store.load_values(values)
            }
        };
        let part = |prefix: &str| -> Vec<(String, Tensor)> {
            saved
                .iter()
                .filter_map(|(n, t)| {
                    n.strip_prefix(prefix)
                        .map(|n| (n.to_string(), t.shallow_clone()))
                })
                .collect()
        };
        take(self.encoder.params_mut(), &part(ENCODER_PREFIX))?;
        let decoder_part = part(DECODER_PREFIX);
        match &mut self.decoder {
            Some(d) => take(d.params_mut(), &decoder_part),
            None if decoder_part.is_empty() => Ok(()),
            None => Err(TensorError::new(
                "load",
                "the checkpoint has host decoder weights but the plugin decodes itself".to_string(),
            )),
        }
    }
}
