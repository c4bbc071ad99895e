//! The installed layout: `<prefix>/bin/gs` and `<prefix>/lib/gs/libtorch` (a link to the libtorch
//! the binary was built against, usually the bootstrap's cache). The binary finds libtorch
//! through the rpath [`crate::INSTALL_RPATH`], which the `gs` package's build script adds to
//! every build, so the layout works for a release build and for the debug build the tests make.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

/// What [`install`] put where.
#[derive(Debug, Clone)]
pub struct Installed {
    /// `<prefix>/bin/gs`.
    pub binary: PathBuf,
    /// `<prefix>/lib/gs/libtorch`, a symlink.
    pub libtorch_link: PathBuf,
    /// The libtorch folder the link points at (canonical).
    pub libtorch: PathBuf,
}

/// A failed install step, with the path and what to do.
#[derive(Debug)]
pub struct InstallError(String);

impl fmt::Display for InstallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InstallError {}

fn io_error(what: &str, path: &Path, err: std::io::Error) -> InstallError {
    InstallError(format!("cannot {what} {}: {err}", path.display()))
}

/// Copies `binary` to `<prefix>/bin/<its file name>` and points `<prefix>/lib/gs/libtorch` at
/// `libtorch` (the folder holding libtorch's `lib/`). Re-running replaces both; the binary is
/// copied beside its destination and renamed over it, so a running `gs` is never overwritten in
/// place.
///
/// # Errors
/// A missing binary, a folder that is not libtorch, or a file system error, each naming the path.
pub fn install(binary: &Path, prefix: &Path, libtorch: &Path) -> Result<Installed, InstallError> {
    if !binary.is_file() {
        return Err(InstallError(format!(
            "the binary to install, {}, does not exist (build it first)",
            binary.display()
        )));
    }
    let libtorch = libtorch.canonicalize().map_err(|e| {
        InstallError(format!(
            "libtorch folder {} cannot be resolved ({e}); run `cargo xtask bootstrap`",
            libtorch.display()
        ))
    })?;
    if !libtorch.join("lib/libtorch_cpu.so").is_file() {
        return Err(InstallError(format!(
            "{} is not a libtorch folder (no lib/libtorch_cpu.so); run `cargo xtask bootstrap`",
            libtorch.display()
        )));
    }
    let bin_dir = prefix.join("bin");
    fs::create_dir_all(&bin_dir).map_err(|e| io_error("create", &bin_dir, e))?;
    let name = binary
        .file_name()
        .ok_or_else(|| InstallError(format!("{} has no file name", binary.display())))?;
    let dest = bin_dir.join(name);
    let staging = bin_dir.join(format!(
        ".{}.tmp-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    fs::copy(binary, &staging).map_err(|e| io_error("copy the binary to", &staging, e))?;
    set_executable(&staging)?;
    fs::rename(&staging, &dest).map_err(|e| {
        let _ = fs::remove_file(&staging);
        io_error("move the binary to", &dest, e)
    })?;

    let link = prefix.join(crate::INSTALL_LIBTORCH_DIR);
    let link_parent = link.parent().expect("the libtorch link has a parent");
    fs::create_dir_all(link_parent).map_err(|e| io_error("create", link_parent, e))?;
    match fs::symlink_metadata(&link) {
        Ok(meta) if !meta.file_type().is_symlink() => {
            return Err(InstallError(format!(
                "{} exists and is not a link; move it away and install again",
                link.display()
            )));
        }
        _ => {}
    }
    let staging_link = link_parent.join(format!(".libtorch.tmp-{}", std::process::id()));
    let _ = fs::remove_file(&staging_link);
    symlink(&libtorch, &staging_link).map_err(|e| io_error("create the link", &staging_link, e))?;
    fs::rename(&staging_link, &link).map_err(|e| {
        let _ = fs::remove_file(&staging_link);
        io_error("create the link", &link, e)
    })?;
    Ok(Installed {
        binary: dest,
        libtorch_link: link,
        libtorch,
    })
}

#[cfg(unix)]
fn set_executable(path: &Path) -> Result<(), InstallError> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(0o755))
        .map_err(|e| io_error("make executable", path, e))
}

#[cfg(not(unix))]
fn set_executable(_path: &Path) -> Result<(), InstallError> {
    Ok(())
}

#[cfg(unix)]
fn symlink(target: &Path, link: &Path) -> std::io::Result<()> {
    std::os::unix::fs::symlink(target, link)
}

#[cfg(not(unix))]
fn symlink(_target: &Path, _link: &Path) -> std::io::Result<()> {
    Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "gs installs on Linux only (libtorch is found through rpath and a symlink)",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("gs-install-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn fake_libtorch(root: &Path) -> PathBuf {
        let torch = root.join("torch");
        fs::create_dir_all(torch.join("lib")).unwrap();
        fs::write(torch.join("lib/libtorch_cpu.so"), b"").unwrap();
        torch
    }

    #[test]
    fn lays_out_binary_and_link_and_reinstalls() {
        let root = scratch("layout");
        let torch = fake_libtorch(&root);
        let binary = root.join("gs");
        fs::write(&binary, b"v1").unwrap();
        let prefix = root.join("prefix");
        let installed = install(&binary, &prefix, &torch).unwrap();
        assert_eq!(installed.binary, prefix.join("bin/gs"));
        assert_eq!(fs::read(&installed.binary).unwrap(), b"v1");
        assert_eq!(
            fs::read_link(prefix.join("lib/gs/libtorch")).unwrap(),
            torch.canonicalize().unwrap()
        );
        fs::write(&binary, b"v2").unwrap();
        install(&binary, &prefix, &torch).unwrap();
        assert_eq!(fs::read(prefix.join("bin/gs")).unwrap(), b"v2");
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn refuses_a_folder_that_is_not_libtorch_and_a_real_folder_in_the_way() {
        let root = scratch("refuse");
        let binary = root.join("gs");
        fs::write(&binary, b"x").unwrap();
        let err = install(&binary, &root.join("p"), &root)
            .unwrap_err()
            .to_string();
        assert!(err.contains("libtorch_cpu.so"), "{err}");
        let torch = fake_libtorch(&root);
        let prefix = root.join("p2");
        fs::create_dir_all(prefix.join("lib/gs/libtorch")).unwrap();
        let err = install(&binary, &prefix, &torch).unwrap_err().to_string();
        assert!(err.contains("is not a link"), "{err}");
        let err = install(&root.join("missing"), &prefix, &torch)
            .unwrap_err()
            .to_string();
        assert!(err.contains("does not exist"), "{err}");
        fs::remove_dir_all(&root).unwrap();
    }
}
