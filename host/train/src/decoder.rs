//! The host's built-in node decoder, used when a plugin does not decode itself: GraphStorm's
//! `EntityClassifier` / `EntityRegression`, a linear map from embeddings to outputs.

use gs_tensor::ops;
use gs_tensor::{Device, Init, ParamStore, Tensor, TensorError};

/// `x @ weight + bias`, weights `decoder.weight` `[in, out]` and, unless `decoder_bias` is
/// false, `decoder.bias` `[out]`.
pub(crate) struct NodeDecoder {
    params: ParamStore,
    weight: Tensor,
    bias: Option<Tensor>,
}

impl NodeDecoder {
    pub(crate) fn new(
        in_dim: i64,
        out_dim: i64,
        use_bias: bool,
        seed: u64,
        device: Device,
    ) -> Result<Self, TensorError> {
        let mut params = ParamStore::new(seed, device);
        let weight = params.get_or_create(
            "decoder.weight",
            &[in_dim, out_dim],
            Init::XavierUniform {
                gain: std::f64::consts::SQRT_2,
            },
        )?;
        let bias = if use_bias {
            Some(params.get_or_create("decoder.bias", &[out_dim], Init::Zeros)?)
        } else {
            None
        };
        Ok(Self {
            params,
            weight,
            bias,
        })
    }

    pub(crate) fn forward(&self, x: &Tensor) -> Result<Tensor, TensorError> {
        let out = ops::matmul(x, &self.weight)?;
        match &self.bias {
            Some(bias) => ops::add(&out, bias),
            None => Ok(out),
        }
    }

    pub(crate) fn params(&self) -> &ParamStore {
        &self.params
    }

    pub(crate) fn params_mut(&mut self) -> &mut ParamStore {
        &mut self.params
    }
}
