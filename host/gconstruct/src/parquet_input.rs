//! Parquet input: the needed columns of one file read with parquet's column readers straight
//! into typed columns (no arrow, no per-row records). Column types the column path does not
//! cover (dates, decimals, nested groups, legacy lists...) and files it cannot decode are read
//! through parquet's row API instead, which keeps their values and error messages as they were.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::Path;

use parquet::basic::{ConvertedType, Repetition, Type as PhysicalType};
use parquet::column::reader::{ColumnReader, ColumnReaderImpl};
use parquet::data_type::{ByteArray, DataType};
use parquet::file::reader::FileReader;
use parquet::file::serialized_reader::SerializedFileReader;
use parquet::schema::types::{SchemaDescriptor, Type};

use crate::GconstructError;
use crate::input::RawColumn;
use crate::list_column::ListColumn;
use crate::parquet_rows::{RowsError, read_rows};

/// Records decoded per column-reader call.
const BATCH: usize = 1 << 16;

/// Reads the columns `needed` of the Parquet file `path`, with the number of rows.
pub(crate) fn read_parquet(
    path: &Path,
    needed: &BTreeMap<String, String>,
) -> Result<(Vec<(String, RawColumn)>, usize), GconstructError> {
    let bad = |e: &dyn std::fmt::Display| GconstructError::Read {
        path: path.to_path_buf(),
        reason: format!("not a readable Parquet file: {e}"),
        hint: "check that the file is Parquet (not truncated, not CSV) or set `format` to match it"
            .into(),
    };
    let file = File::open(path).map_err(|e| bad(&e))?;
    let reader = SerializedFileReader::new(file).map_err(|e| bad(&e))?;
    let descr = reader.metadata().file_metadata().schema_descr_ptr();
    let fields = descr.root_schema().get_fields();
    for (col, at) in needed {
        if !fields.iter().any(|f| f.name() == col) {
            let names: Vec<&str> = fields.iter().map(|f| f.name()).collect();
            return Err(GconstructError::MissingColumn {
                path: path.to_path_buf(),
                column: col.clone(),
                at: at.clone(),
                available: names.join(", "),
            });
        }
    }
    let rows = usize::try_from(reader.metadata().file_metadata().num_rows()).unwrap_or(0);
    if needed.is_empty() {
        return Ok((Vec::new(), rows));
    }
    let plans: Option<Vec<(&String, ColumnPlan)>> = needed
        .keys()
        .map(|name| Some((name, ColumnPlan::of(&descr, name)?)))
        .collect();
    if let Some(plans) = plans {
        let mut cols = Vec::with_capacity(plans.len());
        let mut all_read = true;
        for (name, plan) in plans {
            match read_column(&reader, &plan, rows) {
                Some(values) => {
                    let col = values
                        .into_column()
                        .map_err(|(row, what)| unsupported_value(path, name, row, what))?;
                    cols.push((name.clone(), col));
                }
                None => {
                    all_read = false;
                    break;
                }
            }
        }
        if all_read {
            return Ok((cols, rows));
        }
    }
    read_rows(&reader, needed).map_err(|e| match e {
        RowsError::Parquet(e) => bad(&e),
        RowsError::Value(name, row, what) => unsupported_value(path, &name, row, what),
    })
}

fn unsupported_value(path: &Path, column: &str, row: usize, what: String) -> GconstructError {
    GconstructError::BadValue {
        path: path.to_path_buf(),
        row,
        column: column.to_string(),
        reason: format!("unsupported Parquet value {what}"),
        hint: "use integer, floating-point, string or list-of-number columns".into(),
    }
}

/// How a leaf's physical values become numbers or text (as the row API's `Field`s would).
#[derive(Debug, Clone, Copy)]
enum LeafKind {
    Bool,
    /// INT32 with its converted type (`INT_8` ... `UINT_32` or none).
    Int32(ConvertedType),
    /// INT64, `UINT_64` when `unsigned`.
    Int64 {
        unsigned: bool,
    },
    Float,
    Double,
    /// BYTE_ARRAY: text that must be UTF-8 (`utf8`), or bytes read as lossy UTF-8.
    Text {
        utf8: bool,
    },
}

/// A top-level column the column path can read: one leaf, flat or in a standard 3-level list.
#[derive(Debug)]
struct ColumnPlan {
    leaf: usize,
    kind: LeafKind,
    max_def: i16,
    /// For a list column: the definition level at which a row's list exists (possibly empty),
    /// and the one at which an element slot exists (possibly null).
    list: Option<(i16, i16)>,
}

impl ColumnPlan {
    /// The plan for top-level field `name`, or `None` when the row API must read it.
    fn of(descr: &SchemaDescriptor, name: &str) -> Option<ColumnPlan> {
        let leaves: Vec<usize> = (0..descr.num_columns())
            .filter(|&i| descr.column(i).path().parts()[0] == name)
            .collect();
        let [leaf] = leaves[..] else {
            return None;
        };
        let column = descr.column(leaf);
        let field = descr.get_column_root(leaf);
        let kind = leaf_kind(column.self_type())?;
        let optional =
            |t: &Type| i16::from(t.get_basic_info().repetition() == Repetition::OPTIONAL);
        let list = if field.is_primitive() {
            if field.get_basic_info().repetition() == Repetition::REPEATED {
                return None;
            }
            None
        } else {
            let element = standard_list_element(field)?;
            if matches!(kind, LeafKind::Text { .. }) {
                return None;
            }
            let list_def = optional(field);
            let slot_def = list_def + 1;
            debug_assert_eq!(slot_def + optional(element), column.max_def_level());
            Some((list_def, slot_def))
        };
        Some(ColumnPlan {
            leaf,
            kind,
            max_def: column.max_def_level(),
            list,
        })
    }
}

/// The element of `field` if it is a standard 3-level list of a primitive
/// (`<list> (LIST) { repeated group list { <element>; } }`), read as the row API reads it.
fn standard_list_element(field: &Type) -> Option<&Type> {
    let info = field.get_basic_info();
    if info.converted_type() != ConvertedType::LIST
        || info.repetition() == Repetition::REPEATED
        || field.get_fields().len() != 1
    {
        return None;
    }
    let repeated = &field.get_fields()[0];
    let legacy_name = repeated.name() == "array" || repeated.name().ends_with("_tuple");
    if !repeated.is_group()
        || repeated.get_basic_info().repetition() != Repetition::REPEATED
        || repeated.get_basic_info().converted_type() == ConvertedType::LIST
        || repeated.get_fields().len() != 1
        || legacy_name
    {
        return None;
    }
    let element = &repeated.get_fields()[0];
    (element.is_primitive() && element.get_basic_info().repetition() != Repetition::REPEATED)
        .then_some(element.as_ref())
}

fn leaf_kind(t: &Type) -> Option<LeafKind> {
    let converted = t.get_basic_info().converted_type();
    Some(match t.get_physical_type() {
        PhysicalType::BOOLEAN => LeafKind::Bool,
        PhysicalType::INT32 => match converted {
            ConvertedType::NONE
            | ConvertedType::INT_8
            | ConvertedType::INT_16
            | ConvertedType::INT_32
            | ConvertedType::UINT_8
            | ConvertedType::UINT_16
            | ConvertedType::UINT_32 => LeafKind::Int32(converted),
            _ => return None,
        },
        PhysicalType::INT64 => match converted {
            ConvertedType::NONE | ConvertedType::INT_64 => LeafKind::Int64 { unsigned: false },
            ConvertedType::UINT_64 => LeafKind::Int64 { unsigned: true },
            _ => return None,
        },
        PhysicalType::FLOAT => LeafKind::Float,
        PhysicalType::DOUBLE => LeafKind::Double,
        PhysicalType::BYTE_ARRAY => match converted {
            ConvertedType::UTF8 | ConvertedType::ENUM | ConvertedType::JSON => {
                LeafKind::Text { utf8: true }
            }
            ConvertedType::NONE | ConvertedType::BSON => LeafKind::Text { utf8: false },
            _ => return None,
        },
        _ => return None,
    })
}

/// An INT32 value as the row API types it (`Field::Byte`, `UByte`, ... `Int`).
fn int32_value(converted: ConvertedType, v: i32) -> i64 {
    match converted {
        ConvertedType::INT_8 => i64::from(v as i8),
        ConvertedType::INT_16 => i64::from(v as i16),
        ConvertedType::UINT_8 => i64::from(v as u8),
        ConvertedType::UINT_16 => i64::from(v as u16),
        ConvertedType::UINT_32 => i64::from(v as u32),
        _ => i64::from(v),
    }
}

/// A column's values as read, before typing; `valid[r]` is false for a null row.
enum Values {
    Ints(Vec<i64>, Vec<bool>),
    /// `UINT_64` values.
    Unsigned(Vec<u64>, Vec<bool>),
    Floats(Vec<f64>, Vec<bool>),
    Text(Vec<Option<String>>),
    /// Rows of numbers, or the first row with a null element.
    Lists(Result<ListColumn, usize>),
}

impl Values {
    /// Types the column as the row-API reader did: integers without nulls -> Int, numbers ->
    /// Float (nulls NaN), text -> Str, lists -> List; a column without any value is Float NaN
    /// (Int when it has no rows). `Err((row, value))` names a value that is not supported.
    fn into_column(self) -> Result<RawColumn, (usize, String)> {
        fn floats<T: Copy>(v: &[T], valid: &[bool], f: impl Fn(T) -> f64) -> Vec<f64> {
            let mut it = v.iter();
            valid
                .iter()
                .map(|&ok| if ok { f(*it.next().unwrap()) } else { f64::NAN })
                .collect()
        }
        fn nan_or<T>(v: Vec<T>, rows: usize, wrap: impl FnOnce(Vec<T>) -> RawColumn) -> RawColumn {
            if rows == 0 {
                RawColumn::Int(Vec::new())
            } else if v.is_empty() {
                RawColumn::Float(vec![f64::NAN; rows])
            } else {
                wrap(v)
            }
        }
        Ok(match self {
            Values::Ints(v, valid) if v.len() == valid.len() => RawColumn::Int(v),
            Values::Ints(v, valid) => RawColumn::Float(floats(&v, &valid, |x| x as f64)),
            Values::Unsigned(v, valid)
                if v.len() == valid.len() && v.iter().all(|&x| i64::try_from(x).is_ok()) =>
            {
                RawColumn::Int(v.into_iter().map(|x| x as i64).collect())
            }
            Values::Unsigned(v, valid) => RawColumn::Float(floats(&v, &valid, |x| x as f64)),
            Values::Floats(v, valid) if valid.is_empty() => nan_or(v, 0, RawColumn::Float),
            Values::Floats(v, valid) => RawColumn::Float(floats(&v, &valid, |x| x)),
            Values::Text(v) => {
                let rows = v.len();
                let any = v.iter().any(Option::is_some);
                nan_or(if any { v } else { Vec::new() }, rows, RawColumn::Str)
            }
            Values::Lists(Err(row)) => return Err((row, "null".to_string())),
            Values::Lists(Ok(v)) => {
                let rows = v.len();
                if rows == 0 {
                    RawColumn::Int(Vec::new())
                } else if v.first_null().is_some() && v.rows().all(|r| r.is_none()) {
                    RawColumn::Float(vec![f64::NAN; rows])
                } else {
                    RawColumn::List(v)
                }
            }
        })
    }
}

/// Reads every row group of one column, or `None` when the row API must read the file (a
/// decoding error, invalid UTF-8 in a text column, a row count that does not match).
fn read_column(
    reader: &SerializedFileReader<File>,
    plan: &ColumnPlan,
    rows: usize,
) -> Option<Values> {
    let mut sink = Sink::new(plan, rows, leaf_values(reader, plan.leaf));
    for g in 0..reader.num_row_groups() {
        let group = reader.get_row_group(g).ok()?;
        let ok = match group.get_column_reader(plan.leaf).ok()? {
            ColumnReader::BoolColumnReader(r) => drain(r, plan, |v, d, r| {
                sink.push(v, d, r, |&b| Num::Int(i64::from(b)))
            }),
            ColumnReader::Int32ColumnReader(r) => {
                let LeafKind::Int32(conv) = plan.kind else {
                    return None;
                };
                drain(r, plan, |v, d, r| {
                    sink.push(v, d, r, |&x| Num::Int(int32_value(conv, x)))
                })
            }
            ColumnReader::Int64ColumnReader(r) => match plan.kind {
                LeafKind::Int64 { unsigned: true } => drain(r, plan, |v, d, r| {
                    sink.push(v, d, r, |&x| Num::Unsigned(x as u64))
                }),
                _ => drain(r, plan, |v, d, r| sink.push(v, d, r, |&x| Num::Int(x))),
            },
            ColumnReader::FloatColumnReader(r) => drain(r, plan, |v, d, r| {
                sink.push(v, d, r, |&x| Num::Float(f64::from(x)))
            }),
            ColumnReader::DoubleColumnReader(r) => {
                drain(r, plan, |v, d, r| sink.push(v, d, r, |&x| Num::Float(x)))
            }
            ColumnReader::ByteArrayColumnReader(r) => {
                let LeafKind::Text { utf8 } = plan.kind else {
                    return None;
                };
                drain(r, plan, |v, d, _| sink.push_text(v, d, utf8))
            }
            _ => return None,
        };
        if !ok {
            return None;
        }
    }
    sink.finish(rows)
}

/// The number of values (nulls included) of leaf `leaf` over every row group, from the
/// metadata; 0 when unknown.
fn leaf_values(reader: &SerializedFileReader<File>, leaf: usize) -> usize {
    reader
        .metadata()
        .row_groups()
        .iter()
        .map(|g| usize::try_from(g.column(leaf).num_values()).unwrap_or(0))
        .sum()
}

/// Decodes one column chunk batch by batch into `f(values, defs, reps)`; false on an error
/// (from parquet or from `f`).
fn drain<T: DataType>(
    mut r: ColumnReaderImpl<T>,
    plan: &ColumnPlan,
    mut f: impl FnMut(&[T::T], &[i16], &[i16]) -> bool,
) -> bool {
    let (mut values, mut defs, mut reps) = (Vec::new(), Vec::new(), Vec::new());
    loop {
        values.clear();
        defs.clear();
        reps.clear();
        let read = r.read_records(
            BATCH,
            (plan.max_def > 0).then_some(&mut defs),
            plan.list.is_some().then_some(&mut reps),
            &mut values,
        );
        match read {
            Ok((0, _, _)) => return true,
            Ok(_) => {
                if !f(&values, &defs, &reps) {
                    return false;
                }
            }
            Err(_) => return false,
        }
    }
}

/// A number as the row API would type it.
#[derive(Clone, Copy)]
enum Num {
    Int(i64),
    Unsigned(u64),
    Float(f64),
}

/// Whether each row of a flat column's batch has a value: all `values` rows for a required
/// column, else the rows whose definition level is the maximum.
fn presence(defs: &[i16], values: usize, max_def: i16) -> impl Iterator<Item = bool> + '_ {
    let required = (max_def == 0).then(|| std::iter::repeat_n(true, values));
    let optional = (max_def > 0).then(|| defs.iter().map(move |&d| d == max_def));
    required
        .into_iter()
        .flatten()
        .chain(optional.into_iter().flatten())
}

/// Accumulates one column's batches.
struct Sink {
    values: Values,
    list: Option<(i16, i16)>,
    max_def: i16,
}

impl Sink {
    /// A sink for `rows` rows; `leaf_values` (the leaf's value count, nulls included) sizes a
    /// list column's buffer exactly.
    fn new(plan: &ColumnPlan, rows: usize, leaf_values: usize) -> Sink {
        let values = match (plan.list, plan.kind) {
            (Some(_), kind) => Values::Lists(Ok(ListColumn::with_capacity(
                matches!(kind, LeafKind::Float),
                rows,
                leaf_values,
            ))),
            (None, LeafKind::Text { .. }) => Values::Text(Vec::with_capacity(rows)),
            (None, LeafKind::Int64 { unsigned: true }) => {
                Values::Unsigned(Vec::with_capacity(rows), Vec::with_capacity(rows))
            }
            (None, LeafKind::Float | LeafKind::Double) => {
                Values::Floats(Vec::with_capacity(rows), Vec::with_capacity(rows))
            }
            (None, _) => Values::Ints(Vec::with_capacity(rows), Vec::with_capacity(rows)),
        };
        Sink {
            values,
            list: plan.list,
            max_def: plan.max_def,
        }
    }

    /// Appends a batch of numeric leaf values with their levels.
    fn push<T>(
        &mut self,
        values: &[T],
        defs: &[i16],
        reps: &[i16],
        num: impl Fn(&T) -> Num,
    ) -> bool {
        let max_def = self.max_def;
        match (&mut self.values, self.list) {
            (Values::Lists(Ok(rows)), Some((list_def, slot_def))) => {
                let mut it = values.iter();
                for (k, &d) in defs.iter().enumerate() {
                    let rep = reps.get(k).copied().unwrap_or(0);
                    if rep == 0 {
                        if d >= list_def {
                            rows.start_row();
                        } else {
                            rows.push_null();
                        }
                    }
                    if d < slot_def {
                        continue;
                    }
                    if d < max_def {
                        // A null element: the row API's reader could not type it.
                        let row = rows.len() - 1;
                        self.values = Values::Lists(Err(row));
                        return true;
                    }
                    let Some(x) = it.next() else { return false };
                    let x = match num(x) {
                        Num::Int(i) => i as f64,
                        Num::Unsigned(u) => u as f64,
                        Num::Float(f) => f,
                    };
                    if rows.is_empty() || rows.row(rows.len() - 1).is_none() {
                        return false;
                    }
                    rows.push_value(x);
                }
                true
            }
            (Values::Lists(Err(_)), _) => true,
            (flat, None) => {
                let mut it = values.iter();
                for present in presence(defs, values.len(), max_def) {
                    let x = if present {
                        match it.next() {
                            Some(x) => Some(num(x)),
                            None => return false,
                        }
                    } else {
                        None
                    };
                    match (&mut *flat, x) {
                        (Values::Ints(v, valid), Some(Num::Int(i))) => {
                            v.push(i);
                            valid.push(true);
                        }
                        (Values::Unsigned(v, valid), Some(Num::Unsigned(u))) => {
                            v.push(u);
                            valid.push(true);
                        }
                        (Values::Floats(v, valid), Some(Num::Float(f))) => {
                            v.push(f);
                            valid.push(true);
                        }
                        (
                            Values::Ints(_, valid)
                            | Values::Unsigned(_, valid)
                            | Values::Floats(_, valid),
                            None,
                        ) => valid.push(false),
                        _ => return false,
                    }
                }
                true
            }
            _ => false,
        }
    }

    /// Appends a batch of BYTE_ARRAY values; false on invalid UTF-8 in a UTF-8 column.
    fn push_text(&mut self, values: &[ByteArray], defs: &[i16], utf8: bool) -> bool {
        let Values::Text(out) = &mut self.values else {
            return false;
        };
        let mut it = values.iter();
        for present in presence(defs, values.len(), self.max_def) {
            if !present {
                out.push(None);
                continue;
            }
            let Some(b) = it.next() else { return false };
            let text = if utf8 {
                match std::str::from_utf8(b.data()) {
                    Ok(s) => s.to_string(),
                    Err(_) => return false,
                }
            } else {
                String::from_utf8_lossy(b.data()).into_owned()
            };
            out.push(Some(text));
        }
        true
    }

    /// The values, if the column had exactly `rows` rows.
    fn finish(self, rows: usize) -> Option<Values> {
        let len = match &self.values {
            Values::Ints(_, valid) | Values::Unsigned(_, valid) | Values::Floats(_, valid) => {
                valid.len()
            }
            Values::Text(v) => v.len(),
            Values::Lists(Ok(v)) => v.len(),
            Values::Lists(Err(_)) => rows,
        };
        (len == rows).then_some(self.values)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use parquet::data_type::{
        BoolType, ByteArrayType, DoubleType, FloatType, Int32Type, Int64Type,
    };
    use parquet::file::properties::WriterProperties;
    use parquet::file::writer::SerializedFileWriter;
    use parquet::schema::parser::parse_message_type;

    use super::*;

    /// One column's leaf values, definition and repetition levels.
    enum Leaf {
        Bool(Vec<bool>),
        I32(Vec<i32>),
        I64(Vec<i64>),
        F32(Vec<f32>),
        F64(Vec<f64>),
        Bytes(Vec<&'static str>),
    }

    const ROWS: usize = 4;

    /// `(name, schema field, leaf values, definition levels, repetition levels)`.
    type TestColumn = (&'static str, &'static str, Leaf, Vec<i16>, Option<Vec<i16>>);

    fn columns() -> Vec<TestColumn> {
        let flat = |defs: &[i16]| defs.to_vec();
        vec![
            (
                "req",
                "required int64 req;",
                Leaf::I64(vec![5, -1, 7, 0]),
                vec![],
                None,
            ),
            (
                "nul",
                "optional int64 nul;",
                Leaf::I64(vec![5, 7]),
                flat(&[1, 0, 1, 0]),
                None,
            ),
            (
                "none",
                "optional int64 none;",
                Leaf::I64(vec![]),
                flat(&[0; ROWS]),
                None,
            ),
            (
                "i8",
                "optional int32 i8 (INT_8);",
                Leaf::I32(vec![-3, 200, 1, 2]),
                flat(&[1; ROWS]),
                None,
            ),
            (
                "u8",
                "optional int32 u8 (UINT_8);",
                Leaf::I32(vec![-3, 200, 1, 2]),
                flat(&[1; ROWS]),
                None,
            ),
            (
                "u32",
                "optional int32 u32 (UINT_32);",
                Leaf::I32(vec![-3, 2, 1, 2]),
                flat(&[1; ROWS]),
                None,
            ),
            (
                "u64",
                "optional int64 u64 (UINT_64);",
                Leaf::I64(vec![-3, 2, 1, 2]),
                flat(&[1; ROWS]),
                None,
            ),
            (
                "u64ok",
                "optional int64 u64ok (UINT_64);",
                Leaf::I64(vec![3, 2, 1, 2]),
                flat(&[1; ROWS]),
                None,
            ),
            (
                "b",
                "optional boolean b;",
                Leaf::Bool(vec![true, false, true]),
                flat(&[1, 1, 0, 1]),
                None,
            ),
            (
                "f",
                "optional float f;",
                Leaf::F32(vec![0.1, 2.5]),
                flat(&[1, 0, 0, 1]),
                None,
            ),
            (
                "d",
                "required double d;",
                Leaf::F64(vec![0.1, 2.5, -1.0, 3.0]),
                vec![],
                None,
            ),
            (
                "s",
                "optional binary s (UTF8);",
                Leaf::Bytes(vec!["a", "b", "c"]),
                flat(&[1, 0, 1, 1]),
                None,
            ),
            (
                "raw",
                "optional binary raw;",
                Leaf::Bytes(vec!["x", "y", "z", "w"]),
                flat(&[1; ROWS]),
                None,
            ),
            (
                "snull",
                "optional binary snull (UTF8);",
                Leaf::Bytes(vec![]),
                flat(&[0; ROWS]),
                None,
            ),
            (
                "date",
                "optional int32 date (DATE);",
                Leaf::I32(vec![1, 2, 3, 4]),
                flat(&[1; ROWS]),
                None,
            ),
            (
                "lf",
                "optional group lf (LIST) { repeated group list { optional float element; } }",
                // [1, 2], null, [], [3]
                Leaf::F32(vec![1.0, 2.0, 3.0]),
                vec![3, 3, 0, 1, 3],
                Some(vec![0, 1, 0, 0, 0]),
            ),
            (
                "li",
                "required group li (LIST) { repeated group list { required int64 element; } }",
                // [4], [5, 6], [], [7]
                Leaf::I64(vec![4, 5, 6, 7]),
                vec![1, 1, 1, 0, 1],
                Some(vec![0, 0, 1, 0, 0]),
            ),
            (
                "lnull",
                "optional group lnull (LIST) { repeated group list { optional double element; } }",
                // [1], [null, 2], null, [3]: a null element
                Leaf::F64(vec![1.0, 2.0, 3.0]),
                vec![3, 2, 3, 0, 3],
                Some(vec![0, 0, 1, 0, 0]),
            ),
        ]
    }

    fn write(path: &Path) {
        let cols = columns();
        let fields: Vec<&str> = cols.iter().map(|c| c.1).collect();
        let schema = parse_message_type(&format!("message m {{ {} }}", fields.join(" "))).unwrap();
        let file = File::create(path).unwrap();
        let props = Arc::new(WriterProperties::builder().build());
        let mut w = SerializedFileWriter::new(file, Arc::new(schema), props).unwrap();
        let mut rg = w.next_row_group().unwrap();
        for (_, _, leaf, defs, reps) in cols {
            let defs = (!defs.is_empty()).then_some(&defs[..]);
            let reps = reps.as_deref();
            let mut col = rg.next_column().unwrap().unwrap();
            match leaf {
                Leaf::Bool(v) => col.typed::<BoolType>().write_batch(&v, defs, reps),
                Leaf::I32(v) => col.typed::<Int32Type>().write_batch(&v, defs, reps),
                Leaf::I64(v) => col.typed::<Int64Type>().write_batch(&v, defs, reps),
                Leaf::F32(v) => col.typed::<FloatType>().write_batch(&v, defs, reps),
                Leaf::F64(v) => col.typed::<DoubleType>().write_batch(&v, defs, reps),
                Leaf::Bytes(v) => {
                    let b: Vec<ByteArray> = v.iter().map(|s| ByteArray::from(*s)).collect();
                    col.typed::<ByteArrayType>().write_batch(&b, defs, reps)
                }
            }
            .unwrap();
            col.close().unwrap();
        }
        rg.close().unwrap();
        w.close().unwrap();
    }

    /// NaN-aware comparison of two read results.
    fn same(a: &RawColumn, b: &RawColumn) -> bool {
        format!("{a:?}") == format!("{b:?}")
    }

    #[test]
    fn column_readers_type_columns_as_the_row_api() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.parquet");
        write(&path);
        let reader = SerializedFileReader::new(File::open(&path).unwrap()).unwrap();
        let descr = reader.metadata().file_metadata().schema_descr_ptr();
        for (name, ..) in columns() {
            let needed = BTreeMap::from([(name.to_string(), "test".to_string())]);
            let fast = read_parquet(&path, &needed);
            let rows = read_rows(&reader, &needed);
            match (fast, rows) {
                (Ok((mut f, n)), Ok((mut r, m))) => {
                    assert_eq!(n, m, "{name}");
                    let (f, r) = (f.pop().unwrap().1, r.pop().unwrap().1);
                    assert!(same(&f, &r), "{name}: {f:?} vs {r:?}");
                }
                (
                    Err(GconstructError::BadValue { row, reason, .. }),
                    Err(RowsError::Value(_, r, what)),
                ) => {
                    assert_eq!(
                        (row, reason),
                        (r, format!("unsupported Parquet value {what}")),
                        "{name}"
                    );
                }
                (f, _) => panic!("{name}: the two readers disagree ({f:?})"),
            }
            // Every column but the date one is read by the column path, not the fallback.
            let plan = ColumnPlan::of(&descr, name);
            assert_eq!(plan.is_some(), name != "date", "{name}");
            if let Some(plan) = plan {
                assert!(read_column(&reader, &plan, ROWS).is_some(), "{name}");
            }
        }
    }
}
