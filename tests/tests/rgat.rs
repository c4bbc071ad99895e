//! The built-in `rgat` plugin: GraphStorm's RGAT, proven against the real GraphStorm 0.5.1
//! (`tests/fixtures/graphstorm-models/nc-rgat`), trained by `gs` from `model_encoder_type:
//! rgat`, and the GraphStorm keys it reads (`num_heads`, `use_self_loop`) acting through the
//! real binary.

use std::path::Path;

use gs_tests::graphstorm::{self, test_score, weight_shapes};
use gs_tests::{assert_encoder_trains_the_demo_graph, small_demo_graph, train_encoder_on_demo};

#[test]
fn graphstorm_weights_in_the_rgat_plugin_give_graphstorm_embeddings_and_predictions() {
    let mut gm = graphstorm::graphstorm_model("nc-rgat", "rgat");
    assert!(gm.custom_args.contains(&("num_heads".into(), "2".into())));
    assert!(
        gm.custom_args
            .contains(&("use_self_loop".into(), "true".into()))
    );

    // Full-neighbourhood forward over every node of every type (GraphStorm's
    // gen_node_embedding uses all edges), attention included.
    let accuracy = gm.assert_agrees_with_graphstorm("nc-rgat");
    // GraphStorm's own test accuracy with this model (its README's table) is 0.5.
    assert_eq!(accuracy, 0.5);
}

/// `gs node-classification` with `model_encoder_type: rgat` on the small demo graph in
/// `dir` ([`train_encoder_on_demo`]); stdout and stderr.
fn train_rgat(dir: &Path, extra: &[&str]) -> (String, String) {
    let run = train_encoder_on_demo(dir, "rgat", extra).ok();
    (run.stdout, run.stderr)
}

#[test]
fn model_encoder_type_rgat_trains_the_demo_graph() {
    // 20 epochs: rgat's attention needs more than rgcn's 10 on this 200-paper graph.
    assert_encoder_trains_the_demo_graph("rgat", &[], 20, 0.65);
}

#[test]
fn num_heads_changes_the_weights_and_the_result() {
    let tmp = small_demo_graph();
    let dir = tmp.path();
    let common = ["--num-epochs", "1"];
    train_rgat(dir, &[&common[..], &["--save-model-path", "four"]].concat());
    train_rgat(
        dir,
        &[
            &common[..],
            &["--num-heads", "2", "--save-model-path", "two"],
        ]
        .concat(),
    );
    let (four, two) = (
        weight_shapes(dir, "four/epoch-0"),
        weight_shapes(dir, "two/epoch-0"),
    );
    let attn = "gnn/gnn._layers.0.conv.mods.('paper', 'cites', 'paper').attn_l";
    // GraphStorm's default is 4 heads of 16 / 4 features; `--num-heads 2` gives 2 of 8.
    assert_eq!(four[attn], vec![1, 4, 4], "{:?}", four.keys());
    assert_eq!(two[attn], vec![1, 2, 8]);
    let (s_four, s_two) = (test_score(dir, "four"), test_score(dir, "two"));
    assert_ne!(s_four, s_two, "num_heads changes the result");

    // A head count that does not divide the hidden size is refused by name.
    train_encoder_on_demo(dir, "rgat", &["--num-heads", "3"])
        .fails_with(1, &["`num_heads` is 3", "hidden size 16"]);
    // rgcn reads no heads: a non-default value is refused, naming the key and the plugin.
    train_encoder_on_demo(dir, "rgcn", &["--num-heads", "2"])
        .fails_with(1, &["`num_heads`", "plugin `rgcn`"]);
}

#[test]
fn use_self_loop_false_removes_the_loop_weight() {
    let tmp = small_demo_graph();
    let dir = tmp.path();
    train_rgat(dir, &["--num-epochs", "1", "--save-model-path", "with"]);
    train_rgat(
        dir,
        &[
            "--num-epochs",
            "1",
            "--use-self-loop",
            "false",
            "--save-model-path",
            "without",
        ],
    );
    let (with, without) = (
        weight_shapes(dir, "with/epoch-0"),
        weight_shapes(dir, "without/epoch-0"),
    );
    assert_eq!(with["gnn/gnn._layers.1.loop_weight"], vec![16, 16]);
    assert!(
        without.keys().all(|k| !k.contains("loop_weight")),
        "{:?}",
        without.keys()
    );
}
