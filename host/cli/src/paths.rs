//! Where gs keeps its cache (compiled plugins) outside the repository and the working directory.

use std::path::PathBuf;

/// `$GS_CACHE_DIR`, else `$XDG_CACHE_HOME/gs`, else `$HOME/.cache/gs`.
pub(crate) fn cache_dir() -> Option<PathBuf> {
    let non_empty = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    non_empty("GS_CACHE_DIR")
        .or_else(|| {
            non_empty("XDG_CACHE_HOME")
                .filter(|p| p.is_absolute())
                .map(|p| p.join("gs"))
        })
        .or_else(|| non_empty("HOME").map(|h| h.join(".cache").join("gs")))
}

/// The compiled-component cache.
pub(crate) fn component_cache() -> Option<PathBuf> {
    cache_dir().map(|d| d.join("components"))
}
