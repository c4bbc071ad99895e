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

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use gs_graph::{HeteroGraph, NodeId, UserItemParams};
use gs_serve::{Predictor, ServeOptions, ServedModel, ServerOptions, Timings, resolve_model_dir};
use serde_json::{Value, json};

use crate::report::percentile;

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

/// A payload of the benchmark and its size.
struct BenchPayload {
    name: &'static str,
    body: Vec<u8>,
    nodes: usize,
    edges: usize,
    feature_dim: u64,
    targets: usize,
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

/// A tiny deterministic generator (SplitMix64) for choosing targets and neighbours.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) % n.max(1) as u64) as usize
    }
}

/// A payload around `targets` rating edges, as a client's k-hop query with limits returns
/// it: from the targets' endpoints, `fanouts[l]` in-neighbours per node and edge type at hop
/// `l`, each sampled edge sent in both directions; then edges among the chosen nodes until
/// there are `edges_per_node` per node. Features are sent as the model reads them.
fn cut_payload(
    name: &'static str,
    graph: &HeteroGraph,
    targets: usize,
    fanouts: &[usize],
    edges_per_node: usize,
    seed: u64,
) -> anyhow::Result<BenchPayload> {
    let mut rng = Rng(seed);
    let rates = gs_graph::user_item_etype();
    let csc = graph.csc_of(&rates)?;
    let mut nodes: BTreeMap<String, BTreeSet<NodeId>> = BTreeMap::new();
    let mut frontier: Vec<(String, NodeId)> = Vec::new();
    let mut target_edges = Vec::new();
    for _ in 0..targets {
        let e = rng.below(csc.num_edges() as usize) as u64;
        let (src, dst) = gs_graph::edge_endpoints(graph, &rates, &[e])?;
        target_edges.push((src[0], dst[0]));
        for (t, v) in [("user", src[0]), ("item", dst[0])] {
            if nodes.entry(t.to_string()).or_default().insert(v) {
                frontier.push((t.to_string(), v));
            }
        }
    }
    // (edge type, source, destination), each once.
    let mut edges: BTreeSet<(gs_graph::EdgeType, NodeId, NodeId)> = BTreeSet::new();
    let reverse = |et: &gs_graph::EdgeType| {
        graph
            .edge_types()
            .find(|r| r.src == et.dst && r.dst == et.src)
            .cloned()
    };
    for &fanout in fanouts {
        let mut next = Vec::new();
        for (ntype, v) in &frontier {
            for et in graph.edge_types().filter(|et| &et.dst == ntype) {
                let c = graph.csc_of(et)?;
                let (a, b) = (c.indptr()[*v as usize], c.indptr()[*v as usize + 1]);
                let degree = (b - a) as usize;
                for _ in 0..fanout.min(degree) {
                    let u = c.indices()[a as usize + rng.below(degree)];
                    edges.insert((et.clone(), u, *v));
                    if let Some(r) = reverse(et) {
                        edges.insert((r, *v, u));
                    }
                    if nodes.entry(et.src.clone()).or_default().insert(u) {
                        next.push((et.src.clone(), u));
                    }
                }
            }
        }
        frontier = next;
    }
    let node_count: usize = nodes.values().map(BTreeSet::len).sum();
    'fill: for et in graph.edge_types() {
        let (Some(srcs), Some(dsts)) = (nodes.get(&et.src), nodes.get(&et.dst)) else {
            continue;
        };
        let c = graph.csc_of(et)?;
        for &v in dsts {
            let (a, b) = (c.indptr()[v as usize], c.indptr()[v as usize + 1]);
            for &u in &c.indices()[a as usize..b as usize] {
                if edges.len() >= edges_per_node * node_count {
                    break 'fill;
                }
                if srcs.contains(&u) {
                    edges.insert((et.clone(), u, v));
                }
            }
        }
    }
    let mut node_values = Vec::new();
    let mut feature_dim = 0;
    for (ntype, ids) in &nodes {
        for &id in ids {
            let mut features = serde_json::Map::new();
            let mut width = 0;
            for f in ["feat", "group"] {
                let (row, w) = graph.gather_as_f32(ntype, f, &[id])?;
                width += w as u64;
                features.insert(f.to_string(), json!(row));
            }
            feature_dim = width;
            node_values.push(
                json!({"node_type": ntype, "node_id": raw(graph, ntype, id), "features": features}),
            );
        }
    }
    let edge_values: Vec<Value> = edges
        .iter()
        .map(|(et, u, v)| {
            json!({
                "edge_type": [et.src, et.rel, et.dst],
                "src_node_id": raw(graph, &et.src, *u),
                "dest_node_id": raw(graph, &et.dst, *v),
            })
        })
        .collect();
    let target_values: Vec<Value> = target_edges
        .iter()
        .map(|&(u, i)| {
            json!({"edge_type": ["user", "rates", "item"], "src_node_id": raw(graph, "user", u),
                   "dest_node_id": raw(graph, "item", i)})
        })
        .collect();
    let (n, e) = (node_values.len(), edge_values.len());
    let body = json!({"version": "gs-realtime-v0.1", "gml_task": "edge_regression",
                      "graph": {"nodes": node_values, "edges": edge_values}, "targets": target_values});
    Ok(BenchPayload {
        name,
        body: serde_json::to_vec(&body)?,
        nodes: n,
        edges: e,
        feature_dim,
        targets,
    })
}

fn raw(graph: &HeteroGraph, ntype: &str, id: NodeId) -> String {
    graph
        .raw_id(ntype, id)
        .map_or_else(|| id.to_string(), |r| r.to_string())
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

fn micros(d: Duration) -> f64 {
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

/// A keep-alive HTTP/1.1 client: enough for the benchmark's loopback requests.
struct Client {
    reader: BufReader<TcpStream>,
}

impl Client {
    fn connect(addr: SocketAddr) -> anyhow::Result<Self> {
        let stream = TcpStream::connect(addr)?;
        stream.set_nodelay(true)?;
        Ok(Self {
            reader: BufReader::new(stream),
        })
    }

    /// Sends a request and returns the status and the body.
    fn request(&mut self, method: &str, path: &str, body: &[u8]) -> anyhow::Result<(u16, Vec<u8>)> {
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n",
            body.len()
        );
        let stream = self.reader.get_mut();
        stream.write_all(head.as_bytes())?;
        stream.write_all(body)?;
        let mut line = String::new();
        self.reader.read_line(&mut line)?;
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .with_context(|| format!("not an HTTP status line: {line:?}"))?;
        let mut length = 0usize;
        loop {
            line.clear();
            self.reader.read_line(&mut line)?;
            if line == "\r\n" || line.is_empty() {
                break;
            }
            if let Some((k, v)) = line.split_once(':')
                && k.eq_ignore_ascii_case("content-length")
            {
                length = v.trim().parse()?;
            }
        }
        let mut out = vec![0; length];
        self.reader.read_exact(&mut out)?;
        Ok((status, out))
    }
}

/// The server in this process on a free loopback port, with `workers` and `queue`.
fn start_server(
    model: &Path,
    workers: usize,
    queue: usize,
) -> anyhow::Result<(SocketAddr, mpsc::Sender<()>, std::thread::JoinHandle<()>)> {
    let dir = resolve_model_dir(Some(model))?;
    let (bound_tx, bound_rx) = mpsc::channel();
    let (stop_tx, stop_rx) = mpsc::channel::<()>();
    let options = ServerOptions {
        addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        workers,
        queue,
        access_log: false,
        ..ServerOptions::default()
    };
    let handle = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let stop = async move {
            let _ = tokio::task::spawn_blocking(move || stop_rx.recv()).await;
        };
        let load = move || ServedModel::load(&dir, ServeOptions::default());
        if let Err(e) = runtime.block_on(gs_serve::serve(
            load,
            options,
            move |a| {
                let _ = bound_tx.send(a);
            },
            stop,
        )) {
            eprintln!("the benchmark's server failed: {e:#}");
        }
    });
    let addr = bound_rx.recv_timeout(Duration::from_secs(30))?;
    let mut client = Client::connect(addr)?;
    let started = Instant::now();
    while client.request("GET", "/ping", b"")?.0 != 200 {
        if started.elapsed() > Duration::from_secs(120) {
            bail!("the benchmark's server never got ready");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok((addr, stop_tx, handle))
}

/// Latency at low load, throughput, and overload, over HTTP on loopback.
fn over_http(
    model: &Path,
    payloads: &[&BenchPayload],
    workers: usize,
    requests: usize,
) -> anyhow::Result<()> {
    let (addr, stop, handle) = start_server(model, workers, 4 * workers)?;
    println!(
        "\nover HTTP on loopback, server in this process with {workers} worker(s), one torch \
         thread each; client-observed latency:"
    );
    let mut client = Client::connect(addr)?;
    for payload in payloads.iter().filter(|p| p.name == "a") {
        let mut latencies = Vec::with_capacity(requests);
        for _ in 0..20 {
            client.request("POST", "/invocations", &payload.body)?;
        }
        for _ in 0..requests {
            let start = Instant::now();
            let (status, _) = client.request("POST", "/invocations", &payload.body)?;
            latencies.push(micros(start.elapsed()));
            if status != 200 {
                bail!("HTTP {status}");
            }
        }
        println!(
            "  ({}) one client, {requests} requests: p50 {:.0} µs, p99 {:.0} µs",
            payload.name,
            percentile(&latencies, 0.5),
            percentile(&latencies, 0.99)
        );
    }
    let a = payloads[0];
    let clients = 2 * workers;
    let (answers, seconds) = load_run(addr, &a.body, clients, requests)?;
    println!(
        "  (a) {clients} clients, {} requests: {:.0} requests/s ({answers:?})",
        clients * requests / 2,
        (clients * requests / 2) as f64 / seconds
    );
    drop(client);
    let _ = stop.send(());
    let _ = handle.join();

    // Overload: twice the clients, a queue of one per worker: only 200 and 503, ping answers.
    let (addr, stop, handle) = start_server(model, workers, workers)?;
    let done = Arc::new(AtomicBool::new(false));
    let pings = {
        let done = done.clone();
        std::thread::spawn(move || -> anyhow::Result<Vec<(u16, f64)>> {
            let mut client = Client::connect(addr)?;
            let mut out = Vec::new();
            while !done.load(Ordering::SeqCst) {
                let start = Instant::now();
                let (status, _) = client.request("GET", "/ping", b"")?;
                out.push((status, micros(start.elapsed())));
                std::thread::sleep(Duration::from_millis(2));
            }
            Ok(out)
        })
    };
    let (answers, seconds) = load_run(addr, &a.body, 4 * workers, requests)?;
    done.store(true, Ordering::SeqCst);
    let pings = pings
        .join()
        .map_err(|_| anyhow::anyhow!("the ping thread panicked"))??;
    let _ = stop.send(());
    let _ = handle.join();
    let ping_latencies: Vec<f64> = pings.iter().map(|p| p.1).collect();
    println!(
        "  overload (a): {} clients on a queue of {workers}, {} requests in {seconds:.1} s: \
         {answers:?}; /ping answered {} of {} times with 200, p99 {:.0} µs",
        4 * workers,
        4 * workers * requests / 2,
        pings.iter().filter(|p| p.0 == 200).count(),
        pings.len(),
        percentile(&ping_latencies, 0.99)
    );
    if answers.keys().any(|s| *s != 200 && *s != 503) {
        bail!("the overload run got answers other than 200 and 503: {answers:?}");
    }
    if pings.iter().any(|p| p.0 != 200) {
        bail!("/ping did not answer 200 throughout the overload run");
    }
    Ok(())
}

/// `clients` clients each sending `requests / 2` requests of `body`: the HTTP statuses
/// counted (a 200 whose body is not status 200 counts as 0) and the seconds taken.
fn load_run(
    addr: SocketAddr,
    body: &[u8],
    clients: usize,
    requests: usize,
) -> anyhow::Result<(BTreeMap<u16, usize>, f64)> {
    let answers = Arc::new(Mutex::new(BTreeMap::<u16, usize>::new()));
    let body = Arc::new(body.to_vec());
    let start = Instant::now();
    let threads: Vec<_> = (0..clients)
        .map(|_| {
            let (answers, body) = (answers.clone(), body.clone());
            std::thread::spawn(move || -> anyhow::Result<()> {
                let mut client = Client::connect(addr)?;
                for _ in 0..requests / 2 {
                    let (status, text) = client.request("POST", "/invocations", &body)?;
                    let status = match status {
                        200 if !text.starts_with(b"{\"status_code\":200") => 0,
                        s => s,
                    };
                    *answers
                        .lock()
                        .expect("not poisoned")
                        .entry(status)
                        .or_default() += 1;
                }
                Ok(())
            })
        })
        .collect();
    for t in threads {
        t.join()
            .map_err(|_| anyhow::anyhow!("a client thread panicked"))??;
    }
    let seconds = start.elapsed().as_secs_f64();
    let answers = answers.lock().expect("not poisoned").clone();
    Ok((answers, seconds))
}
