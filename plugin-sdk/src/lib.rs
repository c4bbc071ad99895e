//! Write gs model plugins in Rust. This crate owns the guest side of the `gs:plugin` WIT
//! contract: the generated bindings of the `model` world, one trait ([`Model`]) and one macro
//! ([`export_model!`]) for plugin authors, a [`Tensor`] handle with operators, layers with
//! deterministic hierarchical parameter names ([`nn`]: linear, embedding, MLP, DGL's
//! `GraphConv`, heterogeneous convolutions), GraphStorm's attention, GraphSAGE and relational
//! GCN layers with DGL's weight names ([`gat`], [`sage`], [`rgcn`]), its heterogeneous graph
//! transformer layer with its state-dict keys ([`hgt`]), logging into the host's log
//! ([`info!`] and friends) and a panic hook that reports a panic's message before the trap.
//! It knows nothing about the host: everything it does goes through the imported WIT
//! interfaces, and it compiles to `wasm32-wasip2` components.
//!
//! ```no_run
//! use gs_plugin_sdk::prelude::*;
//!
//! struct Mlp { fc: Linear }
//!
//! impl Model for Mlp {
//!     fn info() -> Info {
//!         Info::new("mlp", "0.1.0").task(Task::NodeClassification)
//!     }
//!     fn init(config: &ModelConfig, schema: &GraphSchema) -> Result<Self> {
//!         let in_dim = schema.feature_dim(&config.target_node_type)?;
//!         let fc = Linear::new(&Scope::root().sub("fc"), in_dim, config.hidden_size.into());
//!         Ok(Mlp { fc })
//!     }
//!     fn forward(&self, batch: &Batch, _mode: Mode) -> Result<Vec<(String, Tensor)>> {
//!         let target = batch.target_node_type();
//!         let x = batch.input_features(&target).ok_or_else(|| Error::unsupported("no features"))?;
//!         let n = batch.num_dst_nodes(batch.num_layers() - 1, &target);
//!         Ok(vec![(target, self.fc.forward(&x.narrow(0, 0, n)).relu())])
//!     }
//! }
//!
//! gs_plugin_sdk::export_model!(Mlp);
//! ```
//!
//! Every tensor operation is one call into the host over a whole tensor: use them on whole
//! batches, never per node or per edge.

#![warn(missing_docs)]

/// The wit-bindgen bindings of world `model` (`gs:plugin@0.1.4`), for what the safe types of
/// this crate do not cover. `decode` is skipped here (wit-bindgen cannot lift its
/// `list<tuple<string, borrow<tensor>>>` argument); [`export_model!`] exports it by hand.
#[allow(missing_docs)]
pub mod bindings {
    wit_bindgen::generate!({
        world: "model",
        path: "../wit",
        pub_export_macro: true,
        default_bindings_module: "gs_plugin_sdk::bindings",
        export_macro_name: "__export_model_bindings",
        skip: ["decode"],
        additional_derives: [PartialEq],
        // They hold tensor or block handles, which have no equality.
        additional_derives_ignore: ["target-edges", "lp-pairs", "described-block"],
    });
}

pub mod edge_feat;
pub mod encoder_options;
mod export;
pub mod gat;
mod gat_edge;
mod graph;
pub mod hgt;
mod input_layer;
pub mod log;
mod model;
pub mod nn;
mod panic;
pub mod rgcn;
pub mod sage;
mod targets;
mod tensor;

pub use graph::{Batch, Block, EdgeType, GraphSchema, LayerNodes, NodeType};
pub use input_layer::{NodeInputLayer, SelfLoopAndBias, torch_xavier_uniform};
pub use model::{Error, HyperParam, Info, Mode, Model, ModelConfig, Result, Task};
pub use panic::install_panic_hook;
pub use targets::{LpPairs, PairEmbeddings, TargetEdges, embeddings_of};
pub use tensor::{Dtype, Init, Reduce, Tensor, buffer, param, set_buffer};

/// The `gs:plugin` package version this SDK builds components against: they export
/// `gs:plugin/model-api@` this version and run on every gs whose host supports it (the same
/// `0.MINOR` line, this patch or later).
pub const PACKAGE_VERSION: &str = "0.1.4";

/// The version of this SDK, as `describe` reports it in `sdk-version` and as the component's
/// `gs-plugin-sdk-version` custom section holds it.
pub const SDK_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The name of the custom section in which [`export_model!`] stamps [`SDK_VERSION`].
pub const SDK_VERSION_SECTION: &str = "gs-plugin-sdk-version";

/// Everything a plugin usually needs: `use gs_plugin_sdk::prelude::*;`.
pub mod prelude {
    pub use crate::encoder_options::{
        Activation, BatchNorm, EncoderOption, EncoderOptions, GnnNorm, HiddenLayerEnd, LayerNorm,
        Ngnn, NormKeys,
    };
    pub use crate::gat::{AttentionLayer, GatConv, GatEncoder, GatV2Conv, torch_xavier_normal};
    pub use crate::hgt::HgtLayer;
    pub use crate::nn::{
        Conv, CrossReduce, Embedding, GraphConv, GraphConvNorm, HeteroConv, HeteroSageConv, Linear,
        LinearConfig, Mlp, SageConv, Scope,
    };
    pub use crate::rgcn::{RelGraphConv, RelWeights};
    pub use crate::sage::{GraphSageConv, SageAggregator};
    pub use crate::{
        Batch, Block, Dtype, EdgeType, Error, GraphSchema, Info, Init, LpPairs, Mode, Model,
        ModelConfig, NodeInputLayer, NodeType, Reduce, Result, SelfLoopAndBias, TargetEdges, Task,
        Tensor, embeddings_of, param, torch_xavier_uniform,
    };
}

#[doc(hidden)]
pub mod __private {
    pub use crate::export::*;
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_package_version_is_the_wit_packages() {
        let wit = include_str!("../../wit/model.wit");
        let declared = format!("package gs:plugin@{};", super::PACKAGE_VERSION);
        assert!(
            wit.contains(&declared),
            "wit/model.wit does not declare `{declared}`"
        );
    }
}
