//! Input features checked before training: a NaN or infinite value would turn the first loss
//! into NaN, which reads like a learning rate too high. The error names the feature, the node
//! type and the node instead.

use gs_graph::HeteroGraph;

use crate::{FeatureSpec, TrainError};

/// Refuse a float feature of `spec` that holds a value that is not finite.
pub(crate) fn check_finite(graph: &HeteroGraph, spec: &FeatureSpec) -> Result<(), TrainError> {
    for ntype in graph.node_types() {
        for name in spec.features(ntype) {
            let Some(array) = graph.node_data(ntype, name) else {
                continue;
            };
            // Only float features can hold NaN; other dtypes are refused or cast elsewhere.
            let Some(values) = array.as_f32() else {
                continue;
            };
            if let Some(at) = values.iter().position(|v| !v.is_finite()) {
                let width = array.row_width().max(1);
                return Err(TrainError::Config(format!(
                    "feature `{name}` of node type `{ntype}` holds {} at node {}, column {}; \
                     models need finite inputs\nhint: fill missing values in the input tables \
                     (or with a gconstruct transform) and construct the graph again, or leave \
                     the feature out of --node-feat-name",
                    values[at],
                    at / width,
                    at % width
                )));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use gs_graph::Array;

    use super::*;

    fn graph(feat: Vec<f32>) -> HeteroGraph {
        let mut g = HeteroGraph::new();
        g.add_node_type("paper", 3).unwrap();
        g.set_node_data("paper", "feat", Array::from_f32(feat, &[3, 2]).unwrap())
            .unwrap();
        g
    }

    fn spec(g: &HeteroGraph) -> FeatureSpec {
        FeatureSpec::parse(g, Some(&["feat".to_string()])).unwrap()
    }

    #[test]
    fn finite_features_pass_and_a_nan_names_feature_node_and_column() {
        let g = graph(vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
        check_finite(&g, &spec(&g)).unwrap();
        let g = graph(vec![0.0, 1.0, 2.0, f32::NAN, 4.0, 5.0]);
        let message = check_finite(&g, &spec(&g)).unwrap_err().to_string();
        for needle in [
            "`feat`",
            "`paper`",
            "NaN at node 1, column 1",
            "--node-feat-name",
        ] {
            assert!(
                message.contains(needle),
                "`{needle}` missing from: {message}"
            );
        }
        let g = graph(vec![0.0, 1.0, 2.0, f32::NAN, 4.0, 5.0]);
        check_finite(&g, &FeatureSpec::default()).unwrap();
    }
}
