//! Test plugin `test-stack-overflow`: a model whose `forward` recurses without bound. Each
//! call uses the result of the next, so the recursion cannot become a loop; it ends when the
//! guest's call stack is exhausted.

use gs_plugin_sdk::prelude::*;

struct StackOverflow;

/// Recurses `depth` times; each level mixes the deeper result into its own.
#[inline(never)]
fn recurse(depth: u64) -> u64 {
    if depth == 0 {
        return 1;
    }
    let deeper = recurse(depth - 1);
    deeper.rotate_left((deeper % 63) as u32 + 1) ^ depth
}

impl Model for StackOverflow {
    fn info() -> Info {
        Info::new("test-stack-overflow", "0.1.0").all_tasks()
    }

    fn init(_config: &ModelConfig, _schema: &GraphSchema) -> Result<Self> {
        Ok(StackOverflow)
    }

    fn forward(&self, _batch: &Batch, _mode: Mode) -> Result<Vec<(String, Tensor)>> {
        let depth = recurse(std::hint::black_box(u64::MAX));
        Err(Error::other(format!(
            "test-stack-overflow returned from a recursion {depth} deep"
        )))
    }
}

gs_plugin_sdk::export_model!(StackOverflow);
