//! CSV input: the needed columns of one file typed while they are read, as pandas types them
//! (int64 when every cell is an integer, float64 when every non-null cell is a number, with
//! pandas' NA strings as NaN, else text). Numeric cells are parsed straight into `i64`/`f64`;
//! only text columns keep their cells as strings.

use std::collections::BTreeMap;
use std::path::Path;

use crate::GconstructError;
use crate::input::RawColumn;

/// pandas' default `na_values`.
const NA_VALUES: &[&str] = &[
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
    "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
];

/// The longest of [`NA_VALUES`], in bytes.
const NA_MAX_LEN: usize = 8;

fn is_na(cell: &str) -> bool {
    cell.len() <= NA_MAX_LEN && NA_VALUES.contains(&cell)
}

/// One column's values while its type is being inferred.
#[derive(Debug)]
enum ColumnBuilder {
    Int(Vec<i64>),
    Float(Vec<f64>),
    /// Text cells (`None` for NA). `complete` is false when the column became text after its
    /// first row: the cells before were parsed as numbers and are read again as text.
    Text {
        cells: Vec<Option<String>>,
        complete: bool,
    },
}

impl ColumnBuilder {
    fn push(&mut self, cell: &str) {
        match self {
            ColumnBuilder::Int(v) => {
                if !is_na(cell)
                    && let Ok(x) = cell.trim().parse::<i64>()
                {
                    v.push(x);
                    return;
                }
                // Every integer cell so far is also a float with the same value.
                let floats = std::mem::take(v).into_iter().map(|x| x as f64).collect();
                *self = ColumnBuilder::Float(floats);
                self.push(cell);
            }
            ColumnBuilder::Float(v) => {
                if is_na(cell) {
                    v.push(f64::NAN);
                    return;
                }
                if let Ok(x) = cell.trim().parse::<f64>() {
                    v.push(x);
                    return;
                }
                *self = ColumnBuilder::Text {
                    cells: Vec::new(),
                    complete: v.is_empty(),
                };
                self.push(cell);
            }
            ColumnBuilder::Text { cells, complete } => {
                if *complete {
                    cells.push((!is_na(cell)).then(|| cell.to_string()));
                }
            }
        }
    }

    fn needs_text_pass(&self) -> bool {
        matches!(
            self,
            ColumnBuilder::Text {
                complete: false,
                ..
            }
        )
    }

    /// The typed column, its spare capacity returned (the vectors grew by doubling).
    fn finish(self) -> RawColumn {
        match self {
            ColumnBuilder::Int(mut v) => {
                v.shrink_to_fit();
                RawColumn::Int(v)
            }
            ColumnBuilder::Float(mut v) => {
                v.shrink_to_fit();
                RawColumn::Float(v)
            }
            ColumnBuilder::Text { mut cells, .. } => {
                cells.shrink_to_fit();
                RawColumn::Str(cells)
            }
        }
    }
}

/// Reads the columns `needed` of the CSV file `path` (with a header row), with the number of
/// rows.
pub(crate) fn read_csv(
    path: &Path,
    delimiter: u8,
    needed: &BTreeMap<String, String>,
) -> Result<(Vec<(String, RawColumn)>, usize), GconstructError> {
    let read_err = |e: &dyn std::fmt::Display| GconstructError::Read {
        path: path.to_path_buf(),
        reason: e.to_string(),
        hint: "check that the file is CSV with a header row and the `separator` given in `format`"
            .into(),
    };
    let open = || {
        csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .has_headers(true)
            .from_path(path)
            .map_err(|e| read_err(&e))
    };
    let mut reader = open()?;
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| read_err(&e))?
        .iter()
        .map(|h| h.to_string())
        .collect();
    let mut idx = Vec::new();
    for (col, at) in needed {
        match headers.iter().position(|h| h == col) {
            Some(i) => idx.push((col.clone(), i)),
            None => {
                return Err(GconstructError::MissingColumn {
                    path: path.to_path_buf(),
                    column: col.clone(),
                    at: at.clone(),
                    available: headers.join(", "),
                });
            }
        }
    }
    let mut builders: Vec<ColumnBuilder> =
        idx.iter().map(|_| ColumnBuilder::Int(Vec::new())).collect();
    let mut rows = 0;
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => return Err(read_err(&e)),
        }
        for (b, (_, i)) in builders.iter_mut().zip(&idx) {
            b.push(record.get(*i).unwrap_or(""));
        }
        rows += 1;
    }
    // Columns that turned to text after their first row: read their cells again, as text.
    let again: Vec<usize> = (0..builders.len())
        .filter(|&k| builders[k].needs_text_pass())
        .collect();
    if !again.is_empty() {
        let mut texts: Vec<Vec<Option<String>>> = again.iter().map(|_| Vec::new()).collect();
        let mut reader = open()?;
        while reader.read_record(&mut record).map_err(|e| read_err(&e))? {
            for (cells, &k) in texts.iter_mut().zip(&again) {
                let v = record.get(idx[k].1).unwrap_or("");
                cells.push((!is_na(v)).then(|| v.to_string()));
            }
        }
        for (cells, &k) in texts.into_iter().zip(&again) {
            builders[k] = ColumnBuilder::Text {
                cells,
                complete: true,
            };
        }
    }
    let cols = idx
        .into_iter()
        .zip(builders)
        .map(|((name, _), b)| (name, b.finish()))
        .collect();
    Ok((cols, rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(cells: &[&str]) -> RawColumn {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        let mut text = String::from("c,other\n");
        for c in cells {
            text.push_str(&format!("{c},x\n"));
        }
        std::fs::write(&path, text).unwrap();
        let needed = BTreeMap::from([("c".to_string(), "test".to_string())]);
        let (mut cols, rows) = read_csv(&path, b',', &needed).unwrap();
        assert_eq!(rows, cells.len());
        cols.pop().unwrap().1
    }

    #[test]
    fn csv_inference_follows_pandas() {
        assert_eq!(column(&["1", "2"]), RawColumn::Int(vec![1, 2]));
        assert_eq!(column(&[" 7", "+2"]), RawColumn::Int(vec![7, 2]));
        assert_eq!(column(&["1", "2.5"]), RawColumn::Float(vec![1.0, 2.5]));
        assert!(
            matches!(column(&["1", "NA"]), RawColumn::Float(v) if v[0] == 1.0 && v[1].is_nan())
        );
        assert!(
            matches!(column(&["NA", "NA"]), RawColumn::Float(v) if v.iter().all(|x| x.is_nan()))
        );
        let s =
            |v: &[Option<&str>]| RawColumn::Str(v.iter().map(|x| x.map(str::to_string)).collect());
        // Text found after numbers: the numbers keep their original text.
        assert_eq!(
            column(&["1.50", "", " 3", "a"]),
            s(&[Some("1.50"), None, Some(" 3"), Some("a")])
        );
        assert_eq!(
            column(&["a", "1", "null"]),
            s(&[Some("a"), Some("1"), None])
        );
        assert_eq!(column(&[]), RawColumn::Int(vec![]));
    }
}
