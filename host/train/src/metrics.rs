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
    fn regression_metrics() {
        assert_eq!(Metric::Mse.regression(&[1.0, 3.0], &[0.0, 1.0]), 2.5);
        assert_eq!(Metric::Mae.regression(&[1.0, 3.0], &[0.0, 1.0]), 1.5);
        assert!((Metric::Rmse.regression(&[1.0, 3.0], &[0.0, 1.0]) - 2.5f64.sqrt()).abs() < 1e-12);
        assert!(Metric::parse("hit_at_10").unwrap_err().contains("accuracy"));
    }
}
