//! The data of a plugin's store: WASI context, resource table, weights, limits, accounting.

use gs_tensor::{Device, ParamStore, Tensor, element_size};
use wasmtime::component::{Resource, ResourceTable};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::host_tensors::TensorRes;
use crate::limits::{MemoryLimiter, PluginLimits, human_bytes};

pub(crate) struct HostState {
    pub(crate) wasi: WasiCtx,
    pub(crate) table: ResourceTable,
    pub(crate) memory: MemoryLimiter,
    pub(crate) limits: PluginLimits,
    pub(crate) params: ParamStore,
    pub(crate) device: Device,
    /// Dropout and other training-only behaviour is active.
    pub(crate) training: bool,
    /// `param` may be called (only during `init`).
    pub(crate) in_init: bool,
    pub(crate) live_tensors: usize,
    pub(crate) live_bytes: usize,
    /// Why the last host call stopped the guest, if it did.
    pub(crate) host_error: Option<String>,
    /// The last panic message the guest's SDK reported.
    pub(crate) last_panic: Option<String>,
    pub(crate) plugin_name: String,
    /// Guest→host calls so far (every `gs:plugin` import, resource drops included; not WASI).
    pub(crate) host_calls: u64,
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl HostState {
    pub(crate) fn new(plugin_name: String, limits: PluginLimits, params: ParamStore) -> Self {
        // No preopened directories, no environment variables, no arguments, no network:
        // clocks and random numbers only, as WASI gives them.
        let wasi = WasiCtx::builder()
            .allow_ip_name_lookup(false)
            .allow_tcp(false)
            .allow_udp(false)
            .build();
        Self {
            wasi,
            table: ResourceTable::new(),
            memory: MemoryLimiter {
                limit: limits.memory_bytes,
                refused: None,
            },
            device: params.device(),
            limits,
            params,
            training: false,
            in_init: false,
            live_tensors: 0,
            live_bytes: 0,
            host_error: None,
            last_panic: None,
            plugin_name,
            host_calls: 0,
        }
    }

    /// Stop the guest: remember why, and return the error that traps it.
    pub(crate) fn stop(&mut self, reason: String) -> wasmtime::Error {
        self.host_error = Some(reason.clone());
        wasmtime::Error::msg(reason)
    }

    pub(crate) fn tensor(&self, handle: &Resource<TensorRes>) -> wasmtime::Result<&Tensor> {
        Ok(&self.table.get(handle)?.tensor)
    }

    /// Refuse an allocation of `numel` elements of `kind` that would exceed the budget.
    pub(crate) fn check_budget(
        &mut self,
        op: &str,
        numel: usize,
        kind: gs_tensor::Kind,
    ) -> wasmtime::Result<()> {
        let bytes = numel.saturating_mul(element_size(kind));
        if self.live_bytes.saturating_add(bytes) > self.limits.tensor_bytes {
            let reason = format!(
                "tensor op `{op}` would allocate {} while the plugin's live tensors hold {}, over its \
                 tensor budget of {} MiB\nhint: raise --plugin-tensor-budget-mb, or drop tensors the \
                 model no longer needs",
                human_bytes(bytes),
                human_bytes(self.live_bytes),
                self.limits.tensor_bytes >> 20
            );
            return Err(self.stop(reason));
        }
        Ok(())
    }

    /// Hand a new tensor to the guest, within the handle and byte limits.
    pub(crate) fn push(
        &mut self,
        op: &str,
        tensor: Tensor,
    ) -> wasmtime::Result<Resource<TensorRes>> {
        if self.live_tensors >= self.limits.max_tensors {
            let reason = format!(
                "tensor op `{op}`: the plugin already holds {} tensor handles, its limit of {}\n\
                 hint: drop tensors you no longer need (the SDK's `Tensor` frees its handle when it \
                 goes out of scope), or raise --plugin-max-tensors",
                self.live_tensors, self.limits.max_tensors
            );
            return Err(self.stop(reason));
        }
        let bytes = tensor.numel().saturating_mul(element_size(tensor.kind()));
        self.check_budget(op, tensor.numel(), tensor.kind())?;
        self.live_tensors += 1;
        self.live_bytes += bytes;
        Ok(self.table.push(TensorRes { tensor, bytes })?)
    }

    /// Take a tensor the guest handed back (it gives up the handle).
    pub(crate) fn take(&mut self, handle: Resource<TensorRes>) -> wasmtime::Result<Tensor> {
        let res = self.table.delete(handle)?;
        self.live_tensors -= 1;
        self.live_bytes -= res.bytes;
        Ok(res.tensor)
    }
}
