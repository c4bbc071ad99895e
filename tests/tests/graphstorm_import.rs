//! Models trained by the real GraphStorm 0.5.1 run in gs: every golden case's `model.bin` (the
//! file GraphStorm saved) reads as GraphStorm wrote it, `--restore-model-path` accepts the
//! GraphStorm model directory for `--inference` and `gen-node-embedding`, and a `model.bin`
//! that does not fit the configured model is refused naming the key.

use std::path::Path;

use gs_graph::read_torch_tensors;
use gs_tests::graphstorm::run_gs_on_case;
use gs_tests::graphstorm::{self, golden, max_abs_diff, model_bin, raw_id};
use gs_tests::run_gs;
use gs_train::graphstorm_import::{self, GraphStormWeight};
use serde_json::Value;

/// Every golden case GraphStorm trained.
const CASES: &[&str] = &[
    "nc-rgcn",
    "nc-rgcn-bases",
    "nc-rgat",
    "nc-hgt",
    "nc-mlp",
    "lp-rgcn-distmult",
    "lp-rgcn-dot",
    "lp-rgcn-rotate",
    "lp-rgcn-transe-l1",
    "lp-rgcn-transe-l2",
    "er-rgcn",
    "er-rgcn-mlp",
    "ec-rgcn",
    "ec-rgcn-mlpefeat",
    "nc-learnable-embed",
    "nc-rgcn-featureless",
    "nc-gat",
    "nc-gatv2",
    "nc-sage",
    "nc-rgcn-ffn",
    "nc-hgt-ffn",
    "nc-sage-ffn",
    "nc-gat-ffn",
    "nc-rgcn-efeat",
    "nc-rgat-efeat",
    "nc-hgt-efeat",
    "nc-sage-efeat",
    "nc-gat-efeat",
    "nc-gatv2-efeat",
    "nc-rgcn-nodeemb",
    "nc-rgcn-bn",
    "nc-sage-bn",
];

/// The pickle and storages of each `model.bin` give exactly the tensors GraphStorm's
/// `state_dict()` held (`state_dict_values.json`, written by GraphStorm's Python): the same
/// keys, shapes and float32 values, bit for bit.
#[test]
fn every_golden_model_bin_reads_as_graphstorm_saved_it() {
    for case in CASES {
        let tensors = read_torch_tensors(&model_bin(case)).unwrap();
        let want = golden(case, "state_dict_values.json");
        let want = want.as_object().unwrap();
        let mut keys: Vec<&str> = tensors.iter().map(|t| t.name.as_str()).collect();
        keys.sort_unstable();
        let mut want_keys: Vec<&str> = want.keys().map(String::as_str).collect();
        want_keys.sort_unstable();
        assert_eq!(keys, want_keys, "{case}: keys");
        for t in &tensors {
            let entry = &want[&t.name];
            let shape: Vec<u64> = entry["shape"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d.as_u64().unwrap())
                .collect();
            assert_eq!(t.shape, shape, "{case}: shape of `{}`", t.name);
            // The JSON holds each float32 widened to float64 and printed; narrowed back, it
            // is the float32 itself.
            let want: Vec<f32> = entry["values"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap() as f32)
                .collect();
            assert!(
                t.values
                    .iter()
                    .zip(&want)
                    .all(|(a, b)| a.to_bits() == b.to_bits())
                    && t.values.len() == want.len(),
                "{case}: values of `{}`",
                t.name
            );
        }
    }
}

/// The node type of the papers in golden case `case`'s graph: `_N` on the homogeneous copy.
fn paper_type(case: &str) -> &'static str {
    let graph = graphstorm::case_graph(case);
    if graph.to_string_lossy().contains("graphstorm-homo") {
        "_N"
    } else {
        "paper"
    }
}

/// The predictions GraphStorm's `--inference` wrote for the 6 test papers, by raw id.
fn golden_predictions(case: &str) -> Value {
    golden(case, "predictions.json")[paper_type(case)].clone()
}

/// `gs node-classification --inference --restore-model-path <GraphStorm's model dir>` with
/// GraphStorm's own YAML predicts what GraphStorm's `--inference` predicted, for each
/// encoder, and `gs gen-node-embedding` from it writes GraphStorm's embeddings.
#[test]
fn inference_restores_a_graphstorm_model_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let cases = [
        "nc-rgcn",
        "nc-rgcn-bases",
        "nc-rgat",
        "nc-hgt",
        "nc-mlp",
        "nc-rgcn-ffn",
        "nc-hgt-ffn",
        "nc-sage-ffn",
        "nc-gat-ffn",
        "nc-hgt-efeat",
        "nc-gatv2-efeat",
    ];
    for case in cases {
        let model_dir = graphstorm::graphstorm_model_dir(tmp.path(), case, case);
        let out = tmp.path().join(format!("{case}-predictions"));
        let run = run_gs_on_case(
            tmp.path(),
            &["node-classification", "--inference"],
            case,
            &[
                "--restore-model-path",
                model_dir.to_str().unwrap(),
                "--save-prediction-path",
                out.to_str().unwrap(),
            ],
        )
        .ok();
        assert!(
            run.stderr.contains("restored GraphStorm's model"),
            "{}",
            run.stderr
        );
        let (nids, rows) = gs_output::read_node_predictions(&out, paper_type(case)).unwrap();
        let got: Vec<(String, Vec<f32>)> = nids.into_iter().zip(rows).collect();
        let want = golden_predictions(case);
        assert_eq!(got.len(), want.as_object().unwrap().len(), "{case}");
        for (raw, probs) in &got {
            let diff = max_abs_diff(probs, &want[raw]);
            assert!(
                diff <= 1e-5,
                "{case}: prediction of {raw} differs by {diff}"
            );
        }
    }

    let case = "nc-rgcn";
    let emb = tmp.path().join("emb");
    run_gs_on_case(
        tmp.path(),
        &["gen-node-embedding"],
        case,
        &[
            "--restore-model-path",
            tmp.path().join(case).to_str().unwrap(),
            "--save-embed-path",
            emb.to_str().unwrap(),
        ],
    )
    .ok();
    let want = golden(case, "embeddings.json");
    let mut compared = 0;
    for ntype in ["author", "paper"] {
        let (nids, rows) = gs_output::read_node_embeddings(&emb, ntype).unwrap();
        for (raw, row) in nids.into_iter().zip(rows) {
            let diff = max_abs_diff(&row, &want[ntype][&raw]);
            assert!(diff <= 1e-5, "embedding of {raw} differs by {diff}");
            compared += 1;
        }
    }
    assert_eq!(compared, 42, "every node");
}

fn load_into(case: &str, model_case: &str, extra: &[&str]) -> String {
    let (graph, resolved) = graphstorm::resolve_case_with(case, extra);
    let task =
        gs_train::LinkPredictionTask::new(graph, resolved.train.clone(), gs_tensor::Device::Cpu);
    let path = model_bin(model_case);
    let weights = graphstorm_import::read_graphstorm_weights(&path).unwrap();
    let (instance, args) = graphstorm::plugin_instance("rgcn", &resolved);
    let mut model = match task {
        Ok(task) => task.plugin_model(instance, args).unwrap(),
        Err(e) => panic!("{case}: {e}"),
    };
    graphstorm_import::load_graphstorm_weights(&mut model, &weights, &[], &path)
        .unwrap_err()
        .to_string()
}

/// A `model.bin` that does not fit the configured model is refused naming the key, the file
/// and the fix: a decoder weight the model lacks, a model weight the file lacks, a shape that
/// differs, and an input-layer key that does not match (which GraphStorm silently ignores).
#[test]
fn a_model_bin_that_does_not_fit_is_refused_naming_the_key() {
    // DistMult's relation table into the dot-product model: an unexpected key.
    let e = load_into("lp-rgcn-dot", "lp-rgcn-distmult", &[]);
    assert!(
        e.contains("`decoder._w_relation.weight`") && e.contains("model.bin") && e.contains("hint"),
        "{e}"
    );
    // The dot-product model (no decoder key) into DistMult's: a missing tensor.
    let e = load_into("lp-rgcn-distmult", "lp-rgcn-dot", &[]);
    assert!(
        e.contains("decoder/decoder._w_relation.weight") && e.contains("no tensor"),
        "{e}"
    );
    // A model of another hidden size: the shape, with both shapes.
    let e = load_into("lp-rgcn-dot", "lp-rgcn-dot", &["--hidden-size", "16"]);
    assert!(
        e.contains("`gnn._layers.0.weight` has shape [4, 8, 8]") && e.contains("[4, 16, 16]"),
        "{e}"
    );

    // An input-layer key of another node type name.
    let (graph, resolved) = graphstorm::resolve_case("nc-rgcn");
    let task =
        gs_train::NodeTask::new(graph, resolved.train.clone(), gs_tensor::Device::Cpu).unwrap();
    let (instance, args) = graphstorm::plugin_instance("rgcn", &resolved);
    let mut model = task.plugin_model(instance, args).unwrap();
    let path = model_bin("nc-rgcn");
    let weights: Vec<GraphStormWeight> = graphstorm_import::read_graphstorm_weights(&path)
        .unwrap()
        .into_iter()
        .map(|w| {
            if w.key == "node_embed.input_projs.paper" {
                let key = "node_embed.input_projs.papers".to_string();
                GraphStormWeight {
                    name: graphstorm_import::gs_weight_name(&key),
                    key,
                    tensor: w.tensor,
                }
            } else {
                w
            }
        })
        .collect();
    let e = graphstorm_import::load_graphstorm_weights(&mut model, &weights, &[], &path)
        .unwrap_err()
        .to_string();
    assert!(e.contains("`node_embed.input_projs.papers`"), "{e}");

    // A damaged file: its path and what is wrong.
    let tmp = tempfile::tempdir().unwrap();
    let cut = tmp.path().join("model.bin");
    let bytes = std::fs::read(model_bin("nc-rgcn")).unwrap();
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let e = graphstorm_import::read_graphstorm_weights(&cut)
        .err()
        .expect("a truncated model.bin is refused")
        .to_string();
    assert!(e.contains(cut.to_str().unwrap()), "{e}");
}

#[test]
fn raw_ids_of_dgl_tiny_are_graphstorms() {
    // The comparisons above match rows by raw id; dgl-tiny's 2-part reshuffle is undone.
    let (graph, _) = graphstorm::resolve_case("nc-rgcn");
    assert_eq!(raw_id(&graph, "paper", 0), "p22");
    assert_eq!(raw_id(&graph, "author", 0), "a1");
}

/// `gs model import` converts GraphStorm's model directory once into a gs model directory (a
/// checkpoint with the built-in plugin's component, the weights and the configuration; the
/// summary naming it; the runtime YAML; the graph's transforms), from whose checkpoint
/// `--inference` needs no `--cf` and predicts what GraphStorm's `--inference` predicted.
#[test]
fn model_import_writes_a_checkpoint_that_infers_on_its_own() {
    for (case, encoder, target) in [
        ("nc-hgt", "hgt", "paper"),
        ("nc-rgcn-bases", "rgcn", "paper"),
        ("nc-gat", "gat", "_N"),
        ("nc-sage", "sage", "_N"),
    ] {
        assert_import_infers(case, encoder, target);
    }
}

/// `gs model import` of golden case `case` (built-in `encoder`, node classification on
/// `target`), then `--inference` from the imported checkpoint alone.
fn assert_import_infers(case: &str, encoder: &str, target: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let graphstorm_dir = graphstorm::graphstorm_model_dir(dir, "graphstorm-model", case);
    let part_config = graphstorm::case_graph(case);
    let import = |output: &str| {
        let import = [
            "model",
            "import",
            "--graphstorm",
            graphstorm_dir.to_str().unwrap(),
        ];
        run_gs_on_case(
            dir,
            &[&import[..], &["--output", output]].concat(),
            case,
            &[],
        )
    };
    let run = import("imported").ok();
    assert!(
        run.stdout.contains("imported GraphStorm's model"),
        "{case}: {}",
        run.stdout
    );
    for file in ["checkpoint.json", "model.safetensors", "plugin.wasm"] {
        assert!(
            dir.join("imported/epoch-0").join(file).is_file(),
            "{case}: {file}"
        );
    }
    let summary = gs_tests::runs::training_summary(&dir.join("imported"));
    assert_eq!(summary["best_checkpoint"], "epoch-0");
    let runtime_yaml = dir.join("imported/GRAPHSTORM_RUNTIME_UPDATED_TRAINING_CONFIG.yaml");
    let runtime_yaml = std::fs::read_to_string(runtime_yaml).unwrap();
    assert!(
        runtime_yaml.contains(&format!("model_encoder_type: {encoder}")),
        "{case}: {runtime_yaml}"
    );
    // The graphs were built with transforms: serving re-applies them from the model directory.
    let transforms = std::fs::read(dir.join("imported/data_transform_new.json")).unwrap();
    let graph_transforms = std::fs::read(part_config.with_file_name("data_transform_new.json"));
    assert_eq!(transforms, graph_transforms.unwrap(), "{case}");
    // An existing model is never overwritten.
    import("imported").fails_with(1, &["imported", "exists", "hint"]);

    run_gs(
        dir,
        &[
            "node-classification",
            "--inference",
            "--part-config",
            part_config.to_str().unwrap(),
            "--num-trainers",
            "1",
            "--restore-model-path",
            "imported/epoch-0",
            "--save-prediction-path",
            "pred",
        ],
    )
    .ok();
    let (nids, rows) = gs_output::read_node_predictions(&dir.join("pred"), target).unwrap();
    let want = &golden(case, "predictions.json")[target];
    assert_eq!(nids.len(), want.as_object().unwrap().len(), "{case}");
    for (raw, probs) in nids.iter().zip(&rows) {
        let diff = max_abs_diff(probs, &want[raw]);
        assert!(
            diff <= 1e-5,
            "{case}: prediction of {raw} differs by {diff}"
        );
    }
}

/// Training starts from a model GraphStorm saved (`--restore-model-path` naming its
/// directory), at epoch 0, loading only the parts `restore_model_layers` names: with
/// `embed,gnn` the encoder starts from GraphStorm's weights and the decoder from gs's own
/// initialisation; with every part, the decoder from GraphStorm's too. (One epoch at lr 1e-9
/// moves no weight by more than 1e-6.) GraphStorm's optimizer state is refused, naming why.
#[test]
fn training_continues_from_a_graphstorm_model_with_the_layers_named() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let case = "nc-rgcn";
    let graphstorm_dir = graphstorm::graphstorm_model_dir(dir, "graphstorm-model", case);
    let graphstorm: Vec<GraphStormWeight> =
        graphstorm_import::read_graphstorm_weights(&model_bin(case)).unwrap();
    let distance = |ckpt: &Path, name: &str| {
        let saved = gs_train::checkpoint::load(ckpt).unwrap().weights;
        let (_, ours) = saved.iter().find(|(n, _)| n == name).unwrap();
        // GraphStorm's key: the encoder's are gs's names without `gnn/`; the
        // EntityClassifier's `decoder.decoder` is gs's `decoder/decoder.weight`.
        let key = match name {
            "decoder/decoder.weight" => "decoder.decoder",
            name => name.strip_prefix("gnn/").unwrap(),
        };
        let theirs = &graphstorm.iter().find(|w| w.key == key).unwrap().tensor;
        (ours - theirs).abs().max().double_value(&[])
    };
    for (model, layers) in [("encoder", Some("embed,gnn")), ("all", None)] {
        let mut args = vec![
            "--restore-model-path",
            graphstorm_dir.to_str().unwrap(),
            "--num-epochs",
            "1",
            "--lr",
            "1e-9",
            "--save-model-path",
            model,
        ];
        if let Some(layers) = layers {
            args.extend(["--restore-model-layers", layers]);
        }
        let run = run_gs_on_case(dir, &["node-classification"], case, &args).ok();
        assert!(
            run.stderr.contains("starting from GraphStorm's model"),
            "{}",
            run.stderr
        );
    }
    let (encoder, all) = (dir.join("encoder/epoch-0"), dir.join("all/epoch-0"));
    for name in [
        "gnn/node_embed.input_projs.paper",
        "gnn/gnn._layers.0.weight",
        "gnn/gnn._layers.1.loop_weight",
    ] {
        assert!(distance(&encoder, name) < 1e-6, "{name} is GraphStorm's");
        assert!(distance(&all, name) < 1e-6, "{name} is GraphStorm's");
    }
    let decoder = "decoder/decoder.weight";
    assert!(
        distance(&all, decoder) < 1e-6,
        "all parts: the decoder is GraphStorm's"
    );
    assert!(
        distance(&encoder, decoder) > 1e-3,
        "embed,gnn: the decoder is gs's own initialisation"
    );

    // GraphStorm's `optimizers.bin` holds Adam's state by parameter position: refused.
    let graphstorm_path = graphstorm_dir.to_str().unwrap();
    let args = [
        "--restore-model-path",
        graphstorm_path,
        "--restore-optimizer-path",
        graphstorm_path,
        "--num-epochs",
        "1",
    ];
    run_gs_on_case(dir, &["node-classification"], case, &args).fails_with(
        1,
        &[
            "`restore_optimizer_path`",
            "by parameter position",
            "hint: drop",
        ],
    );
}

/// Learnable embeddings GraphStorm saved sit beside `model.bin` as
/// `<ntype>/sparse_emb_00000.pt`, rows in the partition's per-type order. Two models:
/// `learnable_embed` (`nc-learnable-embed`: every node type has a table and nothing else;
/// `model.bin` holds the decoder and GraphStorm's meaningless `node_embed._dummy`), and an RGCN
/// whose `author` type has no features (`nc-rgcn-featureless`: its table is projected by
/// GraphStorm's `node_embed.proj_matrix.author`, which is gs's `input_projs.author`), and an
/// RGCN with `use_node_embeddings` (`nc-rgcn-nodeemb`: every type's features are projected,
/// joined to its table's row and projected again, `[x @ input_projs, e] @ proj_matrix`, which
/// gs folds into its one projection of `[x, e]`). On the
/// 1-part graph GraphStorm trained on (`graphstorm-tiny`), `--inference` from the directory
/// predicts what GraphStorm predicted and `gen-node-embedding` writes GraphStorm's embeddings
/// of all 42 nodes; a missing file is refused naming its folder.
#[test]
fn graphstorm_learnable_embeddings_load_into_gs_tables() {
    assert_learnable_embeddings_load("nc-learnable-embed", &["author", "paper"]);
    assert_learnable_embeddings_load("nc-rgcn-featureless", &["author"]);
    assert_learnable_embeddings_load("nc-rgcn-nodeemb", &["author", "paper"]);
}

/// [`graphstorm_learnable_embeddings_load_into_gs_tables`] for golden case `case`, whose
/// node types `tables` have learnable embeddings.
fn assert_learnable_embeddings_load(case: &str, tables: &[&str]) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let model_dir = graphstorm::graphstorm_model_dir(dir, "graphstorm-model", case);
    let fixture = graphstorm::fixtures().join("graphstorm-models").join(case);
    for ntype in tables {
        std::fs::create_dir_all(model_dir.join(ntype)).unwrap();
        let file = Path::new(ntype).join("sparse_emb_00000.pt");
        std::fs::copy(fixture.join(&file), model_dir.join(&file)).unwrap();
    }
    let model = model_dir.to_str().unwrap();
    let gs = |command: &[&str], out: &str| {
        run_gs_on_case(
            dir,
            command,
            case,
            &["--restore-model-path", model, out, "out"],
        )
    };
    gs(
        &["node-classification", "--inference"],
        "--save-prediction-path",
    )
    .ok();
    let (nids, rows) = gs_output::read_node_predictions(&dir.join("out"), "paper").unwrap();
    let want = golden_predictions(case);
    assert_eq!(nids.len(), want.as_object().unwrap().len());
    for (raw, probs) in nids.iter().zip(&rows) {
        let diff = max_abs_diff(probs, &want[raw]);
        assert!(
            diff <= 1e-5,
            "{case}: prediction of {raw} differs by {diff}"
        );
    }

    std::fs::remove_dir_all(dir.join("out")).unwrap();
    gs(&["gen-node-embedding"], "--save-embed-path").ok();
    let want = golden(case, "embeddings.json");
    for ntype in ["author", "paper"] {
        let (ids, rows) = gs_output::read_node_embeddings(&dir.join("out"), ntype).unwrap();
        assert_eq!(ids.len(), want[ntype].as_object().unwrap().len(), "{ntype}");
        for (raw, row) in ids.iter().zip(&rows) {
            let diff = max_abs_diff(row, &want[ntype][raw]);
            assert!(diff <= 1e-5, "{case}: {ntype} {raw} differs by {diff}");
        }
    }

    std::fs::remove_file(model_dir.join(tables[0]).join("sparse_emb_00000.pt")).unwrap();
    gs(
        &["node-classification", "--inference"],
        "--save-prediction-path",
    )
    .fails_with(
        1,
        &[tables[0], "sparse_emb_<rank>.pt", "restore_model_layers"],
    );
}
