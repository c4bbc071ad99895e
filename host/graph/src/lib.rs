//! gs-graph: the typed heterogeneous graph that gs trains on, and everything that feeds a
//! trainer from it without touching tensors.
//!
//! It owns node/edge types and per-type CSC structure ([`HeteroGraph`]), typed node and edge
//! data that may be memory-mapped ([`Array`]), gs's on-disk partition format under DGL's
//! part-config JSON ([`write_partitioned`], [`load`]), a seeded demo dataset
//! ([`generate_demo`]), neighbour sampling into DGL-style message-flow blocks
//! ([`sample_blocks`], [`parse_fanouts`]), feature gathering, and mini-batch iteration with a
//! bounded prefetch queue ([`SeedBatches`], [`Prefetcher`]).
//! Edge mini-batches and link-prediction negatives ([`sample_edge_batch`], [`sample_lp_batch`],
//! [`sample_lp_eval_batch`]) and graph generators ([`generate_synthetic`], [`karate_club`]) for
//! benchmarks and fixtures live here too.
//! [`load`] also reads partitions written by GraphStorm/DGL ([`load_dgl`] returns per-partition
//! facts too), and node types may carry raw ids from `raw_id_mappings/` ([`RawIds`]).
//! A graph split into parts by a [`PartAssignment`] is renumbered part by part and written with
//! [`write_partitions`] (choosing the parts, random or METIS, is gs-partition's job).
//!
//! It must not depend on tch or wasmtime: it builds and tests fast, and tensors, plugins and
//! training live in the crates above it.

#![warn(missing_docs)]

mod array;
mod batches;
mod buffer;
mod csc;
mod demo;
mod error;
mod gather;
mod generators;
mod graph;
mod partition;
mod prefetch;
mod raw_ids;
mod sampling;
mod seed;
mod storage;
mod types;
mod user_item;

pub use array::{Array, DType};
pub use batches::{EpochBatches, SeedBatch, SeedBatches};
pub use csc::Csc;
pub use demo::{DEMO_TARGET_NTYPE, DemoParams, generate_demo};
pub use error::{FanoutError, GraphError, StorageError};
pub use generators::{
    GraphKind, KARATE_NTYPE, SYNTHETIC_NTYPE, SyntheticParams, generate_synthetic, karate_club,
    synthetic_etype,
};
pub use graph::HeteroGraph;
pub use partition::PartAssignment;
pub use prefetch::{PREFETCH_CAPACITY, Prefetcher};
pub use raw_ids::{RawId, RawIds};
pub use sampling::{
    Block, Fanout, LayerBlocks, MiniBatch, Sampler, full_fanouts, parse_fanouts,
    sample_all_neighbors, sample_blocks,
};
pub use sampling::{
    DerivedMasks, EdgeBatchOptions, EdgeBatches, EdgeMiniBatch, EdgeSamplingError, EdgeSeedBatch,
    EvalEdgeBatches, EvalNegatives, HardNegatives, LocalPairs, LpBatch, LpEvalBatch, LpEvalOptions,
    LpTrainOptions, NegativePairs, NegativeSampler, TrueEdges, edge_endpoints,
    parse_reverse_edge_types_map, rank_among_all, sample_edge_batch, sample_lp_batch,
    sample_lp_eval_batch,
};
pub use storage::{
    DglError, DglGraph, DglPartitionInfo, TorchTensor, inspect_dgl_partitions, load_dgl,
    read_torch_tensors,
};
pub use storage::{
    GS_FORMAT_VERSION, GsPartsSummary, inspect_gs_partitions, load, write_partitioned,
    write_partitions, write_raw_id_mapping,
};
pub use types::{EdgeId, EdgeType, NodeId, validate_type_name};
pub use user_item::{
    USER_ITEM_CLASS_THRESHOLD, USER_ITEM_HARD_NEGATIVES, USER_ITEM_REVIEW_NOISE, UserItemParams,
    generate_user_item, user_item_etype,
};
