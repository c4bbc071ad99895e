//! Builds the built-in plugins (`plugins/`) so the binary embeds fresh components:
//! `--plugin sage` never runs a stale build of the plugin's source. Also links `libtorch_cuda`
//! on a CUDA install and adds the installed layout's rpath (see `gs_torch_link`).

use std::path::Path;

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
    for (package, wasm) in built {
        println!(
            "cargo:rustc-env=GS_BUILTIN_PLUGIN_{}={}",
            package.to_uppercase().replace('-', "_"),
            wasm.display()
        );
    }
}
