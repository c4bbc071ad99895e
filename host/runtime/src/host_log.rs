//! The `log` import: plugin messages go to the host's log, tagged with the plugin's name.

use crate::bindings::log::{Host, Level};
use crate::state::HostState;

/// Prefix the SDK's panic hook puts before a panic message.
const PANIC_PREFIX: &str = "panic: ";
/// Longest message kept, so a plugin cannot flood the host's log with one call.
const MAX_MESSAGE: usize = 16 * 1024;

impl Host for HostState {
    fn log(&mut self, level: Level, message: String) -> wasmtime::Result<()> {
        self.host_calls += 1;
        let mut message = message;
        if message.len() > MAX_MESSAGE {
            let mut cut = MAX_MESSAGE;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
            message.push_str(" […]");
        }
        let plugin = self.plugin_name.as_str();
        match level {
            Level::Trace => tracing::trace!(target: "plugin", "[{plugin}] {message}"),
            Level::Debug => tracing::debug!(target: "plugin", "[{plugin}] {message}"),
            Level::Info => tracing::info!(target: "plugin", "[{plugin}] {message}"),
            Level::Warn => tracing::warn!(target: "plugin", "[{plugin}] {message}"),
            Level::Error => {
                if let Some(panic) = message.strip_prefix(PANIC_PREFIX) {
                    self.last_panic = Some(panic.to_string());
                } else {
                    tracing::error!(target: "plugin", "[{plugin}] {message}");
                }
            }
        }
        Ok(())
    }
}
