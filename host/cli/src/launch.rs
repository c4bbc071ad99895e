//! `gs launch` (and the task commands): train or infer with a plugin model.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use gs_config::{LaunchOptions, PluginRef, Resolved, TaskType};
use gs_runtime::{PluginEngine, PluginInstance, PluginLimits};
use gs_tensor::{Device, ParamStore, choose_device, seed_and_threads};
use gs_train::checkpoint::{self, LoadedCheckpoint, PluginIdentity};
use gs_train::{
    EdgeTask, LinkPredictionTask, NodeTask, RunOptions, TaskModel, TrainingSummary,
    resolve_plugin_args,
};
use sha2::{Digest, Sha256};

use crate::builtin;
use crate::predictions::NodeRows;
use crate::progress::Bars;

/// Run `gs launch` with GraphStorm's arguments.
pub(crate) fn run(args: &[String], default_task: Option<TaskType>) -> anyhow::Result<()> {
    let before_dashes = args.iter().take_while(|a| *a != "--");
    if before_dashes
        .into_iter()
        .any(|a| a == "--help" || a == "-h")
    {
        println!("{}", gs_config::help_text());
        return Ok(());
    }
    let mut input = gs_config::parse(args)?;
    if let Some(task) = default_task {
        input = input.with_default_task(task);
    }
    if input.inference() {
        let Some(restore) = input.restore_model_path() else {
            bail!(gs_config::ConfigError::Missing {
                missing: vec!["`--restore-model-path`".into()],
                hint: "inference rebuilds the model from a checkpoint, e.g. `--restore-model-path model/epoch-3/`".into(),
            });
        };
        let ckpt = checkpoint::load(&restore)?;
        let resolved = input.resolve(Some(&ckpt.meta.config))?;
        check_command(&resolved, default_task)?;
        infer(&resolved, ckpt)
    } else {
        let resolved = input.resolve(None)?;
        check_command(&resolved, default_task)?;
        train(&resolved)
    }
}

/// A task command runs its own family of tasks (node, edge, link prediction):
/// `gs edge-classification` with a `node_classification:` section (or the reverse) is refused,
/// as GraphStorm's commands run different scripts. Within a family the YAML's section decides, as in GraphStorm.
fn check_command(resolved: &Resolved, command: Option<TaskType>) -> anyhow::Result<()> {
    let task = resolved.train.task_type;
    let family = |t: TaskType| (t.is_edge_task(), t == TaskType::LinkPrediction);
    if let Some(command) = command
        && family(command) != family(task)
    {
        bail!(
            "the task is `{}` (from the YAML's task section or --task-type), but the command is \
             `gs {}`; hint: run `gs {}`, or change the YAML's task section to `{}:`",
            task.name(),
            command.name().replace('_', "-"),
            task.name().replace('_', "-"),
            command.name()
        );
    }
    Ok(())
}

/// The bytes of a plugin named on the command line, with a name for messages.
pub(crate) fn plugin_bytes(plugin: &PluginRef) -> anyhow::Result<(String, Vec<u8>)> {
    match plugin {
        PluginRef::Builtin(name) => match builtin::builtin(name) {
            Some(bytes) => Ok((name.clone(), bytes.to_vec())),
            None => bail!(
                "no built-in plugin is called `{name}`; built-in plugins: {:?}\n\
                 hint: pass a path to a component (`--plugin path/to/model.wasm`)",
                builtin::names()
            ),
        },
        PluginRef::Path(path) => {
            let bytes = std::fs::read(path).with_context(|| {
                format!(
                    "cannot read plugin `{}`; hint: check the path given to --plugin",
                    path.display()
                )
            })?;
            Ok((path.display().to_string(), bytes))
        }
    }
}

fn limits(resolved: &Resolved) -> PluginLimits {
    let t = &resolved.train;
    PluginLimits {
        memory_bytes: (t.plugin_memory_mb as usize) << 20,
        call_timeout: Duration::from_secs(t.plugin_call_timeout),
        max_tensors: t.plugin_max_tensors as usize,
        tensor_bytes: (t.plugin_tensor_budget_mb as usize) << 20,
    }
}

fn device(launch: &LaunchOptions) -> anyhow::Result<Device> {
    let choice = choose_device(&launch.device.to_string()).map_err(anyhow::Error::msg)?;
    if let Some(warning) = choice.warning {
        tracing::warn!("{warning}");
    }
    Ok(choice.device)
}

/// The task of a run: node or edge targets, or link prediction.
enum Pipeline {
    Node(NodeTask),
    Edge(EdgeTask),
    Lp(LinkPredictionTask),
}

impl Pipeline {
    fn plugin_model(
        &self,
        instance: PluginInstance,
        custom_args: Vec<(String, String)>,
    ) -> anyhow::Result<TaskModel> {
        Ok(match self {
            Pipeline::Node(t) => t.plugin_model(instance, custom_args)?,
            Pipeline::Edge(t) => t.plugin_model(instance, custom_args)?,
            Pipeline::Lp(t) => t.plugin_model(instance, custom_args)?,
        })
    }

    fn metric(&self) -> String {
        match self {
            Pipeline::Node(t) => t.metrics()[0].to_string(),
            Pipeline::Edge(t) => t.metrics()[0].to_string(),
            Pipeline::Lp(t) => t.metrics()[0].to_string(),
        }
    }

    fn train(
        &self,
        model: &mut TaskModel,
        options: &RunOptions,
        bars: &mut Bars,
    ) -> anyhow::Result<TrainingSummary> {
        Ok(match self {
            Pipeline::Node(t) => t.train(model, options, bars)?,
            Pipeline::Edge(t) => t.train(model, options, bars)?,
            Pipeline::Lp(t) => t.train(model, options, bars)?,
        })
    }
}

/// Everything a run needs before it trains or infers.
struct Setup {
    graph: Arc<gs_graph::HeteroGraph>,
    task: Pipeline,
    engine: PluginEngine,
    device: Device,
}

fn setup(resolved: &Resolved) -> anyhow::Result<Setup> {
    let launch = &resolved.launch;
    crate::logging::configure(&launch.logging_level, launch.logging_file.as_deref())?;
    for warning in &resolved.warnings {
        tracing::warn!("{warning}");
    }
    gs_tensor::show_cpp_traces(resolved.launch.logging_level == "debug");
    let device = device(&resolved.launch)?;
    seed_and_threads(
        resolved.train.seed,
        resolved.launch.num_omp_threads.map(|n| n as usize),
    );
    let part_config = &resolved.launch.part_config;
    let graph = gs_graph::load(part_config)
        .with_context(|| format!("cannot load graph `{}`", part_config.display()))?;
    let graph = Arc::new(graph);
    let task = if resolved.train.task_type == TaskType::LinkPrediction {
        let mut task = LinkPredictionTask::new(graph.clone(), resolved.train.clone(), device)?;
        task.set_sampler_workers(resolved.launch.num_samplers);
        Pipeline::Lp(task)
    } else if resolved.train.task_type.is_edge_task() {
        let mut task = EdgeTask::new(graph.clone(), resolved.train.clone(), device)?;
        task.set_sampler_workers(resolved.launch.num_samplers);
        Pipeline::Edge(task)
    } else {
        let mut task = NodeTask::new(graph.clone(), resolved.train.clone(), device)?;
        task.set_sampler_workers(resolved.launch.num_samplers);
        Pipeline::Node(task)
    };
    let engine = PluginEngine::new(crate::paths::component_cache())?;
    Ok(Setup {
        graph,
        task,
        engine,
        device,
    })
}

fn instantiate(
    setup: &Setup,
    resolved: &Resolved,
    source: &str,
    bytes: &[u8],
) -> anyhow::Result<PluginInstance> {
    let plugin = setup.engine.load_bytes(source, bytes)?;
    let instance = plugin.instantiate(
        limits(resolved),
        ParamStore::new(resolved.train.seed, setup.device),
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

fn identity(instance: &PluginInstance) -> PluginIdentity {
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
    }
}

fn train(resolved: &Resolved) -> anyhow::Result<()> {
    let plugin = resolved.launch.plugin.clone().ok_or_else(|| {
        anyhow::anyhow!(gs_config::ConfigError::Missing {
            missing: vec!["`--plugin`".into()],
            hint:
                "name a built-in plugin (`--plugin sage`) or a component (`--plugin model.wasm`), \
                   or set `model_encoder_type` in the YAML"
                    .into(),
        })
    })?;
    let (source, bytes) = plugin_bytes(&plugin)?;
    let warm = crate::warm_start::WarmStart::load(&resolved.train)?;
    let setup = setup(resolved)?;
    let instance = instantiate(&setup, resolved, &source, &bytes)?;
    let custom_args = resolve_plugin_args(
        &instance.info().name,
        &resolved.custom_args,
        &instance.info().hyper_params,
        &resolved.plugin_keys(),
    )
    .map_err(anyhow::Error::msg)?;
    let identity = identity(&instance);
    let mut model = setup.task.plugin_model(instance, custom_args.clone())?;
    let start_epoch = warm.restore_weights(&mut model)?;
    let weights: usize = model.named_weights().iter().map(|(_, t)| t.numel()).sum();
    eprintln!(
        "training `{}` {} (sha256:{}…) on `{}`: {} weights, {} on {:?}, {} tensor threads",
        identity.name,
        identity.version,
        &identity.digest[..12],
        resolved.launch.part_config.display(),
        weights,
        resolved.train.task_type.name(),
        setup.device,
        gs_tensor::tch::get_num_threads(),
    );
    let options = RunOptions {
        save_model_path: resolved.train.save_model_path.clone(),
        plugin: identity,
        plugin_bytes: bytes,
        custom_args,
        beside_checkpoints: runtime_config_files(resolved),
        start_epoch,
        restore_optimizer: warm.optimizer,
        continued_summary: warm.continued_summary,
    };
    let metric = setup.task.metric();
    let summary = setup.task.train(
        &mut model,
        &options,
        &mut Bars::new(&metric).with_report_frequency(resolved.train.log_report_frequency),
    )?;
    let score = |s: Option<f64>| s.map_or_else(|| "n/a".to_string(), |s| format!("{s:.4}"));
    match summary.best_epoch {
        Some(epoch) => println!(
            "best epoch {epoch}{}: validation {metric} {}, test {metric} {}",
            summary
                .best_checkpoint
                .as_ref()
                .map_or_else(String::new, |c| format!(" ({c})")),
            score(summary.best_val_score),
            score(summary.test_score),
        ),
        None => println!("no epoch was trained (num_epochs is 0)"),
    }
    let best = summary
        .best_epoch
        .and_then(|b| summary.epochs.iter().find(|e| e.epoch == b))
        // Not when the best checkpoint is one inside that epoch (`save_model_frequency`).
        .filter(|e| e.checkpoint == summary.best_checkpoint);
    if let Some(best) = best {
        for (split, metrics) in [
            ("validation", &best.val_metrics),
            ("test", &best.test_metrics),
        ] {
            if let Some(line) = crate::progress::all_metrics_line(metrics) {
                println!("best epoch {split}: {line}");
            }
        }
    }
    if let Some(dir) = &resolved.train.save_model_path {
        println!(
            "checkpoints and {} in `{}`",
            gs_train::SUMMARY_FILE,
            dir.display()
        );
    }
    if let Some(dir) = &resolved.train.save_embed_path {
        let best = (resolved.train.save_model_path.as_ref())
            .zip(summary.best_checkpoint.as_ref())
            .map(|(save, best)| save.join(best));
        match &setup.task {
            Pipeline::Node(task) => {
                crate::embeddings::after_training(dir, task, &mut model, best, &resolved.launch)?
            }
            Pipeline::Edge(task) => {
                restore_best(&mut model, best)?;
                crate::edge_outputs::write_embeddings(dir, task, &mut model, &resolved.launch)?
            }
            Pipeline::Lp(task) => {
                restore_best(&mut model, best)?;
                crate::lp_outputs::write_embeddings(dir, task, &mut model, &resolved.launch)?
            }
        }
    }
    Ok(())
}

/// Loads the best checkpoint's weights into `model`, when there is one.
fn restore_best(model: &mut TaskModel, best: Option<std::path::PathBuf>) -> anyhow::Result<()> {
    if let Some(best) = best {
        let best = checkpoint::load(&best)?;
        model
            .load_weights(&best.weights)
            .with_context(|| format!("cannot restore `{}`", best.dir.display()))?;
    }
    Ok(())
}

/// As GraphStorm does beside saved models: the merged configuration in GraphStorm's YAML
/// layout, and the graph's `data_transform_new.json` (which serving needs) when it has one.
/// Training writes them together with the first checkpoint.
fn runtime_config_files(resolved: &Resolved) -> Vec<(String, Vec<u8>)> {
    let mut files = vec![(
        gs_config::RUNTIME_CONFIG_FILE.to_string(),
        gs_config::graphstorm_yaml(&resolved.train).into_bytes(),
    )];
    let transforms = resolved
        .launch
        .part_config
        .with_file_name("data_transform_new.json");
    if let Ok(bytes) = std::fs::read(&transforms) {
        files.push(("data_transform_new.json".to_string(), bytes));
    }
    files
}

/// `gs gen-node-embedding` (GraphStorm's `gs_gen_node_embedding`): the embeddings of every
/// node of every type, from a trained model, with every edge carrying messages.
pub(crate) fn gen_node_embedding(args: &[String]) -> anyhow::Result<()> {
    if args
        .iter()
        .take_while(|a| *a != "--")
        .any(|a| a == "--help" || a == "-h")
    {
        println!("{}", gs_config::help_text());
        return Ok(());
    }
    let input = gs_config::parse(args)?;
    let Some(restore) = input.restore_model_path() else {
        bail!(gs_config::ConfigError::Missing {
            missing: vec!["`--restore-model-path`".into()],
            hint: "gen-node-embedding computes embeddings with a trained model, e.g. \
                   `--restore-model-path model/epoch-3/`"
                .into(),
        });
    };
    let ckpt = checkpoint::load(&restore)?;
    let resolved = input.resolve(Some(&ckpt.meta.config))?;
    let Some(dir) = resolved.train.save_embed_path.clone() else {
        bail!(gs_config::ConfigError::Missing {
            missing: vec!["`--save-embed-path`".into()],
            hint: "name the folder for the embeddings, e.g. `--save-embed-path emb/`".into(),
        });
    };
    if let Some(pred) = &resolved.train.save_prediction_path
        && *pred != dir
    {
        bail!(
            "gen-node-embedding writes embeddings only, not predictions (`--save-prediction-path \
             {}`); hint: run `--inference` of the task for predictions",
            pred.display()
        );
    }
    let (setup, mut model) = restored(&resolved, ckpt)?;
    let embeddings = gs_train::embed_every_node(
        &setup.graph,
        &resolved.train,
        &mut model,
        setup.device,
        &mut Bars::new("embed"),
    )?;
    crate::lp_outputs::write_node_rows(&dir, &setup.graph, &embeddings, &resolved.launch)?;
    Ok(())
}

/// The run's setup and the model a checkpoint holds: its plugin (or `--plugin`, checked
/// against it) with the checkpoint's weights.
fn restored(resolved: &Resolved, ckpt: LoadedCheckpoint) -> anyhow::Result<(Setup, TaskModel)> {
    let saved = &ckpt.meta.plugin;
    // The bytes that are checked are the bytes that run: `--plugin`'s when given (checked
    // against the checkpoint's record), else the checkpoint's copy (checked by `load`).
    let mut run_bytes = None;
    if let Some(plugin) = &resolved.launch.plugin {
        let (source, bytes) = plugin_bytes(plugin)?;
        let digest = hex::encode(Sha256::digest(&bytes));
        if digest != saved.digest {
            bail!(
                "plugin `{source}` (sha256:{digest}) is not the plugin that trained `{}` \
                 (`{}` {}, sha256:{})\nhint: leave out --plugin to use the copy saved in the checkpoint",
                ckpt.dir.display(),
                saved.name,
                saved.version,
                saved.digest
            );
        }
        run_bytes = Some((source, bytes));
    }
    let setup = setup(resolved)?;
    let (source, bytes) = run_bytes.unwrap_or_else(|| {
        (
            format!("{} (from {})", saved.name, ckpt.dir.display()),
            ckpt.plugin_bytes.clone(),
        )
    });
    let instance = instantiate(&setup, resolved, &source, &bytes)?;
    // GraphStorm keys (`num_bases`, ...) come back through the checkpoint's saved config.
    let mut args: Vec<String> = ckpt
        .meta
        .custom_args
        .iter()
        .filter(|(k, _)| !gs_config::PLUGIN_KEYS.contains(&k.as_str()))
        .flat_map(|(k, v)| [format!("--{k}"), v.clone()])
        .collect();
    args.extend(resolved.custom_args.iter().cloned());
    let custom_args = resolve_plugin_args(
        &instance.info().name,
        &args,
        &instance.info().hyper_params,
        &resolved.plugin_keys(),
    )
    .map_err(anyhow::Error::msg)?;
    let mut model = setup.task.plugin_model(instance, custom_args)?;
    model
        .load_weights(&ckpt.weights)
        .with_context(|| format!("cannot restore `{}`", ckpt.dir.display()))?;
    Ok((setup, model))
}

fn infer(resolved: &Resolved, ckpt: LoadedCheckpoint) -> anyhow::Result<()> {
    let (setup, mut model) = restored(resolved, ckpt)?;
    let task = match &setup.task {
        Pipeline::Node(task) => task,
        Pipeline::Edge(task) => return infer_edges(resolved, task, &mut model),
        Pipeline::Lp(task) => return infer_links(resolved, task, &mut model),
    };
    let ids = task.inference_ids()?;
    let metric = setup.task.metric();
    let output = task.infer(&mut model, &ids, &mut Bars::new(&metric))?;
    for (m, s) in &output.scores {
        println!(
            "test {m}: {s:.4} on {} `{}` nodes",
            output.ids.len(),
            output.node_type
        );
    }
    let (pred_dir, embed_dir) = (
        &resolved.train.save_prediction_path,
        &resolved.train.save_embed_path,
    );
    match (pred_dir, embed_dir) {
        // GraphStorm's default: `save_prediction_path` falls back to `save_embed_path`, and
        // both sets then share the folder.
        (Some(pred), Some(embed)) if pred == embed => {
            let predictions = NodeRows::of_predictions(task.graph(), &output)?;
            let embeddings = crate::embeddings::rows(task, &mut model, &ids)?;
            let files = gs_output::write_node_predictions_and_embeddings(
                pred,
                &[predictions.entry()],
                &[embeddings.entry()],
                &crate::predictions::output_options(&resolved.launch),
            )
            .with_context(|| format!("cannot write predictions to `{}`", pred.display()))?;
            println!(
                "predictions and embeddings of {} nodes in `{}` ({} files)",
                predictions.len(),
                pred.display(),
                files.len()
            );
            return Ok(());
        }
        (Some(dir), _) => {
            let files = crate::predictions::write(dir, task.graph(), &output, &resolved.launch)?;
            println!(
                "predictions for {} nodes in `{}` ({} files)",
                output.ids.len(),
                dir.display(),
                files
            );
        }
        (None, _) => println!("no --save-prediction-path given: predictions not saved"),
    }
    if let Some(dir) = embed_dir {
        crate::embeddings::of_nodes(dir, task, &mut model, &ids, &resolved.launch)?;
    }
    Ok(())
}

/// Inference of link prediction, as GraphStorm's `lp_infer_gnn`: ranking scores on the test
/// edges, and the node (and relation) embeddings with `--save-embed-path`. Link prediction
/// writes no per-edge predictions.
fn infer_links(
    resolved: &Resolved,
    task: &LinkPredictionTask,
    model: &mut TaskModel,
) -> anyhow::Result<()> {
    let metric = task.metrics()[0].to_string();
    let scores = task.test_scores(model, &mut Bars::new(&metric))?;
    let etypes: Vec<String> = task.eval_etypes().iter().map(ToString::to_string).collect();
    for (m, s) in &scores {
        println!("test {m}: {s:.4} on {etypes:?}");
    }
    if let Some(dir) = &resolved.train.save_prediction_path
        && resolved.train.save_embed_path.as_ref() != Some(dir)
    {
        bail!(
            "link prediction writes no predictions (`--save-prediction-path {}`); hint: pass \
             --save-embed-path for the node and relation embeddings, as GraphStorm's \
             link-prediction inference writes",
            dir.display()
        );
    }
    match &resolved.train.save_embed_path {
        Some(dir) => crate::lp_outputs::write_embeddings(dir, task, model, &resolved.launch)?,
        None => println!("no --save-embed-path given: embeddings not saved"),
    }
    Ok(())
}

/// Inference of an edge task: scores on the test edges, predictions and embeddings.
fn infer_edges(resolved: &Resolved, task: &EdgeTask, model: &mut TaskModel) -> anyhow::Result<()> {
    let ids = task.inference_ids()?;
    let metric = task.metrics()[0].to_string();
    let output = task.infer(model, &ids, &mut Bars::new(&metric))?;
    for (m, s) in &output.scores {
        println!(
            "test {m}: {s:.4} on {} `{}` edges",
            output.src.len(),
            output.etype
        );
    }
    let (pred_dir, embed_dir) = (
        &resolved.train.save_prediction_path,
        &resolved.train.save_embed_path,
    );
    if let (Some(pred), Some(embed)) = (pred_dir, embed_dir)
        && pred == embed
    {
        bail!(
            "edge predictions and node embeddings cannot share `{}` yet; hint: pass \
             --save-prediction-path and --save-embed-path with different folders",
            pred.display()
        );
    }
    match pred_dir {
        Some(dir) => {
            let files =
                crate::edge_outputs::write_predictions(dir, task, &output, &resolved.launch)?;
            println!(
                "predictions for {} edges in `{}` ({files} files)",
                output.src.len(),
                dir.display()
            );
        }
        None => println!("no --save-prediction-path given: predictions not saved"),
    }
    if let Some(dir) = embed_dir {
        crate::edge_outputs::write_embeddings(dir, task, model, &resolved.launch)?;
    }
    Ok(())
}
