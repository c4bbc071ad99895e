//! Checkpoints through the real `gs` binary: every file's digest is recorded and checked
//! before use, the save folder stays consistent (runtime YAML with the first checkpoint,
//! another run's folder refused), `--restore-model-path` / `--restore-optimizer-path` continue
//! a run exactly, and `save_model_frequency`, `eval_frequency` and `topk_model_to_save` act.

use std::path::Path;

use gs_tests::{GsRun, demo_yaml, run_gs as gs, small_demo_graph};
use gs_train::checkpoint;
use sha2::{Digest, Sha256};

/// `gs launch` training with the demo config and the built-in `sage`, saving into `save`.
fn train(dir: &Path, save: &str, extra: &[&str]) -> GsRun {
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
        "--hidden-size",
        "16",
        "--save-model-path",
        save,
    ];
    args.extend_from_slice(extra);
    gs(dir, &args)
}

fn infer(dir: &Path, restore: &str, extra: &[&str]) -> GsRun {
    let mut args = vec![
        "launch",
        "--inference",
        "--num-trainers",
        "1",
        "--part-config",
        "data/demo.json",
        "--restore-model-path",
        restore,
    ];
    args.extend_from_slice(extra);
    gs(dir, &args)
}

fn summary(dir: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(dir.join(gs_train::SUMMARY_FILE)).expect("summary");
    serde_json::from_str(&text).unwrap()
}

fn sha256(path: &Path) -> String {
    hex::encode(Sha256::digest(std::fs::read(path).unwrap()))
}

/// Visible sub-folders of `dir`, sorted.
fn folders(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().into_string().unwrap())
        .filter(|n| !n.starts_with('.'))
        .collect();
    names.sort();
    names
}

#[test]
fn tampered_plugin_weights_or_optimizer_are_refused_naming_the_file_and_both_digests() {
    let tmp = small_demo_graph();
    let dir = tmp.path();
    train(dir, "model", &["--num-epochs", "1"]).ok();
    let ckpt = dir.join("model/epoch-0");
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(ckpt.join("checkpoint.json")).unwrap())
            .unwrap();
    for file in ["plugin.wasm", "model.safetensors", "optimizer.safetensors"] {
        assert_eq!(
            meta["files"][file].as_str(),
            Some(sha256(&ckpt.join(file)).as_str()),
            "checkpoint.json records {file}'s digest"
        );
    }
    infer(dir, "model/epoch-0", &["--save-prediction-path", "pred"]).ok();

    // A custom section appended to the component keeps it a valid component that would run.
    let mut custom = vec![0u8, 9, 6];
    custom.extend_from_slice(b"tamper");
    custom.extend_from_slice(b"xy");
    type Tamper = fn(&mut Vec<u8>, &[u8]);
    let cases: [(&str, Tamper); 3] = [
        ("plugin.wasm", |bytes, custom| {
            bytes.extend_from_slice(custom)
        }),
        ("model.safetensors", |bytes, _| {
            let last = bytes.len() - 1;
            bytes[last] ^= 0x40;
        }),
        ("optimizer.safetensors", |bytes, _| {
            let last = bytes.len() - 1;
            bytes[last] ^= 0x40;
        }),
    ];
    for (file, tamper) in cases {
        let path = ckpt.join(file);
        let original = std::fs::read(&path).unwrap();
        let mut bytes = original.clone();
        tamper(&mut bytes, &custom);
        std::fs::write(&path, &bytes).unwrap();
        let tampered_digest = hex::encode(Sha256::digest(&bytes));
        let recorded = meta["files"][file].as_str().unwrap();
        infer(dir, "model/epoch-0", &["--save-prediction-path", "pred2"]).fails_with(
            1,
            &[
                file,
                recorded,
                &tampered_digest,
                "does not match the digest",
            ],
        );
        assert!(!dir.join("pred2").exists(), "nothing ran on {file}");
        // Training from it is refused the same way.
        train(
            dir,
            "model",
            &["--num-epochs", "2", "--restore-model-path", "model/epoch-0"],
        )
        .fails_with(1, &[file, recorded, &tampered_digest]);
        std::fs::write(&path, &original).unwrap();
    }
    infer(dir, "model/epoch-0", &["--save-prediction-path", "pred2"]).ok();

    // With --plugin, the bytes that are checked against the record are the bytes that run.
    infer(
        dir,
        "model/epoch-0",
        &["--plugin", "sage", "--save-prediction-path", "pred3"],
    )
    .ok();
    let other = gs_tests::plugin_path("custom-gcn");
    infer(dir, "model/epoch-0", &["--plugin", other.to_str().unwrap()]).fails_with(
        1,
        &[&sha256(&other), meta["plugin"]["digest"].as_str().unwrap()],
    );
}

#[test]
fn the_runtime_yaml_comes_with_the_first_checkpoint_and_another_runs_folder_is_refused() {
    let tmp = small_demo_graph();
    let dir = tmp.path();
    // A run that fails before its first checkpoint leaves no configuration behind.
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
            "failed",
        ],
    )
    .fails_with(1, &["trapped"]);
    assert!(
        !dir.join("failed")
            .join(gs_config::RUNTIME_CONFIG_FILE)
            .exists(),
        "no runtime YAML without a checkpoint"
    );

    train(dir, "model", &["--num-epochs", "2"]).ok();
    let runtime_yaml = dir.join("model").join(gs_config::RUNTIME_CONFIG_FILE);
    assert!(runtime_yaml.is_file());
    assert_eq!(folders(&dir.join("model")), ["epoch-0", "epoch-1"]);

    // Another run into the same folder is refused, naming the checkpoints and the ways out.
    let before = std::fs::read(&runtime_yaml).unwrap();
    train(dir, "model", &["--num-epochs", "3"]).fails_with(
        1,
        &[
            "model",
            "epoch-0",
            "--restore-model-path",
            "another --save-model-path",
        ],
    );
    assert_eq!(std::fs::read(&runtime_yaml).unwrap(), before);
    assert_eq!(folders(&dir.join("model")), ["epoch-0", "epoch-1"]);

    // A run restored from model/epoch-1 continues into model, with epoch 2.
    let run = train(
        dir,
        "model",
        &["--num-epochs", "3", "--restore-model-path", "model/epoch-1"],
    )
    .ok();
    assert!(
        run.stderr.contains("continues with epoch 2"),
        "{}",
        run.stderr
    );
    assert_eq!(
        folders(&dir.join("model")),
        ["epoch-0", "epoch-1", "epoch-2"]
    );
    let epochs: Vec<u64> = summary(&dir.join("model"))["epochs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["epoch"].as_u64().unwrap())
        .collect();
    assert_eq!(
        epochs,
        [0, 1, 2],
        "the continued run's summary keeps epochs 0 and 1"
    );
    assert!(
        std::fs::read_to_string(&runtime_yaml)
            .unwrap()
            .contains("num_epochs: 3"),
        "the continued run's configuration"
    );
}

fn epoch_losses(summary: &serde_json::Value) -> Vec<(u64, f64)> {
    summary["epochs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["epoch"].as_u64().unwrap(),
                e["train_loss"].as_f64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn a_restored_run_continues_exactly_where_the_uninterrupted_run_went() {
    let tmp = small_demo_graph();
    let dir = tmp.path();
    let small_batches = ["--batch-size", "32"];
    let mut args = vec!["--num-epochs", "2"];
    args.extend_from_slice(&small_batches);
    train(dir, "full", &args).ok();
    let full = epoch_losses(&summary(&dir.join("full")));

    // Weights and Adam state from epoch 0: epoch 1 is the uninterrupted run's epoch 1.
    let mut resumed_args = args.clone();
    resumed_args.extend_from_slice(&[
        "--restore-model-path",
        "full/epoch-0",
        "--restore-optimizer-path",
        "full/epoch-0",
    ]);
    train(dir, "resumed", &resumed_args).ok();
    let resumed = epoch_losses(&summary(&dir.join("resumed")));
    assert_eq!(resumed.len(), 1);
    assert_eq!(resumed[0].0, 1);
    assert!(
        (resumed[0].1 - full[1].1).abs() <= 1e-6 * full[1].1.abs(),
        "resumed epoch-1 loss {} equals the uninterrupted run's {}",
        resumed[0].1,
        full[1].1
    );
    let a = checkpoint::load(&dir.join("full/epoch-1")).unwrap();
    let b = checkpoint::load(&dir.join("resumed/epoch-1")).unwrap();
    for ((name, x), (_, y)) in a.weights.iter().zip(&b.weights) {
        let diff = (x - y).abs().max().double_value(&[]);
        assert!(diff <= 1e-5, "{name} differs by {diff}");
    }

    // Weights without the optimizer state: a fresh Adam takes other steps.
    let mut weights_only = args.clone();
    weights_only.extend_from_slice(&["--restore-model-path", "full/epoch-0"]);
    train(dir, "weights-only", &weights_only).ok();
    let warm = epoch_losses(&summary(&dir.join("weights-only")));
    assert_eq!(warm[0].0, 1);
    assert!(
        (warm[0].1 - full[1].1).abs() > 1e-6,
        "a fresh Adam state changes the loss: {} vs {}",
        warm[0].1,
        full[1].1
    );
    // And a warm start is far from a fresh model's start.
    assert!(
        warm[0].1 < full[0].1 - 0.01,
        "warm start loss {} should be well below a fresh model's {}",
        warm[0].1,
        full[0].1
    );
    // An optimizer path without a checkpoint is refused by name.
    let mut missing = args.clone();
    missing.extend_from_slice(&["--restore-optimizer-path", "nowhere"]);
    train(dir, "missing", &missing).fails_with(1, &["nowhere", "checkpoint.json"]);
}

#[test]
fn save_model_frequency_eval_frequency_and_topk_model_to_save_act() {
    let tmp = small_demo_graph();
    let dir = tmp.path();
    let base = ["--num-epochs", "3", "--batch-size", "32"];

    train(dir, "default", &base).ok();
    let default = summary(&dir.join("default"));
    assert_eq!(
        folders(&dir.join("default")),
        ["epoch-0", "epoch-1", "epoch-2"]
    );
    assert_eq!(default["iterations"].as_array().unwrap().len(), 0);

    // Every 3 iterations: GraphStorm's epoch-E-iter-I folders, each a whole checkpoint.
    let mut args = base.to_vec();
    args.extend_from_slice(&["--save-model-frequency", "3"]);
    train(dir, "frequent", &args).ok();
    let frequent = summary(&dir.join("frequent"));
    let iterations = frequent["iterations"].as_array().unwrap();
    assert!(!iterations.is_empty());
    let mut expected: Vec<String> = vec!["epoch-0".into(), "epoch-1".into(), "epoch-2".into()];
    for it in iterations {
        assert_eq!(it["total_steps"].as_u64().unwrap() % 3, 0);
        let name = format!(
            "epoch-{}-iter-{}",
            it["epoch"].as_u64().unwrap(),
            it["iteration"].as_u64().unwrap()
        );
        assert_eq!(it["checkpoint"].as_str(), Some(name.as_str()));
        assert!(it["val_score"].as_f64().is_some(), "saved with its score");
        checkpoint::load(&dir.join("frequent").join(&name)).unwrap();
        expected.push(name);
    }
    expected.sort();
    assert_eq!(folders(&dir.join("frequent")), expected);

    // Evaluate every 2 iterations: the summary records each evaluation.
    let mut args = base.to_vec();
    args.extend_from_slice(&["--eval-frequency", "2"]);
    train(dir, "evaluated", &args).ok();
    let evaluated = summary(&dir.join("evaluated"));
    let evals = evaluated["iterations"].as_array().unwrap();
    assert!(!evals.is_empty());
    for e in evals {
        assert_eq!(e["total_steps"].as_u64().unwrap() % 2, 0);
        assert!(e["val_score"].as_f64().is_some());
        assert!(e["checkpoint"].is_null());
    }
    assert_eq!(
        folders(&dir.join("evaluated")),
        ["epoch-0", "epoch-1", "epoch-2"]
    );

    // Keep only the best checkpoint.
    let mut args = base.to_vec();
    args.extend_from_slice(&["--topk-model-to-save", "1"]);
    train(dir, "top1", &args).ok();
    let top1 = summary(&dir.join("top1"));
    let best = top1["best_checkpoint"].as_str().unwrap();
    assert_eq!(folders(&dir.join("top1")), [best]);
    assert_eq!(top1["best_checkpoint"], default["best_checkpoint"]);
}
