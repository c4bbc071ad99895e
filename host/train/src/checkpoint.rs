//! Checkpoints: `epoch-N/` directories as in GraphStorm, self-contained and written atomically.
//!
//! A checkpoint holds the host-owned weights by name (`model.safetensors`), the optimizer
//! state (`optimizer.safetensors`), `checkpoint.json` (the resolved configuration, the
//! plugin's custom arguments, the plugin's identity and digest, the epoch's metrics), and
//! `plugin.wasm`, a copy of the component: inference and serving need nothing else. A
//! checkpoint is built under a temporary name and renamed into place, so a crash never
//! leaves a half-written one and the previous checkpoints survive.
//!
//! `checkpoint.json` records the SHA-256 of every other file. [`load`] reads each file once,
//! checks its digest and then uses those very bytes: a modified `plugin.wasm` is refused
//! before it is compiled, modified weights or optimizer state before they are parsed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use gs_tensor::{Tensor, read_named_bytes, write_named_atomic};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Version of the checkpoint layout this gs writes (2: `files` records every file's digest).
pub const CHECKPOINT_VERSION: u32 = 2;
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
    /// The registry reference it was pulled from, pinned to its manifest digest
    /// (`oci://host/path@sha256:…`); absent for files and built-in plugins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
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
    /// Validation and test scores of this epoch by metric name (`null` where undefined).
    #[serde(deserialize_with = "crate::metrics::nan_for_null_values")]
    pub metrics: BTreeMap<String, f64>,
    /// SHA-256 (hex) of every other file of the checkpoint, by file name. [`save`] fills it.
    #[serde(default)]
    pub files: BTreeMap<String, String>,
}

/// SHA-256 of `bytes`, hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
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
    #[error(
        "`{}` does not match the digest recorded in {META_FILE}: recorded sha256:{recorded}, \
         the file has sha256:{actual}\nhint: the checkpoint was modified or damaged; use another \
         epoch or train again",
        path.display()
    )]
    Tampered {
        path: PathBuf,
        recorded: String,
        actual: String,
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

/// What a checkpoint records of `config`: every key but where the run read and wrote.
pub fn model_config(config: &gs_config::TrainConfig) -> BTreeMap<String, serde_json::Value> {
    crate::checkpoint_writer::without_run_paths(config.to_map())
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
        let mut meta = meta.clone();
        let plugin_digest = sha256_hex(plugin_bytes);
        if meta.plugin.digest != plugin_digest {
            return Err(fail(format!(
                "the plugin's digest is recorded as sha256:{}, but the bytes to save have sha256:{plugin_digest}",
                meta.plugin.digest
            )));
        }
        write_named_atomic(&tmp.join(MODEL_FILE), weights).map_err(|e| fail(e.to_string()))?;
        write_named_atomic(&tmp.join(OPTIMIZER_FILE), optimizer)
            .map_err(|e| fail(e.to_string()))?;
        write_synced(&tmp.join(PLUGIN_FILE), plugin_bytes).map_err(|e| fail(e.to_string()))?;
        for file in [MODEL_FILE, OPTIMIZER_FILE, PLUGIN_FILE] {
            let bytes = std::fs::read(tmp.join(file)).map_err(|e| fail(e.to_string()))?;
            meta.files.insert(file.to_string(), sha256_hex(&bytes));
        }
        let json = serde_json::to_vec_pretty(&meta).map_err(|e| fail(e.to_string()))?;
        write_synced(&tmp.join(META_FILE), &json).map_err(|e| fail(e.to_string()))?;
        sync_dir(&tmp).map_err(|e| fail(e.to_string()))?;
        replace_dir(&tmp, dir).map_err(|e| fail(e.to_string()))?;
        sync_dir(parent).map_err(|e| fail(e.to_string()))
    })();
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    result
}

/// Write `bytes` to `path` and flush them to the disk.
fn write_synced(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut file = std::fs::File::create(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// Flush a directory's entries (a rename into it) to the disk.
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    std::fs::File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Move `new` to `target`, replacing an existing directory without a moment where neither
/// exists whole: on Linux the two are swapped in one step (`RENAME_EXCHANGE`), so a run
/// killed at any moment leaves `target` either old or new.
fn replace_dir(new: &Path, target: &Path) -> std::io::Result<()> {
    if !target.exists() {
        return std::fs::rename(new, target);
    }
    #[cfg(target_os = "linux")]
    {
        exchange(new, target)?;
        // `new` now names the old directory.
        std::fs::remove_dir_all(new)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let old = target.with_file_name(format!(
            ".{}.old-{}",
            target.file_name().unwrap_or_default().to_string_lossy(),
            std::process::id()
        ));
        std::fs::rename(target, &old)?;
        std::fs::rename(new, target)?;
        std::fs::remove_dir_all(&old)
    }
}

/// Swap two paths atomically (`renameat2(RENAME_EXCHANGE)`).
#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt as _;
    let c = |p: &Path| {
        CString::new(p.as_os_str().as_bytes())
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))
    };
    let (a, b) = (c(a)?, c(b)?);
    // SAFETY: both are valid NUL-terminated paths that outlive the call.
    let rc = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
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
    let recorded = |file: &str| {
        meta.files.get(file).ok_or_else(|| {
            fail(
                format!("`{META_FILE}` records no digest for `{file}`"),
                "the checkpoint is damaged; use another epoch",
            )
        })
    };
    let plugin_bytes = verified(dir, PLUGIN_FILE, recorded(PLUGIN_FILE)?)?;
    if meta.plugin.digest != meta.files[PLUGIN_FILE] {
        return Err(fail(
            format!(
                "the plugin's recorded digest sha256:{} differs from `{PLUGIN_FILE}`'s sha256:{}",
                meta.plugin.digest, meta.files[PLUGIN_FILE]
            ),
            "the checkpoint was modified; use another epoch or train again",
        ));
    }
    let tensors = |file: &str, bytes: Vec<u8>| {
        read_named_bytes(&bytes, &dir.join(file).display().to_string()).map_err(|e| {
            fail(
                e.to_string(),
                "the checkpoint is damaged; use another epoch",
            )
        })
    };
    let weights = tensors(
        MODEL_FILE,
        verified(dir, MODEL_FILE, recorded(MODEL_FILE)?)?,
    )?;
    let optimizer = match meta.files.get(OPTIMIZER_FILE) {
        Some(digest) => Some(tensors(
            OPTIMIZER_FILE,
            verified(dir, OPTIMIZER_FILE, digest)?,
        )?),
        None => None,
    };
    Ok(LoadedCheckpoint {
        meta,
        weights: renamed_legacy_weights(weights),
        optimizer: optimizer.map(renamed_legacy_weights),
        plugin_bytes,
        dir: dir.to_path_buf(),
    })
}

/// Weight names earlier gs releases wrote, and today's: the MLP edge decoder kept its linear
/// layer as `decoder.decoder.{weight,bias}` until it took GraphStorm's `MLPEdgeDecoder` names
/// (`decoder.decoder`, `decoder.bias`). Optimizer state embeds the names, so both are renamed.
const LEGACY_WEIGHT_NAMES: &[(&str, &str)] = &[
    ("decoder/decoder.decoder.weight", "decoder/decoder.decoder"),
    ("decoder/decoder.decoder.bias", "decoder/decoder.bias"),
];

/// `named` with every [`LEGACY_WEIGHT_NAMES`] name (also inside optimizer keys such as
/// `exp_avg/<name>`) replaced by today's, so checkpoints of earlier releases keep loading.
fn renamed_legacy_weights(named: Vec<(String, Tensor)>) -> Vec<(String, Tensor)> {
    named
        .into_iter()
        .map(|(name, tensor)| {
            let renamed = LEGACY_WEIGHT_NAMES
                .iter()
                .fold(name, |name, (old, new)| name.replace(old, new));
            (renamed, tensor)
        })
        .collect()
}

/// The bytes of `dir/file`, read once, whose SHA-256 is `expected`.
fn verified(dir: &Path, file: &str, expected: &str) -> Result<Vec<u8>, CheckpointError> {
    let path = dir.join(file);
    let bytes = std::fs::read(&path).map_err(|e| CheckpointError::Read {
        path: dir.to_path_buf(),
        message: format!("`{file}`: {e}"),
        hint: "the checkpoint is damaged; use another epoch".into(),
    })?;
    let actual = sha256_hex(&bytes);
    if actual != expected {
        return Err(CheckpointError::Tampered {
            path,
            recorded: expected.to_string(),
            actual,
        });
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(plugin: &[u8]) -> CheckpointMeta {
        CheckpointMeta {
            gs_checkpoint_version: CHECKPOINT_VERSION,
            epoch: 2,
            plugin: PluginIdentity {
                name: "sage".into(),
                version: "0.1.0".into(),
                sdk_version: "0.1.0".into(),
                package_version: "0.1.0".into(),
                digest: sha256_hex(plugin),
                source: None,
            },
            config: BTreeMap::from([("lr".to_string(), serde_json::json!(0.01))]),
            custom_args: vec![("aggregator".into(), "mean".into())],
            metrics: BTreeMap::new(),
            files: BTreeMap::new(),
        }
    }

    #[test]
    fn save_then_load_and_overwrite_keeps_one_whole_directory() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("epoch-2");
        let w = vec![("gnn/w".to_string(), Tensor::from_slice(&[1.0f32, 2.0]))];
        save(&dir, &meta(b"wasm"), &w, &[], b"wasm").unwrap();
        save(&dir, &meta(b"wasm2"), &w, &[], b"wasm2").unwrap();
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
    fn mlp_edge_decoder_names_of_earlier_releases_load_as_todays() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("epoch-0");
        let w = vec![
            (
                "decoder/decoder.decoder.weight".to_string(),
                Tensor::from_slice(&[1.0f32]),
            ),
            (
                "decoder/decoder.decoder.bias".to_string(),
                Tensor::from_slice(&[2.0f32]),
            ),
            ("gnn/w".to_string(), Tensor::from_slice(&[3.0f32])),
        ];
        let opt = vec![(
            "exp_avg/decoder/decoder.decoder.weight".to_string(),
            Tensor::from_slice(&[4.0f32]),
        )];
        save(&dir, &meta(b"wasm"), &w, &opt, b"wasm").unwrap();
        let loaded = load(&dir).unwrap();
        let mut names: Vec<&str> = loaded.weights.iter().map(|(n, _)| n.as_str()).collect();
        names.sort_unstable();
        assert_eq!(
            names,
            ["decoder/decoder.bias", "decoder/decoder.decoder", "gnn/w"]
        );
        assert_eq!(
            loaded.optimizer.unwrap()[0].0,
            "exp_avg/decoder/decoder.decoder"
        );
    }

    #[test]
    fn an_undefined_metric_is_saved_as_null_and_loads_back_as_nan() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("epoch-1");
        let mut m = meta(b"wasm");
        m.metrics = BTreeMap::from([
            ("val_roc_auc".to_string(), f64::NAN),
            ("val_per_class_roc_auc_class_0".to_string(), 0.75),
        ]);
        let w = vec![("gnn/w".to_string(), Tensor::from_slice(&[1.0f32]))];
        save(&dir, &m, &w, &[], b"wasm").unwrap();
        let text = std::fs::read_to_string(dir.join(META_FILE)).unwrap();
        assert!(text.contains("\"val_roc_auc\": null"), "{text}");
        let loaded = load(&dir).unwrap();
        assert!(loaded.meta.metrics["val_roc_auc"].is_nan());
        assert_eq!(loaded.meta.metrics["val_per_class_roc_auc_class_0"], 0.75);
    }

    #[test]
    fn every_file_is_recorded_and_a_changed_byte_is_refused_naming_both_digests() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("epoch-0");
        let w = vec![("gnn/w".to_string(), Tensor::from_slice(&[1.0f32, 2.0]))];
        let opt = vec![("step".to_string(), Tensor::from_slice(&[3i64]))];
        save(&dir, &meta(b"wasm"), &w, &opt, b"wasm").unwrap();
        let loaded = load(&dir).unwrap();
        assert_eq!(
            loaded.meta.files.keys().collect::<Vec<_>>(),
            vec![MODEL_FILE, OPTIMIZER_FILE, PLUGIN_FILE]
        );
        assert!(loaded.optimizer.unwrap()[0].1.equal(&opt[0].1));
        for file in [MODEL_FILE, OPTIMIZER_FILE, PLUGIN_FILE] {
            let path = dir.join(file);
            let original = std::fs::read(&path).unwrap();
            let mut changed = original.clone();
            changed.push(0);
            std::fs::write(&path, &changed).unwrap();
            let err = load(&dir)
                .err()
                .expect("a changed file is refused")
                .to_string();
            assert!(
                err.contains(file)
                    && err.contains(&loaded.meta.files[file])
                    && err.contains(&sha256_hex(&changed)),
                "{err}"
            );
            std::fs::write(&path, &original).unwrap();
            load(&dir).expect("the original loads again");
        }
    }

    #[test]
    fn save_refuses_a_plugin_whose_bytes_are_not_the_recorded_digest() {
        let root = tempfile::tempdir().unwrap();
        let err = save(&root.path().join("epoch-0"), &meta(b"a"), &[], &[], b"b")
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("digest"), "{err}");
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
