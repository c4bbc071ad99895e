//! Edge features in rgcn's message passing, as GraphStorm 0.5.1 computes them: its
//! `GSEdgeEncoderInputLayer` projects each edge type's concatenated features to the hidden
//! size, and on an edge type with features `RelGraphConvLayer` uses `GraphConvwithEdgeFeat`
//! instead of the relation weight: `m = op(h_src, e) @ weights`, summed into the destination
//! and scaled by its in-degree to the power -1/2.

use std::collections::BTreeMap;

use gs_plugin_sdk::prelude::*;

/// GraphStorm's `edge_feat_mp_op`: how an edge's embedding joins its source node's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MpOp {
    Concat,
    Add,
    Sub,
    Mul,
    Div,
}

impl MpOp {
    /// Parse `concat`, `add`, `sub`, `mul` or `div`.
    pub(crate) fn parse(text: &str) -> Result<Self> {
        Ok(match text {
            "concat" => MpOp::Concat,
            "add" => MpOp::Add,
            "sub" => MpOp::Sub,
            "mul" => MpOp::Mul,
            "div" => MpOp::Div,
            other => {
                return Err(Error::invalid_argument(format!(
                    "`edge_feat_mp_op` is `{other}`; rgcn takes concat, add, sub, mul or div"
                )));
            }
        })
    }

    /// The message input of one edge from its source's and its edge's embedding.
    fn combine(self, h_src: &Tensor, e: &Tensor) -> Tensor {
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
pub(crate) struct EdgeTypeFeatures {
    /// Feature names, concatenated in this order.
    pub(crate) names: Vec<String>,
    /// Total width of the concatenation.
    pub(crate) dim: i64,
}

/// Parse the host's resolved `edge_feat_name`: `src,rel,dst:name=width,name=width` entries,
/// `;`-separated (empty: no edge features). Keys are canonical names (`src:rel:dst`).
pub(crate) fn parse_selection(text: &str) -> Result<BTreeMap<String, EdgeTypeFeatures>> {
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
pub(crate) fn graphstorm_etype_key(edge_type: &EdgeType) -> String {
    format!(
        "('{}', '{}', '{}')",
        edge_type.src, edge_type.rel, edge_type.dst
    )
}

/// `GSEdgeEncoderInputLayer`: `e = dropout(act(cat(features) @ input_projs[etype]))`, `act` the
/// ReLU of `input_activate: relu` (else none), then the edge type's NGNN layers
/// (`edge_embed.ngnn_mlp.<etype>`, `num_ffn_layers_in_input`).
pub(crate) struct EdgeEncoder {
    projs: BTreeMap<String, (Vec<String>, Tensor)>,
    ngnn: BTreeMap<String, Ngnn>,
    relu: bool,
    dropout: f64,
}

impl EdgeEncoder {
    /// One projection per edge type of `selection`, each of which must be in `schema`.
    pub(crate) fn new(
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

    /// Whether edge type `name` (canonical) has features.
    pub(crate) fn has(&self, name: &str) -> bool {
        self.projs.contains_key(name)
    }

    /// The edge embeddings of a block, `[E, hidden]`, or `None` when its type has no features.
    pub(crate) fn embed(&self, block: &Block) -> Result<Option<Tensor>> {
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

/// GraphStorm's `GraphConvwithEdgeFeat` without bias (as `RelGraphConvLayer` builds it):
/// `weights` `[in · (2 for concat, else 1), out]`.
pub(crate) struct EdgeFeatConv {
    weights: Tensor,
    op: MpOp,
}

impl EdgeFeatConv {
    /// `<scope>.conv.mods.<etype>.weights`, xavier uniform with gain 1 as GraphStorm.
    pub(crate) fn new(
        scope: &Scope,
        edge_type: &EdgeType,
        op: MpOp,
        in_dim: i64,
        out_dim: i64,
    ) -> Self {
        let rows = if op == MpOp::Concat {
            2 * in_dim
        } else {
            in_dim
        };
        let shape = [rows, out_dim];
        let weights = scope
            .sub("conv")
            .sub("mods")
            .sub(graphstorm_etype_key(edge_type))
            .param("weights", &shape, crate::torch_xavier_uniform(&shape, 1.0));
        EdgeFeatConv { weights, op }
    }

    /// `h[v] = Σ_{e=(u,v)} op(h_src[u], e_h[e]) @ weights · deg(v)^-1/2`; 0 without in-edges.
    pub(crate) fn forward(&self, block: &Block, h_src: &Tensor, e_h: &Tensor) -> Tensor {
        let (src, dst, n) = (block.src(), block.dst(), block.num_dst());
        let messages = self
            .op
            .combine(&h_src.index_select(0, &src), e_h)
            .matmul(&self.weights);
        let summed = messages.scatter_reduce(&dst, n, Reduce::Sum);
        let ones = Tensor::ones(&[src.size(0), 1], Dtype::F32);
        // A node without in-edges sums nothing; clamping its degree keeps the 0 finite.
        let norm = ones
            .scatter_reduce(&dst, n, Reduce::Sum)
            .clamp(1.0, f64::INFINITY)
            .pow_scalar(-0.5);
        &summed * &norm
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
