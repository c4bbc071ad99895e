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
        e.contains("node_map.author") && e.contains("list of 2 [start, end] ranges"),
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
        e.contains("node_data.safetensors") && e.contains("`paper/feat`") && e.contains("3 rows"),
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

/// Every node data row and every edge (with its data rows), keyed by raw id where the graph has
/// raw ids and by id otherwise: equal for two numberings of the same graph.
fn by_node_key(g: &HeteroGraph) -> [Vec<(String, Vec<u8>)>; 2] {
    let key = |nt: &str, id: u64| match g.raw_id(nt, id) {
        Some(raw) => raw.to_string(),
        None => id.to_string(),
    };
    let row = |a: &Array, i: usize| a.row_bytes(i..i + 1).to_vec();
    let mut nodes = Vec::new();
    for nt in g.node_types() {
        for (name, a) in g.node_data_all(nt) {
            for i in 0..a.num_rows() {
                nodes.push((format!("{nt}/{name}/{}", key(nt, i as u64)), row(a, i)));
            }
        }
    }
    let mut edges = Vec::new();
    for et in g.edge_types() {
        let csc = g.csc(et).unwrap();
        for d in 0..csc.num_dst() {
            let (ids, sources) = csc.in_edges(d);
            for (e, &s) in ids.zip(sources) {
                let data: Vec<u8> = g
                    .edge_data_all(et)
                    .flat_map(|(_, a)| row(a, e as usize))
                    .collect();
                let k = format!("{et}/{}->{}", key(&et.src, s), key(&et.dst, d));
                edges.push((k, data));
            }
        }
    }
    nodes.sort();
    edges.sort();
    [nodes, edges]
}

#[test]
fn several_parts_round_trip_by_raw_id() {
    let tmp = tempfile::tempdir().unwrap();
    let mut g = small_demo();
    let authors = g.num_nodes("author").unwrap();
    g.set_raw_ids(
        "author",
        crate::RawIds::from_strings((0..authors).map(|i| format!("a{i}"))),
    )
    .unwrap();
    let parts = g
        .node_types()
        .map(|nt| {
            let n = g.num_nodes(nt).unwrap();
            (nt.to_string(), (0..n).map(|i| (i * 7 % 3) as u32).collect())
        })
        .collect();
    let assignment = crate::PartAssignment::new(&g, 3, parts).unwrap();
    let json = write_partitions(&g, &assignment, &tmp.path().join("out"), "demo", "test").unwrap();

    let config: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(config["num_parts"], 3);
    assert_eq!(config["part_method"], "test");
    assert_eq!(config["node_map"]["paper"].as_array().unwrap().len(), 3);
    // Part 1 holds exactly its papers' rows.
    let part1 =
        tensors::MappedFile::open(&tmp.path().join("out/part1/node_data.safetensors")).unwrap();
    let papers1 = assignment.part_sizes("paper")[1] as usize;
    assert_eq!(part1.tensors["paper/feat"].shape[0], papers1);

    let loaded = load(&json).unwrap();
    assert_eq!(loaded.total_edges(), g.total_edges());
    // Same graph up to renumbering: the same rows and edges under the same raw ids; papers had
    // no raw ids, so the partitioned graph gives them their input ids.
    assert!(loaded.raw_ids("paper").unwrap().is_int());
    assert_eq!(by_node_key(&loaded), by_node_key(&g));
    // Part 0's papers come first.
    let first_paper = loaded.raw_id("paper", 0).unwrap().to_string();
    assert_eq!(first_paper, "0");

    // Written again as one part, the raw ids travel in raw_id_mappings/.
    let again = write_partitioned(&loaded, &tmp.path().join("one"), "demo").unwrap();
    let reloaded = load(&again).unwrap();
    assert!(
        tmp.path()
            .join("one/raw_id_mappings/author/part-00000.parquet")
            .is_file()
    );
    assert_eq!(by_node_key(&reloaded), by_node_key(&g));
    assert!(reloaded.node_data("paper", "feat").unwrap().is_mapped());
}

#[test]
fn several_parts_errors_name_the_part() {
    let tmp = tempfile::tempdir().unwrap();
    let g = small_demo();
    let parts = g
        .node_types()
        .map(|nt| {
            (
                nt.to_string(),
                (0..g.num_nodes(nt).unwrap())
                    .map(|i| (i % 2) as u32)
                    .collect(),
            )
        })
        .collect();
    let assignment = crate::PartAssignment::new(&g, 2, parts).unwrap();
    let json =
        write_partitions(&g, &assignment, &tmp.path().join("out"), "demo", "random").unwrap();
    let mapping = tmp.path().join("out/node_mapping.safetensors");
    std::fs::remove_file(&mapping).unwrap();
    let e = load_err(&json);
    assert!(e.contains("node_mapping.safetensors"), "{e}");

    let mut ids: Vec<i64> = (0..g.num_nodes("author").unwrap() as i64).collect();
    ids[3] = 0;
    let bytes: Vec<u8> = ids.iter().flat_map(|i| i.to_le_bytes()).collect();
    let papers: Vec<u8> = (0..g.num_nodes("paper").unwrap() as i64)
        .flat_map(|i| i.to_le_bytes())
        .collect();
    write_tensors(
        &mapping,
        vec![
            (
                "author".into(),
                tensors::RawTensor {
                    dtype: safetensors::Dtype::I64,
                    shape: vec![ids.len()],
                    bytes: &bytes,
                },
            ),
            (
                "paper".into(),
                tensors::RawTensor {
                    dtype: safetensors::Dtype::I64,
                    shape: vec![papers.len() / 8],
                    bytes: &papers,
                },
            ),
        ],
    );
    let e = load_err(&json);
    assert!(e.contains("`author`") && e.contains("entry 3 is 0"), "{e}");

    edit_json(&json, |m| {
        m.remove("gs_node_mapping");
    });
    let e = load_err(&json);
    assert!(e.contains("gs_node_mapping"), "{e}");
}

/// Counts are u64 end to end: a part-config for more than 2^32 edges of one type parses.
#[test]
fn counts_beyond_32_bits_parse() {
    let big: u64 = 6_000_000_000;
    let text = serde_json::json!({
        "graph_name": "huge", "gs_format_version": 1,
        "num_nodes": big, "num_edges": 2 * big,
        "part_method": "random", "num_parts": 2, "halo_hops": 1,
        "node_map": {"n": [[0, big / 2], [big / 2, big]]},
        "edge_map": {"n:r:n": [[0, big], [big, 2 * big]]},
        "ntypes": {"n": 0}, "etypes": {"n:r:n": 0},
        "gs_node_mapping": "node_mapping.safetensors",
        "part-0": {"gs_graph": "a", "gs_node_data": "b", "gs_edge_data": "c"},
        "part-1": {"gs_graph": "a", "gs_node_data": "b", "gs_edge_data": "c"},
    })
    .to_string();
    let config = format::parse_part_config(Path::new("huge.json"), &text).unwrap();
    assert_eq!(config.node_counts["n"], big);
    let et: EdgeType = "n:r:n".parse().unwrap();
    assert_eq!(config.layout.edges[1][&et], big);
    assert!(big > u64::from(u32::MAX));
}
