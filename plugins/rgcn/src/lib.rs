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

/// One `RelGraphConvLayer` of GraphStorm: the SDK's [`RelGraphConv`] (relation or basis
/// weights, self-loop, bias), with `GraphConvwithEdgeFeat` on the edge types with features.
struct RgcnLayer {
    conv: RelGraphConv,
    /// `GraphConvwithEdgeFeat` of each edge type with edge features, by canonical name.
    edge_convs: BTreeMap<String, EdgeFeatConv>,
}

impl RgcnLayer {
    fn new(
        scope: &Scope,
        edge_types: &[EdgeType],
        num_bases: Option<i64>,
        (in_dim, out_dim): (i64, i64),
        self_loop: bool,
        edge_feats: &[(EdgeType, MpOp)],
    ) -> Self {
        let conv = RelGraphConv::new(scope, edge_types, num_bases, (in_dim, out_dim), self_loop);
        let edge_convs = edge_feats
            .iter()
            .map(|(et, op)| {
                let conv = EdgeFeatConv::new(scope, et, *op, in_dim, out_dim);
                (et.canonical_name(), conv)
            })
            .collect();
        RgcnLayer { conv, edge_convs }
    }

    /// `out[v] = Σ_r mean_{u∈N_r(v)} h_u W[r] + h_v loop_weight + h_bias` for every
    /// destination node type of layer `layer`; an edge type with edge features uses
    /// GraphConvwithEdgeFeat instead of its relation weight.
    fn forward(
        &self,
        batch: &Batch,
        layer: u32,
        h: &BTreeMap<String, Tensor>,
        edge_encoder: &EdgeEncoder,
    ) -> Result<BTreeMap<String, Tensor>> {
        self.conv.forward_with(batch, layer, h, |block, h_src| {
            let edge_conv = self.edge_convs.get(&block.edge_type().canonical_name());
            Ok(match (edge_conv, edge_encoder.embed(block)?) {
                (Some(conv), Some(e_h)) => Some(conv.forward(block, h_src, &e_h)),
                _ => None,
            })
        })
    }
}

/// GraphStorm's `GSNodeEncoderInputLayer` (features only) and `RelationalGCNEncoder`.
struct Rgcn {
    /// `node_embed.input_projs.<ntype>`, GraphStorm's input layer.
    input_projs: NodeInputLayer,
    layers: Vec<RgcnLayer>,
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
                    &schema.edge_types,
                    bases,
                    (hidden, out_dim),
                    self_loop,
                    &edge_feats,
                )
            })
            .collect();
        let ends =
            HiddenLayerEnd::relational(&gnn, config.num_layers, hidden, &options, schema, dropout);
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
            edge_encoder,
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

gs_plugin_sdk::export_model!(Rgcn);
