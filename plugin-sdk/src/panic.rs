//! The panic hook: a panic's message and location go to the host's log before the trap.

use std::panic::PanicHookInfo;
use std::sync::Once;

use crate::log::{Level, log};

/// Installs (once) a panic hook that sends `panic: <message> at <file>:<line>:<column>` to the
/// host's log at level `error`. On wasm32 a panic then aborts, which the host sees as a trap
/// in the running export; with the logged line it can say why. [`export_model!`] calls this
/// at the start of every export, so plugins never need to.
///
/// [`export_model!`]: crate::export_model
pub fn install_panic_hook() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| std::panic::set_hook(Box::new(|info| log(Level::Error, &message(info)))));
}

/// The line the hook logs.
fn message(info: &PanicHookInfo<'_>) -> String {
    let payload = info.payload();
    let text = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(a panic without a message)");
    match info.location() {
        Some(at) => format!(
            "panic: {text} at {}:{}:{}",
            at.file(),
            at.line(),
            at.column()
        ),
        None => format!("panic: {text}"),
    }
}
