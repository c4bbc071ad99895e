//! Sandbox limits of a plugin instance and their enforcement.

use std::time::Duration;

/// Limits on one plugin instance. Each has a documented default and a flag / YAML key.
#[derive(Debug, Clone, PartialEq)]
pub struct PluginLimits {
    /// Guest linear memory, in bytes (`--plugin-memory-mb`, default 512 MiB).
    pub memory_bytes: usize,
    /// Wall-clock deadline of every export call (`--plugin-call-timeout`, default 60 s).
    pub call_timeout: Duration,
    /// Tensor handles alive at once (`--plugin-max-tensors`, default 100,000).
    pub max_tensors: usize,
    /// Bytes of host tensors the plugin's live handles may hold (`--plugin-tensor-budget-mb`,
    /// default 4 GiB). Checked before allocating.
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
                "guest memory would grow from {} MiB to {} MiB, over its limit of {} MiB \
                 (hint: raise --plugin-memory-mb if the model really needs it)",
                current >> 20,
                desired >> 20,
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
