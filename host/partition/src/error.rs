//! Errors of partitioning.

/// Why a graph could not be partitioned.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PartitionError {
    /// `--num-parts 0`.
    #[error("--num-parts is 0; hint: partition into at least 1 part")]
    NoParts,
    /// The graph is beyond METIS's 32-bit indices.
    #[error(
        "the graph has {count} {what}, more than METIS's 32-bit indices hold ({limit}); hint: use --part-method random, which has no such limit"
    )]
    MetisTooLarge {
        /// What overflows: nodes, or adjacency entries (each undirected edge counts twice).
        what: &'static str,
        /// How many there are.
        count: u64,
        /// The most METIS accepts.
        limit: u64,
    },
    /// METIS itself failed.
    #[error("METIS failed: {0}; hint: try --part-method random")]
    Metis(String),
    /// The assignment did not fit the graph (a bug in a partitioner).
    #[error(transparent)]
    Graph(#[from] gs_graph::GraphError),
    /// Writing the partition failed.
    #[error(transparent)]
    Storage(#[from] gs_graph::StorageError),
}
