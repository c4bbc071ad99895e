//! A plugin that decodes edge tasks and link prediction itself (`gs:plugin@0.1.1`): the batch
//! handed to its `decode` carries the target edges (`batch.target-edges`) or one edge type's
//! pairs (`batch.lp-pairs`), and its `model-capabilities` export declares the tasks it decodes.
//!
//! `test-edge-decoder` scores an edge by the dot product of its endpoints' embeddings (plus a
//! bias), which the host's `DenseBiDecoder` never does, and logs when it decodes. Through the
//! real `gs` binary on `gs generate user-item` data: edge regression and link prediction train
//! with the plugin's decoder (its log line, no host decoder weights in the checkpoint, a metric
//! far from an untrained model's), `--inference` decodes with it too, and a `decode` of the
//! wrong shape is refused naming the plugin, the task and both shapes. Through the runtime:
//! the indices the batch methods hand over are the host's, and a 0.1.0 component declares
//! nothing.

use std::path::{Path, PathBuf};

use gs_batch::{BatchData, DecodeTargets, EdgeTypeName, LpPairsData, Mode, TargetEdgesData, Task};
use gs_runtime::PluginLimits;
use gs_tensor::{Kind, Tensor};
use gs_tests::runs::{best_test_score, chance_mrr, training_summary, user_item_folder};
use gs_tests::{GsRun, instantiate, params, plugin_path, run_gs, temp_engine, tiny_schema};

/// The log line `decode` writes the first time it decodes target edges in training.
const EDGE_DECODE_LOG: &str = "[test-edge-decoder] decode (train): dot product of the endpoints of";
/// The log line `decode` writes the first time it decodes target edges in evaluation or inference.
const EDGE_EVAL_LOG: &str = "[test-edge-decoder] decode (eval): dot product of the endpoints";
/// The log lines `decode` writes the first time it decodes link-prediction pairs.
const PAIR_TRAIN_LOG: &str = "[test-edge-decoder] decode (train): dot product of";
const PAIR_EVAL_LOG: &str = "[test-edge-decoder] decode (eval): dot product of";

/// Edge regression on `user,rates,item` (GraphStorm's three-level `gsf:` layout).
const EDGE_YAML: &str = "version: 1.0
gsf:
  gnn:
    num_layers: 1
    hidden_size: 16
    fanout: \"10\"
  input:
    node_feat_name:
      - \"user:feat\"
      - \"item:feat\"
  hyperparam:
    lr: 0.02
    num_epochs: 10
    batch_size: 256
  edge_regression:
    target_etype:
      - \"user,rates,item\"
    reverse_edge_types_map:
      - \"user,rates,rated-by,item\"
    label_field: rating
";

/// Link prediction on `user,rates,item`, 100 joint negatives in evaluation.
const LP_YAML: &str = "version: 1.0
gsf:
  gnn:
    num_layers: 1
    hidden_size: 32
    fanout: \"10\"
  input:
    node_feat_name:
      - \"user:feat,group\"
      - \"item:feat,group\"
  hyperparam:
    lr: 0.01
    num_epochs: 3
    batch_size: 256
  link_prediction:
    train_etype:
      - \"user,rates,item\"
    eval_etype:
      - \"user,rates,item\"
    reverse_edge_types_map:
      - \"user,rates,rated-by,item\"
    exclude_training_targets: true
    lp_loss_func: contrastive
    train_negative_sampler: joint
    num_negative_edges: 4
    eval_negative_sampler: joint
    num_negative_edges_eval: 100
    eval_metric:
      - mrr
";

fn setup() -> tempfile::TempDir {
    user_item_folder(&[("edge.yaml", EDGE_YAML), ("lp.yaml", LP_YAML)])
}

fn decoder_plugin() -> PathBuf {
    plugin_path("test-edge-decoder")
}

/// `gs <command> --cf <yaml>` on the user–item graph with the test plugin, `extra` flags and
/// `custom` plugin arguments.
fn gs_with_plugin(dir: &Path, command: &str, yaml: &str, extra: &[&str], custom: &[&str]) -> GsRun {
    let plugin = decoder_plugin();
    let mut args = vec![
        command,
        "--cf",
        yaml,
        "--part-config",
        "data/user-item.json",
        "--num-trainers",
        "1",
        "--plugin",
        plugin.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    args.push("--");
    args.extend_from_slice(custom);
    run_gs(dir, &args)
}

/// The weight names of the best checkpoint of the run saved at `model`.
fn checkpoint_weights(model: &Path) -> Vec<String> {
    let best = training_summary(model)["best_checkpoint"]
        .as_str()
        .unwrap()
        .to_string();
    gs_train::checkpoint::load(&model.join(best))
        .unwrap()
        .weights
        .into_iter()
        .map(|(name, _)| name)
        .collect()
}

#[test]
fn edge_regression_trains_and_predicts_with_the_plugins_decoder() {
    let tmp = setup();
    let dir = tmp.path();
    let run = gs_with_plugin(
        dir,
        "edge-regression",
        "edge.yaml",
        &["--save-model-path", "model"],
        &[],
    )
    .ok();
    assert!(
        run.stderr.contains(EDGE_DECODE_LOG) && run.stderr.contains("user:rates:item"),
        "the plugin's decode ran:\n{}",
        run.stderr
    );
    let weights = checkpoint_weights(&dir.join("model"));
    assert!(
        weights.iter().any(|n| n == "gnn/bias")
            && !weights.iter().any(|n| n.starts_with("decoder/")),
        "the plugin's decoder, not the host's: {weights:?}"
    );
    // Ratings are 3 + a bilinear score of variance 1: the mean rating's RMSE is about 1.
    let rmse = best_test_score(&dir.join("model"));
    assert!(rmse < 0.5, "test rmse {rmse}");

    // An untrained model (lr 1e-12) keeps a zero bias and random embeddings: far worse.
    gs_with_plugin(
        dir,
        "edge-regression",
        "edge.yaml",
        &[
            "--lr",
            "1e-12",
            "--num-epochs",
            "1",
            "--save-model-path",
            "untrained",
        ],
        &[],
    )
    .ok();
    let untrained = best_test_score(&dir.join("untrained"));
    assert!(
        untrained > 2.0 * rmse,
        "untrained rmse {untrained} vs {rmse}"
    );

    // Inference restores the plugin's weights and decodes with it again.
    let best = training_summary(&dir.join("model"))["best_checkpoint"]
        .as_str()
        .unwrap()
        .to_string();
    let restore = format!("model/{best}");
    let run = gs_with_plugin(
        dir,
        "edge-regression",
        "edge.yaml",
        &[
            "--inference",
            "--restore-model-path",
            &restore,
            "--save-prediction-path",
            "pred",
        ],
        &[],
    )
    .ok();
    assert!(run.stderr.contains(EDGE_EVAL_LOG), "{}", run.stderr);
    let printed: f64 = run
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("test rmse: "))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no `test rmse:` in:\n{}", run.stdout));
    assert!((printed - rmse).abs() < 1e-4, "{printed} vs {rmse}");
    let preds =
        gs_output::read_edge_predictions(&dir.join("pred"), ["user", "rates", "item"]).unwrap();
    assert!(!preds.src.is_empty() && preds.preds.iter().all(|p| p.len() == 1));
}

#[test]
fn a_decode_of_the_wrong_shape_is_refused_naming_plugin_task_and_shapes() {
    let tmp = setup();
    let dir = tmp.path();
    let run = gs_with_plugin(
        dir,
        "edge-regression",
        "edge.yaml",
        &["--num-epochs", "1", "--save-model-path", "model"],
        &["--decode-shape", "wide"],
    );
    println!("--- wide decode:\n{}", run.stderr);
    // The first training batch holds 256 target edges.
    run.fails_with(
        1,
        &[
            "`test-edge-decoder`",
            "failed in `decode`",
            "task `edge-regression`",
            "shape [256, 2]",
            "expected f32 [256, 1]",
            "batch.target-edges",
        ],
    );
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);

    let run = gs_with_plugin(
        dir,
        "link-prediction",
        "lp.yaml",
        &["--num-epochs", "1", "--save-model-path", "lp"],
        &["--decode-shape", "wide"],
    );
    println!("--- wide link-prediction decode:\n{}", run.stderr);
    // 256 positives, 4 joint negatives each: [256, 5] expected, one column more returned.
    run.fails_with(
        1,
        &[
            "`test-edge-decoder`",
            "failed in `decode`",
            "task `link-prediction`",
            "shape [256, 6]",
            "expected f32 [256, 5]",
            "[P, 1 + K]",
        ],
    );
}

/// The log line `loss` writes the first time it runs.
const LOSS_LOG: &str = "[test-edge-decoder] loss (train): loss over";

/// With `--own-loss true` the plugin declares `loss` too: the host calls it with the decoded
/// outputs and labels (`[E, 1]` for edge regression, `[P, 1 + K]` for link prediction) instead
/// of its own loss, and training still learns.
#[test]
fn the_plugins_declared_loss_trains_both_tasks() {
    let tmp = setup();
    let dir = tmp.path();
    let own = ["--own-loss", "true"];
    let run = gs_with_plugin(
        dir,
        "edge-regression",
        "edge.yaml",
        &["--save-model-path", "edge"],
        &own,
    )
    .ok();
    assert!(
        run.stderr
            .lines()
            .any(|l| l.contains(LOSS_LOG) && l.contains("of 1 columns")),
        "the plugin's loss ran on [E, 1] outputs:\n{}",
        run.stderr
    );
    let rmse = best_test_score(&dir.join("edge"));
    assert!(rmse < 0.5, "test rmse {rmse}");

    let run = gs_with_plugin(
        dir,
        "link-prediction",
        "lp.yaml",
        &["--save-model-path", "lp"],
        &own,
    )
    .ok();
    assert!(
        run.stderr
            .lines()
            .any(|l| l.contains(LOSS_LOG) && l.contains("of 5 columns")),
        "the plugin's loss ran on [P, 1 + 4] scores:\n{}",
        run.stderr
    );
    let mrr = best_test_score(&dir.join("lp"));
    assert!(mrr > 3.0 * chance_mrr(101), "test mrr {mrr}");
}

#[test]
fn link_prediction_trains_and_ranks_with_the_plugins_decoder() {
    let tmp = setup();
    let dir = tmp.path();
    let run = gs_with_plugin(
        dir,
        "link-prediction",
        "lp.yaml",
        &["--save-model-path", "model"],
        &[],
    )
    .ok();
    let logged = |prefix: &str, negatives: &str| {
        run.stderr
            .lines()
            .any(|l| l.contains(prefix) && l.contains(negatives))
    };
    assert!(
        logged(PAIR_TRAIN_LOG, "and 4 negatives each"),
        "the plugin's decode scored the training pairs:\n{}",
        run.stderr
    );
    // Evaluation ranks through the plugin too: 100 joint negatives per corrupted side.
    assert!(
        logged(PAIR_EVAL_LOG, "and 100 negatives each"),
        "{}",
        run.stderr
    );
    let weights = checkpoint_weights(&dir.join("model"));
    assert!(
        !weights.iter().any(|n| n.starts_with("decoder/")),
        "{weights:?}"
    );
    let mrr = best_test_score(&dir.join("model"));
    let chance = chance_mrr(101);
    assert!(mrr > 3.0 * chance, "test mrr {mrr} vs chance {chance}");

    // gs's filtered ranking against every item, through the plugin's decode.
    gs_with_plugin(
        dir,
        "link-prediction",
        "lp.yaml",
        &[
            "--eval-negative-sampler",
            "full_filtered",
            "--num-epochs",
            "1",
            "--save-model-path",
            "full",
        ],
        &[],
    )
    .ok();
    let full = best_test_score(&dir.join("full"));
    assert!(full > 3.0 * chance_mrr(300), "filtered mrr {full}");
}

fn etype(src: &str, rel: &str, dst: &str) -> EdgeTypeName {
    EdgeTypeName {
        src: src.into(),
        rel: rel.into(),
        dst: dst.into(),
    }
}

fn f32_tensor(values: &[f32], rows: i64) -> Tensor {
    Tensor::from_slice(values).reshape([rows, -1])
}

/// The runtime hands `decode` exactly the host's target indices: the plugin's dot products
/// match the ones computed here from the same rows, for target edges and for pairs.
#[test]
fn decode_sees_the_batchs_target_edges_and_pairs() {
    let (engine, _cache) = temp_engine();
    let mut plugin = instantiate(&engine, "test-edge-decoder", PluginLimits::default()).unwrap();
    let config = gs_batch::ModelConfig {
        task: Task::EdgeRegression,
        num_classes: 1,
        target_node_type: "paper".into(),
        custom_args: vec![],
        ..gs_tests::tiny_config()
    };
    plugin.init(&config, &tiny_schema()).unwrap();
    assert_eq!(plugin.declares_decode(Task::EdgeRegression), Some(true));
    assert_eq!(plugin.declares_loss(Task::EdgeRegression), Some(false));

    // Three authors and four papers with 2-dim embeddings.
    let authors = f32_tensor(&[1.0, 0.0, 0.0, 2.0, 3.0, 1.0], 3);
    let papers = f32_tensor(&[1.0, 1.0, 2.0, 0.0, 0.0, 1.0, -1.0, 1.0], 4);
    let embeddings = vec![
        ("author".to_string(), authors.shallow_clone()),
        ("paper".to_string(), papers.shallow_clone()),
    ];
    let dot = |a: &Tensor, p: &Tensor| (a * p).sum_dim_intlist(-1, false, Kind::Float);

    let (src, dst) = (
        Tensor::from_slice(&[2i64, 0, 1]),
        Tensor::from_slice(&[3i64, 1, 1]),
    );
    let edges = DecodeTargets::Edges(TargetEdgesData {
        etype: etype("author", "writes", "paper"),
        src: src.shallow_clone(),
        dst: dst.shallow_clone(),
    });
    let batch = BatchData::default();
    let scores = plugin
        .decode(&batch, &edges, &embeddings, Mode::Eval)
        .unwrap()
        .expect("the plugin decodes edges");
    assert_eq!(scores.size(), [3, 1]);
    // The bias starts at zero: the scores are the dot products.
    let expected = dot(
        &authors.index_select(0, &src),
        &papers.index_select(0, &dst),
    );
    assert!(
        scores.reshape([-1]).allclose(&expected, 1e-6, 1e-6, false),
        "{scores} vs {expected}"
    );

    let pairs = LpPairsData {
        etype: etype("author", "writes", "paper"),
        pos_src: Tensor::from_slice(&[0i64, 2]),
        pos_dst: Tensor::from_slice(&[1i64, 3]),
        neg_src: Tensor::from_slice(&[0i64, 0, 2, 2]).reshape([2, 2]),
        neg_dst: Tensor::from_slice(&[0i64, 2, 1, 0]).reshape([2, 2]),
    };
    let scores = plugin
        .decode(
            &batch,
            &DecodeTargets::Pairs(pairs.shallow_clone()),
            &embeddings,
            Mode::Eval,
        )
        .unwrap()
        .expect("the plugin decodes pairs");
    assert_eq!(scores.size(), [2, 3]);
    let positive = dot(
        &authors.index_select(0, &pairs.pos_src),
        &papers.index_select(0, &pairs.pos_dst),
    );
    let negative = dot(
        &authors
            .index_select(0, &pairs.neg_src.reshape([-1]))
            .reshape([2, 2, 2]),
        &papers
            .index_select(0, &pairs.neg_dst.reshape([-1]))
            .reshape([2, 2, 2]),
    );
    assert!(scores.select(1, 0).allclose(&positive, 1e-6, 1e-6, false));
    assert!(
        scores
            .narrow(1, 1, 2)
            .allclose(&negative, 1e-6, 1e-6, false)
    );
    assert_eq!(
        plugin.live_tensors(),
        plugin.params().len(),
        "decode hands back every handle of the batch's targets"
    );

    // In `forward`, and for node tasks, the batch carries no targets: the plugin says so.
    let err = plugin
        .decode(&batch, &DecodeTargets::Nodes, &embeddings, Mode::Eval)
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("neither target edges nor link-prediction pairs"),
        "{err}"
    );
}

/// A component built against 0.1.0 has no `model-capabilities`: it declares nothing, and the
/// host decodes edge tasks and link prediction for it.
#[test]
fn a_0_1_0_component_declares_nothing() {
    let (engine, _cache) = temp_engine();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/plugins/sage-0.1.0.wasm");
    let plugin = engine.load_file(&fixture).unwrap();
    assert_eq!(plugin.info().package_version, "0.1.0");
    let mut instance = plugin
        .instantiate(PluginLimits::default(), params())
        .unwrap();
    instance
        .init(&gs_tests::tiny_config(), &tiny_schema())
        .unwrap();
    assert_eq!(instance.capabilities(), None);
    assert_eq!(instance.declares_decode(Task::EdgeRegression), None);

    // The same plugin built today (0.1.4) declares that it decodes nothing.
    let mut today = instantiate(&engine, "sage", PluginLimits::default()).unwrap();
    today
        .init(&gs_tests::tiny_config(), &tiny_schema())
        .unwrap();
    assert_eq!(today.component().package_version, "0.1.4");
    assert_eq!(today.declares_decode(Task::NodeClassification), Some(false));
}
