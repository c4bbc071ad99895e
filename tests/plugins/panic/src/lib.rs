//! Test plugin `test-panic`: a valid model whose `forward` panics with the message
//! "deliberate panic in forward". The SDK's hook logs `panic: deliberate panic in forward at
//! <file>:<line>:<column>` at level `error` before the trap.

use gs_plugin_sdk::prelude::*;

struct Panic;

impl Model for Panic {
    fn info() -> Info {
        Info::new("test-panic", "0.1.0").all_tasks()
    }

    fn init(_config: &ModelConfig, _schema: &GraphSchema) -> Result<Self> {
        Ok(Panic)
    }

    fn forward(&self, _batch: &Batch, _mode: Mode) -> Result<Vec<(String, Tensor)>> {
        panic!("deliberate panic in forward");
    }
}

gs_plugin_sdk::export_model!(Panic);
