//! Python plugin projects (`app.py` and `pyproject.toml`): where their component goes, and how
//! componentize-py builds it.
//!
//! componentize-py is installed from PyPI on first use, pinned to [`COMPONENTIZE_PY_VERSION`],
//! into gs's tools folder (`$GS_TOOLS_DIR`, else `<cache dir>/tools`), beside the cached
//! libtorch rather than in the project. A project that carries no `gs_plugin/` or `wit/` (the
//! examples of this repository) builds against the copies embedded in this gs. The build
//! writes the component beside its final name and renames it, after stamping the SDK version
//! into it (the `gs-plugin-sdk-version` custom section, which the Rust SDK writes at compile
//! time) and the metadata of `pyproject.toml` (description, license).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

use crate::component_sections::{METADATA_SECTION, metadata_text, set_custom_section};
use crate::embedded_sdk::{PYTHON_SDK_FILES, WIT_FILES};

/// The componentize-py release gs builds Python plugins with: it bundles CPython 3.14 and
/// targets WASI 0.2, which this host links.
pub(crate) const COMPONENTIZE_PY_VERSION: &str = "0.25.1";

/// The SHA-256 of every wheel PyPI publishes for [`COMPONENTIZE_PY_VERSION`] (Linux x86_64 and
/// aarch64, macOS x86_64 and arm64, Windows x86_64): pip installs one of these files or
/// nothing (its hash-checking mode), never a rebuilt or replaced release.
const COMPONENTIZE_PY_WHEEL_SHA256: &[&str] = &[
    "8623cd8cab8453cb0cd8bf03f3c7103420d06f2f3d360186a280a70a1ca5e89f",
    "7b6a87c520358166843af0daa86d2312d7af4cbcbbf1e598951085cf7f2991ca",
    "65fbc4a94df1de8acf7da50a1f5ed1711230188844e53e6332d99029be4e0afa",
    "a556991534cc496207a9d2ca733c4b0f17ed38ef56a8d6b5f1847fdf1225dd1b",
    "c7fd552fb0849858b0c1e8981543ed5dff4b0cc1597a8ea0bc26a495786dc0c6",
];

/// The pip requirements line for componentize-py: the version and every wheel's hash.
fn componentize_py_requirement() -> String {
    let hashes: Vec<String> = COMPONENTIZE_PY_WHEEL_SHA256
        .iter()
        .map(|h| format!("--hash=sha256:{h}"))
        .collect();
    format!(
        "componentize-py=={COMPONENTIZE_PY_VERSION} {}\n",
        hashes.join(" ")
    )
}

/// Whether `dir` is a Python plugin project.
pub(crate) fn is_project(dir: &Path) -> bool {
    dir.join("app.py").is_file() && dir.join("pyproject.toml").is_file()
}

/// The component a Python project builds: `<dir>/target/<name>.wasm`, the name from
/// `pyproject.toml` with `-` as `_`.
pub(crate) fn project_component(dir: &Path) -> anyhow::Result<PathBuf> {
    let (name, _) = project_name_and_version(dir)?;
    Ok(dir
        .join("target")
        .join(format!("{}.wasm", name.replace('-', "_"))))
}

/// `[project] name` and `version` of `<dir>/pyproject.toml`.
fn project_name_and_version(dir: &Path) -> anyhow::Result<(String, String)> {
    let (path, text) = pyproject(dir)?;
    let field = |key: &str| {
        project_field(&text, key).with_context(|| {
            format!(
                "`{}` has no `{key} = \"…\"` under `[project]`",
                path.display()
            )
        })
    };
    Ok((field("name")?, field("version")?))
}

fn pyproject(dir: &Path) -> anyhow::Result<(PathBuf, String)> {
    let path = dir.join("pyproject.toml");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read `{}`", path.display()))?;
    Ok((path, text))
}

/// A string value of the `[project]` table of a `pyproject.toml`.
fn project_field(text: &str, key: &str) -> Option<String> {
    let mut in_project = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            in_project = line == "[project]";
            continue;
        }
        if !in_project {
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        if k.trim() == key {
            let v = v.trim();
            return v
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .map(str::to_string);
        }
    }
    None
}

/// Build the project in `dir` with componentize-py into its component's path, and return it.
pub(crate) fn build(dir: &Path) -> anyhow::Result<PathBuf> {
    // componentize-py runs in `dir`: every path handed to it must be absolute.
    let dir = &std::path::absolute(dir)?;
    let wasm = project_component(dir)?;
    let tool = componentize_py()?;
    let out_dir = wasm.parent().expect("a file in target/");
    std::fs::create_dir_all(out_dir)
        .with_context(|| format!("cannot create `{}`", out_dir.display()))?;
    // The SDK and WIT of the project, or this gs's own when it carries none.
    let lent = tempfile::Builder::new()
        .prefix(".gs-sdk-")
        .tempdir_in(out_dir)?;
    let sdk_root = if dir.join("gs_plugin").is_dir() {
        dir.to_path_buf()
    } else {
        write_files(lent.path(), PYTHON_SDK_FILES)?;
        lent.path().to_path_buf()
    };
    let wit = if dir.join("wit").is_dir() {
        dir.join("wit")
    } else {
        write_files(lent.path(), WIT_FILES)?;
        lent.path().join("wit")
    };
    let staged = out_dir.join(format!(".{}.partial", std::process::id()));
    eprintln!(
        "building `{}` with componentize-py {COMPONENTIZE_PY_VERSION}",
        dir.display()
    );
    let mut command = tool.command();
    command
        .arg("-d")
        .arg(&wit)
        .args(["-w", "model", "componentize", "-p", "."])
        .arg("-p")
        .arg(&sdk_root)
        .args(["app", "-o"])
        .arg(&staged)
        .current_dir(dir);
    let status = command
        .status()
        .context("cannot run componentize-py (python3)")?;
    if !status.success() {
        let _ = std::fs::remove_file(&staged);
        bail!(
            "componentize-py failed ({status}); its messages are above\n\
             hint: `app.py` must define `ModelApi, ModelCapabilities = export_model(YourModel)` \
             at the top level, and import everything at the top of the module"
        );
    }
    let sdk_version = sdk_version(&sdk_root.join("gs_plugin/__init__.py"))?;
    let (_, text) = pyproject(dir)?;
    let field = |key: &str| project_field(&text, key).unwrap_or_default();
    let metadata = metadata_text(&[
        ("language", "python"),
        ("description", &field("description")),
        ("license", &field("license")),
    ]);
    let stamped = (|| -> anyhow::Result<()> {
        let bytes = std::fs::read(&staged)?;
        let bytes = set_custom_section(
            &bytes,
            gs_runtime::SDK_VERSION_SECTION,
            sdk_version.as_bytes(),
        )?;
        let bytes = set_custom_section(&bytes, METADATA_SECTION, metadata.as_bytes())?;
        std::fs::write(&staged, bytes)?;
        std::fs::rename(&staged, &wasm)?;
        Ok(())
    })();
    if stamped.is_err() {
        let _ = std::fs::remove_file(&staged);
    }
    stamped.with_context(|| format!("cannot write `{}`", wasm.display()))?;
    Ok(wasm)
}

fn write_files(root: &Path, files: &[(&str, &str)]) -> anyhow::Result<()> {
    for (path, text) in files {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().expect("a file in a folder"))?;
        std::fs::write(&path, text)
            .with_context(|| format!("cannot write `{}`", path.display()))?;
    }
    Ok(())
}

/// `SDK_VERSION = "…"` of the `gs_plugin` package a project builds with.
fn sdk_version(init_py: &Path) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(init_py)
        .with_context(|| format!("cannot read `{}`", init_py.display()))?;
    text.lines()
        .find_map(|l| l.strip_prefix("SDK_VERSION = \""))
        .and_then(|v| v.strip_suffix('"'))
        .map(str::to_string)
        .with_context(|| {
            format!(
                "`{}` sets no `SDK_VERSION = \"…\"`: is it gs's Python SDK?",
                init_py.display()
            )
        })
}

/// An installed componentize-py: the folder pip installed it into.
struct ComponentizePy {
    dir: PathBuf,
}

impl ComponentizePy {
    /// `python3 -c <entry point>` with the install on `PYTHONPATH`; arguments follow.
    fn command(&self) -> Command {
        let mut command = Command::new(python());
        command
            .arg("-c")
            .arg(
                "import sys; from componentize_py import script; \
                 sys.argv[0] = 'componentize-py'; sys.exit(script())",
            )
            .env("PYTHONPATH", &self.dir)
            // A failed build's message, without componentize-py's own Rust backtrace.
            .env_remove("RUST_BACKTRACE")
            .env_remove("RUST_LIB_BACKTRACE");
        command
    }
}

fn python() -> PathBuf {
    std::env::var_os("GS_PYTHON")
        .filter(|v| !v.is_empty())
        .map_or_else(|| PathBuf::from("python3"), PathBuf::from)
}

/// `$GS_TOOLS_DIR`, else `<cache dir>/tools`.
fn tools_dir() -> anyhow::Result<PathBuf> {
    std::env::var_os("GS_TOOLS_DIR")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| crate::paths::cache_dir().map(|c| c.join("tools")))
        .context("cannot choose a folder for componentize-py: set GS_TOOLS_DIR (or HOME)")
}

/// componentize-py, installed with pip into `<tools>/componentize-py-<version>` unless it is
/// there already. pip writes into a staging folder that is renamed into place, so an
/// interrupted install leaves nothing half-made, and two concurrent installs both succeed.
fn componentize_py() -> anyhow::Result<ComponentizePy> {
    let tools = tools_dir()?;
    let dir = tools.join(format!("componentize-py-{COMPONENTIZE_PY_VERSION}"));
    if dir.join("componentize_py/__init__.py").is_file() {
        return Ok(ComponentizePy { dir });
    }
    std::fs::create_dir_all(&tools)
        .with_context(|| format!("cannot create `{}`", tools.display()))?;
    let staging = tempfile::Builder::new()
        .prefix(".componentize-py-")
        .tempdir_in(&tools)?;
    let requirement = format!("componentize-py=={COMPONENTIZE_PY_VERSION}");
    eprintln!("installing {requirement} into `{}` (once)", dir.display());
    // A requirements file with hashes puts pip in hash-checking mode: the wheel it downloads
    // must be one of the published ones.
    let requirements = staging.path().join(".requirements.txt");
    std::fs::write(&requirements, componentize_py_requirement())
        .with_context(|| format!("cannot write `{}`", requirements.display()))?;
    let target = staging.path().join("install");
    let status = Command::new(python())
        .args([
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--no-compile",
            "--only-binary=:all:",
            "--require-hashes",
            "--disable-pip-version-check",
            "--quiet",
            "--target",
        ])
        .arg(&target)
        .arg("--requirement")
        .arg(&requirements)
        .env("PIP_ROOT_USER_ACTION", "ignore")
        .status()
        .with_context(|| {
            format!(
                "cannot run `{} -m pip`: Python plugins need python3 with pip once, to install \
                 {requirement} (or set GS_PYTHON)",
                python().display()
            )
        })?;
    if !status.success() {
        bail!(
            "`pip install {requirement}` failed ({status}); its messages are above (a hash \
             mismatch means the wheel is not one PyPI published for {requirement})\n\
             hint: gs needs PyPI once to install componentize-py; or install it yourself with \
             `pip install --target {} {requirement}`",
            dir.display()
        );
    }
    if let Err(e) = std::fs::rename(&target, &dir) {
        if !dir.join("componentize_py/__init__.py").is_file() {
            return Err(e)
                .with_context(|| format!("cannot move componentize-py to `{}`", dir.display()));
        }
    }
    Ok(ComponentizePy { dir })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn componentize_py_is_pinned_by_version_and_wheel_hashes() {
        let line = componentize_py_requirement();
        assert!(line.starts_with(&format!("componentize-py=={COMPONENTIZE_PY_VERSION} ")));
        let hashes: Vec<&str> = line
            .split_whitespace()
            .filter_map(|word| word.strip_prefix("--hash=sha256:"))
            .collect();
        assert_eq!(hashes.len(), 5, "{line}");
        assert!(
            hashes
                .iter()
                .all(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit())),
            "{line}"
        );
    }

    #[test]
    fn pyproject_fields_come_from_the_project_table() {
        let text = "[build-system]\nname = \"nope\"\n[project]\nname = \"my-model\"\n\
                    version = \"0.2.0\"\n[tool.x]\nversion = \"9\"\n";
        assert_eq!(project_field(text, "name").as_deref(), Some("my-model"));
        assert_eq!(project_field(text, "version").as_deref(), Some("0.2.0"));
        assert_eq!(project_field(text, "license"), None);
    }

    #[test]
    fn the_sdk_version_is_read_from_the_package() {
        let dir = tempfile::tempdir().unwrap();
        let init = dir.path().join("__init__.py");
        std::fs::write(&init, "X = 1\nSDK_VERSION = \"0.3.1\"\n").unwrap();
        assert_eq!(sdk_version(&init).unwrap(), "0.3.1");
        std::fs::write(&init, "X = 1\n").unwrap();
        assert!(
            sdk_version(&init)
                .unwrap_err()
                .to_string()
                .contains("SDK_VERSION")
        );
    }
}
