//! `gs model import`: a model GraphStorm trained, converted into a gs model directory.

use std::path::PathBuf;

use clap::Subcommand;

use crate::launch::Terminal;

#[derive(Subcommand)]
pub(crate) enum ModelCommand {
    /// Convert a model directory GraphStorm saved (`model.bin`, and its learnable embeddings)
    /// into a gs model directory: the checkpoint `model/epoch-0/`, which
    /// `--restore-model-path` loads with no `--cf`, `training_summary.json`, the runtime YAML
    /// and `data_transform_new.json`. Takes GraphStorm's flags for the model it was trained
    /// as: `gs model import --graphstorm gs_model/epoch-1 --output model/ --cf train.yaml
    /// --part-config graph.json`.
    Import {
        /// The GraphStorm model directory (holding `model.bin`).
        #[arg(long)]
        graphstorm: PathBuf,
        /// The gs model directory to write; it must not exist.
        #[arg(long)]
        output: PathBuf,
        /// GraphStorm's flags (`--cf`, `--part-config`, ...), as for `gs launch`.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, num_args = 0..)]
        args: Vec<String>,
    },
}

pub(crate) fn run(what: ModelCommand) -> anyhow::Result<()> {
    let ModelCommand::Import {
        graphstorm,
        output,
        args,
    } = what;
    if !gs_train::graphstorm_import::is_graphstorm_model_dir(&graphstorm) {
        anyhow::bail!(
            "`{}` holds no `{}`; hint: name the folder GraphStorm saved the model in \
             (`save_model_path`'s epoch folder)",
            graphstorm.display(),
            gs_train::graphstorm_import::GRAPHSTORM_MODEL_FILE
        );
    }
    if output.exists() {
        anyhow::bail!(
            "`{}` exists; hint: name a new folder for the model",
            output.display()
        );
    }
    let resolved = gs_config::parse(&args)?.resolve(None)?;
    gs_pipeline::import_graphstorm(&resolved, &graphstorm, &output, &mut Terminal::default())
}
