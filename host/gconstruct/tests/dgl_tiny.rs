//! Rebuilds `tests/fixtures/dgl-tiny` from its `input/` (GraphStorm's own gconstruct config
//! and CSVs) and compares with what the real GraphStorm/DGL produced: node counts, edges by raw
//! id, deterministic features by raw id (`expected.json`), and `data_transform_new.json`.
//! Splits are random in GraphStorm, so only their sizes are compared.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use common::*;
use gs_gconstruct::{ConstructOptions, construct};
use gs_graph::EdgeType;
use serde_json::Value;

fn fixture() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/dgl-tiny");
    assert!(
        dir.join("input/gconstruct.json").is_file() && dir.join("expected.json").is_file(),
        "fixture missing: {} (expected tests/fixtures/dgl-tiny in the repository, with input/ and expected.json)",
        dir.display()
    );
    dir
}

fn read_csv_pairs(path: &std::path::Path) -> Vec<(String, String, String)> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[0].to_string(), f[1].to_string(), f[2].to_string())
        })
        .collect()
}

#[test]
fn dgl_tiny_rebuilds_like_graphstorm() {
    rebuild_and_compare(1);
}

/// As the fixture was made (its README): `--num-parts 2 --part-method random`. The partitioned
/// graph loads with the same nodes, features and edges under the same raw ids.
#[test]
fn dgl_tiny_rebuilds_in_two_parts_as_the_fixture_was_made() {
    rebuild_and_compare(2);
}

fn rebuild_and_compare(num_parts: usize) {
    let fx = fixture();
    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string(fx.join("expected.json")).unwrap()).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("tiny");
    let mut o = ConstructOptions::new(fx.join("input/gconstruct.json"), &out, "tiny");
    // As the fixture was made (its README): --part-method random --add-reverse-edges.
    o.add_reverse_edges = true;
    o.part_method = "random".parse().unwrap();
    o.num_parts = num_parts;
    o.seed = Some(0);
    let report = construct(&o).unwrap();
    let g = gs_graph::load(&report.part_config).unwrap();
    let config: Value =
        serde_json::from_str(&std::fs::read_to_string(&report.part_config).unwrap()).unwrap();
    assert_eq!(config["num_parts"], num_parts);
    assert_eq!(report.partition.is_some(), num_parts > 1);

    // Node counts and raw ids.
    let mut raw: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (nt, info) in expected["node_types"].as_object().unwrap() {
        assert_eq!(
            g.num_nodes(nt),
            info["count"].as_u64(),
            "node count of {nt}"
        );
        let (file_ids, is_int) = read_raw_ids(&out, nt);
        assert!(!is_int);
        // The loaded graph's raw ids, by (possibly partitioned) node id.
        let ids: Vec<String> = g
            .raw_ids(nt)
            .unwrap()
            .iter()
            .map(|r| r.to_string())
            .collect();
        if num_parts == 1 {
            assert_eq!(ids, file_ids, "one part keeps gconstruct's ids");
        }
        let mut a: Vec<&String> = ids.iter().collect();
        a.sort();
        let mut b: Vec<&str> = info["raw_ids_in_order"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        b.sort();
        assert_eq!(a, b, "raw ids of {nt}");
        raw.insert(nt.clone(), ids);
    }

    // Node features by raw id, where GraphStorm's transforms are deterministic (all of them
    // here), and labels; masks only by size (GraphStorm's splits are random).
    for (nt, info) in expected["node_types"].as_object().unwrap() {
        let order: Vec<&str> = info["raw_ids_in_order"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        let ours = index(&raw[nt]);
        for (name, rows) in info["features"].as_object().unwrap() {
            let a = g
                .node_data(nt, name)
                .unwrap_or_else(|| panic!("missing node data {nt}/{name}"));
            let rows = rows.as_array().unwrap();
            if name.ends_with("_mask") {
                let want: u64 = rows.iter().map(|v| v.as_u64().unwrap()).sum();
                let got: u64 = a.as_u8().unwrap().iter().map(|&x| u64::from(x)).sum();
                assert_eq!(got, want, "{nt}/{name} size");
                continue;
            }
            for (k, raw_id) in order.iter().enumerate() {
                let i = ours[*raw_id];
                match &rows[k] {
                    Value::Array(want) => {
                        let w = a.row_width();
                        let got = &a
                            .as_f32()
                            .unwrap_or_else(|| panic!("{nt}/{name} is not float32"))
                            [i * w..(i + 1) * w];
                        let want: Vec<f32> =
                            want.iter().map(|v| v.as_f64().unwrap() as f32).collect();
                        assert_eq!(got, want.as_slice(), "{nt}/{name} of {raw_id}");
                    }
                    v => assert_eq!(
                        a.as_i64().unwrap()[i],
                        v.as_i64().unwrap(),
                        "{nt}/{name} of {raw_id}"
                    ),
                }
            }
        }
    }

    // Edges by raw id, against the input CSVs and expected.json; edge features by edge.
    let input = |f: &str| read_csv_pairs(&fx.join("input").join(f));
    let csv_edges: BTreeMap<&str, Vec<(String, String, String)>> = [
        ("author:writes:paper", input("writes.csv")),
        ("paper:cites:paper", input("cites.csv")),
        (
            "paper:writes-rev:author",
            input("writes.csv")
                .into_iter()
                .map(|(a, b, c)| (b, a, c))
                .collect(),
        ),
        (
            "paper:cites-rev:paper",
            input("cites.csv")
                .into_iter()
                .map(|(a, b, c)| (b, a, c))
                .collect(),
        ),
    ]
    .into();
    let etypes: BTreeSet<String> = g.edge_types().map(|e| e.to_string()).collect();
    assert_eq!(
        etypes,
        expected["edge_types"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect()
    );
    for (key, info) in expected["edge_types"].as_object().unwrap() {
        let et: EdgeType = key.parse().unwrap();
        assert_eq!(
            g.num_edges(&et),
            info["count"].as_u64(),
            "edge count of {key}"
        );
        let pairs: Vec<(String, String)> = edges(&g, &et)
            .iter()
            .map(|&(s, d)| {
                (
                    raw[&et.src][s as usize].clone(),
                    raw[&et.dst][d as usize].clone(),
                )
            })
            .collect();
        let ours: BTreeSet<(String, String)> = pairs.iter().cloned().collect();
        assert_eq!(ours.len(), pairs.len(), "no duplicate edges in {key}");
        let want: BTreeSet<(String, String)> = info["edges_raw_in_order"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p[0].as_str().unwrap().to_string(),
                    p[1].as_str().unwrap().to_string(),
                )
            })
            .collect();
        assert_eq!(ours, want, "edges of {key} vs expected.json");
        let from_csv: BTreeSet<(String, String)> = csv_edges[key.as_str()]
            .iter()
            .map(|(a, b, _)| (a.clone(), b.clone()))
            .collect();
        assert_eq!(ours, from_csv, "edges of {key} vs the input CSV");

        let order: Vec<(String, String)> = info["edges_raw_in_order"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p[0].as_str().unwrap().to_string(),
                    p[1].as_str().unwrap().to_string(),
                )
            })
            .collect();
        let features = info["features"].as_object().unwrap();
        let our_names: BTreeSet<&str> = g.edge_data_all(&et).map(|(n, _)| n).collect();
        assert_eq!(
            our_names,
            features.keys().map(String::as_str).collect(),
            "edge data of {key}"
        );
        for (name, rows) in features {
            let a = g.edge_data(&et, name).unwrap();
            let rows = rows.as_array().unwrap();
            if name.ends_with("_mask") {
                let want: u64 = rows.iter().map(|v| v.as_u64().unwrap()).sum();
                let got: u64 = a.as_u8().unwrap().iter().map(|&x| u64::from(x)).sum();
                assert_eq!(got, want, "{key}/{name} size");
                continue;
            }
            let pos: BTreeMap<&(String, String), usize> =
                pairs.iter().enumerate().map(|(i, p)| (p, i)).collect();
            let w = a.row_width();
            for (k, p) in order.iter().enumerate() {
                let i = pos[p];
                let want: Vec<f32> = rows[k]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_f64().unwrap() as f32)
                    .collect();
                assert_eq!(
                    &a.as_f32().unwrap()[i * w..(i + 1) * w],
                    want.as_slice(),
                    "{key}/{name} of {p:?}"
                );
            }
        }
    }

    // data_transform_new.json equals GraphStorm's (fitted max/min and mappings, feature_dim,
    // version, is_homogeneous, add_reverse_edges).
    let ours: Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("data_transform_new.json")).unwrap(),
    )
    .unwrap();
    let theirs: Value = serde_json::from_str(
        &std::fs::read_to_string(fx.join("partitioned/data_transform_new.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(ours, theirs);
    // Byte for byte, too: same key order and indentation as GraphStorm's json.dump.
    let ours_text = std::fs::read_to_string(out.join("data_transform_new.json")).unwrap();
    let theirs_text =
        std::fs::read_to_string(fx.join("partitioned/data_transform_new.json")).unwrap();
    assert_eq!(ours_text.trim_end(), theirs_text.trim_end());
}
