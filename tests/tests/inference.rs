//! Inference options through the real `gs` binary: `eval_fanout` samples the neighbourhoods
//! predictions see, `use_mini_batch_infer: false` is full-graph inference (every neighbour,
//! whatever `eval_fanout` says), and `save_prediction_path` decides whether and where
//! predictions are written.

use std::path::Path;

use gs_tests::run_gs as gs;

fn infer(dir: &Path, extra: &[&str]) -> gs_tests::GsRun {
    let mut args = vec![
        "launch",
        "--inference",
        "--num-trainers",
        "1",
        "--part-config",
        "data/demo.json",
        "--restore-model-path",
        "model/epoch-1",
    ];
    args.extend_from_slice(extra);
    gs(dir, &args).ok()
}

fn predictions(dir: &Path, folder: &str) -> Vec<Vec<f32>> {
    gs_output::read_node_predictions(&dir.join(folder), "paper")
        .unwrap()
        .1
}

fn max_difference(a: &[Vec<f32>], b: &[Vec<f32>]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .flatten()
        .zip(b.iter().flatten())
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn eval_fanout_use_mini_batch_infer_and_save_prediction_path_act() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    gs_tests::run_gs_line(
        dir,
        "generate demo --output-dir data --num-papers 300 --num-authors 150",
    )
    .ok();
    let yaml = gs_tests::demo_yaml();
    gs(
        dir,
        &[
            "launch",
            "--num-trainers",
            "1",
            "--part-config",
            "data/demo.json",
            "--cf",
            yaml.to_str().unwrap(),
            "--plugin",
            "sage",
            "--hidden-size",
            "16",
            "--num-epochs",
            "2",
            "--save-model-path",
            "model",
        ],
    )
    .ok();

    // save_prediction_path: nothing without it, the files with it.
    let run = infer(dir, &[]);
    assert!(
        run.stdout.contains("predictions not saved"),
        "{}",
        run.stdout
    );
    assert!(!dir.join("pred").exists());
    infer(dir, &["--save-prediction-path", "full"]);
    let full = predictions(dir, "full");
    assert!(!full.is_empty());

    // eval_fanout 1,1 sees one neighbour per layer: other predictions than all neighbours.
    infer(
        dir,
        &["--eval-fanout", "1,1", "--save-prediction-path", "sampled"],
    );
    let sampled = predictions(dir, "sampled");
    assert!(
        max_difference(&full, &sampled) > 1e-4,
        "eval_fanout changes the predictions"
    );

    // Full-graph inference ignores eval_fanout: the all-neighbour predictions.
    infer(
        dir,
        &[
            "--eval-fanout",
            "1,1",
            "--use-mini-batch-infer",
            "false",
            "--save-prediction-path",
            "full-graph",
        ],
    );
    let full_graph = predictions(dir, "full-graph");
    assert!(
        max_difference(&full, &full_graph) <= 1e-6,
        "use_mini_batch_infer false sees every neighbour"
    );
}
