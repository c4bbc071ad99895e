//! gs-bench: the benchmarks behind `gs bench`, each run side by side with what it is compared
//! with, in one process, printing ratios (see `BENCHMARKS.md`). It owns the measurement
//! helpers (medians, alternation, process CPU time) and parses its own subcommand's flags; the
//! `gs` binary only hands it the command and the built-in `sage` component.
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
//! `gs bench sampling` ([`sampling`]) measures neighbour sampling on a graph from disk.

mod alloc;
mod plugin_boundary;
mod report;
mod sampling;

use clap::Subcommand;

pub use plugin_boundary::PluginBoundary;
pub use sampling::SamplingArgs;

/// `gs bench` subcommands.
#[derive(Subcommand)]
pub enum BenchCommand {
    /// The WebAssembly plugin boundary: the built-in `sage` plugin against the native
    /// GraphSAGE oracle (same weights), alternating every repetition; plus glibc malloc
    /// settings, measured in child processes.
    PluginBoundary(PluginBoundary),
    /// Neighbour-sampling throughput on a graph from disk (gs's format or a GraphStorm/DGL
    /// partition), with 1 or more threads.
    Sampling(SamplingArgs),
}

/// Run one benchmark. `sage` is the built-in `sage` component, which `plugin-boundary`
/// compares with the native oracle.
pub fn run(command: BenchCommand, sage: &[u8]) -> anyhow::Result<()> {
    match command {
        BenchCommand::PluginBoundary(args) => plugin_boundary::run(&args, sage),
        BenchCommand::Sampling(args) => sampling::run(&args),
    }
}
