//! What a plugin's model is built from: the task, the mode of a `forward`, the resolved model
//! configuration and the graph's schema.

/// Why the host calls `forward`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Train,
    Eval,
    Predict,
}

/// GraphStorm's task types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Task {
    NodeClassification,
    NodeRegression,
    EdgeClassification,
    EdgeRegression,
    LinkPrediction,
}

impl Task {
    /// The name the WIT uses, such as `edge-regression`.
    pub fn as_str(self) -> &'static str {
        match self {
            Task::NodeClassification => "node-classification",
            Task::NodeRegression => "node-regression",
            Task::EdgeClassification => "edge-classification",
            Task::EdgeRegression => "edge-regression",
            Task::LinkPrediction => "link-prediction",
        }
    }
}

/// The resolved configuration a plugin's model is built from.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelConfig {
    pub task: Task,
    pub hidden_size: u32,
    pub num_layers: u32,
    pub num_classes: u32,
    pub dropout: f32,
    pub target_node_type: String,
    pub custom_args: Vec<(String, String)>,
}

/// A node type as `init` sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeTypeSchema {
    pub name: String,
    pub num_nodes: u64,
    pub feature_dim: u32,
}

/// A canonical edge type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EdgeTypeName {
    pub src: String,
    pub rel: String,
    pub dst: String,
}

/// The graph's schema as `init` sees it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GraphSchema {
    pub node_types: Vec<NodeTypeSchema>,
    pub edge_types: Vec<EdgeTypeName>,
}
