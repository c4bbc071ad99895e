//! Feature gathering: copy the rows of a node or edge data array for a list of ids.

use rayon::prelude::*;

use crate::array::{Array, DType};
use crate::buffer::Element;
use crate::error::GraphError;
use crate::graph::{HeteroGraph, check_ids};
use crate::types::{EdgeId, EdgeType, NodeId};

/// Below this many elements a gather runs on the calling thread.
const PARALLEL_MIN_ELEMS: usize = 1 << 16;

impl HeteroGraph {
    /// Gathers rows `ids` of float32 node data `name` of `ntype`, row-major.
    /// Returns the values and the row width (`d`, or 1 for a 1-D array).
    pub fn gather_f32(
        &self,
        ntype: &str,
        name: &str,
        ids: &[NodeId],
    ) -> Result<(Vec<f32>, usize), GraphError> {
        let a = self.typed(ntype, name, ids, DType::F32)?;
        Ok((
            gather_rows(a.as_f32().unwrap_or_default(), a.row_width(), ids),
            a.row_width(),
        ))
    }

    /// Gathers rows `ids` of numeric node data `name` of `ntype` cast to float32, whatever
    /// dtype it is stored in: GraphStorm casts every input feature to float32 before the model
    /// sees it, and its gconstruct stores categorical features and masks as `uint8`. Integers
    /// round to the nearest float32, as `torch.Tensor.float()` does. Returns the values and the
    /// row width (`d`, or 1 for a 1-D array).
    pub fn gather_as_f32(
        &self,
        ntype: &str,
        name: &str,
        ids: &[NodeId],
    ) -> Result<(Vec<f32>, usize), GraphError> {
        let a = self.node_array(ntype, name)?;
        check_ids(ids, a.num_rows() as u64, ntype, || {
            format!("gathering `{name}`")
        })?;
        Ok(rows_as_f32(a, ids))
    }

    /// Gathers rows `ids` (edge ids of `etype`, i.e. CSC positions, as the sampler's blocks
    /// carry them) of numeric edge data `name` cast to float32, as [`Self::gather_as_f32`]
    /// does for node data. Returns the values and the row width.
    pub fn gather_edge_as_f32(
        &self,
        etype: &EdgeType,
        name: &str,
        ids: &[EdgeId],
    ) -> Result<(Vec<f32>, usize), GraphError> {
        let a = self.edge_array(etype, name)?;
        check_ids(ids, a.num_rows() as u64, &etype.to_string(), || {
            format!("gathering edge data `{name}`")
        })?;
        Ok(rows_as_f32(a, ids))
    }

    /// Gathers rows `ids` of int64 node data (e.g. labels). Returns values and row width.
    pub fn gather_i64(
        &self,
        ntype: &str,
        name: &str,
        ids: &[NodeId],
    ) -> Result<(Vec<i64>, usize), GraphError> {
        let a = self.typed(ntype, name, ids, DType::I64)?;
        Ok((
            gather_rows(a.as_i64().unwrap_or_default(), a.row_width(), ids),
            a.row_width(),
        ))
    }

    /// Gathers rows `ids` of uint8 node data (e.g. masks). Returns values and row width.
    pub fn gather_u8(
        &self,
        ntype: &str,
        name: &str,
        ids: &[NodeId],
    ) -> Result<(Vec<u8>, usize), GraphError> {
        let a = self.typed(ntype, name, ids, DType::U8)?;
        Ok((
            gather_rows(a.as_u8().unwrap_or_default(), a.row_width(), ids),
            a.row_width(),
        ))
    }

    /// Ids of the nodes of `ntype` whose uint8 mask `mask` (e.g. `train_mask`) is non-zero,
    /// ascending.
    pub fn mask_ids(&self, ntype: &str, mask: &str) -> Result<Vec<NodeId>, GraphError> {
        let a = self.typed(ntype, mask, &[], DType::U8)?;
        if a.shape().len() != 1 {
            return Err(GraphError::NotAMask {
                owner: ntype.to_string(),
                name: mask.to_string(),
                shape: a.shape().to_vec(),
            });
        }
        let m = a.as_u8().unwrap_or_default();
        Ok(m.par_iter()
            .enumerate()
            .filter(|&(_, &v)| v != 0)
            .map(|(i, _)| i as NodeId)
            .collect())
    }

    fn typed(
        &self,
        ntype: &str,
        name: &str,
        ids: &[NodeId],
        want: DType,
    ) -> Result<&Array, GraphError> {
        let a = self.node_array(ntype, name)?;
        if a.dtype() != want {
            return Err(GraphError::WrongDtype {
                owner: ntype.to_string(),
                name: name.to_string(),
                found: a.dtype(),
                expected: want,
            });
        }
        check_ids(ids, a.num_rows() as u64, ntype, || {
            format!("gathering `{name}`")
        })?;
        Ok(a)
    }
}

/// Rows `ids` (already range-checked) of `a` cast to float32, and the row width.
fn rows_as_f32(a: &Array, ids: &[u64]) -> (Vec<f32>, usize) {
    let width = a.row_width();
    let values = match a.dtype() {
        DType::F32 => gather_rows(a.as_f32().unwrap_or_default(), width, ids),
        DType::I64 => gather_rows_cast(a.as_i64().unwrap_or_default(), width, ids, |v| v as f32),
        DType::U8 => gather_rows_cast(a.as_u8().unwrap_or_default(), width, ids, f32::from),
    };
    (values, width)
}

/// Copies rows `ids` (already range-checked) of a row-major `data` with `width` columns.
fn gather_rows<T: Element>(data: &[T], width: usize, ids: &[NodeId]) -> Vec<T> {
    if width == 0 {
        return Vec::new();
    }
    let mut out = vec![T::default(); ids.len() * width];
    let copy = |(row, &id): (&mut [T], &NodeId)| {
        let start = id as usize * width;
        row.copy_from_slice(&data[start..start + width]);
    };
    if out.len() >= PARALLEL_MIN_ELEMS {
        out.par_chunks_mut(width).zip(ids.par_iter()).for_each(copy);
    } else {
        out.chunks_mut(width).zip(ids.iter()).for_each(copy);
    }
    out
}

/// Copies rows `ids` (already range-checked) of a row-major `data` with `width` columns,
/// converting each element with `cast`.
fn gather_rows_cast<T: Element>(
    data: &[T],
    width: usize,
    ids: &[NodeId],
    cast: impl Fn(T) -> f32 + Sync,
) -> Vec<f32> {
    if width == 0 {
        return Vec::new();
    }
    let mut out = vec![0f32; ids.len() * width];
    let copy = |(row, &id): (&mut [f32], &NodeId)| {
        let start = id as usize * width;
        for (o, &v) in row.iter_mut().zip(&data[start..start + width]) {
            *o = cast(v);
        }
    };
    if out.len() >= PARALLEL_MIN_ELEMS {
        out.par_chunks_mut(width).zip(ids.par_iter()).for_each(copy);
    } else {
        out.chunks_mut(width).zip(ids.iter()).for_each(copy);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph() -> HeteroGraph {
        let mut g = HeteroGraph::new();
        g.add_node_type("n", 4).unwrap();
        let feat: Vec<f32> = (0..8).map(|v| v as f32).collect();
        g.set_node_data("n", "feat", Array::from_f32(feat, &[4, 2]).unwrap())
            .unwrap();
        g.set_node_data(
            "n",
            "label",
            Array::from_i64(vec![3, 2, 1, 0], &[4]).unwrap(),
        )
        .unwrap();
        g.set_node_data(
            "n",
            "train_mask",
            Array::from_u8(vec![1, 0, 1, 1], &[4]).unwrap(),
        )
        .unwrap();
        g
    }

    #[test]
    fn gathers_rows_in_id_order() {
        let g = graph();
        assert_eq!(
            g.gather_f32("n", "feat", &[3, 0, 3]).unwrap(),
            (vec![6., 7., 0., 1., 6., 7.], 2)
        );
        assert_eq!(
            g.gather_i64("n", "label", &[1, 2]).unwrap(),
            (vec![2, 1], 1)
        );
        assert_eq!(g.gather_u8("n", "train_mask", &[1]).unwrap(), (vec![0], 1));
        assert_eq!(g.mask_ids("n", "train_mask").unwrap(), vec![0, 2, 3]);
    }

    #[test]
    fn every_numeric_dtype_is_gathered_as_float32() {
        let mut g = graph();
        g.set_node_data(
            "n",
            "venue",
            Array::from_u8(vec![0, 1, 255, 0, 7, 0, 0, 1], &[4, 2]).unwrap(),
        )
        .unwrap();
        g.set_node_data(
            "n",
            "big",
            Array::from_i64(vec![-3, 1 << 40, 0, (1 << 24) + 1], &[4]).unwrap(),
        )
        .unwrap();
        assert_eq!(
            g.gather_as_f32("n", "venue", &[1, 3, 2]).unwrap(),
            (vec![255., 0., 0., 1., 7., 0.], 2)
        );
        assert_eq!(
            g.gather_as_f32("n", "big", &[0, 1, 3]).unwrap(),
            (vec![-3., (1u64 << 40) as f32, 16_777_216.], 1)
        );
        assert_eq!(
            g.gather_as_f32("n", "feat", &[2]).unwrap(),
            g.gather_f32("n", "feat", &[2]).unwrap()
        );
        assert_eq!(
            g.gather_as_f32("n", "label", &[0, 3]).unwrap(),
            (vec![3., 0.], 1)
        );
        let e = g.gather_as_f32("n", "venue", &[4]).unwrap_err().to_string();
        assert!(e.contains("node id 4"), "{e}");
    }

    #[test]
    fn large_casting_gathers_run_in_parallel_and_match() {
        let mut g = HeteroGraph::new();
        let n = 40_000usize;
        g.add_node_type("n", n as u64).unwrap();
        let bytes: Vec<u8> = (0..n * 3).map(|v| (v % 251) as u8).collect();
        g.set_node_data("n", "cat", Array::from_u8(bytes.clone(), &[n, 3]).unwrap())
            .unwrap();
        let ids: Vec<u64> = (0..n as u64).rev().collect();
        let (out, w) = g.gather_as_f32("n", "cat", &ids).unwrap();
        assert_eq!((out.len(), w), (n * 3, 3));
        for (row, &id) in out.chunks(3).zip(&ids) {
            let id = id as usize;
            let want: Vec<f32> = bytes[id * 3..id * 3 + 3]
                .iter()
                .map(|&b| f32::from(b))
                .collect();
            assert_eq!(row, &want[..]);
        }
    }

    #[test]
    fn large_gathers_run_in_parallel_and_match() {
        let mut g = HeteroGraph::new();
        let n = 50_000u64;
        g.add_node_type("n", n).unwrap();
        let feat: Vec<f32> = (0..n * 4).map(|v| v as f32).collect();
        g.set_node_data(
            "n",
            "feat",
            Array::from_f32(feat, &[n as usize, 4]).unwrap(),
        )
        .unwrap();
        let ids: Vec<u64> = (0..n).rev().collect();
        let (out, w) = g.gather_f32("n", "feat", &ids).unwrap();
        assert_eq!(w, 4);
        assert_eq!(
            &out[..4],
            &[
                (n * 4 - 4) as f32,
                (n * 4 - 3) as f32,
                (n * 4 - 2) as f32,
                (n * 4 - 1) as f32
            ]
        );
        assert_eq!(out.len(), (n * 4) as usize);
    }

    #[test]
    fn errors_name_the_problem() {
        let g = graph();
        let e = g.gather_i64("n", "feat", &[0]).unwrap_err().to_string();
        assert!(
            e.contains("float32") && e.contains("int64") && e.contains("hint:"),
            "{e}"
        );
        let e = g.gather_f32("n", "feat", &[4]).unwrap_err().to_string();
        assert!(e.contains("node id 4"), "{e}");
        let e = g.gather_f32("m", "feat", &[0]).unwrap_err().to_string();
        assert!(e.contains("`m`") && e.contains("n"), "{e}");
        let e = g.mask_ids("n", "feat").unwrap_err().to_string();
        assert!(e.contains("uint8"), "{e}");
    }
}
