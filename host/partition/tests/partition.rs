//! Partitioning real (generated) graphs: METIS against random on cut and balance, the 32-bit
//! guard, and what is written.

use gs_graph::{DemoParams, HeteroGraph, generate_demo};
use gs_partition::{
    METIS_INDEX_LIMIT, PartMethod, PartitionError, PartitionOptions, assign_parts,
    check_metis_limits, partition_graph,
};

fn demo() -> HeteroGraph {
    generate_demo(&DemoParams {
        num_papers: 3000,
        num_authors: 1500,
        ..DemoParams::default()
    })
}

fn max_over_mean(sizes: &[u64]) -> f64 {
    let total: u64 = sizes.iter().sum();
    *sizes.iter().max().unwrap() as f64 * sizes.len() as f64 / total as f64
}

#[test]
fn metis_cuts_far_fewer_edges_than_random_and_balances_training_nodes() {
    let g = demo();
    let tmp = tempfile::tempdir().unwrap();
    let run = |method, dir: &str| {
        let options = PartitionOptions::new(4, method);
        partition_graph(&g, &options, &tmp.path().join(dir), "demo").unwrap()
    };
    let metis = run(PartMethod::Metis, "metis");
    let random = run(PartMethod::Random, "random");
    println!("{metis}\n{random}");
    // Random parts cut about 3/4 of the edges with 4 parts; the demo graph has communities.
    assert!(random.cut_fraction() > 0.7, "{random}");
    assert!(
        metis.cut_fraction() < 0.6 * random.cut_fraction(),
        "metis {:.3} vs random {:.3}",
        metis.cut_fraction(),
        random.cut_fraction()
    );
    let train_balance = metis
        .balance_ratio()
        .expect("the demo graph has training nodes");
    assert!(train_balance < 1.1, "{metis}");
    for (nt, sizes) in &metis.nodes_per_part {
        assert!(max_over_mean(sizes) < 1.1, "{nt}: {sizes:?}");
    }
    for sizes in random.nodes_per_part.values() {
        assert!(max_over_mean(sizes) < 1.01, "{sizes:?}");
    }
    // The written partition loads back whole.
    let loaded = gs_graph::load(&metis.part_config).unwrap();
    assert_eq!(loaded.total_edges(), g.total_edges());
    assert_eq!(loaded.num_nodes("paper"), g.num_nodes("paper"));
}

#[test]
fn assignments_are_deterministic_given_the_seed() {
    let g = demo();
    for method in [PartMethod::Metis, PartMethod::Random] {
        let mut options = PartitionOptions::new(3, method);
        let a = assign_parts(&g, &options).unwrap();
        assert!(
            a == assign_parts(&g, &options).unwrap(),
            "{method}: same seed, other parts"
        );
        options.seed = 99;
        assert!(
            a != assign_parts(&g, &options).unwrap(),
            "{method}: the seed is ignored"
        );
    }
}

#[test]
fn one_part_and_zero_parts() {
    let g = gs_graph::karate_club();
    let a = assign_parts(&g, &PartitionOptions::new(1, PartMethod::Metis)).unwrap();
    assert_eq!(a.part_sizes(gs_graph::KARATE_NTYPE), [34]);
    let err = assign_parts(&g, &PartitionOptions::new(0, PartMethod::Random)).unwrap_err();
    assert!(matches!(err, PartitionError::NoParts), "{err}");
    assert!(err.to_string().contains("--num-parts"));
}

#[test]
fn metis_splits_the_karate_club_along_its_factions() {
    // Zachary's club split after the dispute: the two factions share few ties, so a 2-way
    // METIS cut is small (the known minimum bisection cuts 10 of the 78 friendships).
    let g = gs_graph::karate_club();
    let a = assign_parts(&g, &PartitionOptions::new(2, PartMethod::Metis)).unwrap();
    let undirected_cut = a.edge_cut(&g) / 2;
    assert!(undirected_cut <= 12, "cut {undirected_cut} friendships");
}

#[test]
fn graphs_beyond_32_bit_indices_are_refused_before_any_work() {
    assert!(check_metis_limits(METIS_INDEX_LIMIT, METIS_INDEX_LIMIT).is_ok());
    let err = check_metis_limits(5, 6_000_000_000)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("6000000000 adjacency entries") && err.contains("--part-method random"),
        "{err}"
    );
    let err = check_metis_limits(1 << 32, 0).unwrap_err().to_string();
    assert!(err.contains("4294967296 nodes"), "{err}");
}
