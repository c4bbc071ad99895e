//! Registry credentials: basic auth from Docker's `config.json` (`$DOCKER_CONFIG/config.json`,
//! else `~/.docker/config.json`), anonymous access otherwise. Credential helpers
//! (`credsStore`, `credHelpers`) are not run: a plugin pull never executes another program.

use std::path::PathBuf;

use base64::Engine as _;

/// Basic credentials for `host` (`host:port`), when Docker's config has them.
pub(crate) fn basic_credentials(host: &str) -> Option<(String, String)> {
    let path = docker_config_path()?;
    let text = std::fs::read_to_string(&path).ok()?;
    let config: serde_json::Value = serde_json::from_str(&text).ok()?;
    let auths = config.get("auths")?.as_object()?;
    let entry = auths
        .iter()
        .find(|(key, _)| registry_host(key) == host)
        .map(|(_, v)| v)?;
    if let (Some(user), Some(password)) = (
        entry.get("username").and_then(|v| v.as_str()),
        entry.get("password").and_then(|v| v.as_str()),
    ) {
        return Some((user.to_string(), password.to_string()));
    }
    let encoded = entry.get("auth")?.as_str()?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

fn docker_config_path() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("DOCKER_CONFIG") {
        return Some(PathBuf::from(dir).join("config.json"));
    }
    Some(
        PathBuf::from(std::env::var_os("HOME")?)
            .join(".docker")
            .join("config.json"),
    )
}

/// `https://host:port/v1/` → `host:port`: Docker's config keys may carry a scheme and a path.
fn registry_host(key: &str) -> &str {
    let key = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    key.split('/').next().unwrap_or(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_config_keys_match_with_or_without_scheme() {
        assert_eq!(
            registry_host("https://reg.example:5000/v1/"),
            "reg.example:5000"
        );
        assert_eq!(registry_host("127.0.0.1:5000"), "127.0.0.1:5000");
    }
}
