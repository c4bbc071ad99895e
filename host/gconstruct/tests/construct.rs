//! End-to-end tests of `construct`: CSV and Parquet inputs with every transform and label kind,
//! splits, id mappings, re-applying `data_transform_new.json`, and bad input.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::*;
use gs_gconstruct::{
    ConstructOptions, RawColumn, TransformTarget, apply_transforms, construct, read_transform_conf,
};
use gs_graph::EdgeType;
use serde_json::{Value, json};

const USERS_A: &str = "\
id,age,score,rank,city,tags,emb,x,y,cls
u0,20,1.0,0.5,paris,a|b,0.1;0.2;0.3,5,1.5,0
u1,30,2.0,0.1,rome,b,0.4;0.5;0.6,15,2.5,1
u2,40,3.0,0.9,paris,c,0.7;0.8;0.9,25,3.5,2
u3,25,4.0,0.3,oslo,a|c,1.0;1.1;1.2,35,4.5,0
u4,35,5.0,0.7,rome,,1.3;1.4;1.5,12,5.5,1
u5,50,5.0,0.2,oslo,b,1.6;1.7;1.8,30,6.5,
";
const USERS_B: &str = "\
id,age,score,rank,city,tags,emb,x,y,cls
u6,45,1.0,0.6,rome,a,1.9;2.0;2.1,40,7.5,2
u7,22,2.0,0.8,paris,b|c,2.2;2.3;2.4,10,8.5,0
u8,33,3.0,0.4,oslo,c,2.5;2.6;2.7,20,9.5,1
u9,28,4.0,0.0,rome,a|b|c,2.8;2.9;3.0,8,10.5,2
";

/// Writes the CSV inputs and config of the "social" test graph into `dir`.
fn social_inputs(dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("users_a.csv"), USERS_A).unwrap();
    std::fs::write(dir.join("users_b.csv"), USERS_B).unwrap();
    std::fs::write(
        dir.join("items.csv"),
        "iid|price|cat\n0|10.0|x\n1|20.0|y\n2|30.0|z\n3|40.0|x\n4|50.0|y\n",
    )
    .unwrap();
    let follows: String = (0..10)
        .map(|i| format!("u{i},u{}\n", (i + 1) % 10))
        .collect();
    std::fs::write(dir.join("follows.csv"), format!("src,dst\n{follows}")).unwrap();
    std::fs::write(
        dir.join("buys.csv"),
        "uid,iid,rating\nu0,1,5\nu1,2,3\nu2,0,1\nu3,4,4\nu4,3,2\nu9,1,5\n",
    )
    .unwrap();
    std::fs::write(dir.join("has.csv"), "uid,tag\nu0,t2\nu1,t1\nu2,t2\nu3,t0\n").unwrap();
    std::fs::write(
        dir.join("buys_train.json"),
        "[\"u0\", 1]\n[\"u1\", 2]\n[\"u2\", 0]\n",
    )
    .unwrap();
    std::fs::write(dir.join("buys_valid.json"), "[\"u3\", 4]\n[\"u0\", 1]\n").unwrap();
    let conf = json!({
        "version": "gconstruct-v0.1",
        "nodes": [
            {
                "node_type": "user",
                "format": {"name": "csv"},
                "files": "users_*.csv",
                "node_id_col": "id",
                "features": [
                    {"feature_col": "age", "transform": {"name": "max_min_norm"}},
                    {"feature_col": "score", "out_dtype": "float16", "transform": {"name": "standard"}},
                    {"feature_col": "rank", "transform": {"name": "rank_gauss"}},
                    {"feature_col": "city", "transform": {"name": "to_categorical"}},
                    {"feature_col": "tags", "feature_name": "tag_set", "transform": {"name": "to_categorical", "separator": "|"}},
                    {"feature_col": "emb", "transform": {"name": "no-op", "separator": ";", "truncate_dim": 2}},
                    {"feature_col": "x", "transform": {"name": "bucket_numerical", "range": [10, 40], "bucket_cnt": 3, "slide_window_size": 0}},
                    {"feature_col": "y"},
                    {"feature_col": ["age", "x"], "feature_name": "age_x"}
                ],
                "labels": [{"label_col": "cls", "task_type": "classification", "split_pct": [0.5, 0.25, 0.25]}]
            },
            {
                "node_type": "item",
                "format": {"name": "csv", "separator": "|"},
                "files": ["items.csv"],
                "node_id_col": "iid",
                "features": [
                    {"feature_col": "cat", "transform": {"name": "to_categorical", "mapping": {"x": 0, "y": 1}}}
                ],
                "labels": [{
                    "label_col": "price", "task_type": "regression", "split_pct": [0.6, 0.2, 0.2],
                    "mask_field_names": ["tr", "va", "te"]
                }]
            }
        ],
        "edges": [
            {
                "relation": ["user", "follows", "user"],
                "format": {"name": "csv"}, "files": "follows.csv",
                "source_id_col": "src", "dest_id_col": "dst",
                "labels": [{"task_type": "link_prediction"}]
            },
            {
                "relation": ["user", "buys", "item"],
                "format": {"name": "csv"}, "files": ["buys.csv"],
                "source_id_col": "uid", "dest_id_col": "iid",
                "features": [{"feature_col": "rating", "feature_name": "r", "transform": {"name": "max_min_norm", "max_val": [5], "min_val": [1]}}],
                "labels": [{
                    "label_col": "rating", "task_type": "regression",
                    "custom_split_filenames": {"train": "buys_train.json", "valid": "buys_valid.json"}
                }]
            },
            {
                "relation": ["user", "has", "tag"],
                "format": {"name": "csv"}, "files": ["has.csv"],
                "source_id_col": "uid", "dest_id_col": "tag"
            }
        ]
    });
    let path = dir.join("conf.json");
    write_json(&path, &conf);
    path
}

fn options(conf: &Path, out: &Path, seed: u64) -> ConstructOptions {
    let mut o = ConstructOptions::new(conf, out, "social");
    o.seed = Some(seed);
    o.add_reverse_edges = true;
    o
}

fn user_rows() -> Vec<Vec<String>> {
    USERS_A
        .lines()
        .skip(1)
        .chain(USERS_B.lines().skip(1))
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect()
}

fn close(a: f32, b: f64) -> bool {
    (f64::from(a) - b).abs() <= 1e-6 * b.abs().max(1.0)
}

#[test]
fn csv_every_transform_and_label_kind() {
    let tmp = tempfile::tempdir().unwrap();
    let conf = social_inputs(&tmp.path().join("in"));
    let out = tmp.path().join("out");
    let report = construct(&options(&conf, &out, 7)).unwrap();
    let text = report.to_string();
    assert!(text.contains("node type user: 10 nodes"), "{text}");

    // Outputs, and no staging folder left behind.
    assert!(out.join("social.json").is_file());
    assert!(out.join("data_transform_new.json").is_file());
    let leftovers: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n.to_string_lossy().starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    let g = gs_graph::load(&report.part_config).unwrap();
    assert_eq!(g.num_nodes("user"), Some(10));
    assert_eq!(g.num_nodes("item"), Some(5));
    assert_eq!(g.num_nodes("tag"), Some(3));

    // Id maps: users in first-appearance order over the sorted files; items are 0..n (no map);
    // feature-less tags are the sorted unique ids of the edge file.
    let (users, user_int) = read_raw_ids(&out, "user");
    assert_eq!(users, (0..10).map(|i| format!("u{i}")).collect::<Vec<_>>());
    assert!(!user_int);
    assert!(!out.join("raw_id_mappings/item").exists());
    let (tags, _) = read_raw_ids(&out, "tag");
    assert_eq!(tags, ["t0", "t1", "t2"]);

    let rows = user_rows();
    let col = |k: usize| rows.iter().map(|r| r[k].clone()).collect::<Vec<_>>();
    let feat = |name: &str| {
        rows_f32(
            g.node_data("user", name)
                .unwrap_or_else(|| panic!("no feature {name}")),
        )
    };

    // max_min_norm: min 20, max 50.
    for (r, v) in feat("age").iter().zip(col(1)) {
        assert!(close(r[0], (v.parse::<f64>().unwrap() - 20.0) / 30.0));
    }
    // standard with float16 output: sum 30.
    for (r, v) in feat("score").iter().zip(col(2)) {
        let want = v.parse::<f64>().unwrap() / 30.0;
        assert!((f64::from(r[0]) - want).abs() < 1e-3, "{} vs {want}", r[0]);
        assert_eq!(r[0].to_bits() & 0x1fff, 0, "float16 precision: {}", r[0]);
    }
    // rank_gauss: ranks 0..9 of `rank` -> erfinv((r/9 - 0.5) * 2), clipped by epsilon.
    let ranks: Vec<f64> = col(3).iter().map(|v| v.parse().unwrap()).collect();
    for (i, r) in feat("rank").iter().enumerate() {
        let rank = ranks.iter().filter(|&&x| x < ranks[i]).count();
        let want = match rank {
            0 => -3.458910737,
            9 => 3.458910737,
            _ => f64::NAN,
        };
        if !want.is_nan() {
            assert!(
                (f64::from(r[0]) - want).abs() < 1e-5,
                "rank {rank}: {}",
                r[0]
            );
        }
        if rank == 4 || rank == 5 {
            let x = (rank as f64 / 9.0 - 0.5) * 2.0;
            assert!(f64::from(r[0]).signum() == x.signum());
        }
    }
    let rg = feat("rank");
    let mut by_input: Vec<usize> = (0..10).collect();
    by_input.sort_by(|&a, &b| ranks[a].total_cmp(&ranks[b]));
    assert!(
        by_input.windows(2).all(|w| rg[w[0]][0] < rg[w[1]][0]),
        "monotone"
    );
    // to_categorical: sorted unique values {oslo, paris, rome}.
    for (r, v) in feat("city").iter().zip(col(4)) {
        let k = ["oslo", "paris", "rome"]
            .iter()
            .position(|c| *c == v)
            .unwrap();
        let mut want = vec![0.0; 3];
        want[k] = 1.0;
        assert_eq!(r, &want);
    }
    // Multi-hot, with an empty (null) row.
    for (r, v) in feat("tag_set").iter().zip(col(5)) {
        let want: Vec<f32> = ["a", "b", "c"]
            .iter()
            .map(|t| f32::from(u8::from(v.split('|').any(|x| x == *t))))
            .collect();
        assert_eq!(r, &want, "tags {v:?}");
    }
    // no-op with separator and truncate_dim.
    for (r, v) in feat("emb").iter().zip(col(6)) {
        let want: Vec<f32> = v.split(';').take(2).map(|x| x.parse().unwrap()).collect();
        assert_eq!(r, &want);
    }
    // bucket_numerical: range [10, 40], 3 buckets of 10.
    for (r, v) in feat("x").iter().zip(col(7)) {
        let x: f64 = v.parse().unwrap();
        let k = (((x - 10.0) / 10.0).floor().clamp(0.0, 2.0)) as usize;
        let mut want = vec![0.0; 3];
        want[k] = 1.0;
        assert_eq!(r, &want, "x = {x}");
    }
    // Plain numbers and a two-column feature.
    for (r, y) in feat("y").iter().zip(col(8)) {
        assert_eq!(r[0], y.parse::<f32>().unwrap());
    }
    let age_x = feat("age_x");
    for (i, r) in age_x.iter().enumerate() {
        assert_eq!(
            r,
            &vec![
                col(1)[i].parse::<f32>().unwrap(),
                col(7)[i].parse::<f32>().unwrap()
            ]
        );
    }

    // Classification labels (int64; the empty one is -1 and in no mask) and per-file splits:
    // file a has 5 labelled rows -> 2/1/1, file b 4 -> 2/1/1.
    let cls = g
        .node_data("user", "cls")
        .unwrap()
        .as_i64()
        .unwrap()
        .to_vec();
    assert_eq!(cls, vec![0, 1, 2, 0, 1, -1, 2, 0, 1, 2]);
    let mask = |nt: &str, m: &str| g.node_data(nt, m).unwrap().as_u8().unwrap().to_vec();
    let (tr, va, te) = (
        mask("user", "train_mask"),
        mask("user", "val_mask"),
        mask("user", "test_mask"),
    );
    let count =
        |m: &[u8], r: std::ops::Range<usize>| m[r].iter().map(|&x| usize::from(x)).sum::<usize>();
    assert_eq!(
        (count(&tr, 0..6), count(&va, 0..6), count(&te, 0..6)),
        (2, 1, 1)
    );
    assert_eq!(
        (count(&tr, 6..10), count(&va, 6..10), count(&te, 6..10)),
        (2, 1, 1)
    );
    assert_eq!(tr[5] + va[5] + te[5], 0, "unlabelled row is in no mask");
    assert!((0..10).all(|i| tr[i] + va[i] + te[i] <= 1));

    // Regression labels with custom mask names: 5 rows -> 3/1/1.
    let price = g
        .node_data("item", "price")
        .unwrap()
        .as_f32()
        .unwrap()
        .to_vec();
    assert_eq!(price, vec![10.0, 20.0, 30.0, 40.0, 50.0]);
    let sizes: Vec<usize> = ["tr", "va", "te"]
        .iter()
        .map(|m| mask("item", m).iter().map(|&x| usize::from(x)).sum())
        .collect();
    assert_eq!(sizes, [3, 1, 1]);
    assert_eq!(
        rows_f32(g.node_data("item", "cat").unwrap()),
        vec![
            vec![1., 0.],
            vec![0., 1.],
            vec![0., 0.],
            vec![1., 0.],
            vec![0., 1.]
        ]
    );

    // Edges by raw id, reverse edges, edge features, LP and custom splits.
    let follows = EdgeType::new("user", "follows", "user");
    let pairs: Vec<(String, String)> = edges(&g, &follows)
        .iter()
        .map(|&(s, d)| (users[s as usize].clone(), users[d as usize].clone()))
        .collect();
    let mut sorted = pairs.clone();
    sorted.sort();
    let mut want: Vec<(String, String)> = (0..10)
        .map(|i| (format!("u{i}"), format!("u{}", (i + 1) % 10)))
        .collect();
    want.sort();
    assert_eq!(sorted, want);
    let rev = EdgeType::new("user", "follows-rev", "user");
    assert_eq!(g.num_edges(&rev), Some(10));
    assert_eq!(
        g.edge_data_all(&rev).count(),
        0,
        "reverse edges carry no data"
    );
    let lp: Vec<usize> = ["train_mask", "val_mask", "test_mask"]
        .iter()
        .map(|m| {
            g.edge_data(&follows, m)
                .unwrap()
                .as_u8()
                .unwrap()
                .iter()
                .map(|&x| usize::from(x))
                .sum()
        })
        .collect();
    assert_eq!(lp, [8, 1, 1]);
    assert!(g.edge_data(&follows, "rating").is_none());

    let buys = EdgeType::new("user", "buys", "item");
    assert_eq!(
        g.num_edges(&EdgeType::new("item", "buys-rev", "user")),
        Some(6)
    );
    let be = edges(&g, &buys);
    let r = rows_f32(g.edge_data(&buys, "r").unwrap());
    let rating = g.edge_data(&buys, "rating").unwrap().as_f32().unwrap();
    let (btr, bva, bte) = (
        g.edge_data(&buys, "train_mask").unwrap().as_u8().unwrap(),
        g.edge_data(&buys, "val_mask").unwrap().as_u8().unwrap(),
        g.edge_data(&buys, "test_mask").unwrap().as_u8().unwrap(),
    );
    for (e, &(s, d)) in be.iter().enumerate() {
        let key = (users[s as usize].as_str(), d);
        let raw = match key {
            ("u0", 1) => 5.0,
            ("u1", 2) => 3.0,
            ("u2", 0) => 1.0,
            ("u3", 4) => 4.0,
            ("u4", 3) => 2.0,
            ("u9", 1) => 5.0,
            other => panic!("unexpected edge {other:?}"),
        };
        assert_eq!(rating[e], raw);
        assert!(close(r[e][0], (f64::from(raw) - 1.0) / 4.0));
        let (t, v, te) = (btr[e], bva[e], bte[e]);
        match key {
            // u0 is in both train and valid files: train wins.
            ("u0", 1) | ("u1", 2) | ("u2", 0) => assert_eq!((t, v, te), (1, 0, 0)),
            ("u3", 4) => assert_eq!((t, v, te), (0, 1, 0)),
            _ => assert_eq!((t, v, te), (0, 0, 0)),
        }
    }
    assert_eq!(report.splits.len(), 4);

    // data_transform_new.json: fitted parameters and feature_dim.
    let t = read_transform_conf(&out.join("data_transform_new.json")).unwrap();
    assert_eq!(t["version"], "gconstruct-runtime-v0.1");
    assert_eq!(t["add_reverse_edges"], true);
    assert_eq!(t["is_homogeneous"], false);
    let f = &t["nodes"][0]["features"];
    assert_eq!(f[0]["transform"]["max_val"], json!([50]));
    assert_eq!(f[0]["transform"]["min_val"], json!([20]));
    assert_eq!(f[0]["feature_dim"], json!([1]));
    assert_eq!(f[1]["transform"]["sum"], json!([30.0]));
    assert_eq!(
        f[3]["transform"]["mapping"],
        json!({"oslo": 0, "paris": 1, "rome": 2})
    );
    assert_eq!(f[3]["feature_dim"], json!([3]));
    assert_eq!(
        f[4]["transform"]["mapping"],
        json!({"a": 0, "b": 1, "c": 2})
    );
    assert_eq!(f[5]["feature_dim"], json!([2]));
    assert_eq!(f[6]["feature_dim"], json!([3]));
    assert_eq!(f[8]["feature_dim"], json!([2]));
    assert_eq!(
        t["nodes"][1]["features"][0]["transform"]["mapping"],
        json!({"x": 0, "y": 1})
    );
    assert_eq!(
        t["edges"][1]["features"][0]["transform"]["max_val"],
        json!([5.0])
    );
}

#[test]
fn splits_are_deterministic_given_a_seed() {
    let tmp = tempfile::tempdir().unwrap();
    let conf = social_inputs(&tmp.path().join("in"));
    let masks = |out: &str, seed| {
        let report = construct(&options(&conf, &tmp.path().join(out), seed)).unwrap();
        assert_eq!(report.seed, seed);
        let g = gs_graph::load(&report.part_config).unwrap();
        let f = EdgeType::new("user", "follows", "user");
        (
            g.node_data("user", "train_mask")
                .unwrap()
                .as_u8()
                .unwrap()
                .to_vec(),
            g.edge_data(&f, "val_mask")
                .unwrap()
                .as_u8()
                .unwrap()
                .to_vec(),
        )
    };
    let a = masks("a", 1);
    let b = masks("b", 1);
    assert_eq!(a, b);
    let differs = (2..8).any(|s| masks(&format!("c{s}"), s) != a);
    assert!(differs, "other seeds give other splits");
}

#[test]
fn reapplying_data_transform_new_gives_the_same_features() {
    let tmp = tempfile::tempdir().unwrap();
    let conf = social_inputs(&tmp.path().join("in"));
    let out = tmp.path().join("out");
    let report = construct(&options(&conf, &out, 3)).unwrap();
    let g = gs_graph::load(&report.part_config).unwrap();
    let t = read_transform_conf(&report.transform_conf).unwrap();

    // Raw values of rows u7, u2, u4 (in that order), as a serving payload would send them.
    let rows = user_rows();
    let pick = [7usize, 2, 4];
    let text = |k: usize| {
        RawColumn::Str(
            pick.iter()
                .map(|&i| Some(rows[i][k].clone()).filter(|s| !s.is_empty()))
                .collect(),
        )
    };
    let num =
        |k: usize| RawColumn::Float(pick.iter().map(|&i| rows[i][k].parse().unwrap()).collect());
    let int =
        |k: usize| RawColumn::Int(pick.iter().map(|&i| rows[i][k].parse().unwrap()).collect());
    let columns: BTreeMap<String, RawColumn> = [
        ("age", int(1)),
        ("score", num(2)),
        ("city", text(4)),
        ("tags", text(5)),
        ("emb", text(6)),
        ("x", int(7)),
        ("y", num(8)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let feats = apply_transforms(&t, &TransformTarget::Node("user".into()), &columns).unwrap();
    let names: Vec<&str> = feats.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        ["age", "age_x", "city", "emb", "score", "tag_set", "x", "y"]
    );
    for (name, f) in &feats {
        let stored = rows_f32(g.node_data("user", name).unwrap());
        for (k, &i) in pick.iter().enumerate() {
            let got = &f.values[k * f.dim..(k + 1) * f.dim];
            assert_eq!(got, stored[i].as_slice(), "feature {name} row u{i}");
        }
    }
    // Edge features too.
    let cols: BTreeMap<String, RawColumn> =
        [("rating".to_string(), RawColumn::Int(vec![3, 5]))].into();
    let e = apply_transforms(
        &t,
        &TransformTarget::Edge(["user".into(), "buys".into(), "item".into()]),
        &cols,
    )
    .unwrap();
    assert_eq!(e["r"].values, vec![0.5, 1.0]);

    // rank_gauss is not re-applicable; unknown types are named.
    let mut with_rank = columns.clone();
    with_rank.insert("rank".into(), RawColumn::Float(vec![0.1, 0.2, 0.3]));
    let err = apply_transforms(&t, &TransformTarget::Node("user".into()), &with_rank)
        .unwrap_err()
        .to_string();
    assert!(err.contains("rank_gauss") && err.contains("hint:"), "{err}");
    let err = apply_transforms(&t, &TransformTarget::Node("nobody".into()), &columns)
        .unwrap_err()
        .to_string();
    assert!(err.contains("nobody"), "{err}");
}

#[test]
fn parquet_inputs_with_vectors_and_integer_ids() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("in");
    std::fs::create_dir_all(dir.join("papers")).unwrap();
    write_parquet(
        &dir.join("papers/part-0.parquet"),
        &[
            ("pid", PCol::I64(vec![100, 7, 42])),
            (
                "vec",
                PCol::ListF32(vec![vec![1.0, 2.0], vec![3.0, 4.0], vec![5.0, 6.0]]),
            ),
            ("venue", PCol::Str(vec!["kdd", "vldb", "kdd"])),
            ("year", PCol::I32(vec![2000, 2010, 2020])),
            ("label", PCol::I64(vec![0, 1, 2])),
        ],
    );
    write_parquet(
        &dir.join("papers/part-1.parquet"),
        &[
            ("pid", PCol::I64(vec![3])),
            ("vec", PCol::ListF32(vec![vec![7.0, 8.0]])),
            ("venue", PCol::Str(vec!["icml"])),
            ("year", PCol::I32(vec![2005])),
            ("label", PCol::I64(vec![1])),
        ],
    );
    write_parquet(
        &dir.join("cites.parquet"),
        &[
            ("src", PCol::I64(vec![100, 7, 42, 3, 100])),
            ("dst", PCol::I64(vec![7, 42, 3, 100, 42])),
            ("w", PCol::F64(vec![0.5, 1.5, 2.5, 3.5, 4.5])),
        ],
    );
    let conf = json!({
        "version": "gconstruct-v0.1",
        "nodes": [{
            "node_type": "paper", "format": {"name": "parquet"}, "files": "papers",
            "node_id_col": "pid",
            "features": [
                {"feature_col": "vec"},
                {"feature_col": "venue", "transform": {"name": "to_categorical"}},
                {"feature_col": "year", "feature_name": "y", "transform": {"name": "max_min_norm", "max_bound": 2015}}
            ],
            "labels": [{"label_col": "label", "task_type": "classification", "split_pct": [1.0, 0.0, 0.0]}]
        }, {
            "node_type": "venue_only", "format": {"name": "parquet"}, "files": ["papers/part-1.parquet"]
        }],
        "edges": [{
            "relation": ["paper", "cites", "paper"], "format": {"name": "parquet"}, "files": ["cites.parquet"],
            "source_id_col": "src", "dest_id_col": "dst",
            "features": [{"feature_col": "w", "transform": {"name": "rank_gauss", "epsilon": 0.01}}],
            "labels": [{"task_type": "link_prediction", "split_pct": [0.6, 0.2, 0.2]}]
        }]
    });
    let cpath = dir.join("conf.json");
    write_json(&cpath, &conf);
    let out = tmp.path().join("g");
    let report = construct(&ConstructOptions {
        seed: Some(5),
        ..ConstructOptions::new(&cpath, &out, "papers-1")
    })
    .unwrap();
    let g = gs_graph::load(&report.part_config).unwrap();
    assert_eq!(g.num_nodes("paper"), Some(4));
    assert_eq!(
        g.num_nodes("venue_only"),
        Some(1),
        "a node type without node_id_col uses row order"
    );
    let (raw, is_int) = read_raw_ids(&out, "paper");
    assert!(is_int, "integer raw ids are written as int64");
    assert_eq!(raw, ["100", "7", "42", "3"]);
    assert_eq!(
        rows_f32(g.node_data("paper", "vec").unwrap()),
        vec![vec![1., 2.], vec![3., 4.], vec![5., 6.], vec![7., 8.]]
    );
    assert_eq!(
        rows_f32(g.node_data("paper", "venue").unwrap()),
        vec![
            vec![0., 1., 0.],
            vec![0., 0., 1.],
            vec![0., 1., 0.],
            vec![1., 0., 0.]
        ]
    );
    // max clipped to max_bound 2015: (2020 - 2000) / 15 clips to 1.
    let y: Vec<f32> = rows_f32(g.node_data("paper", "y").unwrap())
        .into_iter()
        .map(|r| r[0])
        .collect();
    assert_eq!(y, vec![0.0, 10.0 / 15.0, 1.0, 5.0 / 15.0]);
    assert_eq!(
        g.node_data("paper", "train_mask").unwrap().as_u8().unwrap(),
        &[1, 1, 1, 1]
    );

    let cites = EdgeType::new("paper", "cites", "paper");
    let mut pairs: Vec<(String, String)> = edges(&g, &cites)
        .iter()
        .map(|&(s, d)| (raw[s as usize].clone(), raw[d as usize].clone()))
        .collect();
    pairs.sort();
    let mut want: Vec<(String, String)> = [(100, 7), (7, 42), (42, 3), (3, 100), (100, 42)]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    want.sort();
    assert_eq!(pairs, want);
    // rank_gauss over 5 distinct weights: ranks 0..4 -> erfinv(clip((r/4 - 0.5) * 2, +-0.99)).
    let w = rows_f32(g.edge_data(&cites, "w").unwrap());
    let mut vals: Vec<f32> = w.iter().map(|r| r[0]).collect();
    vals.sort_by(f32::total_cmp);
    assert!((vals[2]).abs() < 1e-7);
    assert!(
        (f64::from(vals[4]) - 1.8213863677184496).abs() < 1e-5,
        "{vals:?}"
    );
    assert!(
        (f64::from(vals[3]) - 0.4769362762044698).abs() < 1e-6,
        "{vals:?}"
    );
    let t = read_transform_conf(&out.join("data_transform_new.json")).unwrap();
    assert_eq!(
        t["nodes"][0]["features"][2]["transform"]["max_val"],
        json!([2015])
    );
    assert_eq!(t["nodes"][0]["features"][0]["feature_dim"], json!([2]));
}

#[test]
fn homogeneous_graphs_are_renamed_and_reverse_edges_join_the_edge_type() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(dir.join("n.csv"), "id,f\n0,1.0\n1,2.0\n2,3.0\n").unwrap();
    std::fs::write(dir.join("e.csv"), "s,d,w\n0,1,0.5\n1,2,0.25\n").unwrap();
    let conf = json!({"version": "gconstruct-v0.1",
        "nodes": [{"node_type": "n", "format": {"name": "csv"}, "files": "n.csv", "node_id_col": "id", "features": [{"feature_col": "f"}]}],
        "edges": [{"relation": ["n", "e", "n"], "format": {"name": "csv"}, "files": "e.csv", "source_id_col": "s", "dest_id_col": "d",
                   "features": [{"feature_col": "w"}], "labels": [{"task_type": "link_prediction", "split_pct": [1.0, 0.0, 0.0]}]}]});
    let cpath = dir.join("c.json");
    write_json(&cpath, &conf);
    let mut o = ConstructOptions::new(&cpath, dir.join("out"), "h");
    o.add_reverse_edges = true;
    o.seed = Some(1);
    let report = construct(&o).unwrap();
    assert!(report.is_homogeneous);
    let g = gs_graph::load(&report.part_config).unwrap();
    assert_eq!(g.num_nodes("_N"), Some(3));
    assert!(
        !dir.join("out/raw_id_mappings/_N").exists(),
        "ids 0..n need no map"
    );
    let et = EdgeType::new("_N", "_E", "_N");
    let mut e = edges(&g, &et);
    e.sort();
    assert_eq!(e, vec![(0, 1), (1, 0), (1, 2), (2, 1)]);
    let w = g.edge_data(&et, "w").unwrap().as_f32().unwrap();
    let m = g.edge_data(&et, "train_mask").unwrap().as_u8().unwrap();
    let mut rows: Vec<(u64, u64, f32, u8)> = edges(&g, &et)
        .iter()
        .enumerate()
        .map(|(i, &(s, d))| (s, d, w[i], m[i]))
        .collect();
    rows.sort_by_key(|r| (r.0, r.1));
    assert_eq!(
        rows,
        vec![
            (0, 1, 0.5, 1),
            (1, 0, 0.5, 0),
            (1, 2, 0.25, 1),
            (2, 1, 0.25, 0)
        ]
    );
    let t = read_transform_conf(&report.transform_conf).unwrap();
    assert_eq!(t["nodes"][0]["node_type"], "_N");
    assert_eq!(t["edges"][0]["relation"], json!(["_N", "_E", "_N"]));
    assert_eq!(t["is_homogeneous"], true);
}

// --- bad input -----------------------------------------------------------------------------

/// Runs construction on one node file and one edge file and returns the error text; checks
/// that no output folder (complete-looking or staged) is left.
fn fails(
    nodes_csv: &str,
    edges_csv: &str,
    node_extra: Value,
    tweak: impl FnOnce(&mut ConstructOptions),
) -> String {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(dir.join("nodes.csv"), nodes_csv).unwrap();
    std::fs::write(dir.join("edges.csv"), edges_csv).unwrap();
    let mut node = json!({"node_type": "a", "format": {"name": "csv"}, "files": "nodes.csv", "node_id_col": "id"});
    for (k, v) in node_extra.as_object().unwrap() {
        node[k] = v.clone();
    }
    let conf = json!({"version": "gconstruct-v0.1", "nodes": [node],
        "edges": [{"relation": ["a", "r", "b"], "format": {"name": "csv"}, "files": "edges.csv", "source_id_col": "s", "dest_id_col": "d"}]});
    let cpath = dir.join("c.json");
    write_json(&cpath, &conf);
    let out = dir.join("out");
    let mut o = ConstructOptions::new(&cpath, &out, "g");
    tweak(&mut o);
    let err = construct(&o).expect_err("construction should fail");
    assert!(!out.exists(), "no output folder after an error");
    let left: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(left.is_empty(), "staging left behind: {left:?}");
    let text = err.to_string();
    assert!(text.contains("hint:"), "{text}");
    text
}

const NODES: &str = "id,f,lab\nx,1,0\ny,2,1\nz,3,0\n";
const EDGES: &str = "s,d\nx,b1\ny,b2\n";

#[test]
fn missing_column_names_file_and_column() {
    let e = fails(
        NODES,
        EDGES,
        json!({"features": [{"feature_col": "nope"}]}),
        |_| {},
    );
    assert!(
        e.contains("nodes.csv") && e.contains("`nope`") && e.contains("id, f, lab"),
        "{e}"
    );
}

#[test]
fn null_node_id_names_the_row() {
    let e = fails("id,f\nx,1\n,2\n", EDGES, json!({}), |_| {});
    assert!(
        e.contains("nodes.csv") && e.contains("row 1") && e.contains("`id`") && e.contains("null"),
        "{e}"
    );
}

#[test]
fn unknown_class_label_is_refused() {
    let e = fails(
        "id,lab\nx,0\ny,cat\n",
        EDGES,
        json!({"labels": [{"label_col": "lab", "task_type": "classification"}]}),
        |_| {},
    );
    assert!(
        e.contains("row 1") && e.contains("\"cat\"") && e.contains("class id"),
        "{e}"
    );
}

#[test]
fn vectors_of_mismatched_length_are_refused() {
    let e = fails(
        "id,v\nx,1;2\ny,1;2;3\n",
        EDGES,
        json!({"features": [{"feature_col": "v", "transform": {"name": "no-op", "separator": ";"}}]}),
        |_| {},
    );
    assert!(
        e.contains("row 1") && e.contains("length 2") && e.contains("length 3"),
        "{e}"
    );
}

#[test]
fn edges_to_unknown_nodes_fail_unless_skipped() {
    let e = fails(NODES, "s,d\nx,b1\nq,b2\nw,b3\n", json!({}), |_| {});
    assert!(
        e.contains("edges.csv")
            && e.contains("row 1")
            && e.contains("\"q\"")
            && e.contains("--skip-nonexist-edges")
            && e.contains("2 such edges"),
        "{e}"
    );

    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("n.csv"), "id,f\n0,1.0\n1,2.0\n").unwrap();
    std::fs::write(
        tmp.path().join("e.csv"),
        "s,d,w\n0,1,0.5\n0,7,0.6\n1,0,0.7\n",
    )
    .unwrap();
    let conf = json!({"nodes": [{"node_type": "a", "format": {"name": "csv"}, "files": "n.csv", "node_id_col": "id"},
                                {"node_type": "b", "format": {"name": "csv"}, "files": "n.csv", "node_id_col": "id"}],
        "edges": [{"relation": ["a", "r", "b"], "format": {"name": "csv"}, "files": "e.csv", "source_id_col": "s", "dest_id_col": "d", "features": [{"feature_col": "w"}]}]});
    let c = tmp.path().join("c.json");
    write_json(&c, &conf);
    let mut o = ConstructOptions::new(&c, tmp.path().join("o"), "g");
    o.skip_nonexist_edges = true;
    let report = construct(&o).unwrap();
    assert_eq!(report.skipped_edges, 1);
    let g = gs_graph::load(&report.part_config).unwrap();
    let et = EdgeType::new("a", "r", "b");
    let w = g.edge_data(&et, "w").unwrap().as_f32().unwrap();
    let mut got: Vec<(u64, u64, f32)> = edges(&g, &et)
        .iter()
        .enumerate()
        .map(|(i, &(s, d))| (s, d, w[i]))
        .collect();
    got.sort_by_key(|r| (r.0, r.1));
    assert_eq!(got, vec![(0, 1, 0.5), (1, 0, 0.7)]);
}

#[test]
fn duplicate_node_ids_are_refused() {
    let e = fails("id,f\nx,1\ny,2\nx,3\n", EDGES, json!({}), |_| {});
    assert!(
        e.contains("duplicate node id \"x\"") && e.contains("row 2") && e.contains("row 0"),
        "{e}"
    );
}

#[test]
fn unreadable_parquet_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("n.parquet"), "id,f\nthis is csv\n").unwrap();
    let conf = json!({"nodes": [{"node_type": "a", "format": {"name": "parquet"}, "files": "n.parquet", "node_id_col": "id"}],
        "edges": [{"relation": ["a", "r", "a"], "format": {"name": "parquet"}, "files": "n.parquet", "source_id_col": "id", "dest_id_col": "id"}]});
    let c = tmp.path().join("c.json");
    write_json(&c, &conf);
    let e = construct(&ConstructOptions::new(&c, tmp.path().join("o"), "g"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("n.parquet") && e.contains("Parquet") && e.contains("hint:"),
        "{e}"
    );
}

#[test]
fn unsupported_features_are_refused_clearly() {
    let e = fails(NODES, EDGES, json!({}), |o| o.num_parts = 0);
    assert!(e.contains("--num-parts 0"), "{e}");
    let e = fails(NODES, EDGES, json!({"format": {"name": "hdf5"}}), |_| {});
    assert!(e.contains("HDF5") && e.contains("not supported"), "{e}");
    let e = fails(
        NODES,
        EDGES,
        json!({"features": [{"feature_col": "f", "transform": {"name": "tokenize_hf", "bert_model": "bert-base-uncased", "max_seq_length": 16}}]}),
        |_| {},
    );
    assert!(
        e.contains("tokenize_hf") && e.contains("not supported"),
        "{e}"
    );
    let e = fails(
        NODES,
        EDGES,
        json!({"features": [{"feature_col": "f", "transform": {"name": "bert_hf", "bert_model": "b", "max_seq_length": 16}}]}),
        |_| {},
    );
    assert!(e.contains("bert_hf"), "{e}");
    let e = fails(
        NODES,
        EDGES,
        json!({"features": [{"feature_name": "t", "transform": {"name": "tabular"}}]}),
        |_| {},
    );
    assert!(e.contains("tabular"), "{e}");
    let e = fails(NODES, EDGES, json!({"files": "missing-*.csv"}), |_| {});
    assert!(
        e.contains("missing-*.csv") && e.contains("working directory"),
        "{e}"
    );
    let e = fails(NODES, EDGES, json!({}), |o| {
        o.graph_name = "bad/name".into()
    });
    assert!(e.contains("bad/name"), "{e}");
}

#[test]
fn nan_in_a_numeric_feature_is_refused() {
    let e = fails(
        "id,f\nx,1.0\ny,\n",
        EDGES,
        json!({"features": [{"feature_col": "f", "transform": {"name": "max_min_norm"}}]}),
        |_| {},
    );
    assert!(e.contains("row 1") && e.contains("NaN"), "{e}");
}

#[test]
fn output_conf_file_and_existing_output_dir() {
    let tmp = tempfile::tempdir().unwrap();
    let conf = social_inputs(&tmp.path().join("in"));
    // --output-conf-file writes the updated config there instead of into the graph folder.
    let mut o = options(&conf, &tmp.path().join("out"), 1);
    o.output_conf_file = Some(tmp.path().join("confs/new.json"));
    let report = construct(&o).unwrap();
    assert_eq!(report.transform_conf, tmp.path().join("confs/new.json"));
    assert!(report.transform_conf.is_file());
    assert!(!tmp.path().join("out/data_transform_new.json").exists());
    // A non-empty output folder is refused and left as it was.
    let err = construct(&o).unwrap_err().to_string();
    assert!(err.contains("not empty") && err.contains("hint:"), "{err}");
    assert!(tmp.path().join("out/social.json").is_file());
    // An empty one is replaced.
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    construct(&options(&conf, &empty, 1)).unwrap();
    assert!(empty.join("social.json").is_file());
}

// --- hard negatives ---------------------------------------------------------------------------

/// Each edge's hard-negative row, as the raw ids of the destination nodes it names, by the
/// edge's (raw source, raw destination).
fn hard_negatives_by_edge(
    g: &gs_graph::HeteroGraph,
    et: &EdgeType,
    field: &str,
) -> BTreeMap<(String, String), Vec<String>> {
    let a = g.edge_data(et, field).expect("hard-negative edge data");
    assert_eq!(a.dtype(), gs_graph::DType::I64);
    let (w, ids) = (a.row_width(), a.as_i64().unwrap());
    let raw = |nt: &str, id: u64| g.raw_id(nt, id).unwrap().to_string();
    edges(g, et)
        .into_iter()
        .enumerate()
        .map(|(e, (s, d))| {
            let row = ids[e * w..(e + 1) * w]
                .iter()
                .map(|&n| {
                    if n < 0 {
                        "-".to_string()
                    } else {
                        raw(&et.dst, n as u64)
                    }
                })
                .collect();
            ((raw(&et.src, s), raw(&et.dst, d)), row)
        })
        .collect()
}

#[test]
fn hard_negatives_map_raw_destination_ids_from_csv_and_parquet() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(dir.join("users.csv"), "id\nu0\nu1\nu2\nu3\n").unwrap();
    std::fs::write(dir.join("items.csv"), "id\ni0\ni1\ni2\ni3\ni4\n").unwrap();
    std::fs::write(
        dir.join("buys.csv"),
        "uid,iid,negs\nu0,i1,i3;i4\nu1,i2,i0\nu2,i0,\nu3,i4,i1;nope;i2\n",
    )
    .unwrap();
    let node = |nt: &str, file: &str| json!({"node_type": nt, "format": {"name": "csv"}, "files": file, "node_id_col": "id"});
    let conf = json!({"version": "gconstruct-v0.1",
        "nodes": [node("user", "users.csv"), node("item", "items.csv")],
        "edges": [{"relation": ["user", "buys", "item"], "format": {"name": "csv"},
            "files": "buys.csv", "source_id_col": "uid", "dest_id_col": "iid",
            "features": [{"feature_col": "negs", "feature_name": "hard_neg",
                "transform": {"name": "edge_dst_hard_negative", "separator": ";"}}]}]});
    let cpath = dir.join("c.json");
    write_json(&cpath, &conf);
    let report = construct(&options(&cpath, &dir.join("out"), 1)).unwrap();
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.contains("1 hard-negative ids")),
        "{:?}",
        report.warnings
    );
    let g = gs_graph::load(&report.part_config).unwrap();
    let et: EdgeType = "user:buys:item".parse().unwrap();
    let got = hard_negatives_by_edge(&g, &et, "hard_neg");
    let want: BTreeMap<(String, String), Vec<String>> = [
        (("u0", "i1"), ["i3", "i4", "-"]),
        (("u1", "i2"), ["i0", "-", "-"]),
        (("u2", "i0"), ["-", "-", "-"]),
        (("u3", "i4"), ["i1", "i2", "-"]),
    ]
    .into_iter()
    .map(|((s, d), row)| ((s.into(), d.into()), row.map(String::from).to_vec()))
    .collect();
    assert_eq!(got, want);
    let t = read_transform_conf(&report.transform_conf).unwrap();
    assert_eq!(t["edges"][0]["features"][0]["feature_dim"], json!([3]));

    // Parquet: integer item ids (not 0..n, so mapped) and hard negatives as number lists; 99
    // names no item.
    write_parquet(
        &dir.join("items.parquet"),
        &[("id", PCol::I64(vec![10, 20, 30]))],
    );
    write_parquet(
        &dir.join("buys.parquet"),
        &[
            ("uid", PCol::Str(vec!["u0", "u1", "u2"])),
            ("iid", PCol::I64(vec![10, 20, 30])),
            (
                "negs",
                PCol::ListF32(vec![vec![20.0, 30.0], vec![10.0], vec![99.0]]),
            ),
        ],
    );
    let conf = json!({"version": "gconstruct-v0.1",
        "nodes": [node("user", "users.csv"),
            {"node_type": "item", "format": {"name": "parquet"}, "files": "items.parquet", "node_id_col": "id"}],
        "edges": [{"relation": ["user", "buys", "item"], "format": {"name": "parquet"},
            "files": "buys.parquet", "source_id_col": "uid", "dest_id_col": "iid",
            "features": [{"feature_col": "negs", "transform": {"name": "edge_dst_hard_negative"}}]}]});
    write_json(&cpath, &conf);
    let report = construct(&options(&cpath, &dir.join("out-parquet"), 1)).unwrap();
    let g = gs_graph::load(&report.part_config).unwrap();
    let got = hard_negatives_by_edge(&g, &et, "negs");
    assert_eq!(got[&("u0".into(), "10".into())], ["20", "30"]);
    assert_eq!(got[&("u1".into(), "20".into())], ["10", "-"]);
    assert_eq!(got[&("u2".into(), "30".into())], ["-", "-"]);
}

#[test]
fn hard_negatives_on_nodes_are_refused() {
    let e = fails(
        NODES,
        EDGES,
        json!({"features": [{"feature_col": "f", "transform": {"name": "edge_dst_hard_negative"}}]}),
        |_| {},
    );
    assert!(
        e.contains("edge_dst_hard_negative") && e.contains("edge block"),
        "{e}"
    );
}
