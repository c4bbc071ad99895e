//! Plugin references: `oci://host[:port]/path[:tag|@sha256:…]` for a registry and
//! `oci-layout:DIR[:tag|@sha256:…]` for an offline OCI image-layout directory.

use std::fmt;
use std::path::PathBuf;

use crate::digest::Digest;
use crate::error::RegistryError;

pub(crate) const OCI_SCHEME: &str = "oci://";
pub(crate) const LAYOUT_SCHEME: &str = "oci-layout:";

/// Whether `text` names a registry or layout artifact rather than a file or built-in name.
pub fn is_reference(text: &str) -> bool {
    text.starts_with(OCI_SCHEME) || text.starts_with(LAYOUT_SCHEME)
}

/// Where an artifact lives.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Location {
    /// A registry: `host[:port]` and the repository path.
    Registry { host: String, repository: String },
    /// An OCI image-layout directory.
    Layout { dir: PathBuf },
}

/// Which version of the artifact: a tag (mutable) or a manifest digest (immutable).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Version {
    Tag(String),
    Digest(Digest),
}

/// A parsed reference.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reference {
    pub location: Location,
    pub version: Version,
}

impl Reference {
    pub fn parse(text: &str) -> Result<Reference, RegistryError> {
        let bad = |why: &str| RegistryError::BadReference {
            reference: text.to_string(),
            why: why.to_string(),
        };
        let (location, rest_version) = if let Some(rest) = text.strip_prefix(OCI_SCHEME) {
            let (path, version) = split_version(rest).map_err(|w| bad(&w))?;
            let Some((host, repository)) = path.split_once('/') else {
                return Err(bad(
                    "it names no repository; write oci://host[:port]/namespace/name:tag",
                ));
            };
            if host.is_empty() || repository.is_empty() || repository.ends_with('/') {
                return Err(bad("the host or the repository is empty"));
            }
            if !repository
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-/".contains(c))
            {
                return Err(bad(
                    "a repository path has lowercase letters, digits, `.`, `_`, `-` and `/` only",
                ));
            }
            (
                Location::Registry {
                    host: host.to_string(),
                    repository: repository.to_string(),
                },
                version,
            )
        } else if let Some(rest) = text.strip_prefix(LAYOUT_SCHEME) {
            let (dir, version) = split_version(rest).map_err(|w| bad(&w))?;
            if dir.is_empty() {
                return Err(bad("it names no directory; write oci-layout:DIR:tag"));
            }
            (
                Location::Layout {
                    dir: PathBuf::from(dir),
                },
                version,
            )
        } else {
            return Err(bad("it starts with neither oci:// nor oci-layout:"));
        };
        let version = match rest_version {
            Some(v) => v,
            None => Version::Tag("latest".to_string()),
        };
        Ok(Reference { location, version })
    }

    /// The same artifact pinned to `digest`.
    pub fn with_digest(&self, digest: &Digest) -> Reference {
        Reference {
            location: self.location.clone(),
            version: Version::Digest(digest.clone()),
        }
    }

    /// The same location with `tag`.
    pub fn with_tag(&self, tag: &str) -> Reference {
        Reference {
            location: self.location.clone(),
            version: Version::Tag(tag.to_string()),
        }
    }

    /// `oci://host/repo` or `oci-layout:DIR`, without the version: what a trust policy's
    /// namespace prefixes are matched against.
    pub fn location_text(&self) -> String {
        match &self.location {
            Location::Registry { host, repository } => format!("{OCI_SCHEME}{host}/{repository}"),
            Location::Layout { dir } => format!("{LAYOUT_SCHEME}{}", dir.display()),
        }
    }

    pub fn tag(&self) -> Option<&str> {
        match &self.version {
            Version::Tag(t) => Some(t),
            Version::Digest(_) => None,
        }
    }
}

/// Splits `path[:tag|@sha256:hex]` where a tag follows the last `/`.
fn split_version(rest: &str) -> Result<(&str, Option<Version>), String> {
    if let Some((path, digest)) = rest.rsplit_once('@') {
        let digest = Digest::parse(digest).map_err(|e| e.to_string())?;
        return Ok((path, Some(Version::Digest(digest))));
    }
    let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
    match rest[last_slash..].rfind(':') {
        Some(i) => {
            let (path, tag) = rest.split_at(last_slash + i);
            let tag = &tag[1..];
            let valid = !tag.is_empty()
                && tag.len() <= 128
                && tag
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
                && !tag.starts_with(['.', '-']);
            if !valid {
                return Err(format!(
                    "`{tag}` is not a tag (letters, digits, `.`, `_`, `-`; at most 128)"
                ));
            }
            Ok((path, Some(Version::Tag(tag.to_string()))))
        }
        None => Ok((rest, None)),
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.location_text())?;
        match &self.version {
            Version::Tag(t) => write!(f, ":{t}"),
            Version::Digest(d) => write!(f, "@{d}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "9cfd0000000000000000000000000000000000000000000000000000000000aa";

    #[test]
    fn registry_references_parse_with_tag_digest_or_latest() {
        let r = Reference::parse("oci://127.0.0.1:5000/team/sage:1.0").unwrap();
        assert_eq!(
            r.location,
            Location::Registry {
                host: "127.0.0.1:5000".into(),
                repository: "team/sage".into()
            }
        );
        assert_eq!(r.version, Version::Tag("1.0".into()));
        assert_eq!(r.to_string(), "oci://127.0.0.1:5000/team/sage:1.0");
        let d = Reference::parse(&format!("oci://reg.example/sage@sha256:{HEX}")).unwrap();
        assert_eq!(
            d.version,
            Version::Digest(Digest::parse(&format!("sha256:{HEX}")).unwrap())
        );
        let latest = Reference::parse("oci://reg.example:443/a/b").unwrap();
        assert_eq!(latest.tag(), Some("latest"));
    }

    #[test]
    fn layout_references_keep_colons_of_the_directory() {
        let r = Reference::parse("oci-layout:/srv/plugins:v1").unwrap();
        assert_eq!(
            r.location,
            Location::Layout {
                dir: "/srv/plugins".into()
            }
        );
        assert_eq!(r.tag(), Some("v1"));
        let rel = Reference::parse("oci-layout:store").unwrap();
        assert_eq!(rel.tag(), Some("latest"));
        let r = Reference::parse("oci-layout:dir/with:colon/x:t").unwrap();
        assert_eq!(
            r.location,
            Location::Layout {
                dir: "dir/with:colon/x".into()
            }
        );
    }

    #[test]
    fn bad_references_say_what_is_wrong() {
        for (text, needle) in [
            ("oci://host-only", "no repository"),
            ("oci://h/Upper/x:1", "lowercase"),
            ("oci://h/x:bad tag", "not a tag"),
            ("oci://h/x@sha256:12", "64 lowercase hex"),
            ("oci-layout::t", "no directory"),
            ("http://h/x", "neither"),
        ] {
            let err = Reference::parse(text).unwrap_err().to_string();
            assert!(err.contains(text) && err.contains(needle), "{text}: {err}");
        }
    }
}
