//! A plugin author's loop, in a temporary folder outside the repository: `gs plugin new` →
//! `gs plugin build` (offline, from the lockfile gs wrote) → `gs plugin test` →
//! `gs launch --plugin` trains above chance → `--inference` from its checkpoint.

use std::path::Path;

use gs_tests::{GsRun, gs_command, run_gs, run_gs_line};

/// `gs` in `dir` as a user would run it, with cargo kept offline and the project's own target
/// folder (no target folder or flags inherited from the test's cargo).
fn gs_offline(dir: &Path, args: &[&str]) -> GsRun {
    let out = gs_command(dir)
        .args(args)
        .env("CARGO_NET_OFFLINE", "true")
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET_DIR")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .output()
        .expect("gs runs");
    GsRun::from(out)
}

/// The version of `package` in a Cargo.lock.
fn locked_version(lock: &str, package: &str) -> String {
    let entry = lock
        .split("[[package]]")
        .find(|e| e.contains(&format!("name = \"{package}\"\n")))
        .unwrap_or_else(|| panic!("{package} is not in the lock"));
    entry
        .lines()
        .find_map(|l| l.strip_prefix("version = \""))
        .unwrap()
        .trim_end_matches('"')
        .to_string()
}

#[test]
fn new_build_test_launch_and_infer_a_rust_plugin_outside_the_repository() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();

    let created = gs_offline(dir, &["plugin", "new", "my-model"]).ok();
    assert!(
        created.stdout.contains("created ./my-model"),
        "{}",
        created.stdout
    );
    let project = dir.join("my-model");
    for file in [
        "Cargo.toml",
        "Cargo.lock",
        "README.md",
        "src/lib.rs",
        "gs-plugin-sdk/Cargo.toml",
        "gs-plugin-sdk/src/lib.rs",
        "wit/model.wit",
    ] {
        assert!(project.join(file).is_file(), "the project lacks {file}");
    }
    gs_offline(dir, &["plugin", "new", "my-model"]).fails_with(1, &["already exists"]);
    gs_offline(dir, &["plugin", "new", "My Model"]).fails_with(1, &["cannot name a plugin"]);

    let built = gs_offline(dir, &["plugin", "build", "my-model"]);
    println!("--- gs plugin build:\n{}\n{}", built.stdout, built.stderr);
    let built = built.ok();
    assert!(
        built.stdout.contains("my-model 0.1.0: gs:plugin@0.1.4"),
        "{}",
        built.stdout
    );
    for line in [
        "`name` section kept",
        "language: rust",
        "description: A gs model plugin.",
        "license: Apache-2.0",
    ] {
        assert!(built.stdout.contains(line), "{}", built.stdout);
    }
    let wasm = project.join("target/wasm32-wasip2/release/my_model.wasm");
    // Building again (cargo has nothing to do) leaves one metadata section, not two.
    let size = std::fs::metadata(&wasm).unwrap().len();
    gs_offline(dir, &["plugin", "build", "my-model"]).ok();
    assert_eq!(std::fs::metadata(&wasm).unwrap().len(), size);
    assert!(wasm.is_file());
    // The build kept the versions gs was built with.
    let repo_lock = include_str!("../../plugins/Cargo.lock");
    let project_lock = std::fs::read_to_string(project.join("Cargo.lock")).unwrap();
    assert_eq!(
        locked_version(&project_lock, "wit-bindgen"),
        locked_version(repo_lock, "wit-bindgen")
    );

    let tested = gs_offline(&project, &["plugin", "test"]).ok();
    assert!(
        tested.stdout.contains("all 10 steps passed"),
        "{}",
        tested.stdout
    );

    assert_trains_above_chance_and_infers(dir, wasm.to_str().unwrap());
}

/// `gs launch --plugin <wasm>` on the demo graph: test accuracy above 0.55 after 8 epochs (below
/// 0.5 untrained), then `--inference` from the best checkpoint alone gives the same accuracy
/// and writes predictions.
fn assert_trains_above_chance_and_infers(dir: &Path, wasm: &str) {
    run_gs_line(
        dir,
        "generate demo --output-dir data --num-papers 200 --num-authors 100",
    )
    .ok();
    let yaml = gs_tests::demo_yaml();
    let train = |epochs: &str, lr: &str, save: &str| {
        run_gs(
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
                wasm,
                "--hidden-size",
                "16",
                "--num-epochs",
                epochs,
                "--lr",
                lr,
                "--save-model-path",
                save,
            ],
        )
        .ok()
    };
    train("1", "1e-9", "untrained");
    let run = train("8", "0.01", "model");
    let untrained = gs_tests::graphstorm::test_score(dir, "untrained");
    let trained = gs_tests::graphstorm::test_score(dir, "model");
    println!("my-model on the demo graph: test accuracy {trained} (untrained {untrained})");
    assert!(trained > 0.55, "test accuracy {trained}\n{}", run.stdout);
    assert!(untrained < 0.5, "untrained: {untrained}");

    // Inference from the best checkpoint alone: its component, weights and configuration.
    let inferred = gs_tests::runs::infer_from_best_checkpoint(
        dir,
        "model",
        &["--save-prediction-path", "pred"],
    );
    assert!(
        inferred
            .stdout
            .contains(&format!("test accuracy: {trained:.4}")),
        "{}",
        inferred.stdout
    );
    let (nids, _) = gs_output::read_node_predictions(&dir.join("pred"), "paper").unwrap();
    assert!(!nids.is_empty());
}

#[test]
fn new_build_test_launch_and_infer_a_python_plugin_outside_the_repository() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();

    gs_offline(dir, &["plugin", "new", "my-model", "--lang", "python"]).ok();
    let project = dir.join("my-model");
    for file in [
        "app.py",
        "pyproject.toml",
        "README.md",
        "gs_plugin/__init__.py",
        "gs_plugin/nn.py",
        "wit/model.wit",
    ] {
        assert!(project.join(file).is_file(), "the project lacks {file}");
    }
    gs_offline(dir, &["plugin", "new", "x", "--lang", "cobol"]).fails_with(1, &["--lang cobol"]);

    let built = gs_offline(dir, &["plugin", "build", "my-model"]);
    println!("--- gs plugin build:\n{}\n{}", built.stdout, built.stderr);
    let built = built.ok();
    assert!(
        built
            .stdout
            .contains("my-model 0.1.0: gs:plugin@0.1.4, SDK 0.1.0"),
        "{}",
        built.stdout
    );
    for line in [
        "`name` section kept",
        "language: python",
        "description: A gs model plugin written in Python.",
        "license: Apache-2.0",
    ] {
        assert!(built.stdout.contains(line), "{}", built.stdout);
    }
    let wasm = project.join("target/my_model.wasm");
    let inspected = gs_offline(
        dir,
        &["plugin", "inspect", "--json", wasm.to_str().unwrap()],
    )
    .ok();
    let inspected: serde_json::Value = serde_json::from_str(&inspected.stdout).unwrap();
    assert_eq!(inspected["metadata"]["language"], "python");
    assert_eq!(inspected["sdk_version"], "0.1.0");

    let tested = gs_offline(&project, &["plugin", "test"]).ok();
    assert!(
        tested.stdout.contains("all 10 steps passed"),
        "{}",
        tested.stdout
    );
    // A bad custom argument is the plugin's error, named.
    gs_offline(&project, &["plugin", "test", "--", "--residual", "maybe"])
        .fails_with(1, &["step `init` failed", "--residual 'maybe'"]);

    assert_trains_above_chance_and_infers(dir, wasm.to_str().unwrap());

    // A bug in the model: the exception reaches the user with its Python traceback.
    let app = project.join("app.py");
    let source = std::fs::read_to_string(&app).unwrap();
    let marker = "        # Every call below is one host call";
    assert!(source.contains(marker));
    std::fs::write(
        &app,
        source.replace(marker, &format!("        1 / 0\n{marker}")),
    )
    .unwrap();
    gs_offline(dir, &["plugin", "build", "my-model"]).ok();
    let failed = gs_offline(&project, &["plugin", "test"]);
    println!(
        "--- gs plugin test of the broken model:\n{}{}",
        failed.stdout, failed.stderr
    );
    failed.fails_with(
        1,
        &[
            "step `forward (training)` failed",
            "Python exception in `forward`",
            "ZeroDivisionError: division by zero",
            "app.py\", line",
        ],
    );
}
