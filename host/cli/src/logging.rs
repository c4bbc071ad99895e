//! The process's log: tracing lines on stderr, at the level `--logging-level` sets, and also
//! in the file `--logging-file` names (GraphStorm's `logging_level` and `logging_file`).
//!
//! Logging starts at `info` before any option is read (or at the filter in `GS_LOG`, which
//! then keeps precedence over `--logging-level`); [`configure`] applies the options once a
//! command has resolved them.

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::sync::{Mutex, OnceLock};

use anyhow::Context;
use tracing_subscriber::prelude::*;
use tracing_subscriber::{EnvFilter, Registry, reload};

/// The environment variable with a tracing filter that overrides `--logging-level`.
const ENV_FILTER: &str = "GS_LOG";

static FILTER: OnceLock<reload::Handle<EnvFilter, Registry>> = OnceLock::new();
static LOG_FILE: Mutex<Option<File>> = Mutex::new(None);

/// Writes log lines to the `--logging-file`, when one is open.
struct FileSink;

impl Write for FileSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match LOG_FILE.lock().ok().as_mut().and_then(|f| f.as_mut()) {
            Some(file) => file.write(buf),
            None => Ok(buf.len()),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match LOG_FILE.lock().ok().as_mut().and_then(|f| f.as_mut()) {
            Some(file) => file.flush(),
            None => Ok(()),
        }
    }
}

/// Installs the logger: `info` (or `GS_LOG`) to stderr, nothing to a file yet.
pub(crate) fn init() {
    let filter = EnvFilter::try_from_env(ENV_FILTER).unwrap_or_else(|_| EnvFilter::new("info"));
    let (filter, handle) = reload::Layer::new(filter);
    let _ = FILTER.set(handle);
    tracing_subscriber::registry()
        .with(filter)
        .with(
            tracing_subscriber::fmt::layer()
                .with_target(false)
                .with_writer(std::io::stderr),
        )
        .with(
            tracing_subscriber::fmt::layer()
                .with_target(false)
                .with_ansi(false)
                .with_writer(|| FileSink),
        )
        .init();
}

/// The tracing filter of a GraphStorm logging level (`debug`, `info`, `warning`, `error`).
fn filter_of(level: &str) -> &'static str {
    match level {
        "debug" => "debug",
        "warning" => "warn",
        "error" => "error",
        _ => "info",
    }
}

/// Applies `--logging-level` (unless `GS_LOG` is set) and opens `--logging-file` for appending.
pub(crate) fn configure(level: &str, file: Option<&Path>) -> anyhow::Result<()> {
    if std::env::var_os(ENV_FILTER).is_none()
        && let Some(handle) = FILTER.get()
    {
        handle
            .reload(EnvFilter::new(filter_of(level)))
            .context("cannot change the log level")?;
    }
    if let Some(path) = file {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create the folder of `{}`", path.display()))?;
        }
        let opened = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| {
                format!(
                    "cannot open the log file `{}`; hint: check --logging-file",
                    path.display()
                )
            })?;
        if let Ok(mut slot) = LOG_FILE.lock() {
            *slot = Some(opened);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graphstorm_levels_map_to_tracing_filters() {
        assert_eq!(filter_of("debug"), "debug");
        assert_eq!(filter_of("info"), "info");
        assert_eq!(filter_of("warning"), "warn");
        assert_eq!(filter_of("error"), "error");
    }
}
