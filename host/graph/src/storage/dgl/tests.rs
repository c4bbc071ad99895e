//! Tests on `tests/fixtures/dgl-tiny` (a copy of the project's shared fixture): a graph partitioned into two parts by the real
//! GraphStorm 0.5.1 / DGL 2.1.0, with DGL's own read-back in `expected.json`.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::torch_pt::read_int_tensors;
use crate::{Array, EdgeType, HeteroGraph, inspect_dgl_partitions, load, load_dgl};

/// The fixture folder, committed under the repository's `tests/fixtures/`.
fn fixture() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/dgl-tiny");
    assert!(
        dir.join("expected.json").is_file(),
        "the dgl-tiny fixture is missing at `{}` (tests/fixtures/dgl-tiny in the repository)",
        dir.display()
    );
    dir
}

fn part_config() -> PathBuf {
    fixture().join("partitioned/tiny.json")
}

fn expected() -> Value {
    let text = std::fs::read_to_string(fixture().join("expected.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Row `r` of `a` as f64 values.
///
/// Rows are compared after rounding to f32: the data is float32 (or small integers), and
/// serde_json's default float parsing can be one f64 ulp off the printed value.
fn row(a: &Array, r: usize) -> Vec<f32> {
    row64(a, r).into_iter().map(|x| x as f32).collect()
}

fn row64(a: &Array, r: usize) -> Vec<f64> {
    let w = a.row_width();
    let range = r * w..(r + 1) * w;
    if let Some(v) = a.as_f32() {
        v[range].iter().map(|&x| f64::from(x)).collect()
    } else if let Some(v) = a.as_i64() {
        v[range].iter().map(|&x| x as f64).collect()
    } else {
        a.as_u8().unwrap()[range]
            .iter()
            .map(|&x| f64::from(x))
            .collect()
    }
}

/// An expected row (a number or a list of numbers) as f64 values.
fn expected_row(v: &Value) -> Vec<f32> {
    match v {
        Value::Array(items) => items.iter().map(|x| x.as_f64().unwrap() as f32).collect(),
        x => vec![x.as_f64().unwrap() as f32],
    }
}

fn raw(g: &HeteroGraph, nt: &str, id: u64) -> String {
    g.raw_id(nt, id).unwrap().to_string()
}

#[test]
fn reproduces_expected_json() {
    let exp = expected();
    let dgl = load_dgl(&part_config()).unwrap();
    let g = &dgl.graph;
    assert_eq!(dgl.graph_name, exp["graph_name"].as_str().unwrap());
    assert_eq!(dgl.parts.len() as u64, exp["num_parts"].as_u64().unwrap());

    let ntypes = exp["node_types"].as_object().unwrap();
    assert_eq!(
        g.node_types().collect::<Vec<_>>(),
        ntypes.keys().collect::<Vec<_>>()
    );
    for (nt, e) in ntypes {
        let n = e["count"].as_u64().unwrap();
        assert_eq!(g.num_nodes(nt), Some(n), "{nt}");
        let raws: Vec<String> = g
            .raw_ids(nt)
            .unwrap()
            .iter()
            .map(|r| r.to_string())
            .collect();
        let want: Vec<&str> = e["raw_ids_in_order"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(raws, want, "raw ids of {nt}");
        let feats = e["features"].as_object().unwrap();
        assert_eq!(
            g.node_data_all(nt).map(|(k, _)| k).collect::<Vec<_>>(),
            feats.keys().collect::<Vec<_>>(),
            "{nt}"
        );
        for (name, rows) in feats {
            let a = g.node_data(nt, name).unwrap();
            let rows = rows.as_array().unwrap();
            assert_eq!(a.num_rows(), rows.len(), "{nt}/{name}");
            for (i, r) in rows.iter().enumerate() {
                assert_eq!(row(a, i), expected_row(r), "{nt}/{name} row {i}");
            }
        }
    }

    let etypes = exp["edge_types"].as_object().unwrap();
    assert_eq!(g.edge_types().count(), etypes.len());
    for (key, e) in etypes {
        let et: EdgeType = key.parse().unwrap();
        let n = e["count"].as_u64().unwrap() as usize;
        assert_eq!(g.num_edges(&et), Some(n as u64), "{et}");
        // gs edge (CSC position) of each DGL per-type edge id.
        let ids = &dgl.edge_ids[&et];
        let mut pos_of = vec![usize::MAX; n];
        for (pos, &id) in ids.iter().enumerate() {
            pos_of[id as usize] = pos;
        }
        let csc = g.csc(&et).unwrap();
        let dst_of = |pos: usize| csc.indptr().partition_point(|&p| p <= pos as u64) as u64 - 1;
        let edges = e["edges_raw_in_order"].as_array().unwrap();
        assert_eq!(edges.len(), n);
        for (k, pair) in edges.iter().enumerate() {
            let pos = pos_of[k];
            let got = [
                raw(g, &et.src, csc.indices()[pos]),
                raw(g, &et.dst, dst_of(pos)),
            ];
            assert_eq!(got[0], pair[0].as_str().unwrap(), "{et} edge {k} src");
            assert_eq!(got[1], pair[1].as_str().unwrap(), "{et} edge {k} dst");
        }
        let feats = e["features"].as_object().unwrap();
        assert_eq!(g.edge_data_all(&et).count(), feats.len(), "{et}");
        for (name, rows) in feats {
            let a = g.edge_data(&et, name).unwrap();
            for (k, r) in rows.as_array().unwrap().iter().enumerate() {
                assert_eq!(row(a, pos_of[k]), expected_row(r), "{et}/{name} edge {k}");
            }
        }
    }

    // GraphStorm's int8 masks arrive as gs's uint8 masks, usable for seeds.
    assert_eq!(
        g.node_data("paper", "train_mask").unwrap().dtype(),
        crate::DType::U8
    );
    assert_eq!(g.mask_ids("paper", "train_mask").unwrap().len(), 18);

    let parts = inspect_dgl_partitions(&part_config()).unwrap();
    assert_eq!(parts, dgl.parts);
    for (info, e) in parts.iter().zip(exp["partitions"].as_array().unwrap()) {
        let got = [
            info.part as u64,
            info.num_local_nodes,
            info.num_inner_nodes,
            info.num_local_edges,
            info.num_inner_edges,
        ];
        let keys = [
            "part",
            "num_local_nodes",
            "num_inner_nodes",
            "num_local_edges",
            "num_inner_edges",
        ];
        let want: Vec<u64> = keys.iter().map(|k| e[k].as_u64().unwrap()).collect();
        assert_eq!(got.to_vec(), want, "partition {}", info.part);
    }
}

#[test]
fn plain_load_dispatches_to_the_dgl_reader() {
    let g = load(&part_config()).unwrap();
    assert_eq!((g.total_nodes(), g.total_edges()), (42, 236));
    assert_eq!(g.raw_id("paper", 0).unwrap().to_string(), "p22");
    assert!(g.raw_ids("paper").is_some_and(|r| !r.is_int()));
    let mut g = g;
    let err = g
        .set_raw_ids("paper", crate::RawIds::from_ints(vec![1]))
        .unwrap_err();
    assert!(err.to_string().contains("raw ids"), "{err}");
    assert!(
        g.set_raw_ids("venue", crate::RawIds::from_ints(vec![]))
            .is_err()
    );
}

#[test]
fn reads_torch_saved_mappings() {
    let dir = fixture().join("partitioned");
    let nodes = read_int_tensors(&dir.join("node_mapping.pt"), None).unwrap();
    assert_eq!(nodes.keys().collect::<Vec<_>>(), ["author", "paper"]);
    for (nt, n) in [("author", 12), ("paper", 30)] {
        let mut v = nodes[nt].clone();
        v.sort_unstable();
        assert_eq!(v, (0..n).collect::<Vec<i64>>(), "{nt} is a permutation");
    }
    let edges = read_int_tensors(&dir.join("edge_mapping.pt"), None).unwrap();
    assert_eq!(edges["author:writes:paper"].len(), 60);
    assert_eq!(edges["paper:cites:paper"].len(), 58);
}

/// A writable copy of the partitioned fixture.
fn copy_partition() -> tempfile::TempDir {
    fn copy(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            let target = to.join(e.file_name());
            if e.path().is_dir() {
                copy(&e.path(), &target);
            } else {
                std::fs::write(&target, std::fs::read(e.path()).unwrap()).unwrap();
            }
        }
    }
    let tmp = tempfile::tempdir().unwrap();
    copy(&fixture().join("partitioned"), tmp.path());
    tmp
}

fn load_err(dir: &Path) -> String {
    let e = load(&dir.join("tiny.json")).unwrap_err().to_string();
    // Shown with --nocapture, to review the messages users get.
    eprintln!("error: {e}");
    e
}

#[test]
fn truncated_graph_file_is_a_clear_error() {
    let tmp = copy_partition();
    let path = tmp.path().join("part1/graph.dgl");
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() - 300]).unwrap();
    let err = load_err(tmp.path());
    assert!(
        err.contains("part1/graph.dgl") && err.contains("truncated") && err.contains("hint:"),
        "{err}"
    );
    std::fs::write(&path, &bytes[..100]).unwrap();
    let err = load_err(tmp.path());
    assert!(err.contains("truncated") && err.contains("hint:"), "{err}");
}

#[test]
fn unsupported_version_or_magic_is_a_clear_error() {
    let tmp = copy_partition();
    let path = tmp.path().join("part0/graph.dgl");
    let good = std::fs::read(&path).unwrap();
    let mut bytes = good.clone();
    bytes[8] = 1;
    std::fs::write(&path, &bytes).unwrap();
    let err = load_err(tmp.path());
    assert!(
        err.contains("part0/graph.dgl")
            && err.contains("version")
            && err.contains("is 1")
            && err.contains("hint:"),
        "{err}"
    );
    let mut bytes = good.clone();
    bytes[0] ^= 0xff;
    std::fs::write(&path, &bytes).unwrap();
    let err = load_err(tmp.path());
    assert!(
        err.contains("magic number") && err.contains("hint:"),
        "{err}"
    );
    std::fs::write(&path, &good).unwrap();
    let feats = tmp.path().join("part0/node_feat.dgl");
    let mut bytes = std::fs::read(&feats).unwrap();
    bytes[1] ^= 0xff;
    std::fs::write(&feats, &bytes).unwrap();
    let err = load_err(tmp.path());
    assert!(
        err.contains("node_feat.dgl") && err.contains("magic number") && err.contains("hint:"),
        "{err}"
    );
}

#[test]
fn missing_part_files_are_a_clear_error() {
    let tmp = copy_partition();
    std::fs::remove_file(tmp.path().join("part1/edge_feat.dgl")).unwrap();
    let err = load_err(tmp.path());
    assert!(
        err.contains("tiny.json")
            && err.contains("part-1.edge_feats")
            && err.contains("does not exist")
            && err.contains("hint:"),
        "{err}"
    );
}

#[test]
fn malformed_raw_id_mappings_are_a_clear_error() {
    let tmp = copy_partition();
    let file = tmp.path().join("raw_id_mappings/paper/part-00000.parquet");
    std::fs::write(&file, b"not parquet").unwrap();
    let err = load_err(tmp.path());
    assert!(
        err.contains("part-00000.parquet") && err.contains("hint:"),
        "{err}"
    );
    // Without raw ids the graph still loads; without node_mapping.pt raw ids cannot be placed.
    std::fs::remove_dir_all(tmp.path().join("raw_id_mappings")).unwrap();
    let g = load(&tmp.path().join("tiny.json")).unwrap();
    assert!(g.raw_ids("paper").is_none());
    let tmp = copy_partition();
    std::fs::remove_file(tmp.path().join("node_mapping.pt")).unwrap();
    let err = load_err(tmp.path());
    assert!(
        err.contains("node_mapping.pt") && err.contains("hint:"),
        "{err}"
    );
}

#[test]
fn gs_format_loads_raw_id_mappings_too() {
    let tmp = copy_partition();
    let mut g = HeteroGraph::new();
    g.add_node_type("author", 12).unwrap();
    g.add_node_type("paper", 30).unwrap();
    let out = tmp.path().join("gs");
    let json = crate::write_partitioned(&g, &out, "tiny").unwrap();
    assert!(load(&json).unwrap().raw_ids("author").is_none());
    std::fs::rename(
        tmp.path().join("raw_id_mappings"),
        out.join("raw_id_mappings"),
    )
    .unwrap();
    let loaded = load(&json).unwrap();
    let mut got: Vec<String> = loaded
        .raw_ids("paper")
        .unwrap()
        .iter()
        .map(|r| r.to_string())
        .collect();
    got.sort();
    let mut want: Vec<String> = (0..30).map(|i| format!("p{i}")).collect();
    want.sort();
    assert_eq!(got, want);
}
