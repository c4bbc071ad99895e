//! The sandbox, from the user's side: a plugin that tries to open a host file, list a host
//! directory, open a socket or read the host's environment is denied, and the denial reaches
//! the user as the plugin's error; the host never crashes (tests/plugins/sandbox-probe).

use std::path::Path;

use gs_tests::{GsRun, gs_binary, plugin_path, small_demo_graph};

/// Set on the `gs` process; the plugin must not see it.
const SECRET: &str = "GS_SANDBOX_PROBE_SECRET";

fn launch_probe(dir: &Path, probe: &str) -> GsRun {
    let yaml = gs_tests::demo_yaml();
    let plugin = plugin_path("test-sandbox-probe");
    let out = std::process::Command::new(gs_binary())
        .args([
            "launch",
            "--num-trainers",
            "1",
            "--part-config",
            "data/demo.json",
            "--num-epochs",
            "1",
            "--cf",
            yaml.to_str().unwrap(),
            "--plugin",
            plugin.to_str().unwrap(),
            "--",
            "--probe",
            probe,
        ])
        .current_dir(dir)
        .env("GS_CACHE_DIR", dir.join(".gs-cache"))
        .env("GS_DATA_DIR", dir.join(".gs-data"))
        .env(SECRET, "the host's secret")
        .output()
        .expect("gs runs");
    GsRun::from(out)
}

#[test]
fn files_directories_sockets_and_the_environment_are_denied_and_reported() {
    let tmp = small_demo_graph();
    let dir = tmp.path();
    let cases: [(&str, &[&str]); 4] = [
        (
            "file",
            &["opening the host file `/etc/hostname` was refused"],
        ),
        ("dir", &["listing the host directory `/` was refused"]),
        (
            "socket",
            &["connecting a TCP socket to 127.0.0.1:9 was refused"],
        ),
        (
            "env",
            &[
                "the plugin sees 0 environment variables",
                "reading `GS_SANDBOX_PROBE_SECRET` was refused",
            ],
        ),
    ];
    for (probe, expected) in cases {
        let run = launch_probe(dir, probe);
        println!("--- probe {probe}:\n{}", run.stderr);
        let mut needles = vec!["test-sandbox-probe", "sandbox probe: "];
        needles.extend_from_slice(expected);
        run.fails_with(1, &needles);
        assert!(!run.stderr.contains("ESCAPED"), "{}", run.stderr);
        assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    }
}

#[test]
fn the_guests_stdout_and_stderr_reach_the_log_tagged_and_rate_limited() {
    let tmp = small_demo_graph();
    let dir = tmp.path();
    let run = launch_probe(dir, "print");
    run.fails_with(1, &["sandbox probe: printed 5000 lines"]);
    for line in [
        "[test-sandbox-probe] stdout: sandbox probe says hello on stdout",
        "[test-sandbox-probe] stderr: sandbox probe says hello on stderr",
        "[test-sandbox-probe] stderr: a line written in two parts",
        "[test-sandbox-probe] stdout: flood line 0",
    ] {
        assert!(
            run.stderr.contains(line),
            "missing {line:?} in:\n{}",
            run.stderr
        );
    }
    // The flood is cut to the burst: 200 lines a stream, a few more if the clock refills
    // the bucket while the plugin prints, and the rest is counted.
    let logged = run.stderr.matches("stdout: flood line ").count();
    assert!(
        (150..=400).contains(&logged),
        "{logged} of 5000 flood lines logged"
    );
    assert!(
        run.stderr
            .contains("lines not logged: a plugin may log 200 lines at once"),
        "{}",
        run.stderr
    );
}
