//! `custom-gcn`: an example of a custom gs model written with `gs-plugin-sdk` alone, outside
//! gs's built-in plugins. A heterogeneous mean-GCN: per layer, every edge type sends the mean
//! of its source nodes' representations through a weight of its own, every destination node
//! type adds a self-loop linear layer of its own, and `--residual true` adds the layer's input
//! where the widths match. See README.md for how to build and run it.

use std::collections::BTreeMap;

use gs_plugin_sdk::prelude::*;

/// The neighbour half of a layer for one edge type: `mean(h_src over in-edges) @ weight`.
/// Implementing [`Conv`] lets [`HeteroConv`] apply it per edge type and sum per node type.
struct MeanConv {
    fc: Linear,
}

impl Conv for MeanConv {
    fn forward(&self, block: &Block, h_src: &Tensor, _h_dst: &Tensor) -> Tensor {
        // Three host calls over whole tensors, whatever the number of edges: never loop over
        // nodes or edges in a plugin.
        self.fc.forward(&SageConv::aggregate(block, h_src))
    }
}

/// One layer: the per-edge-type neighbour convolutions and a self-loop per node type.
struct Layer {
    neigh: HeteroConv<MeanConv>,
    self_loop: BTreeMap<String, Linear>,
    /// Node types whose input width equals the output width (for the residual).
    same_width: Vec<String>,
}

struct CustomGcn {
    layers: Vec<Layer>,
    /// The optional `decode`: a linear layer from embeddings to task outputs.
    decoder: Linear,
    residual: bool,
    dropout: f64,
}

impl Model for CustomGcn {
    fn info() -> Info {
        Info::new("custom-gcn", env!("CARGO_PKG_VERSION"))
            .task(Task::NodeClassification)
            .task(Task::NodeRegression)
            // `decode` below serves both tasks; the host's loss applies.
            .decodes(Task::NodeClassification)
            .decodes(Task::NodeRegression)
            .hyper_param(
                "residual",
                "false",
                "Add each layer's input to its output where their widths match (true or false).",
            )
    }

    fn init(config: &ModelConfig, schema: &GraphSchema) -> Result<Self> {
        // Validate custom arguments first; errors name the argument and its value.
        let residual = config.parse_arg("residual", false)?;
        if config.num_layers == 0 || config.hidden_size == 0 {
            return Err(Error::invalid_argument(
                "custom-gcn needs num-layers and hidden-size of at least 1",
            ));
        }
        let hidden = i64::from(config.hidden_size);
        // Every node type keeps a self-loop, also one that only sends messages (no edge type
        // points to it): a 2-layer batch still has its nodes as destinations of layer 0.
        let node_types: Vec<&str> = schema.node_types.iter().map(|t| t.name.as_str()).collect();

        // Weights are created here, once, with hierarchical names such as
        // `layers.0.neigh.author:writes:paper.weight` and `layers.1.self.paper.bias`.
        let mut layers = Vec::new();
        for l in 0..config.num_layers {
            let scope = Scope::root().sub("layers").sub(l);
            let in_dim = |node_type: &str| -> Result<i64> {
                if l > 0 {
                    return Ok(hidden);
                }
                match schema.feature_dim(node_type)? {
                    0 => Err(Error::unsupported(format!(
                        "node type `{node_type}` has no input features"
                    ))),
                    dim => Ok(dim),
                }
            };
            let no_bias = LinearConfig {
                bias: false,
                ..LinearConfig::default()
            };
            let neigh = HeteroConv::from_fn(&schema.edge_types, hidden, |edge_type| {
                let fc = Linear::with_config(
                    &scope.sub("neigh").sub(edge_type),
                    in_dim(&edge_type.src)?,
                    hidden,
                    no_bias,
                );
                Ok(MeanConv { fc })
            })?;
            let mut self_loop = BTreeMap::new();
            let mut same_width = Vec::new();
            for &node_type in &node_types {
                let width = in_dim(node_type)?;
                self_loop.insert(
                    node_type.to_owned(),
                    Linear::new(&scope.sub("self").sub(node_type), width, hidden),
                );
                if width == hidden {
                    same_width.push(node_type.to_owned());
                }
            }
            layers.push(Layer {
                neigh,
                self_loop,
                same_width,
            });
        }
        // `num_classes` is 1 for regression.
        let decoder = Linear::new(
            &Scope::root().sub("decoder"),
            hidden,
            i64::from(config.num_classes),
        );
        gs_plugin_sdk::info!("custom-gcn: {} layers, residual {residual}", layers.len());
        Ok(CustomGcn {
            layers,
            decoder,
            residual,
            dropout: f64::from(config.dropout),
        })
    }

    fn forward(&self, batch: &Batch, _mode: Mode) -> Result<Vec<(String, Tensor)>> {
        if batch.num_layers() as usize != self.layers.len() {
            return Err(Error::invalid_argument(format!(
                "the batch has {} layers of blocks, the model {}",
                batch.num_layers(),
                self.layers.len()
            )));
        }
        // Layer 0's inputs: the input features of every source node type.
        let mut h: BTreeMap<String, Tensor> = batch
            .src_node_types(0)
            .into_iter()
            .filter_map(|t| batch.input_features(&t).map(|x| (t, x)))
            .collect();
        for (l, layer) in self.layers.iter().enumerate() {
            let neigh = layer.neigh.forward(batch, l as u32, &h)?;
            let mut out = BTreeMap::new();
            for (node_type, m) in neigh {
                let fc_self = layer.self_loop.get(&node_type).ok_or_else(|| {
                    Error::other(format!(
                        "node type `{node_type}` is not in the schema the model was built for"
                    ))
                })?;
                let h_in = h.get(&node_type).ok_or_else(|| {
                    Error::unsupported(format!(
                        "node type `{node_type}` has no representation in layer {l}"
                    ))
                })?;
                let h_self = h_in.narrow(0, 0, m.size(0));
                let mut y = m + fc_self.forward(&h_self);
                if self.residual && layer.same_width.contains(&node_type) {
                    y = y + &h_self;
                }
                if l + 1 < self.layers.len() {
                    y = y.relu().dropout(self.dropout);
                }
                out.insert(node_type, y);
            }
            h = out;
        }
        Ok(h.into_iter().collect())
    }

    /// Optional, and declared in `info` with `decodes`: without it the host would use its
    /// built-in decoder. Here, a linear layer on the target node type's embeddings. `loss` is
    /// left to the host.
    fn decode(
        &self,
        batch: &Batch,
        embeddings: &[(String, Tensor)],
        _mode: Mode,
    ) -> Result<Tensor> {
        let target = batch.target_node_type();
        let (_, h) = embeddings
            .iter()
            .find(|(node_type, _)| *node_type == target)
            .ok_or_else(|| {
                Error::invalid_argument(format!("no embeddings of the target node type `{target}`"))
            })?;
        Ok(self.decoder.forward(h))
    }
}

gs_plugin_sdk::export_model!(CustomGcn);
