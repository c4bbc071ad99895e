//! Small helpers shared by the commands: the repository root, running child processes with
//! errors that name the command, and human-readable durations.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::time::Duration;

use anyhow::{Context, Result, bail};

/// The repository root: the parent of this crate's manifest directory, fixed at compile time.
pub(crate) fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the xtask crate lives one level below the repository root")
}

/// The `.libtorch` link in the repository root that `.cargo/config.toml` points `LIBTORCH` at.
pub(crate) fn libtorch_link() -> PathBuf {
    repo_root().join(".libtorch")
}

/// Reads an environment variable, treating an empty value as unset.
pub(crate) fn env_nonempty(name: &str) -> Option<std::ffi::OsString> {
    std::env::var_os(name).filter(|v| !v.is_empty())
}

/// A `cargo` command running in the repository root: the cargo that started this xtask (`$CARGO`)
/// so toolchain overrides carry over. A relative `CARGO_TARGET_DIR` is resolved against the
/// caller's working directory, as the outer cargo did, before the child's directory changes.
pub(crate) fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.current_dir(repo_root());
    if let Some(dir) = env_nonempty("CARGO_TARGET_DIR")
        && let Ok(abs) = std::path::absolute(&dir)
    {
        cmd.env("CARGO_TARGET_DIR", abs);
    }
    cmd
}

/// The target directory a plain `cargo` in the repository would use, as far as the environment
/// tells (`CARGO_TARGET_DIR`, else `<repo>/target`).
pub(crate) fn target_dir_from_env() -> PathBuf {
    match env_nonempty("CARGO_TARGET_DIR") {
        Some(dir) => std::path::absolute(&dir).unwrap_or_else(|_| PathBuf::from(dir)),
        None => repo_root().join("target"),
    }
}

/// Prepends `<repo>/.libtorch/lib` to `LD_LIBRARY_PATH` for `cmd`. Only needed when binaries
/// live outside `<repo>/target`, where the rpath from `.cargo/config.toml` cannot reach.
pub(crate) fn add_libtorch_to_library_path(cmd: &mut Command) {
    let lib = libtorch_link().join("lib");
    let mut paths = vec![lib];
    if let Some(old) = std::env::var_os("LD_LIBRARY_PATH") {
        paths.extend(std::env::split_paths(&old));
    }
    if let Ok(joined) = std::env::join_paths(paths) {
        cmd.env("LD_LIBRARY_PATH", joined);
    }
}

/// Whether two paths name the same existing file system object.
pub(crate) fn same_location(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// Renders a command the way a user would type it, for messages.
pub(crate) fn describe(cmd: &Command) -> String {
    let program = Path::new(cmd.get_program());
    // Show `cargo` rather than the full path of `$CARGO`.
    let shown = if program.file_stem() == Some(OsStr::new("cargo")) {
        OsStr::new("cargo")
    } else {
        cmd.get_program()
    };
    std::iter::once(shown)
        .chain(cmd.get_args())
        .map(quote)
        .collect::<Vec<_>>()
        .join(" ")
}

fn quote(arg: &OsStr) -> String {
    let s = arg.to_string_lossy();
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c));
    if plain {
        s.into_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// Runs `cmd` with inherited stdio and fails, naming the command, unless it exits with 0.
pub(crate) fn run_checked(cmd: &mut Command) -> Result<()> {
    let shown = describe(cmd);
    let status = cmd
        .status()
        .with_context(|| format!("could not start `{shown}`"))?;
    check_status(status, &shown)
}

/// Turns a non-zero exit into an error naming the command.
pub(crate) fn check_status(status: ExitStatus, shown: &str) -> Result<()> {
    if !status.success() {
        bail!("`{shown}` failed ({})", describe_status(status));
    }
    Ok(())
}

/// "exit status 3" or "killed by signal 9".
pub(crate) fn describe_status(status: ExitStatus) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return format!("killed by signal {signal}");
        }
    }
    match status.code() {
        Some(code) => format!("exit status {code}"),
        None => "no exit status".to_string(),
    }
}

/// The exit code a shell would report for `status` (128 + signal for a killed child).
pub(crate) fn exit_code(status: ExitStatus) -> u8 {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return 128u8.saturating_add(signal.clamp(0, 127) as u8);
        }
    }
    match status.code() {
        Some(0) => 0,
        Some(code) if (1..=255).contains(&code) => code as u8,
        _ => 1,
    }
}

/// `350ms`, `4.2s` or `3m07s`.
pub(crate) fn fmt_duration(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs < 1.0 {
        format!("{}ms", d.as_millis())
    } else if secs < 60.0 {
        format!("{secs:.1}s")
    } else {
        let whole = d.as_secs();
        format!("{}m{:02}s", whole / 60, whole % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(fmt_duration(Duration::from_millis(42)), "42ms");
        assert_eq!(fmt_duration(Duration::from_millis(4250)), "4.2s");
        assert_eq!(fmt_duration(Duration::from_secs(187)), "3m07s");
    }

    #[test]
    fn commands_are_shown_quoted() {
        let mut cmd = Command::new("/some/where/cargo");
        cmd.args(["test", "--workspace", "a b", "it's"]);
        assert_eq!(describe(&cmd), r"cargo test --workspace 'a b' 'it'\''s'");
        let mut pip = Command::new("python3");
        pip.args(["-m", "pip", "nvidia-cuda-runtime==13.0.96.*"]);
        assert_eq!(
            describe(&pip),
            "python3 -m pip 'nvidia-cuda-runtime==13.0.96.*'"
        );
    }

    #[test]
    fn repo_root_holds_the_workspace_manifest() {
        assert!(repo_root().join("Cargo.toml").is_file());
        assert!(repo_root().join("xtask").is_dir());
    }
}
