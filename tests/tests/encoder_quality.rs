//! Every built-in encoder learns from message passing what the input layer alone cannot: on a
//! demo graph (600 papers, 300 authors) whose labels are communities that citations and
//! authorship both follow, and whose paper features alone are weak, `sage`, `rgcn`, `rgat`,
//! `hgt`, `gat` and `gatv2` each beat `mlp` (GraphStorm's input layer alone, `num_layers: 0`) by at least
//! [`MARGIN`] test accuracy after the same 20 epochs.

use std::path::Path;

use gs_tests::graphstorm::test_score;
use gs_tests::{MLP_YAML, demo_yaml, run_gs_line, run_nc_on_demo};

/// Test accuracy every encoder must gain over `mlp` (measured: mlp 0.50; gat, gatv2 0.97;
/// rgcn 0.92; hgt 0.90; rgat 0.81; sage 0.80).
const MARGIN: f64 = 0.2;

/// Trains 20 epochs with `yaml` and `extra` flags into `<dir>/<model>`; the test accuracy of
/// the best epoch.
fn train(dir: &Path, yaml: &Path, model: &str, extra: &[&str]) -> f64 {
    let epochs = ["--num-epochs", "20", "--save-model-path", model];
    run_nc_on_demo(dir, yaml, &[&epochs[..], extra].concat()).ok();
    test_score(dir, model)
}

#[test]
fn every_encoder_beats_the_input_layer_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    run_gs_line(
        dir,
        "generate demo --output-dir data --num-papers 600 --num-authors 300",
    )
    .ok();
    let mlp_yaml = dir.join("mlp.yaml");
    std::fs::write(&mlp_yaml, MLP_YAML).unwrap();
    let mlp = train(dir, &mlp_yaml, "mlp", &[]);
    eprintln!("mlp: test accuracy {mlp:.4}");
    for encoder in ["sage", "rgcn", "rgat", "hgt", "gat", "gatv2"] {
        let accuracy = train(
            dir,
            &demo_yaml(),
            encoder,
            &["--model-encoder-type", encoder, "--hidden-size", "16"],
        );
        eprintln!("{encoder}: test accuracy {accuracy:.4}");
        assert!(
            accuracy >= mlp + MARGIN,
            "{encoder}: test accuracy {accuracy:.4}, mlp {mlp:.4}: message passing gains less \
             than {MARGIN}"
        );
    }
}
