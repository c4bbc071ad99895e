//! `examples/python-sage`, GraphSAGE written in Python, against the Rust `sage`: built by
//! `gs plugin build` with componentize-py outside the repository, it trains on the demo graph
//! to the same losses and test accuracy as the Rust plugin (same weights, same host ops, same
//! seed, dropout included), and `--inference` from its checkpoint gives that accuracy again.

use std::path::Path;

use gs_tests::{graphstorm::test_score, run_gs};

fn train(dir: &Path, plugin: &str, save: &str) -> Vec<f64> {
    let yaml = gs_tests::demo_yaml();
    let run = run_gs(
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
            plugin,
            "--hidden-size",
            "16",
            "--num-epochs",
            "8",
            "--dropout",
            "0.1",
            "--save-model-path",
            save,
        ],
    )
    .ok();
    let losses = gs_tests::runs::epoch_losses(&dir.join(save));
    assert_eq!(losses.len(), 8, "{}", run.stderr);
    losses
}

#[test]
fn python_sage_trains_as_the_rust_sage_and_infers_from_its_checkpoint() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/python-sage");
    let project = dir.join("python-sage");
    std::fs::create_dir(&project).unwrap();
    for file in ["app.py", "pyproject.toml"] {
        std::fs::copy(example.join(file), project.join(file)).unwrap();
    }
    let built = run_gs(dir, &["plugin", "build", "python-sage"]);
    println!("--- gs plugin build:\n{}\n{}", built.stdout, built.stderr);
    let built = built.ok();
    assert!(
        built
            .stdout
            .contains("python-sage 0.1.0: gs:plugin@0.1.4, SDK 0.1.0"),
        "{}",
        built.stdout
    );
    let wasm = project.join("target/python_sage.wasm");

    gs_tests::run_gs_line(
        dir,
        "generate demo --output-dir data --num-papers 200 --num-authors 100",
    )
    .ok();
    let rust = train(dir, "sage", "rust");
    let python = train(dir, wasm.to_str().unwrap(), "python");
    println!("train losses: rust {rust:?}, python {python:?}");
    assert_eq!(python, rust, "the Python plugin trains differently");
    let (rust_acc, python_acc) = (test_score(dir, "rust"), test_score(dir, "python"));
    println!("test accuracy: rust {rust_acc}, python {python_acc}");
    assert!((python_acc - rust_acc).abs() <= 0.02);
    assert!(
        python_acc > 0.5,
        "python-sage learned nothing: {python_acc}"
    );

    let inferred = gs_tests::runs::infer_from_best_checkpoint(dir, "python", &[]);
    assert!(
        inferred
            .stdout
            .contains(&format!("test accuracy: {python_acc:.4}")),
        "{}",
        inferred.stdout
    );
}
