//! The pull cache, under the user's cache directory (`<cache>/plugins`): components by digest
//! (`blobs/sha256/<hex>`, only ever written after their digest was checked, and atomically)
//! and one record per reference pulled (`refs/<sha256 of the reference>.json`), which
//! `gs plugin list` shows and `gs plugin rm` removes. Only components are cached: never a
//! precompiled form from a registry (gs compiles components itself, into its own cache).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::digest::Digest;
use crate::error::{RegistryError, Result};
use crate::fs::write_atomic;

/// What the cache knows of one pulled reference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CachedRef {
    /// The reference as pulled (`oci://…:tag`, `oci://…@sha256:…` or `oci-layout:…`).
    pub reference: String,
    pub manifest: Digest,
    pub component: Digest,
    pub size: u64,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub version: String,
}

pub struct PluginCache {
    root: PathBuf,
}

impl PluginCache {
    pub fn new(root: impl Into<PathBuf>) -> PluginCache {
        PluginCache { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn component_path(&self, digest: &Digest) -> PathBuf {
        self.root.join("blobs").join("sha256").join(digest.hex())
    }

    fn ref_path(&self, reference: &str) -> PathBuf {
        self.root
            .join("refs")
            .join(format!("{}.json", Digest::of(reference.as_bytes()).hex()))
    }

    /// The cached component with `digest`, re-checked (a cache file modified on disk is
    /// treated as absent).
    pub fn component(&self, digest: &Digest) -> Option<Vec<u8>> {
        let bytes = std::fs::read(self.component_path(digest)).ok()?;
        (Digest::of(&bytes) == *digest).then_some(bytes)
    }

    /// Stores a component whose digest the caller has checked (checked again here).
    pub fn put_component(&self, digest: &Digest, bytes: &[u8]) -> Result<PathBuf> {
        digest.verify(bytes, None, "the component to cache")?;
        let path = self.component_path(digest);
        if self.component(digest).is_none() {
            write_atomic(&path, bytes)?;
        }
        Ok(path)
    }

    pub fn record(&self, entry: &CachedRef) -> Result<()> {
        write_atomic(
            &self.ref_path(&entry.reference),
            &serde_json::to_vec_pretty(entry).expect("json"),
        )
    }

    pub fn lookup(&self, reference: &str) -> Option<CachedRef> {
        let text = std::fs::read(self.ref_path(reference)).ok()?;
        serde_json::from_slice(&text).ok()
    }

    /// Every recorded reference, sorted by reference.
    pub fn list(&self) -> Vec<CachedRef> {
        let mut entries: Vec<CachedRef> = std::fs::read_dir(self.root.join("refs"))
            .into_iter()
            .flatten()
            .filter_map(|e| e.ok())
            .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
            .filter_map(|e| serde_json::from_slice(&std::fs::read(e.path()).ok()?).ok())
            .collect();
        entries.sort_by(|a, b| a.reference.cmp(&b.reference));
        entries
    }

    /// Removes the records matching `what` (a reference as listed, or a manifest or component
    /// digest) and the components no record uses any more. Returns the removed records.
    pub fn remove(&self, what: &str) -> Result<Vec<CachedRef>> {
        let removed: Vec<CachedRef> = self
            .list()
            .into_iter()
            .filter(|e| {
                e.reference == what
                    || e.manifest.to_string() == what
                    || e.component.to_string() == what
            })
            .collect();
        if removed.is_empty() {
            return Err(RegistryError::NotFound {
                reference: what.to_string(),
                what: "a cached plugin with that reference or digest".into(),
                hint: "`gs plugin list` shows what is cached".into(),
            });
        }
        for entry in &removed {
            let path = self.ref_path(&entry.reference);
            std::fs::remove_file(&path).map_err(|e| RegistryError::file(&path, e))?;
        }
        let kept = self.list();
        for entry in &removed {
            if !kept.iter().any(|k| k.component == entry.component) {
                let path = self.component_path(&entry.component);
                let _ = std::fs::remove_file(path);
            }
        }
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components_are_checked_on_the_way_in_and_out() {
        let dir = tempfile::tempdir().unwrap();
        let cache = PluginCache::new(dir.path());
        let bytes = b"component".to_vec();
        let digest = Digest::of(&bytes);
        assert!(cache.put_component(&Digest::of(b"other"), &bytes).is_err());
        assert!(!cache.component_path(&Digest::of(b"other")).exists());
        let path = cache.put_component(&digest, &bytes).unwrap();
        assert_eq!(cache.component(&digest).unwrap(), bytes);
        std::fs::write(&path, b"tampered").unwrap();
        assert!(cache.component(&digest).is_none());
    }

    #[test]
    fn remove_drops_records_and_unused_components() {
        let dir = tempfile::tempdir().unwrap();
        let cache = PluginCache::new(dir.path());
        let digest = Digest::of(b"c");
        cache.put_component(&digest, b"c").unwrap();
        for reference in ["oci://h/x:1", "oci://h/x:2"] {
            cache
                .record(&CachedRef {
                    reference: reference.into(),
                    manifest: Digest::of(reference.as_bytes()),
                    component: digest.clone(),
                    size: 1,
                    name: "x".into(),
                    version: "1".into(),
                })
                .unwrap();
        }
        assert_eq!(cache.list().len(), 2);
        cache.remove("oci://h/x:1").unwrap();
        assert!(cache.component(&digest).is_some(), "still used by :2");
        cache.remove(&digest.to_string()).unwrap();
        assert!(cache.list().is_empty());
        assert!(cache.component(&digest).is_none());
        assert!(cache.remove("oci://h/x:3").is_err());
    }
}
