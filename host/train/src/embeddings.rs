//! Node embeddings for `save_embed_path`: the encoder's output for target nodes, computed in
//! evaluation batches with `eval_fanout` (GraphStorm's mini-batch inference).

use gs_graph::NodeId;
use gs_tensor::{Device, Kind, Tensor, tch};

use crate::{NodeTask, Progress, TaskModel, TrainError};

/// Embeddings of `ids`, `[ids.len(), hidden]` on the CPU, with the ids in row order.
pub(crate) fn node_embeddings(
    task: &NodeTask,
    model: &mut TaskModel,
    ids: &[NodeId],
    progress: &mut dyn Progress,
) -> Result<(Vec<NodeId>, Tensor), TrainError> {
    let _guard = tch::no_grad_guard();
    let config = task.config();
    let (count, batches) = task.node_batches(
        ids.to_vec(),
        config.eval_batch_size,
        task.eval_sampler()?,
        false,
        0,
        false,
    )?;
    progress.eval_start("embed", count);
    let (mut seen, mut rows) = (Vec::new(), Vec::new());
    for batch in batches {
        let batch = batch?.to_device(task.device());
        let h = model.target_embeddings(&batch.data)?;
        if h.dim() != 2 || h.size()[0] != batch.seeds.len() as i64 {
            return Err(TrainError::Config(format!(
                "the model's `forward` returned target embeddings of shape {:?} for {} nodes; \
                 expected [{}, hidden]",
                h.size(),
                batch.seeds.len(),
                batch.seeds.len()
            )));
        }
        rows.push(h.detach().to_kind(Kind::Float).to_device(Device::Cpu));
        seen.extend_from_slice(&batch.seeds);
        progress.eval_batch_done();
    }
    let embeddings = if rows.is_empty() {
        Tensor::zeros(
            [0, i64::from(config.embedding_size())],
            (Kind::Float, Device::Cpu),
        )
    } else {
        Tensor::cat(&rows, 0)
    };
    Ok((seen, embeddings))
}
