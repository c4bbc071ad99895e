//! gs's host-side decoders proven against the real GraphStorm 0.5.1: the `rgcn` plugin with
//! GraphStorm's trained weights and the host's DistMult, dot-product, RotatE and TransE
//! link-prediction scores, and DenseBiDecoder, MLPDecoder and MLPEFeatEdgeDecoder edge
//! regression and classification (`tests/fixtures/graphstorm-models/{lp-rgcn-distmult,
//! lp-rgcn-dot,lp-rgcn-rotate,lp-rgcn-transe-l1,lp-rgcn-transe-l2,er-rgcn,er-rgcn-mlp,ec-rgcn,
//! ec-rgcn-mlpefeat}`) give GraphStorm's embeddings, scores and predictions, with GraphStorm's
//! conventions for which edges carry messages at inference.

use std::collections::{BTreeMap, BTreeSet};

use gs_graph::EdgeType;
use gs_tensor::Tensor;
use gs_tests::graphstorm::{self, Agreement, TOLERANCE, golden, raw_id};
use gs_train::{EdgeTask, LinkPredictionTask, NoProgress, TaskModel};

/// Every node of dgl-tiny: 12 authors and 30 papers.
const NODES: usize = 42;

/// Every `paper,cites,paper` edge, each scored in `lp_scores.json`.
const CITES: usize = 58;

fn assert_agrees(what: &str, agreement: Agreement, compared: usize) {
    eprintln!("{what}: {agreement:?}");
    assert_eq!(agreement.compared, compared, "{what}: rows compared");
    assert!(agreement.max_abs_diff <= TOLERANCE, "{what}: {agreement:?}");
}

/// A link-prediction golden case: the LP task, and the `rgcn` plugin with GraphStorm's
/// encoder and decoder weights loaded by name.
fn lp_case(case: &str, extra_args: &[&str]) -> (LinkPredictionTask, TaskModel) {
    let (graph, resolved) = graphstorm::resolve_case_with(case, extra_args);
    assert_eq!(resolved.train.model_encoder_type.as_deref(), Some("rgcn"));
    let task = LinkPredictionTask::new(graph, resolved.train.clone(), gs_tensor::Device::Cpu)
        .expect("GraphStorm's link-prediction YAML is a gs task");
    let (instance, custom_args) = graphstorm::plugin_instance("rgcn", &resolved);
    let mut model = task.plugin_model(instance, custom_args).unwrap();
    graphstorm::load_graphstorm_weights(&mut model, case);
    (task, model)
}

/// gs's embeddings of every node, with message passing as `gen-node-embedding`
/// (`embeddings.json`: every edge) and as link-prediction evaluation and `--inference`
/// (`inference_embeddings.json`: `train_mask` edges of `cites`, every edge of the types
/// without a mask, reverses included), and the score function on every cites edge from
/// each, against GraphStorm's `lp_scores.json`.
fn check_lp_case(case: &str, task: &LinkPredictionTask, model: &mut TaskModel) {
    let cites = EdgeType::new("paper", "cites", "paper");
    let scores = golden(case, "lp_scores.json");
    assert_eq!(scores["etype"], "paper,cites,paper");
    for (file, masked) in [
        ("embeddings.json", false),
        ("inference_embeddings.json", true),
    ] {
        let embeddings = task
            .all_node_embeddings(model, masked, &mut NoProgress)
            .unwrap();
        let (agreement, by_raw) =
            graphstorm::compare_node_embeddings(task.graph(), &embeddings, &golden(case, file));
        assert_agrees(&format!("{case} {file}"), agreement, NODES);

        let rows = scores["scores"][file].as_array().unwrap();
        let pick = |column: usize| {
            let rows: Vec<Tensor> = rows
                .iter()
                .map(|r| Tensor::from_slice(&by_raw[r[column].as_str().unwrap()]))
                .collect();
            Tensor::stack(&rows, 0)
        };
        let got = task.score_pairs(model, &cites, &pick(0), &pick(1)).unwrap();
        let got = Vec::<f32>::try_from(got).unwrap();
        let worst = rows
            .iter()
            .zip(&got)
            .map(|(r, g)| (f64::from(*g) - r[3].as_f64().unwrap()).abs())
            .fold(0.0, f64::max);
        let agreement = Agreement {
            compared: got.len(),
            max_abs_diff: worst,
        };
        assert_agrees(&format!("{case} scores on {file}"), agreement, CITES);
    }
}

/// GraphStorm's DistMult weights (`decoder._w_relation.weight`, one row per canonical edge
/// type in partition order) become gs's relation table row for row by edge type; embeddings
/// and DistMult scores `Σ h_src·r·h_dst` match GraphStorm's within 1e-5. The case trains on
/// `author,writes,paper`, which has no `train_mask`: gs, as GraphStorm, takes every edge.
#[test]
fn graphstorm_distmult_weights_give_graphstorm_embeddings_and_lp_scores() {
    let case = "lp-rgcn-distmult";
    let (task, mut model) = lp_case(case, &[]);
    let writes = EdgeType::new("author", "writes", "paper");
    let all_writes = task.graph().num_edges(&writes).unwrap();
    let cites_train = task
        .graph()
        .num_edges(&EdgeType::new("paper", "cites", "paper"));
    let train = task.split("train_mask").unwrap();
    assert!(
        train.len() as u64 > all_writes && (train.len() as u64) < all_writes + cites_train.unwrap(),
        "every writes edge and the cites training edges: {} of {all_writes} + {cites_train:?}",
        train.len()
    );

    assert_relations_are_graphstorms(case, &task, &model, 8);
    check_lp_case(case, &task, &mut model);
}

/// gs's relation table (`gs` exports it as GraphStorm's `rel_emb`) equals GraphStorm's
/// `rel_emb.json` row for row, matched by canonical edge type through `relation2id_map`:
/// one row of `width` per canonical edge type, in partition order.
fn assert_relations_are_graphstorms(
    case: &str,
    task: &LinkPredictionTask,
    model: &TaskModel,
    width: usize,
) {
    let (etypes, table) = task
        .relation_embeddings(model)
        .expect("the decoder has relations");
    assert_eq!(etypes.len(), 4, "one row per canonical edge type");
    assert_eq!(table.size()[1] as usize, width, "{case}: relation width");
    let rel = golden(case, "rel_emb.json");
    let rows = Vec::<f32>::try_from(table.flatten(0, -1)).unwrap();
    for (et, row) in etypes.iter().zip(rows.chunks(width)) {
        let key = format!("('{}', '{}', '{}')", et.src, et.rel, et.dst);
        let id = rel["relation2id_map"][&key]
            .as_u64()
            .unwrap_or_else(|| panic!("GraphStorm has relation `{key}`"));
        // Equal as float32: `rel_emb.json` went through float64.
        let diff = graphstorm::max_abs_diff(row, &rel["rel_emb"][id as usize]);
        assert!(
            diff < 1e-7,
            "{case}: relation row of `{key}` differs by {diff}"
        );
    }
}

/// RotatE (`γ − Σ_k |h_src,k · e^{iπ r_k / (γ/d)} − h_dst,k|` over complex halves, γ = 12,
/// GraphStorm's default): GraphStorm's phase table (`[4, hidden/2]`) becomes gs's row for row,
/// and the scores of every cites edge match GraphStorm's own decoder's within 1e-5.
#[test]
fn graphstorm_rotate_weights_give_graphstorm_lp_scores() {
    let case = "lp-rgcn-rotate";
    let (task, mut model) = lp_case(case, &[]);
    assert_eq!(golden(case, "lp_scores.json")["gamma"], 12.0);
    assert_relations_are_graphstorms(case, &task, &model, 4);
    check_lp_case(case, &task, &mut model);
}

/// TransE with the L1 and L2 norms (`γ − ‖h_src + r − h_dst‖₁ / ₂`, γ = 12): relations row for
/// row and GraphStorm's scores within 1e-5.
#[test]
fn graphstorm_transe_weights_give_graphstorm_lp_scores() {
    for case in ["lp-rgcn-transe-l1", "lp-rgcn-transe-l2"] {
        let (task, mut model) = lp_case(case, &[]);
        assert_relations_are_graphstorms(case, &task, &model, 8);
        check_lp_case(case, &task, &mut model);
    }
}

/// The dot-product decoder has no weights (GraphStorm saves no `decoder` key, gs has none);
/// embeddings and scores `Σ h_src·h_dst` match GraphStorm's within 1e-5.
#[test]
fn graphstorm_weights_with_the_dot_decoder_give_graphstorm_embeddings_and_lp_scores() {
    let case = "lp-rgcn-dot";
    let (task, mut model) = lp_case(case, &[]);
    assert!(task.relation_embeddings(&model).is_none());
    assert!(
        model
            .named_weights()
            .iter()
            .all(|(n, _)| !n.starts_with("decoder/")),
        "the dot decoder has no weights"
    );
    check_lp_case(case, &task, &mut model);
}

/// gs's `mask_reverse_edges` is where gs may deliberately differ from GraphStorm: the reverses
/// of validation and test citations (`cites-rev`, which has no mask) stop carrying messages in
/// link prediction's evaluation embeddings, which then differ from GraphStorm's, while
/// `gen-node-embedding` (every edge) is unchanged.
#[test]
fn mask_reverse_edges_keeps_validation_edges_out_through_their_reverses() {
    let case = "lp-rgcn-dot";
    let (task, mut model) = lp_case(case, &["--mask-reverse-edges", "true"]);
    assert!(task.config().mask_reverse_edges);
    let graph = task.graph();
    let golden_of = |file: &str, masked: bool, model: &mut TaskModel| {
        let embeddings = task
            .all_node_embeddings(model, masked, &mut NoProgress)
            .unwrap();
        graphstorm::compare_node_embeddings(graph, &embeddings, &golden(case, file)).0
    };
    assert_agrees(
        "every edge, mask_reverse_edges",
        golden_of("embeddings.json", false, &mut model),
        NODES,
    );
    let masked = golden_of("inference_embeddings.json", true, &mut model);
    eprintln!("train_mask edges, mask_reverse_edges: {masked:?}");
    assert!(
        masked.max_abs_diff > 1e-3,
        "masking cites-rev changes the evaluation embeddings: {masked:?}"
    );
}

/// An edge-task golden case on `author,writes,paper`: GraphStorm's encoder and decoder weights
/// loaded by name give GraphStorm's inference embeddings of every node (every edge type carries
/// messages at inference, although training removed the target type) and its prediction for
/// each of the `predicted` edges `--inference` wrote (a value for regression, the class
/// probabilities for classification), matched by raw ids, within 1e-5.
fn assert_edge_case_is_graphstorms(case: &str, predicted: usize) {
    let (graph, resolved) = graphstorm::resolve_case(case);
    assert_eq!(resolved.train.model_encoder_type.as_deref(), Some("rgcn"));
    assert!(resolved.train.remove_target_edge_type);
    let task = EdgeTask::new(
        graph.clone(),
        resolved.train.clone(),
        gs_tensor::Device::Cpu,
    )
    .unwrap();
    let (instance, custom_args) = graphstorm::plugin_instance("rgcn", &resolved);
    let mut model = task.plugin_model(instance, custom_args).unwrap();
    graphstorm::load_graphstorm_weights(&mut model, case);

    let embeddings: gs_train::NodeEmbeddings = task
        .embedding_node_types()
        .into_iter()
        .map(|nt| {
            let (_, h) = task
                .node_embeddings(&mut model, &nt, &mut NoProgress)
                .unwrap();
            (nt, h)
        })
        .collect();
    let (agreement, _) =
        graphstorm::compare_node_embeddings(&graph, &embeddings, &golden(case, "embeddings.json"));
    assert_agrees(&format!("{case} inference embeddings"), agreement, NODES);

    let writes = EdgeType::new("author", "writes", "paper");
    let ids = task.inference_ids().unwrap();
    assert_eq!(ids.len(), predicted, "{case}: edges to predict");
    let output = task.infer(&mut model, &ids, &mut NoProgress).unwrap();
    assert_eq!(output.etype, writes);
    let width = output.outputs.size()[1] as usize;
    let values = Vec::<f32>::try_from(output.outputs.flatten(0, -1)).unwrap();
    let want: BTreeMap<(String, String), serde_json::Value> =
        golden(case, "predictions.json")["author_writes_paper"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                let key = (r[0].as_str().unwrap().into(), r[1].as_str().unwrap().into());
                (key, r[2].clone())
            })
            .collect();
    let mut seen = BTreeSet::new();
    let mut worst: f64 = 0.0;
    for ((src, dst), got) in output.src.iter().zip(&output.dst).zip(values.chunks(width)) {
        let key = (
            raw_id(&graph, "author", *src),
            raw_id(&graph, "paper", *dst),
        );
        let w = want
            .get(&key)
            .unwrap_or_else(|| panic!("{case}: GraphStorm predicted {key:?}"));
        worst = worst.max(graphstorm::max_abs_diff(got, w));
        seen.insert(key);
    }
    assert_eq!(
        seen.len(),
        want.len(),
        "{case}: every edge GraphStorm predicted"
    );
    let agreement = Agreement {
        compared: seen.len(),
        max_abs_diff: worst,
    };
    assert_agrees(&format!("{case} predictions"), agreement, predicted);
}

/// GraphStorm's DenseBiDecoder (`decoder.basis_para`, `decoder.combine_basis.*`,
/// `decoder.regression_head.*`, `nn.Linear` weights transposed to gs's `[in, out]`) loads into
/// gs's edge-regression decoder by name. `author,writes,paper` has no masks, so gs's
/// `--inference` predicts all 60 edges, as GraphStorm's.
#[test]
fn graphstorm_dense_bi_decoder_weights_give_graphstorm_edge_regression_predictions() {
    assert_edge_case_is_graphstorms("er-rgcn", 60);
}

/// GraphStorm's `MLPDecoder` for regression (`[h_src, h_dst] @ decoder + bias`, then
/// `regression_head`, no activation between), all 60 edges.
#[test]
fn graphstorm_mlp_decoder_weights_give_graphstorm_edge_regression_predictions() {
    assert_edge_case_is_graphstorms("er-rgcn-mlp", 60);
}

/// Edge classification on the copy of dgl-tiny whose `writes` edges carry a 3-class label
/// (`graph-ec`): GraphStorm's DenseBiDecoder with a softmax over `combine_basis`'s 3 logits,
/// and its `MLPEFeatEdgeDecoder`, which also reads the target edge's own feature `w`, raw
/// (`relu([relu([h_src, h_dst] @ nn_decoder), relu(w @ feat_decoder)] @ combine_decoder) @
/// decoder + bias`). Both predict GraphStorm's probabilities for the 12 test edges.
#[test]
fn graphstorm_edge_classification_decoders_give_graphstorm_probabilities() {
    assert_edge_case_is_graphstorms("ec-rgcn", 12);
    assert_edge_case_is_graphstorms("ec-rgcn-mlpefeat", 12);
}
