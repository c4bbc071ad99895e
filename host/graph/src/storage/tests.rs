use std::path::{Path, PathBuf};

use serde_json::Value;

use super::*;
use crate::{Array, DemoParams, EdgeType, HeteroGraph, StorageError, generate_demo};

fn small_demo() -> HeteroGraph {
    let mut g = generate_demo(&DemoParams {
        num_papers: 200,
        num_authors: 100,
        ..DemoParams::default()
    });
    let et = EdgeType::new("author", "writes", "paper");
    let n = g.num_edges(&et).unwrap() as usize;
    let w: Vec<f32> = (0..n).map(|i| i as f32 * 0.5).collect();
    g.set_edge_data(&et, "weight", Array::from_f32(w, &[n]).unwrap())
        .unwrap();
    g
}

fn assert_same(a: &HeteroGraph, b: &HeteroGraph) {
    assert_eq!(
        a.node_types().collect::<Vec<_>>(),
        b.node_types().collect::<Vec<_>>()
    );
    assert_eq!(
        a.edge_types().collect::<Vec<_>>(),
        b.edge_types().collect::<Vec<_>>()
    );
    for nt in a.node_types() {
        assert_eq!(a.num_nodes(nt), b.num_nodes(nt));
        let da: Vec<_> = a
            .node_data_all(nt)
            .map(|(k, v)| (k, v.dtype(), v.shape().to_vec(), v.as_bytes().to_vec()))
            .collect();
        let db: Vec<_> = b
            .node_data_all(nt)
            .map(|(k, v)| (k, v.dtype(), v.shape().to_vec(), v.as_bytes().to_vec()))
            .collect();
        assert_eq!(da, db, "node data of {nt}");
    }
    for et in a.edge_types() {
        let (ca, cb) = (a.csc(et).unwrap(), b.csc(et).unwrap());
        assert_eq!(
            (ca.indptr(), ca.indices()),
            (cb.indptr(), cb.indices()),
            "{et}"
        );
        let da: Vec<_> = a
            .edge_data_all(et)
            .map(|(k, v)| (k, v.as_bytes().to_vec()))
            .collect();
        let db: Vec<_> = b
            .edge_data_all(et)
            .map(|(k, v)| (k, v.as_bytes().to_vec()))
            .collect();
        assert_eq!(da, db, "edge data of {et}");
    }
}

#[test]
fn round_trip_maps_arrays() {
    let tmp = tempfile::tempdir().unwrap();
    let g = small_demo();
    let json = write_partitioned(&g, &tmp.path().join("out"), "demo").unwrap();
    assert_eq!(json, tmp.path().join("out/demo.json"));
    let loaded = load(&json).unwrap();
    assert_same(&g, &loaded);
    for nt in loaded.node_types() {
        for (name, a) in loaded.node_data_all(nt) {
            assert!(a.is_mapped(), "{nt}/{name} should be memory-mapped");
        }
    }
    for et in loaded.edge_types() {
        assert!(loaded.csc(et).unwrap().is_mapped(), "{et}");
    }
    // No temporary folder is left next to the output.
    let names: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["out"]);
    // The JSON follows DGL's schema, plus gs's keys and never DGL's file keys.
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(v["gs_format_version"], 1);
    assert_eq!(v["num_parts"], 1);
    assert_eq!(v["num_nodes"], 300);
    assert_eq!(v["node_map"]["author"], serde_json::json!([[0, 100]]));
    assert_eq!(v["node_map"]["paper"], serde_json::json!([[100, 300]]));
    assert_eq!(v["ntypes"]["paper"], 1);
    assert_eq!(v["etypes"]["author:writes:paper"], 0);
    assert_eq!(v["part-0"]["gs_graph"], "part0/graph.safetensors");
    assert!(v["part-0"].get("part_graph").is_none() && v["part-0"].get("node_feats").is_none());
}

#[test]
fn writes_into_an_empty_folder_but_not_over_data() {
    let tmp = tempfile::tempdir().unwrap();
    let g = small_demo();
    let out = tmp.path().join("out");
    std::fs::create_dir(&out).unwrap();
    write_partitioned(&g, &out, "demo").unwrap();
    let err = write_partitioned(&g, &out, "demo").unwrap_err();
    assert!(matches!(err, StorageError::OutputExists { .. }), "{err}");
    assert!(err.to_string().contains("hint:"));
    let err = write_partitioned(&g, &tmp.path().join("x"), "../evil").unwrap_err();
    assert!(matches!(err, StorageError::BadGraphName { .. }), "{err}");
}

/// Writes the small demo and returns the JSON path, for tests that then damage it.
fn written(tmp: &Path) -> PathBuf {
    write_partitioned(&small_demo(), &tmp.join("out"), "demo").unwrap()
}

fn edit_json(path: &Path, f: impl FnOnce(&mut serde_json::Map<String, Value>)) {
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    f(v.as_object_mut().unwrap());
    std::fs::write(path, serde_json::to_string(&v).unwrap()).unwrap();
}

fn load_err(path: &Path) -> String {
    let e = load(path).unwrap_err().to_string();
    assert!(e.contains("hint:"), "error without a hint: {e}");
    e
}

#[test]
fn config_errors_name_file_and_key() {
    let tmp = tempfile::tempdir().unwrap();
    let json = written(tmp.path());

    let e = load_err(&tmp.path().join("missing.json"));
    assert!(e.contains("missing.json"), "{e}");

    let bad = tmp.path().join("bad.json");
    std::fs::write(&bad, "{ not json").unwrap();
    assert!(load_err(&bad).contains("not valid JSON"));

    edit_json(&json, |m| {
        m.remove("num_edges");
    });
    let e = load_err(&json);
    assert!(e.contains("demo.json") && e.contains("`num_edges`"), "{e}");

    edit_json(&json, |m| {
        m.insert("num_edges".into(), 1.into());
    });
    let e = load_err(&json);
    assert!(e.contains("`num_edges`") && e.contains("sum"), "{e}");

    edit_json(&json, |m| {
        m.insert("num_parts".into(), 2.into());
    });
    let e = load_err(&json);
    assert!(
        e.contains("not supported yet") && e.contains("num_parts = 2"),
        "{e}"
    );

    edit_json(&json, |m| {
        m.insert("num_parts".into(), 1.into());
        m.insert("gs_format_version".into(), 9.into());
    });
    let e = load_err(&json);
    assert!(e.contains("gs_format_version 9"), "{e}");

    edit_json(&json, |m| {
        m.insert(
            "node_map".into(),
            serde_json::json!({"author": [100], "paper": [[100, 300]]}),
        );
        m.insert("gs_format_version".into(), 1.into());
    });
    let e = load_err(&json);
    assert!(e.contains("node_map.author"), "{e}");
}

#[test]
fn dgl_partitions_are_recognised() {
    let tmp = tempfile::tempdir().unwrap();
    let json = tmp.path().join("toy.json");
    std::fs::write(
        &json,
        r#"{"graph_name": "toy", "num_nodes": 70, "num_edges": 100, "part_method": "metis",
            "num_parts": 1, "halo_hops": 1, "node_map": {"item": [[0, 70]]},
            "edge_map": {"item:r:item": [[0, 100]]}, "ntypes": {"item": 0},
            "etypes": {"item:r:item": 0},
            "part-0": {"node_feats": "part0/node_feat.dgl", "edge_feats": "part0/edge_feat.dgl",
                       "part_graph": "part0/graph.dgl"}}"#,
    )
    .unwrap();
    let e = load_err(&json);
    // Recognised as a DGL partition and read as one: its files are missing here.
    assert!(
        e.contains("part-0.part_graph") && e.contains("does not exist"),
        "{e}"
    );
    std::fs::write(&json, r#"{"hello": 1}"#).unwrap();
    assert!(load_err(&json).contains("not a partition config"));
}

#[test]
fn array_file_errors_name_file_and_tensor() {
    let tmp = tempfile::tempdir().unwrap();
    let json = written(tmp.path());
    let part = tmp.path().join("out/part0");

    // A missing array file.
    let node_data = part.join("node_data.safetensors");
    let saved = std::fs::read(&node_data).unwrap();
    std::fs::remove_file(&node_data).unwrap();
    let e = load_err(&json);
    assert!(e.contains("node_data.safetensors"), "{e}");

    // A truncated array file.
    std::fs::write(&node_data, &saved[..saved.len() / 2]).unwrap();
    let e = load_err(&json);
    assert!(
        e.contains("node_data.safetensors") && e.contains("safetensors"),
        "{e}"
    );

    // A feature with the wrong number of rows.
    let bad = Array::from_f32(vec![0.0; 6], &[3, 2]).unwrap();
    write_tensors(
        &node_data,
        vec![("paper/feat".into(), tensors::RawTensor::from_array(&bad))],
    );
    let e = load_err(&json);
    assert!(
        e.contains("node_data.safetensors") && e.contains("`feat`") && e.contains("3 rows"),
        "{e}"
    );

    // A feature of a type the config does not list.
    write_tensors(
        &node_data,
        vec![("venue/feat".into(), tensors::RawTensor::from_array(&bad))],
    );
    let e = load_err(&json);
    assert!(e.contains("venue/feat"), "{e}");
    std::fs::write(&node_data, &saved).unwrap();

    // A CSC array with the wrong length, then one missing.
    let graph_file = part.join("graph.safetensors");
    let g = small_demo();
    let mut tensors = Vec::new();
    for et in g.edge_types() {
        let c = g.csc(et).unwrap();
        let n = c.indptr().len() - usize::from(et.rel == "cites");
        tensors.push((
            format!("{et}/csc_indptr"),
            raw_u64(&c.indptr_bytes()[..n * 8], n),
        ));
        tensors.push((
            format!("{et}/csc_indices"),
            raw_u64(c.indices_bytes(), c.indices().len()),
        ));
    }
    write_tensors(&graph_file, tensors);
    let e = load_err(&json);
    assert!(
        e.contains("graph.safetensors") && e.contains("paper:cites:paper") && e.contains("indptr"),
        "{e}"
    );

    write_tensors(&graph_file, vec![]);
    let e = load_err(&json);
    assert!(
        e.contains("graph.safetensors") && e.contains("csc_indptr"),
        "{e}"
    );
}

fn raw_u64(bytes: &[u8], n: usize) -> tensors::RawTensor<'_> {
    tensors::RawTensor {
        dtype: safetensors::Dtype::U64,
        shape: vec![n],
        bytes,
    }
}

fn write_tensors(path: &Path, t: Vec<(String, tensors::RawTensor<'_>)>) {
    tensors::write_file(path, t).unwrap();
}
