//! One csv chunk, byte-compatible with `remap_result.write_data_csv_file`: pandas
//! `to_csv(index=False, sep=delimiter)` of the columns `[pred|emb, nid]`, a vector written as
//! `";".join(str(v) for v in row.tolist())` (so a float32 is printed as Python prints the
//! float64 it widens to, e.g. `0.10000000149011612`), fields quoted only when they must be.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::ops::Range;
use std::path::Path;

use crate::OutputError;
use crate::input::{NodeIds, Values};
use crate::layout::{CSV_LIST_SEP, NID_COL, PRED_COL};

/// Writes rows `rows` of one node type to `path` and fsyncs it.
pub(crate) fn write_chunk(
    path: &Path,
    value_col: &str,
    delimiter: char,
    ids: NodeIds<'_>,
    values: Values<'_>,
    rows: Range<usize>,
) -> Result<(), OutputError> {
    let io_err = |e| OutputError::io(path, "write", e);
    let file = File::create(path).map_err(|e| OutputError::io(path, "create", e))?;
    let mut out = BufWriter::new(file);
    let mut line = String::new();
    push_field(&mut line, value_col, delimiter);
    line.push(delimiter);
    push_field(&mut line, NID_COL, delimiter);
    line.push('\n');
    out.write_all(line.as_bytes()).map_err(io_err)?;

    let mut cell = String::new();
    for r in rows {
        line.clear();
        cell.clear();
        match values {
            Values::F32 { data, width } => {
                for (k, v) in data[r * width..(r + 1) * width].iter().enumerate() {
                    if k > 0 {
                        cell.push(CSV_LIST_SEP);
                    }
                    python_float_repr(f64::from(*v), &mut cell);
                }
            }
            Values::ClassIndex(classes) => cell.push_str(&classes[r].to_string()),
        }
        push_field(&mut line, &cell, delimiter);
        line.push(delimiter);
        match ids {
            NodeIds::Int(ids) => line.push_str(&ids[r].to_string()),
            NodeIds::Raw(ids) => push_field(&mut line, &ids[r], delimiter),
        }
        line.push('\n');
        out.write_all(line.as_bytes()).map_err(io_err)?;
    }
    let file = out.into_inner().map_err(|e| io_err(e.into_error()))?;
    file.sync_all()
        .map_err(|e| OutputError::io(path, "fsync", e))
}

/// Python's `csv.QUOTE_MINIMAL`: quote a field holding the delimiter, a quote or a line break,
/// doubling the quotes inside.
fn push_field(line: &mut String, field: &str, delimiter: char) {
    if field.contains([delimiter, '"', '\n', '\r']) {
        line.push('"');
        line.push_str(&field.replace('"', "\"\""));
        line.push('"');
    } else {
        line.push_str(field);
    }
}

/// Appends `repr(x)` as CPython prints a float: the shortest digits that round-trip, positional
/// when the decimal exponent is in `-4..16` (always with a fractional part, `1.0`), otherwise
/// scientific with a signed two-digit-minimum exponent (`1e-05`, `1.5e+16`).
pub(crate) fn python_float_repr(x: f64, out: &mut String) {
    if x.is_nan() {
        out.push_str("nan");
        return;
    }
    if x.is_infinite() {
        out.push_str(if x > 0.0 { "inf" } else { "-inf" });
        return;
    }
    // Rust's `{:e}` also prints the shortest round-tripping digits: "-1.2345e-6", "0e0".
    let sci = format!("{x:e}");
    let (mantissa, exp) = sci
        .split_once('e')
        .expect("`{:e}` always prints an exponent");
    let exp: i32 = exp.parse().expect("`{:e}` prints an integer exponent");
    let (negative, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => (true, m),
        None => (false, mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    if negative {
        out.push('-');
    }
    if (-4..16).contains(&exp) {
        // Positional: the point goes after digit `exp + 1`.
        let point = exp + 1;
        if point <= 0 {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', (-point) as usize));
            out.push_str(&digits);
        } else {
            let point = point as usize;
            if digits.len() <= point {
                out.push_str(&digits);
                out.extend(std::iter::repeat_n('0', point - digits.len()));
                out.push_str(".0");
            } else {
                out.push_str(&digits[..point]);
                out.push('.');
                out.push_str(&digits[point..]);
            }
        }
    } else {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        out.push_str(&format!("{:02}", exp.unsigned_abs()));
    }
}

/// Reads one csv file written by this crate or by `remap_result` (with the default column
/// names), appending to `nids` and `preds`. The delimiter is whatever separates `pred` from
/// `nid` in the header.
pub(crate) fn read_file(
    path: &Path,
    nids: &mut Vec<String>,
    preds: &mut Vec<Vec<f32>>,
) -> Result<(), OutputError> {
    let bad = |reason: String| OutputError::BadFile {
        path: path.to_path_buf(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| OutputError::io(path, "read", e))?;
    let header = text.lines().next().unwrap_or_default();
    let delimiter = header
        .strip_prefix(PRED_COL)
        .and_then(|rest| rest.strip_suffix(NID_COL))
        .filter(|d| d.chars().count() == 1)
        .and_then(|d| d.chars().next())
        .ok_or_else(|| {
            bad(format!(
                "header is `{header}`, expected `pred<delimiter>nid`"
            ))
        })?;

    let records = parse_records(&text, delimiter)
        .map_err(|(line, reason)| bad(format!("line {line}: {reason}")))?;
    for (line, record) in records.into_iter().enumerate().skip(1) {
        let line = line + 1;
        let [pred, nid]: [String; 2] = record.try_into().map_err(|r: Vec<String>| {
            bad(format!("line {line}: {} fields, expected 2", r.len()))
        })?;
        let row = pred
            .split(CSV_LIST_SEP)
            .map(|v| v.trim().parse::<f64>().map(|v| v as f32))
            .collect::<Result<Vec<f32>, _>>()
            .map_err(|_| {
                bad(format!(
                    "line {line}: `{pred}` is not a `;`-separated list of numbers"
                ))
            })?;
        nids.push(nid);
        preds.push(row);
    }
    Ok(())
}

/// Splits csv text into records of fields (RFC 4180 quoting, `\n` or `\r\n` line ends).
fn parse_records(text: &str, delimiter: char) -> Result<Vec<Vec<String>>, (usize, &'static str)> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut in_quotes = false;
    let mut line = 1;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if in_quotes {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => in_quotes = false,
                _ => {
                    if c == '\n' {
                        line += 1;
                    }
                    field.push(c);
                }
            }
        } else if c == '"' && field.is_empty() {
            in_quotes = true;
        } else if c == delimiter {
            record.push(std::mem::take(&mut field));
        } else if c == '\n' || c == '\r' {
            if c == '\r' && chars.peek() == Some(&'\n') {
                chars.next();
            }
            record.push(std::mem::take(&mut field));
            records.push(std::mem::take(&mut record));
            line += 1;
        } else {
            field.push(c);
        }
    }
    if in_quotes {
        return Err((line, "unterminated quoted field"));
    }
    if !field.is_empty() || !record.is_empty() {
        record.push(field);
        records.push(record);
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repr(x: f64) -> String {
        let mut s = String::new();
        python_float_repr(x, &mut s);
        s
    }

    /// Expected strings are CPython's `repr(float(numpy.float32(v)))` / `repr(v)`.
    #[test]
    fn float_repr_matches_python() {
        assert_eq!(repr(f64::from(0.1f32)), "0.10000000149011612");
        assert_eq!(repr(f64::from(1.0f32)), "1.0");
        assert_eq!(repr(f64::from(-2.5f32)), "-2.5");
        assert_eq!(repr(f64::from(1e-5f32)), "9.999999747378752e-06");
        assert_eq!(repr(0.0), "0.0");
        assert_eq!(repr(-0.0), "-0.0");
        assert_eq!(repr(0.0001), "0.0001");
        assert_eq!(repr(0.00001), "1e-05");
        assert_eq!(repr(123456.0), "123456.0");
        assert_eq!(repr(1e16), "1e+16");
        assert_eq!(repr(1234567890123456.0), "1234567890123456.0");
        assert_eq!(repr(1.5e300), "1.5e+300");
        assert_eq!(repr(f64::from(f32::MAX)), "3.4028234663852886e+38");
        assert_eq!(repr(f64::NAN), "nan");
        assert_eq!(repr(f64::NEG_INFINITY), "-inf");
    }

    #[test]
    fn quoting_is_minimal() {
        let mut s = String::new();
        push_field(&mut s, "plain", ',');
        push_field(&mut s, "a,b", ',');
        push_field(&mut s, "say \"hi\"", ',');
        assert_eq!(s, "plain\"a,b\"\"say \"\"hi\"\"\"");
    }

    #[test]
    fn parser_handles_quotes_and_crlf() {
        let recs =
            parse_records("pred,nid\r\n\"0.5;1\",\"x,\"\"y\"\"\"\n1,\"a\nb\"\n", ',').unwrap();
        assert_eq!(
            recs,
            vec![
                vec!["pred".to_owned(), "nid".to_owned()],
                vec!["0.5;1".to_owned(), "x,\"y\"".to_owned()],
                vec!["1".to_owned(), "a\nb".to_owned()],
            ]
        );
    }
}
