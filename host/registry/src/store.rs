//! What the push, pull and signature code needs of a place that holds artifacts: blobs by
//! digest, manifests by tag or digest, and the referrers of a manifest. A registry
//! ([`crate::remote`]) and an image-layout directory ([`crate::layout`]) both provide it.

use crate::artifact::Descriptor;
use crate::digest::Digest;
use crate::error::Result;
use crate::reference::Version;

pub(crate) trait Store {
    /// Uploads a blob unless the store already has it.
    fn put_blob(&self, bytes: &[u8], digest: &Digest) -> Result<()>;
    /// A blob's bytes, checked against the descriptor's digest and size; `what` names it in
    /// errors ("the component layer").
    fn get_blob(&self, descriptor: &Descriptor, what: &str) -> Result<Vec<u8>>;
    /// Stores a manifest (its blobs first), under `tag` when given.
    fn put_manifest(&self, bytes: &[u8], media_type: &str, tag: Option<&str>) -> Result<()>;
    /// A manifest's bytes and their digest. For a digest the bytes are checked against it;
    /// for a tag the digest is computed from the bytes, never taken from the server.
    fn get_manifest(&self, version: &Version) -> Result<(Vec<u8>, Digest)>;
    /// The manifests whose `subject` is `subject` and whose artifact type is `artifact_type`.
    fn referrers(&self, subject: &Digest, artifact_type: &str) -> Result<Vec<Descriptor>>;
    /// Records `referrer` (already stored) as a referrer of `subject`, where the store needs
    /// an index of its own for that (a registry without the referrers API, a layout).
    fn add_referrer(&self, subject: &Digest, referrer: Descriptor) -> Result<()>;
}
