//! An open-addressing index from integer raw ids to new ids, built for looking up millions of
//! edge endpoints: one 16-byte slot per probe (key and value on one cache line), linear
//! probing at a load of at most one half, and a batched lookup that issues the first probe of
//! a group of keys before resolving any of them, so that their cache misses overlap.

/// A slot's value when it holds no key.
const EMPTY: u64 = u64::MAX;

/// Keys whose first probes are loaded together by [`IntIndex::get_many`].
const GROUP: usize = 16;

#[derive(Debug, Clone, Copy)]
struct Slot {
    key: i64,
    value: u64,
}

/// Integer raw id -> new id.
#[derive(Debug, Clone)]
pub(crate) struct IntIndex {
    slots: Vec<Slot>,
    mask: usize,
}

impl IntIndex {
    /// An empty index with room for `n` keys.
    pub(crate) fn with_capacity(n: usize) -> IntIndex {
        let len = (2 * n).next_power_of_two().max(16);
        IntIndex {
            slots: vec![
                Slot {
                    key: 0,
                    value: EMPTY,
                };
                len
            ],
            mask: len - 1,
        }
    }

    fn home(&self, key: i64) -> usize {
        // Folded multiply: every bit of the key reaches the low bits used as the slot.
        let p = u128::from(key as u64) * 0x9E37_79B9_7F4A_7C15_u128;
        ((p as u64) ^ ((p >> 64) as u64)) as usize & self.mask
    }

    /// Inserts `key -> value` unless `key` is present; returns the present value then.
    /// `value` must not be `u64::MAX`, and at most the capacity given are inserted.
    pub(crate) fn insert(&mut self, key: i64, value: u64) -> Option<u64> {
        debug_assert_ne!(value, EMPTY);
        let mut i = self.home(key);
        loop {
            let slot = &mut self.slots[i];
            if slot.value == EMPTY {
                *slot = Slot { key, value };
                return None;
            }
            if slot.key == key {
                return Some(slot.value);
            }
            i = (i + 1) & self.mask;
        }
    }

    /// The value of `key`, probing from slot `i`.
    fn probe(&self, key: i64, mut i: usize) -> Option<u64> {
        loop {
            let slot = self.slots[i];
            if slot.value == EMPTY {
                return None;
            }
            if slot.key == key {
                return Some(slot.value);
            }
            i = (i + 1) & self.mask;
        }
    }

    /// The value of `key`.
    pub(crate) fn get(&self, key: i64) -> Option<u64> {
        self.probe(key, self.home(key))
    }

    /// Looks up `keys` into `out` (`missing` for absent keys).
    pub(crate) fn get_many(&self, keys: &[i64], out: &mut [u64], missing: u64) {
        for (keys, out) in keys.chunks(GROUP).zip(out.chunks_mut(GROUP)) {
            // First probes of the whole group, loaded before any is compared.
            let mut first = [Slot {
                key: 0,
                value: EMPTY,
            }; GROUP];
            let mut home = [0usize; GROUP];
            for (j, &k) in keys.iter().enumerate() {
                home[j] = self.home(k);
                first[j] = self.slots[home[j]];
            }
            for (j, (&k, o)) in keys.iter().zip(out.iter_mut()).enumerate() {
                let s = first[j];
                *o = if s.value == EMPTY {
                    missing
                } else if s.key == k {
                    s.value
                } else {
                    self.probe(k, (home[j] + 1) & self.mask).unwrap_or(missing)
                };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inserts_finds_and_reports_duplicates() {
        let keys: Vec<i64> = (0..1000).map(|i| i * 1024 - 7).collect();
        let mut index = IntIndex::with_capacity(keys.len());
        for (i, &k) in keys.iter().enumerate() {
            assert_eq!(index.insert(k, i as u64), None);
        }
        assert_eq!(index.insert(keys[5], 99), Some(5));
        let mut probe: Vec<i64> = keys.clone();
        probe.extend([1, -8, i64::MAX, i64::MIN]);
        let mut out = vec![0; probe.len()];
        index.get_many(&probe, &mut out, u64::MAX);
        for (i, &k) in probe.iter().enumerate() {
            let want = (i < keys.len()).then_some(i as u64);
            assert_eq!(index.get(k), want);
            assert_eq!(out[i], want.unwrap_or(u64::MAX));
        }
    }
}
