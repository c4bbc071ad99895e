//! Test plugin `test-infinite-loop`: a valid model whose `forward` loops forever without a
//! single host call, so only the host's epoch deadline can stop it.

use gs_plugin_sdk::prelude::*;

struct InfiniteLoop;

impl Model for InfiniteLoop {
    fn info() -> Info {
        Info::new("test-infinite-loop", "0.1.0").all_tasks()
    }

    fn init(_config: &ModelConfig, _schema: &GraphSchema) -> Result<Self> {
        Ok(InfiniteLoop)
    }

    fn forward(&self, _batch: &Batch, _mode: Mode) -> Result<Vec<(String, Tensor)>> {
        let mut spins = 0u64;
        loop {
            // `black_box` keeps the optimiser from proving the loop useless.
            spins = std::hint::black_box(spins.wrapping_add(1));
        }
    }
}

gs_plugin_sdk::export_model!(InfiniteLoop);
