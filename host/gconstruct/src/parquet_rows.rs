//! Parquet input through parquet's row API: the fallback of `parquet_input` for column types
//! its column readers do not cover (dates, decimals, nested groups, legacy lists...) and for
//! files they cannot decode. Slower, but it keeps those values and their error messages.

use std::collections::BTreeMap;
use std::fs::File;

use parquet::file::reader::FileReader;
use parquet::file::serialized_reader::SerializedFileReader;
use parquet::record::Field;
use parquet::schema::types::Type;

use crate::input::{RawColumn, py_float_str};

/// Why the row-API reader failed.
pub(crate) enum RowsError {
    Parquet(parquet::errors::ParquetError),
    /// `(column, row, value)`: a value of a type gs does not read.
    Value(String, usize, String),
}

/// Reads the columns `needed` through parquet's row API (the fallback path).
pub(crate) fn read_rows(
    reader: &SerializedFileReader<File>,
    needed: &BTreeMap<String, String>,
) -> Result<(Vec<(String, RawColumn)>, usize), RowsError> {
    let schema = reader
        .metadata()
        .file_metadata()
        .schema_descr()
        .root_schema()
        .clone();
    let wanted: Vec<_> = schema
        .get_fields()
        .iter()
        .filter(|f| needed.contains_key(f.name()))
        .cloned()
        .collect();
    let projection = Type::group_type_builder(schema.name())
        .with_fields(wanted)
        .build()
        .map_err(RowsError::Parquet)?;
    let mut values: BTreeMap<String, Vec<Field>> =
        needed.keys().map(|k| (k.clone(), Vec::new())).collect();
    let mut rows = 0;
    let iter = reader
        .get_row_iter(Some(projection))
        .map_err(RowsError::Parquet)?;
    for row in iter {
        let row = row.map_err(RowsError::Parquet)?;
        for (name, field) in row.get_column_iter() {
            if let Some(v) = values.get_mut(name) {
                v.push(field.clone());
            }
        }
        rows += 1;
    }
    let mut cols = Vec::new();
    for (name, fields) in values {
        let col = parquet_column(&fields)
            .map_err(|(row, what)| RowsError::Value(name.clone(), row, what))?;
        cols.push((name, col));
    }
    Ok((cols, rows))
}

fn field_num(f: &Field) -> Option<Option<f64>> {
    Some(match *f {
        Field::Null => None,
        Field::Bool(b) => Some(f64::from(u8::from(b))),
        Field::Byte(v) => Some(f64::from(v)),
        Field::Short(v) => Some(f64::from(v)),
        Field::Int(v) => Some(f64::from(v)),
        Field::Long(v) => Some(v as f64),
        Field::UByte(v) => Some(f64::from(v)),
        Field::UShort(v) => Some(f64::from(v)),
        Field::UInt(v) => Some(f64::from(v)),
        Field::ULong(v) => Some(v as f64),
        Field::Float(v) => Some(f64::from(v)),
        Field::Double(v) => Some(v),
        _ => return None,
    })
}

fn field_int(f: &Field) -> Option<i64> {
    Some(match *f {
        Field::Bool(b) => i64::from(b),
        Field::Byte(v) => i64::from(v),
        Field::Short(v) => i64::from(v),
        Field::Int(v) => i64::from(v),
        Field::Long(v) => v,
        Field::UByte(v) => i64::from(v),
        Field::UShort(v) => i64::from(v),
        Field::UInt(v) => i64::from(v),
        Field::ULong(v) => i64::try_from(v).ok()?,
        _ => return None,
    })
}

/// Types a Parquet column from its row-API values: all integers -> Int, numbers (with nulls) ->
/// Float, text -> Str, lists of numbers -> List.
fn parquet_column(fields: &[Field]) -> Result<RawColumn, (usize, String)> {
    let first = fields.iter().find(|f| !matches!(f, Field::Null));
    match first {
        Some(Field::Str(_)) | Some(Field::Bytes(_)) => fields
            .iter()
            .enumerate()
            .map(|(i, f)| match f {
                Field::Null => Ok(None),
                Field::Str(s) => Ok(Some(s.clone())),
                Field::Bytes(b) => Ok(Some(String::from_utf8_lossy(b.data()).into_owned())),
                other => field_num(other)
                    .map(|v| v.and_then(py_float_str))
                    .ok_or((i, other.to_string())),
            })
            .collect::<Result<_, _>>()
            .map(RawColumn::Str),
        Some(Field::ListInternal(_)) => fields
            .iter()
            .enumerate()
            .map(|(i, f)| match f {
                Field::Null => Ok(None),
                Field::ListInternal(list) => list
                    .elements()
                    .iter()
                    .map(|e| field_num(e).flatten().ok_or((i, e.to_string())))
                    .collect::<Result<Vec<f64>, _>>()
                    .map(Some),
                other => Err((i, other.to_string())),
            })
            .collect::<Result<_, _>>()
            .map(|rows| RawColumn::List(crate::ListColumn::from_rows(rows))),
        _ => {
            if let Some(ints) = fields.iter().map(field_int).collect::<Option<Vec<i64>>>() {
                return Ok(RawColumn::Int(ints));
            }
            fields
                .iter()
                .enumerate()
                .map(|(i, f)| {
                    field_num(f)
                        .map(|v| v.unwrap_or(f64::NAN))
                        .ok_or((i, f.to_string()))
                })
                .collect::<Result<_, _>>()
                .map(RawColumn::Float)
        }
    }
}
