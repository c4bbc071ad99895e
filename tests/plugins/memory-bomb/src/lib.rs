//! Test plugin `test-memory-bomb`: a valid model whose `forward` allocates 1 MiB blocks, writes
//! them and keeps them, without bound, until the host's guest-memory cap makes an allocation
//! fail (the allocation failure aborts, which the host sees as a trap).

use gs_plugin_sdk::prelude::*;

struct MemoryBomb;

impl Model for MemoryBomb {
    fn info() -> Info {
        Info::new("test-memory-bomb", "0.1.0").all_tasks()
    }

    fn init(_config: &ModelConfig, _schema: &GraphSchema) -> Result<Self> {
        Ok(MemoryBomb)
    }

    fn forward(&self, _batch: &Batch, _mode: Mode) -> Result<Vec<(String, Tensor)>> {
        let mut hoard: Vec<Vec<u8>> = Vec::new();
        loop {
            // Non-zero bytes so every page is really written.
            hoard.push(vec![0xA5; 1 << 20]);
            std::hint::black_box(&hoard);
        }
    }
}

gs_plugin_sdk::export_model!(MemoryBomb);
