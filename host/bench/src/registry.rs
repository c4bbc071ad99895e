//! `gs bench registry`: what sharing a plugin costs, against a real OCI registry and an offline
//! OCI image-layout directory side by side.
//!
//! Two components are made from the built-in `sage` by appending one custom section of padding
//! (which keeps a component valid): about 1 MB (a Rust plugin with its dependencies) and about
//! 18 MB (a Python plugin, CPython inside). Each repetition pads them with different bytes, so a
//! cold push really uploads its blob. The registry is Debian's `docker-registry` 2.8 (the CNCF
//! distribution registry, which `cargo xtask registry` unpacks), started here on a free loopback
//! port with its storage in a temporary directory, and killed at the end. Per size and
//! repetition, each store in turn (which one goes first flips every repetition) gets:
//!
//! - push, cold: a component the store has never seen (blobs uploaded, then the manifest);
//! - push again: the same component (the blobs are there: checked, not uploaded);
//! - pull, cold: into an empty cache (manifest, then the component, checked against its digest);
//! - pull, warm: the cache holds the component (the manifest, and the cached file re-checked);
//! - sign: `gs plugin sign` (reads the manifest, signs the component digest it states, stores
//!   the signature as a referrer of the manifest);
//! - verify: `gs plugin verify` with the warm cache (finds the signature and checks it).
//!
//! The tag moves with each cold push, as when a plugin publishes a new version; the layout keeps
//! the older signatures in its index, so its verify reads one more referrer each repetition.
//! Every pulled component is compared with what was pushed, and the run fails unless all are
//! identical.

use std::fs::File;
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use clap::Args;
use gs_registry::{ComponentInfo, PluginCache, PrivateKey, PublicKey, Reference};

use crate::report::{Stats, fmt_ratios, fmt_time, progress, row, stats, table};

#[derive(Args)]
pub struct RegistryBenchArgs {
    /// The registry binary: Debian's docker-registry 2.8, which `cargo xtask registry` unpacks
    /// (it prints the path). Default: $GS_REGISTRY_BIN.
    #[arg(long, value_name = "PATH")]
    registry_bin: Option<PathBuf>,
    /// Repetitions of every operation, per component size and store.
    #[arg(long, default_value_t = 5)]
    reps: usize,
}

/// The component sizes measured, in bytes, with their labels.
const SIZES: [(&str, usize); 2] = [("1 MB", 1_000_000), ("18 MB", 18_000_000)];

/// The name of the padding section.
const PADDING_SECTION: &str = "gs-bench-padding";

/// How long the registry may take to answer `GET /v2/` once spawned.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(20);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StoreKind {
    Registry,
    Layout,
}

/// The operations timed, in the order they run and are reported.
const OPS: [&str; 6] = [
    "push, cold (new component)",
    "push again (blobs already there)",
    "pull, cold (empty cache)",
    "pull, warm (component cached)",
    "sign",
    "verify (signature found, checked)",
];

/// Per-repetition times of the six operations, for one size and one store.
#[derive(Default)]
struct Times([Vec<f64>; 6]);

pub(crate) fn run(args: &RegistryBenchArgs, sage: &[u8]) -> anyhow::Result<()> {
    let binary = registry_binary(args.registry_bin.as_deref())?;
    let reps = args.reps.max(1);
    let work = tempfile::Builder::new()
        .prefix("gs-bench-registry-")
        .tempdir()?;
    let key_prefix = work.path().join("bench-key");
    gs_registry::keygen(&key_prefix)?;
    let private = PrivateKey::load(&key_prefix)?;
    let public = PublicKey::load(&gs_registry::public_path(&key_prefix))?;

    // Both components must still be plugins: checked once, untimed.
    for (label, size) in SIZES {
        let bytes = padded(sage, size, 0)?;
        gs_runtime::PluginEngine::new(None)?
            .load_bytes(label, &bytes)
            .with_context(|| format!("the padded {label} component does not load"))?;
    }

    let registry = RegistryProcess::start(&binary)?;
    let version = registry_version(&binary);
    progress(&format!(
        "registry {version} on {} (storage in a temporary directory)",
        registry.address()
    ));

    let info = ComponentInfo {
        name: "sage".into(),
        version: "0.1.0".into(),
        description: Some("the built-in sage, padded by gs bench registry".into()),
        license: None,
        wit_line: format!(
            "{}@{}",
            gs_runtime::SUPPORTED_PACKAGE,
            gs_runtime::SUPPORTED_VERSION
        ),
        sdk_version: None,
        imports: Vec::new(),
        exports: Vec::new(),
    };
    let reference = |kind: StoreKind, label: &str, tag: &str| -> anyhow::Result<Reference> {
        let slug = label.replace(' ', "").to_lowercase();
        let text = match kind {
            StoreKind::Registry => format!("oci://{}/bench/sage-{slug}:{tag}", registry.address()),
            StoreKind::Layout => format!(
                "oci-layout:{}:{tag}",
                work.path().join(format!("layout-{slug}")).display()
            ),
        };
        Ok(Reference::parse(&text)?)
    };

    // Warm-up, untimed: the registry's first requests and the layouts' creation.
    for kind in [StoreKind::Registry, StoreKind::Layout] {
        for (label, _) in SIZES {
            let r = reference(kind, label, "warmup")?;
            gs_registry::push(sage, &info, &r)?;
            let cache = tempfile::tempdir_in(work.path())?;
            gs_registry::pull(&r, &PluginCache::new(cache.path()))?;
        }
    }

    let mut times: Vec<[Times; 2]> = SIZES.iter().map(|_| Default::default()).collect();
    let mut checked = 0usize;
    let mut mismatches: Vec<String> = Vec::new();
    for rep in 0..reps {
        let stores = if rep.is_multiple_of(2) {
            [StoreKind::Registry, StoreKind::Layout]
        } else {
            [StoreKind::Layout, StoreKind::Registry]
        };
        for (s, (label, size)) in SIZES.into_iter().enumerate() {
            progress(&format!("rep {}/{reps}: {label}", rep + 1));
            let bytes = padded(sage, size, rep as u64 + 1)?;
            for kind in stores {
                let r = reference(kind, label, "latest")?;
                let t = &mut times[s][kind as usize];
                let mut check = |what: &str, got: &[u8]| {
                    checked += 1;
                    if got != bytes.as_slice() {
                        mismatches.push(format!(
                            "{label}, {}, rep {}: {what} pulled {} bytes that differ from the {} \
                             pushed",
                            store_name(kind),
                            rep + 1,
                            got.len(),
                            bytes.len()
                        ));
                    }
                };

                let (pushed, s0) = timed(|| gs_registry::push(&bytes, &info, &r))?;
                t.0[0].push(s0);
                let (again, s1) = timed(|| gs_registry::push(&bytes, &info, &r))?;
                t.0[1].push(s1);
                ensure!(
                    again.manifest == pushed.manifest,
                    "pushing the same component twice gave two manifests ({} and {})",
                    pushed.manifest,
                    again.manifest
                );

                let cache_dir = tempfile::tempdir_in(work.path())?;
                let cache = PluginCache::new(cache_dir.path());
                let (cold, s2) = timed(|| gs_registry::pull(&r, &cache))?;
                t.0[2].push(s2);
                ensure!(
                    !cold.from_cache,
                    "a pull into an empty cache said it came from the cache"
                );
                ensure!(
                    cold.component == pushed.component && cold.manifest == pushed.manifest,
                    "{r} resolved to manifest {} (component {}), not to the one just pushed ({}, \
                     component {})",
                    cold.manifest,
                    cold.component,
                    pushed.manifest,
                    pushed.component
                );
                check("a cold pull", &cold.bytes()?);
                let (warm, s3) = timed(|| gs_registry::pull(&r, &cache))?;
                t.0[3].push(s3);
                ensure!(
                    warm.from_cache,
                    "a pull with the component cached downloaded it again"
                );
                check("a warm pull", &warm.bytes()?);

                let (signed, s4) = timed(|| gs_registry::sign(&r, &private))?;
                t.0[4].push(s4);
                ensure!(
                    signed.manifest == pushed.manifest && signed.component == pushed.component,
                    "sign resolved {r} to another manifest ({}, component {})",
                    signed.manifest,
                    signed.component
                );
                let ((verified_pull, verified), s5) =
                    timed(|| gs_registry::verify(&r, std::slice::from_ref(&public), &cache))?;
                t.0[5].push(s5);
                ensure!(
                    verified.key_id == public.id(),
                    "verified by key {}, not by the bench's key {}",
                    verified.key_id,
                    public.id()
                );
                check("verify", &verified_pull.bytes()?);
            }
        }
    }
    drop(registry);

    println!(
        "Sharing plugins: the built-in `sage` padded to {} with a custom section (new padding \
         bytes each repetition), pushed to, pulled from, signed and verified on a registry \
         ({version}, 127.0.0.1, storage on the local disk) and an offline OCI image layout \
         (local disk), alternating which goes first every repetition. {reps} repetition(s); \
         median (min–max), and the median (min–max) of the per-repetition ratios \
         registry/layout.\n",
        SIZES
            .iter()
            .map(|(label, size)| format!("{label} ({size} bytes)"))
            .collect::<Vec<_>>()
            .join(" and ")
    );
    table(&[
        "size",
        "operation",
        "registry",
        "layout",
        "registry / layout",
    ]);
    for (s, (label, _)) in SIZES.iter().enumerate() {
        let [registry, layout] = &times[s];
        for (op, name) in OPS.iter().enumerate() {
            let ratios: Vec<f64> = registry.0[op]
                .iter()
                .zip(&layout.0[op])
                .map(|(r, l)| r / l)
                .collect();
            row(&[
                label.to_string(),
                name.to_string(),
                fmt_spread(&stats(&registry.0[op])),
                fmt_spread(&stats(&layout.0[op])),
                fmt_ratios(&stats(&ratios)),
            ]);
        }
    }

    println!("\nThroughput of cold pushes and pulls (size / median time):\n");
    table(&[
        "size",
        "registry push",
        "layout push",
        "registry pull",
        "layout pull",
    ]);
    for (s, (label, size)) in SIZES.iter().enumerate() {
        let [registry, layout] = &times[s];
        let mbps = |xs: &[f64]| format!("{:.1} MB/s", *size as f64 / 1e6 / stats(xs).median);
        row(&[
            label.to_string(),
            mbps(&registry.0[0]),
            mbps(&layout.0[0]),
            mbps(&registry.0[2]),
            mbps(&layout.0[2]),
        ]);
    }
    println!();
    if !mismatches.is_empty() {
        bail!(
            "{} of {checked} pulled components differ from what was pushed:\n{}",
            mismatches.len(),
            mismatches.join("\n")
        );
    }
    println!(
        "All {checked} pulled components (cold, warm, verified) are identical to what was pushed."
    );
    Ok(())
}

fn store_name(kind: StoreKind) -> &'static str {
    match kind {
        StoreKind::Registry => "registry",
        StoreKind::Layout => "layout",
    }
}

/// `median (min–max)`.
fn fmt_spread(s: &Stats) -> String {
    format!(
        "{} ({}–{})",
        fmt_time(s.median),
        fmt_time(s.min),
        fmt_time(s.max)
    )
}

fn timed<T, E>(f: impl FnOnce() -> Result<T, E>) -> anyhow::Result<(T, f64)>
where
    anyhow::Error: From<E>,
{
    let started = Instant::now();
    let value = f()?;
    Ok((value, started.elapsed().as_secs_f64()))
}

/// `--registry-bin`, else `$GS_REGISTRY_BIN`.
fn registry_binary(flag: Option<&Path>) -> anyhow::Result<PathBuf> {
    let binary = match flag {
        Some(path) => path.to_path_buf(),
        None => match std::env::var_os("GS_REGISTRY_BIN").filter(|v| !v.is_empty()) {
            Some(path) => PathBuf::from(path),
            None => bail!(
                "no registry binary: pass --registry-bin PATH or set GS_REGISTRY_BIN\nhint: run \
                 `cargo xtask registry`, which unpacks Debian's docker-registry 2.8 and prints \
                 its path: --registry-bin \"$(cargo xtask registry)\""
            ),
        },
    };
    ensure!(
        binary.is_file(),
        "the registry binary `{}` does not exist\nhint: run `cargo xtask registry`, which \
         unpacks it and prints its path",
        binary.display()
    );
    Ok(binary)
}

/// The registry's `--version` line, or `docker-registry` when it prints none.
fn registry_version(binary: &Path) -> String {
    Command::new(binary)
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .ok()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_string())
        .filter(|line| !line.is_empty())
        .map(|line| {
            // `docker-registry github.com/docker/distribution v2.8.2+unknown`: keep the version.
            line.split_whitespace()
                .last()
                .map(|v| format!("docker-registry {v}"))
                .unwrap_or(line)
        })
        .unwrap_or_else(|| "docker-registry".into())
}

/// `sage` with one custom section appended, so that the whole is `size` bytes; the first
/// bytes of the padding are `nonce`, the rest a fixed pseudo-random stream.
fn padded(component: &[u8], size: usize, nonce: u64) -> anyhow::Result<Vec<u8>> {
    let name = PADDING_SECTION.as_bytes();
    let name_part = leb128_len(name.len()) + name.len();
    let fixed = component.len() + 1 + name_part;
    let payload = (1..=5)
        .filter_map(|size_len| {
            let payload = size.checked_sub(fixed + size_len)?;
            (leb128_len(name_part + payload) == size_len).then_some(payload)
        })
        .next()
        .with_context(|| {
            format!(
                "cannot pad a {} byte component to {size} bytes",
                component.len()
            )
        })?;
    ensure!(
        payload >= 8 && name_part + payload <= u32::MAX as usize,
        "cannot pad a {} byte component to {size} bytes",
        component.len()
    );
    let mut out = Vec::with_capacity(size);
    out.extend_from_slice(component);
    out.push(0x00);
    write_leb128(&mut out, name_part + payload);
    write_leb128(&mut out, name.len());
    out.extend_from_slice(name);
    out.extend_from_slice(&nonce.to_le_bytes());
    let mut state = 0x9e37_79b9_7f4a_7c15u64 ^ size as u64;
    while out.len() < size {
        // xorshift64*: incompressible padding, like compiled code and data.
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        let word = state.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes();
        let take = word.len().min(size - out.len());
        out.extend_from_slice(&word[..take]);
    }
    Ok(out)
}

fn leb128_len(mut value: usize) -> usize {
    let mut len = 1;
    while value >= 0x80 {
        value >>= 7;
        len += 1;
    }
    len
}

fn write_leb128(out: &mut Vec<u8>, mut value: usize) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// A registry process on `127.0.0.1`, killed (and reaped) when dropped, with its config, log
/// and storage in a temporary directory removed after it.
struct RegistryProcess {
    child: Child,
    port: u16,
    // Dropped after `Drop::drop` has killed the process.
    _dir: tempfile::TempDir,
}

impl RegistryProcess {
    fn start(binary: &Path) -> anyhow::Result<RegistryProcess> {
        // Another process can take the probed port before the registry binds it: try again on
        // a fresh port then.
        let mut attempt = 0;
        loop {
            attempt += 1;
            match RegistryProcess::try_start(binary)? {
                Ok(registry) => return Ok(registry),
                Err(log) if attempt < 5 && log.contains("address already in use") => continue,
                Err(log) => bail!(
                    "the registry ({}) exited before it was ready; its log:\n{log}",
                    binary.display()
                ),
            }
        }
    }

    /// `Ok(Err(log))` when the process exits before it answers.
    fn try_start(binary: &Path) -> anyhow::Result<Result<RegistryProcess, String>> {
        let dir = tempfile::Builder::new()
            .prefix("gs-bench-registry-server-")
            .tempdir()?;
        let data = dir.path().join("data");
        std::fs::create_dir(&data)?;
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
            .local_addr()?
            .port();
        let config = format!(
            "version: 0.1\n\
             log:\n  level: warn\n  fields:\n    service: registry\n\
             storage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\n\
             http:\n  addr: 127.0.0.1:{port}\n",
            yaml_string(&data)?
        );
        let config_path = dir.path().join("config.yml");
        std::fs::write(&config_path, config)?;
        let log_path = dir.path().join("registry.log");
        let log = File::create(&log_path)?;
        let mut command = Command::new(binary);
        command
            .arg("serve")
            .arg(&config_path)
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        // REGISTRY_* variables override the config file; keep the caller's out of it.
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("REGISTRY_") {
                command.env_remove(key);
            }
        }
        let child = command
            .spawn()
            .with_context(|| format!("cannot start the registry `{}`", binary.display()))?;
        let mut registry = RegistryProcess {
            child,
            port,
            _dir: dir,
        };
        let read_log = || std::fs::read_to_string(&log_path).unwrap_or_default();
        let started = Instant::now();
        loop {
            if let Some(status) = registry.child.try_wait()? {
                return Ok(Err(format!("(exited: {status})\n{}", read_log())));
            }
            if probe(port) == Some(200) {
                return Ok(Ok(registry));
            }
            if started.elapsed() > STARTUP_TIMEOUT {
                let log = read_log();
                drop(registry);
                bail!(
                    "the registry did not answer GET http://127.0.0.1:{port}/v2/ within \
                     {STARTUP_TIMEOUT:?}; its log:\n{log}"
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

impl Drop for RegistryProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The status code of `GET /v2/` on `127.0.0.1:port`, if it answers.
fn probe(port: u16) -> Option<u16> {
    use std::io::{Read, Write};
    let timeout = Duration::from_secs(2);
    let mut stream =
        TcpStream::connect_timeout(&(Ipv4Addr::LOCALHOST, port).into(), timeout).ok()?;
    stream.set_read_timeout(Some(timeout)).ok()?;
    stream.set_write_timeout(Some(timeout)).ok()?;
    write!(
        stream,
        "GET /v2/ HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).ok()?;
    // `HTTP/1.1 200`
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}

/// A path as a double-quoted YAML scalar.
fn yaml_string(path: &Path) -> anyhow::Result<String> {
    let text = path
        .to_str()
        .with_context(|| format!("`{}` is not UTF-8", path.display()))?;
    Ok(format!(
        "\"{}\"",
        text.replace('\\', "\\\\").replace('"', "\\\"")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_leb128(bytes: &[u8]) -> (usize, usize) {
        let (mut value, mut shift) = (0usize, 0);
        for (i, b) in bytes.iter().enumerate() {
            value |= ((b & 0x7f) as usize) << shift;
            if b & 0x80 == 0 {
                return (value, i + 1);
            }
            shift += 7;
        }
        panic!("unterminated LEB128");
    }

    /// A minimal component (magic, component version and layer) padded to several sizes: the
    /// sizes are exact, the sections walk to the end, and the last is the padding section.
    #[test]
    fn padding_is_one_well_formed_custom_section_of_the_exact_size() {
        let header = [0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00];
        for size in [200, 16_384 + 40, 1_000_000, 18_000_000] {
            let a = padded(&header, size, 1).unwrap();
            let b = padded(&header, size, 2).unwrap();
            assert_eq!((a.len(), b.len()), (size, size));
            assert_ne!(a, b);
            assert_eq!(a[..8], header);
            let mut at = 8;
            let mut last = None;
            while at < a.len() {
                let id = a[at];
                let (len, n) = read_leb128(&a[at + 1..]);
                let body = &a[at + 1 + n..at + 1 + n + len];
                let (name_len, m) = read_leb128(body);
                last = Some((
                    id,
                    String::from_utf8(body[m..m + name_len].to_vec()).unwrap(),
                ));
                at += 1 + n + len;
            }
            assert_eq!(at, size);
            assert_eq!(last, Some((0, PADDING_SECTION.to_string())));
        }
        assert!(padded(&header, 20, 0).is_err());
    }

    #[test]
    fn leb128_lengths() {
        for value in [0, 1, 127, 128, 16_383, 16_384, 18_000_000] {
            let mut out = Vec::new();
            write_leb128(&mut out, value);
            assert_eq!(out.len(), leb128_len(value));
            assert_eq!(read_leb128(&out), (value, out.len()));
        }
    }
}
