//! gs-runtime: the only crate that embeds wasmtime.
//!
//! It loads model plugins (WebAssembly components of the `gs:plugin` WIT package), checks
//! the package version they were built against before running them, compiles them once
//! into a cache keyed by content digest and engine compatibility (a private folder whose
//! entries carry a keyed BLAKE3 MAC, so it never runs native code it did not write; see
//! [`CacheLocation`]), and runs their exports inside a sandbox ([`PluginLimits`]):
//!
//! - no filesystem, environment, network or sockets (clocks and random numbers only);
//!   the guest's stdout and stderr go to the host's log, tagged and rate-limited;
//! - guest linear memory capped (`--plugin-memory-mb`);
//! - a wall-clock deadline on every export call — `describe`, `capabilities`, `init`,
//!   `forward`, `decode`, `loss` — through epoch interruption (`--plugin-call-timeout`);
//! - tensor handles capped (`--plugin-max-tensors`), below wasmtime's own cap on handles;
//! - host tensor bytes budgeted (`--plugin-tensor-budget-mb`): every tensor op computes the
//!   size of its output from the shapes and is refused before libtorch allocates; in
//!   training every op output stays charged until the batch's backward is done
//!   ([`PluginInstance::end_batch`]), handle or not, because autograd keeps it alive;
//! - a guest stack overflow, trap or panic stops the call.
//!
//! Tensors live on the host in the store's resource table; the plugin holds handles. Any
//! failure of a plugin — a trap, a panic, a blown limit, an error it returns — becomes a
//! [`PluginError`] naming the plugin and the export, with a hint, and never takes the host
//! down; the failed instance refuses further calls.
//!
//! Components built against an earlier patch of the host's `gs:plugin` line (0.1.0 on this
//! 0.1.1 host) link and run unchanged: wasmtime matches their `@0.1.0` imports and exports to
//! the host's `@0.1.1` names, and the exports added since (`model-capabilities`) are looked up
//! one by one and treated as absent ([`PluginInstance::capabilities`]).
//!
//! It knows nothing about tasks, training loops or graphs beyond the batch it hands over
//! and what `decode` targets in it ([`DecodeTargets`]). Those plain types live in gs-batch
//! (no wasmtime) and are re-exported here; this crate wraps them in resources and converts
//! them to the WIT types.

mod batch;
mod bindings;
mod cache;
mod component;
mod engine;
mod error;
mod exports;
mod file_memo;
mod guest_output;
mod host_log;
mod host_tensors;
mod instance;
mod limits;
mod private_fs;
mod state;
mod targets;

pub use cache::CacheLocation;
pub use component::{
    ComponentInfo, METADATA_SECTION, Plugin, SDK_VERSION_SECTION, SUPPORTED_PACKAGE,
    SUPPORTED_VERSION,
};
pub use engine::PluginEngine;
pub use error::{PluginError, PluginFailure};
pub use file_memo::SETTLED as RECORDS_AFTER;
pub use gs_batch::{
    BatchData, BlockData, DecodeTargets, EdgeTypeName, GraphSchema, LayerData, LpPairsData, Mode,
    ModelConfig, NodeTypeSchema, TargetEdgesData, Task,
};
pub use instance::{HyperParam, PluginCapabilities, PluginInfo, PluginInstance};
pub use limits::PluginLimits;
