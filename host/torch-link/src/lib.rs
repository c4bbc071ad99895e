//! How gs's binaries find and link libtorch. Two concerns share one place because both decide
//! where a `gs` binary takes libtorch from:
//!
//! - [`build`]: called from the build script of every package whose binaries, tests or benches
//!   link libtorch. On a CUDA install of libtorch it links `libtorch_cuda` with
//!   `--no-as-needed`, so `--device cuda` finds the GPU (see [`build::link_args`]).
//! - [`install`]: the installed layout `cargo xtask install` creates: `<prefix>/bin/gs`, and
//!   `<prefix>/lib/gs/libtorch` pointing at the cached libtorch, which the binary reaches through
//!   the rpath [`INSTALL_RPATH`].

pub mod build;
pub mod install;

/// The rpath entry, relative to the `gs` binary, that finds libtorch in the installed layout:
/// `<prefix>/bin/gs` loads `<prefix>/lib/gs/libtorch/lib/libtorch_cpu.so`.
pub const INSTALL_RPATH: &str = "$ORIGIN/../lib/gs/libtorch/lib";

/// Where [`INSTALL_RPATH`] points, relative to the install prefix: the folder (or link) that holds
/// libtorch's `lib/` and `include/`.
pub const INSTALL_LIBTORCH_DIR: &str = "lib/gs/libtorch";
