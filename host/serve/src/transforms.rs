//! The fitted feature transforms a server applies: `data_transform_new.json` and the columns
//! of every feature the model reads that has a transform, found once when the server starts
//! (with gs-gconstruct's own reading of the config) and checked to apply to a single request.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, bail};
use gs_gconstruct::{RawColumn, TransformTarget, apply_transforms, feature_columns};
use gs_train::serving::ServingRecord;
use serde_json::Value;

/// GraphStorm's name of the fitted transforms beside a model.
const TRANSFORMS_FILE: &str = "data_transform_new.json";

/// The transform config and the columns of each transformed feature the model reads.
pub(crate) struct Transforms {
    conf: Value,
    columns: Vec<(TransformTarget, String, Vec<String>)>,
}

impl Transforms {
    /// The transforms of the model directory `root`, if it has them. A feature whose entry
    /// does not parse, or whose transform cannot be computed for a single request
    /// (`rank_gauss`), is an error naming it.
    pub(crate) fn load(root: &Path, record: &ServingRecord) -> anyhow::Result<Option<Self>> {
        let path = root.join(TRANSFORMS_FILE);
        if !path.is_file() {
            return Ok(None);
        }
        let conf = gs_gconstruct::read_transform_conf(&path)?;
        let mut columns = Vec::new();
        for (target, name) in features_read(record) {
            let found = feature_columns(&conf, &target, &name)
                .with_context(|| format!("cannot read `{}`", path.display()))?;
            let Some(cols) = found else {
                continue;
            };
            let empty: BTreeMap<String, RawColumn> = cols
                .iter()
                .map(|c| (c.clone(), RawColumn::Float(vec![])))
                .collect();
            if let Err(e) = apply_transforms(&conf, &target, &empty) {
                bail!(
                    "feature `{name}` of {target:?} cannot be computed for a single request: {e}\n\
                     hint: serve a model whose graph was built without this transform, or send \
                     the feature already transformed under another name"
                );
            }
            columns.push((target, name, cols));
        }
        Ok(Some(Self { conf, columns }))
    }

    /// The config and the columns of feature `name` of `target`, when it has a transform.
    pub(crate) fn of(&self, target: &TransformTarget, name: &str) -> Option<(&Value, &[String])> {
        self.columns
            .iter()
            .find(|(t, n, _)| t == target && n == name)
            .map(|(_, _, cols)| (&self.conf, cols.as_slice()))
    }
}

/// Every (type, feature) whose raw values a request may send: node features, and the edge
/// features of message passing and of the decoder under every edge type (an added reverse
/// edge carries its forward edge's values, computed by the forward type's transform).
fn features_read(record: &ServingRecord) -> Vec<(TransformTarget, String)> {
    let mut out: Vec<(TransformTarget, String)> = record
        .node_types
        .iter()
        .flat_map(|n| {
            n.features
                .iter()
                .map(|f| (TransformTarget::Node(n.name.clone()), f.name.clone()))
        })
        .collect();
    let mut edge_names: Vec<&str> = record
        .edge_types
        .iter()
        .flat_map(|e| &e.features)
        .chain(&record.decoder_edge_features)
        .map(|f| f.name.as_str())
        .collect();
    edge_names.sort_unstable();
    edge_names.dedup();
    for e in &record.edge_types {
        for name in &edge_names {
            out.push((TransformTarget::Edge(e.etype.clone()), name.to_string()));
        }
    }
    out
}
