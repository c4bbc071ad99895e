//! Native versions of the built-in encoders `rgcn`, `rgat`, `hgt`, `gat` and `gatv2`, for
//! `gs bench encoders`: each runs the operations its plugin's forward runs, in the same order
//! (see `plugins/<name>/README.md`), directly on the host's kernels (`gs_tensor::ops`, the
//! blocks' `InEdges` for `block.aggregate`) with the plugin's own weights. What differs from
//! the plugin is only the WebAssembly boundary: no guest code, no handle table, no host call.
//! `sage` has its native twin in gs-train ([`gs_train::NativeSage`]).
//!
//! The defaults the plugins take from a bare configuration are assumed: `rgcn` with a weight
//! per relation (`num_bases: -1`) and the self-loop, `rgat` with the self-loop, dropout 0.

use std::collections::BTreeMap;

use anyhow::Context;
use gs_batch::{BatchData, BlockData};
use gs_tensor::ops::{self, Reduce};
use gs_tensor::{Kind, Tensor};

/// DGL's slope of the leaky ReLU over attention logits.
const NEGATIVE_SLOPE: f64 = 0.2;

/// The built-in encoders with a native twin here.
pub(crate) const ENCODERS: &[&str] = &["rgcn", "rgat", "hgt", "gat", "gatv2"];

/// A plugin's weights by their plugin-side name (the checkpoint name without `gnn/`).
pub(crate) struct Weights(pub(crate) BTreeMap<String, Tensor>);

impl Weights {
    fn get(&self, name: &str) -> anyhow::Result<&Tensor> {
        self.0
            .get(name)
            .with_context(|| format!("the plugin has no weight `{name}`"))
    }
}

/// Per node type, a layer's representations.
type PerType = BTreeMap<String, Tensor>;

/// The target embeddings `encoder` computes for `batch`; `etypes` are the graph's canonical
/// edge types (`src:rel:dst`) in schema order.
pub(crate) fn encode(
    encoder: &str,
    batch: &BatchData,
    w: &Weights,
    etypes: &[String],
) -> anyhow::Result<Tensor> {
    let mut h = input_layer(batch, w)?;
    let last = batch.layers.len() - 1;
    for l in 0..batch.layers.len() {
        let out = match encoder {
            "rgcn" => relational(batch, l, &h, w, |b, h| rgcn_message(l, b, h, w, etypes))?,
            "rgat" => relational(batch, l, &h, w, |b, h| rgat_message(l, b, h, w))?,
            "hgt" => hgt_layer(batch, l, &h, w, etypes)?,
            "gat" | "gatv2" => gat_layer(batch, l, &h, w, encoder == "gatv2", l != last)?,
            other => anyhow::bail!("no native twin of encoder `{other}`"),
        };
        h = if l != last && matches!(encoder, "rgcn" | "rgat") {
            out.into_iter()
                .map(|(t, x)| Ok((t, ops::dropout(&ops::relu(&x)?, 0.0, false)?)))
                .collect::<anyhow::Result<_>>()?
        } else {
            out
        };
    }
    h.remove(&batch.target_node_type)
        .context("the last layer has no target nodes")
}

fn input_layer(batch: &BatchData, w: &Weights) -> anyhow::Result<PerType> {
    let mut h = PerType::new();
    for (t, x) in &batch.input_features {
        if let Some(proj) = w.0.get(&format!("node_embed.input_projs.{t}")) {
            h.insert(t.clone(), ops::matmul(x, proj)?);
        }
    }
    Ok(h)
}

fn rows<'a>(h: &'a PerType, t: &str) -> anyhow::Result<&'a Tensor> {
    h.get(t)
        .with_context(|| format!("node type `{t}` has no representation"))
}

/// `rgcn` and `rgat`'s layer: the messages of every block summed per destination type, zeros
/// for a type without a block, then `h_v @ loop_weight + h_bias`.
fn relational(
    batch: &BatchData,
    l: usize,
    h: &PerType,
    w: &Weights,
    message: impl Fn(&BlockData, &PerType) -> anyhow::Result<Tensor>,
) -> anyhow::Result<PerType> {
    let layer = &batch.layers[l];
    let mut out = PerType::new();
    for block in &layer.blocks {
        let y = message(block, h)?;
        let merged = match out.remove(&block.dst_type) {
            Some(prev) => ops::add(&prev, &y)?,
            None => y,
        };
        out.insert(block.dst_type.clone(), merged);
    }
    let loop_weight = w.get(&format!("gnn._layers.{l}.loop_weight"))?;
    let h_bias = w.get(&format!("gnn._layers.{l}.h_bias"))?;
    let out_dim = h_bias.size()[0];
    for t in layer.num_src.keys() {
        let n = layer.num_dst.get(t).copied().unwrap_or(0);
        if n > 0 && !out.contains_key(t) {
            out.insert(
                t.clone(),
                ops::zeros(&[n, out_dim], Kind::Float, h_bias.device())?,
            );
        }
    }
    let mut result = PerType::new();
    for (t, y) in out {
        let n = layer.num_dst[&t];
        let self_loop = ops::matmul(&ops::narrow(rows(h, &t)?, 0, 0, n)?, loop_weight)?;
        result.insert(t, ops::add(&ops::add(&y, &self_loop)?, h_bias)?);
    }
    Ok(result)
}

/// RGCN: the mean over in-edges of `h_u @ W[r]`, multiplying on the narrower side.
fn rgcn_message(
    l: usize,
    block: &BlockData,
    h: &PerType,
    w: &Weights,
    etypes: &[String],
) -> anyhow::Result<Tensor> {
    let name = format!("{}:{}:{}", block.src_type, block.rel, block.dst_type);
    let r = etypes
        .iter()
        .position(|e| *e == name)
        .with_context(|| format!("unknown edge type `{name}`"))? as i64;
    let weights = w.get(&format!("gnn._layers.{l}.weight"))?;
    let (in_dim, out_dim) = (weights.size()[1], weights.size()[2]);
    let wr = ops::reshape(&ops::narrow(weights, 0, r, 1)?, &[in_dim, out_dim])?;
    let edges = block.grouped_in_edges()?;
    let h_src = rows(h, &block.src_type)?;
    Ok(if in_dim > out_dim {
        edges.aggregate(&ops::matmul(h_src, &wr)?, Reduce::Mean)?
    } else {
        ops::matmul(&edges.aggregate(h_src, Reduce::Mean)?, &wr)?
    })
}

/// `[E, heads]` softmax over each destination's in-edges of `logits`, weighting `values`
/// (`[N_src, heads, f]` gathered by `src`), summed into `[num_dst, heads · f]`.
fn attend(logits: &Tensor, values: &Tensor, dst: &Tensor, num_dst: i64) -> anyhow::Result<Tensor> {
    let (heads, f) = (values.size()[1], values.size()[2]);
    let attention = ops::segment_softmax(logits, dst, num_dst)?;
    let weighted = ops::mul(values, &ops::reshape(&attention, &[-1, heads, 1])?)?;
    let summed = ops::scatter_reduce(&weighted, dst, num_dst, Reduce::Sum)?;
    Ok(ops::reshape(&summed, &[num_dst, heads * f])?)
}

/// `⟨x, attn⟩` over the last dimension: `[N, heads]`.
fn score(x: &Tensor, attn: &Tensor) -> anyhow::Result<Tensor> {
    Ok(ops::sum_dim(&ops::mul(x, attn)?, -1, false)?)
}

/// RGAT: the block's DGL `GATConv` (one `fc` for both sides).
fn rgat_message(l: usize, b: &BlockData, h: &PerType, w: &Weights) -> anyhow::Result<Tensor> {
    let key = format!(
        "gnn._layers.{l}.conv.mods.('{}', '{}', '{}')",
        b.src_type, b.rel, b.dst_type
    );
    let attn_l = w.get(&format!("{key}.attn_l"))?;
    let (heads, f) = (attn_l.size()[1], attn_l.size()[2]);
    let fc = ops::transpose(w.get(&format!("{key}.fc.weight"))?, 0, 1)?;
    let project = |x: &Tensor| -> anyhow::Result<Tensor> {
        Ok(ops::reshape(&ops::matmul(x, &fc)?, &[-1, heads, f])?)
    };
    let feat_src = project(rows(h, &b.src_type)?)?;
    let feat_dst = project(&ops::narrow(rows(h, &b.dst_type)?, 0, 0, b.num_dst)?)?;
    let el = score(&feat_src, attn_l)?;
    let er = score(&feat_dst, w.get(&format!("{key}.attn_r"))?)?;
    let logits = ops::leaky_relu(
        &ops::add(
            &ops::index_select(&el, 0, &b.src)?,
            &ops::index_select(&er, 0, &b.dst)?,
        )?,
        NEGATIVE_SLOPE,
    )?;
    attend(
        &logits,
        &ops::index_select(&feat_src, 0, &b.src)?,
        &b.dst,
        b.num_dst,
    )
}

/// `x @ weightᵀ + bias` with `nn.Linear`'s `[out, in]` weight.
fn torch_linear(x: &Tensor, w: &Weights, key: &str) -> anyhow::Result<Tensor> {
    let weight = ops::transpose(w.get(&format!("{key}.weight"))?, 0, 1)?;
    Ok(ops::add(
        &ops::matmul(x, &weight)?,
        w.get(&format!("{key}.bias"))?,
    )?)
}

/// HGT: per relation `k·att`, `v·msg`, the attention of `q_v·k'_u·pri/√dk` over each
/// destination's in-edges; the mean over the relations into a type; the skip gate; ReLU.
fn hgt_layer(
    batch: &BatchData,
    l: usize,
    h: &PerType,
    w: &Weights,
    etypes: &[String],
) -> anyhow::Result<PerType> {
    let layer = &batch.layers[l];
    let p = |name: &str| format!("gnn._layers.{l}.{name}");
    let mut summed = PerType::new();
    let mut heads_dk = (0, 0);
    // As the plugin: `k`, `v` once per source type and `q` once per destination type.
    let mut keys: BTreeMap<String, (Tensor, Tensor)> = BTreeMap::new();
    let mut queries = PerType::new();
    for b in &layer.blocks {
        let rel = format!("{}_{}_{}", b.src_type, b.rel, b.dst_type);
        let att = w.get(&p(&format!("relation_att.{rel}")))?;
        let (heads, dk) = (att.size()[0], att.size()[1]);
        heads_dk = (heads, dk);
        let per_head =
            |x: Tensor| -> anyhow::Result<Tensor> { Ok(ops::reshape(&x, &[-1, heads, dk])?) };
        // `[N, H, dk] x [H, dk, dk]` per head, as the plugin's `per_head`.
        let times = |x: &Tensor, m: &Tensor| -> anyhow::Result<Tensor> {
            Ok(ops::transpose(
                &ops::matmul(&ops::transpose(x, 0, 1)?, m)?,
                0,
                1,
            )?)
        };
        if !keys.contains_key(&b.src_type) {
            let x_src = rows(h, &b.src_type)?;
            let k = per_head(torch_linear(
                x_src,
                w,
                &p(&format!("k_linears.{}", b.src_type)),
            )?)?;
            let v = per_head(torch_linear(
                x_src,
                w,
                &p(&format!("v_linears.{}", b.src_type)),
            )?)?;
            keys.insert(b.src_type.clone(), (k, v));
        }
        if !queries.contains_key(&b.dst_type) {
            let x_dst = ops::narrow(rows(h, &b.dst_type)?, 0, 0, layer.num_dst[&b.dst_type])?;
            let q = torch_linear(&x_dst, w, &p(&format!("q_linears.{}", b.dst_type)))?;
            queries.insert(b.dst_type.clone(), per_head(q)?);
        }
        let (k, v) = &keys[&b.src_type];
        let q = &queries[&b.dst_type];
        let k = times(k, att)?;
        let v = times(v, w.get(&p(&format!("relation_msg.{rel}")))?)?;
        let scale = ops::from_f32(&[(dk as f32).sqrt()], &[1], att.device())?;
        let logits = ops::div(
            &ops::mul(
                &score(
                    &ops::index_select(q, 0, &b.dst)?,
                    &ops::index_select(&k, 0, &b.src)?,
                )?,
                w.get(&p(&format!("relation_pri.{rel}")))?,
            )?,
            &scale,
        )?;
        let attention = ops::segment_softmax(&logits, &b.dst, b.num_dst)?;
        let messages = ops::scatter_reduce(
            &ops::mul(
                &ops::index_select(&v, 0, &b.src)?,
                &ops::reshape(&attention, &[-1, heads, 1])?,
            )?,
            &b.dst,
            b.num_dst,
            Reduce::Sum,
        )?;
        let merged = match summed.remove(&b.dst_type) {
            Some(prev) => ops::add(&prev, &messages)?,
            None => messages,
        };
        summed.insert(b.dst_type.clone(), merged);
    }
    let mut out = PerType::new();
    for (t, &n) in layer.num_dst.iter().filter(|(_, n)| **n > 0) {
        let into = etypes
            .iter()
            .filter(|e| e.ends_with(&format!(":{t}")))
            .count();
        let alpha = ops::sigmoid(w.get(&p(&format!("skip.{t}")))?)?;
        let beta = ops::add_scalar(&ops::neg(&alpha)?, 1.0)?;
        let skip = torch_linear(
            &ops::narrow(rows(h, t)?, 0, 0, n)?,
            w,
            &p(&format!("a_linears.{t}")),
        )?;
        let (heads, dk) = heads_dk;
        let transformed = match summed.remove(t) {
            Some(total) if into > 0 => ops::reshape(
                &ops::mul_scalar(&total, 1.0 / into as f64)?,
                &[n, heads * dk],
            )?,
            _ => ops::zeros(&[n, skip.size()[1]], Kind::Float, skip.device())?,
        };
        let gated = ops::add(&ops::mul(&transformed, &alpha)?, &ops::mul(&skip, &beta)?)?;
        out.insert(t.clone(), ops::relu(&gated)?);
    }
    Ok(out)
}

/// GAT / GATv2 over every edge type at once: one set of weights, each destination's softmax
/// over all its in-edges.
fn gat_layer(
    batch: &BatchData,
    l: usize,
    h: &PerType,
    w: &Weights,
    v2: bool,
    relu: bool,
) -> anyhow::Result<PerType> {
    let layer = &batch.layers[l];
    let p = |name: &str| format!("gnn._layers.{l}.conv.{name}");
    let attn = w.get(&p(if v2 { "attn" } else { "attn_l" }))?;
    let (heads, f) = (attn.size()[1], attn.size()[2]);
    let per_head = |x: Tensor| -> anyhow::Result<Tensor> { Ok(ops::reshape(&x, &[-1, heads, f])?) };
    // Per node type: the source-side projection and score, and the destination side.
    let mut src_side = PerType::new();
    let mut src_score = PerType::new();
    let mut dst_side = PerType::new();
    for (t, x) in h {
        let n = layer.num_dst.get(t).copied().unwrap_or(0);
        if v2 {
            src_side.insert(t.clone(), per_head(torch_linear(x, w, &p("fc_src"))?)?);
            if n > 0 {
                let x_dst = ops::narrow(x, 0, 0, n)?;
                dst_side.insert(t.clone(), per_head(torch_linear(&x_dst, w, &p("fc_dst"))?)?);
            }
        } else {
            let fc = ops::transpose(w.get(&p("fc.weight"))?, 0, 1)?;
            let z = per_head(ops::matmul(x, &fc)?)?;
            src_score.insert(t.clone(), score(&z, attn)?);
            if n > 0 {
                let er = score(&ops::narrow(&z, 0, 0, n)?, w.get(&p("attn_r"))?)?;
                dst_side.insert(t.clone(), er);
            }
            src_side.insert(t.clone(), z);
        }
    }
    let mut parts: BTreeMap<String, Vec<(Tensor, Tensor, Tensor)>> = BTreeMap::new();
    for b in layer
        .blocks
        .iter()
        .filter(|b| b.num_dst > 0 && b.num_src > 0)
    {
        let values = ops::index_select(rows(&src_side, &b.src_type)?, 0, &b.src)?;
        let target = ops::index_select(rows(&dst_side, &b.dst_type)?, 0, &b.dst)?;
        let logits = if v2 {
            score(
                &ops::leaky_relu(&ops::add(&values, &target)?, NEGATIVE_SLOPE)?,
                attn,
            )?
        } else {
            let el = ops::index_select(rows(&src_score, &b.src_type)?, 0, &b.src)?;
            ops::leaky_relu(&ops::add(&el, &target)?, NEGATIVE_SLOPE)?
        };
        parts
            .entry(b.dst_type.clone())
            .or_default()
            .push((b.dst.shallow_clone(), logits, values));
    }
    let mut out = PerType::new();
    for (t, &n) in layer.num_dst.iter().filter(|(_, n)| **n > 0) {
        let y = match parts.remove(t) {
            Some(p) if p.len() == 1 => attend(&p[0].1, &p[0].2, &p[0].0, n)?,
            Some(p) => {
                let cat = |pick: fn(&(Tensor, Tensor, Tensor)) -> &Tensor| {
                    ops::cat(&p.iter().map(pick).collect::<Vec<_>>(), 0)
                };
                attend(&cat(|p| &p.1)?, &cat(|p| &p.2)?, &cat(|p| &p.0)?, n)?
            }
            None => ops::zeros(&[n, heads * f], Kind::Float, attn.device())?,
        };
        let y = if v2 {
            y
        } else {
            ops::add(&y, w.get(&p("bias"))?)?
        };
        out.insert(t.clone(), if relu { ops::relu(&y)? } else { y });
    }
    Ok(out)
}
