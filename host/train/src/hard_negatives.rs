//! GraphStorm's training hard negatives (`GSHardEdgeDstNegativeSampler`): which edge data lists
//! each training edge's hard-negative destinations (`train_etypes_negative_dstnode`) and how
//! many of a positive's negatives they replace (`num_train_hard_negatives`), per training
//! edge type. gs-graph's samplers put them first in each positive's negatives.

use std::collections::BTreeMap;

use gs_config::TrainConfig;
use gs_graph::{DType, EdgeType, HardNegatives, HeteroGraph};

use crate::TrainError;

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

/// GraphStorm's two forms of a per-edge-type list: one value for every training edge type, or
/// `src,rel,dst:value` entries.
fn per_etype<T>(
    key: &str,
    entries: &[String],
    train_etypes: &[EdgeType],
    parse: impl Fn(&str) -> Result<T, String>,
) -> Result<BTreeMap<EdgeType, T>, TrainError>
where
    T: Clone,
{
    let fail = |entry: &str, why: String| error(format!("`{key}` entry `{entry}`: {why}"));
    if let [single] = entries
        && !single.contains(':')
    {
        let value = parse(single.trim()).map_err(|why| fail(single, why))?;
        return Ok(train_etypes
            .iter()
            .map(|et| (et.clone(), value.clone()))
            .collect());
    }
    let mut out = BTreeMap::new();
    for entry in entries {
        let Some((etype, value)) = entry.rsplit_once(':') else {
            return Err(fail(
                entry,
                "with several entries each must be `src,rel,dst:value`".into(),
            ));
        };
        let parts: Vec<&str> = etype.split(',').map(str::trim).collect();
        let [s, r, d] = parts.as_slice() else {
            return Err(fail(entry, "the edge type is not `src,rel,dst`".into()));
        };
        let et = EdgeType::new(*s, *r, *d);
        if !train_etypes.contains(&et) {
            let known: Vec<String> = train_etypes.iter().map(ToString::to_string).collect();
            return Err(fail(
                entry,
                format!("`{et}` is not a training edge type; hint: use one of {known:?}"),
            ));
        }
        let value = parse(value.trim()).map_err(|why| fail(entry, why))?;
        out.insert(et, value);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn one_value_covers_every_training_edge_type_and_entries_name_theirs() {
        let a = EdgeType::new("user", "rates", "item");
        let b = EdgeType::new("user", "clicks", "item");
        let types = [a.clone(), b.clone()];
        let parse = |v: &str| v.parse::<usize>().map_err(|e| e.to_string());
        let all = per_etype("k", &strings(&["4"]), &types, parse).unwrap();
        assert_eq!(all, BTreeMap::from([(a.clone(), 4), (b.clone(), 4)]));
        let one = per_etype("k", &strings(&["user,clicks,item:2"]), &types, parse).unwrap();
        assert_eq!(one, BTreeMap::from([(b, 2)]));
        let err = per_etype("k", &strings(&["user,likes,item:2"]), &types, parse)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("user,likes,item") && err.contains("hint"),
            "{err}"
        );
        let err = per_etype("k", &strings(&["a", "b"]), &types, parse)
            .unwrap_err()
            .to_string();
        assert!(err.contains("src,rel,dst:value"), "{err}");
    }
}
