//! Neighbour sampling into DGL-style message-flow blocks, and fanout parsing.

mod edge;
mod fanout;
mod negative;
mod neighbor;

pub use edge::{
    DerivedMasks, EdgeBatchOptions, EdgeMiniBatch, EdgeSamplingError, LocalPairs, edge_endpoints,
    parse_reverse_edge_types_map, sample_edge_batch,
};
pub use fanout::{Fanout, full_fanouts, parse_fanouts};
pub use negative::{
    EdgeBatches, EdgeSeedBatch, EvalEdgeBatches, EvalNegatives, HardNegatives, LpBatch,
    LpEvalBatch, LpEvalOptions, LpTrainOptions, NegativePairs, NegativeSampler, TrueEdges,
    rank_among_all, sample_lp_batch, sample_lp_eval_batch,
};
pub use neighbor::{Block, LayerBlocks, MiniBatch, Sampler, sample_all_neighbors, sample_blocks};
