//! Real-time serving support: a `gs serve` process on a free loopback port with an HTTP
//! client (ureq), and `gs-realtime-v0.1` payloads cut from a real graph: the full
//! in-neighbourhood of some targets over a number of layers, with every node's raw features.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use gs_graph::{EdgeType, HeteroGraph, NodeId};
use serde_json::{Value, json};

/// A running `gs serve`, stopped with SIGTERM when dropped. Its stderr goes to a file (a
/// pipe nobody reads would block the server once full).
pub struct Server {
    child: Child,
    pub url: String,
    agent: ureq::Agent,
    log: std::path::PathBuf,
}

/// A free loopback port (bound, read and released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// An HTTP client that reads every status as a response, not an error.
pub fn http_agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(120)))
        .build()
        .into()
}

impl Server {
    /// `gs serve --host 127.0.0.1 --port P` plus `args` in `dir` with `envs`, once `/ping`
    /// answers 200.
    pub fn start(dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> Server {
        let port = free_port();
        let port_text = port.to_string();
        let flags = ["--host", "127.0.0.1", "--port", &port_text];
        Server::spawn(dir, &[&flags[..], args].concat(), envs, port)
    }

    /// `gs serve` plus `args` in `dir` with `envs`, listening on `port` (which `args` or
    /// `envs` set), once `/ping` answers 200.
    pub fn spawn(dir: &Path, args: &[&str], envs: &[(&str, &str)], port: u16) -> Server {
        let log = dir.join(format!("serve-{port}.log"));
        let mut cmd = Command::new(crate::gs_binary());
        cmd.current_dir(dir)
            .arg("serve")
            .args(args)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap());
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let child = cmd.spawn().unwrap();
        let mut server = Server {
            child,
            url: format!("http://127.0.0.1:{port}"),
            agent: http_agent(),
            log,
        };
        let start = Instant::now();
        loop {
            if let Some(status) = server.child.try_wait().unwrap() {
                panic!(
                    "gs serve exited ({status}) before it was ready:\n{}",
                    server.log_text()
                );
            }
            if server.ping() == Some(200) {
                return server;
            }
            assert!(
                start.elapsed() < Duration::from_secs(120),
                "gs serve never got ready"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `GET /ping`'s status, `None` when nothing answers.
    pub fn ping(&self) -> Option<u16> {
        self.agent
            .get(format!("{}/ping", self.url))
            .call()
            .ok()
            .map(|r| r.status().as_u16())
    }

    /// `POST /invocations` with `body` and `content_type`: the HTTP status and the body.
    pub fn invoke_raw(&self, body: &[u8], content_type: &str) -> (u16, String) {
        post(
            &self.agent,
            &format!("{}/invocations", self.url),
            body,
            content_type,
        )
    }

    /// `POST /invocations` of `payload`, which must get HTTP 200: the response body.
    pub fn invoke(&self, payload: &Value) -> Value {
        let (status, body) = self.invoke_raw(payload.to_string().as_bytes(), "application/json");
        assert_eq!(status, 200, "HTTP status {status}: {body}");
        serde_json::from_str(&body).unwrap()
    }

    /// What the server logged so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends SIGTERM and waits for the exit; returns the process's stderr.
    pub fn stop(mut self) -> (std::process::ExitStatus, String) {
        let status = self.terminate();
        (status, self.log_text())
    }

    /// Sends SIGTERM without waiting.
    pub fn sigterm(&self) {
        // SAFETY: `kill` takes a process id and a signal number; the child is ours and not
        // yet waited for, so its id names it.
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM);
        }
    }

    fn terminate(&mut self) -> std::process::ExitStatus {
        self.sigterm();
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            if start.elapsed() > Duration::from_secs(30) {
                let _ = self.child.kill();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            self.terminate();
        }
    }
}

/// `POST url` with `body`: the HTTP status and the body.
pub fn post(agent: &ureq::Agent, url: &str, body: &[u8], content_type: &str) -> (u16, String) {
    let mut response = agent
        .post(url)
        .header("Content-Type", content_type)
        .send(body)
        .unwrap();
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap_or_default();
    (status, text)
}

/// The raw id of node `id` of `ntype` (its index when the graph has none).
pub fn raw_id(graph: &HeteroGraph, ntype: &str, id: NodeId) -> String {
    graph
        .raw_id(ntype, id)
        .map_or_else(|| id.to_string(), |r| r.to_string())
}

/// The nodes and edges of the `layers`-hop in-neighbourhood of `seeds`: every in-edge of every
/// node within `layers - 1` hops, with each node's features `node_features` names per type,
/// as `graph.nodes` and `graph.edges` of a payload. `skip` edge types are left out (to test
/// that the server adds reverse edges).
pub fn neighbourhood(
    graph: &HeteroGraph,
    seeds: &BTreeMap<String, Vec<NodeId>>,
    layers: usize,
    node_features: &BTreeMap<String, Vec<String>>,
    skip: &[EdgeType],
) -> Value {
    neighbourhood_with_edge_features(graph, seeds, layers, node_features, &BTreeMap::new(), skip)
}

/// [`neighbourhood`], each edge with the features `edge_features` names for its type.
pub fn neighbourhood_with_edge_features(
    graph: &HeteroGraph,
    seeds: &BTreeMap<String, Vec<NodeId>>,
    layers: usize,
    node_features: &BTreeMap<String, Vec<String>>,
    edge_features: &BTreeMap<EdgeType, Vec<String>>,
    skip: &[EdgeType],
) -> Value {
    let mut nodes: BTreeMap<String, BTreeSet<NodeId>> = BTreeMap::new();
    let mut frontier: BTreeMap<String, BTreeSet<NodeId>> = seeds
        .iter()
        .map(|(t, ids)| (t.clone(), ids.iter().copied().collect()))
        .collect();
    let mut edges: BTreeSet<(EdgeType, NodeId, NodeId, u64)> = BTreeSet::new();
    for (t, ids) in &frontier {
        nodes.entry(t.clone()).or_default().extend(ids);
    }
    for _ in 0..layers {
        let mut next: BTreeMap<String, BTreeSet<NodeId>> = BTreeMap::new();
        for et in graph.edge_types() {
            let Some(dsts) = frontier.get(&et.dst) else {
                continue;
            };
            let csc = graph.csc(et).unwrap();
            for &v in dsts {
                let (a, b) = (csc.indptr()[v as usize], csc.indptr()[v as usize + 1]);
                for e in a..b {
                    let u = csc.indices()[e as usize];
                    edges.insert((et.clone(), u, v, e));
                    if nodes.entry(et.src.clone()).or_default().insert(u) {
                        next.entry(et.src.clone()).or_default().insert(u);
                    }
                }
            }
        }
        frontier = next;
    }
    let mut node_values = Vec::new();
    for (t, ids) in &nodes {
        let names = node_features.get(t).cloned().unwrap_or_default();
        for &id in ids {
            let mut features = serde_json::Map::new();
            for name in &names {
                let (row, _) = graph.gather_as_f32(t, name, &[id]).unwrap();
                features.insert(name.clone(), json!(row));
            }
            node_values.push(json!({
                "node_type": t, "node_id": raw_id(graph, t, id), "features": features
            }));
        }
    }
    let edge_values: Vec<Value> = edges
        .iter()
        .filter(|(et, ..)| !skip.contains(et))
        .map(|(et, u, v, e)| {
            let mut features = serde_json::Map::new();
            for name in edge_features.get(et).into_iter().flatten() {
                let (row, _) = graph.gather_edge_as_f32(et, name, &[*e]).unwrap();
                features.insert(name.clone(), json!(row));
            }
            json!({
                "edge_type": [et.src, et.rel, et.dst],
                "src_node_id": raw_id(graph, &et.src, *u),
                "dest_node_id": raw_id(graph, &et.dst, *v),
                "features": features,
            })
        })
        .collect();
    json!({"nodes": node_values, "edges": edge_values})
}

/// A whole `gs-realtime-v0.1` payload.
pub fn payload(task: &str, graph: Value, targets: Vec<Value>) -> Value {
    json!({"version": "gs-realtime-v0.1", "gml_task": task, "graph": graph, "targets": targets})
}

/// Softmax of each row.
pub fn softmax(row: &[f32]) -> Vec<f32> {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exp: Vec<f32> = row.iter().map(|x| (x - max).exp()).collect();
    let sum: f32 = exp.iter().sum();
    exp.iter().map(|e| e / sum).collect()
}

/// The `prediction` rows of a 200 response, in target order.
pub fn predictions(response: &Value) -> Vec<Vec<f32>> {
    assert_eq!(response["status_code"], 200, "{response}");
    response["data"]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r["prediction"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap() as f32)
                .collect()
        })
        .collect()
}

/// The best checkpoint `training_summary.json` of `dir/model` names, as `model/epoch-N`.
pub fn best_checkpoint(dir: &Path, model: &str) -> String {
    let summary = crate::runs::training_summary(&dir.join(model));
    format!("{model}/{}", summary["best_checkpoint"].as_str().unwrap())
}

/// `gs <command> --inference` in `dir` from `checkpoint` on `part_config`, predictions into
/// `pred/`.
pub fn infer_offline(dir: &Path, command: &str, part_config: &str, checkpoint: &str) {
    crate::run_gs(
        dir,
        &[
            command,
            "--inference",
            "--num-trainers",
            "1",
            "--part-config",
            part_config,
            "--restore-model-path",
            checkpoint,
            "--save-prediction-path",
            "pred",
        ],
    )
    .ok();
}

/// The largest absolute difference of two equally shaped lists of rows.
pub fn max_abs_diff(a: &[Vec<f32>], b: &[Vec<f32>]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .flat_map(|(x, y)| {
            assert_eq!(x.len(), y.len());
            x.iter().zip(y).map(|(p, q)| (p - q).abs())
        })
        .fold(0.0, f32::max)
}
