//! What a partitioning produced, for the command line and tests.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use gs_graph::{HeteroGraph, PartAssignment};

use crate::{PartMethod, PartitionOptions};

/// Sizes and quality of a written partition.
#[derive(Debug, Clone)]
pub struct PartitionReport {
    /// The part-config of the written partition.
    pub part_config: PathBuf,
    /// How the parts were chosen.
    pub method: PartMethod,
    /// Nodes of each type in each part.
    pub nodes_per_part: BTreeMap<String, Vec<u64>>,
    /// Nodes marked by the balance masks (training nodes) in each part.
    pub balanced_per_part: Vec<u64>,
    /// Edges whose endpoints lie in different parts.
    pub edge_cut: u64,
    /// All edges.
    pub num_edges: u64,
}

impl PartitionReport {
    pub(crate) fn new(
        graph: &HeteroGraph,
        assignment: &PartAssignment,
        options: &PartitionOptions,
        part_config: PathBuf,
    ) -> Self {
        let mut balanced = vec![0u64; assignment.num_parts() as usize];
        for nt in graph.node_types() {
            let parts = assignment.parts(nt).unwrap_or_default();
            for name in &options.balance_masks {
                if let Some(mask) = graph.node_data(nt, name).and_then(|a| a.as_u8()) {
                    for (&m, &p) in mask.iter().zip(parts) {
                        balanced[p as usize] += u64::from(m != 0);
                    }
                }
            }
        }
        PartitionReport {
            part_config,
            method: options.method,
            nodes_per_part: graph
                .node_types()
                .map(|nt| (nt.to_string(), assignment.part_sizes(nt)))
                .collect(),
            balanced_per_part: balanced,
            edge_cut: assignment.edge_cut(graph),
            num_edges: graph.total_edges(),
        }
    }

    /// The edge cut as a fraction of all edges.
    pub fn cut_fraction(&self) -> f64 {
        self.edge_cut as f64 / self.num_edges.max(1) as f64
    }

    /// Largest part's share of the balanced (training) nodes over the mean share; 1.0 is
    /// perfect balance. `None` without such nodes.
    pub fn balance_ratio(&self) -> Option<f64> {
        let total: u64 = self.balanced_per_part.iter().sum();
        let max = *self.balanced_per_part.iter().max()?;
        (total > 0).then(|| max as f64 * self.balanced_per_part.len() as f64 / total as f64)
    }
}

impl fmt::Display for PartitionReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts = self.balanced_per_part.len();
        writeln!(
            f,
            "{parts} parts by {}: {}",
            self.method,
            self.part_config.display()
        )?;
        for (nt, sizes) in &self.nodes_per_part {
            writeln!(f, "  {nt} nodes per part: {sizes:?}")?;
        }
        if let Some(ratio) = self.balance_ratio() {
            writeln!(
                f,
                "  training nodes per part: {:?} (max/mean {ratio:.3})",
                self.balanced_per_part
            )?;
        }
        write!(
            f,
            "  edge cut: {} of {} edges ({:.1}%)",
            self.edge_cut,
            self.num_edges,
            100.0 * self.cut_fraction()
        )
    }
}
