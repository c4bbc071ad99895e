//! What gs may remember about a file between processes, and when it may believe it.
//!
//! Hashing a Python component (19 MB, SHA-256) and MACing its compiled entry (32 MB) take
//! most of a warm load. Both results are remembered by the file's identity: device, inode,
//! size, modification time and change time (`ctime`). The kernel sets `ctime` on every write,
//! truncation, rename or metadata change, to the current time, and no user-space call sets it
//! to a chosen value, so a file whose five values are those recorded has not changed since
//! (the same rule as git's index and ccache's "file stat matches"). A record is a keyed BLAKE3
//! over the identity, the fact and the file it is about, under the compiled-component cache's
//! secret key: a record copied from another machine or another file, or written by anything
//! but this gs, does not match, and the fact is computed again.
//!
//! A file changed twice within one tick of the kernel's clock could keep its `ctime`: a
//! record is therefore made only for a file whose last change is [`SETTLED`] in the past
//! ("racily clean" files are hashed again, as git does). Without Unix metadata nothing is
//! remembered.

use std::time::{Duration, SystemTime};

/// How long ago a file's last change must be for gs to remember a fact about it.
pub const SETTLED: Duration = Duration::from_secs(2);

/// What tells two versions of a file apart: device, inode, size, modification time and change
/// time, each time to the nanosecond.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FileIdentity {
    device_and_inode: (u64, u64),
    len: u64,
    modified: (i64, i64),
    changed: (i64, i64),
}

impl FileIdentity {
    /// The identity of the file `metadata` describes; `None` where the platform has no inode
    /// and change time.
    pub(crate) fn of(metadata: &std::fs::Metadata) -> Option<Self> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            Some(Self {
                device_and_inode: (metadata.dev(), metadata.ino()),
                len: metadata.len(),
                modified: (metadata.mtime(), metadata.mtime_nsec()),
                changed: (metadata.ctime(), metadata.ctime_nsec()),
            })
        }
        #[cfg(not(unix))]
        {
            let _ = metadata;
            None
        }
    }

    /// The identity of a file last changed (and modified) `seconds_ago` seconds ago.
    #[cfg(test)]
    pub(crate) fn for_test(inode: u64, len: u64, seconds_ago: i64) -> Self {
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        Self {
            device_and_inode: (1, inode),
            len,
            modified: (now - seconds_ago, 0),
            changed: (now - seconds_ago, 7),
        }
    }

    /// Whether the file last changed at least [`SETTLED`] before `now`.
    pub(crate) fn settled(&self, now: SystemTime) -> bool {
        let last = self.modified.max(self.changed);
        let Ok(since_epoch) = now.duration_since(SystemTime::UNIX_EPOCH) else {
            return false;
        };
        let (seconds, nanos) = (
            since_epoch.as_secs() as i64,
            since_epoch.subsec_nanos() as i64,
        );
        let settled_at = (last.0 + SETTLED.as_secs() as i64, last.1);
        (seconds, nanos) >= settled_at
    }

    /// The device and inode as bytes: which file, whatever its contents.
    pub(crate) fn device_and_inode_bytes(&self) -> [u8; 16] {
        let mut out = [0u8; 16];
        out[..8].copy_from_slice(&self.device_and_inode.0.to_le_bytes());
        out[8..].copy_from_slice(&self.device_and_inode.1.to_le_bytes());
        out
    }

    /// The identity as bytes, for a MAC: every field, 8 bytes each.
    pub(crate) fn to_bytes(&self) -> [u8; 56] {
        let fields = [
            self.device_and_inode.0 as i64,
            self.device_and_inode.1 as i64,
            self.len as i64,
            self.modified.0,
            self.modified.1,
            self.changed.0,
            self.changed.1,
        ];
        let mut out = [0u8; 56];
        for (chunk, field) in out.chunks_exact_mut(8).zip(fields) {
            chunk.copy_from_slice(&field.to_le_bytes());
        }
        out
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn a_rewrite_with_the_same_size_and_restored_mtime_changes_the_identity() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plugin.wasm");
        std::fs::write(&path, b"first").unwrap();
        let before = FileIdentity::of(&std::fs::metadata(&path).unwrap()).unwrap();
        let mtime = std::fs::metadata(&path).unwrap().modified().unwrap();
        std::thread::sleep(Duration::from_millis(20));
        std::fs::write(&path, b"other").unwrap();
        std::fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(mtime)
            .unwrap();
        let after = FileIdentity::of(&std::fs::metadata(&path).unwrap()).unwrap();
        assert_eq!(before.len, after.len);
        assert_eq!(before.modified, after.modified, "mtime restored");
        assert_ne!(before, after, "ctime moved");
        assert_ne!(before.to_bytes(), after.to_bytes());
    }

    #[test]
    fn every_field_of_the_identity_is_in_its_bytes() {
        let identity = FileIdentity::for_test(42, 1000, 60);
        let variants = [
            FileIdentity {
                device_and_inode: (2, 42),
                ..identity.clone()
            },
            FileIdentity {
                device_and_inode: (1, 43),
                ..identity.clone()
            },
            FileIdentity {
                len: 1001,
                ..identity.clone()
            },
            FileIdentity {
                modified: (identity.modified.0 + 1, identity.modified.1),
                ..identity.clone()
            },
            FileIdentity {
                modified: (identity.modified.0, identity.modified.1 + 1),
                ..identity.clone()
            },
            FileIdentity {
                changed: (identity.changed.0 + 1, identity.changed.1),
                ..identity.clone()
            },
            FileIdentity {
                changed: (identity.changed.0, identity.changed.1 + 1),
                ..identity.clone()
            },
        ];
        for other in variants {
            assert_ne!(other.to_bytes(), identity.to_bytes(), "{other:?}");
        }
    }

    #[test]
    fn a_file_changed_just_now_is_not_settled() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plugin.wasm");
        std::fs::write(&path, b"x").unwrap();
        let identity = FileIdentity::of(&std::fs::metadata(&path).unwrap()).unwrap();
        let now = SystemTime::now();
        assert!(!identity.settled(now));
        assert!(identity.settled(now + SETTLED + Duration::from_millis(10)));
    }
}
