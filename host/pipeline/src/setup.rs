//! What a run needs before it trains or infers: logging, the device, seeds, the graph, the
//! task and the plugin engine.

use std::sync::Arc;

use anyhow::Context;
use gs_config::{LaunchOptions, Resolved};
use gs_graph::HeteroGraph;
use gs_runtime::{PluginEngine, PluginInstance};
use gs_tensor::{Device, choose_device, seed_and_threads};

use crate::Frontend;
use crate::run_task::RunTask;

/// Loads the graph of `--part-config`.
pub fn load_graph(resolved: &Resolved) -> anyhow::Result<Arc<HeteroGraph>> {
    let part_config = &resolved.launch.part_config;
    let graph = gs_graph::load(part_config)
        .with_context(|| format!("cannot load graph `{}`", part_config.display()))?;
    Ok(Arc::new(graph))
}

fn device(launch: &LaunchOptions) -> anyhow::Result<Device> {
    let choice = choose_device(&launch.device.to_string()).map_err(anyhow::Error::msg)?;
    if let Some(warning) = choice.warning {
        tracing::warn!("{warning}");
    }
    Ok(choice.device)
}

/// Everything a run needs before it trains or infers.
pub struct Setup {
    pub graph: Arc<HeteroGraph>,
    pub task: RunTask,
    pub engine: PluginEngine,
    pub device: Device,
}

impl Setup {
    /// Configures logging (through `frontend`), shows the configuration's warnings, picks the
    /// device, seeds, loads the graph, builds the task and starts the plugin engine.
    pub fn new(resolved: &Resolved, frontend: &mut dyn Frontend) -> anyhow::Result<Self> {
        frontend.configure_logging(&resolved.launch)?;
        for warning in &resolved.warnings {
            tracing::warn!("{warning}");
        }
        gs_tensor::show_cpp_traces(resolved.launch.logging_level == "debug");
        let device = device(&resolved.launch)?;
        seed_and_threads(
            resolved.train.seed,
            resolved.launch.num_omp_threads.map(|n| n as usize),
        );
        let graph = load_graph(resolved)?;
        let task = RunTask::new(graph.clone(), resolved, device)?;
        let engine = PluginEngine::new(frontend.component_cache())?;
        Ok(Setup {
            graph,
            task,
            engine,
            device,
        })
    }

    /// An instance of the plugin `bytes` (named `source` in messages), checked to support the
    /// run's task.
    pub fn instantiate(
        &self,
        resolved: &Resolved,
        source: &str,
        bytes: &[u8],
    ) -> anyhow::Result<PluginInstance> {
        let plugin = self.engine.load_bytes(source, bytes)?;
        crate::plugin::instantiate(&plugin, resolved, self.device)
    }
}
