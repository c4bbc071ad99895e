//! Atomic replacement of a whole output directory: everything is written into a hidden sibling
//! staging directory, fsynced, then renamed into place, so a reader sees the old set or the new
//! one and never a mix.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::OutputError;

/// Distinguishes staging directories of concurrent calls within one process.
static NEXT_ID: AtomicU64 = AtomicU64::new(0);

/// A staging directory beside the target; removed on drop unless [`Staging::commit`] succeeded.
pub(crate) struct Staging {
    target: PathBuf,
    dir: PathBuf,
    parent: PathBuf,
    name: String,
    tag: String,
    committed: bool,
}

impl Staging {
    /// Creates `<parent>/.<name>.gs-tmp-<pid>-<n>` (and the parent itself if missing).
    pub(crate) fn create(target: &Path) -> Result<Self, OutputError> {
        let invalid = |reason| OutputError::InvalidTarget {
            path: target.to_path_buf(),
            reason,
            hint: "pass a directory path that ends in a name, e.g. `out/predictions`",
        };
        let name = target
            .file_name()
            .ok_or_else(|| invalid("the output path has no final directory name"))?
            .to_str()
            .ok_or_else(|| invalid("the output directory name is not valid UTF-8"))?
            .to_owned();
        if target.is_file() {
            return Err(OutputError::InvalidTarget {
                path: target.to_path_buf(),
                reason: "the output path is an existing file, not a directory",
                hint: "remove the file or choose another output directory",
            });
        }
        let parent = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        fs::create_dir_all(&parent).map_err(|e| OutputError::io(&parent, "create directory", e))?;
        let tag = format!(
            "{}-{}",
            std::process::id(),
            NEXT_ID.fetch_add(1, Ordering::Relaxed)
        );
        let dir = parent.join(format!(".{name}.gs-tmp-{tag}"));
        fs::create_dir(&dir).map_err(|e| OutputError::io(&dir, "create directory", e))?;
        Ok(Self {
            target: target.to_path_buf(),
            dir,
            parent,
            name,
            tag,
            committed: false,
        })
    }

    /// The staging directory to write into.
    pub(crate) fn path(&self) -> &Path {
        &self.dir
    }

    /// Makes the staged set the target: fsyncs the staged directories, moves an existing target
    /// aside, renames the staging directory into place, fsyncs the parent and deletes the old
    /// set. If the final rename fails the old set is moved back.
    pub(crate) fn commit(mut self, subdirs: &[PathBuf]) -> Result<(), OutputError> {
        for d in subdirs {
            sync_dir(d)?;
        }
        sync_dir(&self.dir)?;

        let old = self
            .parent
            .join(format!(".{}.gs-old-{}", self.name, self.tag));
        let had_old = match fs::symlink_metadata(&self.target) {
            Ok(_) => {
                fs::rename(&self.target, &old)
                    .map_err(|e| OutputError::io(&self.target, "move aside", e))?;
                true
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
            Err(e) => return Err(OutputError::io(&self.target, "inspect", e)),
        };
        if let Err(e) = fs::rename(&self.dir, &self.target) {
            if had_old {
                // Best effort: put the previous set back so the target does not vanish.
                let _ = fs::rename(&old, &self.target);
            }
            return Err(OutputError::io(&self.target, "rename into place", e));
        }
        self.committed = true;
        sync_dir(&self.parent)?;
        if had_old {
            // The new set is already in place; a leftover old copy is only wasted space, so a
            // failure here is not reported as a failed write.
            let _ = fs::remove_dir_all(&old);
        }
        Ok(())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

/// fsyncs a directory so the names created in it survive a crash.
fn sync_dir(dir: &Path) -> Result<(), OutputError> {
    fs::File::open(dir)
        .and_then(|f| f.sync_all())
        .map_err(|e| OutputError::io(dir, "fsync directory", e))
}
