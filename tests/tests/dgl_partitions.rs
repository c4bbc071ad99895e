//! The real `gs` binary trains and infers on a partition written by GraphStorm/DGL
//! (`tests/fixtures/dgl-tiny`), and its predictions carry the raw node ids, as GraphStorm's
//! `remap_result` writes them.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn fixture() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/dgl-tiny");
    assert!(
        dir.is_dir(),
        "the dgl-tiny fixture is missing at `{}` (tests/fixtures/dgl-tiny in the repository)",
        dir.display()
    );
    dir
}

fn gs(dir: &Path, args: &[&str]) {
    gs_tests::run_gs(dir, args).ok();
}

#[test]
fn trains_and_predicts_on_a_graphstorm_partition_with_raw_ids() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let part_config = fixture().join("partitioned/tiny.json");
    let part_config = part_config.to_str().unwrap();
    gs(
        dir,
        &[
            "launch",
            "--num-trainers",
            "1",
            "--part-config",
            part_config,
            "--plugin",
            "sage",
            "--task-type",
            "node_classification",
            "--target-ntype",
            "paper",
            "--label-field",
            "label",
            "--num-classes",
            "3",
            "--node-feat-name",
            "paper:year",
            "author:h_index",
            "--num-layers",
            "2",
            "--fanout",
            "5,5",
            "--hidden-size",
            "8",
            "--lr",
            "0.01",
            "--batch-size",
            "8",
            "--num-epochs",
            "2",
            "--save-model-path",
            "model",
        ],
    );
    gs(
        dir,
        &[
            "launch",
            "--inference",
            "--num-trainers",
            "1",
            "--part-config",
            part_config,
            "--restore-model-path",
            "model/epoch-1",
            "--save-prediction-path",
            "pred",
        ],
    );
    let expected: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture().join("expected.json")).unwrap())
            .unwrap();
    let paper = &expected["node_types"]["paper"];
    let raw: Vec<&str> = paper["raw_ids_in_order"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let test_mask = paper["features"]["test_mask"].as_array().unwrap();
    let want: BTreeSet<String> = raw
        .iter()
        .zip(test_mask)
        .filter(|(_, m)| m.as_f64().or_else(|| m[0].as_f64()).unwrap_or(0.0) != 0.0)
        .map(|(r, _)| r.to_string())
        .collect();
    let (nids, preds) = gs_output::read_node_predictions(&dir.join("pred"), "paper").unwrap();
    let got: BTreeSet<String> = nids.into_iter().collect();
    assert_eq!(
        got, want,
        "predictions are keyed by the test nodes' raw ids"
    );
    assert!(preds.iter().all(|row| row.len() == 3));
}
