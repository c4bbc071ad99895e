//! Test plugin `test-handle-flood`: a valid model whose `forward` creates `[1]`-shaped tensors
//! in a loop and keeps every handle — until the host's handle limit stops the export, or up to
//! `--handles` handles, after which it returns one linear layer's embeddings of the targets.

use gs_plugin_sdk::prelude::*;
use test_plugin_kit::{TargetLinear, bound};

struct HandleFlood {
    handles: Option<u64>,
    model: TargetLinear,
}

impl Model for HandleFlood {
    fn info() -> Info {
        Info::new("test-handle-flood", "0.1.0")
            .all_tasks()
            .hyper_param(
                "handles",
                "unbounded",
                "tensor handles forward creates and keeps (`unbounded`: until it is stopped)",
            )
    }

    fn init(config: &ModelConfig, schema: &GraphSchema) -> Result<Self> {
        Ok(HandleFlood {
            handles: bound(config, "handles")?,
            model: TargetLinear::new(config, schema)?,
        })
    }

    fn forward(&self, batch: &Batch, _mode: Mode) -> Result<Vec<(String, Tensor)>> {
        let mut handles = Vec::new();
        while self.handles.is_none_or(|n| (handles.len() as u64) < n) {
            handles.push(Tensor::zeros(&[1], Dtype::F32));
        }
        self.model.forward(batch)
    }
}

gs_plugin_sdk::export_model!(HandleFlood);
