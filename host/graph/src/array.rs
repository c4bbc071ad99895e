//! `Array`: a small typed node/edge data array (`[n]` or `[n, d]`), owned or memory-mapped.

use std::fmt;

use crate::buffer::{Buffer, Element};
use crate::error::GraphError;

/// Element type of an [`Array`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DType {
    /// 32-bit float: features.
    F32,
    /// 64-bit signed integer: labels.
    I64,
    /// Byte; used for boolean masks (0 / 1).
    U8,
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DType::F32 => "float32",
            DType::I64 => "int64",
            DType::U8 => "uint8",
        })
    }
}

#[derive(Debug, Clone)]
pub(crate) enum ArrayData {
    F32(Buffer<f32>),
    I64(Buffer<i64>),
    U8(Buffer<u8>),
}

/// A named data array of a node or edge type: one row per node (or edge), shape `[n]` or
/// `[n, d]`, row-major. Labels and train/val/test masks are arrays like any feature.
///
/// Arrays loaded from a partition view the mapped file directly (see [`Array::is_mapped`]).
#[derive(Debug, Clone)]
pub struct Array {
    shape: Vec<usize>,
    data: ArrayData,
}

impl Array {
    /// A float32 array. `shape` is `[n]` or `[n, d]` and must match `data.len()`.
    pub fn from_f32(data: Vec<f32>, shape: &[usize]) -> Result<Self, GraphError> {
        Self::new(ArrayData::F32(Buffer::Owned(data)), shape)
    }

    /// An int64 array (e.g. labels). `shape` is `[n]` or `[n, d]`.
    pub fn from_i64(data: Vec<i64>, shape: &[usize]) -> Result<Self, GraphError> {
        Self::new(ArrayData::I64(Buffer::Owned(data)), shape)
    }

    /// A uint8 array (e.g. a 0/1 mask). `shape` is `[n]` or `[n, d]`.
    pub fn from_u8(data: Vec<u8>, shape: &[usize]) -> Result<Self, GraphError> {
        Self::new(ArrayData::U8(Buffer::Owned(data)), shape)
    }

    pub(crate) fn new(data: ArrayData, shape: &[usize]) -> Result<Self, GraphError> {
        let len = match &data {
            ArrayData::F32(b) => b.as_slice().len(),
            ArrayData::I64(b) => b.as_slice().len(),
            ArrayData::U8(b) => b.as_slice().len(),
        };
        let elems = shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
        if !(1..=2).contains(&shape.len()) || elems != Some(len) {
            return Err(GraphError::BadShape {
                shape: shape.to_vec(),
                len,
            });
        }
        Ok(Array {
            shape: shape.to_vec(),
            data,
        })
    }

    /// Element type.
    pub fn dtype(&self) -> DType {
        match self.data {
            ArrayData::F32(_) => DType::F32,
            ArrayData::I64(_) => DType::I64,
            ArrayData::U8(_) => DType::U8,
        }
    }

    /// Shape, `[n]` or `[n, d]`.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// Number of rows (`n`).
    pub fn num_rows(&self) -> usize {
        self.shape[0]
    }

    /// Elements per row: `d`, or 1 for a 1-D array.
    pub fn row_width(&self) -> usize {
        self.shape.get(1).copied().unwrap_or(1)
    }

    /// The data if it is float32.
    pub fn as_f32(&self) -> Option<&[f32]> {
        match &self.data {
            ArrayData::F32(b) => Some(b.as_slice()),
            _ => None,
        }
    }

    /// The data if it is int64.
    pub fn as_i64(&self) -> Option<&[i64]> {
        match &self.data {
            ArrayData::I64(b) => Some(b.as_slice()),
            _ => None,
        }
    }

    /// The data if it is uint8.
    pub fn as_u8(&self) -> Option<&[u8]> {
        match &self.data {
            ArrayData::U8(b) => Some(b.as_slice()),
            _ => None,
        }
    }

    /// True when the array views a memory-mapped file instead of owning its data.
    pub fn is_mapped(&self) -> bool {
        match &self.data {
            ArrayData::F32(b) => b.is_mapped(),
            ArrayData::I64(b) => b.is_mapped(),
            ArrayData::U8(b) => b.is_mapped(),
        }
    }

    /// The raw little-endian bytes (for writing).
    pub(crate) fn as_bytes(&self) -> &[u8] {
        match &self.data {
            ArrayData::F32(b) => b.as_bytes(),
            ArrayData::I64(b) => b.as_bytes(),
            ArrayData::U8(b) => b.as_bytes(),
        }
    }
}

/// Applies `$body` to the buffer of an [`ArrayData`] whatever its element type, wrapping the
/// result back into the same variant: `map_data!(data, |b| ...)`.
macro_rules! map_data {
    ($data:expr, |$b:ident| $body:expr) => {
        match $data {
            ArrayData::F32($b) => ArrayData::F32($body),
            ArrayData::I64($b) => ArrayData::I64($body),
            ArrayData::U8($b) => ArrayData::U8($body),
        }
    };
}

impl Array {
    /// The rows `rows` (in that order) as a new owned array.
    pub fn take_rows(&self, rows: &[usize]) -> Array {
        fn take<T: Element>(b: &Buffer<T>, width: usize, rows: &[usize]) -> Buffer<T> {
            let src = b.as_slice();
            let mut out = Vec::with_capacity(rows.len() * width);
            for &r in rows {
                out.extend_from_slice(&src[r * width..(r + 1) * width]);
            }
            Buffer::Owned(out)
        }
        let width = self.row_width();
        let mut shape = self.shape.clone();
        shape[0] = rows.len();
        Array {
            data: map_data!(&self.data, |b| take(b, width, rows)),
            shape,
        }
    }

    /// The arrays stacked row-wise into one owned array. All must have the same dtype and row
    /// shape; `None` otherwise or when `arrays` is empty.
    pub fn concat_rows(arrays: &[&Array]) -> Option<Array> {
        let first = arrays.first()?;
        if arrays
            .iter()
            .any(|a| a.dtype() != first.dtype() || a.shape[1..] != first.shape[1..])
        {
            return None;
        }
        fn concat<T: Element>(parts: impl Iterator<Item = Option<Vec<T>>>) -> Option<Buffer<T>> {
            let mut out = Vec::new();
            for p in parts {
                out.extend(p?);
            }
            Some(Buffer::Owned(out))
        }
        let data = match first.data {
            ArrayData::F32(_) => ArrayData::F32(concat(
                arrays.iter().map(|a| a.as_f32().map(<[f32]>::to_vec)),
            )?),
            ArrayData::I64(_) => ArrayData::I64(concat(
                arrays.iter().map(|a| a.as_i64().map(<[i64]>::to_vec)),
            )?),
            ArrayData::U8(_) => ArrayData::U8(concat(
                arrays.iter().map(|a| a.as_u8().map(<[u8]>::to_vec)),
            )?),
        };
        let mut shape = first.shape.clone();
        shape[0] = arrays.iter().map(|a| a.num_rows()).sum();
        Some(Array { data, shape })
    }

    /// The little-endian bytes of rows `rows` (for writing part of an array).
    pub(crate) fn row_bytes(&self, rows: std::ops::Range<usize>) -> &[u8] {
        let row = self.as_bytes().len() / self.num_rows().max(1);
        &self.as_bytes()[rows.start * row..rows.end * row]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_are_checked() {
        let a = Array::from_f32(vec![0.0; 6], &[3, 2]).unwrap();
        assert_eq!((a.num_rows(), a.row_width(), a.dtype()), (3, 2, DType::F32));
        assert!(!a.is_mapped());
        assert!(a.as_i64().is_none());
        assert_eq!(Array::from_i64(vec![1, 2], &[2]).unwrap().row_width(), 1);
        assert!(Array::from_f32(vec![0.0; 5], &[3, 2]).is_err());
        assert!(Array::from_u8(vec![0; 8], &[2, 2, 2]).is_err());
        assert!(Array::from_u8(vec![], &[]).is_err());
        assert!(Array::from_u8(vec![], &[0]).is_ok());
    }

    #[test]
    fn rows_are_taken_and_concatenated() {
        let a = Array::from_f32((0..6).map(|x| x as f32).collect(), &[3, 2]).unwrap();
        let t = a.take_rows(&[2, 0, 2]);
        assert_eq!(t.shape(), &[3, 2]);
        assert_eq!(t.as_f32().unwrap(), &[4.0, 5.0, 0.0, 1.0, 4.0, 5.0]);
        let c = Array::concat_rows(&[&a, &t]).unwrap();
        assert_eq!(c.shape(), &[6, 2]);
        assert_eq!(&c.as_f32().unwrap()[6..], t.as_f32().unwrap());
        assert_eq!(a.row_bytes(1..2), &a.as_bytes()[8..16]);
        let labels = Array::from_i64(vec![1, 2], &[2]).unwrap();
        assert!(Array::concat_rows(&[&a, &labels]).is_none());
        let narrow = Array::from_f32(vec![0.0; 3], &[3, 1]).unwrap();
        assert!(Array::concat_rows(&[&a, &narrow]).is_none());
    }
}
