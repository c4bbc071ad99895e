//! Predictions in GraphStorm's remapped layout (`<dir>/<ntype>/predict-00000_00000.parquet`).

use std::path::Path;

use anyhow::Context;
use gs_config::LaunchOptions;
use gs_output::{NodeIds, OutputOptions, Values, write_node_predictions};
use gs_tensor::Kind;
use gs_train::InferenceOutput;

/// Write `output` under `dir`; returns the number of files written.
pub(crate) fn write(dir: &Path, output: &InferenceOutput, launch: &LaunchOptions) -> anyhow::Result<usize> {
    let ids: Vec<i64> = output.ids.iter().map(|&id| id as i64).collect();
    let width = output.outputs.size().get(1).copied().unwrap_or(1).max(1) as usize;
    let data = Vec::<f32>::try_from(output.outputs.to_kind(Kind::Float).flatten(0, -1))
        .context("cannot read the predictions")?;
    let options = OutputOptions { chunk_size: launch.output_chunk_size.max(1) as usize, ..OutputOptions::default() };
    let files = write_node_predictions(
        dir,
        &[(output.node_type.as_str(), NodeIds::Int(&ids), Values::F32 { data: &data, width })],
        &options,
    )
    .with_context(|| format!("cannot write predictions to `{}`", dir.display()))?;
    Ok(files.len())
}
