//! `gs bench plugin-boundary`: parts 1–3 (export calls, tiny and big forwards, training
//! epochs), the plugin against the native oracle with the same weights; part 4 is [`crate::alloc`].

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, bail, ensure};
use clap::{Args, ValueEnum};
use gs_batch::{BatchData, Mode};
use gs_config::{TaskType, TrainConfig};
use gs_graph::{DemoParams, HeteroGraph, generate_demo};
use gs_runtime::{Plugin, PluginEngine, PluginError, PluginInstance, PluginLimits};
use gs_tensor::{Device, Kind, ParamStore, Tensor, tch};
use gs_train::{Encoder, NodeTask, PreparedBatch, TaskModel};

use crate::alloc::*;
use crate::report::*;

pub(crate) const CHILD_LINE: &str = "GS_BENCH_ALLOC ";

#[derive(Args)]
pub struct PluginBoundary {
    /// Repetitions: epochs per path, and rounds of allocator children (default 7; 2 with --quick).
    #[arg(long)]
    pub(crate) reps: Option<usize>,
    /// Training batches (of 1,024 seeds) per epoch (default 20; 2 with --quick).
    #[arg(long)]
    pub(crate) batches: Option<usize>,
    /// Papers in the in-memory demo graph; it has half as many authors, 128-dim features and
    /// average degree 10 (default 100000; 3000 with --quick).
    #[arg(long)]
    pub(crate) papers: Option<u64>,
    /// Tiny sizes and few repetitions: a smoke test that finishes in seconds.
    #[arg(long)]
    pub(crate) quick: bool,
    /// Run only these parts (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub(crate) only: Vec<Part>,
    /// Allocator settings the `alloc` part compares (comma-separated; `tuned` is the baseline).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "default,tuned,tuned-no-mmap,tuned-arena1,env-prototype"
    )]
    pub(crate) alloc_variants: Vec<String>,
    /// Seeds per batch in the `alloc` part's children (fanout 10,10).
    #[arg(long, default_value_t = 1024)]
    pub(crate) alloc_batch_size: u32,
    /// Internal: time the big-batch forward under one allocator setting and print JSON.
    #[arg(long, hide = true)]
    pub(crate) alloc_child: Option<String>,
    /// Testing: add 1e-3 to one plugin weight after both models are built, so outputs and loss
    /// curves differ and the run must fail.
    #[arg(long, hide = true)]
    pub(crate) perturb_plugin: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Part {
    Call,
    Tiny,
    Big,
    Epoch,
    Alloc,
}

/// Sizes of one run.
#[derive(Debug, Clone)]
pub(crate) struct Sizes {
    pub(crate) papers: u64,
    pub(crate) reps: usize,
    pub(crate) batches: usize,
    /// Export-call samples per path, and calls per sample.
    pub(crate) call_samples: usize,
    pub(crate) calls_per_sample: usize,
    /// Tiny forwards: alternating rounds, forwards per path per round.
    pub(crate) tiny_rounds: usize,
    pub(crate) tiny_per_round: usize,
    /// Big-batch forwards: alternating rounds (one forward and one fwd+bwd per path per round).
    pub(crate) big_rounds: usize,
    /// Allocator children: forwards and fwd+bwd steps each child times.
    pub(crate) child_fwd: usize,
    pub(crate) child_bwd: usize,
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

// ---------------------------------------------------------------------------------------
// Setup

pub(crate) fn demo_params(papers: u64) -> DemoParams {
    DemoParams {
        num_papers: papers,
        num_authors: (papers / 2).max(1),
        feat_dim: 128,
        avg_degree: 10.0,
        ..DemoParams::default()
    }
}

/// A node-classification config over the demo graph, built the way `gs launch` builds it.
pub(crate) fn config(batch_size: u32, fanout: &str) -> anyhow::Result<TrainConfig> {
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

pub(crate) fn tiny_task(graph: &Arc<HeteroGraph>) -> anyhow::Result<NodeTask> {
    Ok(NodeTask::new(
        graph.clone(),
        config(8, "5,5")?,
        Device::Cpu,
    )?)
}

pub(crate) fn big_task(graph: &Arc<HeteroGraph>, batch_size: u32) -> anyhow::Result<NodeTask> {
    Ok(NodeTask::new(
        graph.clone(),
        config(batch_size, "10,10")?,
        Device::Cpu,
    )?)
}

pub(crate) fn load_sage(engine: &PluginEngine, bytes: &[u8]) -> anyhow::Result<Plugin> {
    Ok(engine.load_bytes("sage", bytes)?)
}

pub(crate) fn instance(plugin: &Plugin, task: &NodeTask) -> anyhow::Result<PluginInstance> {
    Ok(plugin.instantiate(
        PluginLimits::default(),
        ParamStore::new(task.config().seed, Device::Cpu),
    )?)
}

/// The plugin model and the native oracle, both with the host decoder and the same weights.
pub(crate) fn models(plugin: &Plugin, task: &NodeTask) -> anyhow::Result<(TaskModel, TaskModel)> {
    let p = task.plugin_model(instance(plugin, task)?, vec![])?;
    let n = task.native_model()?;
    Ok((p, n))
}

pub(crate) fn host_calls(model: &TaskModel) -> u64 {
    match model.encoder() {
        Encoder::Plugin(p) => p.host_calls(),
        Encoder::Native { .. } => 0,
    }
}

pub(crate) fn max_abs_diff(a: &Tensor, b: &Tensor) -> f64 {
    (a - b).abs().max().double_value(&[])
}

/// Plugin against native: every comparison of outputs or loss curves is recorded, and the run
/// fails unless all of them are exactly equal (`BENCHMARKS.md` claims bit-identical results).
pub(crate) struct Agreement {
    /// `--perturb-plugin`: shift one plugin weight, so the check can be seen to fail.
    pub(crate) perturb_plugin: bool,
    /// What was compared, and the largest absolute difference found.
    pub(crate) diffs: Vec<(String, f64)>,
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
pub(crate) fn describe_batch(batch: &PreparedBatch) -> String {
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
pub(crate) fn largest_mib(batch: &PreparedBatch) -> u64 {
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

pub(crate) fn build_profile() -> &'static str {
    if cfg!(debug_assertions) {
        "dev profile (workspace opt-level 1, dependencies opt-level 2)"
    } else {
        "release profile"
    }
}

// ---------------------------------------------------------------------------------------
// The run

/// `gs bench plugin-boundary`; `sage` is the built-in `sage` component.
pub(crate) fn run(args: &PluginBoundary, sage: &[u8]) -> anyhow::Result<()> {
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
    if load_average_is_high() {
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
        "- model: 2-layer GraphSAGE as GraphStorm's (input layer, pool aggregator), hidden 128, 4 classes, dropout 0; host decoder and \
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
    let plugin = load_sage(&engine, sage)?;
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
pub(crate) fn native_returning_call(outputs: &Tensor, labels: &Tensor) -> Option<Tensor> {
    let copies = (
        black_box(outputs.shallow_clone()),
        black_box(labels.shallow_clone()),
    );
    drop(black_box(copies));
    None
}

/// Part 1: host→guest export calls that return at once.
pub(crate) fn bench_calls(
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
pub(crate) fn bench_forward(
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
pub(crate) fn bench_epochs(
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_resolves_for_the_demo_graph() {
        let c = config(1024, "10,10").unwrap();
        assert_eq!((c.batch_size, c.num_layers, c.hidden_size), (1024, 2, 128));
        assert_eq!(c.fanout.as_deref(), Some("10,10"));
        assert_eq!(c.dropout, 0.0);
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
