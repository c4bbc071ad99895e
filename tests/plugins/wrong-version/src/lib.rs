//! Test plugin `test-wrong-version`: a valid tiny model (one linear layer over the target node
//! type's input features) built against `gs:plugin@0.99.0`, a copy of the WIT in `wit/` that
//! differs from the real one only in its version: a far-future minor line, which no host of
//! the 0.1 line may load. A host for 0.1.x must refuse it before instantiating it, naming both
//! versions. It cannot use gs-plugin-sdk, which is built for 0.1.x, so it uses wit-bindgen
//! directly.

mod bindings {
    wit_bindgen::generate!({
        world: "model",
        path: "wit",
        // wit-bindgen cannot lift `decode`'s `list<tuple<string, borrow<tensor>>>`
        // (bytecodealliance/wit-bindgen#811); it is exported by hand below.
        skip: ["decode"],
    });
}

use std::cell::RefCell;

use bindings::exports::gs::plugin::model_api::{Guest, ModelConfig, PluginInfo};
use bindings::exports::gs::plugin::model_capabilities::{
    Guest as CapabilitiesGuest, PluginCapabilities,
};
use bindings::gs::plugin::graph::{Batch, GraphSchema};
use bindings::gs::plugin::tensors::{Tensor, param};
use bindings::gs::plugin::types::{Error, Init, Mode, Task};

thread_local! {
    /// The weight `init` creates: `[target feature dim, hidden size]`.
    static WEIGHT: RefCell<Option<Tensor>> = const { RefCell::new(None) };
}

struct WrongVersion;

impl Guest for WrongVersion {
    fn describe() -> PluginInfo {
        PluginInfo {
            name: "test-wrong-version".into(),
            version: "0.1.0".into(),
            sdk_version: "none (raw wit-bindgen)".into(),
            tasks: vec![Task::NodeClassification, Task::NodeRegression],
            hyper_params: Vec::new(),
        }
    }

    fn init(config: ModelConfig, schema: GraphSchema) -> Result<(), Error> {
        let target = &config.target_node_type;
        let node_type = schema
            .node_types
            .iter()
            .find(|t| &t.name == target)
            .ok_or_else(|| {
                Error::InvalidArgument(format!("the graph has no node type `{target}`"))
            })?;
        let shape = [
            i64::from(node_type.feature_dim),
            i64::from(config.hidden_size),
        ];
        let weight = param("linear.weight", &shape, Init::XavierUniform(1.0));
        WEIGHT.with_borrow_mut(|w| *w = Some(weight));
        Ok(())
    }

    fn forward(batch: &Batch, _mode: Mode) -> Result<Vec<(String, Tensor)>, Error> {
        WEIGHT.with_borrow(|weight| {
            let weight = weight
                .as_ref()
                .ok_or_else(|| Error::Other("`forward` before `init`".into()))?;
            let target = batch.target_node_type();
            let x = batch.input_features(&target).ok_or_else(|| {
                Error::Unsupported(format!("node type `{target}` has no features"))
            })?;
            let rows = batch.num_dst_nodes(batch.num_layers().saturating_sub(1), &target);
            Ok(vec![(target, x.narrow(0, 0, rows).matmul(weight))])
        })
    }

    fn loss(_outputs: &Tensor, _labels: &Tensor) -> Result<Tensor, Error> {
        Err(Error::NotImplemented("use the host's loss".into()))
    }
}

impl CapabilitiesGuest for WrongVersion {
    fn capabilities() -> PluginCapabilities {
        PluginCapabilities {
            decode: Vec::new(),
            loss: Vec::new(),
        }
    }
}

bindings::export!(WrongVersion with_types_in bindings);

/// The `decode` export, by hand: it releases its arguments as the canonical ABI requires and
/// returns `not-implemented`, so the host uses its built-in decoder.
///
/// # Safety
/// Only the canonical ABI may call it, with `decode`'s lowered arguments: a borrow handle of
/// the batch, a list of `len` (string, borrow handle) elements the guest now owns, the mode.
#[cfg(target_arch = "wasm32")]
#[unsafe(export_name = "gs:plugin/model-api@0.99.0#decode")]
unsafe extern "C" fn decode(batch: i32, list: *mut u8, len: usize, _mode: i32) -> *mut u8 {
    const WORD: usize = std::mem::size_of::<*const u8>();
    const MESSAGE: &str = "use the host's decoder";

    #[repr(C, align(8))]
    struct ReturnArea([u8; 4 * WORD]);
    static mut RETURN_AREA: ReturnArea = ReturnArea([0; 4 * WORD]);

    // SAFETY: see the function's contract. Strings and the list were allocated with the
    // guest's allocator for the guest to free; dropping a wrapper of a borrow handle ends the
    // borrow. The error message is static, so there is no post-return to free it.
    unsafe {
        drop(Batch::from_handle(batch as u32));
        for i in 0..len {
            let element = list.add(i * 3 * WORD);
            let ptr = *element.cast::<*mut u8>();
            let bytes_len = *element.add(WORD).cast::<usize>();
            drop(Vec::from_raw_parts(ptr, bytes_len, bytes_len));
            drop(Tensor::from_handle(
                *element.add(2 * WORD).cast::<i32>() as u32
            ));
        }
        if len > 0 {
            let layout = std::alloc::Layout::from_size_align_unchecked(len * 3 * WORD, WORD);
            std::alloc::dealloc(list, layout);
        }
        let area = (&raw mut RETURN_AREA.0).cast::<u8>();
        *area = 1; // err
        *area.add(WORD) = 1; // not-implemented
        *area.add(2 * WORD).cast::<*const u8>() = MESSAGE.as_ptr();
        *area.add(3 * WORD).cast::<usize>() = MESSAGE.len();
        area
    }
}
