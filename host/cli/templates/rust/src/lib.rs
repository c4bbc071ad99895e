//! `{{name}}`: a gs model plugin, made by `gs plugin new`. A heterogeneous mean-GCN to start
//! from: per layer, every edge type sends the mean of its source nodes' representations
//! through a weight of its own, and every node type adds a self-loop linear layer. The host
//! decodes the target node type's embeddings and computes the loss.

use std::collections::BTreeMap;

use gs_plugin_sdk::prelude::*;

/// The neighbour half of a layer for one edge type: `mean(h_src over in-edges) @ weight`.
struct MeanConv {
    fc: Linear,
}

impl Conv for MeanConv {
    fn forward(&self, block: &Block, h_src: &Tensor, _h_dst: &Tensor) -> Tensor {
        // Each call works on whole tensors in the host: never loop over nodes or edges here.
        self.fc.forward(&SageConv::aggregate(block, h_src))
    }
}

struct Layer {
    neigh: HeteroConv<MeanConv>,
    self_loop: BTreeMap<String, Linear>,
}

struct {{struct}} {
    layers: Vec<Layer>,
    dropout: f64,
}

impl Model for {{struct}} {
    fn info() -> Info {
        Info::new("{{name}}", env!("CARGO_PKG_VERSION"))
            .task(Task::NodeClassification)
            .task(Task::NodeRegression)
    }

    fn init(config: &ModelConfig, schema: &GraphSchema) -> Result<Self> {
        if config.num_layers == 0 || config.hidden_size == 0 {
            return Err(Error::invalid_argument(
                "{{name}} needs num-layers and hidden-size of at least 1",
            ));
        }
        let hidden = i64::from(config.hidden_size);
        let mut layers = Vec::new();
        for l in 0..config.num_layers {
            // Weights get hierarchical names: `layers.0.neigh.author:writes:paper.weight`.
            let scope = Scope::root().sub("layers").sub(l);
            let in_dim = |node_type: &str| -> Result<i64> {
                match (l, schema.feature_dim(node_type)?) {
                    (0, 0) => Err(Error::unsupported(format!(
                        "node type `{node_type}` has no input features"
                    ))),
                    (0, dim) => Ok(dim),
                    _ => Ok(hidden),
                }
            };
            let neigh = HeteroConv::from_fn(&schema.edge_types, hidden, |edge_type| {
                let fc = Linear::with_config(
                    &scope.sub("neigh").sub(edge_type),
                    in_dim(&edge_type.src)?,
                    hidden,
                    LinearConfig {
                        bias: false,
                        ..LinearConfig::default()
                    },
                );
                Ok(MeanConv { fc })
            })?;
            let mut self_loop = BTreeMap::new();
            for node_type in &schema.node_types {
                let name = node_type.name.as_str();
                let fc = Linear::new(&scope.sub("self").sub(name), in_dim(name)?, hidden);
                self_loop.insert(name.to_owned(), fc);
            }
            layers.push(Layer { neigh, self_loop });
        }
        Ok(Self {
            layers,
            dropout: f64::from(config.dropout),
        })
    }

    fn forward(&self, batch: &Batch, _mode: Mode) -> Result<Vec<(String, Tensor)>> {
        // Layer 0's inputs: the input features of every source node type.
        let mut h: BTreeMap<String, Tensor> = batch
            .src_node_types(0)
            .into_iter()
            .filter_map(|t| batch.input_features(&t).map(|x| (t, x)))
            .collect();
        for (l, layer) in self.layers.iter().enumerate() {
            let mut out = BTreeMap::new();
            for (node_type, m) in layer.neigh.forward(batch, l as u32, &h)? {
                let fc_self = layer.self_loop.get(&node_type);
                let (Some(fc_self), Some(h_in)) = (fc_self, h.get(&node_type)) else {
                    return Err(Error::other(format!(
                        "node type `{node_type}` has no representation in layer {l}"
                    )));
                };
                // A block's destination nodes are the first rows of its source nodes.
                let h_self = h_in.narrow(0, 0, m.size(0));
                let mut y = m + fc_self.forward(&h_self);
                if l + 1 < self.layers.len() {
                    y = y.relu().dropout(self.dropout);
                }
                out.insert(node_type, y);
            }
            h = out;
        }
        Ok(h.into_iter().collect())
    }
}

gs_plugin_sdk::export_model!({{struct}});
