//! gs-bench: the benchmarks behind `gs bench` (see `BENCHMARKS.md`): the plugin boundary and
//! sampling, each run side by side with what it is compared with, and whole training jobs timed
//! from start to final metrics. It owns the measurement helpers (medians, alternation, process
//! CPU time, peak RSS, the per-phase clock of the training loop), the child processes that
//! isolate measurements, and parses its own subcommand's flags; the `gs` binary only hands it
//! the command and the built-in plugin components.
//!
//! `gs bench plugin-boundary` ([`plugin_boundary`]): the WebAssembly plugin path against the
//! native tch path, side by side in one run.
//!
//! Every comparison alternates the two paths repetition by repetition (which one goes first
//! flips each time) and reports medians, p90 or spread, and ratios plugin/native — see
//! `BENCHMARKS.md` for recorded figures. Four parts:
//!
//! 1. `call`: host→guest export calls that return at once (`loss`, which sage does not
//!    implement, and `forward` on a batch with no layers, which sage rejects).
//! 2. `tiny`/`big`: GraphSAGE forwards on an 8-seed and a 1,024-seed batch, plugin vs the
//!    native oracle with identical weights; the plugin's host calls are counted, so the fixed
//!    overhead per forward divides into a per-op cost.
//! 3. `epoch`: training steps (sampling and prefetch, forward, loss, backward, Adam) through
//!    [`NodeTask::loss_curve`].
//! 4. `alloc`: glibc malloc settings. A process cannot undo `mallopt`, so this part re-runs
//!    this binary as child processes (`GS_MALLOC=default` makes `main` skip its tuning), each
//!    timing the big-batch forward under one setting and printing one JSON line.
//!
//! Parts 2 and 3 compare the plugin's outputs and loss curves with the native path's; the run
//! fails (non-zero exit) unless every comparison is exactly equal, as `BENCHMARKS.md` claims.
//! The hidden `--perturb-plugin` shifts one plugin weight to show the check failing.
//!
//! `gs bench aggregation` ([`aggregation`]) times `block.aggregate` against the
//! `index_select` + `scatter_reduce` pair it replaces, forward and backward.
//!
//! `gs bench sampling` ([`sampling`]) measures neighbour sampling on a graph from disk.
//!
//! `gs bench serve` ([`serve`]) measures real-time inference: per phase in process, the plugin
//! against the native oracle, and over HTTP on loopback with a load generator beside the server.
//!
//! `gs bench plugin-load` ([`plugin_load`]) times a plugin's cold load (compile), warm load
//! (from the cache) and instantiation.
//!
//! `gs bench registry` ([`registry`]) times sharing a plugin: push, pull, sign and verify of
//! a 1 MB and an 18 MB component against a real OCI registry it starts itself and an offline
//! OCI image layout, side by side.
//!
//! `gs bench task` ([`task`]) runs whole jobs as a user runs them, each in a child process
//! ([`task_job`]): a 10-epoch RGCN edge-regression job and a link-prediction job on a generated
//! user–item graph at MovieLens-100K scale, and an epoch of each on a ≥ 1M-node graph. It
//! reports wall time, time per epoch, peak RSS (`VmHWM`), the shares of the training loop's
//! phases (gs-train reports them through `Progress::phase_done` to a [`phase_clock`]) and the
//! final metrics ([`task_report`]).

mod aggregation;
mod alloc;
mod encoders;
mod native_encoders;
mod phase_clock;
mod plugin_boundary;
mod plugin_compare;
mod plugin_load;
mod proc_status;
mod registry;
mod report;
mod sampling;
mod serve;
mod serve_http;
mod serve_payload;
mod task;
mod task_graph;
mod task_job;
mod task_report;

use anyhow::Context;
use clap::Subcommand;

pub use aggregation::AggregationArgs;
pub use encoders::EncodersArgs;
pub use plugin_boundary::PluginBoundary;
pub use plugin_compare::PluginCompareArgs;
pub use plugin_load::PluginLoadArgs;
pub use registry::RegistryBenchArgs;
pub use sampling::SamplingArgs;
pub use serve::ServeBenchArgs;
pub use task::TaskArgs;

/// `gs bench` subcommands.
#[derive(Subcommand)]
pub enum BenchCommand {
    /// The WebAssembly plugin boundary: the built-in `sage` plugin against the native
    /// GraphSAGE oracle (same weights), alternating every repetition; plus glibc malloc
    /// settings, measured in child processes.
    PluginBoundary(PluginBoundary),
    /// Every built-in GNN encoder as a plugin against its native twin (same weights, same
    /// batches), alternating every repetition: time per training step, ratio, host calls.
    Encoders(EncodersArgs),
    /// Neighbour aggregation: `block.aggregate` against `index_select` + `scatter_reduce`,
    /// forward and backward, alternating every repetition.
    Aggregation(AggregationArgs),
    /// Neighbour-sampling throughput on a graph from disk (gs's format or a GraphStorm/DGL
    /// partition), with 1 or more threads.
    Sampling(SamplingArgs),
    /// Whole RGCN jobs timed from start to final metrics: 10-epoch edge regression and link
    /// prediction at MovieLens-100K scale, and an epoch of each on a 1M-node graph; wall
    /// time, time per epoch, peak RSS, the shares of sampling, forward, backward and optimizer.
    Task(TaskArgs),
    /// Real-time inference: an RGCN edge-regression model served in process and over HTTP on
    /// loopback, per phase, against the native oracle, at low load, at throughput and overloaded.
    Serve(ServeBenchArgs),
    /// Getting a plugin ready: cold load (compile), warm load (from the cache) and
    /// instantiation, per component.
    PluginLoad(PluginLoadArgs),
    /// Another GraphSAGE component (the Python `examples/python-sage`) against the built-in
    /// Rust `sage` on the same batches: per-op boundary cost and training epochs, alternating.
    PluginCompare(PluginCompareArgs),
    /// Sharing plugins: push (new and already-there blobs), pull (empty and warm cache), sign
    /// and verify of a 1 MB and an 18 MB component, against a real OCI registry (started here
    /// from --registry-bin) and an offline OCI image layout, alternating every repetition.
    Registry(RegistryBenchArgs),
}

/// Run one benchmark. `builtins` are the built-in plugin components by name: `plugin-boundary`
/// compares `sage` with the native oracle, `encoders` every GNN encoder with its twin, `task`
/// trains `rgcn`, `registry` pads `sage` into the components it shares.
pub fn run(command: BenchCommand, builtins: &[(&str, &'static [u8])]) -> anyhow::Result<()> {
    let builtin = |name: &str| -> anyhow::Result<&'static [u8]> {
        builtins
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, bytes)| *bytes)
            .with_context(|| format!("the built-in `{name}` plugin is missing from this build"))
    };
    match command {
        BenchCommand::PluginBoundary(args) => plugin_boundary::run(&args, builtin("sage")?),
        BenchCommand::Encoders(args) => encoders::run(&args, &builtin),
        BenchCommand::Aggregation(args) => aggregation::run(&args),
        BenchCommand::Sampling(args) => sampling::run(&args),
        BenchCommand::Task(args) => task::run(&args, builtin("rgcn")?),
        BenchCommand::Serve(args) => serve::run(&args),
        BenchCommand::PluginLoad(args) => plugin_load::run(&args, &builtin),
        BenchCommand::PluginCompare(args) => plugin_compare::run(&args, builtin("sage")?),
        BenchCommand::Registry(args) => registry::run(&args, builtin("sage")?),
    }
}
