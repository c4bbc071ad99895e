//! Signatures: an ed25519 signature over the component's digest (`sha256:<hex>`, which is
//! reproducible, unlike a manifest's), stored as an OCI referrer of the plugin's manifest: an
//! artifact of type [`SIGNATURE_ARTIFACT_TYPE`] with the empty config, the 64 signature bytes
//! as its one layer, the signed digest and the key id as annotations, and the plugin's manifest
//! as its `subject`. Beside a plain `.wasm` file the same facts go into a detached
//! `FILE.wasm.sig`.
//!
//! Verification fails closed: no signature, or none by a given key, is an error.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::artifact::{Descriptor, EMPTY_CONFIG, EMPTY_MEDIA_TYPE, MANIFEST_MEDIA_TYPE, Manifest};
use crate::digest::Digest;
use crate::error::{RegistryError, Result};
use crate::keys::{PrivateKey, PublicKey};
use crate::store::Store;

pub const SIGNATURE_ARTIFACT_TYPE: &str = "application/vnd.gs.plugin.signature.ed25519.v1";
const SIGNED_DIGEST: &str = "dev.gs.signature.component-digest";
const KEY_ID: &str = "dev.gs.signature.key-id";

/// Signs `component` (the layer of the manifest `subject`) and stores the signature as a
/// referrer of `subject`. Returns the signature manifest's digest.
pub(crate) fn sign_in_store(
    store: &dyn Store,
    subject: &Descriptor,
    component: &Digest,
    key: &PrivateKey,
) -> Result<Digest> {
    let signature = key.sign(component.to_string().as_bytes());
    store.put_blob(EMPTY_CONFIG, &Digest::of(EMPTY_CONFIG))?;
    store.put_blob(&signature, &Digest::of(&signature))?;
    let annotations = BTreeMap::from([
        (SIGNED_DIGEST.to_string(), component.to_string()),
        (KEY_ID.to_string(), key.id()),
    ]);
    let manifest = Manifest {
        schema_version: 2,
        media_type: Some(MANIFEST_MEDIA_TYPE.to_string()),
        artifact_type: Some(SIGNATURE_ARTIFACT_TYPE.to_string()),
        config: Descriptor::of(EMPTY_MEDIA_TYPE, EMPTY_CONFIG),
        layers: vec![Descriptor::of(SIGNATURE_ARTIFACT_TYPE, &signature)],
        subject: Some(subject.clone()),
        annotations: annotations.clone(),
    }
    .to_bytes();
    store.put_manifest(&manifest, MANIFEST_MEDIA_TYPE, None)?;
    let mut descriptor = Descriptor::of(MANIFEST_MEDIA_TYPE, &manifest);
    descriptor.artifact_type = Some(SIGNATURE_ARTIFACT_TYPE.to_string());
    descriptor.annotations = annotations;
    store.add_referrer(&subject.digest, descriptor.clone())?;
    Ok(descriptor.digest)
}

/// What verification found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The id of the key whose signature verified.
    pub key_id: String,
    /// Signatures found in all (some may be by other keys).
    pub signatures: usize,
}

/// Finds a signature of `component` by one of `keys` among the referrers of `subject`.
pub(crate) fn verify_in_store(
    store: &dyn Store,
    reference: &str,
    subject: &Digest,
    component: &Digest,
    keys: &[PublicKey],
) -> Result<Verified> {
    let referrers = store.referrers(subject, SIGNATURE_ARTIFACT_TYPE)?;
    let mut signatures = 0;
    for descriptor in &referrers {
        let (bytes, _) = store.get_manifest(&crate::reference::Version::Digest(
            descriptor.digest.clone(),
        ))?;
        let Ok(manifest) = serde_json::from_slice::<Manifest>(&bytes) else {
            continue;
        };
        if manifest.subject.as_ref().map(|s| &s.digest) != Some(subject)
            || manifest.annotations.get(SIGNED_DIGEST) != Some(&component.to_string())
        {
            continue;
        }
        let Some(layer) = manifest.layers.first() else {
            continue;
        };
        let signature = store.get_blob(layer, "a signature")?;
        signatures += 1;
        if let Some(key) = keys
            .iter()
            .find(|k| k.verifies(component.to_string().as_bytes(), &signature))
        {
            return Ok(Verified {
                key_id: key.id(),
                signatures,
            });
        }
    }
    Err(not_verified(reference, component, signatures, keys))
}

fn not_verified(
    reference: &str,
    component: &Digest,
    signatures: usize,
    keys: &[PublicKey],
) -> RegistryError {
    let ids: Vec<String> = keys
        .iter()
        .map(|k| format!("{} ({})", k.id(), k.origin.display()))
        .collect();
    RegistryError::Signature {
        reference: reference.to_string(),
        digest: component.clone(),
        why: if signatures == 0 {
            "it has no signature\nhint: sign it with `gs plugin sign REF --key PREFIX`".to_string()
        } else {
            format!(
                "none of its {signatures} signature(s) verifies with the trusted key(s) {}\n\
                 hint: it was signed by another key, or the signature or component was altered",
                ids.join(", ")
            )
        },
    }
}

/// A detached signature beside a plain component file.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct DetachedSignature {
    #[serde(rename = "type")]
    kind: String,
    component: Digest,
    key_id: String,
    signature: String,
}

/// `FILE.sig`.
pub fn detached_path(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".sig");
    PathBuf::from(name)
}

/// Signs a component file, writing `FILE.sig`.
pub fn sign_file(file: &Path, key: &PrivateKey) -> Result<(Digest, PathBuf)> {
    let bytes = std::fs::read(file).map_err(|e| RegistryError::file(file, e))?;
    let component = Digest::of(&bytes);
    let signature = key.sign(component.to_string().as_bytes());
    let detached = DetachedSignature {
        kind: SIGNATURE_ARTIFACT_TYPE.to_string(),
        component: component.clone(),
        key_id: key.id(),
        signature: base64::engine::general_purpose::STANDARD.encode(signature),
    };
    let path = detached_path(file);
    crate::fs::write_atomic(&path, &serde_json::to_vec_pretty(&detached).expect("json"))?;
    Ok((component, path))
}

/// Checks `FILE.sig` against the file's bytes and `keys`.
pub fn verify_file(file: &Path, keys: &[PublicKey]) -> Result<Verified> {
    let bytes = std::fs::read(file).map_err(|e| RegistryError::file(file, e))?;
    let component = Digest::of(&bytes);
    let reference = file.display().to_string();
    let path = detached_path(file);
    let Ok(text) = std::fs::read(&path) else {
        return Err(not_verified(&reference, &component, 0, keys));
    };
    let detached: DetachedSignature = serde_json::from_slice(&text)
        .map_err(|e| RegistryError::file(&path, format!("is not a gs signature ({e})")))?;
    if detached.component != component {
        return Err(RegistryError::Signature {
            reference,
            digest: component,
            why: format!(
                "`{}` signs {}, not this file\nhint: the file changed after it was signed",
                path.display(),
                detached.component
            ),
        });
    }
    let signature = base64::engine::general_purpose::STANDARD
        .decode(detached.signature.trim())
        .unwrap_or_default();
    match keys
        .iter()
        .find(|k| k.verifies(component.to_string().as_bytes(), &signature))
    {
        Some(key) => Ok(Verified {
            key_id: key.id(),
            signatures: 1,
        }),
        None => Err(not_verified(&reference, &component, 1, keys)),
    }
}
