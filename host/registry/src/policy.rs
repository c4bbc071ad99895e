//! The trust policy: which public keys are trusted for which registry namespace, and whether
//! unsigned plugins are refused. It is a TOML file, `trust-policy.toml` in the user's config
//! directory (`$XDG_CONFIG_HOME/gs`, else `~/.config/gs`) or the file `--trust-policy` names:
//!
//! ```toml
//! # Plugins from references no namespace matches:
//! [default]
//! require_signature = false
//!
//! # The longest matching prefix wins; a prefix matches whole path segments.
//! [[namespace]]
//! prefix = "oci://registry.example/team"
//! keys = ["team.pub"]             # PEM files from `gs plugin keygen`, relative to this file
//! require_signature = true        # refuse plugins with no signature by one of `keys`
//! ```
//!
//! A plugin of a namespace with keys is always checked; a signature that does not verify is
//! reported. With `require_signature` it is refused unless one verifies.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{RegistryError, Result};
use crate::keys::PublicKey;

pub const POLICY_FILE: &str = "trust-policy.toml";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyDocument {
    #[serde(default)]
    default: DefaultRule,
    #[serde(default)]
    namespace: Vec<NamespaceDocument>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DefaultRule {
    #[serde(default)]
    require_signature: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NamespaceDocument {
    prefix: String,
    #[serde(default)]
    keys: Vec<PathBuf>,
    #[serde(default = "yes")]
    require_signature: bool,
}

fn yes() -> bool {
    true
}

/// What the policy asks of one reference.
#[derive(Debug, Clone)]
pub struct Rule {
    /// The matching prefix, or `None` for the default rule.
    pub prefix: Option<String>,
    pub keys: Vec<PublicKey>,
    pub require_signature: bool,
}

#[derive(Debug)]
pub struct TrustPolicy {
    pub path: PathBuf,
    default_require: bool,
    namespaces: Vec<Rule>,
}

impl TrustPolicy {
    /// The policy `explicit` names (which must exist), else the user's, else none.
    pub fn find(explicit: Option<&Path>) -> Result<Option<TrustPolicy>> {
        if let Some(path) = explicit {
            return TrustPolicy::load(path).map(Some);
        }
        match user_policy_path() {
            Some(path) if path.exists() => TrustPolicy::load(&path).map(Some),
            _ => Ok(None),
        }
    }

    pub fn load(path: &Path) -> Result<TrustPolicy> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            RegistryError::file(path, format!("cannot read the trust policy ({e})"))
        })?;
        let doc: PolicyDocument = toml::from_str(&text)
            .map_err(|e| RegistryError::file(path, format!("is not a gs trust policy ({e})")))?;
        let base = path.parent().unwrap_or(Path::new("."));
        let mut namespaces = Vec::new();
        for ns in doc.namespace {
            if !crate::reference::is_reference(&ns.prefix) {
                return Err(RegistryError::file(
                    path,
                    format!(
                        "namespace prefix `{}` is not a reference prefix\nhint: write \
                         oci://host[:port]/path or oci-layout:DIR",
                        ns.prefix
                    ),
                ));
            }
            if ns.require_signature && ns.keys.is_empty() {
                return Err(RegistryError::file(
                    path,
                    format!(
                        "namespace `{}` requires signatures but lists no keys, so nothing could \
                         pass\nhint: add `keys = [\"team.pub\"]`",
                        ns.prefix
                    ),
                ));
            }
            let keys = ns
                .keys
                .iter()
                .map(|k| PublicKey::load(&base.join(k)))
                .collect::<Result<Vec<_>>>()?;
            namespaces.push(Rule {
                prefix: Some(ns.prefix.trim_end_matches('/').to_string()),
                keys,
                require_signature: ns.require_signature,
            });
        }
        Ok(TrustPolicy {
            path: path.to_path_buf(),
            default_require: doc.default.require_signature,
            namespaces,
        })
    }

    /// The rule for a reference's location (`oci://host/repo` or `oci-layout:DIR`).
    pub fn rule_for(&self, location: &str) -> Rule {
        self.namespaces
            .iter()
            .filter(|r| {
                let prefix = r.prefix.as_deref().unwrap_or_default();
                location == prefix
                    || location
                        .strip_prefix(prefix)
                        .is_some_and(|rest| rest.starts_with('/'))
            })
            .max_by_key(|r| r.prefix.as_ref().map_or(0, String::len))
            .cloned()
            .unwrap_or(Rule {
                prefix: None,
                keys: Vec::new(),
                require_signature: self.default_require,
            })
    }
}

/// `$XDG_CONFIG_HOME/gs/trust-policy.toml`, else `~/.config/gs/trust-policy.toml`.
pub fn user_policy_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(base.join("gs").join(POLICY_FILE))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_longest_whole_segment_prefix_wins() {
        let dir = tempfile::tempdir().unwrap();
        crate::keys::keygen(&dir.path().join("team")).unwrap();
        let path = dir.path().join(POLICY_FILE);
        std::fs::write(
            &path,
            r#"
[default]
require_signature = true

[[namespace]]
prefix = "oci://reg.example/team"
keys = ["team.pub"]

[[namespace]]
prefix = "oci://reg.example/team/experimental/"
keys = ["team.pub"]
require_signature = false
"#,
        )
        .unwrap();
        let policy = TrustPolicy::load(&path).unwrap();
        let rule = policy.rule_for("oci://reg.example/team/sage");
        assert!(rule.require_signature && rule.keys.len() == 1);
        assert!(
            !policy
                .rule_for("oci://reg.example/team/experimental/x")
                .require_signature
        );
        let other = policy.rule_for("oci://reg.example/teammate/x");
        assert_eq!(other.prefix, None);
        assert!(other.require_signature && other.keys.is_empty());
    }

    #[test]
    fn a_policy_that_could_pass_nothing_or_names_a_bad_key_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(POLICY_FILE);
        std::fs::write(&path, "[[namespace]]\nprefix = \"oci://h/x\"\n").unwrap();
        let err = TrustPolicy::load(&path).unwrap_err().to_string();
        assert!(err.contains("lists no keys"), "{err}");
        std::fs::write(
            &path,
            "[[namespace]]\nprefix = \"oci://h/x\"\nkeys = [\"missing.pub\"]\n",
        )
        .unwrap();
        let err = TrustPolicy::load(&path).unwrap_err().to_string();
        assert!(err.contains("missing.pub"), "{err}");
        std::fs::write(&path, "[[namespace]]\nprefx = \"oci://h/x\"\n").unwrap();
        let err = TrustPolicy::load(&path).unwrap_err().to_string();
        assert!(err.contains("prefx"), "{err}");
    }
}
