//! Test plugin `test-trap-on-seven`: a linear model of the target type's features that trains
//! and infers normally, and executes the wasm `unreachable` instruction on a batch with
//! exactly seven input nodes of the target type: one request that traps among good ones.

use gs_plugin_sdk::prelude::*;
use test_plugin_kit::TargetLinear;

struct TrapOnSeven {
    linear: TargetLinear,
}

impl Model for TrapOnSeven {
    fn info() -> Info {
        Info::new("test-trap-on-seven", "0.1.0").all_tasks()
    }

    fn init(config: &ModelConfig, schema: &GraphSchema) -> Result<Self> {
        Ok(TrapOnSeven {
            linear: TargetLinear::new(config, schema)?,
        })
    }

    fn forward(&self, batch: &Batch, _mode: Mode) -> Result<Vec<(String, Tensor)>> {
        let target = batch.target_node_type();
        if batch.num_src_nodes(0, &target) == 7 {
            #[cfg(target_arch = "wasm32")]
            core::arch::wasm32::unreachable();
        }
        self.linear.forward(batch)
    }
}

gs_plugin_sdk::export_model!(TrapOnSeven);
