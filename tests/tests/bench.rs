//! `gs bench` claims match the code (issue 7, item 10): `plugin-boundary` fails when the plugin
//! and native paths disagree, and `sampling` samples a graph from disk, gs's format or a
//! GraphStorm/DGL partition.

use std::path::{Path, PathBuf};

use gs_tests::{GsRun, run_gs, run_gs_line};

fn dgl_tiny() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/dgl-tiny/partitioned/tiny.json")
}

#[test]
fn plugin_boundary_passes_when_the_paths_agree_and_fails_when_the_plugin_is_perturbed() {
    let dir = tempfile::tempdir().unwrap();
    let line = "bench plugin-boundary --quick --only tiny,epoch";
    let agree = run_gs_line(dir.path(), line).ok();
    assert!(
        agree
            .stdout
            .contains("Plugin and native agree exactly in all 3 comparisons"),
        "{}",
        agree.stdout
    );

    let perturbed = run_gs_line(dir.path(), &format!("{line} --perturb-plugin"));
    perturbed.fails_with(
        1,
        &[
            "the plugin and native paths disagree",
            "tiny-batch forward outputs: max |diff| = ",
            "training loss curves: max |diff| = ",
        ],
    );
}

/// The "sampled edges per batch" cell of each row of the sampling table, by thread count.
fn edges_per_batch(run: &GsRun) -> Vec<(usize, f64)> {
    run.stdout
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| threads"))
        .map(|l| {
            let cells: Vec<&str> = l.trim_matches('|').split('|').map(str::trim).collect();
            (cells[0].parse().unwrap(), cells[3].parse().unwrap())
        })
        .collect()
}

fn sample(dir: &Path, part_config: &Path, fanout: &str, threads: &str) -> GsRun {
    run_gs(
        dir,
        &[
            "bench",
            "sampling",
            "--part-config",
            part_config.to_str().unwrap(),
            "--target-ntype",
            "paper",
            "--fanout",
            fanout,
            "--batch-size",
            "1024",
            "--threads",
            threads,
            "--batches",
            "3",
            "--reps",
            "1",
        ],
    )
}

#[test]
fn sampling_bench_samples_a_dgl_partition_and_follows_the_fanout() {
    let dir = tempfile::tempdir().unwrap();
    let wide = sample(dir.path(), &dgl_tiny(), "10,10", "1,2").ok();
    assert!(
        wide.stdout
            .contains("30 distinct random `paper` nodes (of 30)"),
        "{}",
        wide.stdout
    );
    let rows = edges_per_batch(&wide);
    assert_eq!(
        rows.iter().map(|r| r.0).collect::<Vec<_>>(),
        [1, 2],
        "{}",
        wide.stdout
    );
    // Same batches, same sampler seed: the thread count changes the speed, not the sample.
    assert_eq!(rows[0].1, rows[1].1);
    assert!(rows[0].1 > 0.0, "{}", wide.stdout);

    let narrow = sample(dir.path(), &dgl_tiny(), "1,1", "1").ok();
    let narrow_edges = edges_per_batch(&narrow)[0].1;
    assert!(
        narrow_edges < rows[0].1,
        "fanout 1,1 sampled {narrow_edges} edges per batch, fanout 10,10 {}",
        rows[0].1
    );
}

#[test]
fn sampling_bench_samples_a_graph_in_gs_format_and_names_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    run_gs_line(
        dir.path(),
        "generate demo --output-dir data --num-papers 2000 --num-authors 1000",
    )
    .ok();
    let part_config = dir.path().join("data/demo.json");
    let run = sample(dir.path(), &part_config, "10,10", "2").ok();
    assert!(
        run.stdout
            .contains("1024 distinct random `paper` nodes (of 2000)"),
        "{}",
        run.stdout
    );
    assert!(edges_per_batch(&run)[0].1 > 1024.0, "{}", run.stdout);

    // Two node types and no --target-ntype: the error lists them.
    let line = format!("bench sampling --part-config {}", part_config.display());
    run_gs_line(dir.path(), &line).fails_with(1, &["--target-ntype", "author", "paper"]);
    let bad_fanout = sample(dir.path(), &part_config, "10,x", "1");
    bad_fanout.fails_with(1, &["--fanout", "10,x"]);
}
