//! Test plugin `test-handle-flood`: a valid model whose `forward` creates `[1]`-shaped tensors
//! in a loop and keeps every handle, until the host's handle limit stops the export.

use gs_plugin_sdk::prelude::*;

struct HandleFlood;

impl Model for HandleFlood {
    fn info() -> Info {
        Info::new("test-handle-flood", "0.1.0").all_tasks()
    }

    fn init(_config: &ModelConfig, _schema: &GraphSchema) -> Result<Self> {
        Ok(HandleFlood)
    }

    fn forward(&self, _batch: &Batch, _mode: Mode) -> Result<Vec<(String, Tensor)>> {
        let mut handles = Vec::new();
        loop {
            handles.push(Tensor::zeros(&[1], Dtype::F32));
        }
    }
}

gs_plugin_sdk::export_model!(HandleFlood);
