//! Builds the components the integration tests load — every test plugin of `tests/plugins/`,
//! the built-in `sage`, `rgcn`, `rgat`, `hgt` and `mlp`, the example `custom-gcn` — so a test
//! never runs a stale one, and hands their paths to the crate as `GS_TEST_PLUGIN_<PACKAGE>`
//! (upper case, `-` as `_`).

use std::path::Path;

/// Guest packages the tests load, by package name. `gs_tests::plugin_path` reads the same list.
const PACKAGES: &[&str] = &[
    "test-autograd-hog",
    "test-bad-shapes",
    "test-edge-decoder",
    "test-giant-tensor",
    "test-handle-flood",
    "test-huge-op",
    "test-infinite-loop",
    "test-layer-probe",
    "test-memory-bomb",
    "test-panic",
    "test-sandbox-probe",
    "test-slow-describe",
    "test-stack-overflow",
    "test-trap",
    "test-trap-on-seven",
    "test-wrong-version",
    "test-wit-0-1-0",
    "test-wit-0-1-1",
    "test-wit-0-1-2",
    "test-wit-0-1-3",
    "test-wit-0-1-4",
    "sage",
    "rgcn",
    "rgat",
    "hgt",
    "mlp",
    "gat",
    "gatv2",
    "learnable_embed",
    "custom-gcn",
];

fn main() {
    // The test binaries link libtorch: on a CUDA install, link `libtorch_cuda` too.
    gs_torch_link::build::emit();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    println!("cargo:rerun-if-changed=build.rs");
    gs_wasm_build::rerun_if_guest_sources_change(&repo);
    let built = gs_wasm_build::build_guest_packages(&repo.join("plugins/Cargo.toml"), PACKAGES)
        .unwrap_or_else(|e| panic!("{e}"));
    for (package, wasm) in built {
        println!(
            "cargo:rustc-env=GS_TEST_PLUGIN_{}={}",
            package.to_uppercase().replace('-', "_"),
            wasm.display()
        );
    }
}
