//! `cargo xtask demo`: the README's "see it work" command. Bootstraps, builds the `gs` binary,
//! then drives it end to end in `<repo>/demo/` on the embedded demo graph: generate the data,
//! train GraphSAGE node classification through the built-in `sage` plugin, and predict with the
//! best checkpoint. It only runs `gs`; all logic lives in the CLI.

use std::ffi::OsString;
use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::bootstrap;
use crate::json::{self, Value};
use crate::util::{self, fmt_duration};

/// Where the demo writes, relative to the repository root (gitignored, wiped on every run).
const DEMO_DIR: &str = "demo";
/// The training config the demo uses, relative to the repository root.
const CONFIG: &str = "examples/demo/nc.yaml";
/// The file `gs launch` writes beside its checkpoints.
const SUMMARY: &str = "training_summary.json";

pub(crate) fn run(args: &[OsString]) -> Result<()> {
    let release = parse_args(args)?;
    let start = Instant::now();
    let boot = bootstrap::run()?;

    let gs = build_gs(release)?;
    let root = util::repo_root();
    let demo = root.join(DEMO_DIR);
    if fs::symlink_metadata(&demo).is_ok() {
        fs::remove_dir_all(&demo).with_context(|| format!("cannot wipe {}", demo.display()))?;
    }
    fs::create_dir_all(&demo).with_context(|| format!("cannot create {}", demo.display()))?;

    let data = format!("{DEMO_DIR}/data");
    let part_config = format!("{data}/demo.json");
    let model_dir = format!("{DEMO_DIR}/model");
    let pred_dir = format!("{DEMO_DIR}/pred");

    run_gs(
        &gs,
        "1/3 generate the demo graph",
        &format!("generate demo --output-dir {data}"),
    )?;
    run_gs(
        &gs,
        "2/3 train node classification (GraphSAGE plugin)",
        &format!(
            "launch --num-trainers 1 --part-config {part_config} --cf {CONFIG} --plugin sage \
             --save-model-path {model_dir} -- --aggregator mean"
        ),
    )?;

    let summary = Summary::read(&root.join(&model_dir).join(SUMMARY))?;
    let checkpoint = format!("{model_dir}/{}/", summary.best_checkpoint);
    if !root.join(&checkpoint).is_dir() {
        bail!("{SUMMARY} names best checkpoint {checkpoint}, but that directory does not exist");
    }

    run_gs(
        &gs,
        "3/3 predict with the best checkpoint",
        &format!(
            "launch --inference --num-trainers 1 --part-config {part_config} --plugin sage \
             --restore-model-path {checkpoint} --save-prediction-path {pred_dir}"
        ),
    )?;

    let files = count_files(&root.join(&pred_dir));
    let metric = summary
        .metric
        .as_deref()
        .map(|m| format!(" ({m})"))
        .unwrap_or_default();
    println!();
    println!(
        "demo: finished in {} (libtorch: {})",
        fmt_duration(start.elapsed()),
        boot.variant.name()
    );
    println!(
        "  validation score{metric}: {}  (best checkpoint {})",
        fmt_score(summary.val),
        summary.best_checkpoint
    );
    println!("  test score{metric}:       {}", fmt_score(summary.test));
    println!("  model:       {checkpoint}");
    let plural = if files == 1 { "" } else { "s" };
    println!("  predictions: {pred_dir}/ ({files} file{plural})");
    println!("  (paths relative to {})", root.display());
    Ok(())
}

/// Accepts only `--release`.
fn parse_args(args: &[OsString]) -> Result<bool> {
    let mut release = false;
    for arg in args {
        match arg.to_str() {
            Some("--release") => release = true,
            _ => bail!("`cargo xtask demo` accepts only `--release`, got {arg:?}"),
        }
    }
    Ok(release)
}

/// `cargo build --package gs` (dev profile unless `release`), returning the binary's path as
/// cargo reports it, so `CARGO_TARGET_DIR`, profiles and `build.target` are all respected.
fn build_gs(release: bool) -> Result<PathBuf> {
    let mut cmd = util::cargo();
    cmd.args(["build", "--package", "gs"]);
    if release {
        cmd.arg("--release");
    }
    let shown = util::describe(&cmd);
    println!("demo: $ {shown}");
    let start = Instant::now();
    // JSON messages on stdout (read here); progress and rendered diagnostics stay on stderr.
    cmd.arg("--message-format=json-render-diagnostics")
        .stdout(Stdio::piped());
    let mut child = cmd
        .spawn()
        .with_context(|| format!("could not start `{shown}`"))?;
    let mut executable = None;
    for line in BufReader::new(child.stdout.take().expect("stdout is piped")).lines() {
        let line = line.context("reading cargo's output")?;
        if let Some(path) = line
            .starts_with('{')
            .then(|| gs_executable(&line))
            .flatten()
        {
            executable = Some(path);
        }
    }
    let status = child.wait()?;
    util::check_status(status, &shown)?;
    let Some(gs) = executable else {
        bail!("`{shown}` succeeded but reported no binary named `gs`");
    };
    println!(
        "demo: built {} ({})",
        gs.display(),
        fmt_duration(start.elapsed())
    );
    Ok(gs)
}

/// The `executable` of a cargo `compiler-artifact` message for the binary target `gs`.
fn gs_executable(line: &str) -> Option<PathBuf> {
    let msg = json::parse(line).ok()?;
    if msg.get("reason")?.as_str()? != "compiler-artifact" {
        return None;
    }
    let target = msg.get("target")?;
    let is_bin = target
        .get("kind")?
        .as_array()?
        .iter()
        .any(|k| k.as_str() == Some("bin"));
    if !is_bin || target.get("name")?.as_str()? != "gs" {
        return None;
    }
    msg.get("executable")?.as_str().map(PathBuf::from)
}

/// Runs `gs <command line>` in the repository root with inherited stdio (progress bars draw as
/// usual). The command line is split on whitespace: its pieces are the demo's own constants and
/// names checked by [`is_plain_name`], none with spaces.
fn run_gs(gs: &Path, title: &str, command_line: &str) -> Result<()> {
    let args: Vec<&str> = command_line.split_whitespace().collect();
    let mut cmd = Command::new(gs);
    cmd.args(&args).current_dir(util::repo_root());
    if !rpath_reaches_libtorch(gs) {
        util::add_libtorch_to_library_path(&mut cmd);
    }
    let shown = format!("gs {}", args.join(" "));
    println!("\ndemo [{title}]\ndemo: $ {shown}");
    let start = Instant::now();
    let status = cmd
        .status()
        .with_context(|| format!("could not start `{shown}`"))?;
    util::check_status(status, &shown)?;
    println!("demo: ok ({})", fmt_duration(start.elapsed()));
    Ok(())
}

/// Whether the rpath entries from `.cargo/config.toml` (`$ORIGIN/../../.libtorch/lib` and
/// `$ORIGIN/../../../.libtorch/lib`) find libtorch from where `bin` lives.
fn rpath_reaches_libtorch(bin: &Path) -> bool {
    let Some(dir) = bin.parent() else {
        return false;
    };
    ["../../.libtorch/lib", "../../../.libtorch/lib"]
        .iter()
        .any(|rel| dir.join(rel).join("libtorch_cpu.so").exists())
}

/// The fields of `training_summary.json` the demo reports.
#[derive(Debug, PartialEq)]
struct Summary {
    /// Checkpoint directory name under the model path, e.g. `epoch-3`.
    best_checkpoint: String,
    /// `None` when the JSON has `null` (e.g. no validation set).
    val: Option<f64>,
    test: Option<f64>,
    /// Optional `eval_metric` (a string, or the first of a list).
    metric: Option<String>,
}

impl Summary {
    fn read(path: &Path) -> Result<Self> {
        let text = fs::read_to_string(path)
            .with_context(|| format!("training finished but {} is not readable", path.display()))?;
        Self::parse(&text).with_context(|| format!("in {}", path.display()))
    }

    fn parse(text: &str) -> Result<Self> {
        let v = json::parse(text)?;
        let best_checkpoint = match v.get("best_checkpoint").and_then(Value::as_str) {
            Some(name) if is_plain_name(name) => name.to_string(),
            Some(name) => bail!("`best_checkpoint` must be a directory name, got {name:?}"),
            None => bail!("missing string field `best_checkpoint`"),
        };
        let score = |key: &str| match v.get(key) {
            Some(Value::Null) => Ok(None),
            Some(value) => match value.as_f64() {
                Some(n) => Ok(Some(n)),
                None => bail!("`{key}` must be a number or null"),
            },
            None => bail!("missing numeric field `{key}`"),
        };
        let metric = match v.get("eval_metric") {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Array(items)) => items.first().and_then(Value::as_str).map(str::to_string),
            _ => None,
        };
        Ok(Self {
            best_checkpoint,
            val: score("best_val_score")?,
            test: score("test_score")?,
            metric,
        })
    }
}

/// A single path component without whitespace: no separators, not `.` or `..`.
fn is_plain_name(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && !name.contains(['/', '\\'])
        && !name.contains(char::is_whitespace)
}

fn fmt_score(score: Option<f64>) -> String {
    score.map_or_else(|| "n/a".to_string(), |s| format!("{s:.4}"))
}

/// Regular files under `dir`, recursively (0 when it is missing).
fn count_files(dir: &Path) -> usize {
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => count_files(&e.path()),
            Ok(t) if t.is_file() => 1,
            _ => 0,
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_release_is_accepted() {
        assert!(!parse_args(&[]).unwrap());
        assert!(parse_args(&["--release".into()]).unwrap());
        assert!(parse_args(&["--profile".into()]).is_err());
    }

    #[test]
    fn summary_fields_are_read() {
        let s = Summary::parse(
            r#"{"best_checkpoint": "epoch-3", "best_val_score": 0.81, "test_score": null,
                "eval_metric": ["accuracy"], "epochs": [1, 2, 3]}"#,
        )
        .unwrap();
        assert_eq!(
            s,
            Summary {
                best_checkpoint: "epoch-3".into(),
                val: Some(0.81),
                test: None,
                metric: Some("accuracy".into()),
            }
        );
        assert_eq!(fmt_score(s.val), "0.8100");
        assert_eq!(fmt_score(s.test), "n/a");
    }

    #[test]
    fn summary_must_name_a_plain_checkpoint_and_scores() {
        let bad = [
            r#"{"best_val_score": 1, "test_score": 1}"#,
            r#"{"best_checkpoint": "../x", "best_val_score": 1, "test_score": 1}"#,
            r#"{"best_checkpoint": "epoch 1", "best_val_score": 1, "test_score": 1}"#,
            r#"{"best_checkpoint": "epoch-1", "test_score": 1}"#,
            r#"{"best_checkpoint": "epoch-1", "best_val_score": "high", "test_score": 1}"#,
        ];
        for text in bad {
            assert!(Summary::parse(text).is_err(), "{text}");
        }
    }

    #[test]
    fn cargo_messages_yield_the_gs_binary_only() {
        let gs = r#"{"reason":"compiler-artifact","target":{"kind":["bin"],"name":"gs"},"executable":"/t/debug/gs"}"#;
        let lib = r#"{"reason":"compiler-artifact","target":{"kind":["lib"],"name":"gs"},"executable":null}"#;
        let other = r#"{"reason":"compiler-artifact","target":{"kind":["bin"],"name":"other"},"executable":"/t/debug/other"}"#;
        let done = r#"{"reason":"build-finished","success":true}"#;
        assert_eq!(gs_executable(gs), Some(PathBuf::from("/t/debug/gs")));
        assert_eq!(gs_executable(lib), None);
        assert_eq!(gs_executable(other), None);
        assert_eq!(gs_executable(done), None);
    }
}
