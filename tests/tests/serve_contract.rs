//! SageMaker's hosting contract and the server's behaviour under load, over HTTP on loopback:
//! `gs export`'s archive unpacked into `/opt/ml/model` serves with `gs serve serve` and no
//! `--model-dir`, on `$SAGEMAKER_BIND_TO_PORT` (the `/opt/ml` root pointed at a temporary
//! folder); SIGTERM lets a request in flight
//! finish; a full queue answers 503 while `/ping` keeps answering 200; and a model GraphStorm
//! trained, imported with `gs model import`, serves GraphStorm's own predictions from raw
//! feature values.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gs_graph::{HeteroGraph, NodeId};
use gs_tests::graphstorm::{self, golden, run_gs_on_case};
use gs_tests::serving::{
    Server, free_port, http_agent, neighbourhood, payload, post, predictions, raw_id, softmax,
};
use gs_tests::{run_gs, small_demo_graph, train_encoder_on_demo};
use serde_json::{Value, json};

/// `papers` papers of random features, each citing the previous one, all targets.
fn chain_payload(papers: usize) -> Value {
    let nodes: Vec<Value> = (0..papers)
        .map(|i| {
            let feat: Vec<f32> = (0..32)
                .map(|k| ((i * 13 + k * 5) % 11) as f32 / 11.0)
                .collect();
            json!({"node_type": "paper", "node_id": format!("p{i}"), "features": {"feat": feat}})
        })
        .collect();
    let edges: Vec<Value> = (1..papers)
        .map(|i| json!({"edge_type": ["paper", "cites", "paper"], "src_node_id": format!("p{}", i - 1), "dest_node_id": format!("p{i}")}))
        .collect();
    let targets: Vec<Value> = (0..papers)
        .map(|i| json!({"node_type": "paper", "node_id": format!("p{i}")}))
        .collect();
    payload(
        "node_classification",
        json!({"nodes": nodes, "edges": edges}),
        targets,
    )
}

fn trained_demo() -> tempfile::TempDir {
    let tmp = small_demo_graph();
    train_encoder_on_demo(
        tmp.path(),
        "rgcn",
        &["--num-epochs", "1", "--save-model-path", "model"],
    )
    .ok();
    tmp
}

#[test]
fn sagemaker_contract_serves_opt_ml_model_on_the_port_sagemaker_names() {
    let tmp = trained_demo();
    let dir = tmp.path();
    // `gs export` packs the endpoint's archive; SageMaker unpacks it into /opt/ml/model.
    let run = run_gs(
        dir,
        &["export", "--model-dir", "model", "--output", "model.tar.gz"],
    )
    .ok();
    assert!(run.stdout.contains("serving.json"), "{}", run.stdout);
    std::fs::create_dir_all(dir.join("opt-ml/model")).unwrap();
    let untar = std::process::Command::new("tar")
        .args(["-xzf", "model.tar.gz", "-C", "opt-ml/model"])
        .current_dir(dir)
        .status()
        .unwrap();
    assert!(untar.success());
    let local = Server::start(dir, &["--model-dir", "model"], &[]);
    let want = predictions(&local.invoke(&chain_payload(3)));
    drop(local);
    std::fs::remove_dir_all(dir.join("model")).unwrap();
    let port = free_port();
    let root = dir.join("opt-ml");
    let server = Server::spawn(
        dir,
        &["serve", "--host", "127.0.0.1"],
        &[
            ("GS_SAGEMAKER_ROOT", root.to_str().unwrap()),
            ("SAGEMAKER_BIND_TO_PORT", &port.to_string()),
        ],
        port,
    );
    assert!(server.url.ends_with(&format!(":{port}")));
    let r = server.invoke(&chain_payload(3));
    assert_eq!(
        predictions(&r),
        want,
        "the exported model answers as the model directory"
    );
    let (status, log) = server.stop();
    assert!(status.success(), "{log}");
    assert!(
        log.contains("opt-ml/model"),
        "the log names the model served: {log}"
    );
    // Another argument than SageMaker's `serve` is refused.
    run_gs(dir, &["serve", "train"]).fails_with(2, &["train"]);
}

#[test]
fn sigterm_lets_the_request_in_flight_finish() {
    let tmp = trained_demo();
    let dir = tmp.path();
    let server = Server::start(
        dir,
        &[
            "--model-dir",
            "model",
            "--workers",
            "1",
            "--max-body-bytes",
            "30000000",
        ],
        &[],
    );
    // ~7 MB, several hundred milliseconds to read and answer in a debug build.
    let body = chain_payload(24_000).to_string();
    let url = format!("{}/invocations", server.url);
    let request =
        std::thread::spawn(move || post(&http_agent(), &url, body.as_bytes(), "application/json"));
    // The request is being read or computed when SIGTERM arrives.
    std::thread::sleep(Duration::from_millis(100));
    server.sigterm();
    let (status, text) = request.join().unwrap();
    assert_eq!(status, 200, "{text}");
    let response: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(predictions(&response).len(), 24_000);
    let (exit, log) = server.stop();
    assert!(
        exit.success(),
        "gs serve exits 0 after SIGTERM: {exit}\n{log}"
    );
    let sigterm = log.find("SIGTERM").expect("the log records SIGTERM");
    let answered = log
        .rfind("POST /invocations")
        .expect("the request is logged");
    assert!(
        sigterm < answered,
        "the request finished after SIGTERM:\n{log}"
    );
}

#[test]
fn a_full_queue_answers_503_while_ping_keeps_answering() {
    let tmp = trained_demo();
    let dir = tmp.path();
    let server = Arc::new(Server::start(
        dir,
        &["--model-dir", "model", "--workers", "1", "--queue", "1"],
        &[],
    ));
    let body = Arc::new(chain_payload(600).to_string());
    let done = Arc::new(AtomicBool::new(false));
    let pings = {
        let (server, done) = (server.clone(), done.clone());
        std::thread::spawn(move || {
            let mut statuses = Vec::new();
            while !done.load(Ordering::SeqCst) {
                let start = Instant::now();
                statuses.push((server.ping(), start.elapsed()));
                std::thread::sleep(Duration::from_millis(5));
            }
            statuses
        })
    };
    let answers = Arc::new(Mutex::new(BTreeMap::<(u16, u64), usize>::new()));
    let clients: Vec<_> = (0..8)
        .map(|_| {
            let (server, body, answers) = (server.clone(), body.clone(), answers.clone());
            std::thread::spawn(move || {
                for _ in 0..25 {
                    let (status, text) = server.invoke_raw(body.as_bytes(), "application/json");
                    let code = match status {
                        200 => serde_json::from_str::<Value>(&text).unwrap()["status_code"]
                            .as_u64()
                            .unwrap(),
                        _ => 0,
                    };
                    *answers.lock().unwrap().entry((status, code)).or_default() += 1;
                }
            })
        })
        .collect();
    for c in clients {
        c.join().unwrap();
    }
    done.store(true, Ordering::SeqCst);
    let pings = pings.join().unwrap();
    let answers = answers.lock().unwrap().clone();
    eprintln!("200 requests from 8 clients on 1 worker with a queue of 1: {answers:?}");
    assert_eq!(answers.values().sum::<usize>(), 200);
    for (status, code) in answers.keys() {
        assert!(
            matches!((status, code), (200, 200) | (503, 0)),
            "unexpected answer {status}/{code}: {answers:?}"
        );
    }
    assert!(
        answers.contains_key(&(503, 0)),
        "a full queue answers 503: {answers:?}"
    );
    assert!(answers.contains_key(&(200, 200)), "{answers:?}");
    assert!(
        pings.len() > 5 && pings.iter().all(|(s, _)| *s == Some(200)),
        "ping answers 200 throughout: {pings:?}"
    );
    let slowest = pings.iter().map(|(_, t)| *t).max().unwrap();
    assert!(
        slowest < Duration::from_secs(1),
        "ping never waits for the queue: slowest {slowest:?}"
    );
}

/// Raw values of a feature GraphStorm's gconstruct transformed: `max_min_norm` and
/// `to_categorical` undone with the fitted parameters of `data_transform_new.json`.
fn raw_value(transforms: &Value, ntype: &str, feature: &str, row: &[f32]) -> Value {
    let block = transforms["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["node_type"] == ntype)
        .unwrap();
    let f = block["features"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["feature_name"] == feature)
        .unwrap();
    let t = &f["transform"];
    match t["name"].as_str().unwrap() {
        "max_min_norm" => {
            let (max, min) = (
                t["max_val"][0].as_f64().unwrap(),
                t["min_val"][0].as_f64().unwrap(),
            );
            json!(f64::from(row[0]) * (max - min) + min)
        }
        "to_categorical" => {
            let hot = row.iter().position(|&x| x == 1.0);
            let name = t["mapping"]
                .as_object()
                .unwrap()
                .iter()
                .find(|(_, v)| v.as_u64().map(|v| v as usize) == hot);
            json!(name.map_or("never-seen", |(k, _)| k.as_str()))
        }
        other => panic!("no inverse for {other}"),
    }
}

/// A model GraphStorm 0.5.1 trained, imported with `gs model import`, served from raw
/// feature values: the softmax of the served logits is GraphStorm's own prediction.
#[test]
fn a_model_graphstorm_trained_serves_graphstorms_predictions_from_raw_values() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let case = "nc-rgcn";
    let graphstorm_dir = graphstorm::graphstorm_model_dir(dir, "graphstorm-model", case);
    run_gs_on_case(
        dir,
        &[
            "model",
            "import",
            "--graphstorm",
            graphstorm_dir.to_str().unwrap(),
            "--output",
            "imported",
        ],
        case,
        &[],
    )
    .ok();
    let part_config = graphstorm::case_graph(case);
    let graph: HeteroGraph = gs_graph::load(&part_config).unwrap();
    let transforms: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("imported/data_transform_new.json")).unwrap(),
    )
    .unwrap();
    let want = &golden(case, "predictions.json")["paper"];
    let by_raw: BTreeMap<String, NodeId> = (0..graph.num_nodes("paper").unwrap())
        .map(|i| (raw_id(&graph, "paper", i), i))
        .collect();
    let chosen: Vec<&String> = want.as_object().unwrap().keys().take(5).collect();
    let seeds = BTreeMap::from([(
        "paper".to_string(),
        chosen.iter().map(|r| by_raw[*r]).collect::<Vec<_>>(),
    )]);
    let features: BTreeMap<String, Vec<String>> = ["author", "paper"]
        .iter()
        .map(|t| {
            (
                t.to_string(),
                graph
                    .node_data_all(t)
                    .map(|(n, _)| n.to_string())
                    .filter(|n| !n.contains("mask") && n != "label")
                    .collect(),
            )
        })
        .collect();
    let num_layers = 2;
    let mut sub = neighbourhood(&graph, &seeds, num_layers, &features, &[]);
    for n in sub["nodes"].as_array_mut().unwrap() {
        let ntype = n["node_type"].as_str().unwrap().to_string();
        let feats = n["features"].as_object_mut().unwrap();
        for (name, v) in feats.iter_mut() {
            let row: Vec<f32> = v
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap() as f32)
                .collect();
            *v = raw_value(&transforms, &ntype, name, &row);
        }
    }
    let targets: Vec<Value> = chosen
        .iter()
        .map(|r| json!({"node_type": "paper", "node_id": r}))
        .collect();
    let server = Server::start(dir, &["--model-dir", "imported"], &[]);
    let served = predictions(&server.invoke(&payload("node_classification", sub, targets)));
    for (raw, logits) in chosen.iter().zip(&served) {
        let probs = softmax(logits);
        let theirs: Vec<f32> = want[raw.as_str()]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap() as f32)
            .collect();
        let diff = probs
            .iter()
            .zip(&theirs)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max);
        assert!(
            diff < 1e-5,
            "paper {raw}: served {probs:?}, GraphStorm {theirs:?}"
        );
    }
}

/// A model that cannot load stops the server (and `infer-payload`) with an error naming the
/// file, and a folder that is no model directory is named with the flag that writes one.
#[test]
fn a_model_that_cannot_load_stops_the_server_naming_why() {
    let tmp = trained_demo();
    let dir = tmp.path();
    std::fs::write(
        dir.join("model/serving.json"),
        "{\"gs_serving_version\": 1}",
    )
    .unwrap();
    let port = free_port().to_string();
    run_gs(
        dir,
        &[
            "serve",
            "--model-dir",
            "model",
            "--host",
            "127.0.0.1",
            "--port",
            &port,
        ],
    )
    .fails_with(1, &["serving.json"]);
    std::fs::remove_file(dir.join("model/serving.json")).unwrap();
    run_gs(dir, &["infer-payload", "--model-dir", "model", "-"])
        .fails_with(1, &["serving.json", "hint"]);
    run_gs(dir, &["serve", "--model-dir", "nowhere"])
        .fails_with(1, &["nowhere", "--save-model-path"]);
}
