//! The host's built-in edge decoders (GraphStorm's `python/graphstorm/model/edge_decoder.py`),
//! used by edge classification and regression: they read the embeddings of each target edge's
//! source and destination node and give `[E, num_classes]` logits or `[E, 1]` values.
//!
//! - `DenseBiDecoder` (the default): `o = einsum('ai,bij,aj->ab', h_src, basis, h_dst)` with
//!   `num_decoder_basis` bases `[B, h, h]`, then `combine_basis`, a linear map B → C (with a bias
//!   unless `decoder_bias` is false). For regression `combine_basis` maps B → h and a further
//!   `regression_head` (linear h → 1, with bias) gives the value, exactly as GraphStorm 0.5.1
//!   (checked in `fixtures/graphstorm-models`, case `er-rgcn`).
//! - `MLPDecoder` (GraphStorm's `MLPEdgeDecoder` without FFN layers): `[h_src, h_dst] @ W`
//!   with `W` `[2h, C]` (`[2h, h]` then `regression_head` for regression), plus a bias unless
//!   `decoder_bias` is false.
//!
//! - `MLPEFeatEdgeDecoder` (GraphStorm's, without FFN layers or norm), which also reads the
//!   target edge's own features (`decoder_edge_feat`, `[E, F]`):
//!   `nn = dropout(relu([h_src, h_dst] @ nn_decoder))` (`[2h, h]`),
//!   `fe = dropout(relu(efeat @ feat_decoder))` (`[F, h]`),
//!   `o = relu([nn, fe] @ combine_decoder) @ decoder + bias` (`[2h, h]`, `[h, C]`, `[C]`; `C` is
//!   `h` for regression, then `regression_head`). Its weights carry GraphStorm's state-dict names
//!   (`decoder.nn_decoder`, ...), xavier uniform with gain `sqrt(2)` as GraphStorm's; it does not
//!   drop out the embeddings themselves, as GraphStorm's does not.
//!
//! Weights are stored `[in, out]` as gs's node decoder stores them (GraphStorm's `nn.Linear`
//! keeps `[out, in]`). Dropout (`dropout`) applies to both embeddings in training in the first
//! two, as GraphStorm's decoders do.

use gs_tensor::{Device, Init, ParamStore, Tensor, TensorError, tch};

/// GraphStorm's `decoder_type` names gs implements.
pub(crate) const DECODER_TYPES: &[&str] = &["DenseBiDecoder", "MLPDecoder", "MLPEFeatEdgeDecoder"];

/// The decoder type that reads the target edges' features (`decoder_edge_feat`).
pub(crate) const EDGE_FEATURE_DECODER: &str = "MLPEFeatEdgeDecoder";

/// A linear map `x @ weight (+ bias)`.
struct Linear {
    weight: Tensor,
    bias: Option<Tensor>,
}

impl Linear {
    /// `<name>.weight` and `<name>.bias`, as GraphStorm's `nn.Linear` layers are named.
    fn new(
        params: &mut ParamStore,
        name: &str,
        shape: [i64; 2],
        init: Init,
        bias: bool,
    ) -> Result<Self, TensorError> {
        let names = (format!("{name}.weight"), format!("{name}.bias"));
        Self::named(params, (&names.0, &names.1), shape, init, bias)
    }

    /// A weight and a bias under names of their own, as GraphStorm's decoders that hold them
    /// as bare parameters name them (`decoder.decoder`, `decoder.bias`).
    fn named(
        params: &mut ParamStore,
        (weight_name, bias_name): (&str, &str),
        shape: [i64; 2],
        init: Init,
        bias: bool,
    ) -> Result<Self, TensorError> {
        let weight = params.get_or_create(weight_name, &shape, init)?;
        let bias = if bias {
            Some(params.get_or_create(bias_name, &[shape[1]], Init::Zeros)?)
        } else {
            None
        };
        Ok(Self { weight, bias })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor, TensorError> {
        let out = gs_tensor::ops::matmul(x, &self.weight)?;
        match &self.bias {
            Some(b) => gs_tensor::ops::add(&out, b),
            None => Ok(out),
        }
    }
}

enum Kind {
    DenseBi {
        basis: Tensor,
        combine: Linear,
    },
    Mlp {
        decoder: Linear,
    },
    MlpEFeat {
        nn_decoder: Tensor,
        feat_decoder: Tensor,
        combine_decoder: Tensor,
        decoder: Tensor,
        bias: Option<Tensor>,
    },
}

/// An edge decoder with its weights (`decoder.*`).
pub(crate) struct EdgeDecoder {
    params: ParamStore,
    kind: Kind,
    regression_head: Option<Linear>,
    dropout: f64,
}

/// What an [`EdgeDecoder`] is built from.
pub(crate) struct EdgeDecoderSpec<'a> {
    pub(crate) decoder_type: &'a str,
    pub(crate) hidden: i64,
    /// Classes, or 1 for regression.
    pub(crate) out_dim: i64,
    pub(crate) regression: bool,
    pub(crate) num_basis: i64,
    pub(crate) bias: bool,
    pub(crate) dropout: f64,
    /// Width of the target edges' concatenated `decoder_edge_feat` (0: none).
    pub(crate) edge_feat_dim: i64,
}

impl EdgeDecoder {
    pub(crate) fn new(
        spec: &EdgeDecoderSpec<'_>,
        seed: u64,
        device: Device,
    ) -> Result<Self, TensorError> {
        let mut params = ParamStore::new(seed, device);
        let h = spec.hidden;
        // For regression the decoder proper maps to `h`, and the head to 1.
        let width = if spec.regression { h } else { spec.out_dim };
        let kind = match spec.decoder_type {
            "DenseBiDecoder" => Kind::DenseBi {
                basis: params.get_or_create(
                    "decoder.basis_para",
                    &[spec.num_basis, h, h],
                    Init::XavierUniform { gain: 1.0 },
                )?,
                combine: Linear::new(
                    &mut params,
                    "decoder.combine_basis",
                    [spec.num_basis, width],
                    Init::XavierUniform { gain: 1.0 },
                    spec.bias,
                )?,
            },
            "MLPDecoder" => Kind::Mlp {
                // GraphStorm's `MLPEdgeDecoder` holds `decoder` and `bias` as parameters.
                decoder: Linear::named(
                    &mut params,
                    ("decoder.decoder", "decoder.bias"),
                    [2 * h, width],
                    Init::XavierUniform {
                        gain: std::f64::consts::SQRT_2,
                    },
                    spec.bias,
                )?,
            },
            EDGE_FEATURE_DECODER => {
                if spec.edge_feat_dim <= 0 {
                    return Err(TensorError::new(
                        "edge decoder",
                        "MLPEFeatEdgeDecoder needs the target edges' features; hint: set \
                         decoder_edge_feat"
                            .to_string(),
                    ));
                }
                let relu = Init::XavierUniform {
                    gain: std::f64::consts::SQRT_2,
                };
                let mut weight = |name: &str, shape: [i64; 2]| {
                    params.get_or_create(&format!("decoder.{name}"), &shape, relu)
                };
                Kind::MlpEFeat {
                    nn_decoder: weight("nn_decoder", [2 * h, h])?,
                    feat_decoder: weight("feat_decoder", [spec.edge_feat_dim, h])?,
                    combine_decoder: weight("combine_decoder", [2 * h, h])?,
                    decoder: weight("decoder", [h, width])?,
                    bias: if spec.bias {
                        Some(params.get_or_create("decoder.bias", &[width], Init::Zeros)?)
                    } else {
                        None
                    },
                }
            }
            other => {
                return Err(TensorError::new(
                    "edge decoder",
                    format!("unknown decoder_type `{other}`; gs has {DECODER_TYPES:?}"),
                ));
            }
        };
        let regression_head = if spec.regression {
            Some(Linear::new(
                &mut params,
                "decoder.regression_head",
                [h, 1],
                Init::XavierUniform { gain: 1.0 },
                true,
            )?)
        } else {
            None
        };
        Ok(Self {
            params,
            kind,
            regression_head,
            dropout: spec.dropout,
        })
    }

    /// Outputs `[E, out]` of edges whose endpoints have embeddings `h_src`, `h_dst` (`[E, h]`)
    /// and, for `MLPEFeatEdgeDecoder`, whose own features are `efeat` (`[E, F]`).
    pub(crate) fn forward(
        &self,
        h_src: &Tensor,
        h_dst: &Tensor,
        efeat: Option<&Tensor>,
        train: bool,
    ) -> Result<Tensor, TensorError> {
        let drop = |x: Tensor| {
            if train && self.dropout > 0.0 {
                x.dropout(self.dropout, true)
            } else {
                x
            }
        };
        let out = match &self.kind {
            Kind::DenseBi { basis, combine } => {
                let (h_src, h_dst) = (drop(h_src.shallow_clone()), drop(h_dst.shallow_clone()));
                combine.forward(&dense_bilinear(&h_src, basis, &h_dst)?)?
            }
            Kind::Mlp { decoder } => {
                let (h_src, h_dst) = (drop(h_src.shallow_clone()), drop(h_dst.shallow_clone()));
                let h = gs_tensor::ops::cat(&[&h_src, &h_dst], 1)?;
                decoder.forward(&h)?
            }
            Kind::MlpEFeat {
                nn_decoder,
                feat_decoder,
                combine_decoder,
                decoder,
                bias,
            } => {
                let Some(efeat) = efeat else {
                    return Err(TensorError::new(
                        EDGE_FEATURE_DECODER,
                        "the batch carries no target-edge features (decoder_edge_feat)".to_string(),
                    ));
                };
                let h = gs_tensor::ops::cat(&[h_src, h_dst], 1)?;
                let nn_h = drop(gs_tensor::ops::matmul(&h, nn_decoder)?.relu());
                let feat_h = drop(gs_tensor::ops::matmul(efeat, feat_decoder)?.relu());
                let combined = gs_tensor::ops::cat(&[&nn_h, &feat_h], 1)?;
                let combined = gs_tensor::ops::matmul(&combined, combine_decoder)?.relu();
                let out = gs_tensor::ops::matmul(&combined, decoder)?;
                match bias {
                    Some(b) => gs_tensor::ops::add(&out, b)?,
                    None => out,
                }
            }
        };
        match &self.regression_head {
            Some(head) => head.forward(&out),
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

/// `o[a, b] = Σ_ij h_src[a, i] · basis[b, i, j] · h_dst[a, j]`, GraphStorm's
/// `einsum('ai,bij,aj->ab')`, as one matrix product `h_src @ [i, b·j]` and a row-wise dot with
/// `h_dst`: libtorch's einsum makes that `E` tiny batched products, several times slower
/// forward and backward.
fn dense_bilinear(h_src: &Tensor, basis: &Tensor, h_dst: &Tensor) -> Result<Tensor, TensorError> {
    let torch = |e: tch::TchError| TensorError::torch("DenseBiDecoder", e);
    let (num_basis, width) = (basis.size()[0], basis.size()[1]);
    let edges = h_src.size()[0];
    let by_input = basis
        .f_permute([1, 0, 2])
        .and_then(|b| b.f_reshape([width, -1]))
        .map_err(torch)?;
    let projected = gs_tensor::ops::matmul(h_src, &by_input)?;
    projected
        .f_reshape([edges, num_basis, -1])
        .and_then(|p| p.f_mul(&h_dst.f_unsqueeze(1)?))
        .and_then(|p| p.f_sum_dim_intlist(-1, false, None))
        .map_err(torch)
}

#[cfg(test)]
mod tests {
    use super::*;
    use gs_tensor::Kind as TKind;

    fn values(t: &Tensor) -> Vec<f32> {
        Vec::<f32>::try_from(t.to_kind(TKind::Float).flatten(0, -1)).unwrap()
    }

    fn spec(decoder_type: &str, regression: bool) -> EdgeDecoderSpec<'_> {
        EdgeDecoderSpec {
            decoder_type,
            hidden: 3,
            out_dim: if regression { 1 } else { 4 },
            regression,
            num_basis: 2,
            bias: true,
            dropout: 0.0,
            edge_feat_dim: 0,
        }
    }

    /// The bilinear form written out by hand, against GraphStorm's einsum.
    #[test]
    fn dense_bi_decoder_is_graphstorms_bilinear_form() {
        for regression in [false, true] {
            let d = EdgeDecoder::new(&spec("DenseBiDecoder", regression), 7, Device::Cpu).unwrap();
            let named: std::collections::BTreeMap<String, Tensor> =
                d.params().named_tensors().into_iter().collect();
            let basis = values(&named["decoder.basis_para"]);
            let cw = values(&named["decoder.combine_basis.weight"]);
            let cb = values(&named["decoder.combine_basis.bias"]);
            let hs = [0.5f32, -1.0, 2.0, 1.5, 0.25, -0.75];
            let hd = [1.0f32, 0.5, -0.5, -2.0, 1.0, 0.5];
            let out = d
                .forward(
                    &Tensor::from_slice(&hs).reshape([2, 3]),
                    &Tensor::from_slice(&hd).reshape([2, 3]),
                    None,
                    false,
                )
                .unwrap();
            let width = if regression { 3 } else { 4 };
            let mut want = Vec::new();
            for a in 0..2 {
                let o: Vec<f32> = (0..2)
                    .map(|b| {
                        let mut s = 0.0;
                        for i in 0..3 {
                            for j in 0..3 {
                                s += hs[a * 3 + i] * basis[b * 9 + i * 3 + j] * hd[a * 3 + j];
                            }
                        }
                        s
                    })
                    .collect();
                let c: Vec<f32> = (0..width)
                    .map(|k| o[0] * cw[k] + o[1] * cw[width + k] + cb[k])
                    .collect();
                if regression {
                    let rw = values(&named["decoder.regression_head.weight"]);
                    let rb = values(&named["decoder.regression_head.bias"]);
                    want.push(c.iter().zip(&rw).map(|(x, w)| x * w).sum::<f32>() + rb[0]);
                } else {
                    want.extend(c);
                }
            }
            assert_eq!(out.size(), [2, if regression { 1 } else { 4 }]);
            for (g, w) in values(&out).iter().zip(&want) {
                assert!((g - w).abs() < 1e-5, "{g} vs {w}");
            }
        }
    }

    #[test]
    fn mlp_decoder_reads_both_endpoints() {
        let d = EdgeDecoder::new(&spec("MLPDecoder", false), 7, Device::Cpu).unwrap();
        let a = Tensor::from_slice(&[1.0f32, 2.0, 3.0]).reshape([1, 3]);
        let b = Tensor::from_slice(&[0.0f32, 0.0, 1.0]).reshape([1, 3]);
        let ab = values(&d.forward(&a, &b, None, false).unwrap());
        let ba = values(&d.forward(&b, &a, None, false).unwrap());
        assert_eq!(ab.len(), 4);
        assert_ne!(ab, ba, "source and destination have their own weights");
        // Without `decoder_edge_feat` there is nothing for MLPEFeatEdgeDecoder to read.
        assert!(EdgeDecoder::new(&spec("MLPEFeatEdgeDecoder", false), 7, Device::Cpu).is_err());
    }
    /// GraphStorm's `MLPEFeatEdgeDecoder._compute_logits` written out by hand.
    #[test]
    fn edge_feature_decoder_is_graphstorms_formula() {
        for regression in [false, true] {
            let mut spec = spec("MLPEFeatEdgeDecoder", regression);
            spec.edge_feat_dim = 2;
            let d = EdgeDecoder::new(&spec, 11, Device::Cpu).unwrap();
            let named: std::collections::BTreeMap<String, Tensor> =
                d.params().named_tensors().into_iter().collect();
            let width = if regression { 3 } else { 4 };
            let shapes: Vec<(&str, Vec<i64>)> = vec![
                ("decoder.nn_decoder", vec![6, 3]),
                ("decoder.feat_decoder", vec![2, 3]),
                ("decoder.combine_decoder", vec![6, 3]),
                ("decoder.decoder", vec![3, width]),
                ("decoder.bias", vec![width]),
            ];
            for (name, shape) in &shapes {
                assert_eq!(named[*name].size(), *shape, "{name}");
            }
            let matmul = |x: &[f32], w: &[f32], rows_in: usize, cols: usize| -> Vec<f32> {
                (0..cols)
                    .map(|c| (0..rows_in).map(|r| x[r] * w[r * cols + c]).sum())
                    .collect()
            };
            let relu = |v: Vec<f32>| -> Vec<f32> { v.into_iter().map(|x| x.max(0.0)).collect() };
            let hs = [0.5f32, -1.0, 2.0];
            let hd = [1.0f32, 0.5, -0.5];
            let ef = [3.0f32, -2.0];
            let mut h = hs.to_vec();
            h.extend(hd);
            let nn_h = relu(matmul(&h, &values(&named["decoder.nn_decoder"]), 6, 3));
            let feat_h = relu(matmul(&ef, &values(&named["decoder.feat_decoder"]), 2, 3));
            let mut c = nn_h.clone();
            c.extend(feat_h);
            let c = relu(matmul(&c, &values(&named["decoder.combine_decoder"]), 6, 3));
            let bias = values(&named["decoder.bias"]);
            let mut want: Vec<f32> =
                matmul(&c, &values(&named["decoder.decoder"]), 3, width as usize)
                    .iter()
                    .zip(&bias)
                    .map(|(x, b)| x + b)
                    .collect();
            if regression {
                let rw = values(&named["decoder.regression_head.weight"]);
                let rb = values(&named["decoder.regression_head.bias"]);
                want = vec![want.iter().zip(&rw).map(|(x, w)| x * w).sum::<f32>() + rb[0]];
            }
            let t = |v: &[f32], n: i64| Tensor::from_slice(v).reshape([1, n]);
            let out = d
                .forward(&t(&hs, 3), &t(&hd, 3), Some(&t(&ef, 2)), false)
                .unwrap();
            let got = values(&out);
            assert_eq!(got.len(), want.len());
            for (g, w) in got.iter().zip(&want) {
                assert!((g - w).abs() < 1e-5, "{g} vs {w}");
            }
            // The edge's own features change the output; without them it refuses.
            let other = d
                .forward(&t(&hs, 3), &t(&hd, 3), Some(&t(&[-3.0, 2.0], 2)), false)
                .unwrap();
            assert_ne!(values(&other), got);
            assert!(d.forward(&t(&hs, 3), &t(&hd, 3), None, false).is_err());
        }
    }
}
