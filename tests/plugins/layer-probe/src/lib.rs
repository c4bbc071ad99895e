//! Test plugin `test-layer-probe`: one layer of the SDK's layer library, chosen by
//! `--layer`, created over the schema in `init` (weights under `probe`) and applied in
//! `forward` to layer 0 of the batch: its blocks and the input features. It returns the
//! layer's output per node type, which `tests/tests/layers.rs` recomputes with tch.
//!
//! - `linear`, `mlp` (`[in, hidden, hidden]`, ReLU, the config's dropout), `layer-norm` and
//!   `dropout` (the config's `dropout`): per node type with features (`probe.<ntype>`), on all
//!   its layer-0 input rows.
//! - `embedding`: per node type (`probe.<ntype>`, `[num_nodes, hidden]`), the rows of the
//!   local source ids of the layer-0 blocks out of that type, concatenated in block order.
//! - `graphconv-both|right|none`: a [`GraphConv`] with bias per edge type
//!   (`probe.<src:rel:dst>`) in a [`HeteroConv`] (sum over edge types).
//! - `sage-pool`, `sage-mean` ([`GraphSageConv`]), `gat` ([`GatConv`], `--heads` heads of
//!   `hidden / heads`, no ReLU), `rgcn-bases` ([`RelGraphConv`] with `--num-bases` bases and
//!   the self-loop), `hgt` ([`HgtLayer::new`], GraphStorm's plain `HGTLayer` with `--heads`
//!   heads, dropout 0): one layer under `probe` over the whole heterogeneous layer.

use std::collections::BTreeMap;

use gs_plugin_sdk::prelude::*;

/// The layers `--layer` accepts.
const LAYERS: &[&str] = &[
    "linear",
    "embedding",
    "sage-pool",
    "sage-mean",
    "graphconv-both",
    "graphconv-right",
    "graphconv-none",
    "gat",
    "rgcn-bases",
    "hgt",
    "mlp",
    "layer-norm",
    "dropout",
];

enum Probe {
    Linear(BTreeMap<String, Linear>),
    Embedding(BTreeMap<String, Embedding>),
    Mlp(BTreeMap<String, Mlp>),
    LayerNorm(BTreeMap<String, LayerNorm>),
    Dropout(f64),
    GraphConv(HeteroConv<GraphConv>),
    Sage(GraphSageConv),
    Gat(GatConv),
    Rgcn(RelGraphConv),
    Hgt(HgtLayer),
}

/// `build(scope, node type, feature width)` for every node type with features.
fn per_node_type<L>(
    schema: &GraphSchema,
    mut build: impl FnMut(&Scope, &NodeType, i64) -> L,
) -> BTreeMap<String, L> {
    let probe = Scope::root().sub("probe");
    schema
        .node_types
        .iter()
        .filter(|t| t.feature_dim > 0)
        .map(|t| {
            let layer = build(&probe.sub(&t.name), t, i64::from(t.feature_dim));
            (t.name.clone(), layer)
        })
        .collect()
}

/// `f(x)` for the layer-0 input features `x` of every node type in `layers`.
fn on_inputs<L>(
    batch: &Batch,
    layers: &BTreeMap<String, L>,
    f: impl Fn(&L, &Tensor) -> Tensor,
) -> Vec<(String, Tensor)> {
    batch
        .src_node_types(0)
        .into_iter()
        .filter_map(|t| {
            let layer = layers.get(&t)?;
            let x = batch.input_features(&t)?;
            Some((t, f(layer, &x)))
        })
        .collect()
}

impl Model for Probe {
    fn info() -> Info {
        Info::new("test-layer-probe", "0.1.0")
            .all_tasks()
            .hyper_param(
                "layer",
                "linear",
                "The SDK layer to apply (see the README).",
            )
            .hyper_param("heads", "2", "Attention heads of `gat` and `hgt`.")
            .hyper_param("num_bases", "2", "Bases of `rgcn-bases`.")
    }

    fn init(config: &ModelConfig, schema: &GraphSchema) -> Result<Self> {
        let layer = config.choice("layer", "linear", LAYERS)?;
        let hidden = i64::from(config.hidden_size);
        let dropout = f64::from(config.dropout);
        let probe = Scope::root().sub("probe");
        // The homogeneous layers share one set of weights: every input is the target's width.
        let in_dim = schema.feature_dim(&config.target_node_type)?;
        Ok(match layer {
            "linear" => Probe::Linear(per_node_type(schema, |s, _, d| Linear::new(s, d, hidden))),
            "embedding" => Probe::Embedding(
                schema
                    .node_types
                    .iter()
                    .map(|t| {
                        let e = Embedding::new(&probe.sub(&t.name), t.num_nodes as i64, hidden);
                        (t.name.clone(), e)
                    })
                    .collect(),
            ),
            "mlp" => Probe::Mlp(per_node_type(schema, |s, _, d| {
                Mlp::with_activation(s, &[d, hidden, hidden], Activation::Relu, dropout)
            })),
            "layer-norm" => Probe::LayerNorm(per_node_type(schema, |s, _, d| LayerNorm::new(s, d))),
            "dropout" => Probe::Dropout(dropout),
            "sage-pool" | "sage-mean" => {
                let aggregator = SageAggregator::from_name(&layer["sage-".len()..])
                    .expect("pool and mean are aggregators");
                Probe::Sage(GraphSageConv::new(&probe, in_dim, hidden, aggregator))
            }
            "gat" => {
                let heads: i64 = config.parse_arg("heads", 2)?;
                Probe::Gat(GatConv::new(&probe, in_dim, heads, hidden / heads, false))
            }
            "hgt" => {
                let heads: i64 = config.parse_arg("heads", 2)?;
                Probe::Hgt(HgtLayer::new(&probe, schema, heads, (in_dim, hidden))?)
            }
            "rgcn-bases" => {
                let bases: i64 = config.parse_arg("num_bases", 2)?;
                Probe::Rgcn(RelGraphConv::new(
                    &probe,
                    &schema.edge_types,
                    Some(bases),
                    (in_dim, hidden),
                    true,
                ))
            }
            graphconv => {
                let norm = GraphConvNorm::from_name(&graphconv["graphconv-".len()..])
                    .expect("both, right and none are norms");
                Probe::GraphConv(HeteroConv::from_fn(&schema.edge_types, hidden, |et| {
                    let in_src = schema.feature_dim(&et.src)?;
                    Ok(GraphConv::new(&probe.sub(et), in_src, hidden, norm, true))
                })?)
            }
        })
    }

    fn forward(&self, batch: &Batch, mode: Mode) -> Result<Vec<(String, Tensor)>> {
        let h: BTreeMap<String, Tensor> = batch
            .src_node_types(0)
            .into_iter()
            .filter_map(|t| batch.input_features(&t).map(|x| (t, x)))
            .collect();
        let out = match self {
            Probe::Linear(layers) => on_inputs(batch, layers, Linear::forward),
            Probe::Mlp(layers) => on_inputs(batch, layers, Mlp::forward),
            Probe::LayerNorm(layers) => on_inputs(batch, layers, LayerNorm::forward),
            Probe::Dropout(p) => h.into_iter().map(|(t, x)| (t, x.dropout(*p))).collect(),
            Probe::Embedding(tables) => {
                let mut ids: BTreeMap<String, Vec<Tensor>> = BTreeMap::new();
                for block in batch.blocks(0) {
                    ids.entry(block.edge_type().src)
                        .or_default()
                        .push(block.src());
                }
                ids.into_iter()
                    .filter_map(|(t, ids)| {
                        let table = tables.get(&t)?;
                        let ids = Tensor::cat(&ids.iter().collect::<Vec<_>>(), 0);
                        Some((t, table.forward(&ids)))
                    })
                    .collect()
            }
            Probe::GraphConv(conv) => conv.forward(batch, 0, &h)?.into_iter().collect(),
            Probe::Sage(conv) => conv.forward(batch, 0, &h, 0.0)?.into_iter().collect(),
            Probe::Gat(conv) => conv.forward(batch, 0, &h, 0.0)?.into_iter().collect(),
            Probe::Rgcn(conv) => conv.forward(batch, 0, &h)?.into_iter().collect(),
            Probe::Hgt(layer) => layer
                .forward(batch, 0, &h, 0.0, mode, None)?
                .into_iter()
                .collect(),
        };
        Ok(out)
    }
}

gs_plugin_sdk::export_model!(Probe);
