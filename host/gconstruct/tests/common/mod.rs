//! Helpers shared by the gconstruct tests: Parquet writing/reading and graph inspection.

#![allow(dead_code, unreachable_pub)]

use std::collections::BTreeMap;
use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use gs_graph::{EdgeType, HeteroGraph};
use parquet::data_type::{ByteArray, ByteArrayType, DoubleType, FloatType, Int32Type, Int64Type};
use parquet::file::properties::WriterProperties;
use parquet::file::reader::FileReader;
use parquet::file::serialized_reader::SerializedFileReader;
use parquet::file::writer::SerializedFileWriter;
use parquet::record::Field;
use parquet::schema::parser::parse_message_type;

/// A column to write to a test Parquet file.
pub enum PCol {
    I64(Vec<i64>),
    I32(Vec<i32>),
    F64(Vec<f64>),
    Str(Vec<&'static str>),
    /// `list<float>`, three-level as pyarrow writes it.
    ListF32(Vec<Vec<f32>>),
}

/// Writes `cols` to `path` as one row group, with the parquet crate's column writer.
pub fn write_parquet(path: &Path, cols: &[(&str, PCol)]) {
    let fields: Vec<String> = cols
        .iter()
        .map(|(name, c)| match c {
            PCol::I64(_) => format!("optional int64 {name};"),
            PCol::I32(_) => format!("optional int32 {name};"),
            PCol::F64(_) => format!("optional double {name};"),
            PCol::Str(_) => format!("optional binary {name} (STRING);"),
            PCol::ListF32(_) => format!(
                "optional group {name} (LIST) {{ repeated group list {{ optional float element; }} }}"
            ),
        })
        .collect();
    let schema = parse_message_type(&format!("message schema {{ {} }}", fields.join(" "))).unwrap();
    let props = WriterProperties::builder().build();
    let file = File::create(path).unwrap();
    let mut w = SerializedFileWriter::new(file, Arc::new(schema), Arc::new(props)).unwrap();
    let mut rg = w.next_row_group().unwrap();
    for (_, c) in cols {
        let mut col = rg.next_column().unwrap().unwrap();
        match c {
            PCol::I64(v) => {
                col.typed::<Int64Type>()
                    .write_batch(v, Some(&vec![1; v.len()]), None)
                    .unwrap();
            }
            PCol::I32(v) => {
                col.typed::<Int32Type>()
                    .write_batch(v, Some(&vec![1; v.len()]), None)
                    .unwrap();
            }
            PCol::F64(v) => {
                col.typed::<DoubleType>()
                    .write_batch(v, Some(&vec![1; v.len()]), None)
                    .unwrap();
            }
            PCol::Str(v) => {
                let b: Vec<ByteArray> = v.iter().map(|s| ByteArray::from(*s)).collect();
                col.typed::<ByteArrayType>()
                    .write_batch(&b, Some(&vec![1; v.len()]), None)
                    .unwrap();
            }
            PCol::ListF32(rows) => {
                let flat: Vec<f32> = rows.iter().flatten().copied().collect();
                let def = vec![3_i16; flat.len()];
                let rep: Vec<i16> = rows
                    .iter()
                    .flat_map(|r| (0..r.len()).map(|i| i16::from(i != 0)))
                    .collect();
                col.typed::<FloatType>()
                    .write_batch(&flat, Some(&def), Some(&rep))
                    .unwrap();
            }
        }
        col.close().unwrap();
    }
    rg.close().unwrap();
    w.close().unwrap();
}

/// Reads `raw_id_mappings/<ntype>/part-*.parquet`: raw id (text form) per new id, and whether
/// `orig` was an integer column.
pub fn read_raw_ids(graph_dir: &Path, ntype: &str) -> (Vec<String>, bool) {
    let dir = graph_dir.join("raw_id_mappings").join(ntype);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let mut pairs = Vec::new();
    let mut is_int = false;
    for f in files {
        let reader = SerializedFileReader::new(File::open(&f).unwrap()).unwrap();
        let names: Vec<String> = reader
            .metadata()
            .file_metadata()
            .schema_descr()
            .root_schema()
            .get_fields()
            .iter()
            .map(|f| f.name().to_string())
            .collect();
        assert_eq!(names, ["orig", "new"], "{}", f.display());
        for row in reader.get_row_iter(None).unwrap() {
            let row = row.unwrap();
            let mut orig = None;
            let mut new = None;
            for (name, field) in row.get_column_iter() {
                match (name.as_str(), field) {
                    ("orig", Field::Str(s)) => orig = Some(s.clone()),
                    ("orig", Field::Long(v)) => {
                        is_int = true;
                        orig = Some(v.to_string());
                    }
                    ("new", Field::Long(v)) => new = Some(*v),
                    other => panic!("unexpected field {other:?}"),
                }
            }
            pairs.push((new.unwrap(), orig.unwrap()));
        }
    }
    pairs.sort();
    for (i, (n, _)) in pairs.iter().enumerate() {
        assert_eq!(*n, i as i64, "new ids are dense");
    }
    (pairs.into_iter().map(|(_, o)| o).collect(), is_int)
}

/// `(src, dst)` of every edge of `et`, in edge-id (CSC) order.
pub fn edges(g: &HeteroGraph, et: &EdgeType) -> Vec<(u64, u64)> {
    let csc = g.csc(et).unwrap_or_else(|| panic!("no edge type {et}"));
    let mut out = Vec::new();
    for d in 0..csc.num_dst() {
        let (range, srcs) = csc.in_edges(d);
        assert_eq!(range.end - range.start, srcs.len() as u64);
        for &s in srcs {
            out.push((s, d));
        }
    }
    out
}

/// Rows of a float32 node or edge array.
pub fn rows_f32(a: &gs_graph::Array) -> Vec<Vec<f32>> {
    let w = a.row_width();
    a.as_f32()
        .expect("float32")
        .chunks(w.max(1))
        .map(<[f32]>::to_vec)
        .collect()
}

/// Parses a config written by a test.
pub fn write_json(path: &Path, v: &serde_json::Value) {
    std::fs::write(path, serde_json::to_string_pretty(v).unwrap()).unwrap();
}

/// Maps each raw id to its new id.
pub fn index(raw: &[String]) -> BTreeMap<String, usize> {
    raw.iter()
        .enumerate()
        .map(|(i, r)| (r.clone(), i))
        .collect()
}
