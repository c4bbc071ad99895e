//! Test plugin `test-autograd-hog`: a valid model whose `forward` chains `--intermediates`
//! sigmoids over a `[256, 1024]` f32 tensor (1 MiB) scaled by a weight, keeping only the
//! newest handle, and adds the chain's mean to one linear layer's embeddings of the targets.
//! In training, autograd keeps every link of the chain alive until the backward (each
//! sigmoid saves its output), although the plugin holds two handles at a time.

use gs_plugin_sdk::prelude::*;
use test_plugin_kit::TargetLinear;

/// Shape of every link of the chain: 1 MiB of f32.
const LINK: [i64; 2] = [256, 1024];

struct AutogradHog {
    intermediates: u32,
    scale: Tensor,
    model: TargetLinear,
}

impl Model for AutogradHog {
    fn info() -> Info {
        Info::new("test-autograd-hog", "0.1.0")
            .all_tasks()
            .hyper_param(
                "intermediates",
                "64",
                "1 MiB intermediates that forward chains and drops",
            )
    }

    fn init(config: &ModelConfig, schema: &GraphSchema) -> Result<Self> {
        Ok(AutogradHog {
            intermediates: config.parse_arg("intermediates", 64)?,
            scale: Scope::root().param("hog.scale", &[1], Init::Ones),
            model: TargetLinear::new(config, schema)?,
        })
    }

    fn forward(&self, batch: &Batch, _mode: Mode) -> Result<Vec<(String, Tensor)>> {
        let mut link = Tensor::ones(&LINK, Dtype::F32).mul(&self.scale);
        for _ in 0..self.intermediates {
            // The old handle is dropped here; the host's autograd graph still holds it.
            link = link.sigmoid();
        }
        let tail = link.mean_dim(1, false).mean_dim(0, true);
        let mut outputs = self.model.forward(batch)?;
        for (_, h) in &mut outputs {
            *h = h.add(&tail);
        }
        Ok(outputs)
    }
}

gs_plugin_sdk::export_model!(AutogradHog);
