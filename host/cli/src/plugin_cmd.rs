//! `gs plugin inspect`: what a component is, which WIT version it targets, what it accepts.

use anyhow::Context;
use clap::Subcommand;
use gs_runtime::{PluginEngine, PluginLimits};
use gs_tensor::{Device, ParamStore};

use crate::launch::plugin_bytes;

#[derive(Subcommand)]
pub(crate) enum PluginCommand {
    /// Print a plugin's identity, digest, WIT version, SDK version, tasks and custom arguments.
    Inspect {
        /// A built-in name (`sage`) or a path to a component.
        plugin: String,
    },
}

pub(crate) fn run(what: PluginCommand) -> anyhow::Result<()> {
    let PluginCommand::Inspect { plugin } = what;
    let (source, bytes) = plugin_bytes(&gs_config::PluginRef::parse(&plugin))?;
    let engine = PluginEngine::new(crate::paths::component_cache())?;
    let loaded = engine.load_bytes(&source, &bytes)?;
    let instance = loaded
        .instantiate(PluginLimits::default(), ParamStore::new(0, Device::Cpu))
        .with_context(|| format!("cannot run `{source}`"))?;
    let info = instance.info();
    let component = loaded.info();
    println!("plugin:        {} {}", info.name, info.version);
    println!("source:        {source}");
    println!("digest:        sha256:{}", component.digest);
    println!("size:          {} bytes", component.size_bytes);
    println!(
        "wit:           {}@{}",
        gs_runtime::SUPPORTED_PACKAGE,
        component.package_version
    );
    println!(
        "sdk:           {}",
        component
            .sdk_version
            .as_deref()
            .unwrap_or(&info.sdk_version)
    );
    let tasks: Vec<&str> = info.tasks.iter().map(|t| t.as_str()).collect();
    println!("tasks:         {}", tasks.join(", "));
    println!(
        "decode, loss:  {}",
        if loaded.declares_capabilities() {
            "declared per task after init (model-capabilities); the host's decoder and loss \
             serve the rest"
        } else {
            "a 0.1.0 component: the host decodes edge tasks and link prediction, and calls \
             decode once to learn whether the plugin decodes node tasks"
        }
    );
    let is_key = |name: &str| gs_config::PLUGIN_KEYS.contains(&name.replace('-', "_").as_str());
    let (keys, custom): (Vec<_>, Vec<_>) = info.hyper_params.iter().partition(|h| is_key(&h.name));
    if !keys.is_empty() {
        println!("GraphStorm keys it reads (YAML or flag, before `--`):");
        for h in keys {
            println!(
                "  {} / --{} (default `{}`): {}",
                h.name,
                h.name.replace('_', "-"),
                h.default,
                h.help
            );
        }
    }
    println!("custom arguments:");
    if custom.is_empty() {
        println!("  (none)");
    }
    for h in custom {
        println!("  --{} (default `{}`): {}", h.name, h.default, h.help);
    }
    Ok(())
}
