//! Partitions on disk: gs's own format (DGL's part-config JSON naming safetensors files) and,
//! in [`dgl`], partitions written by GraphStorm/DGL. [`load`] accepts both.

pub(crate) mod dgl;
mod format;
mod raw_id_map;
mod read;
mod tensors;
mod write;

pub use dgl::{
    DglError, DglGraph, DglPartitionInfo, TorchTensor, inspect_dgl_partitions, load_dgl,
    read_torch_tensors,
};
pub use format::GS_FORMAT_VERSION;
pub use raw_id_map::write_raw_id_mapping;
pub use read::{GsPartsSummary, inspect_gs_partitions, load};
pub use write::{write_partitioned, write_partitions};

#[cfg(test)]
mod tests;
