//! Every supported option acts: each test runs with an option's default and with a
//! non-default value and asserts a difference (the first losses, the weights, the outputs,
//! the files written, the log, or an error that names the key). The option table
//! (`host/config/src/options.rs`) names these tests; `options_table.rs` checks that it does.
//!
//! Most tests use the gs-train API with the native GraphSAGE model on a small demo graph
//! (fast, no plugin); options that only the process sees run the real `gs` binary.

use std::path::Path;
use std::sync::Arc;

use gs_graph::{Array, DemoParams, HeteroGraph, generate_demo};
use gs_tensor::{Device, Kind};
use gs_tests::{GsRun, run_gs, small_demo_graph};
use gs_train::{NoProgress, NodeTask, Progress};

const NUM_PAPERS: u64 = 300;

/// The demo graph with extra labels on `paper`: `binary` (class 0 or not), `multi` (multi-hot:
/// the community and, for even ids, the next one) and `score` (a float for regression); on
/// `author`, `half` (its features halved).
fn graph() -> HeteroGraph {
    let mut g = generate_demo(&DemoParams {
        num_papers: NUM_PAPERS,
        num_authors: 150,
        seed: 7,
        ..DemoParams::default()
    });
    let label = g
        .node_data("paper", "label")
        .unwrap()
        .as_i64()
        .unwrap()
        .to_vec();
    let binary: Vec<i64> = label.iter().map(|&l| i64::from(l == 0)).collect();
    let mut multi = vec![0f32; label.len() * 4];
    for (i, &l) in label.iter().enumerate() {
        multi[i * 4 + l as usize] = 1.0;
        if i % 2 == 0 {
            multi[i * 4 + (l as usize + 1) % 4] = 1.0;
        }
    }
    let score: Vec<f32> = label.iter().map(|&l| l as f32 * 0.5 - 0.7).collect();
    let n = label.len();
    g.set_node_data("paper", "binary", Array::from_i64(binary, &[n]).unwrap())
        .unwrap();
    g.set_node_data("paper", "multi", Array::from_f32(multi, &[n, 4]).unwrap())
        .unwrap();
    g.set_node_data("paper", "score", Array::from_f32(score, &[n]).unwrap())
        .unwrap();
    // `half`: the authors' features halved, for a run that picks other features.
    let feat = g.node_data("author", "feat").unwrap();
    let shape = feat.shape().to_vec();
    let half: Vec<f32> = feat.as_f32().unwrap().iter().map(|v| v * 0.5).collect();
    g.set_node_data("author", "half", Array::from_f32(half, &shape).unwrap())
        .unwrap();
    g
}

const BASE: &str = "--part-config in-memory.json --num-trainers 1 --target-ntype paper \
    --node-feat-name feat --num-layers 1 --fanout 5 --hidden-size 8 --lr 0.05 --batch-size 32 \
    --seed 7";
const CLASSIFY: &str = "--task-type node_classification --label-field label --num-classes 4";
const REGRESS: &str = "--task-type node_regression --label-field score";

/// The task for `BASE` plus `flags`, or the error (from resolving or from the task) as text.
fn task(flags: &str) -> Result<NodeTask, String> {
    let argv: Vec<String> = format!("{BASE} {flags}")
        .split_whitespace()
        .map(String::from)
        .collect();
    let resolved = gs_config::resolve(&argv, None).map_err(|e| e.to_string())?;
    NodeTask::new(Arc::new(graph()), resolved.train, Device::Cpu).map_err(|e| e.to_string())
}

/// The losses of the first `steps` training steps of the native model.
fn losses(flags: &str, steps: usize) -> Vec<f64> {
    let task = task(flags).unwrap_or_else(|e| panic!("`{flags}`: {e}"));
    let mut model = task.native_model().unwrap();
    task.loss_curve(&mut model, steps).unwrap()
}

fn first_loss(flags: &str) -> f64 {
    losses(flags, 1)[0]
}

fn assert_differ(a: f64, b: f64, what: &str) {
    assert!(
        (a - b).abs() > 1e-6 * a.abs().max(1.0),
        "{what}: the loss is {a} either way"
    );
}

fn error_of(flags: &str) -> String {
    match task(flags) {
        Ok(_) => panic!("`{flags}` was accepted"),
        Err(e) => e,
    }
}

#[test]
fn hyper_parameters_change_the_first_training_steps() {
    // (what changes, flags of the default run, flags of the changed run)
    let cases: &[(&str, &str, &str)] = &[
        ("lr", "", "--lr 0.3"),
        // Dropout acts between GNN layers, so it needs two.
        (
            "dropout",
            "--num-layers 2 --fanout 5,5",
            "--num-layers 2 --fanout 5,5 --dropout 0.5",
        ),
        ("wd_l2norm", "", "--wd-l2norm 0.5"),
        ("alpha_l2norm", "", "--alpha-l2norm 0.05"),
        ("max_grad_norm", "", "--max-grad-norm 0.001"),
        (
            "grad_norm_type",
            "--max-grad-norm 0.01",
            "--max-grad-norm 0.01 --grad-norm-type inf",
        ),
        (
            "grad_norm_type 1",
            "--max-grad-norm 0.01",
            "--max-grad-norm 0.01 --grad-norm-type 1",
        ),
        ("batch_size", "", "--batch-size 16"),
        ("fanout", "", "--fanout 1"),
        ("hidden_size", "", "--hidden-size 16"),
        ("num_layers", "", "--num-layers 2 --fanout 5,5"),
        ("seed", "", "--seed 8"),
        (
            "node_feat_name",
            "",
            "--node-feat-name paper:feat author:half",
        ),
    ];
    let steps = 3;
    let again = losses(CLASSIFY, steps);
    assert_eq!(again, losses(CLASSIFY, steps), "runs are deterministic");
    for (what, default, changed) in cases {
        let a = losses(&format!("{CLASSIFY} {default}"), steps);
        let b = losses(&format!("{CLASSIFY} {changed}"), steps);
        assert!(
            a.iter()
                .zip(&b)
                .any(|(x, y)| (x - y).abs() > 1e-6 * x.abs().max(1.0)),
            "{what}: the first {steps} losses are the same ({a:?})"
        );
    }
}

#[test]
fn task_keys_change_the_first_loss() {
    let base = first_loss(CLASSIFY);
    assert_differ(
        base,
        first_loss(&CLASSIFY.replace("--label-field label", "--label-field binary")),
        "label_field",
    );
    assert_differ(
        base,
        first_loss(&CLASSIFY.replace("--num-classes 4", "--num-classes 5")),
        "num_classes",
    );
    let err = error_of(&format!("{CLASSIFY} --target-ntype author"));
    assert!(
        err.contains("author") && err.contains("`label_field`"),
        "{err}"
    );
}

#[test]
fn multilabel_and_its_weights_change_the_first_loss() {
    let multilabel =
        "--task-type node_classification --label-field multi --num-classes 4 --multilabel true";
    let bce = first_loss(multilabel);
    // Cross-entropy over the classes and BCE over the multi-hot labels differ.
    assert_differ(bce, first_loss(CLASSIFY), "multilabel");
    let weighted = first_loss(&format!("{multilabel} --multilabel-weights 1,8,1,1"));
    assert_differ(bce, weighted, "multilabel_weights");
    let class_weighted = first_loss(&format!("{multilabel} --imbalance-class-weights 1,8,1,1"));
    assert_differ(
        bce,
        class_weighted,
        "imbalance_class_weights with multilabel",
    );

    // Multi-hot labels need multilabel; weights need one entry per class.
    let err = error_of(&multilabel.replace("--multilabel true", ""));
    assert!(err.contains("multilabel"), "{err}");
    let err = error_of(&format!("{multilabel} --multilabel-weights 1,2"));
    assert!(
        err.contains("multilabel-weights") && err.contains("4 positive weights"),
        "{err}"
    );

    // Evaluation reads the logits through a sigmoid: GraphStorm's multilabel accuracy is the
    // macro ROC AUC, a score in [0, 1].
    let task = task(multilabel).unwrap();
    let mut model = task.native_model().unwrap();
    let ids = task.split("val_mask").unwrap();
    let scores = task
        .evaluate(&mut model, &ids, "val", &mut NoProgress)
        .unwrap();
    assert!((0.0..=1.0).contains(&scores[0].1.value), "{scores:?}");
    let out = task.infer(&mut model, &ids, &mut NoProgress).unwrap();
    assert_eq!(out.outputs.size(), [ids.len() as i64, 4]);
    let sums = out
        .outputs
        .sum_dim_intlist([1i64].as_slice(), false, Kind::Float);
    assert!(
        sums.max().double_value(&[]) > 1.01,
        "multilabel probabilities are independent sigmoids, not a softmax"
    );
}

#[test]
fn imbalance_class_weights_change_the_first_loss() {
    let plain = first_loss(CLASSIFY);
    let weighted = first_loss(&format!("{CLASSIFY} --imbalance-class-weights 1,10,1,0.1"));
    assert_differ(plain, weighted, "imbalance_class_weights");
    let err = error_of(&format!("{CLASSIFY} --imbalance-class-weights 1,2,3"));
    assert!(err.contains("imbalance-class-weights"), "{err}");
}

#[test]
fn focal_loss_and_its_gamma_and_alpha_change_the_first_loss() {
    let binary = "--task-type node_classification --label-field binary --num-classes 2";
    let cross_entropy = first_loss(binary);
    let focal = first_loss(&format!("{binary} --class-loss-func focal"));
    assert_differ(cross_entropy, focal, "class_loss_func");
    // Focal loss damps every term of the alpha-weighted binary cross-entropy (its value at
    // gamma 0) by (1 - p_t)^gamma < 1, whatever the scale of the logits.
    let undamped = first_loss(&format!("{binary} --class-loss-func focal --gamma 0"));
    assert!(focal < undamped, "focal {focal}, at gamma 0 {undamped}");
    assert_differ(
        focal,
        first_loss(&format!("{binary} --class-loss-func focal --gamma 0.5")),
        "gamma",
    );
    assert_differ(
        focal,
        first_loss(&format!("{binary} --class-loss-func focal --alpha 0.9")),
        "alpha",
    );
    // As in GraphStorm, `num_classes: 1` also means the binary focal loss.
    let one_class = first_loss(&format!(
        "{} --class-loss-func focal",
        binary.replace("--num-classes 2", "--num-classes 1")
    ));
    assert!((one_class - focal).abs() < 1e-9, "{one_class} vs {focal}");
    // Focal loss is binary: one logit per node, and more than 2 classes are refused.
    let task = task(&format!("{binary} --class-loss-func focal")).unwrap();
    let mut model = task.native_model().unwrap();
    let ids = task.split("test_mask").unwrap();
    let out = task.infer(&mut model, &ids, &mut NoProgress).unwrap();
    assert_eq!(out.outputs.size(), [ids.len() as i64, 1]);
    let err = error_of(&format!("{CLASSIFY} --class-loss-func focal"));
    assert!(
        err.contains("class_loss_func") && err.contains("num_classes"),
        "{err}"
    );
    // gamma and alpha do nothing with cross-entropy, so they are refused there.
    let err = error_of(&format!("{binary} --gamma 1"));
    assert!(err.contains("`gamma`"), "{err}");
}

#[test]
fn shrinkage_loss_and_its_gamma_and_alpha_change_the_first_loss() {
    let mse = first_loss(REGRESS);
    let shrinkage = first_loss(&format!("{REGRESS} --regression-loss-func shrinkage"));
    assert_differ(mse, shrinkage, "regression_loss_func");
    assert!(
        shrinkage < mse,
        "shrinkage {shrinkage} damps the squared error {mse}"
    );
    assert_differ(
        shrinkage,
        first_loss(&format!(
            "{REGRESS} --regression-loss-func shrinkage --gamma 2"
        )),
        "gamma",
    );
    assert_differ(
        shrinkage,
        first_loss(&format!(
            "{REGRESS} --regression-loss-func shrinkage --alpha 1"
        )),
        "alpha",
    );
    let err = error_of(&format!("{REGRESS} --alpha 1"));
    assert!(
        err.contains("`alpha`") && err.contains("shrinkage"),
        "{err}"
    );
}

#[test]
fn decoder_bias_false_leaves_the_decoder_without_a_bias() {
    let names = |flags: &str| -> Vec<String> {
        let task = task(flags).unwrap();
        let model = task.native_model().unwrap();
        model.named_weights().into_iter().map(|(n, _)| n).collect()
    };
    let with = names(CLASSIFY);
    let without = names(&format!("{CLASSIFY} --decoder-bias false"));
    assert!(with.iter().any(|n| n == "decoder/decoder.bias"), "{with:?}");
    assert!(
        !without
            .iter()
            .any(|n| n.ends_with("bias") && n.starts_with("decoder/")),
        "{without:?}"
    );
    // The bias starts at zero, so the first loss agrees; the trained bias changes later steps.
    let a = losses(CLASSIFY, 3);
    let b = losses(&format!("{CLASSIFY} --decoder-bias false"), 3);
    assert!((a[0] - b[0]).abs() < 1e-6, "{a:?} {b:?}");
    assert!((a[2] - b[2]).abs() > 1e-7, "{a:?} {b:?}");
}

/// Counts evaluation batches.
#[derive(Default)]
struct EvalBatches(usize);

impl Progress for EvalBatches {
    fn eval_start(&mut self, _what: &str, num_batches: usize) {
        self.0 = num_batches;
    }
}

#[test]
fn eval_batch_size_sets_the_evaluation_batches() {
    let batches = |flags: &str| {
        let task = task(flags).unwrap();
        let mut model = task.native_model().unwrap();
        let ids = task.split("val_mask").unwrap();
        let mut progress = EvalBatches::default();
        task.evaluate(&mut model, &ids, "val", &mut progress)
            .unwrap();
        (ids.len(), progress.0)
    };
    let (n, default) = batches(CLASSIFY);
    assert_eq!(default, 1, "10000 per batch by default");
    let (_, small) = batches(&format!("{CLASSIFY} --eval-batch-size 16"));
    assert_eq!(small, n.div_ceil(16));
}

#[test]
fn eval_metric_picks_the_reported_scores() {
    let scores = |flags: &str| {
        let task = task(flags).unwrap();
        let mut model = task.native_model().unwrap();
        let ids = task.split("val_mask").unwrap();
        let scores = task
            .evaluate(&mut model, &ids, "val", &mut NoProgress)
            .unwrap();
        scores
            .iter()
            .map(|(m, _)| m.to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(scores(CLASSIFY), ["accuracy"]);
    assert_eq!(
        scores(&format!("{CLASSIFY} --eval-metric f1_score accuracy")),
        ["f1_score", "accuracy"]
    );
    assert_eq!(scores(REGRESS), ["rmse"]);
    assert_eq!(scores(&format!("{REGRESS} --eval-metric mae")), ["mae"]);
}

#[test]
fn infer_all_target_nodes_predicts_every_target_node() {
    let test_nodes = task(CLASSIFY).unwrap().inference_ids().unwrap().len();
    let all = task(&format!(
        "{CLASSIFY} --no-validation true --infer-all-target-nodes true"
    ))
    .unwrap()
    .inference_ids()
    .unwrap()
    .len();
    assert!(test_nodes < all, "{test_nodes} test nodes");
    assert_eq!(all as u64, NUM_PAPERS);
}

#[test]
fn return_proba_writes_probabilities_or_classes() {
    let outputs = |flags: &str| {
        let task = task(flags).unwrap();
        let mut model = task.native_model().unwrap();
        let ids = task.inference_ids().unwrap();
        task.infer(&mut model, &ids, &mut NoProgress)
            .unwrap()
            .outputs
    };
    let proba = outputs(CLASSIFY);
    assert_eq!(proba.size()[1], 4);
    let sums = proba.sum_dim_intlist([1i64].as_slice(), false, Kind::Float);
    assert!((sums - 1.0).abs().max().double_value(&[]) < 1e-5);
    let classes = outputs(&format!("{CLASSIFY} --return-proba false"));
    assert_eq!(classes.size()[1], 1, "one class id per node");
    let values = Vec::<f64>::try_from(classes.to_kind(Kind::Double).flatten(0, -1)).unwrap();
    assert!(
        values
            .iter()
            .all(|v| v.fract() == 0.0 && (0.0..4.0).contains(v)),
        "{values:?}"
    );
}

// ---- options only the process sees: the real `gs` binary ----

/// `gs launch` with the demo's settings (1 epoch, a small model) plus `extra`.
fn launch(dir: &Path, extra: &[&str]) -> GsRun {
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
        "4",
        "--node-feat-name",
        "feat",
        "--num-layers",
        "1",
        "--fanout",
        "5",
        "--hidden-size",
        "8",
        "--lr",
        "0.01",
        "--batch-size",
        "32",
        "--num-epochs",
        "1",
    ];
    args.extend_from_slice(extra);
    run_gs(dir, &args)
}

#[test]
fn logging_options_set_the_level_the_file_and_the_report_frequency() {
    let tmp = small_demo_graph();
    let dir = tmp.path();
    let default = launch(dir, &[]).ok();
    assert!(
        default.stderr.contains("epoch   0: train loss"),
        "{}",
        default.stderr
    );
    assert!(!default.stderr.contains("iteration"), "{}", default.stderr);

    // Errors only: the per-epoch report (an info line) is gone.
    let quiet = launch(dir, &["--logging-level", "error"]).ok();
    assert!(!quiet.stderr.contains("train loss"), "{}", quiet.stderr);

    // A loss line every iteration, then every 2 iterations: half as many.
    let reports = |every: &str| {
        let run = launch(dir, &["--log-report-frequency", every]).ok();
        run.stderr
            .lines()
            .filter(|l| l.contains("iteration"))
            .count()
    };
    let (every_one, every_two) = (reports("1"), reports("2"));
    assert!(
        every_one >= 2,
        "one line per training batch, got {every_one}"
    );
    assert_eq!(every_two, every_one / 2);

    // The log also goes to the file.
    launch(dir, &["--logging-file", "run.log"]).ok();
    let log = std::fs::read_to_string(dir.join("run.log")).expect("the log file is written");
    assert!(log.contains("epoch   0: train loss"), "{log}");
}

#[test]
fn num_omp_threads_sets_the_tensor_threads() {
    let tmp = small_demo_graph();
    let dir = tmp.path();
    let one = launch(dir, &["--num-omp-threads", "1"]).ok();
    assert!(one.stderr.contains("1 tensor threads"), "{}", one.stderr);
    let two = launch(dir, &["--num-omp-threads", "2"]).ok();
    assert!(two.stderr.contains("2 tensor threads"), "{}", two.stderr);
    // Unset: GraphStorm's default, half the cores and at least one.
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let default = launch(dir, &[]).ok();
    let want = format!("{} tensor threads", (cores / 2).max(1));
    assert!(default.stderr.contains(&want), "{want}: {}", default.stderr);
}

#[test]
fn device_picks_where_tensors_live() {
    let tmp = small_demo_graph();
    let dir = tmp.path();
    let cpu = launch(dir, &[]).ok();
    assert!(cpu.stderr.contains("on Cpu"), "{}", cpu.stderr);
    assert!(!cpu.stderr.contains("CUDA device(s)"), "{}", cpu.stderr);
    // A GPU when libtorch sees one; else the run says so and falls back to the CPU.
    let cuda = launch(dir, &["--device", "cuda:0"]).ok();
    assert!(
        cuda.stderr.contains("on Cuda(0)")
            || (cuda.stderr.contains("device `cuda:0` asked for")
                && cuda.stderr.contains("on Cpu")),
        "{}",
        cuda.stderr
    );
}

#[test]
fn no_validation_skips_the_validation_scores() {
    let tmp = small_demo_graph();
    let dir = tmp.path();
    let default = launch(dir, &[]).ok();
    assert!(
        !default.stderr.contains("val accuracy n/a"),
        "{}",
        default.stderr
    );
    let skipped = launch(dir, &["--no-validation", "true"]).ok();
    assert!(
        skipped.stderr.contains("val accuracy n/a"),
        "{}",
        skipped.stderr
    );
}

#[test]
fn output_chunk_size_splits_the_prediction_files() {
    let tmp = small_demo_graph();
    let dir = tmp.path();
    launch(dir, &["--save-model-path", "model"]).ok();
    let files = |extra: &[&str], out: &str| -> String {
        let mut args = vec![
            "launch",
            "--inference",
            "--num-trainers",
            "1",
            "--part-config",
            "data/demo.json",
            "--restore-model-path",
            "model/epoch-0",
            "--save-prediction-path",
            out,
            "--no-validation",
            "true",
            "--infer-all-target-nodes",
            "true",
        ];
        args.extend_from_slice(extra);
        let run = run_gs(dir, &args).ok();
        run.stdout
            .lines()
            .find(|l| l.starts_with("predictions for"))
            .unwrap_or_else(|| panic!("{}", run.stdout))
            .to_string()
    };
    let count = |line: String| -> usize {
        let inside = line.rsplit_once('(').map(|(_, r)| r).unwrap_or_default();
        inside
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .parse()
            .unwrap_or_else(|_| panic!("{line}"))
    };
    let default = count(files(&[], "pred"));
    let chunked = count(files(&["--output-chunk-size", "50"], "pred-chunked"));
    // 200 predictions: one file by default, four of 50 rows each.
    assert_eq!(
        chunked,
        default + 3,
        "default {default} files, chunked {chunked}"
    );
}

// ---- keys gs does not implement are refused by name ----

/// The error of resolving `BASE` + `CLASSIFY` + `flags`.
fn refusal(flags: &str) -> String {
    let argv: Vec<String> = format!("{BASE} {CLASSIFY} {flags}")
        .split_whitespace()
        .map(String::from)
        .collect();
    match gs_config::resolve(&argv, None) {
        Ok(_) => panic!("`{flags}` was accepted"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn unimplemented_keys_are_refused_by_name() {
    // (group, flag, a non-default value, words of the reason). `num_bases` and `use_self_loop`
    // are read by the rgcn plugin and refused for others in `rgcn.rs`; `num_heads` by rgat and
    // hgt, refused for others in `rgat.rs`; `edge_feat_name` and `edge_feat_mp_op`, refused
    // for others in `edge_features.rs`; the encoder options (`input_activate`, `gnn_norm`,
    // `num_ffn_layers_in_*`, `out_emb_size`) in `encoder_options.rs`.
    let groups: &[(&str, &str, &str, &str)] = &[
        (
            "decoder",
            "--num-ffn-layers-in-decoder",
            "1",
            "one linear layer",
        ),
        ("outputs", "--do-nid-remap", "false", "raw node ids"),
        ("outputs", "--preserve-input", "true", "remapped outputs"),
    ];
    for (group, flag, value, reason) in groups {
        let err = refusal(&format!("{flag} {value}"));
        assert!(
            err.contains(&format!("`{flag}`")) && err.contains(reason) && err.contains("hint:"),
            "{group}: {flag} {value}: {err}"
        );
    }
    // The defaults, which are what gs does, stay accepted.
    for flags in [
        "--do-nid-remap true",
        "--preserve-input false",
        "--use-self-loop true",
        "--num-heads 4",
        "--num-bases -1",
        "--num-ffn-layers-in-gnn 0",
    ] {
        let argv: Vec<String> = format!("{BASE} {CLASSIFY} {flags}")
            .split_whitespace()
            .map(String::from)
            .collect();
        gs_config::resolve(&argv, None).unwrap_or_else(|e| panic!("`{flags}`: {e}"));
    }
    // GraphStorm reads report_eval_per_type only for link prediction: a warning for node tasks.
    let argv: Vec<String> = format!("{BASE} {CLASSIFY} --report-eval-per-type true")
        .split_whitespace()
        .map(String::from)
        .collect();
    let resolved = gs_config::resolve(&argv, None).unwrap();
    assert!(
        resolved
            .warnings
            .iter()
            .any(|w| w.contains("`--report-eval-per-type`") && w.contains("link prediction")),
        "{:?}",
        resolved.warnings
    );
}
