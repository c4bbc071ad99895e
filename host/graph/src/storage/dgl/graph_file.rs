//! DGL's graph file (`graph.dgl`, written by `dgl.save_graphs`; format version 2), reduced to
//! what a partition needs: the edges of its one homogeneous relation and the integer node/edge
//! data (`_ID`, `inner_node`, `_TYPE`, `inner_edge`, ...).
//!
//! Layout (`src/graph/serialize/heterograph_serialize.cc` and the `Save()` methods it calls):
//!
//! ```text
//! u64 magic 0xDD2E4FF046B4A13F, u64 version 2, u64 graph type 2 (hetero), u64 num_graphs,
//! zero padding to byte 4096, u64 gdata_start_pos, vector<pair<string, NDArray>> labels,
//! at gdata_start_pos, per graph:
//!   HeteroGraph: u64 0xDD589FBE35224ABF, metagraph (ImmutableGraph), vector<UnitGraph>,
//!                vector<i64> num_nodes_per_type
//!   vector<vector<pair<string, NDArray>>> node data, the same for edge data,
//!   vector<string> ntype names, vector<string> etype names
//! ImmutableGraph: u64 0xDD3C5FFE20046ABF, CSR
//! UnitGraph: u64 0xDD2E60F0F6B4A127, i64 saved formats | 1<<32, i64 allowed formats | 1<<32,
//!            then for COO (bit 1), CSR (bit 2), CSC (bit 4) if saved: metagraph, matrix
//! COO: u64 0xDD61FFD305DFF127, i64 ncols, i64 nrows, NDArray row, col, data, bool, bool
//! CSR: u64 0xDD6CD31205DFF127, i64 ncols, i64 nrows, NDArray indptr, indices, data, bool
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use super::error::{DglError, REWRITE_HINT};
use super::ndarray::NdArray;
use super::stream::Reader;

const FILE_MAGIC: u64 = 0xDD2E_4FF0_46B4_A13F;
const HETERO_MAGIC: u64 = 0xDD58_9FBE_3522_4ABF;
const IMMUTABLE_MAGIC: u64 = 0xDD3C_5FFE_2004_6ABF;
const UNIT_MAGIC: u64 = 0xDD2E_60F0_F6B4_A127;
const COO_MAGIC: u64 = 0xDD61_FFD3_05DF_F127;
const CSR_MAGIC: u64 = 0xDD6C_D312_05DF_F127;
const HEADER_BYTES: u64 = 4096;
const SUPPORTED_VERSION: u64 = 2;
const HETERO_GRAPH_TYPE: u64 = 2;

const COO_CODE: i64 = 1;
const CSR_CODE: i64 = 2;
const CSC_CODE: i64 = 4;

/// One partition's homogeneous graph: edges by local edge id, and integer node/edge data.
#[derive(Debug, Clone)]
pub(crate) struct PartGraph {
    /// Local nodes (inner and HALO).
    pub(crate) num_nodes: u64,
    /// Source local node of each local edge id.
    pub(crate) src: Vec<u64>,
    /// Destination local node of each local edge id.
    pub(crate) dst: Vec<u64>,
    /// Integer node data by name (non-integer data is skipped).
    pub(crate) ndata: BTreeMap<String, Vec<i64>>,
    /// Integer edge data by name.
    pub(crate) edata: BTreeMap<String, Vec<i64>>,
}

/// Reads the graph file at `path` from its bytes.
pub(crate) fn parse(path: &Path, bytes: &[u8]) -> Result<PartGraph, DglError> {
    let mut r = Reader::new(path, bytes);
    if bytes.len() >= 8 && bytes[..8] == 0xDD5A_9FBE_3FA2_443Fu64.to_le_bytes() {
        return Err(DglError::invalid(
            path,
            "is a DGL tensor dict (save_tensors), not a graph file (save_graphs)",
            "check the part-config: `part_graph` names the graph file, `node_feats`/`edge_feats` the tensor files",
        ));
    }
    r.magic(FILE_MAGIC, "a DGL graph file")?;
    let version = r.u64("the format version")?;
    if version != SUPPORTED_VERSION {
        return Err(DglError::BadHeader {
            path: path.to_path_buf(),
            what: "the DGL graph file format version".to_string(),
            offset: 8,
            found: version.to_string(),
            expected: SUPPORTED_VERSION.to_string(),
            hint: "gs reads graph files of DGL >= 0.5 (format version 2); load and save the partition again with a current DGL, or partition the graph again",
        });
    }
    let graph_type = r.u64("the graph type")?;
    if graph_type != HETERO_GRAPH_TYPE {
        return Err(DglError::BadHeader {
            path: path.to_path_buf(),
            what: "the DGL graph type".to_string(),
            offset: 16,
            found: graph_type.to_string(),
            expected: format!("{HETERO_GRAPH_TYPE} (heterograph)"),
            hint: REWRITE_HINT,
        });
    }
    let num_graphs = r.u64("the number of graphs")?;
    if num_graphs != 1 {
        return Err(DglError::invalid(
            path,
            format!("holds {num_graphs} graphs, but a partition's graph file holds exactly one"),
            "pass the graph.dgl that DGL's partition_graph wrote for one partition",
        ));
    }
    r.seek(HEADER_BYTES, "the graph data offset")?;
    let start = r.u64("the graph data offset")?;
    r.seek(start, "the graph data")?;

    r.magic(HETERO_MAGIC, "the heterograph")?;
    skip_immutable(&mut r, "the metagraph")?;
    let num_relations = r.len("the relation graphs", 24)?;
    if num_relations != 1 {
        return Err(not_homogeneous(path, format!("{num_relations} edge types")));
    }
    let (src, dst) = read_unit_graph(&mut r)?;
    let num_nodes_per_type = read_i64_vec(&mut r, "the node counts per type")?;
    let num_nodes = match num_nodes_per_type.as_slice() {
        [n] if *n >= 0 => *n as u64,
        other => return Err(not_homogeneous(path, format!("node counts {other:?}"))),
    };
    let ndata = read_frames(&mut r, "node data")?;
    let edata = read_frames(&mut r, "edge data")?;
    let check = |data: &BTreeMap<String, Vec<i64>>, n: u64, what: &str| match data
        .iter()
        .find(|(_, v)| v.len() as u64 != n)
    {
        Some((k, v)) => Err(DglError::invalid(
            path,
            format!("{what} `{k}` has {} rows but the graph has {n}", v.len()),
            REWRITE_HINT,
        )),
        None => Ok(()),
    };
    check(&ndata, num_nodes, "node data")?;
    check(&edata, src.len() as u64, "edge data")?;
    if let Some(&bad) = src.iter().chain(&dst).find(|&&v| v >= num_nodes) {
        return Err(DglError::invalid(
            path,
            format!("an edge touches local node {bad}, but the graph has {num_nodes} nodes"),
            REWRITE_HINT,
        ));
    }
    Ok(PartGraph {
        num_nodes,
        src,
        dst,
        ndata,
        edata,
    })
}

fn not_homogeneous(path: &Path, what: String) -> DglError {
    DglError::invalid(
        path,
        format!("is not a homogeneous graph ({what})"),
        "a partition's graph.dgl holds one node and one edge type (`_N`, `_E`), as DGL's partition_graph writes; pass a partition written by DGL or GraphStorm",
    )
}

fn read_i64_vec(r: &mut Reader<'_>, what: &str) -> Result<Vec<i64>, DglError> {
    let n = r.len(what, 8)?;
    (0..n).map(|_| r.i64(what)).collect()
}

/// Skips an ImmutableGraph (the metagraph stored before each matrix).
fn skip_immutable(r: &mut Reader<'_>, what: &str) -> Result<(), DglError> {
    r.magic(IMMUTABLE_MAGIC, what)?;
    read_csr(r, what).map(|_| ())
}

struct Matrix<'a> {
    nrows: i64,
    /// COO: row, col, data. CSR: indptr, indices, data.
    arrays: [NdArray<'a>; 3],
}

fn read_csr<'a>(r: &mut Reader<'a>, what: &str) -> Result<Matrix<'a>, DglError> {
    r.magic(CSR_MAGIC, &format!("the CSR matrix of {what}"))?;
    let _ncols = r.i64(what)?;
    let nrows = r.i64(what)?;
    let arrays = [
        NdArray::read(r, &format!("indptr of {what}"))?,
        NdArray::read(r, &format!("indices of {what}"))?,
        NdArray::read(r, &format!("data of {what}"))?,
    ];
    r.bool(what)?;
    Ok(Matrix { nrows, arrays })
}

fn read_coo<'a>(r: &mut Reader<'a>, what: &str) -> Result<Matrix<'a>, DglError> {
    r.magic(COO_MAGIC, &format!("the COO matrix of {what}"))?;
    let _ncols = r.i64(what)?;
    let nrows = r.i64(what)?;
    let arrays = [
        NdArray::read(r, &format!("row of {what}"))?,
        NdArray::read(r, &format!("col of {what}"))?,
        NdArray::read(r, &format!("data of {what}"))?,
    ];
    r.bool(what)?;
    r.bool(what)?;
    Ok(Matrix { nrows, arrays })
}

/// Reads the one UnitGraph and returns (src, dst) indexed by edge id, from the first saved
/// format among COO, CSR and CSC.
fn read_unit_graph(r: &mut Reader<'_>) -> Result<(Vec<u64>, Vec<u64>), DglError> {
    let path = r.path;
    r.magic(UNIT_MAGIC, "the relation graph")?;
    let offset = r.pos();
    let saved = r.i64("the saved formats")?;
    r.i64("the allowed formats")?;
    let saved = if saved >> 32 != 0 {
        saved & 0xffff_ffff
    } else {
        // Older files store one SparseFormat: 1 COO, 2 CSR, 3 CSC.
        match saved {
            1 => COO_CODE,
            2 => CSR_CODE,
            3 => CSC_CODE,
            _ => 0,
        }
    };
    if saved & (COO_CODE | CSR_CODE | CSC_CODE) == 0 {
        return Err(DglError::BadHeader {
            path: path.to_path_buf(),
            what: "the saved sparse formats".to_string(),
            offset,
            found: saved.to_string(),
            expected: "a combination of COO (1), CSR (2) and CSC (4)".to_string(),
            hint: REWRITE_HINT,
        });
    }
    let mut edges = None;
    for (code, name) in [(COO_CODE, "coo"), (CSR_CODE, "csr"), (CSC_CODE, "csc")] {
        if saved & code == 0 {
            continue;
        }
        let what = format!("the {name} format");
        skip_immutable(r, &format!("the metagraph of {what}"))?;
        let m = if code == COO_CODE {
            read_coo(r, &what)?
        } else {
            read_csr(r, &what)?
        };
        if edges.is_none() {
            edges = Some(edges_of(path, code, &m, &what)?);
        }
    }
    Ok(edges.expect("at least one format was saved"))
}

/// (src, dst) by edge id from one matrix.
fn edges_of(
    path: &Path,
    code: i64,
    m: &Matrix<'_>,
    what: &str,
) -> Result<(Vec<u64>, Vec<u64>), DglError> {
    let bad = |problem: String| DglError::invalid(path, format!("{what}: {problem}"), REWRITE_HINT);
    let ints = |i: usize, name: &str| m.arrays[i].ints(path, &format!("{name} of {what}"));
    let nonneg = |v: Vec<i64>, name: &str| -> Result<Vec<u64>, DglError> {
        v.into_iter()
            .map(|x| u64::try_from(x).map_err(|_| bad(format!("{name} holds {x}"))))
            .collect()
    };
    let (a, b) = if code == COO_CODE {
        let row = nonneg(ints(0, "row")?, "row")?;
        let col = nonneg(ints(1, "col")?, "col")?;
        if row.len() != col.len() {
            return Err(bad(format!("{} rows but {} cols", row.len(), col.len())));
        }
        (row, col)
    } else {
        let indptr = nonneg(ints(0, "indptr")?, "indptr")?;
        let indices = nonneg(ints(1, "indices")?, "indices")?;
        let ok = indptr.len() as i64 == m.nrows + 1
            && indptr.first() == Some(&0)
            && indptr.last() == Some(&(indices.len() as u64))
            && indptr.windows(2).all(|w| w[0] <= w[1]);
        if !ok {
            return Err(bad("indptr is not a valid offset array".to_string()));
        }
        let mut rows = Vec::with_capacity(indices.len());
        for (v, w) in indptr.windows(2).enumerate() {
            rows.extend(std::iter::repeat_n(v as u64, (w[1] - w[0]) as usize));
        }
        (rows, indices)
    };
    // In CSC the rows are destinations.
    let (src, dst) = if code == CSC_CODE { (b, a) } else { (a, b) };
    let n = src.len();
    let data = ints(2, "data")?;
    if data.is_empty() {
        return Ok((src, dst));
    }
    if data.len() != n {
        return Err(bad(format!("{} edge ids for {n} edges", data.len())));
    }
    let (mut s, mut d) = (vec![u64::MAX; n], vec![u64::MAX; n]);
    for (i, &e) in data.iter().enumerate() {
        let e = usize::try_from(e)
            .ok()
            .filter(|&e| e < n && s[e] == u64::MAX)
            .ok_or_else(|| bad(format!("edge id {e} is out of range or repeated")))?;
        s[e] = src[i];
        d[e] = dst[i];
    }
    Ok((s, d))
}

/// Reads `vector<vector<pair<string, NDArray>>>` for the one type, keeping integer arrays.
fn read_frames(r: &mut Reader<'_>, what: &str) -> Result<BTreeMap<String, Vec<i64>>, DglError> {
    let types = r.len(what, 8)?;
    if types != 1 {
        return Err(not_homogeneous(r.path, format!("{types} frames of {what}")));
    }
    let n = r.len(what, 8)?;
    let mut out = BTreeMap::new();
    for i in 0..n {
        let name = r.string(&format!("the name of {what} {i}"))?;
        let array = NdArray::read(r, &format!("{what} `{name}`"))?;
        if let Some(v) = array.to_i64() {
            out.insert(name, v);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal DGL graph-file writer (the inverse of [`parse`]) for formats the fixture
    /// does not use.
    struct W(Vec<u8>);

    impl W {
        fn u64(&mut self, v: u64) -> &mut Self {
            self.0.extend(v.to_le_bytes());
            self
        }
        fn str(&mut self, s: &str) -> &mut Self {
            self.u64(s.len() as u64);
            self.0.extend(s.as_bytes());
            self
        }
        fn arr(&mut self, v: &[i64]) -> &mut Self {
            self.u64(0xDD5E_40F0_96B4_A13F).u64(0);
            self.0.extend(1i32.to_le_bytes());
            self.0.extend(0i32.to_le_bytes());
            self.0.extend(1i32.to_le_bytes());
            self.0.extend([0u8, 64, 1, 0]);
            self.u64(v.len() as u64).u64(v.len() as u64 * 8);
            for x in v {
                self.0.extend(x.to_le_bytes());
            }
            self
        }
        fn csr(&mut self, nrows: u64, indptr: &[i64], indices: &[i64], data: &[i64]) -> &mut Self {
            self.u64(CSR_MAGIC).u64(nrows).u64(nrows);
            self.arr(indptr).arr(indices).arr(data);
            self.0.push(0);
            self
        }
        fn meta(&mut self) -> &mut Self {
            self.u64(IMMUTABLE_MAGIC).csr(1, &[0, 1], &[0], &[0])
        }
    }

    /// A graph of 3 nodes and edges e0: 0->2, e1: 1->2, e2: 2->0, saved as `formats`.
    fn file(formats: i64) -> Vec<u8> {
        let mut w = W(vec![0; 4096]);
        w.0[..32].copy_from_slice(
            &[FILE_MAGIC, 2, 2, 1]
                .iter()
                .flat_map(|v| v.to_le_bytes())
                .collect::<Vec<_>>(),
        );
        w.u64(4096 + 16).u64(0);
        w.u64(HETERO_MAGIC).meta().u64(1);
        w.u64(UNIT_MAGIC)
            .u64((formats | 1 << 32) as u64)
            .u64(7 | 1 << 32);
        if formats & CSR_CODE != 0 {
            // Rows are sources: 0 -> [2 (e0)], 1 -> [2 (e1)], 2 -> [0 (e2)], listed out of order.
            w.meta().csr(3, &[0, 1, 2, 3], &[2, 2, 0], &[0, 1, 2]);
        }
        if formats & CSC_CODE != 0 {
            // Rows are destinations: 0 <- [2 (e2)], 2 <- [1 (e1), 0 (e0)].
            w.meta().csr(3, &[0, 1, 1, 3], &[2, 1, 0], &[2, 1, 0]);
        }
        w.u64(1).u64(3);
        w.u64(1).u64(1).str("_ID").arr(&[10, 11, 12]);
        w.u64(1).u64(1).str("inner_edge").arr(&[1, 0, 1]);
        w.u64(1).str("_N").u64(1).str("_E");
        w.0
    }

    #[test]
    fn csr_and_csc_give_edges_by_edge_id() {
        let path = Path::new("graph.dgl");
        for formats in [CSR_CODE, CSC_CODE, CSR_CODE | CSC_CODE] {
            let g = parse(path, &file(formats)).unwrap();
            assert_eq!(g.num_nodes, 3);
            assert_eq!(
                (g.src.as_slice(), g.dst.as_slice()),
                (&[0, 1, 2][..], &[2, 2, 0][..]),
                "{formats}"
            );
            assert_eq!(g.ndata["_ID"], [10, 11, 12]);
            assert_eq!(g.edata["inner_edge"], [1, 0, 1]);
        }
        let err = parse(path, &file(0)).unwrap_err().to_string();
        assert!(
            err.contains("saved sparse formats") && err.contains("hint:"),
            "{err}"
        );
    }
}
