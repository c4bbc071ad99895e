//! `gs-output` owns gs's on-disk inference outputs in GraphStorm's final layout: the files a
//! GraphStorm user gets after `gconstruct.remap_result` (the launcher's default
//! `--do-nid-remap`), so downstream jobs written against GraphStorm read gs output unchanged.
//! Node predictions go to `pred_dir/<ntype>/pred.predict-00000_NNNNN.parquet` with columns
//! `pred`, `nid` plus `pred_dir/result_info.json`; node embeddings to
//! `emb_dir/<ntype>/embed-00000_NNNNN.parquet` with `emb`, `nid` plus `emb_dir/emb_info.json`;
//! files hold at most [`OutputOptions::chunk_size`] rows (default 100 000), in parquet
//! (snappy, as pyarrow writes) or csv. Each call replaces its output directory atomically
//! (staged in a hidden sibling, fsynced, renamed into place), so readers see the old set or
//! the new one, never a mix. When both go to one folder (GraphStorm's default, where
//! `save_prediction_path` falls back to `save_embed_path`), they are written as one set.
//!
//! It takes ids that are already raw (remapped) and values already computed; it must not
//! depend on tch, wasmtime or the graph and training crates, and it never touches anything
//! outside the directory it is given and that directory's hidden staging siblings. Every error
//! is an [`OutputError`] that names the path (and node type) and ends with a `hint:`.
//!
//! Edge-task predictions go to `pred_dir/<src>_<rel>_<dst>/pred.predict-00000_NNNNN.parquet`
//! with columns `pred`, `src_nid`, `dst_nid` ([`write_edge_predictions`]).
//!
//! Not implemented: edge predictions in csv, `--column-names` renaming, multi-rank output.

#![warn(missing_docs)]

mod atomic;
mod csv_io;
mod edges;
mod error;
mod input;
mod layout;
mod parquet_io;
mod read;
mod write;

pub use edges::{DST_NID_COL, EdgeRows, SRC_NID_COL, write_edge_predictions};
pub use error::OutputError;
pub use input::{DEFAULT_CHUNK_SIZE, NodeIds, OutputFormat, OutputOptions, Values};
pub use read::{
    EdgePredictions, read_edge_predictions, read_node_embeddings, read_node_predictions,
};
pub use write::{
    write_node_embeddings, write_node_predictions, write_node_predictions_and_embeddings,
};
