//! GraphStorm's edge features in message passing, the parts every encoder shares: the
//! `edge_feat_name` selection the host hands a plugin (resolved against the graph, with
//! widths), `edge_feat_mp_op` ([`MpOp`]), and GraphStorm's edge input layer
//! ([`EdgeEncoder`], `GSEdgeEncoderInputLayer`), which projects each edge type's concatenated
//! features to the hidden size. Its weights are named as GraphStorm's
//! (`edge_embed.input_projs.<etype>`, `edge_embed.ngnn_mlp.<etype>`, `<etype>` Python's `str` of
//! the canonical edge type), so a GraphStorm `model.bin` maps onto them.

use std::collections::BTreeMap;

use crate::encoder_options::{EncoderOptions, Ngnn};
use crate::nn::Scope;
use crate::{Block, EdgeType, Error, GraphSchema, Info, Result, Tensor};

/// GraphStorm's `edge_feat_name`, as the host hands it to a plugin that lists it.
pub const EDGE_FEAT_NAME: &str = "edge_feat_name";
/// GraphStorm's `edge_feat_mp_op`.
pub const EDGE_FEAT_MP_OP: &str = "edge_feat_mp_op";

impl Info {
    /// Lists `edge_feat_name` and, when `with_mp_op` (GraphStorm's relational encoders take
    /// it; its GAT, GATv2 and SAGE encoders do not), `edge_feat_mp_op`.
    pub fn edge_features(self, with_mp_op: bool) -> Self {
        let info = self.hyper_param(
            EDGE_FEAT_NAME,
            "",
            "GraphStorm key `edge_feat_name` (`--edge-feat-name`): edge features joined to the \
             messages of their edge types; the host hands it resolved, `src,rel,dst:name=width,...` \
             entries separated by `;`.",
        );
        if !with_mp_op {
            return info;
        }
        info.hyper_param(
            EDGE_FEAT_MP_OP,
            "concat",
            "GraphStorm key `edge_feat_mp_op` (`--edge-feat-mp-op`): how an edge's embedding \
             joins its source node's: concat, add, sub, mul or div.",
        )
    }
}

/// GraphStorm's `edge_feat_mp_op`: how an edge's embedding joins its source node's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MpOp {
    /// `[h_src, e]`: twice the width.
    Concat,
    /// `h_src + e`.
    Add,
    /// `h_src - e`.
    Sub,
    /// `h_src * e`.
    Mul,
    /// `h_src / e`.
    Div,
}

impl MpOp {
    /// Parse `concat`, `add`, `sub`, `mul` or `div`.
    pub fn parse(text: &str) -> Result<Self> {
        Ok(match text {
            "concat" => MpOp::Concat,
            "add" => MpOp::Add,
            "sub" => MpOp::Sub,
            "mul" => MpOp::Mul,
            "div" => MpOp::Div,
            other => {
                return Err(Error::invalid_argument(format!(
                    "`edge_feat_mp_op` is `{other}`; GraphStorm takes concat, add, sub, mul or div"
                )));
            }
        })
    }

    /// The message input of one edge from its source's and its edge's embedding.
    pub fn combine(self, h_src: &Tensor, e: &Tensor) -> Tensor {
        match self {
            MpOp::Concat => Tensor::cat(&[h_src, e], 1),
            MpOp::Add => h_src + e,
            MpOp::Sub => h_src - e,
            MpOp::Mul => h_src * e,
            MpOp::Div => h_src / e,
        }
    }
}

/// The edge features of one edge type, as the host resolved `edge_feat_name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EdgeTypeFeatures {
    /// Feature names, concatenated in this order.
    pub names: Vec<String>,
    /// Total width of the concatenation.
    pub dim: i64,
}

/// Parse the host's resolved `edge_feat_name`: `src,rel,dst:name=width,name=width` entries,
/// `;`-separated (empty: no edge features). Keys are canonical names (`src:rel:dst`).
pub fn parse_selection(text: &str) -> Result<BTreeMap<String, EdgeTypeFeatures>> {
    let bad = |entry: &str, why: &str| {
        Error::invalid_argument(format!(
            "`edge_feat_name` entry `{entry}` from the host: {why} (expected \
             `src,rel,dst:name=width,...` entries separated by `;`)"
        ))
    };
    let mut out = BTreeMap::new();
    for entry in text.split(';').map(str::trim).filter(|e| !e.is_empty()) {
        let Some((etype, feats)) = entry.split_once(':') else {
            return Err(bad(entry, "no `:`"));
        };
        let parts: Vec<&str> = etype.split(',').map(str::trim).collect();
        let [s, r, d] = parts.as_slice() else {
            return Err(bad(entry, "the edge type is not `src,rel,dst`"));
        };
        let mut names = Vec::new();
        let mut dim = 0;
        for feat in feats.split(',') {
            let Some((name, width)) = feat.split_once('=') else {
                return Err(bad(entry, "a feature has no `=width`"));
            };
            let width: i64 = width
                .trim()
                .parse()
                .ok()
                .filter(|&w| w > 0)
                .ok_or_else(|| bad(entry, "a width is not a positive integer"))?;
            names.push(name.trim().to_string());
            dim += width;
        }
        out.insert(
            EdgeType::new(*s, *r, *d).canonical_name(),
            EdgeTypeFeatures { names, dim },
        );
    }
    Ok(out)
}

/// GraphStorm's name of a canonical edge type in its state-dict keys: Python's `str` of the
/// tuple, `('src', 'rel', 'dst')`.
pub fn graphstorm_etype_key(edge_type: &EdgeType) -> String {
    format!(
        "('{}', '{}', '{}')",
        edge_type.src, edge_type.rel, edge_type.dst
    )
}

/// `GSEdgeEncoderInputLayer`: `e = dropout(act(cat(features) @ input_projs[etype]))`, `act` the
/// ReLU of `input_activate: relu` (else none), then the edge type's NGNN layers
/// (`edge_embed.ngnn_mlp.<etype>`, `num_ffn_layers_in_input`).
#[derive(Debug)]
pub struct EdgeEncoder {
    projs: BTreeMap<String, (Vec<String>, Tensor)>,
    ngnn: BTreeMap<String, Ngnn>,
    relu: bool,
    dropout: f64,
}

impl EdgeEncoder {
    /// One projection per edge type of `selection`, each of which must be in `schema`.
    pub fn new(
        selection: &BTreeMap<String, EdgeTypeFeatures>,
        schema: &GraphSchema,
        hidden: i64,
        options: &EncoderOptions,
        dropout: f64,
    ) -> Result<Self> {
        let edge_embed = Scope::root().sub("edge_embed");
        let scope = edge_embed.sub("input_projs");
        let mut projs = BTreeMap::new();
        let mut ngnn = BTreeMap::new();
        for (name, feats) in selection {
            let Some(edge_type) = schema
                .edge_types
                .iter()
                .find(|e| &e.canonical_name() == name)
            else {
                return Err(Error::invalid_argument(format!(
                    "`edge_feat_name` names edge type `{name}`, which the graph schema lacks"
                )));
            };
            let shape = [feats.dim, hidden];
            // GraphStorm: xavier_uniform_(input_projs.T, gain=linear), the same bound.
            let w = scope.param(
                &graphstorm_etype_key(edge_type),
                &shape,
                crate::torch_xavier_uniform(&shape, 1.0),
            );
            projs.insert(name.clone(), (feats.names.clone(), w));
            if options.ffn_layers_in_input > 0 {
                let scope = edge_embed
                    .sub("ngnn_mlp")
                    .sub(graphstorm_etype_key(edge_type));
                let layers = Ngnn::new(&scope, hidden, options.ffn_layers_in_input, dropout);
                ngnn.insert(name.clone(), layers);
            }
        }
        Ok(EdgeEncoder {
            projs,
            ngnn,
            relu: options.input_relu,
            dropout,
        })
    }

    /// The edge embeddings of `block`, for an encoder that reads edge features on every edge
    /// type (GraphStorm runs `model`, one of its homogeneous encoders, on one edge type): an
    /// `unsupported` error naming the edge type when it has none.
    pub fn embed_required(&self, block: &Block, model: &str) -> Result<Tensor> {
        self.embed(block)?.ok_or_else(|| {
            Error::unsupported(format!(
                "edge type `{}` has no edge features: GraphStorm's {model} encoder reads edge \
                 features on every edge (hint: give every edge type a feature in edge_feat_name)",
                block.edge_type()
            ))
        })
    }

    /// Whether edge type `name` (canonical) has features.
    pub fn has(&self, name: &str) -> bool {
        self.projs.contains_key(name)
    }

    /// The edge embeddings of a block, `[E, hidden]`, or `None` when its type has no features.
    pub fn embed(&self, block: &Block) -> Result<Option<Tensor>> {
        let edge_type = block.edge_type();
        let Some((names, proj)) = self.projs.get(&edge_type.canonical_name()) else {
            return Ok(None);
        };
        let mut parts = Vec::with_capacity(names.len());
        for name in names {
            parts.push(block.edge_feature(name).ok_or_else(|| {
                Error::invalid_argument(format!(
                    "the block of edge type `{edge_type}` has no edge feature `{name}`, which \
                     `edge_feat_name` promised"
                ))
            })?);
        }
        let refs: Vec<&Tensor> = parts.iter().collect();
        let x = if refs.len() == 1 {
            parts.remove(0)
        } else {
            Tensor::cat(&refs, 1)
        };
        let mut e = x.matmul(proj);
        if self.relu {
            e = e.relu();
        }
        e = e.dropout(self.dropout);
        if let Some(ngnn) = self.ngnn.get(&edge_type.canonical_name()) {
            e = ngnn.forward(e);
        }
        Ok(Some(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_host_selection_parses_with_widths_and_bad_text_is_named() {
        let s = parse_selection("item,rated-by,user:a=2;user,rates,item:b=1,c=3").unwrap();
        assert_eq!(
            s["user:rates:item"],
            EdgeTypeFeatures {
                names: vec!["b".into(), "c".into()],
                dim: 4
            }
        );
        assert_eq!(s["item:rated-by:user"].dim, 2);
        assert!(parse_selection("").unwrap().is_empty());
        assert!(parse_selection("user,rates,item:b").is_err());
        assert!(parse_selection("user,rates:b=1").is_err());
        assert!(parse_selection("user,rates,item:b=0").is_err());
        assert_eq!(MpOp::parse("div").unwrap(), MpOp::Div);
        assert!(MpOp::parse("max").is_err());
        assert_eq!(
            graphstorm_etype_key(&EdgeType::new("user", "rates", "item")),
            "('user', 'rates', 'item')"
        );
    }
}
