//! Adversarial plugins (real components from `tests/plugins/`) against the runtime's sandbox.
//!
//! Each case loads a plugin that misbehaves in one way, checks that the host stops it with the
//! right failure class and a message that names the plugin, the export and the fix, checks that
//! the failed instance refuses further calls, and checks that the host is still usable: the
//! built-in `sage` loads, initialises and runs a forward pass in the same engine afterwards.
//! Limits are set small where that keeps a case fast; every case takes well under a few
//! seconds.

use std::time::{Duration, Instant};

use gs_runtime::{Mode, PluginEngine, PluginError, PluginFailure, PluginInstance, PluginLimits};
use gs_tests::{
    HIDDEN, NUM_TARGETS, instantiate, plugin_path, temp_engine, tiny_batch, tiny_config,
    tiny_schema,
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
    assert!(
        matches!(
            err,
            PluginError::Failed {
                export: "forward",
                failure: PluginFailure::Deadline { .. },
                ..
            }
        ),
        "{err:?}"
    );
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
    assert!(
        matches!(
            err,
            PluginError::Failed {
                export: "forward",
                failure: PluginFailure::Memory(_),
                ..
            }
        ),
        "{err:?}"
    );
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
    assert!(
        matches!(
            err,
            PluginError::Failed {
                export: "init",
                failure: PluginFailure::Host(_),
                ..
            }
        ),
        "{err:?}"
    );
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
    let limits = PluginLimits {
        max_tensors: 1000,
        ..PluginLimits::default()
    };
    let mut instance = ready(&engine, "test-handle-flood", limits);
    let (err, message, _) = failing_forward(&mut instance);
    assert!(
        matches!(
            err,
            PluginError::Failed {
                export: "forward",
                failure: PluginFailure::Host(_),
                ..
            }
        ),
        "{err:?}"
    );
    assert_names(
        &message,
        &[
            "`test-handle-flood`",
            "`forward`",
            "`zeros`",
            "1000 tensor handles",
            "--plugin-max-tensors",
        ],
    );
    assert_stopped(&mut instance, "test-handle-flood", "forward");
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
    assert!(
        matches!(
            err,
            PluginError::Failed {
                export: "forward",
                failure: PluginFailure::Trap(_),
                ..
            }
        ),
        "{err:?}"
    );
    assert_names(
        &message,
        &["`test-trap`", "`forward`", "trapped", "unreachable"],
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
        .expect("a gs:plugin@0.2.0 component must not load");
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
            assert_eq!(found, "gs:plugin@0.2.0");
            assert_eq!(supported, "gs:plugin@0.1.0");
            // Built with raw wit-bindgen: there is no SDK stamp, and the message says so.
            assert_eq!(sdk, "no gs-plugin-sdk version stamp");
        }
        other => panic!("expected PluginError::IncompatibleVersion, got {other:?}"),
    }
    assert_names(
        &message,
        &[
            "test_wrong_version.wasm",
            "gs:plugin@0.2.0",
            "gs:plugin@0.1.0",
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
