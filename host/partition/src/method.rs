//! `--part-method`.

use std::fmt;
use std::str::FromStr;

/// How nodes are assigned to parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PartMethod {
    /// METIS k-way, minimising the edge cut (GraphStorm's default).
    #[default]
    Metis,
    /// Random, evenly sized per node type.
    Random,
}

impl FromStr for PartMethod {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "metis" => Ok(PartMethod::Metis),
            "random" => Ok(PartMethod::Random),
            other => Err(format!(
                "unknown partition method `{other}`: use metis or random"
            )),
        }
    }
}

impl fmt::Display for PartMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PartMethod::Metis => "metis",
            PartMethod::Random => "random",
        })
    }
}
