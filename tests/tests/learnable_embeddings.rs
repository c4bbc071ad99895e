//! Learnable node embeddings through the real `gs` binary, on a generated user–item graph
//! (`gs generate user-item`): node types without features, and every node type with
//! `use_node_embeddings`, get host-owned tables that the sparse optimizer trains at
//! `sparse_optimizer_lr`, that checkpoints save and restore (with their optimizer state), and
//! that inference and `gen-node-embedding` read.
//!
//! The accuracy test uses the `mlp` encoder (no message passing) with users left featureless,
//! so a user's embedding is its learnable row and nothing else: trained, it ranks the user's
//! items far above chance; frozen (`sparse_optimizer_lr` 1e-12), it stays at chance.

use std::path::Path;

use gs_tests::runs::{
    assert_same_weights, chance_mrr, epoch_losses, printed_test_score, training_summary,
    user_item_folder,
};
use gs_tests::{GsRun, run_gs};

/// Link prediction on `user,rates,item`; users have no features.
const MLP_YAML: &str = "version: 1.0
gsf:
  basic:
    model_encoder_type: mlp
  gnn:
    num_layers: 0
    hidden_size: 32
  input:
    node_feat_name:
      - \"item:group\"
  hyperparam:
    lr: 0.01
    num_epochs: 10
    batch_size: 256
  link_prediction:
    train_etype:
      - \"user,rates,item\"
    reverse_edge_types_map:
      - \"user,rates,rated-by,item\"
    exclude_training_targets: true
    lp_decoder_type: dot_product
    lp_loss_func: contrastive
    num_negative_edges: 4
    eval_negative_sampler: joint
    num_negative_edges_eval: 100
    eval_metric:
      - mrr
";

fn setup() -> tempfile::TempDir {
    user_item_folder(&[("mlp.yaml", MLP_YAML)])
}

fn lp(dir: &Path, extra: &[&str]) -> GsRun {
    let mut args = vec![
        "link-prediction",
        "--cf",
        "mlp.yaml",
        "--part-config",
        "data/user-item.json",
        "--num-trainers",
        "1",
    ];
    args.extend_from_slice(extra);
    run_gs(dir, &args)
}

fn best(model: &Path) -> (String, f64) {
    let s = training_summary(model);
    (
        s["best_checkpoint"].as_str().unwrap().to_string(),
        s["test_score"].as_f64().unwrap(),
    )
}

#[test]
fn featureless_users_learn_embeddings_that_rank_their_items() {
    let tmp = setup();
    let dir = tmp.path();
    let chance = chance_mrr(101);
    lp(dir, &["--save-model-path", "model"]).ok();
    let (checkpoint, mrr) = best(&dir.join("model"));
    assert!(
        mrr > 2.0 * chance,
        "learned: test mrr {mrr} vs chance {chance}"
    );
    lp(
        dir,
        &[
            "--sparse-optimizer-lr",
            "1e-12",
            "--save-model-path",
            "frozen",
        ],
    )
    .ok();
    let (_, frozen) = best(&dir.join("frozen"));
    assert!(
        frozen < 1.4 * chance,
        "frozen embeddings: test mrr {frozen}"
    );

    // Only the featureless type has a table, `hidden_size` wide, and the input projection
    // reads it.
    let shapes = gs_tests::graphstorm::weight_shapes(dir, &format!("model/{checkpoint}"));
    assert_eq!(shapes["sparse_embed/user"], [400, 32], "{shapes:?}");
    assert!(!shapes.contains_key("sparse_embed/item"), "{shapes:?}");

    // Inference restores the tables: it reproduces the test score and embeds every user.
    let run = lp(
        dir,
        &[
            "--inference",
            "--restore-model-path",
            &format!("model/{checkpoint}"),
            "--save-embed-path",
            "emb",
        ],
    )
    .ok();
    let printed = printed_test_score(&run, "mrr");
    assert!((printed - mrr).abs() < 1e-4, "{printed} vs {mrr}");
    let (ids, rows) = gs_output::read_node_embeddings(&dir.join("emb"), "user").unwrap();
    assert_eq!((ids.len(), rows[0].len()), (400, 32));

    // gen-node-embedding reads the same tables: with no message passing, its user
    // embeddings are inference's.
    run_gs(
        dir,
        &[
            "gen-node-embedding",
            "--cf",
            "mlp.yaml",
            "--part-config",
            "data/user-item.json",
            "--num-trainers",
            "1",
            "--restore-model-path",
            &format!("model/{checkpoint}"),
            "--save-embed-path",
            "gen",
        ],
    )
    .ok();
    let (gen_ids, gen_rows) = gs_output::read_node_embeddings(&dir.join("gen"), "user").unwrap();
    assert_eq!(gen_ids, ids);
    let diff = rows
        .iter()
        .flatten()
        .zip(gen_rows.iter().flatten())
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(diff < 1e-5, "gen-node-embedding differs by {diff}");
}

#[test]
fn learnable_embeddings_resume_exactly_with_their_optimizer_state() {
    let tmp = setup();
    let dir = tmp.path();
    lp(dir, &["--num-epochs", "3", "--save-model-path", "full"]).ok();
    lp(
        dir,
        &[
            "--num-epochs",
            "3",
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
    assert!(names.iter().any(|n| n == "sparse_embed/user"));
}

#[test]
fn use_node_embeddings_widens_every_input_and_changes_training() {
    let tmp = setup();
    let dir = tmp.path();
    // Every type has features here; `use_node_embeddings` appends a table to each.
    let both = [
        "--node-feat-name",
        "user:group",
        "item:group",
        "--num-epochs",
        "1",
    ];
    let first_loss = |name: &str, extra: &[&str]| -> f64 {
        let mut args = both.to_vec();
        args.extend_from_slice(&["--save-model-path", name]);
        args.extend_from_slice(extra);
        lp(dir, &args).ok();
        training_summary(&dir.join(name))["epochs"][0]["train_loss"]
            .as_f64()
            .unwrap()
    };
    let plain = first_loss("plain", &[]);
    let with = first_loss("with", &["--use-node-embeddings", "true"]);
    assert!((plain - with).abs() > 1e-6, "{plain} vs {with}");
    let shapes = gs_tests::graphstorm::weight_shapes(dir, "with/epoch-0");
    assert_eq!(shapes["sparse_embed/user"], [400, 32], "{shapes:?}");
    assert_eq!(shapes["sparse_embed/item"], [300, 32], "{shapes:?}");
    let plain_shapes = gs_tests::graphstorm::weight_shapes(dir, "plain/epoch-0");
    assert!(!plain_shapes.keys().any(|k| k.starts_with("sparse_embed/")));
    // The input projection reads the 8 group columns and then the 32-wide embedding.
    let projection = |shapes: &std::collections::BTreeMap<String, Vec<i64>>| {
        shapes
            .iter()
            .find(|(k, _)| k.contains("input_projs") && k.ends_with("user"))
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("no user input projection in {shapes:?}"))
    };
    assert_eq!(projection(&plain_shapes), [8, 32]);
    assert_eq!(projection(&shapes), [40, 32]);

    // A model trained without the tables does not silently get fresh ones at inference.
    let mut args = both.to_vec();
    args.extend_from_slice(&[
        "--use-node-embeddings",
        "true",
        "--inference",
        "--restore-model-path",
        "plain/epoch-0",
    ]);
    lp(dir, &args).fails_with(1, &["sparse_embed/item", "use_node_embeddings", "hint"]);
}

#[test]
fn the_learnable_embed_encoder_embeds_every_node_by_its_table_only() {
    let tmp = setup();
    let dir = tmp.path();
    // GraphStorm's `model_encoder_type: learnable_embed`: the item features of the YAML are
    // loaded by GraphStorm and ignored, so gs warns and reads none.
    // Both sides learn from co-occurrence only, so they take a larger sparse learning rate.
    let encoder = [
        "--model-encoder-type",
        "learnable_embed",
        "--lp-decoder-type",
        "distmult",
        "--sparse-optimizer-lr",
        "0.1",
    ];
    let run = lp(
        dir,
        &[&encoder[..], &["--save-model-path", "model"]].concat(),
    )
    .ok();
    assert!(
        run.stderr.contains("`node_feat_name` in `mlp.yaml`")
            && run
                .stderr
                .contains("is ignored: `model_encoder_type: learnable_embed`"),
        "{}",
        run.stderr
    );
    let (checkpoint, mrr) = best(&dir.join("model"));
    let chance = chance_mrr(101);
    assert!(mrr > 2.0 * chance, "test mrr {mrr} vs chance {chance}");
    let frozen = [
        "--sparse-optimizer-lr",
        "1e-12",
        "--save-model-path",
        "frozen",
    ];
    lp(dir, &[&encoder[..], &frozen].concat()).ok();
    let (_, frozen) = best(&dir.join("frozen"));
    assert!(frozen < 1.4 * chance, "frozen tables: test mrr {frozen}");
    // Every node type has a `hidden_size` table, and the encoder has no weight of its own:
    // no input projection reads features. The DistMult relations are the decoder's.
    let shapes = gs_tests::graphstorm::weight_shapes(dir, &format!("model/{checkpoint}"));
    let weights: Vec<&str> = shapes.keys().map(String::as_str).collect();
    let expected = [
        "decoder/decoder._w_relation.weight",
        "sparse_embed/item",
        "sparse_embed/user",
    ];
    assert_eq!(weights, expected, "{shapes:?}");
    assert_eq!(shapes["sparse_embed/user"], [400, 32]);

    // GraphStorm asserts "No GNN layers" for input-only encoders; gs names the key.
    lp(
        dir,
        &[&encoder[..], &["--num-layers", "1", "--fanout", "5"]].concat(),
    )
    .fails_with(1, &["`num_layers` is 1", "learnable_embed"]);
}
