//! The report of `gs bench task`: markdown tables of the jobs' JSON lines (wall time, time per
//! epoch, peak RSS, the shares of the training loop's phases, the final metrics), and the
//! issue's targets for the 10-epoch edge-regression job.

use gs_train::Phase;
use serde_json::Value;

use crate::alloc::glibc_version;
use crate::phase_clock::{TRAINER_PHASES, phase_key};
use crate::plugin_boundary::build_profile;
use crate::report::{fmt_time, row, stats, table};
use crate::task::{JobSpec, Sizes, TaskPart};
use crate::task_graph::{WrittenGraph, chance_mrr};
use crate::task_job::JobKind;

/// Targets of issue 8 for the whole 10-epoch edge-regression job on this machine.
const TARGET_WALL_S: f64 = 5.0;
const TARGET_PEAK_RSS_MB: f64 = 600.0;

/// Everything the report reads.
pub(crate) struct Run<'a> {
    pub(crate) sizes: &'a Sizes,
    pub(crate) small: Option<&'a WrittenGraph>,
    pub(crate) large: Option<&'a WrittenGraph>,
    pub(crate) specs: &'a [JobSpec],
    /// Per job, one JSON line per repetition.
    pub(crate) results: &'a [Vec<Value>],
    pub(crate) load_at_start: String,
    /// The 1-minute load average was above 1 at the start.
    pub(crate) busy_at_start: bool,
    pub(crate) load_at_end: String,
    pub(crate) extra: Option<&'a str>,
}

fn num(v: &Value, key: &str) -> f64 {
    v[key].as_f64().unwrap_or(f64::NAN)
}

/// The repetition whose wall time is the median (the lower one of an even count).
fn median_rep(reps: &[Value]) -> &Value {
    let mut order: Vec<usize> = (0..reps.len()).collect();
    order.sort_by(|&a, &b| num(&reps[a], "wall_s").total_cmp(&num(&reps[b], "wall_s")));
    &reps[order[(reps.len() - 1) / 2]]
}

/// `median (min–max)` of a key over repetitions, in a time unit.
fn over_reps(reps: &[Value], key: &str) -> String {
    let values: Vec<f64> = reps.iter().map(|r| num(r, key)).collect();
    let s = stats(&values);
    if s.n > 1 {
        format!(
            "{} ({}–{}, {} runs)",
            fmt_time(s.median),
            fmt_time(s.min),
            fmt_time(s.max),
            s.n
        )
    } else {
        fmt_time(s.median)
    }
}

fn mb(mib: f64) -> String {
    format!("{:.0} MiB ({:.0} MB)", mib, mib * 1.048_576)
}

fn phase_label(phase: Phase) -> &'static str {
    match phase {
        Phase::WaitForBatch => "waiting for the next batch (sampling not hidden by the prefetch)",
        Phase::PrepareBatches => {
            "batch preparation on the prefetch thread: sampling, gathering, tensors (overlaps the rows above)"
        }
        Phase::Forward => "forward: rgcn encoder (plugin), decoder, loss",
        Phase::Backward => "backward",
        Phase::Optimizer => "optimizer: zero_grad, Adam step",
        Phase::Evaluation => {
            "evaluation: validation and test every epoch (their sampling included)"
        }
        Phase::Checkpoint => "checkpoints (none saved here)",
    }
}

fn phase_seconds(job: &Value, phase: Phase) -> f64 {
    job["phases_s"][phase_key(phase)].as_f64().unwrap_or(0.0)
}

/// The job's flags as a command line, the graph's folder written as `<dir>`.
fn command_line(spec: &JobSpec, graph: Option<&WrittenGraph>) -> String {
    let dir = graph
        .and_then(|g| g.part_config.parent())
        .map(|d| d.display().to_string());
    let flags: Vec<String> = spec
        .flags
        .iter()
        .map(|f| match &dir {
            Some(d) => f.replace(d.as_str(), "<dir>"),
            None => f.clone(),
        })
        .collect();
    format!("gs {} {}", spec.kind.command(), flags.join(" "))
}

fn is_large(part: TaskPart) -> bool {
    matches!(
        part,
        TaskPart::LargeEdgeRegression | TaskPart::LargeLinkPrediction
    )
}

/// Prints the whole report.
pub(crate) fn print(run: &Run) {
    println!("# gs bench task: RGCN jobs on generated user–item graphs");
    println!();
    println!(
        "- build: {}; {} CPUs available; glibc {}; GS_MALLOC={}; OMP_WAIT_POLICY={}",
        build_profile(),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        glibc_version(),
        std::env::var("GS_MALLOC").unwrap_or_else(|_| "(unset: tuned)".into()),
        std::env::var("OMP_WAIT_POLICY").unwrap_or_else(|_| "(unset)".into()),
    );
    println!(
        "- load average at start {}, at end {}",
        run.load_at_start, run.load_at_end
    );
    if run.busy_at_start {
        println!(
            "- WARNING: other work is running on this machine (load average above 1): expect noisy figures"
        );
    }
    if let Some(extra) = run.extra {
        println!("- extra flags for every job: `{extra}`");
    }
    if let Some(g) = run.small {
        println!("- MovieLens-scale graph: {}", g.describe());
        println!("  - the same graph: `{}`", g.command());
    }
    if let Some(g) = run.large {
        println!("- large graph: {}", g.describe());
        println!("  - the same graph: `{}`", g.command());
    }
    println!(
        "- each job runs in its own process (this binary, `gs bench task --job ...`): the flags \
         below resolved by gs-config, the graph loaded from disk, gs-train's EdgeTask or \
         LinkPredictionTask and its training loop with the built-in `rgcn` component, \
         compiled without a cache; no checkpoints"
    );
    for spec in run.specs {
        let graph = if is_large(spec.part) {
            run.large
        } else {
            run.small
        };
        let steps = spec.steps.map_or_else(String::new, |n| {
            format!(" (only the first {n} training batches, no evaluation)")
        });
        println!(
            "  - {}: `{}`{steps}",
            spec.part.name(),
            command_line(spec, graph)
        );
    }
    println!();
    let small: Vec<usize> = (0..run.specs.len())
        .filter(|&i| !is_large(run.specs[i].part))
        .collect();
    if !small.is_empty() {
        print_small_jobs(run, &small);
    }
    let large: Vec<usize> = (0..run.specs.len())
        .filter(|&i| is_large(run.specs[i].part))
        .collect();
    if !large.is_empty() {
        print_large_jobs(run, &large);
    }
}

fn job_title(kind: JobKind) -> &'static str {
    match kind {
        JobKind::EdgeRegression => "edge regression",
        JobKind::LinkPrediction => "link prediction",
    }
}

/// The final metric of a job, with what an untrained model would score.
fn metric_cell(job: &Value, kind: JobKind, graph: Option<&WrittenGraph>) -> String {
    let metric = job["metric"].as_str().unwrap_or("?");
    let baseline = match kind {
        JobKind::EdgeRegression => graph.map_or_else(String::new, |g| {
            format!(
                "; predicting the mean training rating: {:.4}",
                g.constant_rmse
            )
        }),
        JobKind::LinkPrediction => format!("; chance with 100 negatives: {:.4}", chance_mrr(101)),
    };
    format!(
        "test {metric} {:.4} at the best epoch {} (validation {:.4}); last epoch's test {:.4}{baseline}",
        num(job, "test_at_best"),
        job["best_epoch"]
            .as_u64()
            .map_or("?".into(), |e| e.to_string()),
        num(job, "best_val"),
        num(job, "last_test"),
    )
}

fn print_small_jobs(run: &Run, jobs: &[usize]) {
    println!(
        "## {}-epoch jobs on the MovieLens-scale graph",
        run.sizes.num_epochs
    );
    println!();
    let mut header = vec!["measurement"];
    header.extend(jobs.iter().map(|&i| job_title(run.specs[i].kind)));
    table(&header);
    let medians: Vec<&Value> = jobs.iter().map(|&i| median_rep(&run.results[i])).collect();
    let cells = |f: &dyn Fn(usize, &Value) -> String| -> Vec<String> {
        jobs.iter().zip(&medians).map(|(&i, m)| f(i, m)).collect()
    };
    let line = |name: &str, values: Vec<String>| {
        let mut r = vec![name.to_string()];
        r.extend(values);
        row(&r);
    };
    line(
        "wall, job start to final metrics",
        cells(&|i, _| over_reps(&run.results[i], "wall_s")),
    );
    line(
        "process wall, exec to exit (libraries loading included)",
        cells(&|i, _| over_reps(&run.results[i], "process_wall_s")),
    );
    line(
        "setup: load graph, task, compile rgcn (Cranelift), init",
        cells(&|_, m| {
            let s = &m["setup_s"];
            ["load_graph", "task", "compile_plugin", "init_model"]
                .iter()
                .map(|k| fmt_time(num(s, k)))
                .collect::<Vec<_>>()
                .join(", ")
        }),
    );
    line(
        "training loop, all epochs with their evaluation",
        cells(&|_, m| fmt_time(num(m, "train_s"))),
    );
    line(
        "time per epoch, median (min–max)",
        cells(&|_, m| {
            let secs: Vec<f64> = m["epochs"]
                .as_array()
                .map(|a| a.iter().map(|e| num(e, "seconds")).collect())
                .unwrap_or_default();
            let s = stats(&secs);
            format!(
                "{} ({}–{})",
                fmt_time(s.median),
                fmt_time(s.min),
                fmt_time(s.max)
            )
        }),
    );
    line(
        "training batches per epoch",
        cells(&|_, m| {
            m["epochs"][0]["batches"]
                .as_u64()
                .map_or("?".into(), |b| b.to_string())
        }),
    );
    line(
        "peak RSS (VmHWM of the job's process)",
        cells(&|i, m| {
            let peaks: Vec<f64> = run.results[i]
                .iter()
                .map(|r| num(r, "peak_rss_mib"))
                .collect();
            let s = stats(&peaks);
            if s.n > 1 {
                format!("{} (max {:.0} MiB)", mb(num(m, "peak_rss_mib")), s.max)
            } else {
                mb(num(m, "peak_rss_mib"))
            }
        }),
    );
    line(
        "RSS at the job's start (libtorch and wasmtime loaded)",
        cells(&|_, m| mb(num(m, "rss_at_start_mib"))),
    );
    line(
        "final metric",
        cells(&|i, m| metric_cell(m, run.specs[i].kind, run.small)),
    );
    line(
        "weights; torch threads",
        cells(&|_, m| format!("{}; {}", m["weights"], m["torch_threads"])),
    );
    println!();
    let titles: Vec<&str> = jobs.iter().map(|&i| job_title(run.specs[i].kind)).collect();
    print_phases(&titles, &medians);
    for (&i, m) in jobs.iter().zip(&medians) {
        if run.specs[i].part == TaskPart::EdgeRegression {
            print_targets(run, m);
        }
    }
}

/// The phases of each job's training loop (`titles[i]` is `medians[i]`'s column).
fn print_phases(titles: &[&str], medians: &[&Value]) {
    println!(
        "Where the training loop's time goes (the run with the median wall time; shares of the \
         training loop's wall time):"
    );
    println!();
    let mut header = vec!["phase".to_string()];
    for title in titles {
        header.push(format!("{title}: seconds (share)"));
    }
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    table(&header);
    let share =
        |m: &Value, s: f64| format!("{} ({:.1}%)", fmt_time(s), 100.0 * s / num(m, "train_s"));
    for phase in TRAINER_PHASES {
        let mut r = vec![phase_label(phase).to_string()];
        r.extend(medians.iter().map(|m| share(m, phase_seconds(m, phase))));
        row(&r);
    }
    let mut r = vec!["other: loop bookkeeping, epoch setup, metrics".to_string()];
    r.extend(medians.iter().map(|m| {
        let accounted: f64 = TRAINER_PHASES.iter().map(|&p| phase_seconds(m, p)).sum();
        share(m, num(m, "train_s") - accounted)
    }));
    row(&r);
    let mut r = vec![phase_label(Phase::PrepareBatches).to_string()];
    r.extend(
        medians
            .iter()
            .map(|m| share(m, phase_seconds(m, Phase::PrepareBatches))),
    );
    row(&r);
    println!();
}

fn print_targets(run: &Run, job: &Value) {
    if run.sizes.num_epochs != 10 || run.sizes.small.num_ratings != 100_000 {
        println!(
            "Targets (issue 8) apply to the 10-epoch job at MovieLens-100K scale; not checked \
             at these sizes."
        );
        println!();
        return;
    }
    let (wall, peak_mb) = (num(job, "wall_s"), num(job, "peak_rss_mib") * 1.048_576);
    let verdict = |ok: bool| if ok { "met" } else { "MISSED" };
    println!(
        "Targets (issue 8, a 2-core machine): whole edge-regression job ≤ {TARGET_WALL_S} s: {} \
         ({}); peak RSS ≤ {TARGET_PEAK_RSS_MB} MB: {} ({:.0} MB).",
        verdict(wall <= TARGET_WALL_S),
        fmt_time(wall),
        verdict(peak_mb <= TARGET_PEAK_RSS_MB),
        peak_mb
    );
    println!();
}

fn print_large_jobs(run: &Run, jobs: &[usize]) {
    println!("## One epoch on the large graph");
    println!();
    table(&[
        "job",
        "epoch",
        "wall, job start to end",
        "of which loading the graph",
        "training (and evaluation)",
        "per training batch",
        "peak RSS (VmHWM)",
        "result",
    ]);
    for &i in jobs {
        let spec = &run.specs[i];
        let m = median_rep(&run.results[i]);
        let (epoch, batches, result) = match spec.steps {
            Some(n) => {
                let losses: Vec<f64> = m["losses"]
                    .as_array()
                    .map(|a| a.iter().filter_map(Value::as_f64).collect())
                    .unwrap_or_default();
                let first = losses.first().copied().unwrap_or(f64::NAN);
                let last = losses.last().copied().unwrap_or(f64::NAN);
                (
                    format!("a fixed {n} training batches of 1,024 positives, no evaluation"),
                    m["steps"].as_u64().unwrap_or(0),
                    format!("loss {first:.4} → {last:.4}"),
                )
            }
            None => (
                "every training edge once, then validation and test".to_string(),
                m["epochs"][0]["batches"].as_u64().unwrap_or(0),
                metric_cell(m, spec.kind, run.large),
            ),
        };
        let train = num(m, "train_s");
        let train_only = train - phase_seconds(m, Phase::Evaluation);
        row(&[
            job_title(spec.kind).to_string(),
            epoch,
            over_reps(&run.results[i], "wall_s"),
            fmt_time(num(&m["setup_s"], "load_graph")),
            if spec.steps.is_some() {
                fmt_time(train)
            } else {
                format!(
                    "{} (training {}, evaluation {})",
                    fmt_time(train),
                    fmt_time(train_only),
                    fmt_time(phase_seconds(m, Phase::Evaluation))
                )
            },
            format!(
                "{} ({batches} batches)",
                fmt_time(train_only / batches.max(1) as f64)
            ),
            mb(num(m, "peak_rss_mib")),
            result,
        ]);
    }
    println!();
    let medians: Vec<&Value> = jobs.iter().map(|&i| median_rep(&run.results[i])).collect();
    let titles: Vec<&str> = jobs.iter().map(|&i| job_title(run.specs[i].kind)).collect();
    print_phases(&titles, &medians);
}
