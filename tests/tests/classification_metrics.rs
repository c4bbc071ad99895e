//! GraphStorm's classification metrics beyond `accuracy` (`roc_auc`, `precision_recall`,
//! `per_class_f1_score`, `per_class_roc_auc`, `precision`, `recall`) in real training runs of
//! the `gs` binary: node classification with the built-in `sage` plugin on a binary demo graph
//! with a strong feature signal, edge classification with `rgcn` on the user–item graph. A
//! trained model scores far above an untrained one; every metric shows up in the epoch log,
//! the best-epoch lines, `training_summary.json` (per-class values by class id), the
//! checkpoints' metrics and `--inference`'s scores. Metrics that do not fit the task are
//! refused naming `eval_metric`, the value and what fits.

use std::path::Path;
use std::sync::Arc;

use gs_graph::{Array, DemoParams, generate_demo};
use gs_tensor::Device;
use gs_tests::runs::{training_summary, user_item_edge_yaml, user_item_folder};
use gs_tests::{GsRun, run_gs, small_demo_graph_with};
use gs_train::{NoProgress, NodeTask};
use serde_json::Value;

/// `gs launch` of binary node classification on `data/demo.json` with `extra` flags.
fn launch_binary(dir: &Path, extra: &[&str]) -> GsRun {
    let mut args = vec![
        "launch",
        "--num-trainers",
        "1",
        "--part-config",
        "data/demo.json",
        "--plugin",
        "sage",
        "--task-type",
        "node_classification",
        "--target-ntype",
        "paper",
        "--label-field",
        "label",
        "--num-classes",
        "2",
        "--node-feat-name",
        "feat",
        "--num-layers",
        "1",
        "--fanout",
        "5",
        "--hidden-size",
        "8",
        "--batch-size",
        "32",
    ];
    args.extend_from_slice(extra);
    run_gs(dir, &args)
}

/// The best epoch's record in the summary of the run saved at `model`.
fn best_epoch(model: &Path) -> Value {
    let summary = training_summary(model);
    let best = summary["best_epoch"].as_u64().expect("best_epoch");
    summary["epochs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["epoch"].as_u64() == Some(best))
        .cloned()
        .expect("the best epoch's record")
}

/// `metrics[name]["value"]` of a summary's `val_metrics` or `test_metrics`.
fn value(metrics: &Value, name: &str) -> f64 {
    metrics[name]["value"]
        .as_f64()
        .unwrap_or_else(|| panic!("no `{name}` in {metrics}"))
}

/// The per-class values of `metrics[name]`, by class id.
fn per_class(metrics: &Value, name: &str) -> Vec<(String, f64)> {
    metrics[name]["per_class"]
        .as_object()
        .unwrap_or_else(|| panic!("no per-class `{name}` in {metrics}"))
        .iter()
        .map(|(c, v)| (c.clone(), v.as_f64().unwrap()))
        .collect()
}

#[test]
fn binary_node_classification_reports_roc_auc_precision_recall_and_per_class_f1() {
    let tmp = small_demo_graph_with("--num-classes 2 --feature-signal 3");
    let dir = tmp.path();
    let metrics = ["roc_auc", "precision_recall", "per_class_f1_score"];
    let mut flags = vec!["--eval-metric"];
    flags.extend(metrics);
    let run = |lr: &str, epochs: &str, model: &str| {
        let mut args = flags.clone();
        args.extend([
            "--lr",
            lr,
            "--num-epochs",
            epochs,
            "--save-model-path",
            model,
        ]);
        launch_binary(dir, &args).ok()
    };
    let trained = run("0.01", "3", "model");
    let untrained = run("1e-12", "1", "untrained");

    let best = best_epoch(&dir.join("model"));
    let (val, test) = (&best["val_metrics"], &best["test_metrics"]);
    // The first metric selects the model: `val_score` is the validation ROC AUC.
    assert_eq!(best["val_score"].as_f64(), Some(value(val, "roc_auc")));
    assert_eq!(best["test_score"].as_f64(), Some(value(test, "roc_auc")));
    assert!(value(test, "roc_auc") > 0.9, "{test}");
    assert!(value(test, "precision_recall") > 0.9, "{test}");
    let f1 = per_class(test, "per_class_f1_score");
    assert_eq!(
        f1.iter().map(|(c, _)| c.as_str()).collect::<Vec<_>>(),
        ["0", "1"]
    );
    let macro_f1 = (f1[0].1 + f1[1].1) / 2.0;
    assert!((value(test, "per_class_f1_score") - macro_f1).abs() < 1e-12);
    assert!(macro_f1 > 0.8, "{test}");

    // Initial weights (a learning rate of 1e-12) rank the papers far worse.
    let base = best_epoch(&dir.join("untrained"));
    for m in ["roc_auc", "precision_recall"] {
        let (good, bad) = (value(test, m), value(&base["test_metrics"], m));
        assert!(bad < good - 0.15, "{m}: trained {good}, untrained {bad}");
    }

    // The epoch line keeps its form (the primary metric); a second line per split has every
    // metric, per-class F1 values included.
    assert!(
        trained.stderr.contains("epoch   2: train loss") && trained.stderr.contains("val roc_auc"),
        "{}",
        trained.stderr
    );
    let all_metrics_line = trained
        .stderr
        .lines()
        .find(|l| l.contains("epoch   2: test per_class_f1_score"))
        .unwrap_or_else(|| panic!("no all-metrics test line:\n{}", trained.stderr));
    for m in metrics {
        assert!(all_metrics_line.contains(m), "{m}: {all_metrics_line}");
    }
    assert!(
        all_metrics_line.contains("[class 0: ") && all_metrics_line.contains(", class 1: "),
        "{all_metrics_line}"
    );
    let best_test = trained
        .stdout
        .lines()
        .find(|l| l.starts_with("best epoch test: "))
        .unwrap_or_else(|| panic!("no best-epoch test line:\n{}", trained.stdout));
    assert!(
        best_test.contains(&format!("roc_auc {:.4}", value(test, "roc_auc"))),
        "{best_test}"
    );
    assert!(untrained.stdout.contains("best epoch validation: "));

    // Focal loss has one logit per paper (a sigmoid): its probability of class 1 is scored the
    // same way, and both classes' one-vs-rest AUCs are that AUC.
    launch_binary(
        dir,
        &[
            "--eval-metric",
            "roc_auc",
            "per_class_roc_auc",
            "--class-loss-func",
            "focal",
            "--lr",
            "0.03",
            "--num-epochs",
            "8",
            "--save-model-path",
            "focal",
        ],
    )
    .ok();
    let focal = &best_epoch(&dir.join("focal"))["test_metrics"];
    assert!(value(focal, "roc_auc") > 0.9, "{focal}");
    let auc = per_class(focal, "per_class_roc_auc");
    assert_eq!(auc.len(), 2, "{focal}");
    assert!((auc[0].1 - value(focal, "roc_auc")).abs() < 1e-6, "{focal}");

    // The checkpoint records each class too.
    let checkpoint = best["checkpoint"].as_str().unwrap();
    let meta: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("model").join(checkpoint).join("checkpoint.json"))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        meta["metrics"]["test_per_class_f1_score_class_1"].as_f64(),
        Some(f1[1].1)
    );
    assert_eq!(
        meta["metrics"]["val_precision_recall"].as_f64(),
        Some(value(val, "precision_recall"))
    );
}

fn edge_yaml() -> String {
    user_item_edge_yaml(
        "edge_classification",
        "label",
        6,
        "    num_classes: 3
    eval_metric:
      - per_class_roc_auc
      - roc_auc
      - per_class_f1_score
      - precision
      - recall
",
    )
}

#[test]
fn edge_classification_ranks_models_by_the_overall_per_class_roc_auc() {
    let tmp = user_item_folder(&[("task.yaml", &edge_yaml())]);
    let dir = tmp.path();
    let gs = |extra: &[&str]| {
        let mut args = vec![
            "edge-classification",
            "--cf",
            "task.yaml",
            "--part-config",
            "data/user-item.json",
            "--num-trainers",
            "1",
        ];
        args.extend_from_slice(extra);
        run_gs(dir, &args).ok()
    };
    gs(&["--save-model-path", "model"]);
    let summary = training_summary(&dir.join("model"));
    let best = best_epoch(&dir.join("model"));
    let (val, test) = (&best["val_metrics"], &best["test_metrics"]);
    // The primary metric is per_class_roc_auc; its overall value (the multi-class roc_auc)
    // selects the model, the best of every epoch's.
    assert_eq!(
        best["val_score"].as_f64(),
        Some(value(val, "per_class_roc_auc"))
    );
    assert_eq!(value(val, "per_class_roc_auc"), value(val, "roc_auc"));
    let all_val: Vec<f64> = summary["epochs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| value(&e["val_metrics"], "per_class_roc_auc"))
        .collect();
    assert!(
        all_val
            .iter()
            .all(|&v| v <= value(val, "per_class_roc_auc"))
    );
    // Three classes (terciles of a planted score): chance AUC is 0.5, chance F1 a third.
    let auc = per_class(test, "per_class_roc_auc");
    assert_eq!(auc.len(), 3);
    assert!(auc.iter().all(|(_, v)| *v > 0.9), "{auc:?}");
    let mean = auc.iter().map(|(_, v)| v).sum::<f64>() / 3.0;
    assert!((value(test, "roc_auc") - mean).abs() < 1e-12);
    assert!(value(test, "per_class_f1_score") > 0.8, "{test}");
    assert!(
        value(test, "precision") > 0.8 && value(test, "recall") > 0.8,
        "{test}"
    );

    // `--inference` prints every metric, with per-class values, equal to the summary's.
    let checkpoint = format!("model/{}", best["checkpoint"].as_str().unwrap());
    let run = gs(&["--inference", "--restore-model-path", &checkpoint]);
    let line = run
        .stdout
        .lines()
        .find(|l| l.starts_with("test per_class_roc_auc: "))
        .unwrap_or_else(|| panic!("no per_class_roc_auc:\n{}", run.stdout));
    let expected = format!(
        "test per_class_roc_auc: {:.4} [class 0: {:.4}, class 1: {:.4}, class 2: {:.4}]",
        value(test, "per_class_roc_auc"),
        auc[0].1,
        auc[1].1,
        auc[2].1
    );
    assert!(line.starts_with(&expected), "{line}\nwant {expected}");
    for m in ["roc_auc", "per_class_f1_score", "precision", "recall"] {
        assert!(
            run.stdout
                .contains(&format!("test {m}: {:.4}", value(test, m))),
            "{m}:\n{}",
            run.stdout
        );
    }
}

#[test]
fn metrics_that_do_not_fit_the_task_are_refused_naming_eval_metric_and_what_fits() {
    let tmp = small_demo_graph_with("--num-classes 4");
    let dir = tmp.path();
    // Exit 2 for a configuration error, 1 for one found setting the task up.
    let fails = |task: &[&str], metric: &str, code: i32, needles: &[&str]| {
        let mut args = task.to_vec();
        args.extend(["--num-epochs", "1", "--lr", "0.01", "--eval-metric", metric]);
        launch_with_task(dir, &args).fails_with(code, needles);
    };
    let regression = ["--task-type", "node_regression", "--label-field", "label"];
    fails(
        &regression,
        "roc_auc",
        2,
        &["eval-metric", "roc_auc", "rmse, mse, mae"],
    );
    let four_classes = [
        "--task-type",
        "node_classification",
        "--label-field",
        "label",
        "--num-classes",
        "4",
    ];
    fails(
        &four_classes,
        "precision_recall",
        1,
        &["eval_metric", "precision_recall", "binary", "roc_auc"],
    );
    fails(
        &four_classes,
        "hit_at_5",
        1,
        &["eval_metric", "hit_at_5", "not computed by gs", "roc_auc"],
    );
    fails(
        &four_classes,
        "fscore_at_2",
        1,
        &["eval_metric", "fscore_at_2", "per_class_roc_auc"],
    );
}

/// `gs launch` of the demo graph with the task flags in `task_flags`.
fn launch_with_task(dir: &Path, task_flags: &[&str]) -> GsRun {
    let mut args = vec![
        "launch",
        "--num-trainers",
        "1",
        "--part-config",
        "data/demo.json",
        "--plugin",
        "sage",
        "--target-ntype",
        "paper",
        "--node-feat-name",
        "feat",
        "--num-layers",
        "1",
        "--fanout",
        "5",
        "--hidden-size",
        "8",
        "--batch-size",
        "32",
    ];
    args.extend_from_slice(task_flags);
    run_gs(dir, &args)
}

/// A demo graph whose papers carry a multi-hot `multi` label (their class and, for even ids,
/// the next one), for multilabel classification through the gs-train API.
fn multilabel_task(metrics: &str) -> Result<NodeTask, String> {
    let mut g = generate_demo(&DemoParams {
        num_papers: 200,
        num_authors: 100,
        seed: 7,
        ..DemoParams::default()
    });
    let label = g
        .node_data("paper", "label")
        .unwrap()
        .as_i64()
        .unwrap()
        .to_vec();
    let mut multi = vec![0f32; label.len() * 4];
    for (i, &l) in label.iter().enumerate() {
        multi[i * 4 + l as usize] = 1.0;
        if i % 2 == 0 {
            multi[i * 4 + (l as usize + 1) % 4] = 1.0;
        }
    }
    let n = label.len();
    g.set_node_data("paper", "multi", Array::from_f32(multi, &[n, 4]).unwrap())
        .unwrap();
    let argv: Vec<String> = format!(
        "--part-config in-memory.json --num-trainers 1 --target-ntype paper \
         --node-feat-name feat --num-layers 1 --fanout 5 --hidden-size 8 --lr 0.05 \
         --batch-size 32 --seed 7 --task-type node_classification --label-field multi \
         --num-classes 4 --multilabel true --eval-metric {metrics}"
    )
    .split_whitespace()
    .map(String::from)
    .collect();
    let resolved = gs_config::resolve(&argv, None).map_err(|e| e.to_string())?;
    NodeTask::new(Arc::new(g), resolved.train, Device::Cpu).map_err(|e| e.to_string())
}

#[test]
fn multilabel_classification_scores_roc_auc_per_label_and_refuses_class_metrics() {
    let task = multilabel_task("per_class_roc_auc roc_auc accuracy").unwrap();
    let mut model = task.native_model().unwrap();
    let ids = task.split("val_mask").unwrap();
    let scores = task
        .evaluate(&mut model, &ids, "val", &mut NoProgress)
        .unwrap();
    let names: Vec<String> = scores.iter().map(|(m, _)| m.to_string()).collect();
    assert_eq!(names, ["per_class_roc_auc", "roc_auc", "accuracy"]);
    let per_label = &scores[0].1;
    assert_eq!(
        per_label.per_class.len(),
        4,
        "one AUC per label: {per_label}"
    );
    assert!(
        per_label
            .per_class
            .values()
            .all(|v| (0.0..=1.0).contains(v))
    );
    let mean = per_label.per_class.values().sum::<f64>() / 4.0;
    assert!((per_label.value - mean).abs() < 1e-12);
    assert_eq!(scores[1].1.value, per_label.value);
    assert!(scores[1].1.per_class.is_empty());
    // Every label has both classes among the validation papers: `accuracy` (GraphStorm's
    // multilabel macro ROC AUC) agrees.
    assert!((scores[2].1.value - mean).abs() < 1e-12);

    for metric in ["per_class_f1_score", "precision_recall", "recall"] {
        let err = multilabel_task(metric).err().expect(metric);
        assert!(
            err.contains(metric) && err.contains("multilabel") && err.contains("per_class_roc_auc"),
            "{metric}: {err}"
        );
    }
}
