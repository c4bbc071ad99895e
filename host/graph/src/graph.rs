//! `HeteroGraph`: node types with counts, per-edge-type CSC, and named node/edge data.

use std::collections::BTreeMap;

use crate::array::Array;
use crate::buffer::Buffer;
use crate::csc::Csc;
use crate::error::GraphError;
use crate::raw_ids::{RawId, RawIds};
use crate::types::{EdgeType, NodeId, validate_type_name};

#[derive(Debug, Clone)]
struct NodeStore {
    num_nodes: u64,
    data: BTreeMap<String, Array>,
}

#[derive(Debug, Clone)]
struct EdgeStore {
    csc: Csc,
    data: BTreeMap<String, Array>,
}

/// A typed heterogeneous graph held in one process.
///
/// Node ids are per type (`0..num_nodes(ntype)`). Each edge type stores its in-edges as a
/// [`Csc`] (grouped by destination), which is what neighbour sampling reads. Node and edge data
/// are named [`Array`]s with one row per node or edge (edge rows in CSC order).
///
/// Node and edge types are kept in sorted order; a type's id ([`HeteroGraph::ntype_id`],
/// [`HeteroGraph::etype_id`]) is its position in that order, as in DGL.
#[derive(Debug, Clone, Default)]
pub struct HeteroGraph {
    ntypes: BTreeMap<String, NodeStore>,
    etypes: BTreeMap<EdgeType, EdgeStore>,
    /// Raw (user-facing) node ids per node type, where the dataset has them.
    raw_ids: BTreeMap<String, RawIds>,
}

impl HeteroGraph {
    /// An empty graph.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a node type with `num_nodes` nodes.
    pub fn add_node_type(&mut self, ntype: &str, num_nodes: u64) -> Result<(), GraphError> {
        validate_type_name(ntype)?;
        if self.ntypes.contains_key(ntype) {
            return Err(GraphError::Duplicate {
                name: ntype.to_string(),
            });
        }
        self.ntypes.insert(
            ntype.to_string(),
            NodeStore {
                num_nodes,
                data: BTreeMap::new(),
            },
        );
        Ok(())
    }

    /// Adds an edge type from edge lists (`src[i] -> dst[i]`, per-type ids). Both node types must
    /// exist. Edges are stored grouped by destination, in input order within a destination.
    ///
    /// Returns, for each stored edge (edge id), its index in the input lists, so that edge data
    /// given in input order can be reordered before [`HeteroGraph::set_edge_data`].
    pub fn add_edges(
        &mut self,
        etype: &EdgeType,
        src: &[NodeId],
        dst: &[NodeId],
    ) -> Result<Vec<usize>, GraphError> {
        let (num_src, num_dst) = self.check_new_etype(etype)?;
        if src.len() != dst.len() {
            return Err(GraphError::LengthMismatch {
                what: format!("edge lists of `{etype}` (src vs dst)"),
                left: src.len(),
                right: dst.len(),
            });
        }
        check_ids(src, num_src, &etype.src, || format!("source of `{etype}`"))?;
        check_ids(dst, num_dst, &etype.dst, || {
            format!("destination of `{etype}`")
        })?;
        let (csc, order) = Csc::from_coo(num_dst, src, dst);
        self.etypes.insert(
            etype.clone(),
            EdgeStore {
                csc,
                data: BTreeMap::new(),
            },
        );
        Ok(order)
    }

    /// Adds an edge type from a ready CSC (`indptr` of `num_dst + 1` offsets, `indices` = source
    /// ids), checking its invariants.
    pub fn add_csc(
        &mut self,
        etype: &EdgeType,
        indptr: Vec<u64>,
        indices: Vec<NodeId>,
    ) -> Result<(), GraphError> {
        self.insert_csc(etype, Buffer::Owned(indptr), Buffer::Owned(indices))
    }

    pub(crate) fn insert_csc(
        &mut self,
        etype: &EdgeType,
        indptr: Buffer<u64>,
        indices: Buffer<NodeId>,
    ) -> Result<(), GraphError> {
        let (num_src, num_dst) = self.check_new_etype(etype)?;
        let csc = Csc::from_buffers(etype, num_src, num_dst, indptr, indices)?;
        self.etypes.insert(
            etype.clone(),
            EdgeStore {
                csc,
                data: BTreeMap::new(),
            },
        );
        Ok(())
    }

    fn check_new_etype(&self, etype: &EdgeType) -> Result<(u64, u64), GraphError> {
        etype.validate()?;
        if self.etypes.contains_key(etype) {
            return Err(GraphError::Duplicate {
                name: etype.to_string(),
            });
        }
        Ok((self.node_count(&etype.src)?, self.node_count(&etype.dst)?))
    }

    /// Sets (or replaces) node data `name` of `ntype`; it must have one row per node.
    pub fn set_node_data(
        &mut self,
        ntype: &str,
        name: &str,
        array: Array,
    ) -> Result<(), GraphError> {
        let known = self.known_ntypes();
        let store = self
            .ntypes
            .get_mut(ntype)
            .ok_or_else(|| GraphError::UnknownNodeType {
                ntype: ntype.to_string(),
                known,
            })?;
        check_rows(ntype, name, &array, store.num_nodes)?;
        store.data.insert(name.to_string(), array);
        Ok(())
    }

    /// Sets (or replaces) edge data `name` of `etype`; one row per edge, in edge-id order.
    pub fn set_edge_data(
        &mut self,
        etype: &EdgeType,
        name: &str,
        array: Array,
    ) -> Result<(), GraphError> {
        let known = self.known_etypes();
        let store = self
            .etypes
            .get_mut(etype)
            .ok_or_else(|| GraphError::UnknownEdgeType {
                etype: etype.to_string(),
                known,
            })?;
        check_rows(&etype.to_string(), name, &array, store.csc.num_edges())?;
        store.data.insert(name.to_string(), array);
        Ok(())
    }

    /// Node types, sorted.
    pub fn node_types(&self) -> impl Iterator<Item = &str> {
        self.ntypes.keys().map(String::as_str)
    }

    /// Edge types, sorted.
    pub fn edge_types(&self) -> impl Iterator<Item = &EdgeType> {
        self.etypes.keys()
    }

    /// Position of `ntype` among the sorted node types.
    pub fn ntype_id(&self, ntype: &str) -> Option<usize> {
        self.ntypes.keys().position(|k| k == ntype)
    }

    /// Position of `etype` among the sorted edge types.
    pub fn etype_id(&self, etype: &EdgeType) -> Option<usize> {
        self.etypes.keys().position(|k| k == etype)
    }

    /// Number of nodes of `ntype`, if the type exists.
    pub fn num_nodes(&self, ntype: &str) -> Option<u64> {
        self.ntypes.get(ntype).map(|s| s.num_nodes)
    }

    /// Number of nodes of `ntype`, or an error naming the known types.
    pub fn node_count(&self, ntype: &str) -> Result<u64, GraphError> {
        self.num_nodes(ntype)
            .ok_or_else(|| GraphError::UnknownNodeType {
                ntype: ntype.to_string(),
                known: self.known_ntypes(),
            })
    }

    /// Number of edges of `etype`, if the type exists.
    pub fn num_edges(&self, etype: &EdgeType) -> Option<u64> {
        self.etypes.get(etype).map(|s| s.csc.num_edges())
    }

    /// Total nodes over all types.
    pub fn total_nodes(&self) -> u64 {
        self.ntypes.values().map(|s| s.num_nodes).sum()
    }

    /// Total edges over all types.
    pub fn total_edges(&self) -> u64 {
        self.etypes.values().map(|s| s.csc.num_edges()).sum()
    }

    /// The in-edges of `etype`, if the type exists.
    pub fn csc(&self, etype: &EdgeType) -> Option<&Csc> {
        self.etypes.get(etype).map(|s| &s.csc)
    }

    /// The in-edges of `etype`, or an error naming the known types.
    pub fn csc_of(&self, etype: &EdgeType) -> Result<&Csc, GraphError> {
        self.csc(etype).ok_or_else(|| GraphError::UnknownEdgeType {
            etype: etype.to_string(),
            known: self.known_etypes(),
        })
    }

    /// Node data `name` of `ntype`, if present.
    pub fn node_data(&self, ntype: &str, name: &str) -> Option<&Array> {
        self.ntypes.get(ntype)?.data.get(name)
    }

    /// All node data of `ntype` by name (empty if the type does not exist).
    pub fn node_data_all(&self, ntype: &str) -> impl Iterator<Item = (&str, &Array)> {
        self.ntypes
            .get(ntype)
            .into_iter()
            .flat_map(|s| s.data.iter().map(|(k, v)| (k.as_str(), v)))
    }

    /// Edge data `name` of `etype`, if present.
    pub fn edge_data(&self, etype: &EdgeType, name: &str) -> Option<&Array> {
        self.etypes.get(etype)?.data.get(name)
    }

    /// All edge data of `etype` by name (empty if the type does not exist).
    pub fn edge_data_all(&self, etype: &EdgeType) -> impl Iterator<Item = (&str, &Array)> {
        self.etypes
            .get(etype)
            .into_iter()
            .flat_map(|s| s.data.iter().map(|(k, v)| (k.as_str(), v)))
    }

    /// Node data `name` of `ntype`, or an error naming what exists.
    pub fn node_array(&self, ntype: &str, name: &str) -> Result<&Array, GraphError> {
        let store = self
            .ntypes
            .get(ntype)
            .ok_or_else(|| GraphError::UnknownNodeType {
                ntype: ntype.to_string(),
                known: self.known_ntypes(),
            })?;
        store.data.get(name).ok_or_else(|| GraphError::UnknownData {
            owner: ntype.to_string(),
            name: name.to_string(),
            known: join_or_none(store.data.keys()),
        })
    }

    /// Edge data `name` of `etype`, or an error naming what exists.
    pub fn edge_array(&self, etype: &EdgeType, name: &str) -> Result<&Array, GraphError> {
        let store = self
            .etypes
            .get(etype)
            .ok_or_else(|| GraphError::UnknownEdgeType {
                etype: etype.to_string(),
                known: self.known_etypes(),
            })?;
        store.data.get(name).ok_or_else(|| GraphError::UnknownData {
            owner: etype.to_string(),
            name: name.to_string(),
            known: join_or_none(store.data.keys()),
        })
    }

    /// Sets (or replaces) the raw ids of `ntype`; there must be one per node.
    pub fn set_raw_ids(&mut self, ntype: &str, ids: RawIds) -> Result<(), GraphError> {
        let n = self.node_count(ntype)?;
        if ids.len() as u64 != n {
            return Err(GraphError::RowCount {
                owner: ntype.to_string(),
                name: "raw ids".to_string(),
                rows: ids.len() as u64,
                expected: n,
            });
        }
        self.raw_ids.insert(ntype.to_string(), ids);
        Ok(())
    }

    /// The raw ids of `ntype` (indexed by node id), if the dataset has them
    /// (GraphStorm's `raw_id_mappings/`).
    pub fn raw_ids(&self, ntype: &str) -> Option<&RawIds> {
        self.raw_ids.get(ntype)
    }

    /// The raw id of node `id` of `ntype`, if the type has raw ids and `id` is in range.
    pub fn raw_id(&self, ntype: &str, id: NodeId) -> Option<RawId<'_>> {
        self.raw_ids.get(ntype)?.get(id)
    }

    pub(crate) fn known_ntypes(&self) -> String {
        join_or_none(self.ntypes.keys())
    }

    pub(crate) fn known_etypes(&self) -> String {
        join_or_none(self.etypes.keys())
    }
}

fn join_or_none<T: std::fmt::Display>(items: impl Iterator<Item = T>) -> String {
    let s: Vec<String> = items.map(|t| t.to_string()).collect();
    if s.is_empty() {
        "none".to_string()
    } else {
        s.join(", ")
    }
}

fn check_rows(owner: &str, name: &str, array: &Array, expected: u64) -> Result<(), GraphError> {
    if array.num_rows() as u64 != expected {
        return Err(GraphError::RowCount {
            owner: owner.to_string(),
            name: name.to_string(),
            rows: array.num_rows() as u64,
            expected,
        });
    }
    Ok(())
}

/// Checks that every id is below `num_nodes`; `what` describes where the ids came from.
pub(crate) fn check_ids(
    ids: &[NodeId],
    num_nodes: u64,
    ntype: &str,
    what: impl FnOnce() -> String,
) -> Result<(), GraphError> {
    use rayon::prelude::*;
    match ids.par_iter().find_first(|&&id| id >= num_nodes) {
        None => Ok(()),
        Some(&id) => Err(GraphError::NodeIdOutOfRange {
            what: what(),
            ntype: ntype.to_string(),
            id,
            num_nodes,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_and_query() {
        let mut g = HeteroGraph::new();
        g.add_node_type("user", 3).unwrap();
        g.add_node_type("item", 2).unwrap();
        let et = EdgeType::new("user", "buys", "item");
        let order = g.add_edges(&et, &[0, 2, 1], &[1, 0, 1]).unwrap();
        assert_eq!(order, vec![1, 0, 2]);
        assert_eq!(g.csc(&et).unwrap().indices(), &[2, 0, 1]);
        assert_eq!((g.total_nodes(), g.total_edges()), (5, 3));
        assert_eq!(g.ntype_id("user"), Some(1));
        assert_eq!(g.etype_id(&et), Some(0));
        g.set_node_data(
            "user",
            "label",
            Array::from_i64(vec![0, 1, 2], &[3]).unwrap(),
        )
        .unwrap();
        let err = g.set_node_data("item", "x", Array::from_i64(vec![0], &[1]).unwrap());
        assert!(matches!(err, Err(GraphError::RowCount { .. })));
        let err = g
            .add_edges(&EdgeType::new("user", "x", "shop"), &[], &[])
            .unwrap_err();
        assert!(err.to_string().contains("`shop`"), "{err}");
        let err = g
            .add_edges(&EdgeType::new("user", "y", "item"), &[3], &[0])
            .unwrap_err();
        assert!(err.to_string().contains("node id 3"), "{err}");
        assert!(g.add_edges(&et, &[], &[]).is_err());
        assert!(g.add_node_type("user", 1).is_err());
        let err = g.node_array("user", "feat").unwrap_err().to_string();
        assert!(err.contains("label"), "{err}");
    }
}
