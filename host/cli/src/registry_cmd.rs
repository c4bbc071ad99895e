//! `gs plugin push/pull/list/rm/keygen/sign/verify`, and how a run takes a plugin from a
//! registry (`--plugin oci://…` or `oci-layout:…`): pulled into the user's plugin cache,
//! checked against `gs.lock` and the trust policy. The registry work itself is gs-registry's;
//! this module describes components (through the runtime) and prints.

use std::path::{Path, PathBuf};

use anyhow::Context;
use gs_registry::{
    ComponentInfo, LOCK_FILE, PluginCache, PrivateKey, PublicKey, Reference, RunOptions,
    TrustPolicy,
};

use crate::launch::RegistryUse;
use crate::plugin_cmd::Inspection;

/// The plugin cache, `<cache dir>/plugins`.
pub(crate) fn plugin_cache() -> anyhow::Result<PluginCache> {
    let dir = crate::paths::cache_dir().context(
        "no cache directory: set GS_CACHE_DIR (or XDG_CACHE_HOME or HOME) for registry plugins",
    )?;
    Ok(PluginCache::new(dir.join("plugins")))
}

/// `gs plugin push FILE REF`.
pub(crate) fn push(file: &Path, reference: &str) -> anyhow::Result<()> {
    let reference = Reference::parse(reference)?;
    let bytes = std::fs::read(file)
        .with_context(|| format!("cannot read the component `{}`", file.display()))?;
    let inspection = Inspection::of(file.display().to_string(), &bytes)
        .with_context(|| format!("`{}` is not a plugin gs can run", file.display()))?;
    let metadata = &inspection.component.metadata;
    let info = ComponentInfo {
        name: inspection.info.name.clone(),
        version: inspection.info.version.clone(),
        description: metadata.get("description").cloned(),
        license: metadata.get("license").cloned(),
        wit_line: inspection.wit(),
        sdk_version: Some(inspection.sdk().to_string()),
        imports: inspection.component.imports.clone(),
        exports: vec![exported_model(&inspection.wit())],
    };
    let pushed = gs_registry::push(&bytes, &info, &reference)?;
    println!(
        "pushed {} {} to {reference}",
        inspection.info.name, inspection.info.version
    );
    println!("manifest:  {}", pushed.manifest);
    println!("component: {} ({} bytes)", pushed.component, pushed.size);
    println!(
        "pull it by digest: {}",
        reference.with_digest(&pushed.manifest)
    );
    Ok(())
}

/// `gs:plugin@0.1.4` → `gs:plugin/model@0.1.4`.
fn exported_model(wit: &str) -> String {
    match wit.split_once('@') {
        Some((package, version)) => format!("{package}/model@{version}"),
        None => format!("{wit}/model"),
    }
}

/// `gs plugin pull REF`.
pub(crate) fn pull(reference: &str) -> anyhow::Result<()> {
    let reference = Reference::parse(reference)?;
    let cache = plugin_cache()?;
    let pulled = gs_registry::pull(&reference, &cache)?;
    println!(
        "pulled {} {} from {reference}{}",
        pulled.name,
        pulled.version,
        if pulled.from_cache {
            " (component already cached)"
        } else {
            ""
        }
    );
    println!("manifest:  {}", pulled.manifest);
    println!("component: {}", pulled.component);
    println!("cached at: {}", pulled.path.display());
    Ok(())
}

/// `gs plugin list`.
pub(crate) fn list(json: bool) -> anyhow::Result<()> {
    let entries = plugin_cache()?.list();
    if json {
        let rows: Vec<serde_json::Value> = entries
            .iter()
            .map(|e| {
                serde_json::json!({
                    "reference": e.reference,
                    "name": e.name,
                    "version": e.version,
                    "manifest": e.manifest.to_string(),
                    "component": e.component.to_string(),
                    "size": e.size,
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    if entries.is_empty() {
        println!("no registry plugins cached (`gs plugin pull REF` adds one)");
    }
    for e in entries {
        println!(
            "{}  {} {}  component {}  {} bytes",
            e.reference, e.name, e.version, e.component, e.size
        );
    }
    Ok(())
}

/// `gs plugin rm REF|DIGEST`.
pub(crate) fn remove(what: &str) -> anyhow::Result<()> {
    for e in plugin_cache()?.remove(what)? {
        println!("removed {} ({})", e.reference, e.component);
    }
    Ok(())
}

/// `gs plugin keygen --output PREFIX`.
pub(crate) fn keygen(prefix: &Path) -> anyhow::Result<()> {
    let id = gs_registry::keygen(prefix)?;
    println!(
        "wrote the private key `{}` (mode 0600; keep it secret) and the public key `{}`",
        prefix.display(),
        gs_registry::public_path(prefix).display()
    );
    println!("key id: {id}");
    Ok(())
}

/// `gs plugin sign REF|FILE --key PREFIX`.
pub(crate) fn sign(target: &str, key: &Path) -> anyhow::Result<()> {
    let key = PrivateKey::load(key)?;
    if !gs_registry::is_reference(target) {
        let (component, path) = gs_registry::sign_file(Path::new(target), &key)?;
        println!(
            "signed {component} with key {}: wrote `{}`",
            key.id(),
            path.display()
        );
        return Ok(());
    }
    let reference = Reference::parse(target)?;
    let signed = gs_registry::sign(&reference, &key)?;
    println!(
        "signed {} (manifest {}) with key {}",
        signed.component,
        signed.manifest,
        key.id()
    );
    println!("signature: {}", reference.with_digest(&signed.signature));
    Ok(())
}

/// `gs plugin verify REF|FILE --key PREFIX.pub`.
pub(crate) fn verify(target: &str, keys: &[PathBuf]) -> anyhow::Result<()> {
    let keys = keys
        .iter()
        .map(|k| PublicKey::load(k))
        .collect::<Result<Vec<_>, _>>()?;
    if !gs_registry::is_reference(target) {
        let verified = gs_registry::verify_file(Path::new(target), &keys)?;
        println!("verified: `{target}` is signed by key {}", verified.key_id);
        return Ok(());
    }
    let reference = Reference::parse(target)?;
    let (pulled, verified) = gs_registry::verify(&reference, &keys, &plugin_cache()?)?;
    println!(
        "verified: {reference} (component {}) is signed by key {}",
        pulled.component, verified.key_id
    );
    Ok(())
}

/// The bytes of a registry plugin for a run, named by its pinned reference.
pub(crate) fn plugin_for_run(
    reference: &str,
    registry: &RegistryUse,
) -> anyhow::Result<(String, Vec<u8>)> {
    let reference = Reference::parse(reference)?;
    let cache = plugin_cache()?;
    let policy = if registry.apply_policy {
        TrustPolicy::find(registry.trust_policy.as_deref())?
    } else {
        None
    };
    let lock_path = PathBuf::from(LOCK_FILE);
    let ready = gs_registry::resolve_for_run(
        &reference,
        &RunOptions {
            cache: &cache,
            lock: registry.use_lock.then_some(lock_path.as_path()),
            locked: registry.locked,
            policy: policy.as_ref(),
        },
    )?;
    for note in &ready.notes {
        eprintln!("{note}");
    }
    Ok((ready.pulled.pinned().to_string(), ready.bytes))
}

/// What `gs serve` checks before serving a checkpoint: a `--plugin` (file, built-in or
/// registry reference) must be the checkpoint's plugin, and a checkpoint trained from a
/// registry plugin passes the trust policy.
pub(crate) fn check_served_plugin(
    checkpoint_dir: &Path,
    plugin: Option<&str>,
    trust_policy: Option<&Path>,
) -> anyhow::Result<()> {
    let meta_path = checkpoint_dir.join(gs_train::checkpoint::META_FILE);
    let text = std::fs::read_to_string(&meta_path)
        .with_context(|| format!("cannot read `{}`", meta_path.display()))?;
    let meta: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("`{}` is not JSON", meta_path.display()))?;
    let digest = meta["plugin"]["digest"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    // The checkpoint's digest pins the plugin more strictly than gs.lock could; serving
    // neither reads nor writes the lock.
    let registry = RegistryUse {
        use_lock: false,
        locked: false,
        apply_policy: true,
        trust_policy: trust_policy.map(Path::to_path_buf),
    };
    if let Some(plugin) = plugin {
        let (source, bytes) =
            crate::launch::plugin_bytes(&gs_config::PluginRef::parse(plugin), &registry)?;
        let actual = gs_train::checkpoint::sha256_hex(&bytes);
        if actual != digest {
            anyhow::bail!(
                "plugin `{source}` (sha256:{actual}) is not the plugin that trained `{}` \
                 (sha256:{digest})\nhint: leave out --plugin to serve the copy saved in the \
                 checkpoint",
                checkpoint_dir.display()
            );
        }
        return Ok(());
    }
    let Some(source) = meta["plugin"]["source"].as_str() else {
        return Ok(());
    };
    let Some(policy) = TrustPolicy::find(trust_policy)? else {
        return Ok(());
    };
    let pinned = Reference::parse(source)?;
    let component = gs_registry::Digest::parse(&format!("sha256:{digest}"))?;
    for note in gs_registry::check_recorded(&pinned, &component, &policy, &plugin_cache()?)? {
        eprintln!("{note}");
    }
    Ok(())
}
