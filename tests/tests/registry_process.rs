//! The test registry itself (`gs_tests::registry`): a real `docker-registry` process starts on
//! a free loopback port, speaks the distribution API, and enforces basic auth when asked to.

use std::time::Duration;

use gs_tests::registry::{Registry, base64};

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
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
