//! A registry speaking the OCI distribution API, through `oci-client`, on a small tokio
//! runtime of its own so that callers stay synchronous.
//!
//! Plain HTTP is used for loopback hosts (`127.0.0.1`, `localhost`, `[::1]`) and for hosts
//! listed in `GS_INSECURE_REGISTRIES` (comma-separated `host:port`); everything else is HTTPS.
//! `GS_REGISTRY_TIMEOUT_S` (default 30) bounds connecting and each read.
//!
//! The client checks blobs against their descriptors and manifests against the reference's
//! digest and the `Docker-Content-Digest` header; gs checks them again itself, and computes a
//! tag's manifest digest from the bytes it got, so a server that strips the header cannot
//! slip a different manifest past a lock or a signature.

use std::time::Duration;

use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::errors::{OciDistributionError, OciErrorCode};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, RegistryOperation};

use crate::artifact::{Descriptor, INDEX_MEDIA_TYPE, Index, MANIFEST_MEDIA_TYPE};
use crate::digest::Digest;
use crate::error::{RegistryError, Result};
use crate::reference::Version;
use crate::store::Store;

const DEFAULT_TIMEOUT_S: u64 = 30;

pub(crate) struct RemoteStore {
    client: Client,
    runtime: tokio::runtime::Runtime,
    host: String,
    repository: String,
    auth: RegistryAuth,
    /// The reference as the user gave it, for messages.
    display: String,
    timeout: Duration,
}

impl RemoteStore {
    /// A client for `host`'s `repository`; `display` (the reference as given) names it in errors.
    pub(crate) fn new(host: &str, repository: &str, display: &str) -> Result<RemoteStore> {
        let timeout = Duration::from_secs(
            std::env::var("GS_REGISTRY_TIMEOUT_S")
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or(DEFAULT_TIMEOUT_S),
        );
        let protocol = if is_insecure(host) {
            ClientProtocol::HttpsExcept(vec![host.to_string()])
        } else {
            ClientProtocol::Https
        };
        let client = Client::new(ClientConfig {
            protocol,
            connect_timeout: Some(timeout),
            read_timeout: Some(timeout),
            user_agent: concat!("gs/", env!("CARGO_PKG_VERSION")),
            ..ClientConfig::default()
        });
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| RegistryError::Transport {
                reference: format!("oci://{host}/{repository}"),
                message: format!("cannot start the network runtime: {e}"),
                hint: "this is a bug or an exhausted machine".into(),
            })?;
        let auth = match crate::auth::basic_credentials(host) {
            Some((user, password)) => RegistryAuth::Basic(user, password),
            None => RegistryAuth::Anonymous,
        };
        Ok(RemoteStore {
            client,
            runtime,
            host: host.to_string(),
            repository: repository.to_string(),
            auth,
            display: display.to_string(),
            timeout,
        })
    }

    fn reference(&self, version: &Version) -> oci_client::Reference {
        match version {
            Version::Tag(tag) => oci_client::Reference::with_tag(
                self.host.clone(),
                self.repository.clone(),
                tag.clone(),
            ),
            Version::Digest(d) => oci_client::Reference::with_digest(
                self.host.clone(),
                self.repository.clone(),
                d.to_string(),
            ),
        }
    }

    /// Authenticates once for `operation` (a no-op for anonymous access without a challenge).
    fn authenticate(&self, operation: RegistryOperation) -> Result<()> {
        let reference = self.reference(&Version::Tag("latest".into()));
        self.runtime
            .block_on(self.client.auth(&reference, &self.auth, operation))
            .map(|_| ())
            .map_err(|e| self.error(e, "authenticating"))
    }

    /// Turns a client error into one that names the reference and says what would fix it.
    fn error(&self, error: OciDistributionError, doing: &str) -> RegistryError {
        let reference = self.display.clone();
        let transport = |message: String, hint: &str| RegistryError::Transport {
            reference: reference.clone(),
            message,
            hint: hint.to_string(),
        };
        match &error {
            OciDistributionError::RequestError(e) if e.is_timeout() => transport(
                format!(
                    "{doing}: the registry did not answer within {:?}",
                    self.timeout
                ),
                "check that the registry is up and reachable; GS_REGISTRY_TIMEOUT_S sets the limit",
            ),
            OciDistributionError::RequestError(e) if e.is_connect() => transport(
                format!(
                    "{doing}: cannot connect to {} ({})",
                    self.host,
                    source_chain(e)
                ),
                "is the registry running, and is host:port right? (plain HTTP is used only for \
                 loopback hosts and GS_INSECURE_REGISTRIES)",
            ),
            OciDistributionError::RequestError(e)
                if e.status()
                    .is_some_and(|s| s.as_u16() == 401 || s.as_u16() == 403) =>
            {
                transport(
                    format!("{doing}: the registry refused the credentials ({e})"),
                    &credentials_hint(&self.host),
                )
            }
            OciDistributionError::UnauthorizedError { .. }
            | OciDistributionError::AuthenticationFailure(_)
            | OciDistributionError::ServerError {
                code: 401 | 403, ..
            } => transport(
                format!("{doing}: the registry refused the credentials ({error})"),
                &credentials_hint(&self.host),
            ),
            OciDistributionError::ImageManifestNotFoundError(_) => RegistryError::NotFound {
                reference,
                what: "the manifest".into(),
                hint: "check the tag or digest (`gs plugin push` publishes one)".into(),
            },
            OciDistributionError::RegistryError { envelope, .. }
                if envelope.errors.iter().any(|e| {
                    matches!(
                        e.code,
                        OciErrorCode::ManifestUnknown
                            | OciErrorCode::BlobUnknown
                            | OciErrorCode::NameUnknown
                            | OciErrorCode::NotFound
                    )
                }) =>
            {
                RegistryError::NotFound {
                    reference,
                    what: format!("{doing}: {envelope}"),
                    hint: "check the tag or digest (`gs plugin push` publishes one)".into(),
                }
            }
            OciDistributionError::RegistryError { envelope, .. }
                if envelope.errors.iter().any(|e| {
                    matches!(e.code, OciErrorCode::Unauthorized | OciErrorCode::Denied)
                }) =>
            {
                transport(
                    format!("{doing}: the registry refused the credentials ({envelope})"),
                    &credentials_hint(&self.host),
                )
            }
            OciDistributionError::ServerError { code: 404, .. } => RegistryError::NotFound {
                reference,
                what: format!("{doing}: HTTP 404"),
                hint: "check the tag or digest".into(),
            },
            _ => transport(
                format!("{doing}: {}", error_chain(&error)),
                "check the registry's address and its logs",
            ),
        }
    }
}

fn credentials_hint(host: &str) -> String {
    format!(
        "put basic credentials for `{host}` under `auths` in ~/.docker/config.json (or \
         $DOCKER_CONFIG/config.json), e.g. with `docker login {host}`"
    )
}

fn is_insecure(host: &str) -> bool {
    let name = host.rsplit_once(':').map_or(host, |(h, _)| h);
    if matches!(name, "localhost" | "[::1]") || name.starts_with("127.") {
        return true;
    }
    std::env::var("GS_INSECURE_REGISTRIES")
        .unwrap_or_default()
        .split(',')
        .any(|h| h.trim() == host)
}

fn source_chain(error: &dyn std::error::Error) -> String {
    let mut text = String::new();
    let mut next = error.source();
    while let Some(e) = next {
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&e.to_string());
        next = e.source();
    }
    if text.is_empty() {
        error.to_string()
    } else {
        text
    }
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut next = error.source();
    while let Some(e) = next {
        text.push_str(": ");
        text.push_str(&e.to_string());
        next = e.source();
    }
    text
}

impl Store for RemoteStore {
    fn put_blob(&self, bytes: &[u8], digest: &Digest) -> Result<()> {
        self.authenticate(RegistryOperation::Push)?;
        let reference = self.reference(&Version::Tag("latest".into()));
        let exists = self
            .runtime
            .block_on(self.client.blob_exists(&reference, &digest.to_string()))
            .map_err(|e| self.error(e, &format!("checking blob {digest}")))?;
        if exists {
            return Ok(());
        }
        self.runtime
            .block_on(
                self.client
                    .push_blob(&reference, bytes.to_vec(), &digest.to_string()),
            )
            .map(|_| ())
            .map_err(|e| self.error(e, &format!("uploading blob {digest}")))
    }

    fn get_blob(&self, descriptor: &Descriptor, what: &str) -> Result<Vec<u8>> {
        self.authenticate(RegistryOperation::Pull)?;
        let reference = self.reference(&Version::Digest(descriptor.digest.clone()));
        let mut bytes = Vec::with_capacity(descriptor.size.min(1 << 30) as usize);
        let digest = descriptor.digest.to_string();
        self.runtime
            .block_on(
                self.client
                    .pull_blob(&reference, digest.as_str(), &mut bytes),
            )
            .map_err(|e| match e {
                OciDistributionError::DigestError(_) => RegistryError::Mismatch {
                    what: format!("{what} of {}", self.display),
                    expected: descriptor.digest.clone(),
                    found: format!("other bytes ({e})"),
                },
                e => self.error(e, &format!("downloading {what} {}", descriptor.digest)),
            })?;
        descriptor.digest.verify(
            &bytes,
            Some(descriptor.size),
            &format!("{what} of {}", self.display),
        )?;
        Ok(bytes)
    }

    fn put_manifest(&self, bytes: &[u8], media_type: &str, tag: Option<&str>) -> Result<()> {
        self.authenticate(RegistryOperation::Push)?;
        let digest = Digest::of(bytes);
        let version = match tag {
            Some(tag) => Version::Tag(tag.to_string()),
            None => Version::Digest(digest.clone()),
        };
        let content_type = media_type.parse().map_err(|_| RegistryError::Transport {
            reference: self.display.clone(),
            message: format!("`{media_type}` is not a header value"),
            hint: "this is a bug".into(),
        })?;
        self.runtime
            .block_on(self.client.push_manifest_raw(
                &self.reference(&version),
                bytes.to_vec(),
                content_type,
            ))
            .map(|_| ())
            .map_err(|e| self.error(e, &format!("uploading manifest {digest}")))
    }

    fn get_manifest(&self, version: &Version) -> Result<(Vec<u8>, Digest)> {
        self.authenticate(RegistryOperation::Pull)?;
        let (bytes, _) = self
            .runtime
            .block_on(self.client.pull_manifest_raw(
                &self.reference(version),
                &self.auth,
                &[MANIFEST_MEDIA_TYPE, INDEX_MEDIA_TYPE],
            ))
            .map_err(|e| match (e, version) {
                (OciDistributionError::DigestError(e), Version::Digest(d)) => {
                    RegistryError::Mismatch {
                        what: format!("the manifest of {}", self.display),
                        expected: d.clone(),
                        found: format!("other bytes ({e})"),
                    }
                }
                (e, _) => self.error(e, "fetching the manifest"),
            })?;
        let digest = Digest::of(&bytes);
        if let Version::Digest(expected) = version {
            expected.verify(&bytes, None, &format!("the manifest of {}", self.display))?;
        }
        Ok((bytes.to_vec(), digest))
    }

    fn referrers(&self, subject: &Digest, artifact_type: &str) -> Result<Vec<Descriptor>> {
        self.authenticate(RegistryOperation::Pull)?;
        // oci-client asks the referrers API and, on 404, reads the fallback tag; a missing tag
        // (or a registry error on that path) is an empty index, so callers fail closed.
        let index = self
            .runtime
            .block_on(self.client.pull_referrers(
                &self.reference(&Version::Digest(subject.clone())),
                Some(artifact_type),
            ))
            .map_err(|e| self.error(e, &format!("listing the referrers of {subject}")))?;
        let json = serde_json::to_vec(&index).expect("json");
        let index: Index = serde_json::from_slice(&json).map_err(|e| RegistryError::Transport {
            reference: self.display.clone(),
            message: format!("the referrers index of {subject} is malformed ({e})"),
            hint: "check the registry".into(),
        })?;
        Ok(index
            .manifests
            .into_iter()
            .filter(|d| d.artifact_type.as_deref() == Some(artifact_type))
            .collect())
    }

    fn add_referrer(&self, subject: &Digest, referrer: Descriptor) -> Result<()> {
        // The referrers tag scheme: read `sha256-<hex>` (or start empty), add, write back. A
        // registry with the referrers API indexes the manifest itself; the tag is harmless there.
        let tag = Version::Tag(subject.referrers_tag());
        let mut index = match self.get_manifest(&tag) {
            Ok((bytes, _)) => serde_json::from_slice(&bytes).unwrap_or_default(),
            Err(RegistryError::NotFound { .. }) => Index::default(),
            Err(e) => return Err(e),
        };
        if index.manifests.iter().any(|d| d.digest == referrer.digest) {
            return Ok(());
        }
        index.manifests.push(referrer);
        let bytes = serde_json::to_vec(&index).expect("json");
        self.put_manifest(&bytes, INDEX_MEDIA_TYPE, Some(&subject.referrers_tag()))
    }
}
