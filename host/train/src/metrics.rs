//! GraphStorm's evaluation metrics for node tasks.

use std::fmt;

/// A metric name as GraphStorm spells it (`eval_metric`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    Accuracy,
    F1Macro,
    Rmse,
    Mse,
    Mae,
}

impl Metric {
    pub fn parse(name: &str) -> Result<Self, String> {
        Ok(match name.trim().to_ascii_lowercase().as_str() {
            "accuracy" => Metric::Accuracy,
            "f1_score" => Metric::F1Macro,
            "rmse" => Metric::Rmse,
            "mse" => Metric::Mse,
            "mae" => Metric::Mae,
            other => {
                return Err(format!(
                    "unknown eval_metric `{other}`; hint: gs supports accuracy, f1_score (classification) \
                     and rmse, mse, mae (regression) so far"
                ));
            }
        })
    }

    /// Whether a larger value is better (model selection and early stop).
    pub fn higher_is_better(self) -> bool {
        matches!(self, Metric::Accuracy | Metric::F1Macro)
    }

    pub fn is_classification(self) -> bool {
        matches!(self, Metric::Accuracy | Metric::F1Macro)
    }

    /// Score class predictions against labels.
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
/// GraphStorm reports as `accuracy` for multilabel classification. Columns without both a
/// positive and a negative label are left out; with none left the score is NaN.
pub fn roc_auc_macro(scores: &[f32], labels: &[f32], width: usize) -> f64 {
    assert_eq!(scores.len(), labels.len());
    let rows = scores.len().checked_div(width).unwrap_or(0);
    let (mut sum, mut columns) = (0.0, 0usize);
    for c in 0..width {
        let mut column: Vec<(f32, bool)> = (0..rows)
            .map(|r| (scores[r * width + c], labels[r * width + c] > 0.5))
            .collect();
        column.sort_by(|a, b| a.0.total_cmp(&b.0));
        let positives = column.iter().filter(|(_, l)| *l).count() as f64;
        let negatives = column.len() as f64 - positives;
        if positives == 0.0 || negatives == 0.0 {
            continue;
        }
        // Mann-Whitney U: the ranks of the positives, ties sharing their mean rank.
        let mut rank_sum = 0.0;
        let mut i = 0;
        while i < column.len() {
            let mut j = i;
            while j < column.len() && column[j].0 == column[i].0 {
                j += 1;
            }
            let mean_rank = (i + 1 + j) as f64 / 2.0;
            rank_sum += mean_rank * column[i..j].iter().filter(|(_, l)| *l).count() as f64;
            i = j;
        }
        sum += (rank_sum - positives * (positives + 1.0) / 2.0) / (positives * negatives);
        columns += 1;
    }
    if columns == 0 {
        f64::NAN
    } else {
        sum / columns as f64
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Metric::Accuracy => "accuracy",
            Metric::F1Macro => "f1_score",
            Metric::Rmse => "rmse",
            Metric::Mse => "mse",
            Metric::Mae => "mae",
        })
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
    fn regression_metrics() {
        assert_eq!(Metric::Mse.regression(&[1.0, 3.0], &[0.0, 1.0]), 2.5);
        assert_eq!(Metric::Mae.regression(&[1.0, 3.0], &[0.0, 1.0]), 1.5);
        assert!((Metric::Rmse.regression(&[1.0, 3.0], &[0.0, 1.0]) - 2.5f64.sqrt()).abs() < 1e-12);
        assert!(Metric::parse("hit_at_10").unwrap_err().contains("accuracy"));
    }
}
