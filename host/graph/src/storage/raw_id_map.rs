//! Reading GraphStorm's `raw_id_mappings/<ntype>/part-*.parquet` (next to the part-config):
//! columns `orig` (raw id, utf8 or int64) and `new` (gconstruct's integer id), or GSProcessing's
//! `node_str_id` / `node_int_id`. Read with parquet's column readers (no arrow).

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use parquet::column::reader::ColumnReader;
use parquet::file::reader::FileReader;
use parquet::file::serialized_reader::SerializedFileReader;

use super::dgl::DglError;
use crate::error::StorageError;
use crate::raw_ids::{RawId, RawIds};
use crate::types::NodeId;

/// The folder GraphStorm writes raw-id mappings to, beside the part-config.
pub(crate) const RAW_ID_DIR: &str = "raw_id_mappings";

/// Column name pairs accepted: (raw id, integer id).
const COLUMNS: [(&str, &str); 2] = [("orig", "new"), ("node_str_id", "node_int_id")];

const HINT: &str = "raw_id_mappings/<ntype>/*.parquet must have columns `orig` (string or int64 raw id) and `new` (int64 id 0..n, each once), as GraphStorm's gconstruct writes them; remove the folder to load without raw ids";

/// Raw ids of one column, before ordering.
enum RawColumn {
    Int(Vec<i64>),
    Str(Vec<String>),
}

/// Reads `raw_id_mappings/` beside `part_config` if it exists: for each node type in `counts`
/// that has a folder, its raw ids indexed by integer (gconstruct) id. Absent folder: empty map.
pub(crate) fn read_beside(
    part_config: &Path,
    counts: &BTreeMap<String, u64>,
) -> Result<BTreeMap<String, RawIds>, DglError> {
    let dir = part_config
        .parent()
        .unwrap_or(Path::new(""))
        .join(RAW_ID_DIR);
    if !dir.is_dir() {
        return Ok(BTreeMap::new());
    }
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| DglError::Io {
            action: "list",
            path,
            source,
        }
    };
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(&dir).map_err(io(&dir))? {
        let entry = entry.map_err(io(&dir))?;
        if !entry.path().is_dir() {
            continue;
        }
        let ntype = entry.file_name().to_string_lossy().into_owned();
        let Some(&count) = counts.get(&ntype) else {
            return Err(DglError::RawIdMap {
                path: entry.path(),
                column: None,
                problem: format!(
                    "node type `{ntype}` is not in the graph (it has: {})",
                    counts.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
                hint: HINT,
            });
        };
        out.insert(ntype, read_ntype(&entry.path(), count)?);
    }
    Ok(out)
}

/// Reads all parquet files of one node type's folder into raw ids ordered by integer id.
pub(crate) fn read_ntype(dir: &Path, count: u64) -> Result<RawIds, DglError> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|source| DglError::Io {
            action: "list",
            path: dir.to_path_buf(),
            source,
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "parquet"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(DglError::RawIdMap {
            path: dir.to_path_buf(),
            column: None,
            problem: "the folder has no .parquet file".to_string(),
            hint: HINT,
        });
    }
    let n = count as usize;
    let mut slot: Vec<u64> = vec![u64::MAX; n];
    let mut ints: Option<Vec<i64>> = None;
    let mut strs: Option<Vec<String>> = None;
    let mut rows = 0u64;
    for file in &files {
        let (raw, new, new_col) = read_file(file)?;
        let bad = |problem: String| DglError::RawIdMap {
            path: file.clone(),
            column: Some(new_col.to_string()),
            problem,
            hint: HINT,
        };
        let base = rows;
        for (i, &id) in new.iter().enumerate() {
            let ok = usize::try_from(id).ok().filter(|&v| v < n);
            let Some(v) = ok else {
                return Err(bad(format!(
                    "row {i}: id {id} is not below the type's {n} nodes"
                )));
            };
            if slot[v] != u64::MAX {
                return Err(bad(format!("row {i}: id {id} appears twice")));
            }
            slot[v] = base + i as u64;
        }
        rows += new.len() as u64;
        match raw {
            RawColumn::Int(v) if strs.is_none() => ints.get_or_insert_with(Vec::new).extend(v),
            RawColumn::Str(v) if ints.is_none() => strs.get_or_insert_with(Vec::new).extend(v),
            _ => {
                return Err(bad(
                    "its raw id column has a different type than in the other files".to_string(),
                ));
            }
        }
    }
    if rows != count {
        return Err(DglError::RawIdMap {
            path: dir.to_path_buf(),
            column: Some("new".to_string()),
            problem: format!("the files hold {rows} rows but the node type has {count} nodes"),
            hint: HINT,
        });
    }
    // Every slot is filled: `rows == n` distinct ids below n.
    Ok(match (ints, strs) {
        (Some(v), _) => RawIds::from_ints(slot.iter().map(|&r| v[r as usize]).collect()),
        (_, Some(v)) => RawIds::from_strings(slot.iter().map(|&r| v[r as usize].as_str())),
        (None, None) => RawIds::from_strings(Vec::<String>::new()),
    })
}

/// One file's raw id column and integer id column (and the latter's name).
fn read_file(path: &Path) -> Result<(RawColumn, Vec<i64>, &'static str), DglError> {
    let err = |column: &str, problem: String| DglError::RawIdMap {
        path: path.to_path_buf(),
        column: (column != "-").then(|| column.to_string()),
        problem,
        hint: HINT,
    };
    let file = File::open(path).map_err(|source| DglError::Io {
        action: "open",
        path: path.to_path_buf(),
        source,
    })?;
    let reader = SerializedFileReader::new(file)
        .map_err(|e| err("-", format!("not a readable parquet file: {e}")))?;
    let schema = reader.metadata().file_metadata().schema_descr_ptr();
    let find = |name: &str| {
        schema
            .columns()
            .iter()
            .position(|c| c.path().parts() == [name.to_string()])
    };
    let (raw_name, new_name, raw_idx, new_idx) = COLUMNS
        .iter()
        .find_map(|&(r, n)| Some((r, n, find(r)?, find(n)?)))
        .ok_or_else(|| {
            let have: Vec<String> = schema.columns().iter().map(|c| c.path().string()).collect();
            err(
                "orig",
                format!("no `orig`/`new` columns (it has: {})", have.join(", ")),
            )
        })?;
    let mut raw: Option<RawColumn> = None;
    let mut new = Vec::new();
    for g in 0..reader.num_row_groups() {
        let group = reader
            .get_row_group(g)
            .map_err(|e| err("-", format!("row group {g}: {e}")))?;
        let rows = group.metadata().num_rows() as usize;
        for (idx, name) in [(raw_idx, raw_name), (new_idx, new_name)] {
            let col = group
                .get_column_reader(idx)
                .map_err(|e| err(name, format!("row group {g}: {e}")))?;
            let max_def = schema.column(idx).max_def_level();
            let values = read_column(col, rows, max_def)
                .map_err(|p| err(name, format!("row group {g}: {p}")))?;
            match (idx == raw_idx, values) {
                (true, RawColumn::Int(v)) => match raw.get_or_insert(RawColumn::Int(Vec::new())) {
                    RawColumn::Int(all) => all.extend(v),
                    RawColumn::Str(_) => return Err(err(name, "mixes types".to_string())),
                },
                (true, RawColumn::Str(v)) => match raw.get_or_insert(RawColumn::Str(Vec::new())) {
                    RawColumn::Str(all) => all.extend(v),
                    RawColumn::Int(_) => return Err(err(name, "mixes types".to_string())),
                },
                (false, RawColumn::Int(v)) => new.extend(v),
                (false, RawColumn::Str(_)) => {
                    return Err(err(name, "holds strings, expected int64 ids".to_string()));
                }
            }
        }
    }
    Ok((raw.unwrap_or(RawColumn::Str(Vec::new())), new, new_name))
}

/// Reads `rows` non-null values of an int64, int32 or UTF-8 column.
fn read_column(col: ColumnReader, rows: usize, max_def: i16) -> Result<RawColumn, String> {
    fn all<T>(
        mut r: parquet::column::reader::ColumnReaderImpl<T>,
        rows: usize,
        max_def: i16,
    ) -> Result<Vec<T::T>, String>
    where
        T: parquet::data_type::DataType,
    {
        let mut values = Vec::with_capacity(rows);
        let mut defs = Vec::with_capacity(rows);
        let mut levels = 0usize;
        loop {
            let (records, _, n) = r
                .read_records(rows.max(1), Some(&mut defs), None, &mut values)
                .map_err(|e| e.to_string())?;
            levels += n;
            if records == 0 {
                break;
            }
        }
        let nulls = if max_def > 0 {
            levels - values.len()
        } else {
            0
        };
        if nulls > 0 || values.len() != rows {
            let first = defs
                .iter()
                .position(|&d| d < max_def)
                .unwrap_or(values.len());
            return Err(format!("has a null value (first at row {first})"));
        }
        Ok(values)
    }
    Ok(match col {
        ColumnReader::Int64ColumnReader(r) => RawColumn::Int(all(r, rows, max_def)?),
        ColumnReader::Int32ColumnReader(r) => {
            RawColumn::Int(all(r, rows, max_def)?.into_iter().map(i64::from).collect())
        }
        ColumnReader::ByteArrayColumnReader(r) => RawColumn::Str(
            all(r, rows, max_def)?
                .into_iter()
                .map(|b| {
                    String::from_utf8(b.data().to_vec())
                        .map_err(|_| "holds a value that is not UTF-8".to_string())
                })
                .collect::<Result<_, _>>()?,
        ),
        _ => return Err("has a type other than int64, int32 or string".to_string()),
    })
}

/// Writes `ids` (indexed by node id) as `dir/part-00000.parquet`, ... with columns `orig`
/// (utf8 or int64) and `new` (int64 node id), as GraphStorm's gconstruct writes
/// `raw_id_mappings/<ntype>/`: files split at about 1 GiB of table data, row groups of 2^20.
pub fn write_raw_id_mapping(dir: &Path, ids: &RawIds) -> Result<Vec<PathBuf>, StorageError> {
    let io = |action: &'static str, path: &Path| {
        let path = path.to_path_buf();
        move |source| StorageError::Io {
            action,
            path,
            source,
        }
    };
    std::fs::create_dir_all(dir).map_err(io("create", dir))?;
    let n = ids.len();
    let bytes: usize = ids
        .iter()
        .map(|r| match r {
            RawId::Int(_) => 16,
            RawId::Str(s) => s.len() + 12,
        })
        .sum();
    let rows_per_file = ((1usize << 30) / (bytes / n.max(1)).max(1)).max(1);
    let mut files = Vec::new();
    let mut start = 0;
    // An empty type still gets one (empty) file, as pyarrow writes.
    loop {
        let end = (start + rows_per_file).min(n);
        let path = dir.join(format!("part-{:05}.parquet", files.len()));
        write_part(&path, ids, start..end)?;
        files.push(path);
        start = end;
        if start >= n {
            return Ok(files);
        }
    }
}

fn write_part(path: &Path, ids: &RawIds, rows: std::ops::Range<usize>) -> Result<(), StorageError> {
    use parquet::basic::Compression;
    use parquet::data_type::{ByteArray, ByteArrayType, Int64Type};
    use parquet::file::properties::WriterProperties;
    use parquet::file::writer::SerializedFileWriter;
    use std::sync::Arc;

    let perr = |e: parquet::errors::ParquetError| StorageError::Io {
        action: "write",
        path: path.to_path_buf(),
        source: std::io::Error::other(e),
    };
    let orig_type = if ids.is_int() {
        "optional int64 orig;"
    } else {
        "optional binary orig (STRING);"
    };
    let schema = parquet::schema::parser::parse_message_type(&format!(
        "message schema {{ {orig_type} optional int64 new; }}"
    ))
    .map_err(perr)?;
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .build();
    let file = File::create(path).map_err(|source| StorageError::Io {
        action: "create",
        path: path.to_path_buf(),
        source,
    })?;
    let mut writer =
        SerializedFileWriter::new(file, Arc::new(schema), Arc::new(props)).map_err(perr)?;
    const GROUP: usize = 1 << 20;
    for s in rows.clone().step_by(GROUP) {
        let e = (s + GROUP).min(rows.end);
        let present = vec![1_i16; e - s];
        let new: Vec<i64> = (s as i64..e as i64).collect();
        let mut group = writer.next_row_group().map_err(perr)?;
        let mut col = group.next_column().map_err(perr)?.expect("two columns");
        let raw = new.iter().map(|&i| ids.get(i as NodeId).expect("in range"));
        if ids.is_int() {
            let v: Vec<i64> = raw
                .map(|r| match r {
                    RawId::Int(i) => i,
                    RawId::Str(_) => unreachable!(),
                })
                .collect();
            col.typed::<Int64Type>()
                .write_batch(&v, Some(&present), None)
        } else {
            let v: Vec<ByteArray> = raw
                .map(|r| ByteArray::from(r.to_string().into_bytes()))
                .collect();
            col.typed::<ByteArrayType>()
                .write_batch(&v, Some(&present), None)
        }
        .map_err(perr)?;
        col.close().map_err(perr)?;
        let mut col = group.next_column().map_err(perr)?.expect("two columns");
        col.typed::<Int64Type>()
            .write_batch(&new, Some(&present), None)
            .map_err(perr)?;
        col.close().map_err(perr)?;
        group.close().map_err(perr)?;
    }
    let file = writer.into_inner().map_err(perr)?;
    file.sync_all().map_err(|source| StorageError::Io {
        action: "sync",
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use parquet::data_type::{ByteArray, ByteArrayType, Int64Type};
    use parquet::file::properties::WriterProperties;
    use parquet::file::writer::SerializedFileWriter;
    use parquet::schema::parser::parse_message_type;

    use super::*;
    use crate::raw_ids::RawId;

    /// Writes `orig` (ints or strings; `None` = null) and `new` columns to `path`.
    fn write(path: &Path, orig_type: &str, ints: &[i64], strs: &[Option<&str>], new: &[i64]) {
        let schema = format!("message schema {{ {orig_type} orig; required int64 new; }}");
        let schema = Arc::new(parse_message_type(&schema).unwrap());
        let file = File::create(path).unwrap();
        let mut w =
            SerializedFileWriter::new(file, schema, Arc::new(WriterProperties::default())).unwrap();
        let mut g = w.next_row_group().unwrap();
        let mut c = g.next_column().unwrap().unwrap();
        if strs.is_empty() {
            c.typed::<Int64Type>()
                .write_batch(ints, None, None)
                .unwrap();
        } else {
            let vals: Vec<ByteArray> = strs.iter().flatten().map(|s| ByteArray::from(*s)).collect();
            let defs: Vec<i16> = strs.iter().map(|s| i16::from(s.is_some())).collect();
            c.typed::<ByteArrayType>()
                .write_batch(&vals, Some(&defs), None)
                .unwrap();
        }
        c.close().unwrap();
        let mut c = g.next_column().unwrap().unwrap();
        c.typed::<Int64Type>().write_batch(new, None, None).unwrap();
        c.close().unwrap();
        g.close().unwrap();
        w.close().unwrap();
    }

    #[test]
    fn int_ids_files_in_order_and_bad_columns() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("raw_id_mappings/user");
        std::fs::create_dir_all(&dir).unwrap();
        write(
            &dir.join("part-00000.parquet"),
            "required int64",
            &[700, 500],
            &[],
            &[2, 0],
        );
        write(
            &dir.join("part-00001.parquet"),
            "required int64",
            &[600],
            &[],
            &[1],
        );
        let counts = BTreeMap::from([("user".to_string(), 3)]);
        let json = tmp.path().join("g.json");
        let ids = read_beside(&json, &counts).unwrap().remove("user").unwrap();
        assert!(ids.is_int());
        assert_eq!(
            ids.iter().collect::<Vec<_>>(),
            [500, 600, 700].map(RawId::Int)
        );

        // A repeated id, a type the graph lacks, a null raw id, a missing column.
        write(
            &dir.join("part-00001.parquet"),
            "required int64",
            &[600],
            &[],
            &[0],
        );
        let e = read_beside(&json, &counts).unwrap_err().to_string();
        assert!(
            e.contains("part-00001.parquet")
                && e.contains("column `new`")
                && e.contains("twice")
                && e.contains("hint:"),
            "{e}"
        );
        let e = read_beside(&json, &BTreeMap::new())
            .unwrap_err()
            .to_string();
        assert!(e.contains("`user` is not in the graph"), "{e}");
        std::fs::remove_file(dir.join("part-00001.parquet")).unwrap();
        write(
            &dir.join("part-00000.parquet"),
            "optional binary",
            &[],
            &[Some("a"), None, Some("c")],
            &[0, 1, 2],
        );
        let e = read_beside(&json, &counts).unwrap_err().to_string();
        assert!(
            e.contains("column `orig`") && e.contains("null") && e.contains("row 1"),
            "{e}"
        );
        let schema = Arc::new(parse_message_type("message schema { required int64 id; }").unwrap());
        let file = File::create(dir.join("part-00000.parquet")).unwrap();
        let w =
            SerializedFileWriter::new(file, schema, Arc::new(WriterProperties::default())).unwrap();
        w.close().unwrap();
        let e = read_beside(&json, &counts).unwrap_err().to_string();
        assert!(
            e.contains("no `orig`/`new` columns") && e.contains("id") && e.contains("hint:"),
            "{e}"
        );
    }
}
