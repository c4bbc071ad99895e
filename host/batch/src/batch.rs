//! A mini-batch as the host hands it to a plugin's `forward` and `decode`: the layers of
//! sampled blocks and the input features.

use std::collections::BTreeMap;

use gs_tensor::ops::{self, Reduce};
use gs_tensor::{InEdges, Tensor, TensorError};

/// One edge type's edges in one layer (DGL message-flow-graph convention).
#[derive(Debug)]
pub struct BlockData {
    pub src_type: String,
    pub rel: String,
    pub dst_type: String,
    pub num_src: i64,
    pub num_dst: i64,
    /// Local source index per edge (int64).
    pub src: Tensor,
    /// Local destination index per edge (int64).
    pub dst: Tensor,
    pub edge_features: BTreeMap<String, Tensor>,
    /// The edges grouped by destination for `block.aggregate`: built with the batch on the
    /// prefetch thread, or on first use when absent.
    pub in_edges: Option<InEdges>,
}

/// The blocks of one layer and its node counts per type.
#[derive(Debug, Default)]
pub struct LayerData {
    pub num_src: BTreeMap<String, i64>,
    pub num_dst: BTreeMap<String, i64>,
    pub blocks: Vec<BlockData>,
}

/// A whole mini-batch as the host hands it to a plugin.
#[derive(Debug, Default)]
pub struct BatchData {
    /// Layer 0 is the input layer; the last layer's destination nodes are the targets.
    pub layers: Vec<LayerData>,
    /// Features of layer 0's source nodes per node type.
    pub input_features: BTreeMap<String, Tensor>,
    /// Graph ids (int64) of layer 0's source nodes, row for row with `input_features`, for the
    /// node types with learnable embeddings. The host reads them to look the embeddings up;
    /// plugins do not see them.
    pub input_nodes: BTreeMap<String, Tensor>,
    pub target_node_type: String,
}

impl BlockData {
    /// A copy that shares the tensors (no data is copied).
    pub fn shallow_clone(&self) -> Self {
        Self {
            src_type: self.src_type.clone(),
            rel: self.rel.clone(),
            dst_type: self.dst_type.clone(),
            num_src: self.num_src,
            num_dst: self.num_dst,
            src: self.src.shallow_clone(),
            dst: self.dst.shallow_clone(),
            edge_features: self
                .edge_features
                .iter()
                .map(|(k, v)| (k.clone(), v.shallow_clone()))
                .collect(),
            in_edges: self.in_edges.as_ref().map(InEdges::shallow_clone),
        }
    }

    /// The edges grouped by destination: the ones built ahead, or built now from `src` and
    /// `dst`.
    pub fn grouped_in_edges(&self) -> Result<InEdges, TensorError> {
        match &self.in_edges {
            Some(edges) => Ok(edges.shallow_clone()),
            None => InEdges::from_tensors(&self.src, &self.dst, self.num_src, self.num_dst),
        }
    }
}

/// `[num_dst, ...]`: for every destination node, the `reduce` of the source rows of its
/// in-edges in all of `parts`, blocks of edge types into one destination type with `num_dst`
/// nodes, block `i`'s sources being the rows of `parts[i].1` (the WIT's `aggregate-many`).
/// One block goes through its fused [`InEdges::aggregate`]; several are gathered
/// (`index_select` by each block's sources), concatenated and scatter-reduced by their
/// destinations. `gs-runtime` serves the plugins' calls with it and the native GraphSAGE
/// oracle computes with it, so both give the same bits.
pub fn aggregate_blocks(
    parts: &[(&BlockData, &Tensor)],
    num_dst: i64,
    reduce: Reduce,
) -> Result<Tensor, TensorError> {
    const OP: &str = "aggregate-many";
    let first_dst_type = parts.first().map(|(b, _)| b.dst_type.as_str());
    if let Some((b, _)) = parts
        .iter()
        .find(|(b, _)| b.num_dst != num_dst || Some(b.dst_type.as_str()) != first_dst_type)
    {
        return Err(TensorError::new(
            OP,
            format!(
                "block `{}:{}:{}` has {} destinations of type `{}`, and the blocks aggregated \
                 together must all have {num_dst} of type `{}`",
                b.src_type,
                b.rel,
                b.dst_type,
                b.num_dst,
                b.dst_type,
                first_dst_type.unwrap_or_default()
            ),
        ));
    }
    match parts {
        [] => Err(TensorError::new(OP, "needs at least one block")),
        [(block, h_src)] => block.grouped_in_edges()?.aggregate(h_src, reduce),
        several => {
            let gathered = several
                .iter()
                .map(|(b, h_src)| ops::index_select(h_src, 0, &b.src))
                .collect::<Result<Vec<_>, _>>()?;
            let dst: Vec<&Tensor> = several.iter().map(|(b, _)| &b.dst).collect();
            let gathered = ops::cat(&gathered.iter().collect::<Vec<_>>(), 0)?;
            ops::scatter_reduce(&gathered, &ops::cat(&dst, 0)?, num_dst, reduce)
        }
    }
}

impl LayerData {
    /// A copy that shares the tensors.
    pub fn shallow_clone(&self) -> Self {
        Self {
            num_src: self.num_src.clone(),
            num_dst: self.num_dst.clone(),
            blocks: self.blocks.iter().map(BlockData::shallow_clone).collect(),
        }
    }
}

impl BatchData {
    /// A copy that shares the tensors.
    pub fn shallow_clone(&self) -> Self {
        Self {
            layers: self.layers.iter().map(LayerData::shallow_clone).collect(),
            input_features: self
                .input_features
                .iter()
                .map(|(k, v)| (k.clone(), v.shallow_clone()))
                .collect(),
            input_nodes: self
                .input_nodes
                .iter()
                .map(|(k, v)| (k.clone(), v.shallow_clone()))
                .collect(),
            target_node_type: self.target_node_type.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use gs_tensor::Device;

    use super::*;

    fn block(src_type: &str, dst_type: &str, src: &[i64], dst: &[i64], num_dst: i64) -> BlockData {
        let index = |v: &[i64]| ops::from_i64(v, &[v.len() as i64], Device::Cpu).unwrap();
        BlockData {
            src_type: src_type.into(),
            rel: "r".into(),
            dst_type: dst_type.into(),
            num_src: 3,
            num_dst,
            src: index(src),
            dst: index(dst),
            edge_features: BTreeMap::new(),
            in_edges: None,
        }
    }

    fn rows(values: &[f32], cols: i64) -> Tensor {
        ops::from_f32(values, &[values.len() as i64 / cols, cols], Device::Cpu).unwrap()
    }

    #[test]
    fn aggregating_several_blocks_is_one_neighbourhood_over_all_their_edges() {
        let a = block("a", "t", &[0, 1, 2], &[0, 0, 1], 2);
        let b = block("b", "t", &[2, 0], &[1, 1], 2);
        let (h_a, h_b) = (
            rows(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 2),
            rows(&[-1.0, 10.0, 0.0, 0.0, 7.0, -2.0], 2),
        );
        let parts = [(&a, &h_a), (&b, &h_b)];
        let max = aggregate_blocks(&parts, 2, Reduce::Max).unwrap();
        // node 0: a's rows 0 and 1; node 1: a's row 2, b's rows 2 and 0.
        assert_eq!(
            Vec::<f32>::try_from(max.flatten(0, -1)).unwrap(),
            vec![3.0, 4.0, 7.0, 10.0]
        );
        let mean = aggregate_blocks(&parts, 2, Reduce::Mean).unwrap();
        assert_eq!(
            Vec::<f32>::try_from(mean.flatten(0, -1)).unwrap(),
            vec![2.0, 3.0, 11.0 / 3.0, 14.0 / 3.0]
        );
        // One block: its own aggregation.
        let one = aggregate_blocks(&[(&a, &h_a)], 2, Reduce::Sum).unwrap();
        let expected = a
            .grouped_in_edges()
            .unwrap()
            .aggregate(&h_a, Reduce::Sum)
            .unwrap();
        assert!(one.equal(&expected));
    }

    #[test]
    fn blocks_into_different_destinations_or_none_are_refused() {
        let a = block("a", "t", &[0], &[0], 2);
        let other_type = block("a", "u", &[0], &[0], 2);
        let other_count = block("a", "t", &[0], &[0], 3);
        let h = rows(&[1.0; 6], 2);
        for (second, named) in [
            (&other_type, "type `u`"),
            (&other_count, "has 3 destinations"),
        ] {
            let err = aggregate_blocks(&[(&a, &h), (second, &h)], 2, Reduce::Sum).unwrap_err();
            assert_eq!(err.op, "aggregate-many");
            assert!(err.message.contains(named), "{err}");
        }
        assert!(aggregate_blocks(&[], 2, Reduce::Sum).is_err());
    }
}
