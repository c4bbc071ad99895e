//! Test plugin `test-huge-op`: a model whose `forward` runs one tensor op, chosen by `--op`,
//! on inputs of at most a few MiB whose output would take terabytes (`[10^6, 10^6]` f32, or
//! more). The host must refuse the op by the size of its output before libtorch allocates.

use gs_plugin_sdk::prelude::*;

/// Rows or columns of every operand: the outputs have `N * N` = 10^12 elements.
const N: i64 = 1_000_000;

/// The ops `--op` may name.
const OPS: [&str; 10] = [
    "zeros",
    "ones",
    "matmul",
    "add",
    "sub",
    "mul",
    "div",
    "index-select",
    "scatter-reduce",
    "segment-softmax",
];

struct HugeOp {
    op: String,
}

fn column() -> Tensor {
    Tensor::ones(&[N, 1], Dtype::F32)
}

fn row() -> Tensor {
    Tensor::ones(&[1, N], Dtype::F32)
}

impl Model for HugeOp {
    fn info() -> Info {
        Info::new("test-huge-op", "0.1.0").all_tasks().hyper_param(
            "op",
            "matmul",
            format!("the op to run: {}", OPS.join(", ")),
        )
    }

    fn init(config: &ModelConfig, _schema: &GraphSchema) -> Result<Self> {
        let op = config.choice("op", "matmul", &OPS)?.to_owned();
        Ok(HugeOp { op })
    }

    fn forward(&self, _batch: &Batch, _mode: Mode) -> Result<Vec<(String, Tensor)>> {
        let zero_index = |len: i64| Tensor::zeros(&[len], Dtype::I64);
        let huge = match self.op.as_str() {
            "zeros" => Tensor::zeros(&[N, N], Dtype::F32),
            "ones" => Tensor::ones(&[N, N], Dtype::F32),
            "matmul" => column().matmul(&row()),
            "add" => column().add(&row()),
            "sub" => column().sub(&row()),
            "mul" => column().mul(&row()),
            "div" => column().div(&row()),
            "index-select" => row().index_select(0, &zero_index(N)),
            "scatter-reduce" => row().scatter_reduce(&zero_index(1), N, Reduce::Sum),
            "segment-softmax" => row().segment_softmax(&zero_index(1), N),
            other => return Err(Error::invalid_argument(format!("no op `{other}`"))),
        };
        Err(Error::other(format!(
            "the host ran `{}` and made a tensor of shape {:?}",
            self.op,
            huge.shape()
        )))
    }
}

gs_plugin_sdk::export_model!(HugeOp);
