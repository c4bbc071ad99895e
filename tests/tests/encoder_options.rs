//! GraphStorm's shared encoder options in the built-in plugins: `input_activate`,
//! `num_ffn_layers_in_input`, `num_ffn_layers_in_gnn`, `gnn_norm: layer` and `out_emb_size`.
//! Proven against the real GraphStorm 0.5.1 (`tests/fixtures/graphstorm-models/nc-*-ffn`, each
//! trained with all of them), then through the real binary: the checkpoints hold GraphStorm's
//! key names and shapes for every encoder, `out_emb_size` sizes the last layer and every host
//! decoder that reads it, and what gs does not implement is refused by name.

use std::path::Path;

use gs_tests::graphstorm::{self, weight_shapes};
use gs_tests::runs::user_item_folder;
use gs_tests::{demo_yaml, run_gs, run_nc_on_demo, small_demo_graph, train_encoder_on_demo};

/// The golden cases trained with the options, and the plugin each runs in.
const CASES: &[(&str, &str)] = &[
    ("nc-rgcn-ffn", "rgcn"),
    ("nc-hgt-ffn", "hgt"),
    ("nc-sage-ffn", "sage"),
    ("nc-gat-ffn", "gat"),
];

/// GraphStorm's models trained with the options, loaded by name, give GraphStorm's embeddings
/// of every node and its predictions within 1e-5: the input layer's ReLU and NGNN layers, the
/// GNN layers' norm and NGNN layers where each encoder has them, and a last layer of
/// `out_emb_size` read by the decoder.
#[test]
fn graphstorm_models_with_encoder_options_give_graphstorm_embeddings_and_predictions() {
    for (case, plugin) in CASES {
        let mut gm = graphstorm::graphstorm_model(case, plugin);
        for (key, value) in [
            ("input_activate", "relu"),
            ("num_ffn_layers_in_input", "1"),
            ("num_ffn_layers_in_gnn", "1"),
            ("out_emb_size", "6"),
        ] {
            assert!(
                gm.custom_args.contains(&(key.into(), value.into())),
                "{case}: {:?}",
                gm.custom_args
            );
        }
        gm.assert_agrees_with_graphstorm(case);
    }
}

/// `gnn_norm: batch`: GraphStorm's models with `BatchNorm1d` on the hidden layers (per node
/// type in RGCN, one in SAGE), loaded by name with their running statistics (gs's buffers;
/// GraphStorm's int64 `num_batches_tracked` has no counterpart), give GraphStorm's
/// embeddings and predictions, which it computes in eval mode from those statistics.
#[test]
fn graphstorm_models_with_batch_norm_give_graphstorm_embeddings_and_predictions() {
    for (case, plugin) in [("nc-rgcn-bn", "rgcn"), ("nc-sage-bn", "sage")] {
        let mut gm = graphstorm::graphstorm_model(case, plugin);
        assert!(
            gm.custom_args
                .contains(&("gnn_norm".into(), "batch".into())),
            "{case}: {:?}",
            gm.custom_args
        );
        gm.assert_agrees_with_graphstorm(case);
    }
}

/// Training with `gnn_norm: batch` moves each node type's running statistics (host buffers
/// the optimizer never sees) away from their start (mean 0, variance 1), saves them in the
/// checkpoint, and `--inference` from the best one, which normalises by them, reproduces the
/// test score training recorded.
#[test]
fn batch_norm_running_statistics_train_save_and_restore() {
    let tmp = small_demo_graph();
    let dir = tmp.path();
    let args = [
        "--gnn-norm",
        "batch",
        "--num-epochs",
        "2",
        "--save-model-path",
        "model",
    ];
    train_encoder_on_demo(dir, "rgcn", &args).ok();
    let checkpoint = gs_train::checkpoint::load(&dir.join("model/epoch-1")).unwrap();
    let value = |name: &str| {
        let (_, t) = checkpoint
            .weights
            .iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("no `{name}` in the checkpoint"));
        Vec::<f32>::try_from(t).unwrap()
    };
    let mean = value("gnn/gnn._layers.0.norm.paper.running_mean");
    let var = value("gnn/gnn._layers.0.norm.paper.running_var");
    assert_eq!(mean.len(), 16);
    assert!(
        mean.iter().any(|m| m.abs() > 1e-3),
        "running mean stayed 0: {mean:?}"
    );
    assert!(
        var.iter().any(|v| (v - 1.0).abs() > 1e-3),
        "running var stayed 1: {var:?}"
    );
    let weight = value("gnn/gnn._layers.0.norm.paper.weight");
    assert!(
        weight.iter().any(|w| (w - 1.0).abs() > 1e-4),
        "the norm's weight trains"
    );
    let trained = gs_tests::runs::best_test_score(&dir.join("model"));
    let best = gs_tests::runs::training_summary(&dir.join("model"))["best_epoch"]
        .as_u64()
        .unwrap();
    let best = format!("model/epoch-{best}");
    let inference = [
        "--gnn-norm",
        "batch",
        "--inference",
        "--restore-model-path",
        &best,
    ];
    let again = train_encoder_on_demo(dir, "rgcn", &inference).ok();
    let inferred = gs_tests::runs::printed_test_score(&again, "accuracy");
    assert!((trained - inferred).abs() < 1e-9, "{trained} vs {inferred}");
}

/// A copy of the demo YAML with `lines` added under `gsf.gnn` (`out_emb_size` has no
/// command-line flag in GraphStorm).
fn demo_yaml_with(dir: &Path, lines: &str) -> std::path::PathBuf {
    let yaml = std::fs::read_to_string(demo_yaml()).unwrap();
    let yaml = yaml.replacen("  gnn:\n", &format!("  gnn:\n{lines}"), 1);
    let path = dir.join("options.yaml");
    std::fs::write(&path, yaml).unwrap();
    path
}

/// `out_emb_size` is the width of the last layer's weights and of the host decoder's input
/// for node classification and link prediction (DistMult's relation table), and training and
/// `--inference` run with it; below two layers GraphStorm ignores it with a warning, as gs does.
#[test]
fn out_emb_size_sizes_the_last_layer_and_the_host_decoders() {
    let tmp = small_demo_graph();
    let dir = tmp.path();
    let yaml = demo_yaml_with(dir, "    out_emb_size: 6\n");
    let common = [
        "--model-encoder-type",
        "rgcn",
        "--hidden-size",
        "16",
        "--num-epochs",
        "1",
    ];
    run_nc_on_demo(
        dir,
        &yaml,
        &[&common[..], &["--save-model-path", "model"]].concat(),
    )
    .ok();
    let shapes = weight_shapes(dir, "model/epoch-0");
    let rgcn_weight = |l: u32| {
        shapes
            .iter()
            .find(|(name, _)| name.ends_with(&format!("gnn._layers.{l}.weight")))
            .map(|(_, shape)| shape.clone())
            .unwrap_or_else(|| panic!("no layer {l} weight in {:?}", shapes.keys()))
    };
    assert_eq!(rgcn_weight(0)[1..], [16, 16]);
    assert_eq!(rgcn_weight(1)[1..], [16, 6]);
    let decoder: Vec<_> = shapes
        .iter()
        .filter(|(n, _)| n.starts_with("decoder/"))
        .collect();
    assert!(
        decoder.iter().any(|(_, shape)| shape.as_slice() == [6, 4]),
        "the classifier reads 6 features: {decoder:?}"
    );
    let inference = [
        "--inference",
        "--restore-model-path",
        "model/epoch-0",
        "--save-embed-path",
        "emb",
    ];
    run_nc_on_demo(dir, &yaml, &[&common[..], &inference[..]].concat()).ok();

    let one_layer = demo_yaml_with(dir, "    out_emb_size: 6\n");
    let run = run_nc_on_demo(
        dir,
        &one_layer,
        &[&common[..], &["--num-layers", "1", "--fanout", "5"]].concat(),
    )
    .ok();
    assert!(
        run.stderr.contains("`out_emb_size`") && run.stderr.contains("is ignored"),
        "{}",
        run.stderr
    );

    let lp_dir = user_item_folder(&[("lp.yaml", LP_YAML)]);
    run_gs(
        lp_dir.path(),
        &[
            "link-prediction",
            "--cf",
            "lp.yaml",
            "--part-config",
            "data/user-item.json",
            "--num-trainers",
            "1",
            "--save-model-path",
            "model",
        ],
    )
    .ok();
    let lp = weight_shapes(lp_dir.path(), "model/epoch-0");
    assert_eq!(
        lp["decoder/decoder._w_relation.weight"],
        [2, 6],
        "{:?}",
        lp.keys()
    );
}

/// Link prediction with DistMult on `user,rates,item`, two layers, `out_emb_size: 6`.
const LP_YAML: &str = "version: 1.0
gsf:
  basic:
    model_encoder_type: rgcn
  gnn:
    num_layers: 2
    hidden_size: 16
    out_emb_size: 6
    fanout: \"5,5\"
  input:
    node_feat_name:
      - \"user:feat,group\"
      - \"item:feat,group\"
  hyperparam:
    lr: 0.01
    num_epochs: 1
    batch_size: 256
  link_prediction:
    train_etype:
      - \"user,rates,item\"
    reverse_edge_types_map:
      - \"user,rates,rated-by,item\"
    lp_decoder_type: distmult
    num_negative_edges: 4
";

/// Every message-passing encoder trains with all the options on, and its checkpoint holds
/// GraphStorm's names for the new weights: the input layer's NGNN per node type, the GNN
/// layers' NGNN and norms where the encoder has them.
#[test]
fn encoder_options_create_graphstorm_keys_in_every_encoder() {
    let tmp = small_demo_graph();
    let dir = tmp.path();
    let options = [
        "--input-activate",
        "relu",
        "--num-ffn-layers-in-input",
        "1",
        "--num-ffn-layers-in-gnn",
        "2",
        "--num-epochs",
        "1",
        "--dropout",
        "0.1",
    ];
    let expected: &[(&str, &[&str], &str)] = &[
        (
            "rgcn",
            &["--gnn-norm", "layer"],
            "gnn._layers.0.norm.paper.weight",
        ),
        (
            "rgat",
            &["--gnn-norm", "layer", "--num-heads", "2"],
            "gnn._layers.0.norm.author.bias",
        ),
        (
            "hgt",
            &["--gnn-norm", "layer", "--num-heads", "2"],
            "gnn._layers.1.norms.paper.weight",
        ),
        (
            "sage",
            &["--gnn-norm", "layer"],
            "gnn._layers.0.norm.weight",
        ),
        (
            "gat",
            &["--num-heads", "2"],
            "gnn._layers.0.ngnn_mlp.ngnn_gnn.1",
        ),
        (
            "gatv2",
            &["--num-heads", "2"],
            "gnn._layers.0.ngnn_mlp.ngnn_gnn.1",
        ),
    ];
    for (encoder, extra, key) in expected {
        let save = ["--save-model-path", encoder];
        train_encoder_on_demo(dir, encoder, &[&options[..], extra, &save[..]].concat()).ok();
        let shapes = weight_shapes(dir, &format!("{encoder}/epoch-0"));
        let shape = |name: &str| {
            shapes
                .get(&format!("gnn/{name}"))
                .unwrap_or_else(|| panic!("{encoder}: no `{name}` in {:?}", shapes.keys()))
                .clone()
        };
        assert_eq!(
            shape("node_embed.ngnn_mlp.paper.ngnn_gnn.0"),
            [16, 16],
            "{encoder}"
        );
        assert_eq!(
            shape("gnn._layers.0.ngnn_mlp.ngnn_gnn.1"),
            [16, 16],
            "{encoder}"
        );
        assert_eq!(shape(key)[0], 16, "{encoder}");
        // Only sage keeps NGNN layers after its last layer, as in GraphStorm.
        let last_ngnn = shapes.contains_key("gnn/gnn._layers.1.ngnn_mlp.ngnn_gnn.0");
        assert_eq!(
            last_ngnn,
            *encoder == "sage",
            "{encoder}: {:?}",
            shapes.keys()
        );
    }
}

/// What gs does not implement is refused by name, never ignored: a `gnn_norm` GraphStorm does
/// not have, an `out_emb_size` the attention heads do not divide, an option the chosen plugin does not
/// read (`learnable_embed` has no input projection, `mlp` no GNN layers).
#[test]
fn unimplemented_encoder_options_are_refused_by_name() {
    let tmp = small_demo_graph();
    let dir = tmp.path();
    let one_epoch = ["--num-epochs", "1"];
    train_encoder_on_demo(
        dir,
        "rgcn",
        &[&one_epoch[..], &["--gnn-norm", "group"]].concat(),
    )
    .fails_with(2, &["--gnn-norm", "group", "batch, layer"]);
    train_encoder_on_demo(
        dir,
        "rgcn",
        &[&one_epoch[..], &["--input-activate", "tanh"]].concat(),
    )
    .fails_with(2, &["--input-activate", "tanh", "none, relu"]);
    let yaml = demo_yaml_with(dir, "    out_emb_size: 6\n");
    let hgt = [
        "--model-encoder-type",
        "hgt",
        "--hidden-size",
        "16",
        "--num-heads",
        "4",
    ];
    run_nc_on_demo(dir, &yaml, &[&one_epoch[..], &hgt[..]].concat())
        .fails_with(1, &["`out_emb_size` is 6", "4 heads"]);
    // Encoders without GNN layers: the demo YAML without its layers and fanout.
    let demo = std::fs::read_to_string(demo_yaml()).unwrap();
    let no_layers = dir.join("no-layers.yaml");
    let text = demo
        .replace("    fanout: \"10,10\"\n", "")
        .replace("num_layers: 2", "num_layers: 0");
    std::fs::write(&no_layers, text).unwrap();
    let hidden = ["--hidden-size", "16"];
    let learnable = [
        "--model-encoder-type",
        "learnable_embed",
        "--num-ffn-layers-in-input",
        "1",
    ];
    run_nc_on_demo(
        dir,
        &no_layers,
        &[&one_epoch[..], &hidden, &learnable[..]].concat(),
    )
    .fails_with(1, &["`num_ffn_layers_in_input`", "learnable_embed"]);
    let mlp = [
        "--model-encoder-type",
        "mlp",
        "--num-ffn-layers-in-gnn",
        "1",
    ];
    run_nc_on_demo(
        dir,
        &no_layers,
        &[&one_epoch[..], &hidden, &mlp[..]].concat(),
    )
    .fails_with(1, &["`num_ffn_layers_in_gnn`", "`mlp`"]);
    // mlp's dropout acts once the input layer has a ReLU or NGNN layers.
    let mlp = [
        "--model-encoder-type",
        "mlp",
        "--input-activate",
        "relu",
        "--dropout",
        "0.5",
    ];
    run_nc_on_demo(
        dir,
        &no_layers,
        &[&one_epoch[..], &hidden, &mlp[..]].concat(),
    )
    .ok();
}

/// GraphStorm's edge input layer takes the node input layer's `num_ffn_layers_in_input`: with
/// edge features in rgcn's message passing, each edge type gets its NGNN layers
/// (`edge_embed.ngnn_mlp.<etype>`), and the model still learns the signal that only the edge
/// feature `review` carries (rmse 0.48 here; 0.45 without the layers, above 0.85 without the
/// edge feature).
#[test]
fn the_edge_input_layer_takes_the_input_options() {
    let yaml = gs_tests::runs::user_item_edge_yaml(
        "edge_regression",
        "quality",
        4,
        "    remove_target_edge_type: false\n",
    );
    let tmp = user_item_folder(&[("task.yaml", &yaml)]);
    let args = [
        "edge-regression",
        "--cf",
        "task.yaml",
        "--part-config",
        "data/user-item.json",
        "--num-trainers",
        "1",
        "--save-model-path",
        "model",
        "--edge-feat-name",
        "review",
        "--num-ffn-layers-in-input",
        "1",
    ];
    run_gs(tmp.path(), &args).ok();
    let best = gs_tests::runs::best_test_score(&tmp.path().join("model"));
    assert!(
        best < 0.6,
        "rmse {best}: the edge feature's signal was lost"
    );
    let summary = gs_tests::runs::training_summary(&tmp.path().join("model"));
    let best_epoch = summary["best_epoch"].as_u64().unwrap();
    let shapes = weight_shapes(tmp.path(), &format!("model/epoch-{best_epoch}"));
    for etype in ["('user', 'rates', 'item')", "('item', 'rated-by', 'user')"] {
        let key = format!("gnn/edge_embed.ngnn_mlp.{etype}.ngnn_gnn.0");
        assert!(
            shapes.contains_key(&key),
            "no `{key}` in {:?}",
            shapes.keys()
        );
    }
}
