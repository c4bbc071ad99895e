//! The host's link-prediction score functions (GraphStorm's `LinkPredict*Decoder`,
//! `python/graphstorm/model/edge_decoder.py`, and `eval/utils.py::calc_*_pos_score`), chosen by
//! `lp_decoder_type`. Scores are raw (no sigmoid), one per pair `(h_src, h_dst)` of an edge type:
//!
//! - `dot_product`: `Σ h_src·h_dst` (no weights);
//! - `distmult`: `Σ h_src·r·h_dst`;
//! - `transe_l1` / `transe_l2`: `γ − ‖h_src + r − h_dst‖₁ / ₂`;
//! - `rotate`: `γ − Σ |h_src ∘ r − h_dst|` over complex halves, `r` a phase `w / (init / π)`.
//!
//! `r` is row `etype_id` of `decoder._w_relation.weight`, one row for **every** canonical edge
//! type in the partition's order (`[num_etypes, h]`, `[num_etypes, h/2]` for RotatE),
//! initialised U(−γ/d, γ/d) with `d` its width and γ = `gamma` (default 12). The score functions
//! broadcast over leading dimensions, so one call scores `[B, 1, h]` sources against `[1, C, h]`
//! candidates.

use gs_graph::EdgeType;
use gs_tensor::{Device, Init, ParamStore, Tensor, TensorError, tch};

/// GraphStorm's `lp_decoder_type` names gs implements.
pub(crate) const LP_DECODER_TYPES: &[&str] = &[
    "dot_product",
    "distmult",
    "rotate",
    "transe_l1",
    "transe_l2",
];

/// Name of the relation table, as GraphStorm's `model.bin` key.
pub(crate) const RELATION_WEIGHT: &str = "decoder._w_relation.weight";

#[derive(Debug, Clone, Copy, PartialEq)]
enum Score {
    Dot,
    DistMult,
    RotatE,
    TransE { p: f64 },
}

/// A link-prediction decoder with its relation table (none for `dot_product`).
pub(crate) struct LpDecoder {
    params: ParamStore,
    score: Score,
    gamma: f64,
    /// RotatE's `emb_init`: the phase scale.
    emb_init: f64,
    relations: Option<Tensor>,
    /// Canonical edge types in partition order: row `i` of the relation table.
    etypes: Vec<EdgeType>,
}

impl LpDecoder {
    /// The decoder `name` for the graph's edge types `etypes` (in the graph's order: row `i`
    /// of the relation table is `etypes[i]`) with hidden width `hidden`.
    pub(crate) fn new(
        name: &str,
        etypes: Vec<EdgeType>,
        hidden: i64,
        gamma: f64,
        seed: u64,
        device: Device,
    ) -> Result<Self, TensorError> {
        let score = match name {
            "dot_product" => Score::Dot,
            "distmult" => Score::DistMult,
            "rotate" => Score::RotatE,
            "transe_l1" => Score::TransE { p: 1.0 },
            "transe_l2" => Score::TransE { p: 2.0 },
            other => {
                return Err(TensorError::new(
                    "lp decoder",
                    format!("unknown lp_decoder_type `{other}`; gs has {LP_DECODER_TYPES:?}"),
                ));
            }
        };
        let mut params = ParamStore::new(seed, device);
        let width = if score == Score::RotatE {
            if hidden % 2 != 0 {
                return Err(TensorError::new(
                    "lp decoder",
                    format!(
                        "rotate needs an even embedding size (complex halves), got {hidden}; \
                         hint: set hidden_size (or out_emb_size, when set) to an even number"
                    ),
                ));
            }
            hidden / 2
        } else {
            hidden
        };
        let emb_init = gamma / width as f64;
        let relations = if score == Score::Dot {
            None
        } else {
            Some(params.get_or_create(
                RELATION_WEIGHT,
                &[etypes.len() as i64, width],
                Init::Uniform {
                    low: -emb_init,
                    high: emb_init,
                },
            )?)
        };
        Ok(Self {
            params,
            score,
            gamma,
            emb_init,
            relations,
            etypes,
        })
    }

    /// Whether the decoder has a relation table (what `rel_emb` exports).
    pub(crate) fn relation_table(&self) -> Option<(&[EdgeType], &Tensor)> {
        self.relations.as_ref().map(|t| (self.etypes.as_slice(), t))
    }

    fn relation(&self, etype: &EdgeType) -> Result<Option<Tensor>, TensorError> {
        let Some(table) = &self.relations else {
            return Ok(None);
        };
        let row = self.etypes.iter().position(|e| e == etype).ok_or_else(|| {
            TensorError::new(
                "lp decoder",
                format!("edge type `{etype}` is not in the graph"),
            )
        })?;
        Ok(Some(table.get(row as i64)))
    }

    /// Scores of pairs of `etype`: `h_src` and `h_dst` broadcast against each other over their
    /// leading dimensions (the last is the hidden width); the result drops the last dimension.
    pub(crate) fn score(
        &self,
        etype: &EdgeType,
        h_src: &Tensor,
        h_dst: &Tensor,
    ) -> Result<Tensor, TensorError> {
        let r = self.relation(etype)?;
        let torch = |what: &'static str| move |e: tch::TchError| TensorError::torch(what, e);
        Ok(match (self.score, r) {
            (Score::Dot, _) => (h_src * h_dst).sum_dim_intlist(-1, false, None),
            (Score::DistMult, Some(r)) => (h_src * r * h_dst).sum_dim_intlist(-1, false, None),
            (Score::TransE { p }, Some(r)) => {
                let d = h_src + r - h_dst;
                let norm = d
                    .f_norm_scalaropt_dim(p, [-1i64].as_slice(), false)
                    .map_err(torch("transe norm"))?;
                norm.neg() + self.gamma
            }
            (Score::RotatE, Some(r)) => {
                let half = h_src.size().last().copied().unwrap_or(0) / 2;
                let (re_h, im_h) = (h_src.narrow(-1, 0, half), h_src.narrow(-1, half, half));
                let (re_t, im_t) = (h_dst.narrow(-1, 0, half), h_dst.narrow(-1, half, half));
                let phase = r / (self.emb_init / std::f64::consts::PI);
                let (re_r, im_r) = (phase.cos(), phase.sin());
                let re = &re_h * &re_r - &im_h * &im_r - re_t;
                let im = re_h * im_r + im_h * re_r - im_t;
                let modulus = (&re * &re + &im * &im).sqrt();
                modulus.sum_dim_intlist(-1, false, None).neg() + self.gamma
            }
            (_, None) => unreachable!("relational decoders have a relation table"),
        })
    }

    pub(crate) fn params(&self) -> &ParamStore {
        &self.params
    }

    pub(crate) fn params_mut(&mut self) -> &mut ParamStore {
        &mut self.params
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gs_graph::HeteroGraph;
    use gs_tensor::Kind;

    fn graph_etypes(g: &HeteroGraph) -> Vec<EdgeType> {
        g.edge_types().cloned().collect()
    }

    fn graph() -> HeteroGraph {
        let mut g = HeteroGraph::new();
        g.add_node_type("n", 3).unwrap();
        g.add_edges(&EdgeType::new("n", "a", "n"), &[0, 1], &[1, 2])
            .unwrap();
        g.add_edges(&EdgeType::new("n", "b", "n"), &[2], &[0])
            .unwrap();
        g
    }

    fn values(t: &Tensor) -> Vec<f32> {
        Vec::<f32>::try_from(t.to_kind(Kind::Float).flatten(0, -1)).unwrap()
    }

    fn rows(data: &[f32], h: i64) -> Tensor {
        Tensor::from_slice(data).reshape([-1, h])
    }

    /// Each score function written out by hand on one pair, against the tensor code.
    #[test]
    fn score_functions_are_graphstorms_formulas() {
        let g = graph();
        let b = EdgeType::new("n", "b", "n");
        let hs = [0.5f32, -1.0, 2.0, 0.25];
        let ht = [1.5f32, 0.5, -0.5, 1.0];
        let (s, t) = (rows(&hs, 4), rows(&ht, 4));
        let dot = LpDecoder::new("dot_product", graph_etypes(&g), 4, 12.0, 1, Device::Cpu).unwrap();
        let expected: f32 = hs.iter().zip(&ht).map(|(a, b)| a * b).sum();
        assert!((values(&dot.score(&b, &s, &t).unwrap())[0] - expected).abs() < 1e-6);
        assert!(dot.relation_table().is_none());

        let dm = LpDecoder::new("distmult", graph_etypes(&g), 4, 12.0, 1, Device::Cpu).unwrap();
        let (etypes, table) = dm.relation_table().unwrap();
        assert_eq!(table.size(), vec![2, 4]);
        let row = etypes.iter().position(|e| *e == b).unwrap();
        let r = values(&table.get(row as i64));
        assert!(r.iter().all(|x| x.abs() <= 3.0), "U(-12/4, 12/4): {r:?}");
        let expected: f32 = (0..4).map(|i| hs[i] * r[i] * ht[i]).sum();
        assert!((values(&dm.score(&b, &s, &t).unwrap())[0] - expected).abs() < 1e-5);

        for (name, p) in [("transe_l1", 1.0f32), ("transe_l2", 2.0)] {
            let te = LpDecoder::new(name, graph_etypes(&g), 4, 12.0, 1, Device::Cpu).unwrap();
            let r = values(&te.relation_table().unwrap().1.get(row as i64));
            let norm = (0..4)
                .map(|i| (hs[i] + r[i] - ht[i]).abs().powf(p))
                .sum::<f32>()
                .powf(1.0 / p);
            let got = values(&te.score(&b, &s, &t).unwrap())[0];
            assert!((got - (12.0 - norm)).abs() < 1e-5, "{name}: {got}");
        }

        let ro = LpDecoder::new("rotate", graph_etypes(&g), 4, 12.0, 1, Device::Cpu).unwrap();
        let r = values(&ro.relation_table().unwrap().1.get(row as i64));
        assert_eq!(r.len(), 2);
        let init = 12.0 / 2.0;
        let mut distance = 0.0;
        for i in 0..2 {
            let phase = r[i] / (init / std::f32::consts::PI);
            let (c, sn) = (phase.cos(), phase.sin());
            let re = hs[i] * c - hs[i + 2] * sn - ht[i];
            let im = hs[i] * sn + hs[i + 2] * c - ht[i + 2];
            distance += (re * re + im * im).sqrt();
        }
        let got = values(&ro.score(&b, &s, &t).unwrap())[0];
        assert!((got - (12.0 - distance)).abs() < 1e-5, "rotate: {got}");
        assert!(LpDecoder::new("rotate", graph_etypes(&g), 3, 12.0, 1, Device::Cpu).is_err());
    }

    #[test]
    fn scores_broadcast_sources_against_candidates() {
        let g = graph();
        let a = EdgeType::new("n", "a", "n");
        let dm = LpDecoder::new("distmult", graph_etypes(&g), 2, 12.0, 7, Device::Cpu).unwrap();
        let src = rows(&[1.0, 2.0, -1.0, 0.5], 2);
        let cand = rows(&[0.5, 0.5, 2.0, -1.0, 1.0, 1.0], 2);
        let all = dm.score(&a, &src.unsqueeze(1), &cand.unsqueeze(0)).unwrap();
        assert_eq!(all.size(), vec![2, 3]);
        for i in 0..2 {
            for j in 0..3 {
                let one = dm.score(&a, &src.get(i), &cand.get(j)).unwrap();
                let diff = (all.get(i).get(j) - one).abs().double_value(&[]);
                assert!(diff < 1e-6);
            }
        }
    }
}
