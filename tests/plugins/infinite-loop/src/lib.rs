//! Test plugin `test-infinite-loop`: a valid model that loops in one export — `init`,
//! `forward` (the default), `decode` or `loss`, chosen by `--loop-in` — without a single
//! host call, forever or for `--loop-ms` milliseconds, so only the host's epoch deadline can
//! stop it. The other exports behave: `forward` returns one linear layer's embeddings of the
//! targets, and `decode` and `loss` leave the work to the host. (`describe` runs before any
//! argument arrives: `test-slow-describe` covers it.)

use std::time::Duration;

use gs_plugin_sdk::prelude::*;
use test_plugin_kit::{TargetLinear, bound, spin};

struct InfiniteLoop {
    loop_in: String,
    how_long: Option<Duration>,
    model: TargetLinear,
}

const EXPORTS: [&str; 4] = ["init", "forward", "decode", "loss"];

impl InfiniteLoop {
    fn maybe_loop(&self, export: &str) {
        if self.loop_in == export {
            spin(self.how_long);
        }
    }
}

impl Model for InfiniteLoop {
    fn info() -> Info {
        Info::new("test-infinite-loop", "0.1.0")
            .all_tasks()
            .hyper_param(
                "loop-in",
                "forward",
                "the export that loops: init, forward, decode or loss",
            )
            .hyper_param(
                "loop-ms",
                "unbounded",
                "how long it loops, in milliseconds (`unbounded`: forever)",
            )
    }

    fn init(config: &ModelConfig, schema: &GraphSchema) -> Result<Self> {
        let model = InfiniteLoop {
            loop_in: config.choice("loop-in", "forward", &EXPORTS)?.to_owned(),
            how_long: bound(config, "loop-ms")?.map(Duration::from_millis),
            model: TargetLinear::new(config, schema)?,
        };
        model.maybe_loop("init");
        Ok(model)
    }

    fn forward(&self, batch: &Batch, _mode: Mode) -> Result<Vec<(String, Tensor)>> {
        self.maybe_loop("forward");
        self.model.forward(batch)
    }

    fn decode(
        &self,
        _batch: &Batch,
        _embeddings: &[(String, Tensor)],
        _mode: Mode,
    ) -> Result<Tensor> {
        self.maybe_loop("decode");
        Err(Error::not_implemented("the host decodes"))
    }

    fn loss(&self, _outputs: &Tensor, _labels: &Tensor) -> Result<Tensor> {
        self.maybe_loop("loss");
        Err(Error::not_implemented("the host computes the loss"))
    }
}

gs_plugin_sdk::export_model!(InfiniteLoop);
