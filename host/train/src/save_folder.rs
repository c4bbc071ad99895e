//! Which `save_model_path` a training run may write into: an empty or new folder, or the
//! folder of the checkpoint it was restored from (a run continued from `M/epoch-N` may go on
//! saving into `M`). A folder holding another run's checkpoints is refused, as `gconstruct`
//! refuses a non-empty output folder, so old `epoch-N` folders never sit beside new ones.

use std::path::{Path, PathBuf};

use crate::TrainError;
use crate::checkpoint::META_FILE;

/// The checkpoints in `dir`: visible sub-folders that hold a `checkpoint.json`, sorted.
pub fn checkpoints_in(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return vec![];
    };
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|e| e.path().join(META_FILE).is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect();
    names.sort();
    names
}

fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Refuse `save` when it holds checkpoints of another run; `restored_from` is the checkpoint
/// (`M/epoch-N`) the run continues from, if any.
pub fn check_save_folder(save: &Path, restored_from: Option<&Path>) -> Result<(), TrainError> {
    let found = checkpoints_in(save);
    if found.is_empty() {
        return Ok(());
    }
    if let Some(from) = restored_from
        && canonical(from).parent() == Some(canonical(save).as_path())
    {
        return Ok(());
    }
    let shown: Vec<&str> = found.iter().take(3).map(String::as_str).collect();
    let more = if found.len() > 3 { ", …" } else { "" };
    let example = save.join(found.last().map_or("epoch-0", String::as_str));
    Err(TrainError::Config(format!(
        "`save_model_path` `{}` already holds the checkpoints of another run ({}{more}); \
         gs does not mix two runs' checkpoints in one folder\n\
         hint: continue that run with --restore-model-path {} (it then saves into the same \
         folder), or pass another --save-model-path",
        save.display(),
        shown.join(", "),
        example.display(),
    )))
}

/// Remove what killed runs left in `dir`: hidden staging names (`.epoch-3.tmp-PID`,
/// `.epoch-3.deleted-PID`, `.training_summary.json.tmp-PID`) of processes that no longer run.
/// Only Linux can tell whether a process runs (`/proc/PID`); elsewhere nothing is removed.
pub fn remove_stale_temporaries(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = staging_pid(&name) else {
            continue;
        };
        if cfg!(target_os = "linux") && !Path::new(&format!("/proc/{pid}")).exists() {
            let path = entry.path();
            let _ = if path.is_dir() {
                std::fs::remove_dir_all(&path)
            } else {
                std::fs::remove_file(&path)
            };
        }
    }
}

/// The process id in a hidden staging name `.<name>.tmp-PID` or `.<name>.deleted-PID`.
fn staging_pid(name: &str) -> Option<u32> {
    let rest = name.strip_prefix('.')?;
    let (_, pid) = rest
        .rsplit_once(".tmp-")
        .or_else(|| rest.rsplit_once(".deleted-"))?;
    pid.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staging_names_of_dead_processes_are_removed() {
        assert_eq!(staging_pid(".epoch-3.tmp-42"), Some(42));
        assert_eq!(staging_pid(".epoch-3-iter-7.deleted-9"), Some(9));
        assert_eq!(staging_pid("epoch-3"), None);
        assert_eq!(staging_pid(".epoch-3.tmp-x"), None);
        let root = tempfile::tempdir().unwrap();
        let live = format!(".epoch-1.tmp-{}", std::process::id());
        // Process ids never reach u32::MAX - 1 on Linux (the maximum is 2^22).
        let dead = format!(".epoch-2.tmp-{}", u32::MAX - 1);
        for name in [&live, &dead, &"epoch-0".to_string()] {
            std::fs::create_dir(root.path().join(name)).unwrap();
        }
        remove_stale_temporaries(root.path());
        assert!(root.path().join(&live).exists() && root.path().join("epoch-0").exists());
        if cfg!(target_os = "linux") {
            assert!(!root.path().join(&dead).exists());
        }
    }

    #[test]
    fn a_folder_with_checkpoints_is_refused_unless_the_run_continues_one_of_them() {
        let root = tempfile::tempdir().unwrap();
        let save = root.path().join("model");
        check_save_folder(&save, None).expect("a new folder is fine");
        std::fs::create_dir_all(save.join("epoch-0")).unwrap();
        std::fs::write(save.join("notes.txt"), "x").unwrap();
        check_save_folder(&save, None).expect("no checkpoint in it yet");
        std::fs::write(save.join("epoch-0").join(META_FILE), "{}").unwrap();
        let err = check_save_folder(&save, None).err().unwrap().to_string();
        assert!(
            err.contains("epoch-0") && err.contains("--restore-model-path"),
            "{err}"
        );
        check_save_folder(&save, Some(&save.join("epoch-0"))).expect("continuing into M");
        let other = root.path().join("other");
        std::fs::create_dir_all(other.join("epoch-1")).unwrap();
        assert!(check_save_folder(&save, Some(&other.join("epoch-1"))).is_err());
    }
}
