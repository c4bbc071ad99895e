//! `learnable_embed`, gs's built-in encoder of GraphStorm's `model_encoder_type:
//! learnable_embed` (`GSPureLearnableInputLayer`, the knowledge-graph-embedding setting): the
//! embedding of a node is a learnable vector of `hidden-size` values, its own row of a sparse
//! embedding table, and nothing else; node features are not read, and there is no message
//! passing (`num_layers: 0`). The tables belong to the host (gs's learnable node embeddings,
//! saved as `sparse_embed/<ntype>` and updated by DGL's sparse Adam at `sparse_optimizer_lr`),
//! which hands them to the plugin as the nodes' only input: this plugin passes them through,
//! so their gradient reaches the host unchanged. It has no weights of its own.

use gs_plugin_sdk::prelude::*;

/// GraphStorm's `GSPureLearnableInputLayer`: it checks the contract in `init` and returns the
/// host's embeddings as they are.
struct LearnableEmbed {
    /// The graph's node types, in schema order.
    node_types: Vec<String>,
}

impl Model for LearnableEmbed {
    fn info() -> Info {
        Info::new("learnable_embed", env!("CARGO_PKG_VERSION")).all_tasks()
    }

    fn init(config: &ModelConfig, schema: &GraphSchema) -> Result<Self> {
        if config.num_layers != 0 {
            return Err(Error::invalid_argument(format!(
                "`num_layers` is {}; learnable_embed has no message passing, and GraphStorm's \
                 `model_encoder_type: learnable_embed` takes `num_layers: 0` only (hint: set \
                 `num_layers: 0`, or use a GNN encoder with `use_node_embeddings: true`)",
                config.num_layers
            )));
        }
        let hidden = i64::from(config.hidden_size);
        for t in &schema.node_types {
            if i64::from(t.feature_dim) != hidden {
                return Err(Error::invalid_argument(format!(
                    "node type `{}` comes with {} input values, and learnable_embed expects only \
                     its learnable embedding of `hidden-size` {hidden} (the host sends nothing \
                     else under `model_encoder_type: learnable_embed`; with --plugin \
                     learnable_embed, set `model_encoder_type: learnable_embed` too)",
                    t.name, t.feature_dim
                )));
            }
        }
        gs_plugin_sdk::debug!(
            "learnable_embed: embeddings of size {hidden} for {} node types",
            schema.node_types.len()
        );
        Ok(LearnableEmbed {
            node_types: schema.node_types.iter().map(|t| t.name.clone()).collect(),
        })
    }

    fn forward(&self, batch: &Batch, _mode: Mode) -> Result<Vec<(String, Tensor)>> {
        batch.expect_layers(0)?;
        // Without layers the batch's input nodes are its targets: every type in the batch.
        Ok(self
            .node_types
            .iter()
            .filter_map(|t| batch.input_features(t).map(|x| (t.clone(), x)))
            .collect())
    }
}

gs_plugin_sdk::export_model!(LearnableEmbed);
