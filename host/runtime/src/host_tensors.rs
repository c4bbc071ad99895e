//! The `tensors` import: every operation of the WIT `tensor` resource, on host tensors.
//!
//! Each operation computes the size of its output (or of its working memory, where that is
//! larger) from the shapes of its arguments and checks it against the plugin's tensor budget
//! before libtorch allocates anything, so one op whose output would take terabytes is refused
//! by its size, not by the allocator. It then runs the shared [`gs_tensor::ops`] kernel, checks
//! the handle limit, and on failure stops the guest with a message naming the operation and
//! the shapes. Outputs made in training stay charged until the batch ends (see
//! [`crate::PluginInstance::end_batch`]).

use gs_tensor::ops::{self, Reduce as OpReduce};
use gs_tensor::{Init as TensorInit, Kind, Tensor, TensorError, element_size};
use wasmtime::component::Resource;

use crate::bindings::tensors::{Host, HostTensor};
use crate::bindings::types::{Dtype, Init, Reduce};
use crate::state::HostState;

/// Most elements a plugin may pass in or read out as a plain list.
const MAX_LIST_ELEMENTS: usize = 16 << 20;

/// A host tensor behind a guest handle, with the bytes it is charged for and whether it is an
/// op output made in training (charged until the batch ends, handle or not).
#[allow(
    unreachable_pub,
    reason = "bindgen's `with` re-exports it from a public module"
)]
pub struct TensorRes {
    pub(crate) tensor: Tensor,
    pub(crate) bytes: usize,
    pub(crate) in_graph: bool,
}

type Handle = Resource<TensorRes>;
type Out = wasmtime::Result<Handle>;

pub(crate) fn kind_of(dtype: Dtype) -> Kind {
    match dtype {
        Dtype::F32 => Kind::Float,
        Dtype::F64 => Kind::Double,
        Dtype::I64 => Kind::Int64,
        Dtype::I32 => Kind::Int,
        Dtype::Boolean => Kind::Bool,
    }
}

fn dtype_of(kind: Kind) -> Option<Dtype> {
    Some(match kind {
        Kind::Float => Dtype::F32,
        Kind::Double => Dtype::F64,
        Kind::Int64 => Dtype::I64,
        Kind::Int => Dtype::I32,
        Kind::Bool => Dtype::Boolean,
        _ => return None,
    })
}

fn init_of(init: Init) -> TensorInit {
    match init {
        Init::Zeros => TensorInit::Zeros,
        Init::Ones => TensorInit::Ones,
        Init::Constant(v) => TensorInit::Constant(v),
        Init::Uniform((low, high)) => TensorInit::Uniform { low, high },
        Init::Normal((mean, std)) => TensorInit::Normal { mean, std },
        Init::XavierUniform(gain) => TensorInit::XavierUniform { gain },
        Init::XavierNormal(gain) => TensorInit::XavierNormal { gain },
        Init::KaimingUniform => TensorInit::KaimingUniform,
    }
}

/// Elements of the broadcast of shapes `a` and `b` (as torch broadcasts them).
fn broadcast_numel(a: &[i64], b: &[i64]) -> usize {
    let rank = a.len().max(b.len());
    (0..rank)
        .map(|i| {
            let da = if i < rank - a.len() {
                1
            } else {
                a[i - (rank - a.len())]
            };
            let db = if i < rank - b.len() {
                1
            } else {
                b[i - (rank - b.len())]
            };
            da.max(db).max(0) as usize
        })
        .fold(1usize, usize::saturating_mul)
}

/// Elements of `matmul(a, b)`: `[..batch, n, k] x [..batch, k, m]` gives the broadcast batch
/// times `n * m`; a 1-D operand contributes no `n` (or `m`).
fn matmul_numel(a: &[i64], b: &[i64]) -> usize {
    let split = |s: &[i64], keep_last: bool| -> (Vec<i64>, i64) {
        if s.len() < 2 {
            return (Vec::new(), 1);
        }
        let edge = if keep_last {
            s[s.len() - 1]
        } else {
            s[s.len() - 2]
        };
        (s[..s.len() - 2].to_vec(), edge)
    };
    let (batch_a, n) = split(a, false);
    let (batch_b, m) = split(b, true);
    broadcast_numel(&batch_a, &batch_b)
        .saturating_mul(n.max(0) as usize)
        .saturating_mul(m.max(0) as usize)
}

/// The size of `t` along `dim` (negative counts from the end), if `t` has that dimension.
fn extent(t: &Tensor, dim: i64) -> Option<usize> {
    let rank = t.dim() as i64;
    let d = if dim < 0 { dim + rank } else { dim };
    (0..rank)
        .contains(&d)
        .then(|| t.size()[d as usize].max(0) as usize)
}

/// Elements of `t` with dimension `dim` resized to `len` (all of `t` if `dim` is invalid:
/// the op will refuse it).
pub(crate) fn resized_numel(t: &Tensor, dim: i64, len: usize) -> usize {
    match extent(t, dim) {
        Some(0) => 0,
        Some(e) => (t.numel() / e).saturating_mul(len),
        None => t.numel(),
    }
}

/// The tensor crate's reduction for the contract's.
pub(crate) fn op_reduce(reduce: Reduce) -> OpReduce {
    match reduce {
        Reduce::Sum => OpReduce::Sum,
        Reduce::Mean => OpReduce::Mean,
        Reduce::Max => OpReduce::Max,
    }
}

/// Bytes per element of an elementwise op's output: the input's, or f32's when the op
/// promotes integers and booleans to floating point.
fn elementwise_size(kind: Kind) -> usize {
    element_size(kind).max(element_size(Kind::Float))
}

impl HostState {
    /// Push the result of an op, or stop the guest with the op's error.
    pub(crate) fn finish(&mut self, op: &'static str, result: Result<Tensor, TensorError>) -> Out {
        match result {
            Ok(t) => self.push_output(op, t),
            Err(e) => Err(self.stop(e.to_string())),
        }
    }

    /// An elementwise op: its output has the input's shape.
    fn unary(
        &mut self,
        op: &'static str,
        this: &Handle,
        f: impl FnOnce(&Tensor) -> Result<Tensor, TensorError>,
    ) -> Out {
        self.shaped(op, this, Tensor::numel, f)
    }

    /// A one-tensor op whose output has `out_numel(input)` elements, checked against the
    /// budget before the op runs.
    fn shaped(
        &mut self,
        op: &'static str,
        this: &Handle,
        out_numel: impl FnOnce(&Tensor) -> usize,
        f: impl FnOnce(&Tensor) -> Result<Tensor, TensorError>,
    ) -> Out {
        let t = self.tensor(this)?.shallow_clone();
        let bytes = out_numel(&t).saturating_mul(elementwise_size(t.kind()));
        self.check_budget_bytes(op, bytes)?;
        let result = f(&t);
        self.finish(op, result)
    }

    /// A broadcasting binary op.
    fn binary(
        &mut self,
        op: &'static str,
        this: &Handle,
        other: &Handle,
        f: impl FnOnce(&Tensor, &Tensor) -> Result<Tensor, TensorError>,
    ) -> Out {
        let a = self.tensor(this)?.shallow_clone();
        let b = self.tensor(other)?.shallow_clone();
        let size = elementwise_size(a.kind()).max(element_size(b.kind()));
        let numel = broadcast_numel(&a.size(), &b.size());
        self.check_budget_bytes(op, numel.saturating_mul(size))?;
        let result = f(&a, &b);
        self.finish(op, result)
    }

    fn list_len_check(&mut self, op: &str, len: usize) -> wasmtime::Result<()> {
        if len > MAX_LIST_ELEMENTS {
            return Err(self.stop(format!(
                "tensor op `{op}`: {len} elements exceed the {MAX_LIST_ELEMENTS} allowed in a plain list \
                 (hint: keep bulk data on the host and work with tensor ops)"
            )));
        }
        Ok(())
    }

    fn shape_numel(&mut self, op: &'static str, shape: &[i64]) -> wasmtime::Result<usize> {
        ops::checked_numel(op, shape).map_err(|e| self.stop(e.to_string()))
    }
}

impl Host for HostState {
    fn param(&mut self, name: String, shape: Vec<i64>, init: Init) -> Out {
        self.host_calls += 1;
        if !self.in_init {
            return Err(self.stop(format!(
                "`param(\"{name}\")` called outside `init`; hint: create every weight in `init` and keep the handle"
            )));
        }
        let numel = self.shape_numel("param", &shape)?;
        if self.check_budget("param", numel, Kind::Float).is_err() {
            // Name the weight: the op alone does not tell a plugin author which one.
            let reason = self.host_error.take().unwrap_or_default();
            let named = format!("`param(\"{name}\", {shape:?})`");
            return Err(self.stop(reason.replacen("tensor op `param`", &named, 1)));
        }
        let result = self.params.get_or_create(&name, &shape, init_of(init));
        self.finish("param", result)
    }

    fn buffer(&mut self, name: String, shape: Vec<i64>, init: Init) -> Out {
        self.host_calls += 1;
        if !self.in_init {
            return Err(self.stop(format!(
                "`buffer(\"{name}\")` called outside `init`; hint: create every buffer in `init` and keep the handle"
            )));
        }
        let numel = self.shape_numel("buffer", &shape)?;
        if self.check_budget("buffer", numel, Kind::Float).is_err() {
            let reason = self.host_error.take().unwrap_or_default();
            let named = format!("`buffer(\"{name}\", {shape:?})`");
            return Err(self.stop(reason.replacen("tensor op `buffer`", &named, 1)));
        }
        let result = self
            .params
            .get_or_create_buffer(&name, &shape, init_of(init));
        self.finish("buffer", result)
    }

    fn set_buffer(&mut self, name: String, value: Handle) -> wasmtime::Result<()> {
        self.host_calls += 1;
        let value = self.tensor(&value)?.shallow_clone();
        match self.params.set_buffer(&name, &value) {
            Ok(()) => Ok(()),
            Err(e) => Err(self.stop(e.to_string())),
        }
    }
}

impl HostTensor for HostState {
    fn from_f32(&mut self, data: Vec<f32>, shape: Vec<i64>) -> Out {
        self.host_calls += 1;
        self.list_len_check("from-f32", data.len())?;
        self.check_budget("from-f32", data.len(), Kind::Float)?;
        let result = ops::from_f32(&data, &shape, self.device);
        self.finish("from-f32", result)
    }

    fn from_i64(&mut self, data: Vec<i64>, shape: Vec<i64>) -> Out {
        self.host_calls += 1;
        self.list_len_check("from-i64", data.len())?;
        self.check_budget("from-i64", data.len(), Kind::Int64)?;
        let result = ops::from_i64(&data, &shape, self.device);
        self.finish("from-i64", result)
    }

    fn zeros(&mut self, shape: Vec<i64>, dtype: Dtype) -> Out {
        self.host_calls += 1;
        let numel = self.shape_numel("zeros", &shape)?;
        self.check_budget("zeros", numel, kind_of(dtype))?;
        let result = ops::zeros(&shape, kind_of(dtype), self.device);
        self.finish("zeros", result)
    }

    fn ones(&mut self, shape: Vec<i64>, dtype: Dtype) -> Out {
        self.host_calls += 1;
        let numel = self.shape_numel("ones", &shape)?;
        self.check_budget("ones", numel, kind_of(dtype))?;
        let result = ops::ones(&shape, kind_of(dtype), self.device);
        self.finish("ones", result)
    }

    fn cat(&mut self, tensors: Vec<Handle>, dim: i64) -> Out {
        self.host_calls += 1;
        let parts: Vec<Tensor> = tensors
            .iter()
            .map(|h| Ok(self.tensor(h)?.shallow_clone()))
            .collect::<wasmtime::Result<_>>()?;
        let numel = parts
            .iter()
            .map(Tensor::numel)
            .fold(0usize, usize::saturating_add);
        let size = parts
            .iter()
            .map(|t| element_size(t.kind()))
            .max()
            .unwrap_or(0);
        self.check_budget_bytes("cat", numel.saturating_mul(size))?;
        let refs: Vec<&Tensor> = parts.iter().collect();
        let result = ops::cat(&refs, dim);
        self.finish("cat", result)
    }

    fn shape(&mut self, this: Handle) -> wasmtime::Result<Vec<i64>> {
        self.host_calls += 1;
        Ok(self.tensor(&this)?.size())
    }

    fn dtype(&mut self, this: Handle) -> wasmtime::Result<Dtype> {
        self.host_calls += 1;
        let kind = self.tensor(&this)?.kind();
        match dtype_of(kind) {
            Some(d) => Ok(d),
            None => Err(self.stop(format!(
                "tensor has element type {kind:?}, which the WIT package cannot name"
            ))),
        }
    }

    fn to_f32_list(&mut self, this: Handle) -> wasmtime::Result<Vec<f32>> {
        self.host_calls += 1;
        let t = self.tensor(&this)?.shallow_clone();
        self.list_len_check("to-f32-list", t.numel())?;
        self.check_budget("to-f32-list", t.numel(), Kind::Float)?;
        let flat = t
            .detach()
            .to_kind(Kind::Float)
            .to_device(gs_tensor::Device::Cpu)
            .flatten(0, -1);
        Vec::<f32>::try_from(flat).map_err(|e| self.stop(format!("tensor op `to-f32-list`: {e}")))
    }

    fn to_i64_list(&mut self, this: Handle) -> wasmtime::Result<Vec<i64>> {
        self.host_calls += 1;
        let t = self.tensor(&this)?.shallow_clone();
        self.list_len_check("to-i64-list", t.numel())?;
        self.check_budget("to-i64-list", t.numel(), Kind::Int64)?;
        let flat = t
            .detach()
            .to_kind(Kind::Int64)
            .to_device(gs_tensor::Device::Cpu)
            .flatten(0, -1);
        Vec::<i64>::try_from(flat).map_err(|e| self.stop(format!("tensor op `to-i64-list`: {e}")))
    }

    fn matmul(&mut self, this: Handle, other: Handle) -> Out {
        self.host_calls += 1;
        let a = self.tensor(&this)?.shallow_clone();
        let b = self.tensor(&other)?.shallow_clone();
        let size = element_size(a.kind()).max(element_size(b.kind()));
        let numel = matmul_numel(&a.size(), &b.size());
        self.check_budget_bytes("matmul", numel.saturating_mul(size))?;
        let result = ops::matmul(&a, &b);
        self.finish("matmul", result)
    }

    fn linear(&mut self, this: Handle, weight: Handle, bias: Option<Handle>) -> Out {
        self.host_calls += 1;
        let x = self.tensor(&this)?.shallow_clone();
        let w = self.tensor(&weight)?.shallow_clone();
        let b = match &bias {
            Some(b) => Some(self.tensor(b)?.shallow_clone()),
            None => None,
        };
        let out_features = w.size().first().copied().unwrap_or(0).max(0) as usize;
        let size = element_size(x.kind()).max(element_size(w.kind()));
        let numel = resized_numel(&x, -1, out_features);
        self.check_budget_bytes("linear", numel.saturating_mul(size))?;
        let result = ops::linear(&x, &w, b.as_ref());
        self.finish("linear", result)
    }

    fn add(&mut self, this: Handle, other: Handle) -> Out {
        self.host_calls += 1;
        self.binary("add", &this, &other, ops::add)
    }

    fn sub(&mut self, this: Handle, other: Handle) -> Out {
        self.host_calls += 1;
        self.binary("sub", &this, &other, ops::sub)
    }

    fn mul(&mut self, this: Handle, other: Handle) -> Out {
        self.host_calls += 1;
        self.binary("mul", &this, &other, ops::mul)
    }

    fn div(&mut self, this: Handle, other: Handle) -> Out {
        self.host_calls += 1;
        self.binary("div", &this, &other, ops::div)
    }

    fn add_scalar(&mut self, this: Handle, value: f64) -> Out {
        self.host_calls += 1;
        self.unary("add-scalar", &this, |t| ops::add_scalar(t, value))
    }

    fn mul_scalar(&mut self, this: Handle, value: f64) -> Out {
        self.host_calls += 1;
        self.unary("mul-scalar", &this, |t| ops::mul_scalar(t, value))
    }

    fn pow_scalar(&mut self, this: Handle, exponent: f64) -> Out {
        self.host_calls += 1;
        self.unary("pow-scalar", &this, |t| ops::pow_scalar(t, exponent))
    }

    fn neg(&mut self, this: Handle) -> Out {
        self.host_calls += 1;
        self.unary("neg", &this, ops::neg)
    }

    fn exp(&mut self, this: Handle) -> Out {
        self.host_calls += 1;
        self.unary("exp", &this, ops::exp)
    }

    fn log(&mut self, this: Handle) -> Out {
        self.host_calls += 1;
        self.unary("log", &this, ops::log)
    }

    fn sqrt(&mut self, this: Handle) -> Out {
        self.host_calls += 1;
        self.unary("sqrt", &this, ops::sqrt)
    }

    fn clamp(&mut self, this: Handle, min: f64, max: f64) -> Out {
        self.host_calls += 1;
        self.unary("clamp", &this, |t| ops::clamp(t, min, max))
    }

    fn relu(&mut self, this: Handle) -> Out {
        self.host_calls += 1;
        self.unary("relu", &this, ops::relu)
    }

    fn elu(&mut self, this: Handle, alpha: f64) -> Out {
        self.host_calls += 1;
        self.unary("elu", &this, |t| ops::elu(t, alpha))
    }

    fn leaky_relu(&mut self, this: Handle, negative_slope: f64) -> Out {
        self.host_calls += 1;
        self.unary("leaky-relu", &this, |t| ops::leaky_relu(t, negative_slope))
    }

    fn sigmoid(&mut self, this: Handle) -> Out {
        self.host_calls += 1;
        self.unary("sigmoid", &this, ops::sigmoid)
    }

    fn tanh(&mut self, this: Handle) -> Out {
        self.host_calls += 1;
        self.unary("tanh", &this, ops::tanh)
    }

    fn softmax(&mut self, this: Handle, dim: i64) -> Out {
        self.host_calls += 1;
        self.unary("softmax", &this, |t| ops::softmax(t, dim))
    }

    fn log_softmax(&mut self, this: Handle, dim: i64) -> Out {
        self.host_calls += 1;
        self.unary("log-softmax", &this, |t| ops::log_softmax(t, dim))
    }

    fn dropout(&mut self, this: Handle, p: f64) -> Out {
        self.host_calls += 1;
        let training = self.training;
        self.unary("dropout", &this, |t| ops::dropout(t, p, training))
    }

    fn layer_norm(
        &mut self,
        this: Handle,
        weight: Option<Handle>,
        bias: Option<Handle>,
        eps: f64,
    ) -> Out {
        self.host_calls += 1;
        let weight = weight
            .map(|w| self.tensor(&w).map(Tensor::shallow_clone))
            .transpose()?;
        let bias = bias
            .map(|b| self.tensor(&b).map(Tensor::shallow_clone))
            .transpose()?;
        self.unary("layer-norm", &this, |t| {
            ops::layer_norm(t, weight.as_ref(), bias.as_ref(), eps)
        })
    }

    fn index_select(&mut self, this: Handle, dim: i64, index: Handle) -> Out {
        self.host_calls += 1;
        let a = self.tensor(&this)?.shallow_clone();
        let index = self.tensor(&index)?.shallow_clone();
        let numel = resized_numel(&a, dim, index.numel());
        self.check_budget("index-select", numel, a.kind())?;
        let result = ops::index_select(&a, dim, &index);
        self.finish("index-select", result)
    }

    fn index_add(&mut self, this: Handle, dim: i64, index: Handle, source: Handle) -> Out {
        self.host_calls += 1;
        let a = self.tensor(&this)?.shallow_clone();
        let index = self.tensor(&index)?.shallow_clone();
        let source = self.tensor(&source)?.shallow_clone();
        self.check_budget("index-add", a.numel(), a.kind())?;
        let result = ops::index_add(&a, dim, &index, &source);
        self.finish("index-add", result)
    }

    fn scatter_reduce(
        &mut self,
        this: Handle,
        index: Handle,
        num_rows: i64,
        reduce: Reduce,
    ) -> Out {
        self.host_calls += 1;
        let src = self.tensor(&this)?.shallow_clone();
        let index = self.tensor(&index)?.shallow_clone();
        let num_rows_usize = num_rows.max(0) as usize;
        let mut numel = resized_numel(&src, 0, num_rows_usize);
        if reduce == Reduce::Mean {
            // The in-degree of every row, beside the sums.
            numel = numel.saturating_add(num_rows_usize);
        }
        self.check_budget("scatter-reduce", numel, src.kind())?;
        let result = ops::scatter_reduce(&src, &index, num_rows, op_reduce(reduce));
        self.finish("scatter-reduce", result)
    }

    fn segment_softmax(&mut self, this: Handle, index: Handle, num_groups: i64) -> Out {
        self.host_calls += 1;
        let index = self.tensor(&index)?.shallow_clone();
        let groups = num_groups.max(0) as usize;
        // Its working memory: per-group maxima and sums, and four input-sized tensors (the
        // gathered maxima, the shifted exponentials, the gathered sums, the output).
        let working = |t: &Tensor| {
            resized_numel(t, 0, groups)
                .saturating_mul(2)
                .saturating_add(t.numel().saturating_mul(4))
        };
        self.shaped("segment-softmax", &this, working, |t| {
            ops::segment_softmax(t, &index, num_groups)
        })
    }

    fn narrow(&mut self, this: Handle, dim: i64, start: i64, len: i64) -> Out {
        self.host_calls += 1;
        let len_usize = len.max(0) as usize;
        self.shaped(
            "narrow",
            &this,
            |t| resized_numel(t, dim, len_usize),
            |t| ops::narrow(t, dim, start, len),
        )
    }

    fn reshape(&mut self, this: Handle, shape: Vec<i64>) -> Out {
        self.host_calls += 1;
        self.unary("reshape", &this, |t| ops::reshape(t, &shape))
    }

    fn transpose(&mut self, this: Handle, dim0: i64, dim1: i64) -> Out {
        self.host_calls += 1;
        self.unary("transpose", &this, |t| ops::transpose(t, dim0, dim1))
    }

    fn sum_dim(&mut self, this: Handle, dim: i64, keepdim: bool) -> Out {
        self.host_calls += 1;
        self.shaped(
            "sum-dim",
            &this,
            |t| resized_numel(t, dim, 1),
            |t| ops::sum_dim(t, dim, keepdim),
        )
    }

    fn mean_dim(&mut self, this: Handle, dim: i64, keepdim: bool) -> Out {
        self.host_calls += 1;
        self.shaped(
            "mean-dim",
            &this,
            |t| resized_numel(t, dim, 1),
            |t| ops::mean_dim(t, dim, keepdim),
        )
    }

    fn to_dtype(&mut self, this: Handle, dtype: Dtype) -> Out {
        self.host_calls += 1;
        let t = self.tensor(&this)?.shallow_clone();
        self.check_budget("to-dtype", t.numel(), kind_of(dtype))?;
        let result = ops::to_kind(&t, kind_of(dtype));
        self.finish("to-dtype", result)
    }

    fn drop(&mut self, rep: Handle) -> wasmtime::Result<()> {
        self.host_calls += 1;
        self.take(rep).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::{broadcast_numel, matmul_numel};

    #[test]
    fn output_sizes_follow_torch_broadcasting() {
        assert_eq!(
            broadcast_numel(&[1_000_000, 1], &[1, 1_000_000]),
            1_000_000_000_000
        );
        assert_eq!(broadcast_numel(&[3, 4], &[4]), 12);
        assert_eq!(
            matmul_numel(&[1_000_000, 1], &[1, 1_000_000]),
            1_000_000_000_000
        );
        assert_eq!(
            matmul_numel(&[5, 2, 3], &[5, 3, 4]),
            40,
            "batched: not 5 * 2 * 5 * 4"
        );
        assert_eq!(matmul_numel(&[7, 1, 2, 3], &[5, 3, 4]), 7 * 5 * 2 * 4);
        assert_eq!(matmul_numel(&[3], &[3, 4]), 4);
        assert_eq!(matmul_numel(&[2, 3], &[3]), 2);
        assert_eq!(matmul_numel(&[3], &[3]), 1);
        assert_eq!(matmul_numel(&[i64::MAX, 1], &[1, i64::MAX]), usize::MAX);
    }
}
