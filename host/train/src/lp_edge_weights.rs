//! GraphStorm's `lp_edge_weight_for_loss`: a float edge feature that rescales each positive
//! edge's term of the link-prediction loss (`Weighted*LossFunc` in GraphStorm's
//! `loss_func.py`; negatives keep weight 1). One field name applies to every training edge type
//! that has it, the others weigh 1; `src,rel,dst:field` entries name each type's field.
//! GraphStorm ignores the key with the contrastive loss and warns; so does gs.

use std::collections::BTreeMap;

use gs_config::TrainConfig;
use gs_graph::{DType, EdgeId, EdgeType, HeteroGraph};
use gs_tensor::Tensor;

use crate::TrainError;
use crate::etype_values::per_etype;

const KEY: &str = "lp_edge_weight_for_loss";

/// The weight field of each training edge type that has one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct LpEdgeWeights {
    fields: BTreeMap<EdgeType, String>,
}

impl LpEdgeWeights {
    /// The fields a configuration names, checked against the graph. `None` when the key is
    /// unset or the loss is contrastive (after a warning, as GraphStorm).
    pub(crate) fn from_config(
        graph: &HeteroGraph,
        config: &TrainConfig,
        train_etypes: &[EdgeType],
    ) -> Result<Option<Self>, TrainError> {
        let Some(entries) = &config.lp_edge_weight_for_loss else {
            return Ok(None);
        };
        if config.lp_loss_func == "contrastive" {
            tracing::warn!(
                "`{KEY}` does not apply to the contrastive loss and is ignored, as GraphStorm \
                 ignores it; use `lp_loss_func: cross_entropy` or `bpr` to weigh positive edges"
            );
            return Ok(None);
        }
        let global = matches!(entries.as_slice(), [one] if !one.contains(':'));
        let named = per_etype(KEY, entries, train_etypes, |v| Ok(v.to_string()))?;
        let mut fields = BTreeMap::new();
        for (et, field) in named {
            match graph.edge_data(&et, &field) {
                // One field name for all: edge types without it weigh 1, as in GraphStorm.
                None if global => continue,
                None => {
                    let known: Vec<&str> = graph.edge_data_all(&et).map(|(n, _)| n).collect();
                    return Err(TrainError::Config(format!(
                        "`{KEY}` names `{field}` for `{et}`, which has only {known:?}; hint: name \
                         one of its float edge features"
                    )));
                }
                Some(a) if a.dtype() != DType::F32 || a.row_width() != 1 => {
                    return Err(TrainError::Config(format!(
                        "`{KEY}`: `{field}` of `{et}` is {:?} of shape {:?}, not one float32 per \
                         edge; hint: store the weights as a float32 edge feature of width 1",
                        a.dtype(),
                        a.shape()
                    )));
                }
                Some(_) => {
                    fields.insert(et, field);
                }
            }
        }
        if fields.is_empty() {
            return Err(TrainError::Config(format!(
                "`{KEY}` is `{}`, but no training edge type has that edge feature; hint: name a \
                 float edge feature of a training edge type",
                entries.join(",")
            )));
        }
        Ok(Some(Self { fields }))
    }

    /// `[eids.len()]` float weights of positive edges `eids` of `et` (1 without a field).
    pub(crate) fn gather(&self, graph: &HeteroGraph, et: &EdgeType, eids: &[EdgeId]) -> Tensor {
        let values = self
            .fields
            .get(et)
            .and_then(|field| graph.edge_data(et, field))
            .and_then(|a| a.as_f32());
        let weights: Vec<f32> = match values {
            Some(v) => eids.iter().map(|&e| v[e as usize]).collect(),
            None => vec![1.0; eids.len()],
        };
        Tensor::from_slice(&weights)
    }
}
