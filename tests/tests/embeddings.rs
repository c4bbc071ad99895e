//! `save_embed_path` through the real `gs` binary: node embeddings in GraphStorm's remapped
//! layout (`emb/<ntype>/embed-00000_00000.parquet` with `emb` and `nid`, plus `emb_info.json`),
//! after training from the best checkpoint and at `--inference` for the predicted nodes; the
//! values are the encoder's output of that checkpoint, recomputed here in-process.

use std::path::Path;
use std::sync::Arc;

use gs_runtime::{PluginEngine, PluginLimits};
use gs_tensor::{Device, ParamStore};
use gs_tests::run_gs as gs;
use gs_train::{NoProgress, NodeTask, checkpoint};

const HIDDEN: usize = 16;

/// `gs launch`; training (not `--inference`) reads the demo config.
fn launch(dir: &Path, extra: &[&str]) -> gs_tests::GsRun {
    let yaml = gs_tests::demo_yaml();
    let mut args = vec![
        "launch",
        "--num-trainers",
        "1",
        "--part-config",
        "data/demo.json",
    ];
    if !extra.contains(&"--inference") {
        args.extend_from_slice(&["--cf", yaml.to_str().unwrap()]);
    }
    args.extend_from_slice(extra);
    gs(dir, &args)
}

/// The embeddings of `ids` by the checkpoint in `ckpt_dir`, computed in this process.
fn reference_embeddings(dir: &Path, ckpt_dir: &Path, ids: &[u64]) -> (Vec<u64>, Vec<f32>) {
    let loaded = checkpoint::load(ckpt_dir).unwrap();
    let graph = Arc::new(gs_graph::load(&dir.join("data/demo.json")).unwrap());
    let argv: Vec<String> = ["--part-config", "data/demo.json", "--num-trainers", "1"]
        .map(String::from)
        .to_vec();
    let config = gs_config::resolve(&argv, Some(&loaded.meta.config))
        .unwrap()
        .train;
    let task = NodeTask::new(graph, config, Device::Cpu).unwrap();
    let engine = PluginEngine::new(None).unwrap();
    let plugin = engine.load_bytes("reload", &loaded.plugin_bytes).unwrap();
    let instance = plugin
        .instantiate(PluginLimits::default(), ParamStore::new(0, Device::Cpu))
        .unwrap();
    let mut model = task
        .plugin_model(instance, loaded.meta.custom_args.clone())
        .unwrap();
    model.load_weights(&loaded.weights).unwrap();
    let (seen, rows) = task.embeddings(&mut model, ids, &mut NoProgress).unwrap();
    (seen, Vec::<f32>::try_from(rows.flatten(0, -1)).unwrap())
}

fn assert_same(nids: &[String], rows: &[Vec<f32>], ids: &[u64], values: &[f32]) {
    let expected: Vec<String> = ids.iter().map(u64::to_string).collect();
    assert_eq!(nids, expected);
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row.len(), HIDDEN);
        for (j, v) in row.iter().enumerate() {
            let want = values[i * HIDDEN + j];
            assert!(
                (v - want).abs() <= 1e-5,
                "embedding ({i},{j}) is {v}, the checkpoint gives {want}"
            );
        }
    }
}

#[test]
fn embeddings_are_written_in_graphstorm_layout_from_the_best_checkpoint_and_at_inference() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    gs_tests::run_gs_line(
        dir,
        "generate demo --output-dir data --num-papers 200 --num-authors 100",
    )
    .ok();
    let train = [
        "--plugin",
        "sage",
        "--hidden-size",
        "16",
        "--num-epochs",
        "3",
        "--save-model-path",
        "model",
    ];

    // Without save_embed_path nothing is written.
    launch(dir, &train).ok();
    assert!(!dir.join("emb").exists());

    let mut args = train.to_vec();
    let last = args.len() - 1;
    args[last] = "model2";
    args.extend_from_slice(&["--save-embed-path", "emb"]);
    let run = launch(dir, &args).ok();
    assert!(
        run.stdout.contains("embeddings of 200 nodes"),
        "{}",
        run.stdout
    );
    let info: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("emb/emb_info.json")).unwrap())
            .unwrap();
    assert_eq!(info["emb_name"], serde_json::json!(["paper"]));
    assert_eq!(info["emb_dim"]["paper"], serde_json::json!(HIDDEN));
    assert!(dir.join("emb/paper/embed-00000_00000.parquet").is_file());
    let (nids, rows) = gs_output::read_node_embeddings(&dir.join("emb"), "paper").unwrap();
    assert_eq!(nids.len(), 200);

    let summary: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("model2/training_summary.json")).unwrap(),
    )
    .unwrap();
    let best = summary["best_checkpoint"].as_str().unwrap().to_string();
    let all: Vec<u64> = (0..200).collect();
    let (ids, values) = reference_embeddings(dir, &dir.join("model2").join(&best), &all);
    assert_same(&nids, &rows, &ids, &values);
    // The best checkpoint, not the last epoch's weights, unless they are the same checkpoint.
    if best != "epoch-2" {
        let (_, last) = reference_embeddings(dir, &dir.join("model2/epoch-2"), &all);
        assert_ne!(last, values);
    }

    // At inference: the predicted (test) nodes, from the restored checkpoint.
    let restore = format!("model2/{best}");
    let run = launch(
        dir,
        &[
            "--inference",
            "--restore-model-path",
            &restore,
            "--save-embed-path",
            "emb-infer",
            "--save-prediction-path",
            "pred",
        ],
    )
    .ok();
    assert!(
        gs_output::read_node_predictions(&dir.join("emb"), "paper")
            .unwrap()
            .0
            .is_empty(),
        "inference does not inherit the training run's output folders"
    );
    let (pred_nids, _) = gs_output::read_node_predictions(&dir.join("pred"), "paper").unwrap();
    let (nids, rows) = gs_output::read_node_embeddings(&dir.join("emb-infer"), "paper").unwrap();
    assert_eq!(nids, pred_nids, "{}", run.stdout);
    assert!(nids.len() < 200, "only the predicted nodes");
    let test_ids: Vec<u64> = nids.iter().map(|n| n.parse().unwrap()).collect();
    let (ids, values) = reference_embeddings(dir, &dir.join(&restore), &test_ids);
    assert_same(&nids, &rows, &ids, &values);

    // Only `--save-embed-path`: predictions go there too (GraphStorm's default for
    // `save_prediction_path`), side by side with the embeddings of the same nodes.
    let run = launch(
        dir,
        &[
            "--inference",
            "--restore-model-path",
            &restore,
            "--save-embed-path",
            "both",
        ],
    )
    .ok();
    assert!(
        run.stdout.contains("predictions and embeddings of"),
        "{}",
        run.stdout
    );
    let (both_pred_nids, _) = gs_output::read_node_predictions(&dir.join("both"), "paper").unwrap();
    let (both_nids, both_rows) =
        gs_output::read_node_embeddings(&dir.join("both"), "paper").unwrap();
    assert_eq!(both_pred_nids, pred_nids);
    assert_same(&both_nids, &both_rows, &ids, &values);
    assert!(dir.join("both/emb_info.json").is_file());
    assert!(dir.join("both/result_info.json").is_file());
}
