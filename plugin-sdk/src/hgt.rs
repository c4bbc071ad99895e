//! GraphStorm's heterogeneous graph transformer layer (`HGTLayer`, and `HGTLayerwithEdgeFeat`
//! with edge features), applied to a whole layer of a batch: [`HgtLayer`]. Every node type
//! has its own key, query, value and output (`a`) linear layers and a learnt skip gate, and
//! every edge type its own attention and message matrices per head and a prior per head.
//! Each edge type attends over each destination's in-edges of that type; the edge types into a
//! node type are averaged (DGL's `cross_reducer="mean"`), gated against `a(h)`, and passed
//! through the layer's end (norm, ReLU, NGNN). Weights are named after GraphStorm's state-dict
//! keys (`k_linears.<ntype>.weight`, `relation_att.<src>_<rel>_<dst>`, …), so a GraphStorm
//! `model.bin` maps onto them one to one. The built-in `hgt` plugin stacks these layers.

use std::collections::BTreeMap;

use crate::edge_feat::{EdgeEncoder, MpOp};
use crate::encoder_options::{Activation, HiddenLayerEnd};
use crate::nn::Scope;
use crate::{
    Batch, Dtype, EdgeType, Error, GraphSchema, Init, Mode, Reduce, Result, Tensor,
    torch_xavier_uniform,
};

/// A `torch.nn.Linear(in, out)`: `weight` `[out, in]` applied as `x @ weightᵀ + bias`, both
/// drawn from `U(-1/√in, 1/√in)` as torch's `reset_parameters` does.
#[derive(Debug)]
struct TorchLinear {
    weight: Tensor,
    bias: Tensor,
}

impl TorchLinear {
    fn new(scope: &Scope, in_dim: i64, out_dim: i64) -> Self {
        let bound = 1.0 / (in_dim as f64).sqrt();
        TorchLinear {
            weight: scope.param("weight", &[out_dim, in_dim], Init::Uniform((-bound, bound))),
            bias: scope.param("bias", &[out_dim], Init::Uniform((-bound, bound))),
        }
    }

    fn forward(&self, x: &Tensor) -> Tensor {
        &x.matmul(&self.weight.transpose(0, 1)) + &self.bias
    }
}

/// The parameters of one node type in one layer.
#[derive(Debug)]
struct NodeParams {
    k: TorchLinear,
    q: TorchLinear,
    v: TorchLinear,
    a: TorchLinear,
    /// `skip` `[1]`: the gate is `σ(skip)`.
    skip: Tensor,
}

/// The parameters of one edge type in one layer.
#[derive(Debug)]
struct RelationParams {
    /// `relation_pri` `[heads]`.
    pri: Tensor,
    /// `relation_att` and `relation_msg` `[heads, dk, dk]`.
    att: Tensor,
    msg: Tensor,
}

/// `x` `[N, heads, dk]` times `w[i]` `[dk, dk]` head by head (`einsum("bij,ijk->bik")`).
fn per_head(x: &Tensor, w: &Tensor) -> Tensor {
    x.transpose(0, 1).matmul(w).transpose(0, 1)
}

/// GraphStorm's `HGTLayer` over one layer of a batch. With `H` heads of `dk = out / H`
/// features, for every block of edge type `r = (s, rel, d)` (edges `u → v`):
///
/// ```text
/// k'[u]  = k_linears[s](h[u]) · relation_att[r]     per head, [H, dk]
/// v'[u]  = v_linears[s](h[u]) · relation_msg[r]
/// q[v]   = q_linears[d](h[v])
/// a_uv   = softmax over v's in-edges of type r of  ⟨q[v], k'[u]⟩ · relation_pri[r] / √dk
/// m_r[v] = Σ_u a_uv v'[u]
/// ```
///
/// then per destination node type `t`, `α = σ(skip[t])`:
/// `out[t] = end(dropout(mean_r m_r, p) · α + a_linears[t](h[t]) · (1 − α))`, the mean over
/// every edge type of the schema into `t` (DGL's `cross_reducer="mean"`: an edge type without
/// edges in the batch counts with zeros), heads concatenated. A node type that no edge type
/// enters gets GraphStorm's pseudo self-loop, `a_linears[t](h[t])` on both sides of the gate.
/// `end` is ReLU in GraphStorm's plain layer ([`new`](Self::new)); the encoder's options add a
/// norm and NGNN layers ([`with_options`](Self::with_options)).
///
/// With edge features (GraphStorm's `HGTLayerwithEdgeFeat`) the keys and values of the edge
/// types with features are per edge: with `edge_feat_mp_op: concat` `k = k_linears[s](h[u]) +
/// ef(e)` and `v = v_linears[s](h[u]) + ef(e)` (one `ef_linears.<src_rel_dst>` per such edge
/// type), with the other ops `k = k_linears[s](h[u] op e)`, `v = v_linears[s](h[u] op e)`.
///
/// Weights, created in this order, every `nn.Linear` `[out, in]` (applied as `x @ Wᵀ + b`,
/// weight and bias from `U(-1/√in, 1/√in)` as torch initialises them): per node type of the
/// schema `<scope>.k_linears.<ntype>.{weight,bias}`, then `q_linears`, `v_linears`,
/// `a_linears`, and `<scope>.skip.<ntype>` `[1]` (ones); per edge type of the schema
/// `<scope>.relation_pri.<key>` `[H]` (ones), `<scope>.relation_att.<key>` and
/// `<scope>.relation_msg.<key>` `[H, dk, dk]` (torch's Xavier-uniform, gain 1), `<key>`
/// GraphStorm's `src_rel_dst`; with edge features and concat, `<scope>.ef_linears.<key>`
/// `[out, in]` per edge type with features.
#[derive(Debug)]
pub struct HgtLayer {
    /// Per node type, by name (GraphStorm builds them for every node type of the graph).
    nodes: BTreeMap<String, NodeParams>,
    /// Per edge type, by canonical name (`src:rel:dst`).
    relations: BTreeMap<String, RelationParams>,
    /// The number of edge types of the graph schema into each node type: what DGL's
    /// `cross_reducer="mean"` divides by, whether or not a batch has edges of each.
    relations_into: BTreeMap<String, usize>,
    /// Norm (`norms.<ntype>`, with `gnn_norm`), ReLU and, on hidden layers, NGNN.
    end: HiddenLayerEnd,
    /// `ef_linears.<src_rel_dst>` of the edge types with features, with `edge_feat_mp_op:
    /// concat` (the other ops join the edge embedding to the source features).
    ef_linears: BTreeMap<String, TorchLinear>,
    op: MpOp,
    heads: i64,
    head_dim: i64,
    out_dim: i64,
}

impl HgtLayer {
    /// GraphStorm's plain `HGTLayer(in_dim, out_dim, schema, heads)` under `scope`: no norm,
    /// ReLU, no NGNN layers, no edge features. An `invalid_argument` error when `heads` does
    /// not divide `out_dim`.
    pub fn new(
        scope: &Scope,
        schema: &GraphSchema,
        heads: i64,
        (in_dim, out_dim): (i64, i64),
    ) -> Result<Self> {
        check_heads(heads, out_dim)?;
        let end = HiddenLayerEnd::new(scope, out_dim, None, Some(Activation::Relu), 0, 0.0);
        Self::with_options(scope, schema, heads, (in_dim, out_dim), end, None)
    }

    /// The layer under `scope` with `end` after the gate (GraphStorm's `gnn_norm`, ReLU and
    /// NGNN layers; built by the caller, so its weights come first) and, with
    /// `edge_features`, GraphStorm's `HGTLayerwithEdgeFeat` for the edge types the encoder
    /// has features of, joined by the op. An `invalid_argument` error when `heads` does not
    /// divide `out_dim`.
    pub fn with_options(
        scope: &Scope,
        schema: &GraphSchema,
        heads: i64,
        (in_dim, out_dim): (i64, i64),
        end: HiddenLayerEnd,
        edge_features: Option<(&EdgeEncoder, MpOp)>,
    ) -> Result<Self> {
        check_heads(heads, out_dim)?;
        let head_dim = out_dim / heads;
        let nodes = schema
            .node_types
            .iter()
            .map(|t| {
                let linear =
                    |name: &str| TorchLinear::new(&scope.sub(name).sub(&t.name), in_dim, out_dim);
                let params = NodeParams {
                    k: linear("k_linears"),
                    q: linear("q_linears"),
                    v: linear("v_linears"),
                    a: linear("a_linears"),
                    skip: scope.sub("skip").param(&t.name, &[1], Init::Ones),
                };
                (t.name.clone(), params)
            })
            .collect();
        let matrix = [heads, head_dim, head_dim];
        let mut relations = BTreeMap::new();
        let mut relations_into: BTreeMap<String, usize> = BTreeMap::new();
        for et in &schema.edge_types {
            // GraphStorm's ParameterDicts key an edge type by `'_'.join(canonical etype)`.
            let key = graphstorm_key(et);
            let params = RelationParams {
                pri: scope.sub("relation_pri").param(&key, &[heads], Init::Ones),
                att: scope.sub("relation_att").param(
                    &key,
                    &matrix,
                    torch_xavier_uniform(&matrix, 1.0),
                ),
                msg: scope.sub("relation_msg").param(
                    &key,
                    &matrix,
                    torch_xavier_uniform(&matrix, 1.0),
                ),
            };
            relations.insert(et.canonical_name(), params);
            *relations_into.entry(et.dst.clone()).or_default() += 1;
        }
        let op = edge_features.map_or(MpOp::Concat, |(_, op)| op);
        // HGTLayerwithEdgeFeat keys these by `'_'.join(canonical etype)`, as the relations.
        let ef_linears = match edge_features {
            Some((edge_encoder, MpOp::Concat)) => schema
                .edge_types
                .iter()
                .filter(|et| edge_encoder.has(&et.canonical_name()))
                .map(|et| {
                    let scope = scope.sub("ef_linears").sub(graphstorm_key(et));
                    (
                        et.canonical_name(),
                        TorchLinear::new(&scope, in_dim, out_dim),
                    )
                })
                .collect(),
            _ => BTreeMap::new(),
        };
        Ok(HgtLayer {
            nodes,
            relations,
            relations_into,
            end,
            ef_linears,
            op,
            heads,
            head_dim,
            out_dim,
        })
    }

    /// The number of attention heads.
    pub fn heads(&self) -> i64 {
        self.heads
    }

    /// The output width (heads times their width).
    pub fn out_dim(&self) -> i64 {
        self.out_dim
    }

    fn node_params(&self, node_type: &str) -> Result<&NodeParams> {
        self.nodes.get(node_type).ok_or_else(|| {
            Error::invalid_argument(format!(
                "the batch has node type `{node_type}`, which the graph schema given to `init` \
                 lacks"
            ))
        })
    }

    /// The keys and values `[E, heads, dk]` of the edges of `edge_type` with edge embeddings
    /// `e`, as `HGTLayerwithEdgeFeat` computes them from the edges' source features `h_src`:
    /// with concat `k(h_src) + ef(e)` and `v(h_src) + ef(e)`, else `k(h_src op e)` and
    /// `v(h_src op e)`.
    fn edge_keys(
        &self,
        src_type: &str,
        edge_type: &EdgeType,
        h_src: &Tensor,
        e: &Tensor,
    ) -> Result<(Tensor, Tensor)> {
        let params = self.node_params(src_type)?;
        let shape = [-1, self.heads, self.head_dim];
        let (k, v) = match self.ef_linears.get(&edge_type.canonical_name()) {
            Some(ef) => {
                let ef = ef.forward(e);
                (
                    &params.k.forward(h_src) + &ef,
                    &params.v.forward(h_src) + &ef,
                )
            }
            None => {
                let joined = self.op.combine(h_src, e);
                (params.k.forward(&joined), params.v.forward(&joined))
            }
        };
        Ok((k.reshape(&shape), v.reshape(&shape)))
    }

    /// The layer's output for every destination node type of layer `layer` of `batch`, from
    /// `h`, the layer's input per node type (destinations first in each type's rows):
    /// `end(dropout(T, dropout)·σ(skip) + a(h_v)·(1 − σ(skip)))`, `T` the mean over the
    /// schema's edge types into the type of each one's attention-weighted messages. `mode`
    /// goes to the end (batch norm); `edges`, the encoder's edge embeddings, to the edge types
    /// with features (`None`: no edge features).
    pub fn forward(
        &self,
        batch: &Batch,
        layer: u32,
        h: &BTreeMap<String, Tensor>,
        dropout: f64,
        mode: Mode,
        edges: Option<&EdgeEncoder>,
    ) -> Result<BTreeMap<String, Tensor>> {
        let (heads, dk) = (self.heads, self.head_dim);
        let features = |t: &str, edge_type: &EdgeType| {
            h.get(t).ok_or_else(|| {
                Error::unsupported(format!(
                    "node type `{t}` has no input features, and it is an endpoint of edge type \
                     `{edge_type}` (hint: give it a feature with --node-feat-name)"
                ))
            })
        };
        // Keys, values and queries of a node type do not depend on the edge type: computed
        // once per layer, as `[N, heads, dk]`.
        let mut keys: BTreeMap<String, (Tensor, Tensor)> = BTreeMap::new();
        let mut queries: BTreeMap<String, Tensor> = BTreeMap::new();
        let mut summed: BTreeMap<String, Tensor> = BTreeMap::new();
        let scale = Tensor::from_f32(&[(dk as f32).sqrt()], &[1]);
        for block in batch.blocks(layer) {
            let edge_type = block.edge_type();
            let Some(relation) = self.relations.get(&edge_type.canonical_name()) else {
                return Err(Error::invalid_argument(format!(
                    "the batch has edge type `{edge_type}`, which the graph schema given to \
                     `init` lacks"
                )));
            };
            let (s, d) = (&edge_type.src, &edge_type.dst);
            let num_dst = block.num_dst();
            if !queries.contains_key(d) {
                let (params, x) = (self.node_params(d)?, features(d, &edge_type)?);
                let n = batch.num_dst_nodes(layer, d);
                queries.insert(
                    d.clone(),
                    params
                        .q
                        .forward(&x.narrow(0, 0, n))
                        .reshape(&[-1, heads, dk]),
                );
            }
            let (src, dst) = (block.src(), block.dst());
            let embedded = match edges {
                Some(edge_encoder) => edge_encoder.embed(&block)?,
                None => None,
            };
            // Every edge's key and value `[E, heads, dk]` after the relation's matrices.
            let (k, v) = match embedded {
                Some(e) => {
                    let (k, v) = self.edge_keys(
                        s,
                        &edge_type,
                        &features(s, &edge_type)?.index_select(0, &src),
                        &e,
                    )?;
                    (per_head(&k, &relation.att), per_head(&v, &relation.msg))
                }
                None => {
                    if !keys.contains_key(s) {
                        let (params, x) = (self.node_params(s)?, features(s, &edge_type)?);
                        let k = params.k.forward(x).reshape(&[-1, heads, dk]);
                        let v = params.v.forward(x).reshape(&[-1, heads, dk]);
                        keys.insert(s.clone(), (k, v));
                    }
                    let (k, v) = &keys[s];
                    let k = per_head(k, &relation.att).index_select(0, &src);
                    let v = per_head(v, &relation.msg).index_select(0, &src);
                    (k, v)
                }
            };
            let q = &queries[d];
            // score[e, i] = <q_dst, k'_src>_i · pri[i] / √dk, softmax over each dst's in-edges.
            let score = q
                .index_select(0, &dst)
                .mul(&k)
                .sum_dim(-1, false)
                .mul(&relation.pri)
                .div(&scale);
            let attention = score.segment_softmax(&dst, num_dst);
            let messages = v.mul(&attention.reshape(&[-1, heads, 1])).scatter_reduce(
                &dst,
                num_dst,
                Reduce::Sum,
            );
            let merged = match summed.remove(d) {
                Some(prev) => &prev + &messages,
                None => messages,
            };
            summed.insert(d.clone(), merged);
        }

        let mut out = BTreeMap::new();
        for (t, n) in batch.dst_node_counts(layer) {
            let params = self.node_params(&t)?;
            let Some(x) = h.get(&t) else {
                return Err(Error::unsupported(format!(
                    "node type `{t}` has no input features, and HGT's output gate needs them \
                     (hint: give it a feature with --node-feat-name)"
                )));
            };
            let alpha = params.skip.sigmoid();
            let beta = alpha.neg().add_scalar(1.0);
            let skip = params.a.forward(&x.narrow(0, 0, n));
            let transformed = match self.relations_into.get(&t) {
                // As DGL's `multi_update_all(..., cross_reducer="mean")`: every edge type into
                // `t` counts, an edge type without edges in this batch contributing zeros.
                Some(&count) => {
                    let total = summed
                        .remove(&t)
                        .unwrap_or_else(|| Tensor::zeros(&[n, heads, dk], Dtype::F32));
                    let mean = total.div(&Tensor::from_f32(&[count as f32], &[1]));
                    mean.reshape(&[n, self.out_dim]).dropout(dropout)
                }
                // No edge type into `t` at all: GraphStorm's pseudo self-loop, `a(h)` on both
                // sides of the gate.
                None => skip.dropout(dropout),
            };
            let gated = &transformed.mul(&alpha) + &skip.mul(&beta);
            let y = self.end.apply(&t, gated, mode);
            out.insert(t, y);
        }
        Ok(out)
    }
}

/// GraphStorm's key of an edge type in the HGT layer's parameter dicts: `src_rel_dst`.
fn graphstorm_key(et: &EdgeType) -> String {
    format!("{}_{}_{}", et.src, et.rel, et.dst)
}

/// `heads` must be at least 1 and divide `out_dim`.
fn check_heads(heads: i64, out_dim: i64) -> Result<()> {
    if heads < 1 || out_dim % heads != 0 {
        return Err(Error::invalid_argument(format!(
            "HGT: heads {heads} does not divide out_dim {out_dim} (each head gets out_dim / \
             heads features)"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_must_divide_the_output_width_and_the_error_names_both() {
        assert!(check_heads(2, 8).is_ok());
        assert!(check_heads(8, 8).is_ok());
        let error = format!("{:?}", check_heads(3, 8).unwrap_err());
        assert!(
            error.contains("InvalidArgument") && error.contains("heads 3"),
            "{error}"
        );
        assert!(error.contains("out_dim 8"), "{error}");
        assert!(check_heads(0, 8).is_err());
    }

    #[test]
    fn edge_types_are_keyed_as_graphstorm_joins_them() {
        let et = EdgeType::new("paper", "written-by", "author");
        assert_eq!(graphstorm_key(&et), "paper_written-by_author");
    }
}
