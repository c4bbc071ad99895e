//! A run's outputs in GraphStorm's remapped layouts, with raw node ids, written through
//! gs-output.

pub(crate) mod edge_outputs;
pub(crate) mod lp_outputs;
pub(crate) mod node_embeddings;
pub(crate) mod node_predictions;
