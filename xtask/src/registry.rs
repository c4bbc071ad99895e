//! A real OCI registry for the tests: Debian's `docker-registry` package (the CNCF
//! distribution registry), unpacked into `<cache>/tools/docker-registry-<version>/` and never
//! installed as a package (installing it would start a system service on a public port).
//!
//! The `.deb` comes from `apt-get download` (needs the package in the apt lists), else straight
//! from the Debian archive with `curl` (or python3's urllib). Its sha256 is checked before
//! `dpkg-deb -x` unpacks it into a private staging directory, which is renamed into place, so a
//! finished unpack is never seen half-written. An advisory lock on `<cache>/tools/.docker-registry.lock`
//! serialises concurrent unpackers; leftovers of dead ones are removed under it. Once in place,
//! [`ensure`] is one `stat`.

use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::bootstrap::cache_root;
use crate::util::{describe, env_nonempty, fmt_duration};

/// The Debian package version, pinned with its checksum below.
pub(crate) const VERSION: &str = "2.8.2+ds1-1";
/// The package's file name in the Debian archive (amd64 only).
const DEB_FILE: &str = "docker-registry_2.8.2+ds1-1_amd64.deb";
/// sha256 of [`DEB_FILE`].
const DEB_SHA256: &str = "a9bd06c0e006854608f8469b4371743f40604ad90975532bb3b7ceeb72fe2913";
/// Where the archive keeps [`DEB_FILE`], for machines whose apt lists lack it.
const DEB_URL: &str = "http://deb.debian.org/debian/pool/main/d/docker-registry/docker-registry_2.8.2+ds1-1_amd64.deb";
/// Prefix of the staging directories under `<cache>/tools`.
const STAGING_PREFIX: &str = ".docker-registry-tmp-";

/// `<root>/tools/docker-registry-<version>`.
pub(crate) fn install_dir(root: &Path) -> PathBuf {
    root.join("tools")
        .join(format!("docker-registry-{VERSION}"))
}

/// The registry binary inside an install directory.
pub(crate) fn binary_in(dir: &Path) -> PathBuf {
    dir.join("usr/bin/docker-registry")
}

/// Makes sure the registry is unpacked in the cache and returns its binary. Progress goes to
/// stderr (stdout is left to the callers).
pub(crate) fn ensure() -> Result<PathBuf> {
    let root = std::path::absolute(cache_root(
        env_nonempty("GS_CACHE_DIR"),
        env_nonempty("XDG_CACHE_HOME"),
        env_nonempty("HOME"),
    )?)?;
    let dir = install_dir(&root);
    let binary = binary_in(&dir);
    if binary.is_file() {
        return Ok(binary);
    }
    if dir.exists() {
        bail!(
            "the registry unpacked at {dir} lacks usr/bin/docker-registry; delete it with \
             `rm -rf '{dir}'` and rerun `cargo xtask registry`",
            dir = dir.display()
        );
    }
    if std::env::consts::ARCH != "x86_64" {
        bail!(
            "the test registry is pinned to Debian's amd64 package docker-registry {VERSION}, \
             but this machine is {}",
            std::env::consts::ARCH
        );
    }
    let tools = dir.parent().expect("install dir has a parent");
    fs::create_dir_all(tools).with_context(|| format!("cannot create {}", tools.display()))?;
    let _lock = lock(&tools.join(".docker-registry.lock"))?;
    // Another xtask may have finished while we waited for the lock.
    if binary.is_file() {
        return Ok(binary);
    }
    remove_leftovers(tools)?;
    let start = Instant::now();
    let staging = tools.join(format!("{STAGING_PREFIX}{}", std::process::id()));
    let result = unpack_into(&staging, &dir);
    let _ = fs::remove_dir_all(&staging);
    result?;
    eprintln!(
        "registry: unpacked docker-registry {VERSION} into {} ({})",
        dir.display(),
        fmt_duration(start.elapsed())
    );
    Ok(binary)
}

/// Downloads and checks the `.deb` in `staging`, unpacks it there and renames the tree to `dir`.
fn unpack_into(staging: &Path, dir: &Path) -> Result<()> {
    let download = staging.join("download");
    fs::create_dir_all(&download)
        .with_context(|| format!("cannot create {}", download.display()))?;
    let (deb, source) = download_deb(&download, dir)?;
    let sum = sha256(&deb)?;
    if sum != DEB_SHA256 {
        bail!(
            "{DEB_FILE} from {source} has sha256 {sum}, expected {DEB_SHA256}; the download is \
             corrupt or not Debian's docker-registry {VERSION} (a proxy or mirror serving \
             something else?); fix the network or mirror and rerun `cargo xtask registry`"
        );
    }
    let tree = staging.join("tree");
    let mut unpack = Command::new("dpkg-deb");
    unpack.arg("-x").arg(&deb).arg(&tree);
    let output = unpack.output().with_context(|| {
        format!(
            "could not run `{}`; install dpkg (it provides dpkg-deb)",
            describe(&unpack)
        )
    })?;
    if !output.status.success() {
        bail!(
            "`{}` failed ({}): {}",
            describe(&unpack),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    let binary = binary_in(&tree);
    if !binary.is_file() {
        bail!("{DEB_FILE} unpacked without usr/bin/docker-registry; the package layout changed");
    }
    let mut version = Command::new(&binary);
    version.arg("--version").stdin(Stdio::null());
    let output = version
        .output()
        .with_context(|| format!("the unpacked `{}` does not run", describe(&version)))?;
    if !output.status.success() {
        bail!(
            "the unpacked `{}` failed ({}): {}",
            describe(&version),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    match fs::rename(&tree, dir) {
        Ok(()) => Ok(()),
        // Someone unpacked without the lock (or the lock is unsupported here): keep theirs.
        Err(_) if binary_in(dir).is_file() => Ok(()),
        Err(e) => {
            Err(e).with_context(|| format!("cannot rename {} to {}", tree.display(), dir.display()))
        }
    }
}

/// Fetches [`DEB_FILE`] into `dir`: `apt-get download`, else `curl`, else python3's urllib.
/// Returns the file and which of them fetched it; `install_dir` is only named in the error.
fn download_deb(dir: &Path, install_dir: &Path) -> Result<(PathBuf, &'static str)> {
    let deb = dir.join(DEB_FILE);
    let mut apt = Command::new("apt-get");
    apt.args(["download", &format!("docker-registry={VERSION}")])
        .current_dir(dir)
        .stdin(Stdio::null());
    let mut failures = Vec::new();
    match apt.output() {
        Ok(output) if output.status.success() && deb.is_file() => return Ok((deb, "apt-get")),
        Ok(output) => failures.push(format!(
            "`{}` failed ({}): {}",
            describe(&apt),
            output.status,
            last_line(&output.stderr)
        )),
        Err(e) => failures.push(format!("`{}` could not start: {e}", describe(&apt))),
    }
    let _ = fs::remove_file(&deb);

    let mut curl = Command::new("curl");
    curl.args([
        "--fail",
        "--silent",
        "--show-error",
        "--location",
        "--retry",
        "2",
    ])
    .arg("--output")
    .arg(&deb)
    .arg(DEB_URL)
    .stdin(Stdio::null());
    match curl.output() {
        Ok(output) if output.status.success() && deb.is_file() => return Ok((deb, DEB_URL)),
        Ok(output) => failures.push(format!(
            "`{}` failed ({}): {}",
            describe(&curl),
            output.status,
            last_line(&output.stderr)
        )),
        Err(e) => failures.push(format!("`curl` could not start: {e}")),
    }
    let _ = fs::remove_file(&deb);

    let python = env_nonempty("GS_PYTHON").unwrap_or_else(|| "python3".into());
    let mut urllib = Command::new(&python);
    urllib
        .args([
            "-c",
            "import sys, urllib.request; urllib.request.urlretrieve(sys.argv[1], sys.argv[2])",
            DEB_URL,
        ])
        .arg(&deb)
        .stdin(Stdio::null());
    match urllib.output() {
        Ok(output) if output.status.success() && deb.is_file() => return Ok((deb, DEB_URL)),
        Ok(output) => failures.push(format!(
            "python urllib failed ({}): {}",
            output.status,
            last_line(&output.stderr)
        )),
        Err(e) => failures.push(format!("{python:?} could not start: {e}")),
    }
    bail!(
        "could not download Debian's docker-registry {VERSION} (needed by the OCI registry tests):\n  \
         {}\nfix: run `apt-get update` (as root) so apt can download the package, or give this \
         machine HTTP access to deb.debian.org, then rerun `cargo xtask registry`; or fetch \
         {DEB_URL} elsewhere, check that its sha256 is {DEB_SHA256}, and unpack it with \
         `dpkg-deb -x <file> '{}'`",
        failures.join("\n  "),
        install_dir.display()
    )
}

/// The sha256 of `file`, as `sha256sum` prints it.
fn sha256(file: &Path) -> Result<String> {
    let mut cmd = Command::new("sha256sum");
    cmd.arg(file);
    let output = cmd.output().with_context(|| {
        format!(
            "could not run `{}`; install coreutils (it provides sha256sum)",
            describe(&cmd)
        )
    })?;
    if !output.status.success() {
        bail!(
            "`{}` failed ({}): {}",
            describe(&cmd),
            output.status,
            last_line(&output.stderr)
        );
    }
    let text = String::from_utf8_lossy(&output.stdout);
    match text.split_whitespace().next() {
        Some(sum) if sum.len() == 64 => Ok(sum.to_ascii_lowercase()),
        _ => bail!("`{}` printed no checksum: {text:?}", describe(&cmd)),
    }
}

/// The last non-empty line of a tool's stderr, for one-line error messages.
fn last_line(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    text.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("(no output)")
        .trim()
        .to_string()
}

/// Removes staging directories left by unpackers that died. Only called under the lock.
fn remove_leftovers(tools: &Path) -> Result<()> {
    for entry in fs::read_dir(tools).with_context(|| format!("cannot list {}", tools.display()))? {
        let entry = entry?;
        if entry
            .file_name()
            .to_string_lossy()
            .starts_with(STAGING_PREFIX)
        {
            fs::remove_dir_all(entry.path())
                .with_context(|| format!("cannot remove {}", entry.path().display()))?;
        }
    }
    Ok(())
}

/// An exclusive advisory lock on `path`, held until the file is dropped. Where locking is not
/// supported the atomic rename still keeps finished unpacks whole, so that is only a warning.
fn lock(path: &Path) -> Result<Option<File>> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .with_context(|| format!("cannot open lock file {}", path.display()))?;
    match file.lock() {
        Ok(()) => Ok(Some(file)),
        Err(e) => {
            eprintln!(
                "registry: warning: cannot lock {} ({e}); continuing",
                path.display()
            );
            Ok(None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_lives_under_the_versioned_tools_dir() {
        let dir = install_dir(Path::new("/home/u/.cache/gs"));
        assert_eq!(
            dir,
            PathBuf::from("/home/u/.cache/gs/tools/docker-registry-2.8.2+ds1-1")
        );
        assert_eq!(
            binary_in(&dir),
            PathBuf::from(
                "/home/u/.cache/gs/tools/docker-registry-2.8.2+ds1-1/usr/bin/docker-registry"
            )
        );
    }

    #[test]
    fn the_pins_agree() {
        assert!(DEB_FILE.contains(VERSION));
        assert!(DEB_URL.ends_with(DEB_FILE));
        assert_eq!(DEB_SHA256.len(), 64);
    }

    #[test]
    fn last_line_skips_blank_lines() {
        assert_eq!(last_line(b"a\nb\n\n"), "b");
        assert_eq!(last_line(b""), "(no output)");
    }
}
