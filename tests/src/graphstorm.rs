//! GraphStorm golden cases (`tests/fixtures/graphstorm-models/<case>`): a built-in plugin
//! loaded with the weights the real GraphStorm trained, run on dgl-tiny, and its outputs read
//! back by raw id. The tests assert on what these return.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use gs_config::Resolved;
use gs_graph::{HeteroGraph, NodeId};
use gs_runtime::PluginLimits;
use gs_tensor::{Device, Kind, ParamStore};
use gs_train::{
    NoProgress, NodeEmbeddings, NodeTask, TaskModel, embed_every_node, graphstorm_import,
    resolve_plugin_args,
};
use serde_json::Value;

/// `tests/fixtures`.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// `tests/fixtures/dgl-tiny/partitioned/tiny.json`, the graph every golden case ran on.
pub fn dgl_tiny() -> PathBuf {
    fixtures().join("dgl-tiny/partitioned/tiny.json")
}

/// The graph golden case `case` is checked on: GraphStorm's homogeneous copy of the papers
/// (`graphstorm-homo`) for `sage`, `gat` and `gatv2`, which GraphStorm runs on homogeneous
/// graphs only; the copy whose `writes` edges carry a class label (`graph-ec`) for edge
/// classification; the 1-part graph GraphStorm trained on (`graphstorm-tiny`) for learnable
/// embeddings, whose saved rows follow that partition's node order; else dgl-tiny's 2-part
/// partition (reshuffled ids: the golden files are matched by raw id).
pub fn case_graph(case: &str) -> PathBuf {
    match case {
        "nc-gat" | "nc-gatv2" | "nc-sage" | "nc-gat-ffn" | "nc-sage-ffn" | "nc-sage-bn" => {
            fixtures().join("graphstorm-homo/partitioned/tiny-homo.json")
        }
        "nc-sage-efeat" | "nc-gat-efeat" | "nc-gatv2-efeat" => {
            fixtures().join("graphstorm-homo-efeat/partitioned/tiny-homo-efeat.json")
        }
        "ec-rgcn" | "ec-rgcn-mlpefeat" | "nc-rgcn-efeat" | "nc-rgat-efeat" | "nc-hgt-efeat" => {
            fixtures().join("graphstorm-models/graph-ec/partitioned/tiny-ec.json")
        }
        "nc-learnable-embed" | "nc-rgcn-featureless" | "nc-rgcn-nodeemb" => {
            fixtures().join("graphstorm-tiny/partitioned/tiny.json")
        }
        _ => dgl_tiny(),
    }
}

/// A JSON file of golden case `case` (`nc-rgcn`, `nc-mlp`).
pub fn golden(case: &str, file: &str) -> Value {
    let path = fixtures().join("graphstorm-models").join(case).join(file);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read `{}`: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// A golden case's `model.bin`, the very file GraphStorm saved.
pub fn model_bin(case: &str) -> PathBuf {
    fixtures()
        .join("graphstorm-models")
        .join(case)
        .join(graphstorm_import::GRAPHSTORM_MODEL_FILE)
}

/// A golden case's YAML, `<case>.yaml`, the one GraphStorm trained and inferred with.
pub fn case_yaml(case: &str) -> PathBuf {
    fixtures()
        .join("graphstorm-models")
        .join(case)
        .join(format!("{case}.yaml"))
}

/// A model directory as GraphStorm saves one, `<parent>/<name>/model.bin`, holding a golden
/// case's `model.bin`.
pub fn graphstorm_model_dir(parent: &Path, name: &str, case: &str) -> PathBuf {
    let dir = parent.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(
        model_bin(case),
        dir.join(graphstorm_import::GRAPHSTORM_MODEL_FILE),
    )
    .unwrap();
    dir
}

/// Golden case `case`'s command-line arguments: its YAML as `--cf`, its graph
/// ([`case_graph`]) as `--part-config`, one trainer.
fn case_args(case: &str) -> Vec<String> {
    let (yaml, part_config) = (case_yaml(case), case_graph(case));
    let path = |p: &Path| p.to_str().unwrap().to_string();
    vec![
        "--cf".into(),
        path(&yaml),
        "--part-config".into(),
        path(&part_config),
        "--num-trainers".into(),
        "1".into(),
    ]
}

/// `gs <command>` in `dir` with golden case `case`'s arguments ([`case_args`]), then `extra`.
pub fn run_gs_on_case(dir: &Path, command: &[&str], case: &str, extra: &[&str]) -> crate::GsRun {
    let args = case_args(case);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    crate::run_gs(dir, &[command, &args[..], extra].concat())
}

/// Load a golden case's `model.bin` into `model` by name, as `--restore-model-path` does.
///
/// # Panics
/// Unless gs's weights map one to one, with equal shapes, onto GraphStorm's keys.
pub fn load_graphstorm_weights(model: &mut TaskModel, case: &str) {
    let path = model_bin(case);
    let weights = graphstorm_import::read_graphstorm_weights(&path).unwrap();
    graphstorm_import::load_graphstorm_weights(model, &weights, &[], &path)
        .unwrap_or_else(|e| panic!("GraphStorm's {case} model.bin loads into gs: {e}"));
}

/// GraphStorm's `<case>.yaml` resolved for its graph ([`case_graph`]), and the graph.
pub fn resolve_case(case: &str) -> (Arc<HeteroGraph>, Resolved) {
    resolve_case_with(case, &[])
}

/// [`resolve_case`] with more command-line arguments, such as `--mask-reverse-edges true`.
pub fn resolve_case_with(case: &str, extra_args: &[&str]) -> (Arc<HeteroGraph>, Resolved) {
    let mut args = case_args(case);
    args.extend(extra_args.iter().map(|a| a.to_string()));
    let resolved = gs_config::resolve(&args, None).expect("GraphStorm's YAML resolves");
    let graph = Arc::new(gs_graph::load(&case_graph(case)).unwrap());
    (graph, resolved)
}

/// A built-in plugin component `plugin`, instantiated, and the custom arguments `resolved`
/// gives it.
pub fn plugin_instance(
    plugin: &str,
    resolved: &Resolved,
) -> (gs_runtime::PluginInstance, Vec<(String, String)>) {
    let (engine, _cache) = crate::temp_engine();
    let instance = engine
        .load_file(&crate::plugin_path(plugin))
        .unwrap()
        .instantiate(PluginLimits::default(), ParamStore::new(42, Device::Cpu))
        .unwrap();
    let custom_args = resolve_plugin_args(
        plugin,
        &resolved.custom_args,
        &instance.info().hyper_params,
        &resolved.plugin_keys(),
    )
    .unwrap();
    (instance, custom_args)
}

/// The embeddings of every node by `model` as `gs gen-node-embedding` computes them (every
/// edge carries messages, as GraphStorm's gen_node_embedding) against the case's
/// `embeddings.json` by raw id; also the embeddings themselves by raw id.
pub fn compare_all_embeddings(
    graph: &Arc<HeteroGraph>,
    resolved: &Resolved,
    model: &mut TaskModel,
    case: &str,
) -> (Agreement, BTreeMap<String, Vec<f32>>) {
    let embeddings =
        embed_every_node(graph, &resolved.train, model, Device::Cpu, &mut NoProgress).unwrap();
    compare_node_embeddings(graph, &embeddings, &golden(case, "embeddings.json"))
}

/// Embeddings of every node (`{ntype: [n, hidden]}` by per-type id) against a golden
/// `{ntype: {raw_id: [floats]}}` by raw id; also the embeddings by raw id.
///
/// # Panics
/// Unless gs and the golden file hold the same nodes.
pub fn compare_node_embeddings(
    graph: &HeteroGraph,
    embeddings: &NodeEmbeddings,
    want: &Value,
) -> (Agreement, BTreeMap<String, Vec<f32>>) {
    let mut agreement = Agreement {
        compared: 0,
        max_abs_diff: 0.0,
    };
    let mut by_raw = BTreeMap::new();
    for (ntype, h) in embeddings {
        let width = h.size()[1] as usize;
        let rows = Vec::<f32>::try_from(h.to_kind(Kind::Float).flatten(0, -1)).unwrap();
        for (id, row) in rows.chunks(width).enumerate() {
            let raw = raw_id(graph, ntype, id as NodeId);
            agreement.max_abs_diff = agreement
                .max_abs_diff
                .max(max_abs_diff(row, &want[ntype.as_str()][&raw]));
            agreement.compared += 1;
            by_raw.insert(raw, row.to_vec());
        }
    }
    let golden_nodes: usize = want
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_object().unwrap().len())
        .sum();
    assert_eq!(
        agreement.compared, golden_nodes,
        "gs embeds every node GraphStorm embedded"
    );
    (agreement, by_raw)
}

/// A golden case's NC task on dgl-tiny (2 partitions, reshuffled ids) with GraphStorm's YAML,
/// and a built-in plugin holding GraphStorm's trained weights.
pub struct GraphStormModel {
    pub graph: Arc<HeteroGraph>,
    pub resolved: Resolved,
    pub task: NodeTask,
    pub model: TaskModel,
    /// What `init` got in its custom arguments (the GraphStorm keys the plugin reads).
    pub custom_args: Vec<(String, String)>,
}

/// GraphStorm's `<case>.yaml` resolved for dgl-tiny, the `plugin` component built from it,
/// and the case's `state_dict_values.json` loaded into it by name.
///
/// # Panics
/// Unless the YAML names `plugin` as `model_encoder_type` and gs's weights map one to one,
/// with equal shapes, onto GraphStorm's keys.
pub fn graphstorm_model(case: &str, plugin: &str) -> GraphStormModel {
    let (graph, resolved) = resolve_case(case);
    assert_eq!(resolved.train.model_encoder_type.as_deref(), Some(plugin));
    let task = NodeTask::new(graph.clone(), resolved.train.clone(), Device::Cpu).unwrap();
    let (instance, custom_args) = plugin_instance(plugin, &resolved);
    let mut model = task.plugin_model(instance, custom_args.clone()).unwrap();
    load_graphstorm_weights(&mut model, case);
    GraphStormModel {
        graph,
        resolved,
        task,
        model,
        custom_args,
    }
}

/// The raw id (`a0`, `p17`) of per-type partition id `id`.
pub fn raw_id(graph: &HeteroGraph, ntype: &str, id: NodeId) -> String {
    graph
        .raw_ids(ntype)
        .and_then(|r| r.get_string(id))
        .expect("dgl-tiny has raw ids from raw_id_mappings")
}

/// The largest `|got - want|`, `want` a JSON array of the same length.
pub fn max_abs_diff(got: &[f32], want: &Value) -> f64 {
    let want = want.as_array().unwrap();
    assert_eq!(got.len(), want.len());
    got.iter()
        .zip(want)
        .map(|(g, w)| (f64::from(*g) - w.as_f64().unwrap()).abs())
        .fold(0.0, f64::max)
}

/// What a comparison with a golden file found.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Agreement {
    /// Rows compared (nodes).
    pub compared: usize,
    /// The largest absolute difference over every value of every row.
    pub max_abs_diff: f64,
}

/// Largest difference allowed between gs and GraphStorm (float32 summation order only).
pub const TOLERANCE: f64 = 1e-5;

impl GraphStormModel {
    /// Asserts that gs's embeddings of every node (the 42 of dgl-tiny, the 30 papers of its
    /// homogeneous copy) and its class probabilities for the 6 test papers are GraphStorm's
    /// within [`TOLERANCE`]; returns gs's test accuracy.
    pub fn assert_agrees_with_graphstorm(&mut self, case: &str) -> f64 {
        let embeddings = self.compare_embeddings(case);
        let nodes = self.graph.total_nodes() as usize;
        assert_eq!(embeddings.compared, nodes, "every node is compared");
        let worst = embeddings.max_abs_diff;
        eprintln!("{case} vs GraphStorm 0.5.1: embeddings of {nodes} nodes, max |diff| {worst:e}");
        assert!(
            worst <= TOLERANCE,
            "{case}: embeddings differ from GraphStorm's by {worst:e}"
        );
        let (predictions, accuracy) = self.compare_predictions(case);
        let worst = predictions.max_abs_diff;
        eprintln!(
            "{case} vs GraphStorm 0.5.1: predictions of {} test papers, max |diff| {worst:e}",
            predictions.compared
        );
        assert!(
            worst <= TOLERANCE,
            "{case}: predictions differ from GraphStorm's by {worst:e}"
        );
        accuracy.expect("the node-classification task reports accuracy")
    }

    /// The embeddings of every node against the case's `embeddings.json`
    /// ([`compare_all_embeddings`]).
    pub fn compare_embeddings(&mut self, case: &str) -> Agreement {
        compare_all_embeddings(&self.graph, &self.resolved, &mut self.model, case).0
    }

    /// The host decoder's class probabilities for the test nodes (what GraphStorm's
    /// `--inference` writes) against the case's `predictions.json` by raw id, and gs's test
    /// accuracy.
    pub fn compare_predictions(&mut self, case: &str) -> (Agreement, Option<f64>) {
        let target = self.resolved.train.target_ntype.clone();
        let want = &golden(case, "predictions.json")[target.as_str()];
        let ids = self.task.inference_ids().unwrap();
        let output = self
            .task
            .infer(&mut self.model, &ids, &mut NoProgress)
            .unwrap();
        let classes = output.outputs.size()[1] as usize;
        let probabilities = Vec::<f32>::try_from(output.outputs.flatten(0, -1)).unwrap();
        let mut seen = std::collections::BTreeSet::new();
        let mut worst: f64 = 0.0;
        for (row, id) in probabilities.chunks(classes).zip(&output.ids) {
            let raw = raw_id(&self.graph, &target, *id);
            worst = worst.max(max_abs_diff(row, &want[&raw]));
            seen.insert(raw);
        }
        assert_eq!(
            seen.len(),
            want.as_object().unwrap().len(),
            "every node GraphStorm predicted is compared"
        );
        let accuracy = output
            .scores
            .iter()
            .find(|(m, _)| m.to_string() == "accuracy")
            .map(|(_, s)| s.value);
        (
            Agreement {
                compared: seen.len(),
                max_abs_diff: worst,
            },
            accuracy,
        )
    }
}

/// The test score `training_summary.json` of `<dir>/<model>` records.
pub fn test_score(dir: &Path, model: &str) -> f64 {
    let path = dir.join(model).join("training_summary.json");
    let summary: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    summary["test_score"].as_f64().unwrap()
}

/// The weight shapes of checkpoint `<dir>/<checkpoint>` (`model/epoch-1`), by name.
pub fn weight_shapes(dir: &Path, checkpoint: &str) -> std::collections::BTreeMap<String, Vec<i64>> {
    gs_train::checkpoint::load(&dir.join(checkpoint))
        .unwrap()
        .weights
        .iter()
        .map(|(n, t)| (n.clone(), t.size()))
        .collect()
}
