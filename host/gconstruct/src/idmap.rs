//! Raw node id -> dense per-type id, as GraphStorm's `IdMap` / `NoopMap`, and the
//! `raw_id_mappings/<ntype>/part-NNNNN.parquet` files.

use std::path::{Path, PathBuf};

use gs_graph::RawIds;
use rayon::prelude::*;

use crate::GconstructError;
use crate::fast_hash::{IdHashMap, id_hash_map};
use crate::input::RawColumn;
use crate::int_index::IntIndex;

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

/// Whether integer ids are exactly `0..n` in order.
fn is_identity(ids: &[i64]) -> bool {
    ids.iter().enumerate().all(|(i, &x)| x == i as i64)
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

/// The first null row of an id column, as `Err(row)`; a list column is never a valid id column
/// (`Err(len)`, as before).
fn first_null(col: &RawColumn) -> Result<(), usize> {
    match col {
        RawColumn::Int(_) => Ok(()),
        RawColumn::Float(v) => v.iter().position(|x| x.is_nan()).map_or(Ok(()), Err),
        RawColumn::Str(v) => v.iter().position(Option::is_none).map_or(Ok(()), Err),
        RawColumn::List(v) => Err(v.len()),
    }
}

/// The raw id of row `row` of an id column (`None` for a null).
pub(crate) fn key_at(col: &RawColumn, row: usize) -> Option<RawKey> {
    match col {
        RawColumn::Int(v) => Some(RawKey::Int(v[row])),
        RawColumn::Float(v) => crate::input::py_float_str(v[row]).map(RawKey::Str),
        RawColumn::Str(v) => v[row].clone().map(RawKey::Str),
        RawColumn::List(_) => None,
    }
}

/// Why an id column cannot define a node type's ids.
#[derive(Debug)]
pub(crate) enum IdColumnError {
    /// The first null row.
    Null(usize),
    /// Row `row` repeats the id first seen at row `first`.
    Duplicate {
        row: usize,
        first: usize,
        id: RawKey,
    },
}

/// Sorted unique raw ids gathered from edge columns (for node types without a node table).
#[derive(Debug, Default)]
pub(crate) struct UniqueKeys {
    ints: Vec<i64>,
    strs: Vec<String>,
}

impl UniqueKeys {
    /// Adds the ids of `col`; `Err(row)` names its first null.
    pub(crate) fn extend(&mut self, col: &RawColumn) -> Result<(), usize> {
        first_null(col)?;
        match col {
            RawColumn::Int(v) => {
                let mut v = v.clone();
                v.sort_unstable();
                v.dedup();
                self.ints.extend(v);
                self.ints.sort_unstable();
                self.ints.dedup();
            }
            RawColumn::Float(v) => self
                .strs
                .extend(v.iter().filter_map(|&x| crate::input::py_float_str(x))),
            RawColumn::Str(v) => self.strs.extend(v.iter().flatten().cloned()),
            RawColumn::List(_) => unreachable!("first_null refuses lists"),
        }
        Ok(())
    }

    /// The map over the sorted unique ids (as `np.unique`): integers in numeric order, text in
    /// text order, and all as text when integer and text ids are mixed.
    pub(crate) fn into_map(self, remap: bool) -> IdMap {
        let UniqueKeys { ints, mut strs } = self;
        if strs.is_empty() {
            return IdMap::from_unique_ints(ints, remap);
        }
        strs.extend(ints.iter().map(i64::to_string));
        strs.sort_unstable();
        strs.dedup();
        IdMap::from_unique_strs(strs)
    }
}

/// The id map of one node type.
#[derive(Debug, Clone)]
pub(crate) enum IdMap {
    /// Integer ids that are already `0..n` (and `--remap-node-id` was not given): identity,
    /// nothing saved, as GraphStorm's `NoopMap`.
    Noop(usize),
    /// Integer raw ids in new-id order.
    Int { ids: Vec<i64>, index: IntIndex },
    /// Text raw ids in new-id order.
    Str {
        ids: Vec<String>,
        index: IdHashMap<String, u64>,
    },
}

/// What [`IdMap::map_column`] gives an id that is not in the map.
pub(crate) const MISSING: u64 = u64::MAX;

impl IdMap {
    pub(crate) fn len(&self) -> usize {
        match self {
            IdMap::Noop(n) => *n,
            IdMap::Int { ids, .. } => ids.len(),
            IdMap::Str { ids, .. } => ids.len(),
        }
    }

    /// The map of a node table's id column: new ids in row order. Nulls are checked before
    /// duplicates.
    pub(crate) fn from_id_column(col: &RawColumn, remap: bool) -> Result<IdMap, IdColumnError> {
        first_null(col).map_err(IdColumnError::Null)?;
        match col {
            RawColumn::Int(v) => {
                if !remap && is_identity(v) {
                    return Ok(IdMap::Noop(v.len()));
                }
                let mut index = IntIndex::with_capacity(v.len());
                for (r, &x) in v.iter().enumerate() {
                    if let Some(first) = index.insert(x, r as u64) {
                        return Err(IdColumnError::Duplicate {
                            row: r,
                            first: first as usize,
                            id: RawKey::Int(x),
                        });
                    }
                }
                Ok(IdMap::Int {
                    ids: v.clone(),
                    index,
                })
            }
            _ => {
                let n = col.len();
                let mut index: IdHashMap<String, u64> = id_hash_map(n);
                let mut ids = Vec::with_capacity(n);
                for r in 0..n {
                    let Some(RawKey::Str(s)) = key_at(col, r) else {
                        unreachable!("first_null checked the column")
                    };
                    if let Some(&first) = index.get(&s) {
                        return Err(IdColumnError::Duplicate {
                            row: r,
                            first: first as usize,
                            id: RawKey::Str(s),
                        });
                    }
                    index.insert(s.clone(), r as u64);
                    ids.push(s);
                }
                Ok(IdMap::Str { ids, index })
            }
        }
    }

    /// The map over unique integer ids in new-id order (`Noop` when they are `0..n`, unless
    /// `remap`).
    pub(crate) fn from_unique_ints(ids: Vec<i64>, remap: bool) -> IdMap {
        if !remap && is_identity(&ids) {
            return IdMap::Noop(ids.len());
        }
        let mut index = IntIndex::with_capacity(ids.len());
        for (i, &x) in ids.iter().enumerate() {
            index.insert(x, i as u64);
        }
        IdMap::Int { ids, index }
    }

    /// The map over unique text ids in new-id order.
    pub(crate) fn from_unique_strs(ids: Vec<String>) -> IdMap {
        let mut index = id_hash_map(ids.len());
        index.extend(ids.iter().enumerate().map(|(i, x)| (x.clone(), i as u64)));
        IdMap::Str { ids, index }
    }

    /// The new id of integer raw id `i` (looked up as text in a text map; GraphStorm refuses
    /// such mixes outright).
    pub(crate) fn get_int(&self, i: i64) -> Option<u64> {
        match self {
            IdMap::Noop(n) => (i >= 0 && (i as usize) < *n).then_some(i as u64),
            IdMap::Int { index, .. } => index.get(i),
            IdMap::Str { index, .. } => index.get(i.to_string().as_str()).copied(),
        }
    }

    /// The new id of text raw id `s` (parsed in an integer map).
    pub(crate) fn get_str(&self, s: &str) -> Option<u64> {
        match self {
            IdMap::Str { index, .. } => index.get(s).copied(),
            _ => s.parse::<i64>().ok().and_then(|i| self.get_int(i)),
        }
    }

    /// The new id of every row of an id column ([`MISSING`] for ids not in the map), as
    /// [`IdMap::get_int`] or [`IdMap::get_str`] on each row's raw id; `Err(row)` names the
    /// first null. Rows are looked up in parallel (random reads in a map larger than the
    /// caches: a second core nearly doubles the rate).
    pub(crate) fn map_column(&self, col: &RawColumn) -> Result<Vec<u64>, usize> {
        first_null(col)?;
        let or_missing = |x: Option<u64>| x.unwrap_or(MISSING);
        Ok(match (self, col) {
            (IdMap::Str { index, .. }, RawColumn::Int(v)) => v
                .par_iter()
                .map_init(String::new, |text, &i| {
                    use std::fmt::Write;
                    text.clear();
                    write!(text, "{i}").expect("writing to a String");
                    or_missing(index.get(text.as_str()).copied())
                })
                .collect(),
            (IdMap::Int { index, .. }, RawColumn::Int(v)) => {
                let mut out = vec![MISSING; v.len()];
                const CHUNK: usize = 1 << 14;
                v.par_chunks(CHUNK)
                    .zip(out.par_chunks_mut(CHUNK))
                    .for_each(|(keys, out)| index.get_many(keys, out, MISSING));
                out
            }
            (_, RawColumn::Int(v)) => v.par_iter().map(|&i| or_missing(self.get_int(i))).collect(),
            (_, RawColumn::Str(v)) => v
                .par_iter()
                .map(|s| or_missing(self.get_str(s.as_deref().expect("no nulls"))))
                .collect(),
            (_, RawColumn::Float(v)) => v
                .par_iter()
                .map(|&x| {
                    let s = crate::input::py_float_str(x).expect("no NaN");
                    or_missing(self.get_str(&s))
                })
                .collect(),
            (_, RawColumn::List(_)) => unreachable!("first_null refuses lists"),
        })
    }

    /// Writes `dir/part-NNNNN.parquet` files with columns `orig` (utf8 or int64) and `new`
    /// (int64), split at about 1 GiB of table data as GraphStorm's `IdMap.save`, through
    /// [`gs_graph::write_raw_id_mapping`]. A `Noop` map writes nothing, as in GraphStorm.
    pub(crate) fn save(&self, dir: &Path) -> Result<Vec<PathBuf>, GconstructError> {
        let raw = match self {
            IdMap::Noop(_) => return Ok(Vec::new()),
            IdMap::Int { ids, .. } => RawIds::from_ints(ids.clone()),
            IdMap::Str { ids, .. } => RawIds::from_strings(ids),
        };
        Ok(gs_graph::write_raw_id_mapping(dir, &raw)?)
    }
}
