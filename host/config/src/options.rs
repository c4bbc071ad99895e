//! The one table of options gs recognises: every GraphStorm launch argument, every GraphStorm
//! model/task key (YAML key or CLI flag), gs's own options, and a few legacy keys that
//! GraphStorm's own example YAML files still carry.
//!
//! Adding an option is one line here; `Supported` options must also have a field in
//! `LaunchOptions` or `TrainConfig` (a unit test checks it), and name the test that shows the
//! option acts (`tests/tests/options_table.rs` checks that the test exists).

use std::fmt::Write as _;

/// Where an option is listed in `--help`, following GraphStorm's argument groups.
///
/// Section names carry no meaning in the YAML (GraphStorm flattens `gsf.<section>.<key>`);
/// these only group the help text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// `graphstorm.run.launch` arguments (process layout, outputs of the launcher).
    Launch,
    /// Options that only gs has (plugin, device, seed, sandbox limits).
    Gs,
    /// `gsf.basic`: environment.
    Basic,
    /// `gsf.gnn`: encoder shape and sampling.
    Gnn,
    /// `gsf.input`: restoring a model.
    Input,
    /// `gsf.output`: saving models, embeddings, predictions.
    Output,
    /// `gsf.hyperparam`: optimisation.
    Hyperparam,
    /// Evaluation and early stopping.
    Eval,
    /// `gsf.rgcn`.
    Rgcn,
    /// `gsf.rgat`.
    Rgat,
    /// Node classification / regression.
    NodeTask,
    /// Edge classification / regression.
    EdgeTask,
    /// Link prediction.
    LinkPrediction,
    /// Language-model encoders.
    Lm,
    /// GNN-to-LM distillation.
    Distill,
    /// Multi-task learning and GLEM (YAML-only keys in GraphStorm).
    MultiTask,
    /// Keys found in GraphStorm's own example YAML files that GraphStorm 0.5 does not read.
    Legacy,
}

impl Section {
    /// Heading used by [`help_text`](crate::help_text).
    pub fn title(self) -> &'static str {
        match self {
            Section::Launch => "Launch",
            Section::Gs => "gs",
            Section::Basic => "Basic",
            Section::Gnn => "GNN encoder",
            Section::Input => "Input (restore)",
            Section::Output => "Output (save)",
            Section::Hyperparam => "Hyper-parameters",
            Section::Eval => "Evaluation and early stop",
            Section::Rgcn => "RGCN",
            Section::Rgat => "RGAT / GAT / HGT",
            Section::NodeTask => "Node tasks",
            Section::EdgeTask => "Edge tasks",
            Section::LinkPrediction => "Link prediction",
            Section::Lm => "Language models",
            Section::Distill => "Distillation",
            Section::MultiTask => "Multi-task / GLEM",
            Section::Legacy => "Legacy keys",
        }
    }

    const ORDER: [Section; 17] = [
        Section::Launch,
        Section::Gs,
        Section::Basic,
        Section::Gnn,
        Section::Input,
        Section::Output,
        Section::Hyperparam,
        Section::Eval,
        Section::Rgcn,
        Section::Rgat,
        Section::NodeTask,
        Section::EdgeTask,
        Section::LinkPrediction,
        Section::Lm,
        Section::Distill,
        Section::MultiTask,
        Section::Legacy,
    ];
}

/// The type of an option's value, and how the command line reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    /// `--flag` (true), `--flag true|false` or `--flag=false`; YAML `true`/`false`.
    Bool,
    /// An integer.
    Int,
    /// A finite number.
    Float,
    /// A string; YAML numbers are taken as their text (`fanout: 10` is `"10"`).
    Str,
    /// One or more strings: `--flag a b c` (like GraphStorm's `nargs='+'`); YAML a string or a list.
    StrList,
    /// Numbers separated by commas: `--flag 0.1,0.2`; YAML a string or a list of numbers.
    FloatList,
    /// Strings separated by commas: `--flag a,b`; YAML a string or a list.
    CommaList,
    /// Any YAML value (structured keys such as `training_method`); kept as given.
    Any,
}

impl ValueKind {
    fn placeholder(self) -> &'static str {
        match self {
            ValueKind::Bool => "[true|false]",
            ValueKind::Int => "<int>",
            ValueKind::Float => "<float>",
            ValueKind::Str => "<str>",
            ValueKind::StrList => "<str>...",
            ValueKind::FloatList => "<x,y,...>",
            ValueKind::CommaList => "<a,b,...>",
            ValueKind::Any => "<value>",
        }
    }
}

/// What gs does with an option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Support {
    /// Resolved into [`LaunchOptions`](crate::LaunchOptions) or [`TrainConfig`](crate::TrainConfig)
    /// and acted on. The text names the test that runs with the default and a non-default
    /// value and asserts a difference, as `path/from/repo/root.rs::test_fn`.
    Supported(&'static str),
    /// Accepted so GraphStorm command lines and YAML files keep working; setting it to a
    /// non-default value adds a warning with this reason.
    Ignored(&'static str),
    /// Recognised, but setting it to a non-default value is an error with this reason.
    NotYetSupported(&'static str),
}

impl Support {
    /// Whether gs acts on the option.
    pub fn is_supported(self) -> bool {
        matches!(self, Support::Supported(_))
    }
}

/// Built-in default of an option.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DefaultValue {
    /// Unset (`None`), or required where the option's help says so.
    None,
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A number.
    Float(f64),
    /// A string.
    Str(&'static str),
    /// Computed from other options; the text says how.
    Derived(&'static str),
}

impl DefaultValue {
    /// The default as a JSON value (`None` and `Derived` give `None`).
    pub(crate) fn to_json(self) -> Option<serde_json::Value> {
        match self {
            DefaultValue::None | DefaultValue::Derived(_) => None,
            DefaultValue::Bool(b) => Some(b.into()),
            DefaultValue::Int(i) => Some(i.into()),
            DefaultValue::Float(f) => Some(f.into()),
            DefaultValue::Str(s) => Some(s.into()),
        }
    }

    /// How the default reads in help and error text.
    pub fn describe(self) -> String {
        match self {
            DefaultValue::None => "unset".to_string(),
            DefaultValue::Bool(b) => b.to_string(),
            DefaultValue::Int(i) => i.to_string(),
            DefaultValue::Float(f) => f.to_string(),
            DefaultValue::Str("") => "\"\"".to_string(),
            DefaultValue::Str(s) => s.to_string(),
            DefaultValue::Derived(how) => how.to_string(),
        }
    }
}

/// One row of the option table.
#[derive(Debug, Clone, Copy)]
pub struct OptionSpec {
    /// The YAML key (underscores). The CLI flag is `--` + the key with dashes; the
    /// underscore spelling is accepted on the command line too.
    pub key: &'static str,
    /// Help group.
    pub section: Section,
    /// Value type.
    pub kind: ValueKind,
    /// Built-in default.
    pub default: DefaultValue,
    /// Whether gs uses it.
    pub support: Support,
    /// One help line.
    pub help: &'static str,
}

impl OptionSpec {
    /// The CLI spelling, e.g. `--num-epochs`.
    pub fn flag(&self) -> String {
        format!("--{}", self.key.replace('_', "-"))
    }

    /// Whether only a YAML file sets it (GraphStorm has no command-line flag for it); such a
    /// `--flag` on the command line goes to the plugin.
    pub fn is_yaml_only(&self) -> bool {
        self.section == Section::Legacy || YAML_ONLY.contains(&self.key)
    }

    /// Whether `value` differs from the built-in default (used to decide whether an ignored or
    /// not-yet-supported option was really asked for).
    pub(crate) fn is_non_default(&self, value: &serde_json::Value) -> bool {
        use serde_json::Value;
        match (self.default, value) {
            (_, Value::Null) => false,
            (DefaultValue::None, Value::Bool(b)) => *b,
            // An empty list is what a saved config holds for an unset list.
            (DefaultValue::None, Value::Array(items)) => !items.is_empty(),
            (DefaultValue::None | DefaultValue::Derived(_), _) => true,
            (DefaultValue::Bool(d), Value::Bool(b)) => d != *b,
            (DefaultValue::Int(d), v) => v.as_i64() != Some(d),
            (DefaultValue::Float(d), v) => v.as_f64() != Some(d),
            (DefaultValue::Str(d), Value::String(s)) => d != s,
            _ => true,
        }
    }
}

use DefaultValue as D;
use Section as Sec;
use Support::{Ignored as Ign, NotYetSupported as Nys, Supported as Sup};
use ValueKind as K;

const fn o(
    key: &'static str,
    section: Section,
    kind: ValueKind,
    default: DefaultValue,
    support: Support,
    help: &'static str,
) -> OptionSpec {
    OptionSpec {
        key,
        section,
        kind,
        default,
        support,
        help,
    }
}

const NO_LM: &str = "gs has no language-model encoders yet";
const LM_ONLY: &str =
    "it only applies to language-model encoders (`lm_model`), which gs does not have yet";
const ONE_MACHINE: &str = "gs runs a single trainer process on one machine";
const NO_MTL: &str = "multi-task learning is not supported yet";
const NO_DISTILL: &str = "distillation is not supported yet";
const NO_HARD_NEG: &str = "predefined evaluation negatives are not supported yet (training hard negatives are: `train_etypes_negative_dstnode`)";
const NO_LP: &str = "gs selects link-prediction models by the mean over evaluation edge types";

/// GraphStorm model keys that the host does not read itself but hands to a model plugin whose
/// `describe` lists a hyper-parameter of the same name: `init` receives the resolved value
/// (YAML, flag, checkpoint or the table's default) among its custom arguments. Set to a
/// non-default value while the plugin does not list it, such a key is an error naming the
/// key and the plugin. Each one is a `Supported` row of [`known_options`] with a field in
/// `TrainConfig`. `edge_feat_name` reaches the plugin resolved against the graph (one
/// `src,rel,dst:feat=width,...` entry per edge type, `;`-separated; see gs-train's
/// `EdgeFeatureSpec::plugin_arg`), so that a plugin that does not read edge features has them
/// refused by name.
pub const PLUGIN_KEYS: &[&str] = &[
    "num_bases",
    "num_heads",
    "use_self_loop",
    "edge_feat_name",
    "edge_feat_mp_op",
    "input_activate",
    "num_ffn_layers_in_input",
    "num_ffn_layers_in_gnn",
    "gnn_norm",
    "out_emb_size",
];

/// The name of the CLI-only option that points at the YAML file (`--cf`).
pub(crate) const YAML_CONFIG_FILE: &str = "yaml_config_file";

/// GraphStorm keys that only a YAML file sets: GraphStorm has no command-line flag for them, so
/// on gs's command line `--mask-fields` and the like are unknown flags that go to the plugin,
/// as in GraphStorm. The `Legacy` rows are YAML-only too.
pub(crate) const YAML_ONLY: &[&str] = &[
    "out_emb_size",
    "training_method",
    "mask_fields",
    "task_weight",
    "reconstruct_nfeat_name",
    "reconstruct_efeat_name",
    "eval_target_ntype",
    "node_lm_configs",
];

/// Every option gs recognises, in help order.
#[rustfmt::skip]
pub(crate) static OPTIONS: &[OptionSpec] = &[
    // ---- launch (graphstorm.run.launch) ----
    o(YAML_CONFIG_FILE, Sec::Launch, K::Str, D::None, Sup("host/config/src/tests.rs::cli_beats_yaml_beats_checkpoint_beats_defaults"), "GraphStorm YAML config file; command-line flags override it"),
    o("workspace", Sec::Launch, K::Str, D::Derived("current directory"), Sup("host/config/src/tests.rs::plugin_device_and_workspace"), "working directory; relative paths (--cf, --part-config, save/restore paths, a plugin path) resolve against it"),
    o("part_config", Sec::Launch, K::Str, D::None, Sup("tests/tests/cli.rs::bad_input_ends_with_a_clear_message"), "partition config JSON of the graph (required)"),
    o("ip_config", Sec::Launch, K::Str, D::None, Nys("multi-machine training is not supported yet"), "file with one IP per line, for a cluster"),
    o("num_trainers", Sec::Launch, K::Int, D::None, Sup("host/config/src/tests.rs::scale_out_is_refused_with_a_distinct_error"), "trainer processes per machine (required; gs supports 1)"),
    o("num_servers", Sec::Launch, K::Int, D::Int(1), Ign("gs reads the graph in-process; there are no graph-server processes"), "graph-server processes per machine"),
    o("num_samplers", Sec::Launch, K::Int, D::Int(0), Sup("tests/tests/cli.rs::several_sampler_workers_train_the_same_model"), "batches sampled at once ahead of the model (0 or 1: one; each batch also uses every core)"),
    o("num_server_threads", Sec::Launch, K::Int, D::None, Ign("gs has no graph-server processes"), "OMP threads per graph server"),
    o("num_omp_threads", Sec::Launch, K::Int, D::None, Sup("tests/tests/options_run.rs::num_omp_threads_sets_the_tensor_threads"), "threads for tensor operations (default: half the cores, at least 1, as GraphStorm)"),
    o("ssh_port", Sec::Launch, K::Int, D::Int(22), Ign(ONE_MACHINE), "ssh port for remote machines"),
    o("ssh_username", Sec::Launch, K::Str, D::Str(""), Ign(ONE_MACHINE), "ssh user for remote machines"),
    o("graph_format", Sec::Launch, K::Str, D::Str("csc"), Ign("gs builds the CSC/CSR views it needs"), "graph formats to load (csr,csc,coo)"),
    o("extra_envs", Sec::Launch, K::StrList, D::None, Ign("gs runs one local process; set the variables in your shell"), "K=V pairs exported on remote machines"),
    o("inference", Sec::Launch, K::Bool, D::Bool(false), Sup("tests/tests/cli.rs::trains_beats_chance_and_features_only_and_inference_matches_a_reload"), "run inference with a trained model instead of training"),
    o("lm_encoder_only", Sec::Launch, K::Bool, D::Bool(false), Nys(NO_LM), "use a language model and a decoder only (no GNN)"),
    o("do_nid_remap", Sec::Launch, K::Bool, D::Bool(true), Nys("gs always writes outputs with the raw node ids; leave do_nid_remap at true"), "map node ids in outputs back to the raw ids"),
    o("output_chunk_size", Sec::Launch, K::Int, D::Int(100_000), Sup("tests/tests/options_run.rs::output_chunk_size_splits_the_prediction_files"), "rows per remapped output file"),
    o("preserve_input", Sec::Launch, K::Bool, D::Bool(false), Nys("gs writes only the remapped outputs; there are no un-remapped files to keep"), "keep the un-remapped output files after remapping"),
    o("with_shared_fs", Sec::Launch, K::Bool, D::Bool(true), Ign(ONE_MACHINE), "whether machines share a file system"),
    o("verbose", Sec::Launch, K::Bool, D::Bool(false), Ign("GraphStorm deprecated it (it only prints more); use --logging-level debug for more output"), "print more information"),
    o("logging_level", Sec::Launch, K::Str, D::Str("info"), Sup("tests/tests/options_run.rs::logging_options_set_the_level_the_file_and_the_report_frequency"), "log level: debug, info, warning or error"),
    o("logging_file", Sec::Launch, K::Str, D::None, Sup("tests/tests/options_run.rs::logging_options_set_the_level_the_file_and_the_report_frequency"), "also write the log to this file"),
    o("local_rank", Sec::Launch, K::Int, D::Int(0), Ign("set by torch.distributed; gs runs one trainer"), "local rank of the trainer"),
    // ---- gs's own ----
    o("plugin", Sec::Gs, K::Str, D::Derived("model_encoder_type, if set"), Sup("tests/tests/cli.rs::adversarial_plugins_are_stopped_with_their_name_and_export"), "model plugin: a built-in name (sage, rgcn, rgat, hgt, gat, gatv2, mlp, learnable_embed), a path to a .wasm component, or a registry reference (oci://host/path:tag, oci-layout:DIR:tag)"),
    o("locked", Sec::Gs, K::Bool, D::Bool(false), Sup("tests/tests/registry.rs::the_lock_pins_tags_and_locked_refuses_what_it_does_not_pin"), "registry plugins: use only references pinned in gs.lock, and never write it"),
    o("trust_policy", Sec::Gs, K::Str, D::Derived("trust-policy.toml in the user's config directory, if present"), Sup("tests/tests/registry.rs::a_trust_policy_refuses_unsigned_and_foreign_signed_plugins"), "registry plugins: the trust policy (trusted keys per namespace, whether unsigned plugins are refused)"),
    o("task_type", Sec::Gs, K::Str, D::Derived("the YAML task section"), Sup("host/config/src/tests.rs::a_subcommand_task_is_only_a_fallback"), "node_classification, node_regression, edge_classification, edge_regression or link_prediction"),
    o("device", Sec::Gs, K::Str, D::Str("cpu"), Sup("tests/tests/options_run.rs::device_picks_where_tensors_live"), "cpu, cuda or cuda:N"),
    o("mask_reverse_edges", Sec::Gs, K::Bool, D::Bool(false), Sup("tests/tests/graphstorm_decoders.rs::mask_reverse_edges_keeps_validation_edges_out_through_their_reverses"), "link prediction: a reverse edge type without train_mask carries only the reverses of training edges (GraphStorm lets all of them carry messages)"),
    o("seed", Sec::Gs, K::Int, D::Int(42), Sup("tests/tests/options_run.rs::hyper_parameters_change_the_first_training_steps"), "seed for sampling, initialisation and dropout"),
    o("plugin_memory_mb", Sec::Gs, K::Int, D::Int(512), Sup("tests/tests/adversarial.rs::plugin_memory_mb_limits_guest_memory"), "plugin sandbox: guest memory cap in MiB"),
    o("plugin_call_timeout", Sec::Gs, K::Int, D::Int(60), Sup("tests/tests/adversarial.rs::plugin_call_timeout_limits_every_export"), "plugin sandbox: seconds one export call may run"),
    o("plugin_max_tensors", Sec::Gs, K::Int, D::Int(100_000), Sup("tests/tests/adversarial.rs::plugin_max_tensors_limits_handles"), "plugin sandbox: live tensor handles a plugin may hold"),
    o("plugin_tensor_budget_mb", Sec::Gs, K::Int, D::Int(4096), Sup("tests/tests/adversarial.rs::plugin_tensor_budget_mb_limits_host_memory"), "plugin sandbox: host tensor memory a plugin may hold, in MiB"),
    // ---- basic ----
    o("backend", Sec::Basic, K::Str, D::Str("gloo"), Ign("gs runs one trainer process, so no torch.distributed collectives run (gloo and nccl are both accepted)"), "torch.distributed backend (gloo or nccl)"),
    o("use_graphbolt", Sec::Basic, K::Bool, D::Bool(false), Nys("gs samples neighbours with its own sampler, not DGL GraphBolt"), "use DGL GraphBolt"),
    o("use_wholegraph_embed", Sec::Basic, K::Bool, D::None, Ign("gs keeps embeddings in its own storage"), "use NVIDIA WholeGraph for embeddings"),
    o("save_perf_results_path", Sec::Basic, K::Str, D::None, Nys("performance result files are not written yet"), "folder for performance results of evaluation"),
    o("profile_path", Sec::Basic, K::Str, D::None, Ign("GraphStorm's profiler output is not produced"), "folder for profiling results"),
    o("log_report_frequency", Sec::Basic, K::Int, D::Int(1000), Sup("tests/tests/options_run.rs::logging_options_set_the_level_the_file_and_the_report_frequency"), "log training progress every N iterations"),
    o("task_tracker", Sec::Basic, K::Str, D::Str("sagemaker_task_tracker"), Ign("gs reports metrics in its log"), "sagemaker_task_tracker or tensorboard_task_tracker[:DIR]"),
    // ---- gnn ----
    o("model_encoder_type", Sec::Gnn, K::Str, D::None, Sup("host/config/src/tests.rs::model_encoder_type_names_the_builtin_plugin"), "encoder, used as the built-in plugin when --plugin is not given: sage, rgcn, rgat, hgt, gat, gatv2, or mlp and learnable_embed (num_layers 0, no fanout); GraphStorm's lm is not built in"),
    o("input_activate", Sec::Gnn, K::Str, D::None, Sup("tests/tests/encoder_options.rs::graphstorm_models_with_encoder_options_give_graphstorm_embeddings_and_predictions"), "activation after the input layer: none or relu (read by model plugins that list it: every built-in encoder but learnable_embed)"),
    o("node_feat_name", Sec::Gnn, K::StrList, D::None, Sup("tests/tests/options_run.rs::hyper_parameters_change_the_first_training_steps"), "node features: `feat` for all types, or `ntype:f1,f2 ntype2:f3`"),
    o("edge_feat_name", Sec::Gnn, K::StrList, D::None, Sup("tests/tests/edge_features.rs::rgcn_learns_from_a_signal_only_in_edge_features"), "edge features: `feat`, or `src,rel,dst:f1,f2 ...`"),
    o("edge_feat_mp_op", Sec::Gnn, K::Str, D::Str("concat"), Sup("tests/tests/edge_features.rs::every_edge_feature_message_op_trains_and_changes_the_result"), "how edge features join messages: concat, add, sub, mul or div"),
    o("fanout", Sec::Gnn, K::Str, D::None, Sup("tests/tests/options_run.rs::hyper_parameters_change_the_first_training_steps"), "neighbours sampled per layer: `10,10` or `src/rel/dst:10@src/rel2/dst:5,...` (-1: all); none with num_layers 0"),
    o("eval_fanout", Sec::Gnn, K::Str, D::Derived("-1 (all neighbours) per layer"), Sup("tests/tests/inference.rs::eval_fanout_use_mini_batch_infer_and_save_prediction_path_act"), "fanout during evaluation and inference, same forms as --fanout"),
    o("hidden_size", Sec::Gnn, K::Int, D::None, Sup("tests/tests/options_run.rs::hyper_parameters_change_the_first_training_steps"), "width of hidden layers (required)"),
    o("num_layers", Sec::Gnn, K::Int, D::Int(0), Sup("tests/tests/options_run.rs::hyper_parameters_change_the_first_training_steps"), "number of GNN layers (0: no message passing)"),
    o("num_ffn_layers_in_input", Sec::Gnn, K::Int, D::Int(0), Sup("tests/tests/encoder_options.rs::graphstorm_models_with_encoder_options_give_graphstorm_embeddings_and_predictions"), "NGNN feed-forward layers after the input layer (read by model plugins that list it)"),
    o("num_ffn_layers_in_gnn", Sec::Gnn, K::Int, D::Int(0), Sup("tests/tests/encoder_options.rs::graphstorm_models_with_encoder_options_give_graphstorm_embeddings_and_predictions"), "NGNN feed-forward layers after each GNN layer (read by model plugins that list it: rgcn, rgat, hgt, sage, gat, gatv2)"),
    o("out_emb_size", Sec::Gnn, K::Int, D::None, Sup("tests/tests/encoder_options.rs::out_emb_size_sizes_the_last_layer_and_the_host_decoders"), "output width of the last GNN layer, which the decoders read (default: hidden_size; read by model plugins that list it)"),
    o("num_ffn_layers_in_decoder", Sec::Gnn, K::Int, D::Int(0), Nys("the host decoder is one linear layer"), "extra feed-forward layers in the decoder"),
    o("use_mini_batch_infer", Sec::Gnn, K::Bool, D::Bool(true), Sup("tests/tests/inference.rs::eval_fanout_use_mini_batch_infer_and_save_prediction_path_act"), "mini-batch (true) or layer-wise full-graph (false) inference"),
    o("use_node_embeddings", Sec::Gnn, K::Bool, D::Bool(false), Sup("tests/tests/learnable_embeddings.rs::use_node_embeddings_widens_every_input_and_changes_training"), "add a learnable embedding per node to its features"),
    o("construct_feat_ntype", Sec::Gnn, K::StrList, D::None, Nys("feature construction for featureless node types is not supported yet"), "node types whose features are built from neighbours"),
    o("construct_feat_encoder", Sec::Gnn, K::Str, D::Str("rgcn"), Ign("it only applies with --construct-feat-ntype, which gs does not support yet"), "encoder that constructs features"),
    o("construct_feat_fanout", Sec::Gnn, K::Int, D::Int(5), Ign("it only applies with --construct-feat-ntype, which gs does not support yet"), "fanout used to construct features"),
    // ---- input ----
    o("restore_model_path", Sec::Input, K::Str, D::None, Sup("tests/tests/checkpoints.rs::a_restored_run_continues_exactly_where_the_uninterrupted_run_went"), "directory of a saved model to load (required for --inference)"),
    o("restore_model_layers", Sec::Input, K::CommaList, D::None, Sup("tests/tests/graphstorm_import.rs::training_continues_from_a_graphstorm_model_with_the_layers_named"), "parts of the restored model to load: embed (dense_embed, sparse_embed), gnn, decoder (default all)"),
    o("restore_optimizer_path", Sec::Input, K::Str, D::None, Sup("tests/tests/checkpoints.rs::a_restored_run_continues_exactly_where_the_uninterrupted_run_went"), "checkpoint directory whose optimizer (Adam) state training continues from"),
    // ---- output ----
    o("save_model_path", Sec::Output, K::Str, D::None, Sup("tests/tests/checkpoints.rs::the_runtime_yaml_comes_with_the_first_checkpoint_and_another_runs_folder_is_refused"), "directory to save checkpoints in (`none`: do not save)"),
    o("save_model_frequency", Sec::Output, K::Int, D::Int(-1), Sup("tests/tests/checkpoints.rs::save_model_frequency_eval_frequency_and_topk_model_to_save_act"), "also save every N iterations (-1: at epoch ends only)"),
    o("topk_model_to_save", Sec::Output, K::Int, D::Derived("keep all"), Sup("tests/tests/checkpoints.rs::save_model_frequency_eval_frequency_and_topk_model_to_save_act"), "keep only the K best checkpoints by validation score"),
    o("save_embed_path", Sec::Output, K::Str, D::None, Sup("tests/tests/embeddings.rs::embeddings_are_written_in_graphstorm_layout_from_the_best_checkpoint_and_at_inference"), "directory to save node embeddings in (`none`: do not save)"),
    o("save_embed_format", Sec::Output, K::Str, D::Str("pytorch"), Nys("embeddings are written in gs's own format"), "pytorch or hdf5"),
    o("save_prediction_path", Sec::Output, K::Str, D::Derived("save_embed_path"), Sup("tests/tests/inference.rs::eval_fanout_use_mini_batch_infer_and_save_prediction_path_act"), "directory to save predictions in (`none`: do not save)"),
    o("infer_all_target_nodes", Sec::Output, K::Bool, D::Bool(false), Sup("tests/tests/options_run.rs::infer_all_target_nodes_predicts_every_target_node"), "at inference, predict every node of the target type (needs --no-validation true)"),
    // ---- hyperparam ----
    o("lr", Sec::Hyperparam, K::Float, D::None, Sup("tests/tests/options_run.rs::hyper_parameters_change_the_first_training_steps"), "learning rate (required, > 0)"),
    o("num_epochs", Sec::Hyperparam, K::Int, D::Int(0), Sup("tests/tests/cli.rs::trains_beats_chance_and_features_only_and_inference_matches_a_reload"), "training epochs (0: evaluate/infer only)"),
    o("batch_size", Sec::Hyperparam, K::Int, D::None, Sup("tests/tests/options_run.rs::hyper_parameters_change_the_first_training_steps"), "mini-batch size per trainer (required)"),
    o("eval_batch_size", Sec::Hyperparam, K::Int, D::Int(10_000), Sup("tests/tests/options_run.rs::eval_batch_size_sets_the_evaluation_batches"), "mini-batch size for evaluation and inference"),
    o("dropout", Sec::Hyperparam, K::Float, D::Float(0.0), Sup("tests/tests/options_run.rs::hyper_parameters_change_the_first_training_steps"), "dropout rate in [0, 1)"),
    o("decoder_bias", Sec::Hyperparam, K::Bool, D::Bool(true), Sup("tests/tests/options_run.rs::decoder_bias_false_leaves_the_decoder_without_a_bias"), "whether decoders have a bias"),
    o("gnn_norm", Sec::Hyperparam, K::Str, D::None, Sup("tests/tests/encoder_options.rs::graphstorm_models_with_encoder_options_give_graphstorm_embeddings_and_predictions"), "normalisation in GNN layers: layer or batch (read by model plugins that list it)"),
    o("sparse_optimizer_lr", Sec::Hyperparam, K::Float, D::Derived("lr"), Sup("tests/tests/learnable_embeddings.rs::featureless_users_learn_embeddings_that_rank_their_items"), "learning rate of learnable node embeddings"),
    o("wd_l2norm", Sec::Hyperparam, K::Float, D::Float(0.0), Sup("tests/tests/options_run.rs::hyper_parameters_change_the_first_training_steps"), "weight decay of the Adam optimiser"),
    o("alpha_l2norm", Sec::Hyperparam, K::Float, D::Float(0.0), Sup("tests/tests/options_run.rs::hyper_parameters_change_the_first_training_steps"), "coefficient of an explicit L2 term in the loss"),
    o("max_grad_norm", Sec::Hyperparam, K::Float, D::None, Sup("tests/tests/options_run.rs::hyper_parameters_change_the_first_training_steps"), "clip gradients to this norm"),
    o("grad_norm_type", Sec::Hyperparam, K::Str, D::Float(2.0), Sup("tests/tests/options_run.rs::hyper_parameters_change_the_first_training_steps"), "p of the p-norm used to clip gradients (a number > 0, or inf)"),
    o("use_self_loop", Sec::Hyperparam, K::Bool, D::Bool(true), Sup("tests/tests/rgcn.rs::use_self_loop_false_removes_the_loop_weight"), "add self-loops in RGCN/RGAT layers (read by model plugins that list it, e.g. rgcn)"),
    // ---- evaluation / early stop ----
    o("eval_frequency", Sec::Eval, K::Int, D::Derived("at epoch ends only"), Sup("tests/tests/checkpoints.rs::save_model_frequency_eval_frequency_and_topk_model_to_save_act"), "also evaluate every N iterations"),
    o("no_validation", Sec::Eval, K::Bool, D::Bool(false), Sup("tests/tests/options_run.rs::no_validation_skips_the_validation_scores"), "skip validation"),
    o("eval_metric", Sec::Eval, K::StrList, D::Derived("accuracy (classification), rmse (regression), mrr (link prediction)"), Sup("tests/tests/options_run.rs::eval_metric_picks_the_reported_scores"), "metrics to report: accuracy, f1_score, roc_auc, precision_recall (binary), per_class_f1_score, per_class_roc_auc, precision, recall (classification; multilabel: accuracy, roc_auc, per_class_roc_auc), rmse, mse, mae (regression), mrr, amri, hit_at_<k> (link prediction); the first selects models (per-class metrics by their overall value) and drives early stop"),
    o("report_eval_per_type", Sec::Eval, K::Bool, D::Bool(false), Ign("GraphStorm reads it only for link prediction (where gs refuses it: it reports the mean over evaluation edge types); node and edge tasks report one score"), "report metrics per node or edge type"),
    o("use_early_stop", Sec::Eval, K::Bool, D::Bool(false), Sup("host/train/src/early_stop.rs::early_stop_rules_follow_graphstorm"), "stop when the validation score stops improving"),
    o("early_stop_burnin_rounds", Sec::Eval, K::Int, D::Int(0), Sup("host/train/src/early_stop.rs::early_stop_rules_follow_graphstorm"), "evaluations before early stop may trigger"),
    o("early_stop_rounds", Sec::Eval, K::Int, D::Int(3), Sup("host/train/src/early_stop.rs::early_stop_rules_follow_graphstorm"), "evaluations compared by the early-stop rule"),
    o("early_stop_strategy", Sec::Eval, K::Str, D::Str("average_increase"), Sup("host/train/src/early_stop.rs::early_stop_rules_follow_graphstorm"), "average_increase (worse than the mean of the last K) or consecutive_increase (worse than each)"),
    // ---- rgcn / rgat ----
    o("num_bases", Sec::Rgcn, K::Int, D::Int(-1), Sup("tests/tests/rgcn.rs::num_bases_changes_the_weights_and_the_result"), "RGCN basis decomposition (-1: none; read by model plugins that list it, e.g. rgcn)"),
    o("num_heads", Sec::Rgat, K::Int, D::Int(4), Sup("tests/tests/rgat.rs::num_heads_changes_the_weights_and_the_result"), "attention heads (read by model plugins that list it: rgat, hgt, gat, gatv2)"),
    // ---- node tasks ----
    o("target_ntype", Sec::NodeTask, K::Str, D::Str("_N"), Sup("tests/tests/options_run.rs::task_keys_change_the_first_loss"), "node type to predict"),
    o("label_field", Sec::NodeTask, K::Str, D::None, Sup("tests/tests/options_run.rs::task_keys_change_the_first_loss"), "feature holding the labels (required except for link prediction)"),
    o("num_classes", Sec::NodeTask, K::Int, D::None, Sup("tests/tests/options_run.rs::task_keys_change_the_first_loss"), "number of classes (required for classification)"),
    o("multilabel", Sec::NodeTask, K::Bool, D::Bool(false), Sup("tests/tests/options_run.rs::multilabel_and_its_weights_change_the_first_loss"), "multi-label classification (BCE per class)"),
    o("multilabel_weights", Sec::NodeTask, K::FloatList, D::None, Sup("tests/tests/options_run.rs::multilabel_and_its_weights_change_the_first_loss"), "positive weight per class for multi-label BCE"),
    o("imbalance_class_weights", Sec::NodeTask, K::FloatList, D::None, Sup("tests/tests/options_run.rs::imbalance_class_weights_change_the_first_loss"), "weight per class for the cross-entropy loss"),
    o("return_proba", Sec::NodeTask, K::Bool, D::Bool(true), Sup("tests/tests/options_run.rs::return_proba_writes_probabilities_or_classes"), "write class probabilities (true) or the argmax (false)"),
    o("class_loss_func", Sec::NodeTask, K::Str, D::Str("cross_entropy"), Sup("tests/tests/options_run.rs::focal_loss_and_its_gamma_and_alpha_change_the_first_loss"), "classification loss: cross_entropy or focal"),
    o("regression_loss_func", Sec::NodeTask, K::Str, D::Str("mse"), Sup("tests/tests/options_run.rs::shrinkage_loss_and_its_gamma_and_alpha_change_the_first_loss"), "regression loss: mse or shrinkage"),
    o("gamma", Sec::NodeTask, K::Float, D::Derived("per use: focal 2.0, shrinkage 0.2, KGE decoders 12.0"), Sup("tests/tests/options_run.rs::focal_loss_and_its_gamma_and_alpha_change_the_first_loss"), "gamma of the focal/shrinkage losses and KGE decoders"),
    o("alpha", Sec::NodeTask, K::Float, D::Derived("per use: focal 0.25, shrinkage 10.0"), Sup("tests/tests/options_run.rs::focal_loss_and_its_gamma_and_alpha_change_the_first_loss"), "alpha of the focal/shrinkage losses"),
    o("use_pseudolabel", Sec::NodeTask, K::Bool, D::Bool(false), Nys("GLEM is not supported yet"), "GLEM pseudo-labels"),
    o("eval_target_ntype", Sec::NodeTask, K::Str, D::None, Nys("a separate evaluation node type is not supported yet"), "node type to evaluate on"),
    // ---- edge tasks ----
    o("target_etype", Sec::EdgeTask, K::StrList, D::Derived("_N,_E,_N for edge tasks"), Sup("tests/tests/edge_tasks.rs::bad_edge_task_input_is_refused_naming_key_value_and_fix"), "edge type to predict, as `src,rel,dst` (one)"),
    o("reverse_edge_types_map", Sec::EdgeTask, K::StrList, D::None, Sup("host/train/src/edge_task.rs::remove_target_edge_type_and_the_reverse_map_shape_the_blocks"), "reverse edge types: `head,rel,rev_rel,tail ...`"),
    o("remove_target_edge_type", Sec::EdgeTask, K::Bool, D::Bool(true), Sup("host/train/src/edge_task.rs::remove_target_edge_type_and_the_reverse_map_shape_the_blocks"), "drop the target edge type and its reverse from message passing"),
    o("decoder_type", Sec::EdgeTask, K::Str, D::Str("DenseBiDecoder"), Sup("host/train/src/edge_task.rs::decoder_keys_build_the_decoder_they_name"), "edge decoder: DenseBiDecoder, MLPDecoder or MLPEFeatEdgeDecoder"),
    o("num_decoder_basis", Sec::EdgeTask, K::Int, D::Int(2), Sup("host/train/src/edge_task.rs::decoder_keys_build_the_decoder_they_name"), "bases of DenseBiDecoder"),
    o("decoder_edge_feat", Sec::EdgeTask, K::StrList, D::None, Sup("tests/tests/edge_features.rs::the_edge_feature_decoder_learns_from_the_target_edges_own_feature"), "edge features for MLPEFeatEdgeDecoder"),
    o("decoder_norm", Sec::EdgeTask, K::Str, D::None, Nys("decoder normalisation is not supported yet"), "normalisation in the decoder"),
    // ---- link prediction ----
    o("train_etype", Sec::LinkPrediction, K::StrList, D::Derived("all edge types"), Sup("tests/tests/link_prediction.rs::link_prediction_ranks_true_items_far_above_chance"), "edge types to train on: `src,rel,dst ...`"),
    o("eval_etype", Sec::LinkPrediction, K::StrList, D::Derived("all edge types"), Sup("tests/tests/link_prediction.rs::bad_link_prediction_input_is_refused_naming_key_value_and_fix"), "edge types to evaluate on"),
    o("exclude_training_targets", Sec::LinkPrediction, K::Bool, D::Bool(true), Sup("host/train/src/edge_task.rs::remove_target_edge_type_and_the_reverse_map_shape_the_blocks"), "remove a batch's target edges (and reverses) from its sampled blocks"),
    o("train_negative_sampler", Sec::LinkPrediction, K::Str, D::Str("uniform"), Sup("tests/tests/link_prediction.rs::lp_keys_change_the_first_loss_or_the_scores"), "training negatives: uniform, joint, inbatch_joint, localuniform, ..."),
    o("eval_negative_sampler", Sec::LinkPrediction, K::Str, D::Str("joint"), Sup("tests/tests/link_prediction.rs::link_prediction_ranks_true_items_far_above_chance"), "evaluation negatives: uniform or joint; gs adds full and full_filtered (rank against every node)"),
    o("num_negative_edges", Sec::LinkPrediction, K::Int, D::Int(16), Sup("tests/tests/link_prediction.rs::lp_keys_change_the_first_loss_or_the_scores"), "negatives per positive edge in training"),
    o("num_negative_edges_eval", Sec::LinkPrediction, K::Int, D::Int(1000), Sup("tests/tests/link_prediction.rs::lp_keys_change_the_first_loss_or_the_scores"), "negatives per positive edge in evaluation"),
    o("fixed_test_size", Sec::LinkPrediction, K::Int, D::None, Sup("tests/tests/link_prediction.rs::lp_keys_change_the_first_loss_or_the_scores"), "subsample validation/test edges to this many"),
    o("lp_decoder_type", Sec::LinkPrediction, K::Str, D::Str("distmult"), Sup("tests/tests/link_prediction.rs::lp_keys_change_the_first_loss_or_the_scores"), "score function: dot_product, distmult, rotate, transe_l1 or transe_l2"),
    o("lp_loss_func", Sec::LinkPrediction, K::Str, D::Str("cross_entropy"), Sup("tests/tests/link_prediction.rs::lp_keys_change_the_first_loss_or_the_scores"), "loss: cross_entropy, contrastive or bpr"),
    o("contrastive_loss_temperature", Sec::LinkPrediction, K::Float, D::Float(1.0), Sup("tests/tests/link_prediction.rs::lp_keys_change_the_first_loss_or_the_scores"), "temperature of the contrastive loss"),
    o("adversarial_temperature", Sec::LinkPrediction, K::Float, D::None, Sup("tests/tests/link_prediction.rs::lp_keys_change_the_first_loss_or_the_scores"), "turns cross-entropy into adversarial cross-entropy"),
    o("lp_embed_normalizer", Sec::LinkPrediction, K::Str, D::None, Sup("tests/tests/link_prediction.rs::lp_keys_change_the_first_loss_or_the_scores"), "normalise embeddings before scoring: l2_norm"),
    o("model_select_etype", Sec::LinkPrediction, K::Str, D::Str("ALL"), Nys(NO_LP), "edge type whose score selects models (ALL: the mean)"),
    o("lp_edge_weight_for_loss", Sec::LinkPrediction, K::StrList, D::None, Sup("tests/tests/link_prediction.rs::lp_edge_weight_for_loss_weighs_positive_edges"), "edge feature weighting the loss"),
    o("train_etypes_negative_dstnode", Sec::LinkPrediction, K::StrList, D::None, Sup("tests/tests/link_prediction.rs::hard_negatives_replace_random_ones_and_raise_the_loss"), "hard negatives for training"),
    o("eval_etypes_negative_dstnode", Sec::LinkPrediction, K::StrList, D::None, Nys(NO_HARD_NEG), "hard negatives for evaluation"),
    o("num_train_hard_negatives", Sec::LinkPrediction, K::StrList, D::None, Sup("tests/tests/link_prediction.rs::hard_negatives_replace_random_ones_and_raise_the_loss"), "hard negatives per positive edge"),
    // ---- language models ----
    o("lm_tune_lr", Sec::Lm, K::Float, D::None, Ign(LM_ONLY), "learning rate of the language model"),
    o("lm_train_nodes", Sec::Lm, K::Int, D::Int(0), Ign(LM_ONLY), "nodes per batch that get LM gradients"),
    o("lm_infer_batch_size", Sec::Lm, K::Int, D::Int(32), Ign(LM_ONLY), "LM inference batch size"),
    o("freeze_lm_encoder_epochs", Sec::Lm, K::Int, D::Int(0), Ign(LM_ONLY), "epochs with the LM frozen"),
    o("max_seq_len", Sec::Lm, K::Int, D::Int(1024), Ign(LM_ONLY), "maximum token sequence length"),
    o("cache_lm_embed", Sec::Lm, K::Bool, D::None, Ign(LM_ONLY), "cache LM embeddings"),
    o("node_lm_configs", Sec::Lm, K::Any, D::None, Nys(NO_LM), "language models per node type (what GraphStorm reads from `lm_model.node_lm_models`)"),
    // ---- distillation ----
    o("textual_data_path", Sec::Distill, K::Str, D::None, Nys(NO_DISTILL), "text data for distillation"),
    o("max_distill_step", Sec::Distill, K::Int, D::Int(10_000), Ign("it only applies to distillation (--textual-data-path), which gs does not support yet"), "maximum distillation steps"),
    // ---- YAML-only GraphStorm keys (multi-task, GLEM, reconstruction) ----
    o("training_method", Sec::MultiTask, K::Any, D::None, Nys("GLEM and other training methods are not supported yet"), "{name: default|glem, kwargs: {...}}"),
    o("mask_fields", Sec::MultiTask, K::Any, D::None, Nys(NO_MTL), "per-task train/val/test mask names"),
    o("task_weight", Sec::MultiTask, K::Float, D::Float(1.0), Nys(NO_MTL), "per-task loss weight"),
    o("reconstruct_nfeat_name", Sec::MultiTask, K::Str, D::None, Nys(NO_MTL), "node feature to reconstruct"),
    o("reconstruct_efeat_name", Sec::MultiTask, K::Str, D::None, Nys(NO_MTL), "edge feature to reconstruct"),
    // ---- legacy keys that GraphStorm's own example YAML files carry but GraphStorm ignores ----
    o("save_embeds_path", Sec::Legacy, K::Any, D::None, Ign("GraphStorm does not read it either; did you mean `save_embed_path`?"), "legacy"),
    o("evaluation_frequency", Sec::Legacy, K::Any, D::None, Ign("GraphStorm does not read it either; did you mean `eval_frequency`?"), "legacy"),
    o("mini_batch_infer", Sec::Legacy, K::Any, D::None, Ign("GraphStorm does not read it either; did you mean `use_mini_batch_infer`?"), "legacy"),
    o("save_model_per_iters", Sec::Legacy, K::Any, D::None, Ign("GraphStorm does not read it either; did you mean `save_model_frequency`?"), "legacy"),
    o("norm", Sec::Legacy, K::Any, D::None, Ign("GraphStorm does not read it either; did you mean `gnn_norm`?"), "legacy"),
    o("use_dot_product", Sec::Legacy, K::Any, D::None, Ign("GraphStorm does not read it either; use `lp_decoder_type: dot_product`"), "legacy"),
    o("bert_infer_bs", Sec::Legacy, K::Any, D::None, Ign("GraphStorm does not read it either"), "legacy"),
    o("bert_tune_lr", Sec::Legacy, K::Any, D::None, Ign("GraphStorm does not read it either"), "legacy"),
    o("debug", Sec::Legacy, K::Any, D::None, Ign("GraphStorm does not read it either"), "legacy"),
    o("graph_name", Sec::Legacy, K::Any, D::None, Ign("GraphStorm does not read it either; the graph name comes from --part-config"), "legacy"),
    o("mp_opt_level", Sec::Legacy, K::Any, D::None, Ign("GraphStorm does not read it either"), "legacy"),
    o("self_loop_init", Sec::Legacy, K::Any, D::None, Ign("GraphStorm does not read it either"), "legacy"),
    o("train_nodes", Sec::Legacy, K::Any, D::None, Ign("GraphStorm does not read it either"), "legacy"),
];

/// Every option gs recognises (the single table behind parsing, YAML checks and help).
pub fn known_options() -> &'static [OptionSpec] {
    OPTIONS
}

/// Looks an option up by its YAML key.
pub(crate) fn spec(key: &str) -> Option<&'static OptionSpec> {
    OPTIONS.iter().find(|s| s.key == key)
}

/// Looks an option up by a command-line token's name (`--num-epochs`, `--num_epochs`, `--cf`,
/// `-e`), without any `=value` part.
pub(crate) fn spec_for_flag(flag: &str) -> Option<&'static OptionSpec> {
    let name = match flag {
        "-e" => return spec("num_epochs"),
        _ => flag.strip_prefix("--")?,
    };
    let key = name.replace('-', "_");
    match key.as_str() {
        "cf" => spec(YAML_CONFIG_FILE),
        _ => spec(&key).filter(|s| !s.is_yaml_only()),
    }
}

/// Text for `gs launch --help`: the supported options grouped by section, then the options
/// accepted for compatibility and those recognised but not supported yet.
pub fn help_text() -> String {
    let mut out = String::new();
    out.push_str(
        "Options (GraphStorm YAML keys; on the command line `--key-with-dashes`, \
         `--key_with_underscores` or `--key=value`).\n\
         Precedence: built-in defaults < values saved in a checkpoint < YAML (--cf) < command line.\n\
         Flags gs does not know, and everything after `--`, are passed to the plugin.\n",
    );
    for section in Section::ORDER {
        let rows: Vec<&OptionSpec> = OPTIONS
            .iter()
            .filter(|s| s.section == section && s.support.is_supported())
            .collect();
        if rows.is_empty() {
            continue;
        }
        let _ = writeln!(out, "\n{}:", section.title());
        for s in rows {
            let mut left = format!("  {} {}", flag_label(s), s.kind.placeholder());
            if left.len() < 44 {
                left.push_str(&" ".repeat(44 - left.len()));
            } else {
                left.push('\n');
                left.push_str(&" ".repeat(44));
            }
            let default = match s.default {
                DefaultValue::None => String::new(),
                d => format!(" [default: {}]", d.describe()),
            };
            let _ = writeln!(out, "{left}{}{default}", s.help);
        }
    }
    for (title, pick) in [
        (
            "Accepted for compatibility, no effect in gs yet (a warning when set)",
            (|s: &OptionSpec| matches!(s.support, Support::Ignored(_)) && !s.is_yaml_only())
                as fn(&OptionSpec) -> bool,
        ),
        (
            "Recognised but not supported yet (an error when set to a non-default value)",
            |s: &OptionSpec| matches!(s.support, Support::NotYetSupported(_)) && !s.is_yaml_only(),
        ),
        (
            "YAML-only GraphStorm keys, not supported yet (an error when set to a non-default value; as flags they go to the plugin)",
            |s: &OptionSpec| s.section != Section::Legacy && s.is_yaml_only(),
        ),
    ] {
        let names: Vec<String> = OPTIONS
            .iter()
            .filter(|s| pick(s))
            .map(|s| {
                if s.is_yaml_only() {
                    s.key.to_string()
                } else {
                    s.flag()
                }
            })
            .collect();
        let _ = writeln!(out, "\n{title}:");
        let mut line = String::from(" ");
        for name in names {
            if line.len() + name.len() + 1 > 96 {
                let _ = writeln!(out, "{line}");
                line = String::from(" ");
            }
            line.push(' ');
            line.push_str(&name);
        }
        let _ = writeln!(out, "{line}");
    }
    out.push_str("\n  -- <args>...                              everything after `--` goes to the plugin verbatim\n");
    out
}

fn flag_label(s: &OptionSpec) -> String {
    match s.key {
        YAML_CONFIG_FILE => "--cf, --yaml-config-file".to_string(),
        "num_epochs" => "-e, --num-epochs".to_string(),
        _ => s.flag(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plugin_keys_are_supported_rows() {
        for key in PLUGIN_KEYS {
            let spec = spec(key).unwrap_or_else(|| panic!("{key} is not in the table"));
            assert!(spec.support.is_supported(), "{key} is not supported");
            // A key without a default is unset (none), which a plugin reads as empty.
            assert!(
                spec.default.to_json().is_some()
                    || matches!(
                        spec.kind,
                        ValueKind::StrList | ValueKind::Str | ValueKind::Int
                    ),
                "{key} has no default"
            );
        }
    }

    #[test]
    fn keys_are_unique_and_snake_case() {
        let mut seen = std::collections::BTreeSet::new();
        for s in OPTIONS {
            assert!(seen.insert(s.key), "duplicate key {}", s.key);
            assert!(
                s.key
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
                "{} is not snake_case",
                s.key
            );
        }
    }

    #[test]
    fn flags_resolve_in_both_spellings() {
        assert_eq!(spec_for_flag("--num-epochs").unwrap().key, "num_epochs");
        assert_eq!(spec_for_flag("--num_epochs").unwrap().key, "num_epochs");
        assert_eq!(spec_for_flag("-e").unwrap().key, "num_epochs");
        assert_eq!(spec_for_flag("--cf").unwrap().key, YAML_CONFIG_FILE);
        assert_eq!(
            spec_for_flag("--yaml-config-file").unwrap().key,
            YAML_CONFIG_FILE
        );
        assert!(spec_for_flag("--no-such-flag").is_none());
        // YAML-only keys (GraphStorm has no flag for them) go to the plugin as flags
        for flag in [
            "--mask-fields",
            "--training-method",
            "--eval-target-ntype",
            "--norm",
        ] {
            assert!(spec_for_flag(flag).is_none(), "{flag}");
        }
        assert!(spec_for_flag("num_epochs").is_none());
    }

    #[test]
    fn all_graphstorm_flags_are_known() {
        // The flag list of graphstorm.md §1.2 and §1.3.
        let flags = "--workspace --part-config --ip-config --num-trainers --num-servers --num-samplers \
            --num-server-threads --num-omp-threads --ssh-port --ssh-username --graph-format --extra-envs \
            --inference --lm-encoder-only --do-nid-remap --output-chunk-size --preserve-input \
            --with-shared-fs --verbose --cf --yaml_config_file --local-rank --logging-level --logging-file \
            --use-wholegraph-embed --use-graphbolt --backend --save-perf-results-path --profile-path \
            --model-encoder-type --input-activate --node-feat-name --edge-feat-name --edge-feat-mp-op --fanout \
            --eval-fanout --hidden-size --num-layers --num-ffn-layers-in-input --num-ffn-layers-in-gnn \
            --num-ffn-layers-in-decoder --use-mini-batch-infer --restore-model-layers --restore-model-path \
            --restore-optimizer-path --save-embed-path --save-embed-format --save-model-frequency \
            --save-model-path --topk-model-to-save --task-tracker --log-report-frequency --dropout \
            --decoder-bias --gnn-norm --lr --num-epochs --batch-size --sparse-optimizer-lr --max-grad-norm \
            --grad-norm-type --use-node-embeddings --construct-feat-ntype --construct-feat-encoder \
            --construct-feat-fanout --wd-l2norm --alpha-l2norm --use-self-loop --eval-batch-size \
            --eval-frequency --no-validation --early-stop-burnin-rounds --early-stop-rounds \
            --early-stop-strategy --use-early-stop --lm-tune-lr --lm-train-nodes --lm-infer-batch-size \
            --freeze-lm-encoder-epochs --max-seq-len --cache-lm-embed --num-heads --num-bases --target-ntype \
            --label-field --multilabel --multilabel-weights --imbalance-class-weights --num-classes \
            --return-proba --use-pseudolabel --target-etype --decoder-edge-feat --num-decoder-basis \
            --decoder-type --decoder-norm --remove-target-edge-type --lp-decoder-type --num-negative-edges \
            --fixed-test-size --num-negative-edges-eval --train-negative-sampler --eval-negative-sampler \
            --eval-etype --train-etype --exclude-training-targets --reverse-edge-types-map --gamma --alpha \
            --class-loss-func --regression-loss-func --lp-loss-func --contrastive-loss-temperature \
            --adversarial-temperature --lp-embed-normalizer --lp-edge-weight-for-loss --model-select-etype \
            --train-etypes-negative-dstnode --eval-etypes-negative-dstnode --num-train-hard-negatives \
            --eval-metric --report-eval-per-type --save-prediction-path --infer-all-target-nodes \
            --textual-data-path --max-distill-step \
            --plugin --seed --device --task-type --plugin-memory-mb --plugin-call-timeout \
            --plugin-max-tensors --plugin-tensor-budget-mb";
        for flag in flags.split_whitespace() {
            assert!(spec_for_flag(flag).is_some(), "{flag} is not in the table");
        }
        for key in [
            "task_type",
            "training_method",
            "mask_fields",
            "task_weight",
            "reconstruct_nfeat_name",
            "reconstruct_efeat_name",
            "eval_target_ntype",
        ] {
            assert!(spec(key).is_some(), "{key} is not in the table");
        }
    }

    #[test]
    fn help_lists_supported_and_names_the_rest() {
        let help = help_text();
        assert!(help.contains("--num-epochs"));
        assert!(help.contains("[default: 0]"));
        assert!(help.contains("--part-config"));
        assert!(help.contains("--plugin-memory-mb"));
        assert!(help.contains("[default: 512]"));
        assert!(help.contains("--use-graphbolt"));
        assert!(help.contains("--lm-tune-lr"));
        assert!(
            !help.contains("--save-embeds-path") && !help.contains("save_embeds_path"),
            "legacy keys stay out of help"
        );
        assert!(help.contains(" mask_fields") && !help.contains("--mask-fields"));
    }
}
