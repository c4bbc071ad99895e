//! The runtime with well-behaved plugins: the built-in `sage` and the example `custom-gcn`
//! (real components built by `build.rs`), a hand-written component for what no real plugin
//! does, and the compiled-component cache.

use std::path::{Path, PathBuf};

use gs_batch::{DecodeTargets, Mode, Task};
use gs_runtime::{
    PluginCapabilities, PluginEngine, PluginError, PluginFailure, PluginInstance, PluginLimits,
};
use gs_tensor::Tensor;
use gs_tests::{
    FEATURE_DIM, HIDDEN, NUM_CLASSES, NUM_TARGETS, cache_location, component_from_wat, instantiate,
    params, plugin_path, temp_engine, tiny_batch, tiny_config, tiny_schema,
};

fn sage(engine: &PluginEngine) -> PluginInstance {
    instantiate(engine, "sage", PluginLimits::default()).expect("sage instantiates")
}

fn initialised_sage(engine: &PluginEngine) -> PluginInstance {
    let mut sage = sage(engine);
    sage.init(&tiny_config(), &tiny_schema())
        .expect("sage init");
    sage
}

/// The `paper` output of a forward pass, checked to be `[targets, hidden]`.
fn paper_output(outputs: &[(String, Tensor)]) -> &Tensor {
    let (_, paper) = outputs
        .iter()
        .find(|(t, _)| t == "paper")
        .expect("`paper` embeddings");
    assert_eq!(paper.size(), [NUM_TARGETS, i64::from(HIDDEN)]);
    paper
}

#[test]
fn sage_describes_itself() {
    let (engine, _cache) = temp_engine();
    let sage = sage(&engine);
    let info = sage.info();
    assert_eq!(info.name, "sage");
    assert_eq!(info.version, "0.4.0");
    assert!(
        info.tasks.contains(&Task::NodeClassification)
            && info.tasks.contains(&Task::NodeRegression)
    );
    let hyper: Vec<(&str, &str)> = info
        .hyper_params
        .iter()
        .map(|h| (h.name.as_str(), h.default.as_str()))
        .collect();
    assert_eq!(
        hyper,
        [
            ("aggregator", "pool"),
            ("activation", "relu"),
            // GraphStorm's edge features and encoder options, unset by default.
            ("edge_feat_name", ""),
            ("input_activate", "none"),
            ("num_ffn_layers_in_input", "0"),
            ("num_ffn_layers_in_gnn", "0"),
            ("gnn_norm", ""),
            ("out_emb_size", ""),
        ]
    );
    assert!(
        info.hyper_params[..2]
            .iter()
            .all(|h| h.help.contains("Supported")),
        "{:?}",
        info.hyper_params
    );
    assert!(
        info.hyper_params[2..]
            .iter()
            .all(|h| h.help.starts_with("GraphStorm key")),
        "{:?}",
        info.hyper_params
    );

    let component = sage.component();
    assert_eq!(component.package_version, gs_runtime::SUPPORTED_VERSION);
    assert!(!info.sdk_version.is_empty());
    assert_eq!(
        component.sdk_version.as_deref(),
        Some(info.sdk_version.as_str()),
        "the SDK stamp and `describe` agree"
    );
    assert_eq!(
        component.size_bytes as u64,
        std::fs::metadata(plugin_path("sage")).unwrap().len()
    );
    assert_eq!(component.digest.len(), 64);
}

#[test]
fn sage_rejects_unknown_hyper_parameter_values() {
    let (engine, _cache) = temp_engine();
    let mut sage = sage(&engine);
    for (name, value, accepted) in [
        ("aggregator", "max", "mean"),
        ("activation", "gelu", "relu, elu, leaky_relu, sigmoid, tanh"),
    ] {
        let config = gs_batch::ModelConfig {
            custom_args: vec![(name.to_string(), value.to_string())],
            ..tiny_config()
        };
        let err = sage
            .init(&config, &tiny_schema())
            .expect_err("an unknown value must be refused");
        println!("--- --{name} {value}:\n{err}\n");
        match &err {
            PluginError::Returned {
                plugin,
                export,
                kind,
                message,
                ..
            } => {
                assert_eq!(plugin, "sage");
                assert_eq!(*export, "init");
                assert_eq!(*kind, "invalid argument");
                assert!(
                    message.contains(&format!("`--{name} {value}`")),
                    "{message}"
                );
                assert!(message.contains(accepted), "{message}");
            }
            other => panic!("expected PluginError::Returned, got {other:?}"),
        }
        assert!(
            sage.params().is_empty(),
            "no weights before the arguments are checked"
        );
    }
    // An error the plugin returns does not stop the instance.
    sage.init(&tiny_config(), &tiny_schema())
        .expect("init with valid arguments after a refused one");
    paper_output(&sage.forward(&tiny_batch(), Mode::Eval).unwrap());
}

#[test]
fn sage_creates_the_documented_weights() {
    let (engine, _cache) = temp_engine();
    let sage = initialised_sage(&engine);
    let (f, h) = (FEATURE_DIM, i64::from(HIDDEN));
    // GraphStorm's input layer per node type with features, then per layer the pool
    // SAGEConv's `fc_pool` (`[in, in]` and a bias), `fc_self` and `fc_neigh` (`[out, in]`, no
    // bias), in creation order.
    let mut expected = vec![
        ("node_embed.input_projs.author".to_string(), vec![f, h]),
        ("node_embed.input_projs.paper".to_string(), vec![f, h]),
    ];
    for layer in 0..2 {
        let prefix = format!("gnn._layers.{layer}.conv");
        expected.push((format!("{prefix}.fc_pool.weight"), vec![h, h]));
        expected.push((format!("{prefix}.fc_pool.bias"), vec![h]));
        expected.push((format!("{prefix}.fc_self.weight"), vec![h, h]));
        expected.push((format!("{prefix}.fc_neigh.weight"), vec![h, h]));
    }
    let created: Vec<(String, Vec<i64>)> = sage
        .params()
        .iter()
        .map(|(n, t)| (n.to_string(), t.size()))
        .collect();
    assert_eq!(created, expected);
    assert!(
        sage.params().iter().all(|(_, t)| t.requires_grad()),
        "weights are trainable"
    );
    // The plugin holds one handle per weight, nothing else.
    assert_eq!(sage.live_tensors(), expected.len());
}

/// A plugin that calls `param` from `forward`; `init` creates nothing.
const PARAM_OUTSIDE_INIT: &str = r#"
(module
  (import "gs:plugin/tensors@0.1.4" "param"
    (func $param (param i32 i32 i32 i32 i32 f64 f64) (result i32)))
  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const 4096))

  ;; describe's plugin-info record and the strings and lists it points at.
  (data (i32.const 256) "param-outside-init")
  (data (i32.const 288) "0.1.0")
  (data (i32.const 304) "none (hand-written WAT)")
  (data (i32.const 336) "\00")                               ;; tasks: [node-classification]
  (data (i32.const 352) "late.weight")
  (data (i32.const 384) "\01\00\00\00\00\00\00\00")          ;; shape: [1]
  (data (i32.const 512)
    "\00\01\00\00" "\12\00\00\00"                            ;; name
    "\20\01\00\00" "\05\00\00\00"                            ;; version
    "\30\01\00\00" "\17\00\00\00"                            ;; sdk-version
    "\50\01\00\00" "\01\00\00\00"                            ;; tasks
    "\00\00\00\00" "\00\00\00\00")                           ;; hyper-params: []
  ;; 768: a zeroed return area, `ok` for both `init` and `forward` (an empty list).

  (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32)
    (local $ptr i32)
    (local.set $ptr
      (i32.and (i32.add (global.get $heap) (i32.sub (local.get 2) (i32.const 1)))
               (i32.sub (i32.const 0) (local.get 2))))
    (global.set $heap (i32.add (local.get $ptr) (local.get 3)))
    (if (i32.gt_u (global.get $heap) (i32.mul (memory.size) (i32.const 65536)))
      (then (drop (memory.grow (i32.const 1)))))
    (local.get $ptr))

  (func (export "gs:plugin/model-api@0.1.4#describe") (result i32)
    (i32.const 512))

  (func (export "gs:plugin/model-api@0.1.4#init")
    (param i32 i32 i32 i32 f32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)
    (i32.const 768))

  (func (export "gs:plugin/model-api@0.1.4#forward") (param i32 i32) (result i32)
    ;; param("late.weight", [1], zeros)
    (drop (call $param (i32.const 352) (i32.const 11) (i32.const 384) (i32.const 1)
                       (i32.const 0) (f64.const 0) (f64.const 0)))
    (i32.const 768))

  (func (export "gs:plugin/model-api@0.1.4#decode") (param i32 i32 i32 i32) (result i32)
    unreachable)

  (func (export "gs:plugin/model-api@0.1.4#loss") (param i32 i32) (result i32)
    unreachable)

  ;; capabilities: two empty task lists (a zeroed record at 1024).
  (func (export "gs:plugin/model-capabilities@0.1.4#capabilities") (result i32)
    (i32.const 1024)))
"#;

#[test]
fn param_outside_init_is_refused() {
    let (engine, _cache) = temp_engine();
    let bytes = component_from_wat(PARAM_OUTSIDE_INIT);
    let plugin = engine
        .load_bytes("param-outside-init.wasm", &bytes)
        .expect("the hand-written component loads");
    assert_eq!(plugin.info().sdk_version, None);
    let mut instance = plugin
        .instantiate(PluginLimits::default(), params())
        .expect("instantiates");
    assert_eq!(instance.info().name, "param-outside-init");
    instance
        .init(&tiny_config(), &tiny_schema())
        .expect("init creates nothing and succeeds");
    let err = instance
        .forward(&tiny_batch(), Mode::Train)
        .expect_err("`param` in `forward` must be refused");
    println!("--- param outside init:\n{err}\n");
    assert!(
        matches!(
            &err,
            PluginError::Failed {
                export: "forward",
                failure: PluginFailure::Host(_),
                ..
            }
        ),
        "{err:?}"
    );
    let message = err.to_string();
    for needle in [
        "`param-outside-init`",
        "`forward`",
        "`param(\"late.weight\")`",
        "outside `init`",
        "hint: ",
    ] {
        assert!(
            message.contains(needle),
            "the message should contain {needle:?}:\n{message}"
        );
    }
    assert!(
        instance.params().is_empty(),
        "no weight may be created outside `init`"
    );
}

#[test]
fn repeated_forwards_do_not_leak_handles() {
    let (engine, _cache) = temp_engine();
    let mut sage = initialised_sage(&engine);
    let after_init = sage.live_tensors();
    let batch = tiny_batch();
    for mode in [
        Mode::Train,
        Mode::Eval,
        Mode::Predict,
        Mode::Train,
        Mode::Eval,
    ] {
        let outputs = sage.forward(&batch, mode).expect("forward");
        paper_output(&outputs);
        assert_eq!(
            sage.live_tensors(),
            after_init,
            "handles alive after a `{mode:?}` forward"
        );
    }
}

#[test]
fn sage_forward_is_deterministic_and_falls_back_to_the_host_decoder_and_loss() {
    let (engine, _cache) = temp_engine();
    let (mut a, mut b) = (initialised_sage(&engine), initialised_sage(&engine));
    let batch = tiny_batch();
    let out_a = a.forward(&batch, Mode::Eval).unwrap();
    let out_b = b.forward(&batch, Mode::Eval).unwrap();
    let (pa, pb) = (paper_output(&out_a), paper_output(&out_b));
    assert!(pa.equal(pb), "same seed, same batch, same embeddings");
    assert!(
        pa.abs().sum(gs_tensor::Kind::Float).double_value(&[]) > 0.0,
        "the embeddings are not all zero"
    );

    // sage leaves decoding and the loss to the host, and says so (`gs:plugin@0.1.1`).
    let declared = a.capabilities().expect("sage declares its capabilities");
    assert!(declared.decode.is_empty() && declared.loss.is_empty());
    let nodes = DecodeTargets::Nodes;
    assert!(
        a.decode(&batch, &nodes, &out_a, Mode::Eval)
            .unwrap()
            .is_none()
    );
    let labels = Tensor::from_slice(&[0i64, 2]);
    assert!(a.loss(pa, &labels).unwrap().is_none());
    assert_eq!(
        a.live_tensors(),
        a.params().len(),
        "decode and loss hand back every handle they were lent"
    );
}

fn initialised_custom_gcn(engine: &PluginEngine) -> PluginInstance {
    let mut gcn = instantiate(engine, "custom-gcn", PluginLimits::default())
        .expect("custom-gcn instantiates");
    assert_eq!(gcn.info().name, "custom-gcn");
    assert_eq!(
        gcn.info()
            .hyper_params
            .iter()
            .map(|h| h.name.as_str())
            .collect::<Vec<_>>(),
        ["residual"]
    );
    let config = gs_batch::ModelConfig {
        custom_args: vec![("residual".into(), "true".into())],
        ..tiny_config()
    };
    gcn.init(&config, &tiny_schema()).expect("custom-gcn init");
    gcn
}

#[test]
fn custom_gcn_example_loads_and_decodes() {
    let (engine, _cache) = temp_engine();
    let mut gcn = initialised_custom_gcn(&engine);
    let names: Vec<&str> = gcn.params().iter().map(|(n, _)| n).collect();
    for expected in [
        "layers.0.neigh.author:writes:paper.weight",
        "layers.1.self.paper.bias",
        "decoder.weight",
    ] {
        assert!(names.contains(&expected), "{expected} not in {names:?}");
    }
    // Its own decoder, on embeddings of the targets.
    let embeddings = vec![(
        "paper".to_string(),
        Tensor::ones(
            [NUM_TARGETS, i64::from(HIDDEN)],
            (gs_tensor::Kind::Float, gs_tensor::Device::Cpu),
        ),
    )];
    assert_eq!(
        gcn.capabilities(),
        Some(&PluginCapabilities {
            decode: vec![Task::NodeClassification, Task::NodeRegression],
            loss: vec![],
        }),
        "custom-gcn declares its decoder for node tasks, and no loss"
    );
    let logits = gcn
        .decode(
            &tiny_batch(),
            &DecodeTargets::Nodes,
            &embeddings,
            Mode::Eval,
        )
        .expect("decode")
        .expect("custom-gcn has a decoder");
    assert_eq!(logits.size(), [NUM_TARGETS, i64::from(NUM_CLASSES)]);
    let labels = Tensor::from_slice(&[0i64, 2]);
    assert!(
        gcn.loss(&logits, &labels).expect("loss").is_none(),
        "custom-gcn leaves the loss to the host"
    );
    assert_eq!(gcn.live_tensors(), gcn.params().len());
}

/// In the tiny batch, `author` has destination nodes in layer 0 (layer 1's `writes` edges need
/// their representations) but no edge type leads to it, as in any graph with a node type that
/// only sends messages; `sage` gives such nodes zeros (the SDK's `HeteroConv` rule).
#[test]
fn custom_gcn_example_forwards() {
    let (engine, _cache) = temp_engine();
    let mut gcn = initialised_custom_gcn(&engine);
    let batch = tiny_batch();
    let outputs = gcn
        .forward(&batch, Mode::Train)
        .expect("custom-gcn forward");
    paper_output(&outputs);
    let logits = gcn
        .decode(&batch, &DecodeTargets::Nodes, &outputs, Mode::Train)
        .expect("decode")
        .expect("custom-gcn has a decoder");
    assert_eq!(logits.size(), [NUM_TARGETS, i64::from(NUM_CLASSES)]);
}

/// The `.cwasm` files in a cache folder; every one has its `.mac`, and nothing else is there
/// but records of checked entries (`.seen`) and of component files (`files/`).
fn cache_entries(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    files.retain(|f| f.file_name().is_some_and(|name| name != "files"));
    files.sort();
    let extension = |p: &Path| p.extension().and_then(|e| e.to_str()).map(str::to_string);
    for file in &files {
        assert!(
            matches!(extension(file).as_deref(), Some("cwasm" | "mac" | "seen")),
            "a stray file in the cache: {file:?}"
        );
    }
    let entries: Vec<PathBuf> = files
        .into_iter()
        .filter(|f| extension(f).as_deref() == Some("cwasm"))
        .collect();
    for entry in &entries {
        assert!(mac_of(entry).is_file(), "{entry:?} has no MAC");
    }
    entries
}

/// The MAC file of a cache entry.
fn mac_of(entry: &Path) -> PathBuf {
    entry.with_extension("mac")
}

/// Load `sage` through a new engine with the cache under `root` (as a new process would),
/// check that what runs is sage, and run a forward pass.
fn load_and_run_sage(root: &Path) {
    let engine = PluginEngine::new(Some(cache_location(root))).unwrap();
    let mut sage = initialised_sage(&engine);
    assert_eq!(sage.info().name, "sage", "what runs must be sage");
    paper_output(&sage.forward(&tiny_batch(), Mode::Eval).unwrap());
}

/// The SHA-256 of a test component, as the runtime computes it.
fn digest_of(plugin: &str) -> String {
    instantiate(&temp_engine().0, plugin, PluginLimits::default())
        .unwrap()
        .component()
        .digest
        .clone()
}

/// The cache entry of `plugin` among `entries` (its name starts with the component's digest).
fn entry_of(entries: &[PathBuf], plugin: &str) -> PathBuf {
    let digest = digest_of(plugin);
    entries
        .iter()
        .find(|e| {
            e.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(&digest)
        })
        .unwrap_or_else(|| panic!("no entry of {plugin} ({digest}) in {entries:?}"))
        .clone()
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

#[cfg(unix)]
fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn compiled_components_are_cached_and_reused() {
    let cache = tempfile::tempdir().unwrap();
    let root = cache.path().join("plugins");
    let dir = cache_location(&root).dir;
    load_and_run_sage(&root);
    let entries = cache_entries(&dir);
    assert_eq!(entries.len(), 1, "one compiled component: {entries:?}");
    let entry = &entries[0];
    assert_eq!(entry, &entry_of(&entries, "sage"), "keyed by sage's digest");
    let before = std::fs::metadata(entry).unwrap();

    // A second engine (as a second process would) loads the entry instead of compiling again.
    load_and_run_sage(&root);
    assert_eq!(cache_entries(&dir), entries);
    let after = std::fs::metadata(entry).unwrap();
    assert_eq!(
        after.modified().unwrap(),
        before.modified().unwrap(),
        "the entry was not rewritten"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        assert_eq!(after.ino(), before.ino(), "the entry was not replaced");
    }
}

#[cfg(unix)]
#[test]
fn the_cache_folder_is_private_and_its_key_lives_outside_it() {
    let cache = tempfile::tempdir().unwrap();
    let root = cache.path().join("fresh");
    let location = cache_location(&root);
    let engine = PluginEngine::new(Some(location.clone())).unwrap();
    assert_eq!(engine.cache_dir(), Some(location.dir.as_path()));
    assert_eq!(
        mode(&location.dir),
        0o700,
        "the cache folder is created 0700"
    );
    assert_eq!(mode(&location.key_file), 0o600, "the key is created 0600");
    assert_eq!(std::fs::metadata(&location.key_file).unwrap().len(), 32);
    assert!(!location.key_file.starts_with(&location.dir));
    let key = std::fs::read(&location.key_file).unwrap();
    initialised_sage(&engine);
    for entry in cache_entries(&location.dir) {
        assert_eq!(mode(&entry), 0o600, "{entry:?}");
        assert_eq!(mode(&mac_of(&entry)), 0o600, "{entry:?}");
    }
    drop(engine);
    load_and_run_sage(&root);
    assert_eq!(
        std::fs::read(&location.key_file).unwrap(),
        key,
        "the key is kept"
    );

    // Another key (another machine's cache, restored here): the entries are not trusted.
    let entry = cache_entries(&location.dir).remove(0);
    let (before, mac_before) = (
        std::fs::read(&entry).unwrap(),
        std::fs::read(mac_of(&entry)).unwrap(),
    );
    std::fs::remove_file(&location.key_file).unwrap();
    load_and_run_sage(&root);
    assert_ne!(std::fs::read(&location.key_file).unwrap(), key);
    assert_ne!(
        std::fs::read(mac_of(&entry)).unwrap(),
        mac_before,
        "its MAC rewritten under the new key"
    );
    assert_eq!(
        std::fs::read(&entry).unwrap(),
        before,
        "the same native code, compiled again"
    );
}

#[test]
fn a_corrupted_cache_entry_is_ignored_and_recompiled() {
    let cache = tempfile::tempdir().unwrap();
    let root = cache.path().to_path_buf();
    let dir = cache_location(&root).dir;
    load_and_run_sage(&root);
    let entries = cache_entries(&dir);
    assert_eq!(entries.len(), 1);
    let entry = &entries[0];
    let mac = mac_of(entry);
    let (good, good_mac) = (std::fs::read(entry).unwrap(), std::fs::read(&mac).unwrap());

    let garbage = b"this is not native code written by gs".repeat(64);
    let truncated = good[..good.len() / 2].to_vec();
    let flipped = {
        let mut code = good.clone();
        let middle = code.len() / 2;
        code[middle] ^= 1;
        code
    };
    for (what, code, code_mac) in [
        ("garbage", garbage, Some(good_mac.clone())),
        ("truncated", truncated, Some(good_mac.clone())),
        ("one flipped bit", flipped, Some(good_mac.clone())),
        ("empty", Vec::new(), Some(good_mac.clone())),
        (
            "a MAC shorter than a MAC",
            good.clone(),
            Some(good_mac[..20].to_vec()),
        ),
        ("another MAC", good.clone(), Some(vec![7; 32])),
        ("no MAC", good.clone(), None),
    ] {
        std::fs::write(entry, &code).unwrap();
        match &code_mac {
            Some(m) => std::fs::write(&mac, m).unwrap(),
            None => std::fs::remove_file(&mac).unwrap(),
        }
        load_and_run_sage(&root);
        assert_eq!(cache_entries(&dir), entries, "{what}");
        assert_eq!(
            std::fs::read(entry).unwrap(),
            good,
            "{what}: the entry was replaced by a full compile"
        );
        assert_eq!(std::fs::read(&mac).unwrap(), good_mac, "{what}");
    }
}

/// Waits until files changed now are old enough for gs to record facts about them.
fn wait_until_settled() {
    std::thread::sleep(gs_runtime::RECORDS_AFTER + std::time::Duration::from_millis(200));
}

/// Flips one bit in the middle of `path` in place, then restores its modification time: the
/// size and mtime are as before, and only the change time (set by the kernel) tells.
fn flip_a_bit_keeping_size_and_mtime(path: &Path, at: usize) {
    let modified = std::fs::metadata(path).unwrap().modified().unwrap();
    let mut bytes = std::fs::read(path).unwrap();
    bytes[at] ^= 1;
    std::fs::write(path, &bytes).unwrap();
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(modified)
        .unwrap();
}

/// A settled entry is recorded as checked (`.seen`) by the load that checks its MAC, so later
/// loads skip the MAC; the record names the file's identity, so the entry changed in place
/// (one bit, size and mtime restored) is checked in full again, refused and compiled anew.
#[cfg(unix)]
#[test]
fn an_entry_changed_after_its_check_was_recorded_is_refused() {
    let cache = tempfile::tempdir().unwrap();
    let root = cache.path().to_path_buf();
    let dir = cache_location(&root).dir;
    load_and_run_sage(&root);
    let entry = cache_entries(&dir).remove(0);
    let seen = entry.with_extension("seen");
    assert!(!seen.exists(), "an entry written just now is not recorded");
    wait_until_settled();
    load_and_run_sage(&root);
    assert!(seen.is_file(), "the check of a settled entry is recorded");
    let record = std::fs::read(&seen).unwrap();
    load_and_run_sage(&root);
    assert_eq!(
        std::fs::read(&seen).unwrap(),
        record,
        "and used, not rewritten"
    );

    let good = std::fs::read(&entry).unwrap();
    flip_a_bit_keeping_size_and_mtime(&entry, good.len() / 2);
    load_and_run_sage(&root);
    assert_eq!(
        std::fs::read(&entry).unwrap(),
        good,
        "the changed entry was compiled again, not run"
    );
}

/// `load_file` records what it read from a settled component file (its SHA-256, version,
/// sections) by the file's identity and uses the record while the file is unchanged; changed
/// in place (same size, mtime restored), the file is read and hashed again and reports its new
/// digest and SDK stamp.
#[cfg(unix)]
#[test]
fn a_components_digest_is_remembered_until_the_file_changes() {
    let cache = tempfile::tempdir().unwrap();
    let root = cache.path().to_path_buf();
    let records = cache_location(&root).dir.join("files");
    let file = cache.path().join("sage.wasm");
    std::fs::copy(plugin_path("sage"), &file).unwrap();
    let load = |path: &Path| {
        let engine = PluginEngine::new(Some(cache_location(&root))).unwrap();
        engine.load_file(path).unwrap().info().clone()
    };
    let hashed = |bytes: &[u8]| {
        let (engine, _cache) = temp_engine();
        engine
            .load_bytes("bytes", bytes)
            .unwrap()
            .info()
            .digest
            .clone()
    };
    let bytes = std::fs::read(&file).unwrap();
    let digest = hashed(&bytes);

    // A file that changed under two seconds ago is hashed, and recorded only once settled
    // (the unit tests of gs-runtime check that it is not recorded before).
    assert_eq!(load(&file).digest, digest);
    wait_until_settled();
    assert_eq!(load(&file).digest, digest);
    let count = std::fs::read_dir(&records).unwrap().count();
    assert_eq!(count, 1, "one record for the settled file");
    assert_eq!(load(&file).digest, digest, "the record gives the digest");

    // The SDK's version stamp, changed in place: the component still loads, with a new digest.
    let stamp = bytes
        .windows(b"gs-plugin-sdk-version".len())
        .position(|w| w == b"gs-plugin-sdk-version")
        .expect("sage carries the SDK's stamp");
    let at = stamp + b"gs-plugin-sdk-version".len() + 1;
    flip_a_bit_keeping_size_and_mtime(&file, at);
    let changed = load(&file);
    let new_digest = hashed(&std::fs::read(&file).unwrap());
    assert_ne!(new_digest, digest);
    assert_eq!(
        changed.digest, new_digest,
        "hashed again, not taken from the record"
    );
    assert_ne!(changed.sdk_version, load(&plugin_path("sage")).sdk_version);
}

/// A real, well-formed compiled entry of another component (`test-trap`) copied over sage's
/// entry (with its MAC, under sage's MAC, or without one) is compiled again, never run: what
/// runs under sage's key is sage. (Without the MAC, the cache deserialized trap's native code
/// and `describe` answered `test-trap`.)
#[test]
fn another_components_entry_planted_under_a_plugin_key_is_not_run() {
    let cache = tempfile::tempdir().unwrap();
    let root = cache.path().to_path_buf();
    let location = cache_location(&root);
    {
        let engine = PluginEngine::new(Some(location.clone())).unwrap();
        initialised_sage(&engine);
        instantiate(&engine, "trap", PluginLimits::default()).expect("trap instantiates");
    }
    let entries = cache_entries(&location.dir);
    assert_eq!(entries.len(), 2, "{entries:?}");
    let sage_entry = entry_of(&entries, "sage");
    let trap_entry = entry_of(&entries, "trap");
    let read = |p: &Path| std::fs::read(p).unwrap();
    let (sage_code, sage_mac) = (read(&sage_entry), read(&mac_of(&sage_entry)));
    let (trap_code, trap_mac) = (read(&trap_entry), read(&mac_of(&trap_entry)));
    assert_ne!(sage_code.len(), trap_code.len());

    for (what, mac) in [
        ("trap's entry with its MAC", Some(&trap_mac)),
        ("trap's native code under sage's MAC", Some(&sage_mac)),
        ("trap's native code without a MAC", None),
    ] {
        std::fs::write(&sage_entry, &trap_code).unwrap();
        match mac {
            Some(mac) => std::fs::write(mac_of(&sage_entry), mac).unwrap(),
            None => std::fs::remove_file(mac_of(&sage_entry)).unwrap(),
        }
        load_and_run_sage(&root);
        assert_eq!(read(&sage_entry), sage_code, "{what}: sage's code again");
        assert_eq!(read(&mac_of(&sage_entry)), sage_mac, "{what}");
    }
    assert_eq!(read(&trap_entry), trap_code);
}

/// A cache folder other users can write (or that someone else owns) is not used at all: no
/// entry is read from it or written to it, and `gs` warns once, naming the folder and the fix.
#[cfg(unix)]
#[test]
fn a_cache_folder_other_users_can_write_is_not_used() {
    let cache = tempfile::tempdir().unwrap();
    let root = cache.path().to_path_buf();
    let location = cache_location(&root);
    load_and_run_sage(&root);
    let entry = cache_entries(&location.dir).remove(0);
    let modified = std::fs::metadata(&entry).unwrap().modified().unwrap();
    for shared in [0o777, 0o770, 0o722] {
        chmod(&location.dir, shared);
        let engine = PluginEngine::new(Some(location.clone())).unwrap();
        assert_eq!(engine.cache_dir(), None, "mode {shared:o}");
        let mut sage = initialised_sage(&engine);
        paper_output(&sage.forward(&tiny_batch(), Mode::Eval).unwrap());
        instantiate(&engine, "trap", PluginLimits::default()).expect("trap instantiates");
        assert_eq!(
            cache_entries(&location.dir),
            std::slice::from_ref(&entry),
            "nothing is written to a shared cache (mode {shared:o})"
        );
        assert_eq!(
            std::fs::metadata(&entry).unwrap().modified().unwrap(),
            modified
        );
    }

    // Someone else's folder, even a private one (only root can make one in a test).
    let ours = {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(&root).unwrap().uid()
    };
    if ours == 0 {
        chmod(&location.dir, 0o700);
        std::os::unix::fs::chown(&location.dir, Some(65534), None).unwrap();
        let engine = PluginEngine::new(Some(location.clone())).unwrap();
        assert_eq!(engine.cache_dir(), None, "a folder owned by user 65534");
        std::os::unix::fs::chown(&location.dir, Some(0), None).unwrap();
    }

    // The CLI's warning: once, with the folder and the fix; the command still works.
    let run = tempfile::tempdir().unwrap();
    let shared = run.path().join(".gs-cache/components");
    std::fs::create_dir_all(&shared).unwrap();
    chmod(&shared, 0o777);
    let out = gs_tests::run_gs(run.path(), &["plugin", "inspect", "sage"]).ok();
    assert!(out.stdout.contains("plugin:        sage"), "{}", out.stdout);
    let fix = format!("chmod 700 {}", shared.display());
    assert_eq!(out.stderr.matches(&fix).count(), 1, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("can be written by other users (mode 0777)")
    );
    assert!(cache_entries(&shared).is_empty());
}

/// A component cut short anywhere (inside a code section, the parser skips those whole) is
/// refused as malformed, never read past its end.
#[test]
fn a_truncated_component_is_refused_as_malformed() {
    let (engine, _cache) = temp_engine();
    let bytes = std::fs::read(plugin_path("sage")).unwrap();
    for cut in [
        bytes.len() / 3,
        bytes.len() / 2,
        bytes.len() * 3 / 4,
        bytes.len() - 1,
    ] {
        let error = match engine.load_bytes("cut.wasm", &bytes[..cut]) {
            Ok(_) => panic!("{cut} of {} bytes loaded", bytes.len()),
            Err(error) => error.to_string(),
        };
        assert!(
            error.contains("cut.wasm") && error.contains("malformed"),
            "cut at {cut}: {error}"
        );
    }
}
