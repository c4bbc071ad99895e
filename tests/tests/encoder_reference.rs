//! The built-in encoders against host-side references written directly with tch from
//! GraphStorm's formulas, on a sampled mini-batch (fanout 5,5) of the demo graph: the target
//! embeddings and the gradient of every weight agree within 1e-6 of their largest value
//! (float32 summation order only). The references share no code with the plugins, the SDK or
//! the host's aggregation and softmax.
//!
//! - `rgcn` (`RelGraphConvLayer`): per relation the mean over the block's in-edges, by
//!   in-degree clamped to 1, of `h_u @ W[r]`, summed over relations, plus
//!   `h_v @ loop_weight + h_bias`; ReLU between layers; the input layer `x @ W_in[ntype]`.
//!   With `gnn_norm: batch`, torch's own `batch_norm` in training mode on the hidden layer.
//! - `rgat` (`RelationalAttLayer`): per relation DGL's `GATConv` (shared `fc`, `el`/`er`,
//!   leaky ReLU 0.2, softmax over each destination's in-edges, heads concatenated), summed
//!   over relations, plus the self-loop and bias as rgcn.
//! - `hgt` (`HGTLayer`): per-type `k`, `q`, `v`, `a`, per-relation `att`, `msg`, `pri`,
//!   attention per relation, the mean over the edge types into a node type, the skip gate and
//!   ReLU on every layer.
//! - `sage` (`SAGEEncoder`): DGL's pool `SAGEConv` without bias over every edge type at once,
//!   ReLU on every layer.
//! - `gat` and `gatv2` (`GATEncoder`, `GATv2Encoder`): DGL's `GATConv` / `GATv2Conv` with one
//!   set of weights for all edge types and each destination's softmax over all its in-edges
//!   (gs's reading of a heterogeneous graph as a homogeneous one), ReLU between layers.

use std::collections::BTreeMap;
use std::sync::Arc;

use gs_batch::{BatchData, BlockData};
use gs_graph::{DemoParams, generate_demo};
use gs_runtime::PluginLimits;
use gs_tensor::{Device, Kind, ParamStore, Tensor, tch};
use gs_train::{NodeTask, resolve_plugin_args};

const HIDDEN: i64 = 16;
const LAYERS: usize = 2;

fn task(encoder: &str) -> (NodeTask, gs_config::Resolved) {
    task_with(encoder, "")
}

/// [`task`] with more command-line arguments (`--gnn-norm batch`).
fn task_with(encoder: &str, extra: &str) -> (NodeTask, gs_config::Resolved) {
    let graph = generate_demo(&DemoParams {
        num_papers: 400,
        num_authors: 200,
        seed: 11,
        ..DemoParams::default()
    });
    let args: Vec<String> = format!(
        "--cf {} --part-config in-memory.json --num-trainers 1 --model-encoder-type {encoder} \
         --hidden-size {HIDDEN} --num-layers {LAYERS} --fanout 5,5 --batch-size 64 --dropout 0 \
         {extra}",
        gs_tests::demo_yaml().display()
    )
    .split_whitespace()
    .map(String::from)
    .collect();
    let resolved = gs_config::resolve(&args, None).expect("config resolves");
    let task = NodeTask::new(Arc::new(graph), resolved.train.clone(), Device::Cpu);
    (task.expect("task builds"), resolved)
}

const FLOAT: (Kind, tch::Device) = (Kind::Float, tch::Device::Cpu);

/// The message of one block of layer `l` into its destinations, `[num_dst, HIDDEN]`, from
/// the representations of its source and destination types.
type BlockMessage<'a> = dyn Fn(usize, &BlockData, &Tensor, &Tensor) -> Tensor + 'a;

/// GraphStorm's input layer: `x @ W_in[ntype]` for every node type with features.
fn input_layer(batch: &BatchData, w: &BTreeMap<String, Tensor>) -> BTreeMap<String, Tensor> {
    batch
        .input_features
        .iter()
        .filter_map(|(t, x)| {
            let proj = w.get(&format!("gnn/node_embed.input_projs.{t}"))?;
            Some((t.clone(), x.matmul(proj)))
        })
        .collect()
}

/// GraphStorm's relational encoder over `batch` from `w` (gs weight names): the input layer,
/// then per layer `block_message` of every block summed per destination type, plus
/// `h_v @ loop_weight + h_bias`, ReLU between layers.
fn relational(
    batch: &BatchData,
    w: &BTreeMap<String, Tensor>,
    block_message: &BlockMessage,
) -> Tensor {
    relational_with_norm(batch, w, block_message, &mut BTreeMap::new())
}

/// [`relational`] with torch's `batch_norm` in training mode on the hidden layers, per
/// destination type, where `w` has `gnn._layers.<l>.norm.<t>.weight` (GraphStorm's
/// `gnn_norm: batch`): `running` holds each norm's running mean and variance (by the weight's
/// name prefix), which torch updates in place.
fn relational_with_norm(
    batch: &BatchData,
    w: &BTreeMap<String, Tensor>,
    block_message: &BlockMessage,
    running: &mut BTreeMap<String, (Tensor, Tensor)>,
) -> Tensor {
    let mut h = input_layer(batch, w);
    for (l, layer) in batch.layers.iter().enumerate() {
        let mut out: BTreeMap<String, Tensor> = layer
            .num_dst
            .iter()
            .map(|(t, n)| (t.clone(), Tensor::zeros([*n, HIDDEN], FLOAT)))
            .collect();
        for b in &layer.blocks {
            let message = block_message(l, b, &h[&b.src_type], &h[&b.dst_type]);
            let total = &out[&b.dst_type] + message;
            out.insert(b.dst_type.clone(), total);
        }
        let loop_weight = &w[&format!("gnn/gnn._layers.{l}.loop_weight")];
        let bias = &w[&format!("gnn/gnn._layers.{l}.h_bias")];
        h = out
            .into_iter()
            .map(|(t, y)| {
                let n = y.size()[0];
                let mut y = y + h[&t].narrow(0, 0, n).matmul(loop_weight) + bias;
                let norm = format!("gnn/gnn._layers.{l}.norm.{t}");
                if let Some(weight) = w.get(&format!("{norm}.weight")) {
                    let (mean, var) = running.entry(norm.clone()).or_insert_with(|| {
                        let size = [HIDDEN];
                        (Tensor::zeros(size, FLOAT), Tensor::ones(size, FLOAT))
                    });
                    let bias = &w[&format!("{norm}.bias")];
                    let (m, v) = (Some(&*mean), Some(&*var));
                    y = y.batch_norm(Some(weight), Some(bias), m, v, true, 0.1, 1e-5, false);
                }
                (t, if l + 1 < LAYERS { y.relu() } else { y })
            })
            .collect();
    }
    h.remove(&batch.target_node_type).unwrap()
}

/// `Σ_e x[e]` per destination of `dst`: `[num_dst, ...]`.
fn sum_by_dst(x: &Tensor, dst: &Tensor, num_dst: i64) -> Tensor {
    let mut shape = x.size();
    shape[0] = num_dst;
    Tensor::zeros(shape.as_slice(), FLOAT).index_add(0, dst, x)
}

/// `[E, heads]`: the softmax of `logits` over each destination's in-edges (`dst`), per head,
/// shifted by the maximum.
fn edge_softmax(logits: &Tensor, dst: &Tensor, num_dst: i64) -> Tensor {
    let heads = logits.size()[1];
    let max = Tensor::zeros([num_dst, heads], FLOAT)
        .index_reduce(0, dst, logits, "amax", false)
        .detach();
    let exp = (logits - max.index_select(0, dst)).exp();
    &exp / sum_by_dst(&exp, dst, num_dst).index_select(0, dst)
}

/// DGL's `leaky_relu` with its slope 0.2: `max(x, 0.2 x)`.
fn leaky_relu(x: &Tensor) -> Tensor {
    x.maximum(&(x * 0.2))
}

/// RGCN's message: the mean over in-edges (in-degree clamped to 1) of `h_u @ W[r]`, `r` the
/// block's edge type's index in the schema's order (`etypes`).
fn rgcn_message<'a>(
    w: &'a BTreeMap<String, Tensor>,
    etypes: &'a [String],
) -> Box<BlockMessage<'a>> {
    Box::new(move |l, b, h_src, _h_dst| {
        let name = format!("{}:{}:{}", b.src_type, b.rel, b.dst_type);
        let r = etypes.iter().position(|e| *e == name).unwrap() as i64;
        let relation = w[&format!("gnn/gnn._layers.{l}.weight")].get(r);
        let messages = h_src.index_select(0, &b.src).matmul(&relation);
        let ones = Tensor::ones([b.dst.size()[0]], FLOAT);
        let degree = sum_by_dst(&ones, &b.dst, b.num_dst)
            .clamp_min(1.0)
            .unsqueeze(1);
        sum_by_dst(&messages, &b.dst, b.num_dst) / degree
    })
}

/// RGAT's message: DGL's `GATConv` of the block's edge type, heads concatenated; 0 for a
/// destination without in-edges.
fn rgat_message(w: &BTreeMap<String, Tensor>) -> Box<BlockMessage<'_>> {
    Box::new(move |l, b, h_src, h_dst| {
        let key = format!(
            "gnn/gnn._layers.{l}.conv.mods.('{}', '{}', '{}')",
            b.src_type, b.rel, b.dst_type
        );
        let fc = w[&format!("{key}.fc.weight")].tr();
        let (attn_l, attn_r) = (&w[&format!("{key}.attn_l")], &w[&format!("{key}.attn_r")]);
        let heads = attn_l.size()[1];
        let feat_src = h_src.matmul(&fc).reshape([-1, heads, HIDDEN / heads]);
        let feat_dst =
            h_dst
                .narrow(0, 0, b.num_dst)
                .matmul(&fc)
                .reshape([-1, heads, HIDDEN / heads]);
        let el = (&feat_src * attn_l).sum_dim_intlist(-1, false, Kind::Float);
        let er = (&feat_dst * attn_r).sum_dim_intlist(-1, false, Kind::Float);
        let x = el.index_select(0, &b.src) + er.index_select(0, &b.dst);
        let logits = leaky_relu(&x);
        let attention = edge_softmax(&logits, &b.dst, b.num_dst);
        let messages = feat_src.index_select(0, &b.src) * attention.unsqueeze(-1);
        sum_by_dst(&messages, &b.dst, b.num_dst).reshape([b.num_dst, HIDDEN])
    })
}

/// GraphStorm's `GATEncoder` (DGL `GATConv`) or, with `v2`, `GATv2Encoder` (DGL
/// `GATv2Conv`), each layer over every edge type at once as gs reads a heterogeneous graph:
/// one set of weights, and each destination's softmax over all its in-edges, whatever their
/// type. GAT: `z = h @ fcᵀ`, logits `leaky_relu(⟨z_u, attn_l⟩ + ⟨z_v, attn_r⟩)`, values `z_u`,
/// plus `bias`. GATv2: `s = fc_src(h)`, `d = fc_dst(h)`, logits `⟨leaky_relu(s_u + d_v),
/// attn⟩`, values `s_u`, no output bias. ReLU between layers.
fn gat(batch: &BatchData, w: &BTreeMap<String, Tensor>, v2: bool) -> Tensor {
    let mut h = input_layer(batch, w);
    for (l, layer) in batch.layers.iter().enumerate() {
        let p = |name: &str| &w[&format!("gnn/gnn._layers.{l}.conv.{name}")];
        let heads = p(if v2 { "attn" } else { "attn_l" }).size()[1];
        let per_head = |x: Tensor| x.reshape([-1, heads, HIDDEN / heads]);
        let linear = |name: &str, x: &Tensor| {
            let y = x.matmul(&p(&format!("{name}.weight")).tr());
            per_head(if v2 {
                y + p(&format!("{name}.bias"))
            } else {
                y
            })
        };
        let mut out = BTreeMap::new();
        for (t, &n) in &layer.num_dst {
            let (mut logits, mut values, mut dst) = (vec![], vec![], vec![]);
            for b in layer.blocks.iter().filter(|b| b.dst_type == *t) {
                let x_dst = h[t].narrow(0, 0, n);
                let (src_side, dst_side) = if v2 {
                    ("fc_src", "fc_dst")
                } else {
                    ("fc", "fc")
                };
                let value = linear(src_side, &h[&b.src_type]).index_select(0, &b.src);
                let target = linear(dst_side, &x_dst).index_select(0, &b.dst);
                let score = if v2 {
                    (leaky_relu(&(&value + target)) * p("attn")).sum_dim_intlist(
                        -1,
                        false,
                        Kind::Float,
                    )
                } else {
                    let el = (&value * p("attn_l")).sum_dim_intlist(-1, false, Kind::Float);
                    let er = (target * p("attn_r")).sum_dim_intlist(-1, false, Kind::Float);
                    leaky_relu(&(el + er))
                };
                logits.push(score);
                values.push(value);
                dst.push(b.dst.shallow_clone());
            }
            let mut y = if dst.is_empty() {
                Tensor::zeros([n, HIDDEN], FLOAT)
            } else {
                let (logits, values, dst) = (
                    Tensor::cat(&logits, 0),
                    Tensor::cat(&values, 0),
                    Tensor::cat(&dst, 0),
                );
                let attention = edge_softmax(&logits, &dst, n);
                sum_by_dst(&(values * attention.unsqueeze(-1)), &dst, n).reshape([n, HIDDEN])
            };
            if !v2 {
                y += p("bias");
            }
            out.insert(t.clone(), if l + 1 < LAYERS { y.relu() } else { y });
        }
        h = out;
    }
    h.remove(&batch.target_node_type).unwrap()
}

/// GraphStorm's `SAGEEncoder` (DGL `SAGEConv(aggregator_type='pool', bias=False)`), each
/// layer over every edge type at once: `m_u = relu(h_u @ fc_poolᵀ + b)`, `neigh_v` the
/// element-wise max of `m_u` over all of `v`'s in-edges (0 without), `out_v = relu(h_v @
/// fc_selfᵀ + neigh_v @ fc_neighᵀ)`, ReLU on every layer.
fn sage(batch: &BatchData, w: &BTreeMap<String, Tensor>) -> Tensor {
    let mut h = input_layer(batch, w);
    for (l, layer) in batch.layers.iter().enumerate() {
        let p = |name: &str| &w[&format!("gnn/gnn._layers.{l}.conv.{name}")];
        let pooled: BTreeMap<String, Tensor> = h
            .iter()
            .map(|(t, x)| {
                let m = x.matmul(&p("fc_pool.weight").tr()) + p("fc_pool.bias");
                (t.clone(), m.relu())
            })
            .collect();
        let mut out = BTreeMap::new();
        for (t, &n) in &layer.num_dst {
            let (mut values, mut dst) = (vec![], vec![]);
            for b in layer.blocks.iter().filter(|b| b.dst_type == *t) {
                values.push(pooled[&b.src_type].index_select(0, &b.src));
                dst.push(b.dst.shallow_clone());
            }
            let neigh = Tensor::zeros([n, HIDDEN], FLOAT);
            let neigh = if dst.is_empty() {
                neigh
            } else {
                let (values, dst) = (Tensor::cat(&values, 0), Tensor::cat(&dst, 0));
                neigh.index_reduce(0, &dst, &values, "amax", false)
            };
            let y = h[t].narrow(0, 0, n).matmul(&p("fc_self.weight").tr())
                + neigh.matmul(&p("fc_neigh.weight").tr());
            out.insert(t.clone(), y.relu());
        }
        h = out;
    }
    h.remove(&batch.target_node_type).unwrap()
}

fn max_abs_diff(a: &Tensor, b: &Tensor) -> f64 {
    (a - b).abs().max().double_value(&[])
}

/// GraphStorm's HGT encoder over `batch` from `w`: per layer, per node type `k`, `q`, `v`
/// and `a` (`nn.Linear`), per relation `k' = k·att[r]`, `v' = v·msg[r]` per head and the
/// score `(q_v·k'_u)·pri[r]/√dk` with a softmax over each destination's in-edges; the
/// messages averaged over the schema's edge types into the node type (`etypes`, `src:rel:dst`),
/// then `relu(t·σ(skip) + a(h_v)·(1 − σ(skip)))`.
fn hgt(batch: &BatchData, w: &BTreeMap<String, Tensor>, etypes: &[String]) -> Tensor {
    let linear = |l: usize, which: &str, t: &str, x: &Tensor| {
        let key = format!("gnn/gnn._layers.{l}.{which}_linears.{t}");
        x.matmul(&w[&format!("{key}.weight")].tr()) + &w[&format!("{key}.bias")]
    };
    let mut h = input_layer(batch, w);
    for (l, layer) in batch.layers.iter().enumerate() {
        let pri0 = &w[&format!(
            "gnn/gnn._layers.{l}.relation_pri.{}",
            etypes[0].replace(':', "_")
        )];
        let heads = pri0.size()[0];
        let dk = HIDDEN / heads;
        let per_head = |x: Tensor| x.reshape([-1, heads, dk]);
        let mut summed: BTreeMap<String, Tensor> = layer
            .num_dst
            .iter()
            .map(|(t, n)| (t.clone(), Tensor::zeros([*n, heads, dk], FLOAT)))
            .collect();
        for b in &layer.blocks {
            let rel = format!("{}_{}_{}", b.src_type, b.rel, b.dst_type);
            let param = |what: &str| &w[&format!("gnn/gnn._layers.{l}.relation_{what}.{rel}")];
            let x_src = &h[&b.src_type];
            let k = per_head(linear(l, "k", &b.src_type, x_src));
            let v = per_head(linear(l, "v", &b.src_type, x_src));
            let q = per_head(linear(
                l,
                "q",
                &b.dst_type,
                &h[&b.dst_type].narrow(0, 0, b.num_dst),
            ));
            // k·att[r] per head: [N, heads, dk] x [heads, dk, dk].
            let k = k
                .unsqueeze(2)
                .matmul(&param("att").unsqueeze(0))
                .squeeze_dim(2);
            let v = v
                .unsqueeze(2)
                .matmul(&param("msg").unsqueeze(0))
                .squeeze_dim(2);
            let score = (q.index_select(0, &b.dst) * k.index_select(0, &b.src)).sum_dim_intlist(
                -1,
                false,
                Kind::Float,
            ) * param("pri")
                / (dk as f64).sqrt();
            let attention = edge_softmax(&score, &b.dst, b.num_dst);
            let messages = v.index_select(0, &b.src) * attention.unsqueeze(-1);
            let total = &summed[&b.dst_type] + sum_by_dst(&messages, &b.dst, b.num_dst);
            summed.insert(b.dst_type.clone(), total);
        }
        h = summed
            .into_iter()
            .map(|(t, total)| {
                let n = total.size()[0];
                let into = etypes
                    .iter()
                    .filter(|e| e.ends_with(&format!(":{t}")))
                    .count();
                let skip = linear(l, "a", &t, &h[&t].narrow(0, 0, n));
                let transformed = (total / into as f64).reshape([n, HIDDEN]);
                let alpha = w[&format!("gnn/gnn._layers.{l}.skip.{t}")].sigmoid();
                let beta: Tensor = 1.0 - &alpha;
                let gated: Tensor = transformed * &alpha + skip * beta;
                (t, gated.relu())
            })
            .collect();
    }
    h.remove(&batch.target_node_type).unwrap()
}

/// Asserts that the `encoder` plugin and `reference` agree on the first training batch,
/// forward and every weight's gradient.
fn assert_agrees_with_reference(
    encoder: &str,
    reference: impl Fn(&BatchData, &BTreeMap<String, Tensor>, &[String]) -> Tensor,
) {
    // One torch thread: with more, MKL may pick a different split of a matrix product from
    // one call to the next (its dynamic threading follows the machine's load), and the
    // plugin's and the reference's sums would differ by more than their order explains.
    tch::set_num_threads(1);
    let (task, resolved) = task(encoder);
    let (engine, _cache) = gs_tests::temp_engine();
    let instance = engine
        .load_file(&gs_tests::plugin_path(encoder))
        .unwrap()
        .instantiate(PluginLimits::default(), ParamStore::new(5, Device::Cpu))
        .unwrap();
    let custom_args = resolve_plugin_args(
        encoder,
        &resolved.custom_args,
        &instance.info().hyper_params,
        &resolved.plugin_keys(),
    )
    .unwrap();
    let mut model = task.plugin_model(instance, custom_args).unwrap();
    let batch = task.first_training_batch().unwrap();
    let sampled_edges: i64 = batch.data.layers[0]
        .blocks
        .iter()
        .map(|b| b.src.size()[0])
        .sum();
    assert!(sampled_edges > 0, "the batch samples edges");
    let etypes: Vec<String> = task.graph().edge_types().map(ToString::to_string).collect();

    let weights: Vec<(String, Tensor)> = model
        .named_weights()
        .into_iter()
        .filter(|(n, _)| n.starts_with("gnn/"))
        .collect();
    let reference_weights: BTreeMap<String, Tensor> = weights
        .iter()
        .map(|(n, t)| (n.clone(), t.detach().copy().set_requires_grad(true)))
        .collect();

    let ours = model.target_embeddings(&batch.data).unwrap();
    let theirs = reference(&batch.data, &reference_weights, &etypes);
    assert_eq!(ours.size(), theirs.size());
    let forward = max_abs_diff(&ours, &theirs);
    let scale = theirs.abs().max().double_value(&[]);
    eprintln!(
        "{encoder} vs reference: outputs {:?} up to {scale:.2}, max |diff| {forward:e}",
        ours.size()
    );
    assert!(scale > 1e-2, "non-trivial outputs");
    // 1e-6 relative to the largest output: float32 summation order only.
    assert!(
        forward <= 1e-6 * scale.max(1.0),
        "forward differs by {forward:e}"
    );

    // The same scalar of both, backwards: d/dW of sum(h * g) for a fixed random g.
    // A fixed g (not a random draw: parallel tests share torch's generator), so the
    // comparison is the same every run.
    let g = Tensor::arange(ours.numel() as i64, (Kind::Float, tch::Device::Cpu))
        .sin()
        .reshape(ours.size());
    (&ours * &g).sum(Kind::Float).backward();
    (&theirs * &g).sum(Kind::Float).backward();
    // A weight the targets do not depend on (the last layer's relations into another node
    // type) has no gradient, which counts as zero on either side.
    let gradient = |w: &Tensor| {
        let g = w.grad();
        if g.defined() { g } else { w.zeros_like() }
    };
    let mut nonzero = 0;
    for (name, weight) in &weights {
        let (a, b) = (gradient(weight), gradient(&reference_weights[name]));
        let diff = max_abs_diff(&a, &b);
        let largest = b.abs().max().double_value(&[]);
        nonzero += usize::from(largest > 0.0);
        assert!(
            diff <= 1e-6 * largest.max(1.0),
            "gradient of `{name}` differs by {diff:e} (largest {largest:e})"
        );
    }
    assert!(nonzero * 2 > weights.len(), "most weights get a gradient");
    eprintln!(
        "{encoder} vs reference: gradients of {} weights agree ({nonzero} non-zero)",
        weights.len()
    );
}

#[test]
fn rgcn_plugin_and_a_tch_reference_agree_on_a_sampled_batch_forward_and_backward() {
    assert_agrees_with_reference("rgcn", |batch, w, etypes| {
        relational(batch, w, &rgcn_message(w, etypes))
    });
}

#[test]
fn rgat_plugin_and_a_tch_reference_agree_on_a_sampled_batch_forward_and_backward() {
    assert_agrees_with_reference("rgat", |batch, w, _| relational(batch, w, &rgat_message(w)));
}

#[test]
fn sage_plugin_and_a_tch_reference_agree_on_a_sampled_batch_forward_and_backward() {
    assert_agrees_with_reference("sage", |batch, w, _| sage(batch, w));
}

#[test]
fn gat_plugin_and_a_tch_reference_agree_on_a_sampled_batch_forward_and_backward() {
    assert_agrees_with_reference("gat", |batch, w, _| gat(batch, w, false));
}

#[test]
fn gatv2_plugin_and_a_tch_reference_agree_on_a_sampled_batch_forward_and_backward() {
    assert_agrees_with_reference("gatv2", |batch, w, _| gat(batch, w, true));
}

#[test]
fn hgt_plugin_and_a_tch_reference_agree_on_a_sampled_batch_forward_and_backward() {
    assert_agrees_with_reference("hgt", hgt);
}

/// `gnn_norm: batch` in training: rgcn's hidden layer normalises each destination type's rows
/// by their mean and biased variance, as torch's `batch_norm` in training mode (GraphStorm's
/// `BatchNorm1d`), and moves the running statistics, host buffers, exactly as torch moves
/// its own (momentum 0.1, unbiased variance). The task outputs (through the host decoder) and
/// every weight's gradient agree within 1e-6.
#[test]
fn rgcn_with_batch_norm_agrees_with_torch_batch_norm_in_training() {
    tch::set_num_threads(1);
    let (task, resolved) = task_with("rgcn", "--gnn-norm batch");
    let (engine, _cache) = gs_tests::temp_engine();
    let instance = engine
        .load_file(&gs_tests::plugin_path("rgcn"))
        .unwrap()
        .instantiate(PluginLimits::default(), ParamStore::new(5, Device::Cpu))
        .unwrap();
    let custom_args = resolve_plugin_args(
        "rgcn",
        &resolved.custom_args,
        &instance.info().hyper_params,
        &resolved.plugin_keys(),
    )
    .unwrap();
    let mut model = task.plugin_model(instance, custom_args).unwrap();
    let batch = task.first_training_batch().unwrap();
    let etypes: Vec<String> = task.graph().edge_types().map(ToString::to_string).collect();
    let weights = model.named_weights();
    assert!(
        weights
            .iter()
            .any(|(n, _)| n.ends_with(".norm.paper.weight")),
        "the hidden layer has a norm per node type"
    );
    let reference_weights: BTreeMap<String, Tensor> = weights
        .iter()
        .map(|(n, t)| (n.clone(), t.detach().copy().set_requires_grad(true)))
        .collect();

    let ours = model.outputs(&batch.data, gs_runtime::Mode::Train).unwrap();
    let mut running = BTreeMap::new();
    let message = rgcn_message(&reference_weights, &etypes);
    let embeddings = relational_with_norm(&batch.data, &reference_weights, &message, &mut running);
    let decoder = &reference_weights["decoder/decoder.weight"];
    let mut theirs = embeddings.matmul(decoder);
    if let Some(bias) = reference_weights.get("decoder/decoder.bias") {
        theirs = theirs + bias;
    }
    let forward = max_abs_diff(&ours, &theirs);
    let scale = theirs.abs().max().double_value(&[]);
    assert!(scale > 1e-2, "non-trivial outputs");
    assert!(
        forward <= 1e-6 * scale.max(1.0),
        "outputs differ by {forward:e}"
    );

    // The running statistics the plugin's buffers now hold are torch's.
    let saved: BTreeMap<String, Tensor> = model.checkpoint_weights().into_iter().collect();
    assert!(!running.is_empty());
    for (norm, (mean, var)) in &running {
        for (stat, want) in [("running_mean", mean), ("running_var", var)] {
            let got = &saved[&format!("{norm}.{stat}")];
            let diff = max_abs_diff(got, want);
            assert!(
                diff <= 1e-6,
                "`{norm}.{stat}` differs from torch's by {diff:e}"
            );
        }
        assert!(
            max_abs_diff(mean, &mean.zeros_like()) > 1e-4,
            "`{norm}` moved"
        );
    }

    let g = Tensor::arange(ours.numel() as i64, FLOAT)
        .sin()
        .reshape(ours.size());
    (&ours * &g).sum(Kind::Float).backward();
    (&theirs * &g).sum(Kind::Float).backward();
    for (name, weight) in &weights {
        let (a, b) = (weight.grad(), reference_weights[name].grad());
        if !b.defined() {
            continue;
        }
        let a = if a.defined() { a } else { b.zeros_like() };
        let diff = max_abs_diff(&a, &b);
        let largest = b.abs().max().double_value(&[]);
        assert!(
            diff <= 1e-6 * largest.max(1.0),
            "gradient of `{name}` differs by {diff:e} (largest {largest:e})"
        );
    }
}
