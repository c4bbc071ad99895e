//! The precompiled-component cache.
//!
//! Compiling a component with Cranelift takes tens of milliseconds to seconds; loading the
//! native code the host wrote earlier takes about a millisecond. Entries are keyed by the
//! component's SHA-256 and the engine's compatibility hash (wasmtime version and settings):
//! `<key>.cwasm` holds exactly what `Engine::precompile_component` wrote, so wasmtime maps it
//! from the file instead of copying it (`Component::deserialize_file`: for a Python component's
//! 32 MB that is the difference between ~40 ms and a few), and `<key>.mac` its MAC. Both are
//! written to temporary names and renamed, so parallel runs never read a torn file.
//!
//! Deserializing an entry runs its native code, so the cache never deserializes a file it did
//! not write. Its folder is private (created 0700; one that other users can write, or that
//! someone else owns, is not used at all: plugins are then compiled in memory). The MAC is a
//! keyed BLAKE3 over the entry's key (component digest and engine hash) and the compiled
//! bytes, under a 32-byte secret key kept outside the cache folder (see [`CacheLocation`]). A
//! missing, short or mismatching MAC (a planted file, a file copied from another machine or
//! from another component's entry, a `.cwasm` and a `.mac` of two different writes) means the
//! entry is compiled again and rewritten, never deserialized.
//!
//! The MAC is checked on a read-only mapping of the opened `.cwasm`; wasmtime then maps the
//! path again, and the entry is used only if the path still names the same file (device,
//! inode, size and modification time), so a file renamed over it in between is refused too.
//! Entries are replaced by rename only, never rewritten in place. What the MAC defends
//! against is native code at rest that this gs did not write (a restored or shared cache);
//! someone who can rewrite files in the private folder while gs runs is the user already.
//!
//! Two records spare warm loads a pass over every byte (see `file_memo.rs` for when a record
//! is believed): `<entry>.seen`, that the entry with this file identity and this MAC was
//! checked (the next load of the unchanged file skips the MAC over its 32 MB, for a Python
//! component), and `files/<name>`, what [`crate::PluginEngine::load_file`] read from a
//! component file (its SHA-256, `gs:plugin` version and sections): with both, loading the
//! unchanged file again reads neither its 19 MB nor the entry's 32 MB. A restored or copied
//! file has a new inode and change time, so its records do not match and it is checked in
//! full, as before.
use std::hash::Hasher;
use std::io::Write;
use std::path::{Path, PathBuf};

use wasmtime::Engine;
use wasmtime::component::Component;

use crate::ComponentInfo;
use crate::file_memo::FileIdentity;
use crate::private_fs::{CacheUnusable, KEY_LEN, private_dir, secret_key};

/// Where the compiled-component cache lives, and where its secret key lives.
///
/// Keep `key_file` outside `dir` and outside whatever may be shared or restored with it (a CI
/// cache of `~/.cache`, a shared folder): whoever can write the cache and knows the key could
/// plant native code. The `gs` CLI uses `<cache dir>/components` and
/// `<data dir>/component-cache.key` (`$GS_DATA_DIR`, else `$XDG_DATA_HOME/gs`, else
/// `~/.local/share/gs`). The key is made on first use: 32 random bytes, mode 0600.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheLocation {
    /// The folder of compiled entries; created 0700 when missing.
    pub dir: PathBuf,
    /// The file of the 32-byte secret key that authenticates entries.
    pub key_file: PathBuf,
}

/// Entries from this size on are MACed on every core.
const PARALLEL_MAC_FROM_BYTES: usize = 4 << 20;
/// Bytes of a MAC (`<key>.mac`).
const MAC_LEN: usize = blake3::OUT_LEN;
/// Separates this use of the key from any other (v1 kept the MAC at the start of the entry).
const DOMAIN: &[u8] = b"gs compiled-component cache entry v2\0";
/// Separates records of entries whose MAC was checked (`<entry>.seen`).
const SEEN_DOMAIN: &[u8] = b"gs checked compiled-component entry v1\0";
/// Separates records of what was read from component files (`files/<name>`). Records know the
/// gs-runtime version that wrote them, not the build: bump this when `inspect` reads something
/// new, so that records of what an older build read are not believed.
const COMPONENT_DOMAIN: &[u8] = b"gs component file record v1\0";
/// The folder of the cache that holds records of component files.
const COMPONENTS_DIR: &str = "files";

pub(crate) struct ComponentCache {
    dir: PathBuf,
    key: [u8; KEY_LEN],
}

/// Feeds `Hash` output into BLAKE3, for a hash that does not change with the Rust release.
struct Blake3Hasher(blake3::Hasher);

impl Hasher for Blake3Hasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    fn finish(&self) -> u64 {
        unreachable!("only `finalize` is read")
    }
}

/// The engine's compatibility hash (wasmtime version and settings), as hex.
fn engine_hash(engine: &Engine) -> String {
    let mut hasher = Blake3Hasher(blake3::Hasher::new());
    std::hash::Hash::hash(&engine.precompile_compatibility_hash(), &mut hasher);
    hasher.0.finalize().to_hex().to_string()
}

impl ComponentCache {
    /// The cache at `location`: its folder private, its key read or made.
    pub(crate) fn open(location: &CacheLocation) -> Result<Self, CacheUnusable> {
        private_dir(&location.dir)?;
        let key = secret_key(&location.key_file)?;
        Ok(Self {
            dir: location.dir.clone(),
            key,
        })
    }

    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    fn entry(&self, digest: &str, engine_hash: &str) -> PathBuf {
        self.dir
            .join(format!("{digest}-{}.cwasm", &engine_hash[..16]))
    }

    fn mac(&self, digest: &str, engine_hash: &str, compiled: &[u8]) -> blake3::Hash {
        let mut hasher = blake3::Hasher::new_keyed(&self.key);
        hasher
            .update(DOMAIN)
            .update(digest.as_bytes())
            .update(b"\0")
            .update(engine_hash.as_bytes())
            .update(b"\0");
        // Every core for a large entry (the same hash as `update`, its subtrees in parallel);
        // for a small one the threads cost more than they save.
        if compiled.len() >= PARALLEL_MAC_FROM_BYTES {
            hasher.update_rayon(compiled);
        } else {
            hasher.update(compiled);
        }
        hasher.finalize()
    }

    /// The record that the entry with `identity` and MAC `mac` was checked: kept as
    /// `<entry>.seen`, it spares the next loads of the unchanged file the MAC over all of it.
    fn seen_record(
        &self,
        digest: &str,
        engine_hash: &str,
        identity: &FileIdentity,
        mac: &[u8],
    ) -> blake3::Hash {
        blake3::Hasher::new_keyed(&self.key)
            .update(SEEN_DOMAIN)
            .update(digest.as_bytes())
            .update(b"\0")
            .update(engine_hash.as_bytes())
            .update(b"\0")
            .update(&identity.to_bytes())
            .update(mac)
            .finalize()
    }

    /// Where what was read from the file with `identity` is recorded: one record per device
    /// and inode.
    fn component_record_path(&self, identity: &FileIdentity) -> PathBuf {
        let name = blake3::hash(&identity.device_and_inode_bytes()).to_hex();
        self.dir.join(COMPONENTS_DIR).join(&name[..32])
    }

    /// The MAC of a record: the file's identity and what was read from it, by this gs (its
    /// version and the `gs:plugin` versions it supports are part of the MAC, so another gs
    /// reads the file again and checks it against what it supports).
    fn component_record(&self, identity: &FileIdentity, json: &[u8]) -> blake3::Hash {
        blake3::Hasher::new_keyed(&self.key)
            .update(COMPONENT_DOMAIN)
            .update(env!("CARGO_PKG_VERSION").as_bytes())
            .update(b"\0")
            .update(crate::SUPPORTED_VERSION.as_bytes())
            .update(b"\0")
            .update(&identity.to_bytes())
            .update(json)
            .finalize()
    }

    /// What a previous load read from the file with `identity` (its digest, version, sections;
    /// `source` as that load named it), if there is a record of this very identity under this
    /// cache's key: the file has not changed since.
    pub(crate) fn remembered_component(&self, identity: &FileIdentity) -> Option<ComponentInfo> {
        let text = std::fs::read(self.component_record_path(identity)).ok()?;
        let newline = text.iter().position(|&b| b == b'\n')?;
        let (mac, json) = (&text[..newline], &text[newline + 1..]);
        let mac = blake3::Hash::from_hex(mac).ok()?;
        if mac != self.component_record(identity, json) {
            return None;
        }
        serde_json::from_slice(json).ok()
    }

    /// Records what was read from the file with `identity`, if it last changed long enough ago
    /// ([`crate::file_memo::SETTLED`]).
    pub(crate) fn remember_component(&self, identity: &FileIdentity, info: &ComponentInfo) {
        if !identity.settled(std::time::SystemTime::now()) {
            return;
        }
        let written = serde_json::to_vec(info)
            .map_err(|e| e.to_string())
            .and_then(|json| {
                let mac = self.component_record(identity, &json);
                let mut record = format!("{}\n", mac.to_hex()).into_bytes();
                record.extend_from_slice(&json);
                private_dir(&self.dir.join(COMPONENTS_DIR)).map_err(|e| e.to_string())?;
                write_private(&self.component_record_path(identity), &record)
                    .map_err(|e| e.to_string())
            });
        if let Err(e) = written {
            tracing::debug!("cannot record a component: {e}");
        }
    }

    /// The compiled component of `digest` if the cache holds an authentic entry of it.
    pub(crate) fn load_cached(&self, engine: &Engine, digest: &str) -> Option<Component> {
        let engine_hash = engine_hash(engine);
        let path = self.entry(digest, &engine_hash);
        self.load_authentic(engine, &path, digest, &engine_hash)
    }

    /// The compiled component, from the cache or compiled now and stored.
    pub(crate) fn load_or_compile(
        &self,
        engine: &Engine,
        digest: &str,
        bytes: &[u8],
    ) -> wasmtime::Result<Component> {
        let engine_hash = engine_hash(engine);
        let path = self.entry(digest, &engine_hash);
        if let Some(component) = self.load_authentic(engine, &path, digest, &engine_hash) {
            return Ok(component);
        }
        let compiled = engine.precompile_component(bytes)?;
        let mac = self.mac(digest, &engine_hash, &compiled);
        if let Err(e) = self.store(&path, mac.as_bytes(), &compiled) {
            tracing::warn!(
                "cannot cache the compiled plugin in `{}`: {e}",
                self.dir.display()
            );
        }
        // SAFETY: `compiled` was produced just now by this engine.
        unsafe { Component::deserialize(engine, &compiled) }
    }

    /// The entry at `path`, deserialized, if it is there, its MAC is this cache's, and the file
    /// wasmtime mapped is the one whose MAC was checked.
    fn load_authentic(
        &self,
        engine: &Engine,
        path: &Path,
        digest: &str,
        engine_hash: &str,
    ) -> Option<Component> {
        let warn_unreadable = |e: &dyn std::fmt::Display| {
            tracing::warn!("cannot read the cached component `{}`: {e}", path.display());
        };
        let mac = match std::fs::read(path.with_extension("mac")) {
            Ok(mac) => mac,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
            Err(e) => {
                warn_unreadable(&e);
                return None;
            }
        };
        let file = match std::fs::File::open(path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
            Err(e) => {
                warn_unreadable(&e);
                return None;
            }
        };
        let checked = match file.metadata() {
            Ok(metadata) => FileIdentity::of(&metadata),
            Err(e) => {
                warn_unreadable(&e);
                return None;
            }
        };
        let seen_path = path.with_extension("seen");
        let seen = checked
            .as_ref()
            .map(|identity| self.seen_record(digest, engine_hash, identity, &mac));
        let seen_before = seen.is_some_and(|record| {
            std::fs::read(&seen_path).is_ok_and(|bytes| same_hash(&bytes, &record))
        });
        if !seen_before {
            // SAFETY: a read-only mapping of a file in the private cache folder, which gs
            // replaces by rename only, never in place (see the module's documentation).
            let mapped = match unsafe { memmap2::Mmap::map(&file) } {
                Ok(mapped) => mapped,
                Err(e) => {
                    warn_unreadable(&e);
                    return None;
                }
            };
            let authentic = same_hash(&mac, &self.mac(digest, engine_hash, &mapped));
            drop(mapped);
            if !authentic {
                tracing::warn!(
                    "the cached component `{}` was not written by this gs (its MAC does not \
                     match); compiling the plugin again",
                    path.display()
                );
                return None;
            }
            let settled = checked
                .as_ref()
                .is_some_and(|identity| identity.settled(std::time::SystemTime::now()));
            if let (Some(record), true) = (seen, settled) {
                if let Err(e) = write_private(&seen_path, record.as_bytes()) {
                    tracing::debug!("cannot record `{}`: {e}", seen_path.display());
                }
            }
        }
        // SAFETY: the file at `path` carries a MAC under this machine's secret key over the
        // component's digest, the engine's compatibility hash and its bytes, so `store` wrote
        // it from the output of `Engine::precompile_component` for this component and a
        // compatible engine; the identity check below makes sure wasmtime mapped that file.
        let component = match unsafe { Component::deserialize_file(engine, path) } {
            Ok(component) => component,
            Err(e) => {
                tracing::warn!(
                    "ignoring unreadable cached component `{}`: {e:#}",
                    path.display()
                );
                return None;
            }
        };
        let same_file =
            std::fs::metadata(path).is_ok_and(|metadata| FileIdentity::of(&metadata) == checked);
        if !same_file {
            tracing::warn!(
                "the cached component `{}` was replaced while gs read it; compiling the plugin \
                 again",
                path.display()
            );
            return None;
        }
        Some(component)
    }

    /// Writes `<entry>.cwasm`, then `<entry>.mac`, each through a temporary name. A reader
    /// between the two renames sees a MAC that does not match and compiles again.
    fn store(&self, path: &Path, mac: &[u8], compiled: &[u8]) -> std::io::Result<()> {
        write_private(path, compiled)?;
        write_private(&path.with_extension("mac"), mac)
    }
}

/// Writes `bytes` to `path` (mode 0600) through a temporary name in the same folder.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension(format!(
        "tmp-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
        .open(&tmp)
        .and_then(|mut file| file.write_all(bytes))
        .and_then(|()| std::fs::rename(&tmp, path))
        .inspect_err(|_| {
            let _ = std::fs::remove_file(&tmp);
        })
}

/// Whether `bytes` are exactly `hash` (`Hash`'s equality runs in constant time).
fn same_hash(bytes: &[u8], hash: &blake3::Hash) -> bool {
    <[u8; MAC_LEN]>::try_from(bytes)
        .map(blake3::Hash::from)
        .ok()
        == Some(*hash)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn cache_in(dir: &Path) -> ComponentCache {
        ComponentCache::open(&CacheLocation {
            dir: dir.join("components"),
            key_file: dir.join("key"),
        })
        .unwrap()
    }

    fn info() -> ComponentInfo {
        ComponentInfo {
            source: "model.wasm".into(),
            digest: "5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef".into(),
            package_version: "0.1.4".into(),
            sdk_version: Some("0.1.0".into()),
            size_bytes: 1000,
            imports: vec!["gs:plugin/tensors@0.1.4".into()],
            has_name_section: true,
            debug_sections: 0,
            metadata: BTreeMap::from([("language".into(), "rust".into())]),
        }
    }

    fn remembered(cache: &ComponentCache, identity: &FileIdentity) -> Option<String> {
        cache.remembered_component(identity).map(|info| info.digest)
    }

    #[test]
    fn a_component_is_remembered_only_for_the_same_settled_file_under_the_same_key() {
        let dir = tempfile::tempdir().unwrap();
        let cache = cache_in(dir.path());
        let digest = Some(info().digest);
        let settled = FileIdentity::for_test(42, 1000, 60);
        assert_eq!(remembered(&cache, &settled), None);
        cache.remember_component(&settled, &info());
        assert_eq!(remembered(&cache, &settled), digest);
        let all = cache.remembered_component(&settled).unwrap();
        assert_eq!(
            (all.imports, all.metadata, all.sdk_version),
            (info().imports, info().metadata, info().sdk_version)
        );

        // Another version of the file (another change time, size or inode): nothing.
        for other in [
            FileIdentity::for_test(42, 1000, 59),
            FileIdentity::for_test(42, 1001, 60),
            FileIdentity::for_test(43, 1000, 60),
        ] {
            assert_eq!(remembered(&cache, &other), None, "{other:?}");
        }

        // A file changed just now is read every time until it settles.
        let fresh = FileIdentity::for_test(44, 1000, 0);
        cache.remember_component(&fresh, &info());
        assert_eq!(remembered(&cache, &fresh), None);

        // A record edited to claim another digest, or made under another key, is not believed.
        let record = cache.component_record_path(&settled);
        let text = std::fs::read_to_string(&record).unwrap();
        let forged = text.replacen("5f70", "0000", 1);
        assert_ne!(forged, text);
        std::fs::write(&record, forged).unwrap();
        assert_eq!(remembered(&cache, &settled), None);
        std::fs::write(&record, text).unwrap();
        assert_eq!(remembered(&cache, &settled), digest);
        std::fs::remove_file(dir.path().join("key")).unwrap();
        assert_eq!(remembered(&cache_in(dir.path()), &settled), None);
    }
}
