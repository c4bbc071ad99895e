//! Values as they arrive from the command line, the YAML file or a checkpoint, normalised by
//! the option's [`ValueKind`] into one JSON shape per kind, together with where they came from.

use std::path::PathBuf;

use serde_json::Value;

use crate::error::ConfigError;
use crate::options::{OptionSpec, ValueKind};
use crate::resolved::Source;

/// Where a value came from, precise enough to name it in an error.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Origin {
    Checkpoint,
    Yaml { file: PathBuf, section: String },
    Cli { flag: String },
}

impl Origin {
    /// "`--lr`", "`lr` in `nc.yaml` (section `hyperparam`)" or "`lr` (from the checkpoint)".
    pub(crate) fn name(&self, key: &str) -> String {
        match self {
            Origin::Cli { flag } => format!("`{flag}`"),
            Origin::Yaml { file, section } => {
                format!("`{key}` in `{}` (section `{section}`)", file.display())
            }
            Origin::Checkpoint => format!("`{key}` (from the checkpoint's saved config)"),
        }
    }

    pub(crate) fn source(&self) -> Source {
        match self {
            Origin::Checkpoint => Source::Checkpoint,
            Origin::Yaml { .. } => Source::Yaml,
            Origin::Cli { .. } => Source::Cli,
        }
    }
}

/// A normalised value and where it came from. `Value::Null` means "explicitly none".
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub(crate) value: Value,
    pub(crate) origin: Origin,
}

/// Keys where the literal string `none` means "not set" (GraphStorm's rule).
const NONE_MEANS_UNSET: [&str; 3] = ["save_model_path", "save_embed_path", "save_prediction_path"];

/// A raw command-line value: a bare flag, or the tokens that followed it.
#[derive(Debug, Clone)]
pub(crate) enum CliRaw {
    Bare,
    Tokens(Vec<String>),
}

pub(crate) fn parse_bool(s: &str) -> Option<bool> {
    match s.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" => Some(false),
        _ => None,
    }
}

fn expected(kind: ValueKind) -> &'static str {
    match kind {
        ValueKind::Bool => "true or false",
        ValueKind::Int => "an integer",
        ValueKind::Float => "a finite number",
        ValueKind::Str => "a single string",
        ValueKind::StrList => "a string or a list of strings",
        ValueKind::FloatList => "numbers separated by commas, or a list of numbers",
        ValueKind::CommaList => "strings separated by commas, or a list of strings",
        ValueKind::Any => "a value",
    }
}

fn bad(spec: &OptionSpec, name: String, value: impl ToString) -> ConfigError {
    let hint = match spec.kind {
        ValueKind::Bool => format!("write `{} true` or `{} false`", spec.flag(), spec.flag()),
        ValueKind::Str => format!(
            "give `{}` a single value (gs does not take a list here)",
            spec.key
        ),
        _ => format!("see `gs launch --help` for `{}`", spec.flag()),
    };
    ConfigError::InvalidValue {
        name,
        value: value.to_string(),
        expected: expected(spec.kind).to_string(),
        hint,
    }
}

fn parse_float(s: &str) -> Option<f64> {
    s.trim().parse::<f64>().ok().filter(|f| f.is_finite())
}

fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn split_commas(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect()
}

/// Normalises a YAML or checkpoint value.
pub(crate) fn from_json(
    spec: &OptionSpec,
    value: Value,
    origin: &Origin,
) -> Result<Value, ConfigError> {
    let name = || origin.name(spec.key);
    if let Value::String(s) = &value
        && NONE_MEANS_UNSET.contains(&spec.key)
        && s.eq_ignore_ascii_case("none")
    {
        return Ok(Value::Null);
    }
    if value.is_null() || spec.kind == ValueKind::Any {
        return Ok(value);
    }
    let several_targets = match (spec.key, &value) {
        ("target_ntype", Value::Array(items)) => items.len() > 1,
        ("num_classes", Value::Object(_)) => true,
        _ => false,
    };
    if several_targets {
        return Err(ConfigError::NotYetSupported {
            name: name(),
            value: compact(&value),
            reason: "several target node types (GraphStorm's multi-target node tasks) are not \
                     supported yet; train one model per node type"
                .into(),
            default: "one node type and one number of classes".into(),
        });
    }
    let out = match spec.kind {
        ValueKind::Bool => match &value {
            Value::Bool(b) => Some(Value::Bool(*b)),
            Value::String(s) => parse_bool(s).map(Value::Bool),
            Value::Number(n) => match n.as_i64() {
                Some(0) => Some(Value::Bool(false)),
                Some(1) => Some(Value::Bool(true)),
                _ => None,
            },
            _ => None,
        },
        ValueKind::Int => match &value {
            Value::Number(n) => n.as_i64().map(Value::from),
            Value::String(s) => s.trim().parse::<i64>().ok().map(Value::from),
            _ => None,
        },
        ValueKind::Float => match &value {
            Value::Number(n) => n.as_f64().filter(|f| f.is_finite()).map(Value::from),
            Value::String(s) => parse_float(s).map(Value::from),
            _ => None,
        },
        ValueKind::Str => match &value {
            // `target_ntype: [paper]` is a one-element list in some GraphStorm files
            Value::Array(items) if items.len() == 1 => scalar_text(&items[0]),
            v => scalar_text(v),
        }
        .map(Value::String),
        ValueKind::StrList => match &value {
            Value::Array(items) => items
                .iter()
                .map(scalar_text)
                .collect::<Option<Vec<_>>>()
                .map(Value::from),
            v => scalar_text(v).map(|s| Value::from(vec![s])),
        },
        ValueKind::CommaList => match &value {
            Value::Array(items) => items
                .iter()
                .map(scalar_text)
                .collect::<Option<Vec<_>>>()
                .map(Value::from),
            v => scalar_text(v).map(|s| Value::from(split_commas(&s))),
        },
        ValueKind::FloatList => match &value {
            Value::Array(items) => items
                .iter()
                .map(|i| match i {
                    Value::Number(n) => n.as_f64().filter(|f| f.is_finite()),
                    Value::String(s) => parse_float(s),
                    _ => None,
                })
                .collect::<Option<Vec<f64>>>()
                .map(Value::from),
            Value::Number(n) => n
                .as_f64()
                .filter(|f| f.is_finite())
                .map(|f| Value::from(vec![f])),
            Value::String(s) => s
                .split(',')
                .map(parse_float)
                .collect::<Option<Vec<f64>>>()
                .map(Value::from),
            _ => None,
        },
        ValueKind::Any => unreachable!("handled above"),
    };
    out.ok_or_else(|| bad(spec, name(), compact(&value)))
}

/// Normalises a command-line value.
pub(crate) fn from_cli(spec: &OptionSpec, raw: CliRaw, flag: &str) -> Result<Value, ConfigError> {
    let origin = Origin::Cli {
        flag: flag.to_string(),
    };
    let tokens = match raw {
        CliRaw::Bare if spec.kind == ValueKind::Bool => return Ok(Value::Bool(true)),
        CliRaw::Bare => {
            return Err(ConfigError::MissingFlagValue {
                flag: flag.to_string(),
            });
        }
        CliRaw::Tokens(t) => t,
    };
    match spec.kind {
        ValueKind::StrList => from_json(spec, Value::from(tokens), &origin),
        // Every other kind takes one token; typed kinds parse the string.
        _ => from_json(spec, Value::String(tokens.join(" ")), &origin),
    }
}

/// A value as short text for messages.
pub(crate) fn compact(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        // `0.5`, and `1` rather than `1.0`, as a user would write it.
        Value::Number(n) if n.is_f64() => n.as_f64().map(|f| f.to_string()).unwrap_or_default(),
        Value::Array(items) if items.iter().all(|i| !i.is_array() && !i.is_object()) => {
            items.iter().map(compact).collect::<Vec<_>>().join(" ")
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::spec;

    fn cli(key: &str, tokens: &[&str]) -> Result<Value, ConfigError> {
        let raw = CliRaw::Tokens(tokens.iter().map(|s| s.to_string()).collect());
        from_cli(spec(key).unwrap(), raw, &format!("--{key}"))
    }

    #[test]
    fn cli_values_parse_by_kind() {
        assert_eq!(cli("num_epochs", &["3"]).unwrap(), Value::from(3));
        assert_eq!(cli("lr", &["1e-3"]).unwrap(), Value::from(0.001));
        assert_eq!(
            cli("use_early_stop", &["False"]).unwrap(),
            Value::Bool(false)
        );
        assert_eq!(cli("fanout", &["10,5"]).unwrap(), Value::from("10,5"));
        assert_eq!(
            cli("eval_metric", &["accuracy", "f1_score"]).unwrap(),
            serde_json::json!(["accuracy", "f1_score"])
        );
        assert_eq!(
            cli("imbalance_class_weights", &["0.5,2"]).unwrap(),
            serde_json::json!([0.5, 2.0])
        );
        assert_eq!(cli("save_model_path", &["none"]).unwrap(), Value::Null);
        assert_eq!(cli("save_embed_path", &["None"]).unwrap(), Value::Null);
        assert!(matches!(
            cli("num_epochs", &["three"]),
            Err(ConfigError::InvalidValue { .. })
        ));
        assert!(matches!(
            cli("lr", &["nan"]),
            Err(ConfigError::InvalidValue { .. })
        ));
        let bare = from_cli(spec("inference").unwrap(), CliRaw::Bare, "--inference").unwrap();
        assert_eq!(bare, Value::Bool(true));
        let missing = from_cli(spec("lr").unwrap(), CliRaw::Bare, "--lr").unwrap_err();
        assert!(
            missing.to_string().contains("`--lr` needs a value"),
            "{missing}"
        );
    }

    #[test]
    fn yaml_values_are_lenient_about_scalars() {
        let o = Origin::Checkpoint;
        let f = |k: &str, v: Value| from_json(spec(k).unwrap(), v, &o);
        assert_eq!(f("fanout", Value::from(10)).unwrap(), Value::from("10"));
        assert_eq!(f("lr", Value::from("0.01")).unwrap(), Value::from(0.01));
        assert_eq!(f("lr", Value::from(1)).unwrap(), Value::from(1.0));
        assert_eq!(
            f("eval_metric", Value::from("mrr")).unwrap(),
            serde_json::json!(["mrr"])
        );
        assert_eq!(
            f("restore_model_layers", Value::from("embed, gnn")).unwrap(),
            serde_json::json!(["embed", "gnn"])
        );
        assert_eq!(
            f("multilabel", Value::from("yes")).unwrap(),
            Value::Bool(true)
        );
        let err = f("fanout", serde_json::json!([10, 10]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("`fanout`") && err.contains("hint:"), "{err}");
    }
}
