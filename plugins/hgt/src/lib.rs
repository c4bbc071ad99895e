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
//! them one to one. The layer itself is the SDK's [`HgtLayer`] (`gs_plugin_sdk::hgt`). This
//! crate's README states the computation op by op and the key mapping.

use gs_plugin_sdk::edge_feat::{
    EDGE_FEAT_MP_OP, EDGE_FEAT_NAME, EdgeEncoder, MpOp, parse_selection,
};
use gs_plugin_sdk::prelude::*;

/// The GraphStorm key for the attention heads (`gsf.hgt.num_heads`, `--num-heads`).
const NUM_HEADS: &str = "num_heads";
/// GraphStorm's default head count (`GSConfig.num_heads`).
const DEFAULT_HEADS: i64 = 4;

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
                let edge_feats = Some((&edge_encoder, mp_op));
                HgtLayer::with_options(&scope, schema, heads, (hidden, out_dim), end, edge_feats)
            })
            .collect::<Result<Vec<_>>>()?;
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
                mode,
                Some(&self.edge_encoder),
            )?;
        }
        Ok(h.into_iter().collect())
    }
}

gs_plugin_sdk::export_model!(Hgt);
