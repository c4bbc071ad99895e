//! The tensor operations of the plugin contract, fallible on any input.
//!
//! Shapes and index tensors come from outside (a plugin, a payload), so every operation
//! checks what libtorch would otherwise reject with a long C++ trace, and converts the
//! rest of libtorch's errors into a [`TensorError`] naming the operation. The plugin
//! runtime and the native models both call these functions, so both paths run the same
//! kernels in the same order.

use tch::{Device, Kind, Tensor};

use crate::TensorError;

type Result<T> = std::result::Result<T, TensorError>;

/// Reductions for [`scatter_reduce`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reduce {
    Sum,
    Mean,
    Max,
}

fn torch<T>(op: &'static str, result: std::result::Result<T, tch::TchError>) -> Result<T> {
    result.map_err(|e| TensorError::torch(op, e))
}

fn check_index(op: &'static str, index: &Tensor) -> Result<()> {
    if index.kind() != Kind::Int64 {
        return Err(TensorError::new(
            op,
            format!("index must be int64, got {:?}", index.kind()),
        ));
    }
    if index.dim() != 1 {
        return Err(TensorError::new(
            op,
            format!("index must be 1-D, got shape {:?}", index.size()),
        ));
    }
    Ok(())
}

fn check_index_range(op: &'static str, index: &Tensor, bound: i64) -> Result<()> {
    if index.numel() == 0 {
        return Ok(());
    }
    let min = torch(op, index.f_min())?.int64_value(&[]);
    let max = torch(op, index.f_max())?.int64_value(&[]);
    if min < 0 || max >= bound {
        return Err(TensorError::new(
            op,
            format!("index values must lie in [0, {bound}), found range [{min}, {max}]"),
        ));
    }
    Ok(())
}

/// Number of elements of a shape, refusing negative dimensions and overflow.
pub fn checked_numel(op: &'static str, shape: &[i64]) -> Result<usize> {
    shape.iter().try_fold(1usize, |acc, &d| {
        if d < 0 {
            return Err(TensorError::new(
                op,
                format!("negative dimension in shape {shape:?}"),
            ));
        }
        acc.checked_mul(d as usize)
            .ok_or_else(|| TensorError::new(op, format!("shape {shape:?} has too many elements")))
    })
}

/// A tensor from f32 values in `shape`, on `device`.
pub fn from_f32(data: &[f32], shape: &[i64], device: Device) -> Result<Tensor> {
    from_values("from-f32", data, shape, device)
}

/// An int64 tensor from values in `shape`, on `device`.
pub fn from_i64(data: &[i64], shape: &[i64], device: Device) -> Result<Tensor> {
    from_values("from-i64", data, shape, device)
}

fn from_values<T: tch::kind::Element>(
    op: &'static str,
    data: &[T],
    shape: &[i64],
    device: Device,
) -> Result<Tensor> {
    let numel = checked_numel(op, shape)?;
    if numel != data.len() {
        return Err(TensorError::new(
            op,
            format!(
                "shape {shape:?} holds {numel} values but {} were given",
                data.len()
            ),
        ));
    }
    torch(
        op,
        Tensor::f_from_slice(data)
            .and_then(|t| t.f_reshape(shape))
            .and_then(|t| t.f_to_device(device)),
    )
}

/// A tensor of zeros.
pub fn zeros(shape: &[i64], kind: Kind, device: Device) -> Result<Tensor> {
    checked_numel("zeros", shape)?;
    torch("zeros", Tensor::f_zeros(shape, (kind, device)))
}

/// A tensor of ones.
pub fn ones(shape: &[i64], kind: Kind, device: Device) -> Result<Tensor> {
    checked_numel("ones", shape)?;
    torch("ones", Tensor::f_ones(shape, (kind, device)))
}

/// Matrix product with `torch.matmul` semantics; the inner dimensions must agree.
pub fn matmul(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    let (sa, sb) = (a.size(), b.size());
    if sa.is_empty() || sb.is_empty() {
        return Err(TensorError::new(
            "matmul",
            format!("needs tensors of rank >= 1, got {sa:?} and {sb:?}"),
        ));
    }
    let inner_b = if sb.len() == 1 {
        sb[0]
    } else {
        sb[sb.len() - 2]
    };
    if sa[sa.len() - 1] != inner_b {
        return Err(TensorError::new(
            "matmul",
            format!("shapes {sa:?} and {sb:?} cannot be multiplied"),
        ));
    }
    torch("matmul", a.f_matmul(b))
}

/// `x @ weightᵀ + bias` (`torch.nn.functional.linear`): `weight` `[out, in]` as `nn.Linear`
/// stores it, `bias` `[out]`; `x`'s last dimension must be `in`. One fused kernel (`addmm`
/// with a bias) instead of a transpose, a product and a sum.
pub fn linear(x: &Tensor, weight: &Tensor, bias: Option<&Tensor>) -> Result<Tensor> {
    let (sx, sw) = (x.size(), weight.size());
    if sx.is_empty() || sw.len() != 2 || sx[sx.len() - 1] != sw[1] {
        return Err(TensorError::new(
            "linear",
            format!("needs x [.., in] and weight [out, in], got {sx:?} and {sw:?}"),
        ));
    }
    if let Some(b) = bias
        && b.size() != [sw[0]]
    {
        return Err(TensorError::new(
            "linear",
            format!(
                "bias must be [{}] for weight {sw:?}, got {:?}",
                sw[0],
                b.size()
            ),
        ));
    }
    torch("linear", x.f_linear(weight, bias))
}

macro_rules! binary {
    ($(#[$doc:meta])* $name:ident, $op:literal, $method:ident) => {
        $(#[$doc])*
        pub fn $name(a: &Tensor, b: &Tensor) -> Result<Tensor> {
            torch($op, a.$method(b))
        }
    };
}

binary!(/// Element-wise sum with broadcasting.
    add, "add", f_add);
binary!(/// Element-wise difference with broadcasting.
    sub, "sub", f_sub);
binary!(/// Element-wise product with broadcasting.
    mul, "mul", f_mul);
binary!(/// Element-wise quotient with broadcasting.
    div, "div", f_div);

/// `a + value`.
pub fn add_scalar(a: &Tensor, value: f64) -> Result<Tensor> {
    torch("add-scalar", a.f_add_scalar(value))
}

/// `a * value`.
pub fn mul_scalar(a: &Tensor, value: f64) -> Result<Tensor> {
    torch("mul-scalar", a.f_mul_scalar(value))
}

/// `a ^ exponent`.
pub fn pow_scalar(a: &Tensor, exponent: f64) -> Result<Tensor> {
    torch("pow-scalar", a.f_pow_tensor_scalar(exponent))
}

/// `-a`.
pub fn neg(a: &Tensor) -> Result<Tensor> {
    torch("neg", a.f_neg())
}

/// `exp(a)`.
pub fn exp(a: &Tensor) -> Result<Tensor> {
    torch("exp", a.f_exp())
}

/// Natural logarithm.
pub fn log(a: &Tensor) -> Result<Tensor> {
    torch("log", a.f_log())
}

/// Square root.
pub fn sqrt(a: &Tensor) -> Result<Tensor> {
    torch("sqrt", a.f_sqrt())
}

/// Clamp into `[min, max]`.
pub fn clamp(a: &Tensor, min: f64, max: f64) -> Result<Tensor> {
    if min > max {
        return Err(TensorError::new(
            "clamp",
            format!("min {min} is above max {max}"),
        ));
    }
    torch("clamp", a.f_clamp(min, max))
}

/// `max(a, 0)`.
pub fn relu(a: &Tensor) -> Result<Tensor> {
    torch("relu", a.f_relu())
}

/// ELU: `a` where positive, `alpha * (exp(a) - 1)` elsewhere.
pub fn elu(a: &Tensor, alpha: f64) -> Result<Tensor> {
    let negative = torch("elu", a.f_clamp_max(0.0).and_then(|t| t.f_exp()))?;
    let negative = torch(
        "elu",
        negative
            .f_sub_scalar(1.0)
            .and_then(|t| t.f_mul_scalar(alpha)),
    )?;
    torch("elu", a.f_relu().and_then(|p| p.f_add(&negative)))
}

/// Leaky ReLU: `a` where positive, `negative_slope * a` elsewhere.
pub fn leaky_relu(a: &Tensor, negative_slope: f64) -> Result<Tensor> {
    let negative = torch(
        "leaky-relu",
        a.f_clamp_max(0.0)
            .and_then(|t| t.f_mul_scalar(negative_slope)),
    )?;
    torch("leaky-relu", a.f_relu().and_then(|p| p.f_add(&negative)))
}

/// Logistic sigmoid.
pub fn sigmoid(a: &Tensor) -> Result<Tensor> {
    torch("sigmoid", a.f_sigmoid())
}

/// Hyperbolic tangent.
pub fn tanh(a: &Tensor) -> Result<Tensor> {
    torch("tanh", a.f_tanh())
}

fn check_dim(op: &'static str, a: &Tensor, dim: i64) -> Result<()> {
    let rank = a.dim() as i64;
    if (rank == 0 && dim != 0 && dim != -1) || (rank > 0 && (dim >= rank || dim < -rank)) {
        return Err(TensorError::new(
            op,
            format!("dim {dim} is out of range for shape {:?}", a.size()),
        ));
    }
    Ok(())
}

/// Softmax along `dim`.
pub fn softmax(a: &Tensor, dim: i64) -> Result<Tensor> {
    check_dim("softmax", a, dim)?;
    torch("softmax", a.f_softmax(dim, None::<Kind>))
}

/// Log-softmax along `dim`.
pub fn log_softmax(a: &Tensor, dim: i64) -> Result<Tensor> {
    check_dim("log-softmax", a, dim)?;
    torch("log-softmax", a.f_log_softmax(dim, None::<Kind>))
}

/// Dropout from libtorch's seeded generator; identity unless `train`.
pub fn dropout(a: &Tensor, p: f64, train: bool) -> Result<Tensor> {
    if !(0.0..1.0).contains(&p) {
        return Err(TensorError::new(
            "dropout",
            format!("p must lie in [0, 1), got {p}"),
        ));
    }
    if !train || p == 0.0 {
        return Ok(a.shallow_clone());
    }
    torch("dropout", a.f_dropout(p, true))
}

/// Layer normalisation over the last dimension.
pub fn layer_norm(
    a: &Tensor,
    weight: Option<&Tensor>,
    bias: Option<&Tensor>,
    eps: f64,
) -> Result<Tensor> {
    let Some(&last) = a.size().last() else {
        return Err(TensorError::new(
            "layer-norm",
            "needs a tensor of rank >= 1",
        ));
    };
    for (what, t) in [("weight", weight), ("bias", bias)] {
        if let Some(t) = t
            && t.size() != [last]
        {
            return Err(TensorError::new(
                "layer-norm",
                format!("{what} must have shape [{last}], got {:?}", t.size()),
            ));
        }
    }
    torch(
        "layer-norm",
        a.f_layer_norm([last], weight, bias, eps, true),
    )
}

/// Slices of `a` along `dim` picked by an int64 index.
pub fn index_select(a: &Tensor, dim: i64, index: &Tensor) -> Result<Tensor> {
    check_index("index-select", index)?;
    check_dim("index-select", a, dim)?;
    let bound = a
        .size()
        .get(dim.rem_euclid(a.dim().max(1) as i64) as usize)
        .copied()
        .unwrap_or(1);
    check_index_range("index-select", index, bound)?;
    torch("index-select", a.f_index_select(dim, index))
}

/// `a` with `source` added at `index` along `dim`.
pub fn index_add(a: &Tensor, dim: i64, index: &Tensor, source: &Tensor) -> Result<Tensor> {
    check_index("index-add", index)?;
    check_dim("index-add", a, dim)?;
    let bound = a
        .size()
        .get(dim.rem_euclid(a.dim().max(1) as i64) as usize)
        .copied()
        .unwrap_or(1);
    check_index_range("index-add", index, bound)?;
    torch("index-add", a.f_index_add(dim, index, source))
}

/// Reduce the rows of `src` into `num_rows` rows by `index` (row `i` goes to `index[i]`);
/// rows that receive nothing are zero.
pub fn scatter_reduce(
    src: &Tensor,
    index: &Tensor,
    num_rows: i64,
    reduce: Reduce,
) -> Result<Tensor> {
    const OP: &str = "scatter-reduce";
    check_index(OP, index)?;
    let size = src.size();
    if size.first() != Some(&index.size()[0]) {
        return Err(TensorError::new(
            OP,
            format!(
                "index has {} entries but the source has shape {size:?}",
                index.size()[0]
            ),
        ));
    }
    if num_rows < 0 {
        return Err(TensorError::new(
            OP,
            format!("num-rows must be >= 0, got {num_rows}"),
        ));
    }
    check_index_range(OP, index, num_rows)?;
    let mut out_shape = size.clone();
    out_shape[0] = num_rows;
    checked_numel(OP, &out_shape)?;
    let options = (src.kind(), src.device());
    match reduce {
        Reduce::Sum => torch(
            OP,
            Tensor::f_zeros(&out_shape, options).and_then(|z| z.f_index_add(0, index, src)),
        ),
        Reduce::Mean => {
            // Sum, then divide by the in-degree (at least 1, so empty rows stay zero).
            let sum = torch(
                OP,
                Tensor::f_zeros(&out_shape, options).and_then(|z| z.f_index_add(0, index, src)),
            )?;
            let ones = torch(OP, Tensor::f_ones([index.size()[0]], options))?;
            let count = torch(
                OP,
                Tensor::f_zeros([num_rows], options)
                    .and_then(|z| z.f_index_add(0, index, &ones))
                    .and_then(|c| c.f_clamp_min(1.0)),
            )?;
            let mut count_shape = vec![num_rows];
            count_shape.resize(out_shape.len(), 1);
            torch(
                OP,
                count.f_reshape(&count_shape).and_then(|c| sum.f_div(&c)),
            )
        }
        Reduce::Max => {
            // `scatter_reduce.two` without the initial values: rows that receive nothing keep zero.
            let expanded = torch(
                OP,
                index
                    .f_reshape(index_view_shape(size.len()))
                    .and_then(|i| i.f_expand(&size, false)),
            )?;
            torch(
                OP,
                Tensor::f_zeros(&out_shape, options)
                    .and_then(|z| z.f_internal_scatter_reduce(0, &expanded, src, "amax", false)),
            )
        }
    }
}

/// `[-1, 1, 1, …]` of the given rank, to broadcast a row index over the other dimensions.
fn index_view_shape(rank: usize) -> Vec<i64> {
    let mut shape = vec![1i64; rank.max(1)];
    shape[0] = -1;
    shape
}

/// Softmax of `a`'s rows within the groups given by `index` (edge softmax).
pub fn segment_softmax(a: &Tensor, index: &Tensor, num_groups: i64) -> Result<Tensor> {
    const OP: &str = "segment-softmax";
    check_index(OP, index)?;
    if a.size().first() != Some(&index.size()[0]) {
        return Err(TensorError::new(
            OP,
            format!(
                "index has {} entries but the input has shape {:?}",
                index.size()[0],
                a.size()
            ),
        ));
    }
    let max = scatter_reduce(&a.detach(), index, num_groups, Reduce::Max)?;
    let shifted = torch(OP, max.f_index_select(0, index).and_then(|m| a.f_sub(&m)))?;
    let exp = torch(OP, shifted.f_exp())?;
    let sums = scatter_reduce(&exp, index, num_groups, Reduce::Sum)?;
    torch(
        OP,
        sums.f_index_select(0, index).and_then(|s| exp.f_div(&s)),
    )
}

/// `len` elements from `start` along `dim` (a view).
pub fn narrow(a: &Tensor, dim: i64, start: i64, len: i64) -> Result<Tensor> {
    check_dim("narrow", a, dim)?;
    let extent = a.size()[dim.rem_euclid(a.dim().max(1) as i64) as usize];
    if start < 0 || len < 0 || start + len > extent {
        return Err(TensorError::new(
            "narrow",
            format!(
                "range [{start}, {}) is outside dimension {dim} of size {extent}",
                start + len
            ),
        ));
    }
    torch("narrow", a.f_narrow(dim, start, len))
}

/// Same values in a new shape; one dimension may be -1.
pub fn reshape(a: &Tensor, shape: &[i64]) -> Result<Tensor> {
    torch("reshape", a.f_reshape(shape))
}

/// Swap two dimensions.
pub fn transpose(a: &Tensor, dim0: i64, dim1: i64) -> Result<Tensor> {
    check_dim("transpose", a, dim0)?;
    check_dim("transpose", a, dim1)?;
    torch("transpose", a.f_transpose(dim0, dim1))
}

/// Sum over `dim`.
pub fn sum_dim(a: &Tensor, dim: i64, keepdim: bool) -> Result<Tensor> {
    check_dim("sum-dim", a, dim)?;
    torch(
        "sum-dim",
        a.f_sum_dim_intlist([dim].as_slice(), keepdim, None::<Kind>),
    )
}

/// Mean over `dim`.
pub fn mean_dim(a: &Tensor, dim: i64, keepdim: bool) -> Result<Tensor> {
    check_dim("mean-dim", a, dim)?;
    torch(
        "mean-dim",
        a.f_mean_dim([dim].as_slice(), keepdim, None::<Kind>),
    )
}

/// Convert the element type.
pub fn to_kind(a: &Tensor, kind: Kind) -> Result<Tensor> {
    torch("to-dtype", a.f_to_kind(kind))
}

/// Concatenate along `dim`.
pub fn cat(tensors: &[&Tensor], dim: i64) -> Result<Tensor> {
    if tensors.is_empty() {
        return Err(TensorError::new("cat", "needs at least one tensor"));
    }
    torch("cat", Tensor::f_cat(tensors, dim))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(values: &[f32], shape: &[i64]) -> Tensor {
        from_f32(values, shape, Device::Cpu).unwrap()
    }

    fn idx(values: &[i64]) -> Tensor {
        from_i64(values, &[values.len() as i64], Device::Cpu).unwrap()
    }

    #[test]
    fn matmul_rejects_mismatched_shapes_with_the_shapes() {
        let err = matmul(&t(&[1.0; 6], &[2, 3]), &t(&[1.0; 8], &[4, 2])).unwrap_err();
        assert_eq!(err.op, "matmul");
        assert!(
            err.message.contains("[2, 3]") && err.message.contains("[4, 2]"),
            "{err}"
        );
    }

    #[test]
    fn linear_is_x_times_weight_transposed_plus_bias_and_checks_shapes() {
        let x = t(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
        // weight [out 2, in 3]
        let w = t(&[1.0, 0.0, -1.0, 0.5, 0.5, 0.5], &[2, 3]);
        let b = t(&[10.0, -10.0], &[2]);
        let y = linear(&x, &w, Some(&b)).unwrap();
        assert_eq!(
            Vec::<f32>::try_from(y.flatten(0, -1)).unwrap(),
            vec![1.0 - 3.0 + 10.0, 3.0 - 10.0, 4.0 - 6.0 + 10.0, 7.5 - 10.0]
        );
        let no_bias = linear(&x, &w, None).unwrap();
        let expected = matmul(&x, &transpose(&w, 0, 1).unwrap()).unwrap();
        assert!(no_bias.equal(&expected));
        let err = linear(&x, &t(&[1.0; 8], &[2, 4]), None).unwrap_err();
        assert_eq!(err.op, "linear");
        assert!(err.message.contains("[2, 3] and [2, 4]"), "{err}");
        let err = linear(&x, &w, Some(&t(&[1.0; 3], &[3]))).unwrap_err();
        assert!(err.message.contains("bias must be [2]"), "{err}");
    }

    #[test]
    fn scatter_reduce_mean_sum_max_leave_empty_rows_zero() {
        let src = t(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[3, 2]);
        let index = idx(&[0, 2, 0]);
        let mean = scatter_reduce(&src, &index, 4, Reduce::Mean).unwrap();
        assert_eq!(
            Vec::<f32>::try_from(mean.flatten(0, -1)).unwrap(),
            vec![3.0, 4.0, 0.0, 0.0, 3.0, 4.0, 0.0, 0.0]
        );
        let sum = scatter_reduce(&src, &index, 4, Reduce::Sum).unwrap();
        assert_eq!(
            Vec::<f32>::try_from(sum.flatten(0, -1)).unwrap(),
            vec![6.0, 8.0, 0.0, 0.0, 3.0, 4.0, 0.0, 0.0]
        );
        let max = scatter_reduce(
            &t(&[-1.0, -3.0, -2.0], &[3]),
            &idx(&[1, 1, 0]),
            3,
            Reduce::Max,
        )
        .unwrap();
        assert_eq!(Vec::<f32>::try_from(max).unwrap(), vec![-2.0, -1.0, 0.0]);
    }

    #[test]
    fn scatter_reduce_rejects_out_of_range_and_wrong_dtype_indices() {
        let src = t(&[1.0, 2.0], &[2]);
        assert!(
            scatter_reduce(&src, &idx(&[0, 5]), 3, Reduce::Sum)
                .unwrap_err()
                .message
                .contains("[0, 3)")
        );
        let float_index = t(&[0.0, 1.0], &[2]);
        assert!(
            scatter_reduce(&src, &float_index, 3, Reduce::Sum)
                .unwrap_err()
                .message
                .contains("int64")
        );
    }

    #[test]
    fn segment_softmax_sums_to_one_per_group() {
        let scores = t(&[1.0, 2.0, 3.0, 0.5], &[4]);
        let out = segment_softmax(&scores, &idx(&[0, 0, 1, 1]), 2).unwrap();
        let v = Vec::<f32>::try_from(out).unwrap();
        assert!((v[0] + v[1] - 1.0).abs() < 1e-6 && (v[2] + v[3] - 1.0).abs() < 1e-6);
        assert!(v[1] > v[0] && v[2] > v[3]);
    }

    #[test]
    fn elu_and_leaky_relu_match_definitions() {
        let x = t(&[-2.0, 0.0, 3.0], &[3]);
        let e = Vec::<f32>::try_from(elu(&x, 0.5).unwrap()).unwrap();
        assert!((e[0] - 0.5 * ((-2.0f32).exp() - 1.0)).abs() < 1e-6 && e[1] == 0.0 && e[2] == 3.0);
        let l = Vec::<f32>::try_from(leaky_relu(&x, 0.1).unwrap()).unwrap();
        assert!((l[0] + 0.2).abs() < 1e-6 && l[2] == 3.0);
    }

    #[test]
    fn from_values_checks_the_element_count() {
        assert!(
            from_f32(&[1.0, 2.0], &[3], Device::Cpu)
                .unwrap_err()
                .message
                .contains("3 values")
        );
        assert!(zeros(&[-1, 2], Kind::Float, Device::Cpu).is_err());
    }

    #[test]
    fn dropout_is_identity_outside_training() {
        let x = t(&[1.0; 100], &[100]);
        assert!(dropout(&x, 0.5, false).unwrap().equal(&x));
        assert!(!dropout(&x, 0.5, true).unwrap().equal(&x));
        assert!(dropout(&x, 1.5, true).is_err());
    }
}
