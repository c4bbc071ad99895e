//! `Fanout`: how many neighbours each GNN layer samples, and GraphStorm's fanout strings.
//!
//! Layer order follows DGL exactly: `fanouts[i]` is for the i-th GNN layer, i.e. for
//! `blocks[i]`, and layer 0 is the input-most layer (farthest from the seeds). DGL's
//! `NeighborSampler.sample_blocks` walks `reversed(self.fanouts)` outward from the seeds and
//! inserts each block at the front (`python/dgl/dataloading/neighbor_sampler.py`), and GraphStorm
//! passes its `fanout` list to `dgl.dataloading.MultiLayerNeighborSampler` unchanged
//! (`python/graphstorm/dataloading/dataloading.py`). So `--fanout 15,10` samples 10 neighbours
//! per seed for the layer next to the output and 15 per node for the input layer.

use std::collections::BTreeMap;
use std::fmt;

use crate::error::FanoutError;
use crate::types::EdgeType;

/// The neighbour count of one GNN layer: one number for every edge type, or one per edge type.
/// A count of `-1` ([`Fanout::ALL`]) takes all neighbours; `0` takes none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fanout {
    /// The same count for every edge type.
    Uniform(i64),
    /// A count per canonical edge type; every edge type of the graph must be listed.
    PerEtype(BTreeMap<EdgeType, i64>),
}

impl Fanout {
    /// The count meaning "all neighbours".
    pub const ALL: i64 = -1;

    /// All neighbours for every edge type (full-neighbour evaluation).
    pub fn all() -> Self {
        Fanout::Uniform(Self::ALL)
    }

    /// The count for `etype`, or `None` if a per-edge-type fanout does not list it.
    pub fn count(&self, etype: &EdgeType) -> Option<i64> {
        match self {
            Fanout::Uniform(n) => Some(*n),
            Fanout::PerEtype(m) => m.get(etype).copied(),
        }
    }
}

impl fmt::Display for Fanout {
    /// GraphStorm's form of one layer: `10`, or `src/rel/dst:10@src/rel2/dst:5`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fanout::Uniform(n) => write!(f, "{n}"),
            Fanout::PerEtype(m) => {
                for (i, (et, n)) in m.iter().enumerate() {
                    let sep = if i == 0 { "" } else { "@" };
                    write!(f, "{sep}{}/{}/{}:{n}", et.src, et.rel, et.dst)?;
                }
                Ok(())
            }
        }
    }
}

/// `num_layers` layers of [`Fanout::all`], as DGL's `MultiLayerFullNeighborSampler`.
pub fn full_fanouts(num_layers: usize) -> Vec<Fanout> {
    vec![Fanout::all(); num_layers]
}

/// Parses GraphStorm's `fanout` / `eval_fanout` text for a model with `num_layers` GNN layers.
///
/// Layers are separated by `,`, input-most layer first (see the module docs). Each layer is
/// either a count (`10,5`) or per-edge-type counts joined by `@` with canonical edge types
/// written `src/rel/dst` (`paper/cites/paper:10@author/writes/paper:5,…`). `-1` means all
/// neighbours. An empty string is zero layers.
pub fn parse_fanouts(text: &str, num_layers: usize) -> Result<Vec<Fanout>, FanoutError> {
    let layers: Vec<&str> = if text.trim().is_empty() {
        Vec::new()
    } else {
        text.split(',').map(str::trim).collect()
    };
    if layers.len() != num_layers {
        return Err(FanoutError::WrongLayerCount {
            text: text.to_string(),
            found: layers.len(),
            expected: num_layers,
        });
    }
    layers
        .iter()
        .enumerate()
        .map(|(layer, l)| parse_layer(text, layer, l))
        .collect()
}

fn parse_layer(text: &str, layer: usize, l: &str) -> Result<Fanout, FanoutError> {
    let count = |value: &str| -> Result<i64, FanoutError> {
        value
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|&n| n >= Fanout::ALL)
            .ok_or_else(|| FanoutError::BadCount {
                text: text.to_string(),
                layer,
                value: value.trim().to_string(),
            })
    };
    if !l.contains(':') {
        return Ok(Fanout::Uniform(count(l)?));
    }
    let mut map = BTreeMap::new();
    for entry in l.split('@').map(str::trim) {
        let bad = || FanoutError::BadEntry {
            text: text.to_string(),
            layer,
            entry: entry.to_string(),
        };
        let (et, n) = entry.rsplit_once(':').ok_or_else(bad)?;
        let et = EdgeType::parse_with(et.trim(), '/').map_err(|_| bad())?;
        let n = count(n)?;
        if map.insert(et.clone(), n).is_some() {
            return Err(FanoutError::DuplicateEdgeType {
                text: text.to_string(),
                layer,
                etype: et.to_string(),
            });
        }
    }
    Ok(Fanout::PerEtype(map))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniform_and_per_etype_forms() {
        assert_eq!(
            parse_fanouts("15, 10", 2).unwrap(),
            vec![Fanout::Uniform(15), Fanout::Uniform(10)]
        );
        assert_eq!(parse_fanouts("-1,-1", 2).unwrap(), full_fanouts(2));
        assert_eq!(parse_fanouts("", 0).unwrap(), vec![]);
        let f = parse_fanouts(
            "paper/cites/paper:10@author/writes/paper:5,paper/cites/paper:-1@author/writes/paper:0",
            2,
        )
        .unwrap();
        let cites = EdgeType::new("paper", "cites", "paper");
        let writes = EdgeType::new("author", "writes", "paper");
        assert_eq!(
            (f[0].count(&cites), f[0].count(&writes)),
            (Some(10), Some(5))
        );
        assert_eq!(
            (f[1].count(&cites), f[1].count(&writes)),
            (Some(-1), Some(0))
        );
        assert_eq!(f[0].count(&EdgeType::new("a", "b", "c")), None);
        assert_eq!(
            f[0].to_string(),
            "author/writes/paper:5@paper/cites/paper:10"
        );
        assert_eq!(parse_fanouts(&f[0].to_string(), 1).unwrap()[0], f[0]);
    }

    #[test]
    fn errors_say_what_to_write() {
        let e = parse_fanouts("10,10", 3).unwrap_err().to_string();
        assert!(
            e.contains("2 layer(s)") && e.contains("has 3") && e.contains("hint:"),
            "{e}"
        );
        let e = parse_fanouts("10,x", 2).unwrap_err().to_string();
        assert!(e.contains("layer 1") && e.contains("`x`"), "{e}");
        assert!(parse_fanouts("-2", 1).is_err());
        let e = parse_fanouts("writes:10", 1).unwrap_err().to_string();
        assert!(
            e.contains("`writes:10`") && e.contains("src/rel/dst"),
            "{e}"
        );
        let e = parse_fanouts("a/r/b:1@a/r/b:2", 1).unwrap_err().to_string();
        assert!(e.contains("twice"), "{e}");
        assert!(parse_fanouts("a/r/b:x", 1).is_err());
    }
}
