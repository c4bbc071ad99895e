//! Named, host-owned trainable weights.

use std::collections::HashMap;

use tch::{Device, Tensor};

use crate::{Init, TensorError, init_param};

/// The trainable weights of a model, by name, in creation order. The optimizer updates
/// them in place and checkpoints save them; models (plugins or native) only hold handles.
#[derive(Debug)]
pub struct ParamStore {
    seed: u64,
    device: Device,
    names: Vec<String>,
    tensors: Vec<Tensor>,
    index: HashMap<String, usize>,
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
        if name.is_empty() {
            return Err(TensorError::new(
                "param",
                "a parameter needs a non-empty name",
            ));
        }
        if let Some(&i) = self.index.get(name) {
            let existing = self.tensors[i].size();
            if existing != shape {
                return Err(TensorError::new(
                    "param",
                    format!(
                        "`{name}` already exists with shape {existing:?}, asked again with {shape:?}"
                    ),
                ));
            }
            return Ok(self.tensors[i].shallow_clone());
        }
        let tensor = init_param(name, shape, init, self.seed, self.device)?;
        self.index.insert(name.to_string(), self.tensors.len());
        self.names.push(name.to_string());
        self.tensors.push(tensor.shallow_clone());
        Ok(tensor)
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

    /// Handles to every weight, in creation order (for optimizers).
    pub fn tensors(&self) -> Vec<Tensor> {
        self.tensors.iter().map(Tensor::shallow_clone).collect()
    }

    /// Copies of every weight with its name (for checkpoints).
    pub fn named_tensors(&self) -> Vec<(String, Tensor)> {
        self.iter()
            .map(|(n, t)| (n.to_string(), t.shallow_clone()))
            .collect()
    }

    /// Overwrite every weight with a saved value. The saved names and shapes must be
    /// exactly the store's: a checkpoint of another model is refused, naming the difference.
    pub fn load_values(&mut self, saved: &[(String, Tensor)]) -> Result<(), TensorError> {
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
            tensor
                .f_copy_(value)
                .map_err(|e| TensorError::torch("load", e))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
