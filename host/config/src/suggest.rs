//! "Did you mean" suggestions by edit distance.

/// Levenshtein distance between two ASCII-ish strings (by `char`).
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = substitution.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// The closest candidate within edit distance 2 of `word` (the first one on ties).
pub(crate) fn closest<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (edit_distance(word, c), c))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(edit_distance("num_epochs", "num_epochs"), 0);
        assert_eq!(edit_distance("num_epoch", "num_epochs"), 1);
        assert_eq!(edit_distance("nmu_epochs", "num_epochs"), 2);
        assert_eq!(edit_distance("", "abc"), 3);
    }

    #[test]
    fn closest_within_two() {
        let keys = ["lr", "num_epochs", "batch_size"];
        assert_eq!(closest("num_epoch", keys), Some("num_epochs"));
        assert_eq!(closest("batchsize", keys), Some("batch_size"));
        assert_eq!(closest("learning_rate", keys), None);
    }
}
