//! Adversarial plugins (real components from `tests/plugins/`) against the runtime's sandbox.
//!
//! Each case loads a plugin that misbehaves in one way, checks that the host stops it with the
//! right failure class and a message that names the plugin, the export and the fix, checks that
//! the failed instance refuses further calls, and checks that the host is still usable: the
//! built-in `sage` loads, initialises and runs a forward pass in the same engine afterwards.
//! Limits are set small where that keeps a case fast; every case takes well under a few
//! seconds. The `plugin_*_limits_*` tests run each sandbox option through the real `gs` (or,
//! for deadlines below its one-second resolution, the runtime API) with its default and with
//! a low value, and assert the difference: the options table names them.

use std::path::Path;
use std::time::{Duration, Instant};

use gs_batch::{DecodeTargets, Mode, ModelConfig};
use gs_runtime::{PluginEngine, PluginError, PluginFailure, PluginInstance, PluginLimits};
use gs_tensor::{Kind, Tensor};
use gs_tests::{
    GsRun, HIDDEN, NUM_TARGETS, instantiate, params, plugin_path, run_gs, temp_engine, tiny_batch,
    tiny_config, tiny_schema,
};

/// The host survived: `sage` loads in the same engine and runs `init` and `forward`.
fn assert_host_still_usable(engine: &PluginEngine) {
    let mut sage = instantiate(engine, "sage", PluginLimits::default())
        .expect("sage instantiates after the failure");
    sage.init(&tiny_config(), &tiny_schema())
        .expect("sage init after the failure");
    let outputs = sage
        .forward(&tiny_batch(), Mode::Eval)
        .expect("sage forward after the failure");
    let (_, paper) = outputs
        .iter()
        .find(|(t, _)| t == "paper")
        .expect("sage returns `paper` embeddings");
    assert_eq!(paper.size(), [NUM_TARGETS, i64::from(HIDDEN)]);
}

/// `err` is a failure in `export` of the class `is_class` accepts.
fn assert_failed(err: &PluginError, export: &str, is_class: impl Fn(&PluginFailure) -> bool) {
    match err {
        PluginError::Failed {
            export: failed,
            failure,
            ..
        } if *failed == export && is_class(failure) => {}
        other => panic!("expected another failure in `{export}`, got {other:?}"),
    }
}

/// A failed instance refuses every later call, naming the export that failed.
fn assert_stopped(instance: &mut PluginInstance, plugin: &str, failed_in: &str) {
    let err = instance
        .forward(&tiny_batch(), Mode::Train)
        .expect_err("a failed instance must not run again");
    match &err {
        PluginError::Stopped { plugin: p, export } => {
            assert_eq!(p, plugin);
            assert_eq!(*export, failed_in);
        }
        other => panic!("expected PluginError::Stopped, got {other:?}"),
    }
    let message = err.to_string();
    assert!(message.contains(&format!("`{failed_in}`")), "{message}");
    assert!(message.contains("load the plugin again"), "{message}");
}

/// `plugin` instantiated under `limits` and initialised on the tiny graph.
fn ready(engine: &PluginEngine, plugin: &str, limits: PluginLimits) -> PluginInstance {
    let mut instance = instantiate(engine, plugin, limits)
        .unwrap_or_else(|e| panic!("{plugin} instantiates: {e}"));
    assert_eq!(instance.info().name, plugin);
    instance
        .init(&tiny_config(), &tiny_schema())
        .unwrap_or_else(|e| panic!("{plugin} init: {e}"));
    instance
}

/// `forward` on the tiny batch must fail; returns the error, its message and how long it took.
fn failing_forward(instance: &mut PluginInstance) -> (PluginError, String, Duration) {
    let start = Instant::now();
    let err = instance
        .forward(&tiny_batch(), Mode::Train)
        .expect_err("forward must fail");
    let took = start.elapsed();
    let message = err.to_string();
    println!("--- {} ({took:.2?}):\n{message}\n", instance.info().name);
    (err, message, took)
}

fn assert_names(message: &str, needles: &[&str]) {
    for needle in needles {
        assert!(
            message.contains(needle),
            "the message should contain {needle:?}:\n{message}"
        );
    }
}

#[test]
fn infinite_loop_is_stopped_at_the_call_deadline() {
    let (engine, _cache) = temp_engine();
    let limits = PluginLimits {
        call_timeout: Duration::from_secs(1),
        ..PluginLimits::default()
    };
    let mut instance = ready(&engine, "test-infinite-loop", limits);
    let (err, message, took) = failing_forward(&mut instance);
    assert_failed(&err, "forward", |f| {
        matches!(f, PluginFailure::Deadline { .. })
    });
    assert!(
        took >= Duration::from_millis(900),
        "stopped before its deadline: {took:?}"
    );
    assert!(
        took < Duration::from_secs(5),
        "stopped long after its 1 s deadline: {took:?}"
    );
    assert_names(
        &message,
        &[
            "`test-infinite-loop`",
            "`forward`",
            "deadline of 1 s",
            "--plugin-call-timeout",
        ],
    );
    assert_stopped(&mut instance, "test-infinite-loop", "forward");
    assert_host_still_usable(&engine);
}

#[test]
fn memory_bomb_is_stopped_at_the_memory_cap() {
    let (engine, _cache) = temp_engine();
    let limits = PluginLimits {
        memory_bytes: 64 << 20,
        ..PluginLimits::default()
    };
    let mut instance = ready(&engine, "test-memory-bomb", limits);
    let (err, message, _) = failing_forward(&mut instance);
    assert_failed(&err, "forward", |f| matches!(f, PluginFailure::Memory(_)));
    assert_names(
        &message,
        &[
            "`test-memory-bomb`",
            "`forward`",
            "limit of 64 MiB",
            "--plugin-memory-mb",
        ],
    );
    assert_stopped(&mut instance, "test-memory-bomb", "forward");
    assert_host_still_usable(&engine);
}

#[test]
fn giant_tensor_is_refused_before_allocating() {
    let (engine, _cache) = temp_engine();
    // The default budget (4 GiB): a 4 TB weight must be refused by the check, not by malloc.
    let mut instance =
        instantiate(&engine, "test-giant-tensor", PluginLimits::default()).expect("instantiates");
    let start = Instant::now();
    let err = instance
        .init(&tiny_config(), &tiny_schema())
        .expect_err("init must fail");
    let message = err.to_string();
    println!(
        "--- test-giant-tensor ({:.2?}):\n{message}\n",
        start.elapsed()
    );
    assert_failed(&err, "init", |f| matches!(f, PluginFailure::Host(_)));
    assert_names(
        &message,
        &[
            "`test-giant-tensor`",
            "`init`",
            "`param(\"giant.weight\", [1000000, 1000000])`",
            "3.6 TiB",
            "budget of 4096 MiB",
            "--plugin-tensor-budget-mb",
        ],
    );
    assert!(instance.params().is_empty(), "no weight may be created");
    assert_eq!(instance.live_tensors(), 0);
    assert_stopped(&mut instance, "test-giant-tensor", "init");
    assert_host_still_usable(&engine);
}

#[test]
fn handle_flood_is_stopped_at_the_handle_limit() {
    let (engine, _cache) = temp_engine();
    // A low limit, and the default one (wasmtime's own cap on a store's handles, also 100,000
    // by default, must not be met first: its trap would blame the plugin with no hint).
    for max_tensors in [1000, PluginLimits::default().max_tensors] {
        let limits = PluginLimits {
            max_tensors,
            ..PluginLimits::default()
        };
        let mut instance = ready(&engine, "test-handle-flood", limits);
        let (err, message, _) = failing_forward(&mut instance);
        assert_failed(&err, "forward", |f| matches!(f, PluginFailure::Host(_)));
        assert_names(
            &message,
            &[
                "`test-handle-flood`",
                "`forward`",
                "`zeros`",
                &format!("{max_tensors} tensor handles"),
                "--plugin-max-tensors",
            ],
        );
        assert_stopped(&mut instance, "test-handle-flood", "forward");
    }
    assert_host_still_usable(&engine);
}

#[test]
fn panic_is_reported_with_its_message() {
    let (engine, _cache) = temp_engine();
    let mut instance = ready(&engine, "test-panic", PluginLimits::default());
    let (err, message, _) = failing_forward(&mut instance);
    match &err {
        PluginError::Failed {
            export: "forward",
            failure: PluginFailure::Panic(panic),
            ..
        } => {
            assert!(panic.starts_with("deliberate panic in forward"), "{panic}");
        }
        other => panic!("expected a panic in `forward`, got {other:?}"),
    }
    assert_names(
        &message,
        &[
            "`test-panic`",
            "`forward`",
            "panicked",
            "deliberate panic in forward",
        ],
    );
    assert_stopped(&mut instance, "test-panic", "forward");
    assert_host_still_usable(&engine);
}

#[test]
fn trap_is_reported_as_a_trap() {
    let (engine, _cache) = temp_engine();
    let mut instance = ready(&engine, "test-trap", PluginLimits::default());
    let (err, message, _) = failing_forward(&mut instance);
    assert_failed(&err, "forward", |f| matches!(f, PluginFailure::Trap(_)));
    assert_names(
        &message,
        &["`test-trap`", "`forward`", "trapped", "unreachable"],
    );
    // The guest's stack, named from the component's `name` section: the innermost frame is
    // the plugin's own `forward`.
    let backtrace = message
        .split_once("wasm backtrace (innermost first):\n")
        .map(|(_, frames)| frames)
        .unwrap_or_else(|| panic!("no wasm backtrace in:\n{message}"));
    let innermost = backtrace.lines().next().unwrap_or_default();
    assert!(
        innermost.contains("forward") && !innermost.contains("<wasm function"),
        "innermost frame `{innermost}` in:\n{message}"
    );
    assert_stopped(&mut instance, "test-trap", "forward");
    assert_host_still_usable(&engine);
}

#[test]
fn wrong_version_is_refused_before_instantiating() {
    let (engine, _cache) = temp_engine();
    let path = plugin_path("test-wrong-version");
    let err = engine
        .load_file(&path)
        .err()
        .expect("a gs:plugin@0.99.0 component must not load");
    let message = err.to_string();
    println!("--- test-wrong-version:\n{message}\n");
    match &err {
        PluginError::IncompatibleVersion {
            plugin,
            found,
            supported,
            sdk,
            ..
        } => {
            assert_eq!(plugin, &path.display().to_string());
            assert_eq!(found, "gs:plugin@0.99.0");
            assert_eq!(supported, "gs:plugin@0.1.0–0.1.4");
            // Built with raw wit-bindgen: there is no SDK stamp, and the message says so.
            assert_eq!(sdk, "no gs-plugin-sdk version stamp");
        }
        other => panic!("expected PluginError::IncompatibleVersion, got {other:?}"),
    }
    assert_names(
        &message,
        &[
            "test_wrong_version.wasm",
            "was built for gs:plugin@0.99.0",
            "this gs supports gs:plugin@0.1.0–0.1.4",
            "hint: upgrade gs",
        ],
    );
    assert_host_still_usable(&engine);
}

#[test]
fn files_that_are_not_components_are_rejected() {
    let (engine, _cache) = temp_engine();
    let dir = tempfile::tempdir().unwrap();

    let random = dir.path().join("random.wasm");
    let bytes: Vec<u8> = (0u32..4096)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&random, &bytes).unwrap();
    let err = engine
        .load_file(&random)
        .err()
        .expect("random bytes must not load");
    println!("--- random bytes:\n{err}\n");
    assert!(matches!(err, PluginError::NotAComponent { .. }), "{err:?}");
    assert_names(&err.to_string(), &["random.wasm", "magic bytes", "hint: "]);

    let core = dir.path().join("core.wasm");
    let mut module = b"\0asm\x01\0\0\0".to_vec();
    module.extend_from_slice(&bytes[..64]);
    std::fs::write(&core, &module).unwrap();
    let err = engine
        .load_file(&core)
        .err()
        .expect("a core module must not load");
    println!("--- core module:\n{err}\n");
    assert!(matches!(err, PluginError::NotAComponent { .. }), "{err:?}");
    assert_names(
        &err.to_string(),
        &["core.wasm", "core WebAssembly module", "wasm32-wasip2"],
    );

    assert_host_still_usable(&engine);
}

#[test]
fn a_missing_file_names_the_path() {
    let (engine, _cache) = temp_engine();
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-plugin.wasm");
    let err = engine
        .load_file(&missing)
        .err()
        .expect("a missing file must not load");
    println!("--- missing file:\n{err}\n");
    match &err {
        PluginError::Read { path, source } => {
            assert_eq!(path, &missing);
            assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
        }
        other => panic!("expected PluginError::Read, got {other:?}"),
    }
    assert_names(
        &err.to_string(),
        &[&missing.display().to_string(), "--plugin"],
    );
    assert_host_still_usable(&engine);
}

/// [`tiny_config`] with custom arguments.
fn config_with(args: &[(&str, &str)]) -> ModelConfig {
    ModelConfig {
        custom_args: args
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect(),
        ..tiny_config()
    }
}

fn with_timeout(timeout: Duration) -> PluginLimits {
    PluginLimits {
        call_timeout: timeout,
        ..PluginLimits::default()
    }
}

/// Every export in the order a training step calls them: `describe` (on instantiating),
/// `init`, `forward`, `decode` and `loss`. Returns the instance (if `describe` passed) and the
/// first failure.
fn through_every_export(
    engine: &PluginEngine,
    plugin: &str,
    limits: PluginLimits,
    config: &ModelConfig,
) -> (Option<PluginInstance>, Result<(), PluginError>) {
    let mut instance = match instantiate(engine, plugin, limits) {
        Ok(instance) => instance,
        Err(e) => return (None, Err(e)),
    };
    let batch = tiny_batch();
    let result = (|| {
        instance.init(config, &tiny_schema())?;
        let embeddings = instance.forward(&batch, Mode::Train)?;
        instance.decode(&batch, &DecodeTargets::Nodes, &embeddings, Mode::Train)?;
        let labels = Tensor::from_slice(&[0i64, 1]);
        instance.loss(&embeddings[0].1, &labels)?;
        Ok(())
    })();
    (Some(instance), result)
}

const EXPORTS: [&str; 5] = ["describe", "init", "forward", "decode", "loss"];

/// The plugin and custom arguments that busy-wait in `export`: `test-slow-describe` for
/// `describe` (300 ms; it runs before any argument arrives), else `test-infinite-loop`
/// looping in `export` for `loop_ms`.
fn looping_in(export: &str, loop_ms: &str) -> (&'static str, ModelConfig) {
    if export == "describe" {
        ("test-slow-describe", tiny_config())
    } else {
        (
            "test-infinite-loop",
            config_with(&[("loop-in", export), ("loop-ms", loop_ms)]),
        )
    }
}

/// `err` is a deadline failure in `export`, with the names and the hint in its message.
fn assert_deadline(err: &PluginError, export: &str, seconds: &str) {
    let message = err.to_string();
    println!("--- deadline in {export}:\n{message}\n");
    assert_failed(err, export, |f| matches!(f, PluginFailure::Deadline { .. }));
    let plugin = if export == "describe" {
        "slow_describe"
    } else {
        "`test-infinite-loop`"
    };
    assert_names(
        &message,
        &[
            plugin,
            &format!("`{export}`"),
            &format!("deadline of {seconds} s"),
            "--plugin-call-timeout",
        ],
    );
}

#[test]
fn every_export_is_stopped_at_its_call_deadline() {
    let (engine, _cache) = temp_engine();
    for export in EXPORTS {
        // `describe` waits 300 ms, the others loop forever.
        let deadline = Duration::from_millis(if export == "describe" { 100 } else { 200 });
        let (plugin, config) = looping_in(export, "unbounded");
        let start = Instant::now();
        let (instance, result) =
            through_every_export(&engine, plugin, with_timeout(deadline), &config);
        let took = start.elapsed();
        let err = result.expect_err("the loop must be stopped");
        assert_deadline(&err, export, &format!("{}", deadline.as_secs_f64()));
        assert!(
            took >= deadline && took < deadline + Duration::from_secs(2),
            "`{export}` stopped after {took:?} with a deadline of {deadline:?}"
        );
        if let Some(mut instance) = instance {
            assert_stopped(&mut instance, "test-infinite-loop", export);
        }
    }
    assert_host_still_usable(&engine);
}

/// A small demo graph (200 papers) in a fresh folder, for runs of the real `gs`.
fn small_graph() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    gs_tests::run_gs_line(
        tmp.path(),
        "generate demo --output-dir data --num-papers 200 --num-authors 100",
    )
    .ok();
    tmp
}

/// `gs launch` training `plugin` (a test component) for one epoch on [`small_graph`] with the
/// demo's configuration, extra `flags`, and `custom` arguments after `--`.
fn train_plugin(dir: &Path, plugin: &str, flags: &[&str], custom: &[&str]) -> GsRun {
    let yaml = gs_tests::demo_yaml();
    let plugin = plugin_path(plugin);
    let one_epoch = "launch --num-trainers 1 --part-config data/demo.json --num-epochs 1";
    let mut args: Vec<&str> = one_epoch.split_whitespace().collect();
    args.extend(["--cf", yaml.to_str().unwrap()]);
    args.extend(["--plugin", plugin.to_str().unwrap()]);
    args.extend_from_slice(flags);
    args.push("--");
    args.extend_from_slice(custom);
    run_gs(dir, &args)
}

/// The same plugin passes with the option's default and fails with a low value, through the
/// real `gs`; the failure names the plugin, the export, the limit and the flag.
fn assert_option_acts(plugin: &str, custom: &[&str], low: &[&str], needles: &[&str]) {
    let graph = small_graph();
    let run = train_plugin(graph.path(), plugin, &[], custom).ok();
    assert!(run.stdout.contains("best epoch 0"), "{}", run.stdout);
    let run = train_plugin(graph.path(), plugin, low, custom);
    println!("--- {plugin} {low:?}:\n{}", run.stderr);
    run.fails_with(1, needles);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
}

#[test]
fn plugin_call_timeout_limits_every_export() {
    // Runtime API: 50 ms stops a 150 ms loop in each export; the default (60 s) lets it finish.
    let (engine, _cache) = temp_engine();
    for export in EXPORTS {
        let (plugin, config) = looping_in(export, "150");
        let low = with_timeout(Duration::from_millis(50));
        let err = through_every_export(&engine, plugin, low, &config)
            .1
            .expect_err("a 50 ms deadline stops it");
        assert_deadline(&err, export, "0.05");
        let start = Instant::now();
        through_every_export(&engine, plugin, PluginLimits::default(), &config)
            .1
            .unwrap_or_else(|e| panic!("with the default deadline, `{export}` finishes: {e}"));
        assert!(start.elapsed() >= Duration::from_millis(150));
    }
    // The real `gs`: `--plugin-call-timeout 1` stops an `init` that takes 1.3 s.
    assert_option_acts(
        "test-infinite-loop",
        &["--loop-in", "init", "--loop-ms", "1300"],
        &["--plugin-call-timeout", "1"],
        &[
            "`test-infinite-loop`",
            "failed in `init`",
            "deadline of 1 s",
            "--plugin-call-timeout",
        ],
    );
}

#[test]
fn plugin_memory_mb_limits_guest_memory() {
    assert_option_acts(
        "test-memory-bomb",
        &["--alloc-mb", "100"],
        &["--plugin-memory-mb", "64"],
        &[
            "`test-memory-bomb`",
            "failed in `forward`",
            "limit of 64 MiB",
            "--plugin-memory-mb",
        ],
    );
}

#[test]
fn plugin_max_tensors_limits_handles() {
    assert_option_acts(
        "test-handle-flood",
        &["--handles", "2000"],
        &["--plugin-max-tensors", "1000"],
        &[
            "`test-handle-flood`",
            "failed in `forward`",
            "1000 tensor handles",
            "--plugin-max-tensors",
        ],
    );
}

#[test]
fn plugin_tensor_budget_mb_limits_host_memory() {
    // 64 dropped 1 MiB intermediates per training batch: within 4096 MiB, not within 32.
    assert_option_acts(
        "test-autograd-hog",
        &[],
        &["--plugin-tensor-budget-mb", "32"],
        &[
            "`test-autograd-hog`",
            "failed in `forward`",
            "autograd keeps until its backward",
            "budget of 32 MiB",
            "--plugin-tensor-budget-mb",
        ],
    );
}

/// A training `forward` of `test-autograd-hog` on the tiny batch, then a backward.
fn hog_train_step(instance: &mut PluginInstance) -> Result<usize, PluginError> {
    let outputs = instance.forward(&tiny_batch(), Mode::Train)?;
    let charged = instance.tensor_bytes();
    outputs[0].1.sum(Kind::Float).backward();
    Ok(charged)
}

#[test]
fn autograd_intermediates_count_against_the_tensor_budget_until_the_batch_ends() {
    const MIB: usize = 1 << 20;
    let (engine, _cache) = temp_engine();
    let limits = PluginLimits {
        tensor_bytes: 32 * MIB,
        ..PluginLimits::default()
    };
    let hog = |intermediates: &str| {
        let mut instance = engine
            .load_file(&plugin_path("test-autograd-hog"))
            .unwrap()
            .instantiate(limits.clone(), params())
            .unwrap();
        instance
            .init(
                &config_with(&[("intermediates", intermediates)]),
                &tiny_schema(),
            )
            .unwrap();
        instance
    };

    // 64 MiB of dropped intermediates: evaluation frees them as it goes, training keeps them.
    let mut instance = hog("64");
    {
        let _no_grad = gs_tensor::tch::no_grad_guard();
        instance
            .forward(&tiny_batch(), Mode::Eval)
            .expect("eval fits");
    }
    assert!(instance.tensor_bytes() < MIB, "{}", instance.tensor_bytes());
    let err = hog_train_step(&mut instance).expect_err("training exceeds the budget");
    let message = err.to_string();
    println!("--- autograd hog:\n{message}\n");
    assert_failed(&err, "forward", |f| matches!(f, PluginFailure::Host(_)));
    assert_names(
        &message,
        &[
            "`test-autograd-hog`",
            "`forward`",
            "`sigmoid`",
            "autograd keeps until its backward",
            "budget of 32 MiB",
            "--plugin-tensor-budget-mb",
        ],
    );
    assert_stopped(&mut instance, "test-autograd-hog", "forward");

    // 16 MiB per batch fits; it is charged until `end_batch` (or the next training forward).
    let mut instance = hog("16");
    for _ in 0..4 {
        let charged = hog_train_step(&mut instance).expect("a 16 MiB batch fits");
        assert!(charged >= 16 * MIB, "charged {charged}");
        assert!(instance.tensor_bytes() >= 16 * MIB, "until the batch ends");
        instance.end_batch();
        assert!(instance.tensor_bytes() < MIB, "{}", instance.tensor_bytes());
    }
    for _ in 0..3 {
        hog_train_step(&mut instance).expect("the next training forward ends the batch before");
    }
    assert_host_still_usable(&engine);
}

#[test]
fn one_huge_op_is_refused_by_its_output_size_before_it_runs() {
    let (engine, _cache) = temp_engine();
    // The plugin lists its ops in the help of `--op`.
    let described = instantiate(&engine, "test-huge-op", PluginLimits::default()).unwrap();
    let help = &described.info().hyper_params[0].help;
    let ops: Vec<&str> = help
        .strip_prefix("the op to run: ")
        .unwrap_or_else(|| panic!("{help}"))
        .split(", ")
        .collect();
    assert_eq!(ops.len(), 10, "{ops:?}");
    let start = Instant::now();
    for op in ops {
        let mut instance = instantiate(&engine, "test-huge-op", PluginLimits::default()).unwrap();
        instance
            .init(&config_with(&[("op", op)]), &tiny_schema())
            .unwrap();
        let (err, message, _) = failing_forward(&mut instance);
        assert_failed(&err, "forward", |f| matches!(f, PluginFailure::Host(_)));
        assert_names(
            &message,
            &[
                "`test-huge-op`",
                "`forward`",
                &format!("tensor op `{op}` would allocate"),
                "TiB",
                "budget of 4096 MiB",
                "--plugin-tensor-budget-mb",
            ],
        );
    }
    // Ten terabyte-sized allocations would take far longer than refusing them.
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "{:?}",
        start.elapsed()
    );
    assert_host_still_usable(&engine);
}

#[test]
fn stack_overflow_is_stopped_and_reported() {
    let (engine, _cache) = temp_engine();
    let mut instance = ready(&engine, "test-stack-overflow", PluginLimits::default());
    let (err, message, _) = failing_forward(&mut instance);
    assert_failed(&err, "forward", |f| {
        matches!(f, PluginFailure::StackOverflow)
    });
    assert_names(
        &message,
        &[
            "`test-stack-overflow`",
            "`forward`",
            "overflowed its call stack",
            "hint: ",
        ],
    );
    assert_stopped(&mut instance, "test-stack-overflow", "forward");
    assert_host_still_usable(&engine);

    // The real `gs` on its own threads: an error naming the plugin and export, no crash.
    let graph = small_graph();
    let run = train_plugin(graph.path(), "test-stack-overflow", &[], &[]);
    run.fails_with(
        1,
        &[
            "`test-stack-overflow`",
            "failed in `forward`",
            "overflowed its call stack",
        ],
    );
}
