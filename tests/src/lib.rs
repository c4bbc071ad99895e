//! gs-tests: support for gs's integration tests (`tests/tests/*.rs`).
//!
//! It owns what every test needs and nothing a test asserts: the paths of the real plugin
//! components that `build.rs` compiles (test plugins, the built-in `sage`, `rgcn` and `mlp`,
//! the example `custom-gcn`), Python test plugins built once per run with `gs plugin build`
//! ([`python_test_plugin`]), a tiny heterogeneous mini-batch with its schema and model
//! config, a plugin engine with a throw-away cache or one shared by a whole test process
//! ([`shared_engine`]), the location of the `gs` binary for CLI tests, and ([`graphstorm`])
//! the real GraphStorm's golden cases loaded into the built-in plugins and compared by raw id, ([`runs`]) what a run's summary and output say, ([`serving`]) a `gs serve` process with an HTTP client and payloads cut from a real graph, and ([`registry`]) a real OCI registry process (the one `cargo xtask registry` unpacks) on a free loopback port, with or without basic auth. It must not hold test logic of its own, and it depends only
//! on the public API of the host crates.

pub mod graphstorm;
pub mod registry;
pub mod runs;
pub mod serving;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use gs_batch::{
    BatchData, BlockData, EdgeTypeName, GraphSchema, LayerData, ModelConfig, NodeTypeSchema, Task,
};
use gs_runtime::{CacheLocation, PluginEngine, PluginError, PluginInstance, PluginLimits};
use gs_tensor::{Device, Kind, ParamStore, Tensor};

/// The components `build.rs` builds, by package name, with the path it exported for each.
const PLUGINS: &[(&str, &str)] = &[
    (
        "test-autograd-hog",
        env!("GS_TEST_PLUGIN_TEST_AUTOGRAD_HOG"),
    ),
    ("test-bad-shapes", env!("GS_TEST_PLUGIN_TEST_BAD_SHAPES")),
    (
        "test-edge-decoder",
        env!("GS_TEST_PLUGIN_TEST_EDGE_DECODER"),
    ),
    (
        "test-giant-tensor",
        env!("GS_TEST_PLUGIN_TEST_GIANT_TENSOR"),
    ),
    (
        "test-handle-flood",
        env!("GS_TEST_PLUGIN_TEST_HANDLE_FLOOD"),
    ),
    (
        "test-infinite-loop",
        env!("GS_TEST_PLUGIN_TEST_INFINITE_LOOP"),
    ),
    ("test-huge-op", env!("GS_TEST_PLUGIN_TEST_HUGE_OP")),
    ("test-layer-probe", env!("GS_TEST_PLUGIN_TEST_LAYER_PROBE")),
    ("test-memory-bomb", env!("GS_TEST_PLUGIN_TEST_MEMORY_BOMB")),
    ("test-panic", env!("GS_TEST_PLUGIN_TEST_PANIC")),
    (
        "test-sandbox-probe",
        env!("GS_TEST_PLUGIN_TEST_SANDBOX_PROBE"),
    ),
    (
        "test-slow-describe",
        env!("GS_TEST_PLUGIN_TEST_SLOW_DESCRIBE"),
    ),
    (
        "test-stack-overflow",
        env!("GS_TEST_PLUGIN_TEST_STACK_OVERFLOW"),
    ),
    ("test-trap", env!("GS_TEST_PLUGIN_TEST_TRAP")),
    (
        "test-trap-on-seven",
        env!("GS_TEST_PLUGIN_TEST_TRAP_ON_SEVEN"),
    ),
    (
        "test-wrong-version",
        env!("GS_TEST_PLUGIN_TEST_WRONG_VERSION"),
    ),
    ("test-wit-0-1-0", env!("GS_TEST_PLUGIN_TEST_WIT_0_1_0")),
    ("test-wit-0-1-1", env!("GS_TEST_PLUGIN_TEST_WIT_0_1_1")),
    ("test-wit-0-1-2", env!("GS_TEST_PLUGIN_TEST_WIT_0_1_2")),
    ("test-wit-0-1-3", env!("GS_TEST_PLUGIN_TEST_WIT_0_1_3")),
    ("test-wit-0-1-4", env!("GS_TEST_PLUGIN_TEST_WIT_0_1_4")),
    ("sage", env!("GS_TEST_PLUGIN_SAGE")),
    ("rgcn", env!("GS_TEST_PLUGIN_RGCN")),
    ("rgat", env!("GS_TEST_PLUGIN_RGAT")),
    ("hgt", env!("GS_TEST_PLUGIN_HGT")),
    ("mlp", env!("GS_TEST_PLUGIN_MLP")),
    ("gat", env!("GS_TEST_PLUGIN_GAT")),
    ("gatv2", env!("GS_TEST_PLUGIN_GATV2")),
    ("learnable_embed", env!("GS_TEST_PLUGIN_LEARNABLE_EMBED")),
    ("custom-gcn", env!("GS_TEST_PLUGIN_CUSTOM_GCN")),
];

/// The component of a guest package built by `build.rs`: a test plugin (`test-trap`, or just
/// `trap`), `sage`, `rgcn`, `mlp` or `custom-gcn`.
///
/// # Panics
/// If `name` is not one of them.
pub fn plugin_path(name: &str) -> PathBuf {
    let found = PLUGINS
        .iter()
        .find(|(package, _)| *package == name || package.strip_prefix("test-") == Some(name));
    match found {
        Some((_, path)) => PathBuf::from(path),
        None => {
            let known: Vec<&str> = PLUGINS.iter().map(|(package, _)| *package).collect();
            panic!("no test component `{name}`; tests/build.rs builds {known:?}")
        }
    }
}

/// Feature width of both node types of the tiny graph.
pub const FEATURE_DIM: i64 = 4;
/// Hidden size of [`tiny_config`].
pub const HIDDEN: u32 = 8;
/// Classes of [`tiny_config`].
pub const NUM_CLASSES: u32 = 3;
/// Target (`paper`) nodes of [`tiny_batch`].
pub const NUM_TARGETS: i64 = 2;

/// The tiny graph's schema: `paper` and `author` with 4-dim features, edge types
/// `author:writes:paper` and `paper:cites:paper`.
pub fn tiny_schema() -> GraphSchema {
    let node_type = |name: &str, num_nodes| NodeTypeSchema {
        name: name.into(),
        num_nodes,
        feature_dim: FEATURE_DIM as u32,
    };
    let edge_type = |src: &str, rel: &str, dst: &str| EdgeTypeName {
        src: src.into(),
        rel: rel.into(),
        dst: dst.into(),
    };
    GraphSchema {
        node_types: vec![node_type("author", 3), node_type("paper", 5)],
        edge_types: vec![
            edge_type("author", "writes", "paper"),
            edge_type("paper", "cites", "paper"),
        ],
    }
}

/// Node classification on `paper`: hidden 8, 2 layers, 3 classes, no dropout, no custom
/// arguments (plugins use their defaults).
pub fn tiny_config() -> ModelConfig {
    ModelConfig {
        task: Task::NodeClassification,
        hidden_size: HIDDEN,
        num_layers: 2,
        num_classes: NUM_CLASSES,
        dropout: 0.0,
        target_node_type: "paper".into(),
        custom_args: Vec::new(),
    }
}

fn index(values: &[i64]) -> Tensor {
    Tensor::from_slice(values)
}

fn block(
    src_type: &str,
    rel: &str,
    dst_type: &str,
    num: (i64, i64),
    edges: &[(i64, i64)],
) -> BlockData {
    let (src, dst): (Vec<i64>, Vec<i64>) = edges.iter().copied().unzip();
    BlockData {
        src_type: src_type.into(),
        rel: rel.into(),
        dst_type: dst_type.into(),
        num_src: num.0,
        num_dst: num.1,
        src: index(&src),
        dst: index(&dst),
        edge_features: BTreeMap::new(),
        in_edges: None,
    }
}

fn counts(pairs: &[(&str, i64)]) -> BTreeMap<String, i64> {
    pairs.iter().map(|(t, n)| ((*t).to_string(), *n)).collect()
}

/// A valid 2-layer mini-batch of the [`tiny_schema`] graph whose targets are
/// [`NUM_TARGETS`] `paper` nodes, in DGL's message-flow-graph convention (each layer's
/// destination nodes are a prefix of its source nodes; edge ids are local int64 indices):
///
/// | layer | source nodes | destination nodes | blocks |
/// |---|---|---|---|
/// | 0 | paper 5, author 3 | paper 3, author 2 | writes (3 → 3, 4 edges), cites (5 → 3, 4 edges) |
/// | 1 | paper 3, author 2 | paper 2 | writes (2 → 2, 3 edges), cites (3 → 2, 3 edges) |
///
/// Input features are deterministic f32 values, `[5, 4]` for paper and `[3, 4]` for author.
pub fn tiny_batch() -> BatchData {
    let layer0 = LayerData {
        num_src: counts(&[("author", 3), ("paper", 5)]),
        num_dst: counts(&[("author", 2), ("paper", 3)]),
        blocks: vec![
            block(
                "author",
                "writes",
                "paper",
                (3, 3),
                &[(0, 0), (1, 0), (2, 1), (1, 2)],
            ),
            block(
                "paper",
                "cites",
                "paper",
                (5, 3),
                &[(3, 0), (4, 1), (0, 2), (2, 1)],
            ),
        ],
    };
    let layer1 = LayerData {
        num_src: counts(&[("author", 2), ("paper", 3)]),
        num_dst: counts(&[("paper", NUM_TARGETS)]),
        blocks: vec![
            block(
                "author",
                "writes",
                "paper",
                (2, NUM_TARGETS),
                &[(0, 0), (1, 0), (1, 1)],
            ),
            block(
                "paper",
                "cites",
                "paper",
                (3, NUM_TARGETS),
                &[(2, 0), (0, 1), (2, 1)],
            ),
        ],
    };
    let features = |rows: i64, offset: f64| {
        Tensor::arange(rows * FEATURE_DIM, (Kind::Float, Device::Cpu))
            .reshape([rows, FEATURE_DIM])
            .g_mul_scalar(0.1)
            .g_add_scalar(offset)
    };
    BatchData {
        layers: vec![layer0, layer1],
        input_features: BTreeMap::from([
            ("author".to_string(), features(3, -0.5)),
            ("paper".to_string(), features(5, 0.0)),
        ]),
        input_nodes: BTreeMap::new(),
        target_node_type: "paper".into(),
    }
}

/// A fresh weight store on the CPU with a fixed seed.
pub fn params() -> ParamStore {
    ParamStore::new(42, Device::Cpu)
}

/// A plugin engine whose compiled-component cache (and its key, beside the cache folder)
/// lives in a fresh temporary folder, removed when the returned guard is dropped (keep it
/// alive as long as the engine).
pub fn temp_engine() -> (PluginEngine, tempfile::TempDir) {
    let cache = tempfile::Builder::new()
        .prefix("gs-tests-cache-")
        .tempdir()
        .expect("cannot create a temporary cache folder");
    let engine = PluginEngine::new(Some(cache_location(cache.path())))
        .expect("cannot create the plugin engine");
    (engine, cache)
}

/// A compiled-component cache under `root`: entries in `root/components`, the key in
/// `root/data/component-cache.key` (outside the entries' folder, as the CLI keeps it).
pub fn cache_location(root: &std::path::Path) -> CacheLocation {
    CacheLocation {
        dir: root.join("components"),
        key_file: root.join("data").join("component-cache.key"),
    }
}

/// Load the component `name` (see [`plugin_path`]) in `engine` and instantiate it with
/// `limits` and a fresh [`params`] store.
pub fn instantiate(
    engine: &PluginEngine,
    name: &str,
    limits: PluginLimits,
) -> Result<PluginInstance, PluginError> {
    engine
        .load_file(&plugin_path(name))?
        .instantiate(limits, params())
}

/// A `gs:plugin@0.1.4` model component made from a hand-written core module in WAT, for
/// behaviour no real plugin shows (such as calling `param` outside `init`).
///
/// The module implements the canonical ABI by hand: it imports host functions by their
/// interface and name (`(import "gs:plugin/tensors@0.1.4" "param" …)`), exports
/// `gs:plugin/model-api@0.1.4#describe`, the other exports and
/// `gs:plugin/model-capabilities@0.1.4#capabilities` with their lowered signatures,
/// plus `memory` and `cabi_realloc`. The model world of the repository's `wit/` is embedded
/// and the module is wrapped into a component with `wit-component`.
///
/// # Panics
/// If the WAT does not parse or does not fit the world.
pub fn component_from_wat(wat: &str) -> Vec<u8> {
    let wit_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../wit");
    let mut resolve = wit_parser::Resolve::default();
    let (package, _) = resolve
        .push_dir(&wit_dir)
        .expect("the repository's WIT parses");
    let world = resolve
        .select_world(&[package], Some("model"))
        .expect("the WIT has the `model` world");
    let mut module = wat::parse_str(wat).unwrap_or_else(|e| panic!("the WAT does not parse: {e}"));
    wit_component::embed_component_metadata(
        &mut module,
        &resolve,
        world,
        wit_component::StringEncoding::UTF8,
    )
    .expect("embedding the world");
    wit_component::ComponentEncoder::default()
        .validate(true)
        .module(&module)
        .and_then(|mut encoder| encoder.encode())
        .unwrap_or_else(|e| panic!("the module does not make a `model` component: {e:#}"))
}

/// The `gs` binary of the build that produced the running test: `target/<profile>/gs`, the
/// folder above the test executable's `deps/` folder. (Cargo's `CARGO_BIN_EXE_*` only reaches
/// binaries of the test's own package, and `gs` lives in `host/cli`.)
///
/// # Panics
/// If it is not there, with what to run.
pub fn gs_binary() -> PathBuf {
    let gs = profile_dir().join(format!("gs{}", std::env::consts::EXE_SUFFIX));
    assert!(
        gs.is_file(),
        "the `gs` binary is not at `{}`: build it with `cargo build -p gs`; `cargo xtask test` does",
        gs.display()
    );
    gs
}

/// `target/<profile>`: the folder above the running test executable's `deps/` folder.
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("cannot find the running test executable");
    let deps = exe
        .parent()
        .expect("the test executable has no parent folder");
    if deps.file_name().is_some_and(|n| n == "deps") {
        deps.parent().unwrap_or(deps).to_path_buf()
    } else {
        deps.to_path_buf()
    }
}

/// `target/<profile>/gs-tests`: what the tests keep between runs (built Python test plugins,
/// the [`shared_engine`]'s compiled components). Removing it only costs a rebuild.
pub fn kept_test_dir() -> PathBuf {
    profile_dir().join("gs-tests")
}

/// A plugin engine shared by every test of the process, its compiled-component cache kept in
/// [`kept_test_dir`]`/components` (key in `data/component-cache.key`) across tests and runs:
/// a component is compiled once, then each load maps its cached native code (milliseconds,
/// where a Python component takes ~13 s to compile). Entries are keyed by the component's
/// digest and written by rename, so parallel tests and processes share it safely.
///
/// # Panics
/// If the engine cannot be created.
pub fn shared_engine() -> &'static PluginEngine {
    static ENGINE: OnceLock<PluginEngine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        PluginEngine::new(Some(cache_location(&kept_test_dir())))
            .expect("cannot create the shared plugin engine")
    })
}

/// The component of the Python test plugin `tests/plugins/<project>` (`app.py`,
/// `pyproject.toml`), built by the real `gs plugin build` with componentize-py against the
/// repository's own `plugin-sdk/python/gs_plugin` and `wit/` (copied beside `app.py`, so a
/// test checks the SDK of the working tree even when the `gs` binary was built earlier), and
/// compiled into the [`shared_engine`]'s cache.
///
/// The build (~30 s) runs once per process and project, whichever test asks first; tests of
/// other threads that ask meanwhile wait for it. Its result is kept in [`kept_test_dir`]
/// under a digest of every file it was built from and of the `gs` binary (size, modification
/// time), so a later run with the same sources reuses it. A failed build fails every test
/// that asks, with gs's output, without building again.
///
/// # Panics
/// If the build fails.
pub fn python_test_plugin(project: &str) -> PathBuf {
    type Built = Arc<OnceLock<Result<PathBuf, String>>>;
    static BUILDS: Mutex<BTreeMap<String, Built>> = Mutex::new(BTreeMap::new());
    let once = BUILDS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .entry(project.to_string())
        .or_default()
        .clone();
    let built = once.get_or_init(|| {
        std::panic::catch_unwind(|| build_python_test_plugin(project)).unwrap_or_else(|panic| {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_string()))
                .unwrap_or_default();
            Err(message)
        })
    });
    match built {
        Ok(wasm) => wasm.clone(),
        Err(e) => panic!("the Python test plugin `{project}` does not build: {e}"),
    }
}

fn build_python_test_plugin(project: &str) -> Result<PathBuf, String> {
    use sha2::Digest;
    let started = std::time::Instant::now();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let source = repo.join("tests/plugins").join(project);
    // (path in the staged project, file it is copied from)
    let mut files = vec![
        (PathBuf::from("app.py"), source.join("app.py")),
        (
            PathBuf::from("pyproject.toml"),
            source.join("pyproject.toml"),
        ),
    ];
    // The WIT's top-level files only: `wit/frozen/` holds the released versions.
    for (folder, from, ext, recursive) in [
        (
            "gs_plugin",
            repo.join("plugin-sdk/python/gs_plugin"),
            "py",
            true,
        ),
        ("wit", repo.join("wit"), "wit", false),
    ] {
        let mut found = Vec::new();
        list_files(&from, ext, recursive, &mut found)
            .map_err(|e| format!("`{}`: {e}", from.display()))?;
        for file in found {
            let relative = file.strip_prefix(&from).expect("listed under it");
            files.push((Path::new(folder).join(relative), file));
        }
    }
    files.sort();
    let gs = gs_binary();
    let mut digest = sha2::Sha256::new();
    {
        for (path, file) in &files {
            let bytes = std::fs::read(file).map_err(|e| format!("`{}`: {e}", file.display()))?;
            digest.update(path.to_string_lossy().as_bytes());
            digest.update([0]);
            digest.update((bytes.len() as u64).to_le_bytes());
            digest.update(&bytes);
        }
        let meta = std::fs::metadata(&gs).map_err(|e| e.to_string())?;
        let modified = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .unwrap_or_default();
        digest.update(meta.len().to_le_bytes());
        digest.update(modified.as_nanos().to_le_bytes());
    }
    let key = hex::encode(&digest.finalize()[..8]);
    let kept = kept_test_dir();
    let python = kept.join("python");
    let wasm = python.join(format!("{project}-{key}.wasm"));
    if !wasm.is_file() {
        std::fs::create_dir_all(&python).map_err(|e| format!("`{}`: {e}", python.display()))?;
        // Staged per process: two test processes building at once never share files.
        let staging = tempfile::Builder::new()
            .prefix(".build-")
            .tempdir_in(&python)
            .map_err(|e| e.to_string())?;
        let dir = staging.path().join(project);
        for (path, file) in &files {
            let to = dir.join(path);
            std::fs::create_dir_all(to.parent().expect("a file in a folder"))
                .and_then(|()| std::fs::copy(file, &to).map(drop))
                .map_err(|e| format!("cannot copy `{}`: {e}", file.display()))?;
        }
        // gs's own check of the component (it loads it) compiles it into the shared cache.
        let run = GsRun::from(
            gs_command(staging.path())
                .env("GS_CACHE_DIR", &kept)
                .env("GS_DATA_DIR", kept.join("data"))
                .args(["plugin", "build", project])
                .output()
                .map_err(|e| format!("cannot run gs: {e}"))?,
        );
        if run.code != 0 {
            return Err(format!(
                "`gs plugin build` exited with {}:\n{}\n{}",
                run.code, run.stdout, run.stderr
            ));
        }
        let name = format!("{}.wasm", project.replace('-', "_"));
        std::fs::rename(dir.join("target").join(name), &wasm)
            .map_err(|e| format!("cannot keep the component: {e}"))?;
        eprintln!(
            "built the Python test plugin `{project}` in {:.1?}",
            started.elapsed()
        );
    }
    // Compiled (or found compiled) once, before any test loads it.
    let compiled = std::time::Instant::now();
    shared_engine()
        .load_file(&wasm)
        .map_err(|e| format!("`{}` does not load: {e}", wasm.display()))?;
    eprintln!(
        "loaded the Python test plugin `{project}` ({}) in {:.1?}",
        wasm.display(),
        compiled.elapsed()
    );
    Ok(wasm)
}

/// Every file in `dir` (and, if `recursive`, under its subfolders) whose name ends in `.ext`.
fn list_files(
    dir: &Path,
    ext: &str,
    recursive: bool,
    out: &mut Vec<PathBuf>,
) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            if recursive {
                list_files(&path, ext, recursive, out)?;
            }
        } else if path.extension().is_some_and(|e| e == ext) {
            out.push(path);
        }
    }
    Ok(())
}

/// The outcome of one `gs` invocation.
pub struct GsRun {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<std::process::Output> for GsRun {
    fn from(out: std::process::Output) -> Self {
        GsRun {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

impl GsRun {
    /// Assert success and return the run.
    pub fn ok(self) -> Self {
        assert_eq!(
            self.code, 0,
            "gs failed:\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    /// Assert a failure with `code` whose stderr contains every one of `needles`.
    pub fn fails_with(&self, code: i32, needles: &[&str]) {
        assert_eq!(
            self.code, code,
            "expected exit {code}:\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        for needle in needles {
            assert!(
                self.stderr.contains(needle),
                "stderr lacks `{needle}`:\n{}",
                self.stderr
            );
        }
    }
}

/// The real `gs` binary, to run in `dir` with its own compiled-plugin cache and cache key, and
/// the shared tools folder ([`gs_tools_dir`]).
pub fn gs_command(dir: &std::path::Path) -> std::process::Command {
    let mut command = std::process::Command::new(gs_binary());
    command
        .current_dir(dir)
        .env("GS_CACHE_DIR", dir.join(".gs-cache"))
        .env("GS_DATA_DIR", dir.join(".gs-data"))
        .env("GS_TOOLS_DIR", gs_tools_dir());
    command
}

/// Where gs keeps its tools (componentize-py) for the tests: `$GS_TOOLS_DIR`, else the user's
/// `$XDG_CACHE_HOME/gs/tools` or `~/.cache/gs/tools`, as gs chooses it. Shared across tests
/// and runs, unlike the per-test compiled-plugin caches, so the tool is installed once.
pub fn gs_tools_dir() -> PathBuf {
    let var = |key: &str| {
        std::env::var_os(key)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    var("GS_TOOLS_DIR")
        .or_else(|| {
            var("XDG_CACHE_HOME")
                .filter(|p| p.is_absolute())
                .map(|p| p.join("gs/tools"))
        })
        .or_else(|| var("HOME").map(|h| h.join(".cache/gs/tools")))
        .unwrap_or_else(|| std::env::temp_dir().join("gs-tools"))
}

/// Run the real `gs` binary in `dir` with its own compiled-plugin cache and cache key.
pub fn run_gs(dir: &std::path::Path, args: &[&str]) -> GsRun {
    GsRun::from(gs_command(dir).args(args).output().expect("gs runs"))
}

/// Runs `gs` with a command line written as one string, split at whitespace (for arguments
/// without spaces): `run_gs_line(dir, &format!("partition --num-parts {n}"))`.
pub fn run_gs_line(dir: &std::path::Path, line: &str) -> GsRun {
    run_gs(dir, &line.split_whitespace().collect::<Vec<_>>())
}

/// The demo's node classification as a GraphStorm mlp YAML: no `fanout`, `num_layers: 0`.
pub const MLP_YAML: &str = "\
version: 1.0
gsf:
  basic:
    model_encoder_type: mlp
  gnn:
    num_layers: 0
    hidden_size: 16
    node_feat_name: feat
  hyperparam:
    lr: 0.01
    batch_size: 256
    dropout: 0.0
  node_classification:
    target_ntype: paper
    label_field: label
    num_classes: 4
";

/// The demo's node-classification config, `examples/demo/nc.yaml`.
pub fn demo_yaml() -> PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/demo/nc.yaml")
}

/// The arguments of `gs node-classification` on `data/demo.json` with `yaml`, plus `extra`
/// (later flags win).
pub fn nc_on_demo_args<'a>(yaml: &'a std::path::Path, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "node-classification",
        "--num-trainers",
        "1",
        "--part-config",
        "data/demo.json",
        "--cf",
        yaml.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    args
}

/// `gs node-classification` in `dir` on `data/demo.json` with `yaml`, plus `extra` (later
/// flags win).
pub fn run_nc_on_demo(dir: &std::path::Path, yaml: &std::path::Path, extra: &[&str]) -> GsRun {
    run_gs(dir, &nc_on_demo_args(yaml, extra))
}

/// [`run_nc_on_demo`] with the demo's YAML, `model_encoder_type: <encoder>` and hidden size
/// 16, plus `extra` (later flags win).
pub fn train_encoder_on_demo(dir: &std::path::Path, encoder: &str, extra: &[&str]) -> GsRun {
    let encoder_args = ["--model-encoder-type", encoder, "--hidden-size", "16"];
    run_nc_on_demo(dir, &demo_yaml(), &[&encoder_args[..], extra].concat())
}

/// Trains `encoder` ([`train_encoder_on_demo`], plus `extra`) on the small demo graph for
/// `epochs` and asserts its test accuracy exceeds `threshold`, while a model that barely
/// moves from its initialisation (one epoch at lr 1e-9) stays below 0.5 (4 classes).
pub fn assert_encoder_trains_the_demo_graph(
    encoder: &str,
    extra: &[&str],
    epochs: u32,
    threshold: f64,
) {
    let tmp = small_demo_graph();
    let dir = tmp.path();
    let untrained = [
        "--num-epochs",
        "1",
        "--lr",
        "1e-9",
        "--save-model-path",
        "untrained",
    ];
    train_encoder_on_demo(dir, encoder, &[extra, &untrained].concat()).ok();
    let untrained = graphstorm::test_score(dir, "untrained");
    let epochs = epochs.to_string();
    let trained = [
        "--num-epochs",
        epochs.as_str(),
        "--save-model-path",
        "model",
    ];
    let run = train_encoder_on_demo(dir, encoder, &[extra, &trained].concat()).ok();
    let trained = graphstorm::test_score(dir, "model");
    eprintln!("{encoder} on the demo graph: test accuracy {trained} (untrained {untrained})");
    assert!(
        trained > threshold,
        "{encoder} trains: test accuracy {trained}\n{}",
        run.stdout
    );
    assert!(untrained < 0.5, "an untrained {encoder} scores {untrained}");
}

/// A fresh folder holding a small demo graph (200 papers, 100 authors) as `data/demo.json`.
pub fn small_demo_graph() -> tempfile::TempDir {
    small_demo_graph_with("")
}

/// [`small_demo_graph`] with more `gs generate demo` flags, such as `--feature-signal 3`.
pub fn small_demo_graph_with(flags: &str) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    run_gs_line(
        tmp.path(),
        &format!("generate demo --output-dir data --num-papers 200 --num-authors 100 {flags}"),
    )
    .ok();
    tmp
}
