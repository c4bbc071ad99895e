//! Errors of the registry layer: each names the reference (or file) and the digest involved,
//! and says what would fix it.

use std::path::PathBuf;

use crate::digest::Digest;

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error(
        "`{reference}` is not a plugin reference: {why}\nhint: write \
         oci://host[:port]/path[:tag|@sha256:…] or oci-layout:DIR[:tag|@sha256:…]"
    )]
    BadReference { reference: String, why: String },

    #[error("`{digest}` is not a digest: write sha256: followed by 64 lowercase hex digits")]
    BadDigest { digest: String },

    #[error(
        "{what} does not match its digest: expected {expected}, got {found}\nhint: the \
         artifact was modified or damaged in storage or in transit; nothing was cached"
    )]
    Mismatch {
        what: String,
        expected: Digest,
        found: String,
    },

    #[error("{reference}: {message}\nhint: {hint}")]
    Transport {
        reference: String,
        message: String,
        hint: String,
    },

    #[error("{reference}: {what} does not exist\nhint: {hint}")]
    NotFound {
        reference: String,
        what: String,
        hint: String,
    },

    #[error("{reference} (manifest {digest}) is not a gs plugin artifact: {why}")]
    BadArtifact {
        reference: String,
        digest: String,
        why: String,
    },

    #[error("{reference} (component {digest}): {why}")]
    Signature {
        reference: String,
        digest: Digest,
        why: String,
    },

    #[error("`{}`: {message}", path.display())]
    File { path: PathBuf, message: String },
}

impl RegistryError {
    pub(crate) fn file(path: impl Into<PathBuf>, message: impl std::fmt::Display) -> Self {
        RegistryError::File {
            path: path.into(),
            message: message.to_string(),
        }
    }
}

pub type Result<T, E = RegistryError> = std::result::Result<T, E>;
