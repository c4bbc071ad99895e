//! `gs bench plugin-boundary`: the WebAssembly plugin path against the native tch path, side
//! by side in one run.
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

mod sampling;

use std::ffi::c_int;
use std::hint::black_box;
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, bail, ensure};
use clap::{Args, Subcommand, ValueEnum};
use gs_config::{TaskType, TrainConfig};
use gs_graph::{DemoParams, HeteroGraph, generate_demo};
use gs_runtime::{
    BatchData, Mode, Plugin, PluginEngine, PluginError, PluginInstance, PluginLimits,
};
use gs_tensor::{AllocatorTuning, Device, Kind, ParamStore, Tensor, tch, tune_allocator};
use gs_train::{Encoder, NodeTask, PreparedBatch, TaskModel};
use serde_json::{Value, json};

use crate::builtin;

/// Prefix of the JSON line an allocator child prints on stdout.
const CHILD_LINE: &str = "GS_BENCH_ALLOC ";

#[derive(Subcommand)]
pub(crate) enum BenchCommand {
    /// The WebAssembly plugin boundary: the built-in `sage` plugin against the native
    /// GraphSAGE oracle (same weights), alternating every repetition; plus glibc malloc
    /// settings, measured in child processes.
    PluginBoundary(PluginBoundary),
    /// Neighbour-sampling throughput on a graph from disk (gs's format or a GraphStorm/DGL
    /// partition), with 1 or more threads.
    Sampling(sampling::SamplingArgs),
}

#[derive(Args)]
pub(crate) struct PluginBoundary {
    /// Repetitions: epochs per path, and rounds of allocator children (default 7; 2 with --quick).
    #[arg(long)]
    reps: Option<usize>,
    /// Training batches (of 1,024 seeds) per epoch (default 20; 2 with --quick).
    #[arg(long)]
    batches: Option<usize>,
    /// Papers in the in-memory demo graph; it has half as many authors, 128-dim features and
    /// average degree 10 (default 100000; 3000 with --quick).
    #[arg(long)]
    papers: Option<u64>,
    /// Tiny sizes and few repetitions: a smoke test that finishes in seconds.
    #[arg(long)]
    quick: bool,
    /// Run only these parts (comma-separated).
    #[arg(long, value_delimiter = ',')]
    only: Vec<Part>,
    /// Allocator settings the `alloc` part compares (comma-separated; `tuned` is the baseline).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "default,tuned,tuned-no-mmap,tuned-arena1,env-prototype"
    )]
    alloc_variants: Vec<String>,
    /// Seeds per batch in the `alloc` part's children (fanout 10,10).
    #[arg(long, default_value_t = 1024)]
    alloc_batch_size: u32,
    /// Internal: time the big-batch forward under one allocator setting and print JSON.
    #[arg(long, hide = true)]
    alloc_child: Option<String>,
    /// Testing: add 1e-3 to one plugin weight after both models are built, so outputs and loss
    /// curves differ and the run must fail.
    #[arg(long, hide = true)]
    perturb_plugin: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Part {
    Call,
    Tiny,
    Big,
    Epoch,
    Alloc,
}

/// Sizes of one run.
#[derive(Debug, Clone)]
struct Sizes {
    papers: u64,
    reps: usize,
    batches: usize,
    /// Export-call samples per path, and calls per sample.
    call_samples: usize,
    calls_per_sample: usize,
    /// Tiny forwards: alternating rounds, forwards per path per round.
    tiny_rounds: usize,
    tiny_per_round: usize,
    /// Big-batch forwards: alternating rounds (one forward and one fwd+bwd per path per round).
    big_rounds: usize,
    /// Allocator children: forwards and fwd+bwd steps each child times.
    child_fwd: usize,
    child_bwd: usize,
}

impl Sizes {
    fn new(args: &PluginBoundary) -> Self {
        let base = if args.quick {
            Sizes {
                papers: 3000,
                reps: 2,
                batches: 2,
                call_samples: 20,
                calls_per_sample: 100,
                tiny_rounds: 4,
                tiny_per_round: 10,
                big_rounds: 2,
                child_fwd: 2,
                child_bwd: 1,
            }
        } else {
            Sizes {
                papers: 100_000,
                reps: 7,
                batches: 20,
                call_samples: 200,
                calls_per_sample: 500,
                tiny_rounds: 20,
                tiny_per_round: 50,
                big_rounds: 10,
                child_fwd: 10,
                child_bwd: 6,
            }
        };
        Sizes {
            papers: args.papers.unwrap_or(base.papers),
            reps: args.reps.unwrap_or(base.reps).max(1),
            batches: args.batches.unwrap_or(base.batches).max(1),
            ..base
        }
    }
}

pub(crate) fn run(command: BenchCommand) -> anyhow::Result<()> {
    match command {
        BenchCommand::PluginBoundary(args) => plugin_boundary(&args),
        BenchCommand::Sampling(args) => sampling::run(&args),
    }
}

// ---------------------------------------------------------------------------------------
// Statistics and formatting

/// Median, p90 (nearest rank), min and max of a sample.
#[derive(Debug, Clone, Copy)]
struct Stats {
    median: f64,
    p90: f64,
    min: f64,
    max: f64,
    n: usize,
}

fn stats(xs: &[f64]) -> Stats {
    let mut v: Vec<f64> = xs.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return Stats {
            median: f64::NAN,
            p90: f64::NAN,
            min: f64::NAN,
            max: f64::NAN,
            n: 0,
        };
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let median = if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    };
    let p90 = v[((n as f64 * 0.9).ceil() as usize).clamp(1, n) - 1];
    Stats {
        median,
        p90,
        min: v[0],
        max: v[n - 1],
        n,
    }
}

/// Seconds in a readable unit.
fn fmt_time(seconds: f64) -> String {
    if !seconds.is_finite() {
        return "n/a".into();
    }
    let abs = seconds.abs();
    if abs >= 1.0 {
        format!("{seconds:.3} s")
    } else if abs >= 1e-3 {
        format!("{:.2} ms", seconds * 1e3)
    } else {
        format!("{:.2} µs", seconds * 1e6)
    }
}

/// `median (p90 p90)`.
fn fmt_stats(s: &Stats) -> String {
    format!("{} (p90 {})", fmt_time(s.median), fmt_time(s.p90))
}

/// `median (min–max)` of ratios.
fn fmt_ratios(s: &Stats) -> String {
    format!("{:.3} ({:.3}–{:.3})", s.median, s.min, s.max)
}

/// Which path runs first in repetition `rep`: the two alternate.
fn order(rep: usize) -> [Path; 2] {
    if rep.is_multiple_of(2) {
        [Path::Plugin, Path::Native]
    } else {
        [Path::Native, Path::Plugin]
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Path {
    Plugin,
    Native,
}

/// Prints a markdown table row by row, so partial results show while the run goes on.
fn table(header: &[&str]) {
    println!("| {} |", header.join(" | "));
    println!("|{}", "---|".repeat(header.len()));
}

fn row(cells: &[String]) {
    println!("| {} |", cells.join(" | "));
}

fn progress(message: &str) {
    eprintln!("[bench] {message}");
}

// ---------------------------------------------------------------------------------------
// Setup

fn demo_params(papers: u64) -> DemoParams {
    DemoParams {
        num_papers: papers,
        num_authors: (papers / 2).max(1),
        feat_dim: 128,
        avg_degree: 10.0,
        ..DemoParams::default()
    }
}

/// A node-classification config over the demo graph, built the way `gs launch` builds it.
fn config(batch_size: u32, fanout: &str) -> anyhow::Result<TrainConfig> {
    let batch_size = batch_size.to_string();
    let args: Vec<String> = [
        "--part-config",
        "(in-memory demo graph)",
        "--num-trainers",
        "1",
        "--lr",
        "0.01",
        "--batch-size",
        &batch_size,
        "--fanout",
        fanout,
        "--num-layers",
        "2",
        "--hidden-size",
        "128",
        "--num-classes",
        "4",
        "--target-ntype",
        "paper",
        "--label-field",
        "label",
        "--node-feat-name",
        "feat",
        "--num-epochs",
        "1",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let resolved = gs_config::parse(&args)?
        .with_default_task(TaskType::NodeClassification)
        .resolve(None)?;
    Ok(resolved.train)
}

fn tiny_task(graph: &Arc<HeteroGraph>) -> anyhow::Result<NodeTask> {
    Ok(NodeTask::new(
        graph.clone(),
        config(8, "5,5")?,
        Device::Cpu,
    )?)
}

fn big_task(graph: &Arc<HeteroGraph>, batch_size: u32) -> anyhow::Result<NodeTask> {
    Ok(NodeTask::new(
        graph.clone(),
        config(batch_size, "10,10")?,
        Device::Cpu,
    )?)
}

fn load_sage(engine: &PluginEngine) -> anyhow::Result<Plugin> {
    let bytes = builtin::builtin("sage").context("the built-in `sage` plugin is missing")?;
    Ok(engine.load_bytes("sage", bytes)?)
}

fn instance(plugin: &Plugin, task: &NodeTask) -> anyhow::Result<PluginInstance> {
    Ok(plugin.instantiate(
        PluginLimits::default(),
        ParamStore::new(task.config().seed, Device::Cpu),
    )?)
}

/// The plugin model and the native oracle, both with the host decoder and the same weights.
fn models(plugin: &Plugin, task: &NodeTask) -> anyhow::Result<(TaskModel, TaskModel)> {
    let p = task.plugin_model(instance(plugin, task)?, vec![])?;
    let n = task.native_model()?;
    Ok((p, n))
}

fn host_calls(model: &TaskModel) -> u64 {
    match model.encoder() {
        Encoder::Plugin(p) => p.host_calls(),
        Encoder::Native { .. } => 0,
    }
}

fn max_abs_diff(a: &Tensor, b: &Tensor) -> f64 {
    (a - b).abs().max().double_value(&[])
}

/// Plugin against native: every comparison of outputs or loss curves is recorded, and the run
/// fails unless all of them are exactly equal (`BENCHMARKS.md` claims bit-identical results).
struct Agreement {
    /// `--perturb-plugin`: shift one plugin weight, so the check can be seen to fail.
    perturb_plugin: bool,
    /// What was compared, and the largest absolute difference found.
    diffs: Vec<(String, f64)>,
}

impl Agreement {
    /// The plugin model and the native oracle with the same weights (one plugin weight shifted
    /// under `--perturb-plugin`).
    fn models(&self, plugin: &Plugin, task: &NodeTask) -> anyhow::Result<(TaskModel, TaskModel)> {
        let (p, n) = models(plugin, task)?;
        if self.perturb_plugin {
            let (name, weight) = p
                .named_weights()
                .into_iter()
                .next()
                .context("the plugin model has no weights to perturb")?;
            let _g = tch::no_grad_guard();
            let mut weight = weight.shallow_clone();
            let _shifted = weight
                .f_add_scalar_(1e-3)
                .with_context(|| format!("cannot perturb plugin weight `{name}`"))?;
        }
        Ok((p, n))
    }

    fn record(&mut self, what: String, diff: f64) {
        self.diffs.push((what, diff));
    }

    /// Ok when every recorded difference is exactly 0; else an error listing the others.
    fn verdict(&self) -> anyhow::Result<()> {
        let differing: Vec<String> = self
            .diffs
            .iter()
            .filter(|(_, d)| *d != 0.0)
            .map(|(what, d)| format!("{what}: max |diff| = {d:e}"))
            .collect();
        if !differing.is_empty() {
            bail!(
                "the plugin and native paths disagree ({}); with the same weights and batches \
                 they must compute bit-identical results",
                differing.join("; ")
            );
        }
        println!(
            "Plugin and native agree exactly in all {} comparisons of outputs and loss curves.",
            self.diffs.len()
        );
        Ok(())
    }
}

/// Shape summary of a prepared batch: input rows and edges per layer.
fn describe_batch(batch: &PreparedBatch) -> String {
    let inputs: i64 = batch
        .data
        .input_features
        .values()
        .map(|t| t.size()[0])
        .sum();
    let edges: Vec<String> = batch
        .data
        .layers
        .iter()
        .map(|l| {
            l.blocks
                .iter()
                .map(|b| b.src.size()[0])
                .sum::<i64>()
                .to_string()
        })
        .collect();
    format!(
        "{} seeds, {} input nodes, edges per layer [{}]",
        batch.seeds.len(),
        inputs,
        edges.join(", ")
    )
}

/// The largest per-edge-type intermediate of a forward, in MiB: the `index_select` of one
/// block's messages (edges × 128 features × 4 bytes), or the input features of one node type.
fn largest_mib(batch: &PreparedBatch) -> u64 {
    let messages = batch
        .data
        .layers
        .iter()
        .flat_map(|l| &l.blocks)
        .map(|b| b.src.size()[0] * 128 * 4);
    let inputs = batch
        .data
        .input_features
        .values()
        .map(|t| t.numel() as i64 * 4);
    (messages.chain(inputs).max().unwrap_or(0) >> 20) as u64
}

fn build_profile() -> &'static str {
    if cfg!(debug_assertions) {
        "dev profile (workspace opt-level 1, dependencies opt-level 2)"
    } else {
        "release profile"
    }
}

// ---------------------------------------------------------------------------------------
// The run

fn plugin_boundary(args: &PluginBoundary) -> anyhow::Result<()> {
    let sizes = Sizes::new(args);
    if let Some(variant) = &args.alloc_child {
        return alloc_child(variant, &sizes, args.alloc_batch_size);
    }
    let parts: Vec<Part> = if args.only.is_empty() {
        vec![Part::Call, Part::Tiny, Part::Big, Part::Epoch, Part::Alloc]
    } else {
        args.only.clone()
    };
    let started = Instant::now();
    gs_tensor::seed_and_threads(42, None);

    println!("# gs bench plugin-boundary");
    println!();
    println!(
        "- build: {}; {} CPUs available; torch threads {}; glibc {}; GS_MALLOC={}; load average at start {}",
        build_profile(),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        tch::get_num_threads(),
        glibc_version(),
        std::env::var("GS_MALLOC").unwrap_or_else(|_| "(unset: tuned)".into()),
        load_average(),
    );
    if std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<f64>().ok())
        .is_some_and(|l| l > 1.0)
    {
        println!(
            "- WARNING: other work is running on this machine (load average above 1): expect noisy figures"
        );
    }
    let params = demo_params(sizes.papers);
    let t = Instant::now();
    let graph = Arc::new(generate_demo(&params));
    println!(
        "- graph: generate_demo in memory: {} papers, {} authors, feat_dim {}, avg_degree {}, {} classes, seed {} \
         → {} nodes, {} edges (4 edge types) in {}",
        params.num_papers,
        params.num_authors,
        params.feat_dim,
        params.avg_degree,
        params.num_classes,
        params.seed,
        graph.total_nodes(),
        graph.total_edges(),
        fmt_time(t.elapsed().as_secs_f64()),
    );
    println!(
        "- model: 2-layer heterogeneous GraphSAGE (mean), hidden 128, 4 classes, dropout 0; host decoder and \
         cross-entropy; plugin = built-in `sage` component, native = gs-train's NativeSage (same weights)"
    );
    println!(
        "- sizes: reps {}, batches/epoch {}, export-call samples {}×{}, tiny rounds {}×{}, big rounds {}",
        sizes.reps,
        sizes.batches,
        sizes.call_samples,
        sizes.calls_per_sample,
        sizes.tiny_rounds,
        sizes.tiny_per_round,
        sizes.big_rounds
    );
    println!();

    let mut agreement = Agreement {
        perturb_plugin: args.perturb_plugin,
        diffs: Vec::new(),
    };
    let engine = PluginEngine::new(None)?;
    let t = Instant::now();
    let plugin = load_sage(&engine)?;
    let compile = t.elapsed().as_secs_f64();
    let tiny = tiny_task(&graph)?;
    let big = big_task(&graph, 1024)?;

    if parts.contains(&Part::Call) {
        bench_calls(&plugin, &tiny, &sizes, compile)?;
    }
    let mut per_op = None;
    if parts.contains(&Part::Tiny) {
        per_op = Some(bench_forward(
            &plugin,
            &tiny,
            &mut agreement,
            "tiny",
            sizes.tiny_rounds,
            sizes.tiny_per_round,
        )?);
    }
    if parts.contains(&Part::Big) {
        bench_forward(&plugin, &big, &mut agreement, "big", sizes.big_rounds, 1)?;
    }
    if parts.contains(&Part::Epoch) {
        bench_epochs(&plugin, &big, &mut agreement, &sizes)?;
    }
    if parts.contains(&Part::Alloc) {
        bench_alloc(args, &sizes)?;
    }
    if let Some(per_op) = per_op {
        println!(
            "Per guest→host op (from the tiny no_grad forward): {}",
            fmt_time(per_op)
        );
    }
    println!(
        "Whole run: {}; load average at the end {}",
        fmt_time(started.elapsed().as_secs_f64()),
        load_average()
    );
    agreement.verdict()
}

/// A direct Rust call that does what the host does around the `loss` export besides the
/// call itself: copy two tensor handles and drop them.
#[inline(never)]
fn native_returning_call(outputs: &Tensor, labels: &Tensor) -> Option<Tensor> {
    let copies = (
        black_box(outputs.shallow_clone()),
        black_box(labels.shallow_clone()),
    );
    drop(black_box(copies));
    None
}

/// Part 1: host→guest export calls that return at once.
fn bench_calls(
    plugin: &Plugin,
    task: &NodeTask,
    sizes: &Sizes,
    compile: f64,
) -> anyhow::Result<()> {
    println!("## 1. Host→guest export calls that return at once");
    println!();
    // Instantiation (plugin only: the native path has nothing to instantiate).
    let mut inst_times = Vec::new();
    for _ in 0..(sizes.call_samples / 4).max(5) {
        let t = Instant::now();
        let i = instance(plugin, task)?;
        inst_times.push(t.elapsed().as_secs_f64());
        drop(i);
    }
    let mut inst = instance(plugin, task)?;
    inst.init(&task.model_config(vec![])?, &task.schema())?;
    let outputs = Tensor::zeros([8, 4], (Kind::Float, Device::Cpu));
    let labels = Tensor::zeros([8], (Kind::Int64, Device::Cpu));
    ensure!(
        inst.loss(&outputs, &labels)?.is_none(),
        "sage is expected not to implement `loss`"
    );
    let before = inst.host_calls();
    inst.loss(&outputs, &labels)?;
    let loss_host_calls = inst.host_calls() - before;

    // `forward` on a batch without layers: sage asks `num-layers` once and returns an error.
    let empty = BatchData {
        target_node_type: "paper".into(),
        ..Default::default()
    };
    let (mut pm, mut nm) = models(plugin, task)?;
    let rejected = |r: Result<Tensor, gs_train::TrainError>| -> anyhow::Result<()> {
        match r {
            Err(gs_train::TrainError::Plugin(PluginError::Returned { .. }))
            | Err(gs_train::TrainError::Tensor(_)) => Ok(()),
            Err(e) => bail!("unexpected failure of the empty-batch forward: {e}"),
            Ok(_) => bail!("the empty-batch forward unexpectedly succeeded"),
        }
    };
    rejected(pm.outputs(&empty, Mode::Eval))?;
    rejected(nm.outputs(&empty, Mode::Eval))?;
    let before = host_calls(&pm);
    let _ = pm.outputs(&empty, Mode::Eval);
    let empty_host_calls = host_calls(&pm) - before;

    let k = sizes.calls_per_sample;
    let (mut lp, mut ln, mut fp, mut fnat) = (vec![], vec![], vec![], vec![]);
    for s in 0..sizes.call_samples {
        for path in order(s) {
            let t = Instant::now();
            match path {
                Path::Plugin => {
                    for _ in 0..k {
                        black_box(inst.loss(black_box(&outputs), black_box(&labels))?);
                    }
                    lp.push(t.elapsed().as_secs_f64() / k as f64);
                }
                Path::Native => {
                    for _ in 0..k {
                        black_box(native_returning_call(
                            black_box(&outputs),
                            black_box(&labels),
                        ));
                    }
                    ln.push(t.elapsed().as_secs_f64() / k as f64);
                }
            }
        }
    }
    let kf = (k / 5).max(1);
    for s in 0..sizes.call_samples {
        for path in order(s) {
            let model = if path == Path::Plugin {
                &mut pm
            } else {
                &mut nm
            };
            let t = Instant::now();
            for _ in 0..kf {
                let _ = black_box(model.outputs(black_box(&empty), Mode::Eval));
            }
            let per = t.elapsed().as_secs_f64() / kf as f64;
            if path == Path::Plugin {
                fp.push(per)
            } else {
                fnat.push(per)
            }
        }
    }
    let (lp, ln, fp, fnat, it) = (
        stats(&lp),
        stats(&ln),
        stats(&fp),
        stats(&fnat),
        stats(&inst_times),
    );
    table(&[
        "measurement",
        "plugin median (p90)",
        "native median (p90)",
        "ratio",
        "plugin − native",
    ]);
    row(&[
        format!(
            "`loss` export, not implemented by sage ({k} calls/sample, {} samples/path; {loss_host_calls} host calls/call); native = direct call with the same 2 handle copies",
            lp.n
        ),
        fmt_stats(&lp),
        fmt_stats(&ln),
        format!("{:.1}", lp.median / ln.median),
        fmt_time(lp.median - ln.median),
    ]);
    row(&[
        format!(
            "`forward` on a 0-layer batch, rejected with an error ({kf} calls/sample; {empty_host_calls} host calls/call); native = NativeSage's same check"
        ),
        fmt_stats(&fp),
        fmt_stats(&fnat),
        format!("{:.1}", fp.median / fnat.median),
        fmt_time(fp.median - fnat.median),
    ]);
    row(&[
        format!("instantiate from InstancePre + `describe` (n={})", it.n),
        fmt_stats(&it),
        "–".into(),
        "–".into(),
        "–".into(),
    ]);
    row(&[
        "compile the component (Cranelift, once, no cache)".into(),
        fmt_time(compile),
        "–".into(),
        "–".into(),
        "–".into(),
    ]);
    println!();
    Ok(())
}

/// Part 2: forwards, no_grad and fwd+bwd, plugin vs native. Returns the per-op overhead
/// of the no_grad forward in seconds.
fn bench_forward(
    plugin: &Plugin,
    task: &NodeTask,
    agreement: &mut Agreement,
    label: &str,
    rounds: usize,
    per_round: usize,
) -> anyhow::Result<f64> {
    let batch = task.first_training_batch()?;
    let labels = batch
        .labels
        .as_ref()
        .context("training batches carry labels")?
        .shallow_clone();
    let (mut pm, mut nm) = agreement.models(plugin, task)?;
    let c = task.config();
    println!(
        "## 2{}. GraphSAGE forward, {label} batch ({}, fanout {})",
        if label == "tiny" { "a" } else { "b" },
        describe_batch(&batch),
        c.fanout.as_deref().unwrap_or("?")
    );
    println!();
    // Same weights, same ops: the outputs must agree.
    let (diff, calls) = {
        let _g = tch::no_grad_guard();
        let before = host_calls(&pm);
        let op = pm.outputs(&batch.data, Mode::Eval)?;
        let calls = host_calls(&pm) - before;
        let on = nm.outputs(&batch.data, Mode::Eval)?;
        (max_abs_diff(&op, &on), calls)
    };
    agreement.record(format!("{label}-batch forward outputs"), diff);
    // Warm up both paths once with autograd on (the plugin path asks the `loss` export once).
    for m in [&mut pm, &mut nm] {
        let out = m.outputs(&batch.data, Mode::Train)?;
        m.loss(&out, &labels)?.backward();
    }
    let (mut fwd_p, mut fwd_n, mut bwd_p, mut bwd_n) = (vec![], vec![], vec![], vec![]);
    let (mut cpu_p, mut cpu_n) = (vec![], vec![]);
    let mut ratios_fwd = vec![];
    let mut ratios_bwd = vec![];
    for r in 0..rounds {
        let (mut round_fwd, mut round_bwd) = ([0.0f64; 2], [0.0f64; 2]);
        for path in order(r) {
            let model = if path == Path::Plugin {
                &mut pm
            } else {
                &mut nm
            };
            let (fwd, bwd, cpu) = if path == Path::Plugin {
                (&mut fwd_p, &mut bwd_p, &mut cpu_p)
            } else {
                (&mut fwd_n, &mut bwd_n, &mut cpu_n)
            };
            let slot = usize::from(path == Path::Native);
            {
                let _g = tch::no_grad_guard();
                let mut times = Vec::with_capacity(per_round);
                for _ in 0..per_round {
                    let (t, c0) = (Instant::now(), process_cpu_seconds());
                    let out = model.outputs(&batch.data, Mode::Eval)?;
                    drop(black_box(out));
                    times.push(t.elapsed().as_secs_f64());
                    cpu.push(process_cpu_seconds() - c0);
                }
                round_fwd[slot] = stats(&times).median;
                fwd.extend(times);
            }
            let mut times = Vec::with_capacity(per_round);
            for _ in 0..per_round {
                let t = Instant::now();
                let out = model.outputs(&batch.data, Mode::Train)?;
                let loss = model.loss(&out, &labels)?;
                loss.backward();
                drop(black_box((out, loss)));
                times.push(t.elapsed().as_secs_f64());
            }
            round_bwd[slot] = stats(&times).median;
            bwd.extend(times);
        }
        ratios_fwd.push(round_fwd[0] / round_fwd[1]);
        ratios_bwd.push(round_bwd[0] / round_bwd[1]);
    }
    let (fp, fnat, bp, bn) = (stats(&fwd_p), stats(&fwd_n), stats(&bwd_p), stats(&bwd_n));
    let (cp, cn) = (stats(&cpu_p), stats(&cpu_n));
    let (rf, rb) = (stats(&ratios_fwd), stats(&ratios_bwd));
    let per_op = (fp.median - fnat.median) / calls.max(1) as f64;
    table(&[
        "measurement",
        "plugin median (p90)",
        "native median (p90)",
        "ratio of medians",
        "per-round ratios median (min–max)",
        "plugin − native",
    ]);
    row(&[
        format!(
            "forward, no_grad (n={}/path, {rounds} alternating rounds)",
            fp.n
        ),
        fmt_stats(&fp),
        fmt_stats(&fnat),
        format!("{:.3}", fp.median / fnat.median),
        fmt_ratios(&rf),
        fmt_time(fp.median - fnat.median),
    ]);
    row(&[
        "same forwards, process CPU time (all threads: the caller and torch's workers)".into(),
        fmt_stats(&cp),
        fmt_stats(&cn),
        format!("{:.3}", cp.median / cn.median),
        "–".into(),
        fmt_time(cp.median - cn.median),
    ]);
    row(&[
        format!("forward + host CE loss + backward (n={}/path)", bp.n),
        fmt_stats(&bp),
        fmt_stats(&bn),
        format!("{:.3}", bp.median / bn.median),
        fmt_ratios(&rb),
        fmt_time(bp.median - bn.median),
    ]);
    println!();
    let per_call = if label == "tiny" {
        format!(
            " → {} per host call (by process CPU time: {} → {} per host call)",
            fmt_time(per_op),
            fmt_time(cp.median - cn.median),
            fmt_time((cp.median - cn.median) / calls.max(1) as f64)
        )
    } else {
        " (within run-to-run noise at this size; the tiny batch measures the per-call cost)".into()
    };
    println!(
        "Plugin host calls per forward: {calls} (tensor ops, batch/block accessors and handle drops). \
         Plugin − native per no_grad forward: {}{per_call}. Outputs plugin vs native: max |diff| = {diff:e}.",
        fmt_time(fp.median - fnat.median),
    );
    println!();
    Ok(per_op)
}

/// Part 3: "epochs" of real training steps.
fn bench_epochs(
    plugin: &Plugin,
    task: &NodeTask,
    agreement: &mut Agreement,
    sizes: &Sizes,
) -> anyhow::Result<()> {
    let c = task.config();
    println!(
        "## 3. Training: {} steps per epoch (batch {}, fanout {}, hidden {}, Adam lr {}), NodeTask::loss_curve",
        sizes.batches,
        c.batch_size,
        c.fanout.as_deref().unwrap_or("?"),
        c.hidden_size,
        c.lr
    );
    println!();
    let (mut pm, mut nm) = agreement.models(plugin, task)?;
    // Warm-up step on both; their losses must agree (same weights, same batches, no dropout).
    let wp = task.loss_curve(&mut pm, 1)?;
    let wn = task.loss_curve(&mut nm, 1)?;
    let warm_diff = wp
        .iter()
        .zip(&wn)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    let (mut tp, mut tn, mut ratios) = (vec![], vec![], vec![]);
    let (mut cp, mut cn, mut cpu_ratios) = (vec![], vec![], vec![]);
    let mut steps = 0;
    let mut curve_diff: f64 = 0.0;
    for r in 0..sizes.reps {
        let mut pair = [0.0f64; 2];
        let mut cpu = [0.0f64; 2];
        let mut curves: [Vec<f64>; 2] = [vec![], vec![]];
        for path in order(r) {
            let slot = usize::from(path == Path::Native);
            let model = if path == Path::Plugin {
                &mut pm
            } else {
                &mut nm
            };
            let (t, c0) = (Instant::now(), process_cpu_seconds());
            let losses = task.loss_curve(model, sizes.batches)?;
            pair[slot] = t.elapsed().as_secs_f64();
            cpu[slot] = process_cpu_seconds() - c0;
            steps = losses.len();
            curves[slot] = losses;
        }
        curve_diff = curves[0]
            .iter()
            .zip(&curves[1])
            .map(|(a, b)| (a - b).abs())
            .fold(curve_diff, f64::max);
        progress(&format!(
            "epoch rep {}/{}: plugin {} native {} ratio {:.3}",
            r + 1,
            sizes.reps,
            fmt_time(pair[0]),
            fmt_time(pair[1]),
            pair[0] / pair[1]
        ));
        tp.push(pair[0]);
        tn.push(pair[1]);
        ratios.push(pair[0] / pair[1]);
        cp.push(cpu[0]);
        cn.push(cpu[1]);
        cpu_ratios.push(cpu[0] / cpu[1]);
    }
    let (sp, sn, sr) = (stats(&tp), stats(&tn), stats(&ratios));
    let (scp, scn, scr) = (stats(&cp), stats(&cn), stats(&cpu_ratios));
    agreement.record("training loss curves".into(), curve_diff);
    agreement.record("warm-up training step loss".into(), warm_diff);
    table(&[
        "measurement",
        "plugin median (p90)",
        "native median (p90)",
        "per-rep ratios median (min–max)",
        "plugin − native",
    ]);
    row(&[
        format!(
            "epoch of {steps} training steps ({} reps, order alternating)",
            sizes.reps
        ),
        fmt_stats(&sp),
        fmt_stats(&sn),
        fmt_ratios(&sr),
        fmt_time(sp.median - sn.median),
    ]);
    row(&[
        "per training step".into(),
        fmt_time(sp.median / steps.max(1) as f64),
        fmt_time(sn.median / steps.max(1) as f64),
        format!("{:.3}", sp.median / sn.median),
        fmt_time((sp.median - sn.median) / steps.max(1) as f64),
    ]);
    row(&[
        "process CPU time per epoch (all threads: trainer, prefetch, torch)".into(),
        fmt_stats(&scp),
        fmt_stats(&scn),
        fmt_ratios(&scr),
        fmt_time(scp.median - scn.median),
    ]);
    println!();
    println!(
        "Fastest epochs (least disturbed by other work on the machine): plugin {}, native {}, ratio {:.3}.",
        fmt_time(sp.min),
        fmt_time(sn.min),
        sp.min / sn.min
    );
    println!(
        "Target: median ratio ≤ 1.03 — {}. Loss curves plugin vs native: max |diff| = {:e} (warm-up step {:e}).",
        if sr.median <= 1.03 { "met" } else { "NOT met" },
        curve_diff,
        warm_diff
    );
    println!();
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Part 4: glibc malloc, in child processes

/// glibc's `mallopt` parameters (malloc.h).
const M_TRIM_THRESHOLD: c_int = -1;
const M_TOP_PAD: c_int = -2;
const M_MMAP_THRESHOLD: c_int = -3;
const M_MMAP_MAX: c_int = -4;
const M_ARENA_MAX: c_int = -8;

#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod glibc {
    use std::ffi::{c_char, c_int, c_void};

    /// glibc's `struct mallinfo2`.
    #[repr(C)]
    #[derive(Default)]
    pub(super) struct MallInfo2 {
        pub(super) arena: usize,
        pub(super) ordblks: usize,
        pub(super) smblks: usize,
        pub(super) hblks: usize,
        pub(super) hblkhd: usize,
        pub(super) usmblks: usize,
        pub(super) fsmblks: usize,
        pub(super) uordblks: usize,
        pub(super) fordblks: usize,
        pub(super) keepcost: usize,
    }

    /// `struct timespec` on 64-bit Linux.
    #[repr(C)]
    #[derive(Default)]
    pub(super) struct Timespec {
        pub(super) tv_sec: i64,
        pub(super) tv_nsec: i64,
    }

    unsafe extern "C" {
        pub(super) fn clock_gettime(clock: c_int, tp: *mut Timespec) -> c_int;
        pub(super) fn mallopt(param: c_int, value: c_int) -> c_int;
        pub(super) fn mallinfo2() -> MallInfo2;
        pub(super) fn malloc(size: usize) -> *mut c_void;
        pub(super) fn free(ptr: *mut c_void);
        pub(super) fn gnu_get_libc_version() -> *const c_char;
    }
}

fn glibc_version() -> String {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: glibc returns a pointer to a static NUL-terminated string.
        unsafe { std::ffi::CStr::from_ptr(glibc::gnu_get_libc_version()) }
            .to_string_lossy()
            .into_owned()
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        "(not glibc)".into()
    }
}

/// One `mallopt` call and whether glibc accepted it.
fn mallopt(name: &str, param: c_int, value: c_int) -> Value {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator parameters.
    let ok = unsafe { glibc::mallopt(param, value) } == 1;
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    let ok = {
        let _ = (param, value);
        false
    };
    json!({ "param": name, "value": value, "ok": ok })
}

/// Which allocation sizes glibc serves with `mmap` right now. This changes glibc's dynamic
/// mmap threshold when it is not pinned, so it runs after the timings.
fn mmap_probe() -> Value {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let mut out = serde_json::Map::new();
        for mib in [1usize, 8, 31, 48, 200] {
            // SAFETY: plain malloc/free of an untouched block; mallinfo2 only reads statistics.
            let mmapped = unsafe {
                let before = glibc::mallinfo2().hblks;
                let p = black_box(glibc::malloc(black_box(mib << 20)));
                let after = glibc::mallinfo2().hblks;
                glibc::free(black_box(p));
                after > before
            };
            out.insert(format!("{mib}MiB"), json!(mmapped));
        }
        Value::Object(out)
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        Value::Null
    }
}

/// CPU time of the whole process (all threads) so far, in seconds; NaN where unknown.
fn process_cpu_seconds() -> f64 {
    clock_seconds(2) // CLOCK_PROCESS_CPUTIME_ID
}

/// `clock_gettime(clock)` in seconds; NaN where unknown.
fn clock_seconds(clock: c_int) -> f64 {
    #[cfg(all(target_os = "linux", target_env = "gnu", target_pointer_width = "64"))]
    {
        let mut ts = glibc::Timespec::default();
        // SAFETY: `ts` is a valid, writable timespec.
        if unsafe { glibc::clock_gettime(clock, &mut ts) } == 0 {
            return ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9;
        }
        f64::NAN
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu", target_pointer_width = "64")))]
    {
        let _ = clock;
        f64::NAN
    }
}

/// The 1-minute load average, as a hint of other work on the machine.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "n/a".into())
}

/// System (kernel) CPU time of this process so far, in seconds (`/proc/self/stat`, field 15;
/// 10 ms resolution); NaN where unknown. Page faults are spent here.
fn system_seconds() -> f64 {
    let read = || -> Option<f64> {
        let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        let rest = &stat[stat.rfind(')')? + 1..];
        let ticks: f64 = rest.split_whitespace().nth(12)?.parse().ok()?;
        Some(ticks / CLOCK_TICKS_PER_SECOND)
    };
    read().unwrap_or(f64::NAN)
}

/// `sysconf(_SC_CLK_TCK)`, which is 100 on every Linux target gs builds for.
const CLOCK_TICKS_PER_SECOND: f64 = 100.0;

/// Minor page faults of this process so far (`/proc/self/stat`, field 10).
fn minor_faults() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(7)?.parse().ok()
}

/// Allocator settings the `alloc` part can compare.
struct Variant {
    name: &'static str,
    what: &'static str,
    /// Environment of the child on top of `GS_MALLOC=default`.
    env: &'static [(&'static str, &'static str)],
}

const VARIANTS: &[Variant] = &[
    Variant {
        name: "default",
        what: "glibc defaults (`GS_MALLOC=default`)",
        env: &[],
    },
    Variant {
        name: "tuned",
        what: "`tune_allocator(Throughput)`, what `gs` does at start",
        env: &[],
    },
    Variant {
        name: "tuned-no-mmap",
        what: "tuned + `M_MMAP_MAX=0` (no block comes from mmap)",
        env: &[],
    },
    Variant {
        name: "tuned-arena1",
        what: "tuned + `M_ARENA_MAX=1` (one arena for all threads)",
        env: &[],
    },
    Variant {
        name: "env-prototype",
        what: "the prototype's env: MALLOC_MMAP_THRESHOLD_=4294967296 MALLOC_TRIM_THRESHOLD_=17179869184 MALLOC_TOP_PAD_=1073741824",
        env: &[
            ("MALLOC_MMAP_THRESHOLD_", "4294967296"),
            ("MALLOC_TRIM_THRESHOLD_", "17179869184"),
            ("MALLOC_TOP_PAD_", "1073741824"),
        ],
    },
];

fn variant(name: &str) -> anyhow::Result<&'static Variant> {
    VARIANTS.iter().find(|v| v.name == name).with_context(|| {
        format!(
            "unknown allocator variant `{name}`; known: {:?}",
            VARIANTS.iter().map(|v| v.name).collect::<Vec<_>>()
        )
    })
}

/// A child: apply the variant, time the big-batch forward, print one JSON line.
fn alloc_child(name: &str, sizes: &Sizes, batch_size: u32) -> anyhow::Result<()> {
    if std::env::var("GS_MALLOC").as_deref() != Ok("default") {
        bail!(
            "an allocator child needs GS_MALLOC=default, so that `gs` leaves malloc untuned for it"
        );
    }
    if name == "probe" {
        // Each call of tune_allocator on its own, in an untuned process, from glibc's defaults.
        const MIB: c_int = 1 << 20;
        let calls: Vec<Value> = [1024, 512, 64, 32]
            .into_iter()
            .map(|m| {
                mallopt(
                    &format!("M_MMAP_THRESHOLD={m}MiB"),
                    M_MMAP_THRESHOLD,
                    m * MIB,
                )
            })
            .chain([
                mallopt("M_TRIM_THRESHOLD=i32::MAX", M_TRIM_THRESHOLD, c_int::MAX),
                mallopt("M_TOP_PAD=256MiB", M_TOP_PAD, 256 * MIB),
            ])
            .collect();
        println!(
            "{CHILD_LINE}{}",
            json!({ "variant": "probe", "mallopt": calls, "mmap_probe": mmap_probe() })
        );
        return Ok(());
    }
    variant(name)?;
    let mut calls = vec![];
    let mut tuned = Value::Null;
    if name.starts_with("tuned") {
        tuned = json!(tune_allocator(AllocatorTuning::Throughput));
    }
    match name {
        "tuned-no-mmap" => calls.push(mallopt("M_MMAP_MAX=0", M_MMAP_MAX, 0)),
        "tuned-arena1" => calls.push(mallopt("M_ARENA_MAX=1", M_ARENA_MAX, 1)),
        _ => {}
    }
    gs_tensor::seed_and_threads(42, None);
    let graph = Arc::new(generate_demo(&demo_params(sizes.papers)));
    let task = big_task(&graph, batch_size)?;
    let batch = task.first_training_batch()?;
    let labels = batch
        .labels
        .as_ref()
        .context("training batches carry labels")?
        .shallow_clone();
    let mut model = task.native_model()?;
    let forward = |model: &mut TaskModel| -> anyhow::Result<f64> {
        let _g = tch::no_grad_guard();
        let t = Instant::now();
        drop(black_box(model.outputs(&batch.data, Mode::Eval)?));
        Ok(t.elapsed().as_secs_f64())
    };
    let step = |model: &mut TaskModel| -> anyhow::Result<f64> {
        let t = Instant::now();
        let out = model.outputs(&batch.data, Mode::Train)?;
        model.loss(&out, &labels)?.backward();
        Ok(t.elapsed().as_secs_f64())
    };
    forward(&mut model)?;
    step(&mut model)?;
    let (f0, c0, s0) = (minor_faults(), process_cpu_seconds(), system_seconds());
    let fwd: Vec<f64> = (0..sizes.child_fwd)
        .map(|_| forward(&mut model))
        .collect::<anyhow::Result<_>>()?;
    let (f1, c1, s1) = (minor_faults(), process_cpu_seconds(), system_seconds());
    let bwd: Vec<f64> = (0..sizes.child_bwd)
        .map(|_| step(&mut model))
        .collect::<anyhow::Result<_>>()?;
    let (f2, c2, s2) = (minor_faults(), process_cpu_seconds(), system_seconds());
    let per = |a: Option<u64>, b: Option<u64>, n: usize| match (a, b) {
        (Some(a), Some(b)) => json!((b - a) as f64 / n.max(1) as f64),
        _ => Value::Null,
    };
    let per_s = |a: f64, b: f64, n: usize| json!((b - a) / n.max(1) as f64);
    let line = json!({
        "variant": name,
        "tune_allocator": tuned,
        "mallopt": calls,
        "fwd_s": fwd,
        "fwdbwd_s": bwd,
        "faults_per_fwd": per(f0, f1, sizes.child_fwd),
        "faults_per_fwdbwd": per(f1, f2, sizes.child_bwd),
        "cpu_s_per_fwd": per_s(c0, c1, sizes.child_fwd),
        "cpu_s_per_fwdbwd": per_s(c1, c2, sizes.child_bwd),
        "sys_s_per_fwd": per_s(s0, s1, sizes.child_fwd),
        "sys_s_per_fwdbwd": per_s(s1, s2, sizes.child_bwd),
        "batch": describe_batch(&batch),
        "largest_mib": largest_mib(&batch),
        "mmap_probe": mmap_probe(),
    });
    println!("{CHILD_LINE}{line}");
    Ok(())
}

/// Run one child and parse its JSON line.
fn spawn_child(args: &PluginBoundary, sizes: &Sizes, name: &str) -> anyhow::Result<Value> {
    // /proc/self/exe runs this very binary even if a rebuild has replaced the file meanwhile.
    let proc_exe = std::path::PathBuf::from("/proc/self/exe");
    let exe = if proc_exe.exists() {
        proc_exe
    } else {
        std::env::current_exe().context("cannot find this executable to re-run it")?
    };
    let mut cmd = Command::new(exe);
    let (papers, batch) = (sizes.papers.to_string(), args.alloc_batch_size.to_string());
    cmd.args([
        "bench",
        "plugin-boundary",
        "--alloc-child",
        name,
        "--papers",
        &papers,
        "--alloc-batch-size",
        &batch,
    ]);
    if args.quick {
        cmd.arg("--quick");
    }
    cmd.env("GS_MALLOC", "default");
    for key in [
        "MALLOC_MMAP_THRESHOLD_",
        "MALLOC_TRIM_THRESHOLD_",
        "MALLOC_TOP_PAD_",
        "MALLOC_MMAP_MAX_",
        "MALLOC_ARENA_MAX",
        "GLIBC_TUNABLES",
    ] {
        cmd.env_remove(key);
    }
    if name != "probe" {
        for (k, v) in variant(name)?.env {
            cmd.env(k, v);
        }
    }
    let output = cmd.output().context("cannot start an allocator child")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    match stdout.lines().find_map(|l| l.strip_prefix(CHILD_LINE)) {
        Some(line) if output.status.success() => Ok(serde_json::from_str(line)?),
        _ => bail!(
            "allocator child `{name}` failed ({}):\n{}{}",
            output.status,
            stdout,
            String::from_utf8_lossy(&output.stderr)
        ),
    }
}

fn floats(v: &Value, key: &str) -> Vec<f64> {
    v[key]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_f64).collect())
        .unwrap_or_default()
}

/// One allocator setting's figures, per round, and the JSON of its last child.
#[derive(Default)]
struct AllocResults {
    /// Median no_grad forward and fwd+bwd of each child, in seconds.
    fwd: Vec<f64>,
    fwdbwd: Vec<f64>,
    /// Minor page faults per forward and per fwd+bwd.
    faults_fwd: Vec<f64>,
    faults_fwdbwd: Vec<f64>,
    /// Seconds per operation: process CPU / fwd, system CPU / fwd, process CPU / fwd+bwd,
    /// system CPU / fwd+bwd.
    cpu: [Vec<f64>; 4],
    last: Value,
}

fn bench_alloc(args: &PluginBoundary, sizes: &Sizes) -> anyhow::Result<()> {
    let names: Vec<&str> = args.alloc_variants.iter().map(String::as_str).collect();
    for n in &names {
        variant(n)?;
    }
    ensure!(
        names.contains(&"tuned"),
        "--alloc-variants must include `tuned`, the baseline"
    );
    println!(
        "## 4. glibc malloc: big-batch forward (native path) in child processes, {} rounds, order rotating",
        sizes.reps
    );
    println!();
    let probe = spawn_child(args, sizes, "probe")?;
    let mut results: Vec<AllocResults> = names.iter().map(|_| AllocResults::default()).collect();
    for r in 0..sizes.reps {
        for k in 0..names.len() {
            let i = (k + r) % names.len();
            let v = spawn_child(args, sizes, names[i])?;
            let (f, b) = (
                stats(&floats(&v, "fwd_s")).median,
                stats(&floats(&v, "fwdbwd_s")).median,
            );
            progress(&format!(
                "alloc round {}/{}: {} fwd {} fwd+bwd {}",
                r + 1,
                sizes.reps,
                names[i],
                fmt_time(f),
                fmt_time(b)
            ));
            for (j, key) in [
                "cpu_s_per_fwd",
                "sys_s_per_fwd",
                "cpu_s_per_fwdbwd",
                "sys_s_per_fwdbwd",
            ]
            .into_iter()
            .enumerate()
            {
                results[i].cpu[j].push(v[key].as_f64().unwrap_or(f64::NAN));
            }
            let slot = &mut results[i];
            slot.fwd.push(f);
            slot.fwdbwd.push(b);
            slot.faults_fwd
                .push(v["faults_per_fwd"].as_f64().unwrap_or(f64::NAN));
            slot.faults_fwdbwd
                .push(v["faults_per_fwdbwd"].as_f64().unwrap_or(f64::NAN));
            slot.last = v;
        }
    }
    let base = names
        .iter()
        .position(|n| *n == "tuned")
        .expect("checked above");
    let (base_f, base_b) = (results[base].fwd.clone(), results[base].fwdbwd.clone());
    if let Some(batch) = results[base].last["batch"].as_str() {
        println!(
            "Batch: {batch}, fanout 10,10 (the largest intermediate of one edge type is {} MiB). Each child times {} no_grad forwards and {} fwd+bwd after one warm-up of each; a cell is the median over rounds of each child's median.",
            results[base].last["largest_mib"], sizes.child_fwd, sizes.child_bwd
        );
        println!();
    }
    table(&[
        "setting",
        "fwd no_grad",
        "ratio to tuned (min–max)",
        "fwd+bwd",
        "ratio to tuned (min–max)",
        "minor faults / fwd, / fwd+bwd",
        "process CPU (sys) / fwd",
        "process CPU (sys) / fwd+bwd",
        "served by mmap (1, 8, 31, 48, 200 MiB)",
    ]);
    for (i, n) in names.iter().enumerate() {
        let AllocResults {
            fwd: f,
            fwdbwd: b,
            faults_fwd: ff,
            faults_fwdbwd: fb,
            cpu,
            last,
        } = &results[i];
        let rf: Vec<f64> = f.iter().zip(&base_f).map(|(a, b)| a / b).collect();
        let rb: Vec<f64> = b.iter().zip(&base_b).map(|(a, b)| a / b).collect();
        let probe_cells: Vec<&str> = ["1MiB", "8MiB", "31MiB", "48MiB", "200MiB"]
            .iter()
            .map(|k| match last["mmap_probe"][k].as_bool() {
                Some(true) => "mmap",
                Some(false) => "heap",
                None => "?",
            })
            .collect();
        row(&[
            format!("`{n}`: {}", variant(n)?.what),
            fmt_time(stats(f).median),
            fmt_ratios(&stats(&rf)),
            fmt_time(stats(b).median),
            fmt_ratios(&stats(&rb)),
            format!("{:.0}, {:.0}", stats(ff).median, stats(fb).median),
            format!(
                "{} ({})",
                fmt_time(stats(&cpu[0]).median),
                fmt_time(stats(&cpu[1]).median)
            ),
            format!(
                "{} ({})",
                fmt_time(stats(&cpu[2]).median),
                fmt_time(stats(&cpu[3]).median)
            ),
            probe_cells.join(", "),
        ]);
    }
    println!();
    let mut accepted = vec![];
    for c in probe["mallopt"].as_array().into_iter().flatten() {
        accepted.push(format!(
            "{} {}",
            c["param"].as_str().unwrap_or("?"),
            if c["ok"].as_bool() == Some(true) {
                "accepted"
            } else {
                "REFUSED"
            }
        ));
    }
    println!(
        "mallopt calls of tune_allocator, each alone from glibc's defaults: {}.",
        accepted.join("; ")
    );
    for (i, n) in names.iter().enumerate() {
        let last = &results[i].last;
        let mut notes = vec![];
        if let Some(t) = last["tune_allocator"].as_bool() {
            notes.push(format!("tune_allocator returned {t}"));
        }
        for c in last["mallopt"].as_array().into_iter().flatten() {
            notes.push(format!(
                "{} {}",
                c["param"].as_str().unwrap_or("?"),
                if c["ok"].as_bool() == Some(true) {
                    "accepted"
                } else {
                    "REFUSED"
                }
            ));
        }
        if !notes.is_empty() {
            println!("`{n}`: {}.", notes.join("; "));
        }
    }
    println!();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_median_p90_and_spread() {
        let s = stats(&[5.0, 1.0, 3.0, 2.0, 4.0]);
        assert_eq!((s.median, s.min, s.max, s.n), (3.0, 1.0, 5.0, 5));
        assert_eq!(s.p90, 5.0);
        let s = stats(&[4.0, 1.0, 3.0, 2.0]);
        assert_eq!(s.median, 2.5);
        let xs: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(stats(&xs).p90, 9.0);
        assert!(stats(&[]).median.is_nan());
        assert_eq!(stats(&[f64::NAN, 2.0]).n, 1);
    }

    #[test]
    fn order_alternates() {
        assert_eq!(order(0), [Path::Plugin, Path::Native]);
        assert_eq!(order(1), [Path::Native, Path::Plugin]);
    }

    #[test]
    fn config_resolves_for_the_demo_graph() {
        let c = config(1024, "10,10").unwrap();
        assert_eq!((c.batch_size, c.num_layers, c.hidden_size), (1024, 2, 128));
        assert_eq!(c.fanout.as_deref(), Some("10,10"));
        assert_eq!(c.dropout, 0.0);
    }

    #[test]
    fn every_default_variant_is_known() {
        for name in [
            "default",
            "tuned",
            "tuned-no-mmap",
            "tuned-arena1",
            "env-prototype",
        ] {
            assert!(variant(name).is_ok(), "{name}");
        }
        assert!(variant("nonsense").is_err());
    }

    #[test]
    fn process_cpu_time_counts_the_work_of_every_thread() {
        // Two workers each burn 0.2 s of their own CPU time while the calling thread waits:
        // the process clock must see both, whatever else runs on the machine.
        let spin = || {
            let start = clock_seconds(3); // CLOCK_THREAD_CPUTIME_ID
            let mut x = 0u64;
            while clock_seconds(3) - start < 0.2 {
                x = black_box(x.wrapping_add(1));
            }
        };
        let before = process_cpu_seconds();
        std::thread::scope(|s| {
            s.spawn(spin);
            s.spawn(spin);
        });
        let used = process_cpu_seconds() - before;
        assert!(
            used >= 0.39,
            "process CPU time grew by {used} s, not by 0.4 s"
        );
    }

    #[test]
    fn agreement_passes_only_when_every_difference_is_zero() {
        let mut agreement = Agreement {
            perturb_plugin: false,
            diffs: vec![],
        };
        agreement.record("outputs".into(), 0.0);
        agreement.verdict().unwrap();
        agreement.record("loss curves".into(), 1e-9);
        agreement.record("warm-up".into(), f64::NAN);
        let err = agreement.verdict().unwrap_err().to_string();
        assert!(err.contains("loss curves: max |diff| = 1e-9"), "{err}");
        assert!(err.contains("warm-up"), "{err}");
        assert!(!err.contains("outputs"), "{err}");
    }
}
