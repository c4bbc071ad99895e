//! Safe wrappers over `csrc/fused_adam.cpp`: one Adam step over many weights in one libtorch
//! call (`at::_fused_adam_`, as `torch.optim.Adam(..., fused=True)`), and gradients reset to
//! none (as `zero_grad(set_to_none=True)`, PyTorch's default).

use std::ffi::{CStr, c_char, c_void};

use tch::Tensor;

use crate::TensorError;

unsafe extern "C" {
    fn gs_fused_adam(
        params: *const *const c_void,
        grads: *const *const c_void,
        exp_avgs: *const *const c_void,
        exp_avg_sqs: *const *const c_void,
        steps: *const f64,
        n: i64,
        lr: f64,
        beta1: f64,
        beta2: f64,
        weight_decay: f64,
        eps: f64,
    ) -> bool;
    fn gs_set_grads_to_none(tensors: *const *const c_void, n: i64);
    fn gs_fused_adam_last_error() -> *const c_char;
}

/// Adam's hyper-parameters as `torch.optim.Adam` names them (L2 `weight_decay` added to the
/// gradient).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamHyper {
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub weight_decay: f64,
}

impl AdamHyper {
    /// PyTorch's defaults (betas 0.9 and 0.999, eps 1e-8) with the given learning rate and
    /// weight decay.
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

fn pointers(tensors: &[Tensor]) -> Vec<*const c_void> {
    tensors.iter().map(|t| t.as_ptr().cast()).collect()
}

/// One Adam step over `params`, in place, with their gradients `grads` and moment estimates
/// `exp_avgs` and `exp_avg_sqs` (updated in place too); `steps[i]` is weight `i`'s own step
/// number, counted from 1 (PyTorch counts per weight). The lists are parallel; weights and
/// states must be contiguous, of one dtype and on one device.
pub fn fused_adam_step(
    params: &[Tensor],
    grads: &[Tensor],
    exp_avgs: &[Tensor],
    exp_avg_sqs: &[Tensor],
    steps: &[u64],
    hyper: AdamHyper,
) -> Result<(), TensorError> {
    let n = params.len();
    if grads.len() != n || exp_avgs.len() != n || exp_avg_sqs.len() != n || steps.len() != n {
        return Err(TensorError::new(
            "adam",
            format!(
                "{n} weights but {} gradients, {} first and {} second moments, {} step counts",
                grads.len(),
                exp_avgs.len(),
                exp_avg_sqs.len(),
                steps.len()
            ),
        ));
    }
    let steps: Vec<f64> = steps.iter().map(|&s| s as f64).collect();
    let (p, g, m, v) = (
        pointers(params),
        pointers(grads),
        pointers(exp_avgs),
        pointers(exp_avg_sqs),
    );
    // SAFETY: four arrays of `n` live tensors, borrowed for the duration of the call.
    let ok = unsafe {
        gs_fused_adam(
            p.as_ptr(),
            g.as_ptr(),
            m.as_ptr(),
            v.as_ptr(),
            steps.as_ptr(),
            n as i64,
            hyper.lr,
            hyper.beta1,
            hyper.beta2,
            hyper.weight_decay,
            hyper.eps,
        )
    };
    if ok {
        Ok(())
    } else {
        // SAFETY: the shim keeps this thread's last message alive until its next call.
        let message = unsafe { CStr::from_ptr(gs_fused_adam_last_error()) };
        Err(TensorError::new(
            "adam",
            message.to_string_lossy().into_owned(),
        ))
    }
}

/// Forget the gradients of `tensors`: the next backward writes fresh ones instead of adding
/// into zero-filled buffers.
pub fn set_grads_to_none(tensors: &[Tensor]) {
    let t = pointers(tensors);
    // SAFETY: an array of live tensors, borrowed for the duration of the call.
    unsafe { gs_set_grads_to_none(t.as_ptr(), t.len() as i64) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Kind;

    /// The unfused formula of `torch.optim.Adam` for one step.
    fn reference_step(p: &Tensor, g: &Tensor, m: &Tensor, v: &Tensor, step: u64, h: AdamHyper) {
        let g = g + p * h.weight_decay;
        let _ = m
            .shallow_clone()
            .g_mul_scalar_(h.beta1)
            .g_add_(&(&g * (1.0 - h.beta1)));
        let _ = v
            .shallow_clone()
            .g_mul_scalar_(h.beta2)
            .g_add_(&(&g * &g * (1.0 - h.beta2)));
        let bias1 = 1.0 - h.beta1.powi(step as i32);
        let bias2 = 1.0 - h.beta2.powi(step as i32);
        let denom = v.sqrt() / bias2.sqrt() + h.eps;
        let _ = p.shallow_clone().g_sub_(&(m / denom * (h.lr / bias1)));
    }

    #[test]
    fn fused_step_matches_the_unfused_formula_with_per_weight_step_counts() {
        tch::manual_seed(7);
        let hyper = AdamHyper::new(0.01, 0.05);
        let shapes: [&[i64]; 3] = [&[5, 3], &[7], &[2, 2, 4]];
        let fresh = || -> Vec<Tensor> {
            shapes
                .iter()
                .map(|s| Tensor::randn(*s, (Kind::Float, tch::Device::Cpu)))
                .collect()
        };
        let params = fresh();
        let initial: Vec<Tensor> = params.iter().map(|p| p.copy()).collect();
        let expected: Vec<Tensor> = params.iter().map(|p| p.copy()).collect();
        let zeros = |ps: &[Tensor]| ps.iter().map(Tensor::zeros_like).collect::<Vec<_>>();
        let (m, v) = (zeros(&params), zeros(&params));
        let (em, ev) = (zeros(&params), zeros(&params));
        for step in 1..=3 {
            let grads = fresh();
            // Each weight its own count, as PyTorch keeps them (weight i skipped 2i steps).
            let steps: Vec<u64> = (0..params.len() as u64).map(|i| step + 2 * i).collect();
            fused_adam_step(&params, &grads, &m, &v, &steps, hyper).unwrap();
            for i in 0..params.len() {
                reference_step(&expected[i], &grads[i], &em[i], &ev[i], steps[i], hyper);
            }
        }
        for ((got, want), before) in params.iter().zip(&expected).zip(&initial) {
            let diff = (got - want).abs().max().double_value(&[]);
            assert!(diff < 1e-6, "fused and unfused Adam differ by {diff}");
            // Each step moves an element by about `lr` (0.01) in a random direction: over 3
            // steps some elements may end up near where they began, but not a whole weight.
            // (Other tests draw from the same global generator at the same time, so the
            // gradients are random, not fixed by the seed.)
            let moved = (got - before).abs().mean(Kind::Float).double_value(&[]);
            assert!(moved > 1e-3, "a weight did not move: mean |change| {moved}");
        }
    }

    #[test]
    fn mismatched_lists_are_refused() {
        let p = vec![Tensor::zeros([2], (Kind::Float, tch::Device::Cpu))];
        let hyper = AdamHyper::new(0.1, 0.0);
        let err = fused_adam_step(&p, &[], &p, &p, &[1], hyper).unwrap_err();
        assert!(
            err.to_string().contains("1 weights but 0 gradients"),
            "{err}"
        );
        let err = fused_adam_step(&p, &p, &p, &p, &[], hyper).unwrap_err();
        assert!(err.to_string().contains("0 step counts"), "{err}");
    }

    #[test]
    fn grads_set_to_none_are_undefined_until_the_next_backward() {
        let w = Tensor::ones([3], (Kind::Float, tch::Device::Cpu)).set_requires_grad(true);
        (&w * 2.0).sum(Kind::Float).backward();
        assert!(w.grad().defined());
        set_grads_to_none(std::slice::from_ref(&w));
        assert!(!w.grad().defined());
        (&w * 3.0).sum(Kind::Float).backward();
        assert_eq!(Vec::<f32>::try_from(w.grad()).unwrap(), vec![3.0; 3]);
    }
}
