//! GraphStorm's encoder options that every built-in encoder shares, and the small layers they
//! add: `input_activate` and `num_ffn_layers_in_input` (the input layer's activation and its
//! NGNN feed-forward layers), `num_ffn_layers_in_gnn` (NGNN layers after a GNN layer),
//! `gnn_norm` (a normalisation before a GNN layer's activation) and `out_emb_size` (the width
//! of the last GNN layer). A plugin lists the ones its model has with
//! [`Info::encoder_options`]; the host then hands it the user's values (and refuses, by name,
//! a key the plugin does not list). [`EncoderOptions::from_config`] reads them back in `init`.
//!
//! The layers follow GraphStorm 0.5.1 (`graphstorm/model/ngnn_mlp.py`, `embed.py`,
//! `rgcn_encoder.py`): [`Ngnn`] is `NGNNMLP` (`h = relu(h @ W_i)` for each weight, no bias,
//! then dropout), [`LayerNorm`] is `torch.nn.LayerNorm` (eps 1e-5, weight 1, bias 0),
//! [`BatchNorm`] is `torch.nn.BatchNorm1d` (running statistics in host buffers), and
//! [`HiddenLayerEnd`] is the end of a hidden relational layer: norm, ReLU, NGNN, dropout.

use std::collections::BTreeMap;

use crate::nn::Scope;
use crate::{Error, GraphSchema, Info, Init, Mode, ModelConfig, Result, Tensor};

/// GraphStorm's `input_activate`: `none` (the default) or `relu` after the input projection.
pub const INPUT_ACTIVATE: &str = "input_activate";
/// GraphStorm's `num_ffn_layers_in_input`: NGNN layers after the input projection.
pub const NUM_FFN_LAYERS_IN_INPUT: &str = "num_ffn_layers_in_input";
/// GraphStorm's `num_ffn_layers_in_gnn`: NGNN layers after each GNN layer that has them.
pub const NUM_FFN_LAYERS_IN_GNN: &str = "num_ffn_layers_in_gnn";
/// GraphStorm's `gnn_norm`: `batch` or `layer` normalisation in the GNN layers.
pub const GNN_NORM: &str = "gnn_norm";
/// GraphStorm's `out_emb_size`: the output width of the last GNN layer (default `hidden_size`).
pub const OUT_EMB_SIZE: &str = "out_emb_size";

/// One of GraphStorm's shared encoder options, for [`Info::encoder_options`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EncoderOption {
    /// `input_activate`.
    InputActivate,
    /// `num_ffn_layers_in_input`.
    FfnLayersInInput,
    /// `num_ffn_layers_in_gnn`.
    FfnLayersInGnn,
    /// `gnn_norm`.
    GnnNorm,
    /// `out_emb_size`.
    OutEmbSize,
}

impl EncoderOption {
    /// Every option: what a message-passing encoder with GraphStorm's input layer has.
    pub const ALL: &'static [EncoderOption] = &[
        EncoderOption::InputActivate,
        EncoderOption::FfnLayersInInput,
        EncoderOption::FfnLayersInGnn,
        EncoderOption::GnnNorm,
        EncoderOption::OutEmbSize,
    ];

    /// The input layer's options only: what an encoder without GNN layers has.
    pub const INPUT_LAYER: &'static [EncoderOption] = &[
        EncoderOption::InputActivate,
        EncoderOption::FfnLayersInInput,
    ];

    /// The GraphStorm key, its default as the host hands it, and its help text.
    fn key_default_help(self) -> (&'static str, &'static str, &'static str) {
        match self {
            EncoderOption::InputActivate => (
                INPUT_ACTIVATE,
                "none",
                "GraphStorm key `input_activate` (`--input-activate`): none, or relu (then \
                 dropout) after the input projection.",
            ),
            EncoderOption::FfnLayersInInput => (
                NUM_FFN_LAYERS_IN_INPUT,
                "0",
                "GraphStorm key `num_ffn_layers_in_input` (`--num-ffn-layers-in-input`): NGNN \
                 feed-forward layers (relu(h @ W), then dropout) after the input layer.",
            ),
            EncoderOption::FfnLayersInGnn => (
                NUM_FFN_LAYERS_IN_GNN,
                "0",
                "GraphStorm key `num_ffn_layers_in_gnn` (`--num-ffn-layers-in-gnn`): NGNN \
                 feed-forward layers after each GNN layer that has them in GraphStorm.",
            ),
            EncoderOption::GnnNorm => (
                GNN_NORM,
                "",
                "GraphStorm key `gnn_norm` (`--gnn-norm`): layer or batch normalisation before \
                 the activation of the GNN layers that have one in GraphStorm.",
            ),
            EncoderOption::OutEmbSize => (
                OUT_EMB_SIZE,
                "",
                "GraphStorm key `out_emb_size` (`--out-emb-size`): the output width of the last \
                 GNN layer, which the host's decoder reads (default: hidden_size).",
            ),
        }
    }
}

impl Info {
    /// Lists `options` among the plugin's hyper-parameters, so that the host hands it the
    /// user's values of those GraphStorm keys.
    pub fn encoder_options(self, options: &[EncoderOption]) -> Self {
        options.iter().fold(self, |info, option| {
            let (key, default, help) = option.key_default_help();
            info.hyper_param(key, default, help)
        })
    }
}

/// The values of GraphStorm's shared encoder options, as [`EncoderOptions::from_config`] reads
/// them (defaults for the ones a plugin does not list).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EncoderOptions {
    /// `input_activate: relu`.
    pub input_relu: bool,
    /// `num_ffn_layers_in_input`.
    pub ffn_layers_in_input: u32,
    /// `num_ffn_layers_in_gnn`.
    pub ffn_layers_in_gnn: u32,
    /// `gnn_norm`, when set.
    pub norm: Option<GnnNorm>,
    /// `out_emb_size`, when set.
    pub out_emb_size: Option<i64>,
}

impl EncoderOptions {
    /// Reads the options from `config`'s custom arguments.
    pub fn from_config(config: &ModelConfig) -> Result<Self> {
        let input_relu = match config.arg_or(INPUT_ACTIVATE, "none") {
            "" | "none" => false,
            "relu" => true,
            other => {
                return Err(Error::invalid_argument(format!(
                    "`input_activate` is `{other}`; GraphStorm accepts none or relu"
                )));
            }
        };
        let norm = match config.arg_or(GNN_NORM, "") {
            "" | "none" => None,
            "layer" => Some(GnnNorm::Layer),
            "batch" => Some(GnnNorm::Batch),
            other => {
                return Err(Error::invalid_argument(format!(
                    "`gnn_norm` is `{other}`; GraphStorm accepts batch or layer"
                )));
            }
        };
        let out_emb_size = match config.arg_or(OUT_EMB_SIZE, "") {
            "" => None,
            text => match text.parse::<i64>() {
                Ok(size) if size > 0 => Some(size),
                _ => {
                    return Err(Error::invalid_argument(format!(
                        "`out_emb_size` is `{text}`; it must be a positive number of features"
                    )));
                }
            },
        };
        Ok(EncoderOptions {
            input_relu,
            ffn_layers_in_input: config.parse_arg(NUM_FFN_LAYERS_IN_INPUT, 0)?,
            ffn_layers_in_gnn: config.parse_arg(NUM_FFN_LAYERS_IN_GNN, 0)?,
            norm,
            out_emb_size,
        })
    }

    /// The output width of the last GNN layer: `out_emb_size`, or `hidden`.
    pub fn out_dim(&self, hidden: i64) -> i64 {
        self.out_emb_size.unwrap_or(hidden)
    }

    /// The width of layer `layer` of `num_layers`: `out_emb_size` for the last, else `hidden`.
    pub fn layer_out_dim(&self, layer: u32, num_layers: u32, hidden: i64) -> i64 {
        if layer + 1 == num_layers {
            self.out_dim(hidden)
        } else {
            hidden
        }
    }

    /// An `invalid-argument` error unless `heads` divides the last layer's width, for
    /// attention encoders that split it over the heads.
    pub fn check_heads(&self, model: &str, heads: i64, hidden: i64) -> Result<()> {
        let out = self.out_dim(hidden);
        if out % heads != 0 {
            return Err(Error::invalid_argument(format!(
                "`out_emb_size` is {out}, and {model} splits the last layer's output evenly over \
                 its {heads} heads (hint: choose an out_emb_size divisible by num_heads)"
            )));
        }
        Ok(())
    }
}

/// GraphStorm's `gnn_norm`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GnnNorm {
    /// `layer`: `torch.nn.LayerNorm`.
    Layer,
    /// `batch`: `torch.nn.BatchNorm1d`.
    Batch,
}

/// GraphStorm's `NGNNMLP`: weights `ngnn_gnn.<i>` `[dim, dim]` (Xavier-uniform, ReLU gain),
/// `h = relu(h @ W_i)` for each, then dropout. With no layers it is the identity (GraphStorm
/// skips it then, dropout included).
#[derive(Debug)]
pub struct Ngnn {
    weights: Vec<Tensor>,
    dropout: f64,
}

impl Ngnn {
    /// `layers` weights under `scope` (GraphStorm's `….ngnn_mlp`).
    pub fn new(scope: &Scope, dim: i64, layers: u32, dropout: f64) -> Self {
        let shape = [dim, dim];
        let weights = (0..layers)
            .map(|i| {
                let init = crate::torch_xavier_uniform(&shape, Init::RELU_GAIN);
                scope.sub("ngnn_gnn").param(&i.to_string(), &shape, init)
            })
            .collect();
        Ngnn { weights, dropout }
    }

    /// `h` through the layers, or `h` itself without layers.
    pub fn forward(&self, h: Tensor) -> Tensor {
        if self.weights.is_empty() {
            return h;
        }
        self.weights
            .iter()
            .fold(h, |h, w| h.matmul(w).relu())
            .dropout(self.dropout)
    }
}

/// `torch.nn.LayerNorm(dim)`: `weight` (ones) and `bias` (zeros) under its scope, eps 1e-5.
#[derive(Debug)]
pub struct LayerNorm {
    weight: Tensor,
    bias: Tensor,
}

impl LayerNorm {
    /// The PyTorch default epsilon.
    pub const EPS: f64 = 1e-5;

    /// The layer's weights under `scope`.
    pub fn new(scope: &Scope, dim: i64) -> Self {
        LayerNorm {
            weight: scope.param("weight", &[dim], Init::Ones),
            bias: scope.param("bias", &[dim], Init::Zeros),
        }
    }

    /// `x` normalised over its last dimension.
    pub fn forward(&self, x: &Tensor) -> Tensor {
        x.layer_norm(Some(&self.weight), Some(&self.bias), Self::EPS)
    }
}

/// An element-wise activation of a GNN layer (GraphStorm's is ReLU).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Activation {
    /// `relu`.
    Relu,
    /// `elu` (alpha 1).
    Elu,
    /// `leaky_relu` (slope 0.01).
    LeakyRelu,
    /// `sigmoid`.
    Sigmoid,
    /// `tanh`.
    Tanh,
}

impl Activation {
    /// The names [`from_name`](Self::from_name) accepts.
    pub const NAMES: &'static [&'static str] = &["relu", "elu", "leaky_relu", "sigmoid", "tanh"];

    /// The activation called `name`, one of [`NAMES`](Self::NAMES).
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "relu" => Activation::Relu,
            "elu" => Activation::Elu,
            "leaky_relu" => Activation::LeakyRelu,
            "sigmoid" => Activation::Sigmoid,
            "tanh" => Activation::Tanh,
            _ => return None,
        })
    }

    /// `x` activated.
    pub fn apply(self, x: &Tensor) -> Tensor {
        match self {
            Activation::Relu => x.relu(),
            Activation::Elu => x.elu(1.0),
            Activation::LeakyRelu => x.leaky_relu(0.01),
            Activation::Sigmoid => x.sigmoid(),
            Activation::Tanh => x.tanh(),
        }
    }
}

/// `torch.nn.BatchNorm1d(dim)` with its defaults (eps 1e-5, momentum 0.1): `weight` (ones) and
/// `bias` (zeros) are weights, `running_mean` (zeros) and `running_var` (ones) host buffers.
/// Training normalises each column by the rows' mean and biased variance and moves the
/// running statistics a tenth of the way to the mean and the unbiased variance; evaluation
/// normalises by the running statistics. (torch refuses a training batch of one row; with
/// fewer than two rows the running statistics are used and kept.) GraphStorm's batch counter
/// `num_batches_tracked` changes nothing with a momentum, and has no counterpart.
#[derive(Debug)]
pub struct BatchNorm {
    weight: Tensor,
    bias: Tensor,
    running_mean: Tensor,
    running_var: Tensor,
    /// The buffers' full names, for `set-buffer`.
    names: (String, String),
}

impl BatchNorm {
    /// The PyTorch default epsilon.
    pub const EPS: f64 = 1e-5;
    /// The PyTorch default momentum.
    pub const MOMENTUM: f64 = 0.1;

    /// The layer's weights and buffers under `scope`.
    pub fn new(scope: &Scope, dim: i64) -> Self {
        BatchNorm {
            weight: scope.param("weight", &[dim], Init::Ones),
            bias: scope.param("bias", &[dim], Init::Zeros),
            running_mean: scope.buffer("running_mean", &[dim], Init::Zeros),
            running_var: scope.buffer("running_var", &[dim], Init::Ones),
            names: (scope.name("running_mean"), scope.name("running_var")),
        }
    }

    /// `x` `[rows, dim]` normalised per column, by the batch in [`Mode::Train`] (updating the
    /// running statistics), by the running statistics otherwise.
    pub fn forward(&self, x: &Tensor, mode: Mode) -> Tensor {
        let rows = x.size(0);
        if mode != Mode::Train || rows < 2 {
            return self.affine(&(x - &self.running_mean), &self.running_var);
        }
        let mean = x.mean_dim(0, false);
        let centered = x - &mean;
        let var = centered.mul(&centered).mean_dim(0, false);
        let m = Self::MOMENTUM;
        let unbiased = var.mul_scalar(rows as f64 / (rows - 1) as f64);
        let new_mean = &self.running_mean.mul_scalar(1.0 - m) + &mean.mul_scalar(m);
        let new_var = &self.running_var.mul_scalar(1.0 - m) + &unbiased.mul_scalar(m);
        crate::set_buffer(&self.names.0, &new_mean);
        crate::set_buffer(&self.names.1, &new_var);
        self.affine(&centered, &var)
    }

    /// `centered / √(var + eps) · weight + bias`.
    fn affine(&self, centered: &Tensor, var: &Tensor) -> Tensor {
        let scale = &self.weight / &var.add_scalar(Self::EPS).sqrt();
        &(centered * &scale) + &self.bias
    }
}

/// A GNN layer's norm.
#[derive(Debug)]
enum Norm {
    Layer(LayerNorm),
    Batch(BatchNorm),
}

impl Norm {
    fn new(kind: GnnNorm, scope: &Scope, dim: i64) -> Self {
        match kind {
            GnnNorm::Layer => Norm::Layer(LayerNorm::new(scope, dim)),
            GnnNorm::Batch => Norm::Batch(BatchNorm::new(scope, dim)),
        }
    }

    fn forward(&self, x: &Tensor, mode: Mode) -> Tensor {
        match self {
            Norm::Layer(norm) => norm.forward(x),
            Norm::Batch(norm) => norm.forward(x, mode),
        }
    }
}

/// What follows the aggregation in one of GraphStorm's GNN layers: an optional
/// normalisation, the activation when the layer has one, NGNN layers, then dropout, per node
/// type.
#[derive(Debug)]
pub struct HiddenLayerEnd {
    /// One norm per node type (`<norms>.<ntype>`), or one for all (`sage`'s `norm`).
    norms: BTreeMap<String, Norm>,
    shared_norm: Option<Norm>,
    activation: Option<Activation>,
    ngnn: Ngnn,
    dropout: f64,
}

/// Where a layer's norm weights live.
#[derive(Clone, Copy, Debug)]
pub enum NormKeys<'a> {
    /// One `LayerNorm` per node type, under `<scope>.<name>.<ntype>` (`norm` in RGCN and
    /// RGAT, `norms` in HGT).
    PerNodeType(&'a str, &'a [String]),
    /// One `LayerNorm` for every node, under `<scope>.<name>` (`norm` in SAGE).
    Shared(&'a str),
}

impl HiddenLayerEnd {
    /// The end of the layer under `scope` of width `dim`: a layer norm under `norm_keys` when
    /// `norm` (GraphStorm's `gnn_norm` on a layer that has one, and where its weights live),
    /// `activation`, `ffn_layers` NGNN layers under `scope.ngnn_mlp`, and dropout `dropout`
    /// last.
    pub fn new(
        scope: &Scope,
        dim: i64,
        norm: Option<(GnnNorm, NormKeys<'_>)>,
        activation: Option<Activation>,
        ffn_layers: u32,
        dropout: f64,
    ) -> Self {
        let (mut norms, mut shared_norm) = (BTreeMap::new(), None);
        match norm {
            Some((kind, NormKeys::PerNodeType(name, node_types))) => {
                norms = node_types
                    .iter()
                    .map(|t| (t.clone(), Norm::new(kind, &scope.sub(name).sub(t), dim)))
                    .collect();
            }
            Some((kind, NormKeys::Shared(name))) => {
                shared_norm = Some(Norm::new(kind, &scope.sub(name), dim));
            }
            None => {}
        }
        HiddenLayerEnd {
            norms,
            shared_norm,
            activation,
            ngnn: Ngnn::new(&scope.sub("ngnn_mlp"), dim, ffn_layers, dropout),
            dropout,
        }
    }

    /// The ends of the `num_layers` layers under `gnn` (`gnn._layers`) of GraphStorm's
    /// relational encoders (`RelationalGCNEncoder`, `RelationalGATEncoder`): on each hidden
    /// layer a layer norm per node type (`<l>.norm.<ntype>`, with `gnn_norm: layer`), ReLU,
    /// `num_ffn_layers_in_gnn` NGNN layers (`<l>.ngnn_mlp`) and dropout; nothing after the
    /// last layer.
    pub fn relational(
        gnn: &Scope,
        num_layers: u32,
        hidden: i64,
        options: &EncoderOptions,
        schema: &GraphSchema,
        dropout: f64,
    ) -> Vec<Self> {
        let node_types: Vec<String> = schema.node_types.iter().map(|t| t.name.clone()).collect();
        (0..num_layers)
            .map(|l| {
                let scope = gnn.sub(l);
                if l + 1 == num_layers {
                    let out = options.out_dim(hidden);
                    HiddenLayerEnd::new(&scope, out, None, None, 0, 0.0)
                } else {
                    let norm = options
                        .norm
                        .map(|kind| (kind, NormKeys::PerNodeType("norm", &node_types)));
                    let ffn = options.ffn_layers_in_gnn;
                    let relu = Some(Activation::Relu);
                    HiddenLayerEnd::new(&scope, hidden, norm, relu, ffn, dropout)
                }
            })
            .collect()
    }

    /// The same end without the final dropout (HGT drops out inside its layer); the NGNN
    /// layers keep theirs.
    pub fn without_dropout(mut self) -> Self {
        self.dropout = 0.0;
        self
    }

    /// `x` through the norm alone (the identity without one): GraphStorm's
    /// `SAGEConvWithEdgeFeat` applies its activation and norm inside the layer too, before the
    /// whole end.
    pub fn normalize(&self, node_type: &str, x: Tensor, mode: Mode) -> Tensor {
        match self.norms.get(node_type).or(self.shared_norm.as_ref()) {
            Some(norm) => norm.forward(&x, mode),
            None => x,
        }
    }

    /// The end's activation, if any.
    pub fn activation(&self) -> Option<Activation> {
        self.activation
    }

    /// `x` (the layer's output for node type `node_type`) normalised, activated, through the
    /// NGNN layers and dropout.
    pub fn apply(&self, node_type: &str, x: Tensor, mode: Mode) -> Tensor {
        let mut h = self.normalize(node_type, x, mode);
        if let Some(activation) = self.activation {
            h = activation.apply(&h);
        }
        h = self.ngnn.forward(h);
        if self.dropout > 0.0 {
            h = h.dropout(self.dropout);
        }
        h
    }

    /// [`apply`](Self::apply) to every node type of `out`.
    pub fn apply_all(&self, out: BTreeMap<String, Tensor>, mode: Mode) -> BTreeMap<String, Tensor> {
        out.into_iter()
            .map(|(t, x)| {
                let y = self.apply(&t, x, mode);
                (t, y)
            })
            .collect()
    }
}
