//! `gs.lock`: the registry plugins a project uses, pinned by manifest and component digest,
//! like `Cargo.lock`. `gs launch` adds what it pulls, refuses a tag that now points elsewhere
//! (showing both digests), and with `--locked` refuses anything not in the lock.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::digest::Digest;
use crate::error::{RegistryError, Result};
use crate::fs::write_atomic;

pub const LOCK_FILE: &str = "gs.lock";
const LOCK_VERSION: u32 = 1;
const HEADER: &str = "# gs.lock: the registry plugins this project uses, pinned by digest.\n\
                      # Written by gs; commit it. `gs launch --locked` uses only what is here.\n";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockedPlugin {
    /// The reference as written on the command line.
    pub reference: String,
    pub name: String,
    /// The tag, when the reference has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    pub manifest: Digest,
    pub component: Digest,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct LockDocument {
    version: u32,
    #[serde(default, rename = "plugin")]
    plugins: Vec<LockedPlugin>,
}

/// A loaded (or new) `gs.lock`.
#[derive(Debug)]
pub struct LockFile {
    path: PathBuf,
    plugins: Vec<LockedPlugin>,
}

impl LockFile {
    /// Reads `path`, or starts an empty lock when it does not exist.
    pub fn load(path: &Path) -> Result<LockFile> {
        let plugins = match std::fs::read_to_string(path) {
            Ok(text) => {
                let doc: LockDocument = toml::from_str(&text).map_err(|e| {
                    RegistryError::file(
                        path,
                        format!("is not a gs.lock ({e})\nhint: fix it, or delete it to re-pin"),
                    )
                })?;
                if doc.version != LOCK_VERSION {
                    return Err(RegistryError::file(
                        path,
                        format!(
                            "has version {}, this gs reads version {LOCK_VERSION}\nhint: upgrade gs",
                            doc.version
                        ),
                    ));
                }
                doc.plugins
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(RegistryError::file(path, e)),
        };
        Ok(LockFile {
            path: path.to_path_buf(),
            plugins,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn get(&self, reference: &str) -> Option<&LockedPlugin> {
        self.plugins.iter().find(|p| p.reference == reference)
    }

    pub fn plugins(&self) -> &[LockedPlugin] {
        &self.plugins
    }

    /// Adds or replaces the entry for `entry.reference`, and writes the file atomically.
    pub fn pin(&mut self, entry: LockedPlugin) -> Result<()> {
        self.plugins.retain(|p| p.reference != entry.reference);
        self.plugins.push(entry);
        self.plugins.sort_by(|a, b| a.reference.cmp(&b.reference));
        let doc = LockDocument {
            version: LOCK_VERSION,
            plugins: self.plugins.clone(),
        };
        let body = toml::to_string_pretty(&doc).expect("a lock serializes");
        write_atomic(&self.path, format!("{HEADER}\n{body}").as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lock_round_trips_and_refuses_unknown_keys() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(LOCK_FILE);
        let mut lock = LockFile::load(&path).unwrap();
        assert!(lock.plugins().is_empty());
        let entry = LockedPlugin {
            reference: "oci://h/team/sage:1".into(),
            name: "sage".into(),
            tag: Some("1".into()),
            manifest: Digest::of(b"m"),
            component: Digest::of(b"c"),
        };
        lock.pin(entry.clone()).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.starts_with("# gs.lock") && text.contains("[[plugin]]"),
            "{text}"
        );
        let again = LockFile::load(&path).unwrap();
        assert_eq!(again.get("oci://h/team/sage:1"), Some(&entry));
        std::fs::write(&path, text.replace("name =", "nmae =")).unwrap();
        let err = LockFile::load(&path).unwrap_err().to_string();
        assert!(err.contains("gs.lock") && err.contains("nmae"), "{err}");
    }
}
