//! Edge features as GraphStorm selects them: `edge_feat_name` (message passing, handed to the
//! model in every block) and `decoder_edge_feat` (the target edges' features, read by
//! `MLPEFeatEdgeDecoder`). Both take `feat` (every edge type, each of which must have it) or
//! `src,rel,dst:f1,f2` entries; several features of one edge type are concatenated in the order
//! given, as GraphStorm's `get_edge_feat_size` and its data loaders do.

use std::collections::BTreeMap;

use gs_graph::{EdgeId, EdgeType, HeteroGraph};
use gs_tensor::Tensor;

use crate::TrainError;

/// The edge features of every edge type under one key, in the order they are concatenated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EdgeFeatureSpec {
    per_etype: BTreeMap<EdgeType, Vec<String>>,
}

impl EdgeFeatureSpec {
    /// Parse GraphStorm's value of `key` (`edge_feat_name` or `decoder_edge_feat`) against the
    /// graph. `None` (or an empty list) selects no edge feature.
    ///
    /// Errors name the key and the entry: an entry that is not `src,rel,dst:f1,f2`, an edge
    /// type the graph lacks (listing the graph's), an edge type given twice, and a feature an
    /// edge type lacks (listing the ones it has). The `feat` form requires every edge type to
    /// have `feat`, as GraphStorm does.
    pub fn parse(
        graph: &HeteroGraph,
        key: &str,
        entries: Option<&[String]>,
    ) -> Result<Self, TrainError> {
        let entries = entries.unwrap_or_default();
        let fail = |entry: &str, why: String| {
            TrainError::Config(format!("`{key}` entry `{entry}`: {why}"))
        };
        let mut per_etype: BTreeMap<EdgeType, Vec<String>> = BTreeMap::new();
        if let [single] = entries
            && !single.contains(':')
        {
            let feat = single.trim();
            for et in graph.edge_types() {
                check_feature(graph, key, et, feat)?;
                per_etype.insert(et.clone(), vec![feat.to_string()]);
            }
            return Ok(Self { per_etype });
        }
        for entry in entries {
            let Some((etype, feats)) = entry.split_once(':') else {
                return Err(fail(
                    entry,
                    "with several entries each must be `src,rel,dst:feat1,feat2`".into(),
                ));
            };
            let parts: Vec<&str> = etype.split(',').map(str::trim).collect();
            let [s, r, d] = parts.as_slice() else {
                return Err(fail(
                    entry,
                    "the edge type is not `src,rel,dst` (a canonical edge type)".into(),
                ));
            };
            let et = EdgeType::new(*s, *r, *d);
            if graph.num_edges(&et).is_none() {
                let known: Vec<String> = graph
                    .edge_types()
                    .map(|e| format!("{},{},{}", e.src, e.rel, e.dst))
                    .collect();
                return Err(fail(
                    entry,
                    format!("the graph has no edge type `{s},{r},{d}`; hint: use one of {known:?}"),
                ));
            }
            if per_etype.contains_key(&et) {
                return Err(fail(
                    entry,
                    format!("edge type `{s},{r},{d}` is given twice; list its features once"),
                ));
            }
            let names: Vec<String> = feats
                .split(',')
                .map(str::trim)
                .filter(|f| !f.is_empty())
                .map(str::to_string)
                .collect();
            if names.is_empty() {
                return Err(fail(entry, "no feature name after `:`".into()));
            }
            for name in &names {
                check_feature(graph, key, &et, name)?;
            }
            per_etype.insert(et, names);
        }
        Ok(Self { per_etype })
    }

    /// Whether no edge type has a selected feature.
    pub fn is_empty(&self) -> bool {
        self.per_etype.is_empty()
    }

    /// Feature names of an edge type (empty: none).
    pub fn features(&self, etype: &EdgeType) -> &[String] {
        self.per_etype.get(etype).map_or(&[], Vec::as_slice)
    }

    /// The edge types with features and their names.
    pub fn iter(&self) -> impl Iterator<Item = (&EdgeType, &[String])> {
        self.per_etype.iter().map(|(e, f)| (e, f.as_slice()))
    }

    /// Width of one feature (1 for a 1-D array).
    fn width(graph: &HeteroGraph, etype: &EdgeType, name: &str) -> usize {
        graph
            .edge_data(etype, name)
            .map_or(0, gs_graph::Array::row_width)
    }

    /// Total width of the concatenated features of an edge type (0: none).
    pub fn dim(&self, graph: &HeteroGraph, etype: &EdgeType) -> usize {
        self.features(etype)
            .iter()
            .map(|name| Self::width(graph, etype, name))
            .sum()
    }

    /// Each selected feature of `etype` for edges `ids`, as `[ids.len(), width]` float32.
    pub fn gather_each(
        &self,
        graph: &HeteroGraph,
        etype: &EdgeType,
        ids: &[EdgeId],
    ) -> Result<Vec<(String, Tensor)>, TrainError> {
        self.features(etype)
            .iter()
            .map(|name| {
                let (values, width) = graph.gather_edge_as_f32(etype, name, ids)?;
                let t = Tensor::from_slice(&values).reshape([ids.len() as i64, width as i64]);
                Ok((name.clone(), t))
            })
            .collect()
    }

    /// The concatenated features of `etype` for edges `ids`, `[ids.len(), dim]`, or `None`
    /// when the edge type has none.
    pub fn gather_concat(
        &self,
        graph: &HeteroGraph,
        etype: &EdgeType,
        ids: &[EdgeId],
    ) -> Result<Option<Tensor>, TrainError> {
        let mut parts: Vec<Tensor> = self
            .gather_each(graph, etype, ids)?
            .into_iter()
            .map(|(_, t)| t)
            .collect();
        Ok(match parts.len() {
            0 => None,
            1 => parts.pop(),
            _ => Some(Tensor::cat(&parts, 1)),
        })
    }

    /// The selection as a plugin that lists `edge_feat_name` receives it in `init`: one
    /// `src,rel,dst:name=width,name=width` entry per edge type with features, `;`-separated
    /// in edge-type order (empty: none). A plugin needs the widths to create its weights in
    /// `init`, before any batch; each block then carries every feature under its own name
    /// (`block.edge-feature(name)`), to be concatenated in the order listed.
    pub fn plugin_arg(&self, graph: &HeteroGraph) -> String {
        self.per_etype
            .iter()
            .map(|(et, names)| {
                let feats: Vec<String> = names
                    .iter()
                    .map(|n| format!("{n}={}", Self::width(graph, et, n)))
                    .collect();
                format!("{},{},{}:{}", et.src, et.rel, et.dst, feats.join(","))
            })
            .collect::<Vec<_>>()
            .join(";")
    }
}

/// The edge feature `name` of `etype` must exist and be numeric with rows of at least one value.
fn check_feature(
    graph: &HeteroGraph,
    key: &str,
    etype: &EdgeType,
    name: &str,
) -> Result<(), TrainError> {
    let et = format!("{},{},{}", etype.src, etype.rel, etype.dst);
    let Some(array) = graph.edge_data(etype, name) else {
        let known: Vec<&str> = graph.edge_data_all(etype).map(|(n, _)| n).collect();
        return Err(TrainError::Config(format!(
            "`{key}` asks for edge feature `{name}` of edge type `{et}`, which has {known:?}; \
             hint: name a feature the edge type has, or list features per edge type as \
             `src,rel,dst:feat` (`gs graph info` lists them)"
        )));
    };
    if array.shape().len() > 2 || array.row_width() == 0 {
        return Err(TrainError::Config(format!(
            "`{key}`: edge feature `{name}` of edge type `{et}` has shape {:?}; edge features \
             must be 1-D or 2-D with at least one column",
            array.shape()
        )));
    }
    Ok(())
}

/// Replace the value of the plugin argument `edge_feat_name` (present when the plugin lists
/// it) with the resolved selection of [`EdgeFeatureSpec::plugin_arg`].
pub(crate) fn with_resolved_plugin_arg(
    mut custom_args: Vec<(String, String)>,
    spec: &EdgeFeatureSpec,
    graph: &HeteroGraph,
) -> Vec<(String, String)> {
    for (name, value) in &mut custom_args {
        if name.replace('-', "_") == "edge_feat_name" {
            *value = spec.plugin_arg(graph);
        }
    }
    custom_args
}

#[cfg(test)]
mod tests {
    use gs_graph::Array;

    use super::*;

    fn graph() -> HeteroGraph {
        let mut g = HeteroGraph::new();
        g.add_node_type("user", 2).unwrap();
        g.add_node_type("item", 3).unwrap();
        let rates = EdgeType::new("user", "rates", "item");
        let back = EdgeType::new("item", "rated-by", "user");
        g.add_edges(&rates, &[0, 1, 1], &[2, 0, 1]).unwrap();
        g.add_edges(&back, &[2, 0, 1], &[0, 1, 1]).unwrap();
        g.set_edge_data(
            &rates,
            "stars",
            Array::from_f32(vec![1.0, 2.0, 3.0], &[3]).unwrap(),
        )
        .unwrap();
        g.set_edge_data(
            &rates,
            "time",
            Array::from_u8(vec![1, 0, 2, 0, 3, 1], &[3, 2]).unwrap(),
        )
        .unwrap();
        g.set_edge_data(
            &back,
            "stars",
            Array::from_f32(vec![9.0, 8.0, 7.0], &[3, 1]).unwrap(),
        )
        .unwrap();
        g
    }

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn one_name_covers_every_edge_type_and_entries_concatenate_in_order() {
        let g = graph();
        let rates = EdgeType::new("user", "rates", "item");
        let back = EdgeType::new("item", "rated-by", "user");
        let all = EdgeFeatureSpec::parse(&g, "k", Some(&strings(&["stars"]))).unwrap();
        assert_eq!(all.features(&rates), ["stars"]);
        assert_eq!(all.features(&back), ["stars"]);
        assert_eq!(
            all.plugin_arg(&g),
            "item,rated-by,user:stars=1;user,rates,item:stars=1"
        );

        let one = EdgeFeatureSpec::parse(&g, "k", Some(&strings(&["user,rates,item:time, stars"])))
            .unwrap();
        assert!(one.features(&back).is_empty());
        assert_eq!(one.dim(&g, &rates), 3);
        assert_eq!(one.plugin_arg(&g), "user,rates,item:time=2,stars=1");
        let t = one.gather_concat(&g, &rates, &[2, 0]).unwrap().unwrap();
        assert_eq!(t.size(), [2, 3]);
        let values: Vec<f32> = Vec::<f32>::try_from(t.reshape([-1])).unwrap();
        assert_eq!(values, [3.0, 1.0, 3.0, 1.0, 0.0, 1.0]);
        assert!(one.gather_concat(&g, &back, &[0]).unwrap().is_none());
        assert!(
            EdgeFeatureSpec::parse(&g, "k", None)
                .unwrap()
                .plugin_arg(&g)
                .is_empty()
        );
    }

    #[test]
    fn errors_name_the_key_the_edge_type_and_the_feature() {
        let g = graph();
        let err = |v: &[&str]| {
            EdgeFeatureSpec::parse(&g, "edge_feat_name", Some(&strings(v)))
                .unwrap_err()
                .to_string()
        };
        let e = err(&["time"]);
        assert!(
            e.contains("`edge_feat_name`")
                && e.contains("`time`")
                && e.contains("item,rated-by,user")
                && e.contains("\"stars\""),
            "{e}"
        );
        let e = err(&["user,rates,item:weight"]);
        assert!(
            e.contains("`weight`") && e.contains("\"stars\", \"time\""),
            "{e}"
        );
        let e = err(&["user,likes,item:stars"]);
        assert!(e.contains("user,likes,item") && e.contains("hint"), "{e}");
        let e = err(&["stars", "time"]);
        assert!(e.contains("src,rel,dst:feat1,feat2"), "{e}");
        let e = err(&["user,rates,item:stars", "user,rates,item:time"]);
        assert!(e.contains("twice"), "{e}");
    }
}
