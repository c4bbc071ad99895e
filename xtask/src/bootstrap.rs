//! `cargo xtask bootstrap`: the `wasm32-wasip2` target, a cached libtorch, and the `.libtorch`
//! link.
//!
//! libtorch comes from the PyPI torch wheel that matches `tch` 0.24 (torch 2.11.0), installed with
//! `pip install --target` into `<cache>/libtorch/torch-2.11.0-<variant>/`. The `cpu` variant
//! takes the wheel without its dependencies plus the two small wheels its libraries actually link
//! (CUDA runtime and CUPTI, found through `libtorch_cpu.so`'s own rpath
//! `$ORIGIN/../../nvidia/cu13/lib`); the `cuda` variant takes the wheel with all its dependencies
//! (cuDNN, cuBLAS, NCCL, ...). `LIBTORCH_USE_PYTORCH` is not used: `import torch` fails on the slim
//! install, so `.cargo/config.toml` points `LIBTORCH` at the wheel's `torch` folder directly.
//!
//! Concurrency: installs happen in a private `.tmp-<pid>` directory that is renamed into place,
//! so a finished install is never seen half-written; an advisory lock (`flock` through
//! [`File::lock`]) on `<cache>/libtorch/.lock` serialises installers. The kernel drops the lock
//! when its holder dies, so there are no stale locks to clean up, and leftover `.tmp-*`
//! directories of dead installers are removed by the next lock holder.

use std::ffi::{OsStr, OsString};
use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::util::{self, describe, env_nonempty, fmt_duration};

/// The torch release whose C++ API `tch` 0.24 / `torch-sys` 0.24 is generated against.
pub(crate) const TORCH_VERSION: &str = "2.11.0";

/// Extra wheels the `cpu` variant needs besides torch itself: `libtorch_cpu.so` links
/// `libcudart.so.13` and `libcupti.so.13`. The pins are the ones torch 2.11.0's `cuda-toolkit`
/// 13.0.2 dependency resolves to.
const CPU_EXTRA_WHEELS: [&str; 2] = [
    "nvidia-cuda-runtime==13.0.96.*",
    "nvidia-cuda-cupti==13.0.85.*",
];

/// The Rust target the plugins are compiled for.
const WASM_TARGET: &str = "wasm32-wasip2";

/// Which libtorch install to use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Variant {
    /// The torch wheel plus CUDA runtime and CUPTI: runs on CPU, ~1.2 GB.
    Cpu,
    /// The torch wheel with all its CUDA dependencies: runs on NVIDIA GPUs, several GB.
    Cuda,
}

impl Variant {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Variant::Cpu => "cpu",
            Variant::Cuda => "cuda",
        }
    }
}

/// What the bootstrap left in place, for the commands that run after it.
#[derive(Debug)]
pub(crate) struct Bootstrapped {
    /// The libtorch variant `.libtorch` now points at.
    pub(crate) variant: Variant,
}

/// Whether a step found its work already done or had to change something.
enum Outcome {
    Present(String),
    Changed(String),
}

/// Runs the whole bootstrap, printing one line per step.
pub(crate) fn run() -> Result<Bootstrapped> {
    let start = Instant::now();
    let mut changed = false;
    let mut step = |name: &str, f: &mut dyn FnMut() -> Result<Outcome>| -> Result<()> {
        let t = Instant::now();
        let outcome = f().with_context(|| format!("bootstrap step `{name}` failed"))?;
        let (verb, detail) = match outcome {
            Outcome::Present(d) => ("ok", d),
            Outcome::Changed(d) => {
                changed = true;
                ("done", d)
            }
        };
        println!(
            "bootstrap: {name:<18} {verb:<4} {detail} ({})",
            fmt_duration(t.elapsed())
        );
        Ok(())
    };

    step("wasm32-wasip2", &mut ensure_wasm_target)?;

    let (variant, why) = choose_variant()?;
    let root = std::path::absolute(cache_root(
        env_nonempty("GS_CACHE_DIR"),
        env_nonempty("XDG_CACHE_HOME"),
        env_nonempty("HOME"),
    )?)?;
    let install_dir = install_dir(&root, variant);
    step(&format!("libtorch ({})", variant.name()), &mut || {
        ensure_libtorch(&install_dir, variant).map(|o| match o {
            Outcome::Present(d) => Outcome::Present(format!("{d}; {why}")),
            Outcome::Changed(d) => Outcome::Changed(format!("{d}; {why}")),
        })
    })?;

    let link = util::libtorch_link();
    let torch = install_dir.join("torch");
    step(".libtorch link", &mut || ensure_link(&link, &torch))?;

    if changed {
        println!("bootstrap: finished in {}", fmt_duration(start.elapsed()));
    } else {
        println!(
            "bootstrap: everything already in place ({})",
            fmt_duration(start.elapsed())
        );
    }
    Ok(Bootstrapped { variant })
}

/// Makes sure the wasm32-wasip2 target and the `variant` install of libtorch are in place, without
/// touching the `.libtorch` link, and returns the install's `torch` folder (what `LIBTORCH` names).
/// For commands that build against a variant other than the linked one (`check-cuda`).
pub(crate) fn ensure_variant(variant: Variant) -> Result<PathBuf> {
    let root = std::path::absolute(cache_root(
        env_nonempty("GS_CACHE_DIR"),
        env_nonempty("XDG_CACHE_HOME"),
        env_nonempty("HOME"),
    )?)?;
    let dir = install_dir(&root, variant);
    let steps = [
        ("wasm32-wasip2".to_string(), ensure_wasm_target()?),
        (
            format!("libtorch ({})", variant.name()),
            ensure_libtorch(&dir, variant)?,
        ),
    ];
    for (name, outcome) in steps {
        let (verb, detail) = match outcome {
            Outcome::Present(d) => ("ok", d),
            Outcome::Changed(d) => ("done", d),
        };
        println!("bootstrap: {name:<18} {verb:<4} {detail}");
    }
    Ok(dir.join("torch"))
}

// ---------------------------------------------------------------------------------------------
// wasm32-wasip2

fn ensure_wasm_target() -> Result<Outcome> {
    let mut list = Command::new("rustup");
    list.args(["target", "list", "--installed"])
        .current_dir(util::repo_root());
    let output = match list.stderr(Stdio::inherit()).output() {
        Ok(output) => output,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return wasm_target_without_rustup(),
        Err(e) => return Err(e).context("could not run `rustup target list --installed`"),
    };
    util::check_status(output.status, "rustup target list --installed")?;
    let installed = String::from_utf8_lossy(&output.stdout);
    if installed.lines().any(|l| l.trim() == WASM_TARGET) {
        return Ok(Outcome::Present("installed".into()));
    }
    let mut add = Command::new("rustup");
    add.args(["target", "add", WASM_TARGET])
        .current_dir(util::repo_root());
    util::run_checked(&mut add)?;
    Ok(Outcome::Changed(format!("added with `{}`", describe(&add))))
}

/// Without rustup (a distribution's Rust), the target can only be checked, not added.
fn wasm_target_without_rustup() -> Result<Outcome> {
    let output = Command::new("rustc")
        .args(["--print", "sysroot"])
        .output()
        .context("neither rustup nor rustc could be run")?;
    let sysroot = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
    let dir = sysroot.join("lib/rustlib").join(WASM_TARGET);
    if output.status.success() && dir.is_dir() {
        return Ok(Outcome::Present(format!(
            "installed in {} (no rustup)",
            sysroot.display()
        )));
    }
    bail!(
        "the Rust target {WASM_TARGET} is not installed and rustup is not available to add it; \
         install rustup (https://rustup.rs) or add the target with your toolchain's installer"
    )
}

// ---------------------------------------------------------------------------------------------
// Variant and cache location

/// Picks the variant: `GS_LIBTORCH_VARIANT` if set, else `cuda` when `nvidia-smi -L` lists a GPU.
/// Returns the variant and a short reason for the log line.
fn choose_variant() -> Result<(Variant, String)> {
    let var = std::env::var_os("GS_LIBTORCH_VARIANT");
    if let Some(v) = parse_variant_override(var.as_deref())? {
        return Ok((v, "GS_LIBTORCH_VARIANT".into()));
    }
    Ok(match query_gpus() {
        Some(stdout) if lists_gpu(&stdout) => (Variant::Cuda, "NVIDIA GPU found".into()),
        _ => (Variant::Cpu, "no NVIDIA GPU found".into()),
    })
}

/// Parses `GS_LIBTORCH_VARIANT`: `cpu` or `cuda` (any case, surrounding spaces ignored); unset or
/// empty means "detect".
pub(crate) fn parse_variant_override(value: Option<&OsStr>) -> Result<Option<Variant>> {
    let Some(value) = value else { return Ok(None) };
    let text = value.to_string_lossy();
    match text.trim().to_ascii_lowercase().as_str() {
        "" => Ok(None),
        "cpu" => Ok(Some(Variant::Cpu)),
        "cuda" | "gpu" => Ok(Some(Variant::Cuda)),
        _ => bail!("GS_LIBTORCH_VARIANT must be `cpu` or `cuda`, not {text:?}"),
    }
}

/// Whether `nvidia-smi -L` output lists at least one GPU (lines like `GPU 0: NVIDIA H200 (UUID:
/// ...)`; MIG devices are listed below their GPU).
pub(crate) fn lists_gpu(nvidia_smi_stdout: &str) -> bool {
    nvidia_smi_stdout.lines().any(|line| {
        line.trim_start()
            .strip_prefix("GPU ")
            .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
    })
}

/// Runs `nvidia-smi -L` with a time limit (a wedged driver can make it hang). `None` when it is
/// missing, fails, or takes too long.
fn query_gpus() -> Option<String> {
    let mut child = Command::new("nvidia-smi")
        .arg("-L")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => break,
            Ok(Some(_)) | Err(_) => return None,
            Ok(None) if Instant::now() > deadline => {
                let _ = child.kill();
                let _ = child.wait();
                eprintln!("bootstrap: `nvidia-smi -L` did not answer in 15 s; assuming no GPU");
                return None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
    let mut out = String::new();
    child.stdout.take()?.read_to_string(&mut out).ok()?;
    Some(out)
}

/// The cache root: `$GS_CACHE_DIR`, else `$XDG_CACHE_HOME/gs` (only when absolute, as the XDG
/// spec asks), else `$HOME/.cache/gs`. Empty values count as unset.
pub(crate) fn cache_root(
    gs_cache_dir: Option<OsString>,
    xdg_cache_home: Option<OsString>,
    home: Option<OsString>,
) -> Result<PathBuf> {
    let set = |v: Option<OsString>| v.filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(dir) = set(gs_cache_dir) {
        return Ok(dir);
    }
    if let Some(xdg) = set(xdg_cache_home).filter(|p| p.is_absolute()) {
        return Ok(xdg.join("gs"));
    }
    if let Some(home) = set(home) {
        return Ok(home.join(".cache").join("gs"));
    }
    bail!("cannot choose a cache directory: set GS_CACHE_DIR (or HOME)")
}

/// `<root>/libtorch/torch-2.11.0-<variant>`.
pub(crate) fn install_dir(root: &Path, variant: Variant) -> PathBuf {
    root.join("libtorch")
        .join(format!("torch-{TORCH_VERSION}-{}", variant.name()))
}

// ---------------------------------------------------------------------------------------------
// libtorch install

/// Files an install must have, relative to the install directory.
pub(crate) fn required_files(variant: Variant) -> Vec<&'static str> {
    let mut files = vec![
        "torch/lib/libtorch_cpu.so",
        "torch/lib/libc10.so",
        "torch/include/torch",
        "nvidia/cu13/lib/libcudart.so.13",
        "nvidia/cu13/lib/libcupti.so.13",
    ];
    if variant == Variant::Cuda {
        files.push("torch/lib/libtorch_cuda.so");
    }
    files
}

fn missing_files(dir: &Path, variant: Variant) -> Vec<&'static str> {
    required_files(variant)
        .into_iter()
        .filter(|f| !dir.join(f).exists())
        .collect()
}

/// The `pip install` arguments (after `python -m pip`) that install `variant` into `target`.
pub(crate) fn pip_install_args(variant: Variant, target: &Path) -> Vec<OsString> {
    let mut args: Vec<OsString> = vec!["install".into()];
    if variant == Variant::Cpu {
        args.push("--no-deps".into());
    }
    args.extend(["--no-compile", "--disable-pip-version-check", "--target"].map(OsString::from));
    args.push(target.into());
    args.push(format!("torch=={TORCH_VERSION}").into());
    if variant == Variant::Cpu {
        args.extend(CPU_EXTRA_WHEELS.map(OsString::from));
    }
    args
}

fn ensure_libtorch(dir: &Path, variant: Variant) -> Result<Outcome> {
    if dir.exists() {
        verify_install(dir, variant)?;
        return Ok(Outcome::Present(dir.display().to_string()));
    }
    let parent = dir.parent().expect("install dir has a parent");
    fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
    let _lock = InstallLock::acquire(&parent.join(".lock"))?;
    // Another bootstrap may have finished while we waited for the lock.
    if dir.exists() {
        verify_install(dir, variant)?;
        return Ok(Outcome::Present(format!(
            "{} (installed by another bootstrap)",
            dir.display()
        )));
    }
    remove_leftovers(parent)?;
    install(dir, variant)?;
    Ok(Outcome::Changed(format!(
        "installed into {}",
        dir.display()
    )))
}

fn verify_install(dir: &Path, variant: Variant) -> Result<()> {
    let missing = missing_files(dir, variant);
    if !missing.is_empty() {
        bail!(
            "the libtorch install at {dir} is incomplete (missing {missing}); delete it with \
             `rm -rf '{dir}'` and rerun `cargo xtask bootstrap`",
            dir = dir.display(),
            missing = missing.join(", "),
        );
    }
    Ok(())
}

/// Removes `.tmp-*` directories left by installers that died. Only called under the lock, so no
/// live installer owns them.
fn remove_leftovers(parent: &Path) -> Result<()> {
    for entry in fs::read_dir(parent)? {
        let entry = entry?;
        if entry.file_name().to_string_lossy().starts_with(".tmp-") {
            println!("bootstrap: removing leftover {}", entry.path().display());
            fs::remove_dir_all(entry.path())
                .with_context(|| format!("cannot remove {}", entry.path().display()))?;
        }
    }
    Ok(())
}

/// pip-installs into `<parent>/.tmp-<pid>`, checks the result and renames it to `dir`.
fn install(dir: &Path, variant: Variant) -> Result<()> {
    let parent = dir.parent().expect("install dir has a parent");
    let pid = std::process::id();
    let staging = parent.join(format!(".tmp-{pid}"));
    // pip unpacks the wheel under $TMPDIR before moving files into --target: keep that on the
    // same file system (plain renames, and no 1 GB+ surprise in a small /tmp).
    let pip_tmp = parent.join(format!(".tmp-{pid}-pip"));
    let cleanup = || {
        let _ = fs::remove_dir_all(&staging);
        let _ = fs::remove_dir_all(&pip_tmp);
    };
    fs::create_dir_all(&pip_tmp)?;

    let python = env_nonempty("GS_PYTHON").unwrap_or_else(|| "python3".into());
    let mut check = Command::new(&python);
    check
        .args(["-m", "pip", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if !check.status().is_ok_and(|s| s.success()) {
        cleanup();
        bail!(
            "`{}` does not work; libtorch is installed with pip: install python3 with pip \
             (e.g. `apt install python3-pip` or `python3 -m ensurepip --user`), or set GS_PYTHON \
             to an interpreter that has pip",
            describe(&check)
        );
    }

    let size = match variant {
        Variant::Cpu => "~530 MB download, ~1.2 GB on disk",
        Variant::Cuda => "several GB download and on disk",
    };
    let mut pip = Command::new(&python);
    pip.arg("-m")
        .arg("pip")
        .args(pip_install_args(variant, &staging))
        .env("TMPDIR", &pip_tmp)
        // Root on CI is expected here; pip versions without the option ignore the variable.
        .env("PIP_ROOT_USER_ACTION", "ignore");
    println!(
        "bootstrap: installing libtorch {TORCH_VERSION} ({}, {size}):",
        variant.name()
    );
    println!("bootstrap: $ {}", describe(&pip));
    let result = util::run_checked(&mut pip);
    let _ = fs::remove_dir_all(&pip_tmp);
    if let Err(err) = result {
        cleanup();
        return Err(err).context(format!(
            "pip could not install torch {TORCH_VERSION}: check network access to PyPI, free disk \
             space under {}, and that this python has torch {TORCH_VERSION} wheels for it; then \
             rerun `cargo xtask bootstrap`",
            parent.display()
        ));
    }
    let missing = missing_files(&staging, variant);
    if !missing.is_empty() {
        cleanup();
        bail!(
            "pip finished but the install lacks {}; the torch {TORCH_VERSION} wheel for this \
             platform does not have the expected layout",
            missing.join(", ")
        );
    }
    match fs::rename(&staging, dir) {
        Ok(()) => Ok(()),
        // Someone installed without taking the lock (or the lock is unsupported here): keep
        // theirs if it is complete.
        Err(_) if dir.exists() => {
            cleanup();
            verify_install(dir, variant)
        }
        Err(e) => {
            cleanup();
            Err(e).with_context(|| {
                format!("cannot rename {} to {}", staging.display(), dir.display())
            })
        }
    }
}

/// An exclusive advisory lock on a file, released when dropped or when the process dies.
struct InstallLock {
    _file: Option<File>,
}

impl InstallLock {
    fn acquire(path: &Path) -> Result<Self> {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .with_context(|| format!("cannot open lock file {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = holder.trim();
                let who = if holder.is_empty() {
                    String::new()
                } else {
                    format!(" (pid {holder})")
                };
                println!(
                    "bootstrap: another bootstrap{who} is installing libtorch; waiting for {}",
                    path.display()
                );
                file.lock()
                    .with_context(|| format!("cannot lock {}", path.display()))?;
            }
            Err(TryLockError::Error(e)) => {
                // E.g. a network file system without flock: the atomic rename still keeps
                // finished installs whole, so carry on without the lock.
                eprintln!(
                    "bootstrap: warning: cannot lock {} ({e}); continuing",
                    path.display()
                );
                return Ok(Self { _file: None });
            }
        }
        // Record the holder for anyone who has to wait (informational only).
        let _ = file.set_len(0);
        let _ = file.rewind();
        let _ = writeln!(file, "{}", std::process::id());
        Ok(Self { _file: Some(file) })
    }
}

// ---------------------------------------------------------------------------------------------
// The `.libtorch` link

/// Makes `link` a symlink to `target`, replacing a symlink that points elsewhere. A real file or
/// directory in its place is left alone (it may be someone's own libtorch) and reported.
fn ensure_link(link: &Path, target: &Path) -> Result<Outcome> {
    let previous = match fs::symlink_metadata(link) {
        Ok(meta) if meta.file_type().is_symlink() => {
            let current = fs::read_link(link)?;
            if current == target || util::same_location(link, target) {
                return Ok(Outcome::Present(format!("-> {}", target.display())));
            }
            Some(current)
        }
        Ok(_) => bail!(
            "{} exists and is not a symlink; move it away and rerun `cargo xtask bootstrap`",
            link.display()
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).with_context(|| format!("cannot inspect {}", link.display())),
    };
    // Create the new link beside the old one and rename it over, so `.libtorch` is never missing.
    let staging = link.with_file_name(format!(".libtorch.tmp-{}", std::process::id()));
    let _ = fs::remove_file(&staging);
    symlink(target, &staging)
        .with_context(|| format!("cannot create symlink {}", staging.display()))?;
    if let Err(e) = fs::rename(&staging, link) {
        let _ = fs::remove_file(&staging);
        return Err(e).with_context(|| format!("cannot create {}", link.display()));
    }
    Ok(Outcome::Changed(match previous {
        Some(old) => format!("-> {} (was -> {})", target.display(), old.display()),
        None => format!("-> {}", target.display()),
    }))
}

#[cfg(unix)]
fn symlink(target: &Path, link: &Path) -> std::io::Result<()> {
    std::os::unix::fs::symlink(target, link)
}

#[cfg(not(unix))]
fn symlink(_target: &Path, _link: &Path) -> std::io::Result<()> {
    Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "gs builds on Linux only (the libtorch setup relies on symlinks and rpath)",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(s: &str) -> Option<OsString> {
        Some(OsString::from(s))
    }

    #[test]
    fn cache_root_prefers_gs_cache_dir() {
        let root = cache_root(os("/c/gs"), os("/xdg"), os("/home/u")).unwrap();
        assert_eq!(root, PathBuf::from("/c/gs"));
    }

    #[test]
    fn cache_root_falls_back_to_xdg_then_home() {
        assert_eq!(
            cache_root(None, os("/xdg"), os("/home/u")).unwrap(),
            PathBuf::from("/xdg/gs")
        );
        assert_eq!(
            cache_root(None, None, os("/home/u")).unwrap(),
            PathBuf::from("/home/u/.cache/gs")
        );
    }

    #[test]
    fn cache_root_ignores_empty_and_relative_xdg() {
        assert_eq!(
            cache_root(os(""), os(""), os("/home/u")).unwrap(),
            PathBuf::from("/home/u/.cache/gs")
        );
        assert_eq!(
            cache_root(None, os("relative/cache"), os("/home/u")).unwrap(),
            PathBuf::from("/home/u/.cache/gs")
        );
    }

    #[test]
    fn cache_root_without_anything_is_an_error() {
        assert!(cache_root(None, None, None).is_err());
        assert!(cache_root(None, os(""), os("")).is_err());
    }

    #[test]
    fn install_dir_names_version_and_variant() {
        let root = Path::new("/home/u/.cache/gs");
        assert_eq!(
            install_dir(root, Variant::Cpu),
            PathBuf::from("/home/u/.cache/gs/libtorch/torch-2.11.0-cpu")
        );
        assert_eq!(
            install_dir(root, Variant::Cuda),
            PathBuf::from("/home/u/.cache/gs/libtorch/torch-2.11.0-cuda")
        );
    }

    #[test]
    fn variant_override_parses() {
        let parse = |s: &str| parse_variant_override(Some(OsStr::new(s)));
        assert_eq!(parse_variant_override(None).unwrap(), None);
        assert_eq!(parse("").unwrap(), None);
        assert_eq!(parse("cpu").unwrap(), Some(Variant::Cpu));
        assert_eq!(parse(" CUDA ").unwrap(), Some(Variant::Cuda));
        assert_eq!(parse("gpu").unwrap(), Some(Variant::Cuda));
        let err = parse("rocm").unwrap_err().to_string();
        assert!(err.contains("GS_LIBTORCH_VARIANT"), "{err}");
    }

    #[test]
    fn gpu_listing_is_recognised() {
        assert!(lists_gpu(
            "GPU 0: NVIDIA H200 (UUID: GPU-0d6c1b1e-aaaa-bbbb-cccc-123456789abc)\n"
        ));
        assert!(lists_gpu(
            "GPU 0: NVIDIA A100-SXM4-40GB (UUID: GPU-1)\n  MIG 1g.5gb     Device  0: (UUID: MIG-2)\n"
        ));
        assert!(!lists_gpu(""));
        assert!(!lists_gpu("No devices found.\n"));
        assert!(!lists_gpu(
            "NVIDIA-SMI has failed because it couldn't communicate with the driver"
        ));
        assert!(!lists_gpu("GPU access blocked by the operating system\n"));
    }

    #[test]
    fn pip_arguments_match_the_variant() {
        let target = Path::new("/cache/libtorch/.tmp-1");
        let cpu: Vec<String> = pip_install_args(Variant::Cpu, target)
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            cpu,
            [
                "install",
                "--no-deps",
                "--no-compile",
                "--disable-pip-version-check",
                "--target",
                "/cache/libtorch/.tmp-1",
                "torch==2.11.0",
                "nvidia-cuda-runtime==13.0.96.*",
                "nvidia-cuda-cupti==13.0.85.*",
            ]
        );
        let cuda: Vec<String> = pip_install_args(Variant::Cuda, target)
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            cuda,
            [
                "install",
                "--no-compile",
                "--disable-pip-version-check",
                "--target",
                "/cache/libtorch/.tmp-1",
                "torch==2.11.0",
            ]
        );
    }

    #[test]
    fn verification_lists_missing_files() {
        let dir = std::env::temp_dir().join(format!("gs-xtask-verify-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        for f in required_files(Variant::Cpu) {
            let path = dir.join(f);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            if f.ends_with("include/torch") {
                fs::create_dir_all(&path).unwrap();
            } else {
                fs::write(&path, b"").unwrap();
            }
        }
        assert!(missing_files(&dir, Variant::Cpu).is_empty());
        assert_eq!(
            missing_files(&dir, Variant::Cuda),
            ["torch/lib/libtorch_cuda.so"]
        );
        let err = verify_install(&dir, Variant::Cuda).unwrap_err().to_string();
        assert!(
            err.contains("rm -rf") && err.contains("cargo xtask bootstrap"),
            "{err}"
        );
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn link_is_created_and_repointed() {
        let dir = std::env::temp_dir().join(format!("gs-xtask-link-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let (a, b) = (dir.join("a"), dir.join("b"));
        fs::create_dir_all(&a).unwrap();
        fs::create_dir_all(&b).unwrap();
        let link = dir.join(".libtorch");
        assert!(matches!(
            ensure_link(&link, &a).unwrap(),
            Outcome::Changed(_)
        ));
        assert!(matches!(
            ensure_link(&link, &a).unwrap(),
            Outcome::Present(_)
        ));
        assert!(matches!(
            ensure_link(&link, &b).unwrap(),
            Outcome::Changed(_)
        ));
        assert_eq!(fs::read_link(&link).unwrap(), b);
        // A real directory is never replaced.
        fs::remove_file(&link).unwrap();
        fs::create_dir(&link).unwrap();
        assert!(ensure_link(&link, &a).is_err());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn lock_is_exclusive() {
        let path = std::env::temp_dir().join(format!("gs-xtask-lock-{}", std::process::id()));
        let held = InstallLock::acquire(&path).unwrap();
        let other = OpenOptions::new().write(true).open(&path).unwrap();
        assert!(matches!(other.try_lock(), Err(TryLockError::WouldBlock)));
        drop(held);
        other.try_lock().unwrap();
        drop(other);
        fs::remove_file(&path).unwrap();
    }
}
