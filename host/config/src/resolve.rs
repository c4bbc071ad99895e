//! Merging the layers (defaults < checkpoint < YAML < CLI) and turning the result into typed,
//! validated [`LaunchOptions`] and [`TrainConfig`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::argv::{self, CliArgs};
use crate::error::ConfigError;
use crate::options::{self, OptionSpec, Section, Support, YAML_CONFIG_FILE};
use crate::resolved::{
    Device, EarlyStopStrategy, LaunchOptions, PluginRef, Resolved, Source, TaskType, TrainConfig,
};
use crate::suggest;
use crate::value::{self, Entry, Origin};
use crate::yaml::{self, YamlConfig};

/// A parsed command line and the YAML file it names, before merging.
///
/// [`parse`] then [`Input::resolve`] is what [`resolve`] does; the split lets a caller look at
/// `--inference` and `--restore-model-path` first, to load the checkpoint's saved config that
/// `resolve` takes.
#[derive(Debug)]
pub struct Input {
    cli: CliArgs,
    yaml: Option<YamlConfig>,
    default_task: Option<TaskType>,
}

/// GraphStorm's `restore_model_layers` values (`GRAPHSTORM_MODEL_LAYER_OPTIONS`).
pub const RESTORE_MODEL_LAYERS: &[&str] =
    &["embed", "dense_embed", "sparse_embed", "gnn", "decoder"];

/// Parses `argv` (the arguments after the subcommand) and reads the YAML file named by `--cf`.
pub fn parse(argv: &[String]) -> Result<Input, ConfigError> {
    let cli = argv::parse(argv)?;
    let last = |key: &str| {
        cli.entries
            .iter()
            .rev()
            .find(|(s, _)| s.key == key)
            .map(|(_, e)| &e.value)
    };
    let workspace = last("workspace").and_then(Value::as_str).map(PathBuf::from);
    let yaml = match last(YAML_CONFIG_FILE).and_then(Value::as_str) {
        Some(file) => Some(yaml::load(&join(workspace.as_deref(), Path::new(file)))?),
        None => None,
    };
    Ok(Input {
        cli,
        yaml,
        default_task: None,
    })
}

/// Resolves a command line (and the YAML it names) over an optional checkpoint's saved config.
///
/// Precedence: built-in defaults < `checkpoint` < YAML < command line.
pub fn resolve(
    argv: &[String],
    checkpoint: Option<&BTreeMap<String, Value>>,
) -> Result<Resolved, ConfigError> {
    parse(argv)?.resolve(checkpoint)
}

fn join(workspace: Option<&Path>, path: &Path) -> PathBuf {
    match workspace {
        Some(ws) if path.is_relative() => ws.join(path),
        _ => path.to_path_buf(),
    }
}

impl Input {
    /// The task to use when neither `--task-type`, a YAML task section nor the checkpoint
    /// names one (for subcommands such as `gs node-classification`); it counts as if
    /// `--task-type` had been given.
    pub fn with_default_task(mut self, task: TaskType) -> Input {
        self.default_task = Some(task);
        self
    }

    /// The YAML file that was read (`--cf`), if any.
    pub fn yaml_file(&self) -> Option<&Path> {
        self.yaml.as_ref().map(|y| y.file.as_path())
    }

    fn peek(&self, key: &str) -> Option<&Value> {
        let cli = self.cli.entries.iter().rev().find(|(s, _)| s.key == key);
        let yaml = || {
            self.yaml
                .as_ref()?
                .entries
                .iter()
                .rev()
                .find(|(s, _)| s.key == key)
        };
        cli.or_else(yaml).map(|(_, e)| &e.value)
    }

    /// `--inference` as the command line or YAML says (checkpoints do not carry it).
    pub fn inference(&self) -> bool {
        self.peek("inference")
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }

    /// `--restore-model-path` as the command line or YAML says, joined onto `--workspace`.
    pub fn restore_model_path(&self) -> Option<PathBuf> {
        let path = self.peek("restore_model_path")?.as_str()?;
        let workspace = self
            .peek("workspace")
            .and_then(Value::as_str)
            .map(Path::new);
        Some(join(workspace, Path::new(path)))
    }

    /// Merges the layers over `checkpoint` and validates the result.
    pub fn resolve(
        self,
        checkpoint: Option<&BTreeMap<String, Value>>,
    ) -> Result<Resolved, ConfigError> {
        let Input {
            cli,
            yaml,
            default_task,
        } = self;
        let mut store = Store::default();
        let mut warnings = Vec::new();
        let mut custom_args = Vec::new();

        if let Some(map) = checkpoint {
            for (key, raw) in map {
                let spec = options::spec(key)
                    .filter(|s| s.key != YAML_CONFIG_FILE)
                    .ok_or_else(|| ConfigError::UnknownCheckpointKey { key: key.clone() })?;
                let value = value::from_json(spec, raw.clone(), &Origin::Checkpoint)?;
                store.set(
                    spec,
                    Entry {
                        value,
                        origin: Origin::Checkpoint,
                    },
                );
            }
        }
        if let Some(y) = yaml {
            for (spec, entry) in y.entries {
                store.set(spec, entry);
            }
            if let Some((task, section)) = &y.task {
                let origin = Origin::Yaml {
                    file: y.file.clone(),
                    section: section.clone(),
                };
                if let Some(e) = store.get("task_type")
                    && e.origin.source() == Source::Yaml
                    && TaskType::from_name(e.value.as_str().unwrap_or_default()) != Some(*task)
                {
                    return Err(ConfigError::InvalidValue {
                        name: e.origin.name("task_type"),
                        value: value::compact(&e.value),
                        expected: format!("`{section}`, as the task section says"),
                        hint: "remove the `task_type` key; the task section's name sets the task"
                            .into(),
                    });
                }
                store.set(
                    options::spec("task_type").expect("in table"),
                    Entry {
                        value: Value::from(task.name()),
                        origin,
                    },
                );
            }
            warnings.extend(y.warnings);
            custom_args.extend(y.custom_args);
        }
        for (spec, entry) in cli.entries {
            store.set(spec, entry);
        }
        warnings.extend(cli.warnings);
        custom_args.extend(cli.custom_args);
        if let Some(task) = default_task
            && store.value("task_type").is_none()
        {
            let origin = Origin::Cli {
                flag: "--task-type".into(),
            };
            store.set(
                options::spec("task_type").expect("in table"),
                Entry {
                    value: Value::from(task.name()),
                    origin,
                },
            );
        }

        store.check_scale_out(&mut warnings)?;
        store.check_support(&mut warnings)?;
        store.check_learnable_embed_inputs(&mut warnings);

        let mut b = Builder {
            store: &store,
            missing: Vec::new(),
        };
        let launch = b.launch()?;
        let train = b.train(launch.inference)?;
        if !b.missing.is_empty() {
            return Err(ConfigError::Missing {
                missing: b.missing,
                hint: "pass them as flags (e.g. `--hidden-size 128`) or set them under `gsf` in the YAML file".into(),
            });
        }
        let mut train = train.expect("complete when nothing is missing");
        // GraphStorm ignores `out_emb_size` below two layers (with a warning), and so does gs.
        if train.out_emb_size.is_some()
            && train.num_layers <= 1
            && let Some(e) = store.get("out_emb_size")
        {
            warnings.push(format!(
                "{} is ignored: with num_layers {} there is no hidden layer before the output \
                 layer, as in GraphStorm (hint: remove it, or use num_layers of 2 or more)",
                e.origin.name("out_emb_size"),
                train.num_layers
            ));
            train.out_emb_size = None;
        }
        let mut launch = launch;

        let mut sources = BTreeMap::new();
        for spec in options::OPTIONS.iter().filter(|s| s.support.is_supported()) {
            sources.insert(spec.key.to_string(), store.source(spec.key));
        }
        // `model_encoder_type` picks the built-in plugin when the user's YAML or flags name it.
        // From a checkpoint it does not: the checkpoint's own plugin runs (which may be a
        // custom component trained with a YAML that also named an encoder).
        if launch.plugin.is_none()
            && store.source("model_encoder_type") != Source::Checkpoint
            && let Some(name) = &train.model_encoder_type
        {
            launch.plugin = Some(PluginRef::Builtin(name.clone()));
            sources.insert("plugin".into(), store.source("model_encoder_type"));
        }
        Ok(Resolved {
            launch,
            train,
            custom_args,
            warnings,
            sources,
        })
    }
}

/// The merged layers: the last value set for each key wins.
#[derive(Debug, Default)]
struct Store {
    map: BTreeMap<&'static str, Entry>,
}

impl Store {
    fn set(&mut self, spec: &'static OptionSpec, entry: Entry) {
        self.map.insert(spec.key, entry);
    }

    fn get(&self, key: &str) -> Option<&Entry> {
        self.map.get(key)
    }

    fn source(&self, key: &str) -> Source {
        self.get(key).map_or(Source::Default, |e| e.origin.source())
    }

    /// The key as the user gave it ("`--lr`", "`lr` in `x.yaml` ..."), or flag and key.
    fn name(&self, key: &str) -> String {
        match self.get(key) {
            Some(e) => e.origin.name(key),
            None => format!("`--{}` / `{key}`", key.replace('_', "-")),
        }
    }

    /// The value set for `key` (`Null` when explicitly none), else the table default.
    fn value(&self, key: &str) -> Option<Value> {
        match self.get(key) {
            Some(e) if e.value.is_null() => None,
            Some(e) => Some(e.value.clone()),
            None => options::spec(key).and_then(|s| s.default.to_json()),
        }
    }

    /// Whether anything (including an explicit none) set `key`.
    fn is_set(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    fn check_scale_out(&self, warnings: &mut Vec<String>) -> Result<(), ConfigError> {
        if let Some(e) = self.get("ip_config")
            && !e.value.is_null()
        {
            match &e.origin {
                Origin::Cli { flag } => {
                    return Err(ConfigError::ScaleOutNotSupported {
                        got: format!("{flag} {}", value::compact(&e.value)),
                        hint: "drop --ip-config and use --num-trainers 1: gs trains on one machine"
                            .into(),
                    });
                }
                origin => warnings.push(format!(
                    "{} is ignored: gs trains on one machine, in one process",
                    origin.name("ip_config")
                )),
            }
        }
        if let Some(e) = self.get("num_trainers")
            && let Some(n) = e.value.as_i64()
        {
            if n > 1 {
                let got = match &e.origin {
                    Origin::Cli { flag } => format!("{flag} {n}"),
                    origin => format!("{} = {n}", origin.name("num_trainers")),
                };
                return Err(ConfigError::ScaleOutNotSupported {
                    got,
                    hint: "use --num-trainers 1".into(),
                });
            }
            if n < 1 {
                return Err(ConfigError::InvalidValue {
                    name: self.name("num_trainers"),
                    value: n.to_string(),
                    expected: "1 (a positive number of trainer processes)".into(),
                    hint: "use --num-trainers 1".into(),
                });
            }
        }
        Ok(())
    }

    /// `model_encoder_type: learnable_embed` embeds every node by its learnable embedding
    /// only: GraphStorm loads `node_feat_name`'s features and ignores them, so gs warns.
    fn check_learnable_embed_inputs(&self, warnings: &mut Vec<String>) {
        let encoder = self
            .get("model_encoder_type")
            .and_then(|e| e.value.as_str());
        if encoder != Some("learnable_embed") {
            return;
        }
        if let Some(e) = self.get("node_feat_name")
            && !e.value.is_null()
        {
            warnings.push(format!(
                "{} is ignored: `model_encoder_type: learnable_embed` embeds every node by its \
                 learnable embedding only, as in GraphStorm",
                e.origin.name("node_feat_name")
            ));
        }
    }

    fn check_support(&self, warnings: &mut Vec<String>) -> Result<(), ConfigError> {
        for (key, entry) in &self.map {
            let spec = options::spec(key).expect("store keys come from the table");
            // Values GraphStorm itself rejects are errors even where gs ignores the option.
            if let Some((_, allowed)) = IGNORED_CHOICES.iter().find(|(k, _)| k == key)
                && let Some(got) = entry.value.as_str()
                && !allowed.contains(&got)
            {
                return Err(ConfigError::InvalidValue {
                    name: entry.origin.name(key),
                    value: got.to_string(),
                    expected: format!("one of {}", allowed.join(", ")),
                    hint: format!("GraphStorm accepts only {}", allowed.join(" or ")),
                });
            }
            if *key == "ip_config" || !spec.is_non_default(&entry.value) {
                continue;
            }
            let name = entry.origin.name(key);
            match spec.support {
                Support::Supported(_) => {}
                Support::Ignored(reason) if spec.section == Section::Legacy => {
                    warnings.push(format!("{name} is ignored: {reason}"));
                }
                Support::Ignored(reason) => warnings.push(format!(
                    "{name} is accepted for compatibility but has no effect in gs yet: {reason}"
                )),
                Support::NotYetSupported(reason) => {
                    return Err(ConfigError::NotYetSupported {
                        name,
                        value: value::compact(&entry.value),
                        reason: reason.to_string(),
                        default: spec.default.describe(),
                    });
                }
            }
        }
        Ok(())
    }
}

/// Options gs does not act on whose values GraphStorm checks: anything else is refused, as
/// GraphStorm would refuse it.
const IGNORED_CHOICES: &[(&str, &[&str])] = &[("backend", &["gloo", "nccl"])];

/// Typed reads from the store; required values that are absent are collected in `missing`.
struct Builder<'a> {
    store: &'a Store,
    missing: Vec<String>,
}

const CLASSIFICATION_METRICS: [&str; 8] = [
    "accuracy",
    "precision_recall",
    "roc_auc",
    "f1_score",
    "per_class_f1_score",
    "per_class_roc_auc",
    "precision",
    "recall",
];
const REGRESSION_METRICS: [&str; 3] = ["rmse", "mse", "mae"];
const LP_METRICS: [&str; 2] = ["mrr", "amri"];

impl Builder<'_> {
    fn invalid(
        &self,
        key: &str,
        value: impl ToString,
        expected: impl Into<String>,
        hint: impl Into<String>,
    ) -> ConfigError {
        ConfigError::InvalidValue {
            name: self.store.name(key),
            value: value.to_string(),
            expected: expected.into(),
            hint: hint.into(),
        }
    }

    fn require(&mut self, key: &str, why: &str) {
        let flag = format!("--{}", key.replace('_', "-"));
        self.missing.push(format!("`{flag}` / `{key}` ({why})"));
    }

    fn bool(&self, key: &str) -> bool {
        self.store
            .value(key)
            .and_then(|v| v.as_bool())
            .unwrap_or(false)
    }

    fn string(&self, key: &str) -> Option<String> {
        self.store
            .value(key)
            .and_then(|v| v.as_str().map(str::to_string))
    }

    fn list(&self, key: &str) -> Option<Vec<String>> {
        let v = self.store.value(key)?;
        Some(
            v.as_array()?
                .iter()
                .filter_map(|i| i.as_str().map(str::to_string))
                .collect(),
        )
    }

    fn floats(&self, key: &str) -> Option<Vec<f64>> {
        let v = self.store.value(key)?;
        Some(v.as_array()?.iter().filter_map(Value::as_f64).collect())
    }

    fn path(&self, key: &str) -> Option<PathBuf> {
        let workspace = self.string("workspace").map(PathBuf::from);
        self.string(key)
            .map(|p| join(workspace.as_deref(), Path::new(&p)))
    }

    /// An integer in `[min, max]`.
    fn int(&self, key: &str, min: i64, max: i64) -> Result<Option<i64>, ConfigError> {
        let Some(v) = self.store.value(key) else {
            return Ok(None);
        };
        let n = v.as_i64().unwrap_or(i64::MIN);
        if n < min || n > max {
            let expected = if max == i64::MAX {
                format!("an integer >= {min}")
            } else {
                format!("an integer in [{min}, {max}]")
            };
            let hint = format!("set `{key}` to at least {min}");
            return Err(self.invalid(key, value::compact(&v), expected, hint));
        }
        Ok(Some(n))
    }

    fn u32(&self, key: &str, min: i64) -> Result<Option<u32>, ConfigError> {
        Ok(self.int(key, min, i64::from(u32::MAX))?.map(|n| n as u32))
    }

    fn u64(&self, key: &str, min: i64) -> Result<Option<u64>, ConfigError> {
        Ok(self.int(key, min, i64::MAX)?.map(|n| n as u64))
    }

    /// A table key with a default: always present.
    fn u32_d(&self, key: &str, min: i64) -> Result<u32, ConfigError> {
        Ok(self.u32(key, min)?.unwrap_or_default())
    }

    fn u64_d(&self, key: &str, min: i64) -> Result<u64, ConfigError> {
        Ok(self.u64(key, min)?.unwrap_or_default())
    }

    /// A number that must be `> 0` (`positive`) or `>= 0`.
    fn float(&self, key: &str, positive: bool) -> Result<Option<f64>, ConfigError> {
        let Some(v) = self.store.value(key) else {
            return Ok(None);
        };
        let f = v.as_f64().unwrap_or(f64::NAN);
        let ok = if positive { f > 0.0 } else { f >= 0.0 };
        if !ok {
            let expected = if positive {
                "a number > 0"
            } else {
                "a number >= 0"
            };
            return Err(self.invalid(
                key,
                value::compact(&v),
                expected,
                format!("set `{key}` to {expected}"),
            ));
        }
        Ok(Some(f))
    }

    /// The p of a p-norm: a number > 0, or `inf` (default 2).
    fn norm_type(&self, key: &str) -> Result<f64, ConfigError> {
        let Some(v) = self.store.value(key) else {
            return Ok(2.0);
        };
        let p = match &v {
            Value::Number(n) => n.as_f64(),
            Value::String(s) if s.trim().eq_ignore_ascii_case("inf") => Some(f64::INFINITY),
            Value::String(s) => s.trim().parse::<f64>().ok().filter(|p| p.is_finite()),
            _ => None,
        };
        match p {
            Some(p) if p > 0.0 => Ok(p),
            _ => Err(self.invalid(
                key,
                value::compact(&v),
                "a number > 0, or inf",
                format!(
                    "e.g. `--{} 2` (Euclidean) or `inf` (the largest value)",
                    key.replace('_', "-")
                ),
            )),
        }
    }

    /// A string from a fixed set (`none` means unset when `optional`).
    fn choice(
        &self,
        key: &str,
        allowed: &[&str],
        optional: bool,
    ) -> Result<Option<String>, ConfigError> {
        let Some(s) = self.string(key) else {
            return Ok(None);
        };
        if optional && s.eq_ignore_ascii_case("none") {
            return Ok(None);
        }
        if allowed.contains(&s.as_str()) {
            return Ok(Some(s));
        }
        let hint = match suggest::closest(&s, allowed.iter().copied()) {
            Some(near) => format!("did you mean `{near}`?"),
            None => format!("use one of: {}", allowed.join(", ")),
        };
        Err(self.invalid(key, &s, format!("one of {}", allowed.join(", ")), hint))
    }

    fn choice_d(&self, key: &str, allowed: &[&str]) -> Result<String, ConfigError> {
        Ok(self.choice(key, allowed, false)?.unwrap_or_default())
    }

    fn launch(&mut self) -> Result<LaunchOptions, ConfigError> {
        let part_config = self.path("part_config");
        if part_config.is_none() {
            self.require("part_config", "the partitioned graph to train on");
        }
        let num_trainers = self.u32("num_trainers", 1)?;
        if num_trainers.is_none() {
            self.require("num_trainers", "gs supports --num-trainers 1");
        }
        let device = match self.string("device") {
            None => Device::Cpu,
            Some(s) => Device::parse(&s).ok_or_else(|| {
                self.invalid(
                    "device",
                    &s,
                    "cpu, cuda or cuda:N",
                    "use --device cpu, --device cuda or --device cuda:0",
                )
            })?,
        };
        let workspace = self.string("workspace").map(PathBuf::from);
        let plugin = self.string("plugin").map(|p| match PluginRef::parse(&p) {
            PluginRef::Path(path) => PluginRef::Path(join(workspace.as_deref(), &path)),
            builtin => builtin,
        });
        let logging_level = self
            .string("logging_level")
            .map(|s| s.to_ascii_lowercase())
            .unwrap_or_default();
        if !["debug", "info", "warning", "error"].contains(&logging_level.as_str()) {
            return Err(self.invalid(
                "logging_level",
                &logging_level,
                "debug, info, warning or error",
                "use --logging-level info",
            ));
        }
        Ok(LaunchOptions {
            yaml_config_file: self.path(YAML_CONFIG_FILE),
            workspace,
            part_config: part_config.unwrap_or_default(),
            num_trainers: num_trainers.unwrap_or(1),
            num_samplers: self.u32_d("num_samplers", 0)?,
            num_omp_threads: self.u32("num_omp_threads", 1)?,
            inference: self.bool("inference"),
            do_nid_remap: self.bool("do_nid_remap"),
            output_chunk_size: self.u64_d("output_chunk_size", 1)?,
            preserve_input: self.bool("preserve_input"),
            logging_level,
            logging_file: self.path("logging_file"),
            plugin,
            device,
            locked: self.bool("locked"),
            trust_policy: self.path("trust_policy"),
        })
    }

    /// `None` when something required is missing (then `self.missing` says what).
    fn train(&mut self, inference: bool) -> Result<Option<TrainConfig>, ConfigError> {
        let task = match self.string("task_type") {
            None => {
                self.missing.push(
                    "the task: a task section under `gsf` in the YAML (e.g. `node_classification:`) or `--task-type`"
                        .to_string(),
                );
                None
            }
            Some(s) => Some(TaskType::from_name(&s).ok_or_else(|| {
                let hint = match suggest::closest(&s, TaskType::NAMES) {
                    Some(near) => format!("did you mean `{near}`?"),
                    None => format!("use one of {}", TaskType::NAMES.join(", ")),
                };
                self.invalid(
                    "task_type",
                    &s,
                    format!("one of {}", TaskType::NAMES.join(", ")),
                    hint,
                )
            })?),
        };

        // ---- model shape ----
        let hidden_size = self.u32("hidden_size", 1)?;
        if hidden_size.is_none() {
            self.require("hidden_size", "width of hidden layers");
        }
        let num_layers = self.u32_d("num_layers", 0)?;
        let fanout = self.string("fanout");
        let (fanout, eval_fanout) = self.fanouts(fanout, num_layers)?;
        let dropout = self.float("dropout", false)?.unwrap_or_default();
        if dropout >= 1.0 {
            return Err(self.invalid(
                "dropout",
                dropout,
                "a number in [0, 1)",
                "use a dropout rate below 1, e.g. 0.5",
            ));
        }
        let num_bases = self.int("num_bases", -1, i64::MAX)?.unwrap_or(-1);
        if num_bases == 0 {
            return Err(self.invalid(
                "num_bases",
                0,
                "-1 (no decomposition) or a positive count",
                "use --num-bases -1",
            ));
        }
        for key in ["node_feat_name", "edge_feat_name"] {
            for entry in self.list(key).unwrap_or_default() {
                if entry.contains(' ') || entry.is_empty() || entry.split(':').count() > 2 {
                    return Err(self.invalid(
                        key,
                        &entry,
                        "`feat` or `type:feat1,feat2` with no spaces",
                        "give one `type:feat1,feat2` entry per type, separated by spaces on the command line",
                    ));
                }
            }
        }

        // ---- optimisation ----
        let lr = self.float("lr", true)?;
        if lr.is_none() {
            self.require("lr", "learning rate");
        }
        let batch_size = self.u32("batch_size", 1)?;
        if batch_size.is_none() {
            self.require("batch_size", "mini-batch size");
        }

        // ---- save / restore ----
        let save_model_path = self.path("save_model_path");
        let save_model_frequency = self
            .int("save_model_frequency", -1, i64::MAX)?
            .unwrap_or(-1);
        if save_model_frequency == 0 {
            return Err(self.invalid(
                "save_model_frequency",
                0,
                "-1 (epoch ends only) or a positive number of iterations",
                "use -1 or a positive number",
            ));
        }
        let topk_model_to_save = self.u32("topk_model_to_save", 1)?;
        for (key, set) in [
            ("save_model_frequency", save_model_frequency > 0),
            ("topk_model_to_save", topk_model_to_save.is_some()),
        ] {
            if set && save_model_path.is_none() {
                let value = self
                    .store
                    .value(key)
                    .map(|v| value::compact(&v))
                    .unwrap_or_default();
                return Err(self.invalid(
                    key,
                    value,
                    "to be used together with save_model_path",
                    "add --save-model-path DIR (models are only saved when it is set)",
                ));
            }
        }
        let restore_model_path = self.path("restore_model_path");
        let restore_model_layers = self.list("restore_model_layers").unwrap_or_default();
        for layer in &restore_model_layers {
            if !RESTORE_MODEL_LAYERS.contains(&layer.as_str()) {
                return Err(self.invalid(
                    "restore_model_layers",
                    layer,
                    format!("one of {RESTORE_MODEL_LAYERS:?}"),
                    "name the parts of the model to restore, e.g. `embed,gnn` (GraphStorm's names)",
                ));
            }
        }
        if inference && restore_model_path.is_none() {
            self.require(
                "restore_model_path",
                "the trained model to run --inference with",
            );
        }
        let save_embed_path = self.path("save_embed_path");
        let save_prediction_path = if self.store.is_set("save_prediction_path") {
            self.path("save_prediction_path")
        } else {
            save_embed_path.clone()
        };

        // ---- task-specific ----
        let label_field = self.string("label_field");
        let num_classes = self.u32("num_classes", 1)?;
        let class_loss_func = self.choice_d("class_loss_func", &["cross_entropy", "focal"])?;
        let multilabel = self.bool("multilabel");
        let multilabel_weights = self.floats("multilabel_weights");
        let imbalance_class_weights = self.floats("imbalance_class_weights");
        let target_etype = self.list("target_etype");
        let reverse_edge_types_map = self.list("reverse_edge_types_map").unwrap_or_default();
        for entry in &reverse_edge_types_map {
            if entry.split(',').count() != 4 {
                return Err(self.invalid(
                    "reverse_edge_types_map",
                    entry,
                    "`head,relation,reverse_relation,tail` entries",
                    "e.g. --reverse-edge-types-map user,rates,rated-by,movie",
                ));
            }
        }
        for key in ["target_etype", "train_etype", "eval_etype"] {
            for entry in self.list(key).unwrap_or_default() {
                if entry.split(',').count() != 3 {
                    return Err(self.invalid(
                        key,
                        &entry,
                        "canonical edge types `src,relation,dst`",
                        "e.g. user,rates,movie",
                    ));
                }
            }
        }
        let exclude_training_targets = self.bool("exclude_training_targets");
        let mut target_etype_out = None;
        let mut eval_metric = self.list("eval_metric").map(|m| {
            m.into_iter()
                .map(|s| s.to_ascii_lowercase())
                .collect::<Vec<_>>()
        });
        if let Some(task) = task {
            if task != TaskType::LinkPrediction && label_field.is_none() {
                self.require(
                    "label_field",
                    &format!("the label feature, required for {task}"),
                );
            }
            if task.is_classification() {
                match num_classes {
                    None => self.require("num_classes", &format!("required for {task}")),
                    Some(1) if class_loss_func != "focal" => {
                        return Err(self.invalid(
                            "num_classes",
                            1,
                            "2 or more (1 only with class_loss_func focal)",
                            "set --num-classes to the number of label values",
                        ));
                    }
                    Some(n) => {
                        for (key, weights) in [
                            ("multilabel_weights", &multilabel_weights),
                            ("imbalance_class_weights", &imbalance_class_weights),
                        ] {
                            if let Some(w) = weights
                                && (w.len() != n as usize || w.iter().any(|x| *x <= 0.0))
                            {
                                let shown =
                                    w.iter().map(f64::to_string).collect::<Vec<_>>().join(",");
                                return Err(self.invalid(
                                    key,
                                    shown,
                                    format!("{n} positive weights (one per class)"),
                                    format!(
                                        "give one weight per class, e.g. {}",
                                        vec!["1.0"; n as usize].join(",")
                                    ),
                                ));
                            }
                        }
                    }
                }
            }
            if multilabel_weights.is_some() && !multilabel {
                return Err(self.invalid(
                    "multilabel_weights",
                    "set",
                    "to be used with multilabel",
                    "add --multilabel true, or drop --multilabel-weights",
                ));
            }
            if task.is_edge_task() {
                let mut etypes = target_etype
                    .clone()
                    .unwrap_or_else(|| vec!["_N,_E,_N".to_string()]);
                if etypes.len() != 1 {
                    return Err(self.invalid(
                        "target_etype",
                        etypes.join(" "),
                        "exactly one edge type",
                        "predict one edge type per run (GraphStorm uses only the first one too)",
                    ));
                }
                target_etype_out = etypes.pop();
            } else if let Some(mut etypes) = target_etype.clone()
                && etypes.len() == 1
            {
                target_etype_out = etypes.pop();
            }
            // As in GraphStorm, only training needs the reverse edge types to exclude targets.
            if task == TaskType::LinkPrediction
                && !inference
                && exclude_training_targets
                && reverse_edge_types_map.is_empty()
            {
                return Err(self.invalid(
                    "exclude_training_targets",
                    true,
                    "to come with reverse_edge_types_map",
                    "pass --reverse-edge-types-map head,rel,rev_rel,tail, or --exclude-training-targets false",
                ));
            }
            let metrics = eval_metric.get_or_insert_with(|| {
                vec![match task {
                    t if t.is_classification() => "accuracy".to_string(),
                    TaskType::LinkPrediction => "mrr".to_string(),
                    _ => "rmse".to_string(),
                }]
            });
            if metrics.is_empty() {
                return Err(self.invalid(
                    "eval_metric",
                    "",
                    "at least one metric",
                    "e.g. --eval-metric accuracy",
                ));
            }
            for m in metrics.iter() {
                if !metric_ok(task, m) {
                    let known: Vec<&str> = match task {
                        t if t.is_classification() => CLASSIFICATION_METRICS.to_vec(),
                        TaskType::LinkPrediction => LP_METRICS.to_vec(),
                        _ => REGRESSION_METRICS.to_vec(),
                    };
                    let hint = match suggest::closest(m, known.iter().copied()) {
                        Some(near) => format!("did you mean `{near}`?"),
                        None => format!(
                            "use one of {} (see graphstorm.md §6.6 for the parameterised ones)",
                            known.join(", ")
                        ),
                    };
                    return Err(self.invalid("eval_metric", m, format!("a {task} metric"), hint));
                }
            }
        }
        let no_validation = self.bool("no_validation");
        let infer_all_target_nodes = self.bool("infer_all_target_nodes");
        if infer_all_target_nodes && !no_validation {
            return Err(self.invalid(
                "infer_all_target_nodes",
                true,
                "to be used with no_validation true",
                "add --no-validation true",
            ));
        }
        let early_stop_strategy = match self
            .choice_d(
                "early_stop_strategy",
                &["average_increase", "consecutive_increase"],
            )?
            .as_str()
        {
            "consecutive_increase" => EarlyStopStrategy::ConsecutiveIncrease,
            _ => EarlyStopStrategy::AverageIncrease,
        };

        let config = TrainConfig {
            task_type: match task {
                Some(t) => t,
                None => return Ok(None),
            },
            target_ntype: self.string("target_ntype").unwrap_or_default(),
            label_field,
            num_classes,
            multilabel,
            multilabel_weights,
            imbalance_class_weights,
            return_proba: self.bool("return_proba"),
            infer_all_target_nodes,
            class_loss_func,
            regression_loss_func: self.choice_d("regression_loss_func", &["mse", "shrinkage"])?,
            gamma: self.float("gamma", false)?,
            alpha: self.float("alpha", false)?,
            target_etype: target_etype_out,
            reverse_edge_types_map,
            remove_target_edge_type: self.bool("remove_target_edge_type"),
            decoder_type: self.choice_d(
                "decoder_type",
                &["DenseBiDecoder", "MLPDecoder", "MLPEFeatEdgeDecoder"],
            )?,
            num_decoder_basis: self.u32_d("num_decoder_basis", 1)?,
            decoder_edge_feat: self.list("decoder_edge_feat"),
            train_etype: self.list("train_etype"),
            eval_etype: self.list("eval_etype"),
            train_etypes_negative_dstnode: self.list("train_etypes_negative_dstnode"),
            num_train_hard_negatives: self.list("num_train_hard_negatives"),
            lp_edge_weight_for_loss: self.list("lp_edge_weight_for_loss"),
            exclude_training_targets,
            train_negative_sampler: self.choice_d(
                "train_negative_sampler",
                &[
                    "uniform",
                    "joint",
                    "inbatch_joint",
                    "localuniform",
                    "localjoint",
                    "all_etype_uniform",
                    "all_etype_joint",
                    "fast_uniform",
                    "fast_joint",
                    "fast_localuniform",
                    "fast_localjoint",
                ],
            )?,
            eval_negative_sampler: self.choice_d(
                "eval_negative_sampler",
                &["uniform", "joint", "full", "full_filtered"],
            )?,
            num_negative_edges: self.u32_d("num_negative_edges", 1)?,
            num_negative_edges_eval: self.u32_d("num_negative_edges_eval", 1)?,
            fixed_test_size: self.u64("fixed_test_size", 1)?,
            lp_decoder_type: self.choice_d(
                "lp_decoder_type",
                &[
                    "dot_product",
                    "distmult",
                    "rotate",
                    "transe_l1",
                    "transe_l2",
                ],
            )?,
            lp_loss_func: self
                .choice_d("lp_loss_func", &["cross_entropy", "contrastive", "bpr"])?,
            contrastive_loss_temperature: self
                .float("contrastive_loss_temperature", true)?
                .unwrap_or(1.0),
            adversarial_temperature: self.float("adversarial_temperature", true)?,
            lp_embed_normalizer: self.choice("lp_embed_normalizer", &["l2_norm"], true)?,
            mask_reverse_edges: self.bool("mask_reverse_edges"),
            model_select_etype: self.string("model_select_etype").unwrap_or_default(),
            model_encoder_type: self.string("model_encoder_type"),
            hidden_size: hidden_size.unwrap_or_default(),
            num_layers,
            fanout,
            eval_fanout,
            dropout,
            input_activate: self.choice("input_activate", &["none", "relu"], true)?,
            gnn_norm: self.choice("gnn_norm", &["batch", "layer"], true)?,
            num_ffn_layers_in_input: self.u32_d("num_ffn_layers_in_input", 0)?,
            num_ffn_layers_in_gnn: self.u32_d("num_ffn_layers_in_gnn", 0)?,
            out_emb_size: self.u32("out_emb_size", 1)?,
            num_ffn_layers_in_decoder: self.u32_d("num_ffn_layers_in_decoder", 0)?,
            decoder_bias: self.bool("decoder_bias"),
            use_self_loop: self.bool("use_self_loop"),
            num_bases,
            num_heads: self.u32_d("num_heads", 1)?,
            use_node_embeddings: self.bool("use_node_embeddings"),
            node_feat_name: self.list("node_feat_name"),
            edge_feat_name: self.list("edge_feat_name"),
            edge_feat_mp_op: self
                .choice_d("edge_feat_mp_op", &["concat", "add", "sub", "mul", "div"])?,
            lr: lr.unwrap_or_default(),
            sparse_optimizer_lr: self.float("sparse_optimizer_lr", true)?,
            wd_l2norm: self.float("wd_l2norm", false)?.unwrap_or_default(),
            alpha_l2norm: self.float("alpha_l2norm", false)?.unwrap_or_default(),
            max_grad_norm: self.float("max_grad_norm", true)?,
            grad_norm_type: self.norm_type("grad_norm_type")?,
            num_epochs: self.u32_d("num_epochs", 0)?,
            batch_size: batch_size.unwrap_or_default(),
            eval_batch_size: self.u32_d("eval_batch_size", 1)?,
            eval_frequency: self.u64("eval_frequency", 1)?,
            no_validation,
            use_mini_batch_infer: self.bool("use_mini_batch_infer"),
            eval_metric: eval_metric.unwrap_or_default(),
            report_eval_per_type: self.bool("report_eval_per_type"),
            use_early_stop: self.bool("use_early_stop"),
            early_stop_burnin_rounds: self.u32_d("early_stop_burnin_rounds", 0)?,
            early_stop_rounds: self.u32_d("early_stop_rounds", 1)?,
            early_stop_strategy,
            log_report_frequency: self.u64_d("log_report_frequency", 1)?,
            save_model_path,
            save_model_frequency,
            topk_model_to_save,
            restore_model_path,
            restore_model_layers,
            restore_optimizer_path: self.path("restore_optimizer_path"),
            save_embed_path,
            save_prediction_path,
            seed: self.u64_d("seed", 0)?,
            plugin_memory_mb: self.u64_d("plugin_memory_mb", 1)?,
            plugin_call_timeout: self.u64_d("plugin_call_timeout", 1)?,
            plugin_max_tensors: self.u64_d("plugin_max_tensors", 1)?,
            plugin_tensor_budget_mb: self.u64_d("plugin_tensor_budget_mb", 1)?,
        };
        Ok(if self.missing.is_empty() {
            Some(config)
        } else {
            None
        })
    }

    /// Checks `fanout` / `eval_fanout` against `num_layers` and fills the evaluation default.
    fn fanouts(
        &mut self,
        fanout: Option<String>,
        num_layers: u32,
    ) -> Result<(Option<String>, Option<String>), ConfigError> {
        match &fanout {
            Some(f) => {
                let layers = self.fanout_layers("fanout", f)?;
                if layers != num_layers as usize {
                    let no_message_passing = self.store.is_set("num_layers")
                        || matches!(
                            self.string("model_encoder_type").as_deref(),
                            Some("mlp" | "learnable_embed")
                        );
                    let hint = if num_layers == 0 && no_message_passing {
                        // GraphStorm ignores `fanout` for encoders without message passing
                        // (`mlp`); gs refuses what would change nothing.
                        format!(
                            "with num_layers 0 (such as `model_encoder_type: mlp`) nothing is \
                             sampled: remove `fanout`, or set --num-layers {layers}"
                        )
                    } else if self.store.is_set("num_layers") {
                        format!("make them agree: --num-layers {layers}, or one fanout per layer")
                    } else {
                        format!("set --num-layers {layers}")
                    };
                    return Err(self.invalid(
                        "fanout",
                        f,
                        format!("one entry per GNN layer (fanout has {layers} layers but num_layers is {num_layers})"),
                        hint,
                    ));
                }
            }
            None if num_layers > 0 => {
                self.require(
                    "fanout",
                    &format!(
                        "neighbours to sample per layer, required when num_layers is {num_layers}"
                    ),
                );
            }
            None => {}
        }
        let eval_fanout = match self.string("eval_fanout") {
            Some(f) => {
                let layers = self.fanout_layers("eval_fanout", &f)?;
                if layers != num_layers as usize {
                    return Err(self.invalid(
                        "eval_fanout",
                        &f,
                        format!("one entry per GNN layer (eval_fanout has {layers} layers but num_layers is {num_layers})"),
                        "give one evaluation fanout per layer, or leave it out for all neighbours",
                    ));
                }
                Some(f)
            }
            None if num_layers > 0 => Some(vec!["-1"; num_layers as usize].join(",")),
            None => None,
        };
        Ok((fanout, eval_fanout))
    }

    /// Number of layers in `10,5` or `src/rel/dst:10@src/rel2/dst:5,...`, checking the syntax.
    fn fanout_layers(&self, key: &str, fanout: &str) -> Result<usize, ConfigError> {
        let count_ok = |s: &str| s.trim().parse::<i64>().is_ok_and(|n| n == -1 || n >= 0);
        let layer_ok = |layer: &str| {
            count_ok(layer)
                || layer.split('@').all(|part| match part.rsplit_once(':') {
                    Some((etype, n)) => etype.split('/').count() == 3 && count_ok(n),
                    None => false,
                })
        };
        let layers: Vec<&str> = fanout.split(',').collect();
        if fanout.trim().is_empty() || !layers.iter().all(|l| layer_ok(l)) {
            return Err(self.invalid(
                key,
                fanout,
                "`20,10` or `src/rel/dst:20@src/rel2/dst:10,...` (counts >= 0, or -1 for all)",
                "give one count per layer, separated by commas",
            ));
        }
        Ok(layers.len())
    }
}

fn metric_ok(task: TaskType, metric: &str) -> bool {
    let suffix_float = |prefix: &str, unit: bool| {
        metric
            .strip_prefix(prefix)
            .and_then(|s| s.parse::<f64>().ok())
            .is_some_and(|b| !unit || (b > 0.0 && b <= 1.0))
    };
    let hit_at = metric
        .strip_prefix("hit_at_")
        .is_some_and(|k| k.parse::<u32>().is_ok());
    match task {
        t if t.is_classification() => {
            CLASSIFICATION_METRICS.contains(&metric)
                || hit_at
                || suffix_float("fscore_at_", false)
                || suffix_float("recall_at_precision_", true)
                || suffix_float("precision_at_recall_", true)
        }
        TaskType::LinkPrediction => LP_METRICS.contains(&metric) || hit_at,
        _ => REGRESSION_METRICS.contains(&metric),
    }
}
