//! `Csc`: the in-edges of one edge type in compressed sparse column form.

use rayon::prelude::*;

use crate::buffer::Buffer;
use crate::error::GraphError;
use crate::types::{EdgeId, EdgeType, NodeId};

/// In-edges of one edge type, grouped by destination node.
///
/// The in-neighbours (source ids) of destination `v` are `indices[indptr[v]..indptr[v + 1]]`.
/// An edge's id ([`EdgeId`]) is its position in `indices`; edge data rows follow that order.
/// `indptr` is `u64`, so an edge type may hold more than 2^32 edges.
#[derive(Debug, Clone)]
pub struct Csc {
    indptr: Buffer<u64>,
    indices: Buffer<NodeId>,
}

impl Csc {
    /// Builds a CSC from edge lists, sorting edges by destination and keeping the input order
    /// among edges of one destination. Returns the CSC and, for each CSC position, the index
    /// of that edge in the input lists (use it to reorder edge data).
    ///
    /// Ids must already be checked against the node counts.
    pub(crate) fn from_coo(num_dst: u64, src: &[NodeId], dst: &[NodeId]) -> (Csc, Vec<usize>) {
        let n = num_dst as usize;
        let mut indptr = vec![0u64; n + 1];
        for &d in dst {
            indptr[d as usize + 1] += 1;
        }
        for i in 0..n {
            indptr[i + 1] += indptr[i];
        }
        let mut next: Vec<u64> = indptr[..n].to_vec();
        let mut indices = vec![0 as NodeId; src.len()];
        let mut order = vec![0usize; src.len()];
        for (i, (&s, &d)) in src.iter().zip(dst).enumerate() {
            let pos = next[d as usize] as usize;
            indices[pos] = s;
            order[pos] = i;
            next[d as usize] += 1;
        }
        (
            Csc {
                indptr: Buffer::Owned(indptr),
                indices: Buffer::Owned(indices),
            },
            order,
        )
    }

    /// Checks the CSC invariants for `etype` with `num_src` source and `num_dst` destination
    /// nodes and wraps the buffers.
    pub(crate) fn from_buffers(
        etype: &EdgeType,
        num_src: u64,
        num_dst: u64,
        indptr: Buffer<u64>,
        indices: Buffer<NodeId>,
    ) -> Result<Csc, GraphError> {
        let bad = |reason: String| GraphError::BadCsc {
            etype: etype.to_string(),
            reason,
        };
        let ip = indptr.as_slice();
        let ix = indices.as_slice();
        if ip.len() as u64 != num_dst + 1 {
            return Err(bad(format!(
                "indptr has {} entries but `{}` has {num_dst} nodes (expected {})",
                ip.len(),
                etype.dst,
                num_dst + 1
            )));
        }
        if ip[0] != 0 {
            return Err(bad(format!("indptr starts at {} instead of 0", ip[0])));
        }
        if let Some(i) = ip.par_windows(2).position_first(|w| w[0] > w[1]) {
            return Err(bad(format!(
                "indptr decreases at position {i} ({} > {})",
                ip[i],
                ip[i + 1]
            )));
        }
        if ip[ip.len() - 1] != ix.len() as u64 {
            return Err(bad(format!(
                "indptr ends at {} but there are {} indices",
                ip[ip.len() - 1],
                ix.len()
            )));
        }
        if let Some(i) = ix.par_iter().position_first(|&s| s >= num_src) {
            return Err(bad(format!(
                "source id {} at position {i} is not below the {num_src} nodes of `{}`",
                ix[i] as i64, etype.src
            )));
        }
        Ok(Csc { indptr, indices })
    }

    /// `indptr`, `num_dst + 1` offsets into [`Csc::indices`].
    pub fn indptr(&self) -> &[u64] {
        self.indptr.as_slice()
    }

    /// Source node ids of all edges, grouped by destination.
    pub fn indices(&self) -> &[NodeId] {
        self.indices.as_slice()
    }

    /// Number of destination nodes.
    pub fn num_dst(&self) -> u64 {
        self.indptr().len() as u64 - 1
    }

    /// Number of edges.
    pub fn num_edges(&self) -> u64 {
        self.indices().len() as u64
    }

    /// In-degree of destination `dst` (panics if `dst >= num_dst`).
    pub fn in_degree(&self, dst: NodeId) -> u64 {
        let ip = self.indptr();
        ip[dst as usize + 1] - ip[dst as usize]
    }

    /// The edge id range and source ids of `dst`'s in-edges (panics if `dst >= num_dst`).
    pub fn in_edges(&self, dst: NodeId) -> (std::ops::Range<EdgeId>, &[NodeId]) {
        let ip = self.indptr();
        let (a, b) = (ip[dst as usize], ip[dst as usize + 1]);
        (a..b, &self.indices()[a as usize..b as usize])
    }

    /// True if both arrays view a mapped file.
    pub fn is_mapped(&self) -> bool {
        self.indptr.is_mapped() && self.indices.is_mapped()
    }

    #[cfg(test)]
    pub(crate) fn indptr_bytes(&self) -> &[u8] {
        self.indptr.as_bytes()
    }

    pub(crate) fn indices_bytes(&self) -> &[u8] {
        self.indices.as_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coo_to_csc_is_stable_by_destination() {
        let (csc, order) = Csc::from_coo(3, &[5, 1, 4, 2], &[2, 0, 2, 0]);
        assert_eq!(csc.indptr(), &[0, 2, 2, 4]);
        assert_eq!(csc.indices(), &[1, 2, 5, 4]);
        assert_eq!(order, vec![1, 3, 0, 2]);
        assert_eq!(csc.in_edges(2), (2..4, &[5u64, 4][..]));
        assert_eq!(csc.in_degree(1), 0);
    }

    #[test]
    fn invariants_are_checked() {
        let et = EdgeType::new("a", "r", "b");
        let mk = |ip: Vec<u64>, ix: Vec<u64>, ns| {
            Csc::from_buffers(&et, ns, 2, Buffer::Owned(ip), Buffer::Owned(ix))
        };
        assert!(mk(vec![0, 1, 2], vec![0, 1], 2).is_ok());
        assert!(mk(vec![0, 1], vec![0], 2).is_err());
        assert!(mk(vec![1, 1, 2], vec![0, 1], 2).is_err());
        assert!(mk(vec![0, 2, 1], vec![0, 1], 2).is_err());
        assert!(mk(vec![0, 1, 3], vec![0, 1], 2).is_err());
        let err = mk(vec![0, 1, 2], vec![0, 7], 2).unwrap_err().to_string();
        assert!(
            err.contains("a:r:b") && err.contains("source id 7"),
            "{err}"
        );
    }
}
