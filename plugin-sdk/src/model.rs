//! The [`Model`] trait plugin authors implement, what it describes ([`Info`]) and what it is
//! built from ([`ModelConfig`]), and its [`Error`].

use std::str::FromStr;

use crate::{Batch, GraphSchema, Tensor};

pub use crate::bindings::exports::gs::plugin::model_api::{HyperParam, ModelConfig};
pub use crate::bindings::gs::plugin::types::{Error, Mode, Task};

/// The result of every fallible SDK and plugin function.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A GNN model, written once and exported as a component with [`export_model!`].
///
/// The host calls [`info`](Model::info) to describe the plugin, [`init`](Model::init) once per
/// instance to build the model (create every weight with [`param`](crate::param) or the layers
/// in [`nn`](crate::nn)), then [`forward`](Model::forward) for every mini-batch.
/// [`decode`](Model::decode) and [`loss`](Model::loss) are optional: their defaults return
/// `not-implemented`, and the host then uses its built-in decoder and loss for the task.
///
/// Every tensor operation is a host call over a whole tensor: use them on whole batches, never
/// per node or per edge.
///
/// [`export_model!`]: crate::export_model
pub trait Model: Sized + 'static {
    /// Who the plugin is, the tasks it supports and the hyper-parameters (custom arguments) it
    /// accepts. The SDK adds its own version.
    fn info() -> Info;

    /// Builds the model for a configuration and a graph. The SDK has already checked that
    /// `config.task` is one of [`Info::tasks`]. Validate custom arguments here (see
    /// [`ModelConfig::choice`] and [`ModelConfig::parse_arg`]) and return `invalid-argument`
    /// naming the bad value.
    fn init(config: &ModelConfig, schema: &GraphSchema) -> Result<Self>;

    /// Node embeddings (or scores) of the last layer's destination nodes, per node type.
    /// `mode` says why the host calls it; dropout is active only in [`Mode::Train`].
    fn forward(&self, batch: &Batch, mode: Mode) -> Result<Vec<(String, Tensor)>>;

    /// Turns the embeddings [`forward`](Model::forward) returned into task outputs (logits for
    /// classification) for the batch's targets. The default returns `not-implemented`: the host
    /// then uses its built-in decoder for the task.
    fn decode(&self, batch: &Batch, embeddings: &[(String, Tensor)], mode: Mode) -> Result<Tensor> {
        let _ = (batch, embeddings, mode);
        Err(Error::not_implemented(
            "this plugin has no decoder; use the host's",
        ))
    }

    /// The training loss from decoder outputs and labels. The default returns
    /// `not-implemented`: the host then uses its built-in loss for the task.
    fn loss(&self, outputs: &Tensor, labels: &Tensor) -> Result<Tensor> {
        let _ = (outputs, labels);
        Err(Error::not_implemented(
            "this plugin has no loss; use the host's",
        ))
    }
}

/// What [`Model::info`] returns: the plugin's name and version, its tasks and its
/// hyper-parameters. `describe` adds the SDK's version.
#[derive(Clone, Debug)]
pub struct Info {
    /// The plugin's name, such as `sage`.
    pub name: String,
    /// The plugin's own version (semver).
    pub version: String,
    /// The tasks it supports.
    pub tasks: Vec<Task>,
    /// The custom arguments it accepts, with defaults and help.
    pub hyper_params: Vec<HyperParam>,
}

impl Info {
    /// A plugin with a name and a version, no tasks and no hyper-parameters yet.
    pub fn new(name: impl Into<String>, version: impl Into<String>) -> Self {
        Info {
            name: name.into(),
            version: version.into(),
            tasks: Vec::new(),
            hyper_params: Vec::new(),
        }
    }

    /// Adds a supported task.
    pub fn task(mut self, task: Task) -> Self {
        self.tasks.push(task);
        self
    }

    /// Adds every task type (for task-agnostic models such as encoders that only embed).
    pub fn all_tasks(self) -> Self {
        [
            Task::NodeClassification,
            Task::NodeRegression,
            Task::EdgeClassification,
            Task::EdgeRegression,
            Task::LinkPrediction,
        ]
        .into_iter()
        .fold(self, Info::task)
    }

    /// Adds a hyper-parameter (custom argument `--name value`) with its default and help.
    pub fn hyper_param(
        mut self,
        name: impl Into<String>,
        default: impl Into<String>,
        help: impl Into<String>,
    ) -> Self {
        self.hyper_params.push(HyperParam {
            name: name.into(),
            default: default.into(),
            help: help.into(),
        });
        self
    }
}

impl ModelConfig {
    /// The value of custom argument `name` (the user's, or the default from [`Info`]).
    pub fn arg(&self, name: &str) -> Option<&str> {
        self.custom_args
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The value of custom argument `name`, or `default` when the host did not pass it.
    pub fn arg_or<'a>(&'a self, name: &str, default: &'a str) -> &'a str {
        self.arg(name).unwrap_or(default)
    }

    /// Custom argument `name` parsed as a `T`, `default` when absent, or an
    /// `invalid-argument` error naming the argument and its value.
    pub fn parse_arg<T: FromStr>(&self, name: &str, default: T) -> Result<T> {
        match self.arg(name) {
            None => Ok(default),
            Some(value) => value.parse().map_err(|_| {
                Error::invalid_argument(format!(
                    "`--{name} {value}` is not a valid {}",
                    std::any::type_name::<T>()
                ))
            }),
        }
    }

    /// Custom argument `name` (or `default`) if it is one of `accepted`, else an
    /// `invalid-argument` error naming the value and the accepted ones.
    pub fn choice<'a>(
        &'a self,
        name: &str,
        default: &'a str,
        accepted: &[&str],
    ) -> Result<&'a str> {
        let value = self.arg_or(name, default);
        if accepted.contains(&value) {
            Ok(value)
        } else {
            Err(Error::invalid_argument(format!(
                "`--{name} {value}` is not supported; accepted values: {}",
                accepted.join(", ")
            )))
        }
    }
}

impl Error {
    /// A configuration value or custom argument is invalid; the message names it.
    pub fn invalid_argument(message: impl Into<String>) -> Self {
        Error::InvalidArgument(message.into())
    }

    /// The export is not provided; the host falls back to its built-in behaviour.
    pub fn not_implemented(message: impl Into<String>) -> Self {
        Error::NotImplemented(message.into())
    }

    /// The task, graph or feature set is not supported.
    pub fn unsupported(message: impl Into<String>) -> Self {
        Error::Unsupported(message.into())
    }

    /// Anything else.
    pub fn other(message: impl Into<String>) -> Self {
        Error::Other(message.into())
    }

    /// The message, whatever the case.
    pub fn message(&self) -> &str {
        match self {
            Error::InvalidArgument(m)
            | Error::NotImplemented(m)
            | Error::Unsupported(m)
            | Error::Other(m) => m,
        }
    }
}

impl Task {
    /// The name GraphStorm and the WIT use, such as `node-classification`.
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

impl Mode {
    /// `train`, `eval` or `predict`.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Train => "train",
            Mode::Eval => "eval",
            Mode::Predict => "predict",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(args: &[(&str, &str)]) -> ModelConfig {
        ModelConfig {
            task: Task::NodeClassification,
            hidden_size: 16,
            num_layers: 2,
            num_classes: 3,
            dropout: 0.0,
            target_node_type: "paper".into(),
            custom_args: args
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn choice_accepts_listed_values_and_names_the_rest() {
        let c = config(&[("aggregator", "mean")]);
        assert_eq!(c.choice("aggregator", "mean", &["mean"]).unwrap(), "mean");
        assert_eq!(
            c.choice("activation", "relu", &["relu", "elu"]).unwrap(),
            "relu"
        );
        let c = config(&[("aggregator", "lstm")]);
        let err = c
            .choice("aggregator", "mean", &["mean", "pool"])
            .unwrap_err();
        assert!(matches!(err, Error::InvalidArgument(_)));
        assert_eq!(
            err.message(),
            "`--aggregator lstm` is not supported; accepted values: mean, pool"
        );
    }

    #[test]
    fn parse_arg_reports_the_value() {
        let c = config(&[("residual", "yes")]);
        assert!(!c.parse_arg("other", false).unwrap());
        let err = c.parse_arg("residual", false).unwrap_err();
        assert_eq!(err.message(), "`--residual yes` is not a valid bool");
        let c = config(&[("residual", "true")]);
        assert!(c.parse_arg("residual", false).unwrap());
    }

    #[test]
    fn info_builder() {
        let info = Info::new("sage", "0.1.0")
            .task(Task::NodeClassification)
            .hyper_param("aggregator", "mean", "how to aggregate");
        assert_eq!(info.tasks.len(), 1);
        assert_eq!(info.hyper_params[0].default, "mean");
        assert_eq!(Task::NodeRegression.as_str(), "node-regression");
    }
}
