//! Neighbour sampling into DGL-style message-flow blocks, and fanout parsing.

mod fanout;
mod neighbor;

pub use fanout::{Fanout, full_fanouts, parse_fanouts};
pub use neighbor::{Block, LayerBlocks, MiniBatch, Sampler, sample_blocks};
