//! Predictions in GraphStorm's remapped layout (`<dir>/<ntype>/predict-00000_00000.parquet`).

use std::path::Path;

use anyhow::Context;
use gs_config::LaunchOptions;
use gs_graph::{HeteroGraph, RawId};
use gs_output::{NodeIds, OutputOptions, Values, write_node_predictions};
use gs_tensor::Kind;
use gs_train::InferenceOutput;

/// Write `output` under `dir` with raw node ids when the graph has them (GraphStorm's
/// `remap_result`); returns the number of files written.
pub(crate) fn write(
    dir: &Path,
    graph: &HeteroGraph,
    output: &InferenceOutput,
    launch: &LaunchOptions,
) -> anyhow::Result<usize> {
    let (ints, strings) = raw_ids(graph, &output.node_type, &output.ids);
    let ids = if strings.is_empty() {
        NodeIds::Int(&ints)
    } else {
        NodeIds::Raw(&strings)
    };
    let width = output.outputs.size().get(1).copied().unwrap_or(1).max(1) as usize;
    let data = Vec::<f32>::try_from(output.outputs.to_kind(Kind::Float).flatten(0, -1))
        .context("cannot read the predictions")?;
    let options = OutputOptions {
        chunk_size: launch.output_chunk_size.max(1) as usize,
        ..OutputOptions::default()
    };
    let files = write_node_predictions(
        dir,
        &[(
            output.node_type.as_str(),
            ids,
            Values::F32 { data: &data, width },
        )],
        &options,
    )
    .with_context(|| format!("cannot write predictions to `{}`", dir.display()))?;
    Ok(files.len())
}

/// The raw ids of `ids` of `node_type` (GraphStorm's `remap_result`): integers, or strings when
/// the graph's raw ids are strings (then the integer list is empty); the graph's own ids when
/// it has no raw-id mapping.
pub(crate) fn raw_ids(
    graph: &HeteroGraph,
    node_type: &str,
    ids: &[u64],
) -> (Vec<i64>, Vec<String>) {
    match graph.raw_ids(node_type) {
        Some(raw) if !raw.is_int() => (
            vec![],
            ids.iter()
                .map(|&id| raw.get_string(id).unwrap_or_else(|| id.to_string()))
                .collect(),
        ),
        Some(raw) => (
            ids.iter()
                .map(|&id| match raw.get(id) {
                    Some(RawId::Int(v)) => v,
                    _ => id as i64,
                })
                .collect(),
            vec![],
        ),
        None => (ids.iter().map(|&id| id as i64).collect(), vec![]),
    }
}
