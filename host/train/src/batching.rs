//! Mini-batch assembly: sampled blocks and gathered node and edge features become host tensors.
//!
//! This runs on the prefetch thread (and the rayon pool inside sampling and gathering),
//! ahead of the trainer; the trainer thread only moves the result to its device and runs
//! tensor work.

use std::collections::BTreeMap;
use std::sync::Arc;

use gs_batch::{BatchData, BlockData, LayerData};
use gs_graph::{DType, HeteroGraph, LayerBlocks, MiniBatch, NodeId};
use gs_tensor::{Device, InEdges, Kind, Tensor};

use crate::{FeatureSpec, TrainError};

/// A batch ready for the model: blocks and input features as tensors, the seeds, their labels.
pub struct PreparedBatch {
    pub data: BatchData,
    /// The batch's targets: node ids of a node task, edge ids (of the target edge type) of an
    /// edge task.
    pub seeds: Vec<NodeId>,
    /// Labels of the seeds (int64 for classification, float32 for regression), if requested.
    pub labels: Option<Tensor>,
    /// The target edges of an edge task, as local indices into the last layer's destination
    /// nodes of their endpoint types; `None` for node tasks.
    pub edges: Option<TargetEdges>,
    /// The positive and negative pairs of a link-prediction batch, per target edge type;
    /// `None` for node and edge tasks.
    pub pairs: Option<Vec<LpPairs>>,
}

/// The pairs of one target edge type of a link-prediction batch, as local indices into the
/// last layer's destination nodes of their endpoint types.
pub struct LpPairs {
    pub etype: gs_graph::EdgeType,
    /// `[B]` int64 positive sources and destinations.
    pub pos_src: Tensor,
    pub pos_dst: Tensor,
    /// `[B, K]` int64 negative sources and destinations: row `i` holds positive `i`'s.
    pub neg_src: Tensor,
    pub neg_dst: Tensor,
    /// `[B]` float loss weights of the positives (`lp_edge_weight_for_loss`), if set.
    pub pos_weight: Option<Tensor>,
}

/// The target edges of an edge batch: edge `i` joins row `src[i]` of the `src_type`
/// embeddings `forward` returns to row `dst[i]` of the `dst_type` ones.
pub struct TargetEdges {
    pub src_type: String,
    /// The relation of the target edge type (for a plugin's `decode`).
    pub rel: String,
    pub dst_type: String,
    /// `[E]` int64 local indices.
    pub src: Tensor,
    /// `[E]` int64 local indices.
    pub dst: Tensor,
    /// `[E, F]` float32 features of the target edges themselves (`decoder_edge_feat`), if any.
    pub features: Option<Tensor>,
}

impl PreparedBatch {
    /// Move every tensor to `device` (no-op on CPU).
    pub fn to_device(self, device: Device) -> Self {
        if device == Device::Cpu {
            return self;
        }
        let move_t = |t: &Tensor| t.to_device(device);
        let mut data = self.data;
        for layer in &mut data.layers {
            for block in &mut layer.blocks {
                block.src = move_t(&block.src);
                block.dst = move_t(&block.dst);
                for t in block.edge_features.values_mut() {
                    *t = move_t(t);
                }
            }
        }
        for t in data
            .input_features
            .values_mut()
            .chain(data.input_nodes.values_mut())
        {
            *t = move_t(t);
        }
        Self {
            data,
            seeds: self.seeds,
            labels: self.labels.as_ref().map(move_t),
            edges: self.edges.map(|e| TargetEdges {
                src: move_t(&e.src),
                dst: move_t(&e.dst),
                features: e.features.as_ref().map(move_t),
                ..e
            }),
            pairs: self.pairs.map(|pairs| {
                pairs
                    .into_iter()
                    .map(|p| LpPairs {
                        pos_src: move_t(&p.pos_src),
                        pos_dst: move_t(&p.pos_dst),
                        neg_src: move_t(&p.neg_src),
                        neg_dst: move_t(&p.neg_dst),
                        pos_weight: p.pos_weight.as_ref().map(move_t),
                        ..p
                    })
                    .collect()
            }),
        }
    }
}

/// What the labels are read as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LabelKind {
    Class,
    Value,
    /// Multilabel classification: one 0/1 column per class.
    MultiHot,
}

/// Turns sampled mini-batches into [`PreparedBatch`]es.
#[derive(Clone)]
pub struct BatchAssembler {
    graph: Arc<HeteroGraph>,
    features: FeatureSpec,
    target: String,
    label: Option<(String, LabelKind)>,
}

impl BatchAssembler {
    pub fn new(
        graph: Arc<HeteroGraph>,
        features: FeatureSpec,
        target: &str,
        label: Option<(String, LabelKind)>,
    ) -> Self {
        Self {
            graph,
            features,
            target: target.to_string(),
            label,
        }
    }

    /// Assemble one batch.
    pub fn assemble(&self, batch: &MiniBatch) -> Result<PreparedBatch, TrainError> {
        let data = self.batch_data(&batch.layers, &batch.input_nodes, &self.target)?;
        let labels = match &self.label {
            Some((field, kind)) => Some(self.gather_labels(field, *kind, &batch.seeds)?),
            None => None,
        };
        Ok(PreparedBatch {
            data,
            seeds: batch.seeds.clone(),
            labels,
            edges: None,
            pairs: None,
        })
    }

    /// The blocks, input nodes and input features of sampled layers, as tensors.
    pub(crate) fn batch_data(
        &self,
        sampled: &[LayerBlocks],
        input_nodes: &BTreeMap<String, Vec<NodeId>>,
        target_node_type: &str,
    ) -> Result<BatchData, TrainError> {
        let edge_spec = self.features.edge_features();
        let mut layers = Vec::with_capacity(sampled.len());
        for layer in sampled {
            let mut blocks = Vec::with_capacity(layer.blocks.len());
            for b in &layer.blocks {
                // The named edge features of the sampled edges, by edge id (`edge_feat_name`).
                let edge_features = edge_spec
                    .gather_each(&self.graph, &b.etype, &b.edge_ids)?
                    .into_iter()
                    .collect();
                blocks.push(BlockData {
                    src_type: b.etype.src.clone(),
                    rel: b.etype.rel.clone(),
                    dst_type: b.etype.dst.clone(),
                    num_src: b.num_src as i64,
                    num_dst: b.num_dst as i64,
                    src: Tensor::from_slice(&b.src),
                    dst: Tensor::from_slice(&b.dst),
                    edge_features,
                    in_edges: Some(InEdges::new(
                        &b.src,
                        &b.dst,
                        b.num_src as i64,
                        b.num_dst as i64,
                    )?),
                });
            }
            layers.push(LayerData {
                num_src: layer
                    .src_nodes
                    .iter()
                    .map(|(t, ids)| (t.clone(), ids.len() as i64))
                    .collect(),
                num_dst: layer
                    .dst_counts
                    .iter()
                    .map(|(t, &n)| (t.clone(), n as i64))
                    .collect(),
                blocks,
            });
        }
        let mut input_features = BTreeMap::new();
        for (ntype, ids) in input_nodes {
            if let Some(t) = self.gather_features(ntype, ids)? {
                input_features.insert(ntype.clone(), t);
            }
        }
        // Only the learnable embeddings read node ids: other types skip the copy.
        let learnable = self.features.learnable_types();
        let input_nodes = input_nodes
            .iter()
            .filter(|(ntype, _)| learnable.contains_key(ntype.as_str()))
            .map(|(ntype, ids)| {
                let ids: Vec<i64> = ids.iter().map(|&id| id as i64).collect();
                (ntype.clone(), Tensor::from_slice(&ids))
            })
            .collect();
        Ok(BatchData {
            layers,
            input_features,
            input_nodes,
            target_node_type: target_node_type.to_string(),
        })
    }

    /// The concatenated input features of `ids`, `[ids.len(), dim]`.
    fn gather_features(&self, ntype: &str, ids: &[NodeId]) -> Result<Option<Tensor>, TrainError> {
        let names = self.features.features(ntype);
        if names.is_empty() {
            return Ok(None);
        }
        let mut parts = Vec::with_capacity(names.len());
        for name in names {
            // GraphStorm casts every input feature to float32 (uint8 categoricals included).
            let (values, width) = self.graph.gather_as_f32(ntype, name, ids)?;
            parts.push(Tensor::from_slice(&values).reshape([ids.len() as i64, width as i64]));
        }
        Ok(Some(if parts.len() == 1 {
            parts.pop().expect("one part")
        } else {
            Tensor::cat(&parts, 1)
        }))
    }

    fn gather_labels(
        &self,
        field: &str,
        kind: LabelKind,
        ids: &[NodeId],
    ) -> Result<Tensor, TrainError> {
        let array = self.graph.node_array(&self.target, field)?;
        let labels = match array.dtype() {
            DType::I64 => Tensor::from_slice(&self.graph.gather_i64(&self.target, field, ids)?.0),
            DType::F32 => Tensor::from_slice(&self.graph.gather_f32(&self.target, field, ids)?.0),
            DType::U8 => Tensor::from_slice(&self.graph.gather_u8(&self.target, field, ids)?.0)
                .to_kind(Kind::Int64),
        };
        let rows = ids.len() as i64;
        Ok(match kind {
            LabelKind::Class => labels.to_kind(Kind::Int64).reshape([rows]),
            LabelKind::Value | LabelKind::MultiHot => {
                labels.to_kind(Kind::Float).reshape([rows, -1])
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use gs_graph::{Array, EdgeType, Sampler, parse_fanouts};

    use super::*;
    use crate::EdgeFeatureSpec;

    /// Users rate items; the edge feature `code` of `u -> i` is `[100 u + i, -i]` and `w` is
    /// `u + 0.5`, set in input order, so a block edge's features can be checked against its
    /// endpoints whatever edge ids the storage gave.
    fn rated_graph() -> (HeteroGraph, EdgeType) {
        let mut g = HeteroGraph::new();
        g.add_node_type("user", 6).unwrap();
        g.add_node_type("item", 5).unwrap();
        let rates = EdgeType::new("user", "rates", "item");
        let mut src = Vec::new();
        let mut dst = Vec::new();
        for u in 0..6u64 {
            for i in 0..5u64 {
                if (u * 7 + i * 3) % 4 != 0 {
                    src.push(u);
                    dst.push(i);
                }
            }
        }
        let order = g.add_edges(&rates, &src, &dst).unwrap();
        let code: Vec<f32> = order
            .iter()
            .flat_map(|&k| [(100 * src[k] + dst[k]) as f32, -(dst[k] as f32)])
            .collect();
        let w: Vec<f32> = order.iter().map(|&k| src[k] as f32 + 0.5).collect();
        g.set_edge_data(
            &rates,
            "code",
            Array::from_f32(code, &[order.len(), 2]).unwrap(),
        )
        .unwrap();
        g.set_edge_data(&rates, "w", Array::from_f32(w, &[order.len()]).unwrap())
            .unwrap();
        let feat: Vec<f32> = (0..6).map(|v| v as f32).collect();
        g.set_node_data("user", "feat", Array::from_f32(feat, &[6, 1]).unwrap())
            .unwrap();
        (g, rates)
    }

    #[test]
    fn block_edge_features_are_the_stored_rows_of_the_sampled_edges() {
        let (g, rates) = rated_graph();
        let edges = EdgeFeatureSpec::parse(
            &g,
            "edge_feat_name",
            Some(&["user,rates,item:w,code".into()]),
        )
        .unwrap();
        let features = FeatureSpec::parse(&g, Some(&["user:feat".to_string()]))
            .unwrap()
            .with_edge_features(edges);
        let g = Arc::new(g);
        let assembler = BatchAssembler::new(g.clone(), features, "item", None);
        let fanouts = parse_fanouts("2,3", 2).unwrap();
        let batch = Sampler::new(fanouts)
            .sample(&g, "item", &[4, 1], 9)
            .unwrap();
        let prepared = assembler.assemble(&batch).unwrap();
        let mut checked = 0;
        for (sampled, layer) in batch.layers.iter().zip(&prepared.data.layers) {
            for (b, block) in sampled.blocks.iter().zip(&layer.blocks) {
                assert_eq!(block.edge_features.len(), 2);
                let rows = |name: &str| {
                    let t = &block.edge_features[name];
                    assert_eq!(t.size()[0], b.src.len() as i64);
                    Vec::<f32>::try_from(t.reshape([-1])).unwrap()
                };
                let (w, code) = (rows("w"), rows("code"));
                // Every row is the stored row of the block's edge id.
                let (stored_w, _) = g.gather_edge_as_f32(&rates, "w", &b.edge_ids).unwrap();
                assert_eq!(w, stored_w);
                for (i, (&s, &d)) in b.src.iter().zip(&b.dst).enumerate() {
                    let user = sampled.src_nodes["user"][s as usize];
                    let item = sampled.src_nodes["item"][d as usize];
                    assert_eq!(w[i], user as f32 + 0.5);
                    assert_eq!(
                        code[2 * i..2 * i + 2],
                        [(100 * user + item) as f32, -(item as f32)]
                    );
                    checked += 1;
                }
            }
        }
        assert!(checked >= 4, "only {checked} edges sampled");
        // Without `edge_feat_name` the blocks carry none.
        let plain = BatchAssembler::new(g.clone(), FeatureSpec::default(), "item", None);
        let prepared = plain.assemble(&batch).unwrap();
        assert!(prepared.data.layers[1].blocks[0].edge_features.is_empty());
    }
}
