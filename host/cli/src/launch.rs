//! `gs launch` (and the task commands): parses GraphStorm's arguments, checks the command
//! against the task, and runs the training or inference gs-pipeline assembles, with the
//! terminal as its [`Frontend`].

use anyhow::{Context, bail};
use gs_config::{LaunchOptions, PluginRef, Resolved, TaskType};
use gs_pipeline::{Frontend, TrainedModel};
use gs_runtime::CacheLocation;
use gs_train::Progress;
use gs_train::checkpoint;

use crate::builtin;
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
        let (resolved, trained) = trained_model(input, &restore)?;
        check_command(&resolved, default_task)?;
        let mut terminal = Terminal::for_launch(&resolved.launch);
        gs_pipeline::infer(&resolved, trained, &mut terminal)
    } else {
        let resolved = input.resolve(None)?;
        check_command(&resolved, default_task)?;
        let mut terminal = Terminal::for_launch(&resolved.launch);
        gs_pipeline::train(&resolved, &mut terminal)
    }
}

/// The model `--restore-model-path` names and the run's configuration: a gs checkpoint's
/// saved configuration under the command line's, or, for a model directory GraphStorm saved
/// (`model.bin`), the command line's alone (GraphStorm's `--cf` YAML), as GraphStorm's
/// inference reads it.
fn trained_model(
    input: gs_config::Input,
    restore: &std::path::Path,
) -> anyhow::Result<(Resolved, TrainedModel)> {
    if gs_train::graphstorm_import::is_graphstorm_model_dir(restore) {
        let resolved = input.resolve(None)?;
        return Ok((resolved, TrainedModel::GraphStorm(restore.to_path_buf())));
    }
    let ckpt = checkpoint::load(restore)?;
    let resolved = input.resolve(Some(&ckpt.meta.config))?;
    Ok((resolved, TrainedModel::Checkpoint(Box::new(ckpt))))
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

/// The bytes of a plugin named on the command line, with a name for messages (for a registry
/// plugin, its reference pinned to the manifest digest).
pub(crate) fn plugin_bytes(
    plugin: &PluginRef,
    registry: &RegistryUse,
) -> anyhow::Result<(String, Vec<u8>)> {
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
        PluginRef::Registry(reference) => crate::registry_cmd::plugin_for_run(reference, registry),
    }
}

/// How a run takes registry plugins: `gs.lock` of the working directory (`--locked`) and the
/// trust policy (`--trust-policy`, else the user's). `inspect` and `plugin test` use neither;
/// `gs serve` applies the policy without the lock.
#[derive(Debug, Clone, Default)]
pub(crate) struct RegistryUse {
    pub(crate) use_lock: bool,
    pub(crate) locked: bool,
    pub(crate) apply_policy: bool,
    pub(crate) trust_policy: Option<std::path::PathBuf>,
}

/// The command line's side of a run: logging to stderr (and `--logging-file`), the user's
/// component cache, built-in plugins, progress bars, results on stdout, notes on stderr.
#[derive(Default)]
pub(crate) struct Terminal {
    registry: RegistryUse,
}

impl Terminal {
    pub(crate) fn for_launch(launch: &LaunchOptions) -> Terminal {
        Terminal {
            registry: RegistryUse {
                use_lock: true,
                locked: launch.locked,
                apply_policy: true,
                trust_policy: launch.trust_policy.clone(),
            },
        }
    }
}

impl Frontend for Terminal {
    fn configure_logging(&mut self, launch: &LaunchOptions) -> anyhow::Result<()> {
        crate::logging::configure(&launch.logging_level, launch.logging_file.as_deref())
    }

    fn component_cache(&self) -> Option<CacheLocation> {
        crate::paths::component_cache()
    }

    fn plugin_bytes(&self, plugin: &PluginRef) -> anyhow::Result<(String, Vec<u8>)> {
        plugin_bytes(plugin, &self.registry)
    }

    fn progress(&mut self, metric: &str, report_frequency: u64) -> Box<dyn Progress> {
        Box::new(Bars::new(metric).with_report_frequency(report_frequency))
    }

    fn line(&mut self, text: &str) {
        println!("{text}");
    }

    fn note(&mut self, text: &str) {
        eprintln!("{text}");
    }
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
    let (resolved, trained) = trained_model(input, &restore)?;
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
    let mut terminal = Terminal::for_launch(&resolved.launch);
    gs_pipeline::gen_node_embedding(&resolved, trained, &dir, &mut terminal)
}
