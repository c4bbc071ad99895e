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

/// Entries from this size on are MACed on every core.
const PARALLEL_MAC_FROM_BYTES: usize = 4 << 20;
/// Bytes of a MAC (`<key>.mac`).
const MAC_LEN: usize = blake3::OUT_LEN;
/// Separates this use of the key from any other (v1 kept the MAC at the start of the entry).
const DOMAIN: &[u8] = b"gs compiled-component cache entry v2\0";

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
        let checked = match file.metadata().and_then(|m| FileIdentity::of(&m)) {
            Ok(identity) => identity,
            Err(e) => {
                warn_unreadable(&e);
                return None;
            }
        };
        // SAFETY: a read-only mapping of a file in the private cache folder, which gs replaces
        // by rename only, never in place (see the module's documentation).
        let mapped = match unsafe { memmap2::Mmap::map(&file) } {
            Ok(mapped) => mapped,
            Err(e) => {
                warn_unreadable(&e);
                return None;
            }
        };
        // `Hash`'s equality runs in constant time.
        let authentic = <[u8; MAC_LEN]>::try_from(mac.as_slice())
            .map(blake3::Hash::from)
            .ok()
            == Some(self.mac(digest, engine_hash, &mapped));
        drop(mapped);
        if !authentic {
            tracing::warn!(
                "the cached component `{}` was not written by this gs (its MAC does not match); \
                 compiling the plugin again",
                path.display()
            );
            return None;
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
        let same_file = std::fs::metadata(path)
            .and_then(|m| FileIdentity::of(&m))
            .is_ok_and(|now| now == checked);
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

/// What tells two files apart: device, inode, size and modification time.
#[derive(Debug, PartialEq, Eq)]
struct FileIdentity {
    #[cfg(unix)]
    device_and_inode: (u64, u64),
    len: u64,
    modified: Option<std::time::SystemTime>,
}

impl FileIdentity {
    fn of(metadata: &std::fs::Metadata) -> std::io::Result<Self> {
        #[cfg(unix)]
        use std::os::unix::fs::MetadataExt;
        Ok(Self {
            #[cfg(unix)]
            device_and_inode: (metadata.dev(), metadata.ino()),
            len: metadata.len(),
            modified: metadata.modified().ok(),
        })
    }
}
