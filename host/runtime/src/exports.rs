//! The exports of a plugin component, found before instantiation: `model-api` (required, every
//! `gs:plugin` version) and `model-capabilities` (optional, since 0.1.1).
//!
//! bindgen's world-level `ModelPre` would require every export of the 0.1.1 world, and refuse
//! a component built against 0.1.0, which has no `model-capabilities`. So the host looks the
//! interfaces up one by one, with the per-interface indices bindgen generates. wasmtime
//! resolves the lookup of `gs:plugin/model-api@0.1.1` to a component's
//! `gs:plugin/model-api@0.1.0` (semver-compatible names; `NameMap::get` in
//! wasmtime-environ's `component/names.rs`), as the linker resolves the component's `@0.1.0`
//! imports to the host's `@0.1.1` definitions.

use wasmtime::Store;
use wasmtime::component::{Instance, InstancePre};

use crate::bindings::{model_api, model_capabilities};
use crate::state::HostState;

/// Where a component's exports are, found once per loaded component.
pub(crate) struct ExportIndices {
    model_api: model_api::GuestIndices,
    capabilities: Option<model_capabilities::GuestIndices>,
}

/// The exports of one instance.
pub(crate) struct Exports {
    pub(crate) model_api: model_api::Guest,
    /// `None` for a component built against 0.1.0.
    pub(crate) capabilities: Option<model_capabilities::Guest>,
}

impl ExportIndices {
    /// Whether the component exports `model-capabilities` (built against 0.1.1 or later).
    pub(crate) fn declares_capabilities(&self) -> bool {
        self.capabilities.is_some()
    }

    /// Find the exports of `pre`'s component: `model-api` must be there, `model-capabilities`
    /// may be.
    pub(crate) fn new(pre: &InstancePre<HostState>) -> wasmtime::Result<Self> {
        Ok(Self {
            model_api: model_api::GuestIndices::new(pre)?,
            capabilities: model_capabilities::GuestIndices::new(pre).ok(),
        })
    }

    /// The exports of an instance of that component.
    pub(crate) fn load(
        &self,
        store: &mut Store<HostState>,
        instance: &Instance,
    ) -> wasmtime::Result<Exports> {
        Ok(Exports {
            model_api: self.model_api.load(&mut *store, instance)?,
            capabilities: match &self.capabilities {
                Some(indices) => Some(indices.load(&mut *store, instance)?),
                None => None,
            },
        })
    }
}
