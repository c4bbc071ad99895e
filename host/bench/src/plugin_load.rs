//! `gs bench plugin-load`: what it costs to get a plugin ready, per component.
//!
//! - cold load: the component is compiled by Cranelift and written to an empty cache (each
//!   repetition gets a fresh cache folder and key);
//! - warm load: a new engine reads the cached entry (deserialise, link), as every `gs` process
//!   after the first does, from the component's bytes (`load_bytes`: SHA-256 and parse of the
//!   bytes) and, for a component file, from the file (`load_file`: with the records of the
//!   unchanged file and entry, neither is read). The cache is primed as a run long before
//!   would have left it: compiled, then, once the files are [`gs_runtime::RECORDS_AFTER`] old,
//!   loaded once more, which records the checked entry and what was read from the file;
//! - instantiate: a fresh instance of the loaded plugin, `describe` included, as each serving
//!   worker and each training run makes one.
//!
//! Times are wall-clock medians; the engine itself (linker with WASI and the `gs:plugin`
//! imports) is timed once apart.

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;
use gs_runtime::{CacheLocation, PluginEngine, PluginLimits};
use gs_tensor::{Device, ParamStore};

use crate::report::{fmt_time, row, stats, table};

#[derive(Args)]
pub struct PluginLoadArgs {
    /// Cold loads of each component (each compiles into a fresh cache).
    #[arg(long, default_value_t = 3)]
    cold: usize,
    /// Warm loads and instantiations of each component.
    #[arg(long, default_value_t = 50)]
    warm: usize,
    /// Built-in plugins to measure.
    #[arg(long, value_delimiter = ',', default_value = "sage,rgcn,hgt")]
    builtins: Vec<String>,
    /// More components to measure (paths to `.wasm` files), such as one `gs plugin build` made.
    #[arg(long)]
    plugin: Vec<PathBuf>,
}

/// Targets of the issue that asked for this benchmark: warm load plus instantiation, for a
/// Rust component and for a Python one (CPython is inside: ~18 MB).
const WARM_TARGET_RUST_S: f64 = 1e-3;
const WARM_TARGET_PYTHON_S: f64 = 10e-3;

fn cache_in(dir: &std::path::Path) -> CacheLocation {
    CacheLocation {
        dir: dir.join("components"),
        key_file: dir.join("component-cache.key"),
    }
}

fn median_of(reps: usize, mut timed: impl FnMut() -> anyhow::Result<f64>) -> anyhow::Result<f64> {
    let times = (0..reps)
        .map(|_| timed())
        .collect::<anyhow::Result<Vec<f64>>>()?;
    Ok(stats(&times).median)
}

pub(crate) fn run(
    args: &PluginLoadArgs,
    builtin: &dyn Fn(&str) -> anyhow::Result<&'static [u8]>,
) -> anyhow::Result<()> {
    let mut components: Vec<(String, Vec<u8>, Option<&PathBuf>)> = Vec::new();
    for name in &args.builtins {
        components.push((name.clone(), builtin(name)?.to_vec(), None));
    }
    for path in &args.plugin {
        let bytes = std::fs::read(path)
            .map_err(|e| anyhow::anyhow!("cannot read `{}`: {e}", path.display()))?;
        components.push((path.display().to_string(), bytes, Some(path)));
    }
    let engine_start = median_of(args.warm.max(1), || {
        let started = Instant::now();
        PluginEngine::new(None)?;
        Ok(started.elapsed().as_secs_f64())
    })?;
    println!(
        "Plugin load: cold (compile into an empty cache, {} each), warm (a new engine reads the \
         cache, {} each) and instantiate (a fresh instance, `describe` included, {} each); \
         wall-clock medians. A new engine itself takes {}.\n",
        args.cold,
        args.warm,
        args.warm,
        fmt_time(engine_start)
    );
    table(&[
        "component",
        "size",
        "cold load",
        "warm load (bytes)",
        "warm load (file)",
        "instantiate",
        "warm + instantiate",
        "target",
    ]);
    for (name, bytes, file) in &components {
        let load = |engine: &PluginEngine| match file {
            Some(path) => engine.load_file(path),
            None => engine.load_bytes(name, bytes),
        };
        let cold = median_of(args.cold.max(1), || {
            let dir = tempfile::tempdir()?;
            let engine = PluginEngine::new(Some(cache_in(dir.path())))?;
            let started = Instant::now();
            engine.load_bytes(name, bytes)?;
            Ok(started.elapsed().as_secs_f64())
        })?;
        let cache = tempfile::tempdir()?;
        load(&PluginEngine::new(Some(cache_in(cache.path())))?)?;
        std::thread::sleep(gs_runtime::RECORDS_AFTER + std::time::Duration::from_millis(100));
        load(&PluginEngine::new(Some(cache_in(cache.path())))?)?;
        let warm_bytes = median_of(args.warm.max(1), || {
            let engine = PluginEngine::new(Some(cache_in(cache.path())))?;
            let started = Instant::now();
            engine.load_bytes(name, bytes)?;
            Ok(started.elapsed().as_secs_f64())
        })?;
        let warm_file = match file {
            Some(_) => Some(median_of(args.warm.max(1), || {
                let engine = PluginEngine::new(Some(cache_in(cache.path())))?;
                let started = Instant::now();
                load(&engine)?;
                Ok(started.elapsed().as_secs_f64())
            })?),
            None => None,
        };
        // The target is read on the file's load where there is a file.
        let warm = warm_file.unwrap_or(warm_bytes);
        let plugin = load(&PluginEngine::new(Some(cache_in(cache.path())))?)?;
        let target = if plugin.info().language() == Some("python") {
            WARM_TARGET_PYTHON_S
        } else {
            WARM_TARGET_RUST_S
        };
        let instantiate = median_of(args.warm.max(1), || {
            let started = Instant::now();
            let instance =
                plugin.instantiate(PluginLimits::default(), ParamStore::new(0, Device::Cpu))?;
            let elapsed = started.elapsed().as_secs_f64();
            drop(instance);
            Ok(elapsed)
        })?;
        let met = if warm + instantiate <= target {
            "met"
        } else {
            "NOT met"
        };
        row(&[
            name.clone(),
            format!("{:.0} KiB", bytes.len() as f64 / 1024.0),
            fmt_time(cold),
            fmt_time(warm_bytes),
            warm_file.map_or_else(|| "–".to_string(), fmt_time),
            fmt_time(instantiate),
            fmt_time(warm + instantiate),
            format!("≤ {}: {met}", fmt_time(target)),
        ]);
    }
    println!(
        "\nTargets: warm load + instantiate ≤ {} for a Rust component, ≤ {} for a Python one \
         (the metadata `gs plugin build` writes names the language); the warm load from the \
         file where there is one, else from the bytes.",
        fmt_time(WARM_TARGET_RUST_S),
        fmt_time(WARM_TARGET_PYTHON_S)
    );
    Ok(())
}
