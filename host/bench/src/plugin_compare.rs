//! `gs bench plugin-compare`: another GraphSAGE component (`examples/python-sage` built by
//! `gs plugin build`) against the built-in Rust `sage`, on the same batches, in one process.
//!
//! - Per-op boundary cost: the tiny batch's no_grad forward of each plugin and of the native
//!   oracle, alternating every round; `(plugin − native) / host calls` per plugin, and the
//!   ratio of the two.
//! - Training: epochs of real steps on the big batches, the two plugins alternating every
//!   repetition; the ratio of their medians. The two loss curves must be identical (same
//!   weights, same ops), or the run fails: it would be comparing different models.

use std::hint::black_box;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, ensure};
use clap::Args;
use gs_batch::Mode;
use gs_graph::generate_demo;
use gs_runtime::{Plugin, PluginEngine};
use gs_tensor::tch;
use gs_train::{NodeTask, TaskModel};

use crate::plugin_boundary::{big_task, demo_params, host_calls, instance, tiny_task};
use crate::report::*;

#[derive(Args)]
pub struct PluginCompareArgs {
    /// The component to compare with the built-in `sage`: one with sage's architecture and
    /// weight names, such as `examples/python-sage` built by `gs plugin build`.
    #[arg(long)]
    pub(crate) plugin: PathBuf,
    /// Alternating rounds of tiny forwards (default 20; 3 with --quick).
    #[arg(long)]
    pub(crate) rounds: Option<usize>,
    /// Training epochs per plugin, alternating (default 5; 2 with --quick).
    #[arg(long)]
    pub(crate) reps: Option<usize>,
    /// Training batches (of 1,024 seeds, fanout 10,10) per epoch (default 10; 2 with --quick).
    #[arg(long)]
    pub(crate) batches: Option<usize>,
    /// Papers in the in-memory demo graph (default 100000; 3000 with --quick).
    #[arg(long)]
    pub(crate) papers: Option<u64>,
    /// Tiny sizes: a smoke test that finishes in seconds (after the compile).
    #[arg(long)]
    pub(crate) quick: bool,
}

/// One side of the comparison.
struct Side {
    name: String,
    plugin: Plugin,
}

pub(crate) fn run(args: &PluginCompareArgs, sage: &[u8]) -> anyhow::Result<()> {
    let pick = |full: usize, quick: usize, arg: Option<usize>| {
        arg.unwrap_or(if args.quick { quick } else { full }).max(1)
    };
    let rounds = pick(20, 3, args.rounds);
    let reps = pick(5, 2, args.reps);
    let batches = pick(10, 2, args.batches);
    let papers = args
        .papers
        .unwrap_or(if args.quick { 3000 } else { 100_000 });
    gs_tensor::seed_and_threads(42, None);

    println!("# gs bench plugin-compare");
    println!();
    let bytes = std::fs::read(&args.plugin)
        .with_context(|| format!("cannot read `{}`", args.plugin.display()))?;
    let engine = PluginEngine::new(None)?;
    let t = Instant::now();
    let other = engine.load_bytes(&args.plugin.display().to_string(), &bytes)?;
    let compile = t.elapsed().as_secs_f64();
    let sides = [
        Side {
            name: "sage (Rust)".into(),
            plugin: engine.load_bytes("sage", sage)?,
        },
        Side {
            name: args
                .plugin
                .file_name()
                .map_or_else(|| "plugin".into(), |n| n.to_string_lossy().into_owned()),
            plugin: other,
        },
    ];
    let params = demo_params(papers);
    let graph = Arc::new(generate_demo(&params));
    println!(
        "- `{}`: {} bytes, compiled in {} (no cache); against the built-in `sage`",
        args.plugin.display(),
        bytes.len(),
        fmt_time(compile)
    );
    println!(
        "- graph: generate_demo in memory, {} papers, {} authors, 128-dim features, {} edges; \
         model: 2-layer GraphSAGE (pool), hidden 128; torch threads {}",
        params.num_papers,
        params.num_authors,
        graph.total_edges(),
        tch::get_num_threads()
    );
    println!();

    per_op_cost(&sides, &tiny_task(&graph)?, rounds)?;
    epochs(&sides, &big_task(&graph, 1024)?, reps, batches)
}

fn models(sides: &[Side], task: &NodeTask) -> anyhow::Result<Vec<TaskModel>> {
    sides
        .iter()
        .map(|s| Ok(task.plugin_model(instance(&s.plugin, task)?, vec![])?))
        .collect()
}

/// Part 1: the tiny forward of each plugin and of the native oracle, alternating.
fn per_op_cost(sides: &[Side], task: &NodeTask, rounds: usize) -> anyhow::Result<()> {
    let batch = task.first_training_batch()?;
    println!("## 1. Per-op boundary cost: no_grad forward of the tiny batch (8 seeds, fanout 5,5)");
    println!();
    let _g = tch::no_grad_guard();
    let mut plugins = models(sides, task)?;
    let mut native = task.native_model()?;
    let calls: Vec<u64> = plugins
        .iter_mut()
        .map(|m| {
            let before = host_calls(m);
            drop(m.outputs(&batch.data, Mode::Eval)?);
            Ok(host_calls(m) - before)
        })
        .collect::<anyhow::Result<_>>()?;
    let per_round = 50;
    let mut times: Vec<Vec<f64>> = vec![vec![]; sides.len() + 1];
    for r in 0..rounds {
        for k in 0..=sides.len() {
            let slot = (k + r) % (sides.len() + 1);
            let model = plugins.get_mut(slot).unwrap_or(&mut native);
            for _ in 0..per_round {
                let t = Instant::now();
                drop(black_box(model.outputs(&batch.data, Mode::Eval)?));
                times[slot].push(t.elapsed().as_secs_f64());
            }
        }
    }
    let native_median = stats(&times[sides.len()]).median;
    table(&[
        "path",
        "forward median (p90)",
        "host calls",
        "− native",
        "per host call",
    ]);
    let mut per_op = vec![];
    for (i, side) in sides.iter().enumerate() {
        let s = stats(&times[i]);
        let op = (s.median - native_median) / calls[i].max(1) as f64;
        per_op.push(op);
        row(&[
            side.name.clone(),
            fmt_stats(&s),
            calls[i].to_string(),
            fmt_time(s.median - native_median),
            fmt_time(op),
        ]);
    }
    row(&[
        "native oracle".into(),
        fmt_stats(&stats(&times[sides.len()])),
        "0".into(),
        "–".into(),
        "–".into(),
    ]);
    println!();
    println!(
        "Per host call, {} against {}: {:.1}×.",
        sides[1].name,
        sides[0].name,
        per_op[1] / per_op[0]
    );
    println!();
    Ok(())
}

/// Part 2: training epochs of the two plugins, alternating; their loss curves must agree.
fn epochs(sides: &[Side], task: &NodeTask, reps: usize, batches: usize) -> anyhow::Result<()> {
    println!(
        "## 2. Training epochs: {batches} steps of 1,024 seeds (fanout 10,10, Adam), the two \
         plugins alternating"
    );
    println!();
    let mut models = models(sides, task)?;
    // One warm-up step each.
    for m in &mut models {
        task.loss_curve(m, 1)?;
    }
    let mut times: Vec<Vec<f64>> = vec![vec![]; sides.len()];
    let mut ratios = vec![];
    let mut curve_diff: f64 = 0.0;
    for r in 0..reps {
        let mut curves: Vec<Vec<f64>> = vec![vec![]; sides.len()];
        let mut pair = vec![0.0; sides.len()];
        for k in 0..sides.len() {
            let slot = (k + r) % sides.len();
            let t = Instant::now();
            curves[slot] = task.loss_curve(&mut models[slot], batches)?;
            pair[slot] = t.elapsed().as_secs_f64();
            times[slot].push(pair[slot]);
        }
        curve_diff = curves[0]
            .iter()
            .zip(&curves[1])
            .map(|(a, b)| (a - b).abs())
            .fold(curve_diff, f64::max);
        ratios.push(pair[1] / pair[0]);
        progress(&format!(
            "epoch rep {}/{reps}: {} {}, {} {}",
            r + 1,
            sides[0].name,
            fmt_time(pair[0]),
            sides[1].name,
            fmt_time(pair[1])
        ));
    }
    table(&["path", "epoch median (p90)", "per step"]);
    for (i, side) in sides.iter().enumerate() {
        let s = stats(&times[i]);
        row(&[
            side.name.clone(),
            fmt_stats(&s),
            fmt_time(s.median / batches as f64),
        ]);
    }
    println!();
    let r = stats(&ratios);
    println!(
        "{} epoch / {} epoch: per-rep ratios {} (target ≤ 1.2). Loss curves: max |diff| = {curve_diff:e}.",
        sides[1].name,
        sides[0].name,
        fmt_ratios(&r)
    );
    ensure!(
        curve_diff == 0.0,
        "the two plugins' loss curves differ (max |diff| {curve_diff:e}): `{}` is not a \
         GraphSAGE with sage's weights and ops, so the comparison would mean nothing",
        sides[1].name
    );
    Ok(())
}
