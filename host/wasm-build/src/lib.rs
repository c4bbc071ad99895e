//! Builds gs's guest components (the `wasm32-wasip2` crates of the guest workspace at
//! `plugins/Cargo.toml`) from the build scripts of host crates, so that `cargo build` and
//! `cargo test` never run a stale plugin. It owns the nested `cargo` invocation: its own target
//! directory (beside the outer build's, so the two never fight over a lock), an environment
//! scrubbed of what the outer build sets for itself, a clear error when the `wasm32-wasip2`
//! target is missing, and the `cargo:rerun-if-changed` lines for the guest sources. It depends
//! on nothing but `std`, and knows nothing about what the components do.
//!
//! ```no_run
//! // build.rs of a host crate
//! use std::path::Path;
//!
//! let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
//! gs_wasm_build::rerun_if_guest_sources_change(&repo);
//! let built = gs_wasm_build::build_guest_packages(&repo.join("plugins/Cargo.toml"), &["sage"])
//!     .unwrap_or_else(|e| panic!("{e}"));
//! for (package, wasm) in built {
//!     println!("cargo:rustc-env=GS_PLUGIN_{}={}", package.to_uppercase().replace('-', "_"), wasm.display());
//! }
//! ```

#![warn(missing_docs)]

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The target guest components are built for.
pub const GUEST_TARGET: &str = "wasm32-wasip2";

/// The folder, inside the outer build's target directory, that holds the guest build.
pub const GUEST_TARGET_DIR_NAME: &str = "wasm-guests";

/// The guest source folders, relative to the repository root, whose changes must rebuild the
/// components.
pub const GUEST_SOURCE_DIRS: &[&str] =
    &["wit", "plugin-sdk", "plugins", "tests/plugins", "examples"];

/// Environment variables that cargo sets for the outer build (or its build scripts) and that
/// would change, break or redirect the nested guest build. `CARGO_MAKEFLAGS` (the jobserver) is
/// kept on purpose, so the nested build shares the outer build's job slots.
const LEAKED_ENV: &[&str] = &[
    "CARGO_ENCODED_RUSTFLAGS",
    "CARGO_ENCODED_RUSTDOCFLAGS",
    "RUSTFLAGS",
    "RUSTDOCFLAGS",
    "CARGO_BUILD_RUSTFLAGS",
    "CARGO_BUILD_TARGET",
    "CARGO_BUILD_TARGET_DIR",
    "CARGO_TARGET_DIR",
    "CARGO_BUILD_BUILD_DIR",
    "RUSTC_WORKSPACE_WRAPPER",
    "CARGO_PRIMARY_PACKAGE",
    "CARGO_MANIFEST_DIR",
    "CARGO_MANIFEST_PATH",
    "CARGO_MANIFEST_LINKS",
    "CARGO_CRATE_NAME",
    "CARGO_BIN_NAME",
    "CARGO_TARGET_TMPDIR",
    "OUT_DIR",
    "TARGET",
    "HOST",
    "NUM_JOBS",
    "OPT_LEVEL",
    "DEBUG",
    "PROFILE",
    "RUSTC_LINKER",
];

/// Prefixes of further variables cargo sets per package or per target.
const LEAKED_ENV_PREFIXES: &[&str] = &["CARGO_PKG_", "CARGO_CFG_", "CARGO_FEATURE_", "DEP_"];

/// Builds `packages` of the guest workspace `workspace_manifest` (`plugins/Cargo.toml`) in
/// release mode for `wasm32-wasip2`, from a build script.
///
/// The guest target directory is `<outer target dir>/wasm-guests`, found from `OUT_DIR`, so the
/// nested cargo neither shares the outer build's lock nor writes into the source tree. Returns
/// each package's name with the path of its component,
/// `<guest target dir>/wasm32-wasip2/release/<package with '-' as '_'>.wasm`, in the order
/// given.
///
/// # Errors
/// A message for a person: `OUT_DIR` is not set (not called from a build script), the
/// `wasm32-wasip2` target is not installed (with a `hint:`), the nested build failed (with its
/// output), or a component is missing afterwards.
pub fn build_guest_packages(
    workspace_manifest: &Path,
    packages: &[&str],
) -> Result<Vec<(String, PathBuf)>, String> {
    let out_dir = std::env::var_os("OUT_DIR").ok_or_else(|| {
        "`OUT_DIR` is not set: call `build_guest_packages` from a build script, or use \
         `build_guest_packages_in` with a target directory"
            .to_owned()
    })?;
    let target_dir = guest_target_dir(Path::new(&out_dir));
    build_guest_packages_in(workspace_manifest, packages, &target_dir)
}

/// [`build_guest_packages`] with an explicit target directory for the guest build (for tools
/// such as `xtask`, which have no `OUT_DIR`).
///
/// # Errors
/// As [`build_guest_packages`], less the `OUT_DIR` case.
pub fn build_guest_packages_in(
    workspace_manifest: &Path,
    packages: &[&str],
    target_dir: &Path,
) -> Result<Vec<(String, PathBuf)>, String> {
    if packages.is_empty() {
        return Ok(Vec::new());
    }
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    check_guest_target(&rustc)?;

    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(&cargo);
    command
        .args([
            "build",
            "--release",
            "--target",
            GUEST_TARGET,
            "--manifest-path",
        ])
        .arg(workspace_manifest)
        .arg("--target-dir")
        .arg(target_dir);
    for package in packages {
        command.args(["--package", package]);
    }
    // Run from the guest workspace, so cargo reads the configuration that applies there.
    if let Some(dir) = workspace_manifest
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
    {
        command.current_dir(dir);
    }
    scrub_env(&mut command, std::env::vars_os().map(|(k, _)| k));
    // Source paths compiled into the components (panic locations) are relative to the
    // repository, never the build machine's absolute paths.
    if let Some(repo) = workspace_manifest
        .canonicalize()
        .ok()
        .and_then(|m| m.parent()?.parent().map(Path::to_path_buf))
    {
        command.env(
            "CARGO_ENCODED_RUSTFLAGS",
            format!("--remap-path-prefix={}/=", repo.display()),
        );
    }

    let output = command.output().map_err(|e| {
        format!(
            "could not run `{} build` for the guest components: {e}",
            Path::new(&cargo).display()
        )
    })?;
    if !output.status.success() {
        return Err(format!(
            "building the guest components {packages:?} of `{}` for {GUEST_TARGET} failed \
             ({}):\n{}\nhint: fix the plugin code above, or build it by hand with \
             `cargo build --release --target {GUEST_TARGET}` in the guest workspace",
            workspace_manifest.display(),
            output.status,
            tail(&String::from_utf8_lossy(&output.stderr), 60),
        ));
    }

    packages
        .iter()
        .map(|package| {
            let wasm = component_path(target_dir, package);
            if wasm.is_file() {
                Ok(((*package).to_owned(), wasm))
            } else {
                Err(format!(
                    "the guest build succeeded but `{}` is missing (is `{package}` a \
                     `crate-type = [\"cdylib\"]` crate of the guest workspace?)",
                    wasm.display()
                ))
            }
        })
        .collect()
}

/// Where the component of `package` lands under a guest target directory.
pub fn component_path(target_dir: &Path, package: &str) -> PathBuf {
    target_dir
        .join(GUEST_TARGET)
        .join("release")
        .join(format!("{}.wasm", package.replace('-', "_")))
}

/// The guest target directory for a build script's `OUT_DIR`: `wasm-guests` inside the outer
/// build's target directory. That is the closest ancestor of `OUT_DIR` holding cargo's
/// `CACHEDIR.TAG` (or its parent when that is tagged too: cargo tags both the target directory
/// and its `<triple>` folders), else the closest one named `target`, else the folder above
/// `OUT_DIR`'s `build` folder.
pub fn guest_target_dir(out_dir: &Path) -> PathBuf {
    let ancestors = || out_dir.ancestors().skip(1);
    let tagged = |dir: &Path| dir.join("CACHEDIR.TAG").is_file();
    ancestors()
        .find(|dir| tagged(dir))
        .map(|dir| dir.parent().filter(|parent| tagged(parent)).unwrap_or(dir))
        .or_else(|| ancestors().find(|dir| dir.file_name() == Some(OsStr::new("target"))))
        .or_else(|| {
            // <target>/<profile>/build/<package>-<hash>/out
            ancestors()
                .find(|dir| dir.file_name() == Some(OsStr::new("build")))
                .and_then(Path::parent)
        })
        .unwrap_or(out_dir)
        .join(GUEST_TARGET_DIR_NAME)
}

/// Prints `cargo:rerun-if-changed=` for every guest source under `repo_root`
/// ([`GUEST_SOURCE_DIRS`]), as listed by [`guest_source_paths`].
pub fn rerun_if_guest_sources_change(repo_root: &Path) {
    for path in guest_source_paths(repo_root) {
        println!("cargo:rerun-if-changed={}", path.display());
    }
}

/// What a build script must watch to rebuild the guests: the folders of [`GUEST_SOURCE_DIRS`]
/// under `repo_root`.
///
/// Cargo scans a watched directory recursively, so a directory is listed whole only when it
/// holds no crate (no `Cargo.toml` at any depth): a crate or workspace folder may get a
/// `target` directory, whose churn would rerun the build script forever. Such folders are not
/// listed themselves but entry by entry, skipping `target` and hidden entries. (So a new file
/// right inside one goes unnoticed until a listed file changes; a new crate has to be added to
/// `plugins/Cargo.toml` anyway.) The list is sorted.
pub fn guest_source_paths(repo_root: &Path) -> Vec<PathBuf> {
    let mut paths = Vec::new();
    for dir in GUEST_SOURCE_DIRS {
        let dir = repo_root.join(dir);
        if dir.exists() {
            collect_watch_paths(&dir, &mut paths);
        }
    }
    paths.sort();
    paths.dedup();
    paths
}

fn collect_watch_paths(dir: &Path, paths: &mut Vec<PathBuf>) {
    if !holds_crate(dir) {
        paths.push(dir.to_owned());
        return;
    }
    for entry in read_dir_sorted(dir) {
        if is_skipped(&entry) {
            continue;
        }
        if entry.is_dir() {
            collect_watch_paths(&entry, paths);
        } else {
            paths.push(entry);
        }
    }
}

/// Whether `dir` has a `Cargo.toml` at any depth (outside `target` and hidden folders).
fn holds_crate(dir: &Path) -> bool {
    read_dir_sorted(dir).iter().any(|entry| {
        !is_skipped(entry)
            && if entry.is_dir() {
                holds_crate(entry)
            } else {
                entry.file_name() == Some(OsStr::new("Cargo.toml"))
            }
    })
}

fn is_skipped(path: &Path) -> bool {
    path.file_name()
        .is_none_or(|name| name == "target" || name.to_string_lossy().starts_with('.'))
}

fn read_dir_sorted(dir: &Path) -> Vec<PathBuf> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    entries.sort();
    entries
}

/// Removes from `command`'s environment every variable of `names` that the outer build set for
/// itself ([`LEAKED_ENV`], [`LEAKED_ENV_PREFIXES`]).
fn scrub_env<I, S>(command: &mut Command, names: I)
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    for name in names {
        let name = name.as_ref();
        if is_leaked(&name.to_string_lossy()) {
            command.env_remove(name);
        }
    }
}

fn is_leaked(name: &str) -> bool {
    LEAKED_ENV.contains(&name)
        || LEAKED_ENV_PREFIXES
            .iter()
            .any(|prefix| name.starts_with(prefix))
}

/// Fails with a `hint:` when the `wasm32-wasip2` standard library is not installed for `rustc`.
fn check_guest_target(rustc: &OsStr) -> Result<(), String> {
    let output = Command::new(rustc)
        .args(["--print", "sysroot"])
        .output()
        .map_err(|e| {
            format!(
                "could not run `{} --print sysroot`: {e}",
                rustc.to_string_lossy()
            )
        })?;
    let sysroot = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    let target_lib = Path::new(&sysroot).join("lib/rustlib").join(GUEST_TARGET);
    if output.status.success() && target_lib.is_dir() {
        Ok(())
    } else {
        Err(missing_target_message(&sysroot))
    }
}

fn missing_target_message(sysroot: &str) -> String {
    format!(
        "the Rust target `{GUEST_TARGET}` is not installed for the toolchain at `{sysroot}`, \
         so gs cannot build its plugins\n\
         hint: run `cargo xtask bootstrap` or `rustup target add {GUEST_TARGET}`"
    )
}

/// The last `lines` lines of `text`.
fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    /// A fresh empty folder under the system temp dir, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(name: &str) -> Self {
            let dir =
                std::env::temp_dir().join(format!("gs-wasm-build-{name}-{}", std::process::id()));
            let _ = fs::remove_dir_all(&dir);
            fs::create_dir_all(&dir).unwrap();
            TempDir(dir)
        }

        fn touch(&self, relative: &str) {
            let path = self.0.join(relative);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, "").unwrap();
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn component_paths_use_the_library_name() {
        assert_eq!(
            component_path(Path::new("t/wasm-guests"), "test-wrong-version"),
            Path::new("t/wasm-guests/wasm32-wasip2/release/test_wrong_version.wasm")
        );
    }

    #[test]
    fn guest_target_dir_sits_in_the_outer_target_dir() {
        let tmp = TempDir::new("target-dir");
        let out = tmp.0.join("tgt/debug/build/gs-runtime-0123/out");
        fs::create_dir_all(&out).unwrap();
        // By the layout alone.
        assert_eq!(guest_target_dir(&out), tmp.0.join("tgt/debug/wasm-guests"));
        // By cargo's tag, also under a target triple.
        tmp.touch("tgt/CACHEDIR.TAG");
        assert_eq!(guest_target_dir(&out), tmp.0.join("tgt/wasm-guests"));
        let cross = tmp
            .0
            .join("tgt/x86_64-unknown-linux-gnu/release/build/gs-runtime-0123/out");
        fs::create_dir_all(&cross).unwrap();
        tmp.touch("tgt/x86_64-unknown-linux-gnu/CACHEDIR.TAG");
        assert_eq!(guest_target_dir(&cross), tmp.0.join("tgt/wasm-guests"));
    }

    #[test]
    fn guest_target_dir_falls_back_to_a_folder_named_target() {
        let out = Path::new("/nonexistent-gs/target/release/build/x-1/out");
        assert_eq!(
            guest_target_dir(out),
            Path::new("/nonexistent-gs/target/wasm-guests")
        );
    }

    #[test]
    fn watched_paths_never_cover_a_target_dir() {
        let tmp = TempDir::new("watch");
        for file in [
            "wit/model.wit",
            "plugin-sdk/Cargo.toml",
            "plugin-sdk/src/lib.rs",
            "plugins/Cargo.toml",
            "plugins/Cargo.lock",
            "plugins/target/wasm32-wasip2/release/sage.wasm",
            "plugins/sage/Cargo.toml",
            "plugins/sage/src/lib.rs",
            "tests/plugins/trap/Cargo.toml",
            "tests/plugins/trap/src/lib.rs",
            "tests/plugins/wrong-version/wit/model.wit",
            "tests/plugins/wrong-version/Cargo.toml",
            "examples/demo/nc.yaml",
            "examples/custom-gcn/Cargo.toml",
            "examples/custom-gcn/.hidden/x",
        ] {
            tmp.touch(file);
        }
        let watched: Vec<String> = guest_source_paths(&tmp.0)
            .iter()
            .map(|p| {
                p.strip_prefix(&tmp.0)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        assert_eq!(
            watched,
            [
                "examples/custom-gcn/Cargo.toml",
                "examples/demo",
                "plugin-sdk/Cargo.toml",
                "plugin-sdk/src",
                "plugins/Cargo.lock",
                "plugins/Cargo.toml",
                "plugins/sage/Cargo.toml",
                "plugins/sage/src",
                "tests/plugins/trap/Cargo.toml",
                "tests/plugins/trap/src",
                "tests/plugins/wrong-version/Cargo.toml",
                "tests/plugins/wrong-version/wit",
                "wit",
            ]
        );
    }

    #[test]
    fn scrubs_what_the_outer_build_sets_and_keeps_the_jobserver() {
        for leaked in [
            "CARGO_ENCODED_RUSTFLAGS",
            "RUSTFLAGS",
            "CARGO_BUILD_TARGET",
            "CARGO_TARGET_DIR",
            "RUSTC_WORKSPACE_WRAPPER",
            "CARGO_PRIMARY_PACKAGE",
            "CARGO_MANIFEST_DIR",
            "CARGO_PKG_NAME",
            "CARGO_CFG_TARGET_OS",
            "CARGO_FEATURE_STD",
            "OUT_DIR",
        ] {
            assert!(is_leaked(leaked), "{leaked}");
        }
        for kept in [
            "CARGO_MAKEFLAGS",
            "CARGO_HOME",
            "RUSTUP_TOOLCHAIN",
            "PATH",
            "CARGO",
        ] {
            assert!(!is_leaked(kept), "{kept}");
        }
        let mut command = Command::new("true");
        scrub_env(&mut command, ["RUSTFLAGS", "PATH"]);
        let removed: Vec<_> = command.get_envs().filter(|(_, v)| v.is_none()).collect();
        assert_eq!(removed, [(OsStr::new("RUSTFLAGS"), None)]);
    }

    #[test]
    fn a_missing_target_says_what_to_do() {
        let message = missing_target_message("/toolchain");
        assert!(message.contains("`wasm32-wasip2` is not installed"));
        assert!(
            message.ends_with(
                "hint: run `cargo xtask bootstrap` or `rustup target add wasm32-wasip2`"
            )
        );
    }

    #[test]
    fn no_packages_builds_nothing() {
        let built = build_guest_packages_in(Path::new("plugins/Cargo.toml"), &[], Path::new("t"));
        assert_eq!(built, Ok(Vec::new()));
    }

    #[test]
    fn tail_keeps_the_last_lines() {
        assert_eq!(tail("a\nb\nc", 2), "b\nc");
        assert_eq!(tail("a", 5), "a");
    }
}
