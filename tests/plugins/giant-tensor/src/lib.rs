//! Test plugin `test-giant-tensor`: a model whose `init` asks the host for a
//! `[1000000, 1000000]` f32 parameter (4 TB), which the host's tensor-bytes budget must refuse
//! before allocating anything.

use gs_plugin_sdk::prelude::*;

struct GiantTensor {
    _weight: Tensor,
}

impl Model for GiantTensor {
    fn info() -> Info {
        Info::new("test-giant-tensor", "0.1.0").all_tasks()
    }

    fn init(_config: &ModelConfig, _schema: &GraphSchema) -> Result<Self> {
        let weight = Scope::root().param("giant.weight", &[1_000_000, 1_000_000], Init::Zeros);
        Ok(GiantTensor { _weight: weight })
    }

    fn forward(&self, _batch: &Batch, _mode: Mode) -> Result<Vec<(String, Tensor)>> {
        Err(Error::other(
            "test-giant-tensor's init should never have succeeded",
        ))
    }
}

gs_plugin_sdk::export_model!(GiantTensor);
