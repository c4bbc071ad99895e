//! The crate's error enums. Every message names the offending item and ends with a `hint:`.

use std::path::PathBuf;

use crate::array::DType;

/// Errors from building, querying and sampling a [`crate::HeteroGraph`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GraphError {
    /// An edge type string did not have three parts.
    #[error(
        "edge type `{text}` is not `src{sep}rel{sep}dst`; hint: write a canonical edge type such as `author{sep}writes{sep}paper`"
    )]
    BadEdgeType {
        /// The text that failed to parse.
        text: String,
        /// The separator that was expected.
        sep: char,
    },
    /// A node type or relation name is empty or contains a reserved character.
    #[error(
        "type name `{name}` is not allowed; hint: use a non-empty name without `:`, `/`, `@`, `,` or surrounding spaces"
    )]
    BadTypeName {
        /// The rejected name.
        name: String,
    },
    /// A node type is not in the graph.
    #[error(
        "node type `{ntype}` is not in the graph (it has: {known}); hint: check the spelling or add the node type first"
    )]
    UnknownNodeType {
        /// The requested node type.
        ntype: String,
        /// The node types the graph has, comma-separated.
        known: String,
    },
    /// An edge type is not in the graph.
    #[error(
        "edge type `{etype}` is not in the graph (it has: {known}); hint: use a canonical `src:rel:dst` type that the graph has"
    )]
    UnknownEdgeType {
        /// The requested edge type, `src:rel:dst`.
        etype: String,
        /// The edge types the graph has, comma-separated.
        known: String,
    },
    /// A node or edge type was added twice.
    #[error("`{name}` was added to the graph twice; hint: add each node and edge type once")]
    Duplicate {
        /// The node type or `src:rel:dst` edge type.
        name: String,
    },
    /// A node id is not below the node count of its type.
    #[error(
        "{what}: node id {id} is out of range for node type `{ntype}` with {num_nodes} nodes; hint: ids are per-type and must be below the type's node count"
    )]
    NodeIdOutOfRange {
        /// Where the id came from (e.g. `seed`, `source of author:writes:paper`).
        what: String,
        /// Node type of the id.
        ntype: String,
        /// The offending id.
        id: u64,
        /// Number of nodes of that type.
        num_nodes: u64,
    },
    /// A CSC structure is inconsistent.
    #[error(
        "CSC of edge type `{etype}` is invalid: {reason}; hint: indptr must start at 0, never decrease, end at len(indices), and have num_dst+1 entries"
    )]
    BadCsc {
        /// The edge type, `src:rel:dst`.
        etype: String,
        /// What is wrong.
        reason: String,
    },
    /// Two lists that must have the same length do not.
    #[error(
        "{what}: lengths differ ({left} vs {right}); hint: pass one entry per edge in both lists"
    )]
    LengthMismatch {
        /// What the lists are.
        what: String,
        /// Length of the first list.
        left: usize,
        /// Length of the second list.
        right: usize,
    },
    /// An array's element count does not match its shape, or the shape has the wrong rank.
    #[error(
        "array shape {shape:?} does not fit {len} elements (rank must be 1 or 2); hint: give the shape as [rows] or [rows, dim] with rows*dim elements"
    )]
    BadShape {
        /// The given shape.
        shape: Vec<usize>,
        /// The number of elements supplied.
        len: usize,
    },
    /// A data array's row count differs from the number of nodes or edges it describes.
    #[error(
        "data `{name}` of `{owner}` has {rows} rows but `{owner}` has {expected}; hint: give one row per node (or edge)"
    )]
    RowCount {
        /// Node type or `src:rel:dst` edge type.
        owner: String,
        /// Data array name.
        name: String,
        /// Rows in the array.
        rows: u64,
        /// Rows expected.
        expected: u64,
    },
    /// A named data array does not exist.
    #[error(
        "`{owner}` has no data named `{name}` (it has: {known}); hint: check the feature name (labels and masks are features too)"
    )]
    UnknownData {
        /// Node type or `src:rel:dst` edge type.
        owner: String,
        /// Requested name.
        name: String,
        /// Names available, comma-separated.
        known: String,
    },
    /// A data array has another dtype than the operation needs.
    #[error(
        "data `{name}` of `{owner}` is {found} but {expected} was needed; hint: convert the array to {expected} when building the graph"
    )]
    WrongDtype {
        /// Node type or `src:rel:dst` edge type.
        owner: String,
        /// Data array name.
        name: String,
        /// Its dtype.
        found: DType,
        /// The dtype needed.
        expected: DType,
    },
    /// A mask array is not one byte per node.
    #[error(
        "data `{name}` of `{owner}` has shape {shape:?} and cannot be a mask; hint: store masks as uint8 arrays of shape [num_nodes] with 0/1 values"
    )]
    NotAMask {
        /// Node type.
        owner: String,
        /// Data array name.
        name: String,
        /// Its shape.
        shape: Vec<usize>,
    },
    /// The same seed node was given twice in one mini-batch.
    #[error(
        "seed node {id} of type `{ntype}` appears more than once in the batch; hint: deduplicate the seed list"
    )]
    DuplicateSeed {
        /// Node type of the seeds.
        ntype: String,
        /// The repeated id.
        id: u64,
    },
    /// A fanout does not fit the graph.
    #[error(
        "fanout of layer {layer}: {reason}; hint: give every edge type of the graph a fanout (-1 = all neighbours, 0 = none)"
    )]
    BadFanout {
        /// Layer index (0 = input-most).
        layer: usize,
        /// What is wrong.
        reason: String,
    },
    /// A parameter is outside its allowed range.
    #[error(
        "parameter `{name}` = {value} is invalid: it must be {expected}; hint: change `{name}`"
    )]
    BadParam {
        /// Parameter name.
        name: &'static str,
        /// Its value, printed.
        value: String,
        /// The allowed range.
        expected: &'static str,
    },
    /// A batch size of zero.
    #[error("batch size must be at least 1, got {0}; hint: set a positive batch size")]
    BadBatchSize(usize),
}

/// Errors from reading or writing a partition on disk.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StorageError {
    /// An I/O operation failed.
    #[error(
        "cannot {action} `{path}`: {source}; hint: check that the path exists and is readable/writable"
    )]
    Io {
        /// What was being done (e.g. `read`, `create`).
        action: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The part-config is not valid JSON.
    #[error(
        "`{path}` is not valid JSON: {source}; hint: pass the partition's .json file (e.g. data/<graph_name>.json)"
    )]
    Json {
        /// The file.
        path: PathBuf,
        /// The parse error.
        source: serde_json::Error,
    },
    /// A required key is missing.
    #[error(
        "`{path}` has no key `{key}`; hint: the file is incomplete; write the partition again with gs"
    )]
    MissingKey {
        /// The file.
        path: PathBuf,
        /// The missing key (dotted for nesting, e.g. `part-0.gs_graph`).
        key: String,
    },
    /// A key has a value of the wrong form.
    #[error(
        "`{path}`: key `{key}` should be {expected} but is {found}; hint: the file is corrupt or from another tool; write the partition again with gs"
    )]
    BadValue {
        /// The file.
        path: PathBuf,
        /// The key.
        key: String,
        /// What was expected.
        expected: String,
        /// What was found (shortened).
        found: String,
    },
    /// The JSON is a DGL/GraphStorm partition, which this version cannot read.
    #[error(
        "`{path}` is a GraphStorm/DGL partition (graph.dgl/node_feat.dgl); reading those is not supported yet; hint: rebuild the partition with gs (gs gconstruct), which writes gs's own format"
    )]
    DglPartition {
        /// The file.
        path: PathBuf,
    },
    /// The JSON has neither gs's version key nor DGL's partition keys.
    #[error(
        "`{path}` is not a partition config (no `gs_format_version` key and no DGL `part-0` entry); hint: pass the .json written next to the part0/ folder"
    )]
    NotPartitionConfig {
        /// The file.
        path: PathBuf,
    },
    /// The gs format version is not one this build reads.
    #[error(
        "`{path}` has gs_format_version {found}, but this gs reads version {supported}; hint: use a gs release that reads version {found}, or write the partition again with this one"
    )]
    UnsupportedVersion {
        /// The file.
        path: PathBuf,
        /// The version in the file.
        found: String,
        /// The version this build reads.
        supported: u32,
    },
    /// More than one partition.
    #[error(
        "`{path}` has num_parts = {num_parts}; loading more than one partition is not supported yet; hint: partition the graph into 1 part (--num-parts 1)"
    )]
    MultiPart {
        /// The file.
        path: PathBuf,
        /// Number of partitions in the file.
        num_parts: u64,
    },
    /// A safetensors file is malformed.
    #[error(
        "`{path}` is not a readable safetensors file: {reason}; hint: the file is truncated or corrupt; write the partition again"
    )]
    Safetensors {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        reason: String,
    },
    /// A tensor that must exist is missing.
    #[error(
        "`{path}` has no tensor `{key}`; hint: the partition is incomplete; write it again with gs"
    )]
    MissingTensor {
        /// The file.
        path: PathBuf,
        /// The tensor name.
        key: String,
    },
    /// A tensor is malformed (dtype, shape or name).
    #[error("`{path}`: tensor `{key}` {problem}; hint: {hint}")]
    BadTensor {
        /// The file.
        path: PathBuf,
        /// The tensor name.
        key: String,
        /// What is wrong with it.
        problem: String,
        /// What to do.
        hint: String,
    },
    /// The data in a file violates a graph invariant.
    #[error("`{path}`: {source}")]
    Graph {
        /// The file.
        path: PathBuf,
        /// The invariant violated (its message carries the hint).
        source: GraphError,
    },
    /// The output directory exists and is not empty.
    #[error(
        "output directory `{path}` already exists and is not empty; hint: remove it or choose another output directory"
    )]
    OutputExists {
        /// The directory.
        path: PathBuf,
    },
    /// The graph name cannot be used as a file name.
    #[error(
        "graph name `{name}` cannot be used as a file name; hint: use letters, digits, `-`, `_` and `.`, not starting with `.`"
    )]
    BadGraphName {
        /// The name.
        name: String,
    },
    /// A GraphStorm/DGL partition file (or a raw-id mapping) could not be read.
    #[error(transparent)]
    Dgl(#[from] crate::storage::DglError),
}

/// Errors from parsing a fanout string such as `10,5` or `paper/cites/paper:10@author/writes/paper:5,…`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FanoutError {
    /// The number of layers differs from the model's.
    #[error(
        "fanout `{text}` has {found} layer(s) but the model has {expected}; hint: give one comma-separated entry per GNN layer, input-most layer first"
    )]
    WrongLayerCount {
        /// The fanout text.
        text: String,
        /// Layers in the text.
        found: usize,
        /// Layers expected.
        expected: usize,
    },
    /// A count is not an integer >= -1.
    #[error(
        "fanout `{text}`, layer {layer}: `{value}` is not a neighbour count; hint: use a whole number >= 0, or -1 for all neighbours"
    )]
    BadCount {
        /// The fanout text.
        text: String,
        /// Layer index.
        layer: usize,
        /// The offending value.
        value: String,
    },
    /// A per-edge-type entry is malformed.
    #[error(
        "fanout `{text}`, layer {layer}: entry `{entry}` is not `src/rel/dst:N`; hint: write per-edge-type fanouts as `paper/cites/paper:10@author/writes/paper:5` (edge types by `@`, layers by `,`)"
    )]
    BadEntry {
        /// The fanout text.
        text: String,
        /// Layer index.
        layer: usize,
        /// The offending entry.
        entry: String,
    },
    /// An edge type is given twice in one layer.
    #[error(
        "fanout `{text}`, layer {layer}: edge type `{etype}` is given twice; hint: list each edge type once per layer"
    )]
    DuplicateEdgeType {
        /// The fanout text.
        text: String,
        /// Layer index.
        layer: usize,
        /// The repeated edge type.
        etype: String,
    },
}
