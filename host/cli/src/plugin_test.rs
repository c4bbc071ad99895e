//! `gs plugin test`: a plugin's whole life in the real host, on a tiny generated graph, before a
//! user spends a training run on it.
//!
//! One step after another: load the component, instantiate it and call `describe`, `init` for
//! node classification, a training `forward`, the loss, `backward` (some weight gets a
//! gradient), one Adam step (some weight changes), save a checkpoint the way training does,
//! reload it into a fresh instance (identical evaluation outputs), and a second run from the
//! same seed (identical loss and outputs). The first step that fails is named, with why.

use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, bail, ensure};
use gs_graph::{DemoParams, generate_demo};
use gs_runtime::{Mode, Plugin, PluginEngine, PluginInfo, PluginLimits, Task};
use gs_tensor::{Device, ParamStore, Tensor, tch};
use gs_train::checkpoint::{self, CheckpointMeta, PluginIdentity};
use gs_train::{NodeTask, PreparedBatch, TaskModel, resolve_custom_args};

use crate::launch::plugin_bytes;

/// The seed of the graph, the weights and the sampler.
const SEED: u64 = 7;
/// The generated graph's label classes.
const NUM_CLASSES: i64 = 4;

/// What one run of the steps from `init` to the optimizer step leaves behind.
struct TrainedOnce {
    model: TaskModel,
    loss: f64,
    /// Evaluation outputs for the batch after the step.
    outputs: Tensor,
}

/// Runs the named steps, printing each as it passes (if `print`); the first failure ends the
/// run.
struct Steps {
    passed: usize,
    print: bool,
}

impl Steps {
    fn run<T>(
        &mut self,
        name: &str,
        step: impl FnOnce() -> anyhow::Result<T>,
    ) -> anyhow::Result<T> {
        let started = Instant::now();
        match step() {
            Ok(value) => {
                self.passed += 1;
                if self.print {
                    let ms = started.elapsed().as_secs_f64() * 1e3;
                    println!("  ok      {name} ({ms:.1} ms)");
                }
                Ok(value)
            }
            Err(error) => {
                if self.print {
                    println!("  FAILED  {name}");
                }
                Err(error.context(format!("step `{name}` failed")))
            }
        }
    }
}

/// `gs plugin test PLUGIN [-- ARGS]`: every step, in order.
pub(crate) fn run(plugin: &str, custom_args: &[String]) -> anyhow::Result<()> {
    let (source, bytes) = plugin_bytes(
        &gs_config::PluginRef::parse(plugin),
        &crate::launch::RegistryUse::default(),
    )?;
    println!("testing `{source}` on a generated graph (node classification, seed {SEED}):");
    let mut steps = Steps {
        passed: 0,
        print: true,
    };
    let engine = PluginEngine::new(crate::paths::component_cache())?;
    let loaded = steps.run("load (a component of a supported gs:plugin line)", || {
        Ok(engine.load_bytes(&source, &bytes)?)
    })?;
    let (info, args) = steps.run("describe", || {
        let info = instantiate(&loaded)?.info().clone();
        ensure!(
            info.tasks.contains(&Task::NodeClassification),
            "`gs plugin test` trains node classification, and `{}` declares only {:?}",
            info.name,
            info.tasks.iter().map(|t| t.as_str()).collect::<Vec<_>>()
        );
        let args = resolve_custom_args(&info.name, custom_args, &info.hyper_params)
            .map_err(anyhow::Error::msg)?;
        Ok((info, args))
    })?;
    let task = tiny_task().context("cannot build the generated graph's task")?;
    let batch = task.first_training_batch()?;
    let first = train_once(&mut steps, &task, &loaded, &args, &batch, true)?;
    let dir = tempfile::tempdir().context("cannot create a temporary directory")?;
    let saved = dir.path().join("epoch-0");
    steps.run("save a checkpoint", || {
        save(&saved, &loaded, &info, &task, &first, &args, &bytes)
    })?;
    steps.run("reload it into a fresh instance: identical outputs", || {
        let restored = checkpoint::load(&saved)?;
        let mut model = task.plugin_model(instantiate(&loaded)?, args.clone())?;
        model.load_weights(&restored.weights)?;
        let outputs = eval_outputs(&mut model, &batch)?;
        same("the reloaded model's outputs", &first.outputs, &outputs)
    })?;
    let mut quiet = Steps {
        passed: 0,
        print: false,
    };
    steps.run("determinism: a second run from the same seed", || {
        let second = train_once(&mut quiet, &task, &loaded, &args, &batch, false)?;
        ensure!(
            second.loss.to_bits() == first.loss.to_bits(),
            "the loss was {} and is {} the second time",
            first.loss,
            second.loss
        );
        same(
            "the outputs after one step",
            &first.outputs,
            &second.outputs,
        )
    })?;
    println!("all {} steps passed", steps.passed);
    Ok(())
}

fn instantiate(plugin: &Plugin) -> anyhow::Result<gs_runtime::PluginInstance> {
    Ok(plugin.instantiate(PluginLimits::default(), ParamStore::new(SEED, Device::Cpu))?)
}

/// Node classification of `paper` on a 300-node generated graph, two layers, no dropout.
fn tiny_task() -> anyhow::Result<NodeTask> {
    let graph = generate_demo(&DemoParams {
        num_papers: 200,
        num_authors: 100,
        seed: SEED,
        ..DemoParams::default()
    });
    let num_classes = NUM_CLASSES.to_string();
    let seed = SEED.to_string();
    let flags = [
        ("--part-config", "generated.json"),
        ("--num-trainers", "1"),
        ("--task-type", "node_classification"),
        ("--target-ntype", "paper"),
        ("--label-field", "label"),
        ("--num-classes", num_classes.as_str()),
        ("--node-feat-name", "feat"),
        ("--num-layers", "2"),
        ("--fanout", "5,5"),
        ("--hidden-size", "16"),
        ("--lr", "0.01"),
        ("--batch-size", "32"),
        ("--num-epochs", "1"),
        ("--dropout", "0"),
        ("--seed", seed.as_str()),
    ];
    let args: Vec<String> = flags
        .iter()
        .flat_map(|(key, value)| [key.to_string(), value.to_string()])
        .collect();
    let resolved = gs_config::resolve(&args, None)?;
    Ok(NodeTask::new(Arc::new(graph), resolved.train, Device::Cpu)?)
}

/// `init`, a training forward, the loss, backward and one Adam step, each a step of `steps`.
fn train_once(
    steps: &mut Steps,
    task: &NodeTask,
    plugin: &Plugin,
    args: &[(String, String)],
    batch: &PreparedBatch,
    check: bool,
) -> anyhow::Result<TrainedOnce> {
    let mut model = steps.run("init", || {
        Ok(task.plugin_model(instantiate(plugin)?, args.to_vec())?)
    })?;
    let outputs = steps.run("forward (training)", || {
        let outputs = model.batch_outputs(batch, Mode::Train)?;
        let labels = batch.labels.as_ref().context("the batch has no labels")?;
        let targets = labels.size()[0];
        ensure!(
            outputs.size() == [targets, NUM_CLASSES],
            "the outputs have shape {:?}; node classification of {targets} targets into \
             {NUM_CLASSES} classes needs [{targets}, {NUM_CLASSES}]",
            outputs.size()
        );
        finite("the outputs", &outputs)?;
        Ok(outputs)
    })?;
    let loss = steps.run("loss", || {
        let labels = batch.labels.as_ref().context("the batch has no labels")?;
        let loss = model.loss(&outputs, labels)?;
        finite("the loss", &loss)?;
        Ok(loss)
    })?;
    let mut adam = task.optimizer(&model);
    steps.run("backward (some weight gets a gradient)", || {
        adam.zero_grad();
        loss.f_backward()
            .context("backward through the plugin's graph")?;
        let weights = model.named_weights();
        let with_gradient = weights
            .iter()
            .filter(|(_, w)| {
                let grad = w.grad();
                grad.defined() && grad.abs().sum(tch::Kind::Double).double_value(&[]) > 0.0
            })
            .count();
        ensure!(
            !check || with_gradient > 0,
            "none of the {} weights got a gradient: the outputs do not depend on them \
             (was a tensor detached, or a weight created outside `init`?)",
            weights.len()
        );
        Ok(())
    })?;
    steps.run("optimizer step (some weight changes)", || {
        let before: Vec<Tensor> = model
            .named_weights()
            .iter()
            .map(|(_, w)| w.detach().copy())
            .collect();
        adam.step()?;
        model.end_batch();
        let changed = model
            .named_weights()
            .iter()
            .zip(&before)
            .any(|((_, w), b)| !w.equal(b));
        ensure!(!check || changed, "no weight changed after an Adam step");
        Ok(())
    })?;
    let outputs = eval_outputs(&mut model, batch)?;
    Ok(TrainedOnce {
        model,
        loss: loss.double_value(&[]),
        outputs,
    })
}

fn eval_outputs(model: &mut TaskModel, batch: &PreparedBatch) -> anyhow::Result<Tensor> {
    Ok(tch::no_grad(|| model.batch_outputs(batch, Mode::Eval))?)
}

/// Write a checkpoint of `trained` to `dir`, as training does at an epoch's end.
fn save(
    dir: &std::path::Path,
    plugin: &Plugin,
    info: &PluginInfo,
    task: &NodeTask,
    trained: &TrainedOnce,
    args: &[(String, String)],
    bytes: &[u8],
) -> anyhow::Result<()> {
    let component = plugin.info();
    let meta = CheckpointMeta {
        gs_checkpoint_version: checkpoint::CHECKPOINT_VERSION,
        epoch: 0,
        plugin: PluginIdentity {
            name: info.name.clone(),
            version: info.version.clone(),
            sdk_version: info.sdk_version.clone(),
            package_version: component.package_version.clone(),
            digest: component.digest.clone(),
            source: None,
        },
        config: checkpoint::model_config(task.config()),
        custom_args: args.to_vec(),
        metrics: Default::default(),
        files: Default::default(),
    };
    checkpoint::save(dir, &meta, &trained.model.checkpoint_weights(), &[], bytes)?;
    Ok(())
}

fn finite(what: &str, t: &Tensor) -> anyhow::Result<()> {
    let bad = t
        .isfinite()
        .logical_not()
        .sum(tch::Kind::Int64)
        .int64_value(&[]);
    if bad > 0 {
        bail!("{what} hold {bad} NaN or infinite values");
    }
    Ok(())
}

fn same(what: &str, expected: &Tensor, found: &Tensor) -> anyhow::Result<()> {
    ensure!(
        expected.size() == found.size(),
        "{what} have shape {:?}, not {:?}",
        found.size(),
        expected.size()
    );
    if !expected.equal(found) {
        let diff = (expected - found).abs().max().double_value(&[]);
        bail!("{what} differ by up to {diff:e}; they must be identical");
    }
    Ok(())
}
