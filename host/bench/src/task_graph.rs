//! The graphs of `gs bench task`: generated user–item rating graphs (gs-graph's
//! `generate_user_item`, what `gs generate user-item` writes), written in gs's format to a
//! folder the jobs load them from, with the figures a reader needs to judge the trained
//! metrics (the RMSE of predicting the mean training rating).

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use gs_graph::{UserItemParams, generate_user_item, user_item_etype, write_partitioned};

/// The name of every written graph's part-config (`<folder>/user-item.json`), as
/// `gs generate user-item` names it.
const GRAPH_NAME: &str = "user-item";

/// A written graph and what the report says about it.
pub(crate) struct WrittenGraph {
    pub(crate) part_config: PathBuf,
    pub(crate) params: UserItemParams,
    pub(crate) nodes: u64,
    pub(crate) edges: u64,
    /// Seconds to generate and write it.
    pub(crate) seconds: f64,
    /// Test RMSE of predicting the mean training rating.
    pub(crate) constant_rmse: f64,
}

impl WrittenGraph {
    /// The `gs generate user-item` command that writes the same graph.
    pub(crate) fn command(&self) -> String {
        let p = &self.params;
        format!(
            "gs generate user-item --output-dir <dir> --num-users {} --num-items {} \
             --num-ratings {} --feat-dim {} --seed {}",
            p.num_users, p.num_items, p.num_ratings, p.feat_dim, p.seed
        )
    }

    /// One line describing it.
    pub(crate) fn describe(&self) -> String {
        let p = &self.params;
        format!(
            "{} `user` and {} `item` nodes ({} in all), {} ratings `user,rates,item` plus their \
             reverses `item,rated-by,user` ({} edges), 80/10/10 split of the ratings; input \
             features `feat` ({}) + one-hot `group` ({}) = {} floats per node; seed {}; \
             generated and written in {:.2} s",
            p.num_users,
            p.num_items,
            self.nodes,
            p.num_ratings,
            self.edges,
            p.feat_dim,
            p.num_groups,
            p.feat_dim as u64 + p.num_groups,
            p.seed,
            self.seconds
        )
    }
}

/// Generates the graph of `params` and writes it to `dir` (which must not exist or be empty).
pub(crate) fn write_graph(dir: &Path, params: UserItemParams) -> anyhow::Result<WrittenGraph> {
    let started = Instant::now();
    let graph = generate_user_item(&params).context("invalid user-item parameters")?;
    let constant_rmse = constant_predictor_rmse(&graph)?;
    let part_config = write_partitioned(&graph, dir, GRAPH_NAME)
        .with_context(|| format!("cannot write a graph to `{}`", dir.display()))?;
    Ok(WrittenGraph {
        part_config,
        nodes: graph.total_nodes(),
        edges: graph.total_edges(),
        params,
        seconds: started.elapsed().as_secs_f64(),
        constant_rmse,
    })
}

/// Test RMSE of predicting every rating as the mean training rating.
fn constant_predictor_rmse(graph: &gs_graph::HeteroGraph) -> anyhow::Result<f64> {
    let et = user_item_etype();
    let column = |name: &str| graph.edge_data(&et, name).with_context(|| name.to_string());
    let ratings = column("rating")?.as_f32().context("rating is float32")?;
    let train = column("train_mask")?.as_u8().context("masks are uint8")?;
    let test = column("test_mask")?.as_u8().context("masks are uint8")?;
    let picked = |mask: &[u8]| -> Vec<f64> {
        ratings
            .iter()
            .zip(mask)
            .filter(|&(_, &m)| m == 1)
            .map(|(&r, _)| f64::from(r))
            .collect()
    };
    let (train, test) = (picked(train), picked(test));
    let mean = train.iter().sum::<f64>() / train.len().max(1) as f64;
    let squares: f64 = test.iter().map(|r| (r - mean).powi(2)).sum();
    Ok((squares / test.len().max(1) as f64).sqrt())
}

/// Mean reciprocal rank of a uniformly random rank among `n` candidates: H(n) / n.
pub(crate) fn chance_mrr(candidates: u32) -> f64 {
    (1..=candidates).map(|r| 1.0 / f64::from(r)).sum::<f64>() / f64::from(candidates.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_written_graph_has_its_sizes_and_a_constant_rmse_near_one() {
        let dir = tempfile::tempdir().unwrap();
        let params = UserItemParams {
            num_users: 200,
            num_items: 240,
            num_ratings: 2000,
            ..UserItemParams::default()
        };
        let g = write_graph(&dir.path().join("g"), params).unwrap();
        assert!(g.part_config.exists());
        assert_eq!((g.nodes, g.edges), (440, 4000));
        // Ratings are 3 + a unit-variance score + noise.
        assert!(
            g.constant_rmse > 0.7 && g.constant_rmse < 1.3,
            "{}",
            g.constant_rmse
        );
    }

    #[test]
    fn chance_mrr_of_101_candidates() {
        assert!((chance_mrr(101) - 0.0516).abs() < 1e-3);
        assert_eq!(chance_mrr(1), 1.0);
    }
}
