//! The host's built-in losses for node tasks, as GraphStorm defines them
//! (`python/graphstorm/model/loss_func.py`, chosen in `gsf.py::create_builtin_node_decoder`):
//!
//! - classification: cross-entropy with optional class weights (`imbalance_class_weights`);
//!   with `multilabel`, BCE-with-logits over multi-hot labels with a positive weight per class
//!   (`multilabel_weights`) and the class weights; with `class_loss_func: focal`, the binary
//!   sigmoid focal loss (`alpha` 0.25, `gamma` 2 by default) over one logit per node;
//! - regression: mean squared error, or the shrinkage loss (`alpha` 10, `gamma` 0.2 by default).

use gs_config::TrainConfig;
use gs_tensor::{Device, Kind, Tensor, TensorError, tch};

use crate::TrainError;
use crate::head::Head;

/// GraphStorm's default `alpha` and `gamma` of the focal loss.
const FOCAL_DEFAULTS: (f64, f64) = (0.25, 2.0);
/// GraphStorm's default `alpha` and `gamma` of the shrinkage loss.
const SHRINKAGE_DEFAULTS: (f64, f64) = (10.0, 0.2);

/// A node task's loss with its hyper-parameters.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum NodeLoss {
    /// Softmax cross-entropy over `[N, C]` logits and `[N]` class ids.
    CrossEntropy { class_weights: Option<Vec<f64>> },
    /// BCE-with-logits over `[N, C]` logits and `[N, C]` multi-hot labels.
    MultilabelBce {
        class_weights: Option<Vec<f64>>,
        pos_weights: Option<Vec<f64>>,
    },
    /// Sigmoid focal loss over `[N, 1]` logits and `[N]` labels in {0, 1}.
    Focal { alpha: f64, gamma: f64 },
    /// Mean squared error.
    Mse,
    /// `l² / (1 + exp(alpha · (gamma − l)))` with `l = |prediction − label|`, averaged.
    Shrinkage { alpha: f64, gamma: f64 },
}

fn config_error(message: String) -> TrainError {
    TrainError::Config(message)
}

impl NodeLoss {
    /// The loss a configuration asks for; combinations GraphStorm would silently ignore are
    /// refused, naming the key.
    pub(crate) fn from_config(c: &TrainConfig) -> Result<Self, TrainError> {
        let unused = |key: &str, applies: &str| {
            config_error(format!(
                "`{key}` is set but has no effect with this loss: it applies to {applies}; \
                 hint: remove `{key}`"
            ))
        };
        let params =
            |defaults: (f64, f64)| (c.alpha.unwrap_or(defaults.0), c.gamma.unwrap_or(defaults.1));
        match c.task_type {
            t if t.is_regression() => {
                for (key, set) in [
                    ("multilabel", c.multilabel),
                    ("multilabel_weights", c.multilabel_weights.is_some()),
                    (
                        "imbalance_class_weights",
                        c.imbalance_class_weights.is_some(),
                    ),
                ] {
                    if set {
                        return Err(unused(key, "classification"));
                    }
                }
                match c.regression_loss_func.as_str() {
                    "shrinkage" => {
                        let (alpha, gamma) = params(SHRINKAGE_DEFAULTS);
                        Ok(NodeLoss::Shrinkage { alpha, gamma })
                    }
                    _ => {
                        for (key, set) in
                            [("alpha", c.alpha.is_some()), ("gamma", c.gamma.is_some())]
                        {
                            if set {
                                return Err(unused(key, "regression_loss_func shrinkage"));
                            }
                        }
                        Ok(NodeLoss::Mse)
                    }
                }
            }
            _ => match c.class_loss_func.as_str() {
                "focal" => {
                    if !matches!(c.num_classes, Some(1 | 2)) {
                        return Err(config_error(format!(
                            "`class_loss_func` focal is a binary loss, but `num_classes` is {}; \
                             hint: set --num-classes 2 (labels 0 and 1), or use cross_entropy",
                            c.num_classes.map_or("unset".to_string(), |n| n.to_string())
                        )));
                    }
                    for (key, set) in [
                        ("multilabel", c.multilabel),
                        (
                            "imbalance_class_weights",
                            c.imbalance_class_weights.is_some(),
                        ),
                    ] {
                        if set {
                            return Err(unused(key, "class_loss_func cross_entropy"));
                        }
                    }
                    let (alpha, gamma) = params(FOCAL_DEFAULTS);
                    Ok(NodeLoss::Focal { alpha, gamma })
                }
                _ => {
                    for (key, set) in [("alpha", c.alpha.is_some()), ("gamma", c.gamma.is_some())] {
                        if set {
                            return Err(unused(key, "class_loss_func focal"));
                        }
                    }
                    if c.multilabel {
                        Ok(NodeLoss::MultilabelBce {
                            class_weights: c.imbalance_class_weights.clone(),
                            pos_weights: c.multilabel_weights.clone(),
                        })
                    } else {
                        Ok(NodeLoss::CrossEntropy {
                            class_weights: c.imbalance_class_weights.clone(),
                        })
                    }
                }
            },
        }
    }

    /// Model outputs per node: 1 for regression and focal loss, else `num_classes`.
    pub(crate) fn output_width(&self, num_classes: i64) -> i64 {
        match self {
            NodeLoss::Focal { .. } | NodeLoss::Mse | NodeLoss::Shrinkage { .. } => 1,
            NodeLoss::CrossEntropy { .. } | NodeLoss::MultilabelBce { .. } => num_classes,
        }
    }

    /// How classification logits are read (regression losses give `SingleLabel`, unused).
    pub(crate) fn head(&self) -> Head {
        match self {
            NodeLoss::Focal { .. } => Head::Binary,
            NodeLoss::MultilabelBce { .. } => Head::MultiLabel,
            _ => Head::SingleLabel,
        }
    }

    /// Whether labels are multi-hot rows (`[N, C]`) rather than one class id per node.
    pub(crate) fn multi_hot_labels(&self) -> bool {
        matches!(self, NodeLoss::MultilabelBce { .. })
    }

    /// The mean loss of `outputs` against `labels`.
    pub(crate) fn compute(&self, outputs: &Tensor, labels: &Tensor) -> Result<Tensor, TensorError> {
        let torch = |e: tch::TchError| TensorError::torch("loss", e);
        let device = outputs.device();
        let weights = |w: &Option<Vec<f64>>| w.as_deref().map(|w| weight_tensor(w, device));
        if outputs.size().first() != labels.size().first() {
            return Err(TensorError::new(
                "loss",
                format!(
                    "outputs {:?} and labels {:?} disagree on the batch size",
                    outputs.size(),
                    labels.size()
                ),
            ));
        }
        match self {
            NodeLoss::CrossEntropy { class_weights } => outputs
                .f_cross_entropy_loss::<Tensor>(
                    labels,
                    weights(class_weights),
                    tch::Reduction::Mean,
                    -100,
                    0.0,
                )
                .map_err(torch),
            NodeLoss::MultilabelBce {
                class_weights,
                pos_weights,
            } => {
                let target = labels.to_kind(Kind::Float);
                if target.size() != outputs.size() {
                    return Err(TensorError::new(
                        "loss",
                        format!(
                            "multilabel labels {:?} do not match the outputs {:?}; hint: a multilabel \
                             label field holds one 0/1 column per class",
                            target.size(),
                            outputs.size()
                        ),
                    ));
                }
                outputs
                    .f_binary_cross_entropy_with_logits::<Tensor>(
                        &target,
                        weights(class_weights),
                        weights(pos_weights),
                        tch::Reduction::Mean,
                    )
                    .map_err(torch)
            }
            NodeLoss::Focal { alpha, gamma } => {
                let inputs = outputs.reshape([-1]);
                let targets = labels.to_kind(Kind::Float).reshape([-1]);
                let ce = inputs
                    .f_binary_cross_entropy_with_logits::<Tensor>(
                        &targets,
                        None,
                        None,
                        tch::Reduction::None,
                    )
                    .map_err(torch)?;
                let p = inputs.sigmoid();
                let p_t: Tensor = &p * &targets + (1.0 - &p) * (1.0 - &targets);
                let one_minus_p_t: Tensor = 1.0 - &p_t;
                let modulating = one_minus_p_t.pow_tensor_scalar(*gamma);
                let mut loss = ce * modulating;
                if *alpha >= 0.0 {
                    let alpha_t: Tensor = &targets * *alpha + (1.0 - &targets) * (1.0 - *alpha);
                    loss = alpha_t * loss;
                }
                Ok(loss.mean(Kind::Float))
            }
            NodeLoss::Mse => {
                let target = labels.to_kind(Kind::Float).reshape(outputs.size());
                outputs
                    .f_mse_loss(&target, tch::Reduction::Mean)
                    .map_err(torch)
            }
            NodeLoss::Shrinkage { alpha, gamma } => {
                let target = labels.to_kind(Kind::Float).reshape(outputs.size());
                let diff = (outputs - target).abs();
                let numerator = diff.pow_tensor_scalar(2);
                let margin: Tensor = (*gamma - &diff) * *alpha;
                let denominator = margin.exp() + 1.0;
                Ok((numerator / denominator).mean(Kind::Float))
            }
        }
    }
}

fn weight_tensor(values: &[f64], device: Device) -> Tensor {
    let values: Vec<f32> = values.iter().map(|&v| v as f32).collect();
    Tensor::from_slice(&values).to_device(device)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LN2: f64 = std::f64::consts::LN_2;

    fn value(loss: &NodeLoss, outputs: &[f32], width: i64, labels: Tensor) -> f64 {
        let outputs = Tensor::from_slice(outputs).reshape([-1, width]);
        loss.compute(&outputs, &labels).unwrap().double_value(&[])
    }

    fn close(got: f64, want: f64) {
        assert!((got - want).abs() < 1e-6, "got {got}, want {want}");
    }

    #[test]
    fn cross_entropy_weights_each_node_by_its_class() {
        // Node 0: logits [ln 3, 0], class 0 -> p = 3/4. Node 1: logits [0, 0], class 1 -> p = 1/2.
        let outputs = [3f32.ln(), 0.0, 0.0, 0.0];
        let labels = || Tensor::from_slice(&[0i64, 1]);
        let plain = NodeLoss::CrossEntropy {
            class_weights: None,
        };
        close(
            value(&plain, &outputs, 2, labels()),
            ((4.0f64 / 3.0).ln() + LN2) / 2.0,
        );
        let weighted = NodeLoss::CrossEntropy {
            class_weights: Some(vec![1.0, 3.0]),
        };
        close(
            value(&weighted, &outputs, 2, labels()),
            ((4.0f64 / 3.0).ln() + 3.0 * LN2) / 4.0,
        );
    }

    #[test]
    fn multilabel_bce_takes_positive_and_class_weights() {
        // Logit 0 everywhere: each entry costs ln 2, positives times their positive weight.
        let outputs = [0f32, 0.0];
        let labels = || Tensor::from_slice(&[1f32, 0.0]).reshape([1, 2]);
        let plain = NodeLoss::MultilabelBce {
            class_weights: None,
            pos_weights: None,
        };
        close(value(&plain, &outputs, 2, labels()), LN2);
        let pos = NodeLoss::MultilabelBce {
            class_weights: None,
            pos_weights: Some(vec![3.0, 5.0]),
        };
        close(value(&pos, &outputs, 2, labels()), (3.0 * LN2 + LN2) / 2.0);
        let both = NodeLoss::MultilabelBce {
            class_weights: Some(vec![2.0, 1.0]),
            pos_weights: Some(vec![3.0, 5.0]),
        };
        close(value(&both, &outputs, 2, labels()), (6.0 * LN2 + LN2) / 2.0);
    }

    #[test]
    fn focal_loss_matches_torchvision_sigmoid_focal_loss() {
        let focal = NodeLoss::Focal {
            alpha: 0.25,
            gamma: 2.0,
        };
        // Logit 0, label 1: ln2 · (1/2)² · 0.25; label 0: ln2 · (1/2)² · 0.75.
        let labels = Tensor::from_slice(&[1i64, 0]);
        close(
            value(&focal, &[0.0, 0.0], 1, labels),
            (LN2 / 16.0 + 3.0 * LN2 / 16.0) / 2.0,
        );
        // Logit ln 3 (p = 3/4), label 1: ln(4/3) · (1/4)² · 0.25.
        let labels = Tensor::from_slice(&[1i64]);
        close(
            value(&focal, &[3f32.ln()], 1, labels),
            (4.0f64 / 3.0).ln() / 64.0,
        );
        // gamma 0 and alpha -1 give plain BCE.
        let bce = NodeLoss::Focal {
            alpha: -1.0,
            gamma: 0.0,
        };
        close(value(&bce, &[0.0], 1, Tensor::from_slice(&[1i64])), LN2);
    }

    #[test]
    fn shrinkage_loss_damps_small_errors() {
        let shrinkage = NodeLoss::Shrinkage {
            alpha: 10.0,
            gamma: 0.2,
        };
        // Errors 1 and 0: (1 / (1 + e^(10 · (0.2 − 1))) + 0) / 2.
        let labels = Tensor::from_slice(&[0f32, 0.0]).reshape([2, 1]);
        close(
            value(&shrinkage, &[1.0, 0.0], 1, labels),
            0.5 / (1.0 + (-8.0f64).exp()),
        );
        // A small error of 0.1 costs far less than its squared error 0.01.
        let labels = Tensor::from_slice(&[0f32]).reshape([1, 1]);
        close(
            value(&shrinkage, &[0.1], 1, labels),
            0.01 / (1.0 + (10.0f64 * 0.1).exp()),
        );
    }

    #[test]
    fn mismatched_batches_are_an_error() {
        let loss = NodeLoss::CrossEntropy {
            class_weights: None,
        };
        let outputs = Tensor::zeros([3, 2], (Kind::Float, Device::Cpu));
        let err = loss
            .compute(&outputs, &Tensor::from_slice(&[0i64]))
            .unwrap_err();
        assert!(err.to_string().contains("batch size"), "{err}");
    }
}
