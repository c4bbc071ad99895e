//! Link prediction through the real `gs` binary and the built-in `rgcn` plugin, on a generated
//! user–item graph whose ratings stay mostly within groups that a one-hot `group` feature
//! reveals (`gs generate user-item`): a trained model ranks true items far above chance with
//! GraphStorm's joint negatives and with gs's filtered ranking against every item, which an
//! untrained model does not; every link-prediction key changes the loss or the scores;
//! `--inference` reproduces the test score and writes embeddings with raw ids and the relation
//! table; hard negatives (`train_etypes_negative_dstnode`) replace random ones;
//! `lp_edge_weight_for_loss` weighs positives; a restored run
//! continues exactly; bad input is refused naming the key and the fix.

use std::path::Path;

use gs_tests::runs::{
    assert_same_weights, best_test_score, chance_mrr, epoch_losses, training_summary,
    user_item_folder,
};
use gs_tests::{GsRun, run_gs};

/// A GraphStorm-style YAML (three-level `gsf:` layout, `rgcn:` encoder section) for link
/// prediction on `user,rates,item`.
const LP_YAML: &str = "version: 1.0
gsf:
  basic:
    model_encoder_type: rgcn
    backend: gloo
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
  rgcn:
    num_bases: -1
    use_self_loop: true
  link_prediction:
    train_etype:
      - \"user,rates,item\"
    eval_etype:
      - \"user,rates,item\"
    reverse_edge_types_map:
      - \"user,rates,rated-by,item\"
    exclude_training_targets: true
    lp_decoder_type: dot_product
    lp_loss_func: contrastive
    train_negative_sampler: joint
    num_negative_edges: 4
    eval_negative_sampler: joint
    num_negative_edges_eval: 100
    eval_metric:
      - mrr
";

fn setup() -> tempfile::TempDir {
    user_item_folder(&[("lp.yaml", LP_YAML)])
}

fn lp(dir: &Path, extra: &[&str]) -> GsRun {
    let mut args = vec![
        "link-prediction",
        "--cf",
        "lp.yaml",
        "--part-config",
        "data/user-item.json",
        "--num-trainers",
        "1",
    ];
    args.extend_from_slice(extra);
    run_gs(dir, &args)
}

#[test]
fn link_prediction_ranks_true_items_far_above_chance() {
    let tmp = setup();
    let dir = tmp.path();
    lp(dir, &["--save-model-path", "model"]).ok();
    let mrr = best_test_score(&dir.join("model"));
    // 100 joint negatives: a random model's MRR is H(101)/101 ≈ 0.052.
    let chance = chance_mrr(101);
    assert!(mrr > 3.0 * chance, "test mrr {mrr} vs chance {chance}");
    lp(
        dir,
        &[
            "--lr",
            "1e-12",
            "--num-epochs",
            "1",
            "--save-model-path",
            "untrained",
        ],
    )
    .ok();
    let untrained = best_test_score(&dir.join("untrained"));
    assert!(untrained < 1.6 * chance, "untrained mrr {untrained}");

    // gs's filtered ranking against all 300 items (chance H(300)/300 ≈ 0.021).
    lp(
        dir,
        &[
            "--eval-negative-sampler",
            "full_filtered",
            "--eval-metric",
            "mrr",
            "--save-model-path",
            "full",
        ],
    )
    .ok();
    let full = best_test_score(&dir.join("full"));
    assert!(
        full > 4.0 * chance_mrr(300),
        "filtered full-ranking mrr {full}"
    );

    // Inference reproduces the test score and writes every node's embedding with raw ids.
    let best = training_summary(&dir.join("model"))["best_checkpoint"]
        .as_str()
        .unwrap()
        .to_string();
    let run = lp(
        dir,
        &[
            "--inference",
            "--restore-model-path",
            &format!("model/{best}"),
            "--save-embed-path",
            "emb",
        ],
    )
    .ok();
    let printed: f64 = run
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("test mrr: "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no test mrr in:\n{}", run.stdout));
    assert!((printed - mrr).abs() < 1e-4, "{printed} vs {mrr}");
    for (ntype, count, prefix) in [("user", 400, 'u'), ("item", 300, 'i')] {
        let (ids, rows) = gs_output::read_node_embeddings(&dir.join("emb"), ntype).unwrap();
        assert_eq!(ids.len(), count, "{ntype}");
        assert!(
            ids.iter().all(|id| id.starts_with(prefix)),
            "raw ids of {ntype}"
        );
        assert!(rows.iter().all(|r| r.len() == 32));
    }
    // The dot product has no relation table.
    assert!(!dir.join("emb").join(gs_output::RELATION_MAP_FILE).exists());
}

#[test]
fn distmult_exports_its_relation_table_as_graphstorm_names_it() {
    let tmp = setup();
    let dir = tmp.path();
    lp(
        dir,
        &[
            "--lp-decoder-type",
            "distmult",
            "--num-epochs",
            "1",
            "--save-model-path",
            "model",
            "--save-embed-path",
            "emb",
        ],
    )
    .ok();
    let map: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("emb").join(gs_output::RELATION_MAP_FILE)).unwrap(),
    )
    .unwrap();
    let rows = map.as_object().unwrap();
    assert_eq!(rows.len(), 2, "one row per canonical edge type: {map}");
    assert!(rows.contains_key("('user', 'rates', 'item')"), "{map}");
    let npy = std::fs::read(dir.join("emb").join(gs_output::RELATION_TABLE_FILE)).unwrap();
    let header_len = u16::from_le_bytes([npy[8], npy[9]]) as usize;
    let header = std::str::from_utf8(&npy[10..10 + header_len]).unwrap();
    assert!(header.contains("'shape': (2, 32)"), "{header}");
    // The table is the checkpoint's `decoder._w_relation.weight`.
    let ckpt = gs_train::checkpoint::load(&dir.join("model/epoch-0")).unwrap();
    let (_, table) = ckpt
        .weights
        .iter()
        .find(|(n, _)| n == "decoder/decoder._w_relation.weight")
        .expect("the relation table is saved");
    assert_eq!(table.size(), vec![2, 32]);
    let saved = Vec::<f32>::try_from(table.flatten(0, -1)).unwrap();
    let written: Vec<f32> = npy[10 + header_len..]
        .chunks(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect();
    assert_eq!(saved, written);
}

/// `(train loss, validation mrr)` of epoch 0 of a one-epoch run with `extra`.
fn first_epoch(dir: &Path, name: &str, extra: &[&str]) -> (f64, f64) {
    let mut args = vec!["--num-epochs", "1", "--save-model-path", name];
    args.extend_from_slice(extra);
    lp(dir, &args).ok();
    let s = training_summary(&dir.join(name));
    let e = &s["epochs"][0];
    (
        e["train_loss"].as_f64().unwrap(),
        e["val_score"].as_f64().unwrap(),
    )
}

#[test]
fn lp_keys_change_the_first_loss_or_the_scores() {
    let tmp = setup();
    let dir = tmp.path();
    let (loss, val) = first_epoch(dir, "base", &[]);
    let changes_loss: &[&[&str]] = &[
        &["--train-negative-sampler", "uniform"],
        &["--train-negative-sampler", "inbatch_joint"],
        &["--num-negative-edges", "8"],
        &["--lp-decoder-type", "distmult"],
        &["--lp-loss-func", "bpr"],
        &["--contrastive-loss-temperature", "0.5"],
        &["--lp-embed-normalizer", "l2_norm"],
    ];
    for (i, flags) in changes_loss.iter().enumerate() {
        let (l, _) = first_epoch(dir, &format!("loss-{i}"), flags);
        assert!((l - loss).abs() > 1e-6, "{flags:?} left the loss at {l}");
    }
    // Cross-entropy, its adversarial form, and gamma of a distance-based score function.
    let (ce, _) = first_epoch(dir, "ce", &["--lp-loss-func", "cross_entropy"]);
    let (adv, _) = first_epoch(
        dir,
        "adv",
        &[
            "--lp-loss-func",
            "cross_entropy",
            "--adversarial-temperature",
            "1.0",
        ],
    );
    assert!(
        (ce - loss).abs() > 1e-6 && (adv - ce).abs() > 1e-6,
        "{loss} {ce} {adv}"
    );
    let transe = [
        "--lp-decoder-type",
        "transe_l2",
        "--lp-loss-func",
        "cross_entropy",
    ];
    let (t12, _) = first_epoch(dir, "transe", &transe);
    let mut gamma = transe.to_vec();
    gamma.extend_from_slice(&["--gamma", "4"]);
    let (t4, _) = first_epoch(dir, "transe-gamma", &gamma);
    assert!((t12 - t4).abs() > 1e-6, "gamma left the loss at {t12}");
    let (rotate, _) = first_epoch(dir, "rotate", &["--lp-decoder-type", "rotate"]);
    assert!((rotate - loss).abs() > 1e-6 && (rotate - t12).abs() > 1e-6);

    // Evaluation keys leave the loss and change the validation score.
    let changes_scores: &[&[&str]] = &[
        &["--num-negative-edges-eval", "10"],
        &["--eval-negative-sampler", "uniform"],
        &["--fixed-test-size", "50"],
    ];
    for (i, flags) in changes_scores.iter().enumerate() {
        let (l, v) = first_epoch(dir, &format!("eval-{i}"), flags);
        assert!((l - loss).abs() <= 1e-9, "{flags:?} changed the loss");
        assert!(
            (v - val).abs() > 1e-9,
            "{flags:?} left the validation mrr at {v}"
        );
    }
}

#[test]
fn hard_negatives_replace_random_ones_and_raise_the_loss() {
    let tmp = setup();
    let dir = tmp.path();
    let (loss, val) = first_epoch(dir, "base", &[]);
    // `hard_neg` lists four unrated items of the user's own group per rating: negatives the
    // `group` feature cannot tell from positives, so the first epoch's loss rises.
    let all_hard = [
        "--train-etypes-negative-dstnode",
        "hard_neg",
        "--num-train-hard-negatives",
        "4",
    ];
    let (hard, hard_val) = first_epoch(dir, "hard", &all_hard);
    assert!(hard > loss + 0.2, "hard negatives: loss {hard} vs {loss}");
    // Trained only against in-group negatives, the model prefers out-of-group items, which
    // most random evaluation negatives are: it ranks below chance (H(101)/101 ≈ 0.052).
    assert!(
        hard_val < chance_mrr(101) && val > 2.0 * chance_mrr(101),
        "validation mrr {hard_val} with only hard negatives, {val} without"
    );
    // GraphStorm's per-edge-type form names the same thing.
    let (per_etype, _) = first_epoch(
        dir,
        "per-etype",
        &[
            "--train-etypes-negative-dstnode",
            "user,rates,item:hard_neg",
            "--num-train-hard-negatives",
            "user,rates,item:4",
        ],
    );
    assert_eq!(per_etype, hard);
    // Two hard negatives of four: the other two stay random.
    let (half, _) = first_epoch(
        dir,
        "half",
        &[
            "--train-etypes-negative-dstnode",
            "hard_neg",
            "--num-train-hard-negatives",
            "2",
        ],
    );
    assert!(
        (half - hard).abs() > 1e-6 && (half - loss).abs() > 1e-6,
        "{half}"
    );

    let bad = |extra: &[&str]| lp(dir, extra);
    bad(&["--train-etypes-negative-dstnode", "hard_neg"])
        .fails_with(1, &["num_train_hard_negatives", "hint"]);
    bad(&["--num-train-hard-negatives", "4"])
        .fails_with(1, &["train_etypes_negative_dstnode", "hint"]);
    bad(&[
        "--train-etypes-negative-dstnode",
        "hard",
        "--num-train-hard-negatives",
        "4",
    ])
    .fails_with(1, &["`hard`", "hard_neg", "edge_dst_hard_negative"]);
    bad(&[
        "--train-etypes-negative-dstnode",
        "rating",
        "--num-train-hard-negatives",
        "4",
    ])
    .fails_with(1, &["`rating`", "int64", "hint"]);
    bad(&[
        "--train-etypes-negative-dstnode",
        "hard_neg",
        "--num-train-hard-negatives",
        "many",
    ])
    .fails_with(1, &["num_train_hard_negatives", "`many`", "hint"]);
}

#[test]
fn lp_edge_weight_for_loss_weighs_positive_edges() {
    let tmp = setup();
    let dir = tmp.path();
    // `rating` (about 3) weighs each positive's cross-entropy term.
    let ce = ["--lp-loss-func", "cross_entropy"];
    let with =
        |extra: &[&str]| -> Vec<String> { ce.iter().chain(extra).map(|s| s.to_string()).collect() };
    let run = |name: &str, args: &[String]| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        first_epoch(dir, name, &args).0
    };
    let plain = run("plain", &with(&[]));
    let weighted = run("weighted", &with(&["--lp-edge-weight-for-loss", "rating"]));
    assert!(weighted > plain + 0.1, "weighted {weighted} vs {plain}");
    let per_etype = run(
        "per-etype",
        &with(&["--lp-edge-weight-for-loss", "user,rates,item:rating"]),
    );
    assert_eq!(per_etype, weighted);
    let bpr = run("bpr", &["--lp-loss-func".into(), "bpr".into()]);
    let bpr_weighted = run(
        "bpr-weighted",
        &[
            "--lp-loss-func".into(),
            "bpr".into(),
            "--lp-edge-weight-for-loss".into(),
            "rating".into(),
        ],
    );
    assert!(bpr_weighted > bpr + 0.1, "bpr {bpr_weighted} vs {bpr}");
    // GraphStorm ignores the key with the contrastive loss and warns; so does gs.
    let (contrastive, _) = first_epoch(dir, "contrastive", &[]);
    let run = lp(
        dir,
        &[
            "--num-epochs",
            "1",
            "--save-model-path",
            "contrastive-weighted",
            "--lp-edge-weight-for-loss",
            "rating",
        ],
    )
    .ok();
    assert!(
        run.stderr.contains("lp_edge_weight_for_loss") && run.stderr.contains("ignored"),
        "{}",
        run.stderr
    );
    let ignored = training_summary(&dir.join("contrastive-weighted"))["epochs"][0]["train_loss"]
        .as_f64()
        .unwrap();
    assert_eq!(ignored, contrastive);

    let bad = |extra: &[&str]| {
        let mut args = ce.to_vec();
        args.extend_from_slice(extra);
        lp(dir, &args)
    };
    bad(&["--lp-edge-weight-for-loss", "label"]).fails_with(
        1,
        &["lp_edge_weight_for_loss", "`label`", "float32", "hint"],
    );
    bad(&["--lp-edge-weight-for-loss", "weight"])
        .fails_with(1, &["lp_edge_weight_for_loss", "`weight`", "hint"]);
    bad(&["--lp-edge-weight-for-loss", "user,rates,item:weight"])
        .fails_with(1, &["`weight`", "user:rates:item", "hint"]);
}

#[test]
fn link_prediction_restored_with_its_optimizer_continues_exactly() {
    let tmp = setup();
    let dir = tmp.path();
    lp(dir, &["--save-model-path", "full"]).ok();
    lp(
        dir,
        &[
            "--save-model-path",
            "resumed",
            "--restore-model-path",
            "full/epoch-1",
            "--restore-optimizer-path",
            "full/epoch-1",
        ],
    )
    .ok();
    let losses = |model: &str| epoch_losses(&dir.join(model));
    let (a, b) = (losses("full"), losses("resumed"));
    assert_eq!((a.len(), b.len()), (3, 1));
    assert!(
        (a[2] - b[0]).abs() <= 1e-6 * a[2].abs(),
        "{} vs {}",
        a[2],
        b[0]
    );
    let names = assert_same_weights(
        &dir.join("full/epoch-2"),
        &dir.join("resumed/epoch-2"),
        1e-6,
    );
    assert!(!names.is_empty());
}

#[test]
fn bad_link_prediction_input_is_refused_naming_key_value_and_fix() {
    let tmp = setup();
    let dir = tmp.path();
    let bad = |extra: &[&str]| lp(dir, extra);
    bad(&["--eval-etype", "user,likes,item"]).fails_with(
        1,
        &["eval_etype", "user,likes,item", "user,rates,item", "hint"],
    );
    // An edge type without a split trains on all its edges, as in GraphStorm, with a warning.
    let unsplit = lp(dir, &["--train-etype", "item,rated-by,user"]).ok();
    assert!(
        unsplit
            .stderr
            .contains("every edge of `item:rated-by:user`"),
        "{}",
        unsplit.stderr
    );
    bad(&["--lp-decoder-type", "fancy"]).fails_with(2, &["--lp-decoder-type", "distmult"]);
    bad(&["--train-negative-sampler", "fancy"])
        .fails_with(2, &["--train-negative-sampler", "uniform"]);
    bad(&["--eval-negative-sampler", "fancy"])
        .fails_with(2, &["--eval-negative-sampler", "full_filtered"]);
    bad(&["--lp-loss-func", "hinge"]).fails_with(2, &["--lp-loss-func", "bpr"]);
    bad(&["--adversarial-temperature", "1.0"])
        .fails_with(1, &["adversarial_temperature", "contrastive", "hint"]);
    bad(&["--report-eval-per-type", "true"]).fails_with(1, &["report_eval_per_type", "hint"]);
    bad(&["--lp-decoder-type", "rotate", "--hidden-size", "31"])
        .fails_with(1, &["rotate", "even embedding size", "hint"]);
    bad(&["--fanout", "10,10"]).fails_with(2, &["--fanout", "num_layers is 1"]);
    run_gs(
        dir,
        &[
            "edge-regression",
            "--cf",
            "lp.yaml",
            "--part-config",
            "data/user-item.json",
            "--num-trainers",
            "1",
        ],
    )
    .fails_with(1, &["link_prediction", "gs edge-regression", "hint"]);
    lp(dir, &["--num-epochs", "1", "--save-model-path", "model"]).ok();
    bad(&[
        "--inference",
        "--restore-model-path",
        "model/epoch-0",
        "--save-prediction-path",
        "pred",
    ])
    .fails_with(1, &["--save-prediction-path", "--save-embed-path"]);
}
