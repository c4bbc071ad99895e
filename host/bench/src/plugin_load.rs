//! `gs bench plugin-load`: what it costs to get a plugin ready, per component.
//!
//! - cold load: the component is compiled by Cranelift and written to an empty cache (each
//!   repetition gets a fresh cache folder and key);
//! - warm load: a new engine reads the cached entry (MAC check, deserialise, link), as every
//!   `gs` process after the first does;
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
    let mut components: Vec<(String, Vec<u8>)> = Vec::new();
    for name in &args.builtins {
        components.push((name.clone(), builtin(name)?.to_vec()));
    }
    for path in &args.plugin {
        let bytes = std::fs::read(path)
            .map_err(|e| anyhow::anyhow!("cannot read `{}`: {e}", path.display()))?;
        components.push((path.display().to_string(), bytes));
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
        "warm load",
        "instantiate",
        "warm + instantiate",
        "target",
    ]);
    for (name, bytes) in &components {
        let cold = median_of(args.cold.max(1), || {
            let dir = tempfile::tempdir()?;
            let engine = PluginEngine::new(Some(cache_in(dir.path())))?;
            let started = Instant::now();
            engine.load_bytes(name, bytes)?;
            Ok(started.elapsed().as_secs_f64())
        })?;
        let cache = tempfile::tempdir()?;
        PluginEngine::new(Some(cache_in(cache.path())))?.load_bytes(name, bytes)?;
        let warm = median_of(args.warm.max(1), || {
            let engine = PluginEngine::new(Some(cache_in(cache.path())))?;
            let started = Instant::now();
            engine.load_bytes(name, bytes)?;
            Ok(started.elapsed().as_secs_f64())
        })?;
        let plugin = PluginEngine::new(Some(cache_in(cache.path())))?.load_bytes(name, bytes)?;
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
            fmt_time(warm),
            fmt_time(instantiate),
            fmt_time(warm + instantiate),
            format!("≤ {}: {met}", fmt_time(target)),
        ]);
    }
    println!(
        "\nTargets: warm load + instantiate ≤ {} for a Rust component, ≤ {} for a Python one \
         (the metadata `gs plugin build` writes names the language).",
        fmt_time(WARM_TARGET_RUST_S),
        fmt_time(WARM_TARGET_PYTHON_S)
    );
    Ok(())
}
