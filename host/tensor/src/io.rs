//! Named tensors on disk (safetensors), written so a crash never leaves a half-written file.

use std::path::{Path, PathBuf};

use tch::Tensor;

use crate::TensorError;

fn temp_sibling(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

/// Write `tensors` to `path` as safetensors: to a temporary name first, then renamed.
pub fn write_named_atomic(path: &Path, tensors: &[(String, Tensor)]) -> Result<(), TensorError> {
    let tmp = temp_sibling(path);
    let cpu: Vec<(String, Tensor)> = tensors
        .iter()
        .map(|(name, t)| {
            (
                name.clone(),
                t.detach().to_device(tch::Device::Cpu).contiguous(),
            )
        })
        .collect();
    Tensor::write_safetensors(&cpu, &tmp).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        TensorError::new("save", format!("cannot write `{}`: {e}", path.display()))
    })?;
    let file = std::fs::File::open(&tmp).and_then(|f| f.sync_all().map(|_| f));
    if let Err(e) = file.and_then(|_| std::fs::rename(&tmp, path)) {
        let _ = std::fs::remove_file(&tmp);
        return Err(TensorError::new(
            "save",
            format!("cannot write `{}`: {e}", path.display()),
        ));
    }
    Ok(())
}

/// Read every tensor of a safetensors file.
pub fn read_named(path: &Path) -> Result<Vec<(String, Tensor)>, TensorError> {
    Tensor::read_safetensors(path).map_err(|e| {
        TensorError::new(
            "load",
            format!(
                "cannot read `{}`: {e}; hint: is it a checkpoint written by gs?",
                path.display()
            ),
        )
    })
}

/// Read every tensor of safetensors bytes already in memory (`what` names them in errors).
/// Checkpoints verify a file's digest and then parse the very bytes they hashed.
pub fn read_named_bytes(bytes: &[u8], what: &str) -> Result<Vec<(String, Tensor)>, TensorError> {
    use safetensors::Dtype;
    let fail = |message: String| {
        TensorError::new(
            "load",
            format!("cannot read `{what}`: {message}; hint: is it a checkpoint written by gs?"),
        )
    };
    let parsed = safetensors::SafeTensors::deserialize(bytes).map_err(|e| fail(e.to_string()))?;
    let mut out: Vec<(String, Tensor)> = Vec::new();
    for (name, view) in parsed.tensors() {
        let kind = match view.dtype() {
            Dtype::BOOL => tch::Kind::Bool,
            Dtype::U8 => tch::Kind::Uint8,
            Dtype::I8 => tch::Kind::Int8,
            Dtype::I16 => tch::Kind::Int16,
            Dtype::I32 => tch::Kind::Int,
            Dtype::I64 => tch::Kind::Int64,
            Dtype::BF16 => tch::Kind::BFloat16,
            Dtype::F16 => tch::Kind::Half,
            Dtype::F32 => tch::Kind::Float,
            Dtype::F64 => tch::Kind::Double,
            other => return Err(fail(format!("tensor `{name}` has dtype {other:?}"))),
        };
        let shape: Vec<i64> = view.shape().iter().map(|&d| d as i64).collect();
        let tensor = Tensor::f_from_data_size(view.data(), &shape, kind)
            .map_err(|e| fail(format!("tensor `{name}`: {e}")))?;
        out.push((name, tensor));
    }
    // The same order as `read_named` (tch's reader keeps the file's order; the header is sorted).
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_keeps_names_and_values() {
        let dir = std::env::temp_dir().join(format!("gs-tensor-io-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.safetensors");
        let a = Tensor::from_slice(&[1.0f32, 2.0, 3.0, 4.0]).reshape([2, 2]);
        write_named_atomic(&path, &[("a".to_string(), a.shallow_clone())]).unwrap();
        let back = read_named(&path).unwrap();
        assert_eq!(back.len(), 1);
        assert_eq!(back[0].0, "a");
        assert!(back[0].1.equal(&a));
        let from_bytes = read_named_bytes(&std::fs::read(&path).unwrap(), "t").unwrap();
        assert_eq!(from_bytes[0].0, "a");
        assert!(from_bytes[0].1.equal(&a));
        assert!(
            std::fs::read_dir(&dir).unwrap().all(|e| !e
                .unwrap()
                .file_name()
                .to_string_lossy()
                .contains(".tmp-"))
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
