//! One training job of `gs bench task`, run in a child process of its own so that its peak RSS
//! (`VmHWM`) is its own. The job takes the flags `gs edge-regression` / `gs link-prediction`
//! take and is assembled from gs-pipeline's pieces, as those commands are: gs-config resolves
//! the flags, the graph is loaded from disk, gs-pipeline's [`RunTask`] (gs-train's `EdgeTask`
//! or `LinkPredictionTask`) runs the built-in `rgcn` component through its one training loop.
//! The loop reports each phase to a [`PhaseClock`]. The child prints one JSON line.
//!
//! With `steps`, the job trains only that many batches of epoch 0 and does not evaluate (the
//! fixed-size "epoch" of link prediction on a large graph), through the tasks'
//! `loss_curve_with`, which runs the training loop's own step and reports the same phases.

use std::time::Instant;

use anyhow::bail;
use clap::ValueEnum;
use gs_config::TaskType;
use gs_pipeline::{RunTask, identity, instantiate, load_graph, plugin_custom_args};
use gs_runtime::PluginEngine;
use gs_tensor::{Device, seed_and_threads};
use gs_train::RunOptions;
use serde_json::{Value, json};

use crate::phase_clock::PhaseClock;
use crate::proc_status::{mib, peak_rss_bytes, rss_bytes};

/// The prefix of the child's JSON line on stdout.
pub(crate) const JOB_LINE: &str = "GS_BENCH_JOB ";

/// The jobs `gs bench task` runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum JobKind {
    EdgeRegression,
    LinkPrediction,
}

impl JobKind {
    pub(crate) fn task_type(self) -> TaskType {
        match self {
            JobKind::EdgeRegression => TaskType::EdgeRegression,
            JobKind::LinkPrediction => TaskType::LinkPrediction,
        }
    }

    /// The `gs` command that runs the same job.
    pub(crate) fn command(self) -> &'static str {
        match self {
            JobKind::EdgeRegression => "edge-regression",
            JobKind::LinkPrediction => "link-prediction",
        }
    }
}

/// Runs one job with the GraphStorm flags `args` and the `rgcn` component, and prints its
/// JSON line.
pub(crate) fn run_job(
    kind: JobKind,
    args: &[String],
    steps: Option<usize>,
    rgcn: &[u8],
) -> anyhow::Result<()> {
    let rss_at_start = rss_bytes();
    let started = Instant::now();
    let resolved = gs_config::parse(args)?
        .with_default_task(kind.task_type())
        .resolve(None)?;
    if resolved.train.task_type != kind.task_type() {
        bail!(
            "the job's flags resolve to `{}`, not `{}`",
            resolved.train.task_type.name(),
            kind.task_type().name()
        );
    }
    seed_and_threads(
        resolved.train.seed,
        resolved.launch.num_omp_threads.map(|n| n as usize),
    );
    let graph = load_graph(&resolved)?;
    let loaded = started.elapsed();
    let device = Device::Cpu;
    let job = RunTask::new(graph.clone(), &resolved, device)?;
    let task_ready = started.elapsed();
    let engine = PluginEngine::new(None)?;
    let plugin = engine.load_bytes("rgcn", rgcn)?;
    let compiled = started.elapsed();
    let instance = instantiate(&plugin, &resolved, device)?;
    let custom_args = plugin_custom_args(&instance, &resolved, &resolved.custom_args)?;
    let plugin_identity = identity(&instance);
    let mut model = job.plugin_model(instance, custom_args.clone())?;
    let weights: usize = model.named_weights().iter().map(|(_, t)| t.numel()).sum();
    let setup_done = started.elapsed();
    let mut clock = PhaseClock::default();
    let mut line = json!({
        "job": kind.command(),
        "metric": job.metric(),
        "weights": weights,
        "torch_threads": gs_tensor::tch::get_num_threads(),
        "graph_nodes": graph.total_nodes(),
        "graph_edges": graph.total_edges(),
        "rss_at_start_mib": mib(rss_at_start),
        "setup_s": {
            "load_graph": loaded.as_secs_f64(),
            "task": (task_ready - loaded).as_secs_f64(),
            "compile_plugin": (compiled - task_ready).as_secs_f64(),
            "init_model": (setup_done - compiled).as_secs_f64(),
        },
    });
    let trained = Instant::now();
    match steps {
        Some(steps) => {
            let losses = job.loss_curve(&mut model, steps, &mut clock)?;
            line["steps"] = json!(losses.len());
            line["losses"] = json!(losses);
        }
        None => {
            let options = RunOptions {
                save_model_path: None,
                plugin: plugin_identity,
                plugin_bytes: rgcn.to_vec(),
                custom_args,
                beside_checkpoints: vec![],
                start_epoch: 0,
                restore_optimizer: None,
                continued_summary: None,
            };
            let summary = job.train(&mut model, &options, &mut clock)?;
            line["best_epoch"] = json!(summary.best_epoch);
            line["best_val"] = json!(summary.best_val_score);
            line["test_at_best"] = json!(summary.test_score);
            line["last_test"] = json!(summary.epochs.last().and_then(|e| e.test_score));
        }
    }
    line["train_s"] = json!(trained.elapsed().as_secs_f64());
    line["wall_s"] = json!(started.elapsed().as_secs_f64());
    line["phases_s"] = clock.phases_json();
    line["epochs"] = clock.epochs_json();
    line["peak_rss_mib"] = json!(mib(peak_rss_bytes()));
    println!("{JOB_LINE}{line}");
    Ok(())
}

/// Parses the JSON line of a job child's stdout.
pub(crate) fn parse_job_line(stdout: &str) -> Option<Value> {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix(JOB_LINE))
        .and_then(|l| serde_json::from_str(l).ok())
}
