//! Host bindings generated from `wit/`.

wasmtime::component::bindgen!({
    world: "model",
    path: "../../wit",
    imports: { default: trappable },
    with: {
        "gs:plugin/tensors.tensor": crate::host_tensors::TensorRes,
        "gs:plugin/graph.batch": crate::batch::BatchRes,
        "gs:plugin/graph.block": crate::batch::BlockRes,
    },
});

pub(crate) use exports::gs::plugin::{model_api, model_capabilities};
pub(crate) use gs::plugin::{graph, log, tensors, types};
