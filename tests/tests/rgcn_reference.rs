//! The `rgcn` plugin against a host-side reference written directly with tch from
//! GraphStorm's formulas (`RelGraphConvLayer`: per relation the mean over the block's
//! in-edges, by in-degree clamped to 1, of `h_u @ W[r]`, summed over relations, plus
//! `h_v @ loop_weight + h_bias`; ReLU between layers; the input layer `x @ W_in[ntype]`), on a
//! sampled mini-batch (fanout 5,5) of the demo graph: the target embeddings and the gradient
//! of every weight agree within 1e-6 of their largest value. The reference shares no code with the plugin, the SDK or
//! the host's aggregation.

use std::collections::BTreeMap;
use std::sync::Arc;

use gs_batch::BatchData;
use gs_graph::{DemoParams, generate_demo};
use gs_runtime::PluginLimits;
use gs_tensor::{Device, Kind, ParamStore, Tensor, tch};
use gs_train::{NodeTask, resolve_plugin_args};

const HIDDEN: i64 = 16;
const LAYERS: usize = 2;

fn task() -> NodeTask {
    let graph = generate_demo(&DemoParams {
        num_papers: 400,
        num_authors: 200,
        seed: 11,
        ..DemoParams::default()
    });
    let args: Vec<String> = format!(
        "--cf {} --part-config in-memory.json --num-trainers 1 --model-encoder-type rgcn \
         --hidden-size {HIDDEN} --num-layers {LAYERS} --fanout 5,5 --batch-size 64 --dropout 0",
        gs_tests::demo_yaml().display()
    )
    .split_whitespace()
    .map(String::from)
    .collect();
    let resolved = gs_config::resolve(&args, None).expect("config resolves");
    NodeTask::new(Arc::new(graph), resolved.train, Device::Cpu).expect("task builds")
}

/// GraphStorm's RGCN encoder over `batch`, from `w` (gs weight names); `etypes` in the
/// schema's order give the relation index of `gnn._layers.<l>.weight`.
fn reference(batch: &BatchData, w: &BTreeMap<String, Tensor>, etypes: &[String]) -> Tensor {
    let float = (Kind::Float, tch::Device::Cpu);
    let mut h: BTreeMap<String, Tensor> = batch
        .input_features
        .iter()
        .filter_map(|(t, x)| {
            let proj = w.get(&format!("gnn/node_embed.input_projs.{t}"))?;
            Some((t.clone(), x.matmul(proj)))
        })
        .collect();
    for (l, layer) in batch.layers.iter().enumerate() {
        let relations = &w[&format!("gnn/gnn._layers.{l}.weight")];
        let mut out: BTreeMap<String, Tensor> = layer
            .num_dst
            .iter()
            .map(|(t, n)| (t.clone(), Tensor::zeros([*n, HIDDEN], float)))
            .collect();
        for b in &layer.blocks {
            let name = format!("{}:{}:{}", b.src_type, b.rel, b.dst_type);
            let r = etypes.iter().position(|e| *e == name).unwrap() as i64;
            let messages = h[&b.src_type]
                .index_select(0, &b.src)
                .matmul(&relations.get(r));
            let sum = Tensor::zeros([b.num_dst, HIDDEN], float).index_add(0, &b.dst, &messages);
            let ones = Tensor::ones([b.dst.size()[0]], float);
            let degree = Tensor::zeros([b.num_dst], float)
                .index_add(0, &b.dst, &ones)
                .clamp_min(1.0)
                .unsqueeze(1);
            let total = &out[&b.dst_type] + sum / degree;
            out.insert(b.dst_type.clone(), total);
        }
        let loop_weight = &w[&format!("gnn/gnn._layers.{l}.loop_weight")];
        let bias = &w[&format!("gnn/gnn._layers.{l}.h_bias")];
        h = out
            .into_iter()
            .map(|(t, y)| {
                let n = y.size()[0];
                let y = y + h[&t].narrow(0, 0, n).matmul(loop_weight) + bias;
                (t, if l + 1 < LAYERS { y.relu() } else { y })
            })
            .collect();
    }
    h.remove(&batch.target_node_type).unwrap()
}

fn max_abs_diff(a: &Tensor, b: &Tensor) -> f64 {
    (a - b).abs().max().double_value(&[])
}

#[test]
fn rgcn_plugin_and_a_tch_reference_agree_on_a_sampled_batch_forward_and_backward() {
    let task = task();
    let (engine, _cache) = gs_tests::temp_engine();
    let instance = engine
        .load_file(&gs_tests::plugin_path("rgcn"))
        .unwrap()
        .instantiate(PluginLimits::default(), ParamStore::new(5, Device::Cpu))
        .unwrap();
    let custom_args = resolve_plugin_args("rgcn", &[], &instance.info().hyper_params, &[]).unwrap();
    let mut model = task.plugin_model(instance, custom_args).unwrap();
    let batch = task.first_training_batch().unwrap();
    let sampled_edges: i64 = batch.data.layers[0]
        .blocks
        .iter()
        .map(|b| b.src.size()[0])
        .sum();
    assert!(sampled_edges > 0, "the batch samples edges");
    let etypes: Vec<String> = task.graph().edge_types().map(ToString::to_string).collect();

    let encoder: Vec<(String, Tensor)> = model
        .named_weights()
        .into_iter()
        .filter(|(n, _)| n.starts_with("gnn/"))
        .collect();
    let reference_weights: BTreeMap<String, Tensor> = encoder
        .iter()
        .map(|(n, t)| (n.clone(), t.detach().copy().set_requires_grad(true)))
        .collect();

    let ours = model.target_embeddings(&batch.data).unwrap();
    let theirs = reference(&batch.data, &reference_weights, &etypes);
    assert_eq!(ours.size(), theirs.size());
    let forward = max_abs_diff(&ours, &theirs);
    let scale = theirs.abs().max().double_value(&[]);
    eprintln!(
        "rgcn vs reference: outputs {:?} up to {scale:.2}, max |diff| {forward:e}",
        ours.size()
    );
    assert!(scale > 1e-2, "non-trivial outputs");
    // 1e-6 relative to the largest output: float32 summation order only.
    assert!(
        forward <= 1e-6 * scale.max(1.0),
        "forward differs by {forward:e}"
    );

    // The same scalar of both, backwards: d/dW of sum(h * g) for a fixed random g.
    let g = Tensor::randn(ours.size(), (Kind::Float, tch::Device::Cpu));
    (&ours * &g).sum(Kind::Float).backward();
    (&theirs * &g).sum(Kind::Float).backward();
    for (name, weight) in &encoder {
        let (a, b) = (weight.grad(), reference_weights[name].grad());
        assert!(a.defined() && b.defined(), "`{name}` has a gradient");
        let diff = max_abs_diff(&a, &b);
        let scale = b.abs().max().double_value(&[]).max(1.0);
        assert!(
            diff <= 1e-6 * scale,
            "gradient of `{name}` differs by {diff:e} (largest {scale:e})"
        );
    }
    eprintln!(
        "rgcn vs reference: gradients of {} weights agree",
        encoder.len()
    );
}
