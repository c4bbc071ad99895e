//! What tests read back from a `gs` run: the training summary a `--save-model-path` folder
//! holds, its best epoch's test score, the scores `--inference` prints, and the MRR of
//! random ranking to compare with. Also the user–item folder most task tests start from.

use std::path::Path;

use serde_json::Value;

use crate::{GsRun, run_gs_line};

/// `training_summary.json` of the run saved at `model`.
pub fn training_summary(model: &Path) -> Value {
    let text = std::fs::read_to_string(model.join(gs_train::SUMMARY_FILE)).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// The test score of the best epoch the summary at `model` records.
pub fn best_test_score(model: &Path) -> f64 {
    let s = training_summary(model);
    let best = s["best_epoch"].as_u64().expect("best_epoch");
    s["epochs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["epoch"].as_u64() == Some(best))
        .and_then(|e| e["test_score"].as_f64())
        .expect("the best epoch's test score")
}

/// `test <metric>: <value>` as `--inference` prints it.
pub fn printed_test_score(run: &GsRun, metric: &str) -> f64 {
    let prefix = format!("test {metric}: ");
    let line = run
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no `{prefix}` in:\n{}", run.stdout));
    line.split_whitespace().next().unwrap().parse().unwrap()
}

/// Mean reciprocal rank of a uniformly random rank among `n` candidates: H(n) / n.
pub fn chance_mrr(n: u32) -> f64 {
    (1..=n).map(|r| 1.0 / f64::from(r)).sum::<f64>() / f64::from(n)
}

/// A folder with `gs generate user-item` as `data/user-item.json` and each `(name, text)` of
/// `files` written beside it.
pub fn user_item_folder(files: &[(&str, &str)]) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    run_gs_line(tmp.path(), "generate user-item --output-dir data").ok();
    for (name, text) in files {
        std::fs::write(tmp.path().join(name), text).unwrap();
    }
    tmp
}

/// A GraphStorm-style YAML (three-level `gsf:` layout) for an edge task (`edge_regression`,
/// `edge_classification`) on `user,rates,item` of the generated user–item graph: one rgcn
/// layer of 16, fanout 10, batches of 256, lr 0.01, `num_epochs` epochs, and the task
/// section's `extra_task_keys` lines (indented by four spaces) after its `label_field`.
pub fn user_item_edge_yaml(
    task: &str,
    label: &str,
    num_epochs: u32,
    extra_task_keys: &str,
) -> String {
    format!(
        "version: 1.0
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
    num_epochs: {num_epochs}
    batch_size: 256
  {task}:
    target_etype:
      - \"user,rates,item\"
    reverse_edge_types_map:
      - \"user,rates,rated-by,item\"
    label_field: {label}
{extra_task_keys}"
    )
}

/// `gs launch --inference` in `dir` from the best checkpoint of the run saved in `dir/model`,
/// on `data/demo.json`, with `extra` flags; it must succeed.
pub fn infer_from_best_checkpoint(dir: &Path, model: &str, extra: &[&str]) -> GsRun {
    let best = training_summary(&dir.join(model))["best_checkpoint"]
        .as_str()
        .expect("best_checkpoint")
        .to_string();
    let restore = format!("{model}/{best}/");
    let mut args = vec![
        "launch",
        "--inference",
        "--num-trainers",
        "1",
        "--part-config",
        "data/demo.json",
        "--restore-model-path",
        &restore,
    ];
    args.extend_from_slice(extra);
    crate::run_gs(dir, &args).ok()
}

/// The training loss of every epoch the summary at `model` records, in order.
pub fn epoch_losses(model: &Path) -> Vec<f64> {
    training_summary(model)["epochs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["train_loss"].as_f64().unwrap())
        .collect()
}

/// Assert that checkpoints `a` and `b` hold the same weights, name for name, each within
/// `tolerance`; returns the weight names.
pub fn assert_same_weights(a: &Path, b: &Path, tolerance: f64) -> Vec<String> {
    let x = gs_train::checkpoint::load(a).unwrap();
    let y = gs_train::checkpoint::load(b).unwrap();
    assert_eq!(x.weights.len(), y.weights.len());
    for ((name, p), (other, q)) in x.weights.iter().zip(&y.weights) {
        assert_eq!(name, other);
        let diff = (p - q).abs().max().double_value(&[]);
        assert!(diff <= tolerance, "{name} differs by {diff}");
    }
    x.weights.into_iter().map(|(n, _)| n).collect()
}
