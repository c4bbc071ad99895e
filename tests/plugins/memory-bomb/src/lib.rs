//! Test plugin `test-memory-bomb`: a valid model whose `forward` allocates 1 MiB blocks, writes
//! them and keeps them — without bound, until the host's guest-memory cap makes an allocation
//! fail (the allocation failure aborts, which the host sees as a trap), or up to `--alloc-mb`
//! MiB, after which it returns one linear layer's embeddings of the targets.

use gs_plugin_sdk::prelude::*;
use test_plugin_kit::{TargetLinear, bound};

struct MemoryBomb {
    alloc_mb: Option<u64>,
    model: TargetLinear,
}

impl Model for MemoryBomb {
    fn info() -> Info {
        Info::new("test-memory-bomb", "0.1.0")
            .all_tasks()
            .hyper_param(
                "alloc-mb",
                "unbounded",
                "MiB that forward allocates and keeps (`unbounded`: until it fails)",
            )
    }

    fn init(config: &ModelConfig, schema: &GraphSchema) -> Result<Self> {
        Ok(MemoryBomb {
            alloc_mb: bound(config, "alloc-mb")?,
            model: TargetLinear::new(config, schema)?,
        })
    }

    fn forward(&self, batch: &Batch, _mode: Mode) -> Result<Vec<(String, Tensor)>> {
        let mut hoard: Vec<Vec<u8>> = Vec::new();
        while self.alloc_mb.is_none_or(|mb| (hoard.len() as u64) < mb) {
            hoard.push(vec![0xA5; 1 << 20]);
            std::hint::black_box(&hoard);
        }
        self.model.forward(batch)
    }
}

gs_plugin_sdk::export_model!(MemoryBomb);
