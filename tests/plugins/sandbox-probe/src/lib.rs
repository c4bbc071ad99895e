//! Test plugin `test-sandbox-probe`: `init` tries one thing the sandbox must deny, chosen by
//! `--probe` (`file`, `dir`, `socket`, `env`), and fails with what happened, so that a test
//! reads the denial in the error the user sees. The messages say "refused" for a denial and
//! "ESCAPED" for an attempt that succeeded. `--probe print` writes to stdout and stderr
//! instead, a few marked lines and then a flood, which the host must log under its rate limit.

use gs_plugin_sdk::prelude::*;

/// Every value `--probe` accepts.
const PROBES: &[&str] = &["file", "dir", "socket", "env", "print"];

/// Lines `--probe print` writes to stdout after its marked lines.
const FLOOD_LINES: usize = 5_000;

/// The environment variable the test sets on the host process.
const SECRET: &str = "GS_SANDBOX_PROBE_SECRET";

struct SandboxProbe;

/// What an attempt to leave the sandbox came to.
fn outcome<T>(what: &str, result: std::io::Result<T>) -> String {
    match result {
        Ok(_) => format!("{what} ESCAPED the sandbox: it succeeded"),
        Err(e) => format!("{what} was refused: {e}"),
    }
}

impl Model for SandboxProbe {
    fn info() -> Info {
        Info::new("test-sandbox-probe", "0.1.0")
            .all_tasks()
            .hyper_param(
                "probe",
                "file",
                "what to try: file, dir, socket, env, print",
            )
    }

    fn init(config: &ModelConfig, _schema: &GraphSchema) -> Result<Self> {
        let report = match config.choice("probe", "file", PROBES)? {
            "file" => outcome(
                "opening the host file `/etc/hostname`",
                std::fs::File::open("/etc/hostname"),
            ),
            "dir" => outcome("listing the host directory `/`", std::fs::read_dir("/")),
            "socket" => outcome(
                "connecting a TCP socket to 127.0.0.1:9",
                std::net::TcpStream::connect("127.0.0.1:9"),
            ),
            "print" => {
                println!("sandbox probe says hello on stdout");
                eprintln!("sandbox probe says hello on stderr");
                eprint!("a line written ");
                eprintln!("in two parts");
                for i in 0..FLOOD_LINES {
                    println!("flood line {i}");
                }
                format!("printed {FLOOD_LINES} lines")
            }
            _ => {
                let visible = std::env::vars().count();
                let secret = match std::env::var(SECRET) {
                    Ok(_) => "ESCAPED the sandbox: it is visible".to_string(),
                    Err(e) => format!("was refused: {e}"),
                };
                format!("the plugin sees {visible} environment variables; reading `{SECRET}` {secret}")
            }
        };
        Err(Error::unsupported(format!("sandbox probe: {report}")))
    }

    fn forward(&self, _batch: &Batch, _mode: Mode) -> Result<Vec<(String, Tensor)>> {
        unreachable!("init always fails")
    }
}

gs_plugin_sdk::export_model!(SandboxProbe);
