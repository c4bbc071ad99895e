//! `mlp`, gs's built-in encoder without message passing, with GraphStorm's semantics
//! (`model_encoder_type: mlp`, `num_layers: 0`): the embedding of a node is its input features
//! times its node type's projection, GraphStorm's `GSNodeEncoderInputLayer`: no bias, then,
//! as the options ask, ReLU and dropout (`input_activate: relu`) and NGNN feed-forward layers
//! (`num_ffn_layers_in_input`). Its weights are named after
//! GraphStorm's state-dict keys, so a GraphStorm `model.bin` maps onto them one to one. This
//! crate's README states the computation and the key mapping.

use gs_plugin_sdk::prelude::*;

/// GraphStorm's `GSNodeEncoderInputLayer` over features, as the whole encoder.
struct Mlp {
    /// `node_embed.input_projs.<ntype>`, GraphStorm's input layer.
    input_projs: NodeInputLayer,
}

impl Model for Mlp {
    fn info() -> Info {
        Info::new("mlp", env!("CARGO_PKG_VERSION"))
            .all_tasks()
            .encoder_options(EncoderOption::INPUT_LAYER)
    }

    fn init(config: &ModelConfig, schema: &GraphSchema) -> Result<Self> {
        if config.num_layers != 0 {
            return Err(Error::invalid_argument(format!(
                "`num_layers` is {}; mlp has no message passing, and GraphStorm's \
                 `model_encoder_type: mlp` takes `num_layers: 0` only (hint: set `num_layers: \
                 0` or pass --num-layers 0, or use a GNN encoder such as rgcn)",
                config.num_layers
            )));
        }
        if config.hidden_size == 0 {
            return Err(Error::invalid_argument(
                "mlp needs `hidden-size` of at least 1",
            ));
        }
        let options = EncoderOptions::from_config(config)?;
        if config.dropout != 0.0 && !options.input_relu && options.ffn_layers_in_input == 0 {
            return Err(Error::invalid_argument(format!(
                "`dropout` is {}; GraphStorm's mlp applies dropout only after an \
                 `input_activate` activation or in `num_ffn_layers_in_input` layers, and neither \
                 is set, so it would change nothing (hint: set `dropout: 0`, or \
                 `input_activate: relu`)",
                config.dropout
            )));
        }
        let target = &config.target_node_type;
        if !target.is_empty() && schema.feature_dim(target)? == 0 {
            return Err(Error::unsupported(format!(
                "the target node type `{target}` has no input features; mlp embeds a node \
                 from its features (or learnable embedding) only, and the host sent none"
            )));
        }

        let hidden = i64::from(config.hidden_size);
        let input_projs =
            NodeInputLayer::with_options(schema, hidden, &options, f64::from(config.dropout));
        gs_plugin_sdk::debug!(
            "mlp: input projections of {:?} to hidden size {hidden}",
            input_projs.node_types()
        );
        Ok(Mlp { input_projs })
    }

    fn forward(&self, batch: &Batch, _mode: Mode) -> Result<Vec<(String, Tensor)>> {
        batch.expect_layers(0)?;
        // Without layers the batch's input nodes are its targets: every type with features in
        // the batch is embedded, one matmul per node type.
        let node_types = self.input_projs.node_types().into_iter().map(String::from);
        Ok(self
            .input_projs
            .forward(batch, node_types)
            .into_iter()
            .collect())
    }
}

gs_plugin_sdk::export_model!(Mlp);
