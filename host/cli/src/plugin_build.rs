//! `gs plugin build [DIR]`: build a plugin project and check the result the way `gs launch`
//! would, before anyone trains with it.
//!
//! Cargo builds a Rust project for `wasm32-wasip2` (the project's release profile strips debug
//! information and keeps the `name` section); componentize-py builds a Python one
//! ([`crate::plugin_python`]). Then the component must load on this host (a component, of a `gs:plugin`
//! line this gs supports), `describe` must answer, and the sections gs reads must be there:
//! the SDK's version stamp and the `name` section that symbolized trap backtraces need.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};
use gs_runtime::{PluginEngine, PluginLimits};
use gs_tensor::{Device, ParamStore};

use crate::component_sections::{METADATA_SECTION, metadata_text, set_custom_section};

/// The component a project builds: `<target dir>/wasm32-wasip2/release/<crate>.wasm` for
/// Rust, `target/<name>.wasm` for Python.
pub(crate) fn project_component(dir: &Path) -> anyhow::Result<PathBuf> {
    if crate::plugin_python::is_project(dir) {
        return crate::plugin_python::project_component(dir);
    }
    Ok(cargo_package(dir)?.component)
}

/// What `cargo metadata` says of a Rust project's package.
struct CargoPackage {
    component: PathBuf,
    description: String,
    license: String,
}

fn cargo_package(dir: &Path) -> anyhow::Result<CargoPackage> {
    let manifest = project_manifest(dir)?;
    let out = Command::new(cargo())
        .args([
            "metadata",
            "--no-deps",
            "--format-version",
            "1",
            "--manifest-path",
        ])
        .arg(&manifest)
        .output()
        .context("cannot run `cargo metadata` (is cargo on PATH?)")?;
    if !out.status.success() {
        bail!(
            "`cargo metadata` failed for `{}`:\n{}",
            manifest.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let metadata: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let manifest = manifest.canonicalize()?;
    let package = metadata["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["manifest_path"].as_str().map(PathBuf::from).as_ref() == Some(&manifest))
        .with_context(|| format!("`{}` has no package", manifest.display()))?;
    let field = |key: &str| package[key].as_str().unwrap_or_default().to_string();
    let target = metadata["target_directory"]
        .as_str()
        .context("`cargo metadata` names no target directory")?;
    Ok(CargoPackage {
        component: Path::new(target)
            .join("wasm32-wasip2/release")
            .join(format!("{}.wasm", field("name").replace('-', "_"))),
        description: field("description"),
        license: field("license"),
    })
}

fn project_manifest(dir: &Path) -> anyhow::Result<PathBuf> {
    let manifest = dir.join("Cargo.toml");
    if !manifest.is_file() {
        bail!(
            "`{}` is not a plugin project: it has no Cargo.toml (Rust) and no app.py with a \
             pyproject.toml (Python); `gs plugin new my-model [--lang python]` makes one",
            dir.display()
        );
    }
    Ok(manifest)
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string())
}

/// Build the project in `dir`, check the component and return its path.
pub(crate) fn run(dir: &Path) -> anyhow::Result<PathBuf> {
    let wasm = if crate::plugin_python::is_project(dir) {
        crate::plugin_python::build(dir)?
    } else {
        cargo_build(dir)?
    };
    check(&wasm)?;
    Ok(wasm)
}

/// `cargo build --release --target wasm32-wasip2` of a Rust project; its component's path.
fn cargo_build(dir: &Path) -> anyhow::Result<PathBuf> {
    let manifest = project_manifest(dir)?;
    eprintln!("building `{}` for wasm32-wasip2 (release)", dir.display());
    let status = Command::new(cargo())
        .args([
            "build",
            "--release",
            "--target",
            "wasm32-wasip2",
            "--manifest-path",
        ])
        .arg(&manifest)
        .status()
        .context("cannot run `cargo build` (is cargo on PATH?)")?;
    if !status.success() {
        bail!(
            "`cargo build` failed ({status}); its messages are above\n\
             hint: if the messages say the target is missing: `rustup target add wasm32-wasip2`"
        );
    }
    let package = cargo_package(dir)?;
    let wasm = package.component;
    let metadata = metadata_text(&[
        ("language", "rust"),
        ("description", &package.description),
        ("license", &package.license),
    ]);
    // Beside cargo's output, then renamed over it: a reader never sees half a component.
    let staged = wasm.with_extension("wasm.partial");
    let written = (|| -> anyhow::Result<()> {
        let bytes = std::fs::read(&wasm)?;
        let bytes = set_custom_section(&bytes, METADATA_SECTION, metadata.as_bytes())?;
        std::fs::write(&staged, bytes)?;
        std::fs::rename(&staged, &wasm)?;
        Ok(())
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&staged);
    }
    written.with_context(|| format!("cannot write the metadata into `{}`", wasm.display()))?;
    Ok(wasm)
}

/// The checks `gs launch` makes, and the sections gs reads; prints what was built.
fn check(wasm: &Path) -> anyhow::Result<()> {
    let bytes = std::fs::read(wasm)
        .with_context(|| format!("the build wrote no component at `{}`", wasm.display()))?;
    let source = wasm.display().to_string();
    let engine = PluginEngine::new(crate::paths::component_cache())?;
    let plugin = engine.load_bytes(&source, &bytes)?;
    let instance = plugin
        .instantiate(PluginLimits::default(), ParamStore::new(0, Device::Cpu))
        .with_context(|| format!("`{source}` does not answer `describe`"))?;
    let component = plugin.info();
    let sdk = component
        .sdk_version
        .as_deref()
        .context("the component has no gs-plugin-sdk version stamp: is it built with gs's SDK?")?;
    if !component.has_name_section {
        bail!(
            "`{source}` has no `name` section, so a trap's backtrace could not name functions\n\
             hint: set `strip = \"debuginfo\"` (not `true`) in the project's [profile.release]"
        );
    }
    if component.debug_sections > 0 {
        tracing::warn!(
            "`{source}` keeps {} DWARF sections: set `strip = \"debuginfo\"` in [profile.release] \
             for a smaller component",
            component.debug_sections
        );
    }
    let info = instance.info();
    println!("built {}", wasm.display());
    println!(
        "  {} {}: gs:plugin@{}, SDK {sdk}, {} bytes, sha256:{}",
        info.name, info.version, component.package_version, component.size_bytes, component.digest
    );
    let tasks: Vec<&str> = info.tasks.iter().map(|t| t.as_str()).collect();
    println!("  tasks: {}", tasks.join(", "));
    for (key, value) in &component.metadata {
        println!("  {key}: {value}");
    }
    println!("  checked: a component this gs loads, `describe` answers, `name` section kept");
    Ok(())
}
