//! Layers, and the [`Scope`] that gives their weights deterministic hierarchical names.
//!
//! Names are dot-separated paths, as in PyTorch's `state_dict`: a two-layer heterogeneous
//! GraphSAGE built under `Scope::root().sub("layers").sub(l).sub(edge_type)` creates
//! `layers.0.author:writes:paper.fc_self.weight`, `….fc_self.bias` and
//! `….fc_neigh.weight`. The host's checkpoints save weights under these names, so a model
//! must create the same names in the same shapes every time it is built for the same
//! configuration and graph.
//!
//! Every layer is a handful of host calls over whole tensors per block or batch.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::fmt;

use crate::encoder_options::Activation;
use crate::{Batch, Block, Dtype, EdgeType, Error, Init, Reduce, Result, Tensor};

/// A position in the hierarchy of weight names: `Scope::root().sub("layers").sub(0)` names
/// its weights `layers.0.<leaf>`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scope {
    prefix: String,
}

impl Scope {
    /// The empty prefix.
    pub fn root() -> Self {
        Scope::default()
    }

    /// The scope `self.name`. `name` may be anything printable: a layer index, an edge type.
    pub fn sub(&self, name: impl fmt::Display) -> Scope {
        Scope {
            prefix: self.name(&name.to_string()),
        }
    }

    /// The full name of `leaf` in this scope.
    pub fn name(&self, leaf: &str) -> String {
        if self.prefix.is_empty() {
            leaf.to_owned()
        } else {
            format!("{}.{leaf}", self.prefix)
        }
    }

    /// The prefix (empty at the root).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Creates (or, in a re-built model, finds) the weight `leaf` in this scope; see
    /// [`param`](crate::param).
    pub fn param(&self, leaf: &str, shape: &[i64], init: Init) -> Tensor {
        crate::param(&self.name(leaf), shape, init)
    }

    /// Creates (or finds) the buffer `leaf` in this scope; see [`buffer`](crate::buffer).
    pub fn buffer(&self, leaf: &str, shape: &[i64], init: Init) -> Tensor {
        crate::buffer(&self.name(leaf), shape, init)
    }
}

/// How a [`Linear`] creates its weights.
#[derive(Clone, Copy, Debug)]
pub struct LinearConfig {
    /// Whether it has a bias (added after the product).
    pub bias: bool,
    /// The initialisation of the `[in, out]` weight.
    pub weight_init: Init,
    /// The initialisation of the `[out]` bias.
    pub bias_init: Init,
}

impl Default for LinearConfig {
    /// A bias; Glorot/Xavier-uniform weight (gain 1); zero bias.
    fn default() -> Self {
        LinearConfig {
            bias: true,
            weight_init: Init::XavierUniform(1.0),
            bias_init: Init::Zeros,
        }
    }
}

/// A fully connected layer, `x @ weight + bias`, with `weight` of shape `[in, out]` (named
/// `<scope>.weight`) and an optional `bias` of shape `[out]` (named `<scope>.bias`).
#[derive(Debug)]
pub struct Linear {
    weight: Tensor,
    bias: Option<Tensor>,
}

impl Linear {
    /// A linear layer with the default [`LinearConfig`] (bias, xavier-uniform weight).
    pub fn new(scope: &Scope, in_dim: i64, out_dim: i64) -> Self {
        Linear::with_config(scope, in_dim, out_dim, LinearConfig::default())
    }

    /// A linear layer whose weights are created as `config` says.
    pub fn with_config(scope: &Scope, in_dim: i64, out_dim: i64, config: LinearConfig) -> Self {
        let weight = scope.param("weight", &[in_dim, out_dim], config.weight_init);
        let bias = config
            .bias
            .then(|| scope.param("bias", &[out_dim], config.bias_init));
        Linear { weight, bias }
    }

    /// `x @ weight`, then `+ bias` if there is one.
    pub fn forward(&self, x: &Tensor) -> Tensor {
        let y = x.matmul(&self.weight);
        match &self.bias {
            Some(bias) => y + bias,
            None => y,
        }
    }

    /// The `[in, out]` weight.
    pub fn weight(&self) -> &Tensor {
        &self.weight
    }

    /// The `[out]` bias, if any.
    pub fn bias(&self) -> Option<&Tensor> {
        self.bias.as_ref()
    }
}

/// A graph convolution over one [`Block`] (one edge type of one layer), as [`HeteroConv`]
/// applies it.
pub trait Conv {
    /// The new representations of the block's destination nodes, `[block.num_dst(), out]`.
    /// `h_src` holds the source type's representations in this layer (one row per source
    /// node); `h_dst` the destination type's (its first `block.num_dst()` rows are the
    /// destination nodes).
    fn forward(&self, block: &Block, h_src: &Tensor, h_dst: &Tensor) -> Tensor;
}

/// GraphSAGE convolution with the mean aggregator, as DGL's `SAGEConv(aggregator_type="mean")`:
///
/// ```text
/// out = fc_self(h_dst[..num_dst]) + fc_neigh(mean over in-edges of h_src[src])
/// ```
///
/// A destination node without in-edges gets a zero mean. `fc_self` has a weight and a bias,
/// `fc_neigh` a weight only. Host calls, in order: `narrow` (self rows), `block.aggregate(mean)`
/// (the mean of the messages), `matmul` + `add` (fc_self), `matmul` (fc_neigh), `add`.
/// Weights are Xavier-uniform with the ReLU gain `sqrt(2)` and the bias is zero, as DGL's
/// `reset_parameters` does.
#[derive(Debug)]
pub struct SageConv {
    fc_self: Linear,
    fc_neigh: Linear,
}

impl SageConv {
    /// A convolution from `in_src`-wide source and `in_dst`-wide destination representations to
    /// `out`-wide outputs, with weights `<scope>.fc_self.weight` `[in_dst, out]`,
    /// `<scope>.fc_self.bias` `[out]` and `<scope>.fc_neigh.weight` `[in_src, out]`.
    pub fn new(scope: &Scope, in_src: i64, in_dst: i64, out: i64) -> Self {
        let weight_init = Init::XavierUniform(Init::RELU_GAIN);
        let fc_self = Linear::with_config(
            &scope.sub("fc_self"),
            in_dst,
            out,
            LinearConfig {
                bias: true,
                weight_init,
                bias_init: Init::Zeros,
            },
        );
        let fc_neigh = Linear::with_config(
            &scope.sub("fc_neigh"),
            in_src,
            out,
            LinearConfig {
                bias: false,
                weight_init,
                bias_init: Init::Zeros,
            },
        );
        SageConv { fc_self, fc_neigh }
    }

    /// The mean of `h_src` over each destination node's in-edges, `[block.num_dst(), in_src]`,
    /// zero for a node without in-edges.
    pub fn aggregate(block: &Block, h_src: &Tensor) -> Tensor {
        block.aggregate(h_src, Reduce::Mean)
    }
}

impl Conv for SageConv {
    fn forward(&self, block: &Block, h_src: &Tensor, h_dst: &Tensor) -> Tensor {
        let h_self = h_dst.narrow(0, 0, block.num_dst());
        let h_neigh = SageConv::aggregate(block, h_src);
        self.fc_self.forward(&h_self) + self.fc_neigh.forward(&h_neigh)
    }
}

/// A learnable row per id, as `torch.nn.Embedding(num, dim)`: `weight` `[num, dim]` (named
/// `<scope>.weight`, drawn from normal(0, 1) as torch draws it).
#[derive(Debug)]
pub struct Embedding {
    weight: Tensor,
}

impl Embedding {
    /// `num` rows of width `dim` under `scope`.
    pub fn new(scope: &Scope, num: i64, dim: i64) -> Self {
        Embedding {
            weight: scope.param("weight", &[num, dim], Init::Normal((0.0, 1.0))),
        }
    }

    /// The rows of `ids` (int64, any length, repeats allowed): `weight.index_select(0, ids)`,
    /// one host call.
    pub fn forward(&self, ids: &Tensor) -> Tensor {
        self.weight.index_select(0, ids)
    }

    /// The `[num, dim]` table.
    pub fn weight(&self) -> &Tensor {
        &self.weight
    }
}

/// A multi-layer perceptron: [`Linear`] layers `<scope>.0`, `<scope>.1`, … through `dims`
/// (`[in, hidden..., out]`, default [`LinearConfig`]), with the activation and then dropout
/// between two layers and nothing after the last, as `Mlp` of the Python SDK.
#[derive(Debug)]
pub struct Mlp {
    layers: Vec<Linear>,
    activation: Activation,
    dropout: f64,
}

impl Mlp {
    /// The layers through `dims` under `scope`, ReLU between them and no dropout.
    ///
    /// # Panics
    /// With fewer than two dimensions.
    pub fn new(scope: &Scope, dims: &[i64]) -> Self {
        Mlp::with_activation(scope, dims, Activation::Relu, 0.0)
    }

    /// The layers through `dims` under `scope`, `activation` and dropout `dropout` (active in
    /// training only) between them.
    ///
    /// # Panics
    /// With fewer than two dimensions.
    pub fn with_activation(
        scope: &Scope,
        dims: &[i64],
        activation: Activation,
        dropout: f64,
    ) -> Self {
        assert!(
            dims.len() >= 2,
            "an Mlp needs at least an input and an output width, got {dims:?}"
        );
        let layers = dims
            .windows(2)
            .enumerate()
            .map(|(i, d)| Linear::new(&scope.sub(i), d[0], d[1]))
            .collect();
        Mlp {
            layers,
            activation,
            dropout,
        }
    }

    /// `x` through every layer.
    pub fn forward(&self, x: &Tensor) -> Tensor {
        let mut h = self.layers[0].forward(x);
        for layer in &self.layers[1..] {
            h = self.activation.apply(&h);
            if self.dropout > 0.0 {
                h = h.dropout(self.dropout);
            }
            h = layer.forward(&h);
        }
        h
    }

    /// The layers, first to last.
    pub fn layers(&self) -> &[Linear] {
        &self.layers
    }
}

/// How [`GraphConv`] normalises, as DGL's `GraphConv(norm=...)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GraphConvNorm {
    /// `both` (the GCN of Kipf and Welling): each message scaled by `1/√(out-degree of its
    /// source)`, each sum by `1/√(in-degree of its destination)`, degrees within the block and
    /// at least 1.
    Both,
    /// `right`: the mean over the in-edges.
    Right,
    /// `none`: the sum over the in-edges.
    None,
}

impl GraphConvNorm {
    /// `both`, `right` or `none`.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "both" => Some(GraphConvNorm::Both),
            "right" => Some(GraphConvNorm::Right),
            "none" => Some(GraphConvNorm::None),
            _ => None,
        }
    }
}

/// DGL's `GraphConv` on one [`Block`] (the graph convolution of Kipf and Welling with
/// `norm='both'`): the in-edges' messages aggregated as [`GraphConvNorm`] says, then
/// `@ weight` (`[in, out]`, `<scope>.weight`, torch's Xavier-uniform bounds with gain 1) and
/// `+ bias` (`[out]`, `<scope>.bias`, zeros) if it has one. A destination without in-edges
/// gets `bias` (or 0). The same weights, initialisation and ops as `GraphConv` of the Python
/// SDK; as a [`Conv`], [`HeteroConv`] applies one per edge type.
#[derive(Debug)]
pub struct GraphConv {
    weight: Tensor,
    bias: Option<Tensor>,
    norm: GraphConvNorm,
}

impl GraphConv {
    /// A convolution from `in_dim` to `out_dim` under `scope`, with a bias when `bias`.
    pub fn new(scope: &Scope, in_dim: i64, out_dim: i64, norm: GraphConvNorm, bias: bool) -> Self {
        let shape = [in_dim, out_dim];
        let weight = scope.param("weight", &shape, crate::torch_xavier_uniform(&shape, 1.0));
        let bias = bias.then(|| scope.param("bias", &[out_dim], Init::Zeros));
        GraphConv { weight, bias, norm }
    }

    /// The `[in, out]` weight.
    pub fn weight(&self) -> &Tensor {
        &self.weight
    }

    /// The `[out]` bias, if any.
    pub fn bias(&self) -> Option<&Tensor> {
        self.bias.as_ref()
    }

    /// `[block.num_dst(), out]` from the source representations `h_src` (`[num_src, in]`).
    /// Host calls: `aggregate` (right, none), or `src`, `dst`, two degree counts (`ones`,
    /// `scatter-reduce`, `clamp`, `pow-scalar` each), `mul`, `aggregate` and `mul` (both);
    /// then `matmul` and `add`.
    pub fn apply(&self, block: &Block, h_src: &Tensor) -> Tensor {
        let y = match self.norm {
            GraphConvNorm::Right => block.aggregate(h_src, Reduce::Mean),
            GraphConvNorm::None => block.aggregate(h_src, Reduce::Sum),
            GraphConvNorm::Both => {
                let (src, dst) = (block.src(), block.dst());
                let out_norm = degrees(&src, block.num_src()).pow_scalar(-0.5);
                let in_norm = degrees(&dst, block.num_dst()).pow_scalar(-0.5);
                block.aggregate(&(h_src * &out_norm), Reduce::Sum) * &in_norm
            }
        };
        let y = y.matmul(&self.weight);
        match &self.bias {
            Some(bias) => y + bias,
            None => y,
        }
    }
}

impl Conv for GraphConv {
    /// [`GraphConv::apply`]; `h_dst` is not read.
    fn forward(&self, block: &Block, h_src: &Tensor, _h_dst: &Tensor) -> Tensor {
        self.apply(block, h_src)
    }
}

/// `[n, 1]` f32: how often each of `0..n` occurs in `index` (`[E]` int64), at least 1.
fn degrees(index: &Tensor, n: i64) -> Tensor {
    Tensor::ones(&[index.size(0), 1], Dtype::F32)
        .scatter_reduce(index, n, Reduce::Sum)
        .clamp(1.0, f64::INFINITY)
}

/// How [`HeteroConv`] combines the outputs of the edge types that share a destination node
/// type, as DGL's `HeteroGraphConv(aggregate=...)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrossReduce {
    /// The sum of the edge types' outputs (`aggregate="sum"`, GraphStorm's RGCN and RGAT).
    Sum,
    /// Their mean (`aggregate="mean"`, GraphStorm's HGT): the sum times `1 / n`, `n` the number
    /// of the layer's blocks into the node type; one `mul-scalar` host call per node type
    /// with more than one block.
    Mean,
}

/// One convolution per edge type, applied to the blocks of one layer of a batch and combined
/// per destination node type by a [`CrossReduce`] (the sum unless
/// [`HeteroConv::with_cross_reduce`] says otherwise), like DGL's `HeteroGraphConv`.
///
/// The sum follows the order of [`Batch::blocks`]: the first block's output, plus the second
/// one's, and so on. A node type with destination nodes in the layer but no block gets zeros
/// (`f32`, `[num_dst_nodes, out_dim]`), the sum over no edge types.
#[derive(Debug)]
pub struct HeteroConv<C> {
    convs: Vec<(EdgeType, C)>,
    out_dim: i64,
    cross_reduce: CrossReduce,
}

/// Heterogeneous GraphSAGE: a [`SageConv`] per edge type.
pub type HeteroSageConv = HeteroConv<SageConv>;

impl<C: Conv> HeteroConv<C> {
    /// Builds one convolution per edge type, in the order given, with `build`; every one must
    /// produce `out_dim`-wide outputs.
    pub fn from_fn(
        edge_types: &[EdgeType],
        out_dim: i64,
        mut build: impl FnMut(&EdgeType) -> Result<C>,
    ) -> Result<Self> {
        let mut convs = Vec::with_capacity(edge_types.len());
        for edge_type in edge_types {
            if convs.iter().any(|(known, _)| known == edge_type) {
                return Err(Error::invalid_argument(format!(
                    "edge type `{edge_type}` is listed twice"
                )));
            }
            convs.push((edge_type.clone(), build(edge_type)?));
        }
        Ok(HeteroConv {
            convs,
            out_dim,
            cross_reduce: CrossReduce::Sum,
        })
    }

    /// The same convolutions, their outputs combined by `cross_reduce`.
    pub fn with_cross_reduce(self, cross_reduce: CrossReduce) -> Self {
        HeteroConv {
            cross_reduce,
            ..self
        }
    }

    /// The convolution of an edge type.
    pub fn conv(&self, edge_type: &EdgeType) -> Option<&C> {
        self.convs
            .iter()
            .find(|(known, _)| known == edge_type)
            .map(|(_, conv)| conv)
    }

    /// The width of the outputs.
    pub fn out_dim(&self) -> i64 {
        self.out_dim
    }

    /// Applies the layer `layer` of `batch` to `h`, the representations of that layer's source
    /// nodes per node type, and returns the representations of its destination nodes per node
    /// type.
    pub fn forward(
        &self,
        batch: &Batch,
        layer: u32,
        h: &BTreeMap<String, Tensor>,
    ) -> Result<BTreeMap<String, Tensor>> {
        let mut out: BTreeMap<String, Tensor> = BTreeMap::new();
        let mut blocks_into: BTreeMap<String, u32> = BTreeMap::new();
        for block in batch.blocks(layer) {
            let edge_type = block.edge_type();
            let conv = self.conv(&edge_type).ok_or_else(|| {
                let known: Vec<String> = self.convs.iter().map(|(e, _)| e.to_string()).collect();
                Error::other(format!(
                    "layer {layer} has a block of edge type `{edge_type}`, which the model was \
                     not built for; it knows {known:?}"
                ))
            })?;
            let input = |node_type: &str| {
                h.get(node_type).ok_or_else(|| {
                    Error::unsupported(format!(
                        "layer {layer}: edge type `{edge_type}` needs representations of node \
                         type `{node_type}`, and there are none (does it have input features?)"
                    ))
                })
            };
            let y = conv.forward(&block, input(&edge_type.src)?, input(&edge_type.dst)?);
            *blocks_into.entry(edge_type.dst.clone()).or_default() += 1;
            match out.entry(edge_type.dst) {
                Entry::Vacant(slot) => {
                    slot.insert(y);
                }
                Entry::Occupied(mut slot) => {
                    let sum = slot.get() + &y;
                    slot.insert(sum);
                }
            }
        }
        if self.cross_reduce == CrossReduce::Mean {
            for (node_type, n) in blocks_into {
                if n > 1 {
                    let mean = out[&node_type].mul_scalar(1.0 / f64::from(n));
                    out.insert(node_type, mean);
                }
            }
        }
        for (node_type, rows) in batch.dst_node_counts(layer) {
            if let Entry::Vacant(slot) = out.entry(node_type) {
                slot.insert(Tensor::zeros(&[rows, self.out_dim], Dtype::F32));
            }
        }
        Ok(out)
    }
}

impl HeteroConv<SageConv> {
    /// A [`SageConv`] per edge type under `scope.sub(edge_type)` (so its weights are named
    /// `<scope>.<src>:<rel>:<dst>.fc_self.weight` and so on), from `in_dim(node type)`-wide
    /// inputs to `out_dim`-wide outputs.
    pub fn new(
        scope: &Scope,
        edge_types: &[EdgeType],
        in_dim: impl Fn(&str) -> Result<i64>,
        out_dim: i64,
    ) -> Result<Self> {
        HeteroConv::from_fn(edge_types, out_dim, |edge_type| {
            let (in_src, in_dst) = (in_dim(&edge_type.src)?, in_dim(&edge_type.dst)?);
            Ok(SageConv::new(
                &scope.sub(edge_type),
                in_src,
                in_dst,
                out_dim,
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_build_dotted_names() {
        let root = Scope::root();
        assert_eq!(root.name("weight"), "weight");
        let edge_type = EdgeType::new("author", "writes", "paper");
        let conv = root.sub("layers").sub(0).sub(&edge_type).sub("fc_self");
        assert_eq!(
            conv.name("weight"),
            "layers.0.author:writes:paper.fc_self.weight"
        );
        assert_eq!(conv.prefix(), "layers.0.author:writes:paper.fc_self");
    }
}
