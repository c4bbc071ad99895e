//! `gs bench task`: whole training jobs, as a user runs them, timed from start to final
//! metrics (issue 8). On a generated user–item graph at MovieLens-100K scale, a 10-epoch RGCN
//! edge-regression job and a link-prediction job (dot product, contrastive loss, 4 joint
//! negatives, 100 for evaluation), evaluating every epoch; then one epoch of each on a
//! ≥ 1M-node graph, link prediction's epoch being a fixed number of batches.
//!
//! The graphs are written to a temporary folder first, as `gs generate user-item` writes them.
//! Each job runs in a child process of this binary ([`crate::task_job`]) so that its peak RSS
//! is its own; the report ([`crate::task_report`]) gives wall time, time per epoch, peak RSS,
//! the shares of the training loop's phases, and the final metric.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use gs_graph::UserItemParams;
use serde_json::Value;

use crate::report::progress;
use crate::task_graph::{WrittenGraph, write_graph};
use crate::task_job::{JobKind, parse_job_line, run_job};
use crate::task_report;

#[derive(Args)]
pub struct TaskArgs {
    /// Users of the MovieLens-scale graph (default 943; 200 with --quick).
    #[arg(long)]
    num_users: Option<u64>,
    /// Items of the MovieLens-scale graph (default 1682; 240 with --quick).
    #[arg(long)]
    num_items: Option<u64>,
    /// Ratings of the MovieLens-scale graph, each with a reverse edge (default 100000; 1000
    /// with --quick).
    #[arg(long)]
    num_ratings: Option<u64>,
    /// Width of the generated `feat`; the one-hot `group` (8) is read too (default 12: 20
    /// input floats per node).
    #[arg(long, default_value_t = 12)]
    feat_dim: usize,
    /// Epochs of the MovieLens-scale jobs (default 10; 2 with --quick).
    #[arg(long)]
    num_epochs: Option<usize>,
    /// Users of the large graph (default 400000; 2000 with --quick).
    #[arg(long)]
    large_users: Option<u64>,
    /// Items of the large graph (default 600000; 3000 with --quick).
    #[arg(long)]
    large_items: Option<u64>,
    /// Ratings of the large graph (default 1000000; 10000 with --quick).
    #[arg(long)]
    large_ratings: Option<u64>,
    /// Training batches of link prediction's epoch on the large graph (default 50; 2 with --quick).
    #[arg(long)]
    large_lp_batches: Option<usize>,
    /// Runs of every job (each in a fresh process); the report gives medians.
    #[arg(long, default_value_t = 1)]
    reps: usize,
    /// Tiny graphs and 2 epochs: a smoke test of every part (figures meaningless).
    #[arg(long)]
    quick: bool,
    /// Run only these parts (comma-separated).
    #[arg(long, value_delimiter = ',')]
    only: Vec<TaskPart>,
    /// More GraphStorm flags for every job, e.g. `--num-omp-threads 1` (one string).
    #[arg(long, allow_hyphen_values = true)]
    extra_flags: Option<String>,
    /// Internal: run one job in this process and print its JSON line.
    #[arg(long, hide = true)]
    job: Option<JobKind>,
    /// Internal: train only this many batches of epoch 0 (no evaluation).
    #[arg(long, hide = true)]
    job_steps: Option<usize>,
    /// Internal: the job's GraphStorm flags.
    #[arg(last = true, hide = true)]
    job_flags: Vec<String>,
}

/// The parts of `gs bench task`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum TaskPart {
    /// 10-epoch edge regression on the MovieLens-scale graph.
    EdgeRegression,
    /// 10-epoch link prediction on the MovieLens-scale graph.
    LinkPrediction,
    /// One epoch of edge regression on the large graph.
    LargeEdgeRegression,
    /// A fixed number of link-prediction batches on the large graph.
    LargeLinkPrediction,
}

impl TaskPart {
    /// The part's name on the command line (`--only`).
    pub(crate) fn name(self) -> String {
        self.to_possible_value()
            .map_or_else(String::new, |v| v.get_name().to_string())
    }
}

/// Sizes of one run.
pub(crate) struct Sizes {
    pub(crate) small: UserItemParams,
    pub(crate) large: UserItemParams,
    pub(crate) num_epochs: usize,
    pub(crate) large_lp_batches: usize,
}

impl Sizes {
    fn new(args: &TaskArgs) -> Self {
        let q = args.quick;
        let pick = |given: Option<u64>, full: u64, quick: u64| {
            given.unwrap_or(if q { quick } else { full })
        };
        let base = UserItemParams {
            feat_dim: args.feat_dim,
            ..UserItemParams::default()
        };
        Sizes {
            small: UserItemParams {
                num_users: pick(args.num_users, 943, 200),
                num_items: pick(args.num_items, 1682, 240),
                num_ratings: pick(args.num_ratings, 100_000, 1000),
                ..base.clone()
            },
            large: UserItemParams {
                num_users: pick(args.large_users, 400_000, 2000),
                num_items: pick(args.large_items, 600_000, 3000),
                num_ratings: pick(args.large_ratings, 1_000_000, 10_000),
                ..base
            },
            num_epochs: args.num_epochs.unwrap_or(if q { 2 } else { 10 }),
            large_lp_batches: args.large_lp_batches.unwrap_or(if q { 2 } else { 50 }),
        }
    }
}

/// One job of the run: which, on which graph, with which flags.
pub(crate) struct JobSpec {
    pub(crate) part: TaskPart,
    pub(crate) kind: JobKind,
    pub(crate) flags: Vec<String>,
    /// A fixed number of training batches instead of whole epochs.
    pub(crate) steps: Option<usize>,
}

/// The GraphStorm flags of a job, as `gs edge-regression` / `gs link-prediction` take them.
pub(crate) fn job_flags(
    kind: JobKind,
    part_config: &str,
    num_epochs: usize,
    extra: Option<&str>,
) -> Vec<String> {
    let epochs = num_epochs.to_string();
    let mut flags: Vec<&str> = vec![
        "--part-config",
        part_config,
        "--num-trainers",
        "1",
        "--num-layers",
        "2",
        "--fanout",
        "10,10",
        "--hidden-size",
        "64",
        "--batch-size",
        "1024",
        "--lr",
        "0.01",
        "--num-epochs",
        &epochs,
        "--node-feat-name",
        "user:feat,group",
        "item:feat,group",
        "--reverse-edge-types-map",
        "user,rates,rated-by,item",
        "--exclude-training-targets",
        "true",
    ];
    match kind {
        JobKind::EdgeRegression => flags.extend([
            "--target-etype",
            "user,rates,item",
            "--label-field",
            "rating",
            // GraphStorm's default `true` would drop both edge types of this graph from
            // message passing: the job would run no message passing at all.
            "--remove-target-edge-type",
            "false",
        ]),
        JobKind::LinkPrediction => flags.extend([
            "--train-etype",
            "user,rates,item",
            "--eval-etype",
            "user,rates,item",
            "--lp-decoder-type",
            "dot_product",
            "--lp-loss-func",
            "contrastive",
            "--train-negative-sampler",
            "joint",
            "--num-negative-edges",
            "4",
            "--eval-negative-sampler",
            "joint",
            "--num-negative-edges-eval",
            "100",
            "--eval-metric",
            "mrr",
        ]),
    }
    let mut flags: Vec<String> = flags.into_iter().map(String::from).collect();
    flags.extend(extra.unwrap_or("").split_whitespace().map(String::from));
    flags
}

/// Runs `gs bench task`, or one of its jobs when `--job` is given.
pub(crate) fn run(args: &TaskArgs, rgcn: &[u8]) -> anyhow::Result<()> {
    if let Some(kind) = args.job {
        return run_job(kind, &args.job_flags, args.job_steps, rgcn);
    }
    let sizes = Sizes::new(args);
    let parts: Vec<TaskPart> = if args.only.is_empty() {
        TaskPart::value_variants().to_vec()
    } else {
        args.only.clone()
    };
    let (load_at_start, busy_at_start) = (
        crate::alloc::load_average(),
        crate::alloc::load_average_is_high(),
    );
    let folder = tempfile::tempdir().context("cannot make a temporary folder for the graphs")?;
    let wants = |p: TaskPart| parts.contains(&p);
    let small = if wants(TaskPart::EdgeRegression) || wants(TaskPart::LinkPrediction) {
        progress("writing the MovieLens-scale graph");
        Some(write_graph(
            &folder.path().join("small"),
            sizes.small.clone(),
        )?)
    } else {
        None
    };
    let large = if wants(TaskPart::LargeEdgeRegression) || wants(TaskPart::LargeLinkPrediction) {
        progress("writing the large graph");
        Some(write_graph(
            &folder.path().join("large"),
            sizes.large.clone(),
        )?)
    } else {
        None
    };
    let extra = args.extra_flags.as_deref();
    let specs = job_specs(&parts, &sizes, small.as_ref(), large.as_ref(), extra);
    let mut results: Vec<Vec<Value>> = specs.iter().map(|_| vec![]).collect();
    for rep in 0..args.reps.max(1) {
        for (i, spec) in specs.iter().enumerate() {
            let result = spawn_job(spec)?;
            progress(&format!(
                "rep {}/{}: {} wall {:.2} s, peak RSS {:.0} MiB",
                rep + 1,
                args.reps.max(1),
                spec.part.name(),
                result["wall_s"].as_f64().unwrap_or(f64::NAN),
                result["peak_rss_mib"].as_f64().unwrap_or(f64::NAN),
            ));
            results[i].push(result);
        }
    }
    task_report::print(&task_report::Run {
        sizes: &sizes,
        small: small.as_ref(),
        large: large.as_ref(),
        specs: &specs,
        results: &results,
        load_at_start,
        busy_at_start,
        load_at_end: crate::alloc::load_average(),
        extra,
    });
    Ok(())
}

fn job_specs(
    parts: &[TaskPart],
    sizes: &Sizes,
    small: Option<&WrittenGraph>,
    large: Option<&WrittenGraph>,
    extra: Option<&str>,
) -> Vec<JobSpec> {
    let path = |g: Option<&WrittenGraph>| {
        g.map(|g| g.part_config.display().to_string())
            .unwrap_or_default()
    };
    let (small, large) = (path(small), path(large));
    parts
        .iter()
        .map(|&part| {
            let (kind, graph, epochs, steps) = match part {
                TaskPart::EdgeRegression => {
                    (JobKind::EdgeRegression, &small, sizes.num_epochs, None)
                }
                TaskPart::LinkPrediction => {
                    (JobKind::LinkPrediction, &small, sizes.num_epochs, None)
                }
                TaskPart::LargeEdgeRegression => (JobKind::EdgeRegression, &large, 1, None),
                TaskPart::LargeLinkPrediction => (
                    JobKind::LinkPrediction,
                    &large,
                    1,
                    Some(sizes.large_lp_batches),
                ),
            };
            JobSpec {
                part,
                kind,
                flags: job_flags(kind, graph, epochs, extra),
                steps,
            }
        })
        .collect()
}

/// This very binary, to run a job in a child process.
fn own_executable() -> anyhow::Result<std::path::PathBuf> {
    // /proc/self/exe runs this very binary even if a rebuild has replaced the file meanwhile.
    let proc_exe = Path::new("/proc/self/exe");
    if proc_exe.exists() {
        return Ok(proc_exe.to_path_buf());
    }
    std::env::current_exe().context("cannot find this executable to re-run it")
}

/// Runs one job in a child process; returns its JSON line with the process's own wall time
/// (`process_wall_s`: exec to exit, libraries loading included) added.
fn spawn_job(spec: &JobSpec) -> anyhow::Result<Value> {
    let mut cmd = Command::new(own_executable()?);
    cmd.args(["bench", "task", "--job", spec.kind.command()]);
    if let Some(steps) = spec.steps {
        cmd.args(["--job-steps", &steps.to_string()]);
    }
    cmd.arg("--").args(&spec.flags);
    let started = Instant::now();
    let output = cmd.output().context("cannot start a job child")?;
    let process_wall = started.elapsed().as_secs_f64();
    let stdout = String::from_utf8_lossy(&output.stdout);
    match parse_job_line(&stdout) {
        Some(mut line) if output.status.success() => {
            line["process_wall_s"] = process_wall.into();
            Ok(line)
        }
        _ => bail!(
            "job {} failed ({}):\n{}{}",
            spec.part.name(),
            output.status,
            stdout,
            String::from_utf8_lossy(&output.stderr)
        ),
    }
}
