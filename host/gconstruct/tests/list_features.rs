//! A `no-op` feature of one float32 list column takes the column's buffer instead of copying
//! it (`take_noop_matrix`): its values equal the copying path's, which still runs when the
//! column is read twice, and bad values are refused the same way on both paths.

mod common;

use std::path::Path;

use common::*;
use gs_gconstruct::{ConstructOptions, construct};
use serde_json::json;

const NTYPE: &str = "_N";

fn rows() -> Vec<Vec<f32>> {
    (0..6)
        .map(|r| (0..3).map(|d| r as f32 * 1.5 - d as f32 / 7.0).collect())
        .collect()
}

/// Builds a graph from `vec` (a `list<float>` column) with the given features; returns the
/// error text on failure.
fn build(
    dir: &Path,
    vec: Vec<Vec<f32>>,
    features: serde_json::Value,
) -> Result<gs_graph::HeteroGraph, String> {
    std::fs::create_dir_all(dir).unwrap();
    let ids: Vec<i64> = (0..vec.len() as i64).map(|i| 100 + i).collect();
    write_parquet(
        &dir.join("n.parquet"),
        &[("id", PCol::I64(ids)), ("vec", PCol::ListF32(vec))],
    );
    let conf = json!({
        "version": "gconstruct-v0.1",
        "nodes": [{"node_type": "n", "format": {"name": "parquet"}, "files": ["n.parquet"],
                   "node_id_col": "id", "features": features}],
        "edges": [{"relation": ["n", "to", "n"], "format": {"name": "parquet"},
                   "files": ["n.parquet"], "source_id_col": "id", "dest_id_col": "id"}]
    });
    write_json(&dir.join("conf.json"), &conf);
    let report = construct(&ConstructOptions {
        seed: Some(1),
        ..ConstructOptions::new(dir.join("conf.json"), dir.join("g"), "g")
    })
    .map_err(|e| e.to_string())?;
    Ok(gs_graph::load(&report.part_config).unwrap())
}

#[test]
fn a_moved_list_feature_equals_the_copied_one() {
    let tmp = tempfile::tempdir().unwrap();
    // Read by one feature: the buffer is moved.
    let moved = build(
        &tmp.path().join("a"),
        rows(),
        json!([{"feature_col": "vec"}]),
    )
    .unwrap();
    // Read by two features: both are copied.
    let copied = build(
        &tmp.path().join("b"),
        rows(),
        json!([{"feature_col": "vec"}, {"feature_col": "vec", "feature_name": "again"}]),
    )
    .unwrap();
    let a = moved.node_data(NTYPE, "vec").unwrap();
    assert_eq!(a.shape(), &[6, 3]);
    assert_eq!(a.as_f32(), copied.node_data(NTYPE, "vec").unwrap().as_f32());
    assert_eq!(
        a.as_f32(),
        copied.node_data(NTYPE, "again").unwrap().as_f32()
    );
    let (raw, _) = read_raw_ids(&tmp.path().join("a/g"), NTYPE);
    for (r, id) in raw.iter().enumerate() {
        let row = id.parse::<usize>().unwrap() - 100;
        assert_eq!(rows_f32(a)[r], rows()[row], "node {id}");
    }
    // truncate_dim takes the copying path and keeps the first values.
    let cut = build(
        &tmp.path().join("c"),
        rows(),
        json!([{"feature_col": "vec", "transform": {"name": "no-op", "truncate_dim": 2}}]),
    )
    .unwrap();
    let c = cut.node_data(NTYPE, "vec").unwrap();
    assert_eq!(c.shape(), &[6, 2]);
    let full = rows_f32(a);
    for (r, row) in rows_f32(c).iter().enumerate() {
        assert_eq!(row[..], full[r][..2]);
    }
}

#[test]
fn bad_list_values_are_refused_on_the_moving_path() {
    let tmp = tempfile::tempdir().unwrap();
    let mut with_nan = rows();
    with_nan[4][1] = f32::NAN;
    let err = build(
        &tmp.path().join("nan"),
        with_nan,
        json!([{"feature_col": "vec"}]),
    )
    .unwrap_err();
    assert!(err.contains("NaN") && err.contains("n.parquet"), "{err}");
    let mut ragged = rows();
    ragged[2].push(9.0);
    let err = build(
        &tmp.path().join("ragged"),
        ragged,
        json!([{"feature_col": "vec"}]),
    )
    .unwrap_err();
    assert!(
        err.contains("length 3") && err.contains("length 4"),
        "{err}"
    );
}
