//! Raw node id -> dense per-type id, as GraphStorm's `IdMap` / `NoopMap`, and the
//! `raw_id_mappings/<ntype>/part-NNNNN.parquet` files.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parquet::basic::Compression;
use parquet::data_type::{ByteArray, ByteArrayType, Int64Type};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;

use crate::GconstructError;
use crate::input::RawColumn;

/// A raw id as a lookup key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum RawKey {
    Int(i64),
    Str(String),
}

impl std::fmt::Display for RawKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RawKey::Int(i) => write!(f, "{i}"),
            RawKey::Str(s) => write!(f, "{s:?}"),
        }
    }
}

/// The per-row raw ids of an id column; `Err(row)` names the first null.
pub(crate) fn column_keys(col: &RawColumn) -> Result<Vec<RawKey>, usize> {
    match col {
        RawColumn::Int(v) => Ok(v.iter().map(|&x| RawKey::Int(x)).collect()),
        RawColumn::Float(v) => v
            .iter()
            .enumerate()
            .map(|(i, &x)| crate::input::py_float_str(x).map(RawKey::Str).ok_or(i))
            .collect(),
        RawColumn::Str(v) => v
            .iter()
            .enumerate()
            .map(|(i, s)| s.clone().map(RawKey::Str).ok_or(i))
            .collect(),
        RawColumn::List(v) => Err(v.len()),
    }
}

/// The id map of one node type.
#[derive(Debug, Clone)]
pub(crate) enum IdMap {
    /// Integer ids that are already `0..n` (and `--remap-node-id` was not given): identity,
    /// nothing saved, as GraphStorm's `NoopMap`.
    Noop(usize),
    /// Integer raw ids in new-id order.
    Int {
        ids: Vec<i64>,
        index: HashMap<i64, u64>,
    },
    /// Text raw ids in new-id order.
    Str {
        ids: Vec<String>,
        index: HashMap<String, u64>,
    },
}

impl IdMap {
    pub(crate) fn len(&self) -> usize {
        match self {
            IdMap::Noop(n) => *n,
            IdMap::Int { ids, .. } => ids.len(),
            IdMap::Str { ids, .. } => ids.len(),
        }
    }

    /// Builds a map from unique keys in new-id order. Keys are all integers or all text (mixed
    /// keys are turned into text).
    pub(crate) fn from_unique(keys: Vec<RawKey>, remap: bool) -> IdMap {
        if keys.iter().all(|k| matches!(k, RawKey::Int(_))) {
            let ids: Vec<i64> = keys
                .into_iter()
                .map(|k| match k {
                    RawKey::Int(i) => i,
                    RawKey::Str(_) => unreachable!(),
                })
                .collect();
            if !remap && ids.iter().enumerate().all(|(i, &x)| x == i as i64) {
                return IdMap::Noop(ids.len());
            }
            let index = ids
                .iter()
                .enumerate()
                .map(|(i, &x)| (x, i as u64))
                .collect();
            IdMap::Int { ids, index }
        } else {
            let ids: Vec<String> = keys
                .into_iter()
                .map(|k| match k {
                    RawKey::Int(i) => i.to_string(),
                    RawKey::Str(s) => s,
                })
                .collect();
            let index = ids
                .iter()
                .enumerate()
                .map(|(i, x)| (x.clone(), i as u64))
                .collect();
            IdMap::Str { ids, index }
        }
    }

    /// The new id of `key`. Integer keys are looked up as text in a text map and text keys are
    /// parsed in an integer map (GraphStorm refuses such mixes outright).
    pub(crate) fn get(&self, key: &RawKey) -> Option<u64> {
        match (self, key) {
            (IdMap::Noop(n), RawKey::Int(i)) => {
                (*i >= 0 && (*i as usize) < *n).then_some(*i as u64)
            }
            (IdMap::Noop(n), RawKey::Str(s)) => s
                .parse::<i64>()
                .ok()
                .filter(|&i| i >= 0 && (i as usize) < *n)
                .map(|i| i as u64),
            (IdMap::Int { index, .. }, RawKey::Int(i)) => index.get(i).copied(),
            (IdMap::Int { index, .. }, RawKey::Str(s)) => {
                s.parse::<i64>().ok().and_then(|i| index.get(&i).copied())
            }
            (IdMap::Str { index, .. }, RawKey::Str(s)) => index.get(s).copied(),
            (IdMap::Str { index, .. }, RawKey::Int(i)) => index.get(&i.to_string()).copied(),
        }
    }

    /// Writes `dir/part-NNNNN.parquet` files with columns `orig` (utf8 or int64) and `new`
    /// (int64), split at about 1 GiB of table data as GraphStorm's `IdMap.save`. A `Noop` map
    /// writes nothing, as in GraphStorm.
    pub(crate) fn save(&self, dir: &Path) -> Result<Vec<PathBuf>, GconstructError> {
        let (n, bytes) = match self {
            IdMap::Noop(_) => return Ok(Vec::new()),
            IdMap::Int { ids, .. } => (ids.len(), ids.len() * 16),
            IdMap::Str { ids, .. } => (ids.len(), ids.iter().map(|s| s.len() + 12).sum()),
        };
        std::fs::create_dir_all(dir).map_err(|e| GconstructError::write("create", dir, e))?;
        const GIB: usize = 1 << 30;
        let per_row = (bytes / n.max(1)).max(1);
        let rows_per_file = (GIB / per_row).max(1);
        let mut files = Vec::new();
        let mut start = 0;
        let mut idx = 0;
        // An empty map still gets one (empty) file, as pyarrow writes.
        loop {
            let end = (start + rows_per_file).min(n);
            let path = dir.join(format!("part-{idx:05}.parquet"));
            self.write_part(&path, start..end)?;
            files.push(path);
            start = end;
            idx += 1;
            if start >= n {
                break;
            }
        }
        Ok(files)
    }

    fn write_part(&self, path: &Path, rows: std::ops::Range<usize>) -> Result<(), GconstructError> {
        let perr = |e: parquet::errors::ParquetError| GconstructError::write("write", path, e);
        let orig_type = match self {
            IdMap::Str { .. } => "optional binary orig (STRING);",
            _ => "optional int64 orig;",
        };
        let schema = parse_message_type(&format!(
            "message schema {{ {orig_type} optional int64 new; }}"
        ))
        .map_err(perr)?;
        let props = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .build();
        let file = File::create(path).map_err(|e| GconstructError::write("create", path, e))?;
        let mut writer =
            SerializedFileWriter::new(file, Arc::new(schema), Arc::new(props)).map_err(perr)?;
        const GROUP: usize = 1 << 20;
        let mut s = rows.start;
        while s < rows.end {
            let e = (s + GROUP).min(rows.end);
            let present = vec![1_i16; e - s];
            let mut rg = writer.next_row_group().map_err(perr)?;
            let mut col = rg.next_column().map_err(perr)?.expect("two columns");
            match self {
                IdMap::Str { ids, .. } => {
                    let b: Vec<ByteArray> = ids[s..e]
                        .iter()
                        .map(|x| ByteArray::from(x.as_bytes().to_vec()))
                        .collect();
                    col.typed::<ByteArrayType>()
                        .write_batch(&b, Some(&present), None)
                }
                IdMap::Int { ids, .. } => {
                    col.typed::<Int64Type>()
                        .write_batch(&ids[s..e], Some(&present), None)
                }
                IdMap::Noop(_) => unreachable!(),
            }
            .map_err(perr)?;
            col.close().map_err(perr)?;
            let mut col = rg.next_column().map_err(perr)?.expect("two columns");
            let new: Vec<i64> = (s as i64..e as i64).collect();
            col.typed::<Int64Type>()
                .write_batch(&new, Some(&present), None)
                .map_err(perr)?;
            col.close().map_err(perr)?;
            rg.close().map_err(perr)?;
            s = e;
        }
        let file = writer.into_inner().map_err(perr)?;
        file.sync_all()
            .map_err(|e| GconstructError::write("fsync", path, e))
    }
}
