//! `gs serve` and `gs infer-payload` against offline inference, through the real binary and a
//! real HTTP client on loopback: each of the five tasks answers a payload holding the full
//! in-neighbourhood of its targets with what `--inference` (or `gen-node-embedding`, for link
//! prediction's scores) computes on the whole graph with every neighbour, within 1e-5.
//! GraphStorm's endpoint returns raw logits and offline inference writes probabilities, so
//! classification is compared after a softmax.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use gs_graph::{EdgeType, HeteroGraph, NodeId};
use gs_tests::runs::user_item_edge_yaml;
use gs_tests::serving::{
    Server, best_checkpoint, infer_offline, max_abs_diff, neighbourhood,
    neighbourhood_with_edge_features, payload, predictions, raw_id, softmax,
};
use gs_tests::{run_gs, run_gs_line, small_demo_graph, train_encoder_on_demo};
use serde_json::{Value, json};

fn load(dir: &Path, part_config: &str) -> HeteroGraph {
    gs_graph::load(&dir.join(part_config)).unwrap()
}

fn features(entries: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
    entries
        .iter()
        .map(|(t, f)| (t.to_string(), f.iter().map(|s| s.to_string()).collect()))
        .collect()
}

/// Graph ids of raw ids, per node type.
fn graph_ids(graph: &HeteroGraph, ntype: &str) -> HashMap<String, NodeId> {
    (0..graph.num_nodes(ntype).unwrap())
        .map(|id| (raw_id(graph, ntype, id), id))
        .collect()
}

/// A node task on the demo graph: `gs serve` over HTTP and `gs infer-payload` answer the
/// offline predictions of eight test papers.
fn node_task_agrees(task: &str, command: &str, probabilities: bool) {
    let tmp = small_demo_graph();
    let dir = tmp.path();
    train_encoder_on_demo(
        dir,
        "rgcn",
        &[
            "--task-type",
            task,
            "--num-epochs",
            "2",
            "--save-model-path",
            "model",
        ],
    )
    .ok();
    let best = best_checkpoint(dir, "model");
    infer_offline(dir, command, "data/demo.json", &best);
    let (ids, offline) = gs_output::read_node_predictions(&dir.join("pred"), "paper").unwrap();
    let graph = load(dir, "data/demo.json");
    let index = graph_ids(&graph, "paper");
    let chosen: Vec<usize> = (0..ids.len()).step_by(5).take(8).collect();
    let seeds = BTreeMap::from([(
        "paper".to_string(),
        chosen.iter().map(|&k| index[&ids[k]]).collect::<Vec<_>>(),
    )]);
    let feats = features(&[("paper", &["feat"]), ("author", &["feat"])]);
    let sub = neighbourhood(&graph, &seeds, 2, &feats, &[]);
    let targets: Vec<Value> = chosen
        .iter()
        .map(|&k| json!({"node_type": "paper", "node_id": ids[k]}))
        .collect();
    let request = payload(task, sub, targets);
    let want: Vec<Vec<f32>> = chosen.iter().map(|&k| offline[k].clone()).collect();
    let as_offline = |rows: Vec<Vec<f32>>| -> Vec<Vec<f32>> {
        if probabilities {
            rows.iter().map(|r| softmax(r)).collect()
        } else {
            rows
        }
    };

    let server = Server::start(dir, &["--model-dir", "model", "--workers", "2"], &[]);
    let response = server.invoke(&request);
    let results = response["data"]["results"].as_array().unwrap();
    for (r, &k) in results.iter().zip(&chosen) {
        assert_eq!(r["node_type"], "paper");
        assert_eq!(r["node_id"], ids[k]);
    }
    let served = as_offline(predictions(&response));
    let diff = max_abs_diff(&served, &want);
    assert!(
        diff < 1e-5,
        "{task}: served and offline predictions differ by {diff}"
    );
    assert_eq!(response["request_uid"].as_str().unwrap().len(), 16);

    std::fs::write(dir.join("payload.json"), request.to_string()).unwrap();
    let run = run_gs(
        dir,
        &["infer-payload", "--model-dir", &best, "payload.json"],
    )
    .ok();
    let offline_payload: Value = serde_json::from_str(run.stdout.trim()).unwrap();
    let diff = max_abs_diff(&as_offline(predictions(&offline_payload)), &want);
    assert!(diff < 1e-5, "{task}: infer-payload differs by {diff}");
    let (status, log) = server.stop();
    assert!(status.success(), "gs serve ended with {status}:\n{log}");
    assert!(
        log.contains("POST /invocations") && log.contains("latency_us"),
        "{log}"
    );
}

#[test]
fn node_classification_serves_the_offline_logits() {
    node_task_agrees("node_classification", "node-classification", true);
}

#[test]
fn node_regression_serves_the_offline_values() {
    node_task_agrees("node_regression", "node-regression", false);
}

/// The user–item graph's reverse edge types: `rated-by` reverses `rates`.
fn rates() -> (EdgeType, EdgeType) {
    (
        EdgeType::new("user", "rates", "item"),
        EdgeType::new("item", "rated-by", "user"),
    )
}

/// `graph` with every reverse edge replaced by its forward edge (each once): what a client
/// sends when the server adds the reverse edges.
fn forward_only(graph: &Value) -> Value {
    let (fwd, rev) = rates();
    let mut seen = BTreeSet::new();
    let mut edges = Vec::new();
    for e in graph["edges"].as_array().unwrap() {
        let t: Vec<&str> = e["edge_type"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_str().unwrap())
            .collect();
        let (s, d) = (
            e["src_node_id"].as_str().unwrap(),
            e["dest_node_id"].as_str().unwrap(),
        );
        let (s, d) = if t == [rev.src.as_str(), &rev.rel, &rev.dst] {
            (d, s)
        } else {
            (s, d)
        };
        if seen.insert((s.to_string(), d.to_string())) {
            edges.push(json!({"edge_type": [fwd.src, fwd.rel, fwd.dst], "src_node_id": s, "dest_node_id": d}));
        }
    }
    json!({"nodes": graph["nodes"], "edges": edges})
}

fn user_item_features() -> BTreeMap<String, Vec<String>> {
    features(&[("user", &["feat"]), ("item", &["feat"])])
}

/// An edge task on the user–item graph: the served predictions of six test edges, from a
/// payload with both directions and from one with the forward edges only, are the offline ones.
fn edge_task_agrees(task: &str, command: &str, label: &str, extra: &str, probabilities: bool) {
    edge_task_agrees_with(task, command, label, extra, probabilities, &[]);
}

/// [`edge_task_agrees`] with the edge features `edge_features` of `user,rates,item` in the
/// payload (then only with both directions, each edge carrying its own values).
fn edge_task_agrees_with(
    task: &str,
    command: &str,
    label: &str,
    extra: &str,
    probabilities: bool,
    edge_features: &[&str],
) {
    let yaml = user_item_edge_yaml(task, label, 2, extra);
    let tmp = gs_tests::runs::user_item_folder(&[("edge.yaml", &yaml)]);
    let dir = tmp.path();
    let base = [
        "--num-trainers",
        "1",
        "--part-config",
        "data/user-item.json",
    ];
    run_gs(
        dir,
        &[
            &[command][..],
            &base,
            &["--cf", "edge.yaml", "--save-model-path", "model"],
        ]
        .concat(),
    )
    .ok();
    let best = best_checkpoint(dir, "model");
    run_gs(
        dir,
        &[
            &[command][..],
            &base,
            &[
                "--inference",
                "--restore-model-path",
                &best,
                "--save-prediction-path",
                "pred",
            ],
        ]
        .concat(),
    )
    .ok();
    let (fwd, _) = rates();
    let offline =
        gs_output::read_edge_predictions(&dir.join("pred"), [&fwd.src, &fwd.rel, &fwd.dst])
            .unwrap();
    let graph = load(dir, "data/user-item.json");
    let (users, items) = (graph_ids(&graph, "user"), graph_ids(&graph, "item"));
    let chosen: Vec<usize> = (0..offline.src.len()).step_by(7).take(6).collect();
    let mut seeds: BTreeMap<String, Vec<NodeId>> = BTreeMap::new();
    for &k in &chosen {
        for (t, id) in [
            ("user", users[&offline.src[k]]),
            ("item", items[&offline.dst[k]]),
        ] {
            let list = seeds.entry(t.to_string()).or_default();
            if !list.contains(&id) {
                list.push(id);
            }
        }
    }
    let (fwd, rev) = rates();
    let named: Vec<String> = edge_features.iter().map(|f| f.to_string()).collect();
    let per_type = BTreeMap::from([(fwd.clone(), named.clone()), (rev, named)]);
    let both =
        neighbourhood_with_edge_features(&graph, &seeds, 1, &user_item_features(), &per_type, &[]);
    let targets: Vec<Value> = chosen
        .iter()
        .map(|&k| json!({"edge_type": ["user", "rates", "item"], "src_node_id": offline.src[k], "dest_node_id": offline.dst[k]}))
        .collect();
    let want: Vec<Vec<f32>> = chosen.iter().map(|&k| offline.preds[k].clone()).collect();
    let server = Server::start(dir, &["--model-dir", "model"], &[]);
    let mut forms = vec![("both directions", both.clone())];
    if edge_features.is_empty() {
        forms.push(("forward edges only", forward_only(&both)));
    } else {
        // Without the target's own edge, the decoder has nothing to read: 404, naming why.
        let mut missing = both.clone();
        let (s, d) = (&offline.src[chosen[0]], &offline.dst[chosen[0]]);
        missing["edges"].as_array_mut().unwrap().retain(|e| {
            !(e["edge_type"][1] == "rates" && e["src_node_id"] == *s && e["dest_node_id"] == *d)
        });
        let r = server.invoke(&payload(task, missing, targets.clone()));
        assert_eq!(r["status_code"], 404, "{r}");
        assert!(
            r["error"].as_str().unwrap().contains("decoder_edge_feat"),
            "{r}"
        );
    }
    for (form, sub) in forms {
        let response = server.invoke(&payload(task, sub, targets.clone()));
        let mut served = predictions(&response);
        if probabilities {
            served = served.iter().map(|r| softmax(r)).collect();
        }
        let diff = max_abs_diff(&served, &want);
        assert!(
            diff < 1e-5,
            "{task}, {form}: served and offline predictions differ by {diff}"
        );
        let first = &response["data"]["results"][0];
        assert_eq!(first["src_node_id"], offline.src[chosen[0]].as_str());
        assert_eq!(first["edge_type"], json!(["user", "rates", "item"]));
    }
}

#[test]
fn edge_regression_serves_the_offline_values_with_or_without_reverse_edges() {
    edge_task_agrees("edge_regression", "edge-regression", "rating", "", false);
}

/// GraphStorm's `MLPEFeatEdgeDecoder` reads the target edge's own `review`, from the target's
/// edge in `graph.edges`.
#[test]
fn edge_regression_with_an_edge_feature_decoder_serves_the_offline_values() {
    edge_task_agrees_with(
        "edge_regression",
        "edge-regression",
        "rating",
        "    decoder_type: MLPEFeatEdgeDecoder\n    decoder_edge_feat:\n      - \"user,rates,item:review\"\n",
        false,
        &["review"],
    );
}

#[test]
fn edge_classification_serves_the_offline_logits_with_or_without_reverse_edges() {
    edge_task_agrees(
        "edge_classification",
        "edge-classification",
        "label",
        "    num_classes: 3\n",
        true,
    );
}

const LP_YAML: &str = "version: 1.0
gsf:
  basic:
    model_encoder_type: rgcn
  gnn:
    num_layers: 1
    hidden_size: 16
    fanout: \"10\"
  input:
    node_feat_name:
      - \"user:feat\"
      - \"item:feat\"
  hyperparam:
    lr: 0.01
    num_epochs: 1
    batch_size: 256
  link_prediction:
    train_etype:
      - \"user,rates,item\"
    reverse_edge_types_map:
      - \"user,rates,rated-by,item\"
    lp_decoder_type: dot_product
    num_negative_edges: 4
";

/// Link prediction: the served score of a candidate edge is the decoder's raw score (a dot
/// product) of the endpoints' embeddings `gen-node-embedding` computes with every edge.
#[test]
fn link_prediction_serves_the_decoder_score_of_each_candidate() {
    let tmp = gs_tests::runs::user_item_folder(&[("lp.yaml", LP_YAML)]);
    let dir = tmp.path();
    run_gs_line(dir, "link-prediction --num-trainers 1 --part-config data/user-item.json --cf lp.yaml --save-model-path model").ok();
    let best = best_checkpoint(dir, "model");
    run_gs(
        dir,
        &[
            "gen-node-embedding",
            "--num-trainers",
            "1",
            "--part-config",
            "data/user-item.json",
            "--restore-model-path",
            &best,
            "--save-embed-path",
            "emb",
        ],
    )
    .ok();
    let embedding = |ntype: &str| -> HashMap<String, Vec<f32>> {
        let (ids, rows) = gs_output::read_node_embeddings(&dir.join("emb"), ntype).unwrap();
        ids.into_iter().zip(rows).collect()
    };
    let (user_emb, item_emb) = (embedding("user"), embedding("item"));
    let graph = load(dir, "data/user-item.json");
    // Candidates: a user with three items, one of them rated, the others maybe not.
    let pairs: Vec<(NodeId, NodeId)> = vec![(3, 10), (3, 11), (17, 200), (42, 5), (42, 299)];
    let mut seeds: BTreeMap<String, Vec<NodeId>> = BTreeMap::new();
    for &(u, i) in &pairs {
        for (t, id) in [("user", u), ("item", i)] {
            let list = seeds.entry(t.to_string()).or_default();
            if !list.contains(&id) {
                list.push(id);
            }
        }
    }
    let sub = neighbourhood(&graph, &seeds, 1, &user_item_features(), &[]);
    let targets: Vec<Value> = pairs
        .iter()
        .map(|&(u, i)| json!({"edge_type": ["user", "rates", "item"], "src_node_id": raw_id(&graph, "user", u), "dest_node_id": raw_id(&graph, "item", i)}))
        .collect();
    let server = Server::start(dir, &["--model-dir", "model"], &[]);
    let response = server.invoke(&payload("link_prediction", forward_only(&sub), targets));
    let served = predictions(&response);
    let want: Vec<Vec<f32>> = pairs
        .iter()
        .map(|&(u, i)| {
            let (hu, hi) = (
                &user_emb[&raw_id(&graph, "user", u)],
                &item_emb[&raw_id(&graph, "item", i)],
            );
            vec![hu.iter().zip(hi).map(|(a, b)| a * b).sum()]
        })
        .collect();
    let diff = max_abs_diff(&served, &want);
    assert!(
        diff < 1e-4,
        "served scores differ from the embeddings' dot products by {diff}: {served:?} vs {want:?}"
    );
    let spread = want.iter().map(|w| w[0]).fold(f32::NEG_INFINITY, f32::max)
        - want.iter().map(|w| w[0]).fold(f32::INFINITY, f32::min);
    assert!(
        spread > 1e-3,
        "the candidates' scores should differ: {want:?}"
    );
}
