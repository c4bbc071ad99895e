//! DGL's part-config JSON as GraphStorm/DGL write it (`python/dgl/distributed/partition.py`):
//! `node_map` / `edge_map` give, per type, one `[start, end)` range of the homogeneous id space
//! per partition; types are interleaved (`author: [[0,6],[23,29]], paper: [[6,23],[29,42]]`).
//! A per-type id is the position inside that type's ranges concatenated in part order.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::error::DglError;
use crate::types::{EdgeType, validate_type_name};

const CONFIG_HINT: &str =
    "pass the <graph_name>.json that DGL's partition_graph or GraphStorm's gconstruct wrote";

/// The files of one partition, resolved against the JSON's folder.
#[derive(Debug, Clone)]
pub(crate) struct PartFiles {
    pub(crate) graph: PathBuf,
    pub(crate) node_feats: PathBuf,
    pub(crate) edge_feats: PathBuf,
}

/// Per-type id ranges over the homogeneous id space.
#[derive(Debug, Clone)]
pub(crate) struct Ranges {
    /// For each type id: its `[start, end)` per part.
    per_type: Vec<Vec<(u64, u64)>>,
    /// Non-empty ranges sorted by start: (start, end, type id, per-type id of `start`).
    sorted: Vec<(u64, u64, usize, u64)>,
}

impl Ranges {
    /// Number of ids of type `t`.
    pub(crate) fn count(&self, t: usize) -> u64 {
        self.per_type[t].iter().map(|(s, e)| e - s).sum()
    }

    /// The type and per-type id of homogeneous id `gid`.
    pub(crate) fn locate(&self, gid: u64) -> Option<(usize, u64)> {
        let i = self.sorted.partition_point(|r| r.0 <= gid).checked_sub(1)?;
        let (s, e, t, base) = self.sorted[i];
        (gid < e).then_some((t, base + gid - s))
    }
}

/// A checked DGL part-config.
#[derive(Debug, Clone)]
pub(crate) struct DglConfig {
    pub(crate) graph_name: String,
    /// Node type names by DGL type id.
    pub(crate) ntypes: Vec<String>,
    /// Edge types by DGL type id.
    pub(crate) etypes: Vec<EdgeType>,
    pub(crate) node_ranges: Ranges,
    pub(crate) edge_ranges: Ranges,
    pub(crate) parts: Vec<PartFiles>,
}

/// True when the JSON looks like a DGL partition: no gs version key and DGL's per-part keys.
pub(crate) fn is_dgl_config(root: &Value) -> bool {
    root.get(crate::storage::format::VERSION_KEY).is_none()
        && root
            .get("part-0")
            .and_then(Value::as_object)
            .is_some_and(|p| p.contains_key("part_graph"))
}

/// Parses and checks the part-config at `path` (already parsed as `root`), including that
/// every file it names exists.
pub(crate) fn parse(path: &Path, root: &Value) -> Result<DglConfig, DglError> {
    let bad = |key: &str, problem: String| {
        DglError::invalid(path, format!("key `{key}` {problem}"), CONFIG_HINT)
    };
    let root = root
        .as_object()
        .ok_or_else(|| bad("(top level)", "is not an object".to_string()))?;
    let get = |key: &str| {
        root.get(key)
            .ok_or_else(|| bad(key, "is missing".to_string()))
    };
    let graph_name = get("graph_name")?.as_str().unwrap_or_default().to_string();
    let num_parts = get("num_parts")?
        .as_u64()
        .filter(|&n| n > 0)
        .ok_or_else(|| bad("num_parts", "is not a positive integer".to_string()))?
        as usize;

    let ntypes = type_ids(get("ntypes")?, "ntypes", &bad)?;
    for name in &ntypes {
        validate_type_name(name).map_err(|e| bad("ntypes", e.to_string()))?;
    }
    let etype_names = type_ids(get("etypes")?, "etypes", &bad)?;
    let etypes = etype_names
        .iter()
        .map(|name| {
            let et: EdgeType = name.parse().map_err(|_| {
                DglError::invalid(
                    path,
                    format!("edge type `{name}` is not a canonical `src:rel:dst` type"),
                    "gs reads part-configs with canonical edge types (DGL >= 0.8, GraphStorm); partition the graph again",
                )
            })?;
            for nt in [&et.src, &et.dst] {
                if !ntypes.contains(nt) {
                    return Err(bad("etypes", format!("has `{name}`, whose node type `{nt}` is not in `ntypes`")));
                }
            }
            Ok(et)
        })
        .collect::<Result<Vec<_>, _>>()?;

    let node_ranges = ranges(get("node_map")?, "node_map", &ntypes, num_parts, &bad)?;
    let edge_ranges = ranges(get("edge_map")?, "edge_map", &etype_names, num_parts, &bad)?;
    for (key, r, n) in [
        ("num_nodes", &node_ranges, ntypes.len()),
        ("num_edges", &edge_ranges, etypes.len()),
    ] {
        let total: u64 = (0..n).map(|t| r.count(t)).sum();
        if let Some(v) = root
            .get(key)
            .and_then(Value::as_u64)
            .filter(|&v| v != total)
        {
            return Err(bad(key, format!("is {v} but the ranges hold {total}")));
        }
    }

    let dir = path.parent().unwrap_or(Path::new(""));
    let parts = (0..num_parts)
        .map(|p| {
            let key = format!("part-{p}");
            let part = root
                .get(&key)
                .and_then(Value::as_object)
                .ok_or_else(|| bad(&key, "is missing or not an object".to_string()))?;
            let file = |k: &str| -> Result<PathBuf, DglError> {
                let dotted = format!("{key}.{k}");
                let rel = part
                    .get(k)
                    .and_then(Value::as_str)
                    .ok_or_else(|| bad(&dotted, "is missing or not a path".to_string()))?;
                let full = dir.join(rel);
                if !full.is_file() {
                    return Err(DglError::invalid(
                        path,
                        format!("`{dotted}` names `{}`, which does not exist", full.display()),
                        "paths in a part-config are relative to the JSON's folder; keep the part*/ folders next to it (copy the whole partition directory)",
                    ));
                }
                Ok(full)
            };
            Ok(PartFiles {
                graph: file("part_graph")?,
                node_feats: file("node_feats")?,
                edge_feats: file("edge_feats")?,
            })
        })
        .collect::<Result<Vec<_>, DglError>>()?;
    Ok(DglConfig {
        graph_name,
        ntypes,
        etypes,
        node_ranges,
        edge_ranges,
        parts,
    })
}

/// `{name: id}` -> names indexed by id (ids must be 0..n, each once).
fn type_ids(
    v: &Value,
    key: &str,
    bad: &dyn Fn(&str, String) -> DglError,
) -> Result<Vec<String>, DglError> {
    let obj: &Map<String, Value> = v
        .as_object()
        .ok_or_else(|| bad(key, "is not an object of type ids".to_string()))?;
    let mut names = vec![None; obj.len()];
    for (name, id) in obj {
        let slot = id
            .as_u64()
            .and_then(|i| names.get_mut(i as usize))
            .filter(|s| s.is_none())
            .ok_or_else(|| {
                bad(
                    key,
                    format!(
                        "gives `{name}` the id {id}; ids must be 0..{} without repeats",
                        obj.len()
                    ),
                )
            })?;
        *slot = Some(name.clone());
    }
    Ok(names
        .into_iter()
        .map(|n| n.expect("all ids filled"))
        .collect())
}

/// Reads `{name: [[start, end], ...one per part]}` for the types `names` (by id).
fn ranges(
    v: &Value,
    key: &str,
    names: &[String],
    num_parts: usize,
    bad: &dyn Fn(&str, String) -> DglError,
) -> Result<Ranges, DglError> {
    let obj = v.as_object().ok_or_else(|| {
        bad(key, "is not an object of per-part [start, end] ranges (legacy .npy or end-offset forms are not supported; partition with DGL >= 0.8)".to_string())
    })?;
    if let Some(extra) = obj.keys().find(|k| !names.contains(k)) {
        return Err(bad(
            key,
            format!("has type `{extra}`, which the type ids do not list"),
        ));
    }
    let mut per_type = Vec::new();
    let mut sorted = Vec::new();
    for (t, name) in names.iter().enumerate() {
        let dotted = format!("{key}.{name}");
        let list = obj
            .get(name)
            .and_then(Value::as_array)
            .filter(|a| a.len() == num_parts)
            .ok_or_else(|| {
                bad(
                    &dotted,
                    format!("is not a list of {num_parts} [start, end] ranges"),
                )
            })?;
        let mut rs = Vec::new();
        let mut base = 0u64;
        for pair in list {
            let se: Option<Vec<u64>> = pair
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_u64).collect());
            let (s, e) = match se.as_deref() {
                Some(&[s, e]) if s <= e => (s, e),
                _ => {
                    return Err(bad(
                        &dotted,
                        format!("has {pair}, not a [start, end] range"),
                    ));
                }
            };
            if e > s {
                sorted.push((s, e, t, base));
            }
            base += e - s;
            rs.push((s, e));
        }
        per_type.push(rs);
    }
    sorted.sort_unstable();
    if let Some(w) = sorted.windows(2).find(|w| w[0].1 > w[1].0) {
        return Err(bad(
            key,
            format!(
                "has overlapping ranges [{}, {}) and [{}, {})",
                w[0].0, w[0].1, w[1].0, w[1].1
            ),
        ));
    }
    Ok(Ranges { per_type, sorted })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interleaved_ranges_give_per_type_ids() {
        let v: Value = serde_json::json!({"a": [[0, 6], [23, 29]], "p": [[6, 23], [29, 42]]});
        let bad = |k: &str, p: String| DglError::invalid("x.json", format!("{k} {p}"), "h");
        let r = ranges(&v, "node_map", &["a".into(), "p".into()], 2, &bad).unwrap();
        assert_eq!((r.count(0), r.count(1)), (12, 30));
        assert_eq!(r.locate(0), Some((0, 0)));
        assert_eq!(r.locate(23), Some((0, 6)));
        assert_eq!(r.locate(28), Some((0, 11)));
        assert_eq!(r.locate(6), Some((1, 0)));
        assert_eq!(r.locate(29), Some((1, 17)));
        assert_eq!(r.locate(42), None);
        let overlap = serde_json::json!({"a": [[0, 6]], "p": [[5, 9]]});
        assert!(ranges(&overlap, "node_map", &["a".into(), "p".into()], 1, &bad).is_err());
    }
}
