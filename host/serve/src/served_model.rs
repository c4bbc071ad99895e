//! The model a server holds, loaded once: the checkpoint (digests checked), its plugin
//! compiled once, `serving.json`, the resolved configuration, the fitted transforms and the
//! learnable embedding tables with their raw ids. Workers instantiate the plugin from it
//! ([`crate::Predictor`]).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use anyhow::{Context, bail};
use gs_config::{Resolved, TaskType};
use gs_gconstruct::TransformTarget;
use gs_runtime::{CacheLocation, Plugin, PluginEngine};
use gs_tensor::{Device, Tensor};
use gs_train::checkpoint::{self, LoadedCheckpoint};
use gs_train::serving::{SERVING_FILE, ServingRecord};
use serde_json::Value;

use crate::model_dir::ModelDir;
use crate::transforms::Transforms;

/// What a node of a learnable type that training never saw, and whose payload gives no
/// `gs_learnable_embedding`, gets (`--unseen-node-embedding`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UnseenNodeEmbedding {
    /// The request is refused (404, naming the node).
    #[default]
    Error,
    /// Zeros.
    Zero,
    /// The mean of the embeddings of its neighbours in the payload that have one; when none
    /// has, the mean of its type's trained embeddings.
    MeanOfNeighbours,
}

impl UnseenNodeEmbedding {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "error" => Some(Self::Error),
            "zero" => Some(Self::Zero),
            "mean-of-neighbours" | "mean-of-neighbors" => Some(Self::MeanOfNeighbours),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Error => "error",
            Self::Zero => "zero",
            Self::MeanOfNeighbours => "mean-of-neighbours",
        }
    }
}

/// How to load a model for serving.
#[derive(Debug, Clone, Default)]
pub struct ServeOptions {
    pub unseen_node_embedding: UnseenNodeEmbedding,
    /// The compiled-component cache.
    pub component_cache: Option<CacheLocation>,
}

/// A learnable node type's table and the row of each raw id.
pub(crate) struct LearnableTable {
    /// `[rows, dim]` float32 on the CPU.
    pub(crate) table: Tensor,
    pub(crate) rows: HashMap<String, i64>,
    /// The mean of the table's rows.
    pub(crate) mean: Vec<f32>,
}

/// Tensors every worker reads and none writes.
pub(crate) struct ReadOnly<T>(pub(crate) T);

// SAFETY: `tch::Tensor` is `Send` but not `Sync` only because it wraps a raw pointer. Workers
// only read these tensors (`shallow_clone`, `get`, copies out of them); libtorch's reference
// counts are atomic and concurrent reads of a tensor's storage are safe.
unsafe impl<T: Send> Sync for ReadOnly<T> {}

/// A model ready to serve.
pub struct ServedModel {
    pub record: ServingRecord,
    pub resolved: Resolved,
    pub(crate) checkpoint: ReadOnly<LoadedCheckpoint>,
    pub(crate) plugin: Plugin,
    pub(crate) transforms: Option<Transforms>,
    pub(crate) learnable: ReadOnly<BTreeMap<String, LearnableTable>>,
    /// The input features of each node type in a request's subgraph, in order: the record's,
    /// then `gs_learnable_embedding` for a learnable type.
    pub(crate) node_features: BTreeMap<String, Vec<String>>,
    pub options: ServeOptions,
    pub device: Device,
}

impl ServedModel {
    /// Loads `dir` for serving on the CPU.
    pub fn load(dir: &ModelDir, options: ServeOptions) -> anyhow::Result<Self> {
        let checkpoint = checkpoint::load(&dir.checkpoint)?;
        let record_path = dir.root.join(SERVING_FILE);
        let text = std::fs::read_to_string(&record_path).with_context(|| {
            format!(
                "cannot read `{}`, which serving needs; hint: training writes it beside the \
                 checkpoints since gs 0.1 (`gs model import` too): train or import the model \
                 again",
                record_path.display()
            )
        })?;
        let record: ServingRecord = serde_json::from_str(&text)
            .with_context(|| format!("`{}` is not a serving record", record_path.display()))?;
        let argv = [
            "--num-trainers".to_string(),
            "1".to_string(),
            "--part-config".to_string(),
            record_path.display().to_string(),
        ];
        let resolved =
            gs_config::resolve(&argv, Some(&checkpoint.meta.config)).with_context(|| {
                format!(
                    "cannot resolve `{}`'s configuration",
                    dir.checkpoint.display()
                )
            })?;
        let transforms = Transforms::load(&dir.root, &record)?;
        let node_features = node_features(&record);
        let learnable = learnable_tables(&record, &checkpoint)?;
        let engine = PluginEngine::new(options.component_cache.clone())?;
        let source = format!(
            "{} (from {})",
            checkpoint.meta.plugin.name,
            dir.checkpoint.display()
        );
        let plugin = engine.load_bytes(&source, &checkpoint.plugin_bytes)?;
        Ok(Self {
            record,
            resolved,
            checkpoint: ReadOnly(checkpoint),
            plugin,
            transforms,
            learnable: ReadOnly(learnable),
            node_features,
            options,
            device: Device::Cpu,
        })
    }

    /// The task the model was trained for.
    pub fn task(&self) -> TaskType {
        self.resolved.train.task_type
    }

    /// The transform config and columns of feature `name` of `target`, when it has a
    /// fitted transform.
    pub(crate) fn transform(
        &self,
        target: &TransformTarget,
        name: &str,
    ) -> Option<(&Value, &[String])> {
        self.transforms.as_ref()?.of(target, name)
    }

    /// The checkpoint served.
    pub fn checkpoint_dir(&self) -> &Path {
        &self.checkpoint.0.dir
    }
}

/// The input features of each node type of a request's subgraph, in order: the record's
/// features, then the learnable embedding where the type has one.
fn node_features(record: &ServingRecord) -> BTreeMap<String, Vec<String>> {
    record
        .node_types
        .iter()
        .map(|n| {
            let mut names: Vec<String> = n.features.iter().map(|f| f.name.clone()).collect();
            if n.learnable_ids.is_some() {
                names.push(crate::subgraph::LEARNABLE_FEATURE.to_string());
            }
            (n.name.clone(), names)
        })
        .collect()
}

/// The learnable embedding tables of the checkpoint, with the row of each raw id.
fn learnable_tables(
    record: &ServingRecord,
    checkpoint: &LoadedCheckpoint,
) -> anyhow::Result<BTreeMap<String, LearnableTable>> {
    let mut tables = gs_train::serving::learnable_tables(&checkpoint.weights);
    let mut out = BTreeMap::new();
    for n in &record.node_types {
        let Some(ids) = &n.learnable_ids else {
            continue;
        };
        let table = tables.remove(&n.name).with_context(|| {
            format!(
                "`{}` holds no learnable embeddings of node type `{}`, which `serving.json` \
                 gives one",
                checkpoint.dir.display(),
                n.name
            )
        })?;
        if table.size().first().copied() != Some(ids.len() as i64) {
            bail!(
                "the learnable embeddings of `{}` have {:?} rows, and `serving.json` lists {} \
                 ids",
                n.name,
                table.size(),
                ids.len()
            );
        }
        let rows = ids
            .iter()
            .enumerate()
            .map(|(i, id)| (id.clone(), i as i64))
            .collect();
        let table = table.to_kind(gs_tensor::Kind::Float);
        let mean = Vec::<f32>::try_from(table.mean_dim(0, false, gs_tensor::Kind::Float))?;
        out.insert(n.name.clone(), LearnableTable { table, rows, mean });
    }
    Ok(out)
}
