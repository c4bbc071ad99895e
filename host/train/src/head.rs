//! What a classification head's logits mean, as GraphStorm's `EntityClassifier` reads them
//! (`predict` and `predict_proba`): one logit per node (focal loss) and multilabel logits go
//! through a sigmoid, several logits per node through a softmax.

use gs_tensor::{Kind, Tensor};

/// How the logits of a classification model are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Head {
    /// `[N, C]` logits, one class per node: softmax and argmax.
    SingleLabel,
    /// `[N, 1]` logits of a binary task (focal loss): sigmoid, class 1 when above 0.5.
    Binary,
    /// `[N, C]` independent logits (multilabel): sigmoid per class, on when above 0.5.
    MultiLabel,
}

impl Head {
    /// Class probabilities, as GraphStorm writes them with `return_proba`.
    pub(crate) fn probabilities(self, logits: &Tensor) -> Tensor {
        match self {
            Head::SingleLabel => logits.softmax(1, Kind::Float),
            Head::Binary | Head::MultiLabel => logits.sigmoid(),
        }
    }

    /// Predicted classes as `[N, 1]` class ids (`[N, C]` 0/1 for multilabel), as GraphStorm
    /// writes them without `return_proba`.
    pub(crate) fn classes(self, logits: &Tensor) -> Tensor {
        match self {
            Head::SingleLabel => logits.argmax(1, true),
            Head::Binary | Head::MultiLabel => logits.gt(0.0).to_kind(Kind::Int64),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_read_logits_as_graphstorm() {
        let logits = Tensor::from_slice(&[2.0f32, -1.0, -0.5, 0.5]).reshape([2, 2]);
        let values =
            |t: Tensor| Vec::<f32>::try_from(t.to_kind(Kind::Float).flatten(0, -1)).unwrap();
        assert_eq!(values(Head::SingleLabel.classes(&logits)), [0.0, 1.0]);
        assert_eq!(
            values(Head::MultiLabel.classes(&logits)),
            [1.0, 0.0, 0.0, 1.0]
        );
        let p = values(Head::SingleLabel.probabilities(&logits));
        assert!((p[0] + p[1] - 1.0).abs() < 1e-6);
        let p = values(Head::MultiLabel.probabilities(&logits));
        assert!((p[0] - 1.0 / (1.0 + (-2.0f32).exp())).abs() < 1e-6);
        let binary = Tensor::from_slice(&[0.3f32, -0.3]).reshape([2, 1]);
        assert_eq!(values(Head::Binary.classes(&binary)), [1.0, 0.0]);
    }
}
