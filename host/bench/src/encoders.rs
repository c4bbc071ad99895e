//! `gs bench encoders`: every built-in GNN encoder as a plugin against its native twin
//! ([`crate::native_encoders`]; `sage` against gs-train's `NativeSage`), with the same weights
//! and the same sampled batches, in one process. Per encoder it times training steps of the
//! encoder (forward of the batch's target embeddings and the backward of their sum; the host
//! decoder, loss and optimizer are the same code on both paths and are left out), alternating
//! the two paths repetition by repetition, and reports the medians, the median ratio
//! plugin/native with its spread over repetitions, the host calls per forward and how far the
//! two outputs differ.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use gs_graph::{HeteroGraph, generate_demo};
use gs_runtime::PluginEngine;
use gs_tensor::{Kind, Tensor, tch};
use gs_train::{NodeTask, PreparedBatch, TaskModel};

use crate::native_encoders::{self, Weights};
use crate::plugin_boundary::{
    big_task, build_profile, demo_params, host_calls, instance, max_abs_diff,
};
use crate::report::*;

#[derive(Args)]
pub struct EncodersArgs {
    /// Repetitions per encoder; the plugin and the native path alternate which goes first.
    #[arg(long, default_value_t = 5)]
    pub(crate) reps: usize,
    /// Training steps per path per repetition.
    #[arg(long, default_value_t = 100)]
    pub(crate) batches: usize,
    /// Distinct sampled batches (of 1,024 seeds, fanout 10,10) the steps cycle through; they
    /// are sampled once, before timing, and kept in memory.
    #[arg(long, default_value_t = 10)]
    pub(crate) distinct: usize,
    /// Papers in the generated demo graph; it has half as many authors (so 700,000 papers
    /// make 1.05M nodes), 4 edge types, 128-dim features and average degree 10.
    #[arg(long, default_value_t = 700_000)]
    pub(crate) papers: u64,
    /// Only these encoders (comma-separated; default all: sage, rgcn, rgat, hgt, gat, gatv2).
    #[arg(long, value_delimiter = ',')]
    pub(crate) only: Vec<String>,
    /// Tiny sizes: a smoke test that finishes in seconds.
    #[arg(long)]
    pub(crate) quick: bool,
}

/// One encoder's two paths over the same batches.
struct Pair {
    plugin: TaskModel,
    native: Native,
    etypes: Vec<String>,
}

/// The native twin: for `sage` a whole `TaskModel` (gs-train's `NativeSage`, its weights
/// made from the same seed and names), for the others [`native_encoders`] over copies of the
/// plugin's weights.
enum Native {
    Model(Box<TaskModel>),
    Encoder { name: String, weights: Weights },
}

impl Pair {
    fn new(
        name: &str,
        bytes: &[u8],
        task: &NodeTask,
        engine: &PluginEngine,
    ) -> anyhow::Result<Self> {
        let plugin = engine.load_bytes(name, bytes)?;
        let plugin = task.plugin_model(instance(&plugin, task)?, vec![])?;
        let native = if name == "sage" {
            Native::Model(Box::new(task.native_model()?))
        } else {
            let weights = plugin
                .named_weights()
                .into_iter()
                .filter_map(|(n, t)| {
                    let n = n.strip_prefix("gnn/")?.to_string();
                    Some((n, t.detach().copy().set_requires_grad(true)))
                })
                .collect();
            Native::Encoder {
                name: name.to_string(),
                weights: Weights(weights),
            }
        };
        let etypes = task.graph().edge_types().map(ToString::to_string).collect();
        Ok(Pair {
            plugin,
            native,
            etypes,
        })
    }

    fn embed(&mut self, path: Path, batch: &PreparedBatch) -> anyhow::Result<Tensor> {
        Ok(match (path, &mut self.native) {
            (Path::Plugin, _) => self.plugin.target_embeddings(&batch.data)?,
            (Path::Native, Native::Model(m)) => m.target_embeddings(&batch.data)?,
            (Path::Native, Native::Encoder { name, weights }) => {
                native_encoders::encode(name, &batch.data, weights, &self.etypes)?
            }
        })
    }

    /// One training step of the encoder: forward, then the backward of the outputs' sum.
    fn step(&mut self, path: Path, batch: &PreparedBatch) -> anyhow::Result<()> {
        let h = self.embed(path, batch)?;
        h.sum(Kind::Float).backward();
        drop(black_box(h));
        Ok(())
    }
}

/// `gs bench encoders`; `builtin` gives a built-in plugin's component by name.
pub(crate) fn run(
    args: &EncodersArgs,
    builtin: &dyn Fn(&str) -> anyhow::Result<&'static [u8]>,
) -> anyhow::Result<()> {
    let (papers, reps, batches, distinct) = if args.quick {
        (3000, 2, 2, 2)
    } else {
        (
            args.papers,
            args.reps.max(1),
            args.batches.max(1),
            args.distinct.max(1),
        )
    };
    // `sage`'s twin is gs-train's `NativeSage`; the others' are in `native_encoders`.
    let all: Vec<&str> = std::iter::once("sage")
        .chain(native_encoders::ENCODERS.iter().copied())
        .collect();
    let encoders: Vec<&str> = if args.only.is_empty() {
        all.to_vec()
    } else {
        for e in &args.only {
            anyhow::ensure!(
                all.contains(&e.as_str()),
                "unknown encoder `{e}`; choose from {all:?}"
            );
        }
        all.iter()
            .copied()
            .filter(|e| args.only.iter().any(|o| o == e))
            .collect()
    };
    gs_tensor::seed_and_threads(42, None);

    println!("# gs bench encoders");
    println!();
    println!(
        "- build: {}; {} CPUs available; torch threads {}; load average at start {}",
        build_profile(),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        tch::get_num_threads(),
        crate::alloc::load_average(),
    );
    let params = demo_params(papers);
    let t = Instant::now();
    let graph: Arc<HeteroGraph> = Arc::new(generate_demo(&params));
    println!(
        "- graph: generate_demo in memory: {} nodes ({} papers, {} authors), {} edges of {} \
         types, features 128, in {}",
        graph.total_nodes(),
        params.num_papers,
        params.num_authors,
        graph.total_edges(),
        graph.edge_types().count(),
        fmt_time(t.elapsed().as_secs_f64()),
    );
    println!(
        "- each encoder: 2 layers, hidden 128, default heads (4), dropout 0; batches of 1,024 \
         seeds, fanout 10,10; {distinct} distinct batches sampled before timing; per \
         repetition {batches} training steps (forward + backward of the targets' sum) per \
         path; {reps} repetitions, the paths alternating which goes first"
    );
    println!();
    table(&[
        "encoder",
        "plugin, per step (median over reps)",
        "native, per step",
        "ratio plugin/native: median (min–max over reps)",
        "host calls per forward",
        "max |plugin − native| of the outputs",
    ]);
    let engine = PluginEngine::new(None)?;
    let task = big_task(&graph, 1024)?;
    let sampled = task.training_batches(distinct)?;
    anyhow::ensure!(!sampled.is_empty(), "the graph has no training batch");
    for encoder in encoders {
        progress(&format!("{encoder}: building both paths"));
        let mut pair = Pair::new(encoder, builtin(encoder)?, &task, &engine)?;
        let (diff, calls) = {
            let before = host_calls(&pair.plugin);
            let p = pair.embed(Path::Plugin, &sampled[0])?;
            let calls = host_calls(&pair.plugin) - before;
            let n = pair.embed(Path::Native, &sampled[0])?;
            (max_abs_diff(&p, &n), calls)
        };
        // Warm-up: one step of each path.
        for path in [Path::Plugin, Path::Native] {
            pair.step(path, &sampled[0])?;
        }
        let (mut per_step_p, mut per_step_n, mut ratios) = (vec![], vec![], vec![]);
        for rep in 0..reps {
            let mut times = [0.0f64; 2];
            for path in order(rep) {
                let t = Instant::now();
                for i in 0..batches {
                    pair.step(path, &sampled[i % sampled.len()])
                        .with_context(|| format!("{encoder}, {path:?} path"))?;
                }
                times[usize::from(path == Path::Native)] =
                    t.elapsed().as_secs_f64() / batches as f64;
            }
            progress(&format!(
                "{encoder} rep {rep}: plugin {}, native {} per step",
                fmt_time(times[0]),
                fmt_time(times[1])
            ));
            per_step_p.push(times[0]);
            per_step_n.push(times[1]);
            ratios.push(times[0] / times[1]);
        }
        row(&[
            format!("`{encoder}`"),
            fmt_time(stats(&per_step_p).median),
            fmt_time(stats(&per_step_n).median),
            fmt_ratios(&stats(&ratios)),
            calls.to_string(),
            format!("{diff:.1e}"),
        ]);
    }
    Ok(())
}
