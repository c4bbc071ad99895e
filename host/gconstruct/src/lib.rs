//! gs-gconstruct: GraphStorm-compatible graph construction, `gs gconstruct`.
//!
//! It owns reading GraphStorm's gconstruct JSON config (`version: gconstruct-v0.1`) and its
//! node and edge tables (CSV or Parquet), mapping raw node ids to dense per-type ids, the
//! feature transforms (`no-op`, `max_min_norm`, `standard`, `rank_gauss`, `to_categorical`,
//! `bucket_numerical`, and `edge_dst_hard_negative` for link prediction), labels and train/val/test masks, and writing the result: gs's partition
//! format (one part through [`gs_graph::write_partitioned`]; with `--num-parts N`, split by
//! gs-partition's random or METIS assignment, METIS balancing the labels' training masks),
//! `data_transform_new.json` with the fitted transform parameters, and
//! `raw_id_mappings/<ntype>/part-00000.parquet` (raw id to gconstruct id, as GraphStorm).
//! [`apply_transforms`] re-applies the fitted transforms to raw values (for inference on new data).
//!
//! It depends on gs-graph, gs-partition, parquet, csv and rayon only: no tch, no wasmtime.
//!
//! # Behaviour, matched to GraphStorm 0.5 (`python/graphstorm/gconstruct/`)
//!
//! - **Files**: `files` is a path, a glob (`*`, `?`) or a list; one directory means all files
//!   in it; the resulting list is sorted. Relative paths are resolved against the working
//!   directory, as GraphStorm does, and, when nothing is found there, against the config file's
//!   folder (gs's addition). CSV `separator` defaults to `,`; cells are typed as pandas does
//!   (int64, float64 with pandas' NA strings as NaN, else text). Empty files are skipped.
//!   `hdf5` and `json` inputs are refused.
//! - **Node ids**: the block with `node_id_col` defines a node type's ids in first-appearance
//!   order; other blocks of the type are matched by row order. Integer ids that are already
//!   `0..n` are kept (no map, no `raw_id_mappings`, as GraphStorm's `NoopMap`) unless
//!   `--remap-node-id`. A node type without any `node_id_col` uses row order (gs's addition;
//!   GraphStorm fails). Node types that have no node block take the sorted unique ids of the
//!   edge files. A graph with one node type and one edge type is renamed `_N` / `_E`.
//!   Duplicate or null ids are errors (GraphStorm silently keeps the last duplicate).
//! - **Features** are stored as float32 `[n, dim]` arrays (GraphStorm keeps `to_categorical`
//!   one-hots as int8 and `float64` outputs as float64; gs rounds `float16` outputs to half
//!   precision and stores float32). `max_min_norm` clips to `[0, 1]` and fits per dimension
//!   (bounds default to the float32 range); `standard` divides by the column sum;
//!   `rank_gauss` is `erfinv(clip((rank/(n-1) - 0.5) * 2, -1+eps, 1-eps))` with ties ranked by
//!   row order; `to_categorical` maps the sorted unique values (multi-hot with `separator`;
//!   unknown values give an all-zero row; nulls are all-zero too, where GraphStorm turns CSV
//!   blanks into a `nan` category); `bucket_numerical` follows GraphStorm's `BucketTransform`
//!   exactly (sliding window, values outside the range go to the first/last bucket). NaN or Inf
//!   in a numeric feature is an error, as with GraphStorm's default validation.
//! - **Labels**: classification labels are int64 class ids (text labels, fractional or negative
//!   values are errors; empty labels are -1 and in no mask), regression labels float32,
//!   masks uint8. `split_pct` (default `[0.8, 0.1, 0.1]`) splits each input file separately
//!   after a random permutation, as GraphStorm does; gs's permutation is seeded
//!   ([`ConstructOptions::seed`]) while GraphStorm's is not reproducible. `custom_split_filenames`
//!   (JSON lines or Parquet) matches raw ids; train wins over val over test.
//! - **Edges** pointing to unknown nodes are an error naming the first one, unless
//!   `--skip-nonexist-edges`. `--add-reverse-edges` adds `<rel>-rev` edge types without data.
//!   `edge_dst_hard_negative` turns a column of raw destination ids (a list, or a string split
//!   at `separator`) into an int64 `[edges, k]` feature of node ids padded with -1, `k` the
//!   most ids an edge lists; unknown ids are dropped as GraphStorm drops them, with a warning.
//! - **Parts**: `--num-parts N` > 1 splits the graph with gs-partition (METIS balanced on
//!   node types and the labels' training masks, or random); parts are renumbered as DGL does
//!   and `raw_id_mappings/` keeps mapping raw ids to gconstruct ids, as GraphStorm's.
//! - **Outputs** are built in a hidden folder beside `--output-dir` and renamed into place
//!   when complete. `data_transform_new.json` is the input config with `version:
//!   gconstruct-runtime-v0.1`, the fitted `max_val`/`min_val`/`sum`/`mapping`, each feature's
//!   `feature_dim`, `is_homogeneous` and `add_reverse_edges`, keeping the input's key order
//!   (new keys last) and indented by four spaces, as GraphStorm's `json.dump`.
//!
//! Not supported: `tokenize_hf`, `bert_hf`, `tabular`, label statistics, GSProcessing configs,
//! `--output-format DGL` (gs writes its own format, which `gs` reads like DGL's).

#![warn(missing_docs)]

mod apply;
mod construct;
mod csv_input;
mod error;
mod fast_hash;
mod hard_negative;
mod idmap;
mod input;
mod int_index;
mod labels;
mod list_column;
mod ordered;
mod parquet_input;
mod parquet_rows;
mod transform;

pub use apply::{TransformTarget, apply_transforms, feature_columns, read_transform_conf};
pub use construct::{
    ConstructOptions, ConstructReport, PartMethod, SplitSizes, TRANSFORM_CONF_FILE, construct,
};
pub use error::GconstructError;
pub use input::RawColumn;
pub use list_column::{ListColumn, ListRow};
pub use transform::Feature;
