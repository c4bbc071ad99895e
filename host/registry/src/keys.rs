//! ed25519 signing keys: `gs plugin keygen --output PREFIX` writes `PREFIX` (the private key,
//! PKCS#8 PEM, created with mode 0600) and `PREFIX.pub` (the public key, SPKI PEM); both are
//! what `openssl pkey` reads. A key is named by its id, the first 16 hex digits of the SHA-256
//! of its 32 public bytes.

use std::path::{Path, PathBuf};

use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use ed25519_dalek::{Signer, SigningKey, Verifier, VerifyingKey};

use crate::digest::Digest;
use crate::error::{RegistryError, Result};
use crate::fs::{write_atomic, write_atomic_mode};

/// A public key with where it came from.
#[derive(Debug, Clone)]
pub struct PublicKey {
    pub key: VerifyingKey,
    pub origin: PathBuf,
}

impl PublicKey {
    pub fn load(path: &Path) -> Result<PublicKey> {
        let text = std::fs::read_to_string(path).map_err(|e| RegistryError::file(path, e))?;
        let key = VerifyingKey::from_public_key_pem(&text).map_err(|e| {
            RegistryError::file(
                path,
                format!(
                    "is not an ed25519 public key in PEM ({e})\nhint: pass the `.pub` file that \
                     `gs plugin keygen` wrote"
                ),
            )
        })?;
        Ok(PublicKey {
            key,
            origin: path.to_path_buf(),
        })
    }

    pub fn id(&self) -> String {
        key_id(&self.key)
    }

    pub fn verifies(&self, message: &[u8], signature: &[u8]) -> bool {
        let Ok(signature) = ed25519_dalek::Signature::from_slice(signature) else {
            return false;
        };
        self.key.verify(message, &signature).is_ok()
    }
}

pub(crate) fn key_id(key: &VerifyingKey) -> String {
    Digest::of(key.as_bytes()).hex()[..16].to_string()
}

/// A private key loaded for signing.
pub struct PrivateKey {
    key: SigningKey,
}

impl PrivateKey {
    pub fn load(path: &Path) -> Result<PrivateKey> {
        let text = std::fs::read_to_string(path).map_err(|e| RegistryError::file(path, e))?;
        let key = SigningKey::from_pkcs8_pem(&text).map_err(|e| {
            RegistryError::file(
                path,
                format!(
                    "is not an ed25519 private key in PKCS#8 PEM ({e})\nhint: pass the PREFIX \
                     that `gs plugin keygen --output PREFIX` wrote (not PREFIX.pub)"
                ),
            )
        })?;
        Ok(PrivateKey { key })
    }

    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.key.sign(message).to_bytes()
    }

    pub fn id(&self) -> String {
        key_id(&self.key.verifying_key())
    }
}

/// Writes a new key pair to `prefix` and `prefix.pub`; refuses to overwrite either.
pub fn keygen(prefix: &Path) -> Result<String> {
    let public = public_path(prefix);
    for path in [prefix, public.as_path()] {
        if path.exists() {
            return Err(RegistryError::file(
                path,
                "already exists; gs never overwrites a key\nhint: choose another --output, or \
                 delete the old pair first",
            ));
        }
    }
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| {
        RegistryError::file(prefix, format!("cannot get random bytes for a key: {e}"))
    })?;
    let key = SigningKey::from_bytes(&seed);
    let private = key
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| RegistryError::file(prefix, e))?;
    let public_pem = key
        .verifying_key()
        .to_public_key_pem(LineEnding::LF)
        .map_err(|e| RegistryError::file(&public, e))?;
    write_atomic_mode(prefix, private.as_bytes(), Some(0o600))?;
    write_atomic(&public, public_pem.as_bytes())?;
    Ok(key_id(&key.verifying_key()))
}

/// `PREFIX.pub`.
pub fn public_path(prefix: &Path) -> PathBuf {
    let mut name = prefix.as_os_str().to_owned();
    name.push(".pub");
    PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keygen_writes_a_private_key_only_its_owner_reads_and_a_public_key_that_verifies() {
        let dir = tempfile::tempdir().unwrap();
        let prefix = dir.path().join("team");
        let id = keygen(&prefix).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&prefix).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let private = PrivateKey::load(&prefix).unwrap();
        let public = PublicKey::load(&public_path(&prefix)).unwrap();
        assert_eq!(private.id(), id);
        assert_eq!(public.id(), id);
        let signature = private.sign(b"sha256:abc");
        assert!(public.verifies(b"sha256:abc", &signature));
        assert!(!public.verifies(b"sha256:abd", &signature));
        assert!(
            keygen(&prefix)
                .unwrap_err()
                .to_string()
                .contains("already exists")
        );
        let err = PrivateKey::load(&public_path(&prefix))
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("not PREFIX.pub"), "{err}");
    }
}
