//! `edge_dst_hard_negative`: per edge, destination nodes to use as hard negatives in link
//! prediction, given by raw id, stored as an int64 edge feature `[edges, k]` of node ids padded
//! with -1, as GraphStorm's `HardEdgeDstNegativeTransform` does.
//!
//! A cell holds the raw ids as a list (Parquet) or as one string split at `separator`; `k` is
//! the most raw ids any edge of the block lists. Raw ids that name no node of the destination
//! type are dropped and the rest move up, as GraphStorm's `IdMap.map_id` does; gs counts them so
//! that the caller can warn.

use crate::idmap::IdMap;
use crate::input::{RawColumn, py_float_str};

/// The padded node-id rows of one hard-negative column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HardNegatives {
    /// Row-major, `width` per edge, -1 where an edge lists fewer.
    pub(crate) ids: Vec<i64>,
    /// Raw ids per edge at the most (GraphStorm's `max_dim`).
    pub(crate) width: usize,
    /// Raw ids that matched no destination node.
    pub(crate) unknown: usize,
}

/// Maps `col`'s raw ids through the destination type's `map`.
pub(crate) fn dst_hard_negatives(
    col: &RawColumn,
    separator: Option<&str>,
    map: &IdMap,
) -> HardNegatives {
    let int = |x: i64| map.get_int(x);
    let float = |x: f64| {
        if x.is_nan() {
            None
        } else if x.fract() == 0.0 && x.abs() < 9.0e15 {
            map.get_int(x as i64)
        } else {
            py_float_str(x).and_then(|s| map.get_str(&s))
        }
    };
    // Per edge: the raw ids it lists, each mapped (None: unknown).
    let rows: Vec<Vec<Option<u64>>> = match col {
        RawColumn::Int(v) => v.iter().map(|&x| vec![int(x)]).collect(),
        RawColumn::Float(v) => v
            .iter()
            .map(|&x| {
                if x.is_nan() {
                    Vec::new()
                } else {
                    vec![float(x)]
                }
            })
            .collect(),
        RawColumn::Str(v) => v
            .iter()
            .map(|cell| match (cell, separator) {
                (None, _) => Vec::new(),
                (Some(s), Some(sep)) => s.split(sep).map(|id| map.get_str(id)).collect(),
                (Some(s), None) => vec![map.get_str(s)],
            })
            .collect(),
        RawColumn::List(v) => v
            .rows()
            .map(|cell| cell.iter().flat_map(|r| r.iter()).map(float).collect())
            .collect(),
    };
    let width = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut ids = vec![-1i64; rows.len() * width];
    let mut unknown = 0;
    for (r, listed) in rows.iter().enumerate() {
        let found = listed.iter().filter_map(|id| {
            unknown += usize::from(id.is_none());
            *id
        });
        for (slot, id) in ids[r * width..(r + 1) * width].iter_mut().zip(found) {
            *slot = id as i64;
        }
    }
    HardNegatives {
        ids,
        width,
        unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(cells: &[Option<&str>]) -> RawColumn {
        RawColumn::Str(cells.iter().map(|c| c.map(str::to_string)).collect())
    }

    #[test]
    fn raw_ids_become_padded_node_ids() {
        let map = IdMap::from_unique_strs(["h0", "h1", "h2", "h3"].map(String::from).to_vec());
        let col = strings(&[Some("h1;h3"), Some("h2"), None, Some("h0;nope;h2")]);
        let hn = dst_hard_negatives(&col, Some(";"), &map);
        assert_eq!(hn.width, 3);
        assert_eq!(hn.ids, [1, 3, -1, 2, -1, -1, -1, -1, -1, 0, 2, -1]);
        assert_eq!(hn.unknown, 1);
        // Without a separator a cell is one raw id.
        let hn = dst_hard_negatives(&strings(&[Some("h2"), Some("h1;h3")]), None, &map);
        assert_eq!((hn.width, hn.ids, hn.unknown), (1, vec![2, -1], 1));
    }

    #[test]
    fn integer_ids_and_lists() {
        let map = IdMap::from_unique_ints(vec![10, 20, 30], false);
        let hn = dst_hard_negatives(&RawColumn::Int(vec![30, 10]), None, &map);
        assert_eq!((hn.width, hn.ids), (1, vec![2, 0]));
        let lists = RawColumn::List(crate::ListColumn::from_rows(vec![
            Some(vec![20.0, 10.0]),
            None,
            Some(vec![99.0]),
        ]));
        let hn = dst_hard_negatives(&lists, None, &map);
        assert_eq!(
            (hn.width, hn.ids, hn.unknown),
            (2, vec![1, 0, -1, -1, -1, -1], 1)
        );
    }
}
