//! Mini-batches handed to a plugin's `forward` and `decode`, as `batch` and `block` resources
//! (the plain batch types live in gs-batch).

use gs_batch::{
    BatchData, BlockData, DecodeTargets, LayerData, LpPairsData, TargetEdgesData, aggregate_blocks,
};
use gs_tensor::Tensor;
use wasmtime::component::Resource;

use crate::bindings::graph::{
    self, DescribedBlock, EdgeType, Host, HostBatch, HostBlock, LayerNodes,
};
use crate::bindings::types::Reduce;
use crate::host_tensors::{TensorRes, op_reduce, resized_numel};
use crate::state::HostState;

/// The `batch` resource: the host's batch behind a guest handle, with what it decodes
/// (nothing in `forward`).
#[allow(
    unreachable_pub,
    reason = "bindgen's `with` re-exports it from a public module"
)]
pub struct BatchRes {
    pub(crate) data: BatchData,
    pub(crate) targets: DecodeTargets,
}
/// The `block` resource.
#[allow(
    unreachable_pub,
    reason = "bindgen's `with` re-exports it from a public module"
)]
pub struct BlockRes {
    /// The block; its `in_edges`, when the batch came without them, are built by the first
    /// `aggregate` and kept for the next.
    pub(crate) data: BlockData,
}

impl Host for HostState {}

impl crate::bindings::types::Host for HostState {}

impl HostState {
    fn batch(&self, handle: &Resource<BatchRes>) -> wasmtime::Result<&BatchData> {
        Ok(&self.table.get(handle)?.data)
    }

    fn targets(&self, handle: &Resource<BatchRes>) -> wasmtime::Result<&DecodeTargets> {
        Ok(&self.table.get(handle)?.targets)
    }

    fn block(&self, handle: &Resource<BlockRes>) -> wasmtime::Result<&BlockData> {
        Ok(&self.table.get(handle)?.data)
    }

    /// The blocks of layer `layer`, sharing the batch's tensors, or stop the guest if there
    /// is no such layer.
    fn layer_blocks(
        &mut self,
        handle: &Resource<BatchRes>,
        layer: u32,
    ) -> wasmtime::Result<Vec<BlockData>> {
        self.with_layer(handle, layer, |l| {
            l.blocks.iter().map(BlockData::shallow_clone).collect()
        })
    }

    /// Layer `layer` of the batch, or stop the guest if there is no such layer.
    fn with_layer<R>(
        &mut self,
        handle: &Resource<BatchRes>,
        layer: u32,
        f: impl FnOnce(&LayerData) -> R,
    ) -> wasmtime::Result<R> {
        let batch = self.batch(handle)?;
        match batch.layers.get(layer as usize) {
            Some(l) => Ok(f(l)),
            None => {
                let n = batch.layers.len();
                Err(self.stop(format!(
                    "batch: layer {layer} asked for, but the batch has {n} layers (0..{n})"
                )))
            }
        }
    }
}

impl HostBatch for HostState {
    fn num_layers(&mut self, this: Resource<BatchRes>) -> wasmtime::Result<u32> {
        self.host_calls += 1;
        Ok(self.batch(&this)?.layers.len() as u32)
    }

    fn blocks(
        &mut self,
        this: Resource<BatchRes>,
        layer: u32,
    ) -> wasmtime::Result<Vec<Resource<BlockRes>>> {
        self.host_calls += 1;
        self.layer_blocks(&this, layer)?
            .into_iter()
            .map(|data| Ok(self.table.push(BlockRes { data })?))
            .collect()
    }

    fn described_blocks(
        &mut self,
        this: Resource<BatchRes>,
        layer: u32,
    ) -> wasmtime::Result<Vec<DescribedBlock>> {
        self.host_calls += 1;
        self.layer_blocks(&this, layer)?
            .into_iter()
            .map(|data| {
                let (edge_type, num_src, num_dst) = (edge_type(&data), data.num_src, data.num_dst);
                Ok(DescribedBlock {
                    block: self.table.push(BlockRes { data })?,
                    edge_type,
                    num_src,
                    num_dst,
                })
            })
            .collect()
    }

    fn layer_nodes(
        &mut self,
        this: Resource<BatchRes>,
        layer: u32,
    ) -> wasmtime::Result<Vec<LayerNodes>> {
        self.host_calls += 1;
        self.with_layer(&this, layer, |l| {
            l.num_src
                .iter()
                .map(|(node_type, &num_src)| LayerNodes {
                    node_type: node_type.clone(),
                    num_src,
                    num_dst: l.num_dst.get(node_type).copied().unwrap_or(0),
                })
                .collect()
        })
    }

    fn src_node_types(
        &mut self,
        this: Resource<BatchRes>,
        layer: u32,
    ) -> wasmtime::Result<Vec<String>> {
        self.host_calls += 1;
        self.with_layer(&this, layer, |l| l.num_src.keys().cloned().collect())
    }

    fn num_src_nodes(
        &mut self,
        this: Resource<BatchRes>,
        layer: u32,
        node_type: String,
    ) -> wasmtime::Result<i64> {
        self.host_calls += 1;
        self.with_layer(&this, layer, |l| {
            l.num_src.get(&node_type).copied().unwrap_or(0)
        })
    }

    fn num_dst_nodes(
        &mut self,
        this: Resource<BatchRes>,
        layer: u32,
        node_type: String,
    ) -> wasmtime::Result<i64> {
        self.host_calls += 1;
        self.with_layer(&this, layer, |l| {
            l.num_dst.get(&node_type).copied().unwrap_or(0)
        })
    }

    fn input_features(
        &mut self,
        this: Resource<BatchRes>,
        node_type: String,
    ) -> wasmtime::Result<Option<Resource<TensorRes>>> {
        self.host_calls += 1;
        let feature = self
            .batch(&this)?
            .input_features
            .get(&node_type)
            .map(Tensor::shallow_clone);
        match feature {
            Some(t) => Ok(Some(self.push("input-features", t)?)),
            None => Ok(None),
        }
    }

    fn target_node_type(&mut self, this: Resource<BatchRes>) -> wasmtime::Result<String> {
        self.host_calls += 1;
        Ok(self.batch(&this)?.target_node_type.clone())
    }

    fn target_edges(
        &mut self,
        this: Resource<BatchRes>,
    ) -> wasmtime::Result<Option<graph::TargetEdges>> {
        self.host_calls += 1;
        let DecodeTargets::Edges(edges) = self.targets(&this)? else {
            return Ok(None);
        };
        let TargetEdgesData { etype, src, dst } = edges.shallow_clone();
        Ok(Some(graph::TargetEdges {
            edge_type: etype.into(),
            src: self.push("batch.target-edges", src)?,
            dst: self.push("batch.target-edges", dst)?,
        }))
    }

    fn lp_pairs(&mut self, this: Resource<BatchRes>) -> wasmtime::Result<Option<graph::LpPairs>> {
        self.host_calls += 1;
        let DecodeTargets::Pairs(pairs) = self.targets(&this)? else {
            return Ok(None);
        };
        let LpPairsData {
            etype,
            pos_src,
            pos_dst,
            neg_src,
            neg_dst,
        } = pairs.shallow_clone();
        Ok(Some(graph::LpPairs {
            edge_type: etype.into(),
            pos_src: self.push("batch.lp-pairs", pos_src)?,
            pos_dst: self.push("batch.lp-pairs", pos_dst)?,
            neg_src: self.push("batch.lp-pairs", neg_src)?,
            neg_dst: self.push("batch.lp-pairs", neg_dst)?,
        }))
    }

    fn drop(&mut self, rep: Resource<BatchRes>) -> wasmtime::Result<()> {
        self.host_calls += 1;
        self.table.delete(rep)?;
        Ok(())
    }
}

impl HostBlock for HostState {
    fn edge_type(&mut self, this: Resource<BlockRes>) -> wasmtime::Result<EdgeType> {
        self.host_calls += 1;
        Ok(edge_type(self.block(&this)?))
    }

    fn num_src(&mut self, this: Resource<BlockRes>) -> wasmtime::Result<i64> {
        self.host_calls += 1;
        Ok(self.block(&this)?.num_src)
    }

    fn num_dst(&mut self, this: Resource<BlockRes>) -> wasmtime::Result<i64> {
        self.host_calls += 1;
        Ok(self.block(&this)?.num_dst)
    }

    fn src(&mut self, this: Resource<BlockRes>) -> wasmtime::Result<Resource<TensorRes>> {
        self.host_calls += 1;
        let src = self.block(&this)?.src.shallow_clone();
        self.push("block.src", src)
    }

    fn dst(&mut self, this: Resource<BlockRes>) -> wasmtime::Result<Resource<TensorRes>> {
        self.host_calls += 1;
        let dst = self.block(&this)?.dst.shallow_clone();
        self.push("block.dst", dst)
    }

    fn edge_feature(
        &mut self,
        this: Resource<BlockRes>,
        name: String,
    ) -> wasmtime::Result<Option<Resource<TensorRes>>> {
        self.host_calls += 1;
        let feature = self
            .block(&this)?
            .edge_features
            .get(&name)
            .map(Tensor::shallow_clone);
        match feature {
            Some(t) => Ok(Some(self.push("block.edge-feature", t)?)),
            None => Ok(None),
        }
    }

    fn aggregate(
        &mut self,
        this: Resource<BlockRes>,
        h_src: Resource<TensorRes>,
        reduce: Reduce,
    ) -> wasmtime::Result<Resource<TensorRes>> {
        const OP: &str = "block.aggregate";
        self.host_calls += 1;
        let h_src = self.tensor(&h_src)?.shallow_clone();
        let num_dst = self.block(&this)?.num_dst;
        self.check_budget(
            OP,
            resized_numel(&h_src, 0, num_dst.max(0) as usize),
            h_src.kind(),
        )?;
        let edges = match self.block(&this)?.grouped_in_edges() {
            Ok(edges) => edges,
            Err(e) => return Err(self.stop(e.to_string())),
        };
        let result = edges.aggregate(&h_src, op_reduce(reduce));
        self.table.get_mut(&this)?.data.in_edges = Some(edges);
        self.finish(OP, result)
    }

    fn aggregate_many(
        &mut self,
        blocks: Vec<Resource<BlockRes>>,
        h_srcs: Vec<Resource<TensorRes>>,
        reduce: Reduce,
    ) -> wasmtime::Result<Resource<TensorRes>> {
        const OP: &str = "block.aggregate-many";
        if blocks.len() != h_srcs.len() || blocks.is_empty() {
            self.host_calls += 1;
            return Err(self.stop(format!(
                "{OP}: needs one source tensor per block and at least one block, got {} \
                 block(s) and {} tensor(s)",
                blocks.len(),
                h_srcs.len()
            )));
        }
        if blocks.len() == 1 {
            // One block: its own fused aggregation, with the grouping kept for the next call.
            let (block, h_src) = (blocks.into_iter().next(), h_srcs.into_iter().next());
            let (Some(block), Some(h_src)) = (block, h_src) else {
                unreachable!("one block and one tensor, checked above")
            };
            return self.aggregate(block, h_src, reduce);
        }
        self.host_calls += 1;
        let mut parts = Vec::with_capacity(blocks.len());
        for (b, h) in blocks.iter().zip(&h_srcs) {
            parts.push((
                self.block(b)?.shallow_clone(),
                self.tensor(h)?.shallow_clone(),
            ));
        }
        let num_dst = parts[0].0.num_dst;
        let edges: usize = parts.iter().map(|(b, _)| b.src.numel()).sum();
        let row_numel = |t: &Tensor| resized_numel(t, 0, 1);
        let widest = parts.iter().map(|(_, h)| row_numel(h)).max().unwrap_or(0);
        let working = widest.saturating_mul(edges.saturating_add(num_dst.max(0) as usize));
        self.check_budget(OP, working, parts[0].1.kind())?;
        let refs: Vec<(&BlockData, &Tensor)> = parts.iter().map(|(b, h)| (b, h)).collect();
        let result = aggregate_blocks(&refs, num_dst, op_reduce(reduce));
        self.finish(OP, result)
    }

    fn drop(&mut self, rep: Resource<BlockRes>) -> wasmtime::Result<()> {
        self.host_calls += 1;
        self.table.delete(rep)?;
        Ok(())
    }
}

/// A block's edge type, as the WIT spells it.
fn edge_type(b: &BlockData) -> EdgeType {
    EdgeType {
        src: b.src_type.clone(),
        rel: b.rel.clone(),
        dst: b.dst_type.clone(),
    }
}
