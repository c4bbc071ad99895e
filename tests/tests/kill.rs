//! Killing a training run never corrupts what it saved: `gs` is killed with SIGKILL at 20
//! pseudo-random moments while it writes a checkpoint at every iteration (and prunes with
//! `topk_model_to_save`), each restart continuing from the newest checkpoint into the same
//! folder. After every kill each checkpoint in the folder loads and matches its recorded
//! digests; at the end the newest one predicts. The same holds for an edge task and for link
//! prediction (8 kills each).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use gs_train::{checkpoint, checkpoints_in};

/// `(epoch, iteration)` of `epoch-E` (after every iteration of E) or `epoch-E-iter-I`.
fn position(name: &str) -> (u64, u64) {
    let rest = name.strip_prefix("epoch-").unwrap_or_default();
    match rest.split_once("-iter-") {
        Some((e, i)) => (e.parse().unwrap_or(0), i.parse().unwrap_or(0)),
        None => (rest.parse().unwrap_or(0), u64::MAX),
    }
}

fn newest(model: &Path) -> Option<String> {
    checkpoints_in(model)
        .into_iter()
        .max_by_key(|n| position(n))
}

/// Kills `gs <args> --save-model-path model ...` (checkpointing every iteration, keeping 3) at
/// `rounds` pseudo-random moments, each restart continuing from the newest checkpoint, and
/// checks after every kill that each checkpoint in `dir/model` loads and matches its digests.
/// Returns the newest checkpoint's name.
fn kill_and_restart(dir: &Path, args: &[&str], rounds: u32) -> String {
    let model = dir.join("model");
    let spawn = |restore: Option<&str>| {
        let mut cmd = Command::new(gs_tests::gs_binary());
        cmd.args(args).args([
            "--num-epochs",
            "100000",
            "--save-model-path",
            "model",
            "--save-model-frequency",
            "1",
            "--topk-model-to-save",
            "3",
        ]);
        if let Some(restore) = restore {
            cmd.args(["--restore-model-path", restore]);
        }
        cmd.current_dir(dir)
            .env("GS_CACHE_DIR", dir.join(".gs-cache"))
            .env("GS_DATA_DIR", dir.join(".gs-data"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("gs starts")
    };

    // The first run compiles the plugin into the cache and tells how long a start takes: the
    // time to its first checkpoint. Kills then land around and after that moment.
    let started = Instant::now();
    let mut first = spawn(None);
    while checkpoints_in(&model).is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "no checkpoint after 120 s"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let startup = started.elapsed();
    first.kill().expect("SIGKILL");
    first.wait().unwrap();

    // A fixed linear congruential sequence: the moments differ from kill to kill but not
    // from run to run of the test.
    let mut state: u64 = 0x5eed;
    let mut kills_while_saving = 0;
    for round in 0..rounds {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let jitter = Duration::from_millis((state >> 33) % 800);
        let before = checkpoints_in(&model);
        let restore = newest(&model).map(|n| format!("model/{n}"));
        let mut child = spawn(restore.as_deref());
        let started = Instant::now();
        // Odd rounds: a moment around the usual start-up. Even rounds: once this run has saved
        // a checkpoint, so the kill lands among checkpoint writes whatever the machine's load.
        if round % 2 == 1 {
            std::thread::sleep(startup.mul_f64(0.8) + jitter);
        } else {
            while checkpoints_in(&model) == before && started.elapsed() < Duration::from_secs(120) {
                std::thread::sleep(Duration::from_millis(5));
            }
            std::thread::sleep(jitter / 2);
        }
        let delay = started.elapsed();
        child.kill().expect("SIGKILL"); // `Child::kill` sends SIGKILL on Unix.
        child.wait().unwrap();
        let found = checkpoints_in(&model);
        if found != before {
            kills_while_saving += 1;
            // Staging names left by a kill are removed by the next run before it saves
            // anything: once this run has saved, only its own may remain. (A run killed before
            // it got that far leaves the earlier ones to the run after it.)
            let stale: Vec<String> = std::fs::read_dir(&model)
                .unwrap()
                .map(|e| e.unwrap().file_name().into_string().unwrap())
                .filter(|n| n.starts_with('.') && !n.ends_with(&format!("-{}", child.id())))
                .collect();
            assert!(stale.is_empty(), "left by earlier runs: {stale:?}");
        }
        for name in &found {
            checkpoint::load(&model.join(name))
                .unwrap_or_else(|e| panic!("`{name}` after a kill at {delay:?}: {e}"));
        }
    }
    assert!(
        kills_while_saving >= rounds / 2,
        "most kills should land while checkpoints are written ({kills_while_saving} of {rounds})"
    );
    newest(&model).expect("checkpoints were saved")
}

#[test]
fn sigkill_at_20_moments_leaves_every_saved_checkpoint_whole() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    gs_tests::run_gs_line(
        dir,
        "generate demo --output-dir data --num-papers 200 --num-authors 100",
    )
    .ok();
    let yaml = gs_tests::demo_yaml();
    let newest = kill_and_restart(
        dir,
        &[
            "launch",
            "--num-trainers",
            "1",
            "--part-config",
            "data/demo.json",
            "--cf",
            yaml.to_str().unwrap(),
            "--plugin",
            "sage",
            "--hidden-size",
            "16",
            "--batch-size",
            "16",
        ],
        20,
    );
    let restore = format!("model/{newest}");
    gs_tests::run_gs(
        dir,
        &[
            "launch",
            "--inference",
            "--num-trainers",
            "1",
            "--part-config",
            "data/demo.json",
            "--restore-model-path",
            &restore,
            "--save-prediction-path",
            "pred",
        ],
    )
    .ok();
    let (nids, preds) = gs_output::read_node_predictions(&dir.join("pred"), "paper").unwrap();
    assert!(!nids.is_empty() && nids.len() == preds.len());
}

/// The user–item graph's flags for an edge task or link prediction with `rgcn`.
const USER_ITEM: [&str; 20] = [
    "--num-trainers",
    "1",
    "--part-config",
    "data/user-item.json",
    "--model-encoder-type",
    "rgcn",
    "--node-feat-name",
    "user:feat,group",
    "item:feat,group",
    "--num-layers",
    "1",
    "--fanout",
    "5",
    "--hidden-size",
    "8",
    "--lr",
    "0.01",
    "--batch-size",
    "64",
    "--reverse-edge-types-map",
];

#[test]
fn sigkill_during_an_edge_task_and_link_prediction_leaves_every_checkpoint_whole() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    gs_tests::run_gs_line(dir, "generate user-item --output-dir data").ok();
    let mut edge: Vec<&str> = vec!["edge-regression"];
    edge.extend(USER_ITEM);
    edge.extend([
        "user,rates,rated-by,item",
        "--target-etype",
        "user,rates,item",
        "--label-field",
        "rating",
    ]);
    let newest = kill_and_restart(dir, &edge, 8);
    let restore = format!("model/{newest}");
    let mut infer = edge.clone();
    infer.extend([
        "--inference",
        "--restore-model-path",
        &restore,
        "--save-prediction-path",
        "pred",
    ]);
    gs_tests::run_gs(dir, &infer).ok();
    let got =
        gs_output::read_edge_predictions(&dir.join("pred"), ["user", "rates", "item"]).unwrap();
    assert!(!got.src.is_empty() && got.src.len() == got.preds.len());

    std::fs::remove_dir_all(dir.join("model")).unwrap();
    let mut lp: Vec<&str> = vec!["link-prediction"];
    lp.extend(USER_ITEM);
    lp.extend([
        "user,rates,rated-by,item",
        "--train-etype",
        "user,rates,item",
        "--num-negative-edges",
        "4",
    ]);
    let newest = kill_and_restart(dir, &lp, 8);
    let restore = format!("model/{newest}");
    let mut infer = lp.clone();
    infer.extend([
        "--inference",
        "--restore-model-path",
        &restore,
        "--save-embed-path",
        "emb",
    ]);
    let run = gs_tests::run_gs(dir, &infer).ok();
    assert!(run.stdout.contains("test mrr: "), "{}", run.stdout);
}
