//! [`export_model!`](crate::export_model) and the glue it expands to: the generated `Guest`
//! implementations (`model-api`, and `model-capabilities` since `gs:plugin@0.1.1`), the model
//! instance kept between exports, the SDK-version custom section, and a hand-written `decode`
//! export.
//!
//! Everything public here is reached through `gs_plugin_sdk::__private` by the macro only.

use std::cell::RefCell;
use std::thread::LocalKey;

use crate::bindings::exports::gs::plugin::model_api::{ModelConfig, PluginInfo};
use crate::bindings::gs::plugin::graph::GraphSchema;
use crate::{Batch, Error, Mode, Model, Result, SDK_VERSION, Tensor, install_panic_hook};

pub use crate::bindings::exports::gs::plugin::model_api::Guest;
pub use crate::bindings::exports::gs::plugin::model_api::{
    ModelConfig as RawModelConfig, PluginInfo as RawPluginInfo,
};
pub use crate::bindings::exports::gs::plugin::model_capabilities::{
    Guest as CapabilitiesGuest, PluginCapabilities as RawPluginCapabilities,
};
pub use crate::bindings::gs::plugin::graph::Batch as RawBatch;
pub use crate::bindings::gs::plugin::graph::GraphSchema as RawGraphSchema;
pub use crate::bindings::gs::plugin::tensors::Tensor as RawTensor;
pub use crate::bindings::gs::plugin::types::{Error as RawError, Mode as RawMode};

/// Where [`export_model!`](crate::export_model) keeps the model between exports.
pub type ModelCell<M> = LocalKey<RefCell<Option<M>>>;

/// [`SDK_VERSION`] as a byte array of length `N` (`N` must be its length), for the
/// `gs-plugin-sdk-version` custom section.
pub const fn sdk_version_bytes<const N: usize>() -> [u8; N] {
    let version = SDK_VERSION.as_bytes();
    assert!(version.len() == N, "N must be SDK_VERSION.len()");
    let mut out = [0u8; N];
    let mut i = 0;
    while i < N {
        out[i] = version[i];
        i += 1;
    }
    out
}

/// `describe`: the model's [`Info`](crate::Info) plus the SDK version.
pub fn describe<M: Model>() -> PluginInfo {
    install_panic_hook();
    let info = M::info();
    PluginInfo {
        name: info.name,
        version: info.version,
        sdk_version: SDK_VERSION.to_owned(),
        tasks: info.tasks,
        hyper_params: info.hyper_params,
    }
}

/// `capabilities`: the tasks for which the model `init` built implements `decode` and `loss`
/// ([`Model::decodes`], [`Model::computes_loss`]); before `init`, what its
/// [`Info`](crate::Info) declares.
pub fn capabilities<M: Model>(cell: &'static ModelCell<M>) -> RawPluginCapabilities {
    install_panic_hook();
    let info = M::info();
    cell.with_borrow(|model| match model {
        Some(model) => RawPluginCapabilities {
            decode: info
                .tasks
                .iter()
                .copied()
                .filter(|&t| model.decodes(t))
                .collect(),
            loss: info
                .tasks
                .iter()
                .copied()
                .filter(|&t| model.computes_loss(t))
                .collect(),
        },
        None => RawPluginCapabilities {
            decode: info.decode_tasks,
            loss: info.loss_tasks,
        },
    })
}

/// `init`: checks the task, builds the model and keeps it, dropping any previous one first.
pub fn init<M: Model>(
    cell: &'static ModelCell<M>,
    config: ModelConfig,
    schema: GraphSchema,
) -> Result<()> {
    install_panic_hook();
    cell.with_borrow_mut(|model| *model = None);
    let info = M::info();
    if !info.tasks.contains(&config.task) {
        let supported: Vec<&str> = info.tasks.iter().map(|t| t.as_str()).collect();
        return Err(Error::unsupported(format!(
            "plugin `{}` {} does not support task `{}`; it supports: {}",
            info.name,
            info.version,
            config.task.as_str(),
            supported.join(", ")
        )));
    }
    let built = M::init(&config, &schema)?;
    cell.with_borrow_mut(|model| *model = Some(built));
    Ok(())
}

/// Runs `f` on the model built by `init`, or fails if there is none.
fn with_model<M: Model, T>(
    cell: &'static ModelCell<M>,
    export: &str,
    f: impl FnOnce(&M) -> Result<T>,
) -> Result<T> {
    install_panic_hook();
    cell.with_borrow(|model| match model {
        Some(model) => f(model),
        None => Err(Error::other(format!(
            "`{export}` was called before a successful `init` on this instance \
             (hint: the host must call `init` first)"
        ))),
    })
}

/// `forward`.
pub fn forward<M: Model>(
    cell: &'static ModelCell<M>,
    batch: &RawBatch,
    mode: Mode,
) -> Result<Vec<(String, RawTensor)>> {
    with_model(cell, "forward", |model| {
        let outputs = model.forward(Batch::from_raw_ref(batch), mode)?;
        Ok(outputs
            .into_iter()
            .map(|(name, t)| (name, t.into_raw()))
            .collect())
    })
}

/// `loss`.
pub fn loss<M: Model>(
    cell: &'static ModelCell<M>,
    outputs: &RawTensor,
    labels: &RawTensor,
) -> Result<RawTensor> {
    with_model(cell, "loss", |model| {
        model
            .loss(Tensor::from_raw_ref(outputs), Tensor::from_raw_ref(labels))
            .map(Tensor::into_raw)
    })
}

/// `decode`, once its arguments are lifted.
fn decode<M: Model>(
    cell: &'static ModelCell<M>,
    batch: &RawBatch,
    embeddings: &[(String, Tensor)],
    mode: Mode,
) -> Result<RawTensor> {
    with_model(cell, "decode", |model| {
        model
            .decode(Batch::from_raw_ref(batch), embeddings, mode)
            .map(Tensor::into_raw)
    })
}

// --- The `decode` export, by hand --------------------------------------------------------
//
// wit-bindgen 0.61 generates Rust that does not compile for an export taking a list of
// records that hold a borrowed imported resource (bytecodealliance/wit-bindgen#811), which
// is what `decode`'s `list<tuple<string, borrow<tensor>>>` is. The SDK therefore skips
// `decode` in `generate!` and lifts and lowers it here, following the canonical ABI exactly
// as the generated `loss` export does for the result:
//
//   decode(batch: i32, list-ptr: *u8, list-len: usize, mode: i32) -> *u8
//   list element (3 words): string ptr, string len, tensor borrow handle (i32)
//   result area (4 words): [0] u8 0 = ok / 1 = err; ok: [1] i32 handle;
//                          err: [1] u8 error case, [2] string ptr, [3] string len

const WORD: usize = std::mem::size_of::<*const u8>();

#[repr(C, align(8))]
struct ReturnArea([std::mem::MaybeUninit<u8>; 4 * WORD]);

static mut RETURN_AREA: ReturnArea = ReturnArea([std::mem::MaybeUninit::uninit(); 4 * WORD]);

/// The lifting and lowering of the `decode` export.
///
/// # Safety
/// Only the canonical ABI may call this, with the arguments the component model passes to
/// `gs:plugin/model-api@0.1.4#decode`.
pub unsafe fn decode_export<M: Model>(
    cell: &'static ModelCell<M>,
    batch: i32,
    list: *mut u8,
    len: usize,
    mode: i32,
) -> *mut u8 {
    #[cfg(target_arch = "wasm32")]
    wit_bindgen::rt::run_ctors_once();

    // SAFETY (whole block): the caller passes what the canonical ABI lowered for
    // `decode`: a borrow handle of the batch, a list of `len` 3-word elements allocated
    // with `cabi_realloc` (now owned by us, as are the strings it points to), and a mode
    // discriminant. Borrow handles become owned wrappers whose drop ends the borrow, as the
    // ABI requires before the export returns.
    unsafe {
        let batch = RawBatch::from_handle(batch as u32);
        let mut embeddings = Vec::with_capacity(len);
        for i in 0..len {
            let element = list.add(i * 3 * WORD);
            let ptr = *element.cast::<*mut u8>();
            let bytes_len = *element.add(WORD).cast::<usize>();
            let handle = *element.add(2 * WORD).cast::<i32>();
            let bytes = Vec::from_raw_parts(ptr, bytes_len, bytes_len);
            let name = String::from_utf8(bytes)
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
            let tensor = Tensor::from_raw(RawTensor::from_handle(handle as u32));
            embeddings.push((name, tensor));
        }
        if len > 0 {
            let layout = std::alloc::Layout::from_size_align_unchecked(len * 3 * WORD, WORD);
            std::alloc::dealloc(list, layout);
        }
        let mode = match mode {
            0 => Mode::Train,
            1 => Mode::Eval,
            2 => Mode::Predict,
            other => panic!("invalid `mode` discriminant {other} passed to `decode`"),
        };

        let result = decode(cell, &batch, &embeddings, mode);
        drop(embeddings);
        drop(batch);

        let area = (&raw mut RETURN_AREA.0).cast::<u8>();
        match result {
            Ok(tensor) => {
                *area = 0;
                *area.add(WORD).cast::<i32>() = tensor.take_handle() as i32;
            }
            Err(error) => {
                let (case, message) = match error {
                    Error::InvalidArgument(m) => (0u8, m),
                    Error::NotImplemented(m) => (1, m),
                    Error::Unsupported(m) => (2, m),
                    Error::Other(m) => (3, m),
                };
                let bytes = message.into_bytes().into_boxed_slice();
                let (ptr, bytes_len) = (bytes.as_ptr(), bytes.len());
                std::mem::forget(bytes);
                *area = 1;
                *area.add(WORD) = case;
                *area.add(2 * WORD).cast::<*mut u8>() = ptr.cast_mut();
                *area.add(3 * WORD).cast::<usize>() = bytes_len;
            }
        }
        area
    }
}

/// The post-return of the `decode` export: frees an error's message.
///
/// # Safety
/// Only the canonical ABI may call this, with the pointer [`decode_export`] returned.
pub unsafe fn decode_post_return(area: *mut u8) {
    // SAFETY: `area` is the return area `decode_export` filled; an error's message was a
    // boxed byte slice it leaked.
    unsafe {
        if *area != 0 {
            let ptr = *area.add(2 * WORD).cast::<*mut u8>();
            let bytes_len = *area.add(3 * WORD).cast::<usize>();
            if bytes_len > 0 {
                let layout = std::alloc::Layout::from_size_align_unchecked(bytes_len, 1);
                std::alloc::dealloc(ptr, layout);
            }
        }
    }
}

/// Exports a [`Model`](crate::Model) as the component's `gs:plugin/model-api@0.1.4` and
/// `gs:plugin/model-capabilities@0.1.4`.
///
/// Use it once, at the top level of the plugin's `cdylib` crate:
///
/// ```no_run
/// # use gs_plugin_sdk::prelude::*;
/// # struct MyModel;
/// # impl Model for MyModel {
/// #     fn info() -> Info { Info::new("my-model", "0.1.0").task(Task::NodeClassification) }
/// #     fn init(_: &ModelConfig, _: &GraphSchema) -> Result<Self> { Ok(MyModel) }
/// #     fn forward(&self, _: &Batch, _: Mode) -> Result<Vec<(String, Tensor)>> { Ok(vec![]) }
/// # }
/// gs_plugin_sdk::export_model!(MyModel);
/// ```
///
/// It implements every export: `describe` (the model's [`Info`](crate::Info) plus the SDK
/// version), `capabilities` (the tasks [`Info::decodes`](crate::Info::decodes) and
/// [`Info::computes_loss`](crate::Info::computes_loss) declared), `init` (checks the task is
/// supported, builds the model and keeps it for the instance), `forward`, `decode` and `loss`
/// (an `other` error if `init` has not succeeded yet). Every export installs the SDK's panic hook first. It also stamps the SDK version
/// into the component as a custom section named `gs-plugin-sdk-version`.
#[macro_export]
macro_rules! export_model {
    ($model:ty) => {
        const _: () = {
            use $crate::__private as __gs;

            #[cfg(target_arch = "wasm32")]
            #[unsafe(link_section = "gs-plugin-sdk-version")]
            #[used]
            static GS_PLUGIN_SDK_VERSION: [u8; $crate::SDK_VERSION.len()] = __gs::sdk_version_bytes();

            ::std::thread_local! {
                static MODEL: ::core::cell::RefCell<::core::option::Option<$model>> =
                    const { ::core::cell::RefCell::new(::core::option::Option::None) };
            }

            struct GsPluginModel;

            impl __gs::Guest for GsPluginModel {
                fn describe() -> __gs::RawPluginInfo {
                    __gs::describe::<$model>()
                }

                fn init(
                    config: __gs::RawModelConfig,
                    schema: __gs::RawGraphSchema,
                ) -> ::core::result::Result<(), __gs::RawError> {
                    __gs::init::<$model>(&MODEL, config, schema)
                }

                fn forward(
                    batch: &__gs::RawBatch,
                    mode: __gs::RawMode,
                ) -> ::core::result::Result<
                    ::std::vec::Vec<(::std::string::String, __gs::RawTensor)>,
                    __gs::RawError,
                > {
                    __gs::forward::<$model>(&MODEL, batch, mode)
                }

                fn loss(
                    outputs: &__gs::RawTensor,
                    labels: &__gs::RawTensor,
                ) -> ::core::result::Result<__gs::RawTensor, __gs::RawError> {
                    __gs::loss::<$model>(&MODEL, outputs, labels)
                }
            }

            impl __gs::CapabilitiesGuest for GsPluginModel {
                fn capabilities() -> __gs::RawPluginCapabilities {
                    __gs::capabilities::<$model>(&MODEL)
                }
            }

            #[cfg(target_arch = "wasm32")]
            #[unsafe(export_name = "gs:plugin/model-api@0.1.4#decode")]
            unsafe extern "C" fn gs_plugin_decode(
                batch: i32,
                list: *mut u8,
                len: usize,
                mode: i32,
            ) -> *mut u8 {
                // SAFETY: called by the canonical ABI only, with `decode`'s lowered arguments.
                unsafe { __gs::decode_export::<$model>(&MODEL, batch, list, len, mode) }
            }

            #[cfg(target_arch = "wasm32")]
            #[unsafe(export_name = "cabi_post_gs:plugin/model-api@0.1.4#decode")]
            unsafe extern "C" fn gs_plugin_decode_post_return(area: *mut u8) {
                // SAFETY: called by the canonical ABI only, with what `decode` returned.
                unsafe { __gs::decode_post_return(area) }
            }

            $crate::bindings::__export_model_bindings!(GsPluginModel with_types_in $crate::bindings);
        };
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_bytes_match_the_crate_version() {
        let bytes: [u8; SDK_VERSION.len()] = sdk_version_bytes();
        assert_eq!(&bytes, SDK_VERSION.as_bytes());
    }
}
