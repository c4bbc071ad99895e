//! The public API end to end: demo graph -> partition on disk -> mapped load -> shuffled
//! batches -> prefetched sampling and feature gathering.

use std::sync::Arc;

use gs_graph::{
    DEMO_TARGET_NTYPE, DemoParams, MiniBatch, PREFETCH_CAPACITY, Prefetcher, SeedBatches,
    generate_demo, load, parse_fanouts, sample_blocks, write_partitioned,
};

#[test]
fn demo_partition_feeds_a_prefetched_epoch() {
    let tmp = tempfile::tempdir().unwrap();
    let demo = generate_demo(&DemoParams {
        num_papers: 600,
        num_authors: 400,
        ..DemoParams::default()
    });
    let json = write_partitioned(&demo, &tmp.path().join("demo"), "demo").unwrap();
    let graph = Arc::new(load(&json).unwrap());
    assert!(graph.node_data("paper", "feat").unwrap().is_mapped());

    let train = graph.mask_ids(DEMO_TARGET_NTYPE, "train_mask").unwrap();
    assert_eq!(train.len(), 360);
    let batches = SeedBatches::new(train.clone(), 64, true, 3).unwrap();
    let fanouts = parse_fanouts("10,5", 2).unwrap();

    let g = Arc::clone(&graph);
    let work = move |b: gs_graph::SeedBatch| -> (usize, MiniBatch, Vec<f32>, Vec<i64>) {
        let mb = sample_blocks(&g, DEMO_TARGET_NTYPE, &b.seeds, &fanouts, b.rng_seed).unwrap();
        let (x, dim) = g
            .gather_f32("paper", "feat", &mb.input_nodes["paper"])
            .unwrap();
        assert_eq!(dim, 32);
        let (y, _) = g.gather_i64("paper", "label", &mb.seeds).unwrap();
        (b.index, mb, x, y)
    };
    let prefetched: Vec<_> = Prefetcher::new(batches.epoch(0), PREFETCH_CAPACITY, work).collect();

    assert_eq!(prefetched.len(), batches.num_batches());
    let mut seen: Vec<u64> = Vec::new();
    for (i, (index, mb, x, y)) in prefetched.iter().enumerate() {
        assert_eq!(*index, i, "batches arrive in order");
        assert_eq!(x.len(), mb.input_nodes["paper"].len() * 32);
        assert_eq!(y.len(), mb.seeds.len());
        assert_eq!(
            &mb.layers[1].src_nodes["paper"][..mb.seeds.len()],
            &mb.seeds[..]
        );
        seen.extend(&mb.seeds);
    }
    seen.sort_unstable();
    assert_eq!(
        seen, train,
        "every training node is a seed exactly once per epoch"
    );
}
