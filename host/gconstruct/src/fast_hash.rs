//! A fast hasher for raw-id maps. Raw ids are read from the user's own tables, so SipHash's
//! protection against chosen keys buys nothing here and costs most of a lookup.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// Multiplier of the word mix (FxHash's) and of the final fold (the golden ratio).
const MIX: u64 = 0x51_7c_c1_b7_27_22_0a_95;
const FOLD: u64 = 0x9E37_79B9_7F4A_7C15;

/// FxHash-style word mixing with a folded-multiply finish, so that ids with a common stride
/// still spread over the table's low bits.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct IdHasher(u64);

impl IdHasher {
    fn mix(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(MIX);
    }
}

impl Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.mix(u64::from_le_bytes(c.try_into().expect("8 bytes")));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.mix(u64::from_le_bytes(word));
        }
    }

    fn write_u8(&mut self, x: u8) {
        self.mix(u64::from(x));
    }

    fn write_u64(&mut self, x: u64) {
        self.mix(x);
    }

    fn write_i64(&mut self, x: i64) {
        self.mix(x as u64);
    }

    fn write_usize(&mut self, x: usize) {
        self.mix(x as u64);
    }

    fn finish(&self) -> u64 {
        let p = u128::from(self.0) * u128::from(FOLD);
        (p as u64) ^ ((p >> 64) as u64)
    }
}

/// A `HashMap` hashed with [`IdHasher`].
pub(crate) type IdHashMap<K, V> = HashMap<K, V, BuildHasherDefault<IdHasher>>;

/// An empty [`IdHashMap`] with room for `n` entries.
pub(crate) fn id_hash_map<K, V>(n: usize) -> IdHashMap<K, V> {
    IdHashMap::with_capacity_and_hasher(n, BuildHasherDefault::default())
}
