//! A plugin instance for a run: its limits, the check that it supports the run's task, its
//! custom arguments and the identity checkpoints record.

use std::time::Duration;

use anyhow::bail;
use gs_config::{Resolved, TaskType};
use gs_runtime::{Plugin, PluginInstance, PluginLimits};
use gs_tensor::{Device, ParamStore};
use gs_train::checkpoint::PluginIdentity;
use gs_train::resolve_plugin_args;

/// The plugin limits of the resolved configuration.
pub fn limits(resolved: &Resolved) -> PluginLimits {
    let t = &resolved.train;
    PluginLimits {
        memory_bytes: (t.plugin_memory_mb as usize) << 20,
        call_timeout: Duration::from_secs(t.plugin_call_timeout),
        max_tensors: t.plugin_max_tensors as usize,
        tensor_bytes: (t.plugin_tensor_budget_mb as usize) << 20,
    }
}

/// A fresh instance of `plugin` with the run's limits and seed, refused when the plugin does
/// not support the run's task.
pub fn instantiate(
    plugin: &Plugin,
    resolved: &Resolved,
    device: Device,
) -> anyhow::Result<PluginInstance> {
    let instance = plugin.instantiate(
        limits(resolved),
        ParamStore::new(resolved.train.seed, device),
    )?;
    let info = instance.info();
    let wanted = match resolved.train.task_type {
        TaskType::NodeRegression => gs_runtime::Task::NodeRegression,
        TaskType::EdgeClassification => gs_runtime::Task::EdgeClassification,
        TaskType::EdgeRegression => gs_runtime::Task::EdgeRegression,
        TaskType::LinkPrediction => gs_runtime::Task::LinkPrediction,
        TaskType::NodeClassification => gs_runtime::Task::NodeClassification,
    };
    if !info.tasks.contains(&wanted) {
        bail!(
            "plugin `{}` {} supports {:?}, not `{}`; hint: pick a plugin built for this task",
            info.name,
            info.version,
            info.tasks,
            resolved.train.task_type.name()
        );
    }
    Ok(instance)
}

/// The custom arguments `args` (`--name value` pairs) resolved against the instance's hyper
/// parameters and the run's GraphStorm keys.
pub fn plugin_custom_args(
    instance: &PluginInstance,
    resolved: &Resolved,
    args: &[String],
) -> anyhow::Result<Vec<(String, String)>> {
    resolve_plugin_args(
        &instance.info().name,
        args,
        &instance.info().hyper_params,
        &resolved.plugin_keys(),
    )
    .map_err(anyhow::Error::msg)
}

/// What checkpoints record of the plugin that trained them.
pub fn identity(instance: &PluginInstance) -> PluginIdentity {
    let (info, component) = (instance.info(), instance.component());
    PluginIdentity {
        name: info.name.clone(),
        version: info.version.clone(),
        sdk_version: component
            .sdk_version
            .clone()
            .unwrap_or_else(|| info.sdk_version.clone()),
        package_version: component.package_version.clone(),
        digest: component.digest.clone(),
        source: None,
    }
}
