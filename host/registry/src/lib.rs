//! gs-registry: sharing plugins. It owns the references (`oci://…`, `oci-layout:…`), the
//! Wasm OCI artifact layout, pushing to and pulling from OCI registries (through `oci-client`)
//! and offline image-layout directories, the content-addressed pull cache, `gs.lock`, ed25519
//! signatures stored as OCI referrers (or detached `.sig` files) and the trust policy that
//! decides which plugins may run. It knows nothing of wasmtime or torch: the caller describes
//! a component ([`ComponentInfo`]) and gets bytes back, every blob checked against its digest
//! before it is cached or returned.

mod artifact;
mod auth;
mod cache;
mod digest;
mod error;
mod fs;
mod keys;
mod layout;
mod lock;
mod policy;
mod reference;
mod remote;
mod signature;
mod store;

use std::path::{Path, PathBuf};

pub use artifact::{
    ComponentInfo, EMPTY_CONFIG, EMPTY_MEDIA_TYPE, INDEX_MEDIA_TYPE, MANIFEST_MEDIA_TYPE, Manifest,
    WASM_CONFIG_MEDIA_TYPE, WASM_LAYER_MEDIA_TYPE, WasmArtifact, annotation,
};
pub use cache::{CachedRef, PluginCache};
pub use digest::Digest;
pub use error::{RegistryError, Result};
pub use keys::{PrivateKey, PublicKey, keygen, public_path};
pub use lock::{LOCK_FILE, LockFile, LockedPlugin};
pub use policy::{POLICY_FILE, Rule, TrustPolicy, user_policy_path};
pub use reference::{Location, Reference, Version, is_reference};
pub use signature::{SIGNATURE_ARTIFACT_TYPE, Verified, detached_path, sign_file, verify_file};

use artifact::{Descriptor, parse_wasm_manifest};
use layout::LayoutStore;
use remote::RemoteStore;
use store::Store;

fn open_store(reference: &Reference, create: bool) -> Result<Box<dyn Store>> {
    let text = reference.to_string();
    Ok(match &reference.location {
        Location::Registry { host, repository } => {
            Box::new(RemoteStore::new(host, repository, &text)?)
        }
        Location::Layout { dir } if create => Box::new(LayoutStore::open_or_create(dir, &text)?),
        Location::Layout { dir } => Box::new(LayoutStore::open(dir, &text)?),
    })
}

/// What a push published.
#[derive(Debug, Clone)]
pub struct Pushed {
    pub manifest: Digest,
    pub component: Digest,
    pub size: u64,
}

/// Publishes a component under `reference` (which names a tag): component and config blobs
/// first, then the manifest.
pub fn push(component: &[u8], info: &ComponentInfo, reference: &Reference) -> Result<Pushed> {
    let Version::Tag(tag) = &reference.version else {
        return Err(RegistryError::BadReference {
            reference: reference.to_string(),
            why: "a push needs a tag (a digest is what the push computes)".into(),
        });
    };
    let artifact = WasmArtifact::new(component, info);
    let store = open_store(reference, true)?;
    store.put_blob(component, &artifact.component.digest)?;
    store.put_blob(&artifact.config, &Digest::of(&artifact.config))?;
    store.put_manifest(&artifact.manifest, MANIFEST_MEDIA_TYPE, Some(tag))?;
    Ok(Pushed {
        manifest: artifact.manifest_digest,
        component: artifact.component.digest,
        size: component.len() as u64,
    })
}

/// A plugin pulled into the cache.
#[derive(Debug, Clone)]
pub struct Pulled {
    pub reference: Reference,
    pub manifest: Digest,
    /// The manifest's descriptor (the `subject` of its signatures).
    pub manifest_size: u64,
    pub component: Digest,
    pub path: PathBuf,
    pub name: String,
    pub version: String,
    /// Whether the component came from the cache rather than over the wire.
    pub from_cache: bool,
}

impl Pulled {
    /// `oci://host/repo@sha256:…` or `oci-layout:DIR@sha256:…`: pullable and immutable.
    pub fn pinned(&self) -> Reference {
        self.reference.with_digest(&self.manifest)
    }

    pub fn bytes(&self) -> Result<Vec<u8>> {
        std::fs::read(&self.path).map_err(|e| RegistryError::file(&self.path, e))
    }
}

/// Resolves `reference` to its manifest (checked against the digest when pinned), checks that
/// it is a plugin artifact, and makes sure the cache holds its component: downloaded and
/// checked only when the cache lacks it. A failure leaves the cache as it was.
pub fn pull(reference: &Reference, cache: &PluginCache) -> Result<Pulled> {
    let store = open_store(reference, false)?;
    Ok(pull_from(&*store, reference, cache)?.0)
}

/// A plugin's manifest, checked against the reference's digest when pinned and parsed as a
/// plugin artifact.
struct ResolvedManifest {
    manifest: Manifest,
    subject: Descriptor,
}

fn resolve_manifest(store: &dyn Store, reference: &Reference) -> Result<ResolvedManifest> {
    let (bytes, digest) = store.get_manifest(&reference.version)?;
    let manifest = parse_wasm_manifest(&bytes, &reference.to_string(), &digest)?;
    let subject = Descriptor {
        media_type: MANIFEST_MEDIA_TYPE.to_string(),
        digest,
        size: bytes.len() as u64,
        artifact_type: None,
        annotations: Default::default(),
    };
    Ok(ResolvedManifest { manifest, subject })
}

/// [`pull`] from an open store; also returns the component's bytes, checked against its
/// digest (read from the cache, or as downloaded).
fn pull_from(
    store: &dyn Store,
    reference: &Reference,
    cache: &PluginCache,
) -> Result<(Pulled, Vec<u8>)> {
    let text = reference.to_string();
    let ResolvedManifest { manifest, subject } = resolve_manifest(store, reference)?;
    let layer = &manifest.layers[0];
    let cached = cache.component(&layer.digest);
    let from_cache = cached.is_some();
    let (path, component) = match cached {
        Some(component) => (cache.component_path(&layer.digest), component),
        None => {
            let component = store.get_blob(layer, "the component layer")?;
            (cache.put_component(&layer.digest, &component)?, component)
        }
    };
    let title = |key: &str| manifest.annotations.get(key).cloned().unwrap_or_default();
    let pulled = Pulled {
        reference: reference.clone(),
        manifest: subject.digest,
        manifest_size: subject.size,
        component: layer.digest.clone(),
        path,
        name: title(annotation::TITLE),
        version: title(annotation::VERSION),
        from_cache,
    };
    cache.record(&CachedRef {
        reference: text,
        manifest: pulled.manifest.clone(),
        component: pulled.component.clone(),
        size: layer.size,
        name: pulled.name.clone(),
        version: pulled.version.clone(),
    })?;
    Ok((pulled, component))
}

/// What `sign` signed.
#[derive(Debug, Clone)]
pub struct Signed {
    pub manifest: Digest,
    pub component: Digest,
    /// The signature artifact's manifest digest.
    pub signature: Digest,
}

/// Signs the component of the plugin `reference` names (the digest its checked manifest
/// states), storing the signature as a referrer of that manifest.
pub fn sign(reference: &Reference, key: &PrivateKey) -> Result<Signed> {
    let store = open_store(reference, false)?;
    let ResolvedManifest { manifest, subject } = resolve_manifest(&*store, reference)?;
    let component = manifest.layers[0].digest.clone();
    let signature = signature::sign_in_store(&*store, &subject, &component, key)?;
    Ok(Signed {
        manifest: subject.digest,
        component,
        signature,
    })
}

/// Checks that the plugin `reference` names carries a signature by one of `keys`.
pub fn verify(
    reference: &Reference,
    keys: &[PublicKey],
    cache: &PluginCache,
) -> Result<(Pulled, Verified)> {
    let store = open_store(reference, false)?;
    let (pulled, _) = pull_from(&*store, reference, cache)?;
    let verified = verify_pulled(&*store, &pulled, keys)?;
    Ok((pulled, verified))
}

fn verify_pulled(store: &dyn Store, pulled: &Pulled, keys: &[PublicKey]) -> Result<Verified> {
    signature::verify_in_store(
        store,
        &pulled.reference.to_string(),
        &pulled.manifest,
        &pulled.component,
        keys,
    )
}

/// How `gs launch` and `gs serve` take a plugin from a registry.
pub struct RunOptions<'a> {
    pub cache: &'a PluginCache,
    /// `gs.lock` of the working directory, or `None` to neither read nor write one.
    pub lock: Option<&'a Path>,
    /// `--locked`: refuse references the lock does not pin, and never write it.
    pub locked: bool,
    pub policy: Option<&'a TrustPolicy>,
}

/// A plugin ready to run, with what the user should be told about it.
pub struct ForRun {
    pub pulled: Pulled,
    pub bytes: Vec<u8>,
    pub notes: Vec<String>,
}

/// Pulls `reference` for a run: checks it against `gs.lock` when there is one (pinning it
/// there when new), then applies the trust policy.
pub fn resolve_for_run(reference: &Reference, options: &RunOptions<'_>) -> Result<ForRun> {
    let text = reference.to_string();
    let mut lock = options.lock.map(LockFile::load).transpose()?;
    let locked = lock.as_ref().and_then(|l| l.get(&text).cloned());
    if let Some(lock) = &lock
        && options.locked
        && locked.is_none()
    {
        return Err(RegistryError::file(
            lock.path(),
            format!(
                "does not pin `{text}`, and --locked allows only pinned plugins\nhint: run once \
                 without --locked to pin it, or use a reference the lock lists"
            ),
        ));
    }
    let store = open_store(reference, false)?;
    let (pulled, bytes) = match pull_from(&*store, reference, options.cache) {
        Ok(pulled) => pulled,
        Err(error @ RegistryError::Transport { .. }) => {
            return match (&lock, &locked) {
                (Some(lock), Some(entry)) => {
                    offline_from_lock(reference, lock, entry, options, error)
                }
                _ => Err(error),
            };
        }
        Err(error) => return Err(error),
    };
    if let (Some(lock), Some(entry)) = (&lock, &locked)
        && (entry.manifest != pulled.manifest || entry.component != pulled.component)
    {
        return Err(RegistryError::file(
            lock.path(),
            format!(
                "pins `{text}` to manifest {} (component {}), but it now resolves to manifest \
                 {} (component {})\nhint: if the new version is intended, remove its entry from \
                 gs.lock (without --locked, gs pins it again); otherwise use {}",
                entry.manifest,
                entry.component,
                pulled.manifest,
                pulled.component,
                reference.with_digest(&entry.manifest)
            ),
        ));
    }
    // The policy first: a refused plugin is not pinned.
    let mut notes = match options.policy {
        Some(policy) => apply_policy(policy, &*store, &pulled)?,
        None => Vec::new(),
    };
    if let Some(lock) = &mut lock
        && locked.is_none()
        && !options.locked
    {
        lock.pin(LockedPlugin {
            reference: text.clone(),
            name: pulled.name.clone(),
            tag: reference.tag().map(str::to_string),
            manifest: pulled.manifest.clone(),
            component: pulled.component.clone(),
        })?;
        notes.push(format!(
            "pinned {text} to {} in {}",
            pulled.manifest,
            lock.path().display()
        ));
    }
    // `bytes` were checked against the component's digest when read or downloaded: what runs
    // is what the policy and the lock saw.
    Ok(ForRun {
        pulled,
        bytes,
        notes,
    })
}

/// When the registry cannot be reached, the version `gs.lock` pins still runs if the cache
/// holds its component (checked against the lock's digest), unless the trust policy needs the
/// registry to check a signature.
fn offline_from_lock(
    reference: &Reference,
    lock: &LockFile,
    entry: &LockedPlugin,
    options: &RunOptions<'_>,
    error: RegistryError,
) -> Result<ForRun> {
    let Some(bytes) = options.cache.component(&entry.component) else {
        return Err(error);
    };
    if let Some(policy) = options.policy
        && !policy.rule_for(&reference.location_text()).keys.is_empty()
    {
        return Err(RegistryError::Signature {
            reference: reference.to_string(),
            digest: entry.component.clone(),
            why: format!(
                "the trust policy {} asks for its signature, which needs the registry: {error}",
                policy.path.display()
            ),
        });
    }
    let note = format!(
        "warning: {error}\nusing the version {} pins ({}, component {}), from the cache",
        lock.path().display(),
        entry.manifest,
        entry.component
    );
    Ok(ForRun {
        pulled: Pulled {
            reference: reference.clone(),
            manifest: entry.manifest.clone(),
            manifest_size: 0,
            component: entry.component.clone(),
            path: options.cache.component_path(&entry.component),
            name: entry.name.clone(),
            version: String::new(),
            from_cache: true,
        },
        bytes,
        notes: vec![note],
    })
}

/// Checks a pulled plugin against the policy's rule for its location.
fn apply_policy(policy: &TrustPolicy, store: &dyn Store, pulled: &Pulled) -> Result<Vec<String>> {
    let rule = policy.rule_for(&pulled.reference.location_text());
    let scope = match &rule.prefix {
        Some(p) => format!("namespace `{p}` of {}", policy.path.display()),
        None => format!("the default rule of {}", policy.path.display()),
    };
    if rule.keys.is_empty() {
        if rule.require_signature {
            return Err(RegistryError::Signature {
                reference: pulled.reference.to_string(),
                digest: pulled.component.clone(),
                why: format!(
                    "{scope} requires a signature and trusts no key for this reference\nhint: add \
                     a [[namespace]] with its prefix and keys to the policy"
                ),
            });
        }
        return Ok(Vec::new());
    }
    match verify_pulled(store, pulled, &rule.keys) {
        Ok(v) => Ok(vec![format!(
            "{} ({}) is signed by trusted key {} ({scope})",
            pulled.reference, pulled.component, v.key_id
        )]),
        Err(e) if rule.require_signature => Err(RegistryError::Signature {
            reference: pulled.reference.to_string(),
            digest: pulled.component.clone(),
            why: format!("refused by {scope}: {e}"),
        }),
        Err(e) => Ok(vec![format!("warning: {e} (allowed by {scope})")]),
    }
}

/// Checks the plugin a checkpoint recorded (`pinned`, a digest reference, with its component
/// digest) against the policy: what `gs serve` does before it serves a model.
pub fn check_recorded(
    pinned: &Reference,
    component: &Digest,
    policy: &TrustPolicy,
    cache: &PluginCache,
) -> Result<Vec<String>> {
    let store = open_store(pinned, false)?;
    let (pulled, _) = pull_from(&*store, pinned, cache)?;
    if pulled.component != *component {
        return Err(RegistryError::Mismatch {
            what: format!("the component {pinned} names"),
            expected: component.clone(),
            found: pulled.component.to_string(),
        });
    }
    apply_policy(policy, &*store, &pulled)
}
