//! gs-runtime: the only crate that embeds wasmtime.
//!
//! It loads model plugins (WebAssembly components of the `gs:plugin` WIT package), checks
//! the package version they were built against before running them, compiles them once
//! into a cache keyed by content digest and engine compatibility, and runs their exports
//! inside a sandbox: no filesystem, environment, network or sockets; guest memory capped;
//! tensor handles and host tensor bytes budgeted and checked before allocating; a wall-clock
//! deadline on every export call through epoch interruption. Tensors live on the host in
//! the store's resource table; the plugin holds handles. Any failure of a plugin — a trap,
//! a panic, a blown limit, an error it returns — becomes a [`PluginError`] naming the
//! plugin and the export, and never takes the host down.
//!
//! It knows nothing about tasks, training loops or graphs beyond the batch it hands over.

mod batch;
mod bindings;
mod cache;
mod component;
mod engine;
mod error;
mod host_log;
mod host_tensors;
mod instance;
mod limits;
mod private_fs;
mod state;

pub use batch::{BatchData, BlockData, LayerData};
pub use cache::CacheLocation;
pub use component::{ComponentInfo, Plugin, SUPPORTED_PACKAGE, SUPPORTED_VERSION};
pub use engine::PluginEngine;
pub use error::{PluginError, PluginFailure};
pub use instance::{
    EdgeTypeName, GraphSchema, HyperParam, Mode, ModelConfig, NodeTypeSchema, PluginInfo,
    PluginInstance, Task,
};
pub use limits::PluginLimits;
