//! The hash of raw-id maps: foldhash's fast hasher with a fixed seed. Raw ids come from the
//! user's own tables, so SipHash's protection against chosen keys buys nothing here and costs
//! most of a lookup.

use std::collections::HashMap;

/// A `HashMap` hashed with foldhash.
pub(crate) type IdHashMap<K, V> = HashMap<K, V, foldhash::fast::FixedState>;

/// An empty [`IdHashMap`] with room for `n` entries.
pub(crate) fn id_hash_map<K, V>(n: usize) -> IdHashMap<K, V> {
    IdHashMap::with_capacity_and_hasher(n, foldhash::fast::FixedState::default())
}
