//! GraphStorm's own gconstruct stores categorical features as `uint8` (the committed
//! `tests/fixtures/graphstorm-tiny` partition): the input gather casts them to float32, as
//! GraphStorm does, and the values are the one-hot encoding of the raw input.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use gs_graph::{DType, load};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures")
}

/// `column` of the dgl-tiny input CSV `file` (the same graph's raw input), by raw id.
fn input_column(file: &str, column: &str) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(fixtures().join("dgl-tiny/input").join(file)).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let k = header.iter().position(|h| *h == column).unwrap();
    lines
        .map(|l| {
            let cells: Vec<&str> = l.split(',').collect();
            (cells[0].to_string(), cells[k].to_string())
        })
        .collect()
}

/// The category order of GraphStorm's `to_categorical` mapping (sorted names).
fn categories(values: &BTreeMap<String, String>) -> Vec<String> {
    let mut c: Vec<String> = values.values().cloned().collect();
    c.sort();
    c.dedup();
    c
}

#[test]
fn uint8_categorical_features_gather_as_their_float32_cast() {
    let part_config = fixtures().join("graphstorm-tiny/partitioned/tiny.json");
    let g = load(&part_config).unwrap();
    for (ntype, feat, file) in [
        ("paper", "venue", "paper.csv"),
        ("author", "field", "author.csv"),
    ] {
        let array = g.node_data(ntype, feat).unwrap();
        assert_eq!(
            array.dtype(),
            DType::U8,
            "the fixture stores `{feat}` as uint8"
        );
        let n = g.num_nodes(ntype).unwrap();
        let ids: Vec<u64> = (0..n).rev().collect();
        let (values, width) = g.gather_as_f32(ntype, feat, &ids).unwrap();
        let raw_input = input_column(file, feat);
        let cats = categories(&raw_input);
        assert_eq!(width, cats.len());
        let stored = array.as_u8().unwrap();
        for (row, &id) in values.chunks(width).zip(&ids) {
            let start = id as usize * width;
            let cast: Vec<f32> = stored[start..start + width]
                .iter()
                .map(|&b| f32::from(b))
                .collect();
            assert_eq!(row, &cast[..], "{ntype} {id}: the gather is the cast");
            let raw = g.raw_id(ntype, id).unwrap().to_string();
            let want: Vec<f32> = cats
                .iter()
                .map(|c| f32::from(u8::from(*c == raw_input[&raw])))
                .collect();
            assert_eq!(row, &want[..], "{ntype} `{raw}`: one-hot of its `{feat}`");
        }
        // The typed gather still refuses them: only the input path casts.
        assert!(g.gather_f32(ntype, feat, &[0]).is_err());
    }
}
