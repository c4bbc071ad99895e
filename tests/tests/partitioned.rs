//! The real `gs` binary on a partitioned graph: `gs partition` splits the demo graph with METIS,
//! `gs graph info` shows the parts, training on the parts learns as on the whole graph, and
//! inference on the parts predicts the same nodes, under their original ids, with the same
//! probabilities as inference on the unpartitioned graph.

use std::collections::BTreeMap;
use std::path::Path;

use gs_tests::run_gs_line as gs;

/// Predictions written under `dir`, by node id as written.
fn predictions(dir: &Path) -> BTreeMap<String, Vec<f32>> {
    let (ids, rows) = gs_output::read_node_predictions(dir, "paper").unwrap();
    ids.into_iter().zip(rows).collect()
}

#[test]
fn metis_parts_train_and_predict_like_the_whole_graph() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // Beside the data, so that command lines hold no path with spaces.
    let yaml = gs_tests::demo_yaml();
    std::fs::copy(yaml, dir.join("nc.yaml")).unwrap();
    gs(dir, "generate demo --output-dir data --seed 3").ok();

    let split = "partition --part-config data/demo.json --num-parts 2 --part-method metis";
    let run = gs(dir, &format!("{split} --output-dir parts")).ok();
    assert!(run.stdout.contains("2 parts by metis"), "{}", run.stdout);
    let info = gs(dir, "graph info --part-config parts/demo.json").ok();
    assert!(
        info.stdout.contains("2 parts (part_method: metis)") && info.stdout.contains("part 1:"),
        "{}",
        info.stdout
    );

    // Train on the parts.
    let run = gs(
        dir,
        "launch --num-trainers 1 --part-config parts/demo.json --cf nc.yaml --plugin sage \
         --save-model-path model --num-epochs 6 -- --aggregator mean",
    )
    .ok();
    assert!(run.stdout.contains("best epoch"), "{}", run.stdout);
    let summary: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("model/training_summary.json")).unwrap(),
    )
    .unwrap();
    let test = summary["test_score"].as_f64().unwrap();
    assert!(
        test > 0.25 + 0.45,
        "test accuracy {test} on the parts, chance 0.25"
    );

    // Infer with that checkpoint on the parts and on the whole graph, every neighbour used.
    let restore = format!("model/{}/", summary["best_checkpoint"].as_str().unwrap());
    for (part_config, out) in [("parts", "pred-parts"), ("data", "pred-whole")] {
        gs(
            dir,
            &format!(
                "launch --inference --num-trainers 1 --part-config {part_config}/demo.json \
                 --restore-model-path {restore} --eval-fanout -1,-1 --save-prediction-path {out}"
            ),
        )
        .ok();
    }
    let parts = predictions(&dir.join("pred-parts"));
    let whole = predictions(&dir.join("pred-whole"));
    assert_eq!(whole.len(), 600, "the demo's test papers");
    assert_eq!(
        parts.keys().collect::<Vec<_>>(),
        whole.keys().collect::<Vec<_>>(),
        "the same papers, under their original ids"
    );
    for (id, row) in &parts {
        for (a, b) in row.iter().zip(&whole[id]) {
            assert!(
                (a - b).abs() < 1e-5,
                "paper {id}: {row:?} vs {:?}",
                whole[id]
            );
        }
    }
}

#[test]
fn partition_refuses_bad_requests_clearly() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    gs(
        dir,
        "generate demo --output-dir data --num-papers 300 --num-authors 100",
    )
    .ok();
    let base = "partition --part-config data/demo.json --output-dir out";
    gs(dir, &format!("{base} --num-parts 0")).fails_with(1, &["--num-parts is 0"]);
    gs(dir, &format!("{base} --num-parts 2 --part-method spectral"))
        .fails_with(2, &["spectral", "metis", "random"]);
    gs(
        dir,
        "partition --part-config nope.json --num-parts 2 --output-dir o",
    )
    .fails_with(1, &["nope.json"]);
    // An output folder with data in it is left alone.
    std::fs::create_dir_all(dir.join("out")).unwrap();
    std::fs::write(dir.join("out/keep.txt"), "data").unwrap();
    gs(dir, &format!("{base} --num-parts 2")).fails_with(1, &["out", "not empty"]);
    assert_eq!(
        std::fs::read_to_string(dir.join("out/keep.txt")).unwrap(),
        "data"
    );
}
