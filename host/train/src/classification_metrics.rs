//! GraphStorm 0.5.1's classification metrics beyond `accuracy` and `f1_score`, computed as
//! `python/graphstorm/eval/eval_func.py` computes them with scikit-learn:
//!
//! - `roc_auc` (`roc_auc_score(..., multi_class='ovr')` on the predicted probabilities): two
//!   classes score the probability of class 1; more classes average the one-vs-rest AUC of
//!   every class; multilabel averages the AUC of every label column.
//! - `precision_recall`: the area under `precision_recall_curve` (trapezoids, sklearn `auc`),
//!   for binary classification only, on the probability of class 1.
//! - `per_class_roc_auc`: the AUC of each class (one-vs-rest) with the `roc_auc` above as
//!   their "overall avg".
//! - `per_class_f1_score`: `classification_report`'s F1 of each class present in the labels or
//!   the predictions, with their macro average.
//! - `precision` and `recall`: `precision_recall_fscore_support` (binary when the predictions
//!   and the labels both top out at class 1, macro otherwise), called with the labels and the
//!   predictions swapped, exactly as GraphStorm calls it; see [`graphstorm_precision_recall`].
//!
//! GraphStorm refuses to mix metrics of probabilities (`roc_auc`, `per_class_roc_auc`,
//! `precision_recall`) with metrics of predicted classes (`accuracy`, `f1_score`,
//! `per_class_f1_score`) in one `eval_metric`, as its evaluation computes either probabilities
//! or classes; gs scores each metric from the view it needs, so any mix works, each metric with
//! the value GraphStorm gives it alone.
//!
//! Where scikit-learn raises (an AUC with a single class present, a multi-class AUC with a
//! class missing from the labels), these functions return NaN: GraphStorm stops training
//! there, gs reports the score as undefined and goes on.

use std::collections::BTreeMap;

/// Area under the ROC curve of `scores` against `positive` (sklearn's binary
/// `roc_auc_score`): the Mann-Whitney U statistic, tied scores sharing their mean rank, which
/// equals the trapezoid area under the ROC curve. NaN without both a positive and a negative.
pub(crate) fn binary_roc_auc(scores: &[f32], positive: &[bool]) -> f64 {
    assert_eq!(scores.len(), positive.len());
    let mut pairs: Vec<(f32, bool)> = scores
        .iter()
        .copied()
        .zip(positive.iter().copied())
        .collect();
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let positives = pairs.iter().filter(|(_, p)| *p).count() as f64;
    let negatives = pairs.len() as f64 - positives;
    if positives == 0.0 || negatives == 0.0 {
        return f64::NAN;
    }
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < pairs.len() {
        let mut j = i;
        while j < pairs.len() && pairs[j].0 == pairs[i].0 {
            j += 1;
        }
        let mean_rank = (i + 1 + j) as f64 / 2.0;
        rank_sum += mean_rank * pairs[i..j].iter().filter(|(_, p)| *p).count() as f64;
        i = j;
    }
    (rank_sum - positives * (positives + 1.0) / 2.0) / (positives * negatives)
}

/// Column `c` of row-major `[rows, width]` values.
fn column(values: &[f32], width: usize, c: usize) -> Vec<f32> {
    values.iter().skip(c).step_by(width).copied().collect()
}

/// `roc_auc` of single-label classification: `probabilities` are `[n, width]` softmax rows
/// (width 2 for binary tasks), `labels` class ids. Binary: the AUC of class 1's probability.
/// More classes: the mean one-vs-rest AUC over the classes, NaN unless every class occurs in
/// `labels` (sklearn requires as many classes in `y_true` as score columns).
pub(crate) fn roc_auc(probabilities: &[f32], width: usize, labels: &[i64]) -> f64 {
    assert_eq!(probabilities.len(), labels.len() * width);
    if width == 2 {
        let positive: Vec<bool> = labels.iter().map(|&l| l == 1).collect();
        return binary_roc_auc(&column(probabilities, width, 1), &positive);
    }
    let present: std::collections::BTreeSet<i64> = labels.iter().copied().collect();
    if present.len() != width {
        return f64::NAN;
    }
    let per_class = one_vs_rest_auc(probabilities, width, labels);
    per_class.values().sum::<f64>() / width as f64
}

/// The one-vs-rest AUC of every class `0..width`: class `c`'s probability against `label == c`.
fn one_vs_rest_auc(probabilities: &[f32], width: usize, labels: &[i64]) -> BTreeMap<u32, f64> {
    (0..width)
        .map(|c| {
            let positive: Vec<bool> = labels.iter().map(|&l| l == c as i64).collect();
            (
                c as u32,
                binary_roc_auc(&column(probabilities, width, c), &positive),
            )
        })
        .collect()
}

/// `per_class_roc_auc` of single-label classification: the one-vs-rest AUC of every class and,
/// as their overall value, [`roc_auc`]. (GraphStorm 0.5.1 computes it for 2D labels only, i.e.
/// multilabel; gs reads single labels as their one-hot rows.)
pub(crate) fn per_class_roc_auc(
    probabilities: &[f32],
    width: usize,
    labels: &[i64],
) -> (f64, BTreeMap<u32, f64>) {
    (
        roc_auc(probabilities, width, labels),
        one_vs_rest_auc(probabilities, width, labels),
    )
}

/// `roc_auc` and `per_class_roc_auc` of multilabel classification: the AUC of every label
/// column of `[n, width]` sigmoid `probabilities` against 0/1 `truth`, and their mean, which is
/// NaN when any column lacks a positive or a negative (sklearn raises).
pub(crate) fn multilabel_roc_auc(
    probabilities: &[f32],
    truth: &[f32],
    width: usize,
) -> (f64, BTreeMap<u32, f64>) {
    assert_eq!(probabilities.len(), truth.len());
    let per_class: BTreeMap<u32, f64> = (0..width)
        .map(|c| {
            let positive: Vec<bool> = column(truth, width, c).iter().map(|&t| t > 0.5).collect();
            (
                c as u32,
                binary_roc_auc(&column(probabilities, width, c), &positive),
            )
        })
        .collect();
    let overall = per_class.values().sum::<f64>() / width as f64;
    (overall, per_class)
}

/// `precision_recall`: the area under sklearn's `precision_recall_curve` of `scores` (the
/// probability of class 1) against `positive`, by trapezoids (sklearn `auc`). The curve has a
/// point per distinct score (precision and recall of predicting positive at and above it),
/// then recall 0 at precision 1. Without positives sklearn sets recall to 1 everywhere.
/// NaN when there are no scores.
pub(crate) fn precision_recall_auc(scores: &[f32], positive: &[bool]) -> f64 {
    assert_eq!(scores.len(), positive.len());
    if scores.is_empty() {
        return f64::NAN;
    }
    let mut pairs: Vec<(f32, bool)> = scores
        .iter()
        .copied()
        .zip(positive.iter().copied())
        .collect();
    pairs.sort_by(|a, b| b.0.total_cmp(&a.0));
    let total_positives = pairs.iter().filter(|(_, p)| *p).count() as f64;
    // (recall, precision) at every distinct threshold, from the highest score down.
    let mut curve = vec![(0.0, 1.0)];
    let (mut tp, mut seen) = (0.0, 0.0);
    for (i, &(score, is_positive)) in pairs.iter().enumerate() {
        seen += 1.0;
        if is_positive {
            tp += 1.0;
        }
        let last_of_threshold = pairs.get(i + 1).is_none_or(|next| next.0 != score);
        if last_of_threshold {
            let recall = if total_positives == 0.0 {
                1.0
            } else {
                tp / total_positives
            };
            curve.push((recall, tp / seen));
        }
    }
    curve
        .windows(2)
        .map(|w| (w[1].0 - w[0].0) * (w[0].1 + w[1].1) / 2.0)
        .sum()
}

/// `per_class_f1_score`: the F1 score of every class present in `labels` or `predicted`
/// (`classification_report`; 0 where precision and recall are both 0), and their mean, which
/// is GraphStorm's `f1_score` and what ranks models (`report['macro avg']['f1-score']`).
/// NaN without targets.
pub(crate) fn per_class_f1(predicted: &[i64], labels: &[i64]) -> (f64, BTreeMap<u32, f64>) {
    assert_eq!(predicted.len(), labels.len());
    if labels.is_empty() {
        return (f64::NAN, BTreeMap::new());
    }
    let per_class: BTreeMap<u32, f64> = present_classes(predicted, labels)
        .into_iter()
        .map(|c| {
            let counts = ClassCounts::of(c, predicted, labels);
            let denominator =
                2.0 * counts.true_positives + counts.false_positives() + counts.false_negatives();
            let f1 = if denominator == 0.0 {
                0.0
            } else {
                2.0 * counts.true_positives / denominator
            };
            (c as u32, f1)
        })
        .collect();
    (mean(per_class.values().copied()), per_class)
}

/// GraphStorm 0.5.1's `(precision, recall)`. Its `compute_precision_recall_fscore` passes the
/// labels as sklearn's `y_pred` and the predictions as `y_true`, so what it reports as
/// `precision` is the share of labelled positives that were predicted (sklearn's recall) and
/// its `recall` the share of predicted positives that are right (sklearn's precision); gs keeps
/// those values so that scores and model selection match GraphStorm's. Binary (`average=
/// 'binary'`, class 1) when both the predictions and the labels top out at class 1; otherwise
/// the macro average over the classes present in either, a class with nothing to divide by
/// counting 0. NaN without targets.
pub(crate) fn graphstorm_precision_recall(predicted: &[i64], labels: &[i64]) -> (f64, f64) {
    assert_eq!(predicted.len(), labels.len());
    if labels.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let ratio = |a: f64, b: f64| if b == 0.0 { 0.0 } else { a / b };
    let scores = |c: i64| {
        let counts = ClassCounts::of(c, predicted, labels);
        (
            ratio(counts.true_positives, counts.labelled),
            ratio(counts.true_positives, counts.predicted),
        )
    };
    let binary = predicted.iter().max() == Some(&1) && labels.iter().max() == Some(&1);
    if binary {
        return scores(1);
    }
    let per_class: Vec<(f64, f64)> = present_classes(predicted, labels)
        .into_iter()
        .map(scores)
        .collect();
    (
        mean(per_class.iter().map(|s| s.0)),
        mean(per_class.iter().map(|s| s.1)),
    )
}

/// The classes that occur in `predicted` or `labels`, ascending (sklearn's `unique_labels`).
fn present_classes(predicted: &[i64], labels: &[i64]) -> Vec<i64> {
    let set: std::collections::BTreeSet<i64> = predicted.iter().chain(labels).copied().collect();
    set.into_iter().collect()
}

fn mean(values: impl Iterator<Item = f64>) -> f64 {
    let (sum, n) = values.fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    if n == 0 { f64::NAN } else { sum / n as f64 }
}

/// How one class fares among the predictions.
struct ClassCounts {
    true_positives: f64,
    /// Targets labelled with the class.
    labelled: f64,
    /// Targets predicted as the class.
    predicted: f64,
}

impl ClassCounts {
    fn of(class: i64, predicted: &[i64], labels: &[i64]) -> Self {
        let mut counts = ClassCounts {
            true_positives: 0.0,
            labelled: 0.0,
            predicted: 0.0,
        };
        for (&p, &l) in predicted.iter().zip(labels) {
            counts.true_positives += f64::from(u8::from(p == class && l == class));
            counts.labelled += f64::from(u8::from(l == class));
            counts.predicted += f64::from(u8::from(p == class));
        }
        counts
    }

    fn false_positives(&self) -> f64 {
        self.predicted - self.true_positives
    }

    fn false_negatives(&self) -> f64 {
        self.labelled - self.true_positives
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(got: f64, want: f64) {
        assert!((got - want).abs() < 1e-12, "got {got}, want {want}");
    }

    /// Rows of class probabilities from the probability of class 1.
    fn two_columns(p: &[f32]) -> Vec<f32> {
        p.iter().flat_map(|&p| [1.0 - p, p]).collect()
    }

    #[test]
    fn binary_roc_auc_reads_class_one_and_halves_ties() {
        // sklearn 1.9.1: roc_auc_score(y, p) = 0.84375 (ties at 0.3 and 0.6).
        let p = [0.9, 0.3, 0.3, 0.6, 0.6, 0.2, 0.8, 0.3];
        let labels = [1, 0, 1, 1, 0, 0, 1, 0];
        close(roc_auc(&two_columns(&p), 2, &labels), 0.84375);
        // sklearn: 0.6111111111111112.
        let p = [0.7, 0.7, 0.7, 0.4, 0.1, 0.1];
        close(
            roc_auc(&two_columns(&p), 2, &[1, 0, 1, 0, 1, 0]),
            0.6111111111111112,
        );
        // A single class present: undefined (sklearn raises).
        assert!(roc_auc(&two_columns(&[0.2, 0.9]), 2, &[1, 1]).is_nan());
        // Perfectly reversed scores.
        assert_eq!(binary_roc_auc(&[0.9, 0.1], &[false, true]), 0.0);
    }

    const PROBABILITIES: [f32; 21] = [
        0.7, 0.2, 0.1, //
        0.2, 0.5, 0.3, //
        0.1, 0.3, 0.6, //
        0.4, 0.4, 0.2, //
        0.3, 0.3, 0.4, //
        0.5, 0.25, 0.25, //
        0.2, 0.6, 0.2,
    ];
    const LABELS: [i64; 7] = [0, 1, 2, 1, 2, 0, 0];

    #[test]
    fn multi_class_roc_auc_averages_one_vs_rest() {
        // sklearn: roc_auc_score(y, P, multi_class='ovr') = 0.8638888888888889, and
        // roc_auc_score(y == c, P[:, c]) = 0.7916666666666666, 0.8, 1.0.
        close(roc_auc(&PROBABILITIES, 3, &LABELS), 0.8638888888888889);
        let (overall, per_class) = per_class_roc_auc(&PROBABILITIES, 3, &LABELS);
        close(overall, 0.8638888888888889);
        assert_eq!(per_class.len(), 3);
        close(per_class[&0], 0.7916666666666666);
        close(per_class[&1], 0.8);
        close(per_class[&2], 1.0);
        // Class 2 missing from the labels: sklearn refuses the multi-class AUC.
        let labels = [0, 1, 1, 1, 0, 0, 0];
        assert!(roc_auc(&PROBABILITIES, 3, &labels).is_nan());
        let (overall, per_class) = per_class_roc_auc(&PROBABILITIES, 3, &labels);
        assert!(overall.is_nan() && per_class[&2].is_nan() && per_class[&0].is_finite());
    }

    #[test]
    fn multilabel_roc_auc_is_the_mean_of_the_label_columns() {
        // sklearn: roc_auc_score(T, S) = 0.9583333333333334; columns 0.9166666666666667, 1.0.
        let scores = [0.9, 0.2, 0.4, 0.7, 0.6, 0.6, 0.1, 0.3, 0.6, 0.8];
        let truth = [1.0, 0.0, 0.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 1.0];
        let (overall, per_class) = multilabel_roc_auc(&scores, &truth, 2);
        close(overall, 0.9583333333333334);
        close(per_class[&0], 0.9166666666666667);
        close(per_class[&1], 1.0);
        // A label column without negatives makes the overall value undefined.
        let truth = [1.0, 1.0, 0.0, 1.0, 1.0, 1.0, 0.0, 1.0, 0.0, 1.0];
        let (overall, per_class) = multilabel_roc_auc(&scores, &truth, 2);
        assert!(overall.is_nan() && per_class[&1].is_nan());
    }

    #[test]
    fn precision_recall_auc_is_sklearns_trapezoids() {
        // sklearn: auc(recall, precision) of precision_recall_curve = 0.8839285714285714.
        let p = [0.9, 0.3, 0.3, 0.6, 0.6, 0.2, 0.8, 0.3];
        let positive = [true, false, true, true, false, false, true, false];
        close(precision_recall_auc(&p, &positive), 0.8839285714285714);
        // sklearn: 0.7222222222222221 (ties at the top and at the bottom).
        let p = [0.7, 0.7, 0.7, 0.4, 0.1, 0.1];
        let positive = [true, false, true, false, true, false];
        close(precision_recall_auc(&p, &positive), 0.7222222222222221);
        // GraphStorm's own test (test_compute_precision_recall_auc): 0.9625 and 0.9.
        let labels: Vec<bool> = (0..100).map(|i| i >= 20).collect();
        let p: Vec<f32> = (0..100).map(|i| if i < 50 { 0.25 } else { 0.75 }).collect();
        close(precision_recall_auc(&p, &labels), 0.9625);
        close(precision_recall_auc(&[0.75; 100], &labels), 0.9);
        assert!(precision_recall_auc(&[], &[]).is_nan());
    }

    #[test]
    fn per_class_f1_is_the_classification_report() {
        // sklearn classification_report: f1 0.8, 0.6666666666666666, 0.5, 0.0 for classes
        // 0..=3 (class 3 only predicted), macro avg 0.4916666666666667.
        let predicted = [0, 1, 1, 2, 2, 0, 3, 1];
        let labels = [0, 1, 2, 2, 1, 0, 0, 1];
        let (macro_f1, per_class) = per_class_f1(&predicted, &labels);
        close(macro_f1, 0.4916666666666667);
        let values: Vec<(u32, f64)> = per_class.into_iter().collect();
        assert_eq!(values.len(), 4);
        close(values[0].1, 0.8);
        close(values[1].1, 0.6666666666666666);
        close(values[2].1, 0.5);
        assert_eq!(values[3], (3, 0.0));
        assert!(per_class_f1(&[], &[]).0.is_nan());
    }

    #[test]
    fn precision_and_recall_are_graphstorms_swapped_ones() {
        // GraphStorm's test_compute_precision / test_compute_recall: 10 of 50 labelled
        // positives predicted, 20 predicted positives; its precision is 0.2, its recall 0.5.
        let predicted: Vec<i64> = (0..100).map(|i| i64::from(i % 50 >= 40)).collect();
        let labels: Vec<i64> = (0..100).map(|i| i64::from(i >= 50)).collect();
        assert_eq!(graphstorm_precision_recall(&predicted, &labels), (0.2, 0.5));
        // Its multi-class case (macro): precision 0.8, recall 0.8428 (4 decimals).
        let predicted: Vec<i64> = [
            (0, 20),
            (1, 5),
            (0, 5),
            (1, 20),
            (0, 5),
            (2, 20),
            (0, 5),
            (3, 20),
        ]
        .iter()
        .flat_map(|&(c, n)| std::iter::repeat_n(c, n))
        .collect();
        let labels: Vec<i64> = (0..100).map(|i| i / 25).collect();
        let (precision, recall) = graphstorm_precision_recall(&predicted, &labels);
        close(precision, 0.8);
        assert!((recall - 0.8428).abs() < 1e-4, "{recall}");
        // sklearn precision_recall_fscore_support(y_pred=labels, y_true=predicted,
        // average='macro'): 0.4583333333333333, 0.5416666666666666.
        let (precision, recall) =
            graphstorm_precision_recall(&[0, 1, 1, 2, 2, 0, 3, 1], &[0, 1, 2, 2, 1, 0, 0, 1]);
        close(precision, 0.4583333333333333);
        close(recall, 0.5416666666666666);
        // average='binary': 0.5, 0.6666666666666666.
        let (precision, recall) =
            graphstorm_precision_recall(&[0, 1, 1, 0, 1, 0], &[1, 1, 0, 0, 1, 1]);
        close(precision, 0.5);
        close(recall, 0.6666666666666666);
    }
}
