//! Labels and train/val/test masks, as GraphStorm's `ClassificationProcessor`,
//! `RegressionProcessor`, `LinkPredictionProcessor` and `CustomLabelProcessor`.
//!
//! As in GraphStorm, `split_pct` splits each input file on its own (the counts are
//! `int(n_valid * pct)` per file) after a random permutation of the rows with a valid label.
//! gs's permutation comes from a seeded generator (GraphStorm uses numpy's global, unseeded one).

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use rand::seq::SliceRandom;
use rand_pcg::Pcg64;
use serde_json::Value;

use crate::GconstructError;
use crate::idmap::{RawKey, column_keys};
use crate::input::{Format, RawColumn, Table, read_table, resolve_files};

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Task {
    Classification,
    Regression,
    LinkPrediction,
}

#[derive(Debug, Clone)]
pub(crate) enum Split {
    Pct([f64; 3]),
    /// Raw ids (text form; an edge is `src\u{0}dst`) of the train, val and test sets.
    Custom([Option<HashSet<String>>; 3]),
}

/// A parsed label entry.
#[derive(Debug, Clone)]
pub(crate) struct LabelSpec {
    pub(crate) task: Task,
    pub(crate) col: Option<String>,
    pub(crate) split: Split,
    pub(crate) masks: [String; 3],
    pub(crate) at: String,
}

/// A label or mask array.
#[derive(Debug, Clone)]
pub(crate) enum LabelData {
    I64(Vec<i64>),
    F32(Vec<f32>),
    U8(Vec<u8>),
}

fn key_text(k: &RawKey) -> String {
    match k {
        RawKey::Int(i) => i.to_string(),
        RawKey::Str(s) => s.clone(),
    }
}

fn json_key(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => n
            .as_i64()
            .map(|i| i.to_string())
            .or_else(|| Some(n.to_string())),
        _ => None,
    }
}

/// Parses a label entry. `id_cols` are the block's id columns (node id, or source and
/// destination), needed by custom splits.
pub(crate) fn parse_label(
    v: &Value,
    at: &str,
    is_node: bool,
    id_cols: &[String],
    conf_dir: &Path,
) -> Result<LabelSpec, GconstructError> {
    let task = match v.get("task_type").and_then(Value::as_str) {
        Some("classification") => Task::Classification,
        Some("regression") => Task::Regression,
        Some("link_prediction") if !is_node => Task::LinkPrediction,
        Some("link_prediction") => {
            return Err(GconstructError::config(
                at,
                "link_prediction labels must be defined on edges",
                "move the label entry to an edge type",
            ));
        }
        Some(t @ ("reconstruct_node_feat" | "reconstruct_edge_feat")) => {
            return Err(GconstructError::Unsupported {
                what: format!("task_type `{t}`"),
                at: at.to_string(),
                hint: "GraphStorm's gconstruct also only accepts classification, regression and link_prediction".into(),
            });
        }
        other => {
            return Err(GconstructError::config(
                at,
                format!(
                    "`task_type` must be classification, regression or link_prediction, got {other:?}"
                ),
                "set `task_type`",
            ));
        }
    };
    let col = v
        .get("label_col")
        .and_then(Value::as_str)
        .map(str::to_string);
    if col.is_none() && task != Task::LinkPrediction && v.get("custom_split_filenames").is_none() {
        return Err(GconstructError::config(
            at,
            "'label_col' must be defined in the label field",
            "name the label column",
        ));
    }
    let masks = match v.get("mask_field_names") {
        None => [
            "train_mask".to_string(),
            "val_mask".into(),
            "test_mask".into(),
        ],
        Some(Value::Array(a)) if a.len() == 3 && a.iter().all(Value::is_string) => {
            [0, 1, 2].map(|i| a[i].as_str().unwrap().to_string())
        }
        Some(other) => {
            return Err(GconstructError::config(
                format!("{at}.mask_field_names"),
                format!("mask_field_names must be a list of three strings, got {other}"),
                "e.g. `[\"tr_mask\", \"va_mask\", \"te_mask\"]`",
            ));
        }
    };
    let split = if let Some(custom) = v.get("custom_split_filenames") {
        if id_cols.is_empty() {
            return Err(GconstructError::config(
                at,
                "custom_split_filenames needs the block's id column(s) (`node_id_col`, or `source_id_col` and `dest_id_col`)",
                "add the id column to this block",
            ));
        }
        Split::Custom(read_custom_split(
            custom,
            &format!("{at}.custom_split_filenames"),
            is_node,
            conf_dir,
        )?)
    } else {
        let pct = match v.get("split_pct") {
            None => [0.8, 0.1, 0.1],
            Some(Value::Array(a))
                if a.len() == 3 && a.iter().all(|x| x.as_f64().is_some_and(|f| f >= 0.0)) =>
            {
                [0, 1, 2].map(|i| a[i].as_f64().unwrap())
            }
            Some(other) => {
                return Err(GconstructError::config(
                    format!("{at}.split_pct"),
                    format!("split_pct must be three non-negative fractions, got {other}"),
                    "e.g. `[0.8, 0.1, 0.1]`",
                ));
            }
        };
        if pct[0] + pct[1] + pct[2] > 1.0 {
            return Err(GconstructError::config(
                format!("{at}.split_pct"),
                "the data split of training/val/test cannot be more than the entire dataset",
                "make the three fractions sum to at most 1",
            ));
        }
        Split::Pct(pct)
    };
    Ok(LabelSpec {
        task,
        col,
        split,
        masks,
        at: at.to_string(),
    })
}

fn read_custom_split(
    v: &Value,
    at: &str,
    is_node: bool,
    conf_dir: &Path,
) -> Result<[Option<HashSet<String>>; 3], GconstructError> {
    let columns: Vec<String> = match v.get("column") {
        None => Vec::new(),
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect(),
        Some(other) => {
            return Err(GconstructError::config(
                format!("{at}.column"),
                format!("`column` must be a string or list, got {other}"),
                "name the id column(s)",
            ));
        }
    };
    let mut out: [Option<HashSet<String>>; 3] = [None, None, None];
    for (k, key) in ["train", "valid", "test"].iter().enumerate() {
        let files: Vec<String> = match v.get(*key) {
            None => continue,
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect(),
            Some(other) => {
                return Err(GconstructError::config(
                    format!("{at}.{key}"),
                    format!("must be a path or a list of paths, got {other}"),
                    "give JSON or Parquet files",
                ));
            }
        };
        let at_k = format!("{at}.{key}");
        let paths = resolve_files(&files, conf_dir, &at_k)?;
        let mut set = HashSet::new();
        let ext = |p: &Path| {
            p.extension()
                .map(|e| e.to_string_lossy().to_lowercase())
                .unwrap_or_default()
        };
        let exts: HashSet<String> = paths.iter().map(|p| ext(p)).collect();
        if exts.len() != 1 {
            return Err(GconstructError::config(
                &at_k,
                "each file should be in the same format",
                "use only .json or only .parquet files",
            ));
        }
        match exts.iter().next().map(String::as_str) {
            Some("json") => {
                for p in &paths {
                    let text = std::fs::read_to_string(p).map_err(|e| GconstructError::Read {
                        path: p.clone(),
                        reason: e.to_string(),
                        hint: "check the custom split file path".into(),
                    })?;
                    for (line_no, line) in text.lines().enumerate() {
                        if line.trim().is_empty() {
                            continue;
                        }
                        let bad = || GconstructError::BadValue {
                            path: p.clone(),
                            row: line_no,
                            column: "(json line)".into(),
                            reason: format!("{line:?} is not a node id or a [src, dst] pair"),
                            hint: "write one JSON id (or [src, dst] list for edges) per line"
                                .into(),
                        };
                        let val: Value = serde_json::from_str(line).map_err(|_| bad())?;
                        let id = match &val {
                            Value::Array(a) if a.len() == 2 => {
                                format!(
                                    "{}\u{0}{}",
                                    json_key(&a[0]).ok_or_else(bad)?,
                                    json_key(&a[1]).ok_or_else(bad)?
                                )
                            }
                            other => json_key(other).ok_or_else(bad)?,
                        };
                        set.insert(id);
                    }
                }
            }
            Some("parquet") => {
                let want = if is_node { 1 } else { 2 };
                if columns.len() != want {
                    return Err(GconstructError::config(
                        format!("{at}.column"),
                        format!(
                            "parquet split files need `column` naming {want} column(s), got {}",
                            columns.len()
                        ),
                        if is_node {
                            "name the node id column"
                        } else {
                            "name the source and destination id columns"
                        },
                    ));
                }
                let needed: BTreeMap<String, String> =
                    columns.iter().map(|c| (c.clone(), at_k.clone())).collect();
                let t = read_table(&paths, &Format::Parquet, &needed)?;
                let keys: Vec<Vec<RawKey>> = columns
                    .iter()
                    .map(|c| {
                        column_keys(t.col(c)).map_err(|row| {
                            t.bad_value(
                                row,
                                c,
                                "null id in a custom split file",
                                "remove the null row",
                            )
                        })
                    })
                    .collect::<Result<_, _>>()?;
                for (r, k0) in keys[0].iter().enumerate() {
                    let id = if is_node {
                        key_text(k0)
                    } else {
                        format!("{}\u{0}{}", key_text(k0), key_text(&keys[1][r]))
                    };
                    set.insert(id);
                }
            }
            other => {
                return Err(GconstructError::config(
                    &at_k,
                    format!(
                        "expect mask data format be one of parquet and json, but get {:?}",
                        other.unwrap_or("")
                    ),
                    "use .json (one id per line) or .parquet files",
                ));
            }
        }
        out[k] = Some(set);
    }
    Ok(out)
}

/// Computes the label array and masks of `spec` for the rows of `table`. `ids` holds the raw
/// id text of each row (nodes) or `src\0dst` (edges), needed for custom splits.
pub(crate) fn compute_labels(
    spec: &LabelSpec,
    table: &Table,
    ids: Option<&[String]>,
    rng: &mut Pcg64,
) -> Result<Vec<(String, LabelData)>, GconstructError> {
    let n = table.rows;
    let mut out = Vec::new();
    // Label values, and which rows have a valid label.
    let mut valid: Vec<bool> = vec![true; n];
    if let Some(col) = &spec.col {
        let c = table.col(col);
        match spec.task {
            Task::Classification => {
                let mut labels = Vec::with_capacity(n);
                for r in 0..n {
                    let v = match c {
                        RawColumn::Int(v) => Some(v[r]),
                        RawColumn::Float(v) if v[r].is_nan() => None,
                        RawColumn::Float(v) if v[r].fract() == 0.0 => Some(v[r] as i64),
                        // A text column (some value is not a number): point at the first one.
                        RawColumn::Str(v) if v[r].is_none() => None,
                        RawColumn::Str(v)
                            if v[r]
                                .as_deref()
                                .is_some_and(|s| s.trim().parse::<i64>().is_ok()) =>
                        {
                            v[r].as_deref().and_then(|s| s.trim().parse().ok())
                        }
                        _ => {
                            let shown = c
                                .clone()
                                .select(&[r])
                                .into_strings()
                                .pop()
                                .flatten()
                                .unwrap_or_default();
                            return Err(table.bad_value(
                                r,
                                col,
                                format!("classification label {shown:?} is not a class id"),
                                "GraphStorm's classification labels are integer class ids 0..C-1: map class names to integers before construction",
                            ));
                        }
                    };
                    match v {
                        Some(x) if x < 0 => {
                            return Err(table.bad_value(
                                r,
                                col,
                                format!("classification label {x} is negative"),
                                "class ids are 0..C-1; leave a label empty for an unlabeled row",
                            ));
                        }
                        Some(x) => labels.push(x),
                        None => {
                            valid[r] = false;
                            labels.push(-1);
                        }
                    }
                }
                out.push((col.clone(), LabelData::I64(labels)));
            }
            Task::Regression => {
                let labels: Vec<f32> = match c {
                    RawColumn::Int(v) => v.iter().map(|&x| x as f32).collect(),
                    RawColumn::Float(v) => v.iter().map(|&x| x as f32).collect(),
                    RawColumn::List(v) => one_element_lists(v, table, col)?,
                    other => {
                        return Err(table.bad_value(
                            0,
                            col,
                            format!("regression labels must be numbers, got {}", other.kind()),
                            "fix the label column",
                        ));
                    }
                };
                for (r, x) in labels.iter().enumerate() {
                    valid[r] = !x.is_nan();
                }
                out.push((col.clone(), LabelData::F32(labels)));
            }
            Task::LinkPrediction => {}
        }
    }
    let [tr, va, te] = &spec.masks;
    match &spec.split {
        Split::Pct(pct) => {
            if pct.iter().all(|&p| p == 0.0) {
                return Ok(out);
            }
            let mut masks = [vec![0u8; n], vec![0u8; n], vec![0u8; n]];
            for range in table.file_ranges() {
                let mut idx: Vec<usize> = range.filter(|&r| valid[r]).collect();
                idx.shuffle(rng);
                let m = idx.len() as f64;
                let counts = pct.map(|p| (m * p) as usize);
                let mut start = 0;
                for (k, &c) in counts.iter().enumerate() {
                    for &r in &idx[start..(start + c).min(idx.len())] {
                        masks[k][r] = 1;
                    }
                    start += c;
                }
            }
            let [a, b, c] = masks;
            out.push((tr.clone(), LabelData::U8(a)));
            out.push((va.clone(), LabelData::U8(b)));
            out.push((te.clone(), LabelData::U8(c)));
        }
        Split::Custom(sets) => {
            let ids = ids.expect("custom splits are parsed only with id columns");
            let mut masks = [vec![0u8; n], vec![0u8; n], vec![0u8; n]];
            for (r, id) in ids.iter().enumerate() {
                // Train wins over val over test, as in GraphStorm.
                if let Some(k) = (0..3).find(|&k| sets[k].as_ref().is_some_and(|s| s.contains(id)))
                {
                    masks[k][r] = 1;
                }
            }
            let [a, b, c] = masks;
            out.push((tr.clone(), LabelData::U8(a)));
            out.push((va.clone(), LabelData::U8(b)));
            out.push((te.clone(), LabelData::U8(c)));
        }
    }
    Ok(out)
}

/// A regression label stored as a list column with one element per row (GraphStorm's
/// gconstruct stacks it into an `[n, 1]` label); a null row is an unlabeled row (NaN).
fn one_element_lists(
    rows: &crate::ListColumn,
    table: &Table,
    col: &str,
) -> Result<Vec<f32>, GconstructError> {
    rows.rows()
        .enumerate()
        .map(|(r, row)| match row {
            None => Ok(f32::NAN),
            Some(x) if x.len() == 1 => Ok(x.iter().next().unwrap_or(f64::NAN) as f32),
            Some(other) => Err(table.bad_value(
                r,
                col,
                format!(
                    "a regression label stored as a list must have one element per row, this row has {}",
                    other.len()
                ),
                "store one number per row (a float column, or a list column of length 1)",
            )),
        })
        .collect()
}

/// The raw id text of each row of `table`'s id columns (`src\0dst` for two columns).
pub(crate) fn row_ids(table: &Table, cols: &[String]) -> Result<Vec<String>, GconstructError> {
    let keys: Vec<Vec<RawKey>> = cols
        .iter()
        .map(|c| {
            column_keys(table.col(c))
                .map_err(|row| table.bad_value(row, c, "the id is null", "every row needs an id"))
        })
        .collect::<Result<_, _>>()?;
    Ok((0..table.rows)
        .map(|r| {
            keys.iter()
                .map(|k| key_text(&k[r]))
                .collect::<Vec<_>>()
                .join("\u{0}")
        })
        .collect())
}
