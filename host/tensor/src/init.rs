//! Deterministic parameter initialisation.
//!
//! Values come from a generator seeded by the run's seed and the parameter's name, so a
//! weight gets the same values whatever order models create their weights in, on every
//! device: the plugin and the native model start bit-identical.

use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64Mcg;
use tch::{Device, Kind, Tensor};

use crate::TensorError;

/// How a parameter is initialised. Fan-in and fan-out read a weight as `[fan_in, fan_out]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Init {
    Zeros,
    Ones,
    Constant(f64),
    Uniform { low: f64, high: f64 },
    Normal { mean: f64, std: f64 },
    XavierUniform { gain: f64 },
    XavierNormal { gain: f64 },
    KaimingUniform,
}

fn fans(shape: &[i64]) -> (f64, f64) {
    match shape {
        [] => (1.0, 1.0),
        [n] => (*n as f64, *n as f64),
        [.., a, b] => {
            let receptive: i64 = shape[..shape.len() - 2].iter().product();
            ((*a * receptive) as f64, (*b * receptive) as f64)
        }
    }
}

fn seed_for(seed: u64, name: &str) -> u64 {
    // FNV-1a over the name, mixed with the seed: stable across platforms and releases.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325 ^ seed.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    for byte in name.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

fn standard_normal(rng: &mut Pcg64Mcg) -> f64 {
    // Box–Muller; one value per call keeps the stream simple and reproducible.
    let u1: f64 = rng.random::<f64>().max(f64::MIN_POSITIVE);
    let u2: f64 = rng.random::<f64>();
    (-2.0f64 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// A new f32 parameter of `shape` for `name`, on `device`, with `requires_grad` set.
pub fn init_param(
    name: &str,
    shape: &[i64],
    init: Init,
    seed: u64,
    device: Device,
) -> Result<Tensor, TensorError> {
    if shape.iter().any(|&d| d < 0) {
        return Err(TensorError::new(
            "param",
            format!("`{name}`: negative dimension in shape {shape:?}"),
        ));
    }
    let numel = shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d as usize))
        .ok_or_else(|| {
            TensorError::new(
                "param",
                format!("`{name}`: shape {shape:?} has too many elements"),
            )
        })?;
    let mut rng = Pcg64Mcg::seed_from_u64(seed_for(seed, name));
    let (fan_in, fan_out) = fans(shape);
    let values: Vec<f32> = match init {
        Init::Zeros => vec![0.0; numel],
        Init::Ones => vec![1.0; numel],
        Init::Constant(value) => vec![value as f32; numel],
        Init::Uniform { low, high } => (0..numel)
            .map(|_| (low + (high - low) * rng.random::<f64>()) as f32)
            .collect(),
        Init::Normal { mean, std } => (0..numel)
            .map(|_| (mean + std * standard_normal(&mut rng)) as f32)
            .collect(),
        Init::XavierUniform { gain } => {
            let bound = gain * (6.0 / (fan_in + fan_out)).sqrt();
            (0..numel)
                .map(|_| (bound * (2.0 * rng.random::<f64>() - 1.0)) as f32)
                .collect()
        }
        Init::XavierNormal { gain } => {
            let std = gain * (2.0 / (fan_in + fan_out)).sqrt();
            (0..numel)
                .map(|_| (std * standard_normal(&mut rng)) as f32)
                .collect()
        }
        Init::KaimingUniform => {
            let bound = (6.0 / fan_in).sqrt();
            (0..numel)
                .map(|_| (bound * (2.0 * rng.random::<f64>() - 1.0)) as f32)
                .collect()
        }
    };
    let tensor = Tensor::f_from_slice(&values)
        .and_then(|t| t.f_reshape(shape))
        .and_then(|t| t.f_to_device(device))
        .map_err(|e| TensorError::torch("param", e))?;
    debug_assert_eq!(tensor.kind(), Kind::Float);
    Ok(tensor.set_requires_grad(true))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_name_and_seed_give_same_values_and_names_differ() {
        let a = init_param(
            "w",
            &[4, 3],
            Init::XavierUniform { gain: 1.0 },
            7,
            Device::Cpu,
        )
        .unwrap();
        let b = init_param(
            "w",
            &[4, 3],
            Init::XavierUniform { gain: 1.0 },
            7,
            Device::Cpu,
        )
        .unwrap();
        let c = init_param(
            "v",
            &[4, 3],
            Init::XavierUniform { gain: 1.0 },
            7,
            Device::Cpu,
        )
        .unwrap();
        assert!(a.equal(&b));
        assert!(!a.equal(&c));
        assert!(a.requires_grad());
        let bound = (6.0f64 / 7.0).sqrt();
        assert!(a.abs().max().double_value(&[]) <= bound);
    }

    #[test]
    fn normal_init_has_requested_moments() {
        let t = init_param(
            "n",
            &[200, 100],
            Init::Normal {
                mean: 1.0,
                std: 2.0,
            },
            1,
            Device::Cpu,
        )
        .unwrap();
        let mean = t.mean(Kind::Float).double_value(&[]);
        let std = t.std(true).double_value(&[]);
        assert!((mean - 1.0).abs() < 0.05, "mean {mean}");
        assert!((std - 2.0).abs() < 0.05, "std {std}");
    }
}
