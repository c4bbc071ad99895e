//! Input tables: file resolution (paths, lists, globs), typed columns and their concatenation
//! over a block's files, and row provenance for error messages. The readers of each format are
//! in `csv_input` and `parquet_input`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::GconstructError;
use crate::csv_input::read_csv;
use crate::list_column::ListColumn;
use crate::parquet_input::read_parquet;

/// One column of raw values, typed as pandas would type it.
#[derive(Debug, Clone, PartialEq)]
pub enum RawColumn {
    /// Integers without nulls (pandas `int64`).
    Int(Vec<i64>),
    /// Floats; nulls are NaN (pandas `float64`, also integers with nulls).
    Float(Vec<f64>),
    /// Text; `None` is a null.
    Str(Vec<Option<String>>),
    /// Numeric vectors (a Parquet list column), stored flat; a row may be null.
    List(ListColumn),
}

impl RawColumn {
    /// Number of rows.
    pub fn len(&self) -> usize {
        match self {
            RawColumn::Int(v) => v.len(),
            RawColumn::Float(v) => v.len(),
            RawColumn::Str(v) => v.len(),
            RawColumn::List(v) => v.len(),
        }
    }

    /// True when the column has no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub(crate) fn select(&self, keep: &[usize]) -> RawColumn {
        fn pick<T: Clone>(v: &[T], keep: &[usize]) -> Vec<T> {
            keep.iter().map(|&i| v[i].clone()).collect()
        }
        match self {
            RawColumn::Int(v) => RawColumn::Int(pick(v, keep)),
            RawColumn::Float(v) => RawColumn::Float(pick(v, keep)),
            RawColumn::Str(v) => RawColumn::Str(pick(v, keep)),
            RawColumn::List(v) => RawColumn::List(v.select(keep)),
        }
    }

    /// Appends `other`, promoting as pandas' concat would (int+float -> float, anything with
    /// text -> text).
    fn append(self, other: RawColumn) -> RawColumn {
        use RawColumn::*;
        match (self, other) {
            // Exact reservations: a block's columns are as long as all its files together.
            (Int(mut a), Int(b)) => {
                a.reserve_exact(b.len());
                a.extend(b);
                Int(a)
            }
            (Float(mut a), Float(b)) => {
                a.reserve_exact(b.len());
                a.extend(b);
                Float(a)
            }
            (Int(a), Float(b)) => Float(a.into_iter().map(|x| x as f64).chain(b).collect()),
            (Float(mut a), Int(b)) => {
                a.reserve_exact(b.len());
                a.extend(b.into_iter().map(|x| x as f64));
                Float(a)
            }
            (List(a), List(b)) => List(a.append(b)),
            (a, b) => {
                let mut s = a.into_strings();
                s.extend(b.into_strings());
                Str(s)
            }
        }
    }

    /// Every value as text as Python's `str()` writes it (`None` for nulls and NaN).
    pub(crate) fn into_strings(self) -> Vec<Option<String>> {
        match self {
            RawColumn::Int(v) => v.into_iter().map(|x| Some(x.to_string())).collect(),
            RawColumn::Float(v) => v.into_iter().map(py_float_str).collect(),
            RawColumn::Str(v) => v,
            RawColumn::List(v) => v
                .rows()
                .map(|r| {
                    r.map(|r| {
                        let items: Vec<String> = r.iter().map(|x| format!("{x:?}")).collect();
                        format!("[{}]", items.join(", "))
                    })
                })
                .collect(),
        }
    }

    pub(crate) fn kind(&self) -> &'static str {
        match self {
            RawColumn::Int(_) => "integers",
            RawColumn::Float(_) => "floats",
            RawColumn::Str(_) => "text",
            RawColumn::List(_) => "lists",
        }
    }
}

/// Python's `str(float)`; NaN is a null.
pub(crate) fn py_float_str(x: f64) -> Option<String> {
    if x.is_nan() {
        None
    } else if x.is_infinite() {
        Some(if x > 0.0 { "inf" } else { "-inf" }.to_string())
    } else {
        Some(format!("{x:?}"))
    }
}

/// The rows of one config block: its files' columns concatenated, with where each row came from.
#[derive(Debug, Default)]
pub(crate) struct Table {
    pub(crate) columns: BTreeMap<String, RawColumn>,
    /// `(file, rows)` in row order.
    pub(crate) sources: Vec<(PathBuf, usize)>,
    pub(crate) rows: usize,
}

impl Table {
    /// The file and in-file row of global row `row`.
    pub(crate) fn locate(&self, row: usize) -> (PathBuf, usize) {
        let mut start = 0;
        for (path, n) in &self.sources {
            if row < start + n {
                return (path.clone(), row - start);
            }
            start += n;
        }
        (PathBuf::from("?"), row)
    }

    /// Row ranges of each file, in order.
    pub(crate) fn file_ranges(&self) -> Vec<std::ops::Range<usize>> {
        let mut start = 0;
        self.sources
            .iter()
            .map(|(_, n)| {
                let r = start..start + n;
                start += n;
                r
            })
            .collect()
    }

    pub(crate) fn col(&self, name: &str) -> &RawColumn {
        &self.columns[name]
    }

    pub(crate) fn bad_value(
        &self,
        row: usize,
        column: &str,
        reason: impl Into<String>,
        hint: impl Into<String>,
    ) -> GconstructError {
        let (path, row) = self.locate(row);
        GconstructError::BadValue {
            path,
            row,
            column: column.to_string(),
            reason: reason.into(),
            hint: hint.into(),
        }
    }
}

/// An input file format.
#[derive(Debug, Clone)]
pub(crate) enum Format {
    Csv { delimiter: u8 },
    Parquet,
}

/// Resolves `files` (a path, a glob or a list of them) as GraphStorm's `get_in_files` does:
/// a single directory means every file in it, `*` patterns are expanded (sorted), and the
/// final list is sorted. Relative paths are resolved against the working directory first (as
/// GraphStorm does) and, when nothing is found there, against `conf_dir`.
pub(crate) fn resolve_files(
    patterns: &[String],
    conf_dir: &Path,
    at: &str,
) -> Result<Vec<PathBuf>, GconstructError> {
    let missing = |p: &str| GconstructError::MissingInput {
        pattern: p.to_string(),
        at: at.to_string(),
        conf_dir: conf_dir.to_path_buf(),
    };
    let mut patterns: Vec<String> = patterns.to_vec();
    if patterns.len() == 1
        && let Some(dir) = locate(&patterns[0], conf_dir).filter(|p| p.is_dir())
    {
        patterns = vec![dir.join("*").to_string_lossy().into_owned()];
    }
    let mut out = Vec::new();
    for p in &patterns {
        if p.contains('*') || p.contains('?') {
            let mut found = glob(Path::new(p));
            if found.is_empty() && Path::new(p).is_relative() {
                found = glob(&conf_dir.join(p));
            }
            found.retain(|f| f.is_file());
            if found.is_empty() {
                return Err(missing(p));
            }
            found.sort_by_key(|f| f.to_string_lossy().into_owned());
            out.extend(found);
        } else {
            match locate(p, conf_dir) {
                Some(f) if f.is_file() => out.push(f),
                _ => return Err(missing(p)),
            }
        }
    }
    out.sort_by_key(|f| f.to_string_lossy().into_owned());
    Ok(out)
}

/// `path` as given if it exists, else relative to `conf_dir`.
pub(crate) fn locate(path: &str, conf_dir: &Path) -> Option<PathBuf> {
    let p = Path::new(path);
    if p.exists() {
        return Some(p.to_path_buf());
    }
    if p.is_relative() {
        let q = conf_dir.join(p);
        if q.exists() {
            return Some(q);
        }
    }
    None
}

/// Expands `*` and `?` in any path component.
fn glob(pattern: &Path) -> Vec<PathBuf> {
    let mut current: Vec<PathBuf> = vec![PathBuf::new()];
    for comp in pattern.components() {
        let text = comp.as_os_str().to_string_lossy();
        let mut next = Vec::new();
        if text.contains('*') || text.contains('?') {
            for base in &current {
                let dir = if base.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    base.as_path()
                };
                let Ok(entries) = std::fs::read_dir(dir) else {
                    continue;
                };
                for e in entries.flatten() {
                    let name = e.file_name().to_string_lossy().into_owned();
                    if !name.starts_with('.') && wildcard(&text, &name) {
                        next.push(base.join(&name));
                    }
                }
            }
        } else {
            for base in &current {
                next.push(base.join(comp.as_os_str()));
            }
        }
        current = next;
    }
    current.into_iter().filter(|p| p.exists()).collect()
}

fn wildcard(pattern: &str, name: &str) -> bool {
    fn rec(p: &[char], n: &[char]) -> bool {
        match p.first() {
            None => n.is_empty(),
            Some('*') => (0..=n.len()).any(|i| rec(&p[1..], &n[i..])),
            Some('?') => !n.is_empty() && rec(&p[1..], &n[1..]),
            Some(c) => n.first() == Some(c) && rec(&p[1..], &n[1..]),
        }
    }
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    rec(&p, &n)
}

/// Reads the columns `needed` of every file into one table. `needed` maps a column to the config
/// place that needs it (for errors). Empty files are skipped, as GraphStorm does. Files are read
/// in parallel; the error reported is that of the first failing file in `files` order.
pub(crate) fn read_table(
    files: &[PathBuf],
    format: &Format,
    needed: &BTreeMap<String, String>,
) -> Result<Table, GconstructError> {
    let read = |path: &PathBuf| match format {
        Format::Csv { delimiter } => read_csv(path, *delimiter, needed),
        Format::Parquet => read_parquet(path, needed),
    };
    let parts: Vec<_> = files.par_iter().map(read).collect();
    let mut table = Table::default();
    for (path, part) in files.iter().zip(parts) {
        let (cols, rows) = part?;
        if rows == 0 {
            continue;
        }
        for (name, col) in cols {
            let merged = match table.columns.remove(&name) {
                Some(prev) => prev.append(col),
                None => col,
            };
            table.columns.insert(name, merged);
        }
        table.sources.push((path.clone(), rows));
        table.rows += rows;
    }
    Ok(table)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_and_python_floats() {
        assert!(wildcard("part-*.csv", "part-001.csv"));
        assert!(!wildcard("part-*.csv", "part-001.parquet"));
        assert_eq!(py_float_str(2.0).unwrap(), "2.0");
    }
}
