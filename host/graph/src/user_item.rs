//! A seeded user–item rating graph with a planted edge signal, for edge classification and
//! regression: `user` and `item` nodes with Gaussian features, `user,rates,item` edges between
//! random pairs and their reverse `item,rated-by,user`. Each rating edge has a score
//! `s = x_user · x_item / sqrt(dim)` (a bilinear form of the endpoints' features, variance 1):
//! its float `rating` is `3 + s` plus small noise, and its class `label` is the tercile of `s`
//! (0 below -0.43, 2 above 0.43, else 1). A model that reads both endpoints learns it; a
//! constant predictor gets an RMSE of about 1 and a third of the classes right. The rating
//! edges carry `train_mask`, `val_mask`, `test_mask` (80/10/10); nodes have raw ids `u<i>`
//! and `i<i>`.

use std::collections::HashSet;

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64Mcg;

use crate::array::Array;
use crate::error::GraphError;
use crate::graph::HeteroGraph;
use crate::raw_ids::RawIds;
use crate::seed::mix;
use crate::types::EdgeType;

/// Parameters of [`generate_user_item`].
#[derive(Debug, Clone, PartialEq)]
pub struct UserItemParams {
    /// Number of `user` nodes.
    pub num_users: u64,
    /// Number of `item` nodes.
    pub num_items: u64,
    /// Rating edges (distinct user–item pairs).
    pub num_ratings: u64,
    /// Width of the `feat` array of both node types.
    pub feat_dim: usize,
    /// Standard deviation of the noise added to `rating`.
    pub noise: f32,
    /// Seed of every random choice.
    pub seed: u64,
}

impl Default for UserItemParams {
    fn default() -> Self {
        UserItemParams {
            num_users: 400,
            num_items: 300,
            num_ratings: 6000,
            feat_dim: 8,
            noise: 0.1,
            seed: 42,
        }
    }
}

/// The score threshold between classes 0/1 and 1/2 (terciles of a standard normal).
pub const USER_ITEM_CLASS_THRESHOLD: f32 = 0.43;

impl UserItemParams {
    /// Checks the parameters: non-empty types, at most half of all pairs rated.
    pub fn validate(&self) -> Result<(), GraphError> {
        let bad = |name, value: String, expected| {
            Err(GraphError::BadParam {
                name,
                value,
                expected,
            })
        };
        if self.num_users == 0 {
            return bad("num_users", self.num_users.to_string(), "at least 1");
        }
        if self.num_items == 0 {
            return bad("num_items", self.num_items.to_string(), "at least 1");
        }
        if self.feat_dim == 0 {
            return bad("feat_dim", self.feat_dim.to_string(), "at least 1");
        }
        if self.num_ratings == 0 || self.num_ratings > self.num_users * self.num_items / 2 {
            return bad(
                "num_ratings",
                self.num_ratings.to_string(),
                "between 1 and half of num_users x num_items",
            );
        }
        if !(self.noise >= 0.0 && self.noise.is_finite()) {
            return bad("noise", self.noise.to_string(), "a finite number >= 0");
        }
        Ok(())
    }
}

fn normal(rng: &mut Pcg64Mcg) -> f32 {
    // Box–Muller.
    let u1: f64 = rng.random::<f64>().max(f64::MIN_POSITIVE);
    let u2: f64 = rng.random();
    ((-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()) as f32
}

/// The rating edge type of the generated graph.
pub fn user_item_etype() -> EdgeType {
    EdgeType::new("user", "rates", "item")
}

/// Generates the graph; see the module docs.
pub fn generate_user_item(p: &UserItemParams) -> Result<HeteroGraph, GraphError> {
    p.validate()?;
    let stream = |i: u64| Pcg64Mcg::seed_from_u64(mix(p.seed, i));
    let d = p.feat_dim;
    let mut rng = stream(1);
    let users: Vec<f32> = (0..p.num_users as usize * d)
        .map(|_| normal(&mut rng))
        .collect();
    let items: Vec<f32> = (0..p.num_items as usize * d)
        .map(|_| normal(&mut rng))
        .collect();
    let mut rng = stream(2);
    let mut seen = HashSet::new();
    let (mut src, mut dst) = (Vec::new(), Vec::new());
    while (src.len() as u64) < p.num_ratings {
        let u = rng.random_range(0..p.num_users);
        let i = rng.random_range(0..p.num_items);
        if seen.insert((u, i)) {
            src.push(u);
            dst.push(i);
        }
    }
    let mut rng = stream(3);
    let scale = 1.0 / (d as f32).sqrt();
    let scores: Vec<f32> = src
        .iter()
        .zip(&dst)
        .map(|(&u, &i)| {
            let (a, b) = (u as usize * d, i as usize * d);
            (0..d).map(|k| users[a + k] * items[b + k]).sum::<f32>() * scale
        })
        .collect();
    let ratings: Vec<f32> = scores
        .iter()
        .map(|s| 3.0 + s + p.noise * normal(&mut rng))
        .collect();
    let t = USER_ITEM_CLASS_THRESHOLD;
    let labels: Vec<i64> = scores
        .iter()
        .map(|&s| {
            if s < -t {
                0
            } else if s > t {
                2
            } else {
                1
            }
        })
        .collect();
    let mut order: Vec<usize> = (0..src.len()).collect();
    order.shuffle(&mut stream(4));
    let n = src.len();
    let (n_train, n_val) = (n * 8 / 10, n / 10);
    let mut split = vec![0u8; n];
    for (rank, &e) in order.iter().enumerate() {
        split[e] = if rank < n_train {
            0
        } else if rank < n_train + n_val {
            1
        } else {
            2
        };
    }

    let mut g = HeteroGraph::new();
    g.add_node_type("user", p.num_users)?;
    g.add_node_type("item", p.num_items)?;
    let rates = user_item_etype();
    let perm = g.add_edges(&rates, &src, &dst)?;
    g.add_edges(&EdgeType::new("item", "rated-by", "user"), &dst, &src)?;
    let m = perm.len();
    g.set_edge_data(
        &rates,
        "rating",
        Array::from_f32(perm.iter().map(|&j| ratings[j]).collect(), &[m])?,
    )?;
    g.set_edge_data(
        &rates,
        "label",
        Array::from_i64(perm.iter().map(|&j| labels[j]).collect(), &[m])?,
    )?;
    for (k, name) in ["train_mask", "val_mask", "test_mask"].iter().enumerate() {
        let mask = perm
            .iter()
            .map(|&j| u8::from(split[j] == k as u8))
            .collect();
        g.set_edge_data(&rates, name, Array::from_u8(mask, &[m])?)?;
    }
    g.set_node_data(
        "user",
        "feat",
        Array::from_f32(users, &[p.num_users as usize, d])?,
    )?;
    g.set_node_data(
        "item",
        "feat",
        Array::from_f32(items, &[p.num_items as usize, d])?,
    )?;
    g.set_raw_ids(
        "user",
        RawIds::from_strings((0..p.num_users).map(|i| format!("u{i}"))),
    )?;
    g.set_raw_ids(
        "item",
        RawIds::from_strings((0..p.num_items).map(|i| format!("i{i}"))),
    )?;
    Ok(g)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_follow_the_planted_score_and_splits_cover_every_rating() {
        let p = UserItemParams::default();
        let g = generate_user_item(&p).unwrap();
        let et = user_item_etype();
        let m = g.num_edges(&et).unwrap() as usize;
        assert_eq!(m as u64, p.num_ratings);
        let labels = g.edge_data(&et, "label").unwrap().as_i64().unwrap();
        let ratings = g.edge_data(&et, "rating").unwrap().as_f32().unwrap();
        let mut counts = [0usize; 3];
        for (&l, &r) in labels.iter().zip(ratings) {
            counts[l as usize] += 1;
            // The rating is 3 + score + noise, and the class is the score's tercile.
            let s = r - 3.0;
            match l {
                0 => assert!(s < -USER_ITEM_CLASS_THRESHOLD + 0.6),
                2 => assert!(s > USER_ITEM_CLASS_THRESHOLD - 0.6),
                _ => assert!(s.abs() < USER_ITEM_CLASS_THRESHOLD + 0.6),
            }
        }
        assert!(counts.iter().all(|&c| c > m / 5), "{counts:?}");
        let in_splits: usize = ["train_mask", "val_mask", "test_mask"]
            .iter()
            .map(|n| {
                let mask = g.edge_data(&et, n).unwrap().as_u8().unwrap();
                mask.iter().filter(|&&v| v == 1).count()
            })
            .sum();
        assert_eq!(in_splits, m);
        assert_eq!(
            generate_user_item(&p).unwrap().num_edges(&et),
            Some(m as u64)
        );
    }
}
