use std::collections::{BTreeMap, HashSet};

use super::*;
use crate::array::Array;
use crate::sampling::edge::{DerivedMasks, EdgeBatchOptions, parse_reverse_edge_types_map};
use crate::{Fanout, parse_fanouts};

fn et(s: &str) -> EdgeType {
    s.parse().unwrap()
}

/// user (30) -rates-> item (20) and its reverse item -rated-by-> user; item -sim-> item.
/// `rates` carries a train mask (every third edge masked out) and hard negatives.
fn graph() -> HeteroGraph {
    let mut g = HeteroGraph::new();
    g.add_node_type("user", 30).unwrap();
    g.add_node_type("item", 20).unwrap();
    let (mut s, mut d) = (vec![], vec![]);
    for u in 0..30u64 {
        for j in 0..4u64 {
            s.push(u);
            d.push((u * 7 + j * 3) % 20);
        }
    }
    let order = g.add_edges(&et("user:rates:item"), &s, &d).unwrap();
    g.add_edges(&et("item:rated-by:user"), &d, &s).unwrap();
    let (is, id): (Vec<u64>, Vec<u64>) = (0..20u64).map(|i| (i, (i + 1) % 20)).unzip();
    g.add_edges(&et("item:sim:item"), &is, &id).unwrap();
    let m = order.len();
    let mask: Vec<u8> = (0..m).map(|i| u8::from(i % 3 != 0)).collect();
    g.set_edge_data(
        &et("user:rates:item"),
        "train_mask",
        Array::from_u8(mask, &[m]).unwrap(),
    )
    .unwrap();
    // Hard negatives: 3 per edge, the last one missing (-1) on odd edges.
    let hard: Vec<i64> = (0..m)
        .flat_map(|e| {
            let x = e as i64 % 20;
            [x, (x + 5) % 20, if e % 2 == 1 { -1 } else { (x + 9) % 20 }]
        })
        .collect();
    g.set_edge_data(
        &et("user:rates:item"),
        "hard",
        Array::from_i64(hard, &[m, 3]).unwrap(),
    )
    .unwrap();
    g
}

fn opts(fanouts: &str, exclude: bool) -> EdgeBatchOptions {
    EdgeBatchOptions {
        fanouts: parse_fanouts(fanouts, fanouts.split(',').count()).unwrap(),
        exclude_training_targets: exclude,
        reverse_edge_types_map: parse_reverse_edge_types_map(&["user,rates,rated-by,item"])
            .unwrap(),
        ..EdgeBatchOptions::default()
    }
}

fn all_edges(mb: &EdgeMiniBatch, etype: &EdgeType) -> HashSet<EdgeId> {
    mb.layers
        .iter()
        .flat_map(|l| &l.blocks)
        .filter(|b| &b.etype == etype)
        .flat_map(|b| b.edge_ids.iter().copied())
        .collect()
}

#[test]
fn edge_batch_positives_and_exclusion() {
    let g = graph();
    let rates = et("user:rates:item");
    let rev = et("item:rated-by:user");
    let targets: BTreeMap<EdgeType, Vec<EdgeId>> = [(rates.clone(), vec![0, 5, 17, 60])].into();
    let none = BTreeMap::new();
    let (mb, _) = sample_edge_batch(&g, &targets, &none, &opts("-1,-1", false), 1).unwrap();
    let (src, dst) = edge_endpoints(&g, &rates, &targets[&rates]).unwrap();
    let pos = &mb.positives[&rates];
    for i in 0..4 {
        assert_eq!(mb.output_nodes["user"][pos.src[i] as usize], src[i]);
        assert_eq!(mb.output_nodes["item"][pos.dst[i] as usize], dst[i]);
    }
    // The last layer's destinations are the output nodes.
    assert_eq!(
        mb.layers[1].dst_counts["user"],
        mb.output_nodes["user"].len()
    );
    let with = all_edges(&mb, &rates);
    assert!(
        targets[&rates].iter().all(|e| with.contains(e)),
        "full fanout sees the targets"
    );

    let (ex, _) = sample_edge_batch(&g, &targets, &none, &opts("-1,-1", true), 1).unwrap();
    let got = all_edges(&ex, &rates);
    assert!(
        targets[&rates].iter().all(|e| !got.contains(e)),
        "targets excluded"
    );
    let rev_csc = g.csc(&rev).unwrap();
    for e in all_edges(&ex, &rev) {
        let (s, d) = (
            rev_csc.indices()[e as usize],
            super::super::edge::edge_dst(rev_csc.indptr(), e),
        );
        assert!(
            !src.iter().zip(&dst).any(|(&u, &v)| (d, s) == (u, v)),
            "reverse of a target ({s} -> {d}) sampled"
        );
    }
    assert!(
        !all_edges(&mb, &rev).is_subset(&all_edges(&ex, &rev)),
        "reverse edges were there before"
    );
    // Other edges are kept: exclusion removes exactly targets + reverses.
    assert_eq!(with.len() - got.len(), 4);
}

#[test]
fn edge_masks_before_and_after_sampling() {
    let g = graph();
    let rates = et("user:rates:item");
    let targets: BTreeMap<EdgeType, Vec<EdgeId>> = [(rates.clone(), (0..40).collect())].into();
    let mask = g
        .edge_data(&rates, "train_mask")
        .unwrap()
        .as_u8()
        .unwrap()
        .to_vec();
    let mut o = opts("2,2", false);
    o.edge_mask = Some("train_mask".to_string());
    o.mask_reverse_edges = true;
    let none = BTreeMap::new();
    let (before, _) = sample_edge_batch(&g, &targets, &none, &o, 3).unwrap();
    o.mask_after_sampling = true;
    let (after, _) = sample_edge_batch(&g, &targets, &none, &o, 3).unwrap();
    for mb in [&before, &after] {
        assert!(all_edges(mb, &rates).iter().all(|&e| mask[e as usize] == 1));
    }
    let count = |mb: &EdgeMiniBatch| {
        mb.layers
            .iter()
            .flat_map(|l| &l.blocks)
            .filter(|b| b.etype == rates)
            .map(|b| b.src.len())
            .sum::<usize>()
    };
    assert!(
        count(&before) > count(&after),
        "fast mode drops masked draws"
    );
    // The reverse type borrows the mask: no reverse of a masked-out edge is used.
    let rev = et("item:rated-by:user");
    let rc = g.csc(&rev).unwrap();
    let rcsc = g.csc(&rates).unwrap();
    let allowed: HashSet<(u64, u64)> = (0..rcsc.num_edges())
        .filter(|&e| mask[e as usize] == 1)
        .map(|e| {
            (
                rcsc.indices()[e as usize],
                super::super::edge::edge_dst(rcsc.indptr(), e),
            )
        })
        .collect();
    let reverse_of_a_training_edge = |e: EdgeId| {
        let (s, d) = (
            rc.indices()[e as usize],
            super::super::edge::edge_dst(rc.indptr(), e),
        );
        allowed.contains(&(d, s))
    };
    assert!(
        all_edges(&before, &rev)
            .into_iter()
            .all(reverse_of_a_training_edge)
    );
    // Without `mask_reverse_edges` (GraphStorm) the reverse type is unrestricted.
    o.mask_after_sampling = false;
    o.mask_reverse_edges = false;
    let (unmasked, _) = sample_edge_batch(&g, &targets, &none, &o, 3).unwrap();
    assert!(
        !all_edges(&unmasked, &rev)
            .into_iter()
            .all(reverse_of_a_training_edge),
        "reverses of masked-out edges carry messages"
    );
    let mut bad = opts("2", false);
    bad.edge_mask = Some("hard".to_string());
    let e = sample_edge_batch(&g, &targets, &none, &bad, 0)
        .unwrap_err()
        .to_string();
    assert!(e.contains("uint8") && e.contains("hint:"), "{e}");
}

/// Deriving the reverse type's mask once gives exactly the batches of deriving it per batch.
#[test]
fn derived_reverse_masks_sample_the_same_batches() {
    let g = graph();
    let rates = et("user:rates:item");
    let targets: BTreeMap<EdgeType, Vec<EdgeId>> = [(rates.clone(), (0..40).collect())].into();
    let none = BTreeMap::new();
    let mut per_batch = opts("2,2", true);
    per_batch.edge_mask = Some("train_mask".to_string());
    per_batch.mask_reverse_edges = true;
    let once = per_batch.clone().with_derived_masks(&g).unwrap();
    assert_ne!(
        once.derived_masks,
        DerivedMasks::default(),
        "`rated-by` has a derived mask"
    );
    for after in [false, true] {
        let (mut a, mut b) = (per_batch.clone(), once.clone());
        a.mask_after_sampling = after;
        b.mask_after_sampling = after;
        for seed in 0..4 {
            assert_eq!(
                sample_edge_batch(&g, &targets, &none, &a, seed).unwrap(),
                sample_edge_batch(&g, &targets, &none, &b, seed).unwrap(),
                "mask after sampling: {after}, seed {seed}"
            );
        }
    }
    // Masks derived for another edge mask are not used for this one.
    let mut other = once.clone();
    other.edge_mask = Some("hard".to_string());
    let e = sample_edge_batch(&g, &targets, &none, &other, 0).unwrap_err();
    assert!(e.to_string().contains("uint8"), "{e}");
    // No edge mask: nothing to derive.
    let plain = opts("2", false).with_derived_masks(&g).unwrap();
    assert_eq!(plain.derived_masks, DerivedMasks::default());
    // Reverse types unrestricted: nothing to derive.
    let mut unrestricted = per_batch.clone();
    unrestricted.mask_reverse_edges = false;
    let unrestricted = unrestricted.with_derived_masks(&g).unwrap();
    assert_eq!(unrestricted.derived_masks, DerivedMasks::default());
}

fn lp(sampler: &str, k: usize) -> LpTrainOptions {
    LpTrainOptions {
        sampler: sampler.parse().unwrap(),
        num_negatives: k,
        hard_negatives: BTreeMap::new(),
        edges: opts("3,3", true),
    }
}

#[test]
fn negative_samplers_shapes() {
    let g = graph();
    let rates = et("user:rates:item");
    let targets: BTreeMap<EdgeType, Vec<EdgeId>> = [(rates.clone(), vec![1, 4, 9, 33, 70])].into();
    let (b, k) = (5usize, 4usize);
    let names: Vec<&str> = NegativeSampler::ALL.iter().map(|s| s.name()).collect();
    assert_eq!(
        names.join(", "),
        SAMPLER_NAMES,
        "the error's list names every sampler"
    );
    for name in SAMPLER_NAMES.split(", ") {
        let s: NegativeSampler = name.parse().unwrap();
        assert_eq!(s.name(), name);
        let batch = sample_lp_batch(&g, &targets, &lp(name, k), 7).unwrap();
        let n = &batch.negatives[&rates];
        let expect = if name == "inbatch_joint" {
            b * k + b * (b - 1)
        } else {
            b * k
        };
        assert_eq!(
            (n.src.len(), n.dst.len(), n.dst_ids.len()),
            (expect, expect, expect),
            "{name}"
        );
        let out = &batch.edges.output_nodes;
        for j in 0..expect {
            assert_eq!(out["user"][n.src[j] as usize], n.src_ids[j]);
            assert_eq!(out["item"][n.dst[j] as usize], n.dst_ids[j]);
        }
        let pos = &batch.edges.positives[&rates];
        for j in 0..b * k {
            assert_eq!(
                n.src[j],
                pos.src[j / k],
                "{name}: negatives corrupt the destination"
            );
        }
        let distinct: HashSet<_> = n.dst_ids[..b * k].iter().collect();
        if name.contains("joint") {
            assert!(distinct.len() <= b, "{name}: joint draws a pool of B");
            for j in 0..b * k {
                assert_eq!(n.dst_ids[j], n.dst_ids[j % b]);
            }
        }
        if name == "inbatch_joint" {
            let (_, dst) = edge_endpoints(&g, &rates, &targets[&rates]).unwrap();
            assert_eq!(n.dst_ids[b * k], dst[1]);
            assert_eq!(n.src[b * k + (b - 1)], pos.src[1]);
        }
    }
    assert!(
        "nope"
            .parse::<NegativeSampler>()
            .unwrap_err()
            .to_string()
            .contains("fast_joint")
    );
    assert!(NegativeSampler::FastJoint.is_fast() && NegativeSampler::AllEtypeJoint.all_etypes());
}

#[test]
fn hard_negatives_come_first() {
    let g = graph();
    let rates = et("user:rates:item");
    let eids: Vec<EdgeId> = vec![0, 1, 2, 3];
    let targets: BTreeMap<EdgeType, Vec<EdgeId>> = [(rates.clone(), eids.clone())].into();
    let hard = g
        .edge_data(&rates, "hard")
        .unwrap()
        .as_i64()
        .unwrap()
        .to_vec();
    for want in [1usize, 2, 3, 10] {
        let mut o = lp("uniform", 4);
        o.hard_negatives.insert(
            rates.clone(),
            HardNegatives {
                field: "hard".to_string(),
                num: want,
            },
        );
        let n = &sample_lp_batch(&g, &targets, &o, 5).unwrap().negatives[&rates];
        for (i, &e) in eids.iter().enumerate() {
            let row: Vec<u64> = hard[e as usize * 3..e as usize * 3 + 3]
                .iter()
                .filter(|&&x| x >= 0)
                .map(|&x| x as u64)
                .collect();
            let h = want.min(row.len()).min(4);
            let got = &n.dst_ids[i * 4..i * 4 + h];
            assert!(
                got.iter().all(|x| row.contains(x)),
                "hard first: {got:?} from {row:?}"
            );
            let uniq: HashSet<_> = got.iter().collect();
            assert_eq!(uniq.len(), h, "distinct hard negatives");
        }
    }
    let mut o = lp("uniform", 4);
    o.hard_negatives.insert(
        rates.clone(),
        HardNegatives {
            field: "train_mask".to_string(),
            num: 2,
        },
    );
    assert!(sample_lp_batch(&g, &targets, &o, 5).is_err());
}

#[test]
fn lp_batches_are_deterministic_across_thread_counts() {
    let g = graph();
    let rates = et("user:rates:item");
    let targets: BTreeMap<EdgeType, Vec<EdgeId>> = [(rates, (10..60).collect())].into();
    let o = lp("uniform", 8);
    let run = |threads: usize, seed: u64| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| sample_lp_batch(&g, &targets, &o, seed).unwrap())
    };
    let one = run(1, 3);
    assert_eq!(one, run(2, 3));
    assert_eq!(one, run(4, 3));
    assert_ne!(one, run(2, 4));
}

#[test]
fn edge_batches_mixed_and_all_etypes() {
    let mut t: BTreeMap<EdgeType, Vec<EdgeId>> = BTreeMap::new();
    t.insert(et("a:r:b"), (0..90).collect());
    t.insert(et("b:s:a"), (0..10).collect());
    let mixed = EdgeBatches::new(t.clone(), 16, true, false, 1).unwrap();
    let e0 = mixed.epoch(0);
    assert_eq!(e0.len(), 7);
    let mut seen: Vec<(EdgeType, EdgeId)> = e0
        .iter()
        .flat_map(|b| {
            b.targets
                .iter()
                .flat_map(|(k, v)| v.iter().map(move |&e| (k.clone(), e)))
        })
        .collect();
    seen.sort();
    assert_eq!(seen.len(), 100);
    seen.dedup();
    assert_eq!(seen.len(), 100, "every edge once");
    assert_eq!(e0, mixed.epoch(0));
    assert_ne!(e0, mixed.epoch(1));
    let all = EdgeBatches::new(t, 16, true, true, 1).unwrap().epoch(0);
    // ceil(16*90/100) = 15 and ceil(16*10/100) = 2 per batch; 90/15 = 6 batches.
    assert_eq!(all.len(), 6);
    for b in &all {
        assert_eq!(b.targets.len(), 2, "every edge type in every batch");
        assert_eq!(b.targets[&et("a:r:b")].len(), 15);
    }
    assert_eq!(
        all[5].targets[&et("b:s:a")].len(),
        1,
        "exhausted type gives one random edge"
    );
    assert!(EdgeBatches::new(BTreeMap::new(), 0, false, false, 0).is_err());
}

#[test]
fn evaluation_negatives() {
    let g = graph();
    let rates = et("user:rates:item");
    let eids: Vec<EdgeId> = (0..12).collect();
    let b = eids.len();
    let u = sample_lp_eval_batch(&g, &rates, &eids, &LpEvalOptions::Uniform(5), 1, None).unwrap();
    match &u.negatives {
        EvalNegatives::PerPositive {
            k,
            neg_src,
            neg_dst,
        } => {
            assert_eq!((*k, neg_src.len(), neg_dst.len()), (5, b * 5, b * 5));
            assert!(neg_src.iter().all(|&x| x < 30) && neg_dst.iter().all(|&x| x < 20));
        }
        other => panic!("{other:?}"),
    }
    let j = sample_lp_eval_batch(&g, &rates, &eids, &LpEvalOptions::Joint(6), 1, None).unwrap();
    assert!(
        matches!(&j.negatives, EvalNegatives::Shared { neg_src, neg_dst } if neg_src.len() == 6 && neg_dst.len() == 6)
    );
    // Fixed: even edges have 3 valid entries, odd ones a -1.
    let even: Vec<EdgeId> = vec![0, 2, 4];
    let f = sample_lp_eval_batch(
        &g,
        &rates,
        &even,
        &LpEvalOptions::Fixed("hard".into()),
        1,
        None,
    )
    .unwrap();
    assert!(
        matches!(&f.negatives, EvalNegatives::Fixed { k: 3, neg_dst } if neg_dst[..3] == [0, 5, 9])
    );
    let e = sample_lp_eval_batch(
        &g,
        &rates,
        &[1],
        &LpEvalOptions::Fixed("hard".into()),
        1,
        None,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("-1") && e.contains("hint:"), "{e}");
    // Full ranking, filtered: the other true destinations of the source, never the positive.
    let truth = TrueEdges::new(&g, &rates).unwrap();
    let full = sample_lp_eval_batch(
        &g,
        &rates,
        &eids,
        &LpEvalOptions::FullRanking { filtered: true },
        1,
        Some(&truth),
    )
    .unwrap();
    let EvalNegatives::AllNodes {
        num_candidates,
        exclude: Some(ex),
    } = &full.negatives
    else {
        panic!("{:?}", full.negatives)
    };
    assert_eq!(*num_candidates, 20);
    for (i, ex) in ex.iter().enumerate() {
        let (s, d) = (full.pos_src[i], full.pos_dst[i]);
        assert!(!ex.contains(&d), "a positive is never filtered out");
        let mut want: Vec<u64> = (0..4u64)
            .map(|j| (s * 7 + j * 3) % 20)
            .filter(|&x| x != d)
            .collect();
        want.sort_unstable();
        want.dedup();
        assert_eq!(*ex, want);
    }
    let raw = sample_lp_eval_batch(
        &g,
        &rates,
        &eids,
        &LpEvalOptions::FullRanking { filtered: false },
        1,
        None,
    )
    .unwrap();
    assert!(matches!(
        raw.negatives,
        EvalNegatives::AllNodes { exclude: None, .. }
    ));
    assert!(
        sample_lp_eval_batch(
            &g,
            &rates,
            &eids,
            &LpEvalOptions::FullRanking { filtered: true },
            1,
            None
        )
        .is_err()
    );
    // Ranks: scores 0..5, positive 2; filtered drops 4.
    let scores = [0.0, 1.0, 2.0, 3.0, 4.0];
    assert_eq!(rank_among_all(&scores, 2, &[]), 3);
    assert_eq!(rank_among_all(&scores, 2, &[4]), 2);
    assert_eq!(rank_among_all(&scores, 4, &[]), 1);
}

#[test]
fn fixed_test_size_subsamples_with_a_seed() {
    let t: BTreeMap<EdgeType, Vec<EdgeId>> = [(et("a:r:b"), (0..100).collect())].into();
    let all = EvalEdgeBatches::new(&t, 30, None, 1).unwrap();
    assert_eq!(all.batches().len(), 4);
    assert_eq!(all.batches()[0].1, (0..30).collect::<Vec<_>>());
    let few = EvalEdgeBatches::new(&t, 30, Some(40), 1).unwrap();
    let ids: Vec<EdgeId> = few.batches().iter().flat_map(|b| b.1.clone()).collect();
    assert_eq!(ids.len(), 40);
    assert_ne!(ids, (0..40).collect::<Vec<_>>());
    let again: Vec<EdgeId> = EvalEdgeBatches::new(&t, 30, Some(40), 1)
        .unwrap()
        .batches()
        .iter()
        .flat_map(|b| b.1.clone())
        .collect();
    assert_eq!(ids, again);
    assert_eq!(
        EvalEdgeBatches::new(&t, 30, Some(500), 1)
            .unwrap()
            .batches()
            .len(),
        4
    );
    let _ = Fanout::all();
}
