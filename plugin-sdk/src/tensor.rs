//! [`Tensor`]: a handle to a tensor that lives on the host, with one method per operation of
//! `tensors.wit` and the arithmetic operators.

use std::fmt;
use std::ops::{Add, Div, Mul, Neg, Sub};

use crate::bindings::gs::plugin::tensors as raw;

pub use crate::bindings::gs::plugin::types::{Dtype, Init, Reduce};

/// A tensor owned by the host (libtorch, on CPU or GPU); the plugin holds a handle to it.
///
/// Every method is one eager host call over the whole tensor, recorded for the host's autograd.
/// Use them on whole batches, never per node or per edge: a call costs about half a
/// microsecond of boundary crossing. An operation that cannot run (shapes that do not fit, an
/// index of the wrong dtype, a budget reached) stops the current export with a message naming
/// the operation and the shapes, like an exception in a PyTorch `forward`.
///
/// Dropping a `Tensor` releases its handle. Operators work on references and on owned values:
/// `&a + &b`, `&x * 0.5`, `1.0 - &p`, `-&x`. With a scalar they are built from the scalar ops:
/// `t - s` is `add_scalar(-s)`, `t / s` is `mul_scalar(1.0 / s)`, `s / t` is
/// `pow_scalar(-1.0).mul_scalar(s)`.
#[repr(transparent)]
pub struct Tensor(raw::Tensor);

impl Tensor {
    /// Wraps a handle from the generated bindings.
    pub fn from_raw(raw: raw::Tensor) -> Self {
        Tensor(raw)
    }

    /// The handle for the generated bindings.
    pub fn into_raw(self) -> raw::Tensor {
        self.0
    }

    /// The handle for the generated bindings, borrowed.
    pub fn as_raw(&self) -> &raw::Tensor {
        &self.0
    }

    /// Views a borrowed generated handle as a `Tensor`.
    pub(crate) fn from_raw_ref(raw: &raw::Tensor) -> &Tensor {
        // SAFETY: `Tensor` is `repr(transparent)` over `raw::Tensor`, so both have the same
        // layout and a reference to one is a valid reference to the other.
        unsafe { &*(raw as *const raw::Tensor).cast::<Tensor>() }
    }

    // --- Creation -------------------------------------------------------------------------

    /// A tensor from plain values; `shape`'s product must equal `data.len()`.
    /// Meant for small data (at most 16 Mi elements).
    pub fn from_f32(data: &[f32], shape: &[i64]) -> Tensor {
        Tensor(raw::Tensor::from_f32(data, shape))
    }

    /// An int64 tensor (indices) from plain values.
    pub fn from_i64(data: &[i64], shape: &[i64]) -> Tensor {
        Tensor(raw::Tensor::from_i64(data, shape))
    }

    /// A tensor of zeros.
    pub fn zeros(shape: &[i64], dtype: Dtype) -> Tensor {
        Tensor(raw::Tensor::zeros(shape, dtype))
    }

    /// A tensor of ones.
    pub fn ones(shape: &[i64], dtype: Dtype) -> Tensor {
        Tensor(raw::Tensor::ones(shape, dtype))
    }

    /// Concatenation along `dim` (`torch.cat`).
    pub fn cat(tensors: &[&Tensor], dim: i64) -> Tensor {
        let raws: Vec<&raw::Tensor> = tensors.iter().map(|t| &t.0).collect();
        Tensor(raw::Tensor::cat(&raws, dim))
    }

    // --- Inspection -----------------------------------------------------------------------

    /// The shape.
    pub fn shape(&self) -> Vec<i64> {
        self.0.shape()
    }

    /// The size of one dimension; negative `dim` counts from the end.
    ///
    /// # Panics
    /// If `dim` is out of range.
    pub fn size(&self, dim: i64) -> i64 {
        let shape = self.shape();
        let rank = shape.len() as i64;
        let index = if dim < 0 { dim + rank } else { dim };
        assert!(
            (0..rank).contains(&index),
            "dimension {dim} out of range for a tensor of shape {shape:?}"
        );
        shape[index as usize]
    }

    /// The element type.
    pub fn dtype(&self) -> Dtype {
        self.0.dtype()
    }

    /// A copy of the values as f32 (small tensors only: at most 16 Mi elements).
    pub fn to_f32_vec(&self) -> Vec<f32> {
        self.0.to_f32_list()
    }

    /// A copy of the values as i64 (small tensors only: at most 16 Mi elements).
    pub fn to_i64_vec(&self) -> Vec<i64> {
        self.0.to_i64_list()
    }

    // --- Arithmetic -----------------------------------------------------------------------

    /// Matrix product (`torch.matmul`).
    pub fn matmul(&self, other: &Tensor) -> Tensor {
        Tensor(self.0.matmul(&other.0))
    }

    /// `self @ weightᵀ + bias` (`torch.nn.functional.linear`), `weight` `[out, in]` as
    /// `torch.nn.Linear` stores it, `bias` `[out]`: one host call and one fused kernel where
    /// `transpose`, `matmul` and `add` take three (`gs:plugin@0.1.4`).
    pub fn linear(&self, weight: &Tensor, bias: Option<&Tensor>) -> Tensor {
        Tensor(self.0.linear(&weight.0, bias.map(|b| &b.0)))
    }

    /// Element-wise sum with broadcasting; also `&a + &b`.
    pub fn add(&self, other: &Tensor) -> Tensor {
        Tensor(self.0.add(&other.0))
    }

    /// Element-wise difference with broadcasting; also `&a - &b`.
    pub fn sub(&self, other: &Tensor) -> Tensor {
        Tensor(self.0.sub(&other.0))
    }

    /// Element-wise product with broadcasting; also `&a * &b`.
    pub fn mul(&self, other: &Tensor) -> Tensor {
        Tensor(self.0.mul(&other.0))
    }

    /// Element-wise quotient with broadcasting; also `&a / &b`.
    pub fn div(&self, other: &Tensor) -> Tensor {
        Tensor(self.0.div(&other.0))
    }

    /// Adds a scalar; also `&a + 1.0`.
    pub fn add_scalar(&self, value: f64) -> Tensor {
        Tensor(self.0.add_scalar(value))
    }

    /// Multiplies by a scalar; also `&a * 2.0`.
    pub fn mul_scalar(&self, value: f64) -> Tensor {
        Tensor(self.0.mul_scalar(value))
    }

    /// Raises every element to a power.
    pub fn pow_scalar(&self, exponent: f64) -> Tensor {
        Tensor(self.0.pow_scalar(exponent))
    }

    /// Negation; also `-&a`.
    pub fn neg(&self) -> Tensor {
        Tensor(self.0.neg())
    }

    /// Element-wise `e^x`.
    pub fn exp(&self) -> Tensor {
        Tensor(self.0.exp())
    }

    /// Element-wise natural logarithm.
    pub fn log(&self) -> Tensor {
        Tensor(self.0.log())
    }

    /// Element-wise square root.
    pub fn sqrt(&self) -> Tensor {
        Tensor(self.0.sqrt())
    }

    /// Clamps into `[min, max]`.
    pub fn clamp(&self, min: f64, max: f64) -> Tensor {
        Tensor(self.0.clamp(min, max))
    }

    // --- Activations ----------------------------------------------------------------------

    /// `max(x, 0)`.
    pub fn relu(&self) -> Tensor {
        Tensor(self.0.relu())
    }

    /// ELU with the given `alpha` (PyTorch's default is 1.0).
    pub fn elu(&self, alpha: f64) -> Tensor {
        Tensor(self.0.elu(alpha))
    }

    /// Leaky ReLU with the given negative slope (PyTorch's default is 0.01).
    pub fn leaky_relu(&self, negative_slope: f64) -> Tensor {
        Tensor(self.0.leaky_relu(negative_slope))
    }

    /// The logistic sigmoid.
    pub fn sigmoid(&self) -> Tensor {
        Tensor(self.0.sigmoid())
    }

    /// Hyperbolic tangent.
    pub fn tanh(&self) -> Tensor {
        Tensor(self.0.tanh())
    }

    /// Softmax along `dim`.
    pub fn softmax(&self, dim: i64) -> Tensor {
        Tensor(self.0.softmax(dim))
    }

    /// Log-softmax along `dim`.
    pub fn log_softmax(&self, dim: i64) -> Tensor {
        Tensor(self.0.log_softmax(dim))
    }

    /// Dropout with probability `p`, drawn from the host's seeded generator. The host applies
    /// it only while it runs the export in `train` mode; it is the identity otherwise.
    pub fn dropout(&self, p: f64) -> Tensor {
        Tensor(self.0.dropout(p))
    }

    /// Layer normalisation over the last dimension with optional affine weight and bias.
    pub fn layer_norm(&self, weight: Option<&Tensor>, bias: Option<&Tensor>, eps: f64) -> Tensor {
        Tensor(
            self.0
                .layer_norm(weight.map(|w| &w.0), bias.map(|b| &b.0), eps),
        )
    }

    // --- Indexing and message passing ------------------------------------------------------

    /// Rows (or slices along `dim`) picked by an int64 index tensor (`torch.index_select`).
    pub fn index_select(&self, dim: i64, index: &Tensor) -> Tensor {
        Tensor(self.0.index_select(dim, &index.0))
    }

    /// `self` with `source` added at the positions `index` along `dim` (`Tensor.index_add`).
    pub fn index_add(&self, dim: i64, index: &Tensor, source: &Tensor) -> Tensor {
        Tensor(self.0.index_add(dim, &index.0, &source.0))
    }

    /// Reduces the rows of `self` into `num_rows` rows: row `i` goes to row `index[i]`. Rows
    /// that receive nothing are zero. This is the aggregation step of message passing.
    pub fn scatter_reduce(&self, index: &Tensor, num_rows: i64, reduce: Reduce) -> Tensor {
        Tensor(self.0.scatter_reduce(&index.0, num_rows, reduce))
    }

    /// Softmax of `self`'s rows within the `num_groups` groups given by `index`: the edge
    /// softmax of attention layers.
    pub fn segment_softmax(&self, index: &Tensor, num_groups: i64) -> Tensor {
        Tensor(self.0.segment_softmax(&index.0, num_groups))
    }

    /// `len` elements from `start` along `dim` (a view, no copy).
    pub fn narrow(&self, dim: i64, start: i64, len: i64) -> Tensor {
        Tensor(self.0.narrow(dim, start, len))
    }

    /// Same values in a new shape; one dimension may be -1.
    pub fn reshape(&self, shape: &[i64]) -> Tensor {
        Tensor(self.0.reshape(shape))
    }

    /// Swaps two dimensions.
    pub fn transpose(&self, dim0: i64, dim1: i64) -> Tensor {
        Tensor(self.0.transpose(dim0, dim1))
    }

    /// Sum over one dimension.
    pub fn sum_dim(&self, dim: i64, keepdim: bool) -> Tensor {
        Tensor(self.0.sum_dim(dim, keepdim))
    }

    /// Mean over one dimension.
    pub fn mean_dim(&self, dim: i64, keepdim: bool) -> Tensor {
        Tensor(self.0.mean_dim(dim, keepdim))
    }

    /// Converts the element type.
    pub fn to_dtype(&self, dtype: Dtype) -> Tensor {
        Tensor(self.0.to_dtype(dtype))
    }
}

impl fmt::Debug for Tensor {
    /// Shows the handle only: reading the shape would be a host call.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Tensor").field(&self.0.handle()).finish()
    }
}

/// A trainable weight owned by the host: its optimizer updates it and its checkpoint saves it
/// under `name`. Only callable during [`Model::init`](crate::Model::init). Calling it again
/// with the same name returns the same weight (the shape must match). Fan-in and fan-out for
/// `init` are the last two dimensions of `shape`, read as `[fan-in, fan-out]`.
///
/// Prefer [`Scope::param`](crate::nn::Scope::param), which builds hierarchical names.
pub fn param(name: &str, shape: &[i64], init: Init) -> Tensor {
    Tensor(raw::param(name, shape, init))
}

/// A state tensor of the model owned by the host that no optimizer updates, such as batch
/// normalisation's running statistics (`gs:plugin@0.1.3`): its checkpoint saves it under
/// `name` beside the weights, and restoring a checkpoint restores it. Only callable during
/// [`Model::init`](crate::Model::init); a name is a weight's or a buffer's, not both.
///
/// Prefer [`Scope::buffer`](crate::nn::Scope::buffer).
pub fn buffer(name: &str, shape: &[i64], init: Init) -> Tensor {
    Tensor(raw::buffer(name, shape, init))
}

/// Overwrites buffer `name` with `value` (same shape; no gradient flows), during
/// [`Model::forward`](crate::Model::forward).
pub fn set_buffer(name: &str, value: &Tensor) {
    raw::set_buffer(name, &value.0);
}

impl Init {
    /// The xavier gain for ReLU, `sqrt(2)` (`torch.nn.init.calculate_gain("relu")`).
    pub const RELU_GAIN: f64 = std::f64::consts::SQRT_2;
}

impl Dtype {
    /// The name used in WIT and in messages (`f32`, `i64`, `boolean`…).
    pub fn as_str(self) -> &'static str {
        match self {
            Dtype::F32 => "f32",
            Dtype::F64 => "f64",
            Dtype::I64 => "i64",
            Dtype::I32 => "i32",
            Dtype::Boolean => "boolean",
        }
    }
}

// --- Operators ------------------------------------------------------------------------------

/// `impl $Trait` for every owned/borrowed combination of two tensors, and for a tensor with an
/// `f64` scalar on either side.
macro_rules! binary_ops {
    ($Trait:ident, $method:ident, |$a:ident, $b:ident| $tensor_op:expr, |$t:ident, $s:ident| $scalar_op:expr, |$s2:ident, $t2:ident| $scalar_left_op:expr) => {
        impl $Trait<&Tensor> for &Tensor {
            type Output = Tensor;
            fn $method(self, rhs: &Tensor) -> Tensor {
                let ($a, $b) = (self, rhs);
                $tensor_op
            }
        }
        impl $Trait<Tensor> for &Tensor {
            type Output = Tensor;
            fn $method(self, rhs: Tensor) -> Tensor {
                $Trait::$method(self, &rhs)
            }
        }
        impl $Trait<&Tensor> for Tensor {
            type Output = Tensor;
            fn $method(self, rhs: &Tensor) -> Tensor {
                $Trait::$method(&self, rhs)
            }
        }
        impl $Trait<Tensor> for Tensor {
            type Output = Tensor;
            fn $method(self, rhs: Tensor) -> Tensor {
                $Trait::$method(&self, &rhs)
            }
        }
        impl $Trait<f64> for &Tensor {
            type Output = Tensor;
            fn $method(self, rhs: f64) -> Tensor {
                let ($t, $s) = (self, rhs);
                $scalar_op
            }
        }
        impl $Trait<f64> for Tensor {
            type Output = Tensor;
            fn $method(self, rhs: f64) -> Tensor {
                $Trait::$method(&self, rhs)
            }
        }
        impl $Trait<&Tensor> for f64 {
            type Output = Tensor;
            fn $method(self, rhs: &Tensor) -> Tensor {
                let ($s2, $t2) = (self, rhs);
                $scalar_left_op
            }
        }
        impl $Trait<Tensor> for f64 {
            type Output = Tensor;
            fn $method(self, rhs: Tensor) -> Tensor {
                $Trait::$method(self, &rhs)
            }
        }
    };
}

binary_ops!(Add, add, |a, b| a.add(b), |t, s| t.add_scalar(s), |s, t| t
    .add_scalar(s));
binary_ops!(
    Sub,
    sub,
    |a, b| a.sub(b),
    |t, s| t.add_scalar(-s),
    |s, t| t.neg().add_scalar(s)
);
binary_ops!(Mul, mul, |a, b| a.mul(b), |t, s| t.mul_scalar(s), |s, t| t
    .mul_scalar(s));
binary_ops!(
    Div,
    div,
    |a, b| a.div(b),
    |t, s| t.mul_scalar(1.0 / s),
    |s, t| t.pow_scalar(-1.0).mul_scalar(s)
);

impl Neg for &Tensor {
    type Output = Tensor;
    fn neg(self) -> Tensor {
        Tensor::neg(self)
    }
}

impl Neg for Tensor {
    type Output = Tensor;
    fn neg(self) -> Tensor {
        Tensor::neg(&self)
    }
}
