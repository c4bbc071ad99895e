//! GraphStorm's training hard negatives (`GSHardEdgeDstNegativeSampler`): which edge data lists
//! each training edge's hard-negative destinations (`train_etypes_negative_dstnode`) and how
//! many of a positive's negatives they replace (`num_train_hard_negatives`), per training
//! edge type. gs-graph's samplers put them first in each positive's negatives.

use std::collections::BTreeMap;

use gs_config::TrainConfig;
use gs_graph::{DType, EdgeType, HardNegatives, HeteroGraph};

use crate::TrainError;
use crate::etype_values::per_etype;

const FIELD_KEY: &str = "train_etypes_negative_dstnode";
const COUNT_KEY: &str = "num_train_hard_negatives";

/// The hard negatives of each training edge type that has them.
pub(crate) fn from_config(
    graph: &HeteroGraph,
    config: &TrainConfig,
    train_etypes: &[EdgeType],
) -> Result<BTreeMap<EdgeType, HardNegatives>, TrainError> {
    let (fields, counts) = match (
        &config.train_etypes_negative_dstnode,
        &config.num_train_hard_negatives,
    ) {
        (None, None) => return Ok(BTreeMap::new()),
        (Some(_), None) => {
            return Err(error(format!(
                "`{FIELD_KEY}` is set but `{COUNT_KEY}` is not; hint: say how many of each \
                 positive's negatives are hard, e.g. `{COUNT_KEY}: [\"4\"]`"
            )));
        }
        (None, Some(_)) => {
            return Err(error(format!(
                "`{COUNT_KEY}` is set but `{FIELD_KEY}` is not, so there are no hard negatives \
                 to draw; hint: name the edge data that lists them, e.g. `{FIELD_KEY}: \
                 [\"hard_neg\"]`, or drop `{COUNT_KEY}`"
            )));
        }
        (Some(f), Some(c)) => (f, c),
    };
    let fields = per_etype(FIELD_KEY, fields, train_etypes, |v| Ok(v.to_string()))?;
    let counts = per_etype(COUNT_KEY, counts, train_etypes, |v| {
        v.parse::<usize>()
            .map_err(|_| format!("`{v}` is not a count; hint: write a whole number such as 4"))
    })?;
    let mut out = BTreeMap::new();
    for (et, field) in fields {
        let num = counts.get(&et).copied().unwrap_or(0);
        if num == 0 {
            continue;
        }
        check_field(graph, &et, &field)?;
        out.insert(et, HardNegatives { field, num });
    }
    Ok(out)
}

/// The field must be int64 `[E, m]` edge data of `et` (gconstruct's `edge_dst_hard_negative`).
fn check_field(graph: &HeteroGraph, et: &EdgeType, field: &str) -> Result<(), TrainError> {
    let Some(array) = graph.edge_data(et, field) else {
        let known: Vec<&str> = graph.edge_data_all(et).map(|(n, _)| n).collect();
        return Err(error(format!(
            "`{FIELD_KEY}` names `{field}`, which edge type `{et}` does not have (it has \
             {known:?}); hint: build it with gconstruct's `edge_dst_hard_negative` transform"
        )));
    };
    if array.dtype() != DType::I64 || array.shape().len() != 2 {
        return Err(error(format!(
            "`{FIELD_KEY}`: `{field}` of `{et}` is {:?} of shape {:?}, not int64 `[edges, n]` \
             destination ids; hint: build it with gconstruct's `edge_dst_hard_negative` transform",
            array.dtype(),
            array.shape()
        )));
    }
    Ok(())
}

fn error(message: String) -> TrainError {
    TrainError::Config(message)
}
