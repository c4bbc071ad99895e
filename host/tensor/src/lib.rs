//! gs-tensor: the only crate that links libtorch (through `tch`).
//!
//! It owns device choice (with a clean fall-back to CPU), the set of fallible tensor
//! operations that both the plugin runtime and the native models call (so the two paths
//! run the very same code), the fused neighbour aggregation of `block.aggregate`
//! ([`InEdges`], whose backward is a small libtorch autograd function in `csrc/`, compiled
//! by the build script), deterministic parameter initialisation, named-tensor files
//! for checkpoints (safetensors, written atomically), and the process allocator tuning
//! that libtorch's large intermediates need. It knows nothing about plugins, graphs or tasks.
//!
//! Other crates reach libtorch types through the re-exported [`tch`] module and never
//! depend on `tch` themselves.

mod aggregate;
mod alloc;
mod csr_product;
mod device;
mod error;
mod fused_adam;
mod init;
mod io;
pub mod ops;
mod params;

pub use aggregate::InEdges;
pub use alloc::{AllocatorTuning, tune_allocator};
pub use device::{DeviceChoice, choose_device};
pub use error::{TensorError, show_cpp_traces, torch_message};
pub use fused_adam::{AdamHyper, fused_adam_step, set_grads_to_none};
pub use init::{Init, init_param};
pub use io::{read_named, read_named_bytes, write_named_atomic};
pub use params::ParamStore;
pub use tch;
pub use tch::{Device, Kind, Tensor};

/// Seed libtorch's global generator (dropout) and set its intra-op thread count: `threads`,
/// or by default GraphStorm's (`--num-omp-threads`: half the cores for one trainer, at least
/// one), which leaves the other half to sampling.
///
/// The default matters on small machines: libtorch's own (every core) spins its OpenMP
/// threads at each barrier while the prefetch thread samples, and on a 2-core machine with
/// other work running that made a 10-epoch RGCN job 97 s instead of 12 s (`BENCHMARKS.md`).
pub fn seed_and_threads(seed: u64, threads: Option<usize>) {
    tch::manual_seed(seed as i64);
    tch::set_num_threads(threads.unwrap_or_else(default_threads) as i32);
}

/// GraphStorm's default `--num-omp-threads` for one trainer: `max(1, cores / 2)`.
pub fn default_threads() -> usize {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    (cores / 2).max(1)
}

/// Bytes of one element of `kind`.
pub fn element_size(kind: Kind) -> usize {
    match kind {
        Kind::Uint8 | Kind::Int8 | Kind::Bool => 1,
        Kind::Int16 | Kind::Half | Kind::BFloat16 => 2,
        Kind::Int | Kind::Float => 4,
        _ => 8,
    }
}
