//! Reading partitions written by GraphStorm/DGL: the part-config JSON with per-part
//! `graph.dgl`, `node_feat.dgl` and `edge_feat.dgl`, plus GraphStorm's `node_mapping.pt` and
//! `raw_id_mappings/`, and the tensors of a `torch.save`d model (GraphStorm's `model.bin`).
//! All parsers are written from DGL's and PyTorch's `Save()`/`torch.save` code (no Python, no
//! libtorch); one module per file format.

mod config;
mod error;
mod graph_file;
mod load;
mod ndarray;
mod pickle;
mod remap;
mod scatter;
mod stream;
mod tensor_dict;
mod torch_pt;
mod zip;

pub use error::DglError;
pub(crate) use load::is_dgl;
pub use load::{DglGraph, DglPartitionInfo, inspect_dgl_partitions, load_dgl};
pub use torch_pt::{TorchTensor, read_torch_tensors};

#[cfg(test)]
mod tests;
