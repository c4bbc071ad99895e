//! One line with every metric of a split.

use std::collections::BTreeMap;

use gs_train::Score;

/// Every metric of one split with its per-class values, e.g. `roc_auc 0.9312,
/// per_class_f1_score 0.8500 [class 0: 0.9000, class 1: 0.8000]`; `None` when the epoch line
/// already says it all (a single metric without per-class values).
pub fn all_metrics_line(metrics: &BTreeMap<String, Score>) -> Option<String> {
    let more = metrics.len() > 1 || metrics.values().any(|s| !s.per_class.is_empty());
    more.then(|| {
        metrics
            .iter()
            .map(|(m, s)| format!("{m} {s:.4}"))
            .collect::<Vec<_>>()
            .join(", ")
    })
}
