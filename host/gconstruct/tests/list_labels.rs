//! A regression label stored as a Parquet `list<float>` column with one element per row, as
//! GraphStorm's gconstruct accepts it: the same label and masks as a plain float column. Lists
//! of any other length are refused with an error naming the file, row and column.

mod common;

use std::path::Path;

use common::*;
use gs_gconstruct::{ConstructOptions, construct};
use serde_json::json;

const IDS: [i64; 5] = [10, 11, 12, 13, 14];
const NTYPE: &str = "_N";
const PRICES: [f32; 5] = [1.5, -2.25, 3.0, 40.125, 0.5];

/// Writes `items.parquet` (ids and the label column `label`) and a config with a regression
/// label on it; returns the config path.
fn inputs(dir: &Path, label: PCol) -> std::path::PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    write_parquet(
        &dir.join("items.parquet"),
        &[("iid", PCol::I64(IDS.to_vec())), ("label", label)],
    );
    let conf = json!({
        "version": "gconstruct-v0.1",
        "nodes": [{
            "node_type": "item", "format": {"name": "parquet"}, "files": ["items.parquet"],
            "node_id_col": "iid",
            "labels": [{"label_col": "label", "task_type": "regression", "split_pct": [0.6, 0.2, 0.2]}]
        }],
        "edges": [{
            "relation": ["item", "links", "item"], "format": {"name": "parquet"},
            "files": ["items.parquet"], "source_id_col": "iid", "dest_id_col": "iid"
        }]
    });
    let path = dir.join("conf.json");
    write_json(&path, &conf);
    path
}

fn build(conf: &Path, out: &Path) -> Result<gs_graph::HeteroGraph, String> {
    let report = construct(&ConstructOptions {
        seed: Some(3),
        ..ConstructOptions::new(conf, out, "items")
    })
    .map_err(|e| e.to_string())?;
    Ok(gs_graph::load(&report.part_config).unwrap())
}

#[test]
fn one_element_list_labels_equal_a_float_label_column() {
    let tmp = tempfile::tempdir().unwrap();
    let lists = PCol::ListF32(PRICES.iter().map(|&p| vec![p]).collect());
    let from_lists = build(
        &inputs(&tmp.path().join("l"), lists),
        &tmp.path().join("gl"),
    )
    .unwrap();
    let floats = PCol::F64(PRICES.iter().map(|&p| f64::from(p)).collect());
    let from_floats = build(
        &inputs(&tmp.path().join("f"), floats),
        &tmp.path().join("gf"),
    )
    .unwrap();

    // One node type and one edge type: GraphStorm names the graph homogeneous (`_N`).
    let label = from_lists.node_data(NTYPE, "label").unwrap();
    assert_eq!(
        label.shape(),
        &[5, 1],
        "stacked to [n, 1] as GraphStorm does"
    );
    let (raw, _) = read_raw_ids(&tmp.path().join("gl"), NTYPE);
    let mut got: Vec<(String, f32)> = raw
        .into_iter()
        .zip(label.as_f32().unwrap().iter().copied())
        .collect();
    got.sort_by(|a, b| a.0.cmp(&b.0));
    let want: Vec<(String, f32)> = IDS.iter().map(|i| i.to_string()).zip(PRICES).collect();
    assert_eq!(got, want, "each node keeps its own label value");

    for name in ["label", "train_mask", "val_mask", "test_mask"] {
        let (a, b) = (
            from_lists.node_data(NTYPE, name).unwrap(),
            from_floats.node_data(NTYPE, name).unwrap(),
        );
        assert_eq!(
            (a.shape(), a.dtype(), rows_f32_or_bytes(a)),
            (b.shape(), b.dtype(), rows_f32_or_bytes(b)),
            "`{name}` differs between a list and a float label column"
        );
    }
}

fn rows_f32_or_bytes(a: &gs_graph::Array) -> Vec<f32> {
    a.as_f32()
        .map(<[f32]>::to_vec)
        .or_else(|| a.as_u8().map(|v| v.iter().map(|&b| f32::from(b)).collect()))
        .unwrap()
}

#[test]
fn lists_of_another_length_are_refused_with_the_row_and_column() {
    let tmp = tempfile::tempdir().unwrap();
    let rows = vec![vec![1.0], vec![2.0], vec![3.0, 4.0], vec![5.0], vec![6.0]];
    let err = build(
        &inputs(&tmp.path().join("in"), PCol::ListF32(rows)),
        &tmp.path().join("g"),
    )
    .unwrap_err();
    for needle in [
        "items.parquet",
        "label",
        "one element per row",
        "has 2",
        "hint:",
    ] {
        assert!(err.contains(needle), "`{needle}` missing from: {err}");
    }
}
