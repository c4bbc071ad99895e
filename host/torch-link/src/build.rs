//! Link arguments for build scripts of packages that link libtorch.
//!
//! `torch-sys` asks for `-ltorch_cuda` whenever `libtorch_cuda.so` exists, but rustc links with
//! `--as-needed` and no Rust symbol references `libtorch_cuda`, so the linker drops it and
//! `--device cuda` finds no GPU. A library's build script cannot fix this for its dependents:
//! `cargo:rustc-link-lib` with the `-as-needed` modifier is unstable, and `cargo:rustc-link-arg`
//! reaches only the package's own binaries, tests, benches and examples. So each package that
//! produces a libtorch-linking executable calls [`emit`] from its own build script.

use std::path::{Path, PathBuf};

/// Environment variable that overrides the detection: `1` links `libtorch_cuda`, `0` does not.
pub const OVERRIDE_VAR: &str = "GS_LINK_TORCH_CUDA";

/// Whether the libtorch at `libtorch` (the folder with `lib/` and `include/`) is a CUDA install
/// whose `libtorch_cuda.so` can load: the library is there and so is cuDNN, either beside it
/// (the standalone libtorch archives) or in the wheel's `nvidia/cudnn` folder (the torch wheel
/// with its dependencies, `GS_LIBTORCH_VARIANT=cuda`). gs's CPU install ships
/// `libtorch_cuda.so` without the CUDA libraries it needs; linking it there would make every
/// binary fail to start.
pub fn is_cuda_install(libtorch: &Path) -> bool {
    let lib = libtorch.join("lib");
    if !lib.join("libtorch_cuda.so").is_file() {
        return false;
    }
    let wheel_cudnn = libtorch.join("../nvidia/cudnn/lib");
    has_cudnn(&lib) || has_cudnn(&wheel_cudnn)
}

fn has_cudnn(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries
            .flatten()
            .any(|e| e.file_name().to_string_lossy().starts_with("libcudnn.so"))
    })
}

/// The `cargo:` lines for a libtorch at `libtorch`, given the override's value (`None` when
/// unset). Empty when `libtorch_cuda` is not to be linked.
///
/// # Errors
/// An override value other than `0` or `1`, naming the variable and the accepted values.
pub fn link_args(libtorch: &Path, override_value: Option<&str>) -> Result<Vec<String>, String> {
    let link = match override_value.map(str::trim) {
        None | Some("") => is_cuda_install(libtorch),
        Some("1") => true,
        Some("0") => false,
        Some(other) => {
            return Err(format!(
                "{OVERRIDE_VAR} must be `1` (link libtorch_cuda) or `0` (do not), not {other:?}"
            ));
        }
    };
    if !link {
        return Ok(Vec::new());
    }
    let lib = libtorch.join("lib");
    Ok(vec![
        format!("cargo:rustc-link-search=native={}", lib.display()),
        // Applies to every binary, test, bench and example of the calling package.
        "cargo:rustc-link-arg=-Wl,--no-as-needed,-ltorch_cuda,--as-needed".to_string(),
    ])
}

/// Prints the link arguments for the libtorch named by `LIBTORCH` (see [`link_args`]) and the
/// `rerun-if` lines that keep them current. Call it from a build script.
///
/// # Panics
/// On an invalid `GS_LINK_TORCH_CUDA`, which fails the build with the message.
pub fn emit() {
    println!("cargo:rerun-if-env-changed=LIBTORCH");
    println!("cargo:rerun-if-env-changed={OVERRIDE_VAR}");
    let Some(libtorch) = std::env::var_os("LIBTORCH").map(PathBuf::from) else {
        return;
    };
    println!(
        "cargo:rerun-if-changed={}",
        libtorch.join("lib/libtorch_cuda.so").display()
    );
    let override_value = std::env::var(OVERRIDE_VAR).ok();
    match link_args(&libtorch, override_value.as_deref()) {
        Ok(lines) => lines.iter().for_each(|l| println!("{l}")),
        Err(message) => panic!("{message}"),
    }
}

/// Prints the rpath entry of the installed layout ([`crate::INSTALL_RPATH`]) for the calling
/// package's binaries, so a `gs` copied to `<prefix>/bin` finds `<prefix>/lib/gs/libtorch/lib`.
/// Call it from the build script of the package that builds `gs`.
pub fn emit_install_rpath() {
    println!(
        "cargo:rustc-link-arg-bins=-Wl,-rpath,{}",
        crate::INSTALL_RPATH
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(path: &Path) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, b"").unwrap();
    }

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("gs-torch-link-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn cpu_wheel_with_libtorch_cuda_but_no_cudnn_is_not_cuda() {
        let root = scratch("cpu");
        touch(&root.join("torch/lib/libtorch_cuda.so"));
        touch(&root.join("nvidia/cu13/lib/libcudart.so.13"));
        assert!(!is_cuda_install(&root.join("torch")));
        assert!(link_args(&root.join("torch"), None).unwrap().is_empty());
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn cuda_wheel_and_standalone_archive_are_cuda() {
        let root = scratch("cuda");
        touch(&root.join("torch/lib/libtorch_cuda.so"));
        touch(&root.join("nvidia/cudnn/lib/libcudnn.so.9"));
        let args = link_args(&root.join("torch"), None).unwrap();
        assert!(
            args.iter()
                .any(|a| a == "cargo:rustc-link-arg=-Wl,--no-as-needed,-ltorch_cuda,--as-needed"),
            "{args:?}"
        );
        let archive = scratch("archive");
        touch(&archive.join("lib/libtorch_cuda.so"));
        touch(&archive.join("lib/libcudnn.so.9"));
        assert!(is_cuda_install(&archive));
        for dir in [root, archive] {
            std::fs::remove_dir_all(dir).unwrap();
        }
    }

    #[test]
    fn override_forces_either_way_and_rejects_other_values() {
        let root = scratch("override");
        touch(&root.join("lib/libtorch_cuda.so"));
        assert!(link_args(&root, None).unwrap().is_empty());
        assert_eq!(link_args(&root, Some("1")).unwrap().len(), 2);
        assert!(link_args(&root, Some("0")).unwrap().is_empty());
        let err = link_args(&root, Some("yes")).unwrap_err();
        assert!(
            err.contains(OVERRIDE_VAR) && err.contains("\"yes\""),
            "{err}"
        );
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn no_unstable_link_modifier_is_emitted() {
        let root = scratch("modifier");
        touch(&root.join("lib/libtorch_cuda.so"));
        for line in link_args(&root, Some("1")).unwrap() {
            assert!(!line.contains(":-as-needed"), "{line}");
            assert!(!line.starts_with("cargo:rustc-link-lib"), "{line}");
        }
        std::fs::remove_dir_all(&root).unwrap();
    }
}
