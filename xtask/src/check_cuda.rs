//! `cargo xtask check-cuda`: builds every binary and test of the workspace against the CUDA
//! variant of libtorch and checks, with `readelf -d`, that each executable that links libtorch
//! lists `libtorch_cuda.so` as NEEDED. Without that entry `--device cuda` finds no GPU, because
//! the linker's `--as-needed` drops `libtorch_cuda` (see `gs_torch_link::build`).
//!
//! It installs the CUDA variant into the cache if needed (several GB; no GPU is needed to build)
//! but leaves the `.libtorch` link alone, and builds in `<target>/check-cuda`, so the normal
//! build keeps its artifacts.

use std::ffi::OsString;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::bootstrap::{self, Variant};
use crate::json;
use crate::util::{self, describe, fmt_duration};

/// The library every libtorch user links (torch-sys asks for it directly).
const TORCH_CPU: &str = "libtorch_cpu.so";
/// The library `--device cuda` needs loaded.
const TORCH_CUDA: &str = "libtorch_cuda.so";

pub(crate) fn run(args: &[OsString]) -> Result<ExitCode> {
    if let Some(first) = args.first() {
        bail!("`cargo xtask check-cuda` takes no arguments, got {first:?}");
    }
    let start = Instant::now();
    let libtorch = bootstrap::ensure_variant(Variant::Cuda)?;
    let target_dir = util::target_dir_from_env().join("check-cuda");
    let executables = build(&libtorch, &target_dir)?;
    let mut users = 0;
    let mut missing = Vec::new();
    for exe in &executables {
        let needed = needed_libraries(exe)?;
        if !needed.iter().any(|n| n == TORCH_CPU) {
            continue;
        }
        users += 1;
        let ok = needed.iter().any(|n| n == TORCH_CUDA);
        println!(
            "check-cuda: {} {}",
            if ok { "ok     " } else { "MISSING" },
            exe.display()
        );
        if !ok {
            missing.push(exe.display().to_string());
        }
    }
    if users == 0 {
        bail!(
            "none of the {} executables built links {TORCH_CPU}; the build did not use libtorch",
            executables.len()
        );
    }
    if !missing.is_empty() {
        bail!(
            "{} of {users} executables that link libtorch do not list {TORCH_CUDA} as NEEDED, so \
             `--device cuda` would find no GPU in them; their packages' build scripts must call \
             `gs_torch_link::build::emit()`:\n  {}",
            missing.len(),
            missing.join("\n  ")
        );
    }
    smoke_run(&target_dir, &libtorch)?;
    println!(
        "check-cuda: all {users} executables that link libtorch list {TORCH_CUDA} ({})",
        fmt_duration(start.elapsed())
    );
    Ok(ExitCode::SUCCESS)
}

/// `cargo build --workspace --bins --tests` against `libtorch`; returns every executable built.
fn build(libtorch: &Path, target_dir: &Path) -> Result<Vec<PathBuf>> {
    let mut cmd = util::cargo();
    cmd.args([
        "build",
        "--workspace",
        "--bins",
        "--tests",
        "--message-format=json-render-diagnostics",
    ])
    .env("LIBTORCH", libtorch)
    .env("LIBTORCH_CXX11_ABI", "1")
    .env("CARGO_TARGET_DIR", target_dir)
    .stdout(Stdio::piped());
    let shown = format!("LIBTORCH={} {}", libtorch.display(), describe(&cmd));
    println!("check-cuda: $ {shown}");
    let mut child = cmd
        .spawn()
        .with_context(|| format!("could not start `{shown}`"))?;
    let stdout = child.stdout.take().expect("stdout is piped");
    let mut executables = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.context("reading cargo's output")?;
        executables.extend(executable_of(&line));
    }
    let status = child.wait()?;
    util::check_status(status, &shown)?;
    Ok(executables)
}

/// The executable a `compiler-artifact` message of cargo's JSON output names, if any.
fn executable_of(line: &str) -> Option<PathBuf> {
    let message = json::parse(line).ok()?;
    if message.get("reason")?.as_str()? != "compiler-artifact" {
        return None;
    }
    message.get("executable")?.as_str().map(PathBuf::from)
}

/// The NEEDED entries of an ELF file's dynamic section, through `readelf -d`.
fn needed_libraries(exe: &Path) -> Result<Vec<String>> {
    let output = Command::new("readelf")
        .arg("-d")
        .arg(exe)
        .output()
        .context("could not run `readelf` (install binutils)")?;
    util::check_status(output.status, &format!("readelf -d {}", exe.display()))?;
    Ok(parse_needed(&String::from_utf8_lossy(&output.stdout)))
}

/// Parses `readelf -d` lines such as ` 0x...01 (NEEDED)  Shared library: [libtorch_cuda.so]`.
fn parse_needed(readelf: &str) -> Vec<String> {
    readelf
        .lines()
        .filter(|l| l.contains("(NEEDED)"))
        .filter_map(|l| {
            let open = l.find('[')?;
            let close = l.rfind(']')?;
            Some(l[open + 1..close].to_string())
        })
        .collect()
}

/// Runs the CUDA build's `gs --version`: the binary, with `libtorch_cuda` and every CUDA library
/// it pulls in, loads. A GPU is not needed for that.
fn smoke_run(target_dir: &Path, libtorch: &Path) -> Result<()> {
    let gs = target_dir.join("debug").join("gs");
    let mut cmd = Command::new(&gs);
    cmd.arg("--version")
        .env("LD_LIBRARY_PATH", libtorch.join("lib"));
    let output = cmd
        .output()
        .with_context(|| format!("could not run {}", gs.display()))?;
    if !output.status.success() {
        bail!(
            "{} --version failed ({}): {}",
            gs.display(),
            util::describe_status(output.status),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    println!(
        "check-cuda: {} --version loads libtorch_cuda and prints {}",
        gs.display(),
        String::from_utf8_lossy(&output.stdout).trim()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn needed_entries_are_read_from_readelf_output() {
        let text = "\
Dynamic section at offset 0x1 contains 3 entries:
  Tag        Type                         Name/Value
 0x0000000000000001 (NEEDED)             Shared library: [libtorch_cuda.so]
 0x0000000000000001 (NEEDED)             Shared library: [libtorch_cpu.so]
 0x000000000000001d (RUNPATH)            Library runpath: [$ORIGIN/../lib]
";
        assert_eq!(parse_needed(text), [TORCH_CUDA, TORCH_CPU]);
    }

    #[test]
    fn executables_come_from_compiler_artifacts_only() {
        let artifact = r#"{"reason":"compiler-artifact","executable":"/t/debug/gs","fresh":true}"#;
        assert_eq!(executable_of(artifact), Some(PathBuf::from("/t/debug/gs")));
        let lib = r#"{"reason":"compiler-artifact","executable":null}"#;
        assert_eq!(executable_of(lib), None);
        let script = r#"{"reason":"build-script-executed","executable":"/x"}"#;
        assert_eq!(executable_of(script), None);
    }
}
