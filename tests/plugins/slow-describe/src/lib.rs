//! Test plugin `test-slow-describe`: a valid model whose `describe` busy-waits for
//! [`DESCRIBE_MS`] without calling the host before it answers. A deadline shorter than that
//! stops it in `describe`; a longer one lets it load, initialise and run.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use gs_plugin_sdk::prelude::*;
use test_plugin_kit::{TargetLinear, spin};

/// How long the first `describe` of an instance takes.
const DESCRIBE_MS: u64 = 300;

/// Whether `describe` ran: the SDK reads [`Model::info`] again in `init`, which must not wait.
static DESCRIBED: AtomicBool = AtomicBool::new(false);

struct SlowDescribe(TargetLinear);

impl Model for SlowDescribe {
    fn info() -> Info {
        if !DESCRIBED.swap(true, Ordering::Relaxed) {
            spin(Some(Duration::from_millis(DESCRIBE_MS)));
        }
        Info::new("test-slow-describe", "0.1.0").all_tasks()
    }

    fn init(config: &ModelConfig, schema: &GraphSchema) -> Result<Self> {
        TargetLinear::new(config, schema).map(SlowDescribe)
    }

    fn forward(&self, batch: &Batch, _mode: Mode) -> Result<Vec<(String, Tensor)>> {
        self.0.forward(batch)
    }
}

gs_plugin_sdk::export_model!(SlowDescribe);
