//! `ListColumn`: the rows of a list-of-numbers column (a Parquet `list<float>` feature), stored
//! flat in one buffer with row offsets.
//!
//! A 1M-row, 100-float column is one 400 MB buffer (float32 leaves stay float32) instead of a
//! million separate `Vec<f64>`s (800 MB of values, their growth slack, and a heap allocation
//! each), and a `no-op` feature can take the buffer as it is (see [`ListColumn::into_matrix`]).

use std::fmt;

/// The values of a [`ListColumn`]: float32 leaves are kept as float32 (every float32 is an
/// exact float64, so nothing is lost); every other number type as float64.
#[derive(Clone)]
enum Values {
    F32(Vec<f32>),
    F64(Vec<f64>),
}

/// Rows of numbers; a row may be null (`None`) or empty.
#[derive(Clone)]
pub struct ListColumn {
    values: Values,
    /// `rows + 1` offsets into `values`: row `r` is `offsets[r]..offsets[r + 1]`.
    offsets: Vec<usize>,
    /// Per row: true when the row is null.
    null: Vec<bool>,
}

/// One row of a [`ListColumn`].
#[derive(Debug, Clone, Copy)]
pub enum ListRow<'a> {
    /// A row of a column read from float32 leaves.
    F32(&'a [f32]),
    /// A row of any other column.
    F64(&'a [f64]),
}

impl ListRow<'_> {
    /// Number of values.
    pub fn len(&self) -> usize {
        match self {
            ListRow::F32(v) => v.len(),
            ListRow::F64(v) => v.len(),
        }
    }

    /// True when the row has no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The values as float64.
    pub fn iter(&self) -> impl Iterator<Item = f64> + '_ {
        let (a, b) = match self {
            ListRow::F32(v) => (Some(v.iter().map(|&x| f64::from(x))), None),
            ListRow::F64(v) => (None, Some(v.iter().copied())),
        };
        a.into_iter().flatten().chain(b.into_iter().flatten())
    }

    /// The values as float64, into `out` (cleared first).
    pub fn to_f64(&self, out: &mut Vec<f64>) {
        out.clear();
        out.extend(self.iter());
    }
}

impl ListColumn {
    /// An empty column that will hold about `rows` rows and `values` values, float32 when
    /// `float32` (the leaf type), else float64.
    pub(crate) fn with_capacity(float32: bool, rows: usize, values: usize) -> Self {
        let mut offsets = Vec::with_capacity(rows + 1);
        offsets.push(0);
        ListColumn {
            values: if float32 {
                Values::F32(Vec::with_capacity(values))
            } else {
                Values::F64(Vec::with_capacity(values))
            },
            offsets,
            null: Vec::with_capacity(rows),
        }
    }

    /// A float64 column from its rows.
    pub fn from_rows(rows: Vec<Option<Vec<f64>>>) -> Self {
        let total = rows.iter().flatten().map(Vec::len).sum();
        let mut c = ListColumn::with_capacity(false, rows.len(), total);
        for row in rows {
            match row {
                None => c.push_null(),
                Some(v) => {
                    c.start_row();
                    v.into_iter().for_each(|x| c.push_value(x));
                }
            }
        }
        c
    }

    /// A float32 column of `values.len() / width` rows of `width` values (row-major).
    pub(crate) fn from_matrix(values: Vec<f32>, width: usize) -> Self {
        let rows = values.len().checked_div(width).unwrap_or(0);
        ListColumn {
            values: Values::F32(values),
            offsets: (0..=rows).map(|r| r * width).collect(),
            null: vec![false; rows],
        }
    }

    /// Starts a new (empty, non-null) row.
    pub(crate) fn start_row(&mut self) {
        self.offsets.push(self.values_len());
        self.null.push(false);
    }

    /// Appends a null row.
    pub(crate) fn push_null(&mut self) {
        self.offsets.push(self.values_len());
        self.null.push(true);
    }

    /// Appends `x` to the last row (float32 columns store `x as f32`, exact for values read
    /// from float32 leaves).
    pub(crate) fn push_value(&mut self, x: f64) {
        match &mut self.values {
            Values::F32(v) => v.push(x as f32),
            Values::F64(v) => v.push(x),
        }
        *self.offsets.last_mut().expect("offsets start with 0") = self.values_len();
    }

    fn values_len(&self) -> usize {
        match &self.values {
            Values::F32(v) => v.len(),
            Values::F64(v) => v.len(),
        }
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.null.len()
    }

    /// True when there are no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Row `r`, `None` when it is null.
    ///
    /// # Panics
    /// When `r` is out of range.
    pub fn row(&self, r: usize) -> Option<ListRow<'_>> {
        if self.null[r] {
            return None;
        }
        let range = self.offsets[r]..self.offsets[r + 1];
        Some(match &self.values {
            Values::F32(v) => ListRow::F32(&v[range]),
            Values::F64(v) => ListRow::F64(&v[range]),
        })
    }

    /// Every row in order.
    pub fn rows(&self) -> impl Iterator<Item = Option<ListRow<'_>>> + '_ {
        (0..self.len()).map(|r| self.row(r))
    }

    /// Rows `keep`, in that order.
    pub(crate) fn select(&self, keep: &[usize]) -> ListColumn {
        let total = keep
            .iter()
            .filter_map(|&r| self.row(r))
            .map(|r| r.len())
            .sum();
        let float32 = matches!(self.values, Values::F32(_));
        let mut out = ListColumn::with_capacity(float32, keep.len(), total);
        for &r in keep {
            out.extend_row(self.row(r));
        }
        out
    }

    fn extend_row(&mut self, row: Option<ListRow<'_>>) {
        let Some(row) = row else {
            return self.push_null();
        };
        match (&mut self.values, row) {
            (Values::F32(v), ListRow::F32(x)) => v.extend_from_slice(x),
            (Values::F64(v), ListRow::F64(x)) => v.extend_from_slice(x),
            (Values::F64(v), x) => v.extend(x.iter()),
            (Values::F32(_), ListRow::F64(_)) => unreachable!("float64 rows join float64 columns"),
        }
        self.offsets.push(self.values_len());
        self.null.push(false);
    }

    /// The rows of `self` then those of `other` (float32 when both are).
    pub(crate) fn append(mut self, other: ListColumn) -> ListColumn {
        if let (Values::F32(v), Values::F64(_)) = (&self.values, &other.values) {
            let widened = v.iter().map(|&x| f64::from(x)).collect();
            self.values = Values::F64(widened);
        }
        let total = self.values_len() + other.values_len();
        match &mut self.values {
            Values::F32(v) => v.reserve_exact(total - v.len()),
            Values::F64(v) => v.reserve_exact(total - v.len()),
        }
        self.offsets.reserve_exact(other.len());
        self.null.reserve_exact(other.len());
        for row in other.rows() {
            self.extend_row(row);
        }
        self
    }

    /// The common length of the non-null rows (0 when all are null), or the first row of
    /// another length as `Err((row, its length, the common length))`.
    pub(crate) fn width(&self) -> Result<usize, (usize, usize, usize)> {
        let width = self.rows().flatten().next().map_or(0, |r| r.len());
        match self
            .rows()
            .enumerate()
            .find_map(|(i, r)| r.filter(|r| r.len() != width).map(|r| (i, r.len())))
        {
            Some((row, len)) => Err((row, len, width)),
            None => Ok(width),
        }
    }

    /// The first null row.
    pub(crate) fn first_null(&self) -> Option<usize> {
        self.null.iter().position(|&n| n)
    }

    /// The values as one row-major float32 `rows x width` buffer, without copying, when the
    /// column holds float32 values and every row has `width` values (no null rows).
    /// Otherwise the column is given back unchanged.
    pub(crate) fn into_matrix(self) -> Result<(Vec<f32>, usize), ListColumn> {
        let width = match self.width() {
            Ok(w) if self.first_null().is_none() => w,
            _ => return Err(self),
        };
        match self.values {
            Values::F32(v) if v.len() == width * self.null.len() => Ok((v, width)),
            values => Err(ListColumn { values, ..self }),
        }
    }
}

/// Rows as float64 lists: the column reads the same whatever its storage.
impl fmt::Debug for ListColumn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(
                self.rows()
                    .map(|r| r.map(|r| r.iter().collect::<Vec<f64>>())),
            )
            .finish()
    }
}

impl PartialEq for ListColumn {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len()
            && self.rows().zip(other.rows()).all(|(a, b)| match (a, b) {
                (None, None) => true,
                (Some(a), Some(b)) => a.len() == b.len() && a.iter().eq(b.iter()),
                _ => false,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(float32: bool) -> ListColumn {
        let mut c = ListColumn::with_capacity(float32, 0, 0);
        c.start_row();
        c.push_value(1.5);
        c.push_value(2.0);
        c.push_null();
        c.start_row();
        c.start_row();
        c.push_value(-3.0);
        c
    }

    #[test]
    fn rows_read_back_whatever_the_storage() {
        for float32 in [true, false] {
            let c = sample(float32);
            assert_eq!(c.len(), 4);
            assert_eq!(
                format!("{c:?}"),
                "[Some([1.5, 2.0]), None, Some([]), Some([-3.0])]"
            );
            assert_eq!(c.first_null(), Some(1));
            assert_eq!(c.width(), Err((2, 0, 2)));
            let picked = c.select(&[3, 0]);
            assert_eq!(format!("{picked:?}"), "[Some([-3.0]), Some([1.5, 2.0])]");
        }
        assert_eq!(sample(true), sample(false));
        let joined = sample(true).append(sample(false));
        assert_eq!(joined.len(), 8);
        assert_eq!(
            joined,
            ListColumn::from_rows({
                let rows = vec![Some(vec![1.5, 2.0]), None, Some(vec![]), Some(vec![-3.0])];
                [rows.clone(), rows].concat()
            })
        );
    }

    #[test]
    fn a_uniform_float32_column_is_taken_as_a_matrix() {
        let mut c = ListColumn::with_capacity(true, 2, 4);
        for r in 0..2 {
            c.start_row();
            c.push_value(r as f64);
            c.push_value(0.25);
        }
        assert_eq!(
            c.clone().into_matrix().unwrap(),
            (vec![0.0, 0.25, 1.0, 0.25], 2)
        );
        assert_eq!(ListColumn::from_matrix(vec![0.0, 0.25, 1.0, 0.25], 2), c);
        // Float64 storage, null rows and ragged rows are given back.
        let f64_col = ListColumn::from_rows(vec![Some(vec![1.0]), Some(vec![2.0])]);
        assert!(f64_col.into_matrix().is_err());
        assert!(sample(true).into_matrix().is_err());
    }
}
