//! `rgcn`, gs's built-in relational GCN with GraphStorm's semantics (`model_encoder_type:
//! rgcn`): a per-node-type input projection, then `num-layers` RGCN layers with a weight per
//! relation (or DGL's basis decomposition), a self-loop and a bias; ReLU and dropout between
//! layers, nothing after the last. Its weights are named after GraphStorm's state-dict keys,
//! so a GraphStorm `model.bin` maps onto them one to one. This crate's README states the
//! computation op by op and the key mapping. With `edge_feat_name`, edge features join the
//! messages of their edge types as in GraphStorm (see [`edge_feat`]), and GraphStorm's encoder
//! options (`gnn_norm`, NGNN layers, `out_emb_size`, the input layer's) act as in its
//! `RelationalGCNEncoder`.

mod edge_feat;

use std::collections::BTreeMap;

use gs_plugin_sdk::prelude::*;

use edge_feat::EdgeFeatConv;
use gs_plugin_sdk::edge_feat::{EDGE_FEAT_MP_OP, EDGE_FEAT_NAME, EdgeEncoder, MpOp};

/// The GraphStorm key that chooses the basis decomposition (`gsf.rgcn.num_bases`).
const NUM_BASES: &str = "num_bases";
/// The GraphStorm key that switches the self-loop term (`use_self_loop`).
const USE_SELF_LOOP: &str = "use_self_loop";

/// The relation weights of one layer: one matrix per edge type, or DGL's `WeightBasis`.
enum RelWeights {
    /// `weight` `[num_rels, in, out]`.
    Full(Tensor),
    /// `basis.weight` `[num_bases, in, out]` and `basis.w_comp` `[num_rels, num_bases]`.
    Basis { bases: Tensor, coeff: Tensor },
}

/// One `RelGraphConvLayer` of GraphStorm.
struct RgcnLayer {
    weights: RelWeights,
    /// `GraphConvwithEdgeFeat` of each edge type with edge features, by canonical name.
    edge_convs: BTreeMap<String, EdgeFeatConv>,
    /// `loop_weight` (with `use_self_loop`) and `h_bias`.
    tail: SelfLoopAndBias,
    in_dim: i64,
    out_dim: i64,
}

impl RgcnLayer {
    fn new(
        scope: &Scope,
        num_rels: i64,
        num_bases: Option<i64>,
        in_dim: i64,
        out_dim: i64,
        self_loop: bool,
        edge_feats: &[(EdgeType, MpOp)],
    ) -> Self {
        let weights = match num_bases {
            Some(b) => {
                let basis = scope.sub("basis");
                let shape = [b, in_dim, out_dim];
                RelWeights::Basis {
                    bases: basis.param(
                        "weight",
                        &shape,
                        torch_xavier_uniform(&shape, Init::RELU_GAIN),
                    ),
                    coeff: basis.param(
                        "w_comp",
                        &[num_rels, b],
                        torch_xavier_uniform(&[num_rels, b], Init::RELU_GAIN),
                    ),
                }
            }
            None => {
                let shape = [num_rels, in_dim, out_dim];
                RelWeights::Full(scope.param(
                    "weight",
                    &shape,
                    torch_xavier_uniform(&shape, Init::RELU_GAIN),
                ))
            }
        };
        let loop_weight = self_loop.then(|| {
            let shape = [in_dim, out_dim];
            scope.param(
                "loop_weight",
                &shape,
                torch_xavier_uniform(&shape, Init::RELU_GAIN),
            )
        });
        let edge_convs = edge_feats
            .iter()
            .map(|(et, op)| {
                let conv = EdgeFeatConv::new(scope, et, *op, in_dim, out_dim);
                (et.canonical_name(), conv)
            })
            .collect();
        RgcnLayer {
            weights,
            edge_convs,
            tail: SelfLoopAndBias {
                loop_weight,
                h_bias: scope.param("h_bias", &[out_dim], Init::Zeros),
                out_dim,
            },
            in_dim,
            out_dim,
        }
    }

    /// `[num_rels, in, out]` as DGL's `WeightBasis` computes it: `w_comp @ bases`.
    fn combine_bases(&self, bases: &Tensor, coeff: &Tensor) -> Tensor {
        let (num_bases, num_rels) = (bases.size(0), coeff.size(0));
        coeff.matmul(&bases.reshape(&[num_bases, -1])).reshape(&[
            num_rels,
            self.in_dim,
            self.out_dim,
        ])
    }

    /// `out[v] = Σ_r mean_{u∈N_r(v)} h_u W[r] + h_v loop_weight + h_bias` for every
    /// destination node type of layer `layer`.
    fn forward(
        &self,
        batch: &Batch,
        layer: u32,
        rel_index: &BTreeMap<String, i64>,
        h: &BTreeMap<String, Tensor>,
        edge_encoder: &EdgeEncoder,
    ) -> Result<BTreeMap<String, Tensor>> {
        let combined;
        let weights = match &self.weights {
            RelWeights::Full(w) => w,
            RelWeights::Basis { bases, coeff } => {
                combined = self.combine_bases(bases, coeff);
                &combined
            }
        };
        let mut out: BTreeMap<String, Tensor> = BTreeMap::new();
        for block in batch.blocks(layer) {
            let edge_type = block.edge_type();
            let Some(&r) = rel_index.get(&edge_type.canonical_name()) else {
                return Err(Error::invalid_argument(format!(
                    "the batch has edge type `{edge_type}`, which the graph schema given to \
                     `init` lacks"
                )));
            };
            let Some(h_src) = h.get(&edge_type.src) else {
                return Err(Error::unsupported(format!(
                    "node type `{}` has no input features, and it is a source of edge type \
                     `{edge_type}` (hint: give it a feature with --node-feat-name)",
                    edge_type.src
                )));
            };
            let w = weights
                .narrow(0, r, 1)
                .reshape(&[self.in_dim, self.out_dim]);
            let edge_conv = self.edge_convs.get(&edge_type.canonical_name());
            // DGL's GraphConv(norm='right', weight given): project first when that shrinks
            // the messages, else aggregate first. Mean by in-degree; no in-edge gives 0.
            // An edge type with edge features uses GraphConvwithEdgeFeat instead.
            let y = if let (Some(conv), Some(e_h)) = (edge_conv, edge_encoder.embed(&block)?) {
                conv.forward(&block, h_src, &e_h)
            } else if self.in_dim > self.out_dim {
                block.aggregate(&h_src.matmul(&w), Reduce::Mean)
            } else {
                block.aggregate(h_src, Reduce::Mean).matmul(&w)
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

/// GraphStorm's `GSNodeEncoderInputLayer` (features only) and `RelationalGCNEncoder`.
struct Rgcn {
    /// `node_embed.input_projs.<ntype>`, GraphStorm's input layer.
    input_projs: NodeInputLayer,
    layers: Vec<RgcnLayer>,
    rel_index: BTreeMap<String, i64>,
    /// `edge_embed.input_projs.<etype>` of the edge types with features (`edge_feat_name`).
    edge_encoder: EdgeEncoder,
    /// What follows each layer: norm, ReLU, NGNN and dropout on the hidden layers, nothing
    /// after the last.
    ends: Vec<HiddenLayerEnd>,
}

impl Model for Rgcn {
    fn info() -> Info {
        Info::new("rgcn", env!("CARGO_PKG_VERSION"))
            .all_tasks()
            .hyper_param(
                NUM_BASES,
                "-1",
                "GraphStorm key `num_bases` (`gsf.rgcn.num_bases`, `--num-bases`): basis \
                 matrices shared by the relations; -1, or at least the number of edge types, \
                 gives every edge type its own weight.",
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
        let num_bases: i64 = config.parse_arg(NUM_BASES, -1)?;
        let self_loop: bool = config.parse_arg(USE_SELF_LOOP, true)?;
        let edge_selection =
            gs_plugin_sdk::edge_feat::parse_selection(config.arg_or(EDGE_FEAT_NAME, ""))?;
        let mp_op = MpOp::parse(config.arg_or(EDGE_FEAT_MP_OP, "concat"))?;
        if num_bases == 0 || num_bases < -1 {
            return Err(Error::invalid_argument(format!(
                "`num_bases` is {num_bases}; rgcn takes -1 (a weight per edge type) or a \
                 positive number of bases"
            )));
        }
        let hidden = config.gnn_hidden_size("rgcn")?;
        let options = EncoderOptions::from_config(config)?;
        let dropout = f64::from(config.dropout);
        for edge_type in &schema.edge_types {
            let mut needs = vec![(&edge_type.src, "a source")];
            if self_loop {
                needs.push((&edge_type.dst, "a destination (the self-loop reads it)"));
            }
            for (node_type, role) in needs {
                if schema.feature_dim(node_type)? == 0 {
                    return Err(Error::unsupported(format!(
                        "node type `{node_type}` has no input features and is {role} of edge \
                         type `{edge_type}` (the host gives every node type with nodes its \
                         features or a learnable embedding, so this host sent a schema rgcn \
                         cannot use)"
                    )));
                }
            }
        }

        let num_rels = schema.edge_types.len() as i64;
        let bases = (num_bases > 0 && num_bases < num_rels).then_some(num_bases);
        let input_projs = NodeInputLayer::with_options(schema, hidden, &options, dropout);
        let edge_encoder = EdgeEncoder::new(&edge_selection, schema, hidden, &options, dropout)?;
        let edge_feats: Vec<(EdgeType, MpOp)> = schema
            .edge_types
            .iter()
            .filter(|e| edge_encoder.has(&e.canonical_name()))
            .map(|e| (e.clone(), mp_op))
            .collect();
        let gnn = Scope::root().sub("gnn").sub("_layers");
        let layers = (0..config.num_layers)
            .map(|l| {
                let out_dim = options.layer_out_dim(l, config.num_layers, hidden);
                RgcnLayer::new(
                    &gnn.sub(l),
                    num_rels,
                    bases,
                    hidden,
                    out_dim,
                    self_loop,
                    &edge_feats,
                )
            })
            .collect();
        let ends =
            HiddenLayerEnd::relational(&gnn, config.num_layers, hidden, &options, schema, dropout);
        let rel_index = schema
            .edge_types
            .iter()
            .enumerate()
            .map(|(i, e)| (e.canonical_name(), i as i64))
            .collect();
        gs_plugin_sdk::debug!(
            "rgcn: {} layers over {num_rels} edge types, hidden size {hidden}, bases {:?}, \
             self-loop {self_loop}, edge features on {} edge types ({mp_op:?})",
            config.num_layers,
            bases,
            edge_feats.len()
        );
        Ok(Rgcn {
            input_projs,
            layers,
            ends,
            rel_index,
            edge_encoder,
        })
    }

    fn forward(&self, batch: &Batch, mode: Mode) -> Result<Vec<(String, Tensor)>> {
        batch.expect_layers(self.layers.len())?;
        let mut h = self.input_projs.forward(batch, batch.src_node_types(0));
        for (l, (layer, end)) in self.layers.iter().zip(&self.ends).enumerate() {
            let out = layer.forward(batch, l as u32, &self.rel_index, &h, &self.edge_encoder)?;
            h = end.apply_all(out, mode);
        }
        Ok(h.into_iter().collect())
    }
}

gs_plugin_sdk::export_model!(Rgcn);
