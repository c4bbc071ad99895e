//! The binary starts, and links libtorch through its rpath. (This test also makes
//! `cargo test --workspace` build `target/<profile>/gs`, which `tests/` drives.)

use std::process::Command;

#[test]
fn version_and_help_run() {
    let out = Command::new(env!("CARGO_BIN_EXE_gs"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("gs "));
    let out = Command::new(env!("CARGO_BIN_EXE_gs"))
        .args(["launch", "--help"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in ["--part-config", "--num-epochs", "--fanout", "--plugin"] {
        assert!(
            help.contains(flag),
            "`gs launch --help` lacks {flag}:\n{help}"
        );
    }
}
