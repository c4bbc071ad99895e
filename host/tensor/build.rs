//! On machines where the bootstrap installed the CUDA libraries beside libtorch, link
//! `libtorch_cuda` explicitly: rustc's default `--as-needed` would drop it, since no Rust
//! symbol references it, and `--device cuda` would then find no GPU.

use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-env-changed=LIBTORCH");
    let Some(libtorch) = std::env::var_os("LIBTORCH").map(PathBuf::from) else {
        return;
    };
    let lib = libtorch.join("lib");
    println!(
        "cargo:rerun-if-changed={}",
        lib.join("libtorch_cuda.so").display()
    );
    // The slim CPU install has libtorch_cuda.so but not the CUDA libraries it needs
    // (cuDNN among them); only the full install brings `nvidia/cudnn`.
    let cuda_complete = libtorch.join("../nvidia/cudnn").exists();
    if cuda_complete && lib.join("libtorch_cuda.so").exists() {
        println!("cargo:rustc-link-search=native={}", lib.display());
        println!("cargo:rustc-link-lib=dylib:-as-needed=torch_cuda");
    }
}
