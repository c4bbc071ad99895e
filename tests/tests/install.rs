//! `gs` on the PATH (issue 7, item 12): the installed layout `cargo xtask install` creates,
//! made here with the same code (`gs_torch_link::install`) from the debug `gs` this test build
//! already has. Copied into a temporary prefix, the binary runs from another folder with no
//! `LD_LIBRARY_PATH`, finding libtorch only through `<prefix>/lib/gs/libtorch`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The libtorch this build linked: `LIBTORCH` (cargo sets it from `.cargo/config.toml`), else
/// the repository's `.libtorch` link.
fn libtorch() -> PathBuf {
    std::env::var_os("LIBTORCH")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.libtorch"))
}

/// Runs the installed `gs` in `dir` with only the installed layout to find libtorch.
fn run_installed(gs: &Path, dir: &Path, args: &[&str]) -> Output {
    Command::new(gs)
        .args(args)
        .current_dir(dir)
        .env_remove("LD_LIBRARY_PATH")
        .env("GS_CACHE_DIR", dir.join(".gs-cache"))
        .output()
        .expect("the installed gs can be started")
}

fn text(output: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn installed_gs_runs_from_another_folder_and_finds_libtorch_through_the_layout() {
    let prefix = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let installed =
        gs_torch_link::install::install(&gs_tests::gs_binary(), prefix.path(), &libtorch())
            .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(installed.binary, prefix.path().join("bin/gs"));
    assert_eq!(
        std::fs::read_link(prefix.path().join(gs_torch_link::INSTALL_LIBTORCH_DIR)).unwrap(),
        installed.libtorch
    );

    let version = run_installed(&installed.binary, elsewhere.path(), &["--version"]);
    assert!(version.status.success(), "{}", text(&version));
    assert_eq!(
        String::from_utf8_lossy(&version.stdout).trim(),
        format!("gs {}", env!("CARGO_PKG_VERSION"))
    );
    // Instantiating the built-in plugin creates its parameters as libtorch tensors.
    let inspect = run_installed(
        &installed.binary,
        elsewhere.path(),
        &["plugin", "inspect", "sage"],
    );
    assert!(inspect.status.success(), "{}", text(&inspect));
    assert!(
        String::from_utf8_lossy(&inspect.stdout).contains("plugin:        sage"),
        "{}",
        text(&inspect)
    );

    // Without the layout's libtorch link the same binary cannot start: nothing else found it.
    std::fs::remove_file(prefix.path().join(gs_torch_link::INSTALL_LIBTORCH_DIR)).unwrap();
    let broken = run_installed(&installed.binary, elsewhere.path(), &["--version"]);
    assert!(!broken.status.success(), "{}", text(&broken));
    assert!(
        String::from_utf8_lossy(&broken.stderr).contains("libtorch"),
        "{}",
        text(&broken)
    );
}

#[test]
fn install_refuses_a_folder_that_is_not_libtorch() {
    let prefix = tempfile::tempdir().unwrap();
    let not_libtorch = tempfile::tempdir().unwrap();
    let err =
        gs_torch_link::install::install(&gs_tests::gs_binary(), prefix.path(), not_libtorch.path())
            .unwrap_err()
            .to_string();
    assert!(
        err.contains("lib/libtorch_cpu.so") && err.contains("cargo xtask bootstrap"),
        "{err}"
    );
    assert!(!prefix.path().join("bin/gs").exists());
}
