//! The wasmtime engine shared by every plugin of a process, and its epoch ticker.

use std::io::Read;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use sha2::{Digest, Sha256};
use wasmtime::component::{HasSelf, Linker};
use wasmtime::{Config, Engine};

use crate::PluginError;
use crate::bindings::Model;
use crate::cache::{CacheLocation, ComponentCache};
use crate::component::{ComponentInfo, Plugin, inspect};
use crate::exports::ExportIndices;
use crate::file_memo::FileIdentity;
use crate::state::HostState;

/// How often the engine's epoch advances; at every tick a running export's deadline is
/// compared with the clock, so a call is stopped at most about one tick after its deadline.
const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Compiles, caches and links plugins. One per process is enough.
pub struct PluginEngine {
    pub(crate) engine: Engine,
    pub(crate) linker: Arc<Linker<HostState>>,
    cache: Option<ComponentCache>,
    stop: Arc<AtomicBool>,
    ticker: Option<JoinHandle<()>>,
}

/// Components from this size on are hashed and parsed on two threads.
const PARALLEL_FROM_BYTES: usize = 4 << 20;

impl PluginEngine {
    /// An engine whose compiled components are cached at `cache` (none: no cache).
    ///
    /// A cache folder that other users can write, or whose key others can read, is not used:
    /// the engine warns once (naming the folder and the fix) and compiles plugins in memory.
    pub fn new(cache: Option<CacheLocation>) -> Result<Self, PluginError> {
        let fail = |message: String| PluginError::Load {
            plugin: "(engine)".into(),
            message,
        };
        let mut config = Config::new();
        config.wasm_component_model(true).epoch_interruption(true);
        let engine = Engine::new(&config).map_err(|e| fail(e.to_string()))?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker).map_err(|e| fail(e.to_string()))?;
        Model::add_to_linker::<HostState, HasSelf<HostState>>(&mut linker, |state| state)
            .map_err(|e| fail(e.to_string()))?;
        let stop = Arc::new(AtomicBool::new(false));
        let ticker = {
            let (engine, stop) = (engine.clone(), stop.clone());
            std::thread::Builder::new()
                .name("gs-plugin-epoch".into())
                .spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        std::thread::sleep(EPOCH_TICK);
                        engine.increment_epoch();
                    }
                })
                .map_err(|e| fail(format!("cannot start the deadline thread: {e}")))?
        };
        Ok(Self {
            engine,
            linker: Arc::new(linker),
            cache: cache.and_then(|location| {
                ComponentCache::open(&location)
                    .inspect_err(|refused| tracing::warn!("{refused}"))
                    .ok()
            }),
            stop,
            ticker: Some(ticker),
        })
    }

    /// The folder of the compiled-component cache this engine uses: none when it was given
    /// none or refused the one it was given.
    pub fn cache_dir(&self) -> Option<&Path> {
        self.cache.as_ref().map(ComponentCache::dir)
    }

    /// Load a component from a file.
    ///
    /// With a cache, what is read from the file (its SHA-256, `gs:plugin` version and
    /// sections) is recorded by the file's identity (see `file_memo.rs`): loading the
    /// unchanged file again with its compiled entry cached reads neither.
    pub fn load_file(&self, path: &Path) -> Result<Plugin, PluginError> {
        let source = path.display().to_string();
        if let Some(plugin) = self.load_remembered(path, &source) {
            return plugin;
        }
        let read_error = |source| PluginError::Read {
            path: path.to_path_buf(),
            source,
        };
        let mut file = std::fs::File::open(path).map_err(read_error)?;
        let metadata = file.metadata().map_err(read_error)?;
        let mut bytes = Vec::with_capacity(metadata.len() as usize);
        file.read_to_end(&mut bytes).map_err(read_error)?;
        let plugin = self.load_bytes(&source, &bytes)?;
        // Only a file that did not change while it was read is recorded.
        let unchanged = FileIdentity::of(&metadata).filter(|before| {
            file.metadata()
                .is_ok_and(|after| FileIdentity::of(&after).as_ref() == Some(before))
        });
        if let (Some(cache), Some(identity)) = (&self.cache, unchanged) {
            cache.remember_component(&identity, plugin.info());
        }
        Ok(plugin)
    }

    /// The plugin at `path` from the records alone: what was read from the unchanged file
    /// before, and its compiled entry. `None` when either is missing.
    fn load_remembered(&self, path: &Path, source: &str) -> Option<Result<Plugin, PluginError>> {
        let cache = self.cache.as_ref()?;
        let identity = FileIdentity::of(&std::fs::metadata(path).ok()?)?;
        let mut info = cache.remembered_component(&identity)?;
        let component = cache.load_cached(&self.engine, &info.digest)?;
        info.source = source.to_string();
        Some(self.link(info, component))
    }

    /// Load a component from memory; `source` names it in messages (a path or a built-in name).
    pub fn load_bytes(&self, source: &str, bytes: &[u8]) -> Result<Plugin, PluginError> {
        // The digest and the parse of the component's sections on two cores when it is large
        // (an 18 MB Python component takes milliseconds for each); waking a second thread
        // costs more than both for a small one.
        let digest = || hex::encode(Sha256::digest(bytes));
        let parse = || inspect(source, bytes, String::new());
        let (digest, parsed) = if bytes.len() >= PARALLEL_FROM_BYTES {
            rayon::join(digest, parse)
        } else {
            (digest(), parse())
        };
        let mut info = parsed?;
        info.digest.clone_from(&digest);
        let component = match &self.cache {
            Some(cache) => cache.load_or_compile(&self.engine, &digest, bytes),
            None => wasmtime::component::Component::new(&self.engine, bytes),
        }
        .map_err(|e| load_failed(source, e))?;
        self.link(info, component)
    }

    /// The plugin of a compiled `component`, linked against the host's imports.
    fn link(
        &self,
        info: ComponentInfo,
        component: wasmtime::component::Component,
    ) -> Result<Plugin, PluginError> {
        let pre = self.linker.instantiate_pre(&component).map_err(|e| PluginError::Load {
            plugin: info.source.clone(),
            message: format!("{e:#}\nhint: the plugin imports something gs does not provide (only gs:plugin and WASI 0.2)"),
        })?;
        let exports = ExportIndices::new(&pre).map_err(|e| load_failed(&info.source, e))?;
        Ok(Plugin::new(info, pre, exports, self.engine.clone()))
    }
}

fn load_failed(source: &str, e: wasmtime::Error) -> PluginError {
    PluginError::Load {
        plugin: source.to_string(),
        message: format!("{e:#}"),
    }
}

impl Drop for PluginEngine {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(ticker) = self.ticker.take() {
            let _ = ticker.join();
        }
    }
}
