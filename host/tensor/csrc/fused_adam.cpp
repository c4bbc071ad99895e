// Adam over many weights in one libtorch call (`at::_fused_adam_`, what `torch.optim.Adam(...,
// fused=True)` runs), and gradients reset to none (`zero_grad(set_to_none=True)`).
//
// An unfused Adam step launches about ten small kernels per weight, each allocating its
// result; on a model of a few dozen small weights that launch overhead is most of the step.
// Errors never cross the C boundary: a failed call returns false and leaves its message for
// `gs_fused_adam_last_error`.

#include <ATen/ATen.h>
#include <c10/util/Exception.h>

#include <string>
#include <vector>

namespace {

thread_local std::string last_error;

std::vector<at::Tensor> gather(const at::Tensor* const* tensors, int64_t n) {
  std::vector<at::Tensor> out;
  out.reserve(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    out.push_back(*tensors[i]);
  }
  return out;
}

}  // namespace

extern "C" {

// One Adam step (torch.optim.Adam: L2 weight decay added to the gradient) over `n` weights,
// their gradients and their two moment estimates, all updated in place; `steps[i]` is weight
// i's own step number, counted from 1. Weights and states must be contiguous and of one dtype
// and device.
bool gs_fused_adam(const at::Tensor* const* params, const at::Tensor* const* grads,
                   const at::Tensor* const* exp_avgs, const at::Tensor* const* exp_avg_sqs,
                   const double* steps, int64_t n, double lr, double beta1, double beta2,
                   double weight_decay, double eps) {
  try {
    if (n == 0) {
      return true;
    }
    std::vector<at::Tensor> p = gather(params, n);
    std::vector<at::Tensor> g;
    g.reserve(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
      TORCH_CHECK(p[i].is_contiguous(), "weight ", i, " is not contiguous");
      g.push_back(grads[i]->contiguous());
    }
    std::vector<at::Tensor> m = gather(exp_avgs, n);
    std::vector<at::Tensor> v = gather(exp_avg_sqs, n);
    // torch.optim.Adam keeps each weight's step as a float scalar on the weight's device;
    // the kernel only reads it.
    std::vector<at::Tensor> step_tensors;
    step_tensors.reserve(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
      step_tensors.push_back(at::full({}, steps[i], p[i].options().dtype(at::kFloat)));
    }
    at::_fused_adam_(p, g, m, v, {}, step_tensors, lr, beta1, beta2, weight_decay, eps,
                     /*amsgrad=*/false, /*maximize=*/false);
    return true;
  } catch (const std::exception& e) {
    last_error = e.what();
    return false;
  }
}

// Forget the gradient of each of `n` tensors: the next backward writes a fresh one instead of
// adding into a zero-filled buffer.
void gs_set_grads_to_none(const at::Tensor* const* tensors, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    at::Tensor t = *tensors[i];
    t.mutable_grad().reset();
  }
}

// The message of this thread's last failed call.
const char* gs_fused_adam_last_error() { return last_error.c_str(); }

}  // extern "C"
