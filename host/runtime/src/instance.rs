//! A running plugin instance and its exports, each call under deadline and limits.

use std::time::Instant;

use gs_tensor::{ParamStore, Tensor};
use wasmtime::component::Resource;
use wasmtime::{Store, Trap, UpdateDeadline};

use crate::DecodeTargets;
use crate::batch::BatchRes;
use crate::bindings::{model_api, model_capabilities, types};
use crate::component::{ComponentInfo, Plugin};
use crate::error::{PluginError, PluginFailure};
use crate::exports::Exports;
use crate::limits::PluginLimits;
use crate::state::HostState;
use crate::{BatchData, Mode, ModelConfig, Task};

/// Handles a plugin may hold besides tensors (batches, blocks, WASI streams) before wasmtime's
/// own cap on a store's handles stops it.
const NON_TENSOR_HANDLES: usize = 10_000;

/// A custom argument a plugin accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HyperParam {
    pub name: String,
    pub default: String,
    pub help: String,
}

/// What a plugin says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginInfo {
    pub name: String,
    pub version: String,
    pub sdk_version: String,
    pub tasks: Vec<Task>,
    pub hyper_params: Vec<HyperParam>,
}

/// Which optional exports a plugin implements, per task, as its `model-capabilities` export
/// (`gs:plugin@0.1.1`) declares them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PluginCapabilities {
    /// Tasks for which `decode` is implemented; the host decodes the others.
    pub decode: Vec<Task>,
    /// Tasks for which `loss` is implemented; the host's loss applies to the others.
    pub loss: Vec<Task>,
}

fn task_to_wit(task: Task) -> types::Task {
    match task {
        Task::NodeClassification => types::Task::NodeClassification,
        Task::NodeRegression => types::Task::NodeRegression,
        Task::EdgeClassification => types::Task::EdgeClassification,
        Task::EdgeRegression => types::Task::EdgeRegression,
        Task::LinkPrediction => types::Task::LinkPrediction,
    }
}

fn task_from_wit(task: types::Task) -> Task {
    match task {
        types::Task::NodeClassification => Task::NodeClassification,
        types::Task::NodeRegression => Task::NodeRegression,
        types::Task::EdgeClassification => Task::EdgeClassification,
        types::Task::EdgeRegression => Task::EdgeRegression,
        types::Task::LinkPrediction => Task::LinkPrediction,
    }
}

fn mode_to_wit(mode: Mode) -> types::Mode {
    match mode {
        Mode::Train => types::Mode::Train,
        Mode::Eval => types::Mode::Eval,
        Mode::Predict => types::Mode::Predict,
    }
}

/// An instance of a plugin with its own store, weights and limits.
pub struct PluginInstance {
    store: Store<HostState>,
    exports: Exports,
    component: ComponentInfo,
    info: PluginInfo,
    /// `None` for a component built against 0.1.0 (no `model-capabilities` export).
    capabilities: Option<PluginCapabilities>,
    /// The task of the last successful `init`.
    task: Option<Task>,
    stopped_in: Option<&'static str>,
}

impl Plugin {
    /// A fresh instance whose `param` calls create weights in `params`; `describe` is
    /// called once right away.
    pub fn instantiate(
        &self,
        limits: PluginLimits,
        params: ParamStore,
    ) -> Result<PluginInstance, PluginError> {
        let name = self.info.source.clone();
        let mut store = Store::new(&self.engine, HostState::new(name.clone(), limits, params));
        store.limiter(|state| &mut state.memory);
        // wasmtime caps a store's live component handles (100,000 by default): keep its cap
        // above ours, so the plugin meets `--plugin-max-tensors` and its message first.
        store.set_max_component_handles(
            store
                .data()
                .limits
                .max_tensors
                .saturating_add(NON_TENSOR_HANDLES),
        );
        // At every epoch tick, compare the clock with the call's deadline: the deadline is
        // wall-clock time however late the ticker's sleeps wake up on a busy machine.
        store.epoch_deadline_callback(|store| {
            Ok(if Instant::now() >= store.data().call_deadline {
                UpdateDeadline::Interrupt
            } else {
                UpdateDeadline::Continue(1)
            })
        });
        store.data_mut().start_call_deadline();
        store.set_epoch_deadline(1);
        let exports = self
            .pre
            .instantiate(&mut store)
            .and_then(|instance| self.exports.load(&mut store, &instance))
            .map_err(|e| PluginError::Load {
                plugin: name.clone(),
                message: format!("instantiation failed: {e:#}"),
            })?;
        let mut instance = PluginInstance {
            store,
            exports,
            component: self.info.clone(),
            info: PluginInfo {
                name: name.clone(),
                version: "?".into(),
                sdk_version: "?".into(),
                tasks: vec![],
                hyper_params: vec![],
            },
            capabilities: None,
            task: None,
            stopped_in: None,
        };
        let described = instance.call("describe", None, |exports, store| {
            exports.model_api.call_describe(store)
        })?;
        let state = instance.store.data_mut();
        state.output.rename(&described.name);
        state.plugin_name = described.name.clone();
        instance.info = PluginInfo {
            name: described.name,
            version: described.version,
            sdk_version: described.sdk_version,
            tasks: described.tasks.into_iter().map(task_from_wit).collect(),
            hyper_params: described
                .hyper_params
                .into_iter()
                .map(|h| HyperParam {
                    name: h.name,
                    default: h.default,
                    help: h.help,
                })
                .collect(),
        };
        Ok(instance)
    }
}

fn capabilities_from_wit(declared: model_capabilities::PluginCapabilities) -> PluginCapabilities {
    PluginCapabilities {
        decode: declared.decode.into_iter().map(task_from_wit).collect(),
        loss: declared.loss.into_iter().map(task_from_wit).collect(),
    }
}

fn error_kind(error: &types::Error) -> (&'static str, String) {
    match error {
        types::Error::InvalidArgument(m) => ("invalid argument", m.clone()),
        types::Error::NotImplemented(m) => ("not implemented", m.clone()),
        types::Error::Unsupported(m) => ("unsupported", m.clone()),
        types::Error::Other(m) => ("error", m.clone()),
    }
}

impl PluginInstance {
    /// What the plugin said in `describe`.
    pub fn info(&self) -> &PluginInfo {
        &self.info
    }

    /// What the host read from the component's bytes.
    pub fn component(&self) -> &ComponentInfo {
        &self.component
    }

    /// Which of `decode` and `loss` the model built by the last `init` implements per task, as
    /// the plugin's `model-capabilities` export declares (`gs:plugin@0.1.1`); `None` before
    /// `init` and for a component built against 0.1.0, which declares nothing (the host then
    /// decodes edge tasks and link prediction itself, and finds out about node tasks by calling
    /// `decode` and `loss`).
    pub fn capabilities(&self) -> Option<&PluginCapabilities> {
        self.capabilities.as_ref()
    }

    /// Whether the plugin declared `decode` for `task`: `None` if it declares nothing.
    pub fn declares_decode(&self, task: Task) -> Option<bool> {
        self.capabilities.as_ref().map(|c| c.decode.contains(&task))
    }

    /// Whether the plugin declared `loss` for `task`: `None` if it declares nothing.
    pub fn declares_loss(&self, task: Task) -> Option<bool> {
        self.capabilities.as_ref().map(|c| c.loss.contains(&task))
    }

    /// The task the model was built for by the last successful [`init`](Self::init).
    pub fn task(&self) -> Option<Task> {
        self.task
    }

    /// The weights the plugin created.
    pub fn params(&self) -> &ParamStore {
        &self.store.data().params
    }

    pub fn params_mut(&mut self) -> &mut ParamStore {
        &mut self.store.data_mut().params
    }

    /// Tensor handles the plugin holds right now.
    pub fn live_tensors(&self) -> usize {
        self.store.data().live_tensors
    }

    /// Bytes charged against the plugin's tensor budget right now: the tensors behind its
    /// live handles, plus, during a training batch, every op output whose handle is gone
    /// (autograd may keep it until the batch's backward).
    pub fn tensor_bytes(&self) -> usize {
        self.store.data().charged_bytes()
    }

    /// The training batch is done: call it after the batch's `backward` (and optimizer step).
    ///
    /// In [`Mode::Train`], the output of every tensor op the plugin runs counts against its
    /// tensor budget (`--plugin-tensor-budget-mb`) until this call, whether or not the plugin
    /// still holds its handle, because autograd keeps intermediates alive until the backward;
    /// otherwise a plugin could build an unbounded graph by dropping handles. The next
    /// training `forward` ends the previous batch too, so forgetting this call only charges
    /// the last batch a little longer (its graph would then be counted during evaluation).
    pub fn end_batch(&mut self) {
        self.store.data_mut().end_batch();
    }

    /// Guest→host calls this instance has made so far: every `gs:plugin` import (tensor ops,
    /// batch and block accessors, `param`, `log`) and every tensor, batch or block handle drop;
    /// WASI calls are not counted. For benchmarks (`gs bench plugin-boundary`).
    pub fn host_calls(&self) -> u64 {
        self.store.data().host_calls
    }

    /// Run one export under the deadline; turn every way it can fail into a [`PluginError`].
    fn call<R>(
        &mut self,
        export: &'static str,
        training: Option<bool>,
        f: impl FnOnce(&Exports, &mut Store<HostState>) -> wasmtime::Result<R>,
    ) -> Result<R, PluginError> {
        if let Some(earlier) = self.stopped_in {
            return Err(PluginError::Stopped {
                plugin: self.info.name.clone(),
                export: earlier,
            });
        }
        {
            let state = self.store.data_mut();
            state.start_call_deadline();
            state.host_error = None;
            state.last_panic = None;
            state.memory.refused = None;
            if let Some(training) = training {
                state.training = training;
            }
        }
        self.store.set_epoch_deadline(1);
        match f(&self.exports, &mut self.store) {
            Ok(value) => Ok(value),
            Err(error) => {
                self.stopped_in = Some(export);
                Err(PluginError::Failed {
                    plugin: self.info.name.clone(),
                    version: self.info.version.clone(),
                    export,
                    failure: self.classify(&error),
                })
            }
        }
    }

    fn classify(&self, error: &wasmtime::Error) -> PluginFailure {
        let state = self.store.data();
        if let Some(reason) = &state.memory.refused {
            return PluginFailure::Memory(reason.clone());
        }
        if let Some(reason) = &state.host_error {
            return PluginFailure::Host(reason.clone());
        }
        if error.downcast_ref::<Trap>() == Some(&Trap::Interrupt) {
            return PluginFailure::Deadline {
                seconds: state.limits.call_timeout.as_secs_f64(),
            };
        }
        if let Some(panic) = &state.last_panic {
            return PluginFailure::Panic(format!("{panic}{}", wasm_backtrace(error)));
        }
        if error.downcast_ref::<Trap>() == Some(&Trap::StackOverflow) {
            return PluginFailure::StackOverflow;
        }
        let trap = match error.downcast_ref::<Trap>() {
            Some(trap) => trap
                .to_string()
                .trim_start_matches("wasm trap: ")
                .to_string(),
            None => format!("{error:#}"),
        };
        PluginFailure::Trap(format!("{trap}{}", wasm_backtrace(error)))
    }

    fn returned(&self, export: &'static str, error: &types::Error) -> PluginError {
        let (kind, message) = error_kind(error);
        PluginError::Returned {
            plugin: self.info.name.clone(),
            version: self.info.version.clone(),
            export,
            kind,
            message,
        }
    }

    /// Build the model: the plugin creates its weights with `param`.
    pub fn init(
        &mut self,
        config: &ModelConfig,
        schema: &crate::GraphSchema,
    ) -> Result<(), PluginError> {
        let wit_config = model_api::ModelConfig {
            task: task_to_wit(config.task),
            hidden_size: config.hidden_size,
            num_layers: config.num_layers,
            num_classes: config.num_classes,
            dropout: config.dropout,
            target_node_type: config.target_node_type.clone(),
            custom_args: config.custom_args.clone(),
        };
        let wit_schema = crate::bindings::graph::GraphSchema {
            node_types: schema
                .node_types
                .iter()
                .map(|n| crate::bindings::graph::NodeType {
                    name: n.name.clone(),
                    num_nodes: n.num_nodes,
                    feature_dim: n.feature_dim,
                })
                .collect(),
            edge_types: schema
                .edge_types
                .iter()
                .map(|e| crate::bindings::graph::EdgeType {
                    src: e.src.clone(),
                    rel: e.rel.clone(),
                    dst: e.dst.clone(),
                })
                .collect(),
        };
        self.store.data_mut().in_init = true;
        let result = self.call("init", Some(false), |exports, store| {
            exports.model_api.call_init(store, &wit_config, &wit_schema)
        });
        self.store.data_mut().in_init = false;
        result?.map_err(|e| self.returned("init", &e))?;
        self.task = Some(config.task);
        self.capabilities = self.declared_capabilities()?;
        Ok(())
    }

    /// What the model `init` built declares it implements (`model-capabilities`), or `None`
    /// for a component without that export (built against 0.1.0).
    fn declared_capabilities(&mut self) -> Result<Option<PluginCapabilities>, PluginError> {
        if self.exports.capabilities.is_none() {
            return Ok(None);
        }
        let declared = self.call("capabilities", None, |exports, store| {
            match &exports.capabilities {
                Some(capabilities) => capabilities.call_capabilities(store).map(Some),
                None => Ok(None),
            }
        })?;
        Ok(declared.map(capabilities_from_wit))
    }

    fn push_batch(
        &mut self,
        batch: &BatchData,
        targets: &DecodeTargets,
    ) -> Result<Resource<BatchRes>, PluginError> {
        self.store
            .data_mut()
            .table
            .push(BatchRes {
                data: batch.shallow_clone(),
                targets: targets.shallow_clone(),
            })
            .map_err(|e| PluginError::Load {
                plugin: self.info.name.clone(),
                message: format!("cannot hand over the batch: {e}"),
            })
    }

    fn drop_batch(&mut self, handle: Resource<BatchRes>) {
        let _ = self.store.data_mut().table.delete(handle);
    }

    /// Embeddings of the last layer's destination nodes, per node type.
    pub fn forward(
        &mut self,
        batch: &BatchData,
        mode: Mode,
    ) -> Result<Vec<(String, Tensor)>, PluginError> {
        if mode == Mode::Train {
            self.end_batch();
        }
        let handle = self.push_batch(batch, &DecodeTargets::Nodes)?;
        let borrowed = Resource::new_borrow(handle.rep());
        let result = self.call("forward", Some(mode == Mode::Train), |exports, store| {
            exports
                .model_api
                .call_forward(store, borrowed, mode_to_wit(mode))
        });
        self.drop_batch(handle);
        let outputs = result?.map_err(|e| self.returned("forward", &e))?;
        let mut taken = Vec::with_capacity(outputs.len());
        for (node_type, tensor) in outputs {
            taken.push((node_type, self.take_output("forward", tensor)?));
        }
        Ok(taken)
    }

    /// The plugin's decoder over `batch`'s `targets` (the target nodes, the target edges of an
    /// edge task, or one edge type's pairs of link prediction), or `None` when it returns
    /// `not-implemented` (leaves decoding to the host). The caller checks the output's shape
    /// against [`DecodeTargets::decoded_shape`].
    pub fn decode(
        &mut self,
        batch: &BatchData,
        targets: &DecodeTargets,
        embeddings: &[(String, Tensor)],
        mode: Mode,
    ) -> Result<Option<Tensor>, PluginError> {
        let handle = self.push_batch(batch, targets)?;
        let mut pushed = Vec::with_capacity(embeddings.len());
        for (node_type, tensor) in embeddings {
            let res = self.store.data_mut().push("decode", tensor.shallow_clone());
            match res {
                Ok(res) => pushed.push((node_type.clone(), res)),
                Err(e) => {
                    for (_, res) in pushed {
                        let _ = self.store.data_mut().take(res);
                    }
                    self.drop_batch(handle);
                    return Err(self.host_failure("decode", e.to_string()));
                }
            }
        }
        let borrowed = Resource::new_borrow(handle.rep());
        let args: Vec<(String, Resource<crate::host_tensors::TensorRes>)> = pushed
            .iter()
            .map(|(n, r)| (n.clone(), Resource::new_borrow(r.rep())))
            .collect();
        let result = self.call("decode", Some(mode == Mode::Train), |exports, store| {
            exports
                .model_api
                .call_decode(store, borrowed, &args, mode_to_wit(mode))
        });
        for (_, res) in pushed {
            let _ = self.store.data_mut().take(res);
        }
        self.drop_batch(handle);
        match result? {
            Ok(out) => Ok(Some(self.take_output("decode", out)?)),
            Err(types::Error::NotImplemented(_)) => Ok(None),
            Err(e) => Err(self.returned("decode", &e)),
        }
    }

    /// The plugin's loss, or `None` when it leaves the loss to the host.
    pub fn loss(
        &mut self,
        outputs: &Tensor,
        labels: &Tensor,
    ) -> Result<Option<Tensor>, PluginError> {
        let state = self.store.data_mut();
        let outputs = state.push("loss", outputs.shallow_clone());
        let labels = state.push("loss", labels.shallow_clone());
        let (outputs, labels) = match (outputs, labels) {
            (Ok(o), Ok(l)) => (o, l),
            (o, l) => {
                let message = [o.as_ref().err(), l.as_ref().err()]
                    .into_iter()
                    .flatten()
                    .map(|e| e.to_string())
                    .collect::<Vec<_>>()
                    .join("; ");
                for res in [o.ok(), l.ok()].into_iter().flatten() {
                    let _ = self.store.data_mut().take(res);
                }
                return Err(self.host_failure("loss", message));
            }
        };
        let (bo, bl) = (
            Resource::new_borrow(outputs.rep()),
            Resource::new_borrow(labels.rep()),
        );
        let result = self.call("loss", None, |exports, store| {
            exports.model_api.call_loss(store, bo, bl)
        });
        let _ = self.store.data_mut().take(outputs);
        let _ = self.store.data_mut().take(labels);
        match result? {
            Ok(out) => Ok(Some(self.take_output("loss", out)?)),
            Err(types::Error::NotImplemented(_)) => Ok(None),
            Err(e) => Err(self.returned("loss", &e)),
        }
    }

    fn take_output(
        &mut self,
        export: &'static str,
        handle: Resource<crate::host_tensors::TensorRes>,
    ) -> Result<Tensor, PluginError> {
        self.store.data_mut().take(handle).map_err(|e| {
            self.host_failure(
                export,
                format!(
                    "it returned an invalid tensor handle: {e}\n\
                     hint: return a tensor the plugin owns (not a borrowed argument)"
                ),
            )
        })
    }

    /// The host could not carry out its part of `export` (hand over an argument, take a
    /// result) because of the plugin's limits or what the plugin returned.
    fn host_failure(&self, export: &'static str, message: String) -> PluginError {
        PluginError::Failed {
            plugin: self.info.name.clone(),
            version: self.info.version.clone(),
            export,
            failure: PluginFailure::Host(message),
        }
    }
}

/// Frames of a plugin's call stack shown with a trap; the innermost ones say where it failed.
const BACKTRACE_FRAMES: usize = 12;

/// The guest's call stack where `error` stopped it, innermost frame first, each function named
/// from the component's `name` section (`<wasm function N>` where it has none), as lines to
/// append to the failure; empty when wasmtime captured no backtrace.
fn wasm_backtrace(error: &wasmtime::Error) -> String {
    let Some(backtrace) = error.downcast_ref::<wasmtime::WasmBacktrace>() else {
        return String::new();
    };
    let frames = backtrace.frames();
    if frames.is_empty() {
        return String::new();
    }
    let mut lines = String::from("\nwasm backtrace (innermost first):");
    for (i, frame) in frames.iter().take(BACKTRACE_FRAMES).enumerate() {
        let name = frame.func_name().map_or_else(
            || format!("<wasm function {}>", frame.func_index()),
            str::to_string,
        );
        lines.push_str(&format!("\n  {i:>2}: {name}"));
    }
    if frames.len() > BACKTRACE_FRAMES {
        lines.push_str(&format!(
            "\n      … {} more frames",
            frames.len() - BACKTRACE_FRAMES
        ));
    }
    lines
}
