//! A bounds-checked little-endian reader over a file's bytes, in dmlc-core's `Stream` encoding
//! (what DGL's `Save()` methods write): raw scalars, `std::string` and `std::vector` as a u64
//! length followed by the elements.

use std::path::Path;

use super::error::{DglError, REWRITE_HINT};

/// A cursor over `bytes` (the whole file) that names `path` in its errors.
pub(crate) struct Reader<'a> {
    pub(crate) path: &'a Path,
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(path: &'a Path, bytes: &'a [u8]) -> Self {
        Reader {
            path,
            bytes,
            pos: 0,
        }
    }

    /// Current byte offset.
    pub(crate) fn pos(&self) -> u64 {
        self.pos as u64
    }

    /// Moves to byte `pos`; `what` names the target for the error if it is past the end.
    pub(crate) fn seek(&mut self, pos: u64, what: &str) -> Result<(), DglError> {
        if pos > self.bytes.len() as u64 {
            return Err(self.truncated(what, pos));
        }
        self.pos = pos as usize;
        Ok(())
    }

    /// The next `n` bytes.
    pub(crate) fn take(&mut self, n: u64, what: &str) -> Result<&'a [u8], DglError> {
        let start = self.pos;
        let end = usize::try_from(n)
            .ok()
            .and_then(|n| start.checked_add(n))
            .filter(|&e| e <= self.bytes.len())
            .ok_or_else(|| self.truncated(what, start as u64))?;
        self.pos = end;
        Ok(&self.bytes[start..end])
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N], DglError> {
        let b = self.take(N as u64, what)?;
        Ok(b.try_into().expect("take returned N bytes"))
    }

    pub(crate) fn u8(&mut self, what: &str) -> Result<u8, DglError> {
        Ok(self.array::<1>(what)?[0])
    }

    pub(crate) fn u16(&mut self, what: &str) -> Result<u16, DglError> {
        Ok(u16::from_le_bytes(self.array(what)?))
    }

    pub(crate) fn i32(&mut self, what: &str) -> Result<i32, DglError> {
        Ok(i32::from_le_bytes(self.array(what)?))
    }

    pub(crate) fn u64(&mut self, what: &str) -> Result<u64, DglError> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }

    pub(crate) fn i64(&mut self, what: &str) -> Result<i64, DglError> {
        Ok(i64::from_le_bytes(self.array(what)?))
    }

    /// A dmlc `bool` (one byte).
    pub(crate) fn bool(&mut self, what: &str) -> Result<bool, DglError> {
        Ok(self.u8(what)? != 0)
    }

    /// A u64 that must equal `magic`; `what` names the structure it opens.
    pub(crate) fn magic(&mut self, magic: u64, what: &str) -> Result<(), DglError> {
        let offset = self.pos();
        let found = self.u64(&format!("the magic number of {what}"))?;
        if found != magic {
            return Err(DglError::BadHeader {
                path: self.path.to_path_buf(),
                what: format!("the magic number of {what}"),
                offset,
                found: format!("{found:#018x}"),
                expected: format!("{magic:#018x}"),
                hint: REWRITE_HINT,
            });
        }
        Ok(())
    }

    /// A vector length, checked against the bytes left (each element takes at least
    /// `min_elem_bytes`), so a corrupt length cannot make the reader allocate wildly.
    pub(crate) fn len(&mut self, what: &str, min_elem_bytes: u64) -> Result<usize, DglError> {
        let offset = self.pos();
        let n = self.u64(&format!("the length of {what}"))?;
        let left = (self.bytes.len() - self.pos) as u64;
        if n.saturating_mul(min_elem_bytes.max(1)) > left {
            return Err(self.truncated(&format!("{n} elements of {what}"), offset));
        }
        Ok(n as usize)
    }

    /// A dmlc `std::string`.
    pub(crate) fn string(&mut self, what: &str) -> Result<String, DglError> {
        let offset = self.pos();
        let n = self.len(what, 1)?;
        let bytes = self.take(n as u64, what)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| {
            DglError::invalid(
                self.path,
                format!("{what} at byte {offset} is not UTF-8"),
                REWRITE_HINT,
            )
        })
    }

    pub(crate) fn truncated(&self, what: &str, offset: u64) -> DglError {
        DglError::Truncated {
            path: self.path.to_path_buf(),
            what: what.to_string(),
            offset,
            len: self.bytes.len() as u64,
        }
    }
}
