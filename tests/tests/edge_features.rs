//! Edge features in message passing (`edge_feat_name`, `edge_feat_mp_op`) through the real
//! `gs` binary and the built-in `rgcn` plugin, on the generated user–item graph whose edge
//! regression label `quality` (an item's hidden quality) is visible only in the edge feature
//! `review` of the item's other ratings (`gs generate user-item`): rgcn with the edge feature
//! beats rgcn without it by far, `--inference` from the checkpoint reproduces the test score,
//! every message operation trains with GraphStorm's weight names and shapes and gives its own
//! result, and a plugin that reads no edge features has them refused by name. The edge
//! decoder `MLPEFeatEdgeDecoder` (`decoder_edge_feat`) learns from the target edge's own review
//! when no message passes over the ratings, and is the only decoder that takes edge features.

use std::path::Path;

use gs_tests::runs::{best_test_score, printed_test_score, user_item_edge_yaml, user_item_folder};
use gs_tests::{GsRun, run_gs};

/// Edge regression of `quality` on `user,rates,item` with rgcn; the rating edges (and their
/// reverses) carry messages, minus each batch's own targets.
fn yaml() -> String {
    user_item_edge_yaml(
        "edge_regression",
        "quality",
        4,
        "    remove_target_edge_type: false\n",
    )
}

/// The test RMSE `--inference` prints from checkpoint `restored`, whose saved config brings
/// the edge-feature keys back.
fn inference_rmse(dir: &Path, restored: &str) -> f64 {
    let args = [
        "edge-regression",
        "--inference",
        "--cf",
        "task.yaml",
        "--part-config",
        "data/user-item.json",
        "--num-trainers",
        "1",
        "--restore-model-path",
        restored,
    ];
    printed_test_score(&run_gs(dir, &args).ok(), "rmse")
}

fn train(dir: &Path, model: &str, extra: &[&str]) -> GsRun {
    let mut args = vec![
        "edge-regression",
        "--cf",
        "task.yaml",
        "--part-config",
        "data/user-item.json",
        "--num-trainers",
        "1",
        "--save-model-path",
        model,
    ];
    args.extend_from_slice(extra);
    run_gs(dir, &args)
}

#[test]
fn rgcn_learns_from_a_signal_only_in_edge_features() {
    let dir = user_item_folder(&[("task.yaml", &yaml())]);
    train(dir.path(), "plain", &[]).ok();
    train(dir.path(), "efeat", &["--edge-feat-name", "review"]).ok();
    let plain = best_test_score(&dir.path().join("plain"));
    let with_edges = best_test_score(&dir.path().join("efeat"));
    // `quality` is N(0, 1) and independent of every node feature: without the reviews a model
    // predicts about its mean; with them, the mean review of an item's other ratings.
    assert!(plain > 0.85, "rmse without edge features {plain}");
    assert!(
        with_edges < 0.6 && with_edges < plain - 0.35,
        "rmse with edge features {with_edges}, without {plain}"
    );

    // The checkpoint's saved config brings `edge_feat_name` back at inference.
    let summary = gs_tests::runs::training_summary(&dir.path().join("efeat"));
    let best = summary["best_epoch"].as_u64().unwrap();
    let restored = format!("efeat/epoch-{best}");
    let score = inference_rmse(dir.path(), &restored);
    assert!(
        (score - with_edges).abs() < 1e-3,
        "inference rmse {score}, training's test rmse {with_edges}"
    );
}

/// RGAT (`GATConvwithEdgeFeat`) and HGT (`HGTLayerwithEdgeFeat`) read the same edge features
/// as rgcn (with `concat` and `add` here), and learn the signal only the reviews carry.
#[test]
fn rgat_and_hgt_learn_from_a_signal_only_in_edge_features() {
    let dir = user_item_folder(&[("task.yaml", &yaml())]);
    for encoder in ["rgat", "hgt"] {
        let base = ["--model-encoder-type", encoder, "--num-heads", "2"];
        let plain_dir = format!("{encoder}-plain");
        train(dir.path(), &plain_dir, &base).ok();
        let plain = best_test_score(&dir.path().join(&plain_dir));
        for op in ["concat", "add"] {
            let model = format!("{encoder}-{op}");
            let efeat = ["--edge-feat-name", "review", "--edge-feat-mp-op", op];
            train(dir.path(), &model, &[&base[..], &efeat[..]].concat()).ok();
            let with_edges = best_test_score(&dir.path().join(&model));
            assert!(
                with_edges < 0.6 && with_edges < plain - 0.3,
                "{encoder} ({op}): rmse with edge features {with_edges}, without {plain}"
            );
        }
    }
}

/// SAGE, GAT and GATv2 (GraphStorm's `SAGEConvWithEdgeFeat`, `EdgeGATConv`,
/// `GATv2ConvWithEdgeFeat`; they take no `edge_feat_mp_op`) learn the signal too, with the
/// review on both edge types; selecting it on one edge type only is refused naming the other,
/// and so is an `edge_feat_mp_op` they do not read.
#[test]
fn sage_gat_and_gatv2_learn_from_edge_features_on_every_edge_type() {
    let dir = user_item_folder(&[("task.yaml", &yaml())]);
    for (encoder, heads) in [
        ("sage", &[][..]),
        ("gat", &["--num-heads", "2"]),
        ("gatv2", &[]),
    ] {
        let base = [&["--model-encoder-type", encoder][..], heads].concat();
        let plain_dir = format!("{encoder}-plain");
        train(dir.path(), &plain_dir, &base).ok();
        let plain = best_test_score(&dir.path().join(&plain_dir));
        let model = format!("{encoder}-efeat");
        train(
            dir.path(),
            &model,
            &[&base[..], &["--edge-feat-name", "review"]].concat(),
        )
        .ok();
        let with_edges = best_test_score(&dir.path().join(&model));
        assert!(
            with_edges < 0.6 && with_edges < plain - 0.3,
            "{encoder}: rmse with edge features {with_edges}, without {plain}"
        );
        let one_type = ["--edge-feat-name", "user,rates,item:review"];
        train(dir.path(), "m", &[&base[..], &one_type[..]].concat())
            .fails_with(1, &["`item:rated-by:user`", "every edge type"]);
    }
    let mp_op = ["--edge-feat-name", "review", "--edge-feat-mp-op", "add"];
    train(
        dir.path(),
        "m",
        &[&["--model-encoder-type", "sage"][..], &mp_op[..]].concat(),
    )
    .fails_with(1, &["`edge_feat_mp_op`", "plugin `sage`"]);
}

#[test]
fn every_edge_feature_message_op_trains_and_changes_the_result() {
    let dir = user_item_folder(&[("task.yaml", &yaml())]);
    let mut scores: Vec<(&str, f64)> = Vec::new();
    for op in ["concat", "add", "sub", "mul", "div"] {
        let model = format!("m-{op}");
        // The per-edge-type form, one entry per edge type.
        train(
            dir.path(),
            &model,
            &[
                "--num-epochs",
                "3",
                "--edge-feat-name",
                "user,rates,item:review",
                "item,rated-by,user:review",
                "--edge-feat-mp-op",
                op,
            ],
        )
        .ok();
        let ckpt = gs_train::checkpoint::load(&dir.path().join(&model).join("epoch-2")).unwrap();
        let shape = |name: &str| -> Vec<i64> {
            ckpt.weights
                .iter()
                .find(|(n, _)| n == name)
                .unwrap_or_else(|| {
                    let names: Vec<&String> = ckpt.weights.iter().map(|(n, _)| n).collect();
                    panic!("no weight `{name}` in {names:?}")
                })
                .1
                .size()
        };
        // GraphStorm's GraphConvwithEdgeFeat: `[2 · in, out]` for concat, else `[in, out]`;
        // GSEdgeEncoderInputLayer: `[edge-feature width, hidden]`.
        let rows = if op == "concat" { 32 } else { 16 };
        for etype in ["('user', 'rates', 'item')", "('item', 'rated-by', 'user')"] {
            assert_eq!(
                shape(&format!("gnn/gnn._layers.0.conv.mods.{etype}.weights")),
                [rows, 16],
                "{op}"
            );
            assert_eq!(
                shape(&format!("gnn/edge_embed.input_projs.{etype}")),
                [1, 16]
            );
        }
        scores.push((op, best_test_score(&dir.path().join(&model))));
    }
    for (i, (a, x)) in scores.iter().enumerate() {
        for (b, y) in &scores[i + 1..] {
            assert!(
                (x - y).abs() > 1e-4,
                "{a} and {b} both give {x}: {scores:?}"
            );
        }
    }
    // concat and add learn the reviews within three epochs (an rmse of about 1 is chance).
    for (op, score) in &scores[..2] {
        assert!(*score < 0.75, "{op}: rmse {score}");
    }
}

#[test]
fn edge_features_are_refused_for_plugins_that_do_not_read_them_and_bad_names_are_named() {
    let dir = user_item_folder(&[("task.yaml", &yaml())]);
    for plugin in ["mlp"] {
        train(
            dir.path(),
            "m",
            &["--plugin", plugin, "--edge-feat-name", "review"],
        )
        .fails_with(
            1,
            &[
                "`edge_feat_name`",
                &format!("plugin `{plugin}`"),
                "model_encoder_type: rgcn",
            ],
        );
    }
    train(
        dir.path(),
        "m",
        &["--plugin", "sage", "--edge-feat-mp-op", "mul"],
    )
    .fails_with(1, &["`edge_feat_mp_op`", "plugin `sage`"]);
    train(
        dir.path(),
        "m",
        &["--edge-feat-name", "user,rates,item:stars"],
    )
    .fails_with(
        1,
        &[
            "`edge_feat_name`",
            "`stars`",
            "`user,rates,item`",
            "\"review\"",
        ],
    );
    // The one-name form needs the feature on every edge type, as in GraphStorm.
    train(dir.path(), "m", &["--edge-feat-name", "rating"])
        .fails_with(1, &["`edge_feat_name`", "`rating`", "`item,rated-by,user`"]);
    train(
        dir.path(),
        "m",
        &["--edge-feat-name", "user,likes,item:review"],
    )
    .fails_with(1, &["`edge_feat_name`", "user,likes,item", "hint"]);
    train(dir.path(), "m", &["--edge-feat-mp-op", "max"]).fails_with(
        2,
        &["edge-feat-mp-op", "`max`", "concat, add, sub, mul, div"],
    );
}

/// Edge regression of `quality` without message passing over the ratings (GraphStorm's default
/// `remove_target_edge_type`): only the decoder can read a review, the target edge's own.
fn decoder_yaml() -> String {
    yaml().replace("    remove_target_edge_type: false\n", "")
}

#[test]
fn the_edge_feature_decoder_learns_from_the_target_edges_own_feature() {
    let dir = user_item_folder(&[("task.yaml", &decoder_yaml())]);
    train(dir.path(), "mlp", &["--decoder-type", "MLPDecoder"]).ok();
    train(
        dir.path(),
        "efeat",
        &[
            "--decoder-type",
            "MLPEFeatEdgeDecoder",
            "--decoder-edge-feat",
            "user,rates,item:review",
        ],
    )
    .ok();
    let plain = best_test_score(&dir.path().join("mlp"));
    let with_edge = best_test_score(&dir.path().join("efeat"));
    // A review is the quality plus noise of deviation 0.3; node features say nothing of it.
    assert!(plain > 0.85, "rmse of MLPDecoder {plain}");
    assert!(
        with_edge < 0.5 && with_edge < plain - 0.4,
        "rmse of MLPEFeatEdgeDecoder {with_edge}, of MLPDecoder {plain}"
    );
    let summary = gs_tests::runs::training_summary(&dir.path().join("efeat"));
    let best = format!("efeat/epoch-{}", summary["best_epoch"].as_u64().unwrap());
    let ckpt = gs_train::checkpoint::load(&dir.path().join(&best)).unwrap();
    let shapes: Vec<(String, Vec<i64>)> = ckpt
        .weights
        .iter()
        .filter(|(n, _)| n.starts_with("decoder/"))
        .map(|(n, t)| (n.clone(), t.size()))
        .collect();
    // GraphStorm's MLPEFeatEdgeDecoder for regression (hidden 16, one feature column).
    for (name, shape) in [
        ("decoder/decoder.nn_decoder", vec![32, 16]),
        ("decoder/decoder.feat_decoder", vec![1, 16]),
        ("decoder/decoder.combine_decoder", vec![32, 16]),
        ("decoder/decoder.decoder", vec![16, 16]),
        ("decoder/decoder.bias", vec![16]),
        ("decoder/decoder.regression_head.weight", vec![16, 1]),
    ] {
        assert!(
            shapes.iter().any(|(n, s)| n == name && *s == shape),
            "{name} {shape:?} not in {shapes:?}"
        );
    }
    // `--inference` from the checkpoint (its saved config brings decoder_edge_feat back).
    let score = inference_rmse(dir.path(), &best);
    assert!(
        (score - with_edge).abs() < 1e-3,
        "inference rmse {score}, training's test rmse {with_edge}"
    );
}

#[test]
fn decoder_edge_feat_is_refused_outside_the_edge_feature_decoder_by_name() {
    let dir = user_item_folder(&[("task.yaml", &decoder_yaml())]);
    for decoder in ["DenseBiDecoder", "MLPDecoder"] {
        train(
            dir.path(),
            "m",
            &["--decoder-type", decoder, "--decoder-edge-feat", "review"],
        )
        .fails_with(
            1,
            &[
                "`decoder_edge_feat`",
                decoder,
                "MLPEFeatEdgeDecoder",
                "hint",
            ],
        );
    }
    let efeat = ["--decoder-type", "MLPEFeatEdgeDecoder"];
    train(dir.path(), "m", &efeat).fails_with(
        1,
        &[
            "MLPEFeatEdgeDecoder",
            "`decoder_edge_feat` is unset",
            "user,rates,item",
        ],
    );
    let with = |value: &str| [efeat[0], efeat[1], "--decoder-edge-feat", value].map(String::from);
    let run = |args: [String; 4]| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        train(dir.path(), "m", &args)
    };
    run(with("stars")).fails_with(
        1,
        &[
            "`decoder_edge_feat`",
            "`stars`",
            "`user,rates,item`",
            "\"review\"",
        ],
    );
    run(with("item,rated-by,user:review")).fails_with(
        1,
        &[
            "`decoder_edge_feat`",
            "another edge type",
            "user,rates,item",
        ],
    );
}
