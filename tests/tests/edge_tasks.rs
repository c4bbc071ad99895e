//! Edge classification and regression through the real `gs` binary and the built-in `rgcn`
//! plugin, on a generated user–item graph whose ratings carry a planted signal (a bilinear
//! form of the endpoints' features, `gs generate user-item`): training reaches a threshold
//! that an untrained model misses, `--inference` writes GraphStorm's edge-prediction layout
//! with raw ids and recomputable metrics, a restored run continues exactly, and bad input is
//! refused naming the key, the value and the fix.

use std::collections::HashMap;
use std::path::Path;

use gs_graph::EdgeType;
use gs_tests::runs::{
    assert_same_weights, best_test_score, epoch_losses, printed_test_score, training_summary,
    user_item_edge_yaml, user_item_folder,
};
use gs_tests::{GsRun, run_gs};

const RATES: [&str; 3] = ["user", "rates", "item"];

/// A GraphStorm-style YAML (three-level `gsf:` layout) for a 10-epoch edge task on
/// `user,rates,item`.
fn yaml(task: &str, label: &str, extra_task_keys: &str) -> String {
    user_item_edge_yaml(task, label, 10, extra_task_keys)
}

/// A folder with the user–item graph as `data/user-item.json` and the YAML as `task.yaml`.
fn setup(yaml_text: &str) -> tempfile::TempDir {
    user_item_folder(&[("task.yaml", yaml_text)])
}

fn gs_task(dir: &Path, command: &str, extra: &[&str]) -> GsRun {
    let mut args = vec![
        command,
        "--cf",
        "task.yaml",
        "--part-config",
        "data/user-item.json",
        "--num-trainers",
        "1",
    ];
    args.extend_from_slice(extra);
    run_gs(dir, &args)
}

/// The graph's rating edges by raw `(user, item)` id: `(rating, label, split)` where split is
/// `train`, `val`, `test` or empty.
fn ratings_by_raw_id(dir: &Path) -> HashMap<(String, String), (f32, i64, &'static str)> {
    let graph = gs_graph::load(&dir.join("data/user-item.json")).unwrap();
    let et = EdgeType::new(RATES[0], RATES[1], RATES[2]);
    let n = graph.num_edges(&et).unwrap();
    let ids: Vec<u64> = (0..n).collect();
    let (src, dst) = gs_graph::edge_endpoints(&graph, &et, &ids).unwrap();
    let data = |name: &str| graph.edge_data(&et, name).expect(name);
    let rating = data("rating").as_f32().unwrap().to_vec();
    let label = data("label").as_i64().unwrap().to_vec();
    let masks: Vec<(&'static str, Vec<u8>)> = ["train", "val", "test"]
        .into_iter()
        .map(|s| (s, data(&format!("{s}_mask")).as_u8().unwrap().to_vec()))
        .collect();
    (0..n as usize)
        .map(|e| {
            let key = (
                graph.raw_id("user", src[e]).unwrap().to_string(),
                graph.raw_id("item", dst[e]).unwrap().to_string(),
            );
            let split = masks.iter().find(|(_, m)| m[e] != 0).map_or("", |(s, _)| s);
            (key, (rating[e], label[e], split))
        })
        .collect()
}

/// Reads `pred/user_rates_item` and checks that it holds exactly the test edges, by raw id.
fn test_edge_predictions(
    dir: &Path,
    ratings: &HashMap<(String, String), (f32, i64, &'static str)>,
) -> gs_output::EdgePredictions {
    let got = gs_output::read_edge_predictions(&dir.join("pred"), RATES).unwrap();
    let tests = ratings.values().filter(|v| v.2 == "test").count();
    assert_eq!(got.src.len(), tests, "one prediction per test edge");
    let mut seen = std::collections::HashSet::new();
    for (s, d) in got.src.iter().zip(&got.dst) {
        assert!(
            s.starts_with('u') && d.starts_with('i'),
            "raw ids: {s}, {d}"
        );
        let (_, _, split) = ratings[&(s.clone(), d.clone())];
        assert_eq!(split, "test", "({s}, {d}) is a test edge");
        assert!(
            seen.insert((s.clone(), d.clone())),
            "({s}, {d}) predicted twice"
        );
    }
    let info: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("pred/result_info.json")).unwrap())
            .unwrap();
    assert_eq!(info["etypes"][0], serde_json::json!(RATES), "{info}");
    got
}

#[test]
fn edge_classification_learns_the_planted_classes_and_predicts_the_test_edges() {
    let tmp = setup(&yaml(
        "edge_classification",
        "label",
        "    num_classes: 3\n",
    ));
    let dir = tmp.path();
    gs_task(dir, "edge-classification", &["--save-model-path", "model"]).ok();
    let accuracy = best_test_score(&dir.join("model"));
    // Classes are terciles of the planted score: chance is 1/3.
    assert!(accuracy >= 0.8, "test accuracy {accuracy}");

    // The same run with a learning rate of 1e-12 keeps its initial weights: far below.
    gs_task(
        dir,
        "edge-classification",
        &[
            "--lr",
            "1e-12",
            "--num-epochs",
            "1",
            "--save-model-path",
            "untrained",
        ],
    )
    .ok();
    let untrained = best_test_score(&dir.join("untrained"));
    assert!(untrained < 0.6, "an untrained model scores {untrained}");

    let best = training_summary(&dir.join("model"))["best_checkpoint"]
        .as_str()
        .unwrap()
        .to_string();
    let restore = format!("model/{best}");
    let run = gs_task(
        dir,
        "edge-classification",
        &[
            "--inference",
            "--restore-model-path",
            &restore,
            "--save-prediction-path",
            "pred",
        ],
    )
    .ok();
    let printed = printed_test_score(&run, "accuracy");
    assert!((printed - accuracy).abs() < 1e-4, "{printed} vs {accuracy}");

    let ratings = ratings_by_raw_id(dir);
    let got = test_edge_predictions(dir, &ratings);
    let right = (got.src.iter().zip(&got.dst).zip(&got.preds))
        .filter(|((s, d), p)| {
            // `return_proba` (GraphStorm's default): one probability per class.
            assert_eq!(p.len(), 3, "three probabilities per edge");
            let class = (0..3).max_by(|&a, &b| p[a].total_cmp(&p[b])).unwrap();
            class as i64 == ratings[&((*s).clone(), (*d).clone())].1
        })
        .count();
    let recomputed = right as f64 / got.src.len() as f64;
    assert!(
        (recomputed - accuracy).abs() < 1e-6,
        "{recomputed} vs {accuracy}"
    );
}

#[test]
fn edge_regression_beats_the_mean_rating_by_far_and_predicts_the_test_edges() {
    let tmp = setup(&yaml("edge_regression", "rating", ""));
    let dir = tmp.path();
    gs_task(dir, "edge-regression", &["--save-model-path", "model"]).ok();
    let rmse = best_test_score(&dir.join("model"));

    // The constant predictor: the mean training rating.
    let ratings = ratings_by_raw_id(dir);
    let train: Vec<f32> = ratings
        .values()
        .filter(|v| v.2 == "train")
        .map(|v| v.0)
        .collect();
    let mean = train.iter().sum::<f32>() / train.len() as f32;
    let tests: Vec<f32> = ratings
        .values()
        .filter(|v| v.2 == "test")
        .map(|v| v.0)
        .collect();
    let constant =
        (tests.iter().map(|r| (r - mean).powi(2)).sum::<f32>() / tests.len() as f32).sqrt() as f64;
    assert!(
        rmse < 0.35 * constant,
        "test rmse {rmse} vs the mean rating's {constant}"
    );

    let best = training_summary(&dir.join("model"))["best_checkpoint"]
        .as_str()
        .unwrap()
        .to_string();
    let restore = format!("model/{best}");
    let run = gs_task(
        dir,
        "edge-regression",
        &[
            "--inference",
            "--restore-model-path",
            &restore,
            "--save-prediction-path",
            "pred",
        ],
    )
    .ok();
    let printed = printed_test_score(&run, "rmse");
    assert!((printed - rmse).abs() < 1e-4, "{printed} vs {rmse}");
    let got = test_edge_predictions(dir, &ratings);
    let squared: f64 = (got.src.iter().zip(&got.dst).zip(&got.preds))
        .map(|((s, d), p)| {
            assert_eq!(p.len(), 1, "one value per edge");
            let truth = ratings[&(s.clone(), d.clone())].0;
            f64::from(p[0] - truth).powi(2)
        })
        .sum();
    let recomputed = (squared / got.src.len() as f64).sqrt();
    assert!((recomputed - rmse).abs() < 1e-4, "{recomputed} vs {rmse}");
}

#[test]
fn an_edge_task_restored_with_its_optimizer_continues_exactly() {
    let tmp = setup(&yaml("edge_regression", "rating", ""));
    let dir = tmp.path();
    let epochs = ["--num-epochs", "3"];
    let mut full = epochs.to_vec();
    full.extend_from_slice(&["--save-model-path", "full"]);
    gs_task(dir, "edge-regression", &full).ok();
    let mut resumed = epochs.to_vec();
    resumed.extend_from_slice(&[
        "--save-model-path",
        "resumed",
        "--restore-model-path",
        "full/epoch-1",
        "--restore-optimizer-path",
        "full/epoch-1",
    ]);
    gs_task(dir, "edge-regression", &resumed).ok();
    let (a, b) = (
        epoch_losses(&dir.join("full")),
        epoch_losses(&dir.join("resumed")),
    );
    assert_eq!((a.len(), b.len()), (3, 1));
    assert!(
        (a[2] - b[0]).abs() <= 1e-6 * a[2].abs(),
        "{} vs {}",
        a[2],
        b[0]
    );
    let names = assert_same_weights(
        &dir.join("full/epoch-2"),
        &dir.join("resumed/epoch-2"),
        1e-6,
    );
    assert!(
        names.iter().any(|n| n.starts_with("decoder/")),
        "the decoder is saved"
    );
}

#[test]
fn bad_edge_task_input_is_refused_naming_key_value_and_fix() {
    let tmp = setup(&yaml(
        "edge_classification",
        "label",
        "    num_classes: 3\n",
    ));
    let dir = tmp.path();
    let ec = |extra: &[&str]| gs_task(dir, "edge-classification", extra);
    ec(&["--target-etype", "user,likes,item"]).fails_with(
        1,
        &["target_etype", "user,likes,item", "user,rates,item", "hint"],
    );
    ec(&["--target-etype", "user-rates-item"])
        .fails_with(2, &["--target-etype", "src,relation,dst", "hint"]);
    ec(&["--label-field", "stars"]).fails_with(1, &["stars", "user:rates:item", "hint"]);
    ec(&["--num-classes", "2"]).fails_with(1, &["num_classes", "2", "hint"]);
    ec(&["--decoder-type", "FancyDecoder"]).fails_with(
        2,
        &[
            "--decoder-type",
            "FancyDecoder",
            "DenseBiDecoder",
            "MLPDecoder",
        ],
    );
    // MLPEFeatEdgeDecoder reads the target edges' features, so it needs decoder_edge_feat.
    ec(&["--decoder-type", "MLPEFeatEdgeDecoder"])
        .fails_with(1, &["MLPEFeatEdgeDecoder", "decoder_edge_feat", "hint"]);
    ec(&["--num-decoder-basis", "0"]).fails_with(2, &["--num-decoder-basis", "at least 1", "hint"]);
    ec(&["--fanout", "10,10"]).fails_with(2, &["--fanout", "num_layers is 1", "hint"]);
    ec(&["--reverse-edge-types-map", "user,rates,likes,item"])
        .fails_with(1, &["reverse_edge_types_map", "likes", "hint"]);
    // The YAML's section is an edge task: the node command is refused, naming both.
    gs_task(dir, "node-classification", &[]).fails_with(
        1,
        &["edge_classification", "gs node-classification", "hint"],
    );
}
