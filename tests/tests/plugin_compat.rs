//! Plugins built against an earlier contract keep working on this host.
//!
//! `tests/fixtures/plugins/sage-0.1.0.wasm` is the `sage` component exactly as gs built it when
//! the plugin contract was `gs:plugin@0.1.0` (see `tests/fixtures/README.md`). It is a binary
//! on purpose: rebuilding it from today's sources would prove nothing about old components.

use std::path::PathBuf;

use gs_tests::{demo_yaml, plugin_path, run_gs, run_nc_on_demo, small_demo_graph};

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
    run_nc_on_demo(
        dir,
        &yaml,
        &[
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

/// `gs plugin inspect` lists what a component imports, and `--json` prints everything as one
/// object; for an old component it shows the old line's names.
#[test]
fn inspect_lists_the_imports_and_prints_json() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let text = run_gs(dir, &["plugin", "inspect", "sage"]).ok().stdout;
    assert!(text.contains("imports:\n"), "{text}");
    assert!(text.contains("  gs:plugin/tensors@0.1.4\n"), "{text}");

    let inspect_json = |plugin: &str| -> serde_json::Value {
        let out = run_gs(dir, &["plugin", "inspect", "--json", plugin]).ok();
        serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", out.stdout))
    };
    let sage = inspect_json("sage");
    assert_eq!(sage["name"], "sage");
    assert_eq!(sage["wit"], "gs:plugin@0.1.4");
    assert_eq!(sage["declares_capabilities"], true);
    assert!(sage["digest"].as_str().unwrap().starts_with("sha256:"));
    let imports: Vec<&str> = sage["imports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for expected in ["gs:plugin/tensors@0.1.4", "gs:plugin/graph@0.1.4"] {
        assert!(imports.contains(&expected), "{imports:?}");
    }
    let custom = sage["custom_arguments"].as_array().unwrap();
    assert!(
        custom
            .iter()
            .any(|a| a["name"] == "aggregator" && a["default"] == "pool"),
        "{custom:?}"
    );

    let old = inspect_json(fixture().to_str().unwrap());
    assert_eq!(old["wit"], "gs:plugin@0.1.0");
    assert_eq!(old["declares_capabilities"], false);
    assert!(
        old["imports"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v == "gs:plugin/tensors@0.1.0"),
        "{old}"
    );
}

#[test]
fn plugin_test_runs_every_step_and_names_the_one_that_fails() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let sage = run_gs(dir, &["plugin", "test", "sage"]).ok().stdout;
    for step in [
        "ok      load",
        "ok      describe",
        "ok      init",
        "ok      forward (training)",
        "ok      loss",
        "ok      backward (some weight gets a gradient)",
        "ok      optimizer step (some weight changes)",
        "ok      save a checkpoint",
        "ok      reload it into a fresh instance: identical outputs",
        "ok      determinism: a second run from the same seed",
        "all 10 steps passed",
    ] {
        assert!(sage.contains(step), "missing {step:?} in:\n{sage}");
    }

    let test_plugin = |name: &str, args: &[&str]| {
        let path = plugin_path(name);
        let mut line = vec!["plugin", "test", path.to_str().unwrap()];
        if !args.is_empty() {
            line.push("--");
            line.extend_from_slice(args);
        }
        run_gs(dir, &line)
    };
    let cases: [(&str, &[&str], &str, &[&str]); 4] = [
        (
            "test-wrong-version",
            &[],
            "load (a component of a supported gs:plugin line)",
            &["was built for gs:plugin@0.99.0", "upgrade gs"],
        ),
        (
            "test-panic",
            &[],
            "forward (training)",
            &["deliberate panic in forward"],
        ),
        (
            "test-bad-shapes",
            &["--bad", "loss-constant"],
            "loss",
            &["does not depend on the outputs"],
        ),
        (
            "test-bad-shapes",
            &["--bad", "forward-random"],
            "determinism: a second run from the same seed",
            &["the loss was"],
        ),
    ];
    for (plugin, args, step, reasons) in cases {
        let run = test_plugin(plugin, args);
        println!("--- {plugin} {args:?}:\n{}{}", run.stdout, run.stderr);
        let failed = format!("step `{step}` failed");
        let mut needles = vec![failed.as_str()];
        needles.extend_from_slice(reasons);
        run.fails_with(1, &needles);
        assert!(
            run.stdout.contains(&format!("FAILED  {step}")),
            "{}",
            run.stdout
        );
    }
}
