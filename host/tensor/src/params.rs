//! Named, host-owned trainable weights, and buffers: model state no optimizer updates (batch
//! normalisation's running statistics).

use std::collections::{HashMap, HashSet};

use tch::{Device, Tensor};

use crate::{Init, TensorError, init_param};

/// The trainable weights of a model, by name, in creation order, and its buffers. The
/// optimizer updates the weights in place, the model overwrites its buffers
/// ([`Self::set_buffer`]), and checkpoints save both; models (plugins or native) only hold
/// handles.
#[derive(Debug)]
pub struct ParamStore {
    seed: u64,
    device: Device,
    names: Vec<String>,
    tensors: Vec<Tensor>,
    index: HashMap<String, usize>,
    /// The names that are buffers, not weights.
    buffers: HashSet<String>,
}

impl ParamStore {
    /// An empty store whose weights are initialised from `seed` on `device`.
    pub fn new(seed: u64, device: Device) -> Self {
        Self {
            seed,
            device,
            names: Vec::new(),
            tensors: Vec::new(),
            index: HashMap::new(),
            buffers: HashSet::new(),
        }
    }

    pub fn device(&self) -> Device {
        self.device
    }

    /// The weight `name`, created with `init` if new. Asking again for an existing name
    /// returns the same weight; the shape must match.
    pub fn get_or_create(
        &mut self,
        name: &str,
        shape: &[i64],
        init: Init,
    ) -> Result<Tensor, TensorError> {
        self.get_or_create_kind(name, shape, init, false)
    }

    /// The buffer `name`, created with `init` if new (no gradient flows through it, and no
    /// optimizer sees it). Asking again for an existing buffer returns it; the shape must
    /// match, and a weight's name is refused.
    pub fn get_or_create_buffer(
        &mut self,
        name: &str,
        shape: &[i64],
        init: Init,
    ) -> Result<Tensor, TensorError> {
        self.get_or_create_kind(name, shape, init, true)
    }

    fn get_or_create_kind(
        &mut self,
        name: &str,
        shape: &[i64],
        init: Init,
        buffer: bool,
    ) -> Result<Tensor, TensorError> {
        let (op, kind, other) = if buffer {
            ("buffer", "buffer", "weight")
        } else {
            ("param", "weight", "buffer")
        };
        if name.is_empty() {
            return Err(TensorError::new(
                op,
                format!("a {kind} needs a non-empty name"),
            ));
        }
        if let Some(&i) = self.index.get(name) {
            if self.buffers.contains(name) != buffer {
                return Err(TensorError::new(
                    op,
                    format!("`{name}` is a {other}; a {kind} needs another name"),
                ));
            }
            let existing = self.tensors[i].size();
            if existing != shape {
                return Err(TensorError::new(
                    op,
                    format!(
                        "`{name}` already exists with shape {existing:?}, asked again with {shape:?}"
                    ),
                ));
            }
            return Ok(self.tensors[i].shallow_clone());
        }
        let mut tensor = init_param(name, shape, init, self.seed, self.device)?;
        if buffer {
            tensor = tensor.set_requires_grad(false);
            self.buffers.insert(name.to_string());
        }
        self.index.insert(name.to_string(), self.tensors.len());
        self.names.push(name.to_string());
        self.tensors.push(tensor.shallow_clone());
        Ok(tensor)
    }

    /// Overwrite buffer `name` with `value` (same shape; detached).
    pub fn set_buffer(&mut self, name: &str, value: &Tensor) -> Result<(), TensorError> {
        let Some(&i) = self.index.get(name).filter(|_| self.buffers.contains(name)) else {
            return Err(TensorError::new(
                "set-buffer",
                format!("`{name}` is not a buffer (create it with `buffer` in `init`)"),
            ));
        };
        let target = &mut self.tensors[i];
        if value.size() != target.size() {
            return Err(TensorError::new(
                "set-buffer",
                format!(
                    "`{name}` has shape {:?}, the value {:?}",
                    target.size(),
                    value.size()
                ),
            ));
        }
        let _guard = tch::no_grad_guard();
        let value = value
            .detach()
            .to_kind(target.kind())
            .to_device(target.device());
        target
            .f_copy_(&value)
            .map_err(|e| TensorError::torch("set-buffer", e))?;
        Ok(())
    }

    /// Whether `name` is a buffer.
    pub fn is_buffer(&self, name: &str) -> bool {
        self.buffers.contains(name)
    }

    pub fn len(&self) -> usize {
        self.tensors.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tensors.is_empty()
    }

    /// Total number of scalar weights.
    pub fn num_values(&self) -> usize {
        self.tensors.iter().map(Tensor::numel).sum()
    }

    /// Weights in creation order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Tensor)> {
        self.names
            .iter()
            .map(String::as_str)
            .zip(self.tensors.iter())
    }

    /// Handles to every trainable weight, in creation order (for optimizers; no buffers).
    pub fn tensors(&self) -> Vec<Tensor> {
        self.named_weights().into_iter().map(|(_, t)| t).collect()
    }

    /// Every weight and buffer with its name (for checkpoints).
    pub fn named_tensors(&self) -> Vec<(String, Tensor)> {
        self.iter()
            .map(|(n, t)| (n.to_string(), t.shallow_clone()))
            .collect()
    }

    /// Every trainable weight with its name, in creation order (no buffers).
    pub fn named_weights(&self) -> Vec<(String, Tensor)> {
        self.iter()
            .filter(|(n, _)| !self.buffers.contains(*n))
            .map(|(n, t)| (n.to_string(), t.shallow_clone()))
            .collect()
    }

    /// Every buffer with its name, in creation order.
    pub fn named_buffers(&self) -> Vec<(String, Tensor)> {
        self.iter()
            .filter(|(n, _)| self.buffers.contains(*n))
            .map(|(n, t)| (n.to_string(), t.shallow_clone()))
            .collect()
    }

    /// Overwrite every weight with a saved value. The saved names and shapes must be
    /// exactly the store's: a checkpoint of another model is refused, naming the difference.
    pub fn load_values(&mut self, saved: &[(String, Tensor)]) -> Result<(), TensorError> {
        self.take_values(saved, false)
    }

    /// [`Self::load_values`] without copying: every weight is pointed at the saved tensor's
    /// storage (libtorch's `set_data`, which every handle to the weight sees), so stores that
    /// share the same saved tensors hold one copy of them between them. For read-only use:
    /// a store that trains would write into the shared storage. A saved tensor of another
    /// dtype or device is copied.
    pub fn share_values(&mut self, saved: &[(String, Tensor)]) -> Result<(), TensorError> {
        self.take_values(saved, true)
    }

    fn take_values(&mut self, saved: &[(String, Tensor)], share: bool) -> Result<(), TensorError> {
        let saved_names: HashMap<&str, &Tensor> =
            saved.iter().map(|(n, t)| (n.as_str(), t)).collect();
        let missing: Vec<&str> = self
            .names
            .iter()
            .map(String::as_str)
            .filter(|n| !saved_names.contains_key(n))
            .collect();
        let unexpected: Vec<&str> = saved
            .iter()
            .map(|(n, _)| n.as_str())
            .filter(|n| !self.index.contains_key(*n))
            .collect();
        if !missing.is_empty() || !unexpected.is_empty() {
            return Err(TensorError::new(
                "load",
                format!(
                    "the checkpoint does not fit the model: missing {missing:?}, unexpected {unexpected:?}"
                ),
            ));
        }
        let _guard = tch::no_grad_guard();
        for (name, tensor) in self.names.iter().zip(self.tensors.iter_mut()) {
            let value = saved_names[name.as_str()];
            if value.size() != tensor.size() {
                return Err(TensorError::new(
                    "load",
                    format!(
                        "`{name}` has shape {:?} in the checkpoint but {:?} in the model",
                        value.size(),
                        tensor.size()
                    ),
                ));
            }
            if share && value.kind() == tensor.kind() && value.device() == tensor.device() {
                tensor.set_data(value);
            } else {
                tensor
                    .f_copy_(value)
                    .map_err(|e| TensorError::torch("load", e))?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two stores sharing one saved tensor hold one storage, which a handle taken before the
    /// share sees; a saved tensor of another dtype is copied instead.
    #[test]
    fn shared_values_are_one_storage_seen_by_every_handle() {
        let saved = vec![("w".to_string(), Tensor::from_slice(&[1.0f32, 2.0, 3.0]))];
        let (mut a, mut b) = (
            ParamStore::new(1, Device::Cpu),
            ParamStore::new(2, Device::Cpu),
        );
        let handle = a.get_or_create("w", &[3], Init::Zeros).unwrap();
        let _ = b.get_or_create("w", &[3], Init::Zeros).unwrap();
        a.share_values(&saved).unwrap();
        b.share_values(&saved).unwrap();
        assert_eq!(Vec::<f32>::try_from(&handle).unwrap(), [1.0, 2.0, 3.0]);
        let ptr = |s: &ParamStore| s.tensors()[0].data_ptr();
        assert_eq!(ptr(&a), saved[0].1.data_ptr());
        assert_eq!(ptr(&a), ptr(&b));
        let doubles = vec![("w".to_string(), Tensor::from_slice(&[4.0f64, 5.0, 6.0]))];
        let mut c = ParamStore::new(3, Device::Cpu);
        let _ = c.get_or_create("w", &[3], Init::Zeros).unwrap();
        c.share_values(&doubles).unwrap();
        assert_ne!(ptr(&c), doubles[0].1.data_ptr());
        assert_eq!(
            Vec::<f32>::try_from(&c.tensors()[0]).unwrap(),
            [4.0, 5.0, 6.0]
        );
    }

    #[test]
    fn buffers_are_saved_but_not_trained_and_take_new_values() {
        let mut store = ParamStore::new(1, Device::Cpu);
        let _weight = store.get_or_create("w", &[2], Init::Ones).unwrap();
        let b = store
            .get_or_create_buffer("running_mean", &[2], Init::Zeros)
            .unwrap();
        assert!(!b.requires_grad());
        assert_eq!(store.named_weights().len(), 1);
        assert_eq!(store.tensors().len(), 1);
        assert_eq!(store.named_buffers()[0].0, "running_mean");
        assert_eq!(store.named_tensors().len(), 2);
        store
            .set_buffer("running_mean", &Tensor::from_slice(&[1.5f32, 2.5]))
            .unwrap();
        assert_eq!(Vec::<f32>::try_from(&b).unwrap(), [1.5, 2.5]);
        assert!(
            store
                .set_buffer("w", &Tensor::from_slice(&[0.0f32, 0.0]))
                .is_err()
        );
        assert!(
            store
                .set_buffer("running_mean", &Tensor::from_slice(&[0.0f32]))
                .is_err()
        );
        assert!(
            store
                .get_or_create("running_mean", &[2], Init::Zeros)
                .is_err()
        );
        assert!(store.get_or_create_buffer("w", &[2], Init::Zeros).is_err());
        assert!(
            store
                .get_or_create_buffer("running_mean", &[2], Init::Zeros)
                .is_ok()
        );
    }

    #[test]
    fn get_or_create_is_idempotent_and_checks_shapes() {
        let mut store = ParamStore::new(1, Device::Cpu);
        let a = store
            .get_or_create("w", &[2, 3], Init::XavierUniform { gain: 1.0 })
            .unwrap();
        let b = store.get_or_create("w", &[2, 3], Init::Zeros).unwrap();
        assert!(a.equal(&b));
        assert_eq!(store.len(), 1);
        assert!(
            store
                .get_or_create("w", &[3, 2], Init::Zeros)
                .unwrap_err()
                .message
                .contains("[2, 3]")
        );
    }

    #[test]
    fn load_values_refuses_other_models_and_copies_into_shared_handles() {
        let mut store = ParamStore::new(1, Device::Cpu);
        let handle = store.get_or_create("w", &[2], Init::Zeros).unwrap();
        let err = store
            .load_values(&[("v".into(), Tensor::from_slice(&[1.0f32, 2.0]))])
            .unwrap_err();
        assert!(
            err.message.contains("missing [\"w\"]") && err.message.contains("unexpected [\"v\"]"),
            "{err}"
        );
        store
            .load_values(&[("w".into(), Tensor::from_slice(&[1.0f32, 2.0]))])
            .unwrap();
        assert_eq!(
            Vec::<f32>::try_from(handle.detach()).unwrap(),
            vec![1.0, 2.0]
        );
    }
}
