//! Logging into the host's log. The host tags every line with the plugin's name.
//!
//! Use the macros, which format like `format!`: `gs_plugin_sdk::info!("{n} layers")`, or the
//! functions here with a ready message. Each line is one host call: log per batch or per
//! epoch, never per node.

pub use crate::bindings::gs::plugin::log::Level;

/// Sends `message` to the host's log at `level`.
pub fn log(level: Level, message: &str) {
    crate::bindings::gs::plugin::log::log(level, message);
}

/// Logs at level `trace`.
pub fn trace(message: &str) {
    log(Level::Trace, message);
}

/// Logs at level `debug`.
pub fn debug(message: &str) {
    log(Level::Debug, message);
}

/// Logs at level `info`.
pub fn info(message: &str) {
    log(Level::Info, message);
}

/// Logs at level `warn`.
pub fn warn(message: &str) {
    log(Level::Warn, message);
}

/// Logs at level `error`.
pub fn error(message: &str) {
    log(Level::Error, message);
}

/// Logs a `format!`-style message at level `trace`.
#[macro_export]
macro_rules! trace {
    ($($arg:tt)+) => { $crate::log::trace(&::std::format!($($arg)+)) };
}

/// Logs a `format!`-style message at level `debug`.
#[macro_export]
macro_rules! debug {
    ($($arg:tt)+) => { $crate::log::debug(&::std::format!($($arg)+)) };
}

/// Logs a `format!`-style message at level `info`.
#[macro_export]
macro_rules! info {
    ($($arg:tt)+) => { $crate::log::info(&::std::format!($($arg)+)) };
}

/// Logs a `format!`-style message at level `warn`.
#[macro_export]
macro_rules! warn {
    ($($arg:tt)+) => { $crate::log::warn(&::std::format!($($arg)+)) };
}

/// Logs a `format!`-style message at level `error`.
#[macro_export]
macro_rules! error {
    ($($arg:tt)+) => { $crate::log::error(&::std::format!($($arg)+)) };
}
