//! Checks of every tensor a plugin returns, before a host op touches it: the target
//! embeddings of `forward` (when the host decodes), the outputs of `decode` (for target nodes,
//! target edges or link-prediction pairs), the loss of `loss`. A wrong shape or dtype ends the run with an error naming the plugin, the export,
//! the expected and the actual shape, instead of a crash in the host's decoder, loss, metrics
//! or prediction writer.

use gs_batch::{BatchData, DecodeTargets, Task};
use gs_runtime::{PluginError, PluginFailure, PluginInstance};
use gs_tensor::{Kind, Tensor};

use crate::TrainError;

/// The shapes a task expects of a plugin's outputs, per target node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ExpectedOutputs {
    /// Width of the target embeddings the host's decoder reads (`out_emb_size`, else
    /// `hidden_size`).
    pub(crate) hidden: i64,
    /// Width of the task outputs: `num_classes` logits, or 1 for regression.
    pub(crate) width: i64,
}

/// Number of target nodes of `batch`: the last layer's destination nodes of the target type,
/// or, without layers, the target type's input rows.
pub(crate) fn target_rows(batch: &BatchData) -> Option<i64> {
    let target = &batch.target_node_type;
    match batch.layers.last() {
        Some(layer) => Some(layer.num_dst.get(target).copied().unwrap_or(0)),
        None => batch
            .input_features
            .get(target)
            .and_then(|t| t.size().first().copied()),
    }
}

impl ExpectedOutputs {
    /// The target embeddings `forward` returned for the host's decoder: f32 `[targets, hidden]`.
    pub(crate) fn check_embeddings(
        &self,
        plugin: &PluginInstance,
        batch: &BatchData,
        embeddings: &Tensor,
    ) -> Result<(), TrainError> {
        let what = format!(
            "the embeddings of the target node type `{}`",
            batch.target_node_type
        );
        let hint = "`forward` returns [targets, out_emb_size (else hidden_size)] f32 embeddings \
                    of the last layer's destination nodes when the host decodes";
        check(
            plugin,
            "forward",
            &what,
            embeddings,
            &[target_rows(batch), Some(self.hidden)],
            hint,
        )
    }

    /// The outputs `decode` returned: f32 `[targets, width]`.
    pub(crate) fn check_decoded(
        &self,
        plugin: &PluginInstance,
        batch: &BatchData,
        outputs: &Tensor,
    ) -> Result<(), TrainError> {
        let hint = "`decode` returns one row per target node: [targets, num_classes] f32 logits \
                    for classification, [targets, 1] for regression";
        check(
            plugin,
            "decode",
            "its outputs",
            outputs,
            &[target_rows(batch), Some(self.width)],
            hint,
        )
    }
}

/// The outputs `decode` returned for the target edges of an edge task (`[E, width]`) or one
/// edge type's pairs of link prediction (`[P, 1 + K]`), as `wit/model.wit` documents them.
pub(crate) fn check_decoded_targets(
    plugin: &PluginInstance,
    task: Task,
    targets: &DecodeTargets,
    width: i64,
    outputs: &Tensor,
) -> Result<(), TrainError> {
    let Some([rows, columns]) = targets.decoded_shape(width) else {
        return Ok(());
    };
    let (what, hint) = match targets {
        DecodeTargets::Pairs(_) => (
            format!("its scores for task `{}`", task.as_str()),
            "for link prediction `decode` returns [P, 1 + K] f32 scores for `batch.lp-pairs`: \
             column 0 the P positive pairs, columns 1 to K each positive's K negatives"
                .to_string(),
        ),
        _ => (
            format!("its outputs for task `{}`", task.as_str()),
            format!(
                "for edge tasks `decode` returns one row per edge of `batch.target-edges` \
                 (E = {rows}): [E, num_classes] f32 logits for classification, [E, 1] for \
                 regression"
            ),
        ),
    };
    check(
        plugin,
        "decode",
        &what,
        outputs,
        &[Some(rows), Some(columns)],
        &hint,
    )
}

/// The loss `loss` returned: one f32 value (shape `[]` or `[1]`) that, when `outputs` need a
/// gradient, depends on them.
pub(crate) fn check_loss(
    plugin: &PluginInstance,
    outputs: &Tensor,
    loss: &Tensor,
) -> Result<(), TrainError> {
    let hint = "`loss` returns the batch's mean loss as one f32 value (shape [] or [1]) \
                computed from its outputs argument";
    let shape = loss.size();
    if loss.kind() != Kind::Float || !(shape.is_empty() || shape == [1]) {
        return Err(failure(
            plugin,
            "loss",
            format!(
                "it returned a tensor of dtype {} and shape {shape:?} as the loss, expected one \
                 f32 value (shape [] or [1])\nhint: {hint}",
                kind_name(loss.kind())
            ),
        ));
    }
    if outputs.requires_grad() && !loss.requires_grad() {
        return Err(failure(
            plugin,
            "loss",
            format!(
                "it returned a loss that does not depend on the outputs (no gradient flows \
                 back to the model)\nhint: {hint}"
            ),
        ));
    }
    Ok(())
}

/// `tensor` must be f32 with `dims` dimensions, each the given size where known.
fn check(
    plugin: &PluginInstance,
    export: &'static str,
    what: &str,
    tensor: &Tensor,
    dims: &[Option<i64>],
    hint: &str,
) -> Result<(), TrainError> {
    let shape = tensor.size();
    let shape_fits = shape.len() == dims.len()
        && shape
            .iter()
            .zip(dims)
            .all(|(&actual, expected)| expected.is_none_or(|e| e == actual));
    if shape_fits && tensor.kind() == Kind::Float {
        return Ok(());
    }
    let expected: Vec<String> = dims
        .iter()
        .map(|d| d.map_or_else(|| "_".to_string(), |d| d.to_string()))
        .collect();
    Err(failure(
        plugin,
        export,
        format!(
            "it returned {what} as a tensor of dtype {} and shape {shape:?}, expected f32 [{}]\n\
             hint: {hint}",
            kind_name(tensor.kind()),
            expected.join(", ")
        ),
    ))
}

fn kind_name(kind: Kind) -> String {
    match kind {
        Kind::Float => "f32".into(),
        Kind::Double => "f64".into(),
        Kind::Int64 => "i64".into(),
        Kind::Int => "i32".into(),
        Kind::Bool => "boolean".into(),
        other => format!("{other:?}"),
    }
}

fn failure(plugin: &PluginInstance, export: &'static str, message: String) -> TrainError {
    TrainError::Plugin(PluginError::Failed {
        plugin: plugin.info().name.clone(),
        version: plugin.info().version.clone(),
        export,
        failure: PluginFailure::Host(message),
    })
}
