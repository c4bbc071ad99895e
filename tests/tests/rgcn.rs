//! The built-in `rgcn` plugin: GraphStorm's RGCN, proven against the real GraphStorm 0.5.1
//! (`tests/fixtures/graphstorm-models/nc-rgcn`), trained by `gs` from `model_encoder_type:
//! rgcn`, and the GraphStorm keys it reads (`num_bases`, `use_self_loop`) acting through the
//! real binary.

use std::path::Path;

use gs_tests::graphstorm::{self, dgl_tiny, weight_shapes};
use gs_tests::{
    assert_encoder_trains_the_demo_graph, demo_yaml, run_gs, small_demo_graph,
    train_encoder_on_demo,
};
use serde_json::Value;

#[test]
fn graphstorm_weights_in_the_rgcn_plugin_give_graphstorm_embeddings_and_predictions() {
    let mut gm = graphstorm::graphstorm_model("nc-rgcn", "rgcn");
    assert!(gm.custom_args.contains(&("num_bases".into(), "-1".into())));
    assert!(
        gm.custom_args
            .contains(&("use_self_loop".into(), "true".into()))
    );

    // The relation index of `gnn._layers.<l>.weight` is the partition's etype id; the plugin
    // indexes relations in schema order. They must be the same order.
    let tiny: Value = serde_json::from_str(&std::fs::read_to_string(dgl_tiny()).unwrap()).unwrap();
    let mut by_id: Vec<(i64, String)> = tiny["etypes"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(name, id)| (id.as_i64().unwrap(), name.clone()))
        .collect();
    by_id.sort();
    let schema_order: Vec<String> = gm.graph.edge_types().map(ToString::to_string).collect();
    assert_eq!(
        schema_order,
        by_id.into_iter().map(|(_, n)| n).collect::<Vec<_>>(),
        "gs's schema lists edge types in the partition's etype id order"
    );

    // Full-neighbourhood forward over every node of every type (GraphStorm's
    // gen_node_embedding uses all edges).
    let accuracy = gm.assert_agrees_with_graphstorm("nc-rgcn");
    // The host decoder is GraphStorm's EntityClassifier: softmax(h @ decoder + bias) for the
    // test papers, as GraphStorm's `--inference` wrote them. GraphStorm's own test accuracy
    // with this model (its README's table) is 0.0.
    assert_eq!(accuracy, 0.0);
}

/// `num_bases` below the number of relations: GraphStorm's layers hold a DGL `WeightBasis`
/// (`basis.weight` `[bases, in, out]`, `basis.w_comp` `[relations, bases]`, `W[r] = Σ_b
/// w_comp[r, b] · basis[b]`), which the plugin's basis weights take by name.
#[test]
fn graphstorm_basis_weights_in_the_rgcn_plugin_give_graphstorm_embeddings_and_predictions() {
    let mut gm = graphstorm::graphstorm_model("nc-rgcn-bases", "rgcn");
    assert!(gm.custom_args.contains(&("num_bases".into(), "2".into())));
    let accuracy = gm.assert_agrees_with_graphstorm("nc-rgcn-bases");
    // GraphStorm's own test accuracy with this model is 2 of the 6 test papers.
    assert!((accuracy - 2.0 / 6.0).abs() < 1e-9, "{accuracy}");
}

/// `gs node-classification` with `model_encoder_type: rgcn` on the small demo graph in
/// `dir` ([`train_encoder_on_demo`]); stdout and stderr.
fn train_rgcn(dir: &Path, extra: &[&str]) -> (String, String) {
    let run = train_encoder_on_demo(dir, "rgcn", extra).ok();
    (run.stdout, run.stderr)
}

fn weight_count(stderr: &str) -> usize {
    let line = stderr
        .lines()
        .find(|l| l.starts_with("training `rgcn`"))
        .unwrap_or_else(|| panic!("no training line in:\n{stderr}"));
    let (_, rest) = line.split_once(": ").unwrap();
    rest.split_whitespace().next().unwrap().parse().unwrap()
}

#[test]
fn model_encoder_type_rgcn_trains_the_demo_graph() {
    // Hidden size 64 (the YAML's; the last flag wins) with seeds 4, 5, 6 and 42 gives
    // 0.775-0.9; an untrained model 0.15-0.25.
    assert_encoder_trains_the_demo_graph("rgcn", &["--hidden-size", "64"], 10, 0.65);
}

#[test]
fn num_bases_changes_the_weights_and_the_result() {
    let tmp = small_demo_graph();
    let dir = tmp.path();
    let common = ["--num-epochs", "2"];
    let (_, full_err) = train_rgcn(dir, &[&common[..], &["--save-model-path", "full"]].concat());
    let (_, basis_err) = train_rgcn(
        dir,
        &[
            &common[..],
            &["--num-bases", "2", "--save-model-path", "basis"],
        ]
        .concat(),
    );
    let (full, basis) = (
        weight_shapes(dir, "full/epoch-1"),
        weight_shapes(dir, "basis/epoch-1"),
    );
    // 4 edge types, hidden 16, 2 layers: [4,16,16] per layer, or [2,16,16] + [4,2].
    assert_eq!(full["gnn/gnn._layers.0.weight"], vec![4, 16, 16]);
    assert!(!basis.contains_key("gnn/gnn._layers.0.weight"));
    assert_eq!(basis["gnn/gnn._layers.0.basis.weight"], vec![2, 16, 16]);
    assert_eq!(basis["gnn/gnn._layers.1.basis.w_comp"], vec![4, 2]);
    let (n_full, n_basis) = (weight_count(&full_err), weight_count(&basis_err));
    assert_eq!(n_full - n_basis, 2 * (4 * 16 * 16 - (2 * 16 * 16 + 4 * 2)));

    // The checkpoint records the key, and `--inference` rebuilds the basis model from it.
    let meta: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("basis/epoch-1/checkpoint.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(meta["config"]["num_bases"], 2, "{meta}");
    let mut predictions = Vec::new();
    for model in ["full", "basis"] {
        run_gs(
            dir,
            &[
                "node-classification",
                "--inference",
                "--num-trainers",
                "1",
                "--part-config",
                "data/demo.json",
                "--restore-model-path",
                &format!("{model}/epoch-1"),
                "--save-prediction-path",
                &format!("pred-{model}"),
            ],
        )
        .ok();
        let (_, rows) =
            gs_output::read_node_predictions(&dir.join(format!("pred-{model}")), "paper").unwrap();
        predictions.push(rows);
    }
    assert_ne!(
        predictions[0], predictions[1],
        "num_bases changes the predictions"
    );
}

#[test]
fn use_self_loop_false_removes_the_loop_weight() {
    let tmp = small_demo_graph();
    let dir = tmp.path();
    let (_, with_err) = train_rgcn(dir, &["--num-epochs", "1", "--save-model-path", "with"]);
    let (_, without_err) = train_rgcn(
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
    assert_eq!(with["gnn/gnn._layers.0.loop_weight"], vec![16, 16]);
    assert!(
        without.keys().all(|k| !k.contains("loop_weight")),
        "{:?}",
        without.keys()
    );
    assert_eq!(
        weight_count(&with_err) - weight_count(&without_err),
        2 * 16 * 16
    );
}

#[test]
fn a_graphstorm_key_no_model_reads_is_refused_by_name() {
    let tmp = small_demo_graph();
    let dir = tmp.path();
    let yaml = demo_yaml();
    let base = [
        "node-classification",
        "--num-trainers",
        "1",
        "--part-config",
        "data/demo.json",
        "--cf",
        yaml.to_str().unwrap(),
        "--num-epochs",
        "1",
    ];
    let run = run_gs(
        dir,
        &[&base[..], &["--plugin", "sage", "--num-bases", "2"]].concat(),
    );
    run.fails_with(1, &["`num_bases`", "plugin `sage`", "= 2"]);
    let run = run_gs(dir, &[&base[..], &["--use-self-loop", "false"]].concat());
    run.fails_with(1, &["`use_self_loop`", "plugin `sage`"]);
    // At their defaults the keys are fine with any plugin.
    run_gs(
        dir,
        &[&base[..], &["--num-bases", "-1", "--use-self-loop", "true"]].concat(),
    )
    .ok();
    // The keys are GraphStorm's, not custom arguments.
    let run = run_gs(
        dir,
        &[
            &base[..],
            &["--model-encoder-type", "rgcn", "--", "--num-bases", "2"],
        ]
        .concat(),
    );
    run.fails_with(1, &["GraphStorm's key `num_bases`"]);
}
