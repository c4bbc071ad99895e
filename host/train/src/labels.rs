//! Labels checked before training: their dtype, their shape and their values against the task
//! and `num_classes`, so a bad label field ends with an error naming the field, the node type,
//! the offending value and the fix, instead of a crash in batching or in the loss.
//!
//! Only the nodes of the train, validation and test splits are checked (gconstruct writes -1
//! for unlabelled nodes and leaves them out of every split); without any split mask, every node.

use gs_config::TrainConfig;
use gs_graph::{Array, DType, HeteroGraph, NodeId};

use crate::TrainError;

/// The split masks the node tasks read, in the order they are checked.
const SPLITS: [&str; 3] = ["train_mask", "val_mask", "test_mask"];

/// What a task needs of its labels.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Expected {
    /// One integer class id per node in `[0, num_classes)`.
    Classes(Option<u32>),
    /// `num_classes` 0/1 values per node.
    MultiHot(Option<u32>),
    /// One finite number per node.
    Values,
}

impl Expected {
    pub(crate) fn of(config: &TrainConfig) -> Self {
        match config.task_type {
            t if t.is_regression() => Expected::Values,
            _ if config.multilabel => Expected::MultiHot(config.num_classes),
            // Focal loss is binary; GraphStorm also accepts `num_classes: 1` for it.
            _ if config.class_loss_func == "focal" && config.num_classes == Some(1) => {
                Expected::Classes(Some(2))
            }
            _ => Expected::Classes(config.num_classes),
        }
    }
}

/// Check the label field `field` of the target node type against the task of `config`.
pub(crate) fn check_labels(
    graph: &HeteroGraph,
    config: &TrainConfig,
    field: &str,
) -> Result<(), TrainError> {
    check(graph, &config.target_ntype, field, Expected::of(config))
}

/// Check the label field `field` of `ntype` against what the task `expects`.
pub(crate) fn check(
    graph: &HeteroGraph,
    ntype: &str,
    field: &str,
    expected: Expected,
) -> Result<(), TrainError> {
    let label = Label {
        graph,
        ntype,
        field,
        array: graph.node_array(ntype, field)?,
    };
    match expected {
        Expected::Values => label.check_regression(),
        Expected::MultiHot(n) => label.check_multilabel(n),
        Expected::Classes(n) => label.check_classes(n),
    }
}

/// One label field of one node type.
struct Label<'a> {
    graph: &'a HeteroGraph,
    ntype: &'a str,
    field: &'a str,
    array: &'a Array,
}

/// A label value read as a number, for messages.
#[derive(Clone, Copy)]
enum Value {
    Int(i64),
    Float(f32),
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Int(v) => write!(f, "{v}"),
            Value::Float(v) => write!(f, "{v}"),
        }
    }
}

impl Label<'_> {
    fn name(&self) -> String {
        format!("label field `{}` of node type `{}`", self.field, self.ntype)
    }

    fn shape_text(&self) -> String {
        format!("{:?} {}", self.array.shape(), self.array.dtype())
    }

    /// Value `col` of row `row`.
    fn value(&self, row: usize, col: usize) -> Value {
        let i = row * self.array.row_width() + col;
        match self.array.dtype() {
            DType::I64 => Value::Int(self.array.as_i64().map_or(0, |v| v[i])),
            DType::U8 => Value::Int(self.array.as_u8().map_or(0, |v| i64::from(v[i]))),
            DType::F32 => Value::Float(self.array.as_f32().map_or(0.0, |v| v[i])),
        }
    }

    /// The node `row` for messages: its id, its raw id when the graph has them, and its split.
    fn node(&self, row: usize, split: Option<&str>) -> String {
        let raw = self
            .graph
            .raw_id(self.ntype, row as NodeId)
            .map_or_else(String::new, |r| format!(" (raw id `{r}`)"));
        let split = split.map_or_else(String::new, |s| format!(" in `{s}`"));
        format!("node {row}{raw}{split}")
    }

    /// The labelled rows with the split each is in: those of every split mask the node type
    /// has, else every row.
    fn labelled_rows(&self) -> Result<Vec<(usize, Option<&'static str>)>, TrainError> {
        let mut rows = Vec::new();
        let mut any_mask = false;
        for split in SPLITS {
            if self.graph.node_data(self.ntype, split).is_none() {
                continue;
            }
            any_mask = true;
            let ids = self.graph.mask_ids(self.ntype, split)?;
            rows.extend(ids.into_iter().map(|id| (id as usize, Some(split))));
        }
        if !any_mask {
            rows = (0..self.array.num_rows()).map(|r| (r, None)).collect();
        }
        Ok(rows)
    }

    /// Classification: one integer class id per node, each in `[0, num_classes)`.
    fn check_classes(&self, num_classes: Option<u32>) -> Result<(), TrainError> {
        if self.array.row_width() != 1 {
            return Err(TrainError::Config(format!(
                "{} is {}, but classification needs one class id per node (shape [{}] or [{}, 1]); \
                 hint: --label-field names the label column (a {}-wide field looks like a feature), \
                 or set `multilabel: true` for multi-hot labels",
                self.name(),
                self.shape_text(),
                self.array.num_rows(),
                self.array.num_rows(),
                self.array.row_width(),
            )));
        }
        // Without `num_classes` the task reports that itself; check integrality anyway.
        let bound = num_classes.map(i64::from);
        let (mut largest, mut bad) = (None::<i64>, None);
        for (row, split) in self.labelled_rows()? {
            let value = self.value(row, 0);
            let class = match value {
                Value::Int(v) => v,
                Value::Float(v) if v.is_finite() && v.fract() == 0.0 => v as i64,
                Value::Float(_) => {
                    return Err(TrainError::Config(format!(
                        "{} holds {value} at {}, but classification labels are integer class ids \
                         0..num_classes-1; hint: map classes to integers in gconstruct, or pick \
                         the right --label-field",
                        self.name(),
                        self.node(row, split)
                    )));
                }
            };
            largest = Some(largest.map_or(class, |l| l.max(class)));
            if bad.is_none() && (class < 0 || bound.is_some_and(|b| class >= b)) {
                bad = Some((class, row, split));
            }
        }
        if let (Some((class, row, split)), Some(bound)) = (bad, bound) {
            let largest = largest.unwrap_or(class);
            let hint = if class < 0 {
                "give every node of the train, validation and test splits a class, or leave \
                 unlabelled nodes out of the splits"
                    .to_string()
            } else {
                format!(
                    "the largest label is {largest}: set --num-classes {} (num_classes), or fix the labels",
                    largest + 1
                )
            };
            return Err(TrainError::Config(format!(
                "{} holds {class} at {}, outside [0, {bound}) for `num_classes` {bound}; hint: {hint}",
                self.name(),
                self.node(row, split)
            )));
        }
        if let (Some((class, row, split)), None) = (bad, bound) {
            return Err(TrainError::Config(format!(
                "{} holds {class} at {}, but class ids start at 0",
                self.name(),
                self.node(row, split)
            )));
        }
        Ok(())
    }

    /// Multi-label classification: `num_classes` 0/1 values per node.
    fn check_multilabel(&self, num_classes: Option<u32>) -> Result<(), TrainError> {
        let width = self.array.row_width();
        if let Some(n) = num_classes
            && (self.array.shape().len() != 2 || width != n as usize)
        {
            return Err(TrainError::Config(format!(
                "{} is {}, but multi-label classification needs one 0/1 column per class, \
                 shape [{}, {n}] for `num_classes` {n}; hint: check --label-field and --num-classes",
                self.name(),
                self.shape_text(),
                self.array.num_rows(),
            )));
        }
        for (row, split) in self.labelled_rows()? {
            for col in 0..width {
                let value = self.value(row, col);
                let ok = match value {
                    Value::Int(v) => v == 0 || v == 1,
                    Value::Float(v) => v == 0.0 || v == 1.0,
                };
                if !ok {
                    return Err(TrainError::Config(format!(
                        "{} holds {value} in column {col} at {}, but multi-hot labels are 0 or 1",
                        self.name(),
                        self.node(row, split)
                    )));
                }
            }
        }
        Ok(())
    }

    /// Regression: one finite number per node.
    fn check_regression(&self) -> Result<(), TrainError> {
        if self.array.row_width() != 1 {
            return Err(TrainError::Config(format!(
                "{} is {}, but regression needs one value per node (shape [{}] or [{}, 1]); \
                 hint: --label-field names the label column (a {}-wide field looks like a feature)",
                self.name(),
                self.shape_text(),
                self.array.num_rows(),
                self.array.num_rows(),
                self.array.row_width(),
            )));
        }
        for (row, split) in self.labelled_rows()? {
            if let Value::Float(v) = self.value(row, 0)
                && !v.is_finite()
            {
                return Err(TrainError::Config(format!(
                    "{} holds {v} at {}, but regression labels must be finite numbers; hint: \
                     leave nodes without a label out of the train, validation and test splits",
                    self.name(),
                    self.node(row, split)
                )));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Five `paper` nodes with `label` = `values` (`[5]` or `[5, w]`), and a train mask over
    /// nodes 0..3 (node 4 is unlabelled) unless `masked` is false.
    fn graph(label: Array, masked: bool) -> HeteroGraph {
        let mut g = HeteroGraph::new();
        g.add_node_type("paper", 5).unwrap();
        g.set_node_data("paper", "label", label).unwrap();
        if masked {
            let mask = Array::from_u8(vec![1, 1, 1, 1, 0], &[5]).unwrap();
            g.set_node_data("paper", "train_mask", mask).unwrap();
        }
        g
    }

    fn error(g: &HeteroGraph, expected: Expected) -> String {
        check(g, "paper", "label", expected)
            .expect_err("the labels are refused")
            .to_string()
    }

    fn assert_names(message: &str, needles: &[&str]) {
        for needle in needles {
            assert!(
                message.contains(needle),
                "`{needle}` missing from: {message}"
            );
        }
    }

    #[test]
    fn class_ids_in_range_pass_and_unlabelled_nodes_are_skipped() {
        let g = graph(Array::from_i64(vec![0, 1, 2, 1, -1], &[5]).unwrap(), true);
        check(&g, "paper", "label", Expected::Classes(Some(3))).unwrap();
        let g = graph(
            Array::from_f32(vec![0.0, 1.0, 2.0, 1.0, 0.0], &[5, 1]).unwrap(),
            true,
        );
        check(&g, "paper", "label", Expected::Classes(Some(3))).unwrap();
    }

    #[test]
    fn a_class_at_or_above_num_classes_names_the_node_and_the_fix() {
        let g = graph(Array::from_i64(vec![0, 3, 2, 1, -1], &[5]).unwrap(), true);
        check(&g, "paper", "label", Expected::Classes(Some(4))).unwrap();
        let message = error(&g, Expected::Classes(Some(2)));
        assert_names(
            &message,
            &[
                "`label`",
                "`paper`",
                "holds 3 at node 1 in `train_mask`",
                "[0, 2)",
                "--num-classes 4",
            ],
        );
    }

    #[test]
    fn a_negative_class_in_a_split_is_refused_but_not_outside_the_splits() {
        let labels = vec![0, 1, 2, 1, -1];
        check(
            &graph(Array::from_i64(labels.clone(), &[5]).unwrap(), true),
            "paper",
            "label",
            Expected::Classes(Some(3)),
        )
        .unwrap();
        let message = error(
            &graph(Array::from_i64(labels, &[5]).unwrap(), false),
            Expected::Classes(Some(3)),
        );
        assert_names(&message, &["holds -1 at node 4", "unlabelled"]);
    }

    #[test]
    fn a_wide_or_fractional_label_is_not_a_class_id() {
        let wide = graph(Array::from_f32(vec![0.5; 10], &[5, 2]).unwrap(), true);
        let message = error(&wide, Expected::Classes(Some(3)));
        assert_names(
            &message,
            &["[5, 2] float32", "one class id per node", "--label-field"],
        );
        let message = error(&wide, Expected::Values);
        assert_names(
            &message,
            &["[5, 2] float32", "one value per node", "--label-field"],
        );
        let fractional = graph(
            Array::from_f32(vec![0.0, 0.5, 1.0, 1.0, 1.0], &[5]).unwrap(),
            true,
        );
        check(&fractional, "paper", "label", Expected::Values).unwrap();
        let message = error(&fractional, Expected::Classes(Some(3)));
        assert_names(&message, &["holds 0.5 at node 1", "integer class ids"]);
    }

    #[test]
    fn regression_labels_must_be_finite_in_the_splits() {
        let values = vec![0.5, f32::NAN, 1.0, 2.0, f32::NAN];
        let message = error(
            &graph(Array::from_f32(values, &[5]).unwrap(), true),
            Expected::Values,
        );
        assert_names(&message, &["holds NaN at node 1 in `train_mask`", "finite"]);
        let only_unlabelled = vec![0.5, 1.5, 1.0, 2.0, f32::NAN];
        check(
            &graph(Array::from_f32(only_unlabelled, &[5]).unwrap(), true),
            "paper",
            "label",
            Expected::Values,
        )
        .unwrap();
    }

    #[test]
    fn multi_hot_labels_need_one_zero_or_one_column_per_class() {
        let mut hot = vec![0u8; 15];
        hot[1] = 1;
        let g = graph(Array::from_u8(hot.clone(), &[5, 3]).unwrap(), true);
        check(&g, "paper", "label", Expected::MultiHot(Some(3))).unwrap();
        assert_names(
            &error(&g, Expected::MultiHot(Some(4))),
            &["[5, 3]", "[5, 4]"],
        );
        hot[4] = 2;
        let g = graph(Array::from_u8(hot, &[5, 3]).unwrap(), true);
        assert_names(
            &error(&g, Expected::MultiHot(Some(3))),
            &["holds 2 in column 1 at node 1", "0 or 1"],
        );
    }
}
