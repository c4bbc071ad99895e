//! The offline registry: an OCI image-layout directory (`oci-layout`, `index.json`,
//! `blobs/sha256/<hex>`), which can be copied to a machine without network access.
//!
//! Tags are `org.opencontainers.image.ref.name` annotations of `index.json`'s entries.
//! Referrers (signatures) are untagged entries of `index.json` with an `artifactType`, whose
//! manifests name their `subject`, as `oras` stores them. Every blob is checked against its
//! digest when read, so a tampered directory is refused, not used.

use std::path::{Path, PathBuf};

use crate::artifact::{Descriptor, Index, Manifest, annotation};
use crate::digest::Digest;
use crate::error::{RegistryError, Result};
use crate::fs::write_atomic;
use crate::reference::Version;
use crate::store::Store;

const LAYOUT_FILE: &str = "oci-layout";
const LAYOUT_CONTENT: &[u8] = br#"{"imageLayoutVersion":"1.0.0"}"#;
const INDEX_FILE: &str = "index.json";

pub(crate) struct LayoutStore {
    dir: PathBuf,
    /// The reference as the user wrote it, for messages.
    reference: String,
}

impl LayoutStore {
    /// Opens an existing layout (for pulls, signatures and verification).
    pub(crate) fn open(dir: &Path, reference: &str) -> Result<LayoutStore> {
        let marker = dir.join(LAYOUT_FILE);
        let text = std::fs::read(&marker).map_err(|e| RegistryError::NotFound {
            reference: reference.to_string(),
            what: format!("the image layout `{}` ({e})", marker.display()),
            hint: "push to it first (`gs plugin push FILE oci-layout:DIR:TAG` creates it), or \
                   check the directory"
                .into(),
        })?;
        let version: serde_json::Value = serde_json::from_slice(&text)
            .map_err(|e| RegistryError::file(&marker, format!("is not JSON ({e})")))?;
        if version["imageLayoutVersion"] != "1.0.0" {
            return Err(RegistryError::file(
                &marker,
                "imageLayoutVersion is not 1.0.0; this is not an OCI image layout gs can read",
            ));
        }
        Ok(LayoutStore {
            dir: dir.to_path_buf(),
            reference: reference.to_string(),
        })
    }

    /// Opens a layout, creating an empty one if `dir` does not hold one yet.
    pub(crate) fn open_or_create(dir: &Path, reference: &str) -> Result<LayoutStore> {
        if !dir.join(LAYOUT_FILE).exists() {
            write_atomic(&dir.join(LAYOUT_FILE), LAYOUT_CONTENT)?;
        }
        if !dir.join(INDEX_FILE).exists() {
            write_atomic(
                &dir.join(INDEX_FILE),
                &serde_json::to_vec_pretty(&Index::default()).expect("json"),
            )?;
        }
        LayoutStore::open(dir, reference)
    }

    fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.dir.join("blobs").join("sha256").join(digest.hex())
    }

    fn index(&self) -> Result<Index> {
        let path = self.dir.join(INDEX_FILE);
        let text = std::fs::read(&path).map_err(|e| RegistryError::file(&path, e))?;
        serde_json::from_slice(&text)
            .map_err(|e| RegistryError::file(&path, format!("is not an OCI image index ({e})")))
    }

    fn write_index(&self, index: &Index) -> Result<()> {
        write_atomic(
            &self.dir.join(INDEX_FILE),
            &serde_json::to_vec_pretty(index).expect("json"),
        )
    }

    fn read_blob(&self, digest: &Digest, size: Option<u64>, what: &str) -> Result<Vec<u8>> {
        let path = self.blob_path(digest);
        let bytes = std::fs::read(&path).map_err(|e| RegistryError::NotFound {
            reference: self.reference.clone(),
            what: format!("{what} ({digest}, `{}`: {e})", path.display()),
            hint: "the layout directory is incomplete; copy it again from its source".into(),
        })?;
        digest.verify(&bytes, size, &format!("{what} of {}", self.reference))?;
        Ok(bytes)
    }
}

impl Store for LayoutStore {
    fn put_blob(&self, bytes: &[u8], digest: &Digest) -> Result<()> {
        let path = self.blob_path(digest);
        // A blob already there is kept only if it is intact.
        if std::fs::read(&path).is_ok_and(|b| Digest::of(&b) == *digest) {
            return Ok(());
        }
        write_atomic(&path, bytes)
    }

    fn get_blob(&self, descriptor: &Descriptor, what: &str) -> Result<Vec<u8>> {
        self.read_blob(&descriptor.digest, Some(descriptor.size), what)
    }

    fn put_manifest(&self, bytes: &[u8], media_type: &str, tag: Option<&str>) -> Result<()> {
        let digest = Digest::of(bytes);
        self.put_blob(bytes, &digest)?;
        let Some(tag) = tag else {
            return Ok(());
        };
        let mut index = self.index()?;
        index
            .manifests
            .retain(|d| d.annotations.get(annotation::REF_NAME).map(String::as_str) != Some(tag));
        let mut entry = Descriptor::of(media_type, bytes);
        entry
            .annotations
            .insert(annotation::REF_NAME.to_string(), tag.to_string());
        index.manifests.push(entry);
        self.write_index(&index)
    }

    fn get_manifest(&self, version: &Version) -> Result<(Vec<u8>, Digest)> {
        let (digest, size) = match version {
            Version::Digest(d) => (d.clone(), None),
            Version::Tag(tag) => {
                let index = self.index()?;
                let entry = index
                    .manifests
                    .iter()
                    .find(|d| {
                        d.annotations.get(annotation::REF_NAME).map(String::as_str)
                            == Some(tag.as_str())
                    })
                    .ok_or_else(|| RegistryError::NotFound {
                        reference: self.reference.clone(),
                        what: format!("the tag `{tag}`"),
                        hint: format!(
                            "tags in `{}`: {}",
                            self.dir.join(INDEX_FILE).display(),
                            tags(&index).join(", ")
                        ),
                    })?;
                (entry.digest.clone(), Some(entry.size))
            }
        };
        let bytes = self.read_blob(&digest, size, "the manifest")?;
        Ok((bytes, digest))
    }

    fn referrers(&self, subject: &Digest, artifact_type: &str) -> Result<Vec<Descriptor>> {
        let mut found = Vec::new();
        for entry in self.index()?.manifests {
            if entry.artifact_type.as_deref() != Some(artifact_type) {
                continue;
            }
            let bytes = self.read_blob(&entry.digest, Some(entry.size), "a referrer manifest")?;
            let manifest: Manifest = serde_json::from_slice(&bytes).map_err(|e| {
                RegistryError::file(
                    self.blob_path(&entry.digest),
                    format!("is not a manifest ({e})"),
                )
            })?;
            if manifest
                .subject
                .as_ref()
                .is_some_and(|s| s.digest == *subject)
            {
                found.push(entry);
            }
        }
        Ok(found)
    }

    fn add_referrer(&self, _subject: &Digest, referrer: Descriptor) -> Result<()> {
        let mut index = self.index()?;
        if !index.manifests.iter().any(|d| d.digest == referrer.digest) {
            index.manifests.push(referrer);
            self.write_index(&index)?;
        }
        Ok(())
    }
}

fn tags(index: &Index) -> Vec<String> {
    let tags: Vec<String> = index
        .manifests
        .iter()
        .filter_map(|d| d.annotations.get(annotation::REF_NAME).cloned())
        .collect();
    if tags.is_empty() {
        vec!["(none)".to_string()]
    } else {
        tags
    }
}
