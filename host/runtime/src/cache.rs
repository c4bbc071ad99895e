//! The precompiled-component cache.
//!
//! Compiling a component with Cranelift takes tens of milliseconds to seconds; loading the
//! native code the host wrote earlier takes well under one. Entries are keyed by the
//! component's SHA-256 and the engine's compatibility hash (wasmtime version and settings),
//! written to a temporary name and renamed, so parallel runs never read a torn file.
//!
//! Deserializing an entry runs its native code, so the cache never deserializes a file it did
//! not write. Its folder is private (created 0700; one that other users can write, or that
//! someone else owns, is not used at all: plugins are then compiled in memory). Every entry
//! starts with a keyed BLAKE3 MAC over the entry's key (component digest and engine hash) and
//! the compiled bytes, under a 32-byte secret key kept outside the cache folder (see
//! [`CacheLocation`]). A missing, short or mismatching MAC — a planted file, a file copied
//! from another machine or from another component's entry — means the entry is compiled again
//! and rewritten, never deserialized. The MAC is checked on the bytes in memory that are then
//! deserialized, so the file cannot change in between. BLAKE3 runs at gigabytes per second,
//! so the check costs milliseconds even for a large (Python) component.

use std::hash::Hasher;
use std::io::Write;
use std::path::{Path, PathBuf};

use wasmtime::Engine;
use wasmtime::component::Component;

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

/// Bytes of the MAC at the start of every entry.
const MAC_LEN: usize = blake3::OUT_LEN;
/// Separates this use of the key from any other.
const DOMAIN: &[u8] = b"gs compiled-component cache entry v1\0";

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
            .update(b"\0")
            .update(compiled);
        hasher.finalize()
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
        if let Some(entry) = self.read_authentic(&path, digest, &engine_hash) {
            // SAFETY: `entry` carries a MAC under this machine's secret key over the
            // component's digest, the engine's compatibility hash and these very bytes (held
            // in memory since the check), so `store` below wrote them from the output of
            // `Engine::precompile_component` for this component and a compatible engine.
            match unsafe { Component::deserialize(engine, &entry[MAC_LEN..]) } {
                Ok(component) => return Ok(component),
                Err(e) => tracing::warn!(
                    "ignoring unreadable cached component `{}`: {e}",
                    path.display()
                ),
            }
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

    /// The entry's bytes (MAC first) if it is there and its MAC is this cache's.
    fn read_authentic(&self, path: &Path, digest: &str, engine_hash: &str) -> Option<Vec<u8>> {
        let entry = match std::fs::read(path) {
            Ok(entry) => entry,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
            Err(e) => {
                tracing::warn!("cannot read the cached component `{}`: {e}", path.display());
                return None;
            }
        };
        let authentic = entry.len() >= MAC_LEN && {
            let (mac, compiled) = entry.split_at(MAC_LEN);
            // `Hash`'s equality runs in constant time.
            <[u8; MAC_LEN]>::try_from(mac).map(blake3::Hash::from).ok()
                == Some(self.mac(digest, engine_hash, compiled))
        };
        if !authentic {
            tracing::warn!(
                "the cached component `{}` was not written by this gs (its MAC does not match); \
                 compiling the plugin again",
                path.display()
            );
            return None;
        }
        Some(entry)
    }

    fn store(&self, path: &Path, mac: &[u8], compiled: &[u8]) -> std::io::Result<()> {
        let tmp = path.with_extension(format!(
            "tmp-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let written = options.open(&tmp).and_then(|mut file| {
            file.write_all(mac)?;
            file.write_all(compiled)
        });
        written
            .and_then(|()| std::fs::rename(&tmp, path))
            .inspect_err(|_| {
                let _ = std::fs::remove_file(&tmp);
            })
    }
}
