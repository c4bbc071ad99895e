//! gs-pipeline: a run of gs assembled from a resolved configuration. It loads the graph, builds
//! the task (node, edge or link prediction), loads and instantiates the plugin, builds the model,
//! restores checkpoints, runs training or inference through gs-train and writes the outputs in
//! GraphStorm's layouts through gs-output.
//!
//! It parses no flags (gs-config resolves them) and owns no terminal: what a run shows goes
//! through the [`Frontend`] its caller passes in (the `gs` command line draws bars and prints
//! lines; a server would do otherwise). `gs bench task` builds its jobs from the same pieces.

mod frontend;
mod import;
mod inference;
mod metrics_line;
mod outputs;
mod plugin;
mod restore;
mod run_task;
mod setup;
mod training;
mod warm_start;

pub use frontend::Frontend;
pub use import::import_graphstorm;
pub use inference::{gen_node_embedding, infer};
pub use metrics_line::all_metrics_line;
pub use plugin::{identity, instantiate, limits, plugin_custom_args};
pub use restore::TrainedModel;
pub use run_task::RunTask;
pub use setup::{Setup, load_graph};
pub use training::train;
