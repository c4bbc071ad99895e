//! The real `gs` binary on the embedded demo graph: training beats chance and a
//! features-only model, checkpoints are self-contained, inference matches an in-process
//! reload of the checkpoint, and bad input ends with a clear message and a non-zero exit.

use std::path::Path;
use std::sync::Arc;

use gs_runtime::{PluginEngine, PluginLimits};
use gs_tensor::{Device, ParamStore};
use gs_tests::{GsRun as Run, demo_yaml, run_gs as gs, small_demo_graph};
use gs_train::{NoProgress, NodeTask, checkpoint};
use sha2::{Digest, Sha256};

fn summary(dir: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(dir.join("training_summary.json")).expect("summary written");
    serde_json::from_str(&text).unwrap()
}

fn train(dir: &Path, save: &str, extra: &[&str]) -> serde_json::Value {
    let yaml = demo_yaml();
    let mut args = vec![
        "launch",
        "--num-trainers",
        "1",
        "--part-config",
        "data/demo.json",
        "--cf",
        yaml.to_str().unwrap(),
        "--plugin",
        "sage",
        "--save-model-path",
        save,
        "--num-epochs",
        "6",
    ];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["--", "--aggregator", "mean"]);
    let run = gs(dir, &args).ok();
    assert!(run.stdout.contains("best epoch"), "{}", run.stdout);
    assert!(
        run.stderr.contains("val accuracy"),
        "every epoch reports validation:\n{}",
        run.stderr
    );
    summary(&dir.join(save))
}

#[test]
fn trains_beats_chance_and_features_only_and_inference_matches_a_reload() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    gs(
        dir,
        &["generate", "demo", "--output-dir", "data", "--seed", "3"],
    )
    .ok();

    // The GNN, with the YAML's 10 epochs overridden by the flag.
    let gnn = train(dir, "model", &[]);
    assert_eq!(
        gnn["epochs"].as_array().unwrap().len(),
        6,
        "--num-epochs beats the YAML"
    );
    let gnn_test = gnn["test_score"].as_f64().unwrap();
    // The same model without message passing: fanout 0 samples no neighbours.
    let features_only = train(
        dir,
        "baseline",
        &["--fanout", "0,0", "--eval-fanout", "0,0"],
    );
    let baseline_test = features_only["test_score"].as_f64().unwrap();
    let chance = 0.25;
    assert!(
        baseline_test > chance + 0.05,
        "features carry some signal: {baseline_test}"
    );
    assert!(
        gnn_test > chance + 0.45,
        "GNN test accuracy {gnn_test} should be far above chance"
    );
    assert!(
        gnn_test > baseline_test + 0.15,
        "GNN {gnn_test} should beat the features-only model {baseline_test} by 0.15"
    );

    // The merged configuration, in GraphStorm's layout, as GraphStorm writes it.
    let runtime_yaml =
        std::fs::read_to_string(dir.join("model").join(gs_config::RUNTIME_CONFIG_FILE)).unwrap();
    assert!(
        runtime_yaml.contains("num_epochs: 6") && runtime_yaml.contains("node_classification:"),
        "{runtime_yaml}"
    );

    // The best checkpoint is self-contained and records the plugin's digest.
    let best = gnn["best_checkpoint"].as_str().unwrap().to_string();
    let ckpt_dir = dir.join("model").join(&best);
    let loaded = checkpoint::load(&ckpt_dir).unwrap();
    assert_eq!(loaded.meta.plugin.name, "sage");
    assert_eq!(
        loaded.meta.plugin.digest,
        hex::encode(Sha256::digest(&loaded.plugin_bytes))
    );
    assert_eq!(
        loaded.meta.custom_args,
        [
            ("aggregator", "mean"),
            ("activation", "relu"),
            // GraphStorm's keys the plugin lists, unset.
            ("edge_feat_name", ""),
            ("input_activate", ""),
            ("num_ffn_layers_in_input", "0"),
            ("num_ffn_layers_in_gnn", "0"),
            ("gnn_norm", ""),
            ("out_emb_size", ""),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .to_vec()
    );
    assert!(loaded.optimizer.is_some(), "optimizer state saved");
    assert!(
        loaded
            .weights
            .iter()
            .any(|(n, _)| n == "gnn/gnn._layers.0.conv.fc_self.weight")
    );

    // Inference from the checkpoint alone: no --cf, no custom arguments, no --plugin.
    let restore = format!("model/{best}/");
    let run = gs(
        dir,
        &[
            "launch",
            "--inference",
            "--num-trainers",
            "1",
            "--part-config",
            "data/demo.json",
            "--restore-model-path",
            &restore,
            "--save-prediction-path",
            "pred",
        ],
    )
    .ok();
    assert!(
        run.stdout
            .contains(&format!("test accuracy: {gnn_test:.4}")),
        "{}",
        run.stdout
    );
    let (nids, preds) = gs_output::read_node_predictions(&dir.join("pred"), "paper").unwrap();
    assert_eq!(nids.len(), 600);
    for row in &preds {
        assert_eq!(row.len(), 4);
        assert!(
            (row.iter().sum::<f32>() - 1.0).abs() < 1e-4,
            "probabilities sum to one: {row:?}"
        );
    }

    // Reload the checkpoint in this process and predict the same nodes.
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
    let ids = task.inference_ids().unwrap();
    let reloaded = task.infer(&mut model, &ids, &mut NoProgress).unwrap();
    let expected_ids: Vec<String> = reloaded.ids.iter().map(u64::to_string).collect();
    assert_eq!(nids, expected_ids);
    let values = Vec::<f32>::try_from(reloaded.outputs.flatten(0, -1)).unwrap();
    for (i, row) in preds.iter().enumerate() {
        for (j, v) in row.iter().enumerate() {
            assert!(
                (v - values[i * 4 + j]).abs() <= 1e-6,
                "prediction ({i},{j}) differs: {v} vs {}",
                values[i * 4 + j]
            );
        }
    }

    // Passing the same plugin is fine; another plugin is refused, naming both digests.
    gs(
        dir,
        &[
            "launch",
            "--inference",
            "--num-trainers",
            "1",
            "--part-config",
            "data/demo.json",
            "--plugin",
            "sage",
            "--restore-model-path",
            &restore,
        ],
    )
    .ok();
    let other = gs_tests::plugin_path("custom-gcn");
    let other_digest = hex::encode(Sha256::digest(std::fs::read(&other).unwrap()));
    gs(
        dir,
        &[
            "launch",
            "--inference",
            "--num-trainers",
            "1",
            "--part-config",
            "data/demo.json",
            "--plugin",
            other.to_str().unwrap(),
            "--restore-model-path",
            &restore,
        ],
    )
    .fails_with(
        1,
        &[
            &other_digest,
            &loaded.meta.plugin.digest,
            "is not the plugin that trained",
        ],
    );

    // A run that fails leaves the saved checkpoints as they were (it continues from the best
    // checkpoint, so it may save into the same folder). The plugin here traps in `forward`,
    // but fails before that: a plugin that declares its capabilities (`gs:plugin@0.1.1`) is not
    // called before the restore, which refuses sage's weights for it.
    let trap = gs_tests::plugin_path("test-trap");
    let yaml = demo_yaml();
    gs(
        dir,
        &[
            "launch",
            "--num-trainers",
            "1",
            "--part-config",
            "data/demo.json",
            "--cf",
            yaml.to_str().unwrap(),
            "--plugin",
            trap.to_str().unwrap(),
            "--save-model-path",
            "model",
            "--restore-model-path",
            &restore,
        ],
    )
    .fails_with(
        1,
        &[
            "cannot start training from",
            "does not fit the model",
            "--restore-model-path",
        ],
    );
    assert_eq!(summary(&dir.join("model")), gnn);
    checkpoint::load(&ckpt_dir).expect("the best checkpoint survives");
}

fn launch(dir: &Path, extra: &[&str]) -> Run {
    let yaml = demo_yaml();
    let mut args = vec![
        "launch",
        "--num-trainers",
        "1",
        "--cf",
        yaml.to_str().unwrap(),
        "--num-epochs",
        "1",
    ];
    if !extra.contains(&"--part-config") {
        args.extend_from_slice(&["--part-config", "data/demo.json"]);
    }
    args.extend_from_slice(extra);
    gs(dir, &args)
}

#[test]
fn bad_input_ends_with_a_clear_message() {
    let tmp = small_demo_graph();
    let dir = tmp.path();
    launch(dir, &["--part-config", "missing.json", "--plugin", "sage"])
        .fails_with(1, &["missing.json"]);
    launch(dir, &["--plugin", "sage", "--num-trainers", "2"])
        .fails_with(2, &["not supported yet", "--num-trainers 1"]);
    std::fs::write(dir.join("ip.txt"), "127.0.0.1\n").unwrap();
    launch(dir, &["--plugin", "sage", "--ip-config", "ip.txt"])
        .fails_with(2, &["not supported yet"]);
    launch(dir, &["--plugin", "nosuch"])
        .fails_with(1, &["no built-in plugin is called `nosuch`", "sage"]);
    launch(dir, &["--plugin", "absent.wasm"]).fails_with(1, &["absent.wasm", "--plugin"]);
    std::fs::write(dir.join("junk.wasm"), b"this is not wasm").unwrap();
    launch(dir, &["--plugin", "junk.wasm"])
        .fails_with(1, &["junk.wasm", "not a WebAssembly component"]);
    let wrong = gs_tests::plugin_path("test-wrong-version");
    launch(dir, &["--plugin", wrong.to_str().unwrap()]).fails_with(
        1,
        &["gs:plugin@0.99.0", "this gs supports gs:plugin@0.1.0–0.1.4"],
    );
    launch(dir, &["--plugin", "sage", "--", "--bogus", "1"]).fails_with(
        1,
        &[
            "does not accept the argument `--bogus`",
            "--aggregator",
            "--activation",
        ],
    );
    launch(dir, &["--plugin", "sage", "--", "--aggregator", "max"])
        .fails_with(1, &["sage", "`init`", "max", "pool", "mean"]);
    std::fs::write(
        dir.join("bad.yaml"),
        "version: 1.0\ngsf:\n  gnn: [unclosed\n",
    )
    .unwrap();
    gs(
        dir,
        &[
            "launch",
            "--num-trainers",
            "1",
            "--part-config",
            "data/demo.json",
            "--cf",
            "bad.yaml",
            "--plugin",
            "sage",
        ],
    )
    .fails_with(2, &["bad.yaml", "line"]);
    std::fs::write(
        dir.join("typo.yaml"),
        "version: 1.0\ngsf:\n  hyperparam:\n    num_epoch: 3\n",
    )
    .unwrap();
    gs(
        dir,
        &[
            "launch",
            "--num-trainers",
            "1",
            "--part-config",
            "data/demo.json",
            "--cf",
            "typo.yaml",
            "--plugin",
            "sage",
        ],
    )
    .fails_with(2, &["num_epoch", "num_epochs"]);
    launch(dir, &["--plugin", "sage", "--label-field", "nolabel"])
        .fails_with(1, &["nolabel", "label"]);
    gs(
        dir,
        &[
            "launch",
            "--inference",
            "--num-trainers",
            "1",
            "--part-config",
            "data/demo.json",
            "--restore-model-path",
            "data",
        ],
    )
    .fails_with(1, &["checkpoint.json", "--restore-model-path"]);
}

#[test]
fn adversarial_plugins_are_stopped_with_their_name_and_export() {
    let tmp = small_demo_graph();
    let dir = tmp.path();
    let path = |name: &str| gs_tests::plugin_path(name).to_str().unwrap().to_string();
    let loop_plugin = path("test-infinite-loop");
    launch(
        dir,
        &["--plugin", &loop_plugin, "--plugin-call-timeout", "1"],
    )
    .fails_with(
        1,
        &[
            "failed in `forward`",
            "deadline of 1 s",
            "--plugin-call-timeout",
        ],
    );
    let giant = path("test-giant-tensor");
    launch(dir, &["--plugin", &giant])
        .fails_with(1, &["failed in `init`", "--plugin-tensor-budget-mb"]);
    let panic = path("test-panic");
    launch(dir, &["--plugin", &panic])
        .fails_with(1, &["failed in `forward`", "deliberate panic in forward"]);
}

/// `--num-samplers 3` prepares three batches at once; batches come out in the same order, so
/// training is the same run as with one.
#[test]
fn several_sampler_workers_train_the_same_model() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::copy(demo_yaml(), dir.join("nc.yaml")).unwrap();
    gs_tests::run_gs_line(
        dir,
        "generate demo --output-dir data --num-papers 1500 --num-authors 600",
    )
    .ok();
    let mut runs = Vec::new();
    for samplers in [1, 3] {
        let save = format!("model-{samplers}");
        gs_tests::run_gs_line(
            dir,
            &format!(
                "launch --num-trainers 1 --part-config data/demo.json --cf nc.yaml --plugin sage \
                 --num-epochs 2 --batch-size 64 --num-samplers {samplers} --save-model-path {save}"
            ),
        )
        .ok();
        // Everything but the wall times.
        let epochs: Vec<_> = summary(&dir.join(&save))["epochs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["train_loss"].clone(),
                    e["val_score"].clone(),
                    e["test_score"].clone(),
                )
            })
            .collect();
        runs.push(epochs);
    }
    assert_eq!(runs[0].len(), 2);
    assert_eq!(runs[0], runs[1], "per-epoch losses and scores");
}
