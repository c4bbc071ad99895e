//! GraphStorm's two forms of a per-edge-type setting (`train_etypes_negative_dstnode`,
//! `num_train_hard_negatives`, `lp_edge_weight_for_loss`): one value for every training edge
//! type, or `src,rel,dst:value` entries.

use std::collections::BTreeMap;

use gs_graph::EdgeType;

use crate::TrainError;

/// GraphStorm's two forms of a per-edge-type list: one value for every training edge type, or
/// `src,rel,dst:value` entries.
pub(crate) fn per_etype<T>(
    key: &str,
    entries: &[String],
    train_etypes: &[EdgeType],
    parse: impl Fn(&str) -> Result<T, String>,
) -> Result<BTreeMap<EdgeType, T>, TrainError>
where
    T: Clone,
{
    let fail =
        |entry: &str, why: String| TrainError::Config(format!("`{key}` entry `{entry}`: {why}"));
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
