//! The built-in `hgt` plugin: GraphStorm's HGT, proven against the real GraphStorm 0.5.1
//! (`tests/fixtures/graphstorm-models/nc-hgt`), trained by `gs` from `model_encoder_type:
//! hgt`, and the GraphStorm key it reads (`num_heads`) acting through the real binary.

use std::path::Path;

use gs_tests::graphstorm::{self, test_score, weight_shapes};
use gs_tests::{assert_encoder_trains_the_demo_graph, small_demo_graph, train_encoder_on_demo};

#[test]
fn graphstorm_weights_in_the_hgt_plugin_give_graphstorm_embeddings_and_predictions() {
    let mut gm = graphstorm::graphstorm_model("nc-hgt", "hgt");
    assert!(gm.custom_args.contains(&("num_heads".into(), "2".into())));

    // Full-neighbourhood forward over every node of every type (GraphStorm's
    // gen_node_embedding uses all edges): attention, the mean over edge types, the skip gate.
    let accuracy = gm.assert_agrees_with_graphstorm("nc-hgt");
    // GraphStorm's own test accuracy with this model (its README's table) is 0.1667: 1 of the
    // 6 test papers.
    assert!(
        (accuracy - 1.0 / 6.0).abs() < 1e-9,
        "test accuracy {accuracy}, GraphStorm's is 1/6"
    );
}

/// `gs node-classification` with `model_encoder_type: hgt` on the small demo graph in
/// `dir` ([`train_encoder_on_demo`]); stdout and stderr.
fn train_hgt(dir: &Path, extra: &[&str]) -> (String, String) {
    let run = train_encoder_on_demo(dir, "hgt", extra).ok();
    (run.stdout, run.stderr)
}

#[test]
fn model_encoder_type_hgt_trains_the_demo_graph() {
    assert_encoder_trains_the_demo_graph("hgt", &[], 10, 0.65);
}

#[test]
fn num_heads_changes_the_hgt_weights_and_the_result() {
    let tmp = small_demo_graph();
    let dir = tmp.path();
    let common = ["--num-epochs", "1"];
    train_hgt(dir, &[&common[..], &["--save-model-path", "four"]].concat());
    train_hgt(
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
    let att = "gnn/gnn._layers.0.relation_att.paper_cites_paper";
    let pri = "gnn/gnn._layers.0.relation_pri.paper_cites_paper";
    // GraphStorm's default is 4 heads of 16 / 4 features; `--num-heads 2` gives 2 of 8.
    assert_eq!(four[att], vec![4, 4, 4], "{:?}", four.keys());
    assert_eq!(four[pri], vec![4]);
    assert_eq!(two[att], vec![2, 8, 8]);
    assert_eq!(two[pri], vec![2]);
    let (s_four, s_two) = (test_score(dir, "four"), test_score(dir, "two"));
    assert_ne!(s_four, s_two, "num_heads changes the result");

    // A head count that does not divide the hidden size is refused by name.
    train_encoder_on_demo(dir, "hgt", &["--num-heads", "3"])
        .fails_with(1, &["`num_heads` is 3", "hidden size 16"]);
}
