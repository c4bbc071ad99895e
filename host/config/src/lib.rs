//! `gs-config` owns gs's configuration: GraphStorm's YAML schema plus command-line overrides,
//! resolved once per command into one typed, validated config ([`Resolved`]).
//!
//! It knows every GraphStorm launch argument and model/task key (one table, [`known_options`]),
//! so a user's `python -m graphstorm.run.launch ... --cf x.yaml ...` line and YAML file work
//! unchanged: supported options are resolved, options gs does not need yet are accepted with a
//! warning, and options whose absence would change results are refused with an error. Flags it
//! does not know, the YAML's `udf` section and everything after `--` become the plugin's custom
//! arguments. Precedence: built-in defaults < a checkpoint's saved config < YAML < command line,
//! and [`Resolved::sources`] says which one each value came from.
//!
//! It must not depend on tch, wasmtime or clap, nor read anything but the YAML file it is
//! pointed at: the CLI owns the process, the training layer owns what the values mean.
//! Every error is a [`ConfigError`] that names the flag, key, file or value and ends with a
//! `hint:`.

#![warn(missing_docs)]

mod argv;
mod error;
mod export;
mod options;
mod resolve;
mod resolved;
mod suggest;
mod value;
mod yaml;

pub use error::ConfigError;
pub use export::{RUNTIME_CONFIG_FILE, graphstorm_yaml};
pub use options::{
    DefaultValue, OptionSpec, PLUGIN_KEYS, Section, Support, ValueKind, help_text, known_options,
};
pub use resolve::{Input, RESTORE_MODEL_LAYERS, parse, resolve};
pub use resolved::{
    Device, EarlyStopStrategy, LaunchOptions, PluginKey, PluginRef, Resolved, Source, TaskType,
    TrainConfig,
};

#[cfg(test)]
mod tests;
