//! DGL's tensor-dict file (`node_feat.dgl`, `edge_feat.dgl`, `orig_nids.dgl`), written by
//! `dgl.data.utils.save_tensors` (`src/graph/serialize/tensor_serialize.cc`):
//!
//! ```text
//! u64 magic 0xDD5A9FBE3FA2443F, u64 count,
//! vector<pair<string, NDArray>>   (its own u64 length again, then name + array per entry)
//! ```

use std::path::Path;

use super::error::{DglError, REWRITE_HINT};
use super::ndarray::NdArray;
use super::stream::Reader;

const TENSORS_MAGIC: u64 = 0xDD5A_9FBE_3FA2_443F;

/// Smallest encoding of one entry: an empty name and a 0-d array header.
const MIN_ENTRY_BYTES: u64 = 8 + 8 + 8 + 8 + 4 + 4 + 8;

/// Parses a tensor dict from `bytes` (the whole file at `path`), in file order.
pub(crate) fn parse<'a>(
    path: &'a Path,
    bytes: &'a [u8],
) -> Result<Vec<(String, NdArray<'a>)>, DglError> {
    let mut r = Reader::new(path, bytes);
    if bytes.len() >= 8 && bytes[..8] == 0xDD2E_4FF0_46B4_A13Fu64.to_le_bytes() {
        return Err(DglError::invalid(
            path,
            "is a DGL graph file (save_graphs), not a tensor dict (save_tensors)",
            "check the part-config: `node_feats`/`edge_feats` name tensor files, `part_graph` the graph file",
        ));
    }
    r.magic(TENSORS_MAGIC, "a DGL tensor dict")?;
    let count = r.u64("the tensor count")?;
    let n = r.len("the tensor list", MIN_ENTRY_BYTES)?;
    if n as u64 != count {
        return Err(DglError::invalid(
            path,
            format!("the header says {count} tensors but the list holds {n}"),
            REWRITE_HINT,
        ));
    }
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let name = r.string(&format!("the name of tensor {i}"))?;
        let array = NdArray::read(&mut r, &format!("`{name}`"))?;
        out.push((name, array));
    }
    Ok(out)
}
