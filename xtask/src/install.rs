//! `cargo xtask install [--prefix P] [--binary PATH]`: puts `gs` on the user's PATH.
//!
//! A release build of `gs` (or the binary given with `--binary`, skipping the build) goes to
//! `P/bin/gs`, and `P/lib/gs/libtorch` links to the libtorch the repository's `.libtorch` link
//! names (the bootstrap's cache). The binary finds it through the rpath
//! `$ORIGIN/../lib/gs/libtorch/lib` that every `gs` build carries. The layout code lives in
//! `gs_torch_link::install`, which the install test uses on the debug binary.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::bootstrap;
use crate::util::{self, env_nonempty};

/// Parsed arguments.
#[derive(Debug, PartialEq)]
struct Args {
    prefix: Option<PathBuf>,
    binary: Option<PathBuf>,
}

fn parse_args(args: &[OsString]) -> Result<Args> {
    let mut parsed = Args {
        prefix: None,
        binary: None,
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let slot = match arg.to_str() {
            Some("--prefix") => &mut parsed.prefix,
            Some("--binary") => &mut parsed.binary,
            _ => bail!(
                "`cargo xtask install` takes `--prefix <dir>` and `--binary <path>`, not {arg:?}"
            ),
        };
        let value = it
            .next()
            .with_context(|| format!("{} needs a value", arg.to_string_lossy()))?;
        *slot = Some(PathBuf::from(value));
    }
    Ok(parsed)
}

/// The default prefix: `$HOME/.local`, whose `bin` most distributions put on the PATH.
fn default_prefix() -> Result<PathBuf> {
    let home = env_nonempty("HOME")
        .context("HOME is not set; pass the install prefix with `--prefix <dir>`")?;
    Ok(PathBuf::from(home).join(".local"))
}

pub(crate) fn run(args: &[OsString]) -> Result<()> {
    let args = parse_args(args)?;
    let prefix = match args.prefix {
        Some(p) => std::path::absolute(p)?,
        None => default_prefix()?,
    };
    bootstrap::run()?;
    let binary = match args.binary {
        Some(b) => b,
        None => release_build()?,
    };
    let libtorch = util::libtorch_link();
    let installed = gs_torch_link::install::install(&binary, &prefix, &libtorch)?;
    verify(&installed.binary)?;
    println!(
        "install: {} (libtorch: {} -> {})",
        installed.binary.display(),
        installed.libtorch_link.display(),
        installed.libtorch.display()
    );
    let bin_dir = prefix.join("bin");
    let on_path = std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| util::same_location(&d, &bin_dir)));
    if !on_path {
        println!(
            "install: {} is not on your PATH; add it, e.g. `export PATH=\"{}:$PATH\"`",
            bin_dir.display(),
            bin_dir.display()
        );
    }
    Ok(())
}

/// `cargo build --release --package gs`; returns the binary.
fn release_build() -> Result<PathBuf> {
    let mut cmd = util::cargo();
    cmd.args(["build", "--release", "--package", "gs"]);
    println!("install: $ {}", util::describe(&cmd));
    util::run_checked(&mut cmd)?;
    Ok(util::target_dir_from_env().join("release").join("gs"))
}

/// Runs the installed `gs --version` from outside the repository, without `LD_LIBRARY_PATH`, so
/// only the installed layout can find libtorch.
fn verify(gs: &Path) -> Result<()> {
    let output = Command::new(gs)
        .arg("--version")
        .current_dir(std::env::temp_dir())
        .env_remove("LD_LIBRARY_PATH")
        .output()
        .with_context(|| format!("could not run the installed {}", gs.display()))?;
    if !output.status.success() {
        bail!(
            "the installed {} does not run ({}): {}",
            gs.display(),
            util::describe_status(output.status),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    #[test]
    fn arguments_parse_and_bad_ones_are_named() {
        assert_eq!(
            parse_args(&os(&["--prefix", "/p", "--binary", "b/gs"])).unwrap(),
            Args {
                prefix: Some("/p".into()),
                binary: Some("b/gs".into())
            }
        );
        assert_eq!(
            parse_args(&[]).unwrap(),
            Args {
                prefix: None,
                binary: None
            }
        );
        let err = parse_args(&os(&["--prefix"])).unwrap_err().to_string();
        assert!(err.contains("--prefix needs a value"), "{err}");
        let err = parse_args(&os(&["--release"])).unwrap_err().to_string();
        assert!(err.contains("--release"), "{err}");
    }
}
