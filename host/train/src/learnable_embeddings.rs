//! Learnable node embeddings: one host-owned table per node type (`[num_nodes, hidden_size]`,
//! GraphStorm's sparse embeddings for featureless node types and `use_node_embeddings`),
//! appended to the batch's input features before a plugin sees them, and updated after each
//! backward by a sparse Adam on the rows the batch touched (DGL's `SparseAdam`, learning rate
//! `sparse_optimizer_lr`). The plugin never owns them: checkpoints store the tables as
//! `sparse_embed/<ntype>` weights and the optimizer state as `sparse_adam/<ntype>/…`.

use std::collections::BTreeMap;

use gs_batch::BatchData;
use gs_config::TrainConfig;
use gs_tensor::{Device, Init, Kind, Tensor, TensorError, init_param, tch};

use crate::FeatureSpec;

/// Checkpoint prefix of the tables (GraphStorm's `restore_model_layers` name).
pub(crate) const TABLE_PREFIX: &str = "sparse_embed/";
/// Optimizer-state prefix of the sparse Adam.
const STATE_PREFIX: &str = "sparse_adam/";

/// DGL's `SparseAdam` defaults.
const BETA1: f64 = 0.9;
const BETA2: f64 = 0.999;
const EPS: f64 = 1e-8;

/// One node type's table and its Adam state, row for row.
struct Table {
    weight: Tensor,
    /// `[N]` float32: optimizer steps taken by each row.
    step: Tensor,
    /// `[N, dim]` first and second moments.
    mem: Tensor,
    power: Tensor,
}

/// Rows a training forward looked up, kept until the optimizer step reads their gradients.
struct Lookup {
    ntype: String,
    ids: Tensor,
    rows: Tensor,
}

/// The learnable node embeddings of a model (empty when no node type has one).
pub(crate) struct LearnableEmbeddings {
    tables: BTreeMap<String, Table>,
    lr: f64,
    pending: Vec<Lookup>,
}

impl LearnableEmbeddings {
    /// No tables: every node type has features and `use_node_embeddings` is off, or the
    /// caller appends the rows itself (serving).
    pub(crate) fn empty() -> Self {
        Self {
            tables: BTreeMap::new(),
            lr: 0.0,
            pending: vec![],
        }
    }

    /// Tables for the learnable node types of `features`, initialised uniformly in [-1, 1] as
    /// GraphStorm's `init_emb`, from `seed` and the node type's name.
    pub(crate) fn new(
        features: &FeatureSpec,
        lr: f64,
        seed: u64,
        device: Device,
    ) -> Result<Self, TensorError> {
        let dim = features.learnable_dim() as i64;
        let mut tables = BTreeMap::new();
        for (ntype, &num_nodes) in features.learnable_types() {
            let shape = [num_nodes as i64, dim];
            let weight = init_param(
                &format!("{TABLE_PREFIX}{ntype}"),
                &shape,
                Init::Uniform {
                    low: -1.0,
                    high: 1.0,
                },
                seed,
                device,
            )?
            .detach();
            let zeros = |shape: &[i64]| Tensor::zeros(shape, (Kind::Float, device));
            tables.insert(
                ntype.clone(),
                Table {
                    weight,
                    step: zeros(&[num_nodes as i64]),
                    mem: zeros(&shape),
                    power: zeros(&shape),
                },
            );
        }
        Ok(Self {
            tables,
            lr,
            pending: vec![],
        })
    }

    /// The tables a resolved configuration asks for, with `sparse_optimizer_lr` (default
    /// `lr`) and the run's seed.
    pub(crate) fn from_config(
        features: &FeatureSpec,
        config: &TrainConfig,
        device: Device,
    ) -> Result<Self, TensorError> {
        let lr = config.sparse_optimizer_lr.unwrap_or(config.lr);
        Self::new(features, lr, config.seed, device)
    }

    /// `batch` with each learnable node type's embedding rows appended to its input features
    /// (or as its input features, for a featureless type); `None` when there are no tables.
    /// With `train`, the rows are leaves that collect gradients for [`Self::step`].
    pub(crate) fn inputs(
        &mut self,
        batch: &BatchData,
        train: bool,
    ) -> Result<Option<BatchData>, TensorError> {
        if self.tables.is_empty() {
            return Ok(None);
        }
        let mut out = batch.shallow_clone();
        for (ntype, table) in &self.tables {
            let Some(ids) = batch.input_nodes.get(ntype) else {
                continue;
            };
            let rows = table
                .weight
                .f_index_select(0, ids)
                .map_err(|e| TensorError::torch("learnable embedding lookup", e))?;
            let rows = if train {
                let rows = rows.set_requires_grad(true);
                self.pending.push(Lookup {
                    ntype: ntype.clone(),
                    ids: ids.shallow_clone(),
                    rows: rows.shallow_clone(),
                });
                rows
            } else {
                rows
            };
            let features = match batch.input_features.get(ntype) {
                Some(x) => Tensor::cat(&[x.shallow_clone(), rows], 1),
                None => rows,
            };
            out.input_features.insert(ntype.clone(), features);
        }
        Ok(Some(out))
    }

    /// One sparse Adam step on every row the batch's forward looked up, with DGL's
    /// per-row step counts; rows the loss did not reach are left alone.
    pub(crate) fn step(&mut self) -> Result<(), TensorError> {
        let torch = |e| TensorError::torch("sparse Adam step", e);
        let _guard = tch::no_grad_guard();
        for lookup in std::mem::take(&mut self.pending) {
            let grad = lookup.rows.grad();
            if !grad.defined() {
                continue;
            }
            let table = self
                .tables
                .get_mut(&lookup.ntype)
                .expect("lookups name existing tables");
            let ids = &lookup.ids;
            let step = table.step.f_index_select(0, ids).map_err(torch)? + 1.0;
            let mem =
                table.mem.f_index_select(0, ids).map_err(torch)? * BETA1 + &grad * (1.0 - BETA1);
            let power = table.power.f_index_select(0, ids).map_err(torch)? * BETA2
                + grad.square() * (1.0 - BETA2);
            let _ = table.step.f_index_copy_(0, ids, &step).map_err(torch)?;
            let _ = table.mem.f_index_copy_(0, ids, &mem).map_err(torch)?;
            let _ = table.power.f_index_copy_(0, ids, &power).map_err(torch)?;
            let step = step.unsqueeze(1);
            // 1 - beta^step, per row.
            let correction = |beta: f64| -> Tensor { 1.0 - (&step * beta.ln()).exp() };
            let mem_corrected: Tensor = mem / correction(BETA1);
            let power_corrected: Tensor = power / correction(BETA2);
            let update = mem_corrected / (power_corrected.sqrt() + EPS) * (-self.lr);
            let _ = table.weight.f_index_add_(0, ids, &update).map_err(torch)?;
        }
        Ok(())
    }

    /// Forget the lookups of a batch whose step will not run.
    pub(crate) fn discard_pending(&mut self) {
        self.pending.clear();
    }

    /// The tables as checkpoint weights, `sparse_embed/<ntype>`.
    pub(crate) fn named_tables(&self) -> Vec<(String, Tensor)> {
        self.tables
            .iter()
            .map(|(t, table)| (format!("{TABLE_PREFIX}{t}"), table.weight.shallow_clone()))
            .collect()
    }

    /// The sparse Adam state as checkpoint entries, `sparse_adam/<ntype>/{step,mem,power}`.
    pub(crate) fn optimizer_state(&self) -> Vec<(String, Tensor)> {
        let mut out = Vec::with_capacity(3 * self.tables.len());
        for (t, table) in &self.tables {
            for (part, value) in [
                ("step", &table.step),
                ("mem", &table.mem),
                ("power", &table.power),
            ] {
                out.push((format!("{STATE_PREFIX}{t}/{part}"), value.shallow_clone()));
            }
        }
        out
    }

    /// Overwrite the tables from checkpoint weights. Every table must be there with its shape.
    pub(crate) fn load_tables(&mut self, saved: &[(String, Tensor)]) -> Result<(), TensorError> {
        for (t, table) in &mut self.tables {
            let key = format!("{TABLE_PREFIX}{t}");
            copy_saved(saved, &key, &mut table.weight, || {
                format!(
                    "the checkpoint has no learnable embeddings `{key}` for node type `{t}`, which \
                     this configuration gives them (it has no features, or `use_node_embeddings` \
                     is on); hint: use the `node_feat_name` and `use_node_embeddings` the model was \
                     trained with"
                )
            })?;
        }
        if let Some((name, _)) = saved.iter().find(|(n, _)| {
            n.strip_prefix(TABLE_PREFIX)
                .is_some_and(|t| !self.tables.contains_key(t))
        }) {
            return Err(TensorError::new(
                "load",
                format!(
                    "the checkpoint has learnable embeddings `{name}`, which this configuration \
                     does not use; hint: use the `node_feat_name` and `use_node_embeddings` the \
                     model was trained with"
                ),
            ));
        }
        Ok(())
    }

    /// Restore the sparse Adam state saved by [`Self::optimizer_state`].
    pub(crate) fn load_optimizer_state(
        &mut self,
        saved: &[(String, Tensor)],
    ) -> Result<(), TensorError> {
        for (t, table) in &mut self.tables {
            for (part, slot) in [
                ("step", &mut table.step),
                ("mem", &mut table.mem),
                ("power", &mut table.power),
            ] {
                let key = format!("{STATE_PREFIX}{t}/{part}");
                copy_saved(saved, &key, slot, || {
                    format!("optimizer state lacks `{key}` (learnable embeddings of `{t}`)")
                })?;
            }
        }
        Ok(())
    }
}

/// Copy the saved tensor `key` into `slot`, which must have its shape.
fn copy_saved(
    saved: &[(String, Tensor)],
    key: &str,
    slot: &mut Tensor,
    missing: impl FnOnce() -> String,
) -> Result<(), TensorError> {
    let value = saved
        .iter()
        .find(|(n, _)| n == key)
        .map(|(_, t)| t)
        .ok_or_else(|| TensorError::new("load", missing()))?;
    if value.size() != slot.size() {
        return Err(TensorError::new(
            "load",
            format!(
                "`{key}` has shape {:?} in the checkpoint, but this graph and configuration need \
                 {:?}; hint: restore a model trained on this graph with the same hidden_size",
                value.size(),
                slot.size()
            ),
        ));
    }
    let _guard = tch::no_grad_guard();
    slot.f_copy_(value)
        .map_err(|e| TensorError::new("load", format!("`{key}`: {e}")))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn embeddings(num_nodes: u64, dim: usize, lr: f64) -> LearnableEmbeddings {
        let spec = FeatureSpec::learnable_only(&[("user", num_nodes)], dim);
        LearnableEmbeddings::new(&spec, lr, 7, Device::Cpu).unwrap()
    }

    fn batch(ids: &[i64], features: Option<Tensor>) -> BatchData {
        BatchData {
            input_nodes: BTreeMap::from([("user".to_string(), Tensor::from_slice(ids))]),
            input_features: features
                .map(|f| BTreeMap::from([("user".to_string(), f)]))
                .unwrap_or_default(),
            ..Default::default()
        }
    }

    fn table(e: &LearnableEmbeddings) -> Tensor {
        e.named_tables()[0].1.copy()
    }

    #[test]
    fn rows_are_appended_to_features_and_initialised_in_minus_one_one() {
        let mut e = embeddings(10, 4, 0.1);
        let before = table(&e);
        assert!(before.abs().max().double_value(&[]) <= 1.0);
        assert!(
            before.std(true).double_value(&[]) > 0.3,
            "uniform in [-1, 1]"
        );
        let features = Tensor::ones([2, 3], (Kind::Float, Device::Cpu));
        let out = e
            .inputs(&batch(&[3, 7], Some(features)), false)
            .unwrap()
            .unwrap();
        let x = &out.input_features["user"];
        assert_eq!(x.size(), [2, 7]);
        assert_eq!(x.narrow(1, 0, 3).sum(Kind::Float).double_value(&[]), 6.0);
        let expected = before.index_select(0, &Tensor::from_slice(&[3i64, 7]));
        assert!(x.narrow(1, 3, 4).equal(&expected));
    }

    #[test]
    fn the_sparse_step_matches_dense_adam_on_the_touched_rows_only() {
        let lr = 0.05;
        let mut e = embeddings(6, 3, lr);
        let before = table(&e);
        // Two steps on rows {1, 4}, then one on {4}: per-row step counts differ.
        for ids in [&[1i64, 4][..], &[1, 4], &[4]] {
            let out = e.inputs(&batch(ids, None), true).unwrap().unwrap();
            let loss = out.input_features["user"].square().sum(Kind::Float);
            loss.backward();
            e.step().unwrap();
        }
        let after = table(&e);
        // Untouched rows keep their values exactly.
        for row in [0i64, 2, 3, 5] {
            assert!(after.get(row).equal(&before.get(row)), "row {row} moved");
        }
        // Row 1 took two Adam steps on loss x², row 4 three: replay them densely.
        let replay = |x0: &Tensor, steps: i32| {
            let mut x = x0.copy();
            let (mut m, mut v) = (x.zeros_like(), x.zeros_like());
            for t in 1..=steps {
                let g = &x * 2.0;
                m = &m * BETA1 + &g * (1.0 - BETA1);
                v = &v * BETA2 + g.square() * (1.0 - BETA2);
                let mh = &m / (1.0 - BETA1.powi(t));
                let vh = &v / (1.0 - BETA2.powi(t));
                x = &x - mh / (vh.sqrt() + EPS) * lr;
            }
            x
        };
        for (row, steps) in [(1i64, 2), (4, 3)] {
            let expected = replay(&before.get(row), steps);
            let diff = (after.get(row) - expected).abs().max().double_value(&[]);
            assert!(diff < 1e-6, "row {row}: {diff}");
            assert!(!after.get(row).equal(&before.get(row)));
        }
    }

    #[test]
    fn a_checkpoint_round_trip_restores_tables_and_state_and_refuses_strangers() {
        let mut e = embeddings(5, 2, 0.1);
        let out = e.inputs(&batch(&[0, 2], None), true).unwrap().unwrap();
        out.input_features["user"].sum(Kind::Float).backward();
        e.step().unwrap();
        let (tables, state) = (e.named_tables(), e.optimizer_state());
        let mut fresh = embeddings(5, 2, 0.1);
        fresh.load_tables(&tables).unwrap();
        fresh.load_optimizer_state(&state).unwrap();
        assert!(table(&fresh).equal(&table(&e)));
        assert!(fresh.optimizer_state()[0].1.equal(&state[0].1));

        let mut other = embeddings(6, 2, 0.1);
        let err = other.load_tables(&tables).unwrap_err().to_string();
        assert!(
            err.contains("sparse_embed/user") && err.contains("[6, 2]"),
            "{err}"
        );
        let err = LearnableEmbeddings::empty()
            .load_tables(&tables)
            .unwrap_err()
            .to_string();
        assert!(err.contains("does not use"), "{err}");
        let err = fresh.load_tables(&[]).unwrap_err().to_string();
        assert!(
            err.contains("no learnable embeddings `sparse_embed/user`"),
            "{err}"
        );
    }
}
