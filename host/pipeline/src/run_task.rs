//! The task of a run: node or edge targets, or link prediction.

use std::sync::Arc;

use gs_config::{Resolved, TaskType};
use gs_graph::HeteroGraph;
use gs_runtime::PluginInstance;
use gs_tensor::Device;
use gs_train::{
    EdgeTask, LinkPredictionTask, NodeTask, Progress, RunOptions, TaskModel, TrainingSummary,
};

/// The task of a run, as the configuration's task type picks it.
pub enum RunTask {
    Node(NodeTask),
    Edge(EdgeTask),
    Lp(LinkPredictionTask),
}

impl RunTask {
    /// The task `resolved` asks for on `graph`, sampling with `num_samplers` workers.
    pub fn new(
        graph: Arc<HeteroGraph>,
        resolved: &Resolved,
        device: Device,
    ) -> anyhow::Result<Self> {
        let config = resolved.train.clone();
        let workers = resolved.launch.num_samplers;
        Ok(if resolved.train.task_type == TaskType::LinkPrediction {
            let mut task = LinkPredictionTask::new(graph, config, device)?;
            task.set_sampler_workers(workers);
            RunTask::Lp(task)
        } else if resolved.train.task_type.is_edge_task() {
            let mut task = EdgeTask::new(graph, config, device)?;
            task.set_sampler_workers(workers);
            RunTask::Edge(task)
        } else {
            let mut task = NodeTask::new(graph, config, device)?;
            task.set_sampler_workers(workers);
            RunTask::Node(task)
        })
    }

    /// The model of the task with the plugin `instance` as its encoder.
    pub fn plugin_model(
        &self,
        instance: PluginInstance,
        custom_args: Vec<(String, String)>,
    ) -> anyhow::Result<TaskModel> {
        Ok(match self {
            RunTask::Node(t) => t.plugin_model(instance, custom_args)?,
            RunTask::Edge(t) => t.plugin_model(instance, custom_args)?,
            RunTask::Lp(t) => t.plugin_model(instance, custom_args)?,
        })
    }

    /// `serving.json` of `model` (built by [`Self::plugin_model`] with `custom_args`), as a
    /// file to write beside the checkpoints.
    pub fn serving_file(
        &self,
        model: &TaskModel,
        custom_args: Vec<(String, String)>,
    ) -> anyhow::Result<(String, Vec<u8>)> {
        let record = match self {
            RunTask::Node(t) => t.serving_record(model, custom_args)?,
            RunTask::Edge(t) => t.serving_record(model, custom_args)?,
            RunTask::Lp(t) => t.serving_record(model, custom_args)?,
        };
        Ok((
            gs_train::serving::SERVING_FILE.to_string(),
            serde_json::to_vec_pretty(&record)?,
        ))
    }

    /// The main metric (the first of `eval_metric`).
    pub fn metric(&self) -> String {
        match self {
            RunTask::Node(t) => t.metrics()[0].to_string(),
            RunTask::Edge(t) => t.metrics()[0].to_string(),
            RunTask::Lp(t) => t.metrics()[0].to_string(),
        }
    }

    /// Trains `model` through gs-train's training loop.
    pub fn train(
        &self,
        model: &mut TaskModel,
        options: &RunOptions,
        progress: &mut dyn Progress,
    ) -> anyhow::Result<TrainingSummary> {
        Ok(match self {
            RunTask::Node(t) => t.train(model, options, progress)?,
            RunTask::Edge(t) => t.train(model, options, progress)?,
            RunTask::Lp(t) => t.train(model, options, progress)?,
        })
    }

    /// The losses of the first `steps` training steps of epoch 0, without evaluation,
    /// reporting each phase to `progress`.
    pub fn loss_curve(
        &self,
        model: &mut TaskModel,
        steps: usize,
        progress: &mut dyn Progress,
    ) -> anyhow::Result<Vec<f64>> {
        Ok(match self {
            RunTask::Node(t) => t.loss_curve_with(model, steps, progress)?,
            RunTask::Edge(t) => t.loss_curve_with(model, steps, progress)?,
            RunTask::Lp(t) => t.loss_curve_with(model, steps, progress)?,
        })
    }
}
