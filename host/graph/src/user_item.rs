//! A seeded user–item rating graph with a planted edge signal, for edge classification and
//! regression: `user` and `item` nodes with Gaussian features, `user,rates,item` edges between
//! random pairs and their reverse `item,rated-by,user`. Each rating edge has a score
//! `s = x_user · x_item / sqrt(dim)` (a bilinear form of the endpoints' features, variance 1):
//! its float `rating` is `3 + s` plus small noise, and its class `label` is the tercile of `s`
//! (0 below -0.43, 2 above 0.43, else 1). A model that reads both endpoints learns it; a
//! constant predictor gets an RMSE of about 1 and a third of the classes right. The rating
//! edges carry `train_mask`, `val_mask`, `test_mask` (80/10/10); nodes have raw ids `u<i>`
//! and `i<i>`.
//!
//! Which pairs are rated carries a second, independent signal, for link prediction: user `u`
//! and item `i` belong to group `u mod G` and `i mod G` (`num_groups`), each node has a one-hot
//! `group` feature `[n, G]`, and a rating joins a user to an item of its own group with
//! probability `in_group` (else to any item). A model that reads `group` ranks a true item
//! above most random items; one that does not ranks it like chance. Every rating also lists
//! [`USER_ITEM_HARD_NEGATIVES`] hard negatives in the int64 `[E, 4]` edge data `hard_neg`
//! (GraphStorm's `edge_dst_hard_negative` layout, `-1` where the group has too few): items of
//! the user's own group that the user did not rate, which `group` alone cannot tell apart.
//!
//! A third signal lives only in edge features, for `edge_feat_name` and `decoder_edge_feat`:
//! every item has a hidden quality `q ~ N(0, 1)` that no node feature reveals. Each rating edge
//! (and its reverse) carries the float `[E, 1]` edge feature `review`, the item's quality plus
//! noise (standard deviation [`USER_ITEM_REVIEW_NOISE`]), and the rating edges carry the float
//! label `quality`, the item's `q` itself. A model that reads the other reviews of the item
//! (message passing with edge features) or the target edge's own review (an edge-feature
//! decoder) predicts it; one that reads only node features gets an RMSE of about 1.

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
    /// Groups of users and items (the link-prediction signal).
    pub num_groups: u64,
    /// Probability that a rating stays within the user's group.
    pub in_group: f64,
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
            num_groups: 8,
            in_group: 0.9,
            seed: 42,
        }
    }
}

/// Standard deviation of the noise of an edge's `review` around its item's quality.
pub const USER_ITEM_REVIEW_NOISE: f32 = 0.3;

/// Hard negatives listed per rating edge (`hard_neg`).
pub const USER_ITEM_HARD_NEGATIVES: usize = 4;

/// For every rating of user `src[e]`, [`USER_ITEM_HARD_NEGATIVES`] distinct items of the user's
/// group the user did not rate (row-major), drawn by rejection with a bounded number of tries
/// so large graphs stay linear; `-1` fills what the tries did not find.
fn in_group_unrated_items(
    p: &UserItemParams,
    src: &[u64],
    dst: &[u64],
    rng: &mut Pcg64Mcg,
) -> Vec<i64> {
    const TRIES: usize = 64;
    let rated: HashSet<(u64, u64)> = src.iter().copied().zip(dst.iter().copied()).collect();
    let groups = p.num_groups;
    let mut out = Vec::with_capacity(src.len() * USER_ITEM_HARD_NEGATIVES);
    for &u in src {
        let g = u % groups;
        let members = (p.num_items - g).div_ceil(groups);
        let mut found: Vec<i64> = Vec::with_capacity(USER_ITEM_HARD_NEGATIVES);
        for _ in 0..TRIES {
            if found.len() == USER_ITEM_HARD_NEGATIVES {
                break;
            }
            let i = g + groups * rng.random_range(0..members);
            if !rated.contains(&(u, i)) && !found.contains(&(i as i64)) {
                found.push(i as i64);
            }
        }
        found.resize(USER_ITEM_HARD_NEGATIVES, -1);
        out.extend(found);
    }
    out
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
        if self.num_groups == 0 || self.num_groups > self.num_items.min(self.num_users) {
            return bad(
                "num_groups",
                self.num_groups.to_string(),
                "between 1 and the smaller of num_users and num_items",
            );
        }
        if !(0.0..=1.0).contains(&self.in_group) {
            return bad(
                "in_group",
                self.in_group.to_string(),
                "a probability in [0, 1]",
            );
        }
        let in_group_pairs = self.num_users * self.num_items / self.num_groups;
        if self.num_ratings as f64 * self.in_group > in_group_pairs as f64 / 2.0 {
            return bad(
                "num_ratings",
                self.num_ratings.to_string(),
                "at most half of the pairs within groups (num_users x num_items / num_groups / 2 / in_group)",
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
    let groups = p.num_groups;
    while (src.len() as u64) < p.num_ratings {
        let u = rng.random_range(0..p.num_users);
        let i = if rng.random::<f64>() < p.in_group {
            // An item of the user's group: u mod G + G·k below num_items.
            let g = u % groups;
            let members = (p.num_items - g).div_ceil(groups);
            g + groups * rng.random_range(0..members)
        } else {
            rng.random_range(0..p.num_items)
        };
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
    let hard_negatives = in_group_unrated_items(p, &src, &dst, &mut stream(5));
    // The edge-feature signal: hidden item quality and per-rating reviews of it.
    let mut rng = stream(6);
    let quality: Vec<f32> = (0..p.num_items).map(|_| normal(&mut rng)).collect();
    let reviews: Vec<f32> = dst
        .iter()
        .map(|&i| quality[i as usize] + USER_ITEM_REVIEW_NOISE * normal(&mut rng))
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
    let rated_by = EdgeType::new("item", "rated-by", "user");
    let perm_back = g.add_edges(&rated_by, &dst, &src)?;
    let m = perm.len();
    for (etype, order) in [(&rates, &perm), (&rated_by, &perm_back)] {
        let review = order.iter().map(|&j| reviews[j]).collect();
        g.set_edge_data(etype, "review", Array::from_f32(review, &[m, 1])?)?;
    }
    g.set_edge_data(
        &rates,
        "quality",
        Array::from_f32(
            perm.iter().map(|&j| quality[dst[j] as usize]).collect(),
            &[m],
        )?,
    )?;
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
    let h = USER_ITEM_HARD_NEGATIVES;
    g.set_edge_data(
        &rates,
        "hard_neg",
        Array::from_i64(
            perm.iter()
                .flat_map(|&j| hard_negatives[j * h..(j + 1) * h].iter().copied())
                .collect(),
            &[m, h],
        )?,
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
    let one_hot = |n: u64| -> Result<Array, GraphError> {
        let g = groups as usize;
        let mut data = vec![0f32; n as usize * g];
        for v in 0..n as usize {
            data[v * g + v % g] = 1.0;
        }
        Array::from_f32(data, &[n as usize, g])
    };
    g.set_node_data("user", "group", one_hot(p.num_users)?)?;
    g.set_node_data("item", "group", one_hot(p.num_items)?)?;
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

    #[test]
    fn hard_negatives_are_distinct_unrated_items_of_the_users_group() {
        let p = UserItemParams::default();
        let g = generate_user_item(&p).unwrap();
        let et = user_item_etype();
        let csc = g.csc_of(&et).unwrap();
        let h = USER_ITEM_HARD_NEGATIVES;
        let hard = g.edge_data(&et, "hard_neg").unwrap();
        assert_eq!(hard.shape(), [p.num_ratings as usize, h]);
        let hard = hard.as_i64().unwrap();
        let mut rated = HashSet::new();
        let mut edges = Vec::new();
        for item in 0..p.num_items {
            let (ids, users) = csc.in_edges(item);
            for (e, &u) in ids.zip(users) {
                rated.insert((u, item));
                edges.push((e as usize, u));
            }
        }
        let mut missing = 0;
        for (e, u) in edges {
            let row: Vec<i64> = hard[e * h..(e + 1) * h].to_vec();
            let listed: Vec<u64> = row.iter().filter(|&&i| i >= 0).map(|&i| i as u64).collect();
            missing += h - listed.len();
            for &i in &listed {
                assert_eq!(i % p.num_groups, u % p.num_groups, "edge {e}: {row:?}");
                assert!(!rated.contains(&(u, i)), "edge {e}: user {u} rated {i}");
            }
            let distinct: HashSet<_> = listed.iter().collect();
            assert_eq!(distinct.len(), listed.len(), "edge {e}: {row:?}");
        }
        // Groups hold ~37 items, of which a user rated ~13: four are nearly always found.
        assert!(missing < 10, "{missing} hard negatives missing");
    }
    #[test]
    fn reviews_on_both_directions_scatter_around_the_item_quality_label() {
        let p = UserItemParams::default();
        let g = generate_user_item(&p).unwrap();
        let rates = user_item_etype();
        let back = EdgeType::new("item", "rated-by", "user");
        let quality = g.edge_data(&rates, "quality").unwrap().as_f32().unwrap();
        let review = g.edge_data(&rates, "review").unwrap();
        assert_eq!(review.shape(), [p.num_ratings as usize, 1]);
        let review = review.as_f32().unwrap();
        // Every rating of an item has the same quality label; its review is that plus noise.
        let csc = g.csc_of(&rates).unwrap();
        let mut per_item = vec![Vec::new(); p.num_items as usize];
        for item in 0..p.num_items {
            let (ids, _) = csc.in_edges(item);
            for e in ids {
                let e = e as usize;
                per_item[item as usize].push(quality[e]);
                assert!((review[e] - quality[e]).abs() < 6.0 * USER_ITEM_REVIEW_NOISE);
            }
        }
        for qs in per_item.iter().filter(|q| !q.is_empty()) {
            assert!(qs.iter().all(|&q| q == qs[0]));
        }
        let spread: f64 =
            quality.iter().map(|&q| f64::from(q * q)).sum::<f64>() / quality.len() as f64;
        assert!((0.6..1.6).contains(&spread), "quality variance {spread}");
        // The reverse edges carry the same multiset of reviews, keyed by their own order.
        let mut a: Vec<f32> = review.to_vec();
        let mut b: Vec<f32> = g
            .edge_data(&back, "review")
            .unwrap()
            .as_f32()
            .unwrap()
            .to_vec();
        a.sort_by(f32::total_cmp);
        b.sort_by(f32::total_cmp);
        assert_eq!(a, b);
        // The reverse edge `i -> u` of rating `u -> i` has that rating's review.
        let back_csc = g.csc_of(&back).unwrap();
        let back_review = g.edge_data(&back, "review").unwrap().as_f32().unwrap();
        let mut by_pair = std::collections::HashMap::new();
        for item in 0..p.num_items {
            let (ids, users) = csc.in_edges(item);
            for (e, &u) in ids.zip(users) {
                by_pair.insert((u, item), review[e as usize]);
            }
        }
        for user in 0..p.num_users {
            let (ids, items) = back_csc.in_edges(user);
            for (e, &i) in ids.zip(items) {
                assert_eq!(back_review[e as usize], by_pair[&(user, i)]);
            }
        }
    }
}
