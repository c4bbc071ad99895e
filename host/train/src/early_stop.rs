//! GraphStorm's early-stop rules (`python/graphstorm/eval/evaluator.py`, as its code defines
//! them; its docs swap the two): after `early_stop_burnin_rounds` evaluations, stop when the
//! newest validation score is worse than the mean of the previous `early_stop_rounds` scores
//! (`average_increase`) or worse than each of them (`consecutive_increase`).

use gs_config::{EarlyStopStrategy, TrainConfig};

/// The early-stop rule of a run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct EarlyStop {
    burnin: usize,
    rounds: usize,
    strategy: EarlyStopStrategy,
}

impl EarlyStop {
    /// The configured rule, or `None` without `use_early_stop`.
    pub(crate) fn from_config(c: &TrainConfig) -> Option<Self> {
        c.use_early_stop.then_some(Self {
            burnin: c.early_stop_burnin_rounds as usize,
            rounds: c.early_stop_rounds as usize,
            strategy: c.early_stop_strategy,
        })
    }

    /// Whether to stop after the newest of `scores` (validation scores, oldest first).
    pub(crate) fn should_stop(&self, scores: &[f64], higher_is_better: bool) -> bool {
        let k = self.rounds;
        if scores.len() <= self.burnin + k || k == 0 {
            return false;
        }
        let (current, previous) = (
            scores[scores.len() - 1],
            &scores[scores.len() - 1 - k..scores.len() - 1],
        );
        let worse = |a: f64, b: f64| if higher_is_better { a < b } else { a > b };
        match self.strategy {
            EarlyStopStrategy::AverageIncrease => {
                worse(current, previous.iter().sum::<f64>() / k as f64)
            }
            EarlyStopStrategy::ConsecutiveIncrease => previous.iter().all(|&p| worse(current, p)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(flags: &str) -> Option<EarlyStop> {
        let argv: Vec<String> = format!(
            "--part-config g.json --num-trainers 1 --task-type node_classification --label-field y \
             --num-classes 3 --hidden-size 4 --lr 0.1 --batch-size 8 {flags}"
        )
        .split_whitespace()
        .map(String::from)
        .collect();
        EarlyStop::from_config(&gs_config::resolve(&argv, None).unwrap().train)
    }

    /// The first epoch after which each rule stops on `scores` (accuracy: higher is better).
    fn stops_after(rule: Option<EarlyStop>, scores: &[f64]) -> Option<usize> {
        let rule = rule?;
        (1..=scores.len()).find(|&n| rule.should_stop(&scores[..n], true))
    }

    #[test]
    fn early_stop_rules_follow_graphstorm() {
        // 0.5 is below the mean of the 3 before it (0.6) but not below each of them.
        let scores = [0.7, 0.5, 0.6, 0.5, 0.4, 0.3, 0.2];
        assert_eq!(stops_after(rule(""), &scores), None, "off by default");
        assert_eq!(stops_after(rule("--use-early-stop true"), &scores), Some(4));
        assert_eq!(
            stops_after(rule("--use-early-stop true --early-stop-rounds 1"), &scores),
            Some(2)
        );
        assert_eq!(
            stops_after(
                rule("--use-early-stop true --early-stop-burnin-rounds 2"),
                &scores
            ),
            Some(6)
        );
        assert_eq!(
            stops_after(
                rule("--use-early-stop true --early-stop-strategy consecutive_increase"),
                &scores
            ),
            Some(5)
        );
        // Lower is better for errors: the same scores never get worse.
        let rule = rule("--use-early-stop true").unwrap();
        assert!(!rule.should_stop(&scores, false));
    }
}
