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
/// [`decode`](Model::decode) and [`loss`](Model::loss) are optional: implement them and declare
/// the tasks they serve with [`Info::decodes`] and [`Info::computes_loss`] (or, to decide from
/// the configuration, override [`decodes`](Model::decodes) and
/// [`computes_loss`](Model::computes_loss)); for every other task the host uses its built-in
/// decoder and loss and never calls them.
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

    /// Turns the embeddings [`forward`](Model::forward) returned into task outputs for the
    /// batch's targets, for the tasks declared with [`Info::decodes`] (f32, one row per target):
    ///
    /// - node tasks: `[N, C]` logits (`[N, 1]` for regression) for the last layer's
    ///   destination nodes of [`Batch::target_node_type`];
    /// - edge tasks: `[E, C]` (`[E, 1]` for regression) for [`Batch::target_edges`], whose
    ///   [`TargetEdges::endpoint_embeddings`](crate::TargetEdges::endpoint_embeddings) gathers
    ///   the endpoints;
    /// - link prediction: `[P, 1 + K]` raw scores for [`Batch::lp_pairs`] (column 0 the
    ///   positives, then each positive's `K` negatives), called once per target edge type;
    ///   [`LpPairs::pair_embeddings`](crate::LpPairs::pair_embeddings) gathers the endpoints.
    ///
    /// `C` is [`ModelConfig::num_classes`]. The host checks the shape and stops the run with an
    /// error naming the plugin, the task and both shapes if it differs. The default returns
    /// `not-implemented`.
    fn decode(&self, batch: &Batch, embeddings: &[(String, Tensor)], mode: Mode) -> Result<Tensor> {
        let _ = (batch, embeddings, mode);
        Err(Error::not_implemented(
            "this plugin has no decoder; use the host's",
        ))
    }

    /// Whether [`decode`](Model::decode) serves `task` for this model as `init` built it. The
    /// default: whether [`Info::decodes`] declared it. The host asks after every `init`
    /// (`gs:plugin@0.1.1`'s `capabilities`) and never calls `decode` for other tasks.
    fn decodes(&self, task: Task) -> bool {
        Self::info().decode_tasks.contains(&task)
    }

    /// Whether [`loss`](Model::loss) computes the training loss of `task` for this model as
    /// `init` built it. The default: whether [`Info::computes_loss`] declared it.
    fn computes_loss(&self, task: Task) -> bool {
        Self::info().loss_tasks.contains(&task)
    }

    /// The training loss (one f32 value) from task outputs and labels, for the tasks declared
    /// with [`Info::computes_loss`]: `[N, C]` outputs with int64 `[N]` class ids, f32 `[N, C]`
    /// multilabel columns or f32 `[N, 1]` values for node and edge tasks; for link prediction
    /// `decode`'s `[P, 1 + K]` scores with f32 `[P, 1 + K]` labels (1 in column 0). The default
    /// returns `not-implemented`.
    fn loss(&self, outputs: &Tensor, labels: &Tensor) -> Result<Tensor> {
        let _ = (outputs, labels);
        Err(Error::not_implemented(
            "this plugin has no loss; use the host's",
        ))
    }
}

/// What [`Model::info`] returns: the plugin's name and version, its tasks and its
/// hyper-parameters (`describe`, which adds the SDK's version), and the tasks for which it
/// implements [`Model::decode`] and [`Model::loss`] (`capabilities`, `gs:plugin@0.1.1`).
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
    /// The tasks for which [`Model::decode`] is implemented (the host decodes the others).
    pub decode_tasks: Vec<Task>,
    /// The tasks for which [`Model::loss`] is implemented (the host's loss for the others).
    pub loss_tasks: Vec<Task>,
}

impl Info {
    /// A plugin with a name and a version, no tasks and no hyper-parameters yet.
    pub fn new(name: impl Into<String>, version: impl Into<String>) -> Self {
        Info {
            name: name.into(),
            version: version.into(),
            tasks: Vec::new(),
            hyper_params: Vec::new(),
            decode_tasks: Vec::new(),
            loss_tasks: Vec::new(),
        }
    }

    /// Declares that [`Model::decode`] turns embeddings into the outputs of `task`: the host
    /// calls it instead of its built-in decoder (GraphStorm's `decoder_type`, or
    /// `lp_decoder_type` for link prediction).
    pub fn decodes(mut self, task: Task) -> Self {
        if !self.decode_tasks.contains(&task) {
            self.decode_tasks.push(task);
        }
        self
    }

    /// Declares that [`Model::loss`] computes the training loss of `task`: the host calls it
    /// instead of its built-in loss.
    pub fn computes_loss(mut self, task: Task) -> Self {
        if !self.loss_tasks.contains(&task) {
            self.loss_tasks.push(task);
        }
        self
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

    /// `hidden-size` for a message-passing encoder, after checking that it can be built: an
    /// `invalid-argument` error when `hidden-size` or `num-layers` is 0 (the hint for the
    /// latter names `mlp`); `model` names the plugin in it.
    pub fn gnn_hidden_size(&self, model: &str) -> Result<i64> {
        if self.hidden_size == 0 {
            return Err(Error::invalid_argument(format!(
                "{model} needs `hidden-size` of at least 1"
            )));
        }
        if self.num_layers == 0 {
            return Err(Error::invalid_argument(format!(
                "{model} needs `num-layers` of at least 1 (hint: without message passing, use \
                 `model_encoder_type: mlp`)"
            )));
        }
        Ok(i64::from(self.hidden_size))
    }

    /// GraphStorm's `num_heads` (or `default`) for attention that splits `hidden-size` evenly
    /// over the heads, or an `invalid-argument` error naming both and a head count that would
    /// do; `model` names the plugin in it.
    pub fn num_heads(&self, model: &str, default: i64) -> Result<i64> {
        let heads: i64 = self.parse_arg("num_heads", default)?;
        let hidden = i64::from(self.hidden_size);
        if heads < 1 || hidden % heads != 0 {
            return Err(Error::invalid_argument(format!(
                "`num_heads` is {heads}, and {model} splits the hidden size {hidden} evenly over \
                 the heads (hint: choose num_heads dividing hidden_size, e.g. {})",
                if hidden % default == 0 { default } else { 1 }
            )));
        }
        Ok(heads)
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
        assert!(info.decode_tasks.is_empty() && info.loss_tasks.is_empty());
    }

    #[test]
    fn decode_and_loss_are_declared_per_task_once() {
        let info = Info::new("dot", "0.1.0")
            .task(Task::EdgeRegression)
            .decodes(Task::EdgeRegression)
            .decodes(Task::EdgeRegression)
            .computes_loss(Task::LinkPrediction);
        assert_eq!(info.decode_tasks, vec![Task::EdgeRegression]);
        assert_eq!(info.loss_tasks, vec![Task::LinkPrediction]);
    }
}
