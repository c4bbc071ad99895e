//! Typed, read-only storage: an owned `Vec<T>` or a region of a memory-mapped file.
//!
//! This is the crate's only `unsafe` code: viewing mapped bytes as `&[T]`. It is sound because
//! `T` is a plain number type (every bit pattern is valid), the region's bounds and alignment are
//! checked when the buffer is made, and the `Arc<Mmap>` keeps the mapping alive as long as the
//! buffer. As with every mmap, the file must not be truncated or rewritten while it is mapped;
//! gs writes partitions to a fresh directory and renames it into place, so it never does.

use std::fmt;
use std::marker::PhantomData;
use std::mem::{align_of, size_of};
use std::sync::Arc;

use memmap2::Mmap;

#[cfg(target_endian = "big")]
compile_error!(
    "gs-graph reads little-endian safetensors files by mapping them; big-endian hosts are not supported"
);

/// Plain numeric element types that may be viewed directly from file bytes. Crate-private, and
/// implemented only for types whose every bit pattern is a valid value.
pub(crate) trait Element: Copy + Default + Send + Sync + 'static {}
impl Element for f32 {}
impl Element for i64 {}
impl Element for u64 {}
impl Element for u8 {}

/// A read-only slice of `T`, owned or mapped.
#[derive(Clone)]
pub(crate) enum Buffer<T: Element> {
    /// Data in memory.
    Owned(Vec<T>),
    /// `len` elements at byte `offset` of a mapped file; aligned for `T`.
    Mapped {
        map: Arc<Mmap>,
        offset: usize,
        len: usize,
        _elem: PhantomData<T>,
    },
}

impl<T: Element> Buffer<T> {
    /// Views `len` elements at byte `offset` of `map` without copying when the address is aligned
    /// for `T`, and copies otherwise. Returns `None` if the region is outside the map.
    pub(crate) fn from_map(map: &Arc<Mmap>, offset: usize, len: usize) -> Option<Self> {
        let bytes = len.checked_mul(size_of::<T>())?;
        let end = offset.checked_add(bytes)?;
        let region = map.get(offset..end)?;
        if (region.as_ptr() as usize).is_multiple_of(align_of::<T>()) {
            return Some(Buffer::Mapped {
                map: Arc::clone(map),
                offset,
                len,
                _elem: PhantomData,
            });
        }
        let mut owned = vec![T::default(); len];
        // SAFETY: `owned` has exactly `bytes` bytes of plain numbers; any bit pattern is valid and
        // the source and destination do not overlap.
        unsafe {
            std::ptr::copy_nonoverlapping(region.as_ptr(), owned.as_mut_ptr().cast::<u8>(), bytes);
        }
        Some(Buffer::Owned(owned))
    }

    /// The elements.
    pub(crate) fn as_slice(&self) -> &[T] {
        match self {
            Buffer::Owned(v) => v,
            Buffer::Mapped {
                map, offset, len, ..
            } => {
                // SAFETY: bounds and alignment were checked in `from_map`; `T` is a plain number
                // type; `map` is kept alive by `self` and is never written through.
                unsafe { std::slice::from_raw_parts(map.as_ptr().add(*offset).cast::<T>(), *len) }
            }
        }
    }

    /// The elements as little-endian bytes (for writing).
    pub(crate) fn as_bytes(&self) -> &[u8] {
        let s = self.as_slice();
        // SAFETY: any initialised plain-number slice may be viewed as bytes.
        unsafe { std::slice::from_raw_parts(s.as_ptr().cast::<u8>(), std::mem::size_of_val(s)) }
    }

    /// True when the data lives in a mapped file rather than in memory.
    pub(crate) fn is_mapped(&self) -> bool {
        matches!(self, Buffer::Mapped { .. })
    }
}

impl<T: Element> fmt::Debug for Buffer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = if self.is_mapped() { "mapped" } else { "owned" };
        write!(f, "Buffer({kind}, len {})", self.as_slice().len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn mapped_views_and_misaligned_copies() {
        let mut file = tempfile::tempfile().unwrap();
        let mut bytes = vec![0u8; 1];
        for v in [1.5f32, -2.0, 3.25] {
            bytes.extend(v.to_le_bytes());
        }
        bytes.extend([0u8; 3]);
        for v in [7.0f32, 8.0] {
            bytes.extend(v.to_le_bytes());
        }
        file.write_all(&bytes).unwrap();
        // SAFETY: the temporary file is private to this test and not modified while mapped.
        let map = Arc::new(unsafe { Mmap::map(&file).unwrap() });
        let misaligned = Buffer::<f32>::from_map(&map, 1, 3).unwrap();
        assert!(!misaligned.is_mapped());
        assert_eq!(misaligned.as_slice(), &[1.5, -2.0, 3.25]);
        let aligned = Buffer::<f32>::from_map(&map, 16, 2).unwrap();
        assert!(aligned.is_mapped());
        assert_eq!(aligned.as_slice(), &[7.0, 8.0]);
        assert_eq!(aligned.as_bytes(), &bytes[16..24]);
        assert!(Buffer::<f32>::from_map(&map, 16, 3).is_none());
    }
}
