//! gs-batch: the plain types the host hands a plugin, without wasmtime, so that code building
//! batches and model configurations (gs-train, benchmarks, tests) does not depend on the
//! plugin runtime.
//!
//! It owns the mini-batch ([`BatchData`]: layers of [`BlockData`], input features), what a
//! batch handed to `decode` targets ([`DecodeTargets`]), the task and mode, the model
//! configuration ([`ModelConfig`]) and the graph schema ([`GraphSchema`]). gs-runtime wraps
//! them in the `batch` and `block` resources and converts them to the WIT types at the plugin
//! boundary.

mod batch;
mod model;
mod targets;

pub use batch::{BatchData, BlockData, LayerData, aggregate_blocks};
pub use model::{EdgeTypeName, GraphSchema, Mode, ModelConfig, NodeTypeSchema, Task};
pub use targets::{DecodeTargets, LpPairsData, TargetEdgesData};
