//! `construct`: the gconstruct pipeline (read tables, map ids, transform features, split labels,
//! build the graph) and its outputs, written atomically.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use gs_graph::{Array, EdgeType, HeteroGraph};
pub use gs_partition::PartMethod;
use rand::SeedableRng;
use rand_pcg::Pcg64;
use serde_json::Value;

use crate::GconstructError;
use crate::error::location;
use crate::hard_negative::dst_hard_negatives;
use crate::idmap::{IdColumnError, IdMap, MISSING, UniqueKeys, key_at};
use crate::input::{Format, Table, read_table, resolve_files};
use crate::labels::{LabelData, LabelSpec, compute_labels, parse_label, row_ids};
use crate::transform::{FeatSpec, Mode, Op, compute, parse_feature, take_noop_matrix};

/// The file name GraphStorm gives the updated config (`GS_RUNTIME_GCONSTRUCT_FILENAME`).
pub const TRANSFORM_CONF_FILE: &str = "data_transform_new.json";

/// GraphStorm's node type and edge type names for a homogeneous graph (DGL's defaults).
const HOMO_NTYPE: &str = "_N";
const HOMO_ETYPE: &str = "_E";

/// The options of `gs gconstruct`, mirroring GraphStorm's `construct_graph` CLI.
#[derive(Debug, Clone)]
pub struct ConstructOptions {
    /// `--conf-file`: the gconstruct JSON config.
    pub conf_file: PathBuf,
    /// `--output-dir`: where the graph is written. It must not exist or be empty.
    pub output_dir: PathBuf,
    /// `--graph-name`: Python identifier rules, except that `-` is allowed and leading digits
    /// are OK (GraphStorm's `check_graph_name`).
    pub graph_name: String,
    /// `--num-parts` (default 1): more than one splits the graph with `part_method`.
    pub num_parts: usize,
    /// `--part-method` (default metis; no effect with one part). METIS balances the training
    /// masks of the config's labels across parts.
    pub part_method: PartMethod,
    /// `--add-reverse-edges`: adds `(dst, <rel>-rev, src)` for every edge type (without edge
    /// features or masks, as GraphStorm); for a homogeneous graph the reversed edges join the
    /// one edge type and copy its features (masks are 0 on them).
    pub add_reverse_edges: bool,
    /// `--skip-nonexist-edges`: drop edges whose endpoints are in no node table instead of
    /// failing.
    pub skip_nonexist_edges: bool,
    /// `--remap-node-id`: build an id map even for integer ids that are already `0..n`.
    pub remap_node_id: bool,
    /// `--output-conf-file` (default `<output_dir>/data_transform_new.json`).
    pub output_conf_file: Option<PathBuf>,
    /// `--seed` (gs's addition): seeds the random train/val/test splits. `None` draws a seed,
    /// like GraphStorm, whose splits use numpy's global generator and are not reproducible; the
    /// seed used is in the report.
    pub seed: Option<u64>,
}

impl ConstructOptions {
    /// Options with GraphStorm's defaults for everything but the three required arguments.
    pub fn new(
        conf_file: impl Into<PathBuf>,
        output_dir: impl Into<PathBuf>,
        graph_name: impl Into<String>,
    ) -> Self {
        ConstructOptions {
            conf_file: conf_file.into(),
            output_dir: output_dir.into(),
            graph_name: graph_name.into(),
            num_parts: 1,
            part_method: PartMethod::Metis,
            add_reverse_edges: false,
            skip_nonexist_edges: false,
            remap_node_id: false,
            output_conf_file: None,
            seed: None,
        }
    }
}

/// Train/val/test sizes of one label entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitSizes {
    /// Node type, or edge type as `src:rel:dst`.
    pub owner: String,
    /// The mask names (train, val, test).
    pub masks: [String; 3],
    /// Number of rows in each mask.
    pub sizes: [usize; 3],
}

/// What [`construct`] built.
#[derive(Debug, Clone)]
pub struct ConstructReport {
    /// The graph name.
    pub graph_name: String,
    /// The part-config JSON (`<output_dir>/<graph_name>.json`).
    pub part_config: PathBuf,
    /// Where `data_transform_new.json` was written.
    pub transform_conf: PathBuf,
    /// Nodes per node type.
    pub num_nodes: BTreeMap<String, u64>,
    /// Edges per edge type (`src:rel:dst`), reverse edges included.
    pub num_edges: BTreeMap<String, u64>,
    /// Node data per node type: `(name, shape)`, labels and masks included.
    pub node_data: BTreeMap<String, Vec<(String, Vec<usize>)>>,
    /// Edge data per edge type.
    pub edge_data: BTreeMap<String, Vec<(String, Vec<usize>)>>,
    /// Split sizes per label entry.
    pub splits: Vec<SplitSizes>,
    /// Edges dropped by `--skip-nonexist-edges`.
    pub skipped_edges: usize,
    /// The seed of the splits.
    pub seed: u64,
    /// Whether the graph was treated as homogeneous (`_N`, `_E`).
    pub is_homogeneous: bool,
    /// Non-fatal remarks (ignored options, GraphStorm quirks).
    pub warnings: Vec<String>,
    /// Parts, balance and edge cut when the graph was split (`--num-parts` > 1).
    pub partition: Option<gs_partition::PartitionReport>,
}

impl fmt::Display for ConstructReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "graph `{}`: {}",
            self.graph_name,
            self.part_config.display()
        )?;
        for (nt, n) in &self.num_nodes {
            let data: Vec<String> = self
                .node_data
                .get(nt)
                .into_iter()
                .flatten()
                .map(|(k, s)| format!("{k}{s:?}"))
                .collect();
            writeln!(
                f,
                "  node type {nt}: {n} nodes; data: {}",
                if data.is_empty() {
                    "none".into()
                } else {
                    data.join(", ")
                }
            )?;
        }
        for (et, n) in &self.num_edges {
            let data: Vec<String> = self
                .edge_data
                .get(et)
                .into_iter()
                .flatten()
                .map(|(k, s)| format!("{k}{s:?}"))
                .collect();
            writeln!(
                f,
                "  edge type {et}: {n} edges; data: {}",
                if data.is_empty() {
                    "none".into()
                } else {
                    data.join(", ")
                }
            )?;
        }
        for s in &self.splits {
            writeln!(
                f,
                "  split on {} ({}, {}, {}): {} / {} / {}",
                s.owner, s.masks[0], s.masks[1], s.masks[2], s.sizes[0], s.sizes[1], s.sizes[2]
            )?;
        }
        if self.skipped_edges > 0 {
            writeln!(
                f,
                "  skipped {} edges whose endpoints do not exist",
                self.skipped_edges
            )?;
        }
        writeln!(f, "  split seed: {}", self.seed)?;
        if let Some(p) = &self.partition {
            writeln!(f, "  {p}")?;
        }
        writeln!(f, "  transforms: {}", self.transform_conf.display())?;
        for w in &self.warnings {
            writeln!(f, "  warning: {w}")?;
        }
        Ok(())
    }
}

/// One `nodes[]` or `edges[]` block, parsed, with its table.
struct Block {
    at: String,
    index: usize,
    table: Table,
    features: Vec<FeatSpec>,
    labels: Vec<LabelSpec>,
}

/// A node or edge data array in row order.
enum Data {
    F32(Vec<f32>, usize),
    I64(Vec<i64>),
    /// Int64 rows of a width (hard negatives: `[edges, k]`).
    I64Rows(Vec<i64>, usize),
    U8(Vec<u8>),
}

impl Data {
    fn select(&self, keep: &[usize]) -> Data {
        match self {
            Data::F32(v, w) => Data::F32(
                keep.iter()
                    .flat_map(|&r| v[r * w..(r + 1) * w].iter().copied())
                    .collect(),
                *w,
            ),
            Data::I64(v) => Data::I64(keep.iter().map(|&r| v[r]).collect()),
            Data::I64Rows(v, w) => Data::I64Rows(
                keep.iter()
                    .flat_map(|&r| v[r * w..(r + 1) * w].iter().copied())
                    .collect(),
                *w,
            ),
            Data::U8(v) => Data::U8(keep.iter().map(|&r| v[r]).collect()),
        }
    }

    /// Appends a copy (or zeros, for masks) of itself: homogeneous reverse edges.
    fn doubled(self, zeros: bool) -> Data {
        match self {
            Data::F32(mut v, w) => {
                let c = if zeros { vec![0.0; v.len()] } else { v.clone() };
                v.extend(c);
                Data::F32(v, w)
            }
            Data::I64(mut v) => {
                let c = if zeros { vec![0; v.len()] } else { v.clone() };
                v.extend(c);
                Data::I64(v)
            }
            Data::I64Rows(mut v, w) => {
                v.extend(v.clone());
                Data::I64Rows(v, w)
            }
            Data::U8(mut v) => {
                let c = if zeros { vec![0; v.len()] } else { v.clone() };
                v.extend(c);
                Data::U8(v)
            }
        }
    }

    /// The array of `rows` rows, reordered by `order` (edge data into CSC order) if given.
    fn into_array(self, rows: usize, order: Option<&[usize]>) -> Result<Array, GconstructError> {
        let pick =
            |n: usize| -> Vec<usize> { order.map_or_else(|| (0..n).collect(), <[usize]>::to_vec) };
        Ok(match self {
            Data::F32(v, w) => {
                let idx = pick(rows);
                let data: Vec<f32> = if order.is_some() {
                    idx.iter()
                        .flat_map(|&r| v[r * w..(r + 1) * w].iter().copied())
                        .collect()
                } else {
                    v
                };
                Array::from_f32(data, &[idx.len(), w])?
            }
            Data::I64(v) => {
                let idx = pick(v.len());
                let data = if order.is_some() {
                    idx.iter().map(|&r| v[r]).collect()
                } else {
                    v
                };
                Array::from_i64(data, &[idx.len()])?
            }
            Data::I64Rows(v, w) => {
                let idx = pick(rows);
                let data: Vec<i64> = if order.is_some() {
                    idx.iter()
                        .flat_map(|&r| v[r * w..(r + 1) * w].iter().copied())
                        .collect()
                } else {
                    v
                };
                Array::from_i64(data, &[idx.len(), w])?
            }
            Data::U8(v) => {
                let idx = pick(v.len());
                let data = if order.is_some() {
                    idx.iter().map(|&r| v[r]).collect()
                } else {
                    v
                };
                Array::from_u8(data, &[idx.len()])?
            }
        })
    }
}

impl From<LabelData> for Data {
    fn from(d: LabelData) -> Self {
        match d {
            LabelData::I64(v) => Data::I64(v),
            LabelData::F32(v) => Data::F32(v, 1),
            LabelData::U8(v) => Data::U8(v),
        }
    }
}

fn check_graph_name(name: &str) -> Result<(), GconstructError> {
    let stripped = name
        .trim_start_matches(|c: char| c.is_ascii_digit())
        .replace('-', "_");
    let ok = !stripped.is_empty()
        && !stripped.starts_with(|c: char| c.is_ascii_digit())
        && stripped
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(GconstructError::config(
            "--graph-name",
            format!(
                "graph name `{name}` is not a Python identifier (hyphens and leading digits are allowed)"
            ),
            "use letters, digits, `_` and `-`, e.g. `ogbn-arxiv`",
        ))
    }
}

fn str_list(v: Option<&Value>, at: &str, key: &str) -> Result<Vec<String>, GconstructError> {
    match v {
        Some(Value::String(s)) => Ok(vec![s.clone()]),
        Some(Value::Array(a)) if !a.is_empty() && a.iter().all(Value::is_string) => {
            Ok(a.iter().map(|x| x.as_str().unwrap().to_string()).collect())
        }
        _ => Err(GconstructError::config(
            format!("{at}.{key}"),
            format!("`{key}` must be a path, a glob or a list of them"),
            "e.g. `\"files\": [\"nodes/part-*.parquet\"]`",
        )),
    }
}

fn parse_format(v: Option<&Value>, at: &str) -> Result<Format, GconstructError> {
    let name = v.and_then(|f| f.get("name")).and_then(Value::as_str);
    match name {
        Some("csv") => {
            let sep = v
                .and_then(|f| f.get("separator"))
                .and_then(Value::as_str)
                .unwrap_or(",");
            match sep.as_bytes() {
                [b] => Ok(Format::Csv { delimiter: *b }),
                _ => Err(GconstructError::Unsupported {
                    what: format!("CSV separator {sep:?} (gs reads one-byte separators)"),
                    at: format!("{at}.format.separator"),
                    hint: "use a one-character separator such as \",\", \"\\t\" or \"|\"".into(),
                }),
            }
        }
        Some("parquet") => Ok(Format::Parquet),
        Some("hdf5") => Err(GconstructError::Unsupported {
            what: "HDF5 input".into(),
            at: format!("{at}.format"),
            hint: "convert the HDF5 arrays to Parquet (list columns for vectors) or CSV".into(),
        }),
        Some("json") => Err(GconstructError::Unsupported {
            what: "JSON input (deprecated in GraphStorm)".into(),
            at: format!("{at}.format"),
            hint: "convert the records to CSV or Parquet".into(),
        }),
        other => Err(GconstructError::config(
            format!("{at}.format"),
            format!("unknown or missing format name {other:?}"),
            "write `\"format\": {\"name\": \"csv\"}` or `{\"name\": \"parquet\"}`",
        )),
    }
}

/// Reads a block's table and parses its features and labels.
fn load_block(
    conf: &Value,
    at: &str,
    index: usize,
    id_cols: &[String],
    is_node: bool,
    conf_dir: &Path,
) -> Result<Block, GconstructError> {
    let files = resolve_files(
        &str_list(conf.get("files"), at, "files")?,
        conf_dir,
        &format!("{at}.files"),
    )?;
    let format = parse_format(conf.get("format"), at)?;
    let mut features = Vec::new();
    if let Some(list) = conf.get("features") {
        let arr = list.as_array().ok_or_else(|| {
            GconstructError::config(
                format!("{at}.features"),
                "`features` must be a list",
                "write a list of feature entries",
            )
        })?;
        for (j, f) in arr.iter().enumerate() {
            features.push(parse_feature(f, &format!("{at}.features[{j}]"))?);
        }
    }
    let mut labels = Vec::new();
    if let Some(list) = conf.get("labels") {
        let arr = list.as_array().filter(|a| !a.is_empty()).ok_or_else(|| {
            GconstructError::config(
                format!("{at}.labels"),
                "`labels` must be a non-empty list",
                "remove `labels` or add a label entry",
            )
        })?;
        for (j, l) in arr.iter().enumerate() {
            labels.push(parse_label(
                l,
                &format!("{at}.labels[{j}]"),
                is_node,
                id_cols,
                conf_dir,
            )?);
        }
    }
    let mut needed: BTreeMap<String, String> = BTreeMap::new();
    for c in id_cols {
        needed.insert(c.clone(), format!("{at} (id column)"));
    }
    for f in &features {
        for c in &f.cols {
            needed.entry(c.clone()).or_insert_with(|| f.at.clone());
        }
    }
    for l in &labels {
        if let Some(c) = &l.col {
            needed.entry(c.clone()).or_insert_with(|| l.at.clone());
        }
    }
    let table = read_table(&files, &format, &needed)?;
    Ok(Block {
        at: at.to_string(),
        index,
        table,
        features,
        labels,
    })
}

/// Computes a block's features (fitting their transforms) and labels, writing the fitted
/// parameters and `feature_dim` into `conf_features`. `dst_map` is the id map of an edge
/// block's destination type (hard negatives name destination nodes); `None` for node blocks.
fn block_data(
    block: &mut Block,
    conf_features: Option<&mut Value>,
    id_cols: &[String],
    rng: &mut Pcg64,
    owner: &str,
    splits: &mut Vec<SplitSizes>,
    dst_map: Option<&IdMap>,
    warnings: &mut Vec<String>,
) -> Result<Vec<(String, Data)>, GconstructError> {
    let mut out = Vec::new();
    let mut conf_features = conf_features;
    // How many of the block's features, labels and id columns read each column: a column read
    // by one feature only may be moved into it.
    let mut readers: BTreeMap<&str, usize> = BTreeMap::new();
    let cols = block.features.iter().flat_map(|f| f.cols.iter());
    let label_cols = block.labels.iter().filter_map(|l| l.col.as_ref());
    for c in cols.chain(label_cols).chain(id_cols) {
        *readers.entry(c.as_str()).or_default() += 1;
    }
    let movable: Vec<bool> = block
        .features
        .iter()
        .map(|f| f.cols.iter().all(|c| readers[c.as_str()] == 1))
        .collect();
    for (j, spec) in block.features.iter_mut().enumerate() {
        let (feat, updates) = if let Op::DstHardNegative { separator } = &spec.op {
            let map = dst_map.ok_or_else(|| {
                GconstructError::config(
                    &spec.at,
                    "edge_dst_hard_negative is a transform of edge features",
                    "move it to an edge block's `features`",
                )
            })?;
            let hn = dst_hard_negatives(block.table.col(&spec.cols[0]), separator.as_deref(), map);
            if hn.unknown > 0 {
                warnings.push(format!(
                    "{}: {} hard-negative ids of `{owner}` name no destination node and were dropped (as GraphStorm does)",
                    spec.at, hn.unknown
                ));
            }
            if let Some(Value::Array(arr)) = conf_features.as_deref_mut() {
                arr[j]["feature_dim"] = Value::from(vec![hn.width]);
            }
            out.push((spec.name.clone(), Data::I64Rows(hn.ids, hn.width)));
            continue;
        } else if let Some(feat) = movable[j]
            .then(|| take_noop_matrix(spec, &mut block.table))
            .flatten()
        {
            (feat, serde_json::Map::new())
        } else {
            compute(spec, &block.table, Mode::Fit)?
        };
        if let Some(Value::Array(arr)) = conf_features.as_deref_mut() {
            let entry = &mut arr[j];
            if let Some(Value::Object(t)) = entry.get_mut("transform") {
                for (k, v) in updates {
                    t.insert(k, v);
                }
            }
            entry["feature_dim"] = Value::from(vec![feat.dim]);
        }
        out.push((spec.name.clone(), Data::F32(feat.values, feat.dim)));
    }
    if !block.labels.is_empty() {
        let ids = if block
            .labels
            .iter()
            .any(|l| matches!(l.split, crate::labels::Split::Custom(_)))
        {
            Some(row_ids(&block.table, id_cols)?)
        } else {
            None
        };
        for l in &block.labels {
            let data = compute_labels(l, &block.table, ids.as_deref(), rng)?;
            let mut sizes = [0; 3];
            for (name, d) in &data {
                if let (Some(k), LabelData::U8(v)) = (l.masks.iter().position(|m| m == name), d) {
                    sizes[k] = v.iter().map(|&x| usize::from(x)).sum();
                }
            }
            if data.iter().any(|(n, _)| l.masks.contains(n)) {
                splits.push(SplitSizes {
                    owner: owner.to_string(),
                    masks: l.masks.clone(),
                    sizes,
                });
            }
            out.extend(data.into_iter().map(|(n, d)| (n, Data::from(d))));
        }
    }
    Ok(out)
}

fn insert_data(
    store: &mut BTreeMap<String, Data>,
    data: Vec<(String, Data)>,
    owner: &str,
    at: &str,
    label_names: &BTreeSet<String>,
) -> Result<(), GconstructError> {
    for (name, d) in data {
        // Several label entries may share mask names (GraphStorm lets the last one win).
        if store.contains_key(&name) && !label_names.contains(&name) {
            return Err(GconstructError::config(
                at,
                format!("data `{name}` of `{owner}` is defined twice"),
                "give each feature a distinct `feature_name`",
            ));
        }
        store.insert(name, d);
    }
    Ok(())
}

/// Builds the graph described by the gconstruct config `options.conf_file` and writes it to
/// `options.output_dir` (see the crate docs for the layout).
pub fn construct(options: &ConstructOptions) -> Result<ConstructReport, GconstructError> {
    check_graph_name(&options.graph_name)?;
    let num_parts = u32::try_from(options.num_parts)
        .ok()
        .filter(|&n| n > 0)
        .ok_or_else(|| GconstructError::Unsupported {
            what: format!("--num-parts {}", options.num_parts),
            at: "--num-parts".into(),
            hint: "give a number of parts from 1 up".into(),
        })?;
    let conf_path = &options.conf_file;
    let text = std::fs::read_to_string(conf_path).map_err(|e| GconstructError::ConfigRead {
        path: conf_path.clone(),
        reason: e.to_string(),
    })?;
    let mut conf: Value = serde_json::from_str(&text).map_err(|e| GconstructError::ConfigRead {
        path: conf_path.clone(),
        reason: e.to_string(),
    })?;
    let conf_dir = conf_path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    let mut warnings = Vec::new();
    if !conf.is_object() {
        return Err(GconstructError::config(
            "(top level)",
            "the config must be a JSON object",
            "see GraphStorm's gconstruct docs",
        ));
    }
    match conf.get("version").and_then(Value::as_str) {
        None => warnings.push(
            "the config file does not have a 'version' entry; assuming gconstruct-v0.1".into(),
        ),
        Some(v) if v.starts_with("gsprocessing") => {
            return Err(GconstructError::Unsupported {
                what: format!("GSProcessing configs (`version: {v}`)"),
                at: "version".into(),
                hint: "write a gconstruct config (`version: gconstruct-v0.1`)".into(),
            });
        }
        Some(v) if v.starts_with("gconstruct") => {}
        Some(v) => warnings.push(format!("unrecognized configuration file version name: {v}")),
    }
    conf["version"] = Value::from("gconstruct-runtime-v0.1");
    if conf.get("nodes").is_none() {
        conf["nodes"] = Value::Array(Vec::new());
    }
    let (Some(Value::Array(nodes)), Some(Value::Array(edges))) =
        (conf.get("nodes"), conf.get("edges"))
    else {
        return Err(GconstructError::config(
            "(top level)",
            "`nodes` and `edges` must be lists",
            "add `\"edges\": [...]`",
        ));
    };
    let (mut nodes, mut edges) = (nodes.clone(), edges.clone());

    // Node types and relations, validated.
    let mut node_types = Vec::new();
    for (i, n) in nodes.iter().enumerate() {
        let nt = n.get("node_type").and_then(Value::as_str).ok_or_else(|| {
            GconstructError::config(
                format!("nodes[{i}]"),
                "'node_type' must be defined for a node type",
                "add `\"node_type\": \"...\"`",
            )
        })?;
        node_types.push(nt.to_string());
    }
    let mut relations = Vec::new();
    for (i, e) in edges.iter().enumerate() {
        let rel = e
            .get("relation")
            .and_then(Value::as_array)
            .filter(|r| r.len() == 3 && r.iter().all(Value::is_string));
        let rel = rel.ok_or_else(|| {
            GconstructError::config(
                format!("edges[{i}]"),
                "the edge type must be (source node type, relation type, dest node type)",
                "write `\"relation\": [\"src\", \"rel\", \"dst\"]`",
            )
        })?;
        relations.push([0, 1, 2].map(|k| rel[k].as_str().unwrap().to_string()));
    }
    let ntype_set: BTreeSet<&String> = node_types.iter().collect();
    let etype_set: BTreeSet<&[String; 3]> = relations.iter().collect();
    let is_homogeneous = ntype_set.len() == 1
        && etype_set.len() == 1
        && relations
            .iter()
            .all(|r| ntype_set.contains(&r[0]) && ntype_set.contains(&r[2]));
    if is_homogeneous {
        for n in nodes.iter_mut() {
            n["node_type"] = Value::from(HOMO_NTYPE);
        }
        for e in edges.iter_mut() {
            e["relation"] = Value::from(vec![HOMO_NTYPE, HOMO_ETYPE, HOMO_NTYPE]);
        }
        node_types
            .iter_mut()
            .for_each(|n| *n = HOMO_NTYPE.to_string());
        relations
            .iter_mut()
            .for_each(|r| *r = [HOMO_NTYPE.into(), HOMO_ETYPE.into(), HOMO_NTYPE.into()]);
        warnings.push("the graph is homogeneous: node type renamed `_N` and edge type `[_N, _E, _N]`, as GraphStorm does".into());
    }
    for nt in &node_types {
        gs_graph::validate_type_name(nt)?;
    }
    for r in &relations {
        EdgeType::new(&r[0], &r[1], &r[2]).validate()?;
    }
    for (i, l) in nodes
        .iter()
        .chain(edges.iter())
        .flat_map(|b| {
            b.get("labels")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
        })
        .enumerate()
    {
        if l.get("label_stats_type").is_some() {
            warnings.push(format!("label entry {i}: `label_stats_type` is ignored (label statistics are not written yet)"));
        }
    }

    let seed = options.seed.unwrap_or_else(|| {
        use rand::Rng;
        rand::rng().random()
    });
    let mut rng = Pcg64::seed_from_u64(seed);
    let mut splits = Vec::new();

    // Edge tables first: feature-less node types take their ids from them.
    let mut edge_blocks = Vec::new();
    for (i, e) in edges.iter().enumerate() {
        let at = format!("edges[{i}]");
        let src = e.get("source_id_col").and_then(Value::as_str);
        let dst = e.get("dest_id_col").and_then(Value::as_str);
        let id_cols: Vec<String> = match (src, dst) {
            (Some(s), Some(d)) => vec![s.to_string(), d.to_string()],
            (None, None) => Vec::new(),
            _ => {
                return Err(GconstructError::config(
                    &at,
                    "an edge block should either have both source_id_col and dest_id_col or have none",
                    "add the missing column name",
                ));
            }
        };
        let block = load_block(e, &at, i, &id_cols, false, &conf_dir)?;
        edge_blocks.push((block, id_cols));
    }

    // Node id maps.
    let mut id_maps: BTreeMap<String, IdMap> = BTreeMap::new();
    let mut node_blocks: BTreeMap<String, Vec<(Block, Option<String>)>> = BTreeMap::new();
    for (i, n) in nodes.iter().enumerate() {
        let at = format!("nodes[{i}]");
        let id_col = n
            .get("node_id_col")
            .and_then(Value::as_str)
            .map(str::to_string);
        let id_cols: Vec<String> = id_col.iter().cloned().collect();
        let block = load_block(n, &at, i, &id_cols, true, &conf_dir)?;
        node_blocks
            .entry(node_types[i].clone())
            .or_default()
            .push((block, id_col));
    }
    for (nt, blocks) in &node_blocks {
        let with_ids: Vec<&(Block, Option<String>)> =
            blocks.iter().filter(|(_, c)| c.is_some()).collect();
        if with_ids.len() > 1 {
            return Err(GconstructError::config(
                &with_ids[1].0.at,
                format!(
                    "the ID map of node type `{nt}` is already defined by {}",
                    with_ids[0].0.at
                ),
                "give `node_id_col` in one block per node type, and list all its files in that block's `files`",
            ));
        }
        let map = match with_ids.first() {
            Some((block, Some(col))) => {
                let t = &block.table;
                IdMap::from_id_column(t.col(col), options.remap_node_id).map_err(|e| match e {
                    IdColumnError::Null(row) => t.bad_value(
                        row,
                        col,
                        format!("node id of `{nt}` is null"),
                        "every node needs an id; drop or fill the row",
                    ),
                    IdColumnError::Duplicate { row, first, id } => {
                        let (path, row) = t.locate(row);
                        let (first_path, first_row) = t.locate(first);
                        GconstructError::DuplicateNodeId {
                            ntype: nt.clone(),
                            id: id.to_string(),
                            at: location(&path, row, col),
                            first_at: location(&first_path, first_row, col),
                        }
                    }
                })?
            }
            _ => IdMap::Noop(blocks[0].0.table.rows),
        };
        for (block, _) in blocks {
            if block.table.rows != map.len() {
                return Err(GconstructError::config(
                    &block.at,
                    format!(
                        "node type `{nt}` has {} nodes but this block's files have {} rows",
                        map.len(),
                        block.table.rows
                    ),
                    "blocks without `node_id_col` are matched to the nodes by row order and need one row per node",
                ));
            }
        }
        id_maps.insert(nt.clone(), map);
    }
    // Feature-less node types: sorted unique ids from the edge files (np.unique).
    let mut featless: BTreeMap<String, UniqueKeys> = BTreeMap::new();
    for ((block, id_cols), rel) in edge_blocks.iter().zip(&relations) {
        if id_cols.is_empty() {
            continue;
        }
        for (k, nt) in [(0, &rel[0]), (1, &rel[2])] {
            if id_maps.contains_key(nt) {
                continue;
            }
            let t = &block.table;
            let col = &id_cols[k];
            featless
                .entry(nt.clone())
                .or_default()
                .extend(t.col(col))
                .map_err(|row| {
                    t.bad_value(
                        row,
                        col,
                        format!("node id of `{nt}` is null"),
                        "every edge needs both endpoint ids",
                    )
                })?;
        }
    }
    for (nt, keys) in featless {
        id_maps.insert(nt, keys.into_map(options.remap_node_id));
    }

    // Node data.
    let mut node_data: BTreeMap<String, BTreeMap<String, Data>> = BTreeMap::new();
    for (nt, blocks) in node_blocks.iter_mut() {
        let store = node_data.entry(nt.clone()).or_default();
        for (block, id_col) in blocks.iter_mut() {
            let id_cols: Vec<String> = id_col.iter().cloned().collect();
            let label_names: BTreeSet<String> = block
                .labels
                .iter()
                .flat_map(|l| l.masks.iter().cloned().chain(l.col.clone()))
                .collect();
            let conf_features = nodes[block.index].get_mut("features");
            let data = block_data(
                block,
                conf_features,
                &id_cols,
                &mut rng,
                nt,
                &mut splits,
                None,
                &mut warnings,
            )?;
            insert_data(store, data, nt, &block.at, &label_names)?;
            // The raw columns are no longer needed: free them before the edges are mapped.
            block.table.columns.clear();
        }
    }

    // Edges.
    let mut edge_lists: BTreeMap<[String; 3], (Vec<u64>, Vec<u64>, usize)> = BTreeMap::new();
    let mut edge_data: BTreeMap<[String; 3], BTreeMap<String, Data>> = BTreeMap::new();
    let mut edge_masks: BTreeMap<[String; 3], BTreeSet<String>> = BTreeMap::new();
    let mut skipped_edges = 0;
    // Blocks with id columns first, so that feature-only blocks can be filtered like them.
    let mut order: Vec<usize> = (0..edge_blocks.len()).collect();
    order.sort_by_key(|&i| edge_blocks[i].1.is_empty());
    // Per edge type: the rows kept (`None`: all) and the number of rows.
    let mut kept_rows: BTreeMap<[String; 3], (Option<Vec<usize>>, usize)> = BTreeMap::new();
    for i in order {
        let rel = relations[i].clone();
        let etype_name = rel.join(":");
        let (block, id_cols) = &mut edge_blocks[i];
        let label_names: BTreeSet<String> = block
            .labels
            .iter()
            .flat_map(|l| l.masks.iter().cloned().chain(l.col.clone()))
            .collect();
        edge_masks
            .entry(rel.clone())
            .or_default()
            .extend(block.labels.iter().flat_map(|l| l.masks.iter().cloned()));
        let conf_features = edges[block.index].get_mut("features");
        let data = block_data(
            block,
            conf_features,
            id_cols,
            &mut rng,
            &etype_name,
            &mut splits,
            Some(&id_maps[&rel[2]]),
            &mut warnings,
        )?;
        let t = &block.table;
        if !id_cols.is_empty() {
            if edge_lists.contains_key(&rel) {
                return Err(GconstructError::config(
                    &block.at,
                    format!(
                        "edge type `{etype_name}` already has a block with source_id_col and dest_id_col"
                    ),
                    "list all files of an edge type in one block's `files`",
                ));
            }
            let (smap, dmap) = (&id_maps[&rel[0]], &id_maps[&rel[2]]);
            let null_endpoint = |k: usize| {
                let c = &id_cols[k];
                move |row| {
                    t.bad_value(
                        row,
                        c,
                        "the edge endpoint id is null",
                        "every edge needs both endpoint ids",
                    )
                }
            };
            let mut src = smap
                .map_column(t.col(&id_cols[0]))
                .map_err(null_endpoint(0))?;
            let mut dst = dmap
                .map_column(t.col(&id_cols[1]))
                .map_err(null_endpoint(1))?;
            let is_bad = |r: usize| src[r] == MISSING || dst[r] == MISSING;
            let bad = (0..t.rows).filter(|&r| is_bad(r)).count();
            let keep = if let Some(r) = (0..t.rows).find(|&r| is_bad(r)) {
                let k = if src[r] == MISSING { 0 } else { 1 };
                if !options.skip_nonexist_edges {
                    let key = key_at(t.col(&id_cols[k]), r).expect("not null");
                    let (path, row) = t.locate(r);
                    return Err(GconstructError::UnknownNode {
                        etype: etype_name,
                        ntype: rel[if k == 0 { 0 } else { 2 }].clone(),
                        id: key.to_string(),
                        at: location(&path, row, &id_cols[k]),
                        count: bad,
                    });
                }
                skipped_edges += bad;
                warnings.push(format!(
                    "skipped {bad} edges of `{etype_name}` whose endpoints do not exist"
                ));
                let keep: Vec<usize> = (0..t.rows).filter(|&r| !is_bad(r)).collect();
                src = keep.iter().map(|&r| src[r]).collect();
                dst = keep.iter().map(|&r| dst[r]).collect();
                Some(keep)
            } else {
                None
            };
            edge_lists.insert(rel.clone(), (src, dst, t.rows));
            kept_rows.insert(rel.clone(), (keep, t.rows));
        } else {
            match kept_rows.get(&rel) {
                Some((_, rows)) if *rows == t.rows => {}
                Some((_, rows)) => {
                    return Err(GconstructError::config(
                        &block.at,
                        format!(
                            "edge type `{etype_name}` has {rows} edge rows but this block's files have {} rows",
                            t.rows
                        ),
                        "blocks without id columns are matched to the edges by row order and need one row per edge",
                    ));
                }
                None => {
                    return Err(GconstructError::config(
                        &block.at,
                        format!("source_id_col and dest_id_col are not defined for `{etype_name}`"),
                        "add `source_id_col` and `dest_id_col` to one block of this edge type",
                    ));
                }
            }
        }
        let keep = kept_rows[&rel].0.as_deref();
        let filtered: Vec<(String, Data)> = match keep {
            None => data,
            Some(keep) => data.into_iter().map(|(n, d)| (n, d.select(keep))).collect(),
        };
        insert_data(
            edge_data.entry(rel.clone()).or_default(),
            filtered,
            &etype_name,
            &block.at,
            &label_names,
        )?;
        // The raw columns are no longer needed.
        block.table.columns.clear();
    }
    for rel in &relations {
        if !edge_lists.contains_key(rel) {
            return Err(GconstructError::config(
                "edges",
                format!(
                    "source_id_col and dest_id_col are not defined for `{}`",
                    rel.join(":")
                ),
                "add `source_id_col` and `dest_id_col` to one block of this edge type",
            ));
        }
    }

    // Reverse edges.
    if options.add_reverse_edges {
        if is_homogeneous {
            let rel = relations[0].clone();
            let (src, dst, rows) = edge_lists.remove(&rel).expect("homogeneous edge type");
            let (mut s2, mut d2) = (src.clone(), dst.clone());
            s2.extend(&dst);
            d2.extend(&src);
            edge_lists.insert(rel.clone(), (s2, d2, rows));
            if let Some(store) = edge_data.remove(&rel) {
                let masks = edge_masks.get(&rel).cloned().unwrap_or_default();
                let doubled = store
                    .into_iter()
                    .map(|(k, v)| {
                        let z = masks.contains(&k);
                        (k, v.doubled(z))
                    })
                    .collect();
                edge_data.insert(rel, doubled);
            }
        } else {
            let originals: Vec<([String; 3], Vec<u64>, Vec<u64>)> = edge_lists
                .iter()
                .map(|(r, (s, d, _))| (r.clone(), s.clone(), d.clone()))
                .collect();
            for (r, s, d) in originals {
                let rev = [r[2].clone(), format!("{}-rev", r[1]), r[0].clone()];
                if edge_lists.contains_key(&rev) {
                    return Err(GconstructError::config(
                        "edges",
                        format!(
                            "the reverse of `{}` would be `{}`, which the config already defines",
                            r.join(":"),
                            rev.join(":")
                        ),
                        "rename that relation, or do not pass --add-reverse-edges",
                    ));
                }
                edge_lists.insert(rev, (d, s, 0));
            }
        }
    }

    // The graph.
    let mut graph = HeteroGraph::new();
    for (nt, map) in &id_maps {
        graph.add_node_type(nt, map.len() as u64)?;
    }
    for (nt, store) in std::mem::take(&mut node_data) {
        let rows = id_maps[&nt].len();
        for (name, d) in store {
            graph.set_node_data(&nt, &name, d.into_array(rows, None)?)?;
        }
    }
    // Each edge list is dropped once its CSC is built.
    for (rel, (src, dst, _)) in std::mem::take(&mut edge_lists) {
        let et = EdgeType::new(&rel[0], &rel[1], &rel[2]);
        let order = graph.add_edges(&et, &src, &dst)?;
        drop((src, dst));
        if let Some(store) = edge_data.remove(&rel) {
            for (name, d) in store {
                graph.set_edge_data(&et, &name, d.into_array(order.len(), Some(&order))?)?;
            }
        }
    }

    // The updated config.
    conf["nodes"] = Value::Array(nodes);
    conf["edges"] = Value::Array(edges);
    conf["is_homogeneous"] = Value::from(is_homogeneous);
    conf["add_reverse_edges"] = Value::from(options.add_reverse_edges);
    let conf_text = crate::ordered::to_ordered_text(&text, &conf);

    // Outputs, staged beside the output folder and renamed into place.
    let out = &options.output_dir;
    if out.exists() {
        let empty = out.is_dir()
            && std::fs::read_dir(out)
                .map_err(|e| GconstructError::write("read", out, e))?
                .next()
                .is_none();
        if !empty {
            return Err(GconstructError::Write {
                action: "write into",
                path: out.clone(),
                reason: "the output folder exists and is not empty".into(),
                hint: "remove it or choose another --output-dir".into(),
            });
        }
    }
    let name = out.file_name().ok_or_else(|| GconstructError::Write {
        action: "use",
        path: out.clone(),
        reason: "the output path has no final folder name".into(),
        hint: "pass a folder path such as `out/graph`".into(),
    })?;
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(|e| GconstructError::write("create", &parent, e))?;
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let staging = Staging(parent.join(format!(
        ".{}.gs-gconstruct-{}-{nanos}",
        name.to_string_lossy(),
        std::process::id()
    )));
    let partition = if num_parts > 1 {
        let partition = gs_partition::PartitionOptions {
            num_parts,
            method: options.part_method,
            seed,
            balance_masks: splits.iter().map(|s| s.masks[0].clone()).collect(),
        };
        let mut report =
            gs_partition::partition_graph(&graph, &partition, &staging.0, &options.graph_name)?;
        report.part_config = out.join(format!("{}.json", options.graph_name));
        Some(report)
    } else {
        gs_graph::write_partitioned(&graph, &staging.0, &options.graph_name)?;
        None
    };
    for (nt, map) in &id_maps {
        map.save(&staging.0.join("raw_id_mappings").join(nt))?;
    }
    let default_conf = options.output_conf_file.is_none();
    if default_conf {
        write_synced(&staging.0.join(TRANSFORM_CONF_FILE), &conf_text)?;
    }
    if out.exists() {
        std::fs::remove_dir(out)
            .map_err(|e| GconstructError::write("replace the empty folder", out, e))?;
    }
    std::fs::rename(&staging.0, out)
        .map_err(|e| GconstructError::write("rename the finished graph into", out, e))?;
    std::mem::forget(staging);
    if let Ok(d) = std::fs::File::open(&parent) {
        let _ = d.sync_all();
    }
    let transform_conf = match &options.output_conf_file {
        None => out.join(TRANSFORM_CONF_FILE),
        Some(p) => {
            let tmp = p.with_extension(format!("json.gs-tmp-{}", std::process::id()));
            if let Some(dir) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .map_err(|e| GconstructError::write("create", dir, e))?;
            }
            write_synced(&tmp, &conf_text)?;
            std::fs::rename(&tmp, p).map_err(|e| GconstructError::write("rename into", p, e))?;
            p.clone()
        }
    };

    let shapes = |it: &mut dyn Iterator<Item = (&str, &Array)>| {
        it.map(|(k, a)| (k.to_string(), a.shape().to_vec()))
            .collect::<Vec<_>>()
    };
    Ok(ConstructReport {
        graph_name: options.graph_name.clone(),
        part_config: out.join(format!("{}.json", options.graph_name)),
        transform_conf,
        num_nodes: graph
            .node_types()
            .map(|nt| (nt.to_string(), graph.num_nodes(nt).unwrap_or(0)))
            .collect(),
        num_edges: graph
            .edge_types()
            .map(|et| (et.to_string(), graph.num_edges(et).unwrap_or(0)))
            .collect(),
        node_data: graph
            .node_types()
            .map(|nt| (nt.to_string(), shapes(&mut graph.node_data_all(nt))))
            .filter(|(_, v)| !v.is_empty())
            .collect(),
        edge_data: graph
            .edge_types()
            .map(|et| (et.to_string(), shapes(&mut graph.edge_data_all(et))))
            .filter(|(_, v)| !v.is_empty())
            .collect(),
        splits,
        skipped_edges,
        seed,
        is_homogeneous,
        warnings,
        partition,
    })
}

/// Removes a staging folder unless it was renamed into place (then it is forgotten).
struct Staging(PathBuf);

impl Drop for Staging {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn write_synced(path: &Path, text: &str) -> Result<(), GconstructError> {
    std::fs::write(path, text).map_err(|e| GconstructError::write("write", path, e))?;
    std::fs::File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(|e| GconstructError::write("fsync", path, e))
}
