//! Safe wrappers over `csrc/csr_product.cpp`: CSR matrices, and their product with dense rows
//! whose backward uses a transpose built ahead of time (libtorch's own would transpose at
//! every backward, about ten times the forward's cost).

use std::ffi::{CStr, c_char, c_void};

use tch::Tensor;

use crate::TensorError;

type Result<T> = std::result::Result<T, TensorError>;

unsafe extern "C" {
    fn gs_csr_product(
        rows: *const c_void,
        matrix: *const c_void,
        transposed: *const c_void,
    ) -> *mut c_void;
    fn gs_csr_matrix(
        crow: *const c_void,
        col: *const c_void,
        values: *const c_void,
        num_rows: i64,
        num_cols: i64,
    ) -> *mut c_void;
    fn gs_csr_last_error() -> *const c_char;
}

/// The tensor a shim call returned, or its error.
fn adopt(op: &'static str, tensor: *mut c_void) -> Result<Tensor> {
    if tensor.is_null() {
        // SAFETY: the shim keeps this thread's last message alive until its next call.
        let message = unsafe { CStr::from_ptr(gs_csr_last_error()) };
        return Err(TensorError::new(op, message.to_string_lossy().into_owned()));
    }
    // SAFETY: a non-null result is a `new at::Tensor`, which tch's `Tensor` owns and frees.
    Ok(unsafe { Tensor::from_ptr(tensor.cast()) })
}

/// A `[num_rows, num_cols]` CSR matrix: row `r` holds `values[k]` at column `col[k]` for `k`
/// in `crow[r]..crow[r + 1]` (int64 `crow` and `col`; on the values' device).
pub(crate) fn csr_matrix(
    crow: &Tensor,
    col: &Tensor,
    values: &Tensor,
    num_rows: i64,
    num_cols: i64,
) -> Result<Tensor> {
    // SAFETY: the three pointers are live tensors for the duration of the call.
    let out = unsafe {
        gs_csr_matrix(
            crow.as_ptr().cast(),
            col.as_ptr().cast(),
            values.as_ptr().cast(),
            num_rows,
            num_cols,
        )
    };
    adopt("csr-matrix", out)
}

/// `matrix @ rows`, differentiable in `rows` through `transposed`, which must equal
/// `matrix`ᵀ (both CSR, on `rows`'s device and of its dtype).
pub(crate) fn csr_product(rows: &Tensor, matrix: &Tensor, transposed: &Tensor) -> Result<Tensor> {
    // SAFETY: the three pointers are live tensors for the duration of the call.
    let out = unsafe {
        gs_csr_product(
            rows.as_ptr().cast(),
            matrix.as_ptr().cast(),
            transposed.as_ptr().cast(),
        )
    };
    adopt("csr-product", out)
}
