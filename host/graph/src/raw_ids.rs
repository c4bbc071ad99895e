//! `RawIds`: the raw (user-facing) id of every node of one type, as GraphStorm's
//! `raw_id_mappings/<ntype>/part-*.parquet` records them (column `orig`: string or int64).

use std::fmt;

use crate::types::NodeId;

/// One raw node id: text, or an integer when the id column was int64.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RawId<'a> {
    /// An integer raw id.
    Int(i64),
    /// A string raw id.
    Str(&'a str),
}

impl fmt::Display for RawId<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RawId::Int(v) => write!(f, "{v}"),
            RawId::Str(s) => f.write_str(s),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Repr {
    Int(Vec<i64>),
    /// Concatenated UTF-8 with `n + 1` offsets.
    Str {
        offsets: Vec<usize>,
        text: String,
    },
}

/// The raw ids of one node type, indexed by node id (`0..len`).
///
/// Strings are stored back to back in one buffer, so a hundred million ids cost their bytes
/// plus one offset each.
#[derive(Debug, Clone, PartialEq)]
pub struct RawIds {
    repr: Repr,
}

impl RawIds {
    /// Integer raw ids (an int64 id column).
    pub fn from_ints(ids: Vec<i64>) -> Self {
        RawIds {
            repr: Repr::Int(ids),
        }
    }

    /// String raw ids.
    pub fn from_strings<S: AsRef<str>>(ids: impl IntoIterator<Item = S>) -> Self {
        let mut offsets = vec![0];
        let mut text = String::new();
        for s in ids {
            text.push_str(s.as_ref());
            offsets.push(text.len());
        }
        RawIds {
            repr: Repr::Str { offsets, text },
        }
    }

    /// Number of ids.
    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Int(v) => v.len(),
            Repr::Str { offsets, .. } => offsets.len() - 1,
        }
    }

    /// True when there are no ids.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True when the ids are integers (the parquet column was int64).
    pub fn is_int(&self) -> bool {
        matches!(self.repr, Repr::Int(_))
    }

    /// The raw id of node `id`, if `id < len`.
    pub fn get(&self, id: NodeId) -> Option<RawId<'_>> {
        let i = usize::try_from(id).ok()?;
        match &self.repr {
            Repr::Int(v) => v.get(i).map(|&x| RawId::Int(x)),
            Repr::Str { offsets, text } => {
                let (a, b) = (*offsets.get(i)?, *offsets.get(i + 1)?);
                Some(RawId::Str(&text[a..b]))
            }
        }
    }

    /// The raw id of node `id` as text (integers in decimal), if `id < len`.
    pub fn get_string(&self, id: NodeId) -> Option<String> {
        self.get(id).map(|r| r.to_string())
    }

    /// All raw ids in node id order.
    pub fn iter(&self) -> impl Iterator<Item = RawId<'_>> + '_ {
        (0..self.len() as NodeId).map(|i| self.get(i).expect("in range"))
    }

    /// The raw ids of `ids`, in that order (`None` if an id is out of range).
    pub fn gather(&self, ids: &[NodeId]) -> Option<RawIds> {
        Some(match &self.repr {
            Repr::Int(v) => RawIds::from_ints(
                ids.iter()
                    .map(|&i| v.get(usize::try_from(i).ok()?).copied())
                    .collect::<Option<_>>()?,
            ),
            Repr::Str { .. } => {
                let strs: Option<Vec<&str>> = ids
                    .iter()
                    .map(|&i| match self.get(i)? {
                        RawId::Str(s) => Some(s),
                        RawId::Int(_) => None,
                    })
                    .collect();
                RawIds::from_strings(strs?)
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_ints_and_gather() {
        let s = RawIds::from_strings(["a1", "", "p22"]);
        assert_eq!((s.len(), s.is_int()), (3, false));
        assert_eq!(s.get(2), Some(RawId::Str("p22")));
        assert_eq!(s.get(1), Some(RawId::Str("")));
        assert_eq!(s.get(3), None);
        let g = s.gather(&[2, 0]).unwrap();
        assert_eq!(
            g.iter().map(|r| r.to_string()).collect::<Vec<_>>(),
            ["p22", "a1"]
        );
        assert!(s.gather(&[5]).is_none());
        let i = RawIds::from_ints(vec![10, -4]);
        assert_eq!(i.get_string(1).as_deref(), Some("-4"));
        assert_eq!(i.gather(&[1, 1]).unwrap(), RawIds::from_ints(vec![-4, -4]));
        assert!(RawIds::from_strings(Vec::<String>::new()).is_empty());
    }
}
