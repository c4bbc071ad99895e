//! GraphStorm's evaluation metrics: classification and regression scores of node and edge
//! tasks, and the rankings of link prediction (`mrr`, `hit_at_<k>`, `amri`).

use std::fmt;

/// A metric name as GraphStorm spells it (`eval_metric`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    Accuracy,
    F1Macro,
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

impl Metric {
    pub fn parse(name: &str) -> Result<Self, String> {
        Ok(match name.trim().to_ascii_lowercase().as_str() {
            "accuracy" => Metric::Accuracy,
            "f1_score" => Metric::F1Macro,
            "rmse" => Metric::Rmse,
            "mse" => Metric::Mse,
            "mae" => Metric::Mae,
            "mrr" => Metric::Mrr,
            "amri" => Metric::Amri,
            other => match other.strip_prefix("hit_at_").map(str::parse::<u32>) {
                Some(Ok(k)) if k > 0 => Metric::HitAt(k),
                _ => {
                    return Err(format!(
                        "unknown eval_metric `{other}`; hint: gs supports accuracy, f1_score \
                         (classification), rmse, mse, mae (regression) and mrr, amri, hit_at_<k> \
                         (link prediction) so far"
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
        match self {
            Metric::Accuracy => f.write_str("accuracy"),
            Metric::F1Macro => f.write_str("f1_score"),
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
    fn regression_metrics() {
        assert_eq!(Metric::Mse.regression(&[1.0, 3.0], &[0.0, 1.0]), 2.5);
        assert_eq!(Metric::Mae.regression(&[1.0, 3.0], &[0.0, 1.0]), 1.5);
        assert!((Metric::Rmse.regression(&[1.0, 3.0], &[0.0, 1.0]) - 2.5f64.sqrt()).abs() < 1e-12);
        assert!(
            Metric::parse("hit_at_0")
                .unwrap_err()
                .contains("hit_at_<k>")
        );
        assert!(Metric::parse("roc_auc").unwrap_err().contains("accuracy"));
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
