//! GraphStorm's YAML layout:
//!
//! ```yaml
//! version: 1.0
//! gsf:
//!   basic: {...}
//!   gnn: {...}
//!   hyperparam: {...}
//!   node_classification: {...}   # the one task section; its name sets task_type
//! udf: {key: value}              # plugin arguments `--key value`
//! ```
//!
//! Section names other than the task sections carry no meaning (GraphStorm flattens them), so
//! any name is accepted (`rgcn:`, `rgat:`, `hgt:`, `lm:`, ...); keys inside them must be known,
//! since a silently ignored typo wastes a training run: an unknown key is an error naming the
//! file, the section and the closest known key. A known key then acts, is refused by name or
//! warns, as its row of the option table says. Some keys exist only here: GraphStorm has no
//! command-line flag for them (`training_method`, `mask_fields`, `task_weight`, ...; see
//! [`OptionSpec::is_yaml_only`]). `multi_task_learning`, `reconstruct_*` task sections and a
//! top-level `lm_model` are refused by name. `gsf.runtime` (written by GraphStorm into the
//! runtime-updated config it saves beside a model, holding the arguments it did not know) is
//! treated like `udf`.

use std::path::{Path, PathBuf};

use serde_yaml::Value as Yaml;

use crate::error::ConfigError;
use crate::options::{self, OptionSpec, Section};
use crate::resolved::TaskType;
use crate::suggest;
use crate::value::{self, Entry, Origin};

const TOP_LEVEL: [&str; 4] = ["version", "gsf", "udf", "lm_model"];

/// What a YAML file said.
#[derive(Debug)]
pub(crate) struct YamlConfig {
    pub(crate) file: PathBuf,
    /// Known options in file order.
    pub(crate) entries: Vec<(&'static OptionSpec, Entry)>,
    /// The task section, if any, and its name.
    pub(crate) task: Option<(TaskType, String)>,
    /// `udf` and `gsf.runtime` entries as plugin arguments.
    pub(crate) custom_args: Vec<String>,
    pub(crate) warnings: Vec<String>,
}

pub(crate) fn load(file: &Path) -> Result<YamlConfig, ConfigError> {
    let text = std::fs::read_to_string(file).map_err(|source| ConfigError::ReadYaml {
        file: file.to_path_buf(),
        source,
    })?;
    parse(file, &text)
}

fn layout(file: &Path, message: impl Into<String>, hint: impl Into<String>) -> ConfigError {
    ConfigError::YamlLayout {
        file: file.to_path_buf(),
        message: message.into(),
        hint: hint.into(),
    }
}

fn key_str<'a>(file: &Path, key: &'a Yaml, under: &str) -> Result<&'a str, ConfigError> {
    key.as_str().ok_or_else(|| {
        layout(
            file,
            format!("a key under {under} is not a string: {}", short(key)),
            "use plain names such as `lr:` as keys",
        )
    })
}

fn short(v: &Yaml) -> String {
    serde_yaml::to_string(v)
        .map(|s| s.trim().replace('\n', " "))
        .unwrap_or_default()
}

pub(crate) fn parse(file: &Path, text: &str) -> Result<YamlConfig, ConfigError> {
    let doc: Yaml = serde_yaml::from_str(text).map_err(|e| ConfigError::MalformedYaml {
        file: file.to_path_buf(),
        line: e.location().map(|l| l.line()),
        column: e.location().map(|l| l.column()),
        message: e.to_string(),
    })?;
    let mut out = YamlConfig {
        file: file.to_path_buf(),
        entries: Vec::new(),
        task: None,
        custom_args: Vec::new(),
        warnings: Vec::new(),
    };
    let top = match doc {
        Yaml::Mapping(m) => m,
        Yaml::Null => {
            return Err(layout(
                file,
                "the file is empty",
                "a GraphStorm config starts with `version: 1.0` and a `gsf:` section",
            ));
        }
        other => {
            return Err(layout(
                file,
                format!("the top level is not a mapping: {}", short(&other)),
                "a GraphStorm config starts with `version: 1.0` and a `gsf:` section",
            ));
        }
    };
    for (key, body) in &top {
        let key = key_str(file, key, "the top level")?;
        match key {
            "version" => {
                let ok =
                    matches!(body.as_f64(), Some(v) if v == 1.0) || body.as_str() == Some("1.0");
                if !ok {
                    out.warnings.push(format!(
                        "`{}` says `version: {}`; gs reads GraphStorm's config version 1.0",
                        file.display(),
                        short(body)
                    ));
                }
            }
            "gsf" => read_gsf(file, body, &mut out)?,
            "udf" => out.custom_args.extend(plugin_args(file, "udf", body)?),
            "lm_model" => {
                return Err(ConfigError::NotYetSupported {
                    name: format!("`lm_model` in `{}`", file.display()),
                    value: short(body),
                    reason: "gs has no language-model encoders yet".into(),
                    default: "no `lm_model` section".into(),
                });
            }
            other => {
                let hint = match suggest::closest(other, TOP_LEVEL) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => {
                        "the top level holds only `version`, `gsf`, `udf` and `lm_model`".into()
                    }
                };
                return Err(layout(
                    file,
                    format!("unknown top-level key `{other}`"),
                    hint,
                ));
            }
        }
    }
    Ok(out)
}

fn read_gsf(file: &Path, gsf: &Yaml, out: &mut YamlConfig) -> Result<(), ConfigError> {
    let sections = match gsf {
        Yaml::Null => return Ok(()),
        Yaml::Mapping(m) => m,
        other => {
            return Err(layout(
                file,
                format!("`gsf` is not a mapping of sections: {}", short(other)),
                "write `gsf:` followed by indented sections such as `basic:`, `gnn:`, `hyperparam:`",
            ));
        }
    };
    // section name that set each key, to warn when two sections disagree
    let mut set_in: Vec<(&'static str, String, serde_json::Value)> = Vec::new();
    for (name, body) in sections {
        let section = key_str(file, name, "`gsf`")?;
        if section == "multi_task_learning" {
            return Err(ConfigError::MultiTask {
                file: file.to_path_buf(),
                sections: vec![section.to_string()],
            });
        }
        if let Some(task) = TaskType::from_name(section) {
            if let Some((_, first)) = &out.task {
                return Err(ConfigError::MultiTask {
                    file: file.to_path_buf(),
                    sections: vec![first.clone(), section.to_string()],
                });
            }
            out.task = Some((task, section.to_string()));
        } else if section.starts_with("reconstruct_") {
            return Err(ConfigError::NotYetSupported {
                name: format!("section `{section}` in `{}`", file.display()),
                value: section.to_string(),
                reason: "feature reconstruction tasks exist only within multi-task learning, which is not supported yet".into(),
                default: "no such section".into(),
            });
        } else if looks_like_task(section) {
            return Err(ConfigError::UnknownTaskSection {
                file: file.to_path_buf(),
                section: section.to_string(),
                suggestion: suggest::closest(section, TaskType::NAMES).map(str::to_string),
            });
        } else if section == "runtime" {
            out.custom_args
                .extend(plugin_args(file, "gsf.runtime", body)?);
            continue;
        }
        let keys = match body {
            Yaml::Null => continue,
            Yaml::Mapping(m) => m,
            other => {
                let message = if options::spec(section).is_some() {
                    format!("`{section}` sits directly under `gsf` but must be inside a section")
                } else {
                    format!("section `{section}` is not a mapping: {}", short(other))
                };
                return Err(layout(
                    file,
                    message,
                    format!(
                        "write keys inside a section, e.g. `gsf:` / `  hyperparam:` / `    {section}: ...`"
                    ),
                ));
            }
        };
        for (key, raw) in keys {
            let key = key_str(file, key, &format!("section `{section}`"))?;
            let Some(spec) = options::spec(key) else {
                let candidates = options::OPTIONS
                    .iter()
                    .filter(|s| s.section != Section::Legacy && s.key != options::YAML_CONFIG_FILE)
                    .map(|s| s.key);
                return Err(ConfigError::UnknownYamlKey {
                    file: file.to_path_buf(),
                    section: section.to_string(),
                    key: key.to_string(),
                    suggestion: suggest::closest(key, candidates).map(str::to_string),
                });
            };
            if spec.key == options::YAML_CONFIG_FILE {
                return Err(layout(
                    file,
                    format!(
                        "`{key}` (section `{section}`) names a config file from inside a config file"
                    ),
                    "pass the config file on the command line with --cf, and remove this key",
                ));
            }
            let origin = Origin::Yaml {
                file: file.to_path_buf(),
                section: section.to_string(),
            };
            let json = serde_json::to_value(raw).map_err(|e| {
                layout(
                    file,
                    format!("`{key}` (section `{section}`) cannot be read: {e}"),
                    "use plain scalars, lists or mappings",
                )
            })?;
            let value = value::from_json(spec, json, &origin)?;
            if let Some((_, earlier, old)) = set_in.iter().find(|(k, _, _)| *k == spec.key)
                && *old != value
            {
                out.warnings.push(format!(
                    "`{key}` is set in sections `{earlier}` and `{section}` of `{}`; the later one (`{section}`) wins",
                    file.display()
                ));
            }
            set_in.push((spec.key, section.to_string(), value.clone()));
            out.entries.push((spec, Entry { value, origin }));
        }
    }
    Ok(())
}

/// A section name that is probably meant as a task (so a typo is not taken as a free name).
fn looks_like_task(section: &str) -> bool {
    ["classification", "regression", "prediction"]
        .iter()
        .any(|w| section.contains(w))
        || suggest::closest(section, TaskType::NAMES).is_some()
}

/// `{k: v}` -> `--k v` (lists give `--k a b`, null gives `--k`), in file order.
fn plugin_args(file: &Path, what: &str, body: &Yaml) -> Result<Vec<String>, ConfigError> {
    let map = match body {
        Yaml::Null => return Ok(Vec::new()),
        Yaml::Mapping(m) => m,
        other => {
            return Err(layout(
                file,
                format!("`{what}` is not a mapping: {}", short(other)),
                format!("write `{what}:` followed by indented `name: value` lines"),
            ));
        }
    };
    let mut args = Vec::new();
    for (key, value) in map {
        let key = key_str(file, key, &format!("`{what}`"))?;
        args.push(if key.starts_with('-') {
            key.to_string()
        } else {
            format!("--{key}")
        });
        let scalar = |v: &Yaml| match v {
            Yaml::String(s) => Some(s.clone()),
            Yaml::Number(n) => Some(n.to_string()),
            Yaml::Bool(b) => Some(b.to_string()),
            _ => None,
        };
        match value {
            Yaml::Null => {}
            Yaml::Sequence(items) => {
                for item in items {
                    args.push(scalar(item).ok_or_else(|| {
                        layout(
                            file,
                            format!("`{what}.{key}` holds a nested value: {}", short(item)),
                            "plugin arguments are scalars or lists of scalars",
                        )
                    })?);
                }
            }
            v => args.push(scalar(v).ok_or_else(|| {
                layout(
                    file,
                    format!("`{what}.{key}` holds a nested value: {}", short(v)),
                    "plugin arguments are scalars or lists of scalars",
                )
            })?),
        }
    }
    Ok(args)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_text(text: &str) -> Result<YamlConfig, ConfigError> {
        parse(Path::new("nc.yaml"), text)
    }

    #[test]
    fn reads_graphstorm_layout() {
        let cfg = parse_text(
            "version: 1.0\ngsf:\n  basic:\n    model_encoder_type: rgcn\n  gnn:\n    fanout: \"4\"\n    num_layers: 1\n  hyperparam:\n    lr: 0.001\n    alpha_l2norm: 0.\n  node_classification:\n    num_classes: 3\nudf:\n  hidden: 128\n  flags: [a, b]\n  verbose:\n",
        )
        .unwrap();
        assert_eq!(
            cfg.task,
            Some((TaskType::NodeClassification, "node_classification".into()))
        );
        let keys: Vec<_> = cfg.entries.iter().map(|(s, _)| s.key).collect();
        assert_eq!(
            keys,
            [
                "model_encoder_type",
                "fanout",
                "num_layers",
                "lr",
                "alpha_l2norm",
                "num_classes"
            ]
        );
        assert_eq!(
            cfg.custom_args,
            ["--hidden", "128", "--flags", "a", "b", "--verbose"]
        );
        assert!(cfg.warnings.is_empty(), "{:?}", cfg.warnings);
    }

    #[test]
    fn typo_key_names_file_section_and_suggestion() {
        let err = parse_text("gsf:\n  hyperparam:\n    num_epoch: 3\n").unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("unknown key `num_epoch` in section `hyperparam` of `nc.yaml`"),
            "{msg}"
        );
        assert!(msg.contains("did you mean `num_epochs`?"), "{msg}");
        assert!(msg.contains("hint: rename it to `num_epochs`"), "{msg}");
        let err = parse_text("gsf:\n  hyperparam:\n    learning_rate: 3\n").unwrap_err();
        assert!(
            matches!(
                err,
                ConfigError::UnknownYamlKey {
                    suggestion: None,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn malformed_yaml_names_file_and_line() {
        let err = parse_text("gsf:\n  hyperparam:\n    lr: 0.1\n   bad: [\n").unwrap_err();
        let ConfigError::MalformedYaml { line, .. } = &err else {
            panic!("{err}")
        };
        assert!(line.is_some());
        let msg = err.to_string();
        assert!(msg.contains("malformed YAML in `nc.yaml` at line"), "{msg}");
        assert!(msg.contains("hint:"), "{msg}");
    }

    #[test]
    fn task_sections() {
        let err =
            parse_text("gsf:\n  node_classification: {}\n  link_prediction: {}\n").unwrap_err();
        assert!(
            matches!(&err, ConfigError::MultiTask { sections, .. } if sections.len() == 2),
            "{err}"
        );
        let err = parse_text("gsf:\n  multi_task_learning:\n    - node_classification: {}\n")
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("multi-task learning is not supported yet"),
            "{err}"
        );
        let err = parse_text("gsf:\n  node_clasification:\n    num_classes: 2\n").unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("unknown task section `node_clasification`"),
            "{msg}"
        );
        assert!(msg.contains("did you mean `node_classification`?"), "{msg}");
        // free section names are fine
        assert!(parse_text("gsf:\n  lmgnn:\n    lr: 0.1\n").is_ok());
    }

    #[test]
    fn lm_model_is_not_supported_and_top_level_typos_are_caught() {
        let cfg = parse_text("gsf:\n  output:\n    save_embeds_path: e\n").unwrap();
        assert_eq!(
            cfg.entries.len(),
            1,
            "legacy keys are accepted (resolve warns)"
        );
        let err = parse_text("lm_model:\n  node_lm_models: []\n").unwrap_err();
        assert!(matches!(err, ConfigError::NotYetSupported { .. }), "{err}");
        let err = parse_text("gfs:\n  basic: {}\n").unwrap_err();
        assert!(err.to_string().contains("did you mean `gsf`?"), "{err}");
    }
}
