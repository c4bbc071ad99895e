//! One training job of `gs bench task`, run in a child process of its own so that its peak RSS
//! (`VmHWM`) is its own. The job takes the flags `gs edge-regression` / `gs link-prediction`
//! take and is assembled as the CLI assembles those commands (`host/cli/src/launch.rs`):
//! gs-config resolves the flags, the graph is loaded from disk, gs-train's `EdgeTask` or
//! `LinkPredictionTask` runs the built-in `rgcn` component through its one training loop. The
//! loop reports each phase to a [`PhaseClock`]. The child prints one JSON line.
//!
//! With `steps`, the job trains only that many batches of epoch 0 and does not evaluate (the
//! fixed-size "epoch" of link prediction on a large graph), through the tasks'
//! `loss_curve_with`, which runs the training loop's own step and reports the same phases.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::ValueEnum;
use gs_config::{Resolved, TaskType};
use gs_runtime::{PluginEngine, PluginInstance, PluginLimits};
use gs_tensor::{Device, ParamStore, seed_and_threads};
use gs_train::checkpoint::PluginIdentity;
use gs_train::{
    EdgeTask, LinkPredictionTask, RunOptions, TaskModel, TrainingSummary, resolve_plugin_args,
};
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

/// The task of a job.
enum Job {
    Edge(EdgeTask),
    Lp(LinkPredictionTask),
}

impl Job {
    fn plugin_model(
        &self,
        instance: PluginInstance,
        custom_args: Vec<(String, String)>,
    ) -> anyhow::Result<TaskModel> {
        Ok(match self {
            Job::Edge(t) => t.plugin_model(instance, custom_args)?,
            Job::Lp(t) => t.plugin_model(instance, custom_args)?,
        })
    }

    fn metric(&self) -> String {
        match self {
            Job::Edge(t) => t.metrics()[0].to_string(),
            Job::Lp(t) => t.metrics()[0].to_string(),
        }
    }

    fn train(
        &self,
        model: &mut TaskModel,
        options: &RunOptions,
        clock: &mut PhaseClock,
    ) -> anyhow::Result<TrainingSummary> {
        Ok(match self {
            Job::Edge(t) => t.train(model, options, clock)?,
            Job::Lp(t) => t.train(model, options, clock)?,
        })
    }

    fn loss_curve(
        &self,
        model: &mut TaskModel,
        steps: usize,
        clock: &mut PhaseClock,
    ) -> anyhow::Result<Vec<f64>> {
        Ok(match self {
            Job::Edge(t) => t.loss_curve_with(model, steps, clock)?,
            Job::Lp(t) => t.loss_curve_with(model, steps, clock)?,
        })
    }
}

/// The plugin limits of the resolved configuration, as `gs launch` sets them.
fn limits(resolved: &Resolved) -> PluginLimits {
    let t = &resolved.train;
    PluginLimits {
        memory_bytes: (t.plugin_memory_mb as usize) << 20,
        call_timeout: Duration::from_secs(t.plugin_call_timeout),
        max_tensors: t.plugin_max_tensors as usize,
        tensor_bytes: (t.plugin_tensor_budget_mb as usize) << 20,
    }
}

fn identity(instance: &PluginInstance) -> PluginIdentity {
    let (info, component) = (instance.info(), instance.component());
    PluginIdentity {
        name: info.name.clone(),
        version: info.version.clone(),
        sdk_version: component
            .sdk_version
            .clone()
            .unwrap_or_else(|| info.sdk_version.clone()),
        package_version: component.package_version.clone(),
        digest: component.digest.clone(),
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
    let part_config = &resolved.launch.part_config;
    let graph = gs_graph::load(part_config)
        .with_context(|| format!("cannot load graph `{}`", part_config.display()))?;
    let graph = Arc::new(graph);
    let loaded = started.elapsed();
    let (config, device) = (resolved.train.clone(), Device::Cpu);
    let job = match kind {
        JobKind::EdgeRegression => {
            let mut task = EdgeTask::new(graph.clone(), config, device)?;
            task.set_sampler_workers(resolved.launch.num_samplers);
            Job::Edge(task)
        }
        JobKind::LinkPrediction => {
            let mut task = LinkPredictionTask::new(graph.clone(), config, device)?;
            task.set_sampler_workers(resolved.launch.num_samplers);
            Job::Lp(task)
        }
    };
    let task_ready = started.elapsed();
    let engine = PluginEngine::new(None)?;
    let plugin = engine.load_bytes("rgcn", rgcn)?;
    let compiled = started.elapsed();
    let instance = plugin.instantiate(
        limits(&resolved),
        ParamStore::new(resolved.train.seed, device),
    )?;
    let custom_args = resolve_plugin_args(
        &instance.info().name,
        &resolved.custom_args,
        &instance.info().hyper_params,
        &resolved.plugin_keys(),
    )
    .map_err(anyhow::Error::msg)?;
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
