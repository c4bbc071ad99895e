//! The built-in `mlp` plugin: GraphStorm's `model_encoder_type: mlp` (the input layer only,
//! `num_layers: 0`), proven against the real GraphStorm 0.5.1
//! (`tests/fixtures/graphstorm-models/nc-mlp`), trained by `gs` from `model_encoder_type:
//! mlp`, and what it refuses through the real binary.

use gs_tests::graphstorm::{self, test_score, weight_shapes};
use gs_tests::{
    MLP_YAML, demo_yaml, run_gs, run_nc_on_demo, small_demo_graph, small_demo_graph_with,
};

#[test]
fn graphstorm_weights_in_the_mlp_plugin_give_graphstorm_embeddings_and_predictions() {
    let mut gm = graphstorm::graphstorm_model("nc-mlp", "mlp");
    assert_eq!(gm.resolved.train.num_layers, 0);
    // mlp reads only the input layer's options, unset in GraphStorm's YAML.
    let unset = [("input_activate", ""), ("num_ffn_layers_in_input", "0")];
    let unset = unset.map(|(k, v)| (k.to_string(), v.to_string())).to_vec();
    assert_eq!(gm.custom_args, unset);

    // One batch per node type with no layers: every node is embedded from its own features.
    let accuracy = gm.assert_agrees_with_graphstorm("nc-mlp");
    // GraphStorm's own test accuracy with this model (its README's table) is 0.1667: 1 of 6.
    assert!((accuracy - 1.0 / 6.0).abs() < 1e-9, "accuracy {accuracy}");
}

#[test]
fn model_encoder_type_mlp_trains_the_demo_graph() {
    // The demo's classes live mostly in the graph structure, which mlp never sees: with the
    // default feature signal (0.8) it reaches about 0.33 here. A stronger class signal in the
    // features gives it something to learn.
    let tmp = small_demo_graph_with("--feature-signal 3");
    let dir = tmp.path();
    let yaml = dir.join("mlp.yaml");
    std::fs::write(&yaml, MLP_YAML).unwrap();
    // A model that barely moves from its initialisation stays near chance (4 classes).
    let untrained_args = [
        "--num-epochs",
        "1",
        "--lr",
        "1e-9",
        "--save-model-path",
        "untrained",
    ];
    run_nc_on_demo(dir, &yaml, &untrained_args).ok();
    let untrained = test_score(dir, "untrained");
    let trained_args = ["--num-epochs", "20", "--save-model-path", "model"];
    let run = run_nc_on_demo(dir, &yaml, &trained_args).ok();
    let trained = test_score(dir, "model");
    eprintln!("mlp on the demo graph: test accuracy {trained} (untrained {untrained})");
    // 20 epochs with seeds 1, 2 and the default (42) give 0.775-0.9; an untrained model
    // 0.225-0.3 (seeds 0, 4, 42).
    assert!(
        trained > 0.65,
        "mlp trains: test accuracy {trained}\n{}",
        run.stdout
    );
    assert!(untrained < 0.45, "an untrained mlp scores {untrained}");

    // The checkpoint holds the input projections and the decoder, nothing else: GraphStorm's
    // mlp model.bin has no `gnn` entry either.
    let shapes = weight_shapes(dir, "model/epoch-19");
    let names: Vec<&str> = shapes.keys().map(String::as_str).collect();
    assert!(
        names
            .iter()
            .all(|n| n.starts_with("gnn/node_embed.input_projs.") || n.starts_with("decoder/")),
        "{names:?}"
    );
    assert_eq!(shapes["gnn/node_embed.input_projs.paper"][1], 16);

    // `--inference` rebuilds the mlp from the checkpoint's config (num_layers 0).
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
            "model/epoch-19",
            "--save-prediction-path",
            "pred",
        ],
    )
    .ok();
    let (_, rows) = gs_output::read_node_predictions(&dir.join("pred"), "paper").unwrap();
    assert!(!rows.is_empty());
}

#[test]
fn mlp_refuses_what_it_would_not_use() {
    let tmp = small_demo_graph();
    let dir = tmp.path();
    let yaml = dir.join("mlp.yaml");
    std::fs::write(&yaml, MLP_YAML).unwrap();
    let one_epoch = ["--num-epochs", "1"];
    run_nc_on_demo(dir, &yaml, &one_epoch).ok();

    // GraphStorm asserts num_layers == 0 for mlp. The demo YAML (sage) has 2 layers and a
    // fanout for them.
    let demo = demo_yaml();
    let as_mlp = [&one_epoch[..], &["--model-encoder-type", "mlp"]].concat();
    run_nc_on_demo(dir, &demo, &as_mlp)
        .fails_with(1, &["`num_layers` is 2", "`mlp`", "--num-layers 0"]);
    // GraphStorm ignores `fanout` without message passing; gs refuses it by name.
    // (A config error: exit 2.)
    run_nc_on_demo(dir, &demo, &[&as_mlp[..], &["--num-layers", "0"]].concat())
        .fails_with(2, &["`fanout`", "remove `fanout`"]);

    // The other way round, a GNN without layers points at mlp.
    run_nc_on_demo(
        dir,
        &yaml,
        &[&one_epoch[..], &["--model-encoder-type", "rgcn"]].concat(),
    )
    .fails_with(
        1,
        &[
            "rgcn needs `num-layers` of at least 1",
            "`model_encoder_type: mlp`",
        ],
    );

    // GraphStorm's mlp applies dropout only after input_activate, which gs refuses.
    run_nc_on_demo(
        dir,
        &yaml,
        &[&one_epoch[..], &["--dropout", "0.5"]].concat(),
    )
    .fails_with(1, &["`dropout` is 0.5", "input_activate"]);

    // GraphStorm keys that only a GNN reads are refused by name, not ignored.
    run_nc_on_demo(
        dir,
        &yaml,
        &[&one_epoch[..], &["--num-bases", "2"]].concat(),
    )
    .fails_with(1, &["`num_bases`", "plugin `mlp`", "= 2"]);
    run_nc_on_demo(
        dir,
        &yaml,
        &[&one_epoch[..], &["--use-self-loop", "false"]].concat(),
    )
    .fails_with(1, &["`use_self_loop`", "plugin `mlp`"]);
    // As custom arguments they are refused too.
    run_nc_on_demo(
        dir,
        &yaml,
        &[&one_epoch[..], &["--", "--num-bases", "2"]].concat(),
    )
    .fails_with(1, &["GraphStorm's key `num_bases`"]);
}
