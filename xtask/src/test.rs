//! `cargo xtask test`: bootstrap, then `cargo test --workspace`, exiting with cargo's status.
//! This is the project's one test command (README, `.ci/run`), so a fresh clone passes it.
//! Between the two it makes sure the OCI registry the tests run is in the cache
//! ([`registry::ensure`]) and hands its binary to the tests as `GS_TEST_REGISTRY_BIN`.

use std::ffi::OsString;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};

use crate::util::{self, describe, fmt_duration};
use crate::{bootstrap, registry};

/// Runs the workspace's tests; `args` go to `cargo test` verbatim after `--workspace`.
pub(crate) fn run(args: &[OsString]) -> Result<ExitCode> {
    bootstrap::run()?;
    let registry = registry::ensure()
        .context("the OCI registry tests need Debian's docker-registry in the cache")?;
    println!("test: registry binary {}", registry.display());
    let mut cmd = util::cargo();
    cmd.args(["test", "--workspace"])
        .args(args)
        .env("GS_TEST_REGISTRY_BIN", &registry);
    // Plain `cargo test` relies on the rpath from `.cargo/config.toml`, which only reaches
    // `<repo>/.libtorch` from `<repo>/target`; elsewhere, tell the loader directly.
    let target_dir = util::target_dir_from_env();
    if !util::same_location(&target_dir, &util::repo_root().join("target"))
        && target_dir != util::repo_root().join("target")
    {
        println!(
            "test: target dir {} is outside the repository; adding .libtorch/lib to LD_LIBRARY_PATH",
            target_dir.display()
        );
        util::add_libtorch_to_library_path(&mut cmd);
    }
    let shown = describe(&cmd);
    println!("test: $ {shown}");
    let start = Instant::now();
    let status = cmd
        .status()
        .with_context(|| format!("could not start `{shown}`"))?;
    if status.success() {
        println!("test: passed in {}", fmt_duration(start.elapsed()));
    } else {
        eprintln!(
            "test: `{shown}` failed ({}) after {}",
            util::describe_status(status),
            fmt_duration(start.elapsed())
        );
    }
    Ok(ExitCode::from(util::exit_code(status)))
}
