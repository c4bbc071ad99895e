//! Fused neighbour aggregation: for every destination node of a block, the sum, mean or max
//! of its in-edges' source rows, without the `[E, d]` message tensor.
//!
//! `h.index_select(0, src).scatter_reduce(dst, n, reduce)` writes one row per edge, scatters
//! it back, and its backward sorts the edges twice (`index_add` by source and by destination).
//! [`InEdges::aggregate`] builds the block's adjacency once, as a CSR matrix `A` by destination
//! (values 1, or 1/in-degree for the mean) and its transpose by source, both in O(E). The sum
//! and the mean are then `A @ h`, whose backward `Aᵀ @ grad` uses the transpose built ahead
//! (`csrc/csr_product.cpp`): one sparse product each way. The max goes through libtorch's
//! `embedding_bag` over the same grouping. `gs bench aggregation` times it against the pair
//! of ops it replaces.

use tch::{Kind, Tensor};

use crate::TensorError;
use crate::csr_product::{csr_matrix, csr_product};
use crate::ops::{Reduce, checked_numel};

type Result<T> = std::result::Result<T, TensorError>;

const OP: &str = "aggregate";

/// The edges of a block grouped by destination node: edge `k` of destination `v` for `k` in
/// `offsets[v]..offsets[v + 1]` comes from source row `sources[k]`.
#[derive(Debug)]
pub struct InEdges {
    /// int64 `[E]`: source rows, grouped by destination (stable within a destination).
    sources: Tensor,
    /// int64 `[num_dst + 1]`: where each destination's edges start, and `E` last.
    offsets: Tensor,
    /// int64 `[E]`: destination rows, grouped by source (the transpose's columns).
    destinations: Tensor,
    /// int64 `[num_src + 1]`: where each source's edges start in `destinations`.
    source_offsets: Tensor,
    /// f32 `[E]`: 1 / in-degree of each edge's destination, in `sources` order.
    mean_weights: Tensor,
    /// f32 `[E]`: the same weights in `destinations` order.
    mean_weights_by_source: Tensor,
    num_src: i64,
    num_dst: i64,
}

impl InEdges {
    /// Group edges `src[i] -> dst[i]` by destination (a stable counting sort; blocks sampled
    /// destination by destination are already grouped and are only checked).
    pub fn new(src: &[i64], dst: &[i64], num_src: i64, num_dst: i64) -> Result<Self> {
        if src.len() != dst.len() {
            return Err(TensorError::new(
                OP,
                format!("{} sources but {} destinations", src.len(), dst.len()),
            ));
        }
        if num_src < 0 || num_dst < 0 {
            return Err(TensorError::new(
                OP,
                format!("negative node counts: {num_src} sources, {num_dst} destinations"),
            ));
        }
        fn out_of(values: &[i64], bound: i64) -> Option<i64> {
            values.iter().copied().find(|&v| v < 0 || v >= bound)
        }
        if let Some(v) = out_of(src, num_src) {
            return Err(TensorError::new(
                OP,
                format!("source index {v} outside [0, {num_src})"),
            ));
        }
        if let Some(v) = out_of(dst, num_dst) {
            return Err(TensorError::new(
                OP,
                format!("destination index {v} outside [0, {num_dst})"),
            ));
        }
        let mut offsets = vec![0i64; num_dst as usize + 1];
        for &v in dst {
            offsets[v as usize + 1] += 1;
        }
        for v in 0..num_dst as usize {
            offsets[v + 1] += offsets[v];
        }
        let (sources, dst_sorted) = if dst.is_sorted() {
            (src.to_vec(), dst.to_vec())
        } else {
            let order = group_by(dst, &offsets);
            let grouped = order.iter().map(|&e| dst[e]).collect();
            (order.iter().map(|&e| src[e]).collect::<Vec<_>>(), grouped)
        };
        let inverse_degree = |v: i64| {
            let (start, end) = (offsets[v as usize], offsets[v as usize + 1]);
            1.0 / (end - start) as f32
        };
        let mean_weights: Vec<f32> = dst_sorted.iter().map(|&v| inverse_degree(v)).collect();
        // The transpose: the same edges grouped by source.
        let mut source_offsets = vec![0i64; num_src as usize + 1];
        for &u in &sources {
            source_offsets[u as usize + 1] += 1;
        }
        for u in 0..num_src as usize {
            source_offsets[u + 1] += source_offsets[u];
        }
        let order = group_by(&sources, &source_offsets);
        let destinations: Vec<i64> = order.iter().map(|&e| dst_sorted[e]).collect();
        let weights_by_source: Vec<f32> = order.iter().map(|&e| mean_weights[e]).collect();
        Ok(Self {
            sources: Tensor::from_slice(&sources),
            offsets: Tensor::from_slice(&offsets),
            destinations: Tensor::from_slice(&destinations),
            source_offsets: Tensor::from_slice(&source_offsets),
            mean_weights: Tensor::from_slice(&mean_weights),
            mean_weights_by_source: Tensor::from_slice(&weights_by_source),
            num_src,
            num_dst,
        })
    }

    /// A copy that shares the tensors (no data is copied).
    pub fn shallow_clone(&self) -> Self {
        Self {
            sources: self.sources.shallow_clone(),
            offsets: self.offsets.shallow_clone(),
            destinations: self.destinations.shallow_clone(),
            source_offsets: self.source_offsets.shallow_clone(),
            mean_weights: self.mean_weights.shallow_clone(),
            mean_weights_by_source: self.mean_weights_by_source.shallow_clone(),
            num_src: self.num_src,
            num_dst: self.num_dst,
        }
    }

    /// [`InEdges::new`] from int64 index tensors (on any device).
    pub fn from_tensors(src: &Tensor, dst: &Tensor, num_src: i64, num_dst: i64) -> Result<Self> {
        let values = |t: &Tensor| {
            Vec::<i64>::try_from(t.to_device(tch::Device::Cpu).flatten(0, -1))
                .map_err(|e| TensorError::torch(OP, e))
        };
        Self::new(&values(src)?, &values(dst)?, num_src, num_dst)
    }

    /// `[num_dst, ...]`: row `v` is the `reduce` of the rows of `h_src` (`[num_src, ...]`, float)
    /// over `v`'s in-edges, and zero for a destination without in-edges. Equal to
    /// `scatter_reduce(index_select(h_src, 0, src), dst, num_dst, reduce)`, gradient included.
    pub fn aggregate(&self, h_src: &Tensor, reduce: Reduce) -> Result<Tensor> {
        let shape = h_src.size();
        if shape.first() != Some(&self.num_src) {
            return Err(TensorError::new(
                OP,
                format!(
                    "the source rows have shape {shape:?}, but the block has {} source nodes \
                     (hint: pass the source type's rows of this layer)",
                    self.num_src
                ),
            ));
        }
        if !matches!(
            h_src.kind(),
            Kind::Float | Kind::Double | Kind::Half | Kind::BFloat16
        ) {
            return Err(TensorError::new(
                OP,
                format!(
                    "the source rows must be floating point, got {:?}",
                    h_src.kind()
                ),
            ));
        }
        let mut out_shape = shape.clone();
        out_shape[0] = self.num_dst;
        checked_numel(OP, &out_shape)?;
        let width: i64 = shape[1..].iter().product();
        let rows = h_src
            .f_reshape([self.num_src, width])
            .map_err(|e| TensorError::torch(OP, e))?;
        let out = match reduce {
            Reduce::Sum | Reduce::Mean => self.product(&rows, reduce == Reduce::Mean)?,
            Reduce::Max => self.bag_max(&rows)?,
        };
        out.f_reshape(&out_shape)
            .map_err(|e| TensorError::torch(OP, e))
    }

    /// `A @ rows` with `A` the block's adjacency by destination (weights 1, or 1/in-degree).
    fn product(&self, rows: &Tensor, mean: bool) -> Result<Tensor> {
        let options = (rows.kind(), rows.device());
        let (weights, weights_by_source) = if mean {
            (
                self.mean_weights.to_device(options.1).to_kind(options.0),
                self.mean_weights_by_source
                    .to_device(options.1)
                    .to_kind(options.0),
            )
        } else {
            let ones = Tensor::ones(self.sources.size(), options);
            (ones.shallow_clone(), ones)
        };
        let on_device = |t: &Tensor| t.to_device(options.1);
        let matrix = csr_matrix(
            &on_device(&self.offsets),
            &on_device(&self.sources),
            &weights,
            self.num_dst,
            self.num_src,
        )?;
        let transposed = csr_matrix(
            &on_device(&self.source_offsets),
            &on_device(&self.destinations),
            &weights_by_source,
            self.num_src,
            self.num_dst,
        )?;
        csr_product(&rows.contiguous(), &matrix, &transposed)
    }

    /// The row-wise max over each destination's in-edges (libtorch's `embedding_bag`).
    fn bag_max(&self, rows: &Tensor) -> Result<Tensor> {
        let device = rows.device();
        let (out, ..) = Tensor::f_embedding_bag::<Tensor>(
            rows,
            &self.sources.to_device(device),
            &self.offsets.to_device(device),
            false,
            2,
            false,
            None,
            true,
        )
        .map_err(|e| TensorError::torch(OP, e))?;
        Ok(out)
    }
}

/// Stable counting sort of `keys` by value, with `offsets` the start of each value's group:
/// the position in `keys` of each key in sorted order.
fn group_by(keys: &[i64], offsets: &[i64]) -> Vec<usize> {
    let mut next = offsets.to_vec();
    let mut order = vec![0usize; keys.len()];
    for (e, &k) in keys.iter().enumerate() {
        order[next[k as usize] as usize] = e;
        next[k as usize] += 1;
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::{index_select, scatter_reduce};

    fn unfused(h: &Tensor, src: &[i64], dst: &[i64], n: i64, reduce: Reduce) -> Tensor {
        let messages = index_select(h, 0, &Tensor::from_slice(src)).unwrap();
        scatter_reduce(&messages, &Tensor::from_slice(dst), n, reduce).unwrap()
    }

    fn max_diff(a: &Tensor, b: &Tensor) -> f64 {
        (a - b).abs().max().double_value(&[])
    }

    #[test]
    fn aggregate_equals_gather_then_scatter_with_gradients() {
        // Unsorted destinations, a destination without edges (3), a repeated source, a
        // repeated edge (4 -> 2) and a source without edges (5).
        let (src, dst) = ([4i64, 0, 2, 2, 1, 0, 3, 4], [2i64, 0, 2, 1, 0, 4, 2, 2]);
        for reduce in [Reduce::Sum, Reduce::Mean, Reduce::Max] {
            let h = Tensor::randn([6, 3, 2], (Kind::Float, tch::Device::Cpu));
            let (h1, h2) = (h.copy().set_requires_grad(true), h.set_requires_grad(true));
            let edges = InEdges::new(&src, &dst, 6, 5).unwrap();
            let fused = edges.aggregate(&h1, reduce).unwrap();
            let plain = unfused(&h2, &src, &dst, 5, reduce);
            assert_eq!(fused.size(), vec![5, 3, 2]);
            assert!(max_diff(&fused, &plain) < 1e-6, "{reduce:?}");
            assert_eq!(fused.get(3).abs().sum(Kind::Float).double_value(&[]), 0.0);
            let weights = Tensor::randn([5, 3, 2], (Kind::Float, tch::Device::Cpu));
            (&fused * &weights).sum(Kind::Float).backward();
            (&plain * &weights).sum(Kind::Float).backward();
            assert!(
                max_diff(&h1.grad(), &h2.grad()) < 1e-6,
                "{reduce:?} gradient"
            );
        }
    }

    #[test]
    fn bad_blocks_and_rows_are_refused_with_the_reason() {
        let e = InEdges::new(&[0, 5], &[0, 0], 3, 1)
            .unwrap_err()
            .to_string();
        assert!(e.contains("source index 5 outside [0, 3)"), "{e}");
        let e = InEdges::new(&[0], &[1], 3, 1).unwrap_err().to_string();
        assert!(e.contains("destination index 1 outside [0, 1)"), "{e}");
        let e = InEdges::new(&[], &[], 3, -1).unwrap_err().to_string();
        assert!(e.contains("negative node counts"), "{e}");
        let edges = InEdges::new(&[0, 1], &[0, 0], 2, 1).unwrap();
        let h = Tensor::ones([3, 4], (Kind::Float, tch::Device::Cpu));
        let e = edges.aggregate(&h, Reduce::Mean).unwrap_err().to_string();
        assert!(e.contains("block has 2 source nodes"), "{e}");
        let ids = Tensor::from_slice(&[1i64, 2]);
        let e = edges.aggregate(&ids, Reduce::Sum).unwrap_err().to_string();
        assert!(e.contains("floating point"), "{e}");
    }
}
