//! What `gs serve` answers to bad requests, over HTTP on loopback: every GraphStorm status
//! code in the body (HTTP 200) with a message naming the field, the transport's own HTTP
//! errors (413, 404, 405), a plugin that traps on one request, and a fuzz run of 10,000
//! mutated payloads. After each, the next request is served normally.

use std::path::Path;
use std::time::{Duration, Instant};

use gs_tests::serving::Server;
use gs_tests::{plugin_path, run_gs, small_demo_graph};
use serde_json::{Value, json};

/// The documented codes of a response body.
const CODES: [u64; 9] = [200, 400, 401, 402, 403, 404, 411, 421, 500];

/// Trains `test-trap-on-seven` (a linear model of paper features that traps on a batch with
/// exactly seven papers) on the small demo graph into `model`.
fn train(dir: &Path) {
    let plugin = plugin_path("test-trap-on-seven");
    let yaml = gs_tests::demo_yaml();
    run_gs(
        dir,
        &[
            "node-classification",
            "--num-trainers",
            "1",
            "--part-config",
            "data/demo.json",
            "--cf",
            yaml.to_str().unwrap(),
            "--plugin",
            plugin.to_str().unwrap(),
            "--num-epochs",
            "1",
            "--save-model-path",
            "model",
        ],
    )
    .ok();
}

fn feat(seed: usize) -> Value {
    json!(
        (0..32)
            .map(|k| ((seed * 31 + k * 7) % 17) as f32 / 17.0 - 0.5)
            .collect::<Vec<_>>()
    )
}

/// A valid payload: `papers` papers (all targets) and one author, with edges among them.
fn base(papers: usize) -> Value {
    let mut nodes: Vec<Value> = (0..papers)
        .map(|i| json!({"node_type": "paper", "node_id": format!("p{i}"), "features": {"feat": feat(i)}}))
        .collect();
    nodes.push(json!({"node_type": "author", "node_id": "a0", "features": {"feat": feat(99)}}));
    let mut edges: Vec<Value> = (1..papers)
        .map(|i| json!({"edge_type": ["paper", "cites", "paper"], "src_node_id": format!("p{i}"), "dest_node_id": "p0"}))
        .collect();
    edges.push(json!({"edge_type": ["author", "writes", "paper"], "src_node_id": "a0", "dest_node_id": "p1"}));
    let targets: Vec<Value> = (0..papers)
        .map(|i| json!({"node_type": "paper", "node_id": format!("p{i}")}))
        .collect();
    json!({"version": "gs-realtime-v0.1", "gml_task": "node_classification",
           "graph": {"nodes": nodes, "edges": edges}, "targets": targets})
}

fn with(mut p: Value, edit: impl FnOnce(&mut Value)) -> Value {
    edit(&mut p);
    p
}

fn answer(server: &Server, body: &[u8], content_type: &str) -> Value {
    let (status, text) = server.invoke_raw(body, content_type);
    assert_eq!(status, 200, "HTTP {status}: {text}");
    serde_json::from_str(&text).unwrap()
}

#[test]
fn every_bad_request_gets_its_code_and_names_the_field_and_the_next_one_is_served() {
    let tmp = small_demo_graph();
    let dir = tmp.path();
    train(dir);
    let server = Server::start(
        dir,
        &[
            "--model-dir",
            "model",
            "--workers",
            "1",
            "--max-body-bytes",
            "200000",
        ],
        &[],
    );
    let good = base(3);
    let cases: Vec<(&str, Vec<u8>, &str, u64, &str)> = vec![
        (
            "not JSON",
            b"{\"version\":".to_vec(),
            "application/json",
            400,
            "not valid JSON",
        ),
        (
            "a list",
            b"[]".to_vec(),
            "application/json",
            400,
            "must be an object",
        ),
        (
            "text/plain",
            good.to_string().into_bytes(),
            "text/plain",
            400,
            "application/json",
        ),
        (
            "unknown version",
            with(good.clone(), |p| p["version"] = json!("gs-realtime-v9"))
                .to_string()
                .into_bytes(),
            "application/json",
            400,
            "gs-realtime-v9",
        ),
        (
            "no targets",
            with(good.clone(), |p| {
                p.as_object_mut().unwrap().remove("targets");
            })
            .to_string()
            .into_bytes(),
            "application/json",
            401,
            "`targets`",
        ),
        (
            "no graph.nodes",
            with(good.clone(), |p| {
                p["graph"].as_object_mut().unwrap().remove("nodes");
            })
            .to_string()
            .into_bytes(),
            "application/json",
            401,
            "graph.nodes",
        ),
        (
            "an edge without its source",
            with(good.clone(), |p| {
                p["graph"]["edges"][0]
                    .as_object_mut()
                    .unwrap()
                    .remove("src_node_id");
            })
            .to_string()
            .into_bytes(),
            "application/json",
            401,
            "graph.edges[0].src_node_id",
        ),
        (
            "empty targets",
            with(good.clone(), |p| p["targets"] = json!([]))
                .to_string()
                .into_bytes(),
            "application/json",
            402,
            "targets",
        ),
        (
            "a null node id",
            with(good.clone(), |p| {
                p["graph"]["nodes"][1]["node_id"] = Value::Null
            })
            .to_string()
            .into_bytes(),
            "application/json",
            402,
            "graph.nodes[1].node_id",
        ),
        (
            "an unknown node type",
            with(good.clone(), |p| {
                p["graph"]["nodes"][3]["node_type"] = json!("venue")
            })
            .to_string()
            .into_bytes(),
            "application/json",
            403,
            "venue",
        ),
        (
            "an unknown edge type",
            with(good.clone(), |p| {
                p["graph"]["edges"][0]["edge_type"] = json!(["paper", "likes", "paper"])
            })
            .to_string()
            .into_bytes(),
            "application/json",
            403,
            "graph.edges[0].edge_type",
        ),
        (
            "a target of another type",
            with(good.clone(), |p| {
                p["targets"][0] = json!({"node_type": "author", "node_id": "a0"})
            })
            .to_string()
            .into_bytes(),
            "application/json",
            403,
            "targets[0].node_type",
        ),
        (
            "a target not in graph.nodes",
            with(good.clone(), |p| p["targets"][1]["node_id"] = json!("p999"))
                .to_string()
                .into_bytes(),
            "application/json",
            404,
            "p999",
        ),
        (
            "a missing feature",
            with(good.clone(), |p| {
                p["graph"]["nodes"][2]["features"]
                    .as_object_mut()
                    .unwrap()
                    .remove("feat");
            })
            .to_string()
            .into_bytes(),
            "application/json",
            404,
            "graph.nodes[2]",
        ),
        (
            "an edge to a node not in graph.nodes",
            with(good.clone(), |p| {
                p["graph"]["edges"][0]["dest_node_id"] = json!("p77")
            })
            .to_string()
            .into_bytes(),
            "application/json",
            411,
            "graph.edges[0].dest_node_id",
        ),
        (
            "a feature of the wrong length",
            with(good.clone(), |p| {
                p["graph"]["nodes"][0]["features"]["feat"] = json!([1.0, 2.0])
            })
            .to_string()
            .into_bytes(),
            "application/json",
            411,
            "graph.nodes[0].features.feat",
        ),
        (
            "a feature of the wrong type",
            with(good.clone(), |p| {
                p["graph"]["nodes"][0]["features"]["feat"] = json!("high")
            })
            .to_string()
            .into_bytes(),
            "application/json",
            411,
            "graph.nodes[0].features.feat",
        ),
        (
            "an infinite value",
            good.to_string()
                .replacen("\"feat\":[", "\"feat\":[1e300,", 1)
                .replacen(",", ",", 1)
                .into_bytes(),
            "application/json",
            411,
            "features.feat",
        ),
        (
            "a node listed twice",
            with(good.clone(), |p| {
                let n = p["graph"]["nodes"][0].clone();
                p["graph"]["nodes"].as_array_mut().unwrap().push(n);
            })
            .to_string()
            .into_bytes(),
            "application/json",
            411,
            "repeats node `p0`",
        ),
        (
            "another task",
            with(good.clone(), |p| p["gml_task"] = json!("edge_regression"))
                .to_string()
                .into_bytes(),
            "application/json",
            421,
            "edge_regression",
        ),
        (
            "a plugin that traps",
            base(7).to_string().into_bytes(),
            "application/json",
            500,
            "model failed",
        ),
    ];
    for (what, body, content_type, code, needle) in &cases {
        let response = answer(&server, body, content_type);
        assert_eq!(response["status_code"], *code, "{what}: {response}");
        let error = response["error"].as_str().unwrap();
        assert!(
            error.contains(needle),
            "{what}: the error should name `{needle}`: {error}"
        );
        assert!(
            response["data"]["results"].as_array().unwrap().is_empty(),
            "{what}"
        );
        // The next request is served normally.
        let ok = answer(&server, good.to_string().as_bytes(), "application/json");
        assert_eq!(ok["status_code"], 200, "after {what}: {ok}");
        assert_eq!(ok["data"]["results"].as_array().unwrap().len(), 3);
    }
    let codes: std::collections::BTreeSet<u64> = cases.iter().map(|c| c.3).collect();
    assert_eq!(
        codes.len(),
        CODES.len() - 1,
        "every error code is exercised: {codes:?}"
    );

    // The transport's errors are HTTP statuses.
    let huge = with(good.clone(), |p| p["padding"] = json!("x".repeat(300_000)));
    assert_eq!(
        server
            .invoke_raw(huge.to_string().as_bytes(), "application/json")
            .0,
        413
    );
    let agent = gs_tests::serving::http_agent();
    let status =
        |r: Result<ureq::http::Response<ureq::Body>, ureq::Error>| r.unwrap().status().as_u16();
    assert_eq!(
        status(agent.get(format!("{}/nope", server.url)).call()),
        404
    );
    assert_eq!(
        status(agent.get(format!("{}/invocations", server.url)).call()),
        405
    );
    assert_eq!(
        status(agent.post(format!("{}/ping", server.url)).send("")),
        405
    );
    assert_eq!(
        answer(
            &server,
            good.to_string().as_bytes(),
            "application/json; charset=utf-8"
        )["status_code"],
        200
    );
}

/// A small deterministic generator (SplitMix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// A value of a random JSON type.
fn random_value(rng: &mut Rng) -> Value {
    match rng.below(10) {
        0 => Value::Null,
        1 => json!(rng.below(2) == 0),
        2 => json!(rng.next() as i64),
        3 => json!(-1e300 * (rng.below(3) as f64 - 1.0)),
        4 => json!("paper"),
        5 => json!(["paper", "cites", "paper"]),
        6 => json!(
            (0..rng.below(40))
                .map(|k| k as f64 * 0.1)
                .collect::<Vec<_>>()
        ),
        7 => json!({}),
        8 => json!("p0"),
        _ => json!([]),
    }
}

/// Every path of `v` (object keys and list indices).
fn paths(v: &Value, prefix: &mut Vec<Value>, out: &mut Vec<Vec<Value>>) {
    out.push(prefix.clone());
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                prefix.push(json!(k));
                paths(child, prefix, out);
                prefix.pop();
            }
        }
        Value::Array(a) => {
            for (i, child) in a.iter().enumerate() {
                prefix.push(json!(i));
                paths(child, prefix, out);
                prefix.pop();
            }
        }
        _ => {}
    }
}

fn at<'a>(v: &'a mut Value, path: &[Value]) -> &'a mut Value {
    path.iter().fold(v, |v, k| match k {
        Value::String(s) => &mut v[s.as_str()],
        k => &mut v[k.as_u64().unwrap() as usize],
    })
}

/// One mutation of `good`: a value replaced, a key or element removed or duplicated, or the
/// serialised body cut or corrupted.
fn mutate(good: &Value, rng: &mut Rng) -> Vec<u8> {
    let mut p = good.clone();
    let mut all = Vec::new();
    paths(&p, &mut vec![], &mut all);
    for _ in 0..=rng.below(3) {
        let path = all[rng.below(all.len())].clone();
        match rng.below(4) {
            0 => *at(&mut p, &path) = random_value(rng),
            1 if !path.is_empty() => {
                let (last, parent) = path.split_last().unwrap();
                match (at(&mut p, parent), last) {
                    (Value::Object(m), Value::String(k)) => {
                        m.remove(k);
                    }
                    (Value::Array(a), k) => {
                        let i = k.as_u64().unwrap() as usize;
                        if i < a.len() {
                            let x = a.remove(i);
                            if rng.below(2) == 0 {
                                a.push(x.clone());
                                a.push(x);
                            }
                        }
                    }
                    _ => {}
                }
            }
            2 => {
                if let Value::String(s) = at(&mut p, &path) {
                    s.push_str(["x", "", "\u{e9}", "-rev"][rng.below(4)]);
                }
            }
            _ => {}
        }
        all.clear();
        paths(&p, &mut vec![], &mut all);
    }
    let mut body = p.to_string().into_bytes();
    match rng.below(10) {
        0 => body.truncate(rng.below(body.len())),
        1 => {
            let i = rng.below(body.len());
            body[i] = (rng.next() & 0xff) as u8;
        }
        _ => {}
    }
    body
}

#[test]
fn ten_thousand_mutated_payloads_get_documented_codes_and_never_crash_the_server() {
    let tmp = small_demo_graph();
    let dir = tmp.path();
    train(dir);
    let server = Server::start(dir, &["--model-dir", "model", "--workers", "2"], &[]);
    let good = base(5);
    let mut rng = Rng(20261207);
    let start = Instant::now();
    let mut seen = std::collections::BTreeMap::<u64, usize>::new();
    for i in 0..10_000 {
        let body = mutate(&good, &mut rng);
        let (status, text) = server.invoke_raw(&body, "application/json");
        assert_eq!(
            status,
            200,
            "payload {i}: HTTP {status}: {text}\n{}",
            String::from_utf8_lossy(&body)
        );
        let response: Value = serde_json::from_str(&text).unwrap();
        let code = response["status_code"].as_u64().unwrap();
        assert!(CODES.contains(&code), "payload {i}: code {code}");
        *seen.entry(code).or_default() += 1;
        assert!(
            start.elapsed() < Duration::from_secs(600),
            "the fuzz run is over its time bound"
        );
    }
    eprintln!(
        "10,000 mutated payloads in {:.1} s: {seen:?}",
        start.elapsed().as_secs_f64()
    );
    assert!(
        seen.len() >= 5,
        "the mutations reach several codes: {seen:?}"
    );
    assert_eq!(server.ping(), Some(200));
    let ok = answer(&server, good.to_string().as_bytes(), "application/json");
    assert_eq!(ok["status_code"], 200);
    let (status, log) = server.stop();
    assert!(
        status.success(),
        "gs serve ended with {status}:\n{}",
        &log[log.len().saturating_sub(3000)..]
    );
}
