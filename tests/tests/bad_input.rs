//! Bad input never crashes the host: a list of bad data and malformed plugin outputs runs
//! through the real `gs`, and each must end with exit code 1 and an `error:` line naming the
//! problem, never with a panic (exit 101, "panicked") or an abort (exit 134).

use std::path::Path;

use gs_tests::{GsRun, plugin_path, run_gs, run_gs_line};

/// One bad input: `gs launch` on the small demo graph with `flags` (and `custom` plugin
/// arguments after `--`), and what its `error:` line must name.
struct Case {
    name: &'static str,
    flags: &'static [&'static str],
    /// `None`: the built-in `sage`; else a test plugin.
    plugin: Option<&'static str>,
    custom: &'static [&'static str],
    needles: &'static [&'static str],
}

const REGRESSION: &[&str] = &["--task-type", "node_regression"];

/// A bad-shapes case: `bad` selects the malformed output (see tests/plugins/bad-shapes).
const fn bad_shapes(
    name: &'static str,
    flags: &'static [&'static str],
    custom: &'static [&'static str],
    needles: &'static [&'static str],
) -> Case {
    Case {
        name,
        flags,
        plugin: Some("test-bad-shapes"),
        custom,
        needles,
    }
}

const DATA_CASES: &[Case] = &[
    Case {
        name: "a 2-D float feature as classification labels",
        flags: &["--label-field", "feat"],
        plugin: None,
        custom: &[],
        needles: &[
            "label field `feat` of node type `paper`",
            "[200, 32] float32",
            "one class id per node",
            "--label-field",
        ],
    },
    Case {
        name: "a 2-D float feature as regression labels",
        flags: &["--task-type", "node_regression", "--label-field", "feat"],
        plugin: None,
        custom: &[],
        needles: &[
            "label field `feat` of node type `paper`",
            "[200, 32] float32",
            "one value per node",
        ],
    },
    Case {
        name: "num_classes 2^32-1 (a 1 TB host decoder)",
        flags: &["--num-classes", "4294967295"],
        plugin: None,
        custom: &[],
        needles: &[
            "host decoder for `num_classes` 4294967295",
            "[64, 4294967295]",
            "--num-classes",
            "--plugin-tensor-budget-mb",
        ],
    },
    Case {
        name: "labels outside [0, num_classes)",
        flags: &["--num-classes", "2"],
        plugin: None,
        custom: &[],
        needles: &[
            "label field `label` of node type `paper`",
            "outside [0, 2) for `num_classes` 2",
            "--num-classes 4",
        ],
    },
];

const PLUGIN_CASES: &[Case] = &[
    bad_shapes(
        "forward: embeddings one column too wide",
        &[],
        &["--bad", "forward-width"],
        &[
            "failed in `forward`",
            "shape [120, 65]",
            "expected f32 [120, 64]",
        ],
    ),
    bad_shapes(
        "forward: twice the target rows",
        &[],
        &["--bad", "forward-rows"],
        &[
            "failed in `forward`",
            "expected f32 [",
            "[targets, out_emb_size (else hidden_size)]",
        ],
    ),
    bad_shapes(
        "forward: int64 embeddings",
        &[],
        &["--bad", "forward-dtype"],
        &[
            "failed in `forward`",
            "dtype i64 and shape [120, ",
            "expected f32",
        ],
    ),
    bad_shapes(
        "decode: twice the target rows",
        &[],
        &["--bad", "decode-rows"],
        &[
            "failed in `decode`",
            "expected f32 [",
            ", 4]",
            "one row per target node",
        ],
    ),
    bad_shapes(
        "decode: one column more than num_classes",
        &[],
        &["--bad", "decode-width"],
        &["failed in `decode`", ", 5]", "expected f32 [", ", 4]"],
    ),
    bad_shapes(
        "decode: 1-D outputs",
        &[],
        &["--bad", "decode-rank"],
        &["failed in `decode`", "expected f32 [", ", 4]"],
    ),
    bad_shapes(
        "decode: int64 outputs",
        &[],
        &["--bad", "decode-dtype"],
        &[
            "failed in `decode`",
            "dtype i64 and shape [120, ",
            "expected f32",
        ],
    ),
    bad_shapes(
        "decode: regression outputs of the wrong width",
        REGRESSION,
        &["--bad", "decode-width"],
        &["failed in `decode`", ", 2]", "expected f32 [", ", 1]"],
    ),
    bad_shapes(
        "loss: one value per node",
        &[],
        &["--bad", "loss-shape"],
        &["failed in `loss`", "as the loss", "one f32 value"],
    ),
    bad_shapes(
        "loss: an int64 loss",
        &[],
        &["--bad", "loss-dtype"],
        &[
            "failed in `loss`",
            "dtype i64 and shape []",
            "one f32 value",
        ],
    ),
    bad_shapes(
        "loss: a constant without a gradient",
        &[],
        &["--bad", "loss-constant"],
        &["failed in `loss`", "does not depend on the outputs"],
    ),
];

/// A small demo graph (200 papers, 4 classes, 32-dim features) in a fresh folder.
fn small_graph() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    run_gs_line(
        tmp.path(),
        "generate demo --output-dir data --num-papers 200 --num-authors 100",
    )
    .ok();
    tmp
}

/// One epoch of `gs launch` with the demo's configuration (hidden size 64).
fn launch(dir: &Path, case: &Case) -> GsRun {
    let yaml = gs_tests::demo_yaml();
    let plugin = case.plugin.map_or_else(
        || "sage".to_string(),
        |p| plugin_path(p).display().to_string(),
    );
    let one_epoch = "launch --num-trainers 1 --part-config data/demo.json --num-epochs 1";
    let mut args: Vec<&str> = one_epoch.split_whitespace().collect();
    args.extend(["--cf", yaml.to_str().unwrap(), "--plugin", &plugin]);
    args.extend_from_slice(case.flags);
    if !case.custom.is_empty() {
        args.push("--");
        args.extend_from_slice(case.custom);
    }
    run_gs(dir, &args)
}

/// What is wrong with the run of `case`, if anything.
fn problems(case: &Case, run: &GsRun) -> Vec<String> {
    let output = format!("{}{}", run.stdout, run.stderr);
    let mut found = Vec::new();
    if matches!(run.code, 101 | 134) || output.contains("panicked") {
        found.push(format!("crashed with exit {}", run.code));
    }
    if run.code != 1 {
        found.push(format!("exit {} instead of 1", run.code));
    }
    let Some(error) = run.stderr.find("error:").map(|at| &run.stderr[at..]) else {
        found.push("no `error:` line".into());
        return found;
    };
    for needle in case.needles {
        if !error.contains(needle) {
            found.push(format!("the error does not name `{needle}`"));
        }
    }
    if error.contains("frame #") || error.contains("Exception raised from") {
        found.push("the error carries libtorch's C++ trace".into());
    }
    found
}

/// Runs every case, then fails once, listing each case that crashed or said too little.
fn run_cases(cases: &[Case]) {
    let graph = small_graph();
    let mut failures = Vec::new();
    for case in cases {
        let run = launch(graph.path(), case);
        println!(
            "--- {} (exit {}):\n{}",
            case.name,
            run.code,
            run.stderr.trim_end()
        );
        let found = problems(case, &run);
        if !found.is_empty() {
            failures.push(format!(
                "{}: {}\nstdout:\n{}\nstderr:\n{}",
                case.name,
                found.join("; "),
                run.stdout,
                run.stderr
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn bad_data_ends_with_an_error_naming_it() {
    run_cases(DATA_CASES);
}

#[test]
fn malformed_plugin_outputs_end_with_an_error_naming_the_export_and_shapes() {
    run_cases(PLUGIN_CASES);
}

/// The plugin with well-formed outputs trains, for classification and regression: the errors
/// above come from the malformed outputs, not from the plugin or the checks.
#[test]
fn well_formed_outputs_of_the_same_plugin_train() {
    let graph = small_graph();
    for flags in [&[][..], REGRESSION] {
        let case = bad_shapes("well-formed", flags, &["--bad", "none"], &[]);
        let run = launch(graph.path(), &case).ok();
        assert!(run.stdout.contains("best epoch 0"), "{}", run.stdout);
    }
}

/// `block.aggregate` with rows that are not the block's source rows stops the plugin with a
/// message naming the op and the block's size, and the host carries on to report it.
#[test]
fn aggregating_rows_of_the_wrong_size_is_refused_naming_the_block() {
    let graph = small_graph();
    let case = bad_shapes(
        "aggregate of the wrong rows",
        &[],
        &["--bad", "forward-aggregate"],
        &[],
    );
    launch(graph.path(), &case).fails_with(
        1,
        &[
            "failed in `forward`",
            "tensor op `aggregate`",
            "the source rows have shape [1, 3], but the block has",
            "hint: pass the source type's rows of this layer",
        ],
    );
}

/// `block.aggregate-many` over blocks into different destination types, and `linear` with a
/// weight that does not fit its input, stop the plugin with a message naming the op and
/// what does not fit.
#[test]
fn fused_ops_of_0_1_4_refuse_inputs_that_do_not_fit() {
    let graph = small_graph();
    let cases: [(&'static str, &'static [&'static str], &[&str]); 2] = [
        (
            "aggregate-many of blocks into two node types",
            &["--bad", "forward-aggregate-many"],
            &[
                "failed in `forward`",
                "aggregate-many",
                "the blocks aggregated together must all have",
            ],
        ),
        (
            "linear with a weight that does not fit",
            &["--bad", "forward-linear"],
            &[
                "failed in `forward`",
                "linear",
                "needs x [.., in] and weight [out, in], got [4, 3] and [2, 5]",
            ],
        ),
    ];
    for (name, args, expected) in cases {
        let case = bad_shapes(name, &[], args, &[]);
        launch(graph.path(), &case).fails_with(1, expected);
    }
}

/// A host op that libtorch itself refuses (shapes that do not broadcast) is reported on one
/// line, the first of torch's message; libtorch's C++ stack trace follows only with
/// `--logging-level debug`.
#[test]
fn libtorch_errors_are_one_line_and_carry_the_cpp_trace_only_at_debug_level() {
    let graph = small_graph();
    let op = &["--bad", "forward-op"];
    let case = bad_shapes("libtorch refuses an op", &[], op, &[]);
    let run = launch(graph.path(), &case);
    run.fails_with(
        1,
        &[
            "failed in `forward`",
            "tensor op `add`",
            "must match the size",
        ],
    );
    assert!(!run.stderr.contains("frame #"), "{}", run.stderr);
    let debug = bad_shapes(
        "the same at debug level",
        &["--logging-level", "debug"],
        op,
        &[],
    );
    let run = launch(graph.path(), &debug);
    run.fails_with(
        1,
        &["failed in `forward`", "must match the size", "frame #"],
    );
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
}
