//! gs-train: the task pipelines (node and edge classification and regression so far) that turn a
//! graph, a resolved configuration and a model — a plugin or the native oracle — into
//! trained checkpoints, metrics and predictions.
//!
//! One training loop (`train_loop`) runs every task through the `task::TargetTask` trait;
//! [`NodeTask`] and [`EdgeTask`] implement it.
//!
//! It owns mini-batch assembly (sampled blocks and gathered features into host tensors,
//! prepared ahead of the trainer), the built-in decoders and losses, Adam, the metrics,
//! model selection, checkpoints and the training summary. It parses no command-line flags
//! (gs-config resolves them) and draws nothing on a terminal (it reports through
//! [`Progress`]).

mod all_embeddings;
mod batching;
pub mod checkpoint;
mod checkpoint_writer;
mod classification_metrics;
mod decoder;
mod early_stop;
mod edge_decoder;
mod edge_features;
mod edge_labels;
mod edge_task;
mod embeddings;
mod error;
mod etype_values;
mod feature_values;
mod features;
pub mod graphstorm_import;
mod hard_negatives;
mod head;
mod host_memory;
mod labels;
mod learnable_embeddings;
mod loss;
mod lp_decoder;
mod lp_edge_weights;
mod lp_loss;
mod lp_rank;
mod lp_task;
mod metrics;
mod model;
pub mod model_layers;
mod native_sage;
mod node_task;
mod optimizer;
mod plugin_args;
mod plugin_outputs;
mod progress;
mod save_folder;
pub mod serving;
mod summary;
mod task;
mod train_loop;

pub use all_embeddings::{NodeEmbeddings, embed_every_node};
pub use batching::{BatchAssembler, LpPairs, PreparedBatch, TargetEdges};
pub use edge_features::EdgeFeatureSpec;
pub use edge_task::{EdgeInferenceOutput, EdgeTask};
pub use error::TrainError;
pub use features::FeatureSpec;
pub use lp_task::LinkPredictionTask;
pub use metrics::{Metric, Score, Scores, roc_auc_macro};
pub use model::{Encoder, TaskModel};
pub use native_sage::NativeSage;
pub use node_task::{InferenceOutput, NodeTask, RunOptions};
pub use optimizer::{Adam, AdamConfig};
pub use plugin_args::{resolve_custom_args, resolve_plugin_args};
pub use progress::{NoProgress, Phase, Progress};
pub use save_folder::{check_save_folder, checkpoints_in, remove_stale_temporaries};
pub use summary::{EpochReport, IterationReport, SUMMARY_FILE, TrainingSummary};
