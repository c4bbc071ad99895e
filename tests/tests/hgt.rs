//! The built-in `hgt` plugin: GraphStorm's HGT, proven against the real GraphStorm 0.5.1
//! (`tests/fixtures/graphstorm-models/nc-hgt`), trained by `gs` from `model_encoder_type:
//! hgt`, and the GraphStorm key it reads (`num_heads`) acting through the real binary.

use std::path::Path;

use gs_tests::graphstorm::{self, test_score, weight_shapes};
use gs_tests::{demo_yaml, run_gs, small_demo_graph};

/// Largest difference allowed between gs and GraphStorm (float32 summation order only).
const TOLERANCE: f64 = 1e-5;

#[test]
fn graphstorm_weights_in_the_hgt_plugin_give_graphstorm_embeddings_and_predictions() {
    let mut gm = graphstorm::graphstorm_model("nc-hgt", "hgt");
    assert!(gm.custom_args.contains(&("num_heads".into(), "2".into())));

    // Full-neighbourhood forward over every node of every type (GraphStorm's
    // gen_node_embedding uses all edges): attention, the mean over edge types, the skip gate.
    let embeddings = gm.compare_embeddings("nc-hgt");
    assert_eq!(
        embeddings.compared, 42,
        "every node of dgl-tiny is compared"
    );
    let worst = embeddings.max_abs_diff;
    eprintln!("hgt vs GraphStorm 0.5.1: embeddings of 42 nodes, max |diff| {worst:e}");
    assert!(
        worst <= TOLERANCE,
        "embeddings differ from GraphStorm's by {worst:e}"
    );

    let (predictions, accuracy) = gm.compare_predictions("nc-hgt");
    let worst = predictions.max_abs_diff;
    eprintln!(
        "hgt vs GraphStorm 0.5.1: predictions of {} test papers, max |diff| {worst:e}",
        predictions.compared
    );
    assert!(
        worst <= TOLERANCE,
        "predictions differ from GraphStorm's by {worst:e}"
    );
    // GraphStorm's own test accuracy with this model (its README's table) is 0.1667: 1 of the
    // 6 test papers.
    let accuracy = accuracy.expect("the NC task reports accuracy");
    assert!(
        (accuracy - 1.0 / 6.0).abs() < 1e-9,
        "test accuracy {accuracy}, GraphStorm's is 1/6"
    );
}

/// Runs `gs node-classification` on the small demo graph with the demo YAML and
/// `model_encoder_type: hgt`, hidden size 16, plus `extra` (later flags win); returns stdout
/// and stderr.
fn train_hgt(dir: &Path, extra: &[&str]) -> (String, String) {
    let yaml = demo_yaml();
    let mut args = vec![
        "node-classification",
        "--num-trainers",
        "1",
        "--part-config",
        "data/demo.json",
        "--cf",
        yaml.to_str().unwrap(),
        "--model-encoder-type",
        "hgt",
        "--hidden-size",
        "16",
    ];
    args.extend_from_slice(extra);
    let run = run_gs(dir, &args).ok();
    (run.stdout, run.stderr)
}

#[test]
fn model_encoder_type_hgt_trains_the_demo_graph() {
    let tmp = small_demo_graph();
    let dir = tmp.path();
    let untrained_args = [
        "--num-epochs",
        "1",
        "--lr",
        "1e-9",
        "--save-model-path",
        "untrained",
    ];
    train_hgt(dir, &untrained_args);
    let untrained = test_score(dir, "untrained");
    let (stdout, _) = train_hgt(dir, &["--num-epochs", "10", "--save-model-path", "model"]);
    let trained = test_score(dir, "model");
    eprintln!("hgt on the demo graph: test accuracy {trained} (untrained {untrained})");
    assert!(
        trained > 0.65,
        "hgt trains: test accuracy {trained}\n{stdout}"
    );
    assert!(untrained < 0.5, "an untrained hgt scores {untrained}");
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
    let yaml = demo_yaml();
    let run = run_gs(
        dir,
        &[
            "node-classification",
            "--num-trainers",
            "1",
            "--part-config",
            "data/demo.json",
            "--cf",
            yaml.to_str().unwrap(),
            "--model-encoder-type",
            "hgt",
            "--hidden-size",
            "16",
            "--num-heads",
            "3",
        ],
    );
    run.fails_with(1, &["`num_heads` is 3", "hidden size 16"]);
}
