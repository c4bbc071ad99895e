//! Feature transforms, as GraphStorm's `gconstruct/transform.py` defines them: parsing a feature
//! entry, fitting the two-phase transforms on all rows, applying them, and writing the fitted
//! parameters back into the config (`data_transform_new.json`).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use crate::GconstructError;
use crate::input::{RawColumn, Table, py_float_str};
use crate::list_column::{ListColumn, ListRow};

/// `out_dtype` of a feature. gs stores every feature as float32; `float16` values are rounded to
/// half precision first, `float64` ones are stored as float32.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum OutDtype {
    F16,
    F32,
    F64,
}

/// One transform with its (possibly not yet fitted) parameters.
#[derive(Debug, Clone)]
pub(crate) enum Op {
    Noop {
        separator: Option<String>,
        truncate_dim: Option<usize>,
    },
    MaxMin {
        max_bound: f64,
        min_bound: f64,
        max_val: Option<Vec<f64>>,
        min_val: Option<Vec<f64>>,
    },
    Standard {
        sum: Option<Vec<f64>>,
    },
    RankGauss {
        epsilon: f64,
        uniquify: bool,
    },
    Categorical {
        separator: Option<String>,
        mapping: Option<BTreeMap<String, usize>>,
    },
    Bucket {
        cnt: usize,
        lo: f64,
        hi: f64,
        window: f64,
    },
    /// `edge_dst_hard_negative`: raw destination ids to node ids (see `hard_negative`); computed
    /// by the edge builder, which has the id maps.
    DstHardNegative {
        separator: Option<String>,
    },
}

/// A parsed feature entry.
#[derive(Debug, Clone)]
pub(crate) struct FeatSpec {
    pub(crate) cols: Vec<String>,
    pub(crate) name: String,
    pub(crate) out_dtype: Option<OutDtype>,
    pub(crate) op: Op,
    pub(crate) at: String,
}

/// A computed feature: `values` row-major with `dim` values per row.
#[derive(Debug, Clone, PartialEq)]
pub struct Feature {
    /// Row-major values, `rows * dim` of them.
    pub values: Vec<f32>,
    /// Values per row (GraphStorm's `feature_dim[0]`).
    pub dim: usize,
}

fn unsupported(what: &str, at: &str, hint: &str) -> GconstructError {
    GconstructError::Unsupported {
        what: what.to_string(),
        at: at.to_string(),
        hint: hint.to_string(),
    }
}

fn num_list(v: &Value, at: &str, key: &str) -> Result<Vec<f64>, GconstructError> {
    let bad = || {
        GconstructError::config(
            format!("{at}.transform.{key}"),
            format!("`{key}` must be a number or a list of numbers, got {v}"),
            "write e.g. `[0.0]` or `[1, 2, 3]`",
        )
    };
    match v {
        Value::Number(n) => Ok(vec![n.as_f64().ok_or_else(bad)?]),
        Value::Array(a) => a.iter().map(|x| x.as_f64().ok_or_else(bad)).collect(),
        _ => Err(bad()),
    }
}

/// Parses one entry of a `features` list.
pub(crate) fn parse_feature(v: &Value, at: &str) -> Result<FeatSpec, GconstructError> {
    let obj = v.as_object().ok_or_else(|| {
        GconstructError::config(
            at,
            "a feature entry must be an object",
            "write `{\"feature_col\": \"col\", ...}`",
        )
    })?;
    let tname = obj
        .get("transform")
        .and_then(|t| t.get("name"))
        .and_then(Value::as_str);
    if tname == Some("tabular") {
        return Err(unsupported(
            "the `tabular` transform (Mitra tabular foundation-model embeddings)",
            at,
            "precompute the embedding and pass it as a numeric vector column",
        ));
    }
    let cols: Vec<String> = match obj.get("feature_col") {
        Some(Value::String(s)) if !s.is_empty() => vec![s.clone()],
        Some(Value::Array(a)) if !a.is_empty() => a
            .iter()
            .map(|x| x.as_str().map(str::to_string))
            .collect::<Option<_>>()
            .ok_or_else(|| {
                GconstructError::config(
                    at,
                    "`feature_col` must list column names",
                    "write `[\"a\", \"b\"]`",
                )
            })?,
        _ => {
            return Err(GconstructError::config(
                at,
                "`feature_col` is missing or empty",
                "name the column (a string) or columns (a list) holding the feature",
            ));
        }
    };
    let name = match obj.get("feature_name") {
        Some(Value::String(s)) => s.clone(),
        Some(other) => {
            return Err(GconstructError::config(
                at,
                format!("`feature_name` must be a string, got {other}"),
                "write a name",
            ));
        }
        None if cols.len() == 1 => cols[0].clone(),
        None => {
            return Err(GconstructError::config(
                at,
                "`feature_name` is required when `feature_col` lists several columns",
                "add `\"feature_name\": \"...\"`",
            ));
        }
    };
    let out_dtype = match obj.get("out_dtype").map(|v| v.as_str()) {
        None => None,
        Some(Some("float16")) => Some(OutDtype::F16),
        Some(Some("float32")) => Some(OutDtype::F32),
        Some(Some("float64")) => Some(OutDtype::F64),
        Some(other) => {
            return Err(GconstructError::config(
                at,
                format!("unknown out_dtype {:?}", other.unwrap_or("(not a string)")),
                "use float16, float32 or float64",
            ));
        }
    };
    let op = match obj.get("transform") {
        None => Op::Noop {
            separator: obj
                .get("separator")
                .and_then(Value::as_str)
                .map(str::to_string),
            truncate_dim: obj
                .get("truncate_dim")
                .and_then(Value::as_u64)
                .map(|x| x as usize),
        },
        Some(t) => parse_op(t, at, cols.len())?,
    };
    Ok(FeatSpec {
        cols,
        name,
        out_dtype,
        op,
        at: at.to_string(),
    })
}

fn parse_op(t: &Value, at: &str, ncols: usize) -> Result<Op, GconstructError> {
    let Some(name) = t.get("name").and_then(Value::as_str) else {
        return Err(GconstructError::config(
            format!("{at}.transform"),
            "`transform` needs a `name`",
            "e.g. `{\"name\": \"max_min_norm\"}`",
        ));
    };
    let sep = |k: &str| -> Result<Option<String>, GconstructError> {
        match t.get(k) {
            None => Ok(None),
            Some(Value::String(s)) if !s.is_empty() => Ok(Some(s.clone())),
            Some(other) => Err(GconstructError::config(
                format!("{at}.transform.{k}"),
                format!("`{k}` must be a non-empty string, got {other}"),
                "e.g. `\";\"`",
            )),
        }
    };
    let num = |k: &str| t.get(k).and_then(Value::as_f64);
    Ok(match name {
        "no-op" => {
            let truncate_dim = match t.get("truncate_dim") {
                None => None,
                Some(v) => Some(v.as_u64().ok_or_else(|| {
                    GconstructError::config(
                        format!("{at}.transform.truncate_dim"),
                        format!("no-op 'truncate_dim' needs to be an integer, got {v}"),
                        "e.g. `\"truncate_dim\": 16`",
                    )
                })? as usize),
            };
            Op::Noop {
                separator: sep("separator")?,
                truncate_dim,
            }
        }
        "max_min_norm" => {
            let max_val = t
                .get("max_val")
                .map(|v| num_list(v, at, "max_val"))
                .transpose()?;
            let min_val = t
                .get("min_val")
                .map(|v| num_list(v, at, "min_val"))
                .transpose()?;
            if ncols > 1 && (max_val.is_none() || min_val.is_none()) {
                return Err(GconstructError::config(
                    format!("{at}.transform"),
                    "max_min_norm over several columns needs `max_val` and `min_val` (as in GraphStorm)",
                    "add `max_val` and `min_val`, or use one feature entry per column",
                ));
            }
            // Python rounds given values to float32 (np.array(..., dtype=np.float32)).
            let f32ize = |v: Vec<f64>| v.into_iter().map(|x| f64::from(x as f32)).collect();
            Op::MaxMin {
                max_bound: num("max_bound").unwrap_or(f64::MAX),
                min_bound: num("min_bound").unwrap_or(-f64::MAX),
                max_val: max_val.map(f32ize),
                min_val: min_val.map(f32ize),
            }
        }
        "standard" => {
            let sum = t.get("sum").map(|v| num_list(v, at, "sum")).transpose()?;
            if ncols > 1 && sum.is_none() {
                return Err(GconstructError::config(
                    format!("{at}.transform"),
                    "`standard` over several columns needs a given `sum` (GraphStorm fails on it unless all columns have the same sum)",
                    "add `sum`, or use one feature entry per column",
                ));
            }
            Op::Standard {
                sum: sum.map(|v| v.into_iter().map(|x| f64::from(x as f32)).collect()),
            }
        }
        "rank_gauss" => Op::RankGauss {
            epsilon: num("epsilon").unwrap_or(1e-6),
            uniquify: t.get("uniquify").and_then(Value::as_bool).unwrap_or(false),
        },
        "to_categorical" => {
            if ncols > 1 {
                return Err(GconstructError::config(
                    format!("{at}.transform"),
                    "to_categorical over several columns is not supported (as in GraphStorm)",
                    "use one feature entry per column",
                ));
            }
            let mapping = match t.get("mapping") {
                None => None,
                Some(Value::Object(m)) => Some(
                    m.iter()
                        .map(|(k, v)| v.as_u64().map(|i| (k.clone(), i as usize)))
                        .collect::<Option<BTreeMap<_, _>>>()
                        .ok_or_else(|| {
                            GconstructError::config(
                                format!("{at}.transform.mapping"),
                                "`mapping` values must be non-negative integers",
                                "write `{\"a\": 0, \"b\": 1}`",
                            )
                        })?,
                ),
                Some(other) => {
                    return Err(GconstructError::config(
                        format!("{at}.transform.mapping"),
                        format!("`mapping` must be an object, got {other}"),
                        "write `{\"a\": 0, \"b\": 1}`",
                    ));
                }
            };
            Op::Categorical {
                separator: sep("separator")?,
                mapping,
            }
        }
        "bucket_numerical" => {
            let cnt = t
                .get("bucket_cnt")
                .and_then(Value::as_u64)
                .filter(|&c| c > 0);
            let range = t.get("range").and_then(Value::as_array).and_then(|r| {
                (r.len() == 2)
                    .then(|| Some((r[0].as_f64()?, r[1].as_f64()?)))
                    .flatten()
            });
            match (cnt, range) {
                (Some(cnt), Some((a, b))) if a != b => Op::Bucket {
                    cnt: cnt as usize,
                    lo: a.min(b),
                    hi: a.max(b),
                    window: num("slide_window_size").unwrap_or(0.0),
                },
                _ => {
                    return Err(GconstructError::config(
                        format!("{at}.transform"),
                        "bucket_numerical needs `bucket_cnt` (a positive integer) and `range` ([start, end], start != end)",
                        "e.g. `{\"name\": \"bucket_numerical\", \"bucket_cnt\": 10, \"range\": [0, 100]}`",
                    ));
                }
            }
        }
        "tokenize_hf" | "bert_hf" => {
            return Err(unsupported(
                &format!("the `{name}` transform (Hugging Face language models)"),
                at,
                "precompute text embeddings outside gs and pass them as a numeric vector column",
            ));
        }
        "edge_dst_hard_negative" => {
            if ncols > 1 {
                return Err(GconstructError::config(
                    format!("{at}.feature_col"),
                    "edge_dst_hard_negative reads one column",
                    "give one `feature_col` holding the hard-negative destination ids",
                ));
            }
            Op::DstHardNegative {
                separator: sep("separator")?,
            }
        }
        "tabular" => {
            return Err(unsupported(
                "the `tabular` transform",
                at,
                "precompute the embedding",
            ));
        }
        other => {
            return Err(GconstructError::config(
                format!("{at}.transform.name"),
                format!("unknown transform `{other}`"),
                "use no-op, max_min_norm, standard, rank_gauss, to_categorical or bucket_numerical",
            ));
        }
    })
}

/// Whether the transform's parameters are fitted on the data (`Fit`) or must already be in the
/// config (`Apply`, for re-applying `data_transform_new.json`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Mode {
    Fit,
    Apply,
}

/// Numeric values of one column: `(values, width, integral)`.
fn numeric(
    table: &Table,
    col: &str,
    spec: &FeatSpec,
) -> Result<(Vec<f64>, usize, bool), GconstructError> {
    let not_num_hint =
        "GraphStorm needs integers or floats here; fix the value, or use to_categorical for text";
    let (vals, width, integral) = match table.col(col) {
        RawColumn::Int(v) => (v.iter().map(|&x| x as f64).collect(), 1, true),
        RawColumn::Float(v) => (v.clone(), 1, false),
        RawColumn::Str(v) => {
            // feat2numerical: astype(np.float32).
            let mut out = Vec::with_capacity(v.len());
            for (i, s) in v.iter().enumerate() {
                match s.as_deref().map(|s| s.trim().parse::<f64>()) {
                    Some(Ok(x)) => out.push(f64::from(x as f32)),
                    _ => {
                        return Err(table.bad_value(
                            i,
                            col,
                            format!(
                                "feature `{}` needs numbers, got {:?}",
                                spec.name,
                                s.as_deref().unwrap_or("null")
                            ),
                            not_num_hint,
                        ));
                    }
                }
            }
            (out, 1, false)
        }
        RawColumn::List(v) => {
            let width = list_width(table, col, spec, v)?;
            let mut out = Vec::with_capacity(v.len() * width);
            for row in v.rows().flatten() {
                out.extend(row.iter());
            }
            (out, width, false)
        }
    };
    Ok((vals, width, integral))
}

/// The common length of a vector column's rows, refusing null rows and rows of another length.
fn list_width(
    table: &Table,
    col: &str,
    spec: &FeatSpec,
    rows: &ListColumn,
) -> Result<usize, GconstructError> {
    let width = rows.width();
    let null = rows.first_null();
    match (width, null) {
        (Err((i, len, width)), null) if null.is_none_or(|n| n > i) => Err(table.bad_value(
            i,
            col,
            format!(
                "feature `{}` has vectors of length {width} but this row has length {len}",
                spec.name
            ),
            "every row of a vector feature must have the same length",
        )),
        (_, Some(i)) => Err(table.bad_value(
            i,
            col,
            format!("feature `{}` is null", spec.name),
            "fill the missing vector",
        )),
        (Ok(width), None) => Ok(width),
        (Err(_), None) => unreachable!("handled above"),
    }
}

/// GraphStorm's `validate_numerical_feats`: no NaN or Inf.
fn validate(
    table: &Table,
    col: &str,
    spec: &FeatSpec,
    vals: &[f64],
    width: usize,
) -> Result<(), GconstructError> {
    if let Some(i) = vals.iter().position(|x| !x.is_finite()) {
        return Err(table.bad_value(
            i / width.max(1),
            col,
            format!(
                "feature `{}` has NaN, Inf or a missing value ({})",
                spec.name, vals[i]
            ),
            "fill or drop missing values before construction (GraphStorm refuses them too)",
        ));
    }
    Ok(())
}

fn json_num(x: f64, integral: bool) -> Value {
    if integral && x.fract() == 0.0 && x.abs() < 9.0e15 {
        Value::from(x as i64)
    } else {
        serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number)
    }
}

/// Rounds to the nearest half-precision value (ties to even), as numpy's `astype(float16)`.
fn round_f16(x: f64) -> f32 {
    if !x.is_finite() || x == 0.0 {
        return x as f32;
    }
    let a = x.abs();
    if a >= 65520.0 {
        return if x > 0.0 {
            f32::INFINITY
        } else {
            f32::NEG_INFINITY
        };
    }
    let e = a.log2().floor().max(-14.0);
    let step = (e - 10.0).exp2();
    let q = a / step;
    let mut r = q.round();
    if (q - q.trunc() - 0.5).abs() < f64::EPSILON && r % 2.0 != 0.0 {
        r -= 1.0;
    }
    (r * step * x.signum()) as f32
}

fn cast(vals: &[f64], out: Option<OutDtype>) -> Vec<f32> {
    match out {
        Some(OutDtype::F16) => vals.iter().map(|&x| round_f16(x)).collect(),
        _ => vals.iter().map(|&x| x as f32).collect(),
    }
}

/// A numeric column read in place: `width` values per row.
enum NumericView<'a> {
    Ints(&'a [i64]),
    Floats(&'a [f64]),
    /// Rows of one length (checked), none null.
    Lists(&'a ListColumn, usize),
    /// Row-major values, `width` per row.
    Flat(&'a [f64], usize),
}

impl<'a> NumericView<'a> {
    /// The numeric view of a non-text column, with the row checks of [`numeric`].
    fn of(table: &'a Table, col: &str, spec: &FeatSpec) -> Result<Self, GconstructError> {
        Ok(match table.col(col) {
            RawColumn::Int(v) => NumericView::Ints(v),
            RawColumn::Float(v) => NumericView::Floats(v),
            RawColumn::List(v) => NumericView::Lists(v, list_width(table, col, spec, v)?),
            RawColumn::Str(_) => unreachable!("text columns are refused before"),
        })
    }

    fn width(&self) -> usize {
        match self {
            NumericView::Ints(_) | NumericView::Floats(_) => 1,
            NumericView::Lists(_, w) | NumericView::Flat(_, w) => *w,
        }
    }

    /// Row `r`'s values, through `f` (`scratch` holds a float32 list row widened).
    fn with_row<T>(&self, r: usize, scratch: &mut Vec<f64>, f: impl FnOnce(&[f64]) -> T) -> T {
        match self {
            NumericView::Ints(v) => f(&[v[r] as f64]),
            NumericView::Floats(v) => f(&v[r..r + 1]),
            NumericView::Lists(v, _) => match v.row(r) {
                Some(ListRow::F64(row)) => f(row),
                Some(row) => {
                    row.to_f64(scratch);
                    f(scratch)
                }
                None => f(&[]),
            },
            NumericView::Flat(v, w) => f(&v[r * w..(r + 1) * w]),
        }
    }

    /// [`validate`] on the values in place: the first NaN or Inf is an error.
    fn validate(&self, table: &Table, col: &str, spec: &FeatSpec) -> Result<(), GconstructError> {
        let rows = match self {
            NumericView::Ints(_) => return Ok(()),
            NumericView::Floats(v) => v.len(),
            NumericView::Lists(v, _) => v.len(),
            NumericView::Flat(v, w) => v.len() / (*w).max(1),
        };
        let mut scratch = Vec::new();
        for r in 0..rows {
            if let Some(x) = self.with_row(r, &mut scratch, |row| {
                row.iter().copied().find(|x| !x.is_finite())
            }) {
                return Err(table.bad_value(
                    r,
                    col,
                    format!(
                        "feature `{}` has NaN, Inf or a missing value ({x})",
                        spec.name
                    ),
                    "fill or drop missing values before construction (GraphStorm refuses them too)",
                ));
            }
        }
        Ok(())
    }

    /// The `rows x width` values (the first `truncate` of each row when that is fewer) as
    /// float32, as [`cast`] makes them.
    fn to_f32(
        &self,
        rows: usize,
        truncate: Option<usize>,
        out: Option<OutDtype>,
    ) -> (Vec<f32>, usize) {
        let width = match truncate {
            Some(t) if t < self.width() => t,
            _ => self.width(),
        };
        let mut values = Vec::with_capacity(rows * width);
        let mut scratch = Vec::new();
        for r in 0..rows {
            self.with_row(r, &mut scratch, |row| match out {
                Some(OutDtype::F16) => values.extend(row[..width].iter().map(|&x| round_f16(x))),
                _ => values.extend(row[..width].iter().map(|&x| x as f32)),
            });
        }
        (values, width)
    }
}

/// Column-stacks `blocks` (each `rows x width`, row-major) into one `rows x sum(width)` array.
fn stack_columns(mut blocks: Vec<(Vec<f32>, usize)>, rows: usize) -> (Vec<f32>, usize) {
    if blocks.len() == 1 {
        return blocks.pop().expect("one block");
    }
    let total: usize = blocks.iter().map(|(_, w)| w).sum();
    let mut out = Vec::with_capacity(rows * total);
    for r in 0..rows {
        for (block, w) in &blocks {
            out.extend_from_slice(&block[r * w..(r + 1) * w]);
        }
    }
    (out, total)
}

/// Appends `block` (`rows x w`) to the column-stacked `acc` (`rows x acc_w`).
fn column_stack(acc: Vec<f32>, acc_w: usize, block: &[f32], w: usize, rows: usize) -> Vec<f32> {
    if acc_w == 0 {
        return block.to_vec();
    }
    let mut out = Vec::with_capacity(rows * (acc_w + w));
    for r in 0..rows {
        out.extend_from_slice(&acc[r * acc_w..(r + 1) * acc_w]);
        out.extend_from_slice(&block[r * w..(r + 1) * w]);
    }
    out
}

fn broadcast(
    params: &[f64],
    width: usize,
    spec: &FeatSpec,
    what: &str,
) -> Result<Vec<f64>, GconstructError> {
    match params.len() {
        1 => Ok(vec![params[0]; width]),
        n if n == width => Ok(params.to_vec()),
        n => Err(GconstructError::Transform {
            feature: spec.name.clone(),
            reason: format!("`{what}` has {n} values but the feature has {width} per row"),
            hint: format!("give one value or {width} values"),
        }),
    }
}

/// A `no-op` feature of one float32 list column whose rows all have one length, built by
/// taking the column's buffer out of `table` instead of copying it: the values are the ones
/// [`compute`] would make (float32 stays float32), without a second copy of a feature that may
/// be most of the input. `None` (and `table` unchanged) when the feature is any other case,
/// or has a value [`compute`] refuses; the caller then runs [`compute`]. The caller must not
/// need the column afterwards.
pub(crate) fn take_noop_matrix(spec: &FeatSpec, table: &mut Table) -> Option<Feature> {
    let Op::Noop {
        separator: None,
        truncate_dim,
    } = &spec.op
    else {
        return None;
    };
    let [col] = &spec.cols[..] else {
        return None;
    };
    let RawColumn::List(list) = table.columns.get(col)? else {
        return None;
    };
    let width = list.width().ok()?;
    if matches!(spec.out_dtype, Some(OutDtype::F16)) || truncate_dim.is_some_and(|t| t < width) {
        return None;
    }
    let Some(RawColumn::List(list)) = table.columns.remove(col) else {
        unreachable!("checked above");
    };
    match list.into_matrix() {
        Ok((values, dim)) if values.iter().all(|x| x.is_finite()) => Some(Feature { values, dim }),
        Ok((values, dim)) => {
            let list = ListColumn::from_matrix(values, dim);
            table.columns.insert(col.clone(), RawColumn::List(list));
            None
        }
        Err(list) => {
            table.columns.insert(col.clone(), RawColumn::List(list));
            None
        }
    }
}

/// Computes feature `spec` for every row of `table`. In [`Mode::Fit`] the missing parameters are
/// fitted on the rows and `spec.op` is updated; the returned object holds the keys to write into
/// the transform's config (`max_val`, `min_val`, `sum`, `mapping`).
pub(crate) fn compute(
    spec: &mut FeatSpec,
    table: &Table,
    mode: Mode,
) -> Result<(Feature, Map<String, Value>), GconstructError> {
    let rows = table.rows;
    let mut updates = Map::new();
    let no_params = |what: &str| {
        GconstructError::Transform {
        feature: spec.name.clone(),
        reason: format!("the transform config has no fitted `{what}`"),
        hint: "re-apply the `data_transform_new.json` written by gs gconstruct or GraphStorm, which holds the fitted parameters".into(),
    }
    };
    let out_dtype = spec.out_dtype;
    let spec_ro = spec.clone();
    let mut acc: Vec<f32> = Vec::new();
    let mut acc_w = 0;
    match &mut spec.op {
        Op::Noop {
            separator,
            truncate_dim,
        } => {
            let mut blocks = Vec::with_capacity(spec_ro.cols.len());
            for col in &spec_ro.cols {
                let block = match separator {
                    Some(sep) => {
                        let (vals, width) = split_vectors(table, col, &spec_ro, sep)?;
                        validate(table, col, &spec_ro, &vals, width)?;
                        let view = NumericView::Flat(&vals, width);
                        view.to_f32(rows, *truncate_dim, out_dtype)
                    }
                    None => {
                        if let RawColumn::Str(_) = table.col(col) {
                            return Err(table.bad_value(
                                0,
                                col,
                                format!("feature `{}` has to be integers or floats, got text", spec_ro.name),
                                "for vectors stored as text use the no-op transform with a `separator`",
                            ));
                        }
                        // Straight from the raw column to float32: no float64 copy.
                        let view = NumericView::of(table, col, &spec_ro)?;
                        view.validate(table, col, &spec_ro)?;
                        view.to_f32(rows, *truncate_dim, out_dtype)
                    }
                };
                blocks.push(block);
            }
            (acc, acc_w) = stack_columns(blocks, rows);
        }
        Op::MaxMin {
            max_bound,
            min_bound,
            max_val,
            min_val,
        } => {
            let col = &spec_ro.cols[0];
            let mut data = Vec::new();
            for c in &spec_ro.cols {
                let (v, w, integral) = numeric(table, c, &spec_ro)?;
                validate(table, c, &spec_ro, &v, w)?;
                data.push((v, w, integral));
            }
            if max_val.is_none() || min_val.is_none() {
                if mode == Mode::Apply {
                    return Err(no_params("max_val/min_val"));
                }
                let (v, w, integral) = &data[0];
                let fmax = f64::from(f32::MAX);
                let max_b = if *max_bound >= fmax { fmax } else { *max_bound };
                let min_b = if *min_bound <= -fmax {
                    -fmax
                } else {
                    *min_bound
                };
                let mut mx = vec![f64::NEG_INFINITY; *w];
                let mut mn = vec![f64::INFINITY; *w];
                for r in 0..rows {
                    for d in 0..*w {
                        mx[d] = mx[d].max(v[r * w + d]);
                        mn[d] = mn[d].min(v[r * w + d]);
                    }
                }
                for d in 0..*w {
                    if mx[d] > max_b {
                        mx[d] = max_b;
                    }
                    if mn[d] < min_b {
                        mn[d] = min_b;
                    }
                }
                if max_val.is_none() {
                    *max_val = Some(mx);
                }
                if min_val.is_none() {
                    *min_val = Some(mn);
                }
                let integral = *integral;
                updates.insert(
                    "max_val".into(),
                    Value::Array(
                        max_val
                            .as_ref()
                            .unwrap()
                            .iter()
                            .map(|&x| json_num(x, integral))
                            .collect(),
                    ),
                );
                updates.insert(
                    "min_val".into(),
                    Value::Array(
                        min_val
                            .as_ref()
                            .unwrap()
                            .iter()
                            .map(|&x| json_num(x, integral))
                            .collect(),
                    ),
                );
            } else if mode == Mode::Fit {
                // GraphStorm writes the given values back as float32 lists.
                updates.insert(
                    "max_val".into(),
                    Value::Array(
                        max_val
                            .as_ref()
                            .unwrap()
                            .iter()
                            .map(|&x| json_num(x, false))
                            .collect(),
                    ),
                );
                updates.insert(
                    "min_val".into(),
                    Value::Array(
                        min_val
                            .as_ref()
                            .unwrap()
                            .iter()
                            .map(|&x| json_num(x, false))
                            .collect(),
                    ),
                );
            }
            for (v, w, _) in &data {
                let mx = broadcast(max_val.as_ref().unwrap(), *w, &spec_ro, "max_val")?;
                let mn = broadcast(min_val.as_ref().unwrap(), *w, &spec_ro, "min_val")?;
                if let Some(d) = (0..*w).find(|&d| mx[d] == mn[d]) {
                    return Err(GconstructError::Transform {
                        feature: spec_ro.name.clone(),
                        reason: format!("max_val equals min_val ({}) in dimension {d} of column `{col}`, which divides by zero", mx[d]),
                        hint: "a constant feature carries no information: drop it, or set `max_val`/`min_val` explicitly".into(),
                    });
                }
                let out: Vec<f64> = v
                    .iter()
                    .enumerate()
                    .map(|(i, &x)| {
                        let d = i % w;
                        ((x - mn[d]) / (mx[d] - mn[d])).clamp(0.0, 1.0)
                    })
                    .collect();
                let block = cast(&out, out_dtype.or(Some(OutDtype::F32)));
                acc = column_stack(acc, acc_w, &block, *w, rows);
                acc_w += w;
            }
        }
        Op::Standard { sum } => {
            let mut data = Vec::new();
            for c in &spec_ro.cols {
                let (v, w, integral) = numeric(table, c, &spec_ro)?;
                validate(table, c, &spec_ro, &v, w)?;
                data.push((v, w, integral));
            }
            if sum.is_none() {
                if mode == Mode::Apply {
                    return Err(no_params("sum"));
                }
                let (v, w, integral) = &data[0];
                let mut s = vec![0.0; *w];
                for r in 0..rows {
                    for d in 0..*w {
                        s[d] += v[r * w + d];
                    }
                }
                if let Some(d) = s.iter().position(|&x| x == 0.0) {
                    return Err(GconstructError::Transform {
                        feature: spec_ro.name.clone(),
                        reason: format!(
                            "the sum of dimension {d} is 0, so `standard` would divide by zero"
                        ),
                        hint: "use max_min_norm or no transform for features that sum to zero"
                            .into(),
                    });
                }
                updates.insert(
                    "sum".into(),
                    Value::Array(s.iter().map(|&x| json_num(x, *integral)).collect()),
                );
                *sum = Some(s);
            }
            for (v, w, _) in &data {
                let s = broadcast(sum.as_ref().unwrap(), *w, &spec_ro, "sum")?;
                let out: Vec<f64> = v.iter().enumerate().map(|(i, &x)| x / s[i % w]).collect();
                let block = cast(&out, out_dtype.or(Some(OutDtype::F32)));
                acc = column_stack(acc, acc_w, &block, *w, rows);
                acc_w += w;
            }
        }
        Op::RankGauss { epsilon, uniquify } => {
            if mode == Mode::Apply {
                return Err(GconstructError::Transform {
                    feature: spec_ro.name.clone(),
                    reason: "rank_gauss ranks the whole column, so it cannot be re-applied to new values (as in GraphStorm)".into(),
                    hint: "use max_min_norm or standard for features that must be re-applied at inference".into(),
                });
            }
            let mut stacked: Vec<f64> = Vec::new();
            let mut w_total = 0;
            for c in &spec_ro.cols {
                let (v, w, _) = numeric(table, c, &spec_ro)?;
                validate(table, c, &spec_ro, &v, w)?;
                if w_total == 0 {
                    stacked = v;
                } else {
                    let mut out = Vec::with_capacity(rows * (w_total + w));
                    for r in 0..rows {
                        out.extend_from_slice(&stacked[r * w_total..(r + 1) * w_total]);
                        out.extend_from_slice(&v[r * w..(r + 1) * w]);
                    }
                    stacked = out;
                }
                w_total += w;
            }
            let out = rank_gauss(&stacked, rows, w_total, *epsilon, *uniquify);
            acc = cast(&out, out_dtype.or(Some(OutDtype::F32)));
            acc_w = w_total;
        }
        Op::Categorical { separator, mapping } => {
            let col = &spec_ro.cols[0];
            let values: Vec<Option<String>> = match (table.col(col), separator.is_some()) {
                (RawColumn::Str(v), _) => v.clone(),
                (_, true) => {
                    return Err(table.bad_value(
                        0,
                        col,
                        format!(
                            "multi-hot to_categorical `{}` needs a text column, got {}",
                            spec_ro.name,
                            table.col(col).kind()
                        ),
                        "remove the `separator` or store the categories as text",
                    ));
                }
                (other, false) => other.clone().into_strings(),
            };
            if mapping.is_none() {
                if mode == Mode::Apply {
                    return Err(no_params("mapping"));
                }
                let mut uniq = BTreeSet::new();
                for v in values.iter().flatten() {
                    match separator {
                        Some(sep) => uniq.extend(v.split(sep.as_str()).map(str::to_string)),
                        None => {
                            uniq.insert(v.clone());
                        }
                    }
                }
                let m: BTreeMap<String, usize> =
                    uniq.into_iter().enumerate().map(|(i, k)| (k, i)).collect();
                updates.insert(
                    "mapping".into(),
                    Value::Object(
                        m.iter()
                            .map(|(k, &i)| (k.clone(), Value::from(i)))
                            .collect(),
                    ),
                );
                *mapping = Some(m);
            }
            let m = mapping.as_ref().unwrap();
            let width = m.values().max().map_or(0, |&x| x + 1).max(m.len());
            let mut out = vec![0f32; rows * width];
            for (r, v) in values.iter().enumerate() {
                let Some(v) = v else { continue };
                match separator {
                    Some(sep) => {
                        for part in v.split(sep.as_str()) {
                            if let Some(&i) = m.get(part) {
                                out[r * width + i] = 1.0;
                            }
                        }
                    }
                    None => {
                        if let Some(&i) = m.get(v) {
                            out[r * width + i] = 1.0;
                        }
                    }
                }
            }
            acc = out;
            acc_w = width;
        }
        Op::Bucket {
            cnt,
            lo,
            hi,
            window,
        } => {
            for c in &spec_ro.cols {
                let (v, w, _) = numeric(table, c, &spec_ro)?;
                if w != 1 {
                    return Err(table.bad_value(
                        0,
                        c,
                        format!(
                            "bucket_numerical `{}` needs one number per row, got vectors",
                            spec_ro.name
                        ),
                        "bucket a scalar column",
                    ));
                }
                validate(table, c, &spec_ro, &v, w)?;
                let out = bucketize(&v, *cnt, *lo, *hi, *window);
                let block = cast(&out, out_dtype.or(Some(OutDtype::F32)));
                acc = column_stack(acc, acc_w, &block, *cnt, rows);
                acc_w += *cnt;
            }
        }
        Op::DstHardNegative { .. } => {
            return Err(GconstructError::Transform {
                feature: spec_ro.name.clone(),
                reason: "edge_dst_hard_negative maps raw ids to the graph's node ids, so it is computed when gs gconstruct builds edges, not re-applied to values".into(),
                hint: "use it in an edge block's `features` of the gconstruct config".into(),
            });
        }
    }
    Ok((
        Feature {
            values: acc,
            dim: acc_w,
        },
        updates,
    ))
}

/// GraphStorm's `BucketTransform.call`.
fn bucketize(v: &[f64], cnt: usize, min_val: f64, max_val: f64, window: f64) -> Vec<f64> {
    let mut out = vec![0.0; v.len() * cnt];
    let size = (max_val - min_val) / cnt as f64;
    for (i, &f) in v.iter().enumerate() {
        let high = (f + window / 2.0).min(max_val) - min_val;
        let low = (f - window / 2.0).max(min_val) - min_val;
        let low_idx = (low / size).floor().max(0.0);
        let high_idx = ((high / size).floor() + 1.0).min(cnt as f64);
        let (a, b) = (low_idx as i64, high_idx as i64);
        for k in a.max(0)..b.min(cnt as i64) {
            out[i * cnt + k as usize] = 1.0;
        }
        if f >= max_val {
            out[i * cnt + cnt - 1] = 1.0;
        }
        if f <= min_val {
            out[i * cnt] = 1.0;
        }
    }
    out
}

/// GraphStorm's `RankGaussTransform.after_merge_transform`, per column. Ties are ranked by row
/// order (numpy's default quicksort leaves their order unspecified).
fn rank_gauss(v: &[f64], rows: usize, width: usize, eps: f64, uniquify: bool) -> Vec<f64> {
    let mut out = vec![0.0; rows * width];
    if rows == 0 || width == 0 {
        return out;
    }
    let gauss = |rank: usize, n: usize| -> f64 {
        if n <= 1 {
            return 0.0;
        }
        let x = (rank as f64 / (n - 1) as f64 - 0.5) * 2.0;
        erfinv(x.clamp(-1.0 + eps, 1.0 - eps))
    };
    let ranks = |vals: &[f64]| -> Vec<usize> {
        let mut idx: Vec<usize> = (0..vals.len()).collect();
        idx.sort_by(|&a, &b| vals[a].total_cmp(&vals[b]));
        let mut rank = vec![0; vals.len()];
        for (r, &i) in idx.iter().enumerate() {
            rank[i] = r;
        }
        rank
    };
    if uniquify {
        // np.unique(feats, axis=0, return_inverse=True): sorted unique rows.
        let row = |r: usize| &v[r * width..(r + 1) * width];
        let mut order: Vec<usize> = (0..rows).collect();
        let cmp = |a: &usize, b: &usize| {
            row(*a)
                .iter()
                .zip(row(*b))
                .map(|(x, y)| x.total_cmp(y))
                .find(|o| o.is_ne())
                .unwrap_or(std::cmp::Ordering::Equal)
        };
        order.sort_by(cmp);
        let mut uniq: Vec<usize> = Vec::new();
        let mut inverse = vec![0; rows];
        for &r in &order {
            if uniq.last().is_none_or(|&u| cmp(&u, &r).is_ne()) {
                uniq.push(r);
            }
            inverse[r] = uniq.len() - 1;
        }
        let n = uniq.len();
        for d in 0..width {
            let col: Vec<f64> = uniq.iter().map(|&u| v[u * width + d]).collect();
            let rk = ranks(&col);
            for r in 0..rows {
                out[r * width + d] = if n == 1 {
                    0.0
                } else {
                    gauss(rk[inverse[r]], n)
                };
            }
        }
    } else {
        for d in 0..width {
            let col: Vec<f64> = (0..rows).map(|r| v[r * width + d]).collect();
            let rk = ranks(&col);
            for r in 0..rows {
                out[r * width + d] = gauss(rk[r], rows);
            }
        }
    }
    out
}

/// The inverse error function, through the normal quantile (Wichura's AS241, ~1e-16 relative).
pub(crate) fn erfinv(x: f64) -> f64 {
    if x <= -1.0 {
        return f64::NEG_INFINITY;
    }
    if x >= 1.0 {
        return f64::INFINITY;
    }
    ndtri((x + 1.0) / 2.0) / std::f64::consts::SQRT_2
}

#[allow(clippy::excessive_precision)]
fn ndtri(p: f64) -> f64 {
    let q = p - 0.5;
    if q.abs() <= 0.425 {
        let r = 0.180625 - q * q;
        return q
            * (((((((2.5090809287301226727e3 * r + 3.3430575583588128105e4) * r
                + 6.7265770927008700853e4)
                * r
                + 4.5921953931549871457e4)
                * r
                + 1.3731693765509461125e4)
                * r
                + 1.9715909503065514427e3)
                * r
                + 1.3314166789178437745e2)
                * r
                + 3.3871328727963666080e0)
            / (((((((5.2264952788528545610e3 * r + 2.8729085735721942674e4) * r
                + 3.9307895800092710610e4)
                * r
                + 2.1213794301586595867e4)
                * r
                + 5.3941960214247511077e3)
                * r
                + 6.8718700749205790830e2)
                * r
                + 4.2313330701600911252e1)
                * r
                + 1.0);
    }
    let mut r = if q < 0.0 { p } else { 1.0 - p };
    r = (-r.ln()).sqrt();
    let val = if r <= 5.0 {
        r -= 1.6;
        (((((((7.74545014278341407640e-4 * r + 2.27238449892691845833e-2) * r
            + 2.41780725177450611770e-1)
            * r
            + 1.27045825245236838258e0)
            * r
            + 3.64784832476320460504e0)
            * r
            + 5.76949722146069140550e0)
            * r
            + 4.63033784615654529590e0)
            * r
            + 1.42343711074968357734e0)
            / (((((((1.05075007164441684324e-9 * r + 5.47593808499534494600e-4) * r
                + 1.51986665636164571966e-2)
                * r
                + 1.48103976427480074590e-1)
                * r
                + 6.89767334985100004550e-1)
                * r
                + 1.67638483018380384940e0)
                * r
                + 2.05319162663775882187e0)
                * r
                + 1.0)
    } else {
        r -= 5.0;
        (((((((2.01033439929228813265e-7 * r + 2.71155556874348757815e-5) * r
            + 1.24266094738807843860e-3)
            * r
            + 2.65321895265761230930e-2)
            * r
            + 2.96560571828504891230e-1)
            * r
            + 1.78482653991729133580e0)
            * r
            + 5.46378491116411436990e0)
            * r
            + 6.65790464350110377720e0)
            / (((((((2.04426310338993978564e-15 * r + 1.42151175831644588870e-7) * r
                + 1.84631831751005468180e-5)
                * r
                + 7.86869131145613259100e-4)
                * r
                + 1.48753612908506148525e-2)
                * r
                + 1.36929880922735805310e-1)
                * r
                + 5.99832206555887937690e-1)
                * r
                + 1.0)
    };
    if q < 0.0 { -val } else { val }
}

/// no-op with a separator: `str(value).split(sep)` parsed as floats, one vector per row.
fn split_vectors(
    table: &Table,
    col: &str,
    spec: &FeatSpec,
    sep: &str,
) -> Result<(Vec<f64>, usize), GconstructError> {
    let strings: Vec<Option<String>> = match table.col(col) {
        RawColumn::Str(v) => v.clone(),
        RawColumn::Float(v) => v
            .iter()
            .map(|&x| py_float_str(x).or(Some("nan".into())))
            .collect(),
        other => other.clone().into_strings(),
    };
    let mut out = Vec::new();
    let mut width = None;
    for (i, s) in strings.iter().enumerate() {
        let s = s.as_deref().unwrap_or("nan");
        let parts: Result<Vec<f64>, _> = s.split(sep).map(|p| p.trim().parse::<f64>()).collect();
        let parts = parts.map_err(|_| {
            table.bad_value(
                i,
                col,
                format!(
                    "feature `{}`: {s:?} is not a list of numbers separated by {sep:?}",
                    spec.name
                ),
                "fix the value or the `separator`",
            )
        })?;
        match width {
            None => width = Some(parts.len()),
            Some(w) if w != parts.len() => {
                return Err(table.bad_value(
                    i,
                    col,
                    format!(
                        "feature `{}` has vectors of length {w} but this row has length {}",
                        spec.name,
                        parts.len()
                    ),
                    "every row of a vector feature must have the same length",
                ));
            }
            _ => {}
        }
        out.extend(parts);
    }
    Ok((out, width.unwrap_or(0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erfinv_matches_reference_values() {
        // References: statistics.NormalDist().inv_cdf((x + 1) / 2) / sqrt(2) in Python.
        for (x, want) in [
            (0.5, 0.4769362762044699),
            (0.9, 1.1630871536766731),
            (-0.3, -0.2724627147267543),
            (1.0 - 1e-6, 3.45891073726005),
        ] {
            let got = erfinv(x);
            assert!(
                (got - want).abs() < 1e-9 * want.abs().max(1.0),
                "erfinv({x}) = {got}, want {want}"
            );
        }
        assert_eq!(erfinv(0.0), 0.0);
    }

    #[test]
    fn bucket_matches_graphstorm_semantics() {
        // range [10, 30], 2 buckets of width 10; window 0.
        let b = bucketize(
            &[5.0, 10.0, 15.0, 20.0, 25.0, 30.0, 35.0],
            2,
            10.0,
            30.0,
            0.0,
        );
        assert_eq!(
            b,
            vec![1., 0., 1., 0., 1., 0., 0., 1., 0., 1., 0., 1., 0., 1.]
        );
        // A window of 10 spreads 15 and 25 over both buckets.
        let b = bucketize(&[15.0, 25.0], 2, 10.0, 30.0, 10.0);
        assert_eq!(b, vec![1., 1., 0., 1.]);
    }

    #[test]
    fn f16_rounding() {
        assert_eq!(round_f16(0.1), 0.099975586);
        assert_eq!(round_f16(1.0), 1.0);
        assert_eq!(round_f16(70000.0), f32::INFINITY);
    }
}
