//! The precompiled-component cache.
//!
//! Compiling a component with Cranelift takes tens of milliseconds to seconds; loading the
//! native code the host wrote earlier takes well under one. Entries are keyed by the
//! component's SHA-256 and the engine's compatibility hash (wasmtime version and settings),
//! written to a temporary name and renamed, so parallel runs never read a torn file. Only
//! files this cache wrote are ever deserialized.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use wasmtime::Engine;
use wasmtime::component::Component;

pub(crate) struct ComponentCache {
    dir: PathBuf,
}

fn engine_key(engine: &Engine) -> String {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    format!("{:016x}", hasher.finish())
}

impl ComponentCache {
    pub(crate) fn new(dir: PathBuf) -> Self {
        Self { dir }
    }

    fn entry(&self, engine: &Engine, digest: &str) -> PathBuf {
        self.dir
            .join(format!("{digest}-{}.cwasm", engine_key(engine)))
    }

    /// The compiled component, from the cache or compiled now and stored.
    pub(crate) fn load_or_compile(
        &self,
        engine: &Engine,
        digest: &str,
        bytes: &[u8],
    ) -> wasmtime::Result<Component> {
        let path = self.entry(engine, digest);
        if path.is_file() {
            // SAFETY: every file under this cache's directory was produced by
            // `Engine::precompile_component` in `store` below and renamed into place whole;
            // the key includes the engine's compatibility hash.
            match unsafe { Component::deserialize_file(engine, &path) } {
                Ok(component) => return Ok(component),
                Err(e) => tracing::warn!(
                    "ignoring unreadable cached component `{}`: {e}",
                    path.display()
                ),
            }
        }
        let compiled = engine.precompile_component(bytes)?;
        if let Err(e) = self.store(&path, &compiled) {
            tracing::warn!(
                "cannot cache the compiled plugin in `{}`: {e}",
                self.dir.display()
            );
        }
        // SAFETY: `compiled` was produced just now by this engine.
        unsafe { Component::deserialize(engine, &compiled) }
    }

    fn store(&self, path: &Path, compiled: &[u8]) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        let tmp = path.with_extension(format!(
            "tmp-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        std::fs::write(&tmp, compiled)?;
        std::fs::rename(&tmp, path).inspect_err(|_| {
            let _ = std::fs::remove_file(&tmp);
        })
    }
}
