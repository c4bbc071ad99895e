//! The test registry itself (`gs_tests::registry`): a real `docker-registry` process starts on
//! a free loopback port, speaks the distribution API, and enforces basic auth when asked to.

use std::time::Duration;

use gs_tests::registry::Registry;

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

/// Standard base64 with padding (RFC 4648), for a basic `Authorization` header.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn base64_matches_rfc_4648_vectors() {
    let cases = [
        ("", ""),
        ("f", "Zg=="),
        ("fo", "Zm8="),
        ("foo", "Zm9v"),
        ("foob", "Zm9vYg=="),
        ("fooba", "Zm9vYmE="),
        ("foobar", "Zm9vYmFy"),
    ];
    for (plain, encoded) in cases {
        assert_eq!(base64(plain.as_bytes()), encoded, "{plain:?}");
    }
}

#[test]
fn registry_answers_the_version_check() {
    let registry = Registry::start();
    let response = agent()
        .get(format!("{}/v2/", registry.url()))
        .call()
        .unwrap();
    assert_eq!(response.status().as_u16(), 200, "log:\n{}", registry.log());
    let version = response
        .headers()
        .get("Docker-Distribution-Api-Version")
        .and_then(|v| v.to_str().ok());
    assert_eq!(version, Some("registry/2.0"), "log:\n{}", registry.log());
    assert!(registry.data_dir().is_dir());
    assert!(
        registry.blob_path("ab12").starts_with(
            registry
                .data_dir()
                .join("docker/registry/v2/blobs/sha256/ab")
        )
    );
}

#[test]
fn registry_with_basic_auth_rejects_anonymous_and_accepts_the_user() {
    let (user, password) = ("gs-user", "s3cret pass:word");
    let registry = Registry::start_with_basic_auth(user, password);
    let url = format!("{}/v2/", registry.url());
    let agent = agent();

    let anonymous = agent.get(&url).call().unwrap();
    assert_eq!(anonymous.status().as_u16(), 401, "log:\n{}", registry.log());
    let challenge = anonymous
        .headers()
        .get("WWW-Authenticate")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(
        challenge.starts_with("Basic") && challenge.contains("gs-test"),
        "challenge {challenge:?}"
    );

    let wrong = agent
        .get(&url)
        .header(
            "Authorization",
            format!("Basic {}", base64(format!("{user}:wrong").as_bytes())),
        )
        .call()
        .unwrap();
    assert_eq!(wrong.status().as_u16(), 401, "log:\n{}", registry.log());

    let authorized = agent
        .get(&url)
        .header(
            "Authorization",
            format!("Basic {}", base64(format!("{user}:{password}").as_bytes())),
        )
        .call()
        .unwrap();
    assert_eq!(
        authorized.status().as_u16(),
        200,
        "log:\n{}",
        registry.log()
    );
}
