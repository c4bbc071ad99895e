//! `rgat`, gs's built-in relational graph attention network with GraphStorm's semantics
//! (`model_encoder_type: rgat`, GraphStorm's `RelationalGATEncoder`): a per-node-type input
//! projection, then `num-layers` `RelationalAttLayer`s. In each layer every edge type has its
//! own DGL `GATConv` (`num_heads` heads of `hidden / num_heads` features, no bias), their
//! outputs are summed per destination node type, then a self-loop and a bias are added; ReLU
//! and dropout between layers, nothing after the last. With `edge_feat_name` an edge type with
//! features uses GraphStorm's `GATConvwithEdgeFeat` instead, and GraphStorm's encoder options
//! (`gnn_norm`, NGNN layers, `out_emb_size`, the input layer's) act as in its
//! `RelationalGATEncoder`. Its weights are named after
//! GraphStorm's state-dict keys, so a GraphStorm `model.bin` maps onto them one to one. This
//! crate's README states the computation op by op and the key mapping.

use std::collections::BTreeMap;

use gs_plugin_sdk::edge_feat::{
    EDGE_FEAT_MP_OP, EDGE_FEAT_NAME, EdgeEncoder, MpOp, graphstorm_etype_key, parse_selection,
};
use gs_plugin_sdk::gat::GatAttentionWeights;
use gs_plugin_sdk::prelude::*;

/// The GraphStorm key for the attention heads (`gsf.rgat.num_heads`, `--num-heads`).
const NUM_HEADS: &str = "num_heads";
/// The GraphStorm key that switches the self-loop term (`use_self_loop`).
const USE_SELF_LOOP: &str = "use_self_loop";
/// DGL's `GATConv(in, out / heads, heads, bias=False)` of one edge type, as GraphStorm builds
/// it: one `fc` for sources and destinations alike.
struct RelationGatConv {
    /// `fc.weight`, `attn_l`, `attn_r`.
    weights: GatAttentionWeights,
    heads: i64,
    head_dim: i64,
}

impl RelationGatConv {
    fn new(scope: &Scope, in_dim: i64, heads: i64, head_dim: i64) -> Self {
        RelationGatConv {
            weights: GatAttentionWeights::new(scope, in_dim, heads, head_dim),
            heads,
            head_dim,
        }
    }

    /// `[num_dst, heads * f]`: for each destination, the attention-weighted sum of its
    /// in-neighbours' projected rows, heads concatenated; 0 without in-edges.
    fn forward(&self, block: &Block, h_src: &Tensor, h_dst: &Tensor) -> Tensor {
        let (heads, f) = (self.heads, self.head_dim);
        let num_dst = block.num_dst();
        let w = self.weights.fc.transpose(0, 1);
        let feat_src = h_src.matmul(&w).reshape(&[-1, heads, f]);
        let feat_dst = h_dst
            .narrow(0, 0, num_dst)
            .matmul(&w)
            .reshape(&[-1, heads, f]);
        // el_u = <feat_src_u, attn_l> and er_v = <feat_dst_v, attn_r>, per head: [N, heads].
        let el = feat_src.mul(&self.weights.attn_l).sum_dim(-1, false);
        let er = feat_dst.mul(&self.weights.attn_r).sum_dim(-1, false);
        let (src, dst) = (block.src(), block.dst());
        let logits = el
            .index_select(0, &src)
            .add(&er.index_select(0, &dst))
            .leaky_relu(gs_plugin_sdk::gat::NEGATIVE_SLOPE);
        // Edge softmax over each destination's in-edges, per head: [E, heads].
        let attention = logits.segment_softmax(&dst, num_dst);
        let messages = feat_src
            .index_select(0, &src)
            .mul(&attention.reshape(&[-1, heads, 1]));
        messages
            .scatter_reduce(&dst, num_dst, Reduce::Sum)
            .reshape(&[num_dst, heads * f])
    }
}

/// GraphStorm's `GATConvwithEdgeFeat` (no bias, as `RelationalAttLayer` builds it) on an edge
/// type with edge features: `m = fc_src(op(h_src[u], e)) ` as `[E, H, f]`, `d = fc_dst(h_dst)`,
/// an attention per head *and feature*, `a = edge-softmax(leaky_relu(m + d[v], 0.2))`, and
/// `out[v] = Σ a · m`. `fc_src.weight` is `[H·f, in·(2 for concat, else 1)]`, `fc_dst.weight`
/// `[H·f, in]`, both Xavier-normal with the ReLU gain.
struct EdgeFeatGatConv {
    fc_src: Tensor,
    fc_dst: Tensor,
    op: MpOp,
    heads: i64,
    head_dim: i64,
}

impl EdgeFeatGatConv {
    fn new(scope: &Scope, op: MpOp, in_dim: i64, heads: i64, head_dim: i64) -> Self {
        let rows = heads * head_dim;
        let src_in = if op == MpOp::Concat {
            2 * in_dim
        } else {
            in_dim
        };
        let weight = |name: &str, shape: [i64; 2]| {
            let init = torch_xavier_normal(&shape, Init::RELU_GAIN);
            scope.sub(name).param("weight", &shape, init)
        };
        EdgeFeatGatConv {
            fc_src: weight("fc_src", [rows, src_in]),
            fc_dst: weight("fc_dst", [rows, in_dim]),
            op,
            heads,
            head_dim,
        }
    }

    fn forward(&self, block: &Block, h_src: &Tensor, h_dst: &Tensor, e: &Tensor) -> Tensor {
        let (heads, f) = (self.heads, self.head_dim);
        let num_dst = block.num_dst();
        let (src, dst) = (block.src(), block.dst());
        let joined = self.op.combine(&h_src.index_select(0, &src), e);
        let messages = joined
            .matmul(&self.fc_src.transpose(0, 1))
            .reshape(&[-1, heads, f]);
        let dst_scores = h_dst
            .narrow(0, 0, num_dst)
            .matmul(&self.fc_dst.transpose(0, 1))
            .reshape(&[-1, heads, f]);
        let logits = messages
            .add(&dst_scores.index_select(0, &dst))
            .leaky_relu(gs_plugin_sdk::gat::NEGATIVE_SLOPE);
        let attention = logits.segment_softmax(&dst, num_dst);
        messages
            .mul(&attention)
            .scatter_reduce(&dst, num_dst, Reduce::Sum)
            .reshape(&[num_dst, heads * f])
    }
}

/// The convolution of one edge type: DGL's `GATConv`, or `GATConvwithEdgeFeat` on an edge
/// type with edge features.
enum RelationConv {
    Plain(RelationGatConv),
    EdgeFeat(EdgeFeatGatConv),
}

/// One `RelationalAttLayer` of GraphStorm.
struct RgatLayer {
    /// The convolution of each edge type, by canonical name (`src:rel:dst`).
    convs: BTreeMap<String, RelationConv>,
    /// `loop_weight` (with `use_self_loop`) and `h_bias`.
    tail: SelfLoopAndBias,
}

impl RgatLayer {
    fn new(
        scope: &Scope,
        edge_types: &[EdgeType],
        heads: i64,
        (in_dim, out_dim): (i64, i64),
        self_loop: bool,
        edge_feats: (&EdgeEncoder, MpOp),
    ) -> Self {
        let mods = scope.sub("conv").sub("mods");
        let convs = edge_types
            .iter()
            .map(|et| {
                // GraphStorm's HeteroGraphConv keys its ModuleDict by `str(canonical etype)`.
                let scope = mods.sub(graphstorm_etype_key(et));
                let (encoder, op) = edge_feats;
                let conv = if encoder.has(&et.canonical_name()) {
                    let conv = EdgeFeatGatConv::new(&scope, op, in_dim, heads, out_dim / heads);
                    RelationConv::EdgeFeat(conv)
                } else {
                    RelationConv::Plain(RelationGatConv::new(
                        &scope,
                        in_dim,
                        heads,
                        out_dim / heads,
                    ))
                };
                (et.canonical_name(), conv)
            })
            .collect();
        let loop_weight = self_loop.then(|| {
            let shape = [in_dim, out_dim];
            scope.param(
                "loop_weight",
                &shape,
                torch_xavier_uniform(&shape, Init::RELU_GAIN),
            )
        });
        RgatLayer {
            convs,
            tail: SelfLoopAndBias {
                loop_weight,
                h_bias: scope.param("h_bias", &[out_dim], Init::Zeros),
                out_dim,
            },
        }
    }

    /// `out[v] = Σ_r GATConv_r(v) + h_v loop_weight + h_bias` for every destination node
    /// type of layer `layer`.
    fn forward(
        &self,
        batch: &Batch,
        layer: u32,
        h: &BTreeMap<String, Tensor>,
        edge_encoder: &EdgeEncoder,
    ) -> Result<BTreeMap<String, Tensor>> {
        let mut out: BTreeMap<String, Tensor> = BTreeMap::new();
        for block in batch.blocks(layer) {
            let edge_type = block.edge_type();
            let Some(conv) = self.convs.get(&edge_type.canonical_name()) else {
                return Err(Error::invalid_argument(format!(
                    "the batch has edge type `{edge_type}`, which the graph schema given to \
                     `init` lacks"
                )));
            };
            let missing = |t: &str| {
                Error::unsupported(format!(
                    "node type `{t}` has no input features, and it is an endpoint of edge type \
                     `{edge_type}` (hint: give it a feature with --node-feat-name)"
                ))
            };
            let h_src = h
                .get(&edge_type.src)
                .ok_or_else(|| missing(&edge_type.src))?;
            let h_dst = h
                .get(&edge_type.dst)
                .ok_or_else(|| missing(&edge_type.dst))?;
            let y = match conv {
                RelationConv::Plain(conv) => conv.forward(&block, h_src, h_dst),
                RelationConv::EdgeFeat(conv) => {
                    let e = edge_encoder.embed(&block)?.ok_or_else(|| {
                        Error::invalid_argument(format!(
                            "the block of edge type `{edge_type}` carries no edge features, \
                             which `edge_feat_name` selects"
                        ))
                    })?;
                    conv.forward(&block, h_src, h_dst, &e)
                }
            };
            let merged = match out.remove(&edge_type.dst) {
                Some(prev) => &prev + &y,
                None => y,
            };
            out.insert(edge_type.dst.clone(), merged);
        }
        self.tail.apply(batch, layer, h, out)
    }
}

/// GraphStorm's `GSNodeEncoderInputLayer` (features only) and `RelationalGATEncoder`.
struct Rgat {
    /// `node_embed.input_projs.<ntype>`, GraphStorm's input layer.
    input_projs: NodeInputLayer,
    layers: Vec<RgatLayer>,
    /// `edge_embed.*`, GraphStorm's edge input layer, for the edge types `edge_feat_name` selects.
    edge_encoder: EdgeEncoder,
    /// What follows each layer: norm, ReLU, NGNN and dropout on the hidden layers, nothing
    /// after the last.
    ends: Vec<HiddenLayerEnd>,
}

impl Model for Rgat {
    fn info() -> Info {
        Info::new("rgat", env!("CARGO_PKG_VERSION"))
            .all_tasks()
            .hyper_param(
                NUM_HEADS,
                "4",
                "GraphStorm key `num_heads` (`gsf.rgat.num_heads`, `--num-heads`): attention \
                 heads of every GATConv; it must divide the hidden size.",
            )
            .hyper_param(
                USE_SELF_LOOP,
                "true",
                "GraphStorm key `use_self_loop` (`--use-self-loop`): add `h_v @ loop_weight` \
                 in every layer.",
            )
            .edge_features(true)
            .encoder_options(EncoderOption::ALL)
    }

    fn init(config: &ModelConfig, schema: &GraphSchema) -> Result<Self> {
        let heads = config.num_heads("rgat", 4)?;
        let self_loop: bool = config.parse_arg(USE_SELF_LOOP, true)?;
        let hidden = config.gnn_hidden_size("rgat")?;
        schema.require_features_at_both_ends("rgat")?;

        let options = EncoderOptions::from_config(config)?;
        options.check_heads("rgat", heads, hidden)?;
        let dropout = f64::from(config.dropout);
        let edge_selection = parse_selection(config.arg_or(EDGE_FEAT_NAME, ""))?;
        let mp_op = MpOp::parse(config.arg_or(EDGE_FEAT_MP_OP, "concat"))?;
        let input_projs = NodeInputLayer::with_options(schema, hidden, &options, dropout);
        let edge_encoder = EdgeEncoder::new(&edge_selection, schema, hidden, &options, dropout)?;
        let gnn = Scope::root().sub("gnn").sub("_layers");
        let layers = (0..config.num_layers)
            .map(|l| {
                RgatLayer::new(
                    &gnn.sub(l),
                    &schema.edge_types,
                    heads,
                    (hidden, options.layer_out_dim(l, config.num_layers, hidden)),
                    self_loop,
                    (&edge_encoder, mp_op),
                )
            })
            .collect();
        let ends =
            HiddenLayerEnd::relational(&gnn, config.num_layers, hidden, &options, schema, dropout);
        gs_plugin_sdk::debug!(
            "rgat: {} layers over {} edge types, hidden size {hidden}, {heads} heads, \
             self-loop {self_loop}",
            config.num_layers,
            schema.edge_types.len()
        );
        Ok(Rgat {
            input_projs,
            layers,
            edge_encoder,
            ends,
        })
    }

    fn forward(&self, batch: &Batch, mode: Mode) -> Result<Vec<(String, Tensor)>> {
        batch.expect_layers(self.layers.len())?;
        let mut h = self.input_projs.forward(batch, batch.src_node_types(0));
        for (l, (layer, end)) in self.layers.iter().zip(&self.ends).enumerate() {
            let out = layer.forward(batch, l as u32, &h, &self.edge_encoder)?;
            h = end.apply_all(out, mode);
        }
        Ok(h.into_iter().collect())
    }
}

gs_plugin_sdk::export_model!(Rgat);
