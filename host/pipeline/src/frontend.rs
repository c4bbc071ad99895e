//! What the caller of a run provides: logging, the component cache, plugin bytes, progress
//! and the lines a run reports.

use gs_config::{LaunchOptions, PluginRef};
use gs_runtime::CacheLocation;
use gs_train::Progress;

/// The side of a run that faces the user: the `gs` command line, or a server.
pub trait Frontend {
    /// Sets up logging as `launch` asks; called before the run logs anything.
    fn configure_logging(&mut self, launch: &LaunchOptions) -> anyhow::Result<()>;
    /// Where compiled components are cached, if anywhere.
    fn component_cache(&self) -> Option<CacheLocation>;
    /// The bytes of a plugin named by `--plugin`, with a name for messages.
    fn plugin_bytes(&self, plugin: &PluginRef) -> anyhow::Result<(String, Vec<u8>)>;
    /// Progress of one training or evaluation pass whose main metric is `metric`; the training
    /// loss is reported every `report_frequency` iterations (0: never).
    fn progress(&mut self, metric: &str, report_frequency: u64) -> Box<dyn Progress>;
    /// A result line (the command line prints it to stdout).
    fn line(&mut self, text: &str);
    /// A note on what the run is doing (the command line prints it to stderr).
    fn note(&mut self, text: &str);
}
