//! Errors of config resolution. Every message names the flag, key, file or value at fault and
//! ends with a `hint:` saying what to do.

use std::path::PathBuf;

/// Why a command line, YAML file or saved checkpoint config could not be resolved.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A flag that takes a value was last on the line, or followed by another flag.
    #[error("`{flag}` needs a value; hint: write `{flag} VALUE` or `{flag}=VALUE`")]
    MissingFlagValue {
        /// The flag as the user spelled it.
        flag: String,
    },

    /// A bare word that is not the value of a flag.
    #[error(
        "unexpected argument `{token}`: gs takes no positional arguments; hint: flags look like \
         `--name value`; to pass arguments to the plugin, put them after `--`"
    )]
    UnexpectedArgument {
        /// The stray token.
        token: String,
    },

    /// A value has the wrong type or is out of range.
    #[error("{name}: got `{value}`, expected {expected}; hint: {hint}")]
    InvalidValue {
        /// The option and where it came from, e.g. "`--lr`" or "`lr` in `nc.yaml` (section `hyperparam`)".
        name: String,
        /// The offending value as given.
        value: String,
        /// What would have been accepted.
        expected: String,
        /// What to do.
        hint: String,
    },

    /// Required values are missing (all of them are listed at once).
    #[error("missing required value(s): {}; hint: {hint}", missing.join(", "))]
    Missing {
        /// One entry per missing value: flag, key and why it is needed.
        missing: Vec<String>,
        /// What to do.
        hint: String,
    },

    /// The YAML file named by `--cf` could not be read.
    #[error("cannot read config file `{}`: {source}; hint: check the path given to --cf", file.display())]
    ReadYaml {
        /// The file.
        file: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },

    /// The YAML file is not valid YAML.
    #[error(
        "malformed YAML in `{}`{}: {message}; hint: fix the syntax there (indentation, a missing `:` or an unclosed quote)",
        file.display(),
        match (line, column) { (Some(l), Some(c)) => format!(" at line {l}, column {c}"), _ => String::new() }
    )]
    MalformedYaml {
        /// The file.
        file: PathBuf,
        /// 1-based line of the error, when serde_yaml knows it.
        line: Option<usize>,
        /// 1-based column of the error, when serde_yaml knows it.
        column: Option<usize>,
        /// serde_yaml's message.
        message: String,
    },

    /// The YAML is valid but not in GraphStorm's layout.
    #[error("`{}`: {message}; hint: {hint}", file.display())]
    YamlLayout {
        /// The file.
        file: PathBuf,
        /// What is wrong.
        message: String,
        /// What to do.
        hint: String,
    },

    /// A key under `gsf` that gs does not know (a typo would otherwise waste a training run).
    #[error(
        "unknown key `{key}` in section `{section}` of `{}`{}; hint: {}",
        file.display(),
        suggestion.as_ref().map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default(),
        match suggestion {
            Some(s) => format!("rename it to `{s}`"),
            None => "remove it, or pass plugin-specific values under the top-level `udf:` section or after `--`".to_string(),
        }
    )]
    UnknownYamlKey {
        /// The file.
        file: PathBuf,
        /// The `gsf` section it sits in.
        section: String,
        /// The key.
        key: String,
        /// A known key within edit distance 2, if any.
        suggestion: Option<String>,
    },

    /// A `gsf` section whose name looks like a task but is not one gs supports.
    #[error(
        "unknown task section `{section}` in `{}`{}; hint: use one of node_classification, node_regression, edge_classification, edge_regression, link_prediction",
        file.display(),
        suggestion.as_ref().map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default()
    )]
    UnknownTaskSection {
        /// The file.
        file: PathBuf,
        /// The section name.
        section: String,
        /// A task section name within edit distance 2, if any.
        suggestion: Option<String>,
    },

    /// More than one task, or a `multi_task_learning` section.
    #[error(
        "`{}` defines several tasks ({}): multi-task learning is not supported yet; hint: keep exactly one task section (e.g. `node_classification:`) under `gsf`",
        file.display(),
        sections.join(", ")
    )]
    MultiTask {
        /// The file.
        file: PathBuf,
        /// The task sections found.
        sections: Vec<String>,
    },

    /// A key in a checkpoint's saved config that this gs does not know.
    #[error(
        "the checkpoint's saved config has unknown key `{key}`; hint: it was probably written by a \
         different gs version: use that version, or remove the key from the saved config"
    )]
    UnknownCheckpointKey {
        /// The key.
        key: String,
    },

    /// An option gs recognises but cannot honour yet was set to a non-default value.
    #[error(
        "{name} = `{value}` is not supported by gs yet: {reason}; hint: remove it or set it to its default ({default})"
    )]
    NotYetSupported {
        /// The option and where it came from.
        name: String,
        /// The value given.
        value: String,
        /// Why not.
        reason: String,
        /// The default, which is accepted.
        default: String,
    },

    /// `--ip-config` was given or `--num-trainers` is above 1.
    #[error(
        "multi-trainer / multi-machine training is not supported yet (got {got}); hint: {hint}"
    )]
    ScaleOutNotSupported {
        /// What asked for it, e.g. "--num-trainers 2".
        got: String,
        /// What to do.
        hint: String,
    },
}
