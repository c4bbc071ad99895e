//! Edge-task outputs: predictions in GraphStorm's remapped layout
//! (`<dir>/<src>_<rel>_<dst>/pred.predict-00000_00000.parquet`, columns `pred`, `src_nid`,
//! `dst_nid`, with raw node ids) and the endpoint types' node embeddings.

use std::path::Path;

use anyhow::Context;
use gs_config::LaunchOptions;
use gs_output::{NodeIds, Values, write_edge_predictions};
use gs_tensor::Kind;
use gs_train::{EdgeInferenceOutput, EdgeTask, NoProgress, TaskModel};

use crate::Frontend;
use crate::outputs::node_embeddings::write_embedding_rows;
use crate::outputs::node_predictions::{NodeRows, output_options, raw_ids};

/// Writes the predictions of an edge inference run under `dir`; returns the number of files.
pub(crate) fn write_predictions(
    dir: &Path,
    task: &EdgeTask,
    output: &EdgeInferenceOutput,
    launch: &LaunchOptions,
) -> anyhow::Result<usize> {
    let et = &output.etype;
    let (src_ints, src_strings) = raw_ids(task.graph(), &et.src, &output.src);
    let (dst_ints, dst_strings) = raw_ids(task.graph(), &et.dst, &output.dst);
    let width = output.outputs.size().get(1).copied().unwrap_or(1).max(1) as usize;
    let data = Vec::<f32>::try_from(output.outputs.to_kind(Kind::Float).flatten(0, -1))
        .context("cannot read the predictions")?;
    let rows = [(
        [et.src.as_str(), et.rel.as_str(), et.dst.as_str()],
        ids(&src_ints, &src_strings),
        ids(&dst_ints, &dst_strings),
        Values::F32 { data: &data, width },
    )];
    let files = write_edge_predictions(dir, &rows, &output_options(launch))
        .with_context(|| format!("cannot write predictions to `{}`", dir.display()))?;
    Ok(files.len())
}

/// Writes the embeddings of every node of the target edge type's endpoint types to `dir`.
pub(crate) fn write_embeddings(
    dir: &Path,
    task: &EdgeTask,
    model: &mut TaskModel,
    launch: &LaunchOptions,
    frontend: &mut dyn Frontend,
) -> anyhow::Result<()> {
    let mut all = Vec::new();
    for ntype in task.embedding_node_types() {
        let (ids, rows) = task.node_embeddings(model, &ntype, &mut NoProgress)?;
        all.push(NodeRows::new(
            task.graph(),
            &ntype,
            &ids,
            &rows,
            "embeddings",
        )?);
    }
    write_embedding_rows(dir, &all, launch, frontend)?;
    Ok(())
}

fn ids<'a>(ints: &'a [i64], strings: &'a [String]) -> NodeIds<'a> {
    if strings.is_empty() {
        NodeIds::Int(ints)
    } else {
        NodeIds::Raw(strings)
    }
}
