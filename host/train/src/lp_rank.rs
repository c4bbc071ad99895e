//! Ranking link-prediction evaluation pairs by scores: the rank of each positive among its
//! negatives (GraphStorm's `calc_ranking`), shared by the host's score function and a plugin's
//! `decode`. A plugin decodes explicit pairs (`batch.lp-pairs`, `[P]` positives and `[P, K]`
//! negatives), so [`rank_by_decode`] spells every kind of evaluation negatives out as `[P, K]`
//! index tensors into the embeddings of every node.

use gs_batch::{BatchData, EdgeTypeName, LpPairsData, Mode};
use gs_graph::{EdgeType, EvalNegatives, NodeId, rank_among_all};
use gs_tensor::{Kind, Tensor, tch};

use crate::{TaskModel, TrainError};

fn read_error(e: tch::TchError) -> TrainError {
    TrainError::Tensor(gs_tensor::TensorError::torch("read scores", e))
}

/// Appends the rank of each positive (1 + the negatives whose sigmoid score is at least its
/// own; ties count against the positive) to `ranks`, and `K + 1` to `sizes`.
/// `positive` is `[P]`, `negatives` `[P, K]`, both raw scores.
pub(crate) fn count_ranks(
    positive: &Tensor,
    negatives: &Tensor,
    ranks: &mut Vec<u64>,
    sizes: &mut Vec<u64>,
) -> Result<(), TrainError> {
    let k = negatives.size()[1];
    let above = negatives
        .sigmoid()
        .ge_tensor(&positive.sigmoid().unsqueeze(1))
        .sum_dim_intlist(1, false, Kind::Int64);
    let above = Vec::<i64>::try_from(above).map_err(read_error)?;
    ranks.extend(above.iter().map(|&a| a as u64 + 1));
    sizes.extend(std::iter::repeat_n(k as u64 + 1, above.len()));
    Ok(())
}

/// Appends the rank of each positive destination among every node of its type (`probabilities`
/// `[P, N]`, sigmoid scores of every candidate destination), skipping the filtered ones.
pub(crate) fn rank_among_every_node(
    probabilities: &Tensor,
    pos_dst: &[NodeId],
    num_candidates: u64,
    exclude: Option<&Vec<Vec<NodeId>>>,
    ranks: &mut Vec<u64>,
    sizes: &mut Vec<u64>,
) -> Result<(), TrainError> {
    let n = num_candidates as usize;
    let all = Vec::<f32>::try_from(probabilities.to_kind(Kind::Float).flatten(0, -1))
        .map_err(read_error)?;
    for (i, &pos) in pos_dst.iter().enumerate() {
        let row = &all[i * n..(i + 1) * n];
        let skip: &[NodeId] = exclude.map_or(&[], |e| e[i].as_slice());
        ranks.push(rank_among_all(row, pos, skip));
        sizes.push(num_candidates - skip.len() as u64);
    }
    Ok(())
}

/// One evaluation batch's positives of edge type `et`, for [`rank_by_decode`].
pub(crate) struct EvalPairs<'a> {
    pub(crate) et: &'a EdgeType,
    /// Embeddings of every node of the source and destination types (normalised).
    pub(crate) hs: &'a Tensor,
    pub(crate) hd: &'a Tensor,
    pub(crate) pos_src: &'a [NodeId],
    pub(crate) pos_dst: &'a [NodeId],
}

fn index(ids: &[NodeId]) -> Tensor {
    Tensor::from_slice(&ids.iter().map(|&i| i as i64).collect::<Vec<_>>())
}

/// `[P, K]` rows: `ids` (`[P · K]`, positive `i`'s at `i · K`) or every positive the same `[K]`.
fn per_positive(ids: &[NodeId], p: i64) -> Tensor {
    index(ids).reshape([p, -1])
}

fn shared(ids: &[NodeId], p: i64) -> Tensor {
    index(ids)
        .unsqueeze(0)
        .expand([p, ids.len() as i64], false)
        .contiguous()
}

/// `[P]` ids repeated `k` times along a second dimension: `[P, K]`.
fn repeated(ids: &Tensor, k: i64) -> Tensor {
    ids.unsqueeze(1).expand([-1, k], false).contiguous()
}

/// Ranks one evaluation batch by the plugin's `decode` (the model has no host score function):
/// every kind of negatives becomes `[P, K]` pairs with the positives' sources or destinations.
pub(crate) fn rank_by_decode(
    model: &mut TaskModel,
    negatives: &EvalNegatives,
    pairs: &EvalPairs<'_>,
    ranks: &mut Vec<u64>,
    sizes: &mut Vec<u64>,
) -> Result<(), TrainError> {
    let et = pairs.et;
    let mut embeddings = vec![(et.src.clone(), pairs.hs.shallow_clone())];
    if et.dst != et.src {
        embeddings.push((et.dst.clone(), pairs.hd.shallow_clone()));
    }
    let (ps, pd) = (index(pairs.pos_src), index(pairs.pos_dst));
    let p = pairs.pos_src.len() as i64;
    let batch = BatchData::default();
    let mut score = |neg_src: Tensor, neg_dst: Tensor| {
        let lp = LpPairsData {
            etype: EdgeTypeName {
                src: et.src.clone(),
                rel: et.rel.clone(),
                dst: et.dst.clone(),
            },
            pos_src: ps.shallow_clone(),
            pos_dst: pd.shallow_clone(),
            neg_src,
            neg_dst,
        };
        model.lp_scores(&batch, &lp, &embeddings, Mode::Eval)
    };
    match negatives {
        EvalNegatives::PerPositive {
            k,
            neg_src,
            neg_dst,
        } => {
            let k = *k as i64;
            let (pos, neg) = score(repeated(&ps, k), per_positive(neg_dst, p))?;
            count_ranks(&pos, &neg, ranks, sizes)?;
            let (pos, neg) = score(per_positive(neg_src, p), repeated(&pd, k))?;
            count_ranks(&pos, &neg, ranks, sizes)?;
        }
        EvalNegatives::Shared { neg_src, neg_dst } => {
            let (pos, neg) = score(repeated(&ps, neg_dst.len() as i64), shared(neg_dst, p))?;
            count_ranks(&pos, &neg, ranks, sizes)?;
            let (pos, neg) = score(shared(neg_src, p), repeated(&pd, neg_src.len() as i64))?;
            count_ranks(&pos, &neg, ranks, sizes)?;
        }
        EvalNegatives::Fixed { k, neg_dst } => {
            let (pos, neg) = score(repeated(&ps, *k as i64), per_positive(neg_dst, p))?;
            count_ranks(&pos, &neg, ranks, sizes)?;
        }
        EvalNegatives::AllNodes {
            num_candidates,
            exclude,
        } => {
            let n = *num_candidates as i64;
            let every = Tensor::arange(n, (Kind::Int64, gs_tensor::Device::Cpu));
            let all = every.unsqueeze(0).expand([p, n], false).contiguous();
            let (_, neg) = score(repeated(&ps, n), all)?;
            rank_among_every_node(
                &neg.sigmoid(),
                pairs.pos_dst,
                *num_candidates,
                exclude.as_ref(),
                ranks,
                sizes,
            )?;
        }
    }
    Ok(())
}
