//! A payload's raw feature values made into model input rows: through the fitted transforms
//! of `data_transform_new.json` when the feature has one, else taken as sent (a number or a
//! list of numbers of the feature's width). Every value must be finite.

use std::collections::BTreeMap;

use gs_gconstruct::{ListColumn, RawColumn, TransformTarget, apply_transforms};
use serde_json::Value;

use crate::codes::RequestError;
use crate::raw_value::RawValue;

/// Where a raw feature value is, formatted only for an error:
/// `graph.nodes[3].features.feat`, or `[k]` more for one column of a multi-column feature.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ValueAt<'a> {
    pub(crate) list: &'static str,
    pub(crate) index: usize,
    pub(crate) feature: &'a str,
    pub(crate) column: Option<usize>,
}

impl std::fmt::Display for ValueAt<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}[{}].features.{}", self.list, self.index, self.feature)?;
        match self.column {
            Some(k) => write!(f, "[{k}]"),
            None => Ok(()),
        }
    }
}

/// One column of raw values, typed as pandas would read them: integers, floats, text or
/// numeric lists. `at` names each value for errors.
fn raw_column(values: &[(ValueAt<'_>, &RawValue)]) -> Result<RawColumn, RequestError> {
    let all = |f: fn(&RawValue) -> bool| values.iter().all(|(_, v)| f(v));
    if all(|v| matches!(v, RawValue::Integer(_))) {
        let ints = values.iter().map(|(_, v)| match v {
            RawValue::Integer(i) => *i,
            _ => 0,
        });
        return Ok(RawColumn::Int(ints.collect()));
    }
    if all(|v| v.as_f64().is_some()) {
        let floats = values.iter().map(|(_, v)| v.as_f64().unwrap_or(f64::NAN));
        return Ok(RawColumn::Float(floats.collect()));
    }
    if all(|v| matches!(v, RawValue::Text(_))) {
        let texts = values.iter().map(|(_, v)| match v {
            RawValue::Text(t) => Some(t.clone()),
            _ => None,
        });
        return Ok(RawColumn::Str(texts.collect()));
    }
    let mut rows = Vec::with_capacity(values.len());
    for (at, v) in values {
        let RawValue::Numbers(row) = v else {
            return Err(RequestError::construction(
                "INVALID_FEATURE_TYPE",
                format!(
                    "`{at}` is {v}; a raw feature value is a number, a string or a list of \
                     numbers, the same kind for every node"
                ),
            ));
        };
        rows.push(Some(row.clone()));
    }
    Ok(RawColumn::List(ListColumn::from_rows(rows)))
}

/// Rows `[values.len(), width]` of feature `name` of `target` from raw `values` (one per node
/// or edge, named for errors), through `transform` (the config and the feature's columns)
/// when it has one.
pub(crate) fn feature_rows(
    transform: Option<(&Value, &[String])>,
    target: &TransformTarget,
    name: &str,
    width: usize,
    values: &[(ValueAt<'_>, &RawValue)],
) -> Result<Vec<f32>, RequestError> {
    if values.is_empty() {
        // A type the payload has no node (or edge) of.
        return Ok(vec![]);
    }
    let rows = match transform {
        Some((conf, cols)) => transformed(conf, target, name, cols, values)?,
        None => as_sent(width, values)?,
    };
    if rows.len() != values.len() * width {
        return Err(RequestError::construction(
            "MISMATCHED_FEATURE_ERROR",
            format!(
                "feature `{name}` has {} values per row after its transform, and the model reads {width}",
                rows.len() / values.len().max(1)
            ),
        ));
    }
    if let Some(k) = rows.iter().position(|x| !x.is_finite()) {
        let (at, v) = &values[k / width.max(1)];
        return Err(RequestError::construction(
            "INVALID_FEATURE_TYPE",
            format!("`{at}` ({v}) gives a value that is NaN or infinite"),
        ));
    }
    Ok(rows)
}

/// Through the fitted transform: one raw column per `feature_col` (a feature of several
/// columns is sent as a list with one value per column).
fn transformed(
    conf: &Value,
    target: &TransformTarget,
    name: &str,
    cols: &[String],
    values: &[(ValueAt<'_>, &RawValue)],
) -> Result<Vec<f32>, RequestError> {
    let mut columns = BTreeMap::new();
    if cols.len() == 1 {
        columns.insert(cols[0].clone(), raw_column(values)?);
    } else {
        for (k, col) in cols.iter().enumerate() {
            let mut parts = Vec::with_capacity(values.len());
            for (at, v) in values {
                let part = column_value(v, k, cols.len()).ok_or_else(|| {
                    RequestError::construction(
                        "MISMATCHED_COLUMN_ERROR",
                        format!("`{at}` must list one raw value per column of `{name}` ({cols:?})"),
                    )
                })?;
                let at = ValueAt {
                    column: Some(k),
                    ..*at
                };
                parts.push((at, part));
            }
            let refs: Vec<(ValueAt<'_>, &RawValue)> = parts.iter().map(|(a, v)| (*a, v)).collect();
            columns.insert(col.clone(), raw_column(&refs)?);
        }
    }
    let mut out = apply_transforms(conf, target, &columns).map_err(|e| {
        RequestError::construction("INVALID_FEATURE_TYPE", format!("feature `{name}`: {e}"))
    })?;
    Ok(out.remove(name).map(|f| f.values).unwrap_or_default())
}

/// Value `k` of a multi-column feature's list of `n` raw values.
fn column_value(v: &RawValue, k: usize, n: usize) -> Option<RawValue> {
    match v {
        RawValue::Numbers(xs) if xs.len() == n => Some(RawValue::Number(xs[k])),
        RawValue::Other(Value::Array(a)) if a.len() == n => {
            Some(RawValue::from_value(a[k].clone()))
        }
        _ => None,
    }
}

/// As sent: a number (width 1) or a list of `width` numbers per row.
fn as_sent(width: usize, values: &[(ValueAt<'_>, &RawValue)]) -> Result<Vec<f32>, RequestError> {
    let mut out = Vec::with_capacity(values.len() * width);
    for (at, v) in values {
        match v {
            RawValue::Integer(_) | RawValue::Number(_) if width == 1 => {
                out.push(v.as_f64().unwrap_or(f64::NAN) as f32);
            }
            RawValue::Numbers(xs) if xs.len() == width => {
                out.extend(xs.iter().map(|&x| x as f32));
            }
            RawValue::Numbers(xs) => {
                return Err(RequestError::construction(
                    "MISMATCHED_FEATURE_ERROR",
                    format!("`{at}` has {} values; the model reads {width}", xs.len()),
                ));
            }
            other => {
                return Err(RequestError::construction(
                    "INVALID_FEATURE_TYPE",
                    format!("`{at}` is {other}; send a list of {width} numbers"),
                ));
            }
        }
    }
    Ok(out)
}
