//! gs-partition: splits a graph into parts for distributed training, as GraphStorm's
//! `--num-parts` / `--part-method` and DGL's `partition_graph` do.
//!
//! It owns choosing the part of every node ([`assign_parts`]): `random` (a seeded shuffle dealt
//! round-robin, so every node type is split evenly) or `metis` (METIS k-way on the graph made
//! undirected, with one balance constraint per node type and one for training nodes, as DGL's
//! `balance_ntypes`), and [`partition_graph`], which writes the result through
//! [`gs_graph::write_partitions`] and reports its quality. METIS indexes with 32-bit integers:
//! graphs beyond them are refused with [`PartitionError::MetisTooLarge`] before any work.
//!
//! Writing and reading parts (renumbering, per-part files) belong to gs-graph; this crate only
//! decides who owns what, and keeps the METIS C library out of gs-graph.

#![warn(missing_docs)]

mod error;
mod method;
mod metis_parts;
mod random_parts;
mod report;

pub use error::PartitionError;
pub use method::PartMethod;
pub use metis_parts::{METIS_INDEX_LIMIT, check_metis_limits};
pub use report::PartitionReport;

use std::path::Path;

use gs_graph::{HeteroGraph, PartAssignment};

/// How to partition.
#[derive(Debug, Clone)]
pub struct PartitionOptions {
    /// Number of parts (`--num-parts`), at least 1.
    pub num_parts: u32,
    /// `--part-method`.
    pub method: PartMethod,
    /// Seeds the random assignment and METIS's own randomisation.
    pub seed: u64,
    /// Node data arrays (0/1 masks) whose marked nodes METIS spreads evenly across parts;
    /// missing names are ignored. GraphStorm's default training mask is `train_mask`.
    pub balance_masks: Vec<String>,
}

impl PartitionOptions {
    /// `num_parts` parts by `method`, seed 0, balancing `train_mask`.
    pub fn new(num_parts: u32, method: PartMethod) -> Self {
        PartitionOptions {
            num_parts,
            method,
            seed: 0,
            balance_masks: vec!["train_mask".into()],
        }
    }
}

/// Chooses the part of every node of `graph`.
pub fn assign_parts(
    graph: &HeteroGraph,
    options: &PartitionOptions,
) -> Result<PartAssignment, PartitionError> {
    if options.num_parts == 0 {
        return Err(PartitionError::NoParts);
    }
    let parts = match options.method {
        PartMethod::Random => random_parts::assign(graph, options.num_parts, options.seed),
        PartMethod::Metis => metis_parts::assign(graph, options)?,
    };
    Ok(PartAssignment::new(graph, options.num_parts, parts)?)
}

/// Partitions `graph` and writes it as a gs partition in `dir` (which must not exist or be
/// empty), with part-config `dir/<graph_name>.json`.
pub fn partition_graph(
    graph: &HeteroGraph,
    options: &PartitionOptions,
    dir: &Path,
    graph_name: &str,
) -> Result<PartitionReport, PartitionError> {
    let assignment = assign_parts(graph, options)?;
    let part_config = gs_graph::write_partitions(
        graph,
        &assignment,
        dir,
        graph_name,
        &options.method.to_string(),
    )?;
    Ok(PartitionReport::new(
        graph,
        &assignment,
        options,
        part_config,
    ))
}
