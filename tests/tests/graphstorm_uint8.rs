//! The real `gs` binary trains and infers on a partition built by GraphStorm's own gconstruct
//! (`tests/fixtures/graphstorm-tiny`), whose categorical features (`paper:venue`,
//! `author:field`) are stored as `uint8`: gs casts them to float32 at the input, as GraphStorm
//! does, instead of refusing them.

use std::path::{Path, PathBuf};

fn part_config() -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/graphstorm-tiny/partitioned/tiny.json");
    assert!(
        path.is_file(),
        "the graphstorm-tiny fixture is missing at `{}`",
        path.display()
    );
    path
}

/// Trains one epoch with `features` into `dir/model` and returns the first train loss.
fn train(dir: &Path, features: &[&str]) -> f64 {
    let part_config = part_config();
    let mut args = vec![
        "launch",
        "--num-trainers",
        "1",
        "--part-config",
        part_config.to_str().unwrap(),
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
        "1",
        "--save-model-path",
        "model",
        "--node-feat-name",
    ];
    args.extend(features);
    let run = gs_tests::run_gs(dir, &args).ok();
    let output = format!("{}{}", run.stdout, run.stderr);
    let loss = output
        .split("train loss ")
        .nth(1)
        .and_then(|rest| rest.split(',').next())
        .unwrap_or_else(|| panic!("no train loss in:\n{output}"));
    loss.trim().parse().unwrap()
}

#[test]
fn uint8_categorical_features_train_and_predict() {
    let with_uint8 = tempfile::tempdir().unwrap();
    let loss = train(with_uint8.path(), &["paper:venue,year", "author:field"]);
    let floats_only = tempfile::tempdir().unwrap();
    let float_loss = train(floats_only.path(), &["paper:year", "author:h_index"]);
    assert!(loss.is_finite(), "{loss}");
    assert_ne!(
        loss, float_loss,
        "the uint8 features reach the model: the loss differs from a run without them"
    );

    let part_config = part_config();
    gs_tests::run_gs(
        with_uint8.path(),
        &[
            "launch",
            "--inference",
            "--num-trainers",
            "1",
            "--part-config",
            part_config.to_str().unwrap(),
            "--restore-model-path",
            "model/epoch-0",
            "--save-prediction-path",
            "pred",
        ],
    )
    .ok();
    let (nids, preds) =
        gs_output::read_node_predictions(&with_uint8.path().join("pred"), "paper").unwrap();
    assert_eq!(nids.len(), 6, "one prediction per test node");
    assert!(preds.iter().all(|row| row.len() == 3));
}
