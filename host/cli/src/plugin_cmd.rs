//! `gs plugin inspect`: what a component is, which WIT version it targets, what it imports and
//! what it accepts, as text or (`--json`) as one JSON object. The other subcommands live in
//! [`crate::plugin_new`], [`crate::plugin_build`] and [`crate::plugin_test`].

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Subcommand;
use gs_runtime::{ComponentInfo, HyperParam, PluginEngine, PluginInfo, PluginLimits};
use gs_tensor::{Device, ParamStore};
use serde_json::json;

use crate::launch::{RegistryUse, plugin_bytes};

#[derive(Subcommand)]
pub(crate) enum PluginCommand {
    /// Create a plugin project in `./NAME`: the model, the SDK and WIT of this gs, and for Rust
    /// a pinned Cargo.lock and a release profile for small components.
    New {
        /// The plugin's name (lowercase letters, digits, `-`, `_`).
        name: String,
        /// The language of the project: `rust` or `python` (componentize-py).
        #[arg(long, default_value = "rust")]
        lang: String,
    },
    /// Build a plugin project (cargo for Rust, componentize-py for Python) and check the
    /// component as `gs launch` would.
    Build {
        /// The project's folder.
        #[arg(default_value = ".")]
        dir: PathBuf,
    },
    /// Print a plugin's identity, digest, WIT version, SDK version, imports, tasks and custom
    /// arguments.
    Inspect {
        /// Print everything as one JSON object instead of text.
        #[arg(long)]
        json: bool,
        /// A built-in name (`sage`), a path to a component or a registry reference.
        plugin: String,
    },
    /// Publish a component to a registry (`oci://host[:port]/path:tag`) or an offline image
    /// layout (`oci-layout:DIR:tag`) in the Wasm OCI layout; prints the manifest and
    /// component digests.
    Push {
        /// The component (`.wasm`).
        file: PathBuf,
        /// Where to publish it: `oci://host[:port]/path:tag` or `oci-layout:DIR:tag`.
        reference: String,
    },
    /// Fetch a plugin (`oci://…:tag`, `oci://…@sha256:…`, `oci-layout:DIR:tag`) into the
    /// plugin cache, checking every digest.
    Pull { reference: String },
    /// List the registry plugins in the cache.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Remove a cached plugin by reference (as `list` shows it) or by digest.
    Rm { what: String },
    /// Write a new ed25519 key pair: PREFIX (private, mode 0600) and PREFIX.pub.
    Keygen {
        #[arg(long)]
        output: PathBuf,
    },
    /// Sign a plugin's component digest: as an OCI referrer in a registry or layout, or as a
    /// detached FILE.sig beside a component file.
    Sign {
        /// A reference (`oci://…`, `oci-layout:…`) or a component file.
        target: String,
        /// The private key (`PREFIX` of `gs plugin keygen`).
        #[arg(long)]
        key: PathBuf,
    },
    /// Check that a plugin carries a signature by one of the given public keys.
    Verify {
        /// A reference (`oci://…`, `oci-layout:…`) or a component file with its `.sig`.
        target: String,
        /// A public key (`PREFIX.pub`); repeat for several.
        #[arg(long, required = true)]
        key: Vec<PathBuf>,
    },
    /// Run a plugin in the real host on a tiny generated graph: load, describe, init, forward,
    /// loss, backward, an optimizer step, save, reload (identical outputs) and a second run
    /// (identical results). Names the first step that fails.
    Test {
        /// A plugin project's folder (its built component), a path to a component, or a
        /// built-in name (`sage`).
        #[arg(default_value = ".")]
        plugin: String,
        /// The plugin's custom arguments, after `--`.
        #[arg(last = true)]
        custom_args: Vec<String>,
    },
}

/// What `inspect` reports (and `push` publishes), read from the component and from its
/// `describe`.
pub(crate) struct Inspection {
    source: String,
    pub(crate) component: ComponentInfo,
    pub(crate) info: PluginInfo,
    declares_capabilities: bool,
}

impl Inspection {
    /// Loads the component (compiling it through the user's cache) and asks it `describe`.
    pub(crate) fn of(source: String, bytes: &[u8]) -> anyhow::Result<Inspection> {
        let engine = PluginEngine::new(crate::paths::component_cache())?;
        let loaded = engine.load_bytes(&source, bytes)?;
        let instance = loaded
            .instantiate(PluginLimits::default(), ParamStore::new(0, Device::Cpu))
            .with_context(|| format!("cannot run `{source}`"))?;
        Ok(Inspection {
            source,
            component: loaded.info().clone(),
            info: instance.info().clone(),
            declares_capabilities: loaded.declares_capabilities(),
        })
    }

    pub(crate) fn wit(&self) -> String {
        format!(
            "{}@{}",
            gs_runtime::SUPPORTED_PACKAGE,
            self.component.package_version
        )
    }

    pub(crate) fn sdk(&self) -> &str {
        self.component
            .sdk_version
            .as_deref()
            .unwrap_or(&self.info.sdk_version)
    }

    fn decode_and_loss(&self) -> &'static str {
        if self.declares_capabilities {
            "declared per task after init (model-capabilities); the host's decoder and loss \
             serve the rest"
        } else {
            "a 0.1.0 component: the host decodes edge tasks and link prediction, and calls \
             decode once to learn whether the plugin decodes node tasks"
        }
    }

    /// The GraphStorm keys it reads (YAML or flag) and its own custom arguments.
    fn arguments(&self) -> (Vec<&HyperParam>, Vec<&HyperParam>) {
        let is_key = |name: &str| gs_config::PLUGIN_KEYS.contains(&name.replace('-', "_").as_str());
        self.info.hyper_params.iter().partition(|h| is_key(&h.name))
    }

    fn print_text(&self) {
        let (info, component) = (&self.info, &self.component);
        println!("plugin:        {} {}", info.name, info.version);
        println!("source:        {}", self.source);
        println!("digest:        sha256:{}", component.digest);
        println!("size:          {} bytes", component.size_bytes);
        println!("wit:           {}", self.wit());
        println!("sdk:           {}", self.sdk());
        for (key, value) in &component.metadata {
            println!("{:<15}{value}", format!("{key}:"));
        }
        let tasks: Vec<&str> = info.tasks.iter().map(|t| t.as_str()).collect();
        println!("tasks:         {}", tasks.join(", "));
        println!("decode, loss:  {}", self.decode_and_loss());
        println!("imports:");
        for import in &component.imports {
            println!("  {import}");
        }
        let (keys, custom) = self.arguments();
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
    }

    fn to_json(&self) -> serde_json::Value {
        let params = |list: Vec<&HyperParam>| -> Vec<serde_json::Value> {
            list.into_iter()
                .map(|h| json!({"name": h.name, "default": h.default, "help": h.help}))
                .collect()
        };
        let (keys, custom) = self.arguments();
        json!({
            "name": self.info.name,
            "version": self.info.version,
            "source": self.source,
            "digest": format!("sha256:{}", self.component.digest),
            "size_bytes": self.component.size_bytes,
            "wit": self.wit(),
            "sdk_version": self.sdk(),
            "tasks": self.info.tasks.iter().map(|t| t.as_str()).collect::<Vec<_>>(),
            "declares_capabilities": self.declares_capabilities,
            "imports": self.component.imports,
            "metadata": self.component.metadata,
            "graphstorm_keys": params(keys),
            "custom_arguments": params(custom),
        })
    }
}

pub(crate) fn run(what: PluginCommand) -> anyhow::Result<()> {
    match what {
        PluginCommand::Inspect { json, plugin } => inspect(&plugin, json),
        PluginCommand::New { name, lang } => {
            let dir = crate::plugin_new::run(&name, &lang, Path::new("."))?;
            println!(
                "created {}: build it with `gs plugin build {}`",
                dir.display(),
                dir.display()
            );
            Ok(())
        }
        PluginCommand::Push { file, reference } => crate::registry_cmd::push(&file, &reference),
        PluginCommand::Pull { reference } => crate::registry_cmd::pull(&reference),
        PluginCommand::List { json } => crate::registry_cmd::list(json),
        PluginCommand::Rm { what } => crate::registry_cmd::remove(&what),
        PluginCommand::Keygen { output } => crate::registry_cmd::keygen(&output),
        PluginCommand::Sign { target, key } => crate::registry_cmd::sign(&target, &key),
        PluginCommand::Verify { target, key } => crate::registry_cmd::verify(&target, &key),
        PluginCommand::Build { dir } => crate::plugin_build::run(&dir).map(|_| ()),
        PluginCommand::Test {
            plugin,
            custom_args,
        } => {
            let plugin = if Path::new(&plugin).is_dir() {
                let wasm = crate::plugin_build::project_component(Path::new(&plugin))?;
                if !wasm.is_file() {
                    anyhow::bail!(
                        "`{}` is not built yet (no `{}`): run `gs plugin build {plugin}` first",
                        plugin,
                        wasm.display()
                    );
                }
                wasm.display().to_string()
            } else {
                plugin
            };
            crate::plugin_test::run(&plugin, &custom_args)
        }
    }
}

fn inspect(plugin: &str, json: bool) -> anyhow::Result<()> {
    let (source, bytes) = plugin_bytes(
        &gs_config::PluginRef::parse(plugin),
        &RegistryUse::default(),
    )?;
    let inspection = Inspection::of(source, &bytes)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&inspection.to_json())?);
    } else {
        inspection.print_text();
    }
    Ok(())
}
