//! The built-in `gat` and `gatv2` plugins (GraphStorm's `GATEncoder` and `GATv2Encoder`):
//! proven against the real GraphStorm 0.5.1 on its homogeneous copy of dgl-tiny's papers
//! (`tests/fixtures/graphstorm-models/nc-gat`, `nc-gatv2`, graph `graphstorm-homo`), trained
//! by `gs` from `model_encoder_type` on the heterogeneous demo graph, their checkpoints holding
//! GraphStorm's key names and shapes, and `num_heads` acting through the real binary.
//! `tests/tests/encoder_reference.rs` checks them against a tch reference on a sampled batch.

use gs_tests::graphstorm::{self, test_score, weight_shapes};
use gs_tests::{assert_encoder_trains_the_demo_graph, small_demo_graph, train_encoder_on_demo};

/// GraphStorm's trained GAT and GATv2 (2 heads) loaded by name give GraphStorm's embeddings
/// of all 30 papers and its predictions within 1e-5, and its test accuracy (1 of 6). The
/// homogeneous graph's `_E` holds the citations and their reverses (GraphStorm's gconstruct
/// puts reverse edges into the same type on a homogeneous graph), and GraphStorm's layers add
/// no self-loop.
#[test]
fn graphstorm_weights_in_the_gat_plugins_give_graphstorm_embeddings_and_predictions() {
    for (case, plugin) in [("nc-gat", "gat"), ("nc-gatv2", "gatv2")] {
        let mut gm = graphstorm::graphstorm_model(case, plugin);
        assert!(gm.custom_args.contains(&("num_heads".into(), "2".into())));
        let accuracy = gm.assert_agrees_with_graphstorm(case);
        assert!((accuracy - 1.0 / 6.0).abs() < 1e-9, "{case}: {accuracy}");
    }
}

#[test]
fn model_encoder_type_gat_trains_the_demo_graph() {
    assert_encoder_trains_the_demo_graph("gat", &[], 20, 0.65);
}

#[test]
fn model_encoder_type_gatv2_trains_the_demo_graph() {
    assert_encoder_trains_the_demo_graph("gatv2", &[], 20, 0.65);
}

#[test]
fn checkpoints_hold_graphstorm_keys_and_num_heads_splits_the_hidden_size() {
    let tmp = small_demo_graph();
    let dir = tmp.path();
    for (encoder, heads) in [("gat", "4"), ("gat", "2"), ("gatv2", "2")] {
        let model = format!("{encoder}-{heads}");
        let args = [
            "--num-epochs",
            "1",
            "--num-heads",
            heads,
            "--save-model-path",
            &model,
        ];
        train_encoder_on_demo(dir, encoder, &args).ok();
    }
    let gat4 = weight_shapes(dir, "gat-4/epoch-0");
    let gat2 = weight_shapes(dir, "gat-2/epoch-0");
    let gatv2 = weight_shapes(dir, "gatv2-2/epoch-0");
    // GATEncoder's `_layers` of GraphStorm's GATConv wrapping DGL's as `conv`:
    // `fc` is `[heads * f, in]`, the attention vectors `[1, heads, f]`, the bias `[hidden]`.
    let layer = |l: u32, name: &str| format!("gnn/gnn._layers.{l}.conv.{name}");
    assert_eq!(gat4[&layer(0, "attn_l")], [1, 4, 4], "{:?}", gat4.keys());
    assert_eq!(gat2[&layer(0, "attn_l")], [1, 2, 8]);
    assert_eq!(gat2[&layer(1, "attn_r")], [1, 2, 8]);
    assert_eq!(gat2[&layer(1, "fc.weight")], [16, 16]);
    assert_eq!(gat2[&layer(1, "bias")], [16]);
    assert_eq!(gat2["gnn/node_embed.input_projs.paper"].len(), 2);
    // GATv2Conv: separate source and destination projections with biases, one `attn`, no
    // output bias.
    for name in ["fc_src.weight", "fc_dst.weight"] {
        assert_eq!(gatv2[&layer(0, name)], [16, 16]);
    }
    assert_eq!(gatv2[&layer(0, "fc_dst.bias")], [16]);
    assert_eq!(gatv2[&layer(1, "attn")], [1, 2, 8]);
    assert!(!gatv2.contains_key(&layer(1, "bias")), "{:?}", gatv2.keys());
    assert_ne!(
        test_score(dir, "gat-4"),
        test_score(dir, "gat-2"),
        "num_heads changes the result"
    );

    // A head count that does not divide the hidden size is refused by name.
    train_encoder_on_demo(dir, "gatv2", &["--num-heads", "3"])
        .fails_with(1, &["`num_heads` is 3", "gatv2", "hidden size 16"]);
}
