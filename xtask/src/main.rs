//! `cargo xtask`: the project's own automation, run through the `xtask` alias in
//! `.cargo/config.toml`. It owns everything a fresh clone needs before plain `cargo build` and
//! `cargo test` work: the `wasm32-wasip2` Rust target (the built-in plugins are compiled for it),
//! a libtorch for the `tch` crate installed from the PyPI torch wheel into the user's cache
//! (never into the repository), and the gitignored `<repo>/.libtorch` link that
//! `.cargo/config.toml` points `LIBTORCH` and the binaries' rpath at. On top of that it owns the
//! two commands the README promises: `cargo xtask demo` (bootstrap, build `gs`, then generate,
//! train, and predict end to end under `<repo>/demo/`) and `cargo xtask test` (bootstrap, then the
//! whole workspace's tests), which `.ci/run` calls, with the real OCI registry those tests run
//! unpacked into the cache ([`registry`], also `cargo xtask registry`). It depends only on
//! `anyhow` and `std`: downloads go through `python3 -m pip` (the registry's `.deb` through
//! `apt-get download` or `curl`), and the few JSON documents it reads go through a small reader
//! in [`json`]. It holds no project logic: the demo only drives the `gs` binary.

mod bootstrap;
mod check_cuda;
mod demo;
mod install;
mod json;
mod registry;
mod test;
mod util;

use std::ffi::OsString;
use std::process::ExitCode;

const USAGE: &str = "\
cargo xtask <COMMAND> [ARGS]

Project automation for gs. Every command runs from anywhere inside the repository.

Commands:
  bootstrap        Make the repository buildable. Idempotent: a few seconds once done.
                   - adds the wasm32-wasip2 Rust target with rustup if it is missing;
                   - installs libtorch 2.11.0 (the PyPI torch wheel, through python3 -m pip) into
                     <cache>/libtorch/torch-2.11.0-<variant>, unless it is already there;
                   - points the gitignored link <repo>/.libtorch at <that dir>/torch.
                   After it, plain `cargo build` and `cargo test` need no exported variables.

  demo [--release] Bootstrap, `cargo build --package gs`, then, after wiping <repo>/demo/:
                     gs generate demo --output-dir demo/data
                     gs launch ... --plugin sage --save-model-path demo/model -- --aggregator mean
                     gs launch --inference ... --restore-model-path demo/model/<best>/
                           --save-prediction-path demo/pred
                   and print the validation and test scores and where predictions went.

  test [ARGS]      Bootstrap, then `cargo test --workspace [ARGS]`, exiting with its status.
                   ARGS go to cargo verbatim, e.g. `cargo xtask test -- --nocapture`.
                   Ensures the test registry first (see `registry`) and passes its binary to
                   the tests as GS_TEST_REGISTRY_BIN.
                   This is the project's test command; .ci/run calls it.

  registry         Make sure the OCI registry the tests run is in the cache, then print its
                   binary's path on stdout. Idempotent: milliseconds once done. It is Debian's
                   docker-registry 2.8.2+ds1-1 (amd64), never installed as a package: its .deb
                   comes from `apt-get download`, else deb.debian.org through curl (or python3),
                   is checked against a pinned sha256 and unpacked with `dpkg-deb -x` into
                   <cache>/tools/docker-registry-2.8.2+ds1-1/ (binary: usr/bin/docker-registry).

  install [--prefix P] [--binary PATH]
                   Bootstrap, `cargo build --release --package gs`, then install it as P/bin/gs
                   (P defaults to $HOME/.local) with P/lib/gs/libtorch linked to the cached
                   libtorch that `.libtorch` names; gs finds it through its rpath
                   $ORIGIN/../lib/gs/libtorch/lib. `--binary` installs that binary instead of
                   building. Checks that the installed gs runs from outside the repository.

  check-cuda       Build every binary and test against the CUDA libtorch (installed into the
                   cache if missing, several GB; no GPU needed) in <target>/check-cuda, and check
                   with `readelf -d` that each one that links libtorch lists libtorch_cuda.so as
                   NEEDED, then run that build's `gs --version`. Leaves `.libtorch` alone.

  help             Print this text.

Environment:
  GS_LIBTORCH_VARIANT=cpu|cuda  Which libtorch to install. Default: cuda when `nvidia-smi -L`
                                lists a GPU, else cpu (the torch wheel plus the CUDA runtime and
                                CUPTI wheels its libraries link, ~1.2 GB; cuda is the wheel with
                                all its dependencies, several GB).
  GS_CACHE_DIR=<dir>            Cache root. Default: $XDG_CACHE_HOME/gs, else $HOME/.cache/gs.
  GS_PYTHON=<python>            Interpreter that runs pip. Default: python3.
  CARGO_TARGET_DIR              Respected by demo and test.
";

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let command = args.next();
    let rest: Vec<OsString> = args.collect();
    let result = match command.as_ref().and_then(|c| c.to_str()) {
        Some("bootstrap") => no_args("bootstrap", &rest)
            .and_then(|()| bootstrap::run())
            .map(|_| ExitCode::SUCCESS),
        Some("demo") => demo::run(&rest).map(|()| ExitCode::SUCCESS),
        Some("test") => test::run(&rest),
        Some("registry") => no_args("registry", &rest)
            .and_then(|()| registry::ensure())
            .map(|binary| {
                println!("{}", binary.display());
                ExitCode::SUCCESS
            }),
        Some("install") => install::run(&rest).map(|()| ExitCode::SUCCESS),
        Some("check-cuda") => check_cuda::run(&rest),
        Some("help" | "--help" | "-h") => {
            print!("{USAGE}");
            Ok(ExitCode::SUCCESS)
        }
        None => {
            eprint!("{USAGE}");
            Ok(ExitCode::from(2))
        }
        Some(_) => {
            let shown = command.unwrap_or_default();
            eprintln!("error: unknown command {shown:?}\n");
            eprint!("{USAGE}");
            Ok(ExitCode::from(2))
        }
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Rejects arguments for a command that takes none.
fn no_args(command: &str, rest: &[OsString]) -> anyhow::Result<()> {
    if let Some(first) = rest.first() {
        anyhow::bail!(
            "`cargo xtask {command}` takes no arguments, got {first:?} (see `cargo xtask help`)"
        );
    }
    Ok(())
}
