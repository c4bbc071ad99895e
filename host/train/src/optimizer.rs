//! Adam, as `torch.optim.Adam(..., fused=True)` (L2 weight decay added to the gradient; one
//! libtorch call per step), with its state saved in checkpoints.

use gs_tensor::{Kind, Tensor, TensorError, fused_adam_step, set_grads_to_none, tch};

/// Adam's hyper-parameters; [`AdamConfig::new`] gives PyTorch's defaults with a learning rate
/// and weight decay.
pub type AdamConfig = gs_tensor::AdamHyper;

/// The `p`-norm of all `tensors` taken as one vector (`p` infinite: the largest absolute value).
fn global_norm(tensors: &[Tensor], p: f64) -> f64 {
    let values = tensors.iter().map(|g| g.to_kind(Kind::Double).abs());
    if p.is_infinite() {
        values
            .map(|a| a.max().double_value(&[]))
            .fold(0.0, f64::max)
    } else {
        values
            .map(|a| a.pow_tensor_scalar(p).sum(Kind::Double).double_value(&[]))
            .sum::<f64>()
            .powf(1.0 / p)
    }
}

/// Adam over a fixed list of weights (updated in place, so every handle sees new values).
pub struct Adam {
    config: AdamConfig,
    params: Vec<Tensor>,
    exp_avg: Vec<Tensor>,
    exp_avg_sq: Vec<Tensor>,
    /// Calls of [`Adam::step`].
    step: u64,
    /// Each weight's own step count: as in PyTorch, a weight without a gradient is skipped
    /// and its count (hence its bias correction) stays behind.
    weight_steps: Vec<u64>,
}

impl Adam {
    pub fn new(params: Vec<Tensor>, config: AdamConfig) -> Self {
        let exp_avg = params.iter().map(|p| p.zeros_like().detach()).collect();
        let exp_avg_sq = params.iter().map(|p| p.zeros_like().detach()).collect();
        let weight_steps = vec![0; params.len()];
        Self {
            config,
            params,
            exp_avg,
            exp_avg_sq,
            step: 0,
            weight_steps,
        }
    }

    pub fn steps(&self) -> u64 {
        self.step
    }

    /// Clear every weight's gradient (set to none, PyTorch's default: the next backward
    /// writes fresh gradients instead of adding into zero-filled ones).
    pub fn zero_grad(&mut self) {
        set_grads_to_none(&self.params);
    }

    /// Scale gradients so their global `norm_type`-norm (`f64::INFINITY`: the largest absolute
    /// value) is at most `max_norm`, as `torch.nn.utils.clip_grad_norm_`; returns the norm
    /// before clipping.
    pub fn clip_grad_norm(&mut self, max_norm: f64, norm_type: f64) -> f64 {
        let _guard = tch::no_grad_guard();
        let grads: Vec<Tensor> = self
            .params
            .iter()
            .map(Tensor::grad)
            .filter(Tensor::defined)
            .collect();
        let total = global_norm(&grads, norm_type);
        if total > max_norm {
            let scale = max_norm / (total + 1e-6);
            for mut g in grads {
                let _ = g.f_mul_scalar_(scale);
            }
        }
        total
    }

    /// One update from the current gradients. Weights without a gradient are skipped.
    pub fn step(&mut self) -> Result<(), TensorError> {
        let _guard = tch::no_grad_guard();
        self.step += 1;
        let (mut params, mut grads, mut exp_avg, mut exp_avg_sq, mut steps) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for (i, p) in self.params.iter().enumerate() {
            let grad = p.grad();
            if grad.defined() {
                self.weight_steps[i] += 1;
                params.push(p.shallow_clone());
                grads.push(grad);
                exp_avg.push(self.exp_avg[i].shallow_clone());
                exp_avg_sq.push(self.exp_avg_sq[i].shallow_clone());
                steps.push(self.weight_steps[i]);
            }
        }
        fused_adam_step(&params, &grads, &exp_avg, &exp_avg_sq, &steps, self.config)
    }

    /// The optimizer state as named tensors, for a checkpoint: each weight's moments and
    /// step count, and the number of steps.
    pub fn state(&self, names: &[String]) -> Vec<(String, Tensor)> {
        let mut out = Vec::with_capacity(3 * names.len() + 1);
        for (i, name) in names.iter().enumerate() {
            out.push((format!("exp_avg/{name}"), self.exp_avg[i].shallow_clone()));
            out.push((
                format!("exp_avg_sq/{name}"),
                self.exp_avg_sq[i].shallow_clone(),
            ));
            let steps = self.weight_steps[i] as i64;
            out.push((format!("step/{name}"), Tensor::from_slice(&[steps])));
        }
        out.push(("step".to_string(), Tensor::from_slice(&[self.step as i64])));
        out
    }

    /// Restore state saved by [`Adam::state`] for weights named `names`.
    pub fn load_state(
        &mut self,
        names: &[String],
        saved: &[(String, Tensor)],
    ) -> Result<(), TensorError> {
        let find = |key: &str| saved.iter().find(|(n, _)| n == key).map(|(_, t)| t);
        let _guard = tch::no_grad_guard();
        for ((name, m), v) in names
            .iter()
            .zip(&mut self.exp_avg)
            .zip(&mut self.exp_avg_sq)
        {
            for (prefix, slot) in [("exp_avg", &mut *m), ("exp_avg_sq", &mut *v)] {
                let key = format!("{prefix}/{name}");
                let value = find(&key).ok_or_else(|| {
                    TensorError::new("load", format!("optimizer state lacks `{key}`"))
                })?;
                slot.f_copy_(value)
                    .map_err(|e| TensorError::new("load", format!("`{key}`: {e}")))?;
            }
        }
        let step =
            find("step").ok_or_else(|| TensorError::new("load", "optimizer state lacks `step`"))?;
        self.step = step.int64_value(&[0]) as u64;
        // Checkpoints written before per-weight counts had every weight at `step`.
        for (name, count) in names.iter().zip(&mut self.weight_steps) {
            *count =
                find(&format!("step/{name}")).map_or(self.step, |t| t.int64_value(&[0]) as u64);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adam_minimises_a_quadratic_and_matches_torch_first_step() {
        let p = Tensor::from_slice(&[3.0f32, -2.0]).set_requires_grad(true);
        let mut adam = Adam::new(vec![p.shallow_clone()], AdamConfig::new(0.1, 0.0));
        // First Adam step moves every coordinate by lr * sign(grad) (up to eps).
        let loss = (&p * &p).sum(Kind::Float);
        loss.backward();
        adam.step().unwrap();
        let after = Vec::<f32>::try_from(p.detach()).unwrap();
        assert!(
            (after[0] - 2.9).abs() < 1e-5 && (after[1] + 1.9).abs() < 1e-5,
            "{after:?}"
        );
        for _ in 0..300 {
            adam.zero_grad();
            (&p * &p).sum(Kind::Float).backward();
            adam.step().unwrap();
        }
        let end = Vec::<f32>::try_from(p.detach()).unwrap();
        assert!(end.iter().all(|v| v.abs() < 0.05), "{end:?}");
    }

    #[test]
    fn clipping_uses_the_chosen_p_norm() {
        let clip = |max_norm: f64, p: f64| {
            let w = Tensor::from_slice(&[0.0f32, 0.0]).set_requires_grad(true);
            let mut adam = Adam::new(vec![w.shallow_clone()], AdamConfig::new(0.1, 0.0));
            // Gradient [3, -4]: 2-norm 5, 1-norm 7, inf-norm 4.
            (&w * Tensor::from_slice(&[3.0f32, -4.0]))
                .sum(Kind::Float)
                .backward();
            let before = adam.clip_grad_norm(max_norm, p);
            (before, Vec::<f32>::try_from(w.grad()).unwrap())
        };
        let (norm, grad) = clip(1.0, 2.0);
        assert!(
            (norm - 5.0).abs() < 1e-9 && (grad[0] - 0.6).abs() < 1e-5,
            "{norm} {grad:?}"
        );
        let (norm, grad) = clip(1.0, 1.0);
        assert!(
            (norm - 7.0).abs() < 1e-9 && (grad[0] - 3.0 / 7.0).abs() < 1e-5,
            "{norm} {grad:?}"
        );
        let (norm, grad) = clip(1.0, f64::INFINITY);
        assert!(
            (norm - 4.0).abs() < 1e-9 && (grad[1] + 1.0).abs() < 1e-5,
            "{norm} {grad:?}"
        );
        let (_, grad) = clip(10.0, 2.0);
        assert_eq!(grad, [3.0, -4.0], "below the limit nothing changes");
    }

    #[test]
    fn state_round_trips() {
        let p = Tensor::from_slice(&[1.0f32]).set_requires_grad(true);
        let mut adam = Adam::new(vec![p.shallow_clone()], AdamConfig::new(0.1, 0.0));
        (&p * &p).sum(Kind::Float).backward();
        adam.step().unwrap();
        let names = vec!["p".to_string()];
        let saved = adam.state(&names);
        let mut fresh = Adam::new(vec![p.shallow_clone()], AdamConfig::new(0.1, 0.0));
        fresh.load_state(&names, &saved).unwrap();
        assert_eq!(fresh.steps(), 1);
        assert!(fresh.exp_avg[0].equal(&adam.exp_avg[0]));
    }

    #[test]
    fn a_weight_without_a_gradient_is_skipped_and_keeps_its_own_count() {
        let a = Tensor::from_slice(&[1.0f32]).set_requires_grad(true);
        let b = Tensor::from_slice(&[2.0f32]).set_requires_grad(true);
        let mut adam = Adam::new(
            vec![a.shallow_clone(), b.shallow_clone()],
            AdamConfig::new(0.1, 0.0),
        );
        let step = |adam: &mut Adam, loss: Tensor| {
            adam.zero_grad();
            loss.backward();
            adam.step().unwrap();
        };
        step(&mut adam, (&a * &b).sum(Kind::Float));
        let b_after_one = b.double_value(&[0]);
        // Only `a` in the loss: `b` keeps its value (PyTorch skips it; a zero-filled gradient
        // would have moved it by its momentum).
        step(&mut adam, (&a * &a).sum(Kind::Float));
        assert_eq!(b.double_value(&[0]), b_after_one);
        assert_eq!(adam.weight_steps, [2, 1]);
        let names = vec!["a".to_string(), "b".to_string()];
        let saved = adam.state(&names);
        let mut restored = Adam::new(
            vec![a.shallow_clone(), b.shallow_clone()],
            AdamConfig::new(0.1, 0.0),
        );
        restored.load_state(&names, &saved).unwrap();
        assert_eq!(restored.weight_steps, [2, 1]);
        // A checkpoint from before per-weight counts gives every weight the global count.
        let old: Vec<_> = saved
            .into_iter()
            .filter(|(n, _)| !n.starts_with("step/"))
            .collect();
        restored.load_state(&names, &old).unwrap();
        assert_eq!(restored.weight_steps, [2, 2]);
    }
}
