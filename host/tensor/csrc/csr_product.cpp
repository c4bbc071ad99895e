// A sparse-matrix product whose backward uses a transpose built once, ahead of time.
//
// Neighbour aggregation is `y = A x` with A a block's [num_dst, num_src] CSR matrix. libtorch
// differentiates a CSR product by transposing A at every backward (CSR -> CSC -> product,
// about 10x the forward's cost). This autograd function takes A and its transpose, both CSR,
// and computes `grad_x = A^T grad_y` with the second: forward and backward are then one
// MKL (or cuSPARSE) sparse product each. Errors never cross the C boundary: a failed call
// returns null and leaves its message for `gs_csr_last_error`.

#include <ATen/ATen.h>
#include <c10/util/Exception.h>
#include <torch/csrc/autograd/custom_function.h>

#include <string>

namespace {

thread_local std::string last_error;

struct CsrProduct : public torch::autograd::Function<CsrProduct> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& rows,
                            const at::Tensor& matrix, const at::Tensor& transposed) {
    ctx->saved_data["transposed"] = transposed;
    return at::mm(matrix, rows);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const at::Tensor transposed = ctx->saved_data["transposed"].toTensor();
    return {at::mm(transposed, grads[0].contiguous()), at::Tensor(), at::Tensor()};
  }
};

// Swallows libtorch's warnings while a CSR tensor is built ("sparse CSR support is in beta"):
// they say nothing a gs user can act on.
struct SilentWarnings : public c10::WarningHandler {
  void process(const c10::Warning&) override {}
};

}  // namespace

extern "C" {

// `matrix @ rows` (rows [num_src, d], matrix [num_dst, num_src] CSR), differentiable in
// `rows` through `transposed` ([num_src, num_dst] CSR, equal to matrix^T).
at::Tensor* gs_csr_product(const at::Tensor* rows, const at::Tensor* matrix,
                           const at::Tensor* transposed) {
  try {
    return new at::Tensor(CsrProduct::apply(*rows, *matrix, *transposed));
  } catch (const std::exception& e) {
    last_error = e.what();
    return nullptr;
  }
}

// A [num_rows, num_cols] CSR matrix from int64 `crow` [num_rows + 1] and `col` [nnz] and
// `values` [nnz], on the values' device.
at::Tensor* gs_csr_matrix(const at::Tensor* crow, const at::Tensor* col, const at::Tensor* values,
                          int64_t num_rows, int64_t num_cols) {
  try {
    SilentWarnings silent;
    c10::WarningUtils::WarningHandlerGuard guard(&silent);
    return new at::Tensor(at::sparse_csr_tensor(*crow, *col, *values, {num_rows, num_cols},
                                                values->options().layout(at::kSparseCsr)));
  } catch (const std::exception& e) {
    last_error = e.what();
    return nullptr;
  }
}

// The message of this thread's last failed call.
const char* gs_csr_last_error() { return last_error.c_str(); }

}  // extern "C"
