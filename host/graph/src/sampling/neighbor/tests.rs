use std::collections::{BTreeMap, HashSet};

use super::*;
use crate::{DemoParams, generate_demo, parse_fanouts};

fn et(s: &str) -> EdgeType {
    s.parse().unwrap()
}

/// a: 5 nodes, b: 3 nodes; a:r:a, a:s:b, b:t:a with varied in-degrees (a0 has 4 `r` in-edges,
/// a3 none).
fn tiny() -> HeteroGraph {
    let mut g = HeteroGraph::new();
    g.add_node_type("a", 5).unwrap();
    g.add_node_type("b", 3).unwrap();
    g.add_edges(
        &et("a:r:a"),
        &[1, 2, 3, 4, 0, 2, 3, 0],
        &[0, 0, 0, 0, 1, 1, 2, 4],
    )
    .unwrap();
    g.add_edges(&et("a:s:b"), &[0, 1, 2, 3, 4], &[0, 0, 1, 1, 1])
        .unwrap();
    g.add_edges(&et("b:t:a"), &[0, 1, 2], &[0, 0, 3]).unwrap();
    g
}

/// Checks every documented invariant of `mb`; `full` additionally demands all in-edges.
fn check(g: &HeteroGraph, mb: &MiniBatch, fanouts: &[Fanout], full: bool) {
    assert_eq!(mb.layers.len(), fanouts.len());
    // The destination nodes of the last layer are the seeds.
    let mut dst: BTreeMap<String, Vec<NodeId>> =
        g.node_types().map(|t| (t.to_string(), vec![])).collect();
    dst.insert(mb.target_ntype.clone(), mb.seeds.clone());
    for (l, layer) in mb.layers.iter().enumerate().rev() {
        for (t, ids) in &dst {
            assert_eq!(layer.dst_counts[t], ids.len(), "layer {l} {t}");
            assert_eq!(
                &layer.src_nodes[t][..ids.len()],
                &ids[..],
                "prefix property, layer {l} {t}"
            );
            let uniq: HashSet<_> = layer.src_nodes[t].iter().collect();
            assert_eq!(
                uniq.len(),
                layer.src_nodes[t].len(),
                "unique src nodes, layer {l} {t}"
            );
        }
        assert_eq!(
            layer.blocks.iter().map(|b| &b.etype).collect::<Vec<_>>(),
            g.edge_types().collect::<Vec<_>>()
        );
        for b in &layer.blocks {
            let csc = g.csc(&b.etype).unwrap();
            let srcs = &layer.src_nodes[&b.etype.src];
            let dsts = &dst[&b.etype.dst];
            assert_eq!((b.num_src, b.num_dst), (srcs.len(), dsts.len()));
            assert_eq!(
                (b.src.len(), b.dst.len()),
                (b.edge_ids.len(), b.edge_ids.len())
            );
            assert!(
                b.dst.windows(2).all(|w| w[0] <= w[1]),
                "grouped by destination"
            );
            let k = fanouts[l].count(&b.etype).unwrap();
            for (d, &v) in dsts.iter().enumerate() {
                let mine: Vec<usize> = (0..b.dst.len()).filter(|&i| b.dst[i] == d as i64).collect();
                let eids: Vec<EdgeId> = mine.iter().map(|&i| b.edge_ids[i]).collect();
                let (range, nbrs) = csc.in_edges(v);
                let want = if k < 0 {
                    nbrs.len()
                } else {
                    (k as usize).min(nbrs.len())
                };
                assert_eq!(
                    eids.len(),
                    want,
                    "fanout respected: layer {l} {} dst {v}",
                    b.etype
                );
                assert!(eids.windows(2).all(|w| w[0] < w[1]), "distinct, CSC order");
                assert!(eids.iter().all(|e| range.contains(e)), "edges into {v}");
                for &i in &mine {
                    assert_eq!(
                        srcs[b.src[i] as usize],
                        csc.indices()[b.edge_ids[i] as usize]
                    );
                }
                if full {
                    let got: Vec<NodeId> = mine.iter().map(|&i| srcs[b.src[i] as usize]).collect();
                    assert_eq!(got, nbrs, "all-neighbour mode equals the CSC");
                }
            }
        }
        dst = layer.src_nodes.clone();
    }
    assert_eq!(mb.input_nodes, dst);
}

#[test]
fn full_neighbour_blocks_equal_the_csc() {
    let g = tiny();
    let f = crate::full_fanouts(2);
    let mb = sample_blocks(&g, "a", &[0, 3], &f, 1).unwrap();
    check(&g, &mb, &f, true);
    // Hand-checked output layer: a0 <- r: a1..a4, a3 <- t: b2; a:s:b has no b destinations.
    let out = &mb.layers[1];
    assert_eq!(out.src_nodes["a"], [0, 3, 1, 2, 4]);
    assert_eq!(out.src_nodes["b"], [0, 1, 2]);
    assert_eq!(out.blocks[0].etype, et("a:r:a"));
    assert_eq!(
        (out.blocks[0].src.clone(), out.blocks[0].dst.clone()),
        (vec![2, 3, 1, 4], vec![0, 0, 0, 0])
    );
    assert_eq!(
        (
            out.blocks[1].num_src,
            out.blocks[1].num_dst,
            out.blocks[1].src.len()
        ),
        (5, 0, 0)
    );
    assert_eq!(
        (out.blocks[2].src.clone(), out.blocks[2].dst.clone()),
        (vec![0, 1, 2], vec![0, 0, 1])
    );
    assert_eq!(
        mb.num_edges(),
        mb.layers
            .iter()
            .flat_map(|l| &l.blocks)
            .map(|b| b.edge_ids.len())
            .sum::<usize>()
    );
}

#[test]
fn fanouts_follow_dgl_order_and_are_respected() {
    let g = tiny();
    // fanouts[0] is the input-most layer, fanouts[1] the one next to the seeds.
    let f = parse_fanouts("3,1", 2).unwrap();
    for seed in 0..20 {
        let mb = sample_blocks(&g, "a", &[0, 1, 4], &f, seed).unwrap();
        check(&g, &mb, &f, false);
        let out = &mb.layers[1].blocks[0];
        assert_eq!(out.src.len(), 3, "one `r` neighbour for each of a0, a1, a4");
        let inp = mb.layers[0].blocks[0].clone();
        let into_a0 = inp.dst.iter().filter(|&&d| d == 0).count();
        assert_eq!(
            into_a0, 3,
            "three of a0's four `r` neighbours in the input layer"
        );
    }
    let per = parse_fanouts("a/r/a:2@a/s/b:-1@b/t/a:0,a/r/a:1@a/s/b:1@b/t/a:1", 2).unwrap();
    let mb = sample_blocks(&g, "b", &[1, 0], &per, 9).unwrap();
    check(&g, &mb, &per, false);
    assert!(
        mb.layers[0].blocks[2].src.is_empty(),
        "fanout 0 samples nothing"
    );
}

#[test]
fn zero_layers_give_the_seeds_as_inputs() {
    let g = tiny();
    let mb = sample_blocks(&g, "b", &[2], &[], 0).unwrap();
    assert!(mb.layers.is_empty());
    assert_eq!(mb.input_nodes["b"], [2]);
    assert!(mb.input_nodes["a"].is_empty());
}

#[test]
fn deterministic_across_thread_pools_and_seeded() {
    let g = generate_demo(&DemoParams {
        num_papers: 2000,
        num_authors: 1000,
        ..DemoParams::default()
    });
    let seeds: Vec<NodeId> = (0..2000).step_by(3).collect();
    let f = parse_fanouts("5,3", 2).unwrap();
    let run = |threads: usize, rng_seed: u64| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| sample_blocks(&g, "paper", &seeds, &f, rng_seed).unwrap())
    };
    let one = run(1, 5);
    check(&g, &one, &f, false);
    assert_eq!(one, run(2, 5));
    assert_eq!(one, run(4, 5));
    assert_ne!(one, run(2, 6), "another rng seed draws other neighbours");
}

#[test]
fn bad_requests_are_errors() {
    let g = tiny();
    let f = crate::full_fanouts(1);
    let e = sample_blocks(&g, "c", &[0], &f, 0).unwrap_err().to_string();
    assert!(e.contains("`c`") && e.contains("a, b"), "{e}");
    let e = sample_blocks(&g, "a", &[5], &f, 0).unwrap_err().to_string();
    assert!(e.contains("seed") && e.contains("node id 5"), "{e}");
    let e = sample_blocks(&g, "a", &[1, 1], &f, 0)
        .unwrap_err()
        .to_string();
    assert!(e.contains("more than once"), "{e}");
    let missing = parse_fanouts("a/r/a:2@a/s/b:1", 1).unwrap();
    let e = sample_blocks(&g, "a", &[0], &missing, 0)
        .unwrap_err()
        .to_string();
    assert!(e.contains("b:t:a") && e.contains("layer 0"), "{e}");
    let extra = parse_fanouts("a/r/a:2@a/s/b:1@b/t/a:1@a/x/a:3", 1).unwrap();
    let e = sample_blocks(&g, "a", &[0], &extra, 0)
        .unwrap_err()
        .to_string();
    assert!(e.contains("a:x:a"), "{e}");
    assert!(sample_blocks(&g, "a", &[0], &[Fanout::Uniform(-3)], 0).is_err());
    let s = Sampler::new(parse_fanouts("2", 1).unwrap());
    assert_eq!(s.num_layers(), 1);
    assert_eq!(
        s.sample(&g, "a", &[0], 3).unwrap(),
        sample_blocks(&g, "a", &[0], s.fanouts(), 3).unwrap()
    );
}

#[test]
fn dense_and_hash_relabelling_agree() {
    let prefix: Vec<NodeId> = vec![5, 9, 2];
    let a: Vec<NodeId> = (0..20_000u64).map(|i| (i * 7919) % 3001).collect();
    let b: Vec<NodeId> = vec![9, 3000, 4, 4, 5, 77];
    let parts: Vec<&[NodeId]> = vec![&a, &[], &b];
    let dense = relabel(&prefix, &parts, 3001, u64::MAX);
    let hash = relabel(&prefix, &parts, 3001, 0);
    assert_eq!(dense, hash);
    for threads in [1, 2, 4] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let got = pool.install(|| relabel(&prefix, &parts, 3001, u64::MAX));
        assert_eq!(
            got, hash,
            "{threads} thread(s): parallel and sequential dense paths agree"
        );
    }
    let (nodes, locals) = dense;
    assert_eq!(&nodes[..3], &prefix[..]);
    assert_eq!(
        nodes.len(),
        3001,
        "every id once; 5, 9, 2 keep their destination slots"
    );
    for (p, l) in parts.iter().zip(&locals) {
        assert!(p.iter().zip(l).all(|(&v, &i)| nodes[i as usize] == v));
    }
    // The pooled scratch is left clean: a second call gives the same result.
    assert_eq!(relabel(&prefix, &parts, 3001, u64::MAX).0, nodes);
}

#[test]
fn floyd_picks_are_distinct_sorted_and_cover_all_offsets() {
    let mut out = Vec::new();
    let mut hits = [0u32; 12];
    for v in 0..3000 {
        let mut r = NodeRng::new(1, v);
        pick(4, 12, &mut r, &mut out);
        assert!(out.windows(2).all(|w| w[0] < w[1]) && out.len() == 4);
        for &o in &out {
            hits[o as usize] += 1;
        }
    }
    // 1000 expected per offset.
    assert!(hits.iter().all(|&h| (850..1150).contains(&h)), "{hits:?}");
    let mut r = NodeRng::new(2, 0);
    pick(100, 150, &mut r, &mut out);
    let uniq: HashSet<_> = out.iter().collect();
    assert_eq!((uniq.len(), *out.last().unwrap() < 150), (100, true));
}

/// Output nodes of several types (a request's edge targets): the last layer's destination
/// nodes are the given lists in order, every in-edge of each is in its block, and a repeated
/// or out-of-range id is refused.
#[test]
fn all_neighbours_of_several_types_keep_the_given_order() {
    let g = tiny();
    let dst = BTreeMap::from([("a".to_string(), vec![3, 0]), ("b".to_string(), vec![1])]);
    let (layers, inputs) = sample_all_neighbors(&g, &dst, 2).unwrap();
    let out = &layers[1];
    assert_eq!(out.dst_counts["a"], 2);
    assert_eq!(out.dst_counts["b"], 1);
    assert_eq!(out.src_nodes["a"][..2], [3, 0]);
    assert_eq!(out.src_nodes["b"][..1], [1]);
    // b1's in-edges: a2 -s-> b1, a3 -s-> b1, a4 -s-> b1.
    let s = out.blocks.iter().find(|b| b.etype == et("a:s:b")).unwrap();
    assert_eq!(s.dst, [0, 0, 0]);
    let mut sources: Vec<NodeId> = s
        .src
        .iter()
        .map(|&i| out.src_nodes["a"][i as usize])
        .collect();
    sources.sort_unstable();
    assert_eq!(sources, [2, 3, 4]);
    assert_eq!(inputs["a"][..2], [3, 0]);
    let twice = BTreeMap::from([("a".to_string(), vec![1, 1])]);
    assert!(sample_all_neighbors(&g, &twice, 1).is_err());
    let outside = BTreeMap::from([("b".to_string(), vec![3])]);
    assert!(sample_all_neighbors(&g, &outside, 1).is_err());
}
