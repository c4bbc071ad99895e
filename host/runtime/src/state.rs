//! The data of a plugin's store: WASI context, resource table, weights, limits, accounting.

use std::time::Instant;

use gs_tensor::{Device, ParamStore, Tensor, element_size};
use wasmtime::component::{Resource, ResourceTable};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::guest_output::GuestOutputs;
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
    /// Bytes of the tensors behind the plugin's live handles.
    pub(crate) live_bytes: usize,
    /// Bytes of op outputs made in training whose handles are gone (dropped by the guest, or
    /// returned to the host) but which autograd may still keep alive until the batch's
    /// backward: charged until [`HostState::end_batch`].
    pub(crate) graph_bytes: usize,
    /// When the export call under way must be stopped (`limits.call_timeout` after it began).
    pub(crate) call_deadline: Instant,
    /// Why the last host call stopped the guest, if it did.
    pub(crate) host_error: Option<String>,
    /// The last panic message the guest's SDK reported.
    pub(crate) last_panic: Option<String>,
    pub(crate) plugin_name: String,
    /// The guest's stdout and stderr, which log under `plugin_name`.
    pub(crate) output: GuestOutputs,
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
        // clocks and random numbers only, as WASI gives them. Stdout and stderr go to the
        // host's log, line by line, tagged and rate-limited.
        let output = GuestOutputs::new(&plugin_name);
        let wasi = WasiCtx::builder()
            .allow_ip_name_lookup(false)
            .allow_tcp(false)
            .allow_udp(false)
            .stdout(output.stdout.clone())
            .stderr(output.stderr.clone())
            .build();
        let call_deadline = Instant::now() + limits.call_timeout;
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
            graph_bytes: 0,
            call_deadline,
            host_error: None,
            last_panic: None,
            plugin_name,
            output,
            host_calls: 0,
        }
    }

    /// An export call begins now: its deadline is `limits.call_timeout` from now.
    pub(crate) fn start_call_deadline(&mut self) {
        self.call_deadline = Instant::now() + self.limits.call_timeout;
    }

    /// Stop the guest: remember why, and return the error that traps it.
    pub(crate) fn stop(&mut self, reason: String) -> wasmtime::Error {
        self.host_error = Some(reason.clone());
        wasmtime::Error::msg(reason)
    }

    pub(crate) fn tensor(&self, handle: &Resource<TensorRes>) -> wasmtime::Result<&Tensor> {
        Ok(&self.table.get(handle)?.tensor)
    }

    /// Bytes charged against the tensor budget: live handles plus op outputs autograd keeps.
    pub(crate) fn charged_bytes(&self) -> usize {
        self.live_bytes.saturating_add(self.graph_bytes)
    }

    /// The training batch's backward is done: its autograd graph no longer holds the op
    /// outputs whose handles are gone.
    pub(crate) fn end_batch(&mut self) {
        self.graph_bytes = 0;
    }

    /// Refuse an allocation of `numel` elements of `kind` that would exceed the budget.
    pub(crate) fn check_budget(
        &mut self,
        op: &str,
        numel: usize,
        kind: gs_tensor::Kind,
    ) -> wasmtime::Result<()> {
        self.check_budget_bytes(op, numel.saturating_mul(element_size(kind)))
    }

    /// Refuse an allocation of `bytes` that would exceed the budget.
    pub(crate) fn check_budget_bytes(&mut self, op: &str, bytes: usize) -> wasmtime::Result<()> {
        if self.charged_bytes().saturating_add(bytes) > self.limits.tensor_bytes {
            let held = if self.graph_bytes == 0 {
                format!(
                    "the plugin's live tensors hold {}",
                    human_bytes(self.live_bytes)
                )
            } else {
                format!(
                    "the plugin's tensors hold {} ({} behind live handles, {} of this training \
                     batch's intermediates that autograd keeps until its backward, dropped or not)",
                    human_bytes(self.charged_bytes()),
                    human_bytes(self.live_bytes),
                    human_bytes(self.graph_bytes)
                )
            };
            let reason = format!(
                "tensor op `{op}` would allocate {} while {held}, over its tensor budget of {} MiB\n\
                 hint: raise --plugin-tensor-budget-mb, or drop tensors the model no longer needs \
                 (in training, every op output counts until the batch's backward)",
                human_bytes(bytes),
                self.limits.tensor_bytes >> 20
            );
            return Err(self.stop(reason));
        }
        Ok(())
    }

    /// Hand a tensor the host provides (batch data, an export's argument) to the guest,
    /// within the handle and byte limits. Its bytes are charged while the handle lives.
    pub(crate) fn push(
        &mut self,
        op: &str,
        tensor: Tensor,
    ) -> wasmtime::Result<Resource<TensorRes>> {
        self.push_charged(op, tensor, false)
    }

    /// Hand the output of a tensor op to the guest. In training it stays charged after its
    /// handle is gone, until the batch ends ([`HostState::end_batch`]): autograd may keep it.
    pub(crate) fn push_output(
        &mut self,
        op: &str,
        tensor: Tensor,
    ) -> wasmtime::Result<Resource<TensorRes>> {
        let in_graph = self.training;
        self.push_charged(op, tensor, in_graph)
    }

    fn push_charged(
        &mut self,
        op: &str,
        tensor: Tensor,
        in_graph: bool,
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
        self.check_budget_bytes(op, bytes)?;
        self.live_tensors += 1;
        self.live_bytes += bytes;
        Ok(self.table.push(TensorRes {
            tensor,
            bytes,
            in_graph,
        })?)
    }

    /// Take a tensor the guest handed back (it gives up the handle). An op output made in
    /// training stays charged until the batch ends.
    pub(crate) fn take(&mut self, handle: Resource<TensorRes>) -> wasmtime::Result<Tensor> {
        let res = self.table.delete(handle)?;
        self.live_tensors -= 1;
        self.live_bytes -= res.bytes;
        if res.in_graph {
            self.graph_bytes = self.graph_bytes.saturating_add(res.bytes);
        }
        Ok(res.tensor)
    }
}
