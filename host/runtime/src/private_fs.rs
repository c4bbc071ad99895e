//! Files only the current user may touch: the cache folder (created 0700, refused when other
//! users can write it or someone else owns it) and the cache's secret key (created 0600 with
//! random bytes, refused when others can read it).
//!
//! On platforms without Unix permissions the folder and key are created the same way and the
//! ownership and mode checks are skipped.

use std::io::Write;
use std::path::{Path, PathBuf};

use thiserror::Error;

/// Bytes of the cache's secret key.
pub(crate) const KEY_LEN: usize = 32;

/// Why the compiled-component cache is not used for this run.
#[derive(Debug, Error)]
pub(crate) enum CacheUnusable {
    #[error(
        "the compiled-plugin cache `{}` can be written by other users (mode {mode:04o}), so gs \
         will not run native code from it; plugins are compiled in memory instead\n\
         hint: `chmod 700 {}`",
        dir.display(), dir.display()
    )]
    WritableByOthers { dir: PathBuf, mode: u32 },

    #[error(
        "the compiled-plugin cache `{}` belongs to user {owner}, not to you (user {user}), so gs \
         will not run native code from it; plugins are compiled in memory instead\n\
         hint: give gs a cache folder of your own (`GS_CACHE_DIR`), or `chown {user} {}` and \
         `chmod 700 {}`",
        dir.display(), dir.display(), dir.display()
    )]
    NotOwned { dir: PathBuf, owner: u32, user: u32 },

    #[error(
        "the compiled-plugin cache's key `{}` {problem}, so gs does not trust the cache; \
         plugins are compiled in memory instead\nhint: {hint}",
        path.display()
    )]
    BadKey {
        path: PathBuf,
        problem: String,
        hint: String,
    },

    #[error(
        "cannot use the compiled-plugin cache: {what} `{}`: {source}; plugins are compiled in \
         memory instead\nhint: check that the folder can be created and written",
        path.display()
    )]
    Io {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
}

fn io<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> CacheUnusable + 'a {
    move |source| CacheUnusable::Io {
        what,
        path: path.to_path_buf(),
        source,
    }
}

/// Create `dir` (mode 0700; its parents as usual) if it is missing, then check that only the
/// current user can write it.
pub(crate) fn private_dir(dir: &Path) -> Result<(), CacheUnusable> {
    if let Some(parent) = dir.parent() {
        std::fs::create_dir_all(parent).map_err(io("cannot create the folder", parent))?;
    }
    let mut builder = std::fs::DirBuilder::new();
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    match builder.create(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(io("cannot create the folder", dir)(e)),
    }
    let meta = std::fs::metadata(dir).map_err(io("cannot read the folder", dir))?;
    if !meta.is_dir() {
        return Err(io("it is not a folder", dir)(std::io::Error::other(
            "a file is in the way",
        )));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let user = current_user();
        if meta.uid() != user {
            return Err(CacheUnusable::NotOwned {
                dir: dir.to_path_buf(),
                owner: meta.uid(),
                user,
            });
        }
        if meta.mode() & 0o022 != 0 {
            return Err(CacheUnusable::WritableByOthers {
                dir: dir.to_path_buf(),
                mode: meta.mode() & 0o7777,
            });
        }
    }
    Ok(())
}

#[cfg(unix)]
fn current_user() -> u32 {
    // SAFETY: `geteuid` has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// The secret key in `path`, made now (random, mode 0600) if there is none yet.
///
/// Two processes making it at once agree: each writes a complete key to a private temporary
/// file and hard-links it into place, which fails if a key is already there; both then read
/// the one that won.
pub(crate) fn secret_key(path: &Path) -> Result<[u8; KEY_LEN], CacheUnusable> {
    if !path.exists() {
        make_key(path)?;
    }
    read_key(path)
}

fn make_key(path: &Path) -> Result<(), CacheUnusable> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io("cannot create the folder", parent))?;
    }
    let mut key = [0u8; KEY_LEN];
    getrandom::fill(&mut key).map_err(|e| CacheUnusable::BadKey {
        path: path.to_path_buf(),
        problem: format!("cannot be made: the system has no random numbers ({e})"),
        hint: "run gs where the operating system's random source works".into(),
    })?;
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options
        .open(&tmp)
        .and_then(|mut file| file.write_all(&key))
        .map_err(io("cannot write the key", &tmp));
    let linked = written.and_then(|()| match std::fs::hard_link(&tmp, path) {
        Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => {
            Err(io("cannot write the key", path)(e))
        }
        _ => Ok(()),
    });
    let _ = std::fs::remove_file(&tmp);
    linked
}

fn read_key(path: &Path) -> Result<[u8; KEY_LEN], CacheUnusable> {
    let bad = |problem: String, hint: String| CacheUnusable::BadKey {
        path: path.to_path_buf(),
        problem,
        hint,
    };
    let remake = format!(
        "delete `{}`; gs makes a new key, and compiles the cached plugins again",
        path.display()
    );
    let file = std::fs::File::open(path).map_err(io("cannot read the key", path))?;
    let meta = file.metadata().map_err(io("cannot read the key", path))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let user = current_user();
        if meta.uid() != user {
            return Err(bad(
                format!("belongs to user {}, not to you (user {user})", meta.uid()),
                remake,
            ));
        }
        if meta.mode() & 0o077 != 0 {
            return Err(bad(
                format!(
                    "can be read or written by other users (mode {:04o})",
                    meta.mode() & 0o7777
                ),
                format!("`chmod 600 {}`", path.display()),
            ));
        }
    }
    if meta.len() != KEY_LEN as u64 {
        return Err(bad(
            format!("holds {} bytes instead of {KEY_LEN}", meta.len()),
            remake,
        ));
    }
    let mut key = [0u8; KEY_LEN];
    std::io::Read::read_exact(&mut &file, &mut key).map_err(io("cannot read the key", path))?;
    Ok(key)
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
    }

    #[test]
    fn the_folder_is_made_private_and_a_shared_one_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("a/b/components");
        private_dir(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
        private_dir(&dir).expect("an existing private folder is used");
        for shared in [0o777, 0o770, 0o702] {
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(shared)).unwrap();
            let err = private_dir(&dir).unwrap_err();
            assert!(
                matches!(err, CacheUnusable::WritableByOthers { mode, .. } if mode == shared),
                "{err:?}"
            );
            let message = err.to_string();
            assert!(
                message.contains(&format!("chmod 700 {}", dir.display())),
                "{message}"
            );
        }
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        private_dir(&dir).expect("a folder only its owner can write is used");
    }

    #[test]
    fn the_key_is_random_private_and_kept() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("data/component-cache.key");
        let key = secret_key(&path).unwrap();
        assert_eq!(mode(&path), 0o600);
        assert_ne!(key, [0u8; KEY_LEN]);
        assert_eq!(
            secret_key(&path).unwrap(),
            key,
            "the key is read, not remade"
        );
        let other = secret_key(&tmp.path().join("other.key")).unwrap();
        assert_ne!(other, key, "each key is random");
        let leftovers: Vec<_> = std::fs::read_dir(tmp.path().join("data"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(leftovers, ["component-cache.key"]);

        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = secret_key(&path).unwrap_err().to_string();
        assert!(
            err.contains("mode 0644") && err.contains("chmod 600"),
            "{err}"
        );
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        std::fs::write(&path, b"short").unwrap();
        let err = secret_key(&path).unwrap_err().to_string();
        assert!(
            err.contains("5 bytes instead of 32") && err.contains("delete"),
            "{err}"
        );
    }
}
