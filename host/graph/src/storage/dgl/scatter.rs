//! Placing feature rows read per partition at their per-type ids.

use crate::array::{Array, DType};

/// Rows of one feature from one partition: the per-type id of each row, and the rows.
pub(crate) struct Piece {
    pub(crate) ids: Vec<u64>,
    pub(crate) rows: Array,
}

/// Builds an `n`-row array from `pieces` (all of one dtype and row shape), row `ids[i]` taken
/// from row `i` of its piece. Every row must be given exactly once.
pub(crate) fn scatter(pieces: &[Piece], n: u64) -> Result<Array, String> {
    let first = pieces.first().ok_or("no partition holds it")?;
    let (dtype, shape) = (first.rows.dtype(), first.rows.shape()[1..].to_vec());
    if let Some(p) = pieces
        .iter()
        .find(|p| p.rows.dtype() != dtype || p.rows.shape()[1..] != shape[..])
    {
        return Err(format!(
            "partitions disagree on its dtype/shape ({dtype} {:?} vs {} {:?})",
            first.rows.shape(),
            p.rows.dtype(),
            p.rows.shape()
        ));
    }
    let total: usize = pieces.iter().map(|p| p.ids.len()).sum();
    if total as u64 != n {
        return Err(format!("the partitions hold {total} rows for {n} ids"));
    }
    let width = first.rows.row_width();
    let mut seen = vec![false; n as usize];
    for p in pieces {
        for &id in &p.ids {
            let slot = seen
                .get_mut(id as usize)
                .ok_or(format!("id {id} is out of range"))?;
            if *slot {
                return Err(format!("id {id} has rows in two partitions"));
            }
            *slot = true;
        }
    }
    let mut out_shape = vec![n as usize];
    out_shape.extend(&shape);
    fn place<T: Copy + Default>(
        pieces: &[Piece],
        n: usize,
        width: usize,
        get: impl Fn(&Array) -> &[T],
    ) -> Vec<T> {
        let mut out = vec![T::default(); n * width];
        for p in pieces {
            let src = get(&p.rows);
            for (r, &id) in p.ids.iter().enumerate() {
                let id = id as usize;
                out[id * width..(id + 1) * width].copy_from_slice(&src[r * width..(r + 1) * width]);
            }
        }
        out
    }
    let n = n as usize;
    let result = match dtype {
        DType::F32 => Array::from_f32(
            place(pieces, n, width, |a| a.as_f32().expect("f32")),
            &out_shape,
        ),
        DType::I64 => Array::from_i64(
            place(pieces, n, width, |a| a.as_i64().expect("i64")),
            &out_shape,
        ),
        DType::U8 => Array::from_u8(
            place(pieces, n, width, |a| a.as_u8().expect("u8")),
            &out_shape,
        ),
    };
    result.map_err(|e| e.to_string())
}

/// Row `order[i]` of `a` as row `i` (a permutation of rows).
pub(crate) fn permute_rows(a: &Array, order: &[usize]) -> Array {
    let width = a.row_width();
    fn take<T: Copy>(src: &[T], order: &[usize], width: usize) -> Vec<T> {
        order
            .iter()
            .flat_map(|&r| src[r * width..(r + 1) * width].iter().copied())
            .collect()
    }
    let mut shape = a.shape().to_vec();
    shape[0] = order.len();
    let result = match a.dtype() {
        DType::F32 => Array::from_f32(take(a.as_f32().expect("f32"), order, width), &shape),
        DType::I64 => Array::from_i64(take(a.as_i64().expect("i64"), order, width), &shape),
        DType::U8 => Array::from_u8(take(a.as_u8().expect("u8"), order, width), &shape),
    };
    result.expect("a permutation keeps the shape valid")
}
