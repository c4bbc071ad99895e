//! Test plugin `test-trap`: a valid model whose `forward` executes the wasm `unreachable`
//! instruction, a trap with no message.

use gs_plugin_sdk::prelude::*;

struct Trap;

impl Model for Trap {
    fn info() -> Info {
        Info::new("test-trap", "0.1.0").all_tasks()
    }

    fn init(_config: &ModelConfig, _schema: &GraphSchema) -> Result<Self> {
        Ok(Trap)
    }

    fn forward(&self, _batch: &Batch, _mode: Mode) -> Result<Vec<(String, Tensor)>> {
        #[cfg(target_arch = "wasm32")]
        core::arch::wasm32::unreachable();
        #[cfg(not(target_arch = "wasm32"))]
        std::process::abort();
    }
}

gs_plugin_sdk::export_model!(Trap);
