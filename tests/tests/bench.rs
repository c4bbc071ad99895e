//! `gs bench` claims match the code (issue 7, item 10): `plugin-boundary` fails when the plugin
//! and native paths disagree, `sampling` samples a graph from disk, gs's format or a
//! GraphStorm/DGL partition, `task` (issue 8) reports every row of its jobs, `aggregation`
//! checks the fused aggregation against the unfused one before timing them, and `registry`
//! (against a real registry it starts) reports every operation and checks every pulled
//! component against what was pushed, and `plugin-load` reports every component with its
//! warm load from bytes and, for a file, from the file's records. None of these tests times
//! anything.

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

/// `plugin-compare` compares a component with the built-in `sage` only when their losses agree
/// (a Python GraphSAGE: `tests/tests/python_sage.rs` trains one to the same losses): the sage
/// component itself passes, `gat` is refused as not a GraphSAGE. Nothing is timed.
#[test]
fn plugin_compare_runs_against_sage_and_refuses_a_different_model() {
    let dir = tempfile::tempdir().unwrap();
    let compare = |plugin: &str| {
        let path = gs_tests::plugin_path(plugin);
        run_gs(
            dir.path(),
            &[
                "bench",
                "plugin-compare",
                "--quick",
                "--rounds",
                "1",
                "--plugin",
                path.to_str().unwrap(),
            ],
        )
    };
    let same = compare("sage").ok();
    for needle in [
        "| sage (Rust) |",
        "| native oracle |",
        "per-rep ratios",
        "max |diff| = 0e0",
    ] {
        assert!(same.stdout.contains(needle), "{needle}:\n{}", same.stdout);
    }
    compare("gat").fails_with(1, &["loss curves differ", "is not a GraphSAGE"]);
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

/// The cells of the markdown row whose first cell starts with `label`.
fn row_cells<'a>(stdout: &'a str, label: &str) -> Vec<&'a str> {
    let line = stdout
        .lines()
        .find(|l| l.starts_with(&format!("| {label}")))
        .unwrap_or_else(|| panic!("no row `{label}` in:\n{stdout}"));
    line.trim_matches('|').split('|').map(str::trim).collect()
}

#[test]
fn task_bench_reports_every_row_of_both_jobs_and_the_large_graph_epoch() {
    let dir = tempfile::tempdir().unwrap();
    let run = run_gs_line(dir.path(), "bench task --quick").ok();
    let out = &run.stdout;
    for label in [
        "wall, job start to final metrics",
        "process wall, exec to exit",
        "training loop, all epochs",
        "time per epoch",
        "peak RSS (VmHWM",
        "final metric",
        "waiting for the next batch",
        "forward: rgcn encoder",
        "backward",
        "optimizer: zero_grad, Adam step",
        "evaluation: validation and test",
        "batch preparation on the prefetch thread",
    ] {
        let cells = row_cells(out, label);
        // The label, then edge regression and link prediction.
        assert_eq!(cells.len(), 3, "{label}: {cells:?}");
        for cell in &cells[1..] {
            assert!(
                !cell.is_empty() && !cell.contains("n/a") && !cell.contains("NaN"),
                "{label}: {cells:?}"
            );
        }
    }
    let peak = row_cells(out, "peak RSS (VmHWM");
    assert!(
        peak[1].contains("MiB") && peak[2].contains("MiB"),
        "{peak:?}"
    );
    let metrics = row_cells(out, "final metric");
    assert!(metrics[1].starts_with("test rmse "), "{metrics:?}");
    assert!(metrics[2].starts_with("test mrr "), "{metrics:?}");
    assert!(
        out.contains("## 2-epoch jobs on the MovieLens-scale graph"),
        "{out}"
    );
    // The large graph: an epoch of edge regression and a fixed number of link-prediction batches.
    let er = row_cells(out, "edge regression | every training edge once");
    assert!(er.last().unwrap().starts_with("test rmse "), "{er:?}");
    let lp = row_cells(out, "link prediction | a fixed 2 training batches");
    assert!(
        lp[6].contains("MiB") && lp[7].starts_with("loss "),
        "{lp:?}"
    );
}

#[test]
fn aggregation_checks_the_fused_path_against_the_unfused_one_on_every_block() {
    let dir = tempfile::tempdir().unwrap();
    let run = run_gs_line(
        dir.path(),
        "bench aggregation --num-src 300 --num-dst 200,50 --fanout 4 --width 8 --reps 3",
    )
    .ok();
    let rows: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.starts_with("| 200 |") || l.starts_with("| 50 |"))
        .collect();
    assert_eq!(rows.len(), 2, "{}", run.stdout);
    assert!(rows[0].starts_with("| 200 | 800 |"), "{}", rows[0]);
    assert!(
        run.stdout
            .contains("Outputs and gradients of the two paths agree within 1e-5"),
        "{}",
        run.stdout
    );
}

/// `gs bench serve --quick` runs every part: per-phase timings of both payloads, the plugin
/// against the native oracle (whose answers must agree, or the run fails), and the HTTP runs,
/// whose overload may answer only 200 and 503 while `/ping` answers.
#[test]
fn serve_bench_reports_phases_the_oracle_comparison_and_the_http_runs() {
    let dir = tempfile::tempdir().unwrap();
    let run = run_gs_line(dir.path(), "bench serve --quick --requests 30").ok();
    for needle in [
        "payload (a): 1 target edge(s)",
        "payload (b): 10 target edge(s)",
        "parse p50",
        "plugin against the native oracle",
        "host calls",
        "one client, 30 requests: p50",
        "requests/s",
        "overload (a)",
    ] {
        assert!(
            run.stdout.contains(needle),
            "missing `{needle}`:\n{}",
            run.stdout
        );
    }
    let overload = run
        .stdout
        .lines()
        .find(|l| l.contains("overload (a)"))
        .unwrap();
    assert!(overload.contains("200:"), "{overload}");
}

/// `gs bench registry --reps 1` starts a real registry (`--registry-bin`, the test registry's
/// binary) and reports every operation for both sizes, against the registry and the layout;
/// it exits 0 only when every pulled component is what was pushed. Without a binary it says
/// how to get one.
#[test]
fn registry_bench_reports_every_operation_on_the_registry_and_the_layout() {
    let dir = tempfile::tempdir().unwrap();
    let binary = gs_tests::registry::registry_binary();
    let run = run_gs(
        dir.path(),
        &[
            "bench",
            "registry",
            "--reps",
            "1",
            "--registry-bin",
            binary.to_str().unwrap(),
        ],
    )
    .ok();
    let out = &run.stdout;
    for size in ["1 MB", "18 MB"] {
        for operation in [
            "push, cold",
            "push again",
            "pull, cold",
            "pull, warm",
            "sign",
            "verify",
        ] {
            let cells = row_cells(out, &format!("{size} | {operation}"));
            // size, operation, registry, layout, registry / layout.
            assert_eq!(cells.len(), 5, "{size} {operation}: {cells:?}");
            for cell in &cells[2..] {
                assert!(
                    !cell.contains("n/a") && !cell.contains("NaN") && !cell.contains("inf"),
                    "{size} {operation}: {cells:?}"
                );
            }
        }
        // The throughput table: cold push and pull, registry and layout.
        let throughput = out
            .lines()
            .find(|l| l.starts_with(&format!("| {size} | ")) && l.contains("MB/s"))
            .unwrap_or_else(|| panic!("no throughput row for {size}:\n{out}"));
        assert_eq!(throughput.matches("MB/s").count(), 4, "{throughput}");
    }
    assert!(
        out.contains("pulled components (cold, warm, verified) are identical to what was pushed"),
        "{out}"
    );

    let missing = GsRun::from(
        gs_tests::gs_command(dir.path())
            .args(["bench", "registry", "--reps", "1"])
            .env_remove("GS_REGISTRY_BIN")
            .output()
            .unwrap(),
    );
    missing.fails_with(1, &["--registry-bin", "cargo xtask registry"]);
}

/// `plugin-load` reports a built-in (from its bytes only) and a component file (from its bytes
/// and from the file), with every time a number and the target judged.
#[test]
fn plugin_load_bench_reports_a_builtin_and_a_component_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sage.wasm");
    std::fs::copy(gs_tests::plugin_path("sage"), &file).unwrap();
    let file = file.to_str().unwrap();
    let run = run_gs(
        dir.path(),
        &[
            "bench",
            "plugin-load",
            "--builtins",
            "rgcn",
            "--cold",
            "1",
            "--warm",
            "3",
            "--plugin",
            file,
        ],
    )
    .ok();
    let builtin = row_cells(&run.stdout, "rgcn");
    let from_file = row_cells(&run.stdout, file);
    assert_eq!(builtin.len(), 8, "{}", run.stdout);
    assert_eq!(from_file.len(), 8, "{}", run.stdout);
    assert_eq!(builtin[4], "–", "a built-in has no file: {}", run.stdout);
    let builtin_times = [builtin[2], builtin[3], builtin[5], builtin[6]];
    for cell in builtin_times.iter().chain(&from_file[2..7]) {
        assert!(
            cell.ends_with(" s") || cell.ends_with("ms") || cell.ends_with("µs"),
            "`{cell}` is not a time: {}",
            run.stdout
        );
    }
    for cells in [&builtin, &from_file] {
        assert!(cells[7].contains(": met") || cells[7].contains(": NOT met"));
    }
}
