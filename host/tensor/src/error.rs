use std::sync::atomic::{AtomicBool, Ordering};

use thiserror::Error;

/// Whether libtorch errors keep their C++ stack trace (see [`show_cpp_traces`]).
static SHOW_CPP_TRACES: AtomicBool = AtomicBool::new(false);

/// Keep libtorch's C++ stack trace in the errors made from now on (`true`), or only the first
/// line of its message (`false`, the default). The CLI turns it on with `--logging-level debug`.
pub fn show_cpp_traces(show: bool) {
    SHOW_CPP_TRACES.store(show, Ordering::Relaxed);
}

/// A tensor operation that could not run. Carries the operation and the shapes involved.
#[derive(Debug, Error)]
#[error("tensor op `{op}`: {message}")]
pub struct TensorError {
    pub op: &'static str,
    pub message: String,
}

impl TensorError {
    pub fn new(op: &'static str, message: impl Into<String>) -> Self {
        Self {
            op,
            message: message.into(),
        }
    }

    /// Wrap a libtorch error of `op`: the first line of torch's message; the C++ stack trace
    /// after it only when [`show_cpp_traces`] is on.
    pub fn torch(op: &'static str, err: tch::TchError) -> Self {
        Self::new(op, torch_message(&err.to_string()))
    }
}

/// The first non-empty line of a libtorch error text, without tch's prefixes; followed by the
/// rest of the text (the C++ frames) when [`show_cpp_traces`] is on.
pub fn torch_message(text: &str) -> String {
    let strip = |line: &str| {
        line.trim()
            .trim_start_matches("Internal torch error: ")
            .trim_start_matches("Torch(\"")
            .trim()
            .to_string()
    };
    let mut lines = text.lines().skip_while(|line| strip(line).is_empty());
    let first = lines.next().map(strip).unwrap_or_default();
    if SHOW_CPP_TRACES.load(Ordering::Relaxed) {
        let rest: Vec<&str> = lines.collect();
        if !rest.is_empty() {
            return format!("{first}\n{}", rest.join("\n"));
        }
    }
    first
}

#[cfg(test)]
mod tests {
    use super::*;

    const TORCH_TEXT: &str = "Internal torch error: Target 7 is out of bounds.\n\
        Exception raised from nll_loss_out_frame at aten/src/ATen/native/LossNLL.cpp:266 (most recent call first):\n\
        frame #0: c10::Error::Error(c10::SourceLocation, std::string) + 0x9c\n\
        frame #1: at::native::nll_loss_forward_out_cpu + 0x1e0";

    #[test]
    fn torch_errors_are_one_line_unless_traces_are_shown() {
        show_cpp_traces(false);
        assert_eq!(torch_message(TORCH_TEXT), "Target 7 is out of bounds.");
        show_cpp_traces(true);
        let full = torch_message(TORCH_TEXT);
        show_cpp_traces(false);
        assert!(full.starts_with("Target 7 is out of bounds.\nException raised"));
        assert!(full.contains("frame #1"), "{full}");
    }
}
