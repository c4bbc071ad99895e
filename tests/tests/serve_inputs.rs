//! The inputs `gs serve` assembles: learnable node embeddings (the trained row of a node seen
//! in training, the payload's `gs_learnable_embedding`, and `--unseen-node-embedding` for the
//! others) and raw feature values through the fitted transforms of `data_transform_new.json`,
//! each checked against offline inference or against the embedding it must equal.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use gs_graph::{HeteroGraph, NodeId};
use gs_tests::serving::{
    Server, best_checkpoint, infer_offline, max_abs_diff, neighbourhood, payload, predictions,
    raw_id, softmax,
};
use gs_tests::{run_gs, run_gs_line, small_demo_graph, train_encoder_on_demo};
use serde_json::{Value, json};

/// The rows of the learnable table of `ntype` in checkpoint `ckpt`.
fn table(ckpt: &Path, ntype: &str) -> Vec<Vec<f32>> {
    let loaded = gs_train::checkpoint::load(ckpt).unwrap();
    let (_, t) = loaded
        .weights
        .iter()
        .find(|(n, _)| n == &format!("sparse_embed/{ntype}"))
        .unwrap();
    let dim = t.size()[1] as usize;
    let flat = Vec::<f32>::try_from(t.flatten(0, -1)).unwrap();
    flat.chunks(dim).map(<[f32]>::to_vec).collect()
}

fn nodes_mut(p: &mut Value) -> &mut Vec<Value> {
    p["graph"]["nodes"].as_array_mut().unwrap()
}

/// Renames author `from` to `to` in the payload's nodes and edges.
fn rename_author(p: &mut Value, from: &str, to: &str) {
    for n in nodes_mut(p) {
        if n["node_type"] == "author" && n["node_id"] == from {
            n["node_id"] = json!(to);
        }
    }
    for e in p["graph"]["edges"].as_array_mut().unwrap() {
        for (k, end) in [("src_node_id", 0), ("dest_node_id", 2)] {
            if e["edge_type"][end] == "author" && e[k] == from {
                e[k] = json!(to);
            }
        }
    }
}

fn set_author_embedding(p: &mut Value, id: &str, row: &[f32]) {
    for n in nodes_mut(p) {
        if n["node_type"] == "author" && n["node_id"] == id {
            n["features"]["gs_learnable_embedding"] = json!(row);
        }
    }
}

/// Authors have no features here (`node_feat_name paper:feat`), so the model reads their
/// learnable embeddings.
#[test]
fn learnable_embeddings_come_from_training_the_payload_or_the_unseen_policy() {
    let tmp = small_demo_graph();
    let dir = tmp.path();
    let only_papers = ["--node-feat-name", "paper:feat"];
    train_encoder_on_demo(
        dir,
        "rgcn",
        &[
            &only_papers[..],
            &["--num-epochs", "2", "--save-model-path", "model"],
        ]
        .concat(),
    )
    .ok();
    let best = best_checkpoint(dir, "model");
    infer_offline(dir, "node-classification", "data/demo.json", &best);
    let (ids, offline) = gs_output::read_node_predictions(&dir.join("pred"), "paper").unwrap();
    let graph: HeteroGraph = gs_graph::load(&dir.join("data/demo.json")).unwrap();
    let chosen: Vec<usize> = (0..4).collect();
    let seeds = BTreeMap::from([(
        "paper".to_string(),
        chosen
            .iter()
            .map(|&k| ids[k].parse::<NodeId>().unwrap())
            .collect::<Vec<_>>(),
    )]);
    let feats = BTreeMap::from([("paper".to_string(), vec!["feat".to_string()])]);
    let targets: Vec<Value> = chosen
        .iter()
        .map(|&k| json!({"node_type": "paper", "node_id": ids[k]}))
        .collect();
    let request = payload(
        "node_classification",
        neighbourhood(&graph, &seeds, 2, &feats, &[]),
        targets,
    );
    let want: Vec<Vec<f32>> = chosen.iter().map(|&k| offline[k].clone()).collect();
    let probabilities =
        |r: &Value| -> Vec<Vec<f32>> { predictions(r).iter().map(|p| softmax(p)).collect() };

    let server = Server::start(dir, &["--model-dir", "model"], &[]);
    // Seen authors get their trained rows.
    let seen = server.invoke(&request);
    assert!(max_abs_diff(&probabilities(&seen), &want) < 1e-5, "{seen}");
    assert!(
        seen["message"].as_str().unwrap().contains("`error`"),
        "{seen}"
    );
    // The same rows sent as `gs_learnable_embedding` give the same answer.
    let trained = table(&dir.join(&best), "author");
    let author = nodes_mut(&mut request.clone())
        .iter()
        .find(|n| n["node_type"] == "author")
        .map(|n| n["node_id"].as_str().unwrap().to_string())
        .expect("the neighbourhood holds an author");
    let mut sent = request.clone();
    for n in nodes_mut(&mut sent) {
        if n["node_type"] == "author" {
            let row = &trained[n["node_id"].as_str().unwrap().parse::<usize>().unwrap()];
            n["features"]["gs_learnable_embedding"] = json!(row);
        }
    }
    assert!(max_abs_diff(&probabilities(&server.invoke(&sent)), &want) < 1e-5);
    // A wrong-width embedding is refused, naming the field.
    let mut short = request.clone();
    set_author_embedding(&mut short, &author, &[0.5; 3]);
    let r = server.invoke(&short);
    assert_eq!(r["status_code"], 411, "{r}");
    assert!(
        r["error"]
            .as_str()
            .unwrap()
            .contains("gs_learnable_embedding"),
        "{r}"
    );

    // An author training never saw: refused by default, naming the node and the fix.
    let mut unseen = request.clone();
    rename_author(&mut unseen, &author, "new-author");
    let r = server.invoke(&unseen);
    assert_eq!(r["status_code"], 404, "{r}");
    let error = r["error"].as_str().unwrap();
    assert!(
        error.contains("new-author") && error.contains("--unseen-node-embedding"),
        "{error}"
    );
    // The policies equal sending their embedding explicitly.
    let explicit = |row: Vec<f32>| {
        let mut p = unseen.clone();
        set_author_embedding(&mut p, "new-author", &row);
        predictions(&server.invoke(&p))
    };
    let dim = trained[0].len();
    let zeros = explicit(vec![0.0; dim]);
    let mean: Vec<f32> = (0..dim)
        .map(|k| trained.iter().map(|r| r[k]).sum::<f32>() / trained.len() as f32)
        .collect();
    let mean_rows = explicit(mean);
    assert!(
        max_abs_diff(&zeros, &mean_rows) > 1e-4,
        "the two policies should differ"
    );
    drop(server);
    for (policy, want) in [("zero", &zeros), ("mean-of-neighbours", &mean_rows)] {
        let server = Server::start(
            dir,
            &["--model-dir", "model", "--unseen-node-embedding", policy],
            &[],
        );
        let r = server.invoke(&unseen);
        assert!(
            r["message"]
                .as_str()
                .unwrap()
                .contains(&format!("`{policy}`")),
            "{r}"
        );
        // The author's neighbours are papers, which have no learnable embedding: the mean of
        // the trained authors' rows stands in.
        let diff = max_abs_diff(&predictions(&r), want);
        assert!(diff < 1e-5, "{policy}: {diff}");
    }
}

const USERS: &[(&str, f64, &str, i64)] = &[
    ("u0", 21.0, "paris", 0),
    ("u1", 35.0, "rome", 1),
    ("u2", 52.0, "oslo", 2),
    ("u3", 28.0, "paris", 0),
    ("u4", 44.0, "rome", 1),
    ("u5", 61.0, "oslo", 2),
    ("u6", 19.0, "paris", 0),
    ("u7", 38.0, "rome", 1),
    ("u8", 57.0, "oslo", 2),
    ("u9", 25.0, "paris", 0),
    ("u10", 41.0, "rome", 1),
    ("u11", 66.0, "oslo", 2),
];

/// A user–item graph whose features are raw CSV columns with fitted transforms: `age`
/// (max_min_norm), `city` (to_categorical), and `price` of items (standard).
fn raw_graph(dir: &Path, with_rank_gauss: bool) {
    let users: String = USERS
        .iter()
        .map(|(id, age, city, label)| format!("{id},{age},{city},{label}\n"))
        .collect();
    std::fs::write(dir.join("users.csv"), format!("id,age,city,label\n{users}")).unwrap();
    let items: String = (0..6)
        .map(|i| format!("i{i},{}\n", 10.0 + 7.5 * i as f64))
        .collect();
    std::fs::write(dir.join("items.csv"), format!("iid,price\n{items}")).unwrap();
    let buys: String = (0..USERS.len())
        .flat_map(|u| [(u, u % 6), (u, (u * 5 + 1) % 6)])
        .map(|(u, i)| format!("u{u},i{i}\n"))
        .collect();
    std::fs::write(dir.join("buys.csv"), format!("uid,iid\n{buys}")).unwrap();
    let mut item_features =
        vec![json!({"feature_col": "price", "transform": {"name": "standard"}})];
    if with_rank_gauss {
        item_features.push(json!({"feature_col": "price", "feature_name": "price_rank", "transform": {"name": "rank_gauss"}}));
    }
    let conf = json!({
        "version": "gconstruct-v0.1",
        "nodes": [
            {"node_type": "user", "format": {"name": "csv"}, "files": "users.csv", "node_id_col": "id",
             "features": [
                {"feature_col": "age", "transform": {"name": "max_min_norm"}},
                {"feature_col": "city", "transform": {"name": "to_categorical"}}],
             "labels": [{"label_col": "label", "task_type": "classification", "split_pct": [0.5, 0.25, 0.25]}]},
            {"node_type": "item", "format": {"name": "csv"}, "files": "items.csv", "node_id_col": "iid",
             "features": item_features}
        ],
        "edges": [{"relation": ["user", "buys", "item"], "format": {"name": "csv"}, "files": "buys.csv",
                   "source_id_col": "uid", "dest_id_col": "iid"}]
    });
    std::fs::write(dir.join("conf.json"), conf.to_string()).unwrap();
    run_gs_line(dir, "gconstruct --conf-file conf.json --output-dir graph --graph-name shop --add-reverse-edges --seed 7").ok();
}

const RAW_YAML: &str = "version: 1.0
gsf:
  basic:
    model_encoder_type: rgcn
  gnn:
    num_layers: 2
    hidden_size: 8
    fanout: \"5,5\"
  input:
    node_feat_name:
      - \"user:age,city\"
      - \"item:price\"
  hyperparam:
    lr: 0.05
    num_epochs: 3
    batch_size: 4
  node_classification:
    target_ntype: user
    label_field: label
    num_classes: 3
";

#[test]
fn raw_feature_values_are_transformed_as_gconstruct_fitted_them() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    raw_graph(dir, false);
    std::fs::write(dir.join("nc.yaml"), RAW_YAML).unwrap();
    run_gs_line(dir, "node-classification --num-trainers 1 --part-config graph/shop.json --cf nc.yaml --save-model-path model").ok();
    assert!(
        dir.join("model/data_transform_new.json").is_file(),
        "training keeps the transforms beside the model"
    );
    let best = best_checkpoint(dir, "model");
    infer_offline(dir, "node-classification", "graph/shop.json", &best);
    let (ids, offline) = gs_output::read_node_predictions(&dir.join("pred"), "user").unwrap();
    let graph: HeteroGraph = gs_graph::load(&dir.join("graph/shop.json")).unwrap();
    let user_ids: HashMap<String, NodeId> = (0..graph.num_nodes("user").unwrap())
        .map(|i| (raw_id(&graph, "user", i), i))
        .collect();
    let seeds = BTreeMap::from([(
        "user".to_string(),
        ids.iter().map(|id| user_ids[id]).collect::<Vec<_>>(),
    )]);
    let mut sub = neighbourhood(&graph, &seeds, 2, &BTreeMap::new(), &[]);
    // Raw values, as the CSV holds them: the server applies the fitted transforms.
    for n in sub["nodes"].as_array_mut().unwrap() {
        let id = n["node_id"].as_str().unwrap().to_string();
        n["features"] = if n["node_type"] == "user" {
            let (_, age, city, _) = USERS.iter().find(|u| u.0 == id).unwrap();
            json!({"age": age, "city": city})
        } else {
            let i: f64 = id[1..].parse().unwrap();
            json!({"price": 10.0 + 7.5 * i})
        };
    }
    let targets: Vec<Value> = ids
        .iter()
        .map(|id| json!({"node_type": "user", "node_id": id}))
        .collect();
    let request = payload("node_classification", sub, targets);
    let server = Server::start(dir, &["--model-dir", "model"], &[]);
    let served: Vec<Vec<f32>> = predictions(&server.invoke(&request))
        .iter()
        .map(|p| softmax(p))
        .collect();
    let diff = max_abs_diff(&served, &offline);
    assert!(
        diff < 1e-5,
        "served predictions from raw values differ from offline ones by {diff}"
    );
    // A payload with no item at all: the item features' transforms have nothing to do.
    let lone = json!({"nodes": [{"node_type": "user", "node_id": "u0", "features": {"age": 21.0, "city": "paris"}}], "edges": []});
    let r = server.invoke(&payload(
        "node_classification",
        lone,
        vec![json!({"node_type": "user", "node_id": "u0"})],
    ));
    assert_eq!(predictions(&r).len(), 1, "{r}");
    // A value the transform cannot read is an error naming the feature.
    let mut bad = request.clone();
    for n in bad["graph"]["nodes"].as_array_mut().unwrap() {
        if n["node_type"] == "user" {
            n["features"]["age"] = json!("old");
        }
    }
    let r = server.invoke(&bad);
    assert_eq!(r["status_code"], 411, "{r}");
    assert!(r["error"].as_str().unwrap().contains("age"), "{r}");
}

#[test]
fn a_transform_that_cannot_apply_to_one_request_is_refused_at_start() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    raw_graph(dir, true);
    std::fs::write(
        dir.join("nc.yaml"),
        RAW_YAML.replace("\"item:price\"", "\"item:price,price_rank\""),
    )
    .unwrap();
    run_gs_line(dir, "node-classification --num-trainers 1 --part-config graph/shop.json --cf nc.yaml --num-epochs 1 --save-model-path model").ok();
    run_gs(dir, &["serve", "--model-dir", "model", "--port", "0"])
        .fails_with(1, &["price_rank", "rank_gauss"]);
}
