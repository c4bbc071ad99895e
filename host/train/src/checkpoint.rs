//! Checkpoints: `epoch-N/` directories as in GraphStorm, self-contained and written atomically.
//!
//! A checkpoint holds the host-owned weights by name (`model.safetensors`), the optimizer
//! state (`optimizer.safetensors`), `checkpoint.json` (the resolved configuration, the
//! plugin's custom arguments, the plugin's identity and digest, the epoch's metrics), and
//! `plugin.wasm`, a copy of the component: inference and serving need nothing else. A
//! checkpoint is built under a temporary name and renamed into place, so a crash never
//! leaves a half-written one and the previous checkpoints survive.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use gs_tensor::{Tensor, read_named, write_named_atomic};
use serde::{Deserialize, Serialize};

/// Version of the checkpoint layout this gs writes.
pub const CHECKPOINT_VERSION: u32 = 1;
pub const MODEL_FILE: &str = "model.safetensors";
pub const OPTIMIZER_FILE: &str = "optimizer.safetensors";
pub const META_FILE: &str = "checkpoint.json";
pub const PLUGIN_FILE: &str = "plugin.wasm";

/// Identity of the plugin a checkpoint was trained with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PluginIdentity {
    pub name: String,
    pub version: String,
    pub sdk_version: String,
    pub package_version: String,
    /// SHA-256 of the component, hex.
    pub digest: String,
}

/// `checkpoint.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckpointMeta {
    pub gs_checkpoint_version: u32,
    pub epoch: usize,
    pub plugin: PluginIdentity,
    /// The resolved training configuration (GraphStorm keys).
    pub config: BTreeMap<String, serde_json::Value>,
    /// The plugin's custom arguments, resolved against its `describe`.
    pub custom_args: Vec<(String, String)>,
    /// Validation and test scores of this epoch by metric name.
    pub metrics: BTreeMap<String, f64>,
}

/// Errors reading or writing checkpoints.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error("cannot write checkpoint `{}`: {message}", path.display())]
    Write { path: PathBuf, message: String },
    #[error("cannot read checkpoint `{}`: {message}\nhint: {hint}", path.display())]
    Read {
        path: PathBuf,
        message: String,
        hint: String,
    },
}

/// What a checkpoint holds, loaded.
pub struct LoadedCheckpoint {
    pub meta: CheckpointMeta,
    pub weights: Vec<(String, Tensor)>,
    pub optimizer: Option<Vec<(String, Tensor)>>,
    pub plugin_bytes: Vec<u8>,
    pub dir: PathBuf,
}

/// Write `dir` (e.g. `model/epoch-3`) atomically.
pub fn save(
    dir: &Path,
    meta: &CheckpointMeta,
    weights: &[(String, Tensor)],
    optimizer: &[(String, Tensor)],
    plugin_bytes: &[u8],
) -> Result<(), CheckpointError> {
    let fail = |message: String| CheckpointError::Write {
        path: dir.to_path_buf(),
        message,
    };
    let parent = dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(|e| fail(e.to_string()))?;
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "checkpoint".into());
    let tmp = parent.join(format!(".{name}.tmp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir(&tmp).map_err(|e| fail(e.to_string()))?;
    let result = (|| {
        write_named_atomic(&tmp.join(MODEL_FILE), weights).map_err(|e| fail(e.to_string()))?;
        write_named_atomic(&tmp.join(OPTIMIZER_FILE), optimizer)
            .map_err(|e| fail(e.to_string()))?;
        std::fs::write(tmp.join(PLUGIN_FILE), plugin_bytes).map_err(|e| fail(e.to_string()))?;
        let json = serde_json::to_vec_pretty(meta).map_err(|e| fail(e.to_string()))?;
        std::fs::write(tmp.join(META_FILE), json).map_err(|e| fail(e.to_string()))?;
        replace_dir(&tmp, dir).map_err(|e| fail(e.to_string()))
    })();
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    result
}

/// Move `new` to `target`, replacing an existing directory without a moment where neither exists whole.
fn replace_dir(new: &Path, target: &Path) -> std::io::Result<()> {
    if target.exists() {
        let old = target.with_file_name(format!(
            ".{}.old-{}",
            target.file_name().unwrap_or_default().to_string_lossy(),
            std::process::id()
        ));
        std::fs::rename(target, &old)?;
        std::fs::rename(new, target)?;
        std::fs::remove_dir_all(&old)
    } else {
        std::fs::rename(new, target)
    }
}

/// Read a checkpoint directory written by [`save`].
pub fn load(dir: &Path) -> Result<LoadedCheckpoint, CheckpointError> {
    let fail = |message: String, hint: &str| CheckpointError::Read {
        path: dir.to_path_buf(),
        message,
        hint: hint.to_string(),
    };
    let meta_path = dir.join(META_FILE);
    let text = std::fs::read_to_string(&meta_path).map_err(|e| {
        fail(
            format!("`{META_FILE}`: {e}"),
            "--restore-model-path must name a checkpoint directory written by gs, such as `model/epoch-3/`",
        )
    })?;
    let meta: CheckpointMeta = serde_json::from_str(&text).map_err(|e| {
        fail(
            format!("`{META_FILE}` is malformed: {e}"),
            "the checkpoint is damaged; use another epoch",
        )
    })?;
    if meta.gs_checkpoint_version != CHECKPOINT_VERSION {
        return Err(fail(
            format!(
                "checkpoint layout version {} (this gs reads {CHECKPOINT_VERSION})",
                meta.gs_checkpoint_version
            ),
            "use the gs release that wrote it",
        ));
    }
    let weights = read_named(&dir.join(MODEL_FILE)).map_err(|e| {
        fail(
            e.to_string(),
            "the checkpoint is damaged; use another epoch",
        )
    })?;
    let optimizer = read_named(&dir.join(OPTIMIZER_FILE)).ok();
    let plugin_bytes = std::fs::read(dir.join(PLUGIN_FILE)).map_err(|e| {
        fail(
            format!("`{PLUGIN_FILE}`: {e}"),
            "the checkpoint is damaged; use another epoch",
        )
    })?;
    Ok(LoadedCheckpoint {
        meta,
        weights,
        optimizer,
        plugin_bytes,
        dir: dir.to_path_buf(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta() -> CheckpointMeta {
        CheckpointMeta {
            gs_checkpoint_version: CHECKPOINT_VERSION,
            epoch: 2,
            plugin: PluginIdentity {
                name: "sage".into(),
                version: "0.1.0".into(),
                sdk_version: "0.1.0".into(),
                package_version: "0.1.0".into(),
                digest: "ab".into(),
            },
            config: BTreeMap::from([("lr".to_string(), serde_json::json!(0.01))]),
            custom_args: vec![("aggregator".into(), "mean".into())],
            metrics: BTreeMap::new(),
        }
    }

    #[test]
    fn save_then_load_and_overwrite_keeps_one_whole_directory() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("epoch-2");
        let w = vec![("gnn/w".to_string(), Tensor::from_slice(&[1.0f32, 2.0]))];
        save(&dir, &meta(), &w, &[], b"wasm").unwrap();
        save(&dir, &meta(), &w, &[], b"wasm2").unwrap();
        let loaded = load(&dir).unwrap();
        assert_eq!(loaded.plugin_bytes, b"wasm2");
        assert_eq!(
            loaded.meta.custom_args,
            vec![("aggregator".to_string(), "mean".to_string())]
        );
        assert!(loaded.weights[0].1.equal(&w[0].1));
        let names: Vec<_> = std::fs::read_dir(root.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(
            names,
            vec![std::ffi::OsString::from("epoch-2")],
            "no temporary directory is left behind"
        );
    }

    #[test]
    fn loading_a_non_checkpoint_says_what_to_pass() {
        let root = tempfile::tempdir().unwrap();
        let err = load(root.path()).err().unwrap().to_string();
        assert!(
            err.contains("checkpoint.json") && err.contains("epoch-3"),
            "{err}"
        );
    }
}
