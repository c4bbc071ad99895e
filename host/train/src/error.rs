use thiserror::Error;

/// Why a training or inference run stopped.
#[derive(Debug, Error)]
pub enum TrainError {
    #[error(transparent)]
    Plugin(#[from] gs_runtime::PluginError),
    #[error(transparent)]
    Tensor(#[from] gs_tensor::TensorError),
    #[error(transparent)]
    Checkpoint(#[from] crate::checkpoint::CheckpointError),
    #[error(transparent)]
    Graph(#[from] gs_graph::GraphError),
    #[error("{0}")]
    Config(String),
    #[error("cannot write `{path}`: {message}")]
    Output { path: String, message: String },
}
