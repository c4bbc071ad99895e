//! DGL's serialized `NDArray` (`include/dgl/runtime/ndarray.h::SaveDGLArray`):
//!
//! ```text
//! u64 magic 0xDD5E40F096B4A13F, u64 reserved,
//! DGLContext {i32 device_type (1 = CPU), i32 device_id}, i32 ndim,
//! DGLDataType {u8 code (0 int, 1 uint, 2 float), u8 bits, u16 lanes},
//! i64 shape[ndim], i64 nbytes, nbytes of little-endian data
//! ```
//!
//! The data sits at an arbitrary offset (DGL does not align it), so it is copied when converted.

use std::path::Path;

use super::error::{DglError, REWRITE_HINT};
use super::stream::Reader;
use crate::array::Array;

const NDARRAY_MAGIC: u64 = 0xDD5E_40F0_96B4_A13F;

/// DLPack/DGL type codes.
const CODE_INT: u8 = 0;
const CODE_UINT: u8 = 1;
const CODE_FLOAT: u8 = 2;
const CODE_BFLOAT: u8 = 4;
const CODE_BOOL: u8 = 6;

/// One array as stored, borrowing its data from the file's bytes.
#[derive(Debug, Clone)]
pub(crate) struct NdArray<'a> {
    code: u8,
    bits: u8,
    pub(crate) shape: Vec<u64>,
    data: &'a [u8],
}

impl<'a> NdArray<'a> {
    /// Reads one array at the reader's position; `what` names it in errors.
    pub(crate) fn read(r: &mut Reader<'a>, what: &str) -> Result<Self, DglError> {
        r.magic(NDARRAY_MAGIC, &format!("array {what}"))?;
        r.u64(what)?; // reserved
        let dev_offset = r.pos();
        let device_type = r.i32(what)?;
        r.i32(what)?; // device id
        if device_type != 1 {
            return Err(DglError::BadHeader {
                path: r.path.to_path_buf(),
                what: format!("the device type of array {what}"),
                offset: dev_offset,
                found: device_type.to_string(),
                expected: "1 (CPU)".to_string(),
                hint: REWRITE_HINT,
            });
        }
        let ndim_offset = r.pos();
        let ndim = r.i32(what)?;
        let code = r.u8(what)?;
        let bits = r.u8(what)?;
        let lanes = r.u16(what)?;
        if !(0..=8).contains(&ndim) || lanes != 1 || bits == 0 || bits % 8 != 0 {
            return Err(DglError::invalid(
                r.path,
                format!(
                    "array {what} at byte {ndim_offset} has ndim {ndim}, {bits} bits and {lanes} lanes"
                ),
                REWRITE_HINT,
            ));
        }
        let mut shape = Vec::with_capacity(ndim as usize);
        for _ in 0..ndim {
            let d = r.i64(what)?;
            let d = u64::try_from(d).map_err(|_| {
                DglError::invalid(
                    r.path,
                    format!("array {what} has a negative dimension {d}"),
                    REWRITE_HINT,
                )
            })?;
            shape.push(d);
        }
        let elems = shape
            .iter()
            .try_fold(1u64, |a, &d| a.checked_mul(d))
            .and_then(|e| e.checked_mul(u64::from(bits / 8)));
        let nbytes_offset = r.pos();
        let nbytes = r.i64(what)?;
        if elems != Some(nbytes as u64) || nbytes < 0 {
            return Err(DglError::invalid(
                r.path,
                format!(
                    "array {what} at byte {nbytes_offset} says {nbytes} bytes but its shape {shape:?} of {bits}-bit elements needs {}",
                    elems.map_or("more than 2^64".to_string(), |e| e.to_string())
                ),
                REWRITE_HINT,
            ));
        }
        let data = r.take(nbytes as u64, &format!("the data of array {what}"))?;
        Ok(NdArray {
            code,
            bits,
            shape,
            data,
        })
    }

    /// The element type in numpy's spelling (`int64`, `float32`, ...).
    pub(crate) fn dtype_name(&self) -> String {
        let kind = match self.code {
            CODE_INT => "int",
            CODE_UINT => "uint",
            CODE_FLOAT => "float",
            CODE_BFLOAT => "bfloat",
            CODE_BOOL => "bool",
            _ => "type-code-",
        };
        if self.code == CODE_BOOL {
            return kind.to_string();
        }
        if kind == "type-code-" {
            return format!("type-code-{}-{}bit", self.code, self.bits);
        }
        format!("{kind}{}", self.bits)
    }

    fn chunks<const N: usize>(&self) -> impl Iterator<Item = [u8; N]> + '_ {
        self.data
            .chunks_exact(N)
            .map(|c| c.try_into().expect("chunks_exact gives N bytes"))
    }

    /// The elements of an integer (or bool) array as i64; `None` for floats or a uint64 value
    /// above `i64::MAX`.
    pub(crate) fn to_i64(&self) -> Option<Vec<i64>> {
        let signed = self.code == CODE_INT;
        if !matches!(self.code, CODE_INT | CODE_UINT | CODE_BOOL) {
            return None;
        }
        Some(match (self.bits, signed) {
            (8, true) => self.data.iter().map(|&b| i64::from(b as i8)).collect(),
            (8, false) => self.data.iter().map(|&b| i64::from(b)).collect(),
            (16, true) => self
                .chunks()
                .map(|c| i64::from(i16::from_le_bytes(c)))
                .collect(),
            (16, false) => self
                .chunks()
                .map(|c| i64::from(u16::from_le_bytes(c)))
                .collect(),
            (32, true) => self
                .chunks()
                .map(|c| i64::from(i32::from_le_bytes(c)))
                .collect(),
            (32, false) => self
                .chunks()
                .map(|c| i64::from(u32::from_le_bytes(c)))
                .collect(),
            (64, true) => self.chunks().map(i64::from_le_bytes).collect(),
            (64, false) => self
                .chunks()
                .map(|c| i64::try_from(u64::from_le_bytes(c)).ok())
                .collect::<Option<_>>()?,
            _ => return None,
        })
    }

    /// The elements as i64, or an error naming `what` in `path`.
    pub(crate) fn ints(&self, path: &Path, what: &str) -> Result<Vec<i64>, DglError> {
        self.to_i64().ok_or_else(|| {
            DglError::invalid(
                path,
                format!(
                    "{what} has dtype {}, expected an integer type",
                    self.dtype_name()
                ),
                REWRITE_HINT,
            )
        })
    }

    /// Converts to a gs [`Array`] of shape `[n]` or `[n, d]`: uint8/bool, and int8 without
    /// negative values, become uint8 (masks), other integers widen to int64 (labels), floats
    /// become float32 (float64 is narrowed, as GraphStorm casts features to float32 for
    /// training).
    pub(crate) fn to_array(&self) -> Result<Array, String> {
        let shape: Vec<usize> = self.shape.iter().map(|&d| d as usize).collect();
        if !(1..=2).contains(&shape.len()) {
            return Err(format!(
                "has shape {shape:?}; gs reads node/edge data of shape [n] or [n, d]"
            ));
        }
        let unsupported = || format!("has dtype {}, which gs cannot hold", self.dtype_name());
        let result = match (self.code, self.bits) {
            (CODE_UINT | CODE_BOOL, 8) => Array::from_u8(self.data.to_vec(), &shape),
            // GraphStorm stores masks (and one-hot columns) as int8; keep them as gs's uint8
            // masks when no value is negative.
            (CODE_INT, 8) if self.data.iter().all(|&b| b < 0x80) => {
                Array::from_u8(self.data.to_vec(), &shape)
            }
            (CODE_INT | CODE_UINT, _) => {
                Array::from_i64(self.to_i64().ok_or_else(unsupported)?, &shape)
            }
            (CODE_FLOAT, 32) => {
                Array::from_f32(self.chunks().map(f32::from_le_bytes).collect(), &shape)
            }
            (CODE_FLOAT, 64) => Array::from_f32(
                self.chunks()
                    .map(|c| f64::from_le_bytes(c) as f32)
                    .collect(),
                &shape,
            ),
            (CODE_FLOAT, 16) => Array::from_f32(
                self.chunks()
                    .map(|c| f16_to_f32(u16::from_le_bytes(c)))
                    .collect(),
                &shape,
            ),
            (CODE_BFLOAT, 16) => Array::from_f32(
                self.chunks()
                    .map(|c| f32::from_bits(u32::from(u16::from_le_bytes(c)) << 16))
                    .collect(),
                &shape,
            ),
            _ => return Err(unsupported()),
        };
        result.map_err(|e| e.to_string())
    }
}

/// IEEE half to single precision.
fn f16_to_f32(h: u16) -> f32 {
    let sign = u32::from(h >> 15) << 31;
    let exp = u32::from((h >> 10) & 0x1f);
    let frac = u32::from(h & 0x3ff);
    let bits = match (exp, frac) {
        (0, 0) => sign,
        (0, f) => {
            // Subnormal: value = f * 2^-24.
            let v = f as f32 * (1.0 / 16_777_216.0);
            return if sign != 0 { -v } else { v };
        }
        (0x1f, f) => sign | 0x7f80_0000 | (f << 13),
        (e, f) => sign | ((e + 112) << 23) | (f << 13),
    };
    f32::from_bits(bits)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(code: u8, bits: u8, shape: &[i64], data: &[u8]) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend(NDARRAY_MAGIC.to_le_bytes());
        b.extend(0u64.to_le_bytes());
        b.extend(1i32.to_le_bytes());
        b.extend(0i32.to_le_bytes());
        b.extend((shape.len() as i32).to_le_bytes());
        b.extend([code, bits]);
        b.extend(1u16.to_le_bytes());
        for d in shape {
            b.extend(d.to_le_bytes());
        }
        b.extend((data.len() as i64).to_le_bytes());
        b.extend(data);
        b
    }

    #[test]
    fn reads_and_converts() {
        let data: Vec<u8> = [7i32, -1].iter().flat_map(|v| v.to_le_bytes()).collect();
        let bytes = encode(CODE_INT, 32, &[2], &data);
        let path = Path::new("x.dgl");
        let a = NdArray::read(&mut Reader::new(path, &bytes), "t").unwrap();
        assert_eq!(a.dtype_name(), "int32");
        assert_eq!(a.to_i64(), Some(vec![7, -1]));
        assert_eq!(a.to_array().unwrap().as_i64(), Some(&[7i64, -1][..]));
        let half = encode(CODE_FLOAT, 16, &[1, 2], &[0x00, 0x3c, 0x00, 0xc0]);
        let a = NdArray::read(&mut Reader::new(path, &half), "h").unwrap();
        assert_eq!(a.to_array().unwrap().as_f32(), Some(&[1.0f32, -2.0][..]));
        let cut = &bytes[..bytes.len() - 1];
        let err = NdArray::read(&mut Reader::new(path, cut), "t")
            .unwrap_err()
            .to_string();
        assert!(err.contains("truncated") && err.contains("hint:"), "{err}");
    }
}
