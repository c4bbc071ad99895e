//! A real OCI registry process for the registry client's tests: Debian's `docker-registry`
//! (the CNCF distribution registry 2.8), which `cargo xtask test` / `cargo xtask registry`
//! unpack into the user's cache. Each [`Registry`] gets its own temporary directory (config,
//! storage root, log) and a free loopback port, and is killed when dropped.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The Debian package version `cargo xtask registry` unpacks.
const VERSION: &str = "2.8.2+ds1-1";

/// How long a registry may take to answer `GET /v2/` after it is spawned.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(20);

/// A running registry on `127.0.0.1`, killed (and reaped) when dropped. Its storage is a
/// filesystem root under a private temporary directory, removed after the process is gone.
pub struct Registry {
    child: Child,
    port: u16,
    log: PathBuf,
    data: PathBuf,
    // Dropped after `Drop::drop` has killed the process.
    _dir: tempfile::TempDir,
}

impl Registry {
    /// A registry without authentication, once `GET /v2/` answers.
    pub fn start() -> Registry {
        Registry::launch(None)
    }

    /// A registry that asks for HTTP basic auth (an htpasswd file with one bcrypt entry), once
    /// `GET /v2/` answers (401 for the anonymous probe).
    pub fn start_with_basic_auth(user: &str, password: &str) -> Registry {
        Registry::launch(Some((user, password)))
    }

    /// `127.0.0.1:PORT`, as an image reference's registry part.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.address())
    }

    /// The storage root (`storage.filesystem.rootdirectory`), for tests that look at or tamper
    /// with what the registry stored.
    pub fn data_dir(&self) -> &Path {
        &self.data
    }

    /// Where the registry keeps the blob with digest `sha256:<hex>`:
    /// `<data>/docker/registry/v2/blobs/sha256/<first 2 hex>/<hex>/data`.
    pub fn blob_path(&self, hex: &str) -> PathBuf {
        let prefix = hex.get(..2).unwrap_or(hex);
        self.data
            .join("docker/registry/v2/blobs/sha256")
            .join(prefix)
            .join(hex)
            .join("data")
    }

    /// Everything the registry has logged so far (stdout and stderr).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn launch(auth: Option<(&str, &str)>) -> Registry {
        let binary = registry_binary();
        // Another process can take the probed port before the registry binds it: try again on
        // a fresh port then.
        let mut attempt = 0;
        loop {
            attempt += 1;
            match Registry::try_launch(&binary, auth) {
                Ok(registry) => return registry,
                Err(log) if attempt < 5 && log.contains("address already in use") => continue,
                Err(log) => panic!(
                    "the registry ({}) exited before it was ready; its log:\n{log}",
                    binary.display()
                ),
            }
        }
    }

    /// Spawns one registry and waits for it; `Err(log)` when it exits before answering.
    fn try_launch(binary: &Path, auth: Option<(&str, &str)>) -> Result<Registry, String> {
        let dir = tempfile::Builder::new()
            .prefix("gs-registry-")
            .tempdir()
            .expect("create a temporary directory for the registry");
        let data = dir.path().join("data");
        std::fs::create_dir(&data).unwrap();
        let port = crate::serving::free_port();
        let mut config = format!(
            "version: 0.1\n\
             log:\n  level: info\n  fields:\n    service: registry\n\
             storage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\n\
             http:\n  addr: 127.0.0.1:{port}\n",
            yaml_string(&data)
        );
        if let Some((user, password)) = auth {
            let htpasswd = dir.path().join("htpasswd");
            std::fs::write(&htpasswd, htpasswd_line(user, password)).unwrap();
            config.push_str(&format!(
                "auth:\n  htpasswd:\n    realm: gs-test\n    path: {}\n",
                yaml_string(&htpasswd)
            ));
        }
        let config_path = dir.path().join("config.yml");
        std::fs::write(&config_path, config).unwrap();

        let log = dir.path().join("registry.log");
        let out = File::create(&log).unwrap();
        let mut cmd = Command::new(binary);
        cmd.arg("serve")
            .arg(&config_path)
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out);
        // REGISTRY_* variables override the config file; keep the caller's out of it.
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("REGISTRY_") {
                cmd.env_remove(key);
            }
        }
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
        let mut registry = Registry {
            child,
            port,
            log,
            data,
            _dir: dir,
        };

        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(2)))
            .build()
            .into();
        let probe = format!("{}/v2/", registry.url());
        let start = Instant::now();
        loop {
            if let Some(status) = registry.child.try_wait().unwrap() {
                return Err(format!("(exited: {status})\n{}", registry.log()));
            }
            if let Ok(response) = agent.get(&probe).call()
                && matches!(response.status().as_u16(), 200 | 401)
            {
                return Ok(registry);
            }
            if start.elapsed() > STARTUP_TIMEOUT {
                let log = registry.log();
                drop(registry);
                panic!(
                    "the registry did not answer GET {probe} within {STARTUP_TIMEOUT:?}; its \
                     log:\n{log}"
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The registry binary: `$GS_TEST_REGISTRY_BIN` (set by `cargo xtask test`), else where
/// `cargo xtask registry` unpacks it: `<cache>/tools/docker-registry-<version>/usr/bin/
/// docker-registry`, with `<cache>` = `$GS_CACHE_DIR`, else `$XDG_CACHE_HOME/gs`, else
/// `~/.cache/gs`.
pub fn registry_binary() -> PathBuf {
    let var = |key: &str| {
        std::env::var_os(key)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(binary) = var("GS_TEST_REGISTRY_BIN") {
        assert!(
            binary.is_file(),
            "GS_TEST_REGISTRY_BIN names {}, which does not exist; run `cargo xtask registry` \
             (it prints the right path) or `cargo xtask test`",
            binary.display()
        );
        return binary;
    }
    let cache = var("GS_CACHE_DIR")
        .or_else(|| {
            var("XDG_CACHE_HOME")
                .filter(|p| p.is_absolute())
                .map(|p| p.join("gs"))
        })
        .or_else(|| var("HOME").map(|h| h.join(".cache/gs")));
    let binary = cache.map(|c| {
        c.join("tools")
            .join(format!("docker-registry-{VERSION}"))
            .join("usr/bin/docker-registry")
    });
    match binary {
        Some(binary) if binary.is_file() => binary,
        other => panic!(
            "the test registry (Debian's docker-registry {VERSION}) is not in the cache{}; run \
             `cargo xtask test`, or `cargo xtask registry` once before plain `cargo test` (or set \
             GS_TEST_REGISTRY_BIN to its binary)",
            other
                .map(|p| format!(" (looked for {})", p.display()))
                .unwrap_or_default()
        ),
    }
}

/// A path as a double-quoted YAML scalar.
fn yaml_string(path: &Path) -> String {
    let text = path.to_str().expect("temporary paths are UTF-8");
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

/// One htpasswd line, `user:$2y$...`: the registry accepts bcrypt entries only. The minimum
/// cost keeps both hashing here and checking in the registry fast.
fn htpasswd_line(user: &str, password: &str) -> String {
    let hash = bcrypt::hash_with_result(password, 4)
        .expect("bcrypt hashes a password")
        .format_for_version(bcrypt::Version::TwoY);
    format!("{user}:{hash}\n")
}

/// Standard base64 with padding (RFC 4648), for a basic `Authorization` header.
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}
