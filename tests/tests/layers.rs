//! The layer libraries of the Rust SDK and of the Python SDK, one layer at a time, against
//! references written here with plain tch ops from DGL's and PyTorch's formulas (sharing no
//! code with either SDK, the host's aggregation or its softmax). Two twin probes build the
//! layer `--layer` names and apply it, through the real wasmtime host, to layer 0 of the
//! first training batch of a sampled demo graph (two layers, fanout 5,5: layer 0 has
//! destinations of both node types and blocks of all four edge types): `test-layer-probe`
//! (tests/plugins/layer-probe, the Rust SDK) and `python-layer-probe`
//! (tests/plugins/python-layer-probe, the Python SDK's `gs_plugin.nn`, built once per run by
//! `gs plugin build`). Every weight is first moved off its initial value (zero biases, unit
//! norms would hide a missing term), then the outputs must agree within 1e-5, and a backward
//! of the same scalar of both must give every weight of the layer a non-zero gradient, equal
//! to the reference's within 1e-5. Each check runs on both probes: `rust::<test>` and
//! `python::<test>`.

use std::collections::BTreeMap;
use std::sync::Arc;

use gs_batch::{BatchData, BlockData, Mode};
use gs_graph::{DemoParams, generate_demo};
use gs_runtime::{Plugin, PluginInstance, PluginLimits};
use gs_tensor::{Device, Kind, ParamStore, Tensor, tch};
use gs_train::NodeTask;

const HIDDEN: i64 = 8;
const FEAT: i64 = 6;
const FLOAT: (Kind, tch::Device) = (Kind::Float, tch::Device::Cpu);
const TOLERANCE: f64 = 1e-5;

fn task() -> NodeTask {
    let graph = generate_demo(&DemoParams {
        num_papers: 300,
        num_authors: 150,
        feat_dim: FEAT as usize,
        seed: 13,
        ..DemoParams::default()
    });
    let args: Vec<String> = format!(
        "--part-config in-memory.json --num-trainers 1 --task-type node_classification \
         --target-ntype paper --label-field label --num-classes 4 --node-feat-name feat \
         --num-layers 2 --fanout 5,5 --hidden-size {HIDDEN} --batch-size 24 --num-epochs 1 \
         --dropout 0 --lr 0.01 --seed 13"
    )
    .split_whitespace()
    .map(String::from)
    .collect();
    let resolved = gs_config::resolve(&args, None).expect("config resolves");
    NodeTask::new(Arc::new(graph), resolved.train, Device::Cpu).expect("task builds")
}

/// Which SDK's probe runs the layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Sdk {
    /// `test-layer-probe`, built by `build.rs`.
    Rust,
    /// `python-layer-probe`, built once per run with `gs plugin build`.
    Python,
}

impl Sdk {
    /// The probe's component, loaded in the engine every test shares (its compiled-component
    /// cache outlives the process, so the Python component is compiled once, not per test).
    fn load(self) -> Plugin {
        let path = match self {
            Sdk::Rust => gs_tests::plugin_path("layer-probe"),
            Sdk::Python => gs_tests::python_test_plugin("python-layer-probe"),
        };
        gs_tests::shared_engine()
            .load_file(&path)
            .unwrap_or_else(|e| panic!("the {self:?} probe loads: {e}"))
    }
}

/// Runs each check `name(sdk)` on the Rust probe as `rust::<name>` and on the Python one as
/// `python::<name>`.
macro_rules! on_both_probes {
    ($($name:ident),* $(,)?) => {
        mod rust {
            $(#[test]
            fn $name() {
                super::$name(super::Sdk::Rust);
            })*
        }
        mod python {
            $(#[test]
            fn $name() {
                super::$name(super::Sdk::Python);
            })*
        }
    };
}

on_both_probes!(
    linear_is_x_times_weight_plus_bias,
    embedding_picks_rows_of_a_normal_table,
    mlp_is_linear_relu_linear,
    layer_norm_normalises_the_last_dimension,
    dropout_is_the_identity_in_eval_and_drops_a_fraction_p_in_training,
    graphconv_both_is_dgl_gcn_normalisation,
    graphconv_right_is_the_mean,
    graphconv_none_is_the_sum,
    sage_pool_is_dgl_sageconv_pool,
    sage_mean_is_dgl_sageconv_mean,
    gat_is_dgl_gatconv,
    rgcn_bases_is_dgl_relgraphconv_with_basis_decomposition,
    hgt_is_graphstorm_hgtlayer,
);

/// The probe's layer, built and run once.
struct Probed {
    sdk: Sdk,
    batch: BatchData,
    edge_types: Vec<String>,
    /// The layer's weights as the host holds them (the plugin's), by name.
    weights: BTreeMap<String, Tensor>,
    /// Detached copies of them for the reference, each a leaf with its own gradient.
    reference_weights: BTreeMap<String, Tensor>,
    /// The plugin's output per node type.
    outputs: BTreeMap<String, Tensor>,
    _instance: PluginInstance,
}

/// Builds `sdk`'s probe with `--layer layer` (and `args`), checks `check_init` on its initial
/// weights, moves every weight by a deterministic offset, and runs `forward` in `mode`
/// with the config's `dropout`.
fn probe(
    sdk: Sdk,
    layer: &str,
    args: &[(&str, &str)],
    mode: Mode,
    dropout: f32,
    check_init: impl Fn(&BTreeMap<String, Tensor>),
) -> Probed {
    // One torch thread: the plugin's and the reference's sums then differ by their order only.
    tch::set_num_threads(1);
    let task = task();
    let batch = task.first_training_batch().unwrap().data;
    let mut instance = sdk
        .load()
        .instantiate(PluginLimits::default(), ParamStore::new(3, Device::Cpu))
        .expect("the probe instantiates");
    let mut custom_args = vec![("layer".to_string(), layer.to_string())];
    custom_args.extend(args.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let mut config = task.model_config(custom_args).unwrap();
    config.dropout = dropout;
    instance.init(&config, &task.schema()).expect("init");
    let weights: BTreeMap<String, Tensor> = instance.params().named_weights().into_iter().collect();
    check_init(&weights);
    {
        let _guard = tch::no_grad_guard();
        for w in weights.values() {
            let offset = Tensor::arange(w.numel() as i64, FLOAT)
                .g_add_scalar(1.0)
                .sin()
                .g_mul_scalar(0.3)
                .reshape(w.size());
            let _ = w.shallow_clone().g_add_(&offset);
        }
    }
    let reference_weights = weights
        .iter()
        .map(|(n, w)| (n.clone(), w.detach().copy().set_requires_grad(true)))
        .collect();
    let outputs = instance
        .forward(&batch, mode)
        .expect("forward")
        .into_iter()
        .collect();
    let edge_types = task
        .schema()
        .edge_types
        .iter()
        .map(|e| format!("{}:{}:{}", e.src, e.rel, e.dst))
        .collect();
    Probed {
        sdk,
        batch,
        edge_types,
        weights,
        reference_weights,
        outputs,
        _instance: instance,
    }
}

fn max_abs_diff(a: &Tensor, b: &Tensor) -> f64 {
    if a.numel() == 0 {
        return 0.0;
    }
    (a - b).abs().max().double_value(&[])
}

fn largest(a: &Tensor) -> f64 {
    if a.numel() == 0 {
        return 0.0;
    }
    a.abs().max().double_value(&[])
}

impl Probed {
    /// Asserts that the outputs equal `reference` (computed from the reference weights) per
    /// node type within 1e-5, and that a backward of `Σ_t sum(y_t · g_t)` (fixed `g`) gives
    /// every weight a non-zero gradient equal to the reference's.
    fn assert_matches(&self, layer: &str, reference: BTreeMap<String, Tensor>) {
        let layer = &format!("{:?} {layer}", self.sdk);
        assert!(!self.outputs.is_empty(), "{layer}: no outputs");
        for (t, want) in &reference {
            if want.size()[0] > 0 {
                assert!(
                    self.outputs.contains_key(t),
                    "{layer}: no output for node type `{t}`"
                );
            }
        }
        let mut ours_total = Tensor::from(0f32);
        let mut theirs_total = Tensor::from(0f32);
        let mut scale: f64 = 0.0;
        for (t, ours) in &self.outputs {
            let theirs = reference
                .get(t)
                .unwrap_or_else(|| panic!("{layer}: the reference has no `{t}`"));
            assert_eq!(ours.size(), theirs.size(), "{layer}: shape of `{t}`");
            let diff = max_abs_diff(ours, theirs);
            scale = scale.max(largest(theirs));
            eprintln!(
                "{layer}: `{t}` {:?}, max |diff| {diff:e} (largest {:.3})",
                ours.size(),
                largest(theirs)
            );
            assert!(diff <= TOLERANCE, "{layer}: `{t}` differs by {diff:e}");
            let g = Tensor::arange(ours.numel() as i64, FLOAT)
                .sin()
                .reshape(ours.size());
            ours_total = ours_total + (ours * &g).sum(Kind::Float);
            theirs_total = theirs_total + (theirs * &g).sum(Kind::Float);
        }
        assert!(scale > 1e-2, "{layer}: trivial outputs");
        if self.weights.is_empty() {
            return;
        }
        ours_total.backward();
        theirs_total.backward();
        for (name, w) in &self.weights {
            let ours = w.grad();
            assert!(ours.defined(), "{layer}: `{name}` gets no gradient");
            let size = largest(&ours);
            assert!(size > 0.0, "{layer}: the gradient of `{name}` is zero");
            let theirs = self.reference_weights[name].grad();
            assert!(
                theirs.defined(),
                "{layer}: the reference's `{name}` has none"
            );
            let diff = max_abs_diff(&ours, &theirs);
            assert!(
                diff <= TOLERANCE * size.max(1.0),
                "{layer}: the gradient of `{name}` differs by {diff:e} (largest {size:e})"
            );
        }
        eprintln!("{layer}: {} weights, gradients agree", self.weights.len());
    }

    fn w(&self, name: &str) -> &Tensor {
        self.reference_weights
            .get(name)
            .unwrap_or_else(|| panic!("no weight `{name}`; the probe made {:?}", self.names()))
    }

    fn names(&self) -> Vec<&String> {
        self.weights.keys().collect()
    }

    fn layer0(&self) -> &gs_batch::LayerData {
        &self.batch.layers[0]
    }

    /// Layer 0's input features per node type.
    fn inputs(&self) -> &BTreeMap<String, Tensor> {
        &self.batch.input_features
    }

    /// The destination node types of layer 0 with their counts (at least one node).
    fn destinations(&self) -> Vec<(String, i64)> {
        self.layer0()
            .num_dst
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(t, n)| (t.clone(), *n))
            .collect()
    }

    fn blocks_into(&self, t: &str) -> Vec<&BlockData> {
        self.layer0()
            .blocks
            .iter()
            .filter(|b| b.dst_type == t)
            .collect()
    }
}

fn etype(b: &BlockData) -> String {
    format!("{}:{}:{}", b.src_type, b.rel, b.dst_type)
}

/// `Σ_e x[e]` into the rows `dst[e]` of `n` rows.
fn sum_by_dst(x: &Tensor, dst: &Tensor, n: i64) -> Tensor {
    let mut shape = x.size();
    shape[0] = n;
    Tensor::zeros(shape.as_slice(), FLOAT).index_add(0, dst, x)
}

/// `[n, 1]`: how many times each row of `0..n` occurs in `index`, at least 1.
fn degree(index: &Tensor, n: i64) -> Tensor {
    let ones = Tensor::ones([index.size()[0]], FLOAT);
    sum_by_dst(&ones, index, n).clamp_min(1.0).unsqueeze(1)
}

/// Softmax of `logits` `[E, heads]` over each destination's in-edges, shifted by the maximum.
fn edge_softmax(logits: &Tensor, dst: &Tensor, n: i64) -> Tensor {
    let heads = logits.size()[1];
    let max = Tensor::zeros([n, heads], FLOAT)
        .index_reduce(0, dst, logits, "amax", false)
        .detach();
    let exp = (logits - max.index_select(0, dst)).exp();
    &exp / sum_by_dst(&exp, dst, n).index_select(0, dst)
}

fn cat(parts: &[Tensor]) -> Tensor {
    Tensor::cat(parts, 0)
}

// --- Node-wise layers --------------------------------------------------------------------

fn linear_is_x_times_weight_plus_bias(sdk: Sdk) {
    let p = probe(sdk, "linear", &[], Mode::Train, 0.0, |w| {
        assert_eq!(w["probe.paper.weight"].size(), vec![FEAT, HIDDEN]);
        assert_eq!(w["probe.paper.bias"].size(), vec![HIDDEN]);
    });
    let reference = p
        .inputs()
        .iter()
        .map(|(t, x)| {
            let y = x.matmul(p.w(&format!("probe.{t}.weight"))) + p.w(&format!("probe.{t}.bias"));
            (t.clone(), y)
        })
        .collect();
    p.assert_matches("linear", reference);
}

fn embedding_picks_rows_of_a_normal_table(sdk: Sdk) {
    let p = probe(sdk, "embedding", &[], Mode::Train, 0.0, |w| {
        let table = &w["probe.paper.weight"];
        assert_eq!(table.size(), vec![300, HIDDEN]);
        let (mean, std) = (
            table.mean(Kind::Float).double_value(&[]),
            table.std(true).double_value(&[]),
        );
        assert!(
            mean.abs() < 0.1 && (std - 1.0).abs() < 0.1,
            "normal(0, 1): {mean} {std}"
        );
    });
    let mut ids: BTreeMap<String, Vec<Tensor>> = BTreeMap::new();
    for b in &p.layer0().blocks {
        ids.entry(b.src_type.clone())
            .or_default()
            .push(b.src.shallow_clone());
    }
    let reference = ids
        .into_iter()
        .map(|(t, ids)| {
            let table = p.w(&format!("probe.{t}.weight"));
            (t, table.index_select(0, &cat(&ids)))
        })
        .collect();
    p.assert_matches("embedding", reference);
}

fn mlp_is_linear_relu_linear(sdk: Sdk) {
    let p = probe(sdk, "mlp", &[], Mode::Train, 0.0, |w| {
        assert_eq!(
            w.len(),
            8,
            "two linear layers per node type: {:?}",
            w.keys()
        );
        assert_eq!(w["probe.author.0.weight"].size(), vec![FEAT, HIDDEN]);
        assert_eq!(w["probe.author.1.weight"].size(), vec![HIDDEN, HIDDEN]);
    });
    let reference = p
        .inputs()
        .iter()
        .map(|(t, x)| {
            let w = |i: usize, leaf: &str| p.w(&format!("probe.{t}.{i}.{leaf}"));
            let h = (x.matmul(w(0, "weight")) + w(0, "bias")).clamp_min(0.0);
            (t.clone(), h.matmul(w(1, "weight")) + w(1, "bias"))
        })
        .collect();
    p.assert_matches("mlp", reference);
}

fn layer_norm_normalises_the_last_dimension(sdk: Sdk) {
    let p = probe(sdk, "layer-norm", &[], Mode::Train, 0.0, |w| {
        let (weight, bias) = (&w["probe.paper.weight"], &w["probe.paper.bias"]);
        assert!(weight.equal(&Tensor::ones([FEAT], FLOAT)));
        assert!(bias.equal(&Tensor::zeros([FEAT], FLOAT)));
    });
    let reference = p
        .inputs()
        .iter()
        .map(|(t, x)| {
            let mean = x.sum_dim_intlist(-1, true, Kind::Float) / FEAT as f64;
            let centered = x - mean;
            let var = (&centered * &centered).sum_dim_intlist(-1, true, Kind::Float) / FEAT as f64;
            let normed = centered / (var + 1e-5).sqrt();
            let y = normed * p.w(&format!("probe.{t}.weight")) + p.w(&format!("probe.{t}.bias"));
            (t.clone(), y)
        })
        .collect();
    p.assert_matches("layer-norm", reference);
}

fn dropout_is_the_identity_in_eval_and_drops_a_fraction_p_in_training(sdk: Sdk) {
    let p = probe(sdk, "dropout", &[], Mode::Eval, 0.5, |w| {
        assert!(w.is_empty())
    });
    for (t, x) in p.inputs() {
        assert!(p.outputs[t].equal(x), "eval dropout changes `{t}`");
    }

    let rate = 0.3;
    let p = probe(sdk, "dropout", &[], Mode::Train, rate as f32, |_| {});
    let (mut zeros, mut total) = (0i64, 0i64);
    for (t, x) in p.inputs() {
        let y = &p.outputs[t];
        assert_eq!(y.size(), x.size());
        let dropped = y.eq(0.0);
        let kept = x / (1.0 - rate);
        // Every kept element is scaled by 1 / (1 - p).
        let diff = (y - &kept)
            .abs()
            .masked_fill(&dropped, 0.0)
            .max()
            .double_value(&[]);
        assert!(
            diff <= 1e-5,
            "`{t}`: kept values differ from x/(1-p) by {diff:e}"
        );
        zeros +=
            dropped.sum(Kind::Int64).int64_value(&[]) - x.eq(0.0).sum(Kind::Int64).int64_value(&[]);
        total += x.numel() as i64;
    }
    let fraction = zeros as f64 / total as f64;
    eprintln!("dropout p={rate}: {zeros} of {total} dropped ({fraction:.3})");
    assert!(total > 500, "enough elements to count");
    assert!(
        (fraction - rate).abs() < 0.05,
        "dropout p={rate} dropped a fraction {fraction}"
    );
}

// --- Graph layers -------------------------------------------------------------------------

/// DGL's `GraphConv(norm)` per edge type, summed over the edge types into each destination
/// type (`HeteroGraphConv(aggregate='sum')`): `both` scales each source by
/// `out_degree^-1/2` and each destination by `in_degree^-1/2`, `right` divides by the
/// in-degree, `none` sums; then `@ weight + bias`.
fn graphconv(sdk: Sdk, norm: &str) {
    let layer = format!("graphconv-{norm}");
    let p = probe(sdk, &layer, &[], Mode::Train, 0.0, |w| {
        assert_eq!(w.len(), 8, "weight and bias per edge type: {:?}", w.keys());
        let weight = &w["probe.author:writes:paper.weight"];
        assert_eq!(weight.size(), vec![FEAT, HIDDEN]);
        let bound = (6.0 / (FEAT + HIDDEN) as f64).sqrt();
        assert!(largest(weight) <= bound, "torch's Xavier-uniform bound");
        assert!(largest(weight) > 0.5 * bound);
        assert!(largest(&w["probe.author:writes:paper.bias"]) == 0.0);
    });
    let mut reference = BTreeMap::new();
    for (t, n) in p.destinations() {
        let mut y = Tensor::zeros([n, HIDDEN], FLOAT);
        for b in p.blocks_into(&t) {
            let h_src = &p.inputs()[&b.src_type];
            let messages = h_src.index_select(0, &b.src);
            let aggregated = match norm {
                "both" => {
                    let out_deg = degree(&b.src, b.num_src).index_select(0, &b.src);
                    let summed = sum_by_dst(&(messages / out_deg.sqrt()), &b.dst, b.num_dst);
                    summed / degree(&b.dst, b.num_dst).sqrt()
                }
                "right" => sum_by_dst(&messages, &b.dst, b.num_dst) / degree(&b.dst, b.num_dst),
                _ => sum_by_dst(&messages, &b.dst, b.num_dst),
            };
            let key = etype(b);
            y = y
                + aggregated.matmul(p.w(&format!("probe.{key}.weight")))
                + p.w(&format!("probe.{key}.bias"));
        }
        reference.insert(t, y);
    }
    p.assert_matches(&layer, reference);
}

fn graphconv_both_is_dgl_gcn_normalisation(sdk: Sdk) {
    graphconv(sdk, "both");
}

fn graphconv_right_is_the_mean(sdk: Sdk) {
    graphconv(sdk, "right");
}

fn graphconv_none_is_the_sum(sdk: Sdk) {
    graphconv(sdk, "none");
}

/// DGL's `SAGEConv(aggregator, bias=False)` over every edge type into a node type at once:
/// `h_v @ fc_selfᵀ + neigh_v @ fc_neighᵀ`, `neigh_v` the element-wise max of
/// `relu(h_u @ fc_poolᵀ + b)` (pool) or the mean of `h_u` (mean) over `v`'s in-edges, 0
/// without.
fn sage(sdk: Sdk, aggregator: &str) {
    let layer = format!("sage-{aggregator}");
    let p = probe(sdk, &layer, &[], Mode::Train, 0.0, |w| {
        assert_eq!(w["probe.fc_self.weight"].size(), vec![HIDDEN, FEAT]);
        assert_eq!(w.contains_key("probe.fc_pool.weight"), aggregator == "pool");
    });
    let pooled: BTreeMap<String, Tensor> = p
        .inputs()
        .iter()
        .map(|(t, x)| {
            let m = if aggregator == "pool" {
                (x.matmul(&p.w("probe.fc_pool.weight").tr()) + p.w("probe.fc_pool.bias"))
                    .clamp_min(0.0)
            } else {
                x.shallow_clone()
            };
            (t.clone(), m)
        })
        .collect();
    let mut reference = BTreeMap::new();
    for (t, n) in p.destinations() {
        let blocks = p.blocks_into(&t);
        let values = cat(&blocks
            .iter()
            .map(|b| pooled[&b.src_type].index_select(0, &b.src))
            .collect::<Vec<_>>());
        let dst = cat(&blocks
            .iter()
            .map(|b| b.dst.shallow_clone())
            .collect::<Vec<_>>());
        let neigh = if aggregator == "pool" {
            // Max over the in-edges; rows without edges keep 0.
            Tensor::zeros([n, FEAT], FLOAT).index_reduce(0, &dst, &values, "amax", false)
        } else {
            sum_by_dst(&values, &dst, n) / degree(&dst, n)
        };
        let y = p.inputs()[&t]
            .narrow(0, 0, n)
            .matmul(&p.w("probe.fc_self.weight").tr())
            + neigh.matmul(&p.w("probe.fc_neigh.weight").tr());
        reference.insert(t, y);
    }
    p.assert_matches(&layer, reference);
}

fn sage_pool_is_dgl_sageconv_pool(sdk: Sdk) {
    sage(sdk, "pool");
}

fn sage_mean_is_dgl_sageconv_mean(sdk: Sdk) {
    sage(sdk, "mean");
}

/// DGL's `GATConv(in, HIDDEN / heads, heads, bias=True)` over every edge type into a node
/// type at once: `z = h @ fcᵀ`, logits `leaky_relu(⟨z_u, attn_l⟩ + ⟨z_v, attn_r⟩, 0.2)`, a
/// softmax over each destination's in-edges, `Σ a_uv z_u`, heads concatenated, `+ bias`.
fn gat_is_dgl_gatconv(sdk: Sdk) {
    let heads = 2;
    let p = probe(sdk, "gat", &[("heads", "2")], Mode::Train, 0.0, |w| {
        assert_eq!(w["probe.fc.weight"].size(), vec![HIDDEN, FEAT]);
        assert_eq!(w["probe.attn_l"].size(), vec![1, heads, HIDDEN / heads]);
    });
    let f = HIDDEN / heads;
    let fc = p.w("probe.fc.weight").tr();
    let z: BTreeMap<String, Tensor> = p
        .inputs()
        .iter()
        .map(|(t, x)| (t.clone(), x.matmul(&fc).reshape([-1, heads, f])))
        .collect();
    let score = |z: &Tensor, attn: &str| (z * p.w(attn)).sum_dim_intlist(-1, false, Kind::Float);
    let mut reference = BTreeMap::new();
    for (t, n) in p.destinations() {
        let blocks = p.blocks_into(&t);
        let er = score(&z[&t].narrow(0, 0, n), "probe.attn_r");
        let (mut logits, mut values, mut dst) = (vec![], vec![], vec![]);
        for b in &blocks {
            let el = score(&z[&b.src_type], "probe.attn_l").index_select(0, &b.src);
            let x = el + er.index_select(0, &b.dst);
            logits.push(x.maximum(&(&x * 0.2)));
            values.push(z[&b.src_type].index_select(0, &b.src));
            dst.push(b.dst.shallow_clone());
        }
        let (logits, values, dst) = (cat(&logits), cat(&values), cat(&dst));
        let attention = edge_softmax(&logits, &dst, n);
        let y = sum_by_dst(&(values * attention.unsqueeze(-1)), &dst, n).reshape([n, HIDDEN])
            + p.w("probe.bias");
        reference.insert(t, y);
    }
    p.assert_matches("gat", reference);
}

/// DGL's `RelGraphConv(regularizer='basis')` as GraphStorm's `RelGraphConvLayer`:
/// `W[r] = Σ_b w_comp[r, b] · basis[b]`, per relation the mean over a destination's in-edges
/// of `h_u @ W[r]`, summed over relations, plus `h_v @ loop_weight + h_bias`.
fn rgcn_bases_is_dgl_relgraphconv_with_basis_decomposition(sdk: Sdk) {
    let p = probe(
        sdk,
        "rgcn-bases",
        &[("num_bases", "2")],
        Mode::Train,
        0.0,
        |w| {
            assert_eq!(w["probe.basis.weight"].size(), vec![2, FEAT, HIDDEN]);
            assert_eq!(w["probe.basis.w_comp"].size(), vec![4, 2]);
            assert_eq!(w["probe.loop_weight"].size(), vec![FEAT, HIDDEN]);
            assert!(!w.contains_key("probe.weight"));
        },
    );
    let (basis, coeff) = (p.w("probe.basis.weight"), p.w("probe.basis.w_comp"));
    let relation = |r: i64| {
        let mut w = Tensor::zeros([FEAT, HIDDEN], FLOAT);
        for b in 0..basis.size()[0] {
            w = w + basis.get(b) * coeff.get(r).get(b);
        }
        w
    };
    let mut reference = BTreeMap::new();
    for (t, n) in p.destinations() {
        let mut y = Tensor::zeros([n, HIDDEN], FLOAT);
        for b in p.blocks_into(&t) {
            let r = p.edge_types.iter().position(|e| *e == etype(b)).unwrap() as i64;
            let messages = p.inputs()[&b.src_type]
                .index_select(0, &b.src)
                .matmul(&relation(r));
            y = y + sum_by_dst(&messages, &b.dst, b.num_dst) / degree(&b.dst, b.num_dst);
        }
        let y = y
            + p.inputs()[&t]
                .narrow(0, 0, n)
                .matmul(p.w("probe.loop_weight"))
            + p.w("probe.h_bias");
        reference.insert(t, y);
    }
    p.assert_matches("rgcn-bases", reference);
}

/// GraphStorm's plain `HGTLayer(FEAT, HIDDEN, heads=2)` (no norm, ReLU): per destination
/// node type `t` and block of edge type `r = (s, rel, t)`, `k = x_s @ Wkᵀ + bk` and
/// `v = x_s @ Wvᵀ + bv` as `[N, H, dk]` times `relation_att[r]` and `relation_msg[r]` head
/// by head, `q = x_t[:n] @ Wqᵀ + bq`, logits `⟨q_v, k_u⟩ · relation_pri[r] / √dk`, a softmax
/// over each destination's in-edges of that edge type, `Σ a_uv v_u`; the edge types summed and
/// divided by the number of the schema's edge types into `t` (DGL's `cross_reducer="mean"`),
/// then `relu(mean · σ(skip) + (x_t[:n] @ Waᵀ + ba) · (1 − σ(skip)))`.
fn hgt_is_graphstorm_hgtlayer(sdk: Sdk) {
    let heads = 2;
    let dk = HIDDEN / heads;
    let p = probe(sdk, "hgt", &[("heads", "2")], Mode::Train, 0.0, |w| {
        assert_eq!(
            w.len(),
            2 * 9 + 4 * 3,
            "k, q, v, a linears and skip per node type, pri, att, msg per edge type: {:?}",
            w.keys()
        );
        for linear in ["k", "q", "v", "a"] {
            for t in ["paper", "author"] {
                let weight = &w[&format!("probe.{linear}_linears.{t}.weight")];
                assert_eq!(weight.size(), vec![HIDDEN, FEAT]);
                let bias = &w[&format!("probe.{linear}_linears.{t}.bias")];
                assert_eq!(bias.size(), vec![HIDDEN]);
                // torch's nn.Linear: U(-1/√in, 1/√in) for both.
                let bound = 1.0 / (FEAT as f64).sqrt();
                assert!(largest(weight) <= bound && largest(bias) <= bound);
                assert!(largest(weight) > 0.5 * bound);
            }
        }
        assert!(w["probe.skip.author"].equal(&Tensor::ones([1], FLOAT)));
        for key in [
            "paper_cites_paper",
            "paper_cited-by_paper",
            "author_writes_paper",
            "paper_written-by_author",
        ] {
            let pri = &w[&format!("probe.relation_pri.{key}")];
            assert!(pri.equal(&Tensor::ones([heads], FLOAT)), "{key}");
            for matrix in ["att", "msg"] {
                let m = &w[&format!("probe.relation_{matrix}.{key}")];
                assert_eq!(m.size(), vec![heads, dk, dk], "{key}");
                // torch's Xavier-uniform for 3-D: fan_in = dk·dk, fan_out = heads·dk.
                let bound = (6.0 / (dk * dk + heads * dk) as f64).sqrt();
                assert!(largest(m) <= bound && largest(m) > 0.3 * bound, "{key}");
            }
        }
    });
    let linear = |name: &str, t: &str, x: &Tensor| {
        x.matmul(&p.w(&format!("probe.{name}.{t}.weight")).tr())
            + p.w(&format!("probe.{name}.{t}.bias"))
    };
    let mut reference = BTreeMap::new();
    for (t, n) in p.destinations() {
        let x_t = p.inputs()[&t].narrow(0, 0, n);
        let q = linear("q_linears", &t, &x_t).reshape([n, heads, dk]);
        let mut total = Tensor::zeros([n, heads, dk], FLOAT);
        for b in p.blocks_into(&t) {
            let key = format!("{}_{}_{}", b.src_type, b.rel, b.dst_type);
            let x_s = &p.inputs()[&b.src_type];
            // `[E, H, dk]`: the sources' projection, times the relation's matrix head by head.
            let project = |name: &str, matrix: &str| {
                let y = linear(name, &b.src_type, x_s).reshape([-1, heads, dk]);
                let w = p.w(&format!("probe.relation_{matrix}.{key}"));
                let per_head: Vec<Tensor> = (0..heads)
                    .map(|i| y.select(1, i).matmul(&w.get(i)))
                    .collect();
                Tensor::stack(&per_head, 1).index_select(0, &b.src)
            };
            let (k, v) = (project("k_linears", "att"), project("v_linears", "msg"));
            let logits = (q.index_select(0, &b.dst) * &k).sum_dim_intlist(-1, false, Kind::Float)
                * p.w(&format!("probe.relation_pri.{key}"))
                / (dk as f64).sqrt();
            let attention = edge_softmax(&logits, &b.dst, n);
            total += sum_by_dst(&(v * attention.unsqueeze(-1)), &b.dst, n);
        }
        let into = p
            .edge_types
            .iter()
            .filter(|e| e.rsplit(':').next() == Some(t.as_str()))
            .count();
        assert!(into > 0, "the demo graph has edge types into `{t}`");
        let mean = total.reshape([n, HIDDEN]) / into as f64;
        let alpha = p.w(&format!("probe.skip.{t}")).sigmoid();
        let beta = alpha.neg() + 1.0;
        let y = (mean * &alpha + linear("a_linears", &t, &x_t) * &beta).relu();
        reference.insert(t, y);
    }
    p.assert_matches("hgt", reference);
}

/// Every `--layer` of the probes.
const LAYERS: &[&str] = &[
    "linear",
    "embedding",
    "sage-pool",
    "sage-mean",
    "graphconv-both",
    "graphconv-right",
    "graphconv-none",
    "gat",
    "rgcn-bases",
    "hgt",
    "mlp",
    "layer-norm",
    "dropout",
];

/// The two SDKs build every layer alike: the Python probe creates the Rust probe's weights,
/// with the same names and shapes in the same order, so the host's seeded generator draws
/// the same initial values for both.
#[test]
fn both_sdks_create_the_same_weights_in_the_same_order() {
    let task = task();
    let init = |sdk: Sdk, layer: &str| -> Vec<(String, Tensor)> {
        let mut instance = sdk
            .load()
            .instantiate(PluginLimits::default(), ParamStore::new(3, Device::Cpu))
            .unwrap();
        let config = task
            .model_config(vec![("layer".into(), layer.into())])
            .unwrap();
        instance.init(&config, &task.schema()).unwrap();
        instance.params().named_weights()
    };
    for layer in LAYERS {
        let (rust, python) = (init(Sdk::Rust, layer), init(Sdk::Python, layer));
        let names = |w: &[(String, Tensor)]| -> Vec<(String, Vec<i64>)> {
            w.iter().map(|(n, t)| (n.clone(), t.size())).collect()
        };
        assert_eq!(names(&python), names(&rust), "{layer}: names and shapes");
        for ((name, p), (_, r)) in python.iter().zip(&rust) {
            assert!(p.equal(r), "{layer}: `{name}` starts at other values");
        }
        eprintln!("{layer}: the same {} weights", rust.len());
    }
}
