//! Link-prediction losses as GraphStorm defines them (`python/graphstorm/model/loss_func.py`,
//! chosen in `gsf.py::create_builtin_lp_decoder` by `lp_loss_func` and
//! `adversarial_temperature`). Scores are raw decoder outputs: per target edge type, positives
//! `[B]` and negatives `[B, K]` (row `i` holds positive `i`'s negatives).
//!
//! - `cross_entropy`: BCE-with-logits over every positive (label 1) and negative (label 0),
//!   all edge types concatenated (`LinkPredictBCELossFunc`);
//! - with `adversarial_temperature` T: `(mean(−log σ(p)) + mean(Σ softmax(n·T)·(−log(1−σ(n)))))/2`,
//!   the softmax over all of the batch's negatives and detached (`LinkPredictAdvBCELossFunc`);
//! - `contrastive`: InfoNCE per positive over itself and its K negatives, scores divided by
//!   `contrastive_loss_temperature` (`LinkPredictContrastiveLossFunc`);
//! - `bpr`: `mean(−log σ(p_i − n_ij))` (`LinkPredictBPRLossFunc`).
//!
//! With `lp_edge_weight_for_loss`, each positive's term is multiplied by its edge's weight
//! (GraphStorm's `Weighted*LossFunc`): the BCE weight of positives (negatives weigh 1), the
//! adversarial loss's positive terms, and every BPR pair of the positive.

use gs_config::TrainConfig;
use gs_tensor::{Kind, Tensor, TensorError, tch};

use crate::TrainError;

/// GraphStorm's `lp_loss_func` names gs implements.
pub(crate) const LP_LOSSES: &[&str] = &["cross_entropy", "contrastive", "bpr"];

/// A link-prediction loss with its hyper-parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum LpLoss {
    CrossEntropy,
    Adversarial { temperature: f64 },
    Contrastive { temperature: f64 },
    Bpr,
}

impl LpLoss {
    /// The loss a configuration asks for; `adversarial_temperature` with a loss it does not
    /// change is refused, naming the key.
    pub(crate) fn from_config(c: &TrainConfig) -> Result<Self, TrainError> {
        let loss = match (c.lp_loss_func.as_str(), c.adversarial_temperature) {
            ("cross_entropy", None) => LpLoss::CrossEntropy,
            ("cross_entropy", Some(temperature)) => LpLoss::Adversarial { temperature },
            ("contrastive", None) => LpLoss::Contrastive {
                temperature: c.contrastive_loss_temperature,
            },
            ("bpr", None) => LpLoss::Bpr,
            (name, Some(_)) if LP_LOSSES.contains(&name) => {
                return Err(TrainError::Config(format!(
                    "`adversarial_temperature` is set, but `lp_loss_func` is `{name}`: it only \
                     turns `cross_entropy` into adversarial cross-entropy; hint: remove \
                     `adversarial_temperature` or use `lp_loss_func: cross_entropy`"
                )));
            }
            (name, _) => {
                return Err(TrainError::Config(format!(
                    "`lp_loss_func` is `{name}`; hint: use one of {}",
                    LP_LOSSES.join(", ")
                )));
            }
        };
        if !matches!(loss, LpLoss::Contrastive { .. }) && c.contrastive_loss_temperature != 1.0 {
            return Err(TrainError::Config(format!(
                "`contrastive_loss_temperature` is {}, but `lp_loss_func` is `{}`; hint: remove \
                 it or use `lp_loss_func: contrastive`",
                c.contrastive_loss_temperature, c.lp_loss_func
            )));
        }
        Ok(loss)
    }

    /// The loss of a batch: `(positives [B_t], negatives [B_t, K_t])` per target edge type,
    /// with `weights` `[ΣB_t]` of the positives in the same order, if given. The contrastive
    /// loss takes no weights (the configuration drops them, as GraphStorm).
    pub(crate) fn loss(
        &self,
        scores: &[(Tensor, Tensor)],
        weights: Option<&Tensor>,
    ) -> Result<Tensor, TensorError> {
        let torch = |what: &'static str| move |e: tch::TchError| TensorError::torch(what, e);
        let flat = |pick: &dyn Fn(&(Tensor, Tensor)) -> Tensor| {
            Tensor::cat(&scores.iter().map(pick).collect::<Vec<_>>(), 0)
        };
        Ok(match *self {
            LpLoss::CrossEntropy => {
                let pos = flat(&|(p, _)| p.shallow_clone());
                let neg = flat(&|(_, n)| n.flatten(0, -1));
                let score = Tensor::cat(&[&pos, &neg], 0);
                let label = Tensor::cat(&[pos.ones_like(), neg.zeros_like()], 0);
                let weight = weights.map(|w| Tensor::cat(&[w.shallow_clone(), neg.ones_like()], 0));
                score
                    .f_binary_cross_entropy_with_logits(
                        &label,
                        weight.as_ref(),
                        None::<&Tensor>,
                        tch::Reduction::Mean,
                    )
                    .map_err(torch("link-prediction cross-entropy"))?
            }
            LpLoss::Adversarial { temperature } => {
                let pos = flat(&|(p, _)| p.shallow_clone());
                let neg = flat(&|(_, n)| n.flatten(0, -1));
                let pos_terms = pos.log_sigmoid().neg();
                let pos_loss = match weights {
                    Some(w) => pos_terms * w,
                    None => pos_terms,
                }
                .mean(Kind::Float);
                let weights = (&neg * temperature).softmax(-1, Kind::Float).detach();
                let neg_loss = (weights * neg.neg().log_sigmoid().neg()).sum(Kind::Float);
                (pos_loss + neg_loss) / 2.0
            }
            LpLoss::Contrastive { temperature } => {
                let pos = flat(&|(p, _)| p.unsqueeze(1)) / temperature;
                let neg = flat(&|(_, n)| n.shallow_clone()) / temperature;
                let score = Tensor::cat(&[&pos, &neg], 1);
                let log_prob = pos.squeeze_dim(1) - score.logsumexp([1i64].as_slice(), false);
                log_prob.mean(Kind::Float).neg()
            }
            LpLoss::Bpr => {
                let distance = flat(&|(p, n)| p.unsqueeze(1) - n);
                let terms = distance.log_sigmoid();
                match weights {
                    Some(w) => terms * w.unsqueeze(1),
                    None => terms,
                }
                .mean(Kind::Float)
                .neg()
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(t: &Tensor) -> f64 {
        t.double_value(&[])
    }

    fn sigmoid(x: f64) -> f64 {
        1.0 / (1.0 + (-x).exp())
    }

    /// Each loss written out by hand on one edge type with 2 positives and 2 negatives each.
    #[test]
    fn losses_are_graphstorms_formulas() {
        let p = [1.0f64, -0.5];
        let n = [[0.2f64, -1.0], [0.7, 0.1]];
        let scores = vec![(
            Tensor::from_slice(&p.map(|x| x as f32)),
            Tensor::from_slice(&[0.2f32, -1.0, 0.7, 0.1]).reshape([2, 2]),
        )];
        let all_neg: Vec<f64> = n.iter().flatten().copied().collect();

        let bce = -(p.iter().map(|&x| sigmoid(x).ln()).sum::<f64>()
            + all_neg
                .iter()
                .map(|&x| (1.0 - sigmoid(x)).ln())
                .sum::<f64>())
            / 6.0;
        assert!((value(&LpLoss::CrossEntropy.loss(&scores, None).unwrap()) - bce).abs() < 1e-6);

        let t = 0.5;
        let z: f64 = all_neg.iter().map(|&x| (x * t).exp()).sum();
        let adv_neg: f64 = all_neg
            .iter()
            .map(|&x| (x * t).exp() / z * -(1.0 - sigmoid(x)).ln())
            .sum();
        let adv_pos = -p.iter().map(|&x| sigmoid(x).ln()).sum::<f64>() / 2.0;
        let got = value(
            &LpLoss::Adversarial { temperature: t }
                .loss(&scores, None)
                .unwrap(),
        );
        assert!((got - (adv_pos + adv_neg) / 2.0).abs() < 1e-6, "{got}");

        let temp = 2.0;
        let info: f64 = (0..2)
            .map(|i| {
                let z = (p[i] / temp).exp() + n[i].iter().map(|&x| (x / temp).exp()).sum::<f64>();
                -((p[i] / temp).exp() / z).ln()
            })
            .sum::<f64>()
            / 2.0;
        let got = value(
            &LpLoss::Contrastive { temperature: temp }
                .loss(&scores, None)
                .unwrap(),
        );
        assert!((got - info).abs() < 1e-6, "{got} vs {info}");

        let bpr: f64 = (0..2)
            .flat_map(|i| n[i].iter().map(move |&x| -sigmoid(p[i] - x).ln()))
            .sum::<f64>()
            / 4.0;
        assert!((value(&LpLoss::Bpr.loss(&scores, None).unwrap()) - bpr).abs() < 1e-6);
    }

    /// Weights multiply each positive's terms; weights of 1 change nothing.
    #[test]
    fn weighted_losses_are_graphstorms_weighted_formulas() {
        let p = [1.0f64, -0.5];
        let n = [0.2f64, -1.0, 0.7, 0.1];
        let w = [2.0f64, 0.5];
        let scores = vec![(
            Tensor::from_slice(&p.map(|x| x as f32)),
            Tensor::from_slice(&n.map(|x| x as f32)).reshape([2, 2]),
        )];
        let weights = Tensor::from_slice(&w.map(|x| x as f32));
        let ones = weights.ones_like();
        for loss in [
            LpLoss::CrossEntropy,
            LpLoss::Adversarial { temperature: 0.5 },
            LpLoss::Bpr,
        ] {
            let plain = value(&loss.loss(&scores, None).unwrap());
            let unit = value(&loss.loss(&scores, Some(&ones)).unwrap());
            assert!((plain - unit).abs() < 1e-6, "{loss:?}");
        }
        let bce = -(w[0] * sigmoid(p[0]).ln()
            + w[1] * sigmoid(p[1]).ln()
            + n.iter().map(|&x| (1.0 - sigmoid(x)).ln()).sum::<f64>())
            / 6.0;
        let got = value(&LpLoss::CrossEntropy.loss(&scores, Some(&weights)).unwrap());
        assert!((got - bce).abs() < 1e-6, "{got} vs {bce}");
        let bpr = -(0..2)
            .flat_map(|i| (0..2).map(move |j| w[i] * sigmoid(p[i] - n[2 * i + j]).ln()))
            .sum::<f64>()
            / 4.0;
        let got = value(&LpLoss::Bpr.loss(&scores, Some(&weights)).unwrap());
        assert!((got - bpr).abs() < 1e-6, "{got} vs {bpr}");
    }
}
