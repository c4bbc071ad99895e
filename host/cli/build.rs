//! Builds the built-in plugins (`plugins/`) so the binary embeds fresh components:
//! `--plugin sage` never runs a stale build of the plugin's source. Writes the table of SDK
//! sources, WIT files and the guest lockfile that `gs plugin new` copies into a project. Also
//! links `libtorch_cuda` on a CUDA install and adds the installed layout's rpath (see
//! `gs_torch_link`).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Built-in plugins, addressable by name with `--plugin`.
const BUILTIN: &[&str] = &[
    "sage",
    "rgcn",
    "rgat",
    "hgt",
    "mlp",
    "gat",
    "gatv2",
    "learnable_embed",
];

fn main() {
    gs_torch_link::build::emit();
    gs_torch_link::build::emit_install_rpath();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    gs_wasm_build::rerun_if_guest_sources_change(&repo);
    let built = gs_wasm_build::build_guest_packages(&repo.join("plugins/Cargo.toml"), BUILTIN)
        .unwrap_or_else(|e| panic!("{e}"));
    write_sdk_table(&repo);
    for (package, wasm) in built {
        println!(
            "cargo:rustc-env=GS_BUILTIN_PLUGIN_{}={}",
            package.to_uppercase().replace('-', "_"),
            wasm.display()
        );
    }
}

/// `$OUT_DIR/sdk_files.rs`: `(path in a plugin project, text)` tables of the Rust SDK's sources
/// (`RUST_SDK_FILES`, from `plugin-sdk/src`), the Python SDK's (`PYTHON_SDK_FILES`, from
/// `plugin-sdk/python`) and the WIT (`WIT_FILES`, from `wit/`), and `SDK_LOCK`, the guest
/// workspace's lockfile.
fn write_sdk_table(repo: &Path) {
    let files = |dir: &str, ext: &str| -> Vec<PathBuf> {
        let dir = repo.join(dir);
        let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
            .map(|entry| entry.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == ext))
            .collect();
        paths.sort();
        paths
    };
    let mut table = String::new();
    for (constant, dir, ext, into) in [
        (
            "RUST_SDK_FILES",
            "plugin-sdk/src",
            "rs",
            "gs-plugin-sdk/src",
        ),
        (
            "PYTHON_SDK_FILES",
            "plugin-sdk/python/gs_plugin",
            "py",
            "gs_plugin",
        ),
        ("WIT_FILES", "wit", "wit", "wit"),
    ] {
        writeln!(table, "/// `(path in a plugin project, text)` of `{dir}`.").unwrap();
        writeln!(table, "pub(crate) const {constant}: &[(&str, &str)] = &[").unwrap();
        for path in files(dir, ext) {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let path = path.canonicalize().unwrap();
            writeln!(
                table,
                "    ({:?}, include_str!({:?})),",
                format!("{into}/{name}"),
                path
            )
            .unwrap();
        }
        table.push_str("];\n");
    }
    table.push_str("/// The guest workspace's `Cargo.lock`.\n");
    let lock = repo.join("plugins/Cargo.lock").canonicalize().unwrap();
    writeln!(
        table,
        "pub(crate) const SDK_LOCK: &str = include_str!({lock:?});"
    )
    .unwrap();
    let out = PathBuf::from(std::env::var_os("OUT_DIR").unwrap()).join("sdk_files.rs");
    std::fs::write(out, table).unwrap();
}
