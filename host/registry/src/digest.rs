//! `sha256:<hex>` content digests, and the one check every blob passes before it is used.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest as _, Sha256};

use crate::error::RegistryError;

/// A SHA-256 content digest.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest {
    hex: String,
}

impl Digest {
    pub fn of(bytes: &[u8]) -> Digest {
        Digest {
            hex: hex::encode(Sha256::digest(bytes)),
        }
    }

    /// `sha256:` followed by 64 lowercase hex digits.
    pub fn parse(text: &str) -> Result<Digest, RegistryError> {
        let bad = || RegistryError::BadDigest {
            digest: text.to_string(),
        };
        let hex = text.strip_prefix("sha256:").ok_or_else(bad)?;
        if hex.len() != 64
            || !hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(bad());
        }
        Ok(Digest {
            hex: hex.to_string(),
        })
    }

    pub fn hex(&self) -> &str {
        &self.hex
    }

    /// `sha256-<hex>`: the referrers tag of the OCI distribution spec's fallback scheme.
    pub fn referrers_tag(&self) -> String {
        format!("sha256-{}", self.hex)
    }

    /// Fails unless `bytes` hash to this digest (and, when given, have `size` bytes).
    pub fn verify(&self, bytes: &[u8], size: Option<u64>, what: &str) -> Result<(), RegistryError> {
        if let Some(size) = size
            && size != bytes.len() as u64
        {
            return Err(RegistryError::Mismatch {
                what: what.to_string(),
                expected: self.clone(),
                found: format!("{} bytes where the manifest says {size}", bytes.len()),
            });
        }
        let actual = Digest::of(bytes);
        if actual != *self {
            return Err(RegistryError::Mismatch {
                what: what.to_string(),
                expected: self.clone(),
                found: actual.to_string(),
            });
        }
        Ok(())
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", self.hex)
    }
}

impl Serialize for Digest {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Digest::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_round_trip_and_verify() {
        let d = Digest::of(b"{}");
        assert_eq!(
            d.to_string(),
            "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
        );
        assert_eq!(Digest::parse(&d.to_string()).unwrap(), d);
        d.verify(b"{}", Some(2), "the config").unwrap();
        let err = d
            .verify(b"{ }", None, "the config")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("the config") && err.contains(&d.to_string()),
            "{err}"
        );
        assert!(d.verify(b"{}", Some(3), "x").is_err());
        assert!(Digest::parse("sha256:ABC").is_err());
        assert!(Digest::parse("sha512:00").is_err());
    }
}
