//! The resolved, typed configuration: what one command runs with.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value;

/// The result of [`resolve`](crate::resolve): everything one `gs` command runs with.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved {
    /// How the process runs (not saved with a checkpoint).
    pub launch: LaunchOptions,
    /// What is trained and how (saved with each checkpoint; see [`TrainConfig::to_map`]).
    pub train: TrainConfig,
    /// Arguments for the plugin's `init`, in order: the YAML's `udf` (and `gsf.runtime`)
    /// entries as `--key value`, then unknown command-line flags with their values, then
    /// everything after `--`.
    pub custom_args: Vec<String>,
    /// Things the user should see (ignored options, typo-like unknown flags, ...).
    pub warnings: Vec<String>,
    /// For every key of `launch` and `train`, where its value came from.
    pub sources: BTreeMap<String, Source>,
}

/// Where a resolved value came from, lowest precedence first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The built-in default (or a default derived from other values).
    Default,
    /// The config saved in the checkpoint passed to `resolve`.
    Checkpoint,
    /// The YAML file named by `--cf`.
    Yaml,
    /// A command-line flag.
    Cli,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Source::Default => "default",
            Source::Checkpoint => "checkpoint",
            Source::Yaml => "yaml",
            Source::Cli => "cli",
        })
    }
}

/// How the command runs: launch arguments and gs's process-level options. Paths are joined
/// onto `workspace` when they are relative and a workspace is given.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LaunchOptions {
    /// `--cf`: the YAML file that was read, if any.
    pub yaml_config_file: Option<PathBuf>,
    /// `--workspace`: directory that relative paths resolve against.
    pub workspace: Option<PathBuf>,
    /// `--part-config`: the partition config JSON (required).
    pub part_config: PathBuf,
    /// `--num-trainers`: always 1 (more is rejected with [`ConfigError::ScaleOutNotSupported`](crate::ConfigError::ScaleOutNotSupported)).
    pub num_trainers: u32,
    /// `--num-samplers`: batches sampled at once ahead of the model; 0 and 1 mean one.
    pub num_samplers: u32,
    /// `--num-omp-threads`: threads for tensor operations; `None` lets gs pick.
    pub num_omp_threads: Option<u32>,
    /// `--inference`: run inference instead of training.
    pub inference: bool,
    /// `--do-nid-remap`: write outputs with raw node ids (default true).
    pub do_nid_remap: bool,
    /// `--output-chunk-size`: rows per remapped output file (default 100000).
    pub output_chunk_size: u64,
    /// `--preserve-input`: keep the un-remapped outputs (default false).
    pub preserve_input: bool,
    /// `--logging-level`: debug, info (default), warning or error.
    pub logging_level: String,
    /// `--logging-file`: also log to this file.
    pub logging_file: Option<PathBuf>,
    /// `--plugin`, or else `model_encoder_type` taken as a built-in plugin name.
    pub plugin: Option<PluginRef>,
    /// `--device`: cpu (default), cuda or cuda:N.
    pub device: Device,
    /// `--locked`: registry plugins must be pinned in `gs.lock`, which is never written.
    pub locked: bool,
    /// `--trust-policy`: the trust policy for registry plugins (default: the user's).
    pub trust_policy: Option<PathBuf>,
}

/// Which model plugin to load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PluginRef {
    /// A built-in plugin by name (`sage`, `rgcn`, ...).
    Builtin(String),
    /// A `.wasm` component file (a value ending in `.wasm` or containing a path separator).
    Path(PathBuf),
    /// A plugin in an OCI registry (`oci://host/path:tag`, `…@sha256:…`) or an offline
    /// image layout (`oci-layout:DIR:tag`), pulled through the user's plugin cache.
    Registry(String),
}

impl PluginRef {
    /// `sage` is a name; `x.wasm`, `./sage` and `dir/x` are paths; `oci://…` and
    /// `oci-layout:…` are registry references.
    pub fn parse(value: &str) -> PluginRef {
        if value.starts_with("oci://") || value.starts_with("oci-layout:") {
            PluginRef::Registry(value.to_string())
        } else if value.ends_with(".wasm") || value.contains('/') || value.contains('\\') {
            PluginRef::Path(PathBuf::from(value))
        } else {
            PluginRef::Builtin(value.to_string())
        }
    }
}

impl fmt::Display for PluginRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PluginRef::Builtin(name) => f.write_str(name),
            PluginRef::Path(path) => write!(f, "{}", path.display()),
            PluginRef::Registry(reference) => f.write_str(reference),
        }
    }
}

impl Serialize for PluginRef {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Where tensors live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Device {
    /// The CPU.
    #[default]
    Cpu,
    /// CUDA device N (`cuda` alone is device 0).
    Cuda(u32),
}

impl Device {
    /// Parses `cpu`, `cuda` or `cuda:N`.
    pub fn parse(value: &str) -> Option<Device> {
        match value.trim().to_ascii_lowercase().as_str() {
            "cpu" => Some(Device::Cpu),
            "cuda" => Some(Device::Cuda(0)),
            other => other.strip_prefix("cuda:")?.parse().ok().map(Device::Cuda),
        }
    }
}

impl fmt::Display for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Device::Cpu => f.write_str("cpu"),
            Device::Cuda(n) => write!(f, "cuda:{n}"),
        }
    }
}

impl Serialize for Device {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// The task, named as GraphStorm names its YAML task sections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskType {
    /// `node_classification`
    NodeClassification,
    /// `node_regression`
    NodeRegression,
    /// `edge_classification`
    EdgeClassification,
    /// `edge_regression`
    EdgeRegression,
    /// `link_prediction`
    LinkPrediction,
}

impl TaskType {
    /// The GraphStorm names, in declaration order.
    pub const NAMES: [&'static str; 5] = [
        "node_classification",
        "node_regression",
        "edge_classification",
        "edge_regression",
        "link_prediction",
    ];
    const ALL: [TaskType; 5] = [
        TaskType::NodeClassification,
        TaskType::NodeRegression,
        TaskType::EdgeClassification,
        TaskType::EdgeRegression,
        TaskType::LinkPrediction,
    ];

    /// The GraphStorm name, e.g. `node_classification`.
    pub fn name(self) -> &'static str {
        Self::NAMES[self as usize]
    }

    /// Parses a GraphStorm name (dashes accepted: `node-classification`).
    pub fn from_name(name: &str) -> Option<TaskType> {
        let name = name.replace('-', "_");
        Self::NAMES
            .iter()
            .position(|n| *n == name)
            .map(|i| Self::ALL[i])
    }

    /// Node or edge classification.
    pub fn is_classification(self) -> bool {
        matches!(
            self,
            TaskType::NodeClassification | TaskType::EdgeClassification
        )
    }

    /// Node or edge regression.
    pub fn is_regression(self) -> bool {
        matches!(self, TaskType::NodeRegression | TaskType::EdgeRegression)
    }

    /// Edge classification or regression (not link prediction).
    pub fn is_edge_task(self) -> bool {
        matches!(
            self,
            TaskType::EdgeClassification | TaskType::EdgeRegression
        )
    }
}

impl fmt::Display for TaskType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// GraphStorm's early-stop rules (as its code defines them; its docs swap the two).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EarlyStopStrategy {
    /// Stop when the score is worse than the mean of the last `early_stop_rounds` scores.
    AverageIncrease,
    /// Stop when the score is worse than each of the last `early_stop_rounds` scores.
    ConsecutiveIncrease,
}

/// What is trained and how. Field names are the GraphStorm YAML keys; the whole struct is
/// saved beside each checkpoint ([`TrainConfig::to_map`]) and fed back to
/// [`resolve`](crate::resolve) at inference, so the model can be rebuilt from the checkpoint.
///
/// Choice-valued strings are validated against GraphStorm's choices (listed per field).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    // ---- task ----
    /// From the YAML task section or `--task-type`.
    pub task_type: TaskType,
    /// Node type to predict (default `_N`).
    pub target_ntype: String,
    /// Label feature (required except for link prediction).
    pub label_field: Option<String>,
    /// Number of classes (required for classification; >= 2, or 1 with focal loss).
    pub num_classes: Option<u32>,
    /// Multi-label classification.
    pub multilabel: bool,
    /// BCE positive weight per class (needs `multilabel`; one per class).
    pub multilabel_weights: Option<Vec<f64>>,
    /// Cross-entropy weight per class (one per class).
    pub imbalance_class_weights: Option<Vec<f64>>,
    /// Write probabilities (true, default) or the argmax.
    pub return_proba: bool,
    /// At inference, predict every node of the target type (needs `no_validation`).
    pub infer_all_target_nodes: bool,
    /// `cross_entropy` (default) or `focal`.
    pub class_loss_func: String,
    /// `mse` (default) or `shrinkage`.
    pub regression_loss_func: String,
    /// Loss/decoder gamma; `None` means the per-use default.
    pub gamma: Option<f64>,
    /// Loss alpha; `None` means the per-use default.
    pub alpha: Option<f64>,
    /// Edge tasks: the target edge type as `src,rel,dst` (default `_N,_E,_N`); `None` for other tasks unless given.
    pub target_etype: Option<String>,
    /// `head,rel,rev_rel,tail` entries.
    pub reverse_edge_types_map: Vec<String>,
    /// Drop the target edge type and its reverse from message passing (default true).
    pub remove_target_edge_type: bool,
    /// `DenseBiDecoder` (default), `MLPDecoder` or `MLPEFeatEdgeDecoder`.
    pub decoder_type: String,
    /// Bases of `DenseBiDecoder` (default 2).
    pub num_decoder_basis: u32,
    /// Edge features of the target edges that `MLPEFeatEdgeDecoder` reads: `feat` or one
    /// `src,rel,dst:f1,f2` entry.
    pub decoder_edge_feat: Option<Vec<String>>,
    // ---- link prediction ----
    /// Edge types to train on as `src,rel,dst`; `None` means all.
    pub train_etype: Option<Vec<String>>,
    /// Edge types to evaluate on; `None` means all.
    pub eval_etype: Option<Vec<String>>,
    /// Edge data listing each training edge's hard-negative destinations: one field name for
    /// every training edge type, or `src,rel,dst:field` entries.
    pub train_etypes_negative_dstnode: Option<Vec<String>>,
    /// Hard negatives per positive: one number for every edge type, or `src,rel,dst:n` entries.
    pub num_train_hard_negatives: Option<Vec<String>>,
    /// Float edge feature weighing each positive edge's loss term: one name, or
    /// `src,rel,dst:field` entries.
    pub lp_edge_weight_for_loss: Option<Vec<String>>,
    /// Remove a batch's target edges and their reverses from its blocks (default true; needs `reverse_edge_types_map`).
    pub exclude_training_targets: bool,
    /// `uniform` (default), `joint`, `inbatch_joint`, `localuniform`, `localjoint`,
    /// `all_etype_uniform`, `all_etype_joint`, `fast_uniform`, `fast_joint`,
    /// `fast_localuniform` or `fast_localjoint`.
    pub train_negative_sampler: String,
    /// `uniform` or `joint` (default).
    pub eval_negative_sampler: String,
    /// Negatives per positive in training (default 16).
    pub num_negative_edges: u32,
    /// Negatives per positive in evaluation (default 1000).
    pub num_negative_edges_eval: u32,
    /// Subsample validation/test edges to this many.
    pub fixed_test_size: Option<u64>,
    /// `dot_product`, `distmult` (default), `rotate`, `transe_l1` or `transe_l2`.
    pub lp_decoder_type: String,
    /// `cross_entropy` (default), `contrastive` or `bpr`.
    pub lp_loss_func: String,
    /// Contrastive loss temperature (default 1.0).
    pub contrastive_loss_temperature: f64,
    /// When set, cross-entropy becomes adversarial cross-entropy.
    pub adversarial_temperature: Option<f64>,
    /// `l2_norm`, or `None`.
    pub lp_embed_normalizer: Option<String>,
    /// gs's `mask_reverse_edges`: in link prediction's message passing a reverse edge type
    /// without `train_mask` keeps only the reverses of its forward type's training edges.
    /// Off (GraphStorm): every edge of such a type carries messages, val/test reverses too.
    #[serde(default)]
    pub mask_reverse_edges: bool,
    /// Edge type whose score selects models (`ALL`, default: the mean).
    pub model_select_etype: String,
    // ---- model ----
    /// GraphStorm's encoder name; also the built-in plugin when `--plugin` is absent.
    pub model_encoder_type: Option<String>,
    /// Hidden width (required, > 0).
    pub hidden_size: u32,
    /// GNN layers (default 0).
    pub num_layers: u32,
    /// Training fanout as given (`10,10` or per-etype form); present iff `num_layers > 0`.
    pub fanout: Option<String>,
    /// Evaluation fanout; defaults to `-1` per layer when `num_layers > 0`.
    pub eval_fanout: Option<String>,
    /// Dropout in [0, 1) (default 0).
    pub dropout: f64,
    /// `relu`, `none`, or `None`.
    pub input_activate: Option<String>,
    /// `batch`, `layer`, or `None`.
    pub gnn_norm: Option<String>,
    /// Extra feed-forward layers in the input layer.
    pub num_ffn_layers_in_input: u32,
    /// Extra feed-forward layers after each GNN layer.
    pub num_ffn_layers_in_gnn: u32,
    /// Output width of the last GNN layer (`None`: `hidden_size`).
    pub out_emb_size: Option<u32>,
    /// Extra feed-forward layers in the decoder.
    pub num_ffn_layers_in_decoder: u32,
    /// Decoders have a bias (default true).
    pub decoder_bias: bool,
    /// Self-loops in RGCN/RGAT (default true).
    pub use_self_loop: bool,
    /// RGCN bases (-1: no decomposition).
    pub num_bases: i64,
    /// Attention heads (default 4).
    pub num_heads: u32,
    /// Learnable per-node embeddings added to features.
    pub use_node_embeddings: bool,
    /// Node features: `feat` or `ntype:f1,f2` entries; `None` uses no features.
    pub node_feat_name: Option<Vec<String>>,
    /// Edge features: `feat` or `src,rel,dst:f1,f2` entries.
    pub edge_feat_name: Option<Vec<String>>,
    /// `concat` (default), `add`, `sub`, `mul` or `div`.
    pub edge_feat_mp_op: String,
    // ---- optimisation ----
    /// Learning rate (required, > 0).
    pub lr: f64,
    /// Learning rate of sparse embeddings; `None` means `lr`.
    pub sparse_optimizer_lr: Option<f64>,
    /// Adam weight decay.
    pub wd_l2norm: f64,
    /// Explicit L2 coefficient in the loss.
    pub alpha_l2norm: f64,
    /// Gradient clipping norm.
    pub max_grad_norm: Option<f64>,
    /// p of the clipping norm (default 2; infinite: the largest absolute value, saved as `inf`).
    #[serde(serialize_with = "norm_type_out", deserialize_with = "norm_type_in")]
    pub grad_norm_type: f64,
    /// Epochs (default 0: evaluate/infer only).
    pub num_epochs: u32,
    /// Mini-batch size (required, > 0).
    pub batch_size: u32,
    /// Evaluation mini-batch size (default 10000).
    pub eval_batch_size: u32,
    // ---- evaluation ----
    /// Evaluate every N iterations too; `None`: at epoch ends only.
    pub eval_frequency: Option<u64>,
    /// Skip validation.
    pub no_validation: bool,
    /// Mini-batch inference (default true).
    pub use_mini_batch_infer: bool,
    /// Metrics, lower case; the first is the primary one.
    pub eval_metric: Vec<String>,
    /// Report metrics per type.
    pub report_eval_per_type: bool,
    /// Early stopping on.
    pub use_early_stop: bool,
    /// Evaluations before early stop may trigger.
    pub early_stop_burnin_rounds: u32,
    /// Evaluations the rule looks back over (default 3).
    pub early_stop_rounds: u32,
    /// The rule.
    pub early_stop_strategy: EarlyStopStrategy,
    /// Log progress every N iterations (default 1000).
    pub log_report_frequency: u64,
    // ---- save / restore ----
    /// Checkpoint directory; `None` (or `none`) saves nothing.
    pub save_model_path: Option<PathBuf>,
    /// Also save every N iterations; -1 means at epoch ends only.
    pub save_model_frequency: i64,
    /// Keep only the K best checkpoints; `None` keeps all.
    pub topk_model_to_save: Option<u32>,
    /// Model to load (required for inference).
    pub restore_model_path: Option<PathBuf>,
    /// GraphStorm's `restore_model_layers`: which parts of the restored model to load (`embed`
    /// = `dense_embed` + `sparse_embed`, `gnn`, `decoder`); empty loads every part.
    #[serde(default)]
    pub restore_model_layers: Vec<String>,
    /// Checkpoint whose optimizer state training continues from.
    pub restore_optimizer_path: Option<PathBuf>,
    /// Embedding output directory.
    pub save_embed_path: Option<PathBuf>,
    /// Prediction output directory (defaults to `save_embed_path`).
    pub save_prediction_path: Option<PathBuf>,
    // ---- gs ----
    /// Seed for sampling, initialisation and dropout (default 42).
    pub seed: u64,
    /// Plugin guest memory cap, MiB (default 512).
    pub plugin_memory_mb: u64,
    /// Seconds one plugin export call may run (default 60).
    pub plugin_call_timeout: u64,
    /// Live tensor handles a plugin may hold (default 100000).
    pub plugin_max_tensors: u64,
    /// Host tensor memory a plugin may hold, MiB (default 4096).
    pub plugin_tensor_budget_mb: u64,
}

/// A p-norm's p as JSON: a number, or `"inf"` (JSON has no infinity).
fn norm_type_out<S: Serializer>(p: &f64, s: S) -> Result<S::Ok, S::Error> {
    if p.is_infinite() {
        s.serialize_str("inf")
    } else {
        s.serialize_f64(*p)
    }
}

fn norm_type_in<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    match Value::deserialize(d)? {
        Value::String(s) if s.eq_ignore_ascii_case("inf") => Ok(f64::INFINITY),
        Value::Number(n) => n
            .as_f64()
            .ok_or_else(|| serde::de::Error::custom("grad_norm_type is not a number")),
        other => Err(serde::de::Error::custom(format!(
            "grad_norm_type must be a number or \"inf\", got {other}"
        ))),
    }
}

impl TrainConfig {
    /// The config as `key -> value` (GraphStorm key names), for saving beside a checkpoint.
    /// Passing it back as `resolve(argv, Some(&map))` rebuilds the same `TrainConfig`
    /// (unless the YAML or command line override some of it).
    pub fn to_map(&self) -> BTreeMap<String, Value> {
        match serde_json::to_value(self) {
            Ok(Value::Object(map)) => map.into_iter().collect(),
            // A struct of plain fields always serialises to an object (all floats are finite:
            // resolve rejects NaN and infinities).
            _ => BTreeMap::new(),
        }
    }
}

/// The resolved value of one of the GraphStorm keys a model plugin may read
/// ([`PLUGIN_KEYS`](crate::PLUGIN_KEYS)), as [`Resolved::plugin_keys`] lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginKey {
    /// The GraphStorm key, e.g. `num_bases`.
    pub key: &'static str,
    /// The value as text, as a plugin's custom argument carries it (`2`, `false`).
    pub value: String,
    /// Whether the value differs from the table's default.
    pub non_default: bool,
    /// Where the value came from.
    pub source: Source,
}

impl PluginKey {
    /// The key as a person reads it in a message: "`num_bases` (`--num-bases`) = 2, set in
    /// the YAML".
    pub fn describe(&self) -> String {
        let flag = format!("--{}", self.key.replace('_', "-"));
        let whence = match self.source {
            Source::Default => "its default",
            Source::Checkpoint => "from the checkpoint",
            Source::Yaml => "set in the YAML",
            Source::Cli => "set on the command line",
        };
        format!("`{}` (`{flag}`) = {}, {whence}", self.key, self.value)
    }
}

impl TrainConfig {
    /// The width of the node embeddings an encoder returns and the host's decoders read:
    /// `out_emb_size`, or `hidden_size`.
    pub fn embedding_size(&self) -> u32 {
        self.out_emb_size.unwrap_or(self.hidden_size)
    }
}

impl Resolved {
    /// The GraphStorm keys that model plugins may read, with their resolved values, in the
    /// order of [`PLUGIN_KEYS`](crate::PLUGIN_KEYS).
    pub fn plugin_keys(&self) -> Vec<PluginKey> {
        let map = self.train.to_map();
        crate::options::PLUGIN_KEYS
            .iter()
            .filter_map(|key| {
                let spec = crate::options::spec(key)?;
                let value = match map.get(*key) {
                    Some(Value::Null) | None => spec.default.to_json().unwrap_or(Value::Null),
                    Some(value) => value.clone(),
                };
                // Unset keys without a default (`gnn_norm`, `out_emb_size`) reach a plugin as
                // empty text.
                let text = match &value {
                    Value::Null => String::new(),
                    other => crate::value::compact(other),
                };
                Some(PluginKey {
                    key: spec.key,
                    value: text,
                    non_default: spec.is_non_default(&value),
                    source: self.sources.get(*key).copied().unwrap_or(Source::Default),
                })
            })
            .collect()
    }

    /// The resolved config as aligned `key = value  (source)` lines, for `gs` to print.
    pub fn summary(&self) -> String {
        let mut values: BTreeMap<String, Value> = self.train.to_map();
        if let Ok(Value::Object(launch)) = serde_json::to_value(&self.launch) {
            values.extend(launch);
        }
        let width = self.sources.keys().map(String::len).max().unwrap_or(0);
        let mut out = String::new();
        for spec in crate::options::OPTIONS {
            let Some(source) = self.sources.get(spec.key) else {
                continue;
            };
            let value = match values.get(spec.key) {
                None | Some(Value::Null) => "-".to_string(),
                Some(v) => crate::value::compact(v),
            };
            out.push_str(&format!("{:width$} = {value}  ({source})\n", spec.key));
        }
        out
    }
}
