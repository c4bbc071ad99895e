//! Re-applying the fitted transforms of `data_transform_new.json` to raw values.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::GconstructError;
use crate::input::{RawColumn, Table};
use crate::transform::{Feature, Mode, compute, parse_feature};

/// Which node or edge type's features to compute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransformTarget {
    /// A node type (`_N` for a graph gconstruct treated as homogeneous).
    Node(String),
    /// An edge type `[src, rel, dst]`.
    Edge([String; 3]),
}

impl TransformTarget {
    /// Whether the `nodes` or `edges` block `b` of a transform config is this target's.
    fn names(&self, b: &Value) -> bool {
        match self {
            TransformTarget::Node(nt) => {
                b.get("node_type").and_then(Value::as_str) == Some(nt.as_str())
            }
            TransformTarget::Edge(rel) => {
                b.get("relation")
                    .and_then(Value::as_array)
                    .is_some_and(|r| {
                        r.len() == 3 && (0..3).all(|k| r[k].as_str() == Some(rel[k].as_str()))
                    })
            }
        }
    }

    fn key(&self) -> &'static str {
        match self {
            TransformTarget::Node(_) => "nodes",
            TransformTarget::Edge(_) => "edges",
        }
    }
}

/// The columns (`feature_col`) of the feature `name` (its `feature_name`, by default its one
/// column) of `target` in a transform config, read as [`apply_transforms`] reads them; `None`
/// when the config has no such feature. An entry of `target` that does not parse is an error.
pub fn feature_columns(
    transform_conf: &Value,
    target: &TransformTarget,
    name: &str,
) -> Result<Option<Vec<String>>, GconstructError> {
    let key = target.key();
    let blocks = transform_conf.get(key).and_then(Value::as_array);
    for (i, b) in blocks.into_iter().flatten().enumerate() {
        if !target.names(b) {
            continue;
        }
        let features = b.get("features").and_then(Value::as_array);
        for (j, f) in features.into_iter().flatten().enumerate() {
            let spec = parse_feature(f, &format!("{key}[{i}].features[{j}]"))?;
            if spec.name == name {
                return Ok(Some(spec.cols));
            }
        }
    }
    Ok(None)
}

/// Applies the feature transforms of a `data_transform_new.json` (as [`crate::construct`] or
/// GraphStorm writes it) to raw column values, without refitting: the result equals the
/// features construction computed for the same raw values.
///
/// Every feature entry of `target` whose columns are all in `columns` is computed; entries
/// whose columns are all absent are skipped, and entries with only some of their columns are
/// an error. `rank_gauss` features cannot be re-applied (as in GraphStorm) and are an error, as
/// is a two-phase transform whose fitted parameters (`max_val`/`min_val`, `sum`, `mapping`) are
/// missing from the config.
pub fn apply_transforms(
    transform_conf: &Value,
    target: &TransformTarget,
    columns: &BTreeMap<String, RawColumn>,
) -> Result<BTreeMap<String, Feature>, GconstructError> {
    let key = target.key();
    let blocks = transform_conf.get(key);
    let blocks = blocks.and_then(Value::as_array).ok_or_else(|| {
        GconstructError::config(
            "(top level)",
            format!("the transform config has no `{key}` list"),
            "pass the data_transform_new.json written by gs gconstruct",
        )
    })?;
    let rows = columns.values().map(RawColumn::len).next().unwrap_or(0);
    if let Some((name, c)) = columns.iter().find(|(_, c)| c.len() != rows) {
        return Err(GconstructError::Transform {
            feature: name.clone(),
            reason: format!(
                "column `{name}` has {} values but the others have {rows}",
                c.len()
            ),
            hint: "give every column one value per node or edge".into(),
        });
    }
    let mut out = BTreeMap::new();
    let mut found = false;
    for (i, b) in blocks.iter().enumerate() {
        if !target.names(b) {
            continue;
        }
        found = true;
        let Some(features) = b.get("features").and_then(Value::as_array) else {
            continue;
        };
        for (j, f) in features.iter().enumerate() {
            let at = format!("{key}[{i}].features[{j}]");
            let mut spec = parse_feature(f, &at)?;
            let present: Vec<bool> = spec.cols.iter().map(|c| columns.contains_key(c)).collect();
            if present.iter().all(|p| !p) {
                continue;
            }
            if let Some(k) = present.iter().position(|p| !p) {
                return Err(GconstructError::MissingColumn {
                    path: PathBuf::from("(raw values)"),
                    column: spec.cols[k].clone(),
                    at,
                    available: columns.keys().cloned().collect::<Vec<_>>().join(", "),
                });
            }
            let table = Table {
                columns: spec
                    .cols
                    .iter()
                    .map(|c| (c.clone(), columns[c].clone()))
                    .collect(),
                sources: vec![(PathBuf::from("(raw values)"), rows)],
                rows,
            };
            let (feat, _) = compute(&mut spec, &table, Mode::Apply)?;
            out.insert(spec.name.clone(), feat);
        }
    }
    if !found {
        return Err(GconstructError::config(
            key,
            format!("the transform config has no entry for {target:?}"),
            "use a node type or relation from the config (`_N`/`_E` for a homogeneous graph)",
        ));
    }
    Ok(out)
}

/// Reads a `data_transform_new.json`.
pub fn read_transform_conf(path: &Path) -> Result<Value, GconstructError> {
    let text = std::fs::read_to_string(path).map_err(|e| GconstructError::ConfigRead {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    serde_json::from_str(&text).map_err(|e| GconstructError::ConfigRead {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}
