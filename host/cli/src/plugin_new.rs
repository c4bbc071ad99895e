//! `gs plugin new NAME [--lang rust|python]`: a plugin project that builds outside this
//! repository.
//!
//! The SDK is not on a package registry, so the project carries it: the `gs-plugin-sdk` sources
//! (Rust) or the `gs_plugin` package (Python) and the `gs:plugin` WIT this binary speaks,
//! embedded at build time ([`crate::embedded_sdk`]). A Rust project also gets a `Cargo.lock`
//! with the versions gs itself was built with (the registry entries of `plugins/Cargo.lock`),
//! so `cargo build --offline` works wherever gs was built.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use crate::embedded_sdk::{PYTHON_SDK_FILES, RUST_SDK_FILES, SDK_LOCK, WIT_FILES};

/// The Rust project template: `(path in the project, text)`, with `{{…}}` placeholders.
const RUST_TEMPLATE: &[(&str, &str)] = &[
    ("Cargo.toml", include_str!("../templates/rust/Cargo.toml")),
    ("README.md", include_str!("../templates/rust/README.md")),
    ("src/lib.rs", include_str!("../templates/rust/src/lib.rs")),
    (
        ".cargo/config.toml",
        include_str!("../templates/rust/.cargo/config.toml"),
    ),
    (".gitignore", include_str!("../templates/rust/gitignore")),
];

/// The Python project template.
const PYTHON_TEMPLATE: &[(&str, &str)] = &[
    ("app.py", include_str!("../templates/python/app.py")),
    (
        "pyproject.toml",
        include_str!("../templates/python/pyproject.toml"),
    ),
    ("README.md", include_str!("../templates/python/README.md")),
    (".gitignore", include_str!("../templates/python/gitignore")),
];

/// The SDK's manifest in a project: the repository's, without the workspace it inherits from.
const SDK_MANIFEST: &str = "\
[package]
name = \"gs-plugin-sdk\"
description = \"Write gs model plugins (wasm32-wasip2 components) in Rust. Written by gs plugin new.\"
version = \"{{sdk_version}}\"
edition = \"2024\"
license = \"Apache-2.0\"
publish = false

[dependencies]
wit-bindgen = \"{{wit_bindgen_version}}\"
";

/// `gs plugin new NAME [--lang rust|python]`: create `NAME/` in `parent` and return its path.
pub(crate) fn run(name: &str, lang: &str, parent: &Path) -> anyhow::Result<PathBuf> {
    let python = match lang {
        "rust" => false,
        "python" => true,
        other => bail!(
            "`--lang {other}` is not a plugin language gs knows; use `--lang rust` or \
             `--lang python`"
        ),
    };
    check_name(name)?;
    let dir = parent.join(name);
    if dir.exists() {
        bail!(
            "`{}` already exists; choose another name or remove it",
            dir.display()
        );
    }
    let lock = Lockfile::parse(SDK_LOCK);
    let values = [
        ("{{name}}", name.to_string()),
        ("{{crate}}", name.replace('-', "_")),
        ("{{module}}", name.replace('-', "_")),
        ("{{struct}}", struct_name(name)),
        ("{{class}}", struct_name(name)),
        ("{{gs_version}}", env!("CARGO_PKG_VERSION").to_string()),
        ("{{wit_version}}", gs_runtime::SUPPORTED_VERSION.to_string()),
        (
            "{{sdk_version}}",
            lock.version_of("gs-plugin-sdk")?.to_string(),
        ),
        (
            "{{wit_bindgen_version}}",
            format!("={}", lock.version_of("wit-bindgen")?),
        ),
    ];
    let fill = |text: &str| {
        values.iter().fold(text.to_string(), |text, (key, value)| {
            text.replace(key, value)
        })
    };
    // Write beside the target and rename, so a failure leaves no half-made project.
    let staging = parent.join(format!(".{name}.new-{}", std::process::id()));
    let written = (|| -> anyhow::Result<()> {
        let (template, sdk) = if python {
            (PYTHON_TEMPLATE, PYTHON_SDK_FILES)
        } else {
            (RUST_TEMPLATE, RUST_SDK_FILES)
        };
        for (path, text) in template {
            write(&staging.join(path), &fill(text))?;
        }
        for (path, text) in sdk.iter().chain(WIT_FILES) {
            write(&staging.join(path), text)?;
        }
        if !python {
            write(
                &staging.join("gs-plugin-sdk/Cargo.toml"),
                &fill(SDK_MANIFEST),
            )?;
            write(&staging.join("Cargo.lock"), &lock.registry_and_sdk())?;
        }
        std::fs::rename(&staging, &dir)
            .with_context(|| format!("cannot move the project to `{}`", dir.display()))
    })();
    if written.is_err() {
        let _ = std::fs::remove_dir_all(&staging);
    }
    written?;
    Ok(dir)
}

fn write(path: &Path, text: &str) -> anyhow::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create `{}`", parent.display()))?;
    }
    std::fs::write(path, text).with_context(|| format!("cannot write `{}`", path.display()))
}

/// A crate name: ASCII letters, digits, `-` and `_`, starting with a letter.
fn check_name(name: &str) -> anyhow::Result<()> {
    let valid = name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if !valid || name == "gs-plugin-sdk" || name == "gs_plugin" {
        bail!(
            "`{name}` cannot name a plugin: use lowercase ASCII letters, digits, `-` and `_`, \
             starting with a letter (`my-model`)"
        );
    }
    Ok(())
}

/// `my-model` → `MyModel`.
fn struct_name(name: &str) -> String {
    name.split(['-', '_'])
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect()
}

/// The guest workspace's `Cargo.lock`, as `[[package]]` entries.
struct Lockfile<'a> {
    header: &'a str,
    packages: Vec<&'a str>,
}

impl<'a> Lockfile<'a> {
    fn parse(text: &'a str) -> Self {
        let mut parts = text.split("\n[[package]]\n");
        let header = parts.next().unwrap_or_default();
        Self {
            header,
            packages: parts.collect(),
        }
    }

    fn name(entry: &str) -> Option<&str> {
        entry
            .lines()
            .find_map(|l| l.strip_prefix("name = \""))
            .and_then(|l| l.strip_suffix('"'))
    }

    fn version_of(&self, package: &str) -> anyhow::Result<&'a str> {
        self.packages
            .iter()
            .find(|entry| Self::name(entry) == Some(package))
            .and_then(|entry| entry.lines().find_map(|l| l.strip_prefix("version = \"")))
            .and_then(|v| v.strip_suffix('"'))
            .with_context(|| format!("this gs was built without `{package}` in its lockfile"))
    }

    /// The entries a plugin project needs: everything from a registry (the SDK's dependencies)
    /// and the SDK itself, without the repository's own plugins.
    fn registry_and_sdk(&self) -> String {
        let mut out = self.header.trim_end().to_string();
        out.push('\n');
        for entry in &self.packages {
            if entry.contains("\nsource = \"registry+")
                || Self::name(entry) == Some("gs-plugin-sdk")
            {
                out.push_str("\n[[package]]\n");
                out.push_str(entry.trim_end());
                out.push('\n');
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_struct_names_and_bad_names_are_refused() {
        assert_eq!(struct_name("my-model"), "MyModel");
        assert_eq!(struct_name("gcn_2"), "Gcn2");
        for bad in ["", "My", "2gcn", "a b", "../x", "gs-plugin-sdk"] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_lock_keeps_registry_packages_and_the_sdk_only() {
        let lock = Lockfile::parse(SDK_LOCK);
        let kept = lock.registry_and_sdk();
        assert!(kept.contains("name = \"wit-bindgen\""));
        assert!(kept.contains("name = \"gs-plugin-sdk\""));
        assert!(!kept.contains("name = \"sage\""), "{kept}");
        assert!(lock.version_of("wit-bindgen").unwrap().starts_with("0.61"));
        assert!(
            RUST_SDK_FILES
                .iter()
                .any(|(p, _)| *p == "gs-plugin-sdk/src/lib.rs")
        );
        assert!(WIT_FILES.iter().any(|(p, _)| *p == "wit/model.wit"));
        assert!(
            PYTHON_SDK_FILES
                .iter()
                .any(|(p, _)| *p == "gs_plugin/__init__.py")
        );
    }

    #[test]
    fn the_python_sdk_states_the_versions_of_the_rust_sdk_and_the_wit() {
        let init = PYTHON_SDK_FILES
            .iter()
            .find(|(p, _)| *p == "gs_plugin/__init__.py")
            .map(|(_, text)| *text)
            .unwrap();
        let sdk = Lockfile::parse(SDK_LOCK)
            .version_of("gs-plugin-sdk")
            .unwrap();
        assert!(init.contains(&format!("\nSDK_VERSION = \"{sdk}\"\n")));
        let wit = gs_runtime::SUPPORTED_VERSION;
        assert!(init.contains(&format!("\nPACKAGE_VERSION = \"{wit}\"\n")));
    }
}
