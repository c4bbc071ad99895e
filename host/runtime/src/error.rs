//! Everything that can go wrong with a plugin, each naming the plugin and, for calls, the export.

use std::path::PathBuf;

use thiserror::Error;

/// Why a plugin could not be loaded, or why one of its exports did not complete.
#[derive(Debug, Error)]
pub enum PluginError {
    #[error("cannot read plugin `{}`: {source}\nhint: check the path given to --plugin", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("plugin `{plugin}` is not a WebAssembly component: {reason}\nhint: {hint}")]
    NotAComponent {
        plugin: String,
        reason: String,
        hint: String,
    },

    #[error(
        "plugin `{plugin}` was built for {found} (with {sdk}); this gs supports {supported}\n\
         hint: {hint}"
    )]
    IncompatibleVersion {
        plugin: String,
        found: String,
        supported: String,
        sdk: String,
        hint: String,
    },

    #[error("plugin `{plugin}` cannot be loaded: {message}")]
    Load { plugin: String, message: String },

    #[error("plugin `{plugin}` {version} failed in `{export}`: {failure}")]
    Failed {
        plugin: String,
        version: String,
        export: &'static str,
        failure: PluginFailure,
    },

    #[error("plugin `{plugin}` {version} returned an error from `{export}`: {kind}: {message}")]
    Returned {
        plugin: String,
        version: String,
        export: &'static str,
        kind: &'static str,
        message: String,
    },

    #[error(
        "plugin `{plugin}` was stopped by an earlier failure in `{export}` and cannot be called again\n\
         hint: load the plugin again to get a fresh instance"
    )]
    Stopped {
        plugin: String,
        export: &'static str,
    },
}

/// How a plugin's export was stopped.
#[derive(Debug, Error)]
pub enum PluginFailure {
    #[error(
        "it ran past its deadline of {seconds} s and was stopped\n\
         hint: a loop that never ends? if the model is just slow, raise --plugin-call-timeout"
    )]
    Deadline { seconds: f64 },
    #[error("it was stopped at its memory limit: {0}")]
    Memory(String),
    #[error("{0}")]
    Host(String),
    #[error(
        "it panicked: {0}\nhint: this is a bug in the plugin; report it to the plugin's author"
    )]
    Panic(String),
    #[error(
        "it overflowed its call stack and was stopped (recursion too deep?)\n\
         hint: this is a bug in the plugin; make its recursion iterative or bounded, or report \
         it to the plugin's author"
    )]
    StackOverflow,
    #[error("it trapped: {0}\nhint: this is a bug in the plugin; report it to the plugin's author")]
    Trap(String),
}
