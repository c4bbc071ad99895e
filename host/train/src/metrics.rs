//! GraphStorm's evaluation metrics: classification and regression scores of node and edge
//! tasks, and the rankings of link prediction (`mrr`, `hit_at_<k>`, `amri`). A [`Score`] is
//! one metric's figure on one split, with the value of every class for the per-class metrics.
//! The probability-based classification metrics live in [`crate::classification_metrics`].

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

use crate::classification_metrics::{
    binary_roc_auc, graphstorm_precision_recall, multilabel_roc_auc, per_class_f1,
    per_class_roc_auc, precision_recall_auc, roc_auc,
};

/// A metric name as GraphStorm spells it (`eval_metric`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    Accuracy,
    F1Macro,
    /// Area under the ROC curve of the predicted probabilities (`roc_auc`).
    RocAuc,
    /// Area under the precision-recall curve, binary classification only (`precision_recall`).
    PrecisionRecallAuc,
    /// The F1 score of every class; models are ranked by their macro average.
    PerClassF1,
    /// The ROC AUC of every class; models are ranked by `roc_auc`.
    PerClassRocAuc,
    /// GraphStorm's `precision` (see [`graphstorm_precision_recall`]).
    Precision,
    /// GraphStorm's `recall` (see [`graphstorm_precision_recall`]).
    Recall,
    Rmse,
    Mse,
    Mae,
    /// Mean reciprocal rank of the positive edges.
    Mrr,
    /// Share of positive edges ranked at or above `k`.
    HitAt(u32),
    /// Adjusted mean rank index, in [-1, 1] (0 = random scores).
    Amri,
}

/// Every metric name gs computes, by task kind, for messages.
pub(crate) const CLASSIFICATION_NAMES: &str = "accuracy, f1_score, roc_auc, precision_recall, \
                                        per_class_f1_score, per_class_roc_auc, precision, recall";
pub(crate) const REGRESSION_NAMES: &str = "rmse, mse, mae";
pub(crate) const RANKING_NAMES: &str = "mrr, amri, hit_at_<k>";

impl Metric {
    pub fn parse(name: &str) -> Result<Self, String> {
        Ok(match name.trim().to_ascii_lowercase().as_str() {
            "accuracy" => Metric::Accuracy,
            "f1_score" => Metric::F1Macro,
            "roc_auc" => Metric::RocAuc,
            "precision_recall" => Metric::PrecisionRecallAuc,
            "per_class_f1_score" => Metric::PerClassF1,
            "per_class_roc_auc" => Metric::PerClassRocAuc,
            "precision" => Metric::Precision,
            "recall" => Metric::Recall,
            "rmse" => Metric::Rmse,
            "mse" => Metric::Mse,
            "mae" => Metric::Mae,
            "mrr" => Metric::Mrr,
            "amri" => Metric::Amri,
            other => match other.strip_prefix("hit_at_").map(str::parse::<u32>) {
                Some(Ok(k)) if k > 0 => Metric::HitAt(k),
                _ => {
                    return Err(format!(
                        "eval_metric `{other}` is not computed by gs; hint: gs supports \
                         {CLASSIFICATION_NAMES} (classification), {REGRESSION_NAMES} \
                         (regression) and {RANKING_NAMES} (link prediction)"
                    ));
                }
            },
        })
    }

    /// Whether a larger value is better (model selection and early stop).
    pub fn higher_is_better(self) -> bool {
        !matches!(self, Metric::Rmse | Metric::Mse | Metric::Mae)
    }

    /// A link-prediction metric, computed from the ranks of positive edges.
    pub fn is_ranking(self) -> bool {
        matches!(self, Metric::Mrr | Metric::HitAt(_) | Metric::Amri)
    }

    pub fn is_classification(self) -> bool {
        matches!(
            self,
            Metric::Accuracy
                | Metric::F1Macro
                | Metric::RocAuc
                | Metric::PrecisionRecallAuc
                | Metric::PerClassF1
                | Metric::PerClassRocAuc
                | Metric::Precision
                | Metric::Recall
        )
    }

    /// A classification metric of predicted probabilities (GraphStorm's `return_proba`), not of
    /// predicted classes.
    pub fn needs_probabilities(self) -> bool {
        matches!(
            self,
            Metric::RocAuc | Metric::PrecisionRecallAuc | Metric::PerClassRocAuc
        )
    }

    /// Whether gs computes the metric for multilabel classification: the ROC AUC ones
    /// (`accuracy` is GraphStorm's macro ROC AUC there).
    pub fn fits_multilabel(self) -> bool {
        matches!(
            self,
            Metric::Accuracy | Metric::RocAuc | Metric::PerClassRocAuc
        )
    }

    /// Score class predictions against labels (`num_classes` for `accuracy` and `f1_score`).
    pub fn from_classes(self, predicted: &[i64], labels: &[i64], num_classes: usize) -> Score {
        match self {
            Metric::PerClassF1 => {
                let (macro_f1, per_class) = per_class_f1(predicted, labels);
                Score::per_class(macro_f1, per_class)
            }
            Metric::Precision => Score::from(graphstorm_precision_recall(predicted, labels).0),
            Metric::Recall => Score::from(graphstorm_precision_recall(predicted, labels).1),
            _ => Score::from(self.classification(predicted, labels, num_classes)),
        }
    }

    /// Score single-label class probabilities (`[n, width]` rows; width 2 for binary tasks)
    /// against class labels.
    pub fn from_probabilities(self, probabilities: &[f32], width: usize, labels: &[i64]) -> Score {
        match self {
            Metric::RocAuc => Score::from(roc_auc(probabilities, width, labels)),
            Metric::PerClassRocAuc => {
                let (overall, per_class) = per_class_roc_auc(probabilities, width, labels);
                Score::per_class(overall, per_class)
            }
            Metric::PrecisionRecallAuc if width == 2 => {
                let positive: Vec<f32> = probabilities.iter().skip(1).step_by(2).copied().collect();
                let truth: Vec<bool> = labels.iter().map(|&l| l == 1).collect();
                Score::from(precision_recall_auc(&positive, &truth))
            }
            _ => Score::from(f64::NAN),
        }
    }

    /// Score multilabel sigmoid probabilities (`[n, width]`) against 0/1 `truth`.
    pub fn multilabel(self, probabilities: &[f32], truth: &[f32], width: usize) -> Score {
        match self {
            // GraphStorm's multilabel `accuracy` is the macro ROC AUC of the labels with both
            // classes present.
            Metric::Accuracy => Score::from(roc_auc_macro(probabilities, truth, width)),
            Metric::RocAuc => Score::from(multilabel_roc_auc(probabilities, truth, width).0),
            Metric::PerClassRocAuc => {
                let (overall, per_class) = multilabel_roc_auc(probabilities, truth, width);
                Score::per_class(overall, per_class)
            }
            _ => Score::from(f64::NAN),
        }
    }

    /// Score class predictions against labels: `accuracy` and `f1_score`.
    pub fn classification(self, predicted: &[i64], labels: &[i64], num_classes: usize) -> f64 {
        assert_eq!(predicted.len(), labels.len());
        if labels.is_empty() {
            return f64::NAN;
        }
        match self {
            Metric::Accuracy => {
                predicted.iter().zip(labels).filter(|(p, l)| p == l).count() as f64
                    / labels.len() as f64
            }
            Metric::F1Macro => {
                let mut f1_sum = 0.0;
                let mut classes = 0;
                for c in 0..num_classes as i64 {
                    let tp = predicted
                        .iter()
                        .zip(labels)
                        .filter(|&(&p, &l)| p == c && l == c)
                        .count() as f64;
                    let fp = predicted
                        .iter()
                        .zip(labels)
                        .filter(|&(&p, &l)| p == c && l != c)
                        .count() as f64;
                    let fneg = predicted
                        .iter()
                        .zip(labels)
                        .filter(|&(&p, &l)| p != c && l == c)
                        .count() as f64;
                    if tp + fp + fneg == 0.0 {
                        continue;
                    }
                    classes += 1;
                    f1_sum += 2.0 * tp / (2.0 * tp + fp + fneg);
                }
                if classes == 0 {
                    0.0
                } else {
                    f1_sum / classes as f64
                }
            }
            _ => f64::NAN,
        }
    }

    /// Score the ranks (1 = best) of positive edges, each among `candidates[i]` candidates
    /// (itself included), as GraphStorm's `compute_mrr`, `compute_hit_at_link_prediction` and
    /// `compute_amri` do.
    pub fn ranking(self, ranks: &[u64], candidates: &[u64]) -> f64 {
        assert_eq!(ranks.len(), candidates.len());
        if ranks.is_empty() {
            return f64::NAN;
        }
        let n = ranks.len() as f64;
        match self {
            Metric::Mrr => ranks.iter().map(|&r| 1.0 / r as f64).sum::<f64>() / n,
            Metric::HitAt(k) => ranks.iter().filter(|&&r| r <= u64::from(k)).count() as f64 / n,
            // 1 - 2·Σ(r - 1) / Σ|S| (GraphStorm's simplified form of eq. 8, arXiv:2002.06914).
            Metric::Amri => {
                let above: f64 = ranks.iter().map(|&r| (r - 1) as f64).sum();
                let sizes: f64 = candidates.iter().map(|&c| c as f64).sum();
                1.0 - 2.0 * above / sizes
            }
            _ => f64::NAN,
        }
    }

    /// Score regression outputs against targets.
    pub fn regression(self, predicted: &[f32], targets: &[f32]) -> f64 {
        assert_eq!(predicted.len(), targets.len());
        if targets.is_empty() {
            return f64::NAN;
        }
        let n = targets.len() as f64;
        let errors = predicted.iter().zip(targets).map(|(p, t)| f64::from(p - t));
        match self {
            Metric::Mse => errors.map(|e| e * e).sum::<f64>() / n,
            Metric::Rmse => (errors.map(|e| e * e).sum::<f64>() / n).sqrt(),
            Metric::Mae => errors.map(f64::abs).sum::<f64>() / n,
            _ => f64::NAN,
        }
    }
}

/// Macro-averaged ROC AUC over the columns of `[n, width]` scores against 0/1 labels: what
/// GraphStorm reports as `accuracy` for multilabel classification (`eval_roc_auc`). Columns
/// without both a positive and a negative label are left out; with none left the score is NaN.
pub fn roc_auc_macro(scores: &[f32], labels: &[f32], width: usize) -> f64 {
    assert_eq!(scores.len(), labels.len());
    let rows = scores.len().checked_div(width).unwrap_or(0);
    let (mut sum, mut columns) = (0.0, 0usize);
    for c in 0..width {
        let column: Vec<f32> = (0..rows).map(|r| scores[r * width + c]).collect();
        let positive: Vec<bool> = (0..rows).map(|r| labels[r * width + c] > 0.5).collect();
        let auc = binary_roc_auc(&column, &positive);
        if auc.is_finite() {
            sum += auc;
            columns += 1;
        }
    }
    if columns == 0 {
        f64::NAN
    } else {
        sum / columns as f64
    }
}

/// One metric's figure on one split: `value` ranks models (for the per-class metrics the
/// overall value GraphStorm compares: the macro F1, the overall ROC AUC), `per_class` holds the
/// value of each class for the per-class metrics. NaN (JSON `null`) when undefined.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Score {
    #[serde(deserialize_with = "nan_for_null")]
    pub value: f64,
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "nan_for_null_values"
    )]
    pub per_class: BTreeMap<u32, f64>,
}

impl Score {
    pub fn per_class(value: f64, per_class: BTreeMap<u32, f64>) -> Self {
        Self { value, per_class }
    }
}

impl From<f64> for Score {
    fn from(value: f64) -> Self {
        Self {
            value,
            per_class: BTreeMap::new(),
        }
    }
}

/// `0.8500`, or `0.8500 [class 0: 0.9000, class 1: 0.8000]` with per-class values; the
/// formatter's precision applies to every number.
impl fmt::Display for Score {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let number = |f: &mut fmt::Formatter<'_>, v: f64| match f.precision() {
            Some(p) => write!(f, "{v:.p$}"),
            None => write!(f, "{v}"),
        };
        number(f, self.value)?;
        if self.per_class.is_empty() {
            return Ok(());
        }
        f.write_str(" [")?;
        for (i, (class, value)) in self.per_class.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "class {class}: ")?;
            number(f, *value)?;
        }
        f.write_str("]")
    }
}

fn nan_for_null<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

/// A map of scores as JSON writes them: an undefined score (NaN) is written `null` and read
/// back as NaN.
pub(crate) fn nan_for_null_values<'de, D, K>(d: D) -> Result<BTreeMap<K, f64>, D::Error>
where
    D: Deserializer<'de>,
    K: Ord + Deserialize<'de>,
{
    let values = BTreeMap::<K, Option<f64>>::deserialize(d)?;
    Ok(values
        .into_iter()
        .map(|(c, v)| (c, v.unwrap_or(f64::NAN)))
        .collect())
}

/// The scores of every `eval_metric` on one split, primary first.
pub type Scores = Vec<(Metric, Score)>;

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Metric::Accuracy => f.write_str("accuracy"),
            Metric::F1Macro => f.write_str("f1_score"),
            Metric::RocAuc => f.write_str("roc_auc"),
            Metric::PrecisionRecallAuc => f.write_str("precision_recall"),
            Metric::PerClassF1 => f.write_str("per_class_f1_score"),
            Metric::PerClassRocAuc => f.write_str("per_class_roc_auc"),
            Metric::Precision => f.write_str("precision"),
            Metric::Recall => f.write_str("recall"),
            Metric::Rmse => f.write_str("rmse"),
            Metric::Mse => f.write_str("mse"),
            Metric::Mae => f.write_str("mae"),
            Metric::Mrr => f.write_str("mrr"),
            Metric::HitAt(k) => write!(f, "hit_at_{k}"),
            Metric::Amri => f.write_str("amri"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification_metrics() {
        let labels = [0, 0, 1, 1];
        let predicted = [0, 1, 1, 1];
        assert_eq!(
            Metric::Accuracy.classification(&predicted, &labels, 2),
            0.75
        );
        let f1 = Metric::F1Macro.classification(&predicted, &labels, 2);
        assert!((f1 - (2.0 / 3.0 + 0.8) / 2.0).abs() < 1e-12, "{f1}");
    }

    #[test]
    fn roc_auc_counts_ordered_pairs_and_halves_ties() {
        // Column 0: positives 0.9 and 0.4, negatives 0.5 and 0.1 -> 3 of 4 pairs ordered.
        // Column 1: one positive tied with one negative, above the other -> (1 + 0.5) / 2.
        let scores = [0.9, 0.3, 0.5, 0.3, 0.4, 0.1, 0.1, 0.8];
        let labels = [1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0];
        let auc = roc_auc_macro(&scores, &labels, 2);
        let col1 = {
            // scores 0.3 (neg), 0.3 (pos), 0.1 (neg), 0.8 (neg): the positive beats 0.1 and ties 0.3.
            (1.0 + 0.5) / 3.0
        };
        assert!((auc - (0.75 + col1) / 2.0).abs() < 1e-12, "{auc}");
        assert!(roc_auc_macro(&[0.1, 0.2], &[1.0, 1.0], 1).is_nan());
    }

    #[test]
    fn every_graphstorm_classification_name_parses_and_prints_back() {
        for name in [
            "accuracy",
            "f1_score",
            "roc_auc",
            "precision_recall",
            "per_class_f1_score",
            "per_class_roc_auc",
            "precision",
            "recall",
        ] {
            let m = Metric::parse(name).unwrap();
            assert!(m.is_classification() && m.higher_is_better(), "{name}");
            assert_eq!(m.to_string(), name);
        }
        assert!(Metric::RocAuc.needs_probabilities() && !Metric::PerClassF1.needs_probabilities());
        assert!(Metric::PerClassRocAuc.fits_multilabel() && !Metric::Precision.fits_multilabel());
    }

    #[test]
    fn scores_dispatch_to_probabilities_or_classes() {
        // Binary probabilities of class 1: 0.9, 0.4, 0.6, 0.2 for labels 1, 1, 0, 0.
        let probabilities = [0.1, 0.9, 0.6, 0.4, 0.4, 0.6, 0.8, 0.2];
        let labels = [1, 1, 0, 0];
        let auc = Metric::RocAuc.from_probabilities(&probabilities, 2, &labels);
        assert_eq!(auc, Score::from(0.75));
        // Precision at each threshold: 1, 1/2, 2/3, 2/4 at recall 1/2, 1/2, 1, 1.
        let pr = Metric::PrecisionRecallAuc.from_probabilities(&probabilities, 2, &labels);
        assert!(
            (pr.value - (0.5 + 0.5 * (0.5 + 2.0 / 3.0) / 2.0)).abs() < 1e-12,
            "{pr}"
        );
        let per_class = Metric::PerClassRocAuc.from_probabilities(&probabilities, 2, &labels);
        assert_eq!(per_class.value, 0.75);
        assert_eq!(
            per_class.per_class.values().copied().collect::<Vec<_>>(),
            [0.75, 0.75]
        );
        let f1 = Metric::PerClassF1.from_classes(&[1, 0, 1, 0], &labels, 2);
        assert_eq!(f1.value, 0.5);
        assert_eq!(f1.per_class.len(), 2);
        assert_eq!(
            Metric::F1Macro
                .from_classes(&[1, 0, 1, 0], &labels, 2)
                .value,
            f1.value
        );
        assert_eq!(
            Metric::Precision
                .from_classes(&[1, 1, 1, 0], &labels, 2)
                .value,
            1.0
        );
        assert_eq!(
            Metric::Recall.from_classes(&[1, 1, 1, 0], &labels, 2).value,
            2.0 / 3.0
        );
        // Multilabel: `accuracy` skips a column without negatives, `roc_auc` is undefined.
        let scores = [0.9, 0.2, 0.1, 0.7];
        let truth = [1.0, 1.0, 0.0, 1.0];
        assert_eq!(Metric::Accuracy.multilabel(&scores, &truth, 2).value, 1.0);
        assert!(Metric::RocAuc.multilabel(&scores, &truth, 2).value.is_nan());
    }

    #[test]
    fn scores_print_per_class_values_and_keep_nan_through_json() {
        let plain = Score::from(0.123456);
        assert_eq!(format!("{plain:.4}"), "0.1235");
        let per_class = Score::per_class(0.5, BTreeMap::from([(0, 0.25), (2, f64::NAN)]));
        assert_eq!(
            format!("{per_class:.2}"),
            "0.50 [class 0: 0.25, class 2: NaN]"
        );
        let json = serde_json::to_string(&per_class).unwrap();
        assert_eq!(json, r#"{"value":0.5,"per_class":{"0":0.25,"2":null}}"#);
        let back: Score = serde_json::from_str(&json).unwrap();
        assert_eq!(back.per_class[&0], 0.25);
        assert!(back.per_class[&2].is_nan());
        let back: Score = serde_json::from_str(r#"{"value":null}"#).unwrap();
        assert!(back.value.is_nan() && back.per_class.is_empty());
        assert_eq!(
            serde_json::to_string(&plain).unwrap(),
            r#"{"value":0.123456}"#
        );
    }

    #[test]
    fn regression_metrics() {
        assert_eq!(Metric::Mse.regression(&[1.0, 3.0], &[0.0, 1.0]), 2.5);
        assert_eq!(Metric::Mae.regression(&[1.0, 3.0], &[0.0, 1.0]), 1.5);
        assert!((Metric::Rmse.regression(&[1.0, 3.0], &[0.0, 1.0]) - 2.5f64.sqrt()).abs() < 1e-12);
        assert!(
            Metric::parse("hit_at_0")
                .unwrap_err()
                .contains("hit_at_<k>")
        );
        assert!(
            Metric::parse("fscore_at_2")
                .unwrap_err()
                .contains("per_class_roc_auc")
        );
    }

    #[test]
    fn ranking_metrics_are_graphstorms() {
        let ranks = [1, 2, 4, 10];
        let sizes = [11; 4];
        let mrr = Metric::parse("mrr").unwrap().ranking(&ranks, &sizes);
        assert!((mrr - (1.0 + 0.5 + 0.25 + 0.1) / 4.0).abs() < 1e-12);
        let hit = Metric::parse("hit_at_3").unwrap();
        assert_eq!(hit, Metric::HitAt(3));
        assert_eq!(hit.ranking(&ranks, &sizes), 0.5);
        assert_eq!(hit.to_string(), "hit_at_3");
        // AMRI: 1 - 2·Σ(r-1)/Σ|S| = 1 - 2·13/44; all first is 1, all in the middle is 0.
        let amri = Metric::Amri.ranking(&ranks, &sizes);
        assert!((amri - (1.0 - 26.0 / 44.0)).abs() < 1e-12);
        assert_eq!(Metric::Amri.ranking(&[1, 1], &[5, 5]), 1.0);
        assert!(Metric::Amri.ranking(&[3, 3], &[5, 5]).abs() < 0.21);
        assert!(Metric::Mrr.higher_is_better() && Metric::Amri.is_ranking());
        assert!(!Metric::Rmse.higher_is_better() && !Metric::Accuracy.is_ranking());
    }
}
