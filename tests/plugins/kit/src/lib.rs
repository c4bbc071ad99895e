//! What several test plugins share: a minimal valid model, so a plugin that misbehaves in one
//! export can behave in the others (and train through the real `gs`), an encoder for every
//! node type (for plugins that decode edges), and a busy wait that never calls a `gs:plugin`
//! import, so only the host's epoch deadline can stop it.

use std::time::{Duration, Instant};

use gs_plugin_sdk::prelude::*;

/// One linear layer from the target type's input features to `hidden_size`: embeddings of
/// the right shape for the host's decoder, with a weight for its optimizer.
pub struct TargetLinear {
    linear: Linear,
}

impl TargetLinear {
    /// Creates the layer's weights (call it in `init`).
    pub fn new(config: &ModelConfig, schema: &GraphSchema) -> Result<Self> {
        let in_dim = schema.feature_dim(&config.target_node_type)?;
        let linear = Linear::new(
            &Scope::root().sub("out"),
            in_dim,
            i64::from(config.hidden_size),
        );
        Ok(TargetLinear { linear })
    }

    /// `[targets, hidden_size]` embeddings of the batch's target nodes.
    pub fn forward(&self, batch: &Batch) -> Result<Vec<(String, Tensor)>> {
        let target = batch.target_node_type();
        let last = batch.num_layers().saturating_sub(1);
        let targets = batch.num_dst_nodes(last, &target);
        let features = batch.input_features(&target).ok_or_else(|| {
            Error::invalid_argument(format!("the batch has no features for `{target}`"))
        })?;
        let h = self.linear.forward(&features.narrow(0, 0, targets));
        Ok(vec![(target, h)])
    }
}

/// One linear layer per node type with features, from its input features to `hidden_size`:
/// embeddings of the last layer's destination nodes of every such type (what the endpoints of
/// edge tasks and link prediction need), without message passing.
pub struct TypeLinears {
    linears: Vec<(String, Linear)>,
}

impl TypeLinears {
    /// Creates the layers' weights (call it in `init`).
    pub fn new(config: &ModelConfig, schema: &GraphSchema) -> Self {
        let scope = Scope::root().sub("embed");
        let linears = schema
            .node_types
            .iter()
            .filter(|t| t.feature_dim > 0)
            .map(|t| {
                let linear = Linear::new(
                    &scope.sub(&t.name),
                    i64::from(t.feature_dim),
                    i64::from(config.hidden_size),
                );
                (t.name.clone(), linear)
            })
            .collect();
        TypeLinears { linears }
    }

    /// `[dst nodes, hidden_size]` embeddings of the last layer's destination nodes, per type.
    pub fn forward(&self, batch: &Batch) -> Vec<(String, Tensor)> {
        let last = batch.num_layers().saturating_sub(1);
        self.linears
            .iter()
            .filter_map(|(node_type, linear)| {
                let rows = batch.num_dst_nodes(last, node_type);
                let features = batch.input_features(node_type)?;
                (rows > 0).then(|| {
                    (
                        node_type.clone(),
                        linear.forward(&features.narrow(0, 0, rows)),
                    )
                })
            })
            .collect()
    }
}

/// Spins for `how_long` (`None`: forever), reading only the WASI clock.
pub fn spin(how_long: Option<Duration>) {
    let start = Instant::now();
    let mut spins = 0u64;
    while how_long.is_none_or(|d| start.elapsed() < d) {
        // `black_box` keeps the optimiser from proving the loop useless.
        spins = std::hint::black_box(spins.wrapping_add(1));
    }
}

/// A count or a duration given as a custom argument: a number, or `unbounded`.
pub fn bound(config: &ModelConfig, name: &str) -> Result<Option<u64>> {
    match config.arg_or(name, "unbounded") {
        "unbounded" => Ok(None),
        _ => config.parse_arg(name, 0).map(Some),
    }
}
