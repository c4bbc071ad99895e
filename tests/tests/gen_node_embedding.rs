//! `gs gen-node-embedding` through the real binary: from a trained node-classification model
//! it writes an embedding for every node of every type, with raw ids, equal to what
//! `--inference --save-embed-path` writes for the nodes that both cover; from a link-prediction
//! model it lets every edge carry messages, unlike link prediction's own embeddings, which use
//! `train_mask` edges only (GraphStorm's behaviour in both cases).

use std::collections::HashMap;
use std::path::Path;

use gs_tests::{demo_yaml, run_gs, small_demo_graph};

fn embeddings(dir: &Path, ntype: &str) -> HashMap<String, Vec<f32>> {
    let (ids, rows) = gs_output::read_node_embeddings(dir, ntype).unwrap();
    ids.into_iter().zip(rows).collect()
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn every_node_gets_an_embedding_equal_to_inference_where_both_write_one() {
    let tmp = small_demo_graph();
    let dir = tmp.path();
    let yaml = demo_yaml();
    let common = [
        "--part-config",
        "data/demo.json",
        "--num-trainers",
        "1",
        "--cf",
        yaml.to_str().unwrap(),
        // The YAML's 64 would override the checkpoint's width (command line > YAML > checkpoint).
        "--hidden-size",
        "16",
    ];
    let with = |extra: &[&str]| -> Vec<String> {
        common.iter().chain(extra).map(|s| s.to_string()).collect()
    };
    let train = with(&[
        "--num-epochs",
        "1",
        "--eval-fanout",
        "-1,-1",
        "--save-model-path",
        "model",
    ]);
    let args: Vec<&str> = std::iter::once("node-classification")
        .chain(train.iter().map(String::as_str))
        .collect();
    run_gs(dir, &args).ok();

    let restore = ["--restore-model-path", "model/epoch-0"];
    let gen_args = with(&[restore[0], restore[1], "--save-embed-path", "emb"]);
    let args: Vec<&str> = std::iter::once("gen-node-embedding")
        .chain(gen_args.iter().map(String::as_str))
        .collect();
    let run = run_gs(dir, &args).ok();
    assert!(
        run.stdout.contains("embeddings of 300 nodes"),
        "{}",
        run.stdout
    );
    let papers = embeddings(&dir.join("emb"), "paper");
    let authors = embeddings(&dir.join("emb"), "author");
    assert_eq!((papers.len(), authors.len()), (200, 100));
    assert!(
        papers
            .values()
            .chain(authors.values())
            .all(|r| r.len() == 16)
    );

    let infer_args = with(&[
        "--inference",
        restore[0],
        restore[1],
        "--save-embed-path",
        "inf",
    ]);
    let args: Vec<&str> = std::iter::once("node-classification")
        .chain(infer_args.iter().map(String::as_str))
        .collect();
    run_gs(dir, &args).ok();
    let inferred = embeddings(&dir.join("inf"), "paper");
    assert!(!inferred.is_empty());
    for (id, row) in &inferred {
        let diff = max_diff(row, &papers[id]);
        assert!(diff < 1e-5, "paper {id} differs by {diff}");
    }

    // What it needs is asked for by name.
    let only_restore = with(&restore);
    let args: Vec<&str> = std::iter::once("gen-node-embedding")
        .chain(only_restore.iter().map(String::as_str))
        .collect();
    run_gs(dir, &args).fails_with(2, &["--save-embed-path"]);
    let no_model = with(&["--save-embed-path", "emb2"]);
    let args: Vec<&str> = std::iter::once("gen-node-embedding")
        .chain(no_model.iter().map(String::as_str))
        .collect();
    run_gs(dir, &args).fails_with(2, &["--restore-model-path"]);
}

#[test]
fn link_prediction_models_embed_with_every_edge() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    gs_tests::run_gs_line(dir, "generate user-item --output-dir data").ok();
    let common = [
        "--part-config",
        "data/user-item.json",
        "--num-trainers",
        "1",
        "--task-type",
        "link_prediction",
        "--model-encoder-type",
        "rgcn",
        "--node-feat-name",
        "user:feat,group",
        "item:feat,group",
        "--num-layers",
        "1",
        "--fanout",
        "10",
        "--hidden-size",
        "8",
        "--lr",
        "0.01",
        "--batch-size",
        "256",
        "--num-epochs",
        "1",
        "--train-etype",
        "user,rates,item",
        "--reverse-edge-types-map",
        "user,rates,rated-by,item",
    ];
    let run = |command: &str, extra: &[&str]| {
        let args: Vec<&str> = std::iter::once(command)
            .chain(common.iter().copied())
            .chain(extra.iter().copied())
            .collect();
        run_gs(dir, &args).ok()
    };
    run("link-prediction", &["--save-model-path", "model"]);
    let restore = ["--restore-model-path", "model/epoch-0"];
    run(
        "gen-node-embedding",
        &[restore[0], restore[1], "--save-embed-path", "all"],
    );
    run(
        "link-prediction",
        &[
            "--inference",
            restore[0],
            restore[1],
            "--save-embed-path",
            "masked",
        ],
    );
    let (all, masked) = (
        embeddings(&dir.join("all"), "item"),
        embeddings(&dir.join("masked"), "item"),
    );
    assert_eq!((all.len(), masked.len()), (300, 300));
    // Items whose validation or test ratings are hidden from link prediction's messages differ.
    let differ = all
        .iter()
        .filter(|(id, row)| max_diff(row, &masked[*id]) > 1e-5)
        .count();
    assert!(differ > 100, "only {differ} of 300 items differ");
}
