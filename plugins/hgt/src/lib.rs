//! `hgt`, gs's built-in heterogeneous graph transformer with GraphStorm's semantics
//! (`model_encoder_type: hgt`, GraphStorm's `HGTEncoder`): a per-node-type input projection,
//! then `num-layers` `HGTLayer`s. In each layer every node type has its own key, query, value
//! and output (`a`) linear layers and a learnt skip gate, and every edge type its own
//! attention and message matrices per head and a prior per head. Each edge type attends over
//! each destination's in-edges; the edge types into a node type are averaged (DGL's
//! `cross_reducer="mean"`), gated against `a(h)`, and passed through ReLU, after the last layer
//! too. With `edge_feat_name` every layer is GraphStorm's `HGTLayerwithEdgeFeat` (edge
//! embeddings join the keys and values of their edge types), and GraphStorm's encoder options
//! (`gnn_norm`, NGNN layers, `out_emb_size`, the input layer's) act as in its `HGTEncoder`. Its
//! weights are named after GraphStorm's state-dict keys, so a GraphStorm `model.bin` maps onto
//! them one to one. This crate's README states the computation op by op and the key mapping.

use std::collections::BTreeMap;

use gs_plugin_sdk::edge_feat::{
    EDGE_FEAT_MP_OP, EDGE_FEAT_NAME, EdgeEncoder, MpOp, parse_selection,
};
use gs_plugin_sdk::prelude::*;

/// The GraphStorm key for the attention heads (`gsf.hgt.num_heads`, `--num-heads`).
const NUM_HEADS: &str = "num_heads";
/// GraphStorm's default head count (`GSConfig.num_heads`).
const DEFAULT_HEADS: i64 = 4;

/// A `torch.nn.Linear(in, out)`: `weight` `[out, in]` applied as `x @ weightᵀ + bias`, both
/// drawn from `U(-1/√in, 1/√in)` as torch's `reset_parameters` does.
struct TorchLinear {
    weight: Tensor,
    bias: Tensor,
}

impl TorchLinear {
    fn new(scope: &Scope, in_dim: i64, out_dim: i64) -> Self {
        let bound = 1.0 / (in_dim as f64).sqrt();
        TorchLinear {
            weight: scope.param("weight", &[out_dim, in_dim], Init::Uniform((-bound, bound))),
            bias: scope.param("bias", &[out_dim], Init::Uniform((-bound, bound))),
        }
    }

    fn forward(&self, x: &Tensor) -> Tensor {
        &x.matmul(&self.weight.transpose(0, 1)) + &self.bias
    }
}

/// The parameters of one node type in one layer.
struct NodeParams {
    k: TorchLinear,
    q: TorchLinear,
    v: TorchLinear,
    a: TorchLinear,
    /// `skip` `[1]`: the gate is `σ(skip)`.
    skip: Tensor,
}

/// The parameters of one edge type in one layer.
struct RelationParams {
    /// `relation_pri` `[heads]`.
    pri: Tensor,
    /// `relation_att` and `relation_msg` `[heads, dk, dk]`.
    att: Tensor,
    msg: Tensor,
}

/// `x` `[N, heads, dk]` times `w[i]` `[dk, dk]` head by head (`einsum("bij,ijk->bik")`).
fn per_head(x: &Tensor, w: &Tensor) -> Tensor {
    x.transpose(0, 1).matmul(w).transpose(0, 1)
}

/// One `HGTLayer` of GraphStorm (no norm, no feed-forward layers, no edge features).
struct HgtLayer {
    /// Per node type, by name (GraphStorm builds them for every node type of the graph).
    nodes: BTreeMap<String, NodeParams>,
    /// Per edge type, by canonical name (`src:rel:dst`).
    relations: BTreeMap<String, RelationParams>,
    /// The number of edge types of the graph schema into each node type: what DGL's
    /// `cross_reducer="mean"` divides by, whether or not a batch has edges of each.
    relations_into: BTreeMap<String, usize>,
    /// Norm (`norms.<ntype>`, with `gnn_norm`), ReLU and, on hidden layers, NGNN.
    end: HiddenLayerEnd,
    /// `ef_linears.<src_rel_dst>` of the edge types with features, with `edge_feat_mp_op:
    /// concat` (the other ops join the edge embedding to the source features).
    ef_linears: BTreeMap<String, TorchLinear>,
    op: MpOp,
    heads: i64,
    head_dim: i64,
    out_dim: i64,
}

impl HgtLayer {
    fn new(
        scope: &Scope,
        schema: &GraphSchema,
        heads: i64,
        (in_dim, out_dim): (i64, i64),
        end: HiddenLayerEnd,
        (edge_encoder, op): (&EdgeEncoder, MpOp),
    ) -> Self {
        let head_dim = out_dim / heads;
        let nodes = schema
            .node_types
            .iter()
            .map(|t| {
                let linear =
                    |name: &str| TorchLinear::new(&scope.sub(name).sub(&t.name), in_dim, out_dim);
                let params = NodeParams {
                    k: linear("k_linears"),
                    q: linear("q_linears"),
                    v: linear("v_linears"),
                    a: linear("a_linears"),
                    skip: scope.sub("skip").param(&t.name, &[1], Init::Ones),
                };
                (t.name.clone(), params)
            })
            .collect();
        let matrix = [heads, head_dim, head_dim];
        let mut relations = BTreeMap::new();
        let mut relations_into: BTreeMap<String, usize> = BTreeMap::new();
        for et in &schema.edge_types {
            // GraphStorm's ParameterDicts key an edge type by `'_'.join(canonical etype)`.
            let key = format!("{}_{}_{}", et.src, et.rel, et.dst);
            let params = RelationParams {
                pri: scope.sub("relation_pri").param(&key, &[heads], Init::Ones),
                att: scope.sub("relation_att").param(
                    &key,
                    &matrix,
                    torch_xavier_uniform(&matrix, 1.0),
                ),
                msg: scope.sub("relation_msg").param(
                    &key,
                    &matrix,
                    torch_xavier_uniform(&matrix, 1.0),
                ),
            };
            relations.insert(et.canonical_name(), params);
            *relations_into.entry(et.dst.clone()).or_default() += 1;
        }
        // HGTLayerwithEdgeFeat keys these by `'_'.join(canonical etype)`, as the relations.
        let ef_linears = schema
            .edge_types
            .iter()
            .filter(|et| op == MpOp::Concat && edge_encoder.has(&et.canonical_name()))
            .map(|et| {
                let key = format!("{}_{}_{}", et.src, et.rel, et.dst);
                let linear = TorchLinear::new(&scope.sub("ef_linears").sub(key), in_dim, out_dim);
                (et.canonical_name(), linear)
            })
            .collect();
        HgtLayer {
            nodes,
            relations,
            relations_into,
            end,
            ef_linears,
            op,
            heads,
            head_dim,
            out_dim,
        }
    }

    fn node_params(&self, node_type: &str) -> Result<&NodeParams> {
        self.nodes.get(node_type).ok_or_else(|| {
            Error::invalid_argument(format!(
                "the batch has node type `{node_type}`, which the graph schema given to `init` \
                 lacks"
            ))
        })
    }

    /// The keys and values `[E, heads, dk]` of the edges of `edge_type` with edge embeddings
    /// `e`, as `HGTLayerwithEdgeFeat` computes them from the edges' source features `h_src`:
    /// with concat `k(h_src) + ef(e)` and `v(h_src) + ef(e)`, else `k(h_src op e)` and
    /// `v(h_src op e)`.
    fn edge_keys(
        &self,
        src_type: &str,
        edge_type: &EdgeType,
        h_src: &Tensor,
        e: &Tensor,
    ) -> Result<(Tensor, Tensor)> {
        let params = self.node_params(src_type)?;
        let shape = [-1, self.heads, self.head_dim];
        let (k, v) = match self.ef_linears.get(&edge_type.canonical_name()) {
            Some(ef) => {
                let ef = ef.forward(e);
                (
                    &params.k.forward(h_src) + &ef,
                    &params.v.forward(h_src) + &ef,
                )
            }
            None => {
                let joined = self.op.combine(h_src, e);
                (params.k.forward(&joined), params.v.forward(&joined))
            }
        };
        Ok((k.reshape(&shape), v.reshape(&shape)))
    }

    /// `relu(t·σ(skip) + a(h_v)·(1 − σ(skip)))` for every destination node type of layer
    /// `layer`, `t` the mean over the schema's edge types into the type of each one's
    /// attention-weighted messages.
    fn forward(
        &self,
        batch: &Batch,
        layer: u32,
        h: &BTreeMap<String, Tensor>,
        dropout: f64,
        (edge_encoder, mode): (&EdgeEncoder, Mode),
    ) -> Result<BTreeMap<String, Tensor>> {
        let (heads, dk) = (self.heads, self.head_dim);
        let features = |t: &str, edge_type: &EdgeType| {
            h.get(t).ok_or_else(|| {
                Error::unsupported(format!(
                    "node type `{t}` has no input features, and it is an endpoint of edge type \
                     `{edge_type}` (hint: give it a feature with --node-feat-name)"
                ))
            })
        };
        // Keys, values and queries of a node type do not depend on the edge type: computed
        // once per layer, as `[N, heads, dk]`.
        let mut keys: BTreeMap<String, (Tensor, Tensor)> = BTreeMap::new();
        let mut queries: BTreeMap<String, Tensor> = BTreeMap::new();
        let mut summed: BTreeMap<String, Tensor> = BTreeMap::new();
        let scale = Tensor::from_f32(&[(dk as f32).sqrt()], &[1]);
        for block in batch.blocks(layer) {
            let edge_type = block.edge_type();
            let Some(relation) = self.relations.get(&edge_type.canonical_name()) else {
                return Err(Error::invalid_argument(format!(
                    "the batch has edge type `{edge_type}`, which the graph schema given to \
                     `init` lacks"
                )));
            };
            let (s, d) = (&edge_type.src, &edge_type.dst);
            let num_dst = block.num_dst();
            if !queries.contains_key(d) {
                let (params, x) = (self.node_params(d)?, features(d, &edge_type)?);
                let n = batch.num_dst_nodes(layer, d);
                queries.insert(
                    d.clone(),
                    params
                        .q
                        .forward(&x.narrow(0, 0, n))
                        .reshape(&[-1, heads, dk]),
                );
            }
            let (src, dst) = (block.src(), block.dst());
            // Every edge's key and value `[E, heads, dk]` after the relation's matrices.
            let (k, v) = match edge_encoder.embed(&block)? {
                Some(e) => {
                    let (k, v) = self.edge_keys(
                        s,
                        &edge_type,
                        &features(s, &edge_type)?.index_select(0, &src),
                        &e,
                    )?;
                    (per_head(&k, &relation.att), per_head(&v, &relation.msg))
                }
                None => {
                    if !keys.contains_key(s) {
                        let (params, x) = (self.node_params(s)?, features(s, &edge_type)?);
                        let k = params.k.forward(x).reshape(&[-1, heads, dk]);
                        let v = params.v.forward(x).reshape(&[-1, heads, dk]);
                        keys.insert(s.clone(), (k, v));
                    }
                    let (k, v) = &keys[s];
                    let k = per_head(k, &relation.att).index_select(0, &src);
                    let v = per_head(v, &relation.msg).index_select(0, &src);
                    (k, v)
                }
            };
            let q = &queries[d];
            // score[e, i] = <q_dst, k'_src>_i · pri[i] / √dk, softmax over each dst's in-edges.
            let score = q
                .index_select(0, &dst)
                .mul(&k)
                .sum_dim(-1, false)
                .mul(&relation.pri)
                .div(&scale);
            let attention = score.segment_softmax(&dst, num_dst);
            let messages = v.mul(&attention.reshape(&[-1, heads, 1])).scatter_reduce(
                &dst,
                num_dst,
                Reduce::Sum,
            );
            let merged = match summed.remove(d) {
                Some(prev) => &prev + &messages,
                None => messages,
            };
            summed.insert(d.clone(), merged);
        }

        let mut out = BTreeMap::new();
        for (t, n) in batch.dst_node_counts(layer) {
            let params = self.node_params(&t)?;
            let Some(x) = h.get(&t) else {
                return Err(Error::unsupported(format!(
                    "node type `{t}` has no input features, and HGT's output gate needs them \
                     (hint: give it a feature with --node-feat-name)"
                )));
            };
            let alpha = params.skip.sigmoid();
            let beta = alpha.neg().add_scalar(1.0);
            let skip = params.a.forward(&x.narrow(0, 0, n));
            let transformed = match self.relations_into.get(&t) {
                // As DGL's `multi_update_all(..., cross_reducer="mean")`: every edge type into
                // `t` counts, an edge type without edges in this batch contributing zeros.
                Some(&count) => {
                    let total = summed
                        .remove(&t)
                        .unwrap_or_else(|| Tensor::zeros(&[n, heads, dk], Dtype::F32));
                    let mean = total.div(&Tensor::from_f32(&[count as f32], &[1]));
                    mean.reshape(&[n, self.out_dim]).dropout(dropout)
                }
                // No edge type into `t` at all: GraphStorm's pseudo self-loop, `a(h)` on both
                // sides of the gate.
                None => skip.dropout(dropout),
            };
            let gated = &transformed.mul(&alpha) + &skip.mul(&beta);
            let y = self.end.apply(&t, gated, mode);
            out.insert(t, y);
        }
        Ok(out)
    }
}

/// GraphStorm's `GSNodeEncoderInputLayer` (features only) and `HGTEncoder`.
struct Hgt {
    /// `node_embed.input_projs.<ntype>`, GraphStorm's input layer.
    input_projs: NodeInputLayer,
    /// `edge_embed.*`, GraphStorm's edge input layer, for the edge types `edge_feat_name` selects.
    edge_encoder: EdgeEncoder,
    layers: Vec<HgtLayer>,
    dropout: f64,
}

impl Model for Hgt {
    fn info() -> Info {
        Info::new("hgt", env!("CARGO_PKG_VERSION"))
            .all_tasks()
            .hyper_param(
                NUM_HEADS,
                "4",
                "GraphStorm key `num_heads` (`gsf.hgt.num_heads`, `--num-heads`): attention \
                 heads of every HGT layer; it must divide the hidden size.",
            )
            .edge_features(true)
            .encoder_options(EncoderOption::ALL)
    }

    fn init(config: &ModelConfig, schema: &GraphSchema) -> Result<Self> {
        let heads = config.num_heads("hgt", DEFAULT_HEADS)?;
        let hidden = config.gnn_hidden_size("hgt")?;
        schema.require_features_at_both_ends("hgt")?;

        let options = EncoderOptions::from_config(config)?;
        options.check_heads("hgt", heads, hidden)?;
        let dropout = f64::from(config.dropout);
        let edge_selection = parse_selection(config.arg_or(EDGE_FEAT_NAME, ""))?;
        let mp_op = MpOp::parse(config.arg_or(EDGE_FEAT_MP_OP, "concat"))?;
        let input_projs = NodeInputLayer::with_options(schema, hidden, &options, dropout);
        let edge_encoder = EdgeEncoder::new(&edge_selection, schema, hidden, &options, dropout)?;
        let gnn = Scope::root().sub("gnn").sub("_layers");
        let node_types: Vec<String> = schema.node_types.iter().map(|t| t.name.clone()).collect();
        let layers = (0..config.num_layers)
            .map(|l| {
                let scope = gnn.sub(l);
                let out_dim = options.layer_out_dim(l, config.num_layers, hidden);
                // GraphStorm's last HGTLayer keeps the norm and ReLU, without NGNN layers (with
                // edge features, its last HGTLayerwithEdgeFeat has them too).
                let is_last = l + 1 == config.num_layers;
                let ffn = if is_last && edge_selection.is_empty() {
                    0
                } else {
                    options.ffn_layers_in_gnn
                };
                let norm = options
                    .norm
                    .map(|kind| (kind, NormKeys::PerNodeType("norms", &node_types)));
                let end = HiddenLayerEnd::new(
                    &scope,
                    out_dim,
                    norm,
                    Some(Activation::Relu),
                    ffn,
                    dropout,
                )
                .without_dropout();
                let edge_feats = (&edge_encoder, mp_op);
                HgtLayer::new(&scope, schema, heads, (hidden, out_dim), end, edge_feats)
            })
            .collect();
        gs_plugin_sdk::debug!(
            "hgt: {} layers over {} node types and {} edge types, hidden size {hidden}, \
             {heads} heads",
            config.num_layers,
            schema.node_types.len(),
            schema.edge_types.len()
        );
        Ok(Hgt {
            input_projs,
            edge_encoder,
            layers,
            dropout,
        })
    }

    fn forward(&self, batch: &Batch, mode: Mode) -> Result<Vec<(String, Tensor)>> {
        batch.expect_layers(self.layers.len())?;
        let mut h = self.input_projs.forward(batch, batch.src_node_types(0));
        for (l, layer) in self.layers.iter().enumerate() {
            h = layer.forward(
                batch,
                l as u32,
                &h,
                self.dropout,
                (&self.edge_encoder, mode),
            )?;
        }
        Ok(h.into_iter().collect())
    }
}

gs_plugin_sdk::export_model!(Hgt);
