//! `examples/registry/run.sh`, the README's registry flow, run for real with the `gs` binary and
//! the test registry (Debian's docker-registry 2.8, as `cargo xtask registry` unpacks it): push,
//! pull by digest, sign and a trust policy, training with `--plugin oci://…@sha256:…`,
//! inference with `--locked`, `gs serve` refusing another plugin and serving the trained model
//! with the same reference, and the offline layout. The script must succeed, print its summary,
//! remove its temporary folder and leave neither the registry nor the server running.

use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use sha2::{Digest, Sha256};

/// The value of the line `label   value` of the summary that ends the script's output.
fn summary<'a>(stdout: &'a str, label: &str) -> &'a str {
    let (_, summary) = stdout
        .rsplit_once("\n== summary\n")
        .unwrap_or_else(|| panic!("no summary in:\n{stdout}"));
    summary
        .lines()
        .find_map(|line| line.strip_prefix(label))
        .map(str::trim)
        .unwrap_or_else(|| panic!("no `{label}` line in the summary:\n{stdout}"))
}

/// The loopback port of the first `http://127.0.0.1:PORT` in `text`.
fn port_in(text: &str) -> u16 {
    let rest = text
        .split_once("http://127.0.0.1:")
        .unwrap_or_else(|| panic!("no loopback address in `{text}`"))
        .1;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().unwrap()
}

fn listening(port: u16) -> bool {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_ok()
}

#[test]
fn the_registry_example_runs_end_to_end_and_stops_everything() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/registry/run.sh");
    let sage = gs_tests::plugin_path("sage");
    let output = Command::new("bash")
        .arg(&script)
        .current_dir(dir)
        .env("GS", gs_tests::gs_binary())
        .env("GS_REGISTRY_BIN", gs_tests::registry::registry_binary())
        .env("PLUGIN", &sage)
        .env("OTHER_PLUGIN", gs_tests::plugin_path("rgcn"))
        // gs's caches, key, config (no user trust policy) and Docker config, all in `dir`;
        // the script's temporary folder too.
        .env("GS_CACHE_DIR", dir.join(".gs-cache"))
        .env("GS_DATA_DIR", dir.join(".gs-data"))
        .env("XDG_CONFIG_HOME", dir.join(".config"))
        .env("DOCKER_CONFIG", dir.join(".docker"))
        .env("TMPDIR", dir)
        .env_remove("KEEP_WORK")
        .output()
        .expect("bash runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "run.sh failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        output.status
    );

    let component = format!(
        "sha256:{}",
        hex::encode(Sha256::digest(std::fs::read(&sage).unwrap()))
    );
    assert_eq!(summary(&stdout, "component:"), component);
    let manifest = summary(&stdout, "manifest:");
    assert!(manifest.starts_with("sha256:"), "{stdout}");
    let registry = summary(&stdout, "registry:");
    let host = format!("127.0.0.1:{}", port_in(registry));
    assert_eq!(
        summary(&stdout, "pushed:"),
        format!("oci://{host}/gs-examples/sage:1.0")
    );
    let pinned = format!("oci://{host}/gs-examples/sage@{manifest}");
    assert_eq!(
        summary(&stdout, "trained:"),
        format!("2 epochs with --plugin {pinned}")
    );
    assert_eq!(summary(&stdout, "gs.lock pins:"), pinned);
    assert!(
        summary(&stdout, "signed by:").starts_with("key "),
        "{stdout}"
    );
    assert_eq!(
        summary(&stdout, "inference:"),
        "--locked: predictions written"
    );
    assert!(
        summary(&stdout, "wrong plugin:").starts_with(&format!(
            "refused by gs serve (oci://{host}/scratch/other@sha256:"
        )),
        "{stdout}"
    );
    let served = summary(&stdout, "served:");
    assert!(
        served.starts_with("GET /ping 200, POST /invocations 200 on http://127.0.0.1:"),
        "{stdout}"
    );
    // Four logits (the demo's 4 classes) for the one target.
    let prediction = summary(&stdout, "prediction:")
        .strip_prefix("paper p0 -> [")
        .and_then(|rest| rest.strip_suffix(']'))
        .unwrap_or_else(|| panic!("no prediction for paper p0:\n{stdout}"));
    let logits: Vec<f64> = prediction.split(',').map(|v| v.parse().unwrap()).collect();
    assert_eq!(logits.len(), 4, "{stdout}");
    assert!(logits.iter().all(|v| v.is_finite()), "{stdout}");
    assert_eq!(
        summary(&stdout, "offline:"),
        format!("oci-layout:layout@{manifest} (same manifest, signed, verified)")
    );
    assert!(stdout.contains("OK: the registry and the server are stopped"));

    // Nothing left behind: neither process listens, and the temporary folder is gone.
    assert!(!listening(port_in(registry)), "the registry still runs");
    assert!(!listening(port_in(served)), "gs serve still runs");
    let leftovers: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("gs-registry-example."))
        .collect();
    assert!(leftovers.is_empty(), "run.sh left {leftovers:?}");
}
