//! A running plugin instance and its exports, each call under deadline and limits.

use gs_tensor::{ParamStore, Tensor};
use wasmtime::component::Resource;
use wasmtime::{Store, Trap};

use crate::batch::{BatchData, BatchRes};
use crate::bindings::{Model, model_api, types};
use crate::component::{ComponentInfo, Plugin};
use crate::engine::EPOCH_TICK;
use crate::error::{PluginError, PluginFailure};
use crate::limits::PluginLimits;
use crate::state::HostState;

/// Why the host calls `forward`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Train,
    Eval,
    Predict,
}

/// GraphStorm's task types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Task {
    NodeClassification,
    NodeRegression,
    EdgeClassification,
    EdgeRegression,
    LinkPrediction,
}

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

/// The resolved configuration a plugin's model is built from.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelConfig {
    pub task: Task,
    pub hidden_size: u32,
    pub num_layers: u32,
    pub num_classes: u32,
    pub dropout: f32,
    pub target_node_type: String,
    pub custom_args: Vec<(String, String)>,
}

/// A node type as `init` sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeTypeSchema {
    pub name: String,
    pub num_nodes: u64,
    pub feature_dim: u32,
}

/// A canonical edge type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EdgeTypeName {
    pub src: String,
    pub rel: String,
    pub dst: String,
}

/// The graph's schema as `init` sees it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GraphSchema {
    pub node_types: Vec<NodeTypeSchema>,
    pub edge_types: Vec<EdgeTypeName>,
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
    bindings: Model,
    component: ComponentInfo,
    info: PluginInfo,
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
        store.epoch_deadline_trap();
        store.set_epoch_deadline(deadline_ticks(&store.data().limits));
        let bindings = self
            .pre
            .instantiate(&mut store)
            .map_err(|e| PluginError::Load {
                plugin: name.clone(),
                message: format!("instantiation failed: {e:#}"),
            })?;
        let mut instance = PluginInstance {
            store,
            bindings,
            component: self.info.clone(),
            info: PluginInfo {
                name: name.clone(),
                version: "?".into(),
                sdk_version: "?".into(),
                tasks: vec![],
                hyper_params: vec![],
            },
            stopped_in: None,
        };
        let described = instance.call("describe", None, |model, store| {
            model.gs_plugin_model_api().call_describe(store)
        })?;
        instance.store.data_mut().plugin_name = described.name.clone();
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

fn deadline_ticks(limits: &PluginLimits) -> u64 {
    (limits.call_timeout.as_micros() / EPOCH_TICK.as_micros()).max(1) as u64 + 1
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
        f: impl FnOnce(&Model, &mut Store<HostState>) -> wasmtime::Result<R>,
    ) -> Result<R, PluginError> {
        if let Some(earlier) = self.stopped_in {
            return Err(PluginError::Stopped {
                plugin: self.info.name.clone(),
                export: earlier,
            });
        }
        let ticks = deadline_ticks(&self.store.data().limits);
        {
            let state = self.store.data_mut();
            state.host_error = None;
            state.last_panic = None;
            state.memory.refused = None;
            if let Some(training) = training {
                state.training = training;
            }
        }
        self.store.set_epoch_deadline(ticks);
        match f(&self.bindings, &mut self.store) {
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
            return PluginFailure::Panic(panic.clone());
        }
        match error.downcast_ref::<Trap>() {
            Some(trap) => PluginFailure::Trap(
                trap.to_string()
                    .trim_start_matches("wasm trap: ")
                    .to_string(),
            ),
            None => PluginFailure::Trap(format!("{error:#}")),
        }
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
        let result = self.call("init", Some(false), |model, store| {
            model
                .gs_plugin_model_api()
                .call_init(store, &wit_config, &wit_schema)
        });
        self.store.data_mut().in_init = false;
        result?.map_err(|e| self.returned("init", &e))
    }

    fn push_batch(&mut self, batch: &BatchData) -> Result<Resource<BatchRes>, PluginError> {
        self.store
            .data_mut()
            .table
            .push(BatchRes(batch.shallow_clone()))
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
        let handle = self.push_batch(batch)?;
        let borrowed = Resource::new_borrow(handle.rep());
        let result = self.call("forward", Some(mode == Mode::Train), |model, store| {
            model
                .gs_plugin_model_api()
                .call_forward(store, borrowed, mode_to_wit(mode))
        });
        self.drop_batch(handle);
        let outputs = result?.map_err(|e| self.returned("forward", &e))?;
        let mut taken = Vec::with_capacity(outputs.len());
        for (node_type, tensor) in outputs {
            let tensor = self
                .store
                .data_mut()
                .take(tensor)
                .map_err(|e| PluginError::Load {
                    plugin: self.info.name.clone(),
                    message: format!("`forward` returned an invalid tensor handle: {e}"),
                })?;
            taken.push((node_type, tensor));
        }
        Ok(taken)
    }

    /// The plugin's decoder, or `None` when it leaves decoding to the host.
    pub fn decode(
        &mut self,
        batch: &BatchData,
        embeddings: &[(String, Tensor)],
        mode: Mode,
    ) -> Result<Option<Tensor>, PluginError> {
        let handle = self.push_batch(batch)?;
        let mut pushed = Vec::with_capacity(embeddings.len());
        for (node_type, tensor) in embeddings {
            let res = self.store.data_mut().push("decode", tensor.shallow_clone());
            match res {
                Ok(res) => pushed.push((node_type.clone(), res)),
                Err(e) => {
                    self.drop_batch(handle);
                    return Err(PluginError::Load {
                        plugin: self.info.name.clone(),
                        message: e.to_string(),
                    });
                }
            }
        }
        let borrowed = Resource::new_borrow(handle.rep());
        let args: Vec<(String, Resource<crate::host_tensors::TensorRes>)> = pushed
            .iter()
            .map(|(n, r)| (n.clone(), Resource::new_borrow(r.rep())))
            .collect();
        let result = self.call("decode", Some(mode == Mode::Train), |model, store| {
            model
                .gs_plugin_model_api()
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
                let message = [o.err(), l.err()]
                    .into_iter()
                    .flatten()
                    .map(|e| e.to_string())
                    .collect::<Vec<_>>()
                    .join("; ");
                return Err(PluginError::Load {
                    plugin: self.info.name.clone(),
                    message,
                });
            }
        };
        let (bo, bl) = (
            Resource::new_borrow(outputs.rep()),
            Resource::new_borrow(labels.rep()),
        );
        let result = self.call("loss", None, |model, store| {
            model.gs_plugin_model_api().call_loss(store, bo, bl)
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
        self.store
            .data_mut()
            .take(handle)
            .map_err(|e| PluginError::Load {
                plugin: self.info.name.clone(),
                message: format!("`{export}` returned an invalid tensor handle: {e}"),
            })
    }
}
