//! Where gs keeps its cache (compiled plugins) and its data (the cache's secret key), outside
//! the repository and the working directory.

use std::path::PathBuf;

use gs_runtime::CacheLocation;

fn non_empty(key: &str) -> Option<PathBuf> {
    std::env::var_os(key)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// `$override_key`, else `$xdg_key/gs` (when absolute), else `$HOME/<home_default>/gs`.
fn user_dir(override_key: &str, xdg_key: &str, home_default: &str) -> Option<PathBuf> {
    non_empty(override_key)
        .or_else(|| {
            non_empty(xdg_key)
                .filter(|p| p.is_absolute())
                .map(|p| p.join("gs"))
        })
        .or_else(|| non_empty("HOME").map(|h| h.join(home_default).join("gs")))
}

/// `$GS_CACHE_DIR`, else `$XDG_CACHE_HOME/gs`, else `$HOME/.cache/gs`.
pub(crate) fn cache_dir() -> Option<PathBuf> {
    user_dir("GS_CACHE_DIR", "XDG_CACHE_HOME", ".cache")
}

/// `$GS_DATA_DIR`, else `$XDG_DATA_HOME/gs`, else `$HOME/.local/share/gs`.
pub(crate) fn data_dir() -> Option<PathBuf> {
    user_dir("GS_DATA_DIR", "XDG_DATA_HOME", ".local/share")
}

/// The compiled-component cache, `<cache dir>/components`, and its secret key,
/// `<data dir>/component-cache.key`. The key lives in the data folder, not in the cache
/// folder, because caches get shared and restored (a CI cache of `~/.cache`): whoever could
/// write the cache and read the key could plant native code that gs would run.
pub(crate) fn component_cache() -> Option<CacheLocation> {
    Some(CacheLocation {
        dir: cache_dir()?.join("components"),
        key_file: data_dir()?.join("component-cache.key"),
    })
}
