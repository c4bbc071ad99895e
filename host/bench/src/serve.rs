//! `gs bench serve`: real-time inference as an endpoint sees it. An RGCN (2 layers, hidden
//! 64) edge-regression model is trained on the MovieLens-scale user–item graph (the graph of
//! `gs bench task`), and two payloads are cut from the graph around rating edges: (a) one
//! target with ~100 nodes of 20 features, (b) ten targets with ~500 nodes of 100 features.
//!
//! In process, each payload's request is answered repeatedly by a worker's predictor and timed
//! by phase (JSON parse, subgraph and transforms, forward, serialisation). The same request
//! through the `sage` plugin and through the native GraphSAGE oracle with the same weights,
//! alternating, gives the plugin's overhead per request and its host calls. Over HTTP on
//! loopback, the server runs in this process with a load generator beside it: latency at low
//! load (one client), throughput with two clients per worker, and an overload run (four
//! clients per worker, a queue of one per worker) that may only answer 200 or 503 while
//! `/ping` keeps answering.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::bail;
use gs_graph::UserItemParams;
use gs_serve::{Predictor, ServeOptions, ServedModel, Timings, resolve_model_dir};

use crate::report::percentile;
use crate::serve_http::over_http;
use crate::serve_payload::{BenchPayload, cut_payload};

/// `gs bench serve`.
#[derive(clap::Args)]
pub struct ServeBenchArgs {
    /// Requests per in-process and low-load measurement (default 2000; 100 with --quick).
    #[arg(long)]
    requests: Option<usize>,
    /// Server workers (default: the cores).
    #[arg(long)]
    workers: Option<usize>,
    /// A small graph and few requests: checks that the benchmark runs, measures nothing.
    #[arg(long)]
    quick: bool,
}

pub(crate) fn run(args: &ServeBenchArgs) -> anyhow::Result<()> {
    let requests = args.requests.unwrap_or(if args.quick { 100 } else { 2000 });
    let workers = args
        .workers
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let tmp = tempfile::tempdir()?;
    let dir = tmp.path();
    let scale = |feat_dim: usize| UserItemParams {
        num_users: if args.quick { 200 } else { 943 },
        num_items: if args.quick { 240 } else { 1682 },
        num_ratings: if args.quick { 2000 } else { 100_000 },
        feat_dim,
        ..UserItemParams::default()
    };
    let small = crate::task_graph::write_graph(&dir.join("graph-20"), scale(12))?;
    let wide = crate::task_graph::write_graph(&dir.join("graph-100"), scale(92))?;
    println!("graph (a): {}", small.describe());
    println!("graph (b): {}", wide.describe());
    let started = Instant::now();
    let rgcn_a = train(dir, "rgcn-20", "rgcn", &small.part_config)?;
    let rgcn_b = train(dir, "rgcn-100", "rgcn", &wide.part_config)?;
    let sage_a = train(dir, "sage-20", "sage", &small.part_config)?;
    println!(
        "trained RGCN (2 layers, hidden 64) edge regression on both graphs and a `sage` twin on \
         (a), one epoch each, in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let graph_a = gs_graph::load(&small.part_config)?;
    let graph_b = gs_graph::load(&wide.part_config)?;
    let payload_a = cut_payload("a", &graph_a, 1, &[10, 4], 2, 1)?;
    let payload_b = cut_payload("b", &graph_b, 10, &[5, 4], 4, 2)?;
    for p in [&payload_a, &payload_b] {
        println!(
            "payload ({}): {} target edge(s), {} nodes, {} edges, {} features per node, {} bytes",
            p.name,
            p.targets,
            p.nodes,
            p.edges,
            p.feature_dim,
            p.body.len()
        );
    }
    gs_tensor::tch::set_num_threads(1);
    println!("\nin process, one worker, one torch thread ({requests} requests each):");
    println!(
        "  payload  parse p50  transform p50  forward p50  serialise p50  total p50  total p99  \
         host calls"
    );
    for (payload, model) in [(&payload_a, &rgcn_a), (&payload_b, &rgcn_b)] {
        let mut predictor = Predictor::new(Arc::new(load(model)?))?;
        let before = predictor.host_calls().unwrap_or(0);
        let timings = repeat(&mut predictor, &payload.body, requests)?;
        let calls = (predictor.host_calls().unwrap_or(0) - before) as f64 / (requests + 20) as f64;
        print_phases(payload.name, &timings, calls);
    }
    plugin_against_native(&sage_a, &payload_a, requests)?;
    over_http(&rgcn_a, &[&payload_a, &payload_b], workers, requests)
}

/// Trains `encoder` on `part_config` into `dir/name` (a child `gs edge-regression`).
fn train(dir: &Path, name: &str, encoder: &str, part_config: &Path) -> anyhow::Result<PathBuf> {
    let yaml = dir.join(format!("{name}.yaml"));
    std::fs::write(
        &yaml,
        format!(
            "version: 1.0
gsf:
  basic:
    model_encoder_type: {encoder}
  gnn:
    num_layers: 2
    hidden_size: 64
    fanout: \"10,10\"
  input:
    node_feat_name:
      - \"user:feat,group\"
      - \"item:feat,group\"
  hyperparam:
    lr: 0.01
    num_epochs: 1
    batch_size: 1024
  edge_regression:
    target_etype:
      - \"user,rates,item\"
    reverse_edge_types_map:
      - \"user,rates,rated-by,item\"
    label_field: rating
"
        ),
    )?;
    let model = dir.join(name);
    let output = std::process::Command::new(std::env::current_exe()?)
        .arg("edge-regression")
        .args(["--num-trainers", "1", "--part-config"])
        .arg(part_config)
        .arg("--cf")
        .arg(&yaml)
        .arg("--save-model-path")
        .arg(&model)
        .output()?;
    if !output.status.success() {
        bail!(
            "training `{name}` failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(model)
}

fn load(model: &Path) -> anyhow::Result<ServedModel> {
    ServedModel::load(&resolve_model_dir(Some(model))?, ServeOptions::default())
}

/// Answers `body` `n` times (after a warm-up), each checked to be a 200.
fn repeat(predictor: &mut Predictor, body: &[u8], n: usize) -> anyhow::Result<Vec<Timings>> {
    for _ in 0..20 {
        answer(predictor, body)?;
    }
    (0..n).map(|_| answer(predictor, body)).collect()
}

fn answer(predictor: &mut Predictor, body: &[u8]) -> anyhow::Result<Timings> {
    let (response, timings) = predictor.respond(body);
    if response.status_code != 200 {
        bail!(
            "the benchmark's payload got {}: {}",
            response.status_code,
            response.error
        );
    }
    Ok(timings)
}

pub(crate) fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn total(t: &Timings) -> Duration {
    t.parse + t.transform + t.forward + t.serialize
}

fn p50(values: impl Iterator<Item = f64>) -> f64 {
    percentile(&values.collect::<Vec<_>>(), 0.5)
}

fn print_phases(name: &str, timings: &[Timings], host_calls: f64) {
    let phase = |f: fn(&Timings) -> Duration| p50(timings.iter().map(|t| micros(f(t))));
    let totals: Vec<f64> = timings.iter().map(|t| micros(total(t))).collect();
    println!(
        "  ({name})     {:>6.0} µs  {:>10.0} µs  {:>8.0} µs  {:>10.0} µs  {:>6.0} µs  {:>6.0} µs  \
         {host_calls:>7.0}",
        phase(|t| t.parse),
        phase(|t| t.transform),
        phase(|t| t.forward),
        phase(|t| t.serialize),
        percentile(&totals, 0.5),
        percentile(&totals, 0.99),
    );
}

/// The `sage` model's request through its plugin and through the native oracle with the same
/// weights, alternating: the answers must agree, and the difference of the forward times is
/// the plugin's cost per request.
fn plugin_against_native(model: &Path, payload: &BenchPayload, n: usize) -> anyhow::Result<()> {
    let served = Arc::new(load(model)?);
    let mut plugin = Predictor::new(served.clone())?;
    let mut native = Predictor::native(served)?;
    let (a, _) = plugin.respond(&payload.body);
    let (b, _) = native.respond(&payload.body);
    let scores = |r: &gs_serve::Response| -> Vec<f64> {
        r.data
            .results
            .iter()
            .filter_map(|x| x["prediction"][0].as_f64())
            .collect()
    };
    let (sa, sb) = (scores(&a), scores(&b));
    let diff = sa
        .iter()
        .zip(&sb)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max);
    if sa.is_empty() || sa.len() != sb.len() || diff > 1e-5 {
        bail!("the plugin and the native oracle disagree: {sa:?} vs {sb:?}");
    }
    repeat(&mut plugin, &payload.body, 20)?;
    repeat(&mut native, &payload.body, 20)?;
    let calls_before = plugin.host_calls().unwrap_or(0);
    let (mut with_plugin, mut with_native) = (Vec::new(), Vec::new());
    for i in 0..n {
        if i % 2 == 0 {
            with_plugin.push(answer(&mut plugin, &payload.body)?);
            with_native.push(answer(&mut native, &payload.body)?);
        } else {
            with_native.push(answer(&mut native, &payload.body)?);
            with_plugin.push(answer(&mut plugin, &payload.body)?);
        }
    }
    let calls = (plugin.host_calls().unwrap_or(0) - calls_before) as f64 / n as f64;
    let forward = |t: &[Timings]| p50(t.iter().map(|t| micros(t.forward)));
    let (fp, fnat) = (forward(&with_plugin), forward(&with_native));
    let (tp, tn) = (
        p50(with_plugin.iter().map(|t| micros(total(t)))),
        p50(with_native.iter().map(|t| micros(total(t)))),
    );
    println!(
        "\nplugin against the native oracle: payload (a) through the `sage` model, same weights \
         (answers agree within {diff:.1e}), {n} requests each, alternating:"
    );
    println!(
        "  forward p50: plugin {fp:.0} µs, native {fnat:.0} µs: the plugin costs {:.0} µs per \
         request ({calls:.0} host calls, {:.2} µs each); whole request p50: plugin {tp:.0} µs, \
         native {tn:.0} µs (ratio {:.2})",
        fp - fnat,
        (fp - fnat) / calls.max(1.0),
        tp / tn
    );
    Ok(())
}
