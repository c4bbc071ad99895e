//! Edge labels: the split masks of the target edge type, checks of the label field against the
//! task before training (dtype, shape, every split edge labelled, classes below
//! `num_classes`), and gathering labels of a batch's edges.

use gs_graph::{Array, DType, EdgeId, EdgeType, HeteroGraph, edge_endpoints};
use gs_tensor::{Kind, Tensor};

use crate::TrainError;
use crate::labels::Expected;

/// The split masks, in the order they are checked.
pub(crate) const SPLITS: [&str; 3] = ["train_mask", "val_mask", "test_mask"];

/// Edge ids of `etype` whose `mask` is set, or every edge of `etype` when it has no such mask
/// (GraphStorm's rule for a training split, and for inference without a test split).
pub(crate) fn mask_ids_or_all(
    graph: &HeteroGraph,
    etype: &EdgeType,
    mask: &str,
) -> Result<Vec<EdgeId>, TrainError> {
    Ok(match mask_ids(graph, etype, mask)? {
        Some(ids) => ids,
        None => (0..graph.num_edges(etype).unwrap_or(0)).collect(),
    })
}

/// Edge ids of `etype` whose 0/1 edge data `mask` is set, or `None` if it has no such mask.
pub(crate) fn mask_ids(
    graph: &HeteroGraph,
    etype: &EdgeType,
    mask: &str,
) -> Result<Option<Vec<EdgeId>>, TrainError> {
    let Some(array) = graph.edge_data(etype, mask) else {
        return Ok(None);
    };
    let values = match (array.dtype(), array.row_width()) {
        (DType::U8, 1) => array.as_u8().unwrap_or_default().to_vec(),
        (DType::I64, 1) => array
            .as_i64()
            .unwrap_or_default()
            .iter()
            .map(|&v| u8::from(v != 0))
            .collect(),
        (dt, _) => {
            return Err(TrainError::Config(format!(
                "edge data `{mask}` of `{etype}` is {dt} with shape {:?}, not a 0/1 mask; \
                 hint: write masks as 1-D uint8 arrays (gconstruct does)",
                array.shape()
            )));
        }
    };
    Ok(Some(
        values
            .iter()
            .enumerate()
            .filter(|(_, v)| **v != 0)
            .map(|(i, _)| i as EdgeId)
            .collect(),
    ))
}

/// The edge `e` of `etype` for messages: its id and its endpoints' raw ids.
fn edge_text(graph: &HeteroGraph, etype: &EdgeType, e: EdgeId, split: &str) -> String {
    let ends = edge_endpoints(graph, etype, &[e]).ok();
    let raw = |ntype: &str, id: u64| {
        graph
            .raw_id(ntype, id)
            .map_or_else(|| id.to_string(), |r| r.to_string())
    };
    match ends {
        Some((s, d)) => format!(
            "edge {e} (`{}` -> `{}`) in `{split}`",
            raw(&etype.src, s[0]),
            raw(&etype.dst, d[0])
        ),
        None => format!("edge {e} in `{split}`"),
    }
}

/// Checks label field `field` of `etype` against what the task expects, on every edge of the
/// splits it has (every edge without masks).
pub(crate) fn check(
    graph: &HeteroGraph,
    etype: &EdgeType,
    field: &str,
    expected: Expected,
) -> Result<(), TrainError> {
    let Some(array) = graph.edge_data(etype, field) else {
        let known: Vec<&str> = graph.edge_data_all(etype).map(|(n, _)| n).collect();
        return Err(TrainError::Config(format!(
            "`label_field` is `{field}`, but edge type `{etype}` has only {known:?}; hint: pass \
             --label-field with one of the target edge type's edge data (gconstruct's edge \
             `labels`)"
        )));
    };
    let name = format!("label field `{field}` of edge type `{etype}`");
    let mut rows = Vec::new();
    let mut any = false;
    for split in SPLITS {
        if let Some(ids) = mask_ids(graph, etype, split)? {
            any = true;
            rows.extend(ids.into_iter().map(|e| (e, split)));
        }
    }
    if !any {
        rows = (0..array.num_rows() as EdgeId)
            .map(|e| (e, "all edges"))
            .collect();
    }
    let width = array.row_width();
    let value = |e: EdgeId, col: usize| -> f64 {
        let i = e as usize * width + col;
        match array.dtype() {
            DType::I64 => array.as_i64().map_or(0.0, |v| v[i] as f64),
            DType::U8 => array.as_u8().map_or(0.0, |v| f64::from(v[i])),
            DType::F32 => array.as_f32().map_or(0.0, |v| f64::from(v[i])),
        }
    };
    match expected {
        Expected::Values => {
            if width != 1 || array.dtype() != DType::F32 && array.dtype() != DType::I64 {
                return Err(shape_error(&name, array, "one number per edge"));
            }
            if let Some(&(e, split)) = rows.iter().find(|(e, _)| !value(*e, 0).is_finite()) {
                return Err(TrainError::Config(format!(
                    "{name} is missing ({}) on {}; hint: give every edge of the splits a label, \
                     or leave unlabelled edges out of train_mask, val_mask and test_mask",
                    value(e, 0),
                    edge_text(graph, etype, e, split)
                )));
            }
        }
        Expected::Classes(num_classes) => {
            if width != 1 || array.dtype() == DType::F32 {
                return Err(shape_error(&name, array, "one integer class id per edge"));
            }
            if let Some(&(e, split)) = rows.iter().find(|(e, _)| value(*e, 0) < 0.0) {
                return Err(TrainError::Config(format!(
                    "{name} is missing (class {}) on {}; hint: give every edge of the splits a \
                     label, or leave unlabelled edges out of train_mask, val_mask and test_mask",
                    value(e, 0),
                    edge_text(graph, etype, e, split)
                )));
            }
            if let Some(n) = num_classes {
                let max = rows.iter().map(|(e, _)| value(*e, 0)).fold(-1.0, f64::max);
                if let Some(&(e, split)) = rows.iter().find(|(e, _)| value(*e, 0) >= f64::from(n)) {
                    return Err(TrainError::Config(format!(
                        "`num_classes` is {n}, but {name} has class {} on {} (the largest \
                         class is {max}); hint: set --num-classes {}",
                        value(e, 0),
                        edge_text(graph, etype, e, split),
                        max as i64 + 1
                    )));
                }
            }
        }
        Expected::MultiHot(num_classes) => {
            if num_classes.is_some_and(|n| n as usize != width) {
                return Err(shape_error(
                    &name,
                    array,
                    &format!("{} 0/1 columns (num_classes)", num_classes.unwrap_or(0)),
                ));
            }
            if let Some(&(e, split)) = rows
                .iter()
                .find(|(e, _)| (0..width).any(|c| !matches!(value(*e, c), 0.0 | 1.0)))
            {
                return Err(TrainError::Config(format!(
                    "{name} is not 0/1 on {}; hint: multilabel labels are one 0/1 column per \
                     class",
                    edge_text(graph, etype, e, split)
                )));
            }
        }
    }
    Ok(())
}

fn shape_error(name: &str, array: &Array, wanted: &str) -> TrainError {
    TrainError::Config(format!(
        "{name} is {} with shape {:?}, and the task needs {wanted}; hint: check --label-field \
         and the task",
        array.dtype(),
        array.shape()
    ))
}

/// Labels of edges `eids`: `[E]` int64 classes, or `[E, w]` float values / multi-hot rows.
pub(crate) fn gather(
    graph: &HeteroGraph,
    etype: &EdgeType,
    field: &str,
    eids: &[EdgeId],
    classes: bool,
) -> Result<Tensor, TrainError> {
    let array = graph.edge_data(etype, field).ok_or_else(|| {
        TrainError::Config(format!("edge type `{etype}` has no label field `{field}`"))
    })?;
    let width = array.row_width();
    let rows: Vec<usize> = eids.iter().map(|&e| e as usize).collect();
    let taken = array.take_rows(&rows);
    let t = match taken.dtype() {
        DType::I64 => Tensor::from_slice(taken.as_i64().unwrap_or_default()),
        DType::F32 => Tensor::from_slice(taken.as_f32().unwrap_or_default()),
        DType::U8 => Tensor::from_slice(taken.as_u8().unwrap_or_default()).to_kind(Kind::Int64),
    };
    let n = eids.len() as i64;
    Ok(if classes {
        t.to_kind(Kind::Int64).reshape([n])
    } else {
        t.to_kind(Kind::Float).reshape([n, width as i64])
    })
}
