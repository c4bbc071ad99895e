//! Node and edge type names and the id aliases used across the crate.

use std::fmt;
use std::str::FromStr;

use crate::error::GraphError;

/// A node id, local to its node type (`0..num_nodes(ntype)`).
///
/// Kept behind an alias so that a later change to `u32` ids for small graphs touches one line.
pub type NodeId = u64;

/// An edge id, local to its edge type: the edge's position in that type's CSC `indices`.
pub type EdgeId = u64;

/// A canonical edge type `(src, rel, dst)`, written `src:rel:dst` as in DGL's part-config keys.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EdgeType {
    /// Source node type.
    pub src: String,
    /// Relation name.
    pub rel: String,
    /// Destination node type.
    pub dst: String,
}

impl EdgeType {
    /// Builds an edge type from its three parts. Names are checked when the type is added to a
    /// graph, not here.
    pub fn new(src: impl Into<String>, rel: impl Into<String>, dst: impl Into<String>) -> Self {
        EdgeType {
            src: src.into(),
            rel: rel.into(),
            dst: dst.into(),
        }
    }

    /// Parses `src<sep>rel<sep>dst`, e.g. `paper/cites/paper` as GraphStorm's fanout strings
    /// write it (`sep = '/'`); [`FromStr`] parses DGL's `src:rel:dst`.
    pub fn parse_with(text: &str, sep: char) -> Result<Self, GraphError> {
        let parts: Vec<&str> = text.split(sep).collect();
        match parts.as_slice() {
            [src, rel, dst] => {
                let et = EdgeType::new(src.trim(), rel.trim(), dst.trim());
                et.validate()?;
                Ok(et)
            }
            _ => Err(GraphError::BadEdgeType {
                text: text.to_string(),
                sep,
            }),
        }
    }

    /// Checks that all three names are usable (see [`validate_type_name`]).
    pub fn validate(&self) -> Result<(), GraphError> {
        validate_type_name(&self.src)?;
        validate_type_name(&self.rel)?;
        validate_type_name(&self.dst)
    }
}

impl fmt::Display for EdgeType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.src, self.rel, self.dst)
    }
}

impl FromStr for EdgeType {
    type Err = GraphError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EdgeType::parse_with(s, ':')
    }
}

/// Checks a node type or relation name: non-empty, no surrounding whitespace, and none of
/// `:` `/` `@` `,` (they separate parts of DGL keys, array names and GraphStorm fanouts).
pub fn validate_type_name(name: &str) -> Result<(), GraphError> {
    let bad = name.is_empty()
        || name.trim() != name
        || name.contains([':', '/', '@', ','])
        || name.chars().any(char::is_control);
    if bad {
        return Err(GraphError::BadTypeName {
            name: name.to_string(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edge_type_round_trips_through_dgl_key() {
        let et = EdgeType::new("author", "writes", "paper");
        assert_eq!(et.to_string(), "author:writes:paper");
        assert_eq!("author:writes:paper".parse::<EdgeType>().unwrap(), et);
        assert_eq!(
            EdgeType::parse_with("author/writes/paper", '/').unwrap(),
            et
        );
    }

    #[test]
    fn bad_edge_types_are_rejected() {
        assert!("a:b".parse::<EdgeType>().is_err());
        assert!("a:b:c:d".parse::<EdgeType>().is_err());
        assert!("a::c".parse::<EdgeType>().is_err());
        let msg = "a:b".parse::<EdgeType>().unwrap_err().to_string();
        assert!(msg.contains("hint:"), "{msg}");
        assert!(validate_type_name("pa/per").is_err());
        assert!(validate_type_name("written-by").is_ok());
    }
}
