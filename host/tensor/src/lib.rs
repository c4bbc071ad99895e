//! gs-tensor: the only crate that links libtorch (through `tch`).
//!
//! It owns device choice (with a clean fall-back to CPU), the set of fallible tensor
//! operations that both the plugin runtime and the native models call (so the two paths
//! run the very same code), deterministic parameter initialisation, named-tensor files
//! for checkpoints (safetensors, written atomically), and the process allocator tuning
//! that libtorch's large intermediates need. It knows nothing about plugins, graphs or tasks.
//!
//! Other crates reach libtorch types through the re-exported [`tch`] module and never
//! depend on `tch` themselves.

mod aggregate;
mod alloc;
mod device;
mod error;
mod init;
mod io;
pub mod ops;
mod params;

pub use aggregate::InEdges;
pub use alloc::{AllocatorTuning, tune_allocator};
pub use device::{DeviceChoice, choose_device};
pub use error::{TensorError, show_cpp_traces, torch_message};
pub use init::{Init, init_param};
pub use io::{read_named, read_named_bytes, write_named_atomic};
pub use params::ParamStore;
pub use tch;
pub use tch::{Device, Kind, Tensor};

/// Seed libtorch's global generator (dropout) and set its intra-op thread count.
pub fn seed_and_threads(seed: u64, threads: Option<usize>) {
    tch::manual_seed(seed as i64);
    if let Some(threads) = threads {
        tch::set_num_threads(threads as i32);
    }
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
