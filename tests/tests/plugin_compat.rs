//! Plugins built against an earlier contract keep working on this host.
//!
//! `tests/fixtures/plugins/sage-0.1.0.wasm` is the `sage` component exactly as gs built it when
//! the plugin contract was `gs:plugin@0.1.0` (see `tests/fixtures/README.md`). It is a binary
//! on purpose: rebuilding it from today's sources would prove nothing about old components.

use std::path::PathBuf;

use gs_tests::{demo_yaml, run_gs, small_demo_graph};

fn fixture() -> PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/plugins/sage-0.1.0.wasm")
}

#[test]
fn a_component_built_for_0_1_0_is_inspected_and_trains_node_classification() {
    let plugin = fixture();
    let plugin = plugin.to_str().unwrap();
    let tmp = small_demo_graph();
    let dir = tmp.path();

    let inspect = run_gs(dir, &["plugin", "inspect", plugin]).ok();
    assert!(
        inspect.stdout.contains("0.1.0") && inspect.stdout.contains("sage"),
        "{}",
        inspect.stdout
    );

    let yaml = demo_yaml();
    run_gs(
        dir,
        &[
            "node-classification",
            "--num-trainers",
            "1",
            "--part-config",
            "data/demo.json",
            "--cf",
            yaml.to_str().unwrap(),
            "--plugin",
            plugin,
            "--num-epochs",
            "10",
            "--save-model-path",
            "model",
        ],
    )
    .ok();
    let summary: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("model/training_summary.json")).unwrap(),
    )
    .unwrap();
    let test = summary["test_score"].as_f64().unwrap();
    // Four classes: a model that did not train scores about 0.25.
    assert!(
        test > 0.6,
        "the 0.1.0 component trains: test accuracy {test}"
    );
}
