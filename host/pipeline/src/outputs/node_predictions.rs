//! Predictions in GraphStorm's remapped layout (`<dir>/<ntype>/predict-00000_00000.parquet`).

use std::path::Path;

use anyhow::Context;
use gs_config::LaunchOptions;
use gs_graph::{HeteroGraph, NodeId, RawId};
use gs_output::{NodeIds, OutputOptions, Values, write_node_predictions};
use gs_tensor::{Kind, Tensor};
use gs_train::InferenceOutput;

/// One node type's output rows, owned: raw ids and a `[rows, width]` float matrix, ready to be
/// handed to gs-output.
pub(crate) struct NodeRows {
    node_type: String,
    ints: Vec<i64>,
    strings: Vec<String>,
    data: Vec<f32>,
    width: usize,
}

impl NodeRows {
    /// The rows `values` (`[ids.len(), width]`) of `ids` of `node_type`, with raw ids; `what`
    /// names the values in errors.
    pub(crate) fn new(
        graph: &HeteroGraph,
        node_type: &str,
        ids: &[NodeId],
        values: &Tensor,
        what: &str,
    ) -> anyhow::Result<Self> {
        let (ints, strings) = raw_ids(graph, node_type, ids);
        let width = values.size().get(1).copied().unwrap_or(1).max(1) as usize;
        let data = Vec::<f32>::try_from(values.to_kind(Kind::Float).flatten(0, -1))
            .with_context(|| format!("cannot read the {what}"))?;
        Ok(Self {
            node_type: node_type.to_owned(),
            ints,
            strings,
            data,
            width,
        })
    }

    /// The predictions of an inference run.
    pub(crate) fn of_predictions(
        graph: &HeteroGraph,
        output: &InferenceOutput,
    ) -> anyhow::Result<Self> {
        Self::new(
            graph,
            &output.node_type,
            &output.ids,
            &output.outputs,
            "predictions",
        )
    }

    /// Number of nodes.
    pub(crate) fn len(&self) -> usize {
        self.ints.len().max(self.strings.len())
    }

    /// The `(node type, ids, values)` entry gs-output writes.
    pub(crate) fn entry(&self) -> (&str, NodeIds<'_>, Values<'_>) {
        let ids = if self.strings.is_empty() {
            NodeIds::Int(&self.ints)
        } else {
            NodeIds::Raw(&self.strings)
        };
        let values = Values::F32 {
            data: &self.data,
            width: self.width,
        };
        (&self.node_type, ids, values)
    }
}

/// The output options of `launch` (`output_chunk_size` rows per file).
pub(crate) fn output_options(launch: &LaunchOptions) -> OutputOptions {
    OutputOptions {
        chunk_size: launch.output_chunk_size.max(1) as usize,
        ..OutputOptions::default()
    }
}

/// Write `output` under `dir` with raw node ids when the graph has them (GraphStorm's
/// `remap_result`); returns the number of files written.
pub(crate) fn write(
    dir: &Path,
    graph: &HeteroGraph,
    output: &InferenceOutput,
    launch: &LaunchOptions,
) -> anyhow::Result<usize> {
    let rows = NodeRows::of_predictions(graph, output)?;
    let files = write_node_predictions(dir, &[rows.entry()], &output_options(launch))
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
