//! One parquet chunk with the columns `[pred|emb, nid]`, in the parquet schema pyarrow writes
//! for `remap_result` (a 2-D array becomes a three-level `LIST` of floats, a 1-D one a plain
//! column, every column optional):
//!
//! ```text
//! optional group pred (LIST) { repeated group list { optional float element; } }
//! optional binary nid (STRING);        -- or: optional int64 nid;
//! ```
//!
//! It uses parquet's column writer directly rather than the arrow layer: the arrow feature
//! (arrow-array, -select, -ipc, ...) more than doubles the clean build. Files therefore carry no
//! embedded `ARROW:schema`; pyarrow (checked with 26.0) still reads them as the same
//! `pred: list<element: float>, nid: string|int64` it gets from its own `remap_result` output.

use std::fs::File;
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use parquet::basic::Compression;
use parquet::data_type::{ByteArray, ByteArrayType, FloatType, Int64Type};
use parquet::file::properties::WriterProperties;
use parquet::file::reader::FileReader;
use parquet::file::serialized_reader::SerializedFileReader;
use parquet::file::writer::SerializedFileWriter;
use parquet::record::Field;
use parquet::schema::parser::parse_message_type;

use crate::OutputError;
use crate::input::{NodeIds, Values};
use crate::layout::NID_COL;

/// Writes rows `rows` of one node type to `path` as one row group and fsyncs it.
pub(crate) fn write_chunk(
    path: &Path,
    value_col: &str,
    ids: NodeIds<'_>,
    values: Values<'_>,
    rows: Range<usize>,
) -> Result<(), OutputError> {
    write_columns(path, value_col, &[(NID_COL, ids)], values, rows)
}

/// Writes rows `rows` with the value column first, then one id column per entry of `ids`
/// (`nid`, or an edge's `src_nid` and `dst_nid`), as one row group, and fsyncs it.
pub(crate) fn write_columns(
    path: &Path,
    value_col: &str,
    id_cols: &[(&str, NodeIds<'_>)],
    values: Values<'_>,
    rows: Range<usize>,
) -> Result<(), OutputError> {
    let parquet_err = |source| OutputError::Parquet {
        path: path.to_path_buf(),
        source,
    };

    let value_type = match values {
        Values::F32 { .. } => format!(
            "optional group {value_col} (LIST) {{ repeated group list {{ optional float element; }} }}"
        ),
        Values::ClassIndex(_) => format!("optional int64 {value_col};"),
    };
    let nid_type: String = id_cols
        .iter()
        .map(|(col, ids)| match ids {
            NodeIds::Int(_) => format!("optional int64 {col}; "),
            NodeIds::Raw(_) => format!("optional binary {col} (STRING); "),
        })
        .collect();
    let schema = parse_message_type(&format!("message schema {{ {value_type} {nid_type} }}"))
        .map_err(parquet_err)?;
    // pyarrow's default codec; every parquet reader understands it.
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .build();

    let file = File::create(path).map_err(|e| OutputError::io(path, "create", e))?;
    let mut writer =
        SerializedFileWriter::new(file, Arc::new(schema), Arc::new(props)).map_err(parquet_err)?;
    let mut row_group = writer.next_row_group().map_err(parquet_err)?;

    // Definition levels: 1 = an optional top-level value is present; 3 = list present, entry
    // present, element present. Repetition level 0 starts a new row's list, 1 continues it.
    let n = rows.len();
    let present = vec![1_i16; n];
    let mut column = row_group
        .next_column()
        .map_err(parquet_err)?
        .expect("two columns");
    match values {
        Values::F32 { data, width } => {
            let flat = &data[rows.start * width..rows.end * width];
            let def = vec![3_i16; flat.len()];
            let rep: Vec<i16> = (0..flat.len()).map(|i| i16::from(i % width != 0)).collect();
            column
                .typed::<FloatType>()
                .write_batch(flat, Some(&def), Some(&rep))
        }
        Values::ClassIndex(classes) => {
            column
                .typed::<Int64Type>()
                .write_batch(&classes[rows.clone()], Some(&present), None)
        }
    }
    .map_err(parquet_err)?;
    column.close().map_err(parquet_err)?;

    for (_, ids) in id_cols {
        let mut column = row_group
            .next_column()
            .map_err(parquet_err)?
            .expect("one column per id list");
        match ids {
            NodeIds::Int(ids) => {
                column
                    .typed::<Int64Type>()
                    .write_batch(&ids[rows.clone()], Some(&present), None)
            }
            NodeIds::Raw(ids) => {
                let bytes: Vec<ByteArray> = ids[rows.clone()]
                    .iter()
                    .map(|s| ByteArray::from(s.as_bytes().to_vec()))
                    .collect();
                column
                    .typed::<ByteArrayType>()
                    .write_batch(&bytes, Some(&present), None)
            }
        }
        .map_err(parquet_err)?;
        column.close().map_err(parquet_err)?;
    }
    row_group.close().map_err(parquet_err)?;

    let file = writer.into_inner().map_err(parquet_err)?;
    file.sync_all()
        .map_err(|e| OutputError::io(path, "fsync", e))
}

/// Reads one file's `nid` (as text) and `pred` (as float rows; an integer class becomes a
/// one-value row) columns, appending to `nids` and `preds`. Accepts the files above and what
/// pyarrow writes (including an embedded arrow schema, two-level lists, doubles).
pub(crate) fn read_file(
    path: &Path,
    value_col: &str,
    nids: &mut Vec<String>,
    preds: &mut Vec<Vec<f32>>,
) -> Result<(), OutputError> {
    let mut ids = [std::mem::take(nids)];
    let result = read_rows(path, &[NID_COL], value_col, &mut ids, preds);
    let [read] = ids;
    *nids = read;
    result
}

/// Appends every row of `path`: the text of each of `id_cols` to the matching vector of
/// `ids`, and `value_col` as a float row (an integer class becomes a one-value row).
pub(crate) fn read_rows(
    path: &Path,
    id_cols: &[&str],
    value_col: &str,
    ids: &mut [Vec<String>],
    preds: &mut Vec<Vec<f32>>,
) -> Result<(), OutputError> {
    let parquet_err = |source| OutputError::Parquet {
        path: path.to_path_buf(),
        source,
    };
    let bad = |reason: String| OutputError::BadFile {
        path: path.to_path_buf(),
        reason,
    };

    let file = File::open(path).map_err(|e| OutputError::io(path, "open", e))?;
    let reader = SerializedFileReader::new(file).map_err(parquet_err)?;
    let fields = reader
        .metadata()
        .file_metadata()
        .schema_descr()
        .root_schema()
        .get_fields();
    for want in id_cols.iter().chain([&value_col]) {
        if !fields.iter().any(|f| f.name() == *want) {
            return Err(bad(format!("no `{want}` column")));
        }
    }
    for (i, row) in reader.into_iter().enumerate() {
        let row = row.map_err(parquet_err)?;
        let mut row_ids: Vec<Option<String>> = vec![None; id_cols.len()];
        let mut pred = None;
        for (name, field) in row.get_column_iter() {
            if let Some(k) = id_cols.iter().position(|c| c == name) {
                row_ids[k] = Some(nid_text(field).ok_or_else(|| {
                    bad(format!(
                        "row {i}: `{name}` is {field}, expected a string or an integer"
                    ))
                })?);
            } else if name == value_col {
                pred = Some(pred_row(field).ok_or_else(|| {
                    bad(format!(
                        "row {i}: `{value_col}` is {field}, expected a list of floats or an integer"
                    ))
                })?);
            }
        }
        let Some(pred) = pred else {
            return Err(bad(format!("row {i} lacks `{value_col}`")));
        };
        for (k, id) in row_ids.into_iter().enumerate() {
            let id = id.ok_or_else(|| bad(format!("row {i} lacks `{}`", id_cols[k])))?;
            ids[k].push(id);
        }
        preds.push(pred);
    }
    Ok(())
}

fn nid_text(field: &Field) -> Option<String> {
    Some(match field {
        Field::Str(s) => s.clone(),
        Field::Bytes(b) => String::from_utf8(b.data().to_vec()).ok()?,
        Field::Long(v) => v.to_string(),
        Field::Int(v) => v.to_string(),
        _ => return None,
    })
}

fn pred_row(field: &Field) -> Option<Vec<f32>> {
    Some(match field {
        Field::ListInternal(list) => list
            .elements()
            .iter()
            .map(float)
            .collect::<Option<Vec<f32>>>()?,
        other => vec![float(other)?],
    })
}

fn float(field: &Field) -> Option<f32> {
    Some(match *field {
        Field::Float(v) => v,
        Field::Double(v) => v as f32,
        Field::Long(v) => v as f32,
        Field::Int(v) => v as f32,
        _ => return None,
    })
}
