//! Writes GraphStorm output sets into temporary directories and reads them back.

use std::fs;
use std::path::Path;

use gs_output::{
    NodeIds, OutputError, OutputFormat, OutputOptions, Values, read_node_embeddings,
    read_node_predictions, write_node_embeddings, write_node_predictions,
    write_node_predictions_and_embeddings,
};

fn opts(chunk_size: usize) -> OutputOptions {
    OutputOptions {
        chunk_size,
        format: OutputFormat::Parquet,
    }
}

fn csv(chunk_size: usize, delimiter: char) -> OutputOptions {
    OutputOptions {
        chunk_size,
        format: OutputFormat::Csv { delimiter },
    }
}

/// Names of the entries directly under `dir`, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

fn rows(data: &[f32], width: usize) -> Vec<Vec<f32>> {
    data.chunks(width).map(<[f32]>::to_vec).collect()
}

fn strings(ids: &[&str]) -> Vec<String> {
    ids.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn round_trip_string_and_int_ids() {
    let tmp = tempfile::tempdir().unwrap();
    let pred = tmp.path().join("pred");
    let paper_ids = strings(&["p0", "p1", "p2"]);
    let paper = [0.1, 0.9, 0.25, 0.75, 1.0, 0.0];
    let author_ids = [10_i64, -3, 7];
    let author = [0.5_f32, 1.5, 2.5];

    let files = write_node_predictions(
        &pred,
        &[
            (
                "paper",
                NodeIds::Raw(&paper_ids),
                Values::F32 {
                    data: &paper,
                    width: 2,
                },
            ),
            (
                "author",
                NodeIds::Int(&author_ids),
                Values::F32 {
                    data: &author,
                    width: 1,
                },
            ),
        ],
        &OutputOptions::default(),
    )
    .unwrap();
    assert_eq!(
        files,
        vec![
            pred.join("paper/pred.predict-00000_00000.parquet"),
            pred.join("author/pred.predict-00000_00000.parquet"),
            pred.join("result_info.json"),
        ]
    );
    assert_eq!(listing(&pred), ["author", "paper", "result_info.json"]);

    let (nids, values) = read_node_predictions(&pred, "paper").unwrap();
    assert_eq!(nids, paper_ids);
    assert_eq!(values, rows(&paper, 2));
    let (nids, values) = read_node_predictions(&pred, "author").unwrap();
    assert_eq!(nids, ["10", "-3", "7"]);
    assert_eq!(values, rows(&author, 1));

    let info: serde_json::Value =
        serde_json::from_slice(&fs::read(pred.join("result_info.json")).unwrap()).unwrap();
    assert_eq!(
        info,
        serde_json::json!({
            "format": "parquet",
            "world_size": 1,
            "ntypes": ["paper", "author"],
            "emb_name": ["paper", "author"],
        })
    );
}

/// The parquet schema, one line per leaf column: dotted path, physical type, logical type.
fn leaf_columns(path: &Path) -> Vec<String> {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let reader = SerializedFileReader::new(fs::File::open(path).unwrap()).unwrap();
    let schema = reader.metadata().file_metadata().schema_descr_ptr();
    schema
        .columns()
        .iter()
        .map(|c| {
            let logical = c
                .logical_type_ref()
                .map(|l| format!(" {l:?}"))
                .unwrap_or_default();
            format!(
                "{} {}{logical} max_def={} max_rep={}",
                c.path().string(),
                c.physical_type(),
                c.max_def_level(),
                c.max_rep_level()
            )
        })
        .collect()
}

#[test]
fn parquet_schema_matches_remap_result() {
    use parquet::file::reader::{FileReader, SerializedFileReader};

    let tmp = tempfile::tempdir().unwrap();
    let pred = tmp.path().join("pred");
    let ids = strings(&["a", "b"]);
    let classes = [3_i64, 1];
    let probs = [0.2_f32, 0.8, 0.6, 0.4];
    let int_ids = [5_i64, 6];
    write_node_predictions(
        &pred,
        &[
            (
                "s",
                NodeIds::Raw(&ids),
                Values::F32 {
                    data: &probs,
                    width: 2,
                },
            ),
            ("c", NodeIds::Int(&int_ids), Values::ClassIndex(&classes)),
        ],
        &opts(10),
    )
    .unwrap();

    // pyarrow's layout for `{"pred": <2-D float32>, "nid": <strings>}`.
    let s = pred.join("s/pred.predict-00000_00000.parquet");
    assert_eq!(
        leaf_columns(&s),
        [
            "pred.list.element FLOAT max_def=3 max_rep=1",
            "nid BYTE_ARRAY String max_def=1 max_rep=0"
        ]
    );
    assert_eq!(
        leaf_columns(&pred.join("c/pred.predict-00000_00000.parquet")),
        [
            "pred INT64 max_def=1 max_rep=0",
            "nid INT64 max_def=1 max_rep=0"
        ]
    );
    let reader = SerializedFileReader::new(fs::File::open(&s).unwrap()).unwrap();
    let root = reader.metadata().file_metadata().schema_descr_ptr();
    let pred_field = &root.root_schema().get_fields()[0];
    assert_eq!(
        pred_field.get_basic_info().converted_type(),
        parquet::basic::ConvertedType::LIST
    );
    let column = reader.metadata().row_group(0).column(0);
    assert_eq!(column.compression(), parquet::basic::Compression::SNAPPY);

    let (nids, values) = read_node_predictions(&pred, "c").unwrap();
    assert_eq!(nids, ["5", "6"]);
    assert_eq!(values, vec![vec![3.0], vec![1.0]]);
}

#[test]
fn chunks_into_several_files() {
    let tmp = tempfile::tempdir().unwrap();
    let pred = tmp.path().join("pred");
    let ids: Vec<i64> = (0..7).collect();
    let data: Vec<f32> = (0..21).map(|v| v as f32 * 0.5).collect();
    let files = write_node_predictions(
        &pred,
        &[(
            "n",
            NodeIds::Int(&ids),
            Values::F32 {
                data: &data,
                width: 3,
            },
        )],
        &opts(3),
    )
    .unwrap();
    assert_eq!(files.len(), 4);
    assert_eq!(
        listing(&pred.join("n")),
        [
            "pred.predict-00000_00000.parquet",
            "pred.predict-00000_00001.parquet",
            "pred.predict-00000_00002.parquet",
        ]
    );
    let per_file: Vec<usize> = files[..3]
        .iter()
        .map(|p| {
            let reader =
                parquet::file::reader::SerializedFileReader::new(fs::File::open(p).unwrap())
                    .unwrap();
            parquet::file::reader::FileReader::metadata(&reader)
                .file_metadata()
                .num_rows() as usize
        })
        .collect();
    assert_eq!(per_file, [3, 3, 1]);

    let (nids, values) = read_node_predictions(&pred, "n").unwrap();
    assert_eq!(nids, (0..7).map(|i| i.to_string()).collect::<Vec<_>>());
    assert_eq!(values, rows(&data, 3));
}

#[test]
fn exact_multiple_of_chunk_size_and_empty_type() {
    let tmp = tempfile::tempdir().unwrap();
    let pred = tmp.path().join("pred");
    let ids = [1_i64, 2, 3, 4];
    let classes = [0_i64, 1, 0, 1];
    write_node_predictions(
        &pred,
        &[
            ("full", NodeIds::Int(&ids), Values::ClassIndex(&classes)),
            (
                "none",
                NodeIds::Int(&[]),
                Values::F32 {
                    data: &[],
                    width: 4,
                },
            ),
        ],
        &opts(2),
    )
    .unwrap();
    assert_eq!(
        listing(&pred.join("full")),
        [
            "pred.predict-00000_00000.parquet",
            "pred.predict-00000_00001.parquet"
        ]
    );
    assert!(listing(&pred.join("none")).is_empty());
    let (nids, values) = read_node_predictions(&pred, "none").unwrap();
    assert!(nids.is_empty() && values.is_empty());
}

#[test]
fn embeddings_layout() {
    let tmp = tempfile::tempdir().unwrap();
    let emb = tmp.path().join("emb");
    let ids = strings(&["u0", "u1", "u2"]);
    let data = [1.0_f32, 2.0, 3.0, 4.0, 5.0, 6.0];
    let files = write_node_embeddings(
        &emb,
        &[(
            "user",
            NodeIds::Raw(&ids),
            Values::F32 {
                data: &data,
                width: 2,
            },
        )],
        &opts(2),
    )
    .unwrap();
    assert_eq!(
        files,
        vec![
            emb.join("user/embed-00000_00000.parquet"),
            emb.join("user/embed-00000_00001.parquet"),
            emb.join("emb_info.json"),
        ]
    );
    assert_eq!(
        leaf_columns(&files[0]),
        [
            "emb.list.element FLOAT max_def=3 max_rep=1",
            "nid BYTE_ARRAY String max_def=1 max_rep=0"
        ]
    );
    let info: serde_json::Value =
        serde_json::from_slice(&fs::read(emb.join("emb_info.json")).unwrap()).unwrap();
    assert_eq!(
        info,
        serde_json::json!({
            "format": "parquet",
            "emb_name": ["user"],
            "emb_dim": {"user": 2},
            "world_size": 1,
        })
    );

    let err = write_node_embeddings(
        &emb,
        &[("user", NodeIds::Raw(&ids), Values::ClassIndex(&[0, 1, 2]))],
        &opts(2),
    )
    .unwrap_err();
    assert!(
        matches!(err, OutputError::ClassIndexEmbedding { .. }),
        "{err}"
    );
}

#[test]
fn predictions_and_embeddings_share_one_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let ids = strings(&["u0", "u1", "u2"]);
    let pred = [0.25_f32, 0.75, 0.5];
    let emb = [1.0_f32, 2.0, 3.0, 4.0, 5.0, 6.0];
    // An older set in the folder is replaced as a whole.
    write_node_embeddings(
        &out,
        &[(
            "old",
            NodeIds::Raw(&ids),
            Values::F32 {
                data: &pred,
                width: 1,
            },
        )],
        &opts(10),
    )
    .unwrap();
    let files = write_node_predictions_and_embeddings(
        &out,
        &[(
            "user",
            NodeIds::Raw(&ids),
            Values::F32 {
                data: &pred,
                width: 1,
            },
        )],
        &[(
            "user",
            NodeIds::Raw(&ids),
            Values::F32 {
                data: &emb,
                width: 2,
            },
        )],
        &opts(2),
    )
    .unwrap();
    assert_eq!(listing(&out), ["emb_info.json", "result_info.json", "user"]);
    assert_eq!(
        listing(&out.join("user")),
        [
            "embed-00000_00000.parquet",
            "embed-00000_00001.parquet",
            "pred.predict-00000_00000.parquet",
            "pred.predict-00000_00001.parquet",
        ]
    );
    assert_eq!(files.len(), 6);
    let (pred_ids, pred_rows) = read_node_predictions(&out, "user").unwrap();
    let (emb_ids, emb_rows) = read_node_embeddings(&out, "user").unwrap();
    assert_eq!(pred_ids, ids);
    assert_eq!(emb_ids, ids);
    assert_eq!(pred_rows, rows(&pred, 1));
    assert_eq!(emb_rows, rows(&emb, 2));
    assert_no_staging_left(tmp.path());
}

#[test]
fn csv_matches_remap_result_text() {
    let tmp = tempfile::tempdir().unwrap();
    let pred = tmp.path().join("pred");
    let ids = strings(&["n0", "with,comma", "say \"x\""]);
    let data = [0.1_f32, 0.9, 1.0, 0.0, 1e-5, -2.5];
    let files = write_node_predictions(
        &pred,
        &[(
            "t",
            NodeIds::Raw(&ids),
            Values::F32 {
                data: &data,
                width: 2,
            },
        )],
        &csv(2, ','),
    )
    .unwrap();
    assert_eq!(
        files[..2],
        [
            pred.join("t/pred.predict-00000_00000.csv"),
            pred.join("t/pred.predict-00000_00001.csv")
        ]
    );
    // What pandas `to_csv(index=False, sep=",")` writes for remap_result's columns.
    assert_eq!(
        fs::read_to_string(&files[0]).unwrap(),
        "pred,nid\n0.10000000149011612;0.8999999761581421,n0\n1.0;0.0,\"with,comma\"\n"
    );
    assert_eq!(
        fs::read_to_string(&files[1]).unwrap(),
        "pred,nid\n9.999999747378752e-06;-2.5,\"say \"\"x\"\"\"\n"
    );
    let (nids, values) = read_node_predictions(&pred, "t").unwrap();
    assert_eq!(nids, ids);
    assert_eq!(values, rows(&data, 2));

    let info: serde_json::Value =
        serde_json::from_slice(&fs::read(pred.join("result_info.json")).unwrap()).unwrap();
    assert_eq!(info["format"], "csv");
}

#[test]
fn csv_with_tab_delimiter_and_class_index() {
    let tmp = tempfile::tempdir().unwrap();
    let pred = tmp.path().join("pred");
    let ids = [4_i64, 5];
    let classes = [2_i64, 0];
    let files = write_node_predictions(
        &pred,
        &[("t", NodeIds::Int(&ids), Values::ClassIndex(&classes))],
        &csv(100, '\t'),
    )
    .unwrap();
    assert_eq!(
        fs::read_to_string(&files[0]).unwrap(),
        "pred\tnid\n2\t4\n0\t5\n"
    );
    let (nids, values) = read_node_predictions(&pred, "t").unwrap();
    assert_eq!(nids, ["4", "5"]);
    assert_eq!(values, vec![vec![2.0], vec![0.0]]);
}

/// No `.<name>.gs-tmp-*` or `.<name>.gs-old-*` entries are left beside the target.
fn assert_no_staging_left(parent: &Path) {
    let stray: Vec<String> = listing(parent)
        .into_iter()
        .filter(|n| n.contains(".gs-tmp-") || n.contains(".gs-old-"))
        .collect();
    assert!(stray.is_empty(), "left behind: {stray:?}");
}

#[test]
fn replaces_existing_directory_atomically() {
    let tmp = tempfile::tempdir().unwrap();
    let pred = tmp.path().join("pred");
    let ids = [1_i64, 2, 3];
    let data = [1.0_f32, 2.0, 3.0];
    write_node_predictions(
        &pred,
        &[(
            "old",
            NodeIds::Int(&ids),
            Values::F32 {
                data: &data,
                width: 1,
            },
        )],
        &opts(1),
    )
    .unwrap();
    fs::write(pred.join("stale.txt"), "from an earlier run").unwrap();
    assert_eq!(listing(&pred.join("old")).len(), 3);

    let new_ids = [9_i64];
    write_node_predictions(
        &pred,
        &[(
            "new",
            NodeIds::Int(&new_ids),
            Values::F32 {
                data: &[0.5],
                width: 1,
            },
        )],
        &opts(1),
    )
    .unwrap();
    assert_eq!(listing(&pred), ["new", "result_info.json"]);
    assert_eq!(read_node_predictions(&pred, "new").unwrap().0, ["9"]);
    assert!(matches!(
        read_node_predictions(&pred, "old"),
        Err(OutputError::NotFound { .. })
    ));
    assert_no_staging_left(tmp.path());
}

#[test]
fn failed_write_leaves_old_set_and_no_staging() {
    let tmp = tempfile::tempdir().unwrap();
    let pred = tmp.path().join("pred");
    let ids = [1_i64];
    write_node_predictions(
        &pred,
        &[(
            "keep",
            NodeIds::Int(&ids),
            Values::F32 {
                data: &[1.0],
                width: 1,
            },
        )],
        &opts(1),
    )
    .unwrap();

    // A validation failure writes nothing at all.
    let err = write_node_predictions(
        &pred,
        &[(
            "keep",
            NodeIds::Int(&[1, 2]),
            Values::F32 {
                data: &[1.0],
                width: 1,
            },
        )],
        &opts(1),
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            OutputError::LengthMismatch {
                ids: 2,
                rows: 1,
                ..
            }
        ),
        "{err}"
    );

    // A failure after staging started: the second node type's directory name is too long for
    // the filesystem, so the first type's files are already staged when it fails.
    let long = "x".repeat(300);
    let err = write_node_predictions(
        &pred,
        &[
            (
                "fine",
                NodeIds::Int(&ids),
                Values::F32 {
                    data: &[2.0],
                    width: 1,
                },
            ),
            (
                &long,
                NodeIds::Int(&ids),
                Values::F32 {
                    data: &[2.0],
                    width: 1,
                },
            ),
        ],
        &opts(1),
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            OutputError::Io {
                op: "create directory",
                ..
            }
        ),
        "{err}"
    );

    // A failure before staging: the output path's parent is a file.
    let blocker = tmp.path().join("file");
    fs::write(&blocker, "not a directory").unwrap();
    let err = write_node_predictions(
        &blocker.join("pred"),
        &[(
            "keep",
            NodeIds::Int(&ids),
            Values::F32 {
                data: &[1.0],
                width: 1,
            },
        )],
        &opts(1),
    )
    .unwrap_err();
    assert!(matches!(err, OutputError::Io { .. }), "{err}");
    assert!(err.to_string().contains("hint:"), "{err}");

    assert_eq!(read_node_predictions(&pred, "keep").unwrap().0, ["1"]);
    assert_no_staging_left(tmp.path());
}

#[cfg(unix)]
#[test]
fn failure_during_staged_write_removes_staging() {
    use std::os::unix::fs::PermissionsExt;

    let tmp = tempfile::tempdir().unwrap();
    let pred = tmp.path().join("pred");
    let ids = [1_i64];
    write_node_predictions(
        &pred,
        &[(
            "keep",
            NodeIds::Int(&ids),
            Values::F32 {
                data: &[1.0],
                width: 1,
            },
        )],
        &opts(1),
    )
    .unwrap();
    // An existing target that cannot be moved aside: a read-only parent makes the rename fail
    // after every file was staged. Root ignores permissions, so only check when they apply.
    let parent = tmp.path().join("ro");
    fs::create_dir(&parent).unwrap();
    let target = parent.join("pred");
    write_node_predictions(
        &target,
        &[(
            "keep",
            NodeIds::Int(&ids),
            Values::F32 {
                data: &[1.0],
                width: 1,
            },
        )],
        &opts(1),
    )
    .unwrap();
    fs::set_permissions(&parent, fs::Permissions::from_mode(0o555)).unwrap();
    let probe = parent.join("probe");
    let permissions_apply = fs::create_dir(&probe).is_err();
    let _ = fs::remove_dir(&probe);
    if permissions_apply {
        let err = write_node_predictions(
            &target,
            &[(
                "new",
                NodeIds::Int(&ids),
                Values::F32 {
                    data: &[2.0],
                    width: 1,
                },
            )],
            &opts(1),
        )
        .unwrap_err();
        assert!(matches!(err, OutputError::Io { .. }), "{err}");
        assert_eq!(listing(&target), ["keep", "result_info.json"]);
        assert_no_staging_left(&parent);
    }
    fs::set_permissions(&parent, fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn shape_errors_name_the_type_and_hint() {
    let tmp = tempfile::tempdir().unwrap();
    let pred = tmp.path().join("pred");
    let ids = [1_i64, 2];

    let err = write_node_predictions(
        &pred,
        &[(
            "paper",
            NodeIds::Int(&ids),
            Values::F32 {
                data: &[1.0, 2.0, 3.0],
                width: 2,
            },
        )],
        &opts(10),
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            OutputError::RaggedValues {
                len: 3,
                width: 2,
                ..
            }
        ),
        "{err}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains("`paper`") && msg.contains("pred") && msg.contains("hint:"),
        "{msg}"
    );

    let err = write_node_predictions(
        &pred,
        &[(
            "paper",
            NodeIds::Int(&ids),
            Values::F32 {
                data: &[1.0, 2.0, 3.0, 4.0],
                width: 1,
            },
        )],
        &opts(10),
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            OutputError::LengthMismatch {
                ids: 2,
                rows: 4,
                ..
            }
        ),
        "{err}"
    );

    let err = write_node_predictions(
        &pred,
        &[("paper", NodeIds::Int(&ids), Values::ClassIndex(&[1]))],
        &opts(10),
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            OutputError::LengthMismatch {
                ids: 2,
                rows: 1,
                ..
            }
        ),
        "{err}"
    );

    let err = write_node_predictions(
        &pred,
        &[(
            "paper",
            NodeIds::Int(&ids),
            Values::F32 {
                data: &[],
                width: 0,
            },
        )],
        &opts(10),
    )
    .unwrap_err();
    assert!(matches!(err, OutputError::ZeroWidth { .. }), "{err}");

    let err = write_node_predictions(&pred, &[], &opts(0)).unwrap_err();
    assert!(matches!(err, OutputError::InvalidOption { .. }), "{err}");

    let err = write_node_predictions(&pred, &[], &csv(10, '"')).unwrap_err();
    assert!(matches!(err, OutputError::InvalidOption { .. }), "{err}");

    for bad in ["", ".", "..", "a/b"] {
        let err = write_node_predictions(
            &pred,
            &[(bad, NodeIds::Int(&ids), Values::ClassIndex(&[0, 1]))],
            &opts(10),
        )
        .unwrap_err();
        assert!(
            matches!(err, OutputError::InvalidNodeType { .. }),
            "{bad}: {err}"
        );
    }

    let err = write_node_predictions(
        &pred,
        &[
            ("p", NodeIds::Int(&ids), Values::ClassIndex(&[0, 1])),
            ("p", NodeIds::Int(&ids), Values::ClassIndex(&[0, 1])),
        ],
        &opts(10),
    )
    .unwrap_err();
    assert!(
        matches!(err, OutputError::DuplicateNodeType { .. }),
        "{err}"
    );

    // Nothing was created by any of the refused calls.
    assert!(!pred.exists());
    assert_no_staging_left(tmp.path());
}

#[test]
fn reads_graphstorm_docs_file_names_too() {
    let tmp = tempfile::tempdir().unwrap();
    let pred = tmp.path().join("pred");
    let ids = [1_i64, 2];
    write_node_predictions(
        &pred,
        &[("n", NodeIds::Int(&ids), Values::ClassIndex(&[7, 8]))],
        &opts(1),
    )
    .unwrap();
    // `output-remapping.rst` names files `predict-R_C.parquet`; rename one that way.
    fs::rename(
        pred.join("n/pred.predict-00000_00001.parquet"),
        pred.join("n/predict-00000_00001.parquet"),
    )
    .unwrap();
    let (nids, values) = read_node_predictions(&pred, "n").unwrap();
    assert_eq!(nids, ["1", "2"]);
    assert_eq!(values, vec![vec![7.0], vec![8.0]]);
}
