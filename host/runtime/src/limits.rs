//! Sandbox limits of a plugin instance and their enforcement.

use std::time::Duration;

/// Limits on one plugin instance. Each has a documented default and a flag / YAML key.
#[derive(Debug, Clone, PartialEq)]
pub struct PluginLimits {
    /// Guest linear memory, in bytes (`--plugin-memory-mb`, default 512 MiB).
    pub memory_bytes: usize,
    /// Wall-clock deadline of every export call, `describe` and `init` included
    /// (`--plugin-call-timeout`, default 60 s).
    pub call_timeout: Duration,
    /// Tensor handles alive at once (`--plugin-max-tensors`, default 100,000). wasmtime's own
    /// cap on a store's handles is set above it.
    pub max_tensors: usize,
    /// Bytes of host tensors charged to the plugin (`--plugin-tensor-budget-mb`, default
    /// 4 GiB): those behind its live handles and, in training, every op output of the batch
    /// until [`crate::PluginInstance::end_batch`]. Every op's output size is checked against
    /// it before the op runs.
    pub tensor_bytes: usize,
}

impl Default for PluginLimits {
    fn default() -> Self {
        Self {
            memory_bytes: 512 << 20,
            call_timeout: Duration::from_secs(60),
            max_tensors: 100_000,
            tensor_bytes: 4 << 30,
        }
    }
}

/// Enforces the guest memory cap and records why a growth was refused.
pub(crate) struct MemoryLimiter {
    pub(crate) limit: usize,
    pub(crate) refused: Option<String>,
}

impl wasmtime::ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _max: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.limit {
            let message = format!(
                "guest memory would grow from {} to {}, over its limit of {} MiB\n\
                 hint: raise --plugin-memory-mb if the model really needs it",
                human_bytes(current),
                human_bytes(desired),
                self.limit >> 20
            );
            self.refused = Some(message.clone());
            return Err(wasmtime::Error::msg(message));
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _max: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 1_000_000)
    }
}

/// Bytes for a person: `512 KiB`, `63.5 MiB`, `3.6 TiB`.
pub(crate) fn human_bytes(bytes: usize) -> String {
    const UNITS: [&str; 5] = ["bytes", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 || value.fract() == 0.0 {
        format!("{value:.0} {}", UNITS[unit])
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::human_bytes;

    #[test]
    fn bytes_read_as_a_person_would() {
        assert_eq!(human_bytes(512), "512 bytes");
        assert_eq!(human_bytes(64 << 20), "64 MiB");
        assert_eq!(human_bytes((63 << 20) + (1 << 19)), "63.5 MiB");
        assert_eq!(human_bytes(4_000_000_000_000), "3.6 TiB");
    }
}
