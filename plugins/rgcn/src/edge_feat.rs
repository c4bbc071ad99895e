//! rgcn's `GraphConvwithEdgeFeat`: on an edge type with features (`edge_feat_name`),
//! GraphStorm's `RelGraphConvLayer` uses it instead of the relation weight:
//! `m = op(h_src, e) @ weights`, summed into the destination and scaled by its in-degree to the
//! power -1/2. The edge input layer and the selection are the SDK's (`gs_plugin_sdk::edge_feat`).

use gs_plugin_sdk::edge_feat::{MpOp, graphstorm_etype_key};
use gs_plugin_sdk::prelude::*;

/// GraphStorm's `GraphConvwithEdgeFeat` without bias (as `RelGraphConvLayer` builds it):
/// `weights` `[in · (2 for concat, else 1), out]`.
pub(crate) struct EdgeFeatConv {
    weights: Tensor,
    op: MpOp,
}

impl EdgeFeatConv {
    /// `<scope>.conv.mods.<etype>.weights`, xavier uniform with gain 1 as GraphStorm.
    pub(crate) fn new(
        scope: &Scope,
        edge_type: &EdgeType,
        op: MpOp,
        in_dim: i64,
        out_dim: i64,
    ) -> Self {
        let rows = if op == MpOp::Concat {
            2 * in_dim
        } else {
            in_dim
        };
        let shape = [rows, out_dim];
        let weights = scope
            .sub("conv")
            .sub("mods")
            .sub(graphstorm_etype_key(edge_type))
            .param("weights", &shape, crate::torch_xavier_uniform(&shape, 1.0));
        EdgeFeatConv { weights, op }
    }

    /// `h[v] = Σ_{e=(u,v)} op(h_src[u], e_h[e]) @ weights · deg(v)^-1/2`; 0 without in-edges.
    pub(crate) fn forward(&self, block: &Block, h_src: &Tensor, e_h: &Tensor) -> Tensor {
        let (src, dst, n) = (block.src(), block.dst(), block.num_dst());
        let messages = self
            .op
            .combine(&h_src.index_select(0, &src), e_h)
            .matmul(&self.weights);
        let summed = messages.scatter_reduce(&dst, n, Reduce::Sum);
        let ones = Tensor::ones(&[src.size(0), 1], Dtype::F32);
        // A node without in-edges sums nothing; clamping its degree keeps the 0 finite.
        let norm = ones
            .scatter_reduce(&dst, n, Reduce::Sum)
            .clamp(1.0, f64::INFINITY)
            .pow_scalar(-0.5);
        &summed * &norm
    }
}
