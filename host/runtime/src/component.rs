//! Reading a component before running it: is it a component, which `gs:plugin` version
//! does it export, which SDK built it.

use std::collections::BTreeMap;

use wasmtime::Engine;
use wasmtime::component::InstancePre;
use wasmtime::wasmparser::{Chunk, Parser, Payload};

use crate::PluginError;
use crate::exports::ExportIndices;
use crate::state::HostState;

/// The WIT package plugins are built against.
pub const SUPPORTED_PACKAGE: &str = "gs:plugin";
/// The package version this host implements. Components built against it or an earlier
/// patch of its `0.MINOR` line (0.1.0) load: within a line, versions only add (see `wit/`).
pub const SUPPORTED_VERSION: &str = "0.1.4";
const MODEL_INTERFACE: &str = "gs:plugin/model-api@";
/// The custom section in which an SDK stamps its version (the Rust SDK at compile time, `gs plugin
/// build` for Python).
pub const SDK_VERSION_SECTION: &str = "gs-plugin-sdk-version";
/// The custom section `gs plugin build` writes with the plugin's metadata: UTF-8 `key=value`
/// lines (`language`, `description`, `license`).
pub const METADATA_SECTION: &str = "gs-plugin-metadata";

/// What the host read from a component's bytes.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ComponentInfo {
    /// Where it came from: a path or a built-in name.
    pub source: String,
    /// SHA-256 of the component's bytes, hex.
    pub digest: String,
    /// The `gs:plugin` version of its exported model interface.
    pub package_version: String,
    /// The gs-plugin-sdk version stamped into it, if built with the SDK.
    pub sdk_version: Option<String>,
    pub size_bytes: usize,
    /// The component's imports, as it names them (`gs:plugin/tensors@0.1.4`,
    /// `wasi:io/streams@0.2.6`, …): what a host must give it.
    pub imports: Vec<String>,
    /// Whether a core module in it has a `name` section (function names for backtraces).
    pub has_name_section: bool,
    /// How many DWARF (`.debug_*`) custom sections it carries.
    pub debug_sections: usize,
    /// The `key=value` pairs of its metadata section (`language`, `description`, `license`),
    /// empty without one.
    pub metadata: BTreeMap<String, String>,
}

impl ComponentInfo {
    /// The language its metadata names (`rust`, `python`), if any.
    pub fn language(&self) -> Option<&str> {
        self.metadata.get("language").map(String::as_str)
    }
}

/// A compiled, linked plugin, ready to instantiate (cheaply, many times).
pub struct Plugin {
    pub(crate) info: ComponentInfo,
    pub(crate) pre: InstancePre<HostState>,
    pub(crate) exports: ExportIndices,
    pub(crate) engine: Engine,
}

impl Plugin {
    pub(crate) fn new(
        info: ComponentInfo,
        pre: InstancePre<HostState>,
        exports: ExportIndices,
        engine: Engine,
    ) -> Self {
        Self {
            info,
            pre,
            exports,
            engine,
        }
    }

    /// Whether the component says, after `init`, which tasks its `decode` and `loss` serve
    /// (the `model-capabilities` export, since `gs:plugin@0.1.1`). Without it the host decodes
    /// edge tasks and link prediction itself and calls `decode` once to find out about node
    /// tasks.
    pub fn declares_capabilities(&self) -> bool {
        self.exports.declares_capabilities()
    }

    pub fn info(&self) -> &ComponentInfo {
        &self.info
    }
}

/// `major.minor.patch` of a version (pre-release and build suffixes ignored).
fn version_parts(version: &str) -> Option<(u64, u64, u64)> {
    let mut parts = version.split(['.', '-', '+']);
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    let patch = parts.next()?.parse().ok()?;
    Some((major, minor, patch))
}

/// The compatibility line of a version: `(major, minor)` while the major is 0, else
/// `(major, 0)` (semver).
fn version_line(version: &str) -> Option<(u64, u64)> {
    version_parts(version).map(|(major, minor, _)| (major, if major == 0 { minor } else { 0 }))
}

/// Whether a component built against `version` runs on this host: the same line as
/// [`SUPPORTED_VERSION`] and not a later patch (whose additions this host lacks).
pub(crate) fn is_supported(version: &str) -> bool {
    match (version_parts(version), version_parts(SUPPORTED_VERSION)) {
        (Some(found), Some(host)) => {
            version_line(version) == version_line(SUPPORTED_VERSION) && found <= host
        }
        _ => false,
    }
}

/// What this host supports, for messages: `gs:plugin@0.1.0–0.1.4`.
fn supported_range() -> String {
    match version_parts(SUPPORTED_VERSION) {
        Some((0, minor, patch)) if patch > 0 => {
            format!("{SUPPORTED_PACKAGE}@0.{minor}.0–0.{minor}.{patch}")
        }
        Some((major, _, _)) if major > 0 => {
            format!("{SUPPORTED_PACKAGE}@{major}.0.0–{SUPPORTED_VERSION}")
        }
        _ => format!("{SUPPORTED_PACKAGE}@{SUPPORTED_VERSION}"),
    }
}

/// The payloads of `bytes` and of the modules and components nested in it, as
/// `Parser::parse_all` gives them, but with every code section skipped whole: its function
/// bodies are never read (a Python component has tens of thousands).
fn sections(mut data: &[u8]) -> impl Iterator<Item = Result<Payload<'_>, String>> {
    let mut stack: Vec<Parser> = Vec::new();
    let mut current = Parser::new(0);
    let mut done = false;
    std::iter::from_fn(move || {
        if done {
            return None;
        }
        let payload = match current.parse(data, true) {
            Ok(Chunk::Parsed { consumed, payload }) => {
                data = &data[consumed..];
                payload
            }
            Ok(Chunk::NeedMoreData(_)) => unreachable!("the whole component is given at once"),
            Err(e) => {
                done = true;
                return Some(Err(e.to_string()));
            }
        };
        match &payload {
            Payload::ModuleSection { parser, .. } | Payload::ComponentSection { parser, .. } => {
                stack.push(current.clone());
                current = parser.clone();
            }
            Payload::CodeSectionStart { size, range, .. } => {
                current.skip_section();
                match data.get(*size as usize..) {
                    Some(rest) => data = rest,
                    None => {
                        done = true;
                        return Some(Err(format!(
                            "the code section at byte {} runs past the end of the file",
                            range.start
                        )));
                    }
                }
            }
            Payload::End(_) => match stack.pop() {
                Some(outer) => current = outer,
                None => done = true,
            },
            _ => {}
        }
        Some(Ok(payload))
    })
}

/// Check the bytes of a component: magic, layer, exported model interface and version.
pub(crate) fn inspect(
    source: &str,
    bytes: &[u8],
    digest: String,
) -> Result<ComponentInfo, PluginError> {
    let not_component = |reason: &str, hint: &str| PluginError::NotAComponent {
        plugin: source.to_string(),
        reason: reason.to_string(),
        hint: hint.to_string(),
    };
    const BUILD_HINT: &str =
        "build the plugin with `cargo build --release --target wasm32-wasip2` using gs-plugin-sdk";
    if bytes.len() < 8 || &bytes[0..4] != b"\0asm" {
        return Err(not_component(
            "the file does not start with the WebAssembly magic bytes",
            BUILD_HINT,
        ));
    }
    if bytes[4..8] == [1, 0, 0, 0] {
        return Err(not_component(
            "it is a core WebAssembly module, not a component",
            "build for the `wasm32-wasip2` target (it produces components), or wrap the module with `wasm-tools component new`",
        ));
    }
    let mut depth = 0usize;
    let mut exports = Vec::new();
    let mut imports = Vec::new();
    let mut sdk_version = None;
    let (mut has_name_section, mut debug_sections) = (false, 0);
    let mut metadata = BTreeMap::new();
    for payload in sections(bytes) {
        let payload =
            payload.map_err(|e| not_component(&format!("it is malformed: {e}"), BUILD_HINT))?;
        match payload {
            Payload::Version { .. } => depth += 1,
            Payload::End(_) => depth = depth.saturating_sub(1),
            Payload::ComponentExportSection(reader) if depth == 1 => {
                for export in reader {
                    let export = export
                        .map_err(|e| not_component(&format!("it is malformed: {e}"), BUILD_HINT))?;
                    exports.push(export.name.name.to_string());
                }
            }
            Payload::ComponentImportSection(reader) if depth == 1 => {
                for import in reader {
                    let import = import
                        .map_err(|e| not_component(&format!("it is malformed: {e}"), BUILD_HINT))?;
                    imports.push(import.name.name.to_string());
                }
            }
            Payload::CustomSection(section) if section.name() == SDK_VERSION_SECTION => {
                sdk_version = Some(
                    String::from_utf8_lossy(section.data())
                        .trim_end_matches('\0')
                        .to_string(),
                );
            }
            Payload::CustomSection(section) if section.name() == METADATA_SECTION => {
                let text = String::from_utf8_lossy(section.data());
                for line in text.lines() {
                    if let Some((key, value)) = line.split_once('=') {
                        metadata.insert(key.trim().to_string(), value.trim().to_string());
                    }
                }
            }
            Payload::CustomSection(section) if section.name() == "name" => {
                has_name_section = true;
            }
            Payload::CustomSection(section) if section.name().starts_with(".debug_") => {
                debug_sections += 1;
            }
            _ => {}
        }
    }
    let Some(export) = exports
        .iter()
        .find(|name| name.starts_with(MODEL_INTERFACE))
    else {
        return Err(PluginError::Load {
            plugin: source.to_string(),
            message: format!(
                "it does not export `{MODEL_INTERFACE}{SUPPORTED_VERSION}` (its exports: {exports:?})\n\
                 hint: a gs model plugin is built with gs-plugin-sdk's `export_model!`"
            ),
        });
    };
    let package_version = export[MODEL_INTERFACE.len()..].to_string();
    if !is_supported(&package_version) {
        let newer = version_parts(&package_version) > version_parts(SUPPORTED_VERSION);
        return Err(PluginError::IncompatibleVersion {
            plugin: source.to_string(),
            found: format!("{SUPPORTED_PACKAGE}@{package_version}"),
            supported: supported_range(),
            sdk: sdk_version.as_ref().map_or_else(
                || "no gs-plugin-sdk version stamp".to_string(),
                |v| format!("gs-plugin-sdk {v}"),
            ),
            hint: if newer {
                "upgrade gs, or rebuild the plugin with a gs-plugin-sdk release for this gs"
                    .to_string()
            } else {
                "rebuild the plugin with the gs-plugin-sdk release that matches this gs".to_string()
            },
        });
    }
    Ok(ComponentInfo {
        source: source.to_string(),
        digest,
        package_version,
        sdk_version,
        size_bytes: bytes.len(),
        imports,
        has_name_section,
        debug_sections,
        metadata,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_lines() {
        // Every patch of the 0.1 line up to the host's own.
        assert!(is_supported("0.1.0"));
        assert!(is_supported("0.1.1"));
        assert!(is_supported("0.1.2"));
        assert!(is_supported("0.1.3"));
        assert!(is_supported("0.1.4"));
        // A later patch may call what this host lacks; another line is another contract.
        assert!(!is_supported("0.1.7"));
        assert!(!is_supported("0.2.0"));
        assert!(!is_supported("0.99.0"));
        assert!(!is_supported("0.0.1"));
        assert!(!is_supported("1.1.0"));
        assert!(!is_supported("0.1"));
        assert!(!is_supported("garbage"));
        assert_eq!(supported_range(), "gs:plugin@0.1.0–0.1.4");
    }

    #[test]
    fn rejects_files_that_are_not_components() {
        let err = inspect("x.wasm", b"hello world", String::new()).unwrap_err();
        assert!(err.to_string().contains("magic"), "{err}");
        let core = [0u8, b'a', b's', b'm', 1, 0, 0, 0];
        let err = inspect("m.wasm", &core, String::new()).unwrap_err();
        assert!(err.to_string().contains("core WebAssembly module"), "{err}");
    }
}
