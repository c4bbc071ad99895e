//! The documents of the CNCF Wasm OCI artifact layout (an image manifest whose config is
//! `application/vnd.wasm.config.v0+json` and whose one layer is the `application/wasm`
//! component) and of the OCI image index, built and checked byte for byte.
//!
//! gs writes the manifest's bytes itself, so the digest it prints is the digest of exactly what
//! the registry stores, and pushing the same component twice gives the same digest: `created`
//! is `SOURCE_DATE_EPOCH` when set, else the Unix epoch.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::digest::Digest;
use crate::error::{RegistryError, Result};

pub const MANIFEST_MEDIA_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
pub const INDEX_MEDIA_TYPE: &str = "application/vnd.oci.image.index.v1+json";
pub const WASM_CONFIG_MEDIA_TYPE: &str = "application/vnd.wasm.config.v0+json";
pub const WASM_LAYER_MEDIA_TYPE: &str = "application/wasm";
pub const EMPTY_MEDIA_TYPE: &str = "application/vnd.oci.empty.v1+json";
pub const EMPTY_CONFIG: &[u8] = b"{}";

/// Annotation keys a pushed plugin carries.
pub mod annotation {
    pub const TITLE: &str = "org.opencontainers.image.title";
    pub const VERSION: &str = "org.opencontainers.image.version";
    pub const DESCRIPTION: &str = "org.opencontainers.image.description";
    pub const LICENSES: &str = "org.opencontainers.image.licenses";
    pub const CREATED: &str = "org.opencontainers.image.created";
    pub const REF_NAME: &str = "org.opencontainers.image.ref.name";
    pub const WIT_LINE: &str = "dev.gs.plugin.wit";
    pub const SDK_VERSION: &str = "dev.gs.plugin.sdk-version";
}

/// An OCI content descriptor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    pub media_type: String,
    pub digest: Digest,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

impl Descriptor {
    pub fn of(media_type: &str, bytes: &[u8]) -> Descriptor {
        Descriptor {
            media_type: media_type.to_string(),
            digest: Digest::of(bytes),
            size: bytes.len() as u64,
            artifact_type: None,
            annotations: BTreeMap::new(),
        }
    }
}

/// An OCI image manifest.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub schema_version: u32,
    #[serde(default)]
    pub media_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    pub config: Descriptor,
    #[serde(default)]
    pub layers: Vec<Descriptor>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Descriptor>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

impl Manifest {
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a manifest serializes")
    }
}

/// An OCI image index (`index.json` of a layout, or a referrers index).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Index {
    pub schema_version: u32,
    #[serde(default)]
    pub media_type: Option<String>,
    #[serde(default)]
    pub manifests: Vec<Descriptor>,
}

impl Default for Index {
    fn default() -> Self {
        Index {
            schema_version: 2,
            media_type: Some(INDEX_MEDIA_TYPE.to_string()),
            manifests: Vec::new(),
        }
    }
}

/// What the pushing side knows of a component (from its metadata section and `describe`).
#[derive(Debug, Clone, Default)]
pub struct ComponentInfo {
    pub name: String,
    pub version: String,
    pub description: Option<String>,
    pub license: Option<String>,
    /// `gs:plugin@0.1.4`: the WIT package the component imports.
    pub wit_line: String,
    pub sdk_version: Option<String>,
    /// Interfaces the component imports and exports, for the config's `component` field.
    pub imports: Vec<String>,
    pub exports: Vec<String>,
}

/// A component ready to push: its config blob, its manifest's bytes and their digests.
pub struct WasmArtifact {
    pub config: Vec<u8>,
    pub manifest: Vec<u8>,
    pub manifest_digest: Digest,
    pub component: Descriptor,
}

/// RFC 3339 time of `SOURCE_DATE_EPOCH`, else of the Unix epoch.
fn created() -> String {
    let secs: i64 = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0);
    rfc3339(secs)
}

fn rfc3339(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

impl WasmArtifact {
    pub fn new(component: &[u8], info: &ComponentInfo) -> WasmArtifact {
        let created = created();
        let layer = Descriptor::of(WASM_LAYER_MEDIA_TYPE, component);
        let config = serde_json::json!({
            "created": created,
            "author": null,
            "architecture": "wasm",
            "os": "wasip2",
            "layerDigests": [layer.digest.to_string()],
            "component": {
                "exports": info.exports,
                "imports": info.imports,
                "target": info.wit_line,
            },
        });
        let config = serde_json::to_vec(&config).expect("json");
        let mut annotations = BTreeMap::new();
        annotations.insert(annotation::TITLE.to_string(), info.name.clone());
        annotations.insert(annotation::VERSION.to_string(), info.version.clone());
        annotations.insert(annotation::CREATED.to_string(), created);
        annotations.insert(annotation::WIT_LINE.to_string(), info.wit_line.clone());
        for (key, value) in [
            (annotation::DESCRIPTION, &info.description),
            (annotation::LICENSES, &info.license),
            (annotation::SDK_VERSION, &info.sdk_version),
        ] {
            if let Some(value) = value {
                annotations.insert(key.to_string(), value.clone());
            }
        }
        let manifest = Manifest {
            schema_version: 2,
            media_type: Some(MANIFEST_MEDIA_TYPE.to_string()),
            artifact_type: None,
            config: Descriptor::of(WASM_CONFIG_MEDIA_TYPE, &config),
            layers: vec![layer.clone()],
            subject: None,
            annotations,
        }
        .to_bytes();
        WasmArtifact {
            manifest_digest: Digest::of(&manifest),
            config,
            manifest,
            component: layer,
        }
    }
}

/// Parses `bytes` (already checked against `digest`) as a gs plugin manifest: an OCI image
/// manifest with the Wasm config type and exactly one `application/wasm` layer.
pub(crate) fn parse_wasm_manifest(
    bytes: &[u8],
    reference: &str,
    digest: &Digest,
) -> Result<Manifest> {
    let bad = |why: String| RegistryError::BadArtifact {
        reference: reference.to_string(),
        digest: digest.to_string(),
        why,
    };
    let manifest: Manifest = serde_json::from_slice(bytes)
        .map_err(|e| bad(format!("its manifest is not an OCI image manifest ({e})")))?;
    if manifest.schema_version != 2 {
        return Err(bad(format!(
            "schemaVersion is {}, not 2",
            manifest.schema_version
        )));
    }
    if let Some(t) = &manifest.media_type
        && t != MANIFEST_MEDIA_TYPE
    {
        return Err(bad(format!(
            "the manifest's mediaType is `{t}`, not `{MANIFEST_MEDIA_TYPE}`"
        )));
    }
    if manifest.config.media_type != WASM_CONFIG_MEDIA_TYPE {
        return Err(bad(format!(
            "the config's mediaType is `{}`, not `{WASM_CONFIG_MEDIA_TYPE}` (is it a container \
             image?)",
            manifest.config.media_type
        )));
    }
    match manifest.layers.as_slice() {
        [layer] if layer.media_type == WASM_LAYER_MEDIA_TYPE => Ok(manifest),
        [layer] => Err(bad(format!(
            "its layer's mediaType is `{}`, not `{WASM_LAYER_MEDIA_TYPE}`",
            layer.media_type
        ))),
        layers => Err(bad(format!(
            "it has {} layers; a plugin has exactly one `{WASM_LAYER_MEDIA_TYPE}` layer",
            layers.len()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info() -> ComponentInfo {
        ComponentInfo {
            name: "sage".into(),
            version: "0.4.0".into(),
            description: Some("GraphSAGE".into()),
            license: Some("Apache-2.0".into()),
            wit_line: "gs:plugin@0.1.4".into(),
            sdk_version: Some("0.1.4".into()),
            imports: vec!["gs:plugin/tensor@0.1.4".into()],
            exports: vec!["gs:plugin/model@0.1.4".into()],
        }
    }

    #[test]
    fn the_manifest_is_the_cncf_wasm_layout_and_reproducible() {
        let a = WasmArtifact::new(b"\0asm\x0d\0\x01\0", &info());
        let b = WasmArtifact::new(b"\0asm\x0d\0\x01\0", &info());
        assert_eq!(a.manifest_digest, b.manifest_digest);
        let m = parse_wasm_manifest(&a.manifest, "r", &a.manifest_digest).unwrap();
        assert_eq!(m.layers[0].digest, Digest::of(b"\0asm\x0d\0\x01\0"));
        assert_eq!(m.config.digest, Digest::of(&a.config));
        assert_eq!(m.annotations[annotation::WIT_LINE], "gs:plugin@0.1.4");
        assert_eq!(m.annotations[annotation::CREATED], "1970-01-01T00:00:00Z");
        assert_eq!(m.annotations[annotation::LICENSES], "Apache-2.0");
    }

    #[test]
    fn a_container_image_or_two_layers_are_refused_by_name() {
        let a = WasmArtifact::new(b"x", &info());
        let mut m: Manifest = serde_json::from_slice(&a.manifest).unwrap();
        m.config.media_type = "application/vnd.oci.image.config.v1+json".into();
        let err = parse_wasm_manifest(&m.to_bytes(), "oci://h/x:1", &a.manifest_digest)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("oci://h/x:1") && err.contains("container image"),
            "{err}"
        );
        let mut m: Manifest = serde_json::from_slice(&a.manifest).unwrap();
        m.layers.push(m.layers[0].clone());
        let err = parse_wasm_manifest(&m.to_bytes(), "r", &a.manifest_digest)
            .unwrap_err()
            .to_string();
        assert!(err.contains("2 layers"), "{err}");
    }

    #[test]
    fn created_times_are_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400 + 3661), "2000-02-29T01:01:01Z");
        assert_eq!(rfc3339(1_796_601_600), "2026-12-07T00:00:00Z");
    }
}
