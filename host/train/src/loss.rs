//! The host's built-in losses for node tasks.

use gs_config::TaskType;
use gs_tensor::{Kind, Tensor, TensorError, tch};

/// Cross-entropy over logits for classification, mean squared error for regression.
pub(crate) fn node_loss(
    task: TaskType,
    outputs: &Tensor,
    labels: &Tensor,
) -> Result<Tensor, TensorError> {
    let torch = |e: tch::TchError| TensorError::torch("loss", e);
    if task.is_regression() {
        let target = labels.to_kind(Kind::Float).reshape(outputs.size());
        outputs
            .f_mse_loss(&target, tch::Reduction::Mean)
            .map_err(torch)
    } else {
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
        outputs
            .f_cross_entropy_loss::<Tensor>(labels, None, tch::Reduction::Mean, -100, 0.0)
            .map_err(torch)
    }
}
