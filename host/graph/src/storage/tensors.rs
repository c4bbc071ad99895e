//! Reading and writing safetensors files: mapped reads, streaming writes.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use memmap2::Mmap;
use safetensors::tensor::{Dtype, SafeTensors, View};

use crate::array::{Array, ArrayData, DType};
use crate::buffer::{Buffer, Element};
use crate::error::StorageError;

/// One tensor's header entry: dtype, shape and byte offset into the map.
#[derive(Debug, Clone)]
pub(crate) struct TensorMeta {
    pub(crate) dtype: Dtype,
    pub(crate) shape: Vec<usize>,
    offset: usize,
    elems: usize,
}

/// A safetensors file mapped into memory, with its header parsed.
pub(crate) struct MappedFile {
    pub(crate) path: PathBuf,
    map: Arc<Mmap>,
    pub(crate) tensors: BTreeMap<String, TensorMeta>,
}

impl MappedFile {
    /// Maps `path` and parses its header; pages are read in as they are touched.
    pub(crate) fn open(path: &Path) -> Result<Self, StorageError> {
        Self::open_with(path, false)
    }

    /// Maps `path` with every page mapped up front (one `MAP_POPULATE` call instead of a page
    /// fault per 4 KiB), for files that are read whole right away, such as the graph structure
    /// that loading validates.
    pub(crate) fn open_populated(path: &Path) -> Result<Self, StorageError> {
        Self::open_with(path, true)
    }

    fn open_with(path: &Path, populate: bool) -> Result<Self, StorageError> {
        let io = |action| {
            move |source| StorageError::Io {
                action,
                path: path.to_path_buf(),
                source,
            }
        };
        let file = File::open(path).map_err(io("open"))?;
        // SAFETY: gs's partition files are written once into a fresh directory and never
        // modified in place; see `buffer.rs`.
        let mut options = memmap2::MmapOptions::new();
        if populate {
            options.populate();
        }
        let map = Arc::new(unsafe { options.map(&file) }.map_err(io("map"))?);
        let st = SafeTensors::deserialize(&map).map_err(|e| StorageError::Safetensors {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        let base = map.as_ptr() as usize;
        let tensors = st
            .iter()
            .map(|(name, view)| {
                let meta = TensorMeta {
                    dtype: view.dtype(),
                    shape: view.shape().to_vec(),
                    offset: view.data().as_ptr() as usize - base,
                    elems: view.shape().iter().product(),
                };
                (name.to_string(), meta)
            })
            .collect();
        drop(st);
        Ok(MappedFile {
            path: path.to_path_buf(),
            map,
            tensors,
        })
    }

    /// A zero-copy buffer over a tensor whose dtype has `T`'s width (checked by the caller).
    pub(crate) fn buffer<T: Element>(&self, meta: &TensorMeta) -> Buffer<T> {
        // The header parser already checked that the data lies inside the file.
        Buffer::from_map(&self.map, meta.offset, meta.elems)
            .expect("safetensors checked the tensor's byte range")
    }

    /// A node/edge data array, mapped. Accepts F32, I64, U8 and BOOL (as U8) of rank 1 or 2.
    pub(crate) fn array(&self, key: &str, meta: &TensorMeta) -> Result<Array, StorageError> {
        let data = match meta.dtype {
            Dtype::F32 => ArrayData::F32(self.buffer(meta)),
            Dtype::I64 => ArrayData::I64(self.buffer(meta)),
            Dtype::U8 | Dtype::BOOL => ArrayData::U8(self.buffer(meta)),
            other => {
                return Err(self.bad(
                    key,
                    format!("has dtype {other:?}"),
                    "store features as F32, labels as I64 and masks as U8",
                ));
            }
        };
        Array::new(data, &meta.shape).map_err(|_| {
            self.bad(
                key,
                format!("has shape {:?}", meta.shape),
                "data arrays must be [rows] or [rows, dim]",
            )
        })
    }

    pub(crate) fn bad(&self, key: &str, problem: String, hint: &str) -> StorageError {
        StorageError::BadTensor {
            path: self.path.clone(),
            key: key.to_string(),
            problem,
            hint: hint.to_string(),
        }
    }
}

/// A tensor to write: borrowed bytes with a dtype and shape.
pub(crate) struct RawTensor<'a> {
    pub(crate) dtype: Dtype,
    pub(crate) shape: Vec<usize>,
    pub(crate) bytes: &'a [u8],
}

impl<'a> RawTensor<'a> {
    /// All of `a`, borrowed.
    #[cfg(test)]
    pub(crate) fn from_array(a: &'a Array) -> Self {
        Self::rows_of(a, 0..a.num_rows())
    }

    /// Rows `rows` of `a`, borrowed.
    pub(crate) fn rows_of(a: &'a Array, rows: std::ops::Range<usize>) -> Self {
        let dtype = match a.dtype() {
            DType::F32 => Dtype::F32,
            DType::I64 => Dtype::I64,
            DType::U8 => Dtype::U8,
        };
        let mut shape = a.shape().to_vec();
        shape[0] = rows.len();
        RawTensor {
            dtype,
            shape,
            bytes: a.row_bytes(rows),
        }
    }
}

impl View for RawTensor<'_> {
    fn dtype(&self) -> Dtype {
        self.dtype
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn data(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(self.bytes)
    }
    fn data_len(&self) -> usize {
        self.bytes.len()
    }
}

/// Writes `tensors` to `path` and flushes it to disk.
pub(crate) fn write_file(
    path: &Path,
    tensors: Vec<(String, RawTensor<'_>)>,
) -> Result<(), StorageError> {
    let mut info = std::collections::HashMap::new();
    info.insert(
        super::format::VERSION_KEY.to_string(),
        super::format::GS_FORMAT_VERSION.to_string(),
    );
    safetensors::serialize_to_file(tensors, Some(info), path).map_err(|e| match e {
        safetensors::SafeTensorError::IoError(source) => StorageError::Io {
            action: "write",
            path: path.to_path_buf(),
            source,
        },
        other => StorageError::Safetensors {
            path: path.to_path_buf(),
            reason: other.to_string(),
        },
    })?;
    File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(|source| StorageError::Io {
            action: "sync",
            path: path.to_path_buf(),
            source,
        })
}
