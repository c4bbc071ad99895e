//! Compiles the C++ shim in `csrc/` (the sparse product with a precomputed transpose behind
//! [`InEdges::aggregate`](crate::InEdges), and the one-call Adam step) against the libtorch
//! headers that `torch-sys` builds with (`$LIBTORCH`, the `.libtorch` link of
//! `.cargo/config.toml`), and links `libtorch_cuda`
//! into this crate's test binaries on a CUDA install of libtorch (see `gs_torch_link::build`).

use std::path::PathBuf;

fn main() {
    gs_torch_link::build::emit();
    println!("cargo:rerun-if-changed=csrc/csr_product.cpp");
    println!("cargo:rerun-if-changed=csrc/fused_adam.cpp");
    println!("cargo:rerun-if-env-changed=LIBTORCH");
    println!("cargo:rerun-if-env-changed=LIBTORCH_CXX11_ABI");
    let libtorch = PathBuf::from(
        std::env::var("LIBTORCH")
            .expect("LIBTORCH is set by .cargo/config.toml (run `cargo xtask bootstrap`)"),
    );
    let abi = std::env::var("LIBTORCH_CXX11_ABI").unwrap_or_else(|_| "1".into());
    cc::Build::new()
        .cpp(true)
        .file("csrc/csr_product.cpp")
        .file("csrc/fused_adam.cpp")
        .include(libtorch.join("include"))
        .include(libtorch.join("include/torch/csrc/api/include"))
        .flag("-std=c++17")
        .flag(format!("-D_GLIBCXX_USE_CXX11_ABI={abi}"))
        .flag("-DGLOG_USE_GLOG_EXPORT")
        .warnings(false)
        .compile("gs_torch_shim");
}
