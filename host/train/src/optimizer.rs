//! Adam, as `torch.optim.Adam` (L2 weight decay added to the gradient), with its state
//! saved in checkpoints.

use gs_tensor::{Kind, Tensor, TensorError, tch};

/// Adam's hyper-parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamConfig {
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub weight_decay: f64,
}

impl AdamConfig {
    /// PyTorch's defaults with the given learning rate and weight decay.
    pub fn new(lr: f64, weight_decay: f64) -> Self {
        Self {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay,
        }
    }
}

/// Adam over a fixed list of weights (updated in place, so every handle sees new values).
pub struct Adam {
    config: AdamConfig,
    params: Vec<Tensor>,
    exp_avg: Vec<Tensor>,
    exp_avg_sq: Vec<Tensor>,
    step: u64,
}

impl Adam {
    pub fn new(params: Vec<Tensor>, config: AdamConfig) -> Self {
        let exp_avg = params.iter().map(|p| p.zeros_like().detach()).collect();
        let exp_avg_sq = params.iter().map(|p| p.zeros_like().detach()).collect();
        Self {
            config,
            params,
            exp_avg,
            exp_avg_sq,
            step: 0,
        }
    }

    pub fn steps(&self) -> u64 {
        self.step
    }

    /// Clear every weight's gradient.
    pub fn zero_grad(&mut self) {
        for p in &mut self.params {
            p.zero_grad();
        }
    }

    /// Scale gradients so their global norm is at most `max_norm`; returns the norm before.
    pub fn clip_grad_norm(&mut self, max_norm: f64) -> f64 {
        let _guard = tch::no_grad_guard();
        let grads: Vec<Tensor> = self
            .params
            .iter()
            .map(Tensor::grad)
            .filter(Tensor::defined)
            .collect();
        let total: f64 = grads
            .iter()
            .map(|g| g.pow_tensor_scalar(2).sum(Kind::Double).double_value(&[]))
            .sum::<f64>()
            .sqrt();
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
        let c = self.config;
        let bias1 = 1.0 - c.beta1.powi(self.step as i32);
        let bias2 = 1.0 - c.beta2.powi(self.step as i32);
        let step_size = c.lr / bias1;
        let torch = |e| TensorError::new("adam", format!("{e}"));
        for ((p, m), v) in self
            .params
            .iter_mut()
            .zip(&mut self.exp_avg)
            .zip(&mut self.exp_avg_sq)
        {
            let mut grad = p.grad();
            if !grad.defined() {
                continue;
            }
            if c.weight_decay != 0.0 {
                grad = grad
                    .f_add(&p.f_mul_scalar(c.weight_decay).map_err(torch)?)
                    .map_err(torch)?;
            }
            let _ = m.f_mul_scalar_(c.beta1).map_err(torch)?;
            let _ = m
                .f_add_(&grad.f_mul_scalar(1.0 - c.beta1).map_err(torch)?)
                .map_err(torch)?;
            let _ = v.f_mul_scalar_(c.beta2).map_err(torch)?;
            let _ = v
                .f_addcmul_(&grad, &grad.f_mul_scalar(1.0 - c.beta2).map_err(torch)?)
                .map_err(torch)?;
            let denom = v
                .f_sqrt()
                .map_err(torch)?
                .f_div_scalar(bias2.sqrt())
                .map_err(torch)?
                .f_add_scalar(c.eps)
                .map_err(torch)?;
            let update = m
                .f_div(&denom)
                .map_err(torch)?
                .f_mul_scalar(step_size)
                .map_err(torch)?;
            let _ = p.f_sub_(&update).map_err(torch)?;
        }
        Ok(())
    }

    /// The optimizer state as named tensors, for a checkpoint.
    pub fn state(&self, names: &[String]) -> Vec<(String, Tensor)> {
        let mut out = Vec::with_capacity(2 * names.len() + 1);
        for ((name, m), v) in names.iter().zip(&self.exp_avg).zip(&self.exp_avg_sq) {
            out.push((format!("exp_avg/{name}"), m.shallow_clone()));
            out.push((format!("exp_avg_sq/{name}"), v.shallow_clone()));
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
}
