use thiserror::Error;

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

    /// Wrap a libtorch error, keeping only its first line (the C++ backtrace is noise to a user).
    pub(crate) fn torch(op: &'static str, err: tch::TchError) -> Self {
        let text = err.to_string();
        let first = text
            .lines()
            .map(str::trim)
            .find(|line| !line.is_empty() && !line.starts_with("Torch(\""))
            .unwrap_or(text.as_str());
        Self::new(op, first.trim_start_matches("Torch(\"").to_string())
    }
}
