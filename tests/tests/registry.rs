//! Sharing plugins through a real OCI registry (Debian's distribution registry 2.8, started on
//! 127.0.0.1 by the test) and through an offline image layout, with the real `gs` binary:
//! push, pull by tag and by digest, `gs launch --plugin oci://…`, basic auth from Docker's
//! config, signatures (the referrers tag scheme on the registry, referrers in `index.json` on
//! the layout, detached `.sig` beside a file), the trust policy, `gs.lock`, and tampering,
//! refused with the reference and the digest and leaving the cache as it was.

use std::path::{Path, PathBuf};

use gs_tests::registry::Registry;
use gs_tests::{GsRun, gs_command, plugin_path, small_demo_graph};
use sha2::{Digest, Sha256};

/// `gs` in `dir`, with its own cache, config directory (no user trust policy) and Docker
/// config directory.
fn gs(dir: &Path, args: &[&str]) -> GsRun {
    GsRun::from(
        gs_command(dir)
            .env("XDG_CONFIG_HOME", dir.join(".config"))
            .env("DOCKER_CONFIG", dir.join(".docker"))
            .env("GS_REGISTRY_TIMEOUT_S", "5")
            .args(args)
            .output()
            .expect("gs runs"),
    )
}

/// `gs plugin push` of the test component `plugin` to `reference`, which must succeed.
fn push_plugin(dir: &Path, plugin: &str, reference: &str) -> GsRun {
    let component = plugin_path(plugin);
    gs(
        dir,
        &["plugin", "push", component.to_str().unwrap(), reference],
    )
    .ok()
}

fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// The value printed after `label:` (`manifest:  sha256:…`).
fn printed(run: &GsRun, label: &str) -> String {
    run.stdout
        .lines()
        .find_map(|l| l.strip_prefix(label))
        .map(|rest| {
            rest.split_whitespace()
                .next()
                .unwrap_or_default()
                .to_string()
        })
        .unwrap_or_else(|| panic!("no `{label}` in:\n{}", run.stdout))
}

/// Trains the plugin `reference` names for 2 epochs on the small demo graph in `dir`.
fn launch(dir: &Path, reference: &str, extra: &[&str]) -> GsRun {
    let yaml = gs_tests::demo_yaml();
    let run = [&["--plugin", reference, "--num-epochs", "2"], extra].concat();
    gs(dir, &gs_tests::nc_on_demo_args(&yaml, &run))
}

fn cached_components(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir.join(".gs-cache/plugins/blobs/sha256"))
        .map(|entries| entries.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default()
}

/// GET of a manifest (`accept`: its media type) from `registry`'s `repository`.
fn registry_document(
    registry: &Registry,
    repository: &str,
    reference: &str,
    accept: &str,
) -> serde_json::Value {
    let url = format!("{}/v2/{repository}/manifests/{reference}", registry.url());
    let body = ureq::get(&url)
        .header("Accept", accept)
        .call()
        .unwrap_or_else(|e| panic!("GET {url}: {e}"))
        .body_mut()
        .read_to_string()
        .unwrap();
    serde_json::from_str(&body).unwrap()
}

fn registry_manifest(registry: &Registry, repository: &str, reference: &str) -> serde_json::Value {
    registry_document(
        registry,
        repository,
        reference,
        "application/vnd.oci.image.manifest.v1+json",
    )
}

#[test]
fn push_pull_by_tag_and_digest_and_launch_from_the_registry() {
    let registry = Registry::start();
    let graph = small_demo_graph();
    let dir = graph.path();
    let sage = std::fs::read(plugin_path("sage")).unwrap();
    let reference = format!("oci://{}/team/sage:1.0", registry.address());

    let push = push_plugin(dir, "sage", &reference);
    let manifest = printed(&push, "manifest:");
    assert_eq!(printed(&push, "component:"), sha256(&sage));

    // The CNCF Wasm layout, with the annotations `push` promises.
    let stored = registry_manifest(&registry, "team/sage", "1.0");
    assert_eq!(
        stored["config"]["mediaType"],
        "application/vnd.wasm.config.v0+json"
    );
    assert_eq!(stored["layers"].as_array().unwrap().len(), 1);
    assert_eq!(stored["layers"][0]["mediaType"], "application/wasm");
    assert_eq!(stored["layers"][0]["digest"], sha256(&sage));
    let notes = &stored["annotations"];
    assert_eq!(notes["org.opencontainers.image.title"], "sage");
    assert!(
        notes["dev.gs.plugin.wit"]
            .as_str()
            .unwrap()
            .starts_with("gs:plugin@0.1.")
    );
    assert!(notes["dev.gs.plugin.sdk-version"].is_string());
    assert!(notes["org.opencontainers.image.version"].is_string());

    // Pull by tag, then by digest: the cached file is the component, byte for byte.
    let pull = gs(dir, &["plugin", "pull", &reference]).ok();
    assert_eq!(printed(&pull, "manifest:"), manifest);
    let cached = PathBuf::from(printed(&pull, "cached at:"));
    assert_eq!(std::fs::read(&cached).unwrap(), sage);
    let by_digest = format!("oci://{}/team/sage@{manifest}", registry.address());
    let pull = gs(dir, &["plugin", "pull", &by_digest]).ok();
    assert!(pull.stdout.contains("already cached"), "{}", pull.stdout);
    let list = gs(dir, &["plugin", "list", "--json"]).ok();
    let listed: serde_json::Value = serde_json::from_str(&list.stdout).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 2);

    // Training from the registry by digest: the checkpoint records the pinned reference.
    launch(dir, &by_digest, &["--save-model-path", "model"]).ok();
    let meta: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("model/epoch-1/checkpoint.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(meta["plugin"]["source"], by_digest);
    assert_eq!(
        meta["plugin"]["digest"].as_str().unwrap(),
        &sha256(&sage)[7..]
    );

    // Inference with --plugin oci://…:tag is checked against the checkpoint's digest.
    gs_tests::runs::infer_from_best_checkpoint(dir, "model", &["--plugin", &reference]);
    let other = format!("oci://{}/team/gat:1", registry.address());
    push_plugin(dir, "gat", &other);
    let yaml = gs_tests::demo_yaml();
    gs(
        dir,
        &[
            "node-classification",
            "--inference",
            "--num-trainers",
            "1",
            "--part-config",
            "data/demo.json",
            "--cf",
            yaml.to_str().unwrap(),
            "--restore-model-path",
            "model/epoch-1",
            "--plugin",
            &other,
        ],
    )
    .fails_with(1, &["is not the plugin that trained", &sha256(&sage)[7..]]);

    // `gs plugin rm` drops the records and the component.
    gs(dir, &["plugin", "rm", &sha256(&sage)]).ok();
    let list = gs(dir, &["plugin", "list"]).ok();
    assert!(!list.stdout.contains("team/sage"), "{}", list.stdout);
    assert!(!cached.exists());
}

#[test]
fn basic_auth_reads_docker_config_and_a_refusal_names_the_registry() {
    let registry = Registry::start_with_basic_auth("alice", "s3cret");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let reference = format!("oci://{}/team/sage:1", registry.address());
    let sage = plugin_path("sage");
    let sage = sage.to_str().unwrap();

    gs(dir, &["plugin", "push", sage, &reference]).fails_with(
        1,
        &[
            &reference[..reference.len() - 2],
            "credentials",
            "config.json",
        ],
    );

    let write_config = |password: &str| {
        std::fs::create_dir_all(dir.join(".docker")).unwrap();
        let auth = gs_tests::registry::base64(format!("alice:{password}").as_bytes());
        let auths = serde_json::json!({"auths": {registry.address(): {"auth": auth}}});
        std::fs::write(dir.join(".docker/config.json"), auths.to_string()).unwrap();
    };
    write_config("wrong");
    gs(dir, &["plugin", "push", sage, &reference]).fails_with(1, &["credentials"]);
    write_config("s3cret");
    gs(dir, &["plugin", "push", sage, &reference]).ok();
    gs(dir, &["plugin", "pull", &reference]).ok();
}

#[test]
fn a_tampered_blob_a_down_registry_and_a_silent_one_are_refused_and_the_cache_keeps_what_it_had() {
    let registry = Registry::start();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let v1 = format!("oci://{}/team/model:1", registry.address());
    let v2 = format!("oci://{}/team/model:2", registry.address());
    push_plugin(dir, "sage", &v1);
    gs(dir, &["plugin", "pull", &v1]).ok();
    let before = cached_components(dir);
    assert_eq!(before.len(), 1);

    let gat = std::fs::read(plugin_path("gat")).unwrap();
    push_plugin(dir, "gat", &v2);
    // Flip one byte of the stored component: the registry serves it, gs refuses it.
    let blob = registry.blob_path(&sha256(&gat)[7..]);
    let mut bytes = std::fs::read(&blob).unwrap();
    bytes[100] ^= 1;
    std::fs::write(&blob, bytes).unwrap();
    gs(dir, &["plugin", "pull", &v2])
        .fails_with(1, &["team/model", &sha256(&gat), "does not match"]);
    assert_eq!(
        cached_components(dir),
        before,
        "nothing new entered the cache"
    );
    let list = gs(dir, &["plugin", "list"]).ok();
    assert!(
        list.stdout.contains("team/model:1 ") && !list.stdout.contains("team/model:2"),
        "{}",
        list.stdout
    );

    // A missing tag, then the registry down: clear errors naming the reference.
    let missing = format!("oci://{}/team/model:3", registry.address());
    gs(dir, &["plugin", "pull", &missing]).fails_with(1, &["team/model", "does not exist"]);
    let address = registry.address();
    drop(registry);
    let down = format!("oci://{address}/team/model:1");
    gs(dir, &["plugin", "pull", &down]).fails_with(1, &["cannot connect", &address]);
    // The version cached before stays usable: its component is still in the cache.
    assert_eq!(cached_components(dir), before);

    // A server that accepts and never answers is given up on after GS_REGISTRY_TIMEOUT_S.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_ref = format!("oci://{}/team/model:1", silent.local_addr().unwrap());
    let started = std::time::Instant::now();
    gs(dir, &["plugin", "pull", &silent_ref]).fails_with(1, &["did not answer within"]);
    assert!(started.elapsed() < std::time::Duration::from_secs(60));
}

#[test]
fn signatures_on_the_registry_use_the_referrers_tag_scheme_and_fail_closed() {
    let registry = Registry::start();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let reference = format!("oci://{}/team/sage:1", registry.address());
    let push = push_plugin(dir, "sage", &reference);
    let manifest = printed(&push, "manifest:");
    gs(dir, &["plugin", "keygen", "--output", "team"]).ok();
    gs(dir, &["plugin", "keygen", "--output", "other"]).ok();

    gs(dir, &["plugin", "verify", &reference, "--key", "team.pub"])
        .fails_with(1, &["team/sage", "has no signature"]);
    gs(dir, &["plugin", "sign", &reference, "--key", "team"]).ok();
    let verified = gs(dir, &["plugin", "verify", &reference, "--key", "team.pub"]).ok();
    assert!(
        verified.stdout.contains("signed by key"),
        "{}",
        verified.stdout
    );
    gs(dir, &["plugin", "verify", &reference, "--key", "other.pub"])
        .fails_with(1, &["none of its 1 signature(s) verifies"]);

    // Registry 2.8 has no referrers API: the index lives under the `sha256-<hex>` tag.
    let tags = ureq::get(&format!("{}/v2/team/sage/tags/list", registry.url()))
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    assert!(tags.contains(&manifest.replace(':', "-")), "{tags}");
    let index = registry_document(
        &registry,
        "team/sage",
        &manifest.replace(':', "-"),
        "application/vnd.oci.image.index.v1+json",
    );
    let entry = &index["manifests"][0];
    assert_eq!(
        entry["artifactType"],
        "application/vnd.gs.plugin.signature.ed25519.v1"
    );

    // A flipped bit in the stored signature is refused, not skipped.
    let signature_manifest =
        registry_manifest(&registry, "team/sage", entry["digest"].as_str().unwrap());
    let signature_blob = signature_manifest["layers"][0]["digest"]
        .as_str()
        .unwrap()
        .to_string();
    let blob = registry.blob_path(&signature_blob[7..]);
    let mut bytes = std::fs::read(&blob).unwrap();
    bytes[0] ^= 1;
    std::fs::write(&blob, bytes).unwrap();
    gs(dir, &["plugin", "verify", &reference, "--key", "team.pub"]).fails_with(1, &["team/sage"]);
}

#[test]
fn the_lock_pins_tags_and_locked_refuses_what_it_does_not_pin() {
    let registry = Registry::start();
    let graph = small_demo_graph();
    let dir = graph.path();
    let reference = format!("oci://{}/team/model:stable", registry.address());
    let sage = std::fs::read(plugin_path("sage")).unwrap();
    push_plugin(dir, "sage", &reference);

    let first = launch(dir, &reference, &[]).ok();
    assert!(first.stderr.contains("pinned"), "{}", first.stderr);
    let lock = std::fs::read_to_string(dir.join("gs.lock")).unwrap();
    assert!(
        lock.contains(&reference) && lock.contains(&sha256(&sage)),
        "{lock}"
    );
    launch(dir, &reference, &["--locked", "true"]).ok();

    // The tag moves to another component: the lock refuses it and shows both digests.
    let push = push_plugin(dir, "gat", &reference);
    let moved = printed(&push, "manifest:");
    let run = launch(dir, &reference, &[]);
    run.fails_with(1, &["gs.lock", &reference, &sha256(&sage), &moved]);
    assert_eq!(
        std::fs::read_to_string(dir.join("gs.lock")).unwrap(),
        lock,
        "the lock is unchanged"
    );

    let other = format!("oci://{}/team/model@{moved}", registry.address());
    launch(dir, &other, &["--locked", "true"]).fails_with(1, &["does not pin", "--locked"]);

    // With the registry gone, the version the lock pins still runs from the cache.
    drop(registry);
    let offline = launch(dir, &reference, &["--locked", "true"]).ok();
    assert!(
        offline.stderr.contains("cannot connect") && offline.stderr.contains(&sha256(&sage)),
        "{}",
        offline.stderr
    );
}

#[test]
fn an_offline_layout_pushes_pulls_signs_verifies_and_refuses_tampering() {
    let graph = small_demo_graph();
    let dir = graph.path();
    let sage = std::fs::read(plugin_path("sage")).unwrap();
    let push = push_plugin(dir, "sage", "oci-layout:store:1");
    let manifest = printed(&push, "manifest:");
    for file in ["store/oci-layout", "store/index.json"] {
        assert!(dir.join(file).is_file(), "{file}");
    }
    let component_blob = dir.join("store/blobs/sha256").join(&sha256(&sage)[7..]);
    assert_eq!(std::fs::read(&component_blob).unwrap(), sage);

    // Signatures are referrers in index.json, found through their subject.
    gs(dir, &["plugin", "keygen", "--output", "team"]).ok();
    gs(
        dir,
        &["plugin", "sign", "oci-layout:store:1", "--key", "team"],
    )
    .ok();
    let index: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("store/index.json")).unwrap())
            .unwrap();
    let referrer = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["artifactType"].is_string())
        .expect("a signature entry");
    let referrer_hex = &referrer["digest"].as_str().unwrap()[7..];
    let signature: serde_json::Value = serde_json::from_slice(
        &std::fs::read(dir.join("store/blobs/sha256").join(referrer_hex)).unwrap(),
    )
    .unwrap();
    assert_eq!(signature["subject"]["digest"], manifest);

    // Copied to another place (an air-gapped machine), it pulls and verifies by digest.
    let copy = dir.join("copy");
    std::fs::create_dir_all(copy.join("blobs/sha256")).unwrap();
    for name in ["oci-layout", "index.json"] {
        std::fs::copy(dir.join("store").join(name), copy.join(name)).unwrap();
    }
    for entry in std::fs::read_dir(dir.join("store/blobs/sha256")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(
            entry.path(),
            copy.join("blobs/sha256").join(entry.file_name()),
        )
        .unwrap();
    }
    let pinned = format!("oci-layout:copy@{manifest}");
    gs(dir, &["plugin", "verify", &pinned, "--key", "team.pub"]).ok();
    launch(dir, &pinned, &[]).ok();

    // Tampered: the component blob of the copy. Refused with its digest; nothing cached.
    let mut bytes = std::fs::read(copy.join("blobs/sha256").join(&sha256(&sage)[7..])).unwrap();
    bytes[200] ^= 1;
    std::fs::write(copy.join("blobs/sha256").join(&sha256(&sage)[7..]), bytes).unwrap();
    gs(dir, &["plugin", "rm", &sha256(&sage)]).ok();
    assert!(cached_components(dir).is_empty());
    gs(dir, &["plugin", "pull", "oci-layout:copy:1"])
        .fails_with(1, &["oci-layout:copy:1", &sha256(&sage), "does not match"]);
    assert!(cached_components(dir).is_empty());

    // A missing layer: the blob is gone from the copy.
    std::fs::remove_file(copy.join("blobs/sha256").join(&sha256(&sage)[7..])).unwrap();
    gs(dir, &["plugin", "pull", "oci-layout:copy:1"]).fails_with(
        1,
        &[
            "oci-layout:copy:1",
            "the component layer",
            &sha256(&sage),
            "does not exist",
        ],
    );
    assert!(cached_components(dir).is_empty());

    // A manifest with a container image's config type is not a plugin.
    let manifest_path = dir.join("store/blobs/sha256").join(&manifest[7..]);
    let text = std::fs::read_to_string(&manifest_path).unwrap().replace(
        "application/vnd.wasm.config.v0+json",
        "application/vnd.oci.image.config.v1+json",
    );
    let bad_hex = &sha256(text.as_bytes())[7..];
    std::fs::write(dir.join("store/blobs/sha256").join(bad_hex), &text).unwrap();
    let index_text = std::fs::read_to_string(dir.join("store/index.json"))
        .unwrap()
        .replace(&manifest[7..], bad_hex)
        .replace(
            &format!(
                "\"size\": {}",
                std::fs::metadata(&manifest_path).unwrap().len()
            ),
            &format!("\"size\": {}", text.len()),
        );
    std::fs::write(dir.join("store/index.json"), index_text).unwrap();
    gs(dir, &["plugin", "pull", "oci-layout:store:1"]).fails_with(1, &["container image"]);

    // A detached signature beside a plain file.
    std::fs::copy(plugin_path("sage"), dir.join("model.wasm")).unwrap();
    gs(dir, &["plugin", "sign", "model.wasm", "--key", "team"]).ok();
    assert!(dir.join("model.wasm.sig").is_file());
    gs(
        dir,
        &["plugin", "verify", "model.wasm", "--key", "team.pub"],
    )
    .ok();
    std::fs::copy(plugin_path("gat"), dir.join("model.wasm")).unwrap();
    gs(
        dir,
        &["plugin", "verify", "model.wasm", "--key", "team.pub"],
    )
    .fails_with(1, &["model.wasm", "changed after it was signed"]);
}

#[test]
fn a_trust_policy_refuses_unsigned_and_foreign_signed_plugins() {
    let graph = small_demo_graph();
    let dir = graph.path();
    push_plugin(dir, "sage", "oci-layout:store:signed");
    push_plugin(dir, "gat", "oci-layout:store:unsigned");
    push_plugin(dir, "rgcn", "oci-layout:store:foreign");
    gs(dir, &["plugin", "keygen", "--output", "team"]).ok();
    gs(dir, &["plugin", "keygen", "--output", "stranger"]).ok();
    gs(
        dir,
        &["plugin", "sign", "oci-layout:store:signed", "--key", "team"],
    )
    .ok();
    gs(
        dir,
        &[
            "plugin",
            "sign",
            "oci-layout:store:foreign",
            "--key",
            "stranger",
        ],
    )
    .ok();
    std::fs::write(
        dir.join("policy.toml"),
        "[default]\nrequire_signature = false\n\n[[namespace]]\nprefix = \"oci-layout:store\"\n\
         keys = [\"team.pub\"]\nrequire_signature = true\n",
    )
    .unwrap();
    let policy = ["--trust-policy", "policy.toml"];

    let ok = launch(dir, "oci-layout:store:signed", &policy).ok();
    assert!(ok.stderr.contains("signed by trusted key"), "{}", ok.stderr);
    launch(dir, "oci-layout:store:unsigned", &policy).fails_with(
        1,
        &[
            "oci-layout:store:unsigned",
            "refused by namespace",
            "has no signature",
        ],
    );
    launch(dir, "oci-layout:store:foreign", &policy).fails_with(
        1,
        &[
            "oci-layout:store:foreign",
            "none of its 1 signature(s) verifies",
        ],
    );
    // `gs serve` applies the policy to the registry plugin a checkpoint was trained with.
    launch(
        dir,
        "oci-layout:store:signed",
        &["--save-model-path", "model"],
    )
    .ok();
    std::fs::write(
        dir.join("strict.toml"),
        "[[namespace]]\nprefix = \"oci-layout:store\"\nkeys = [\"stranger.pub\"]\n",
    )
    .unwrap();
    let port = gs_tests::serving::free_port().to_string();
    let serve = [
        "serve",
        "--model-dir",
        "model",
        "--host",
        "127.0.0.1",
        "--port",
        &port,
    ];
    gs(
        dir,
        &[&serve[..], &["--trust-policy", "strict.toml"]].concat(),
    )
    .fails_with(1, &["oci-layout:store@sha256:", "refused by namespace"]);
    // And a --plugin that is not the checkpoint's is refused before serving.
    gs(
        dir,
        &[&serve[..], &["--plugin", "oci-layout:store:unsigned"]].concat(),
    )
    .fails_with(1, &["is not the plugin that trained"]);

    // Without the policy the same plugin runs (the user's config directory holds none).
    launch(dir, "oci-layout:store:unsigned", &[]).ok();
    // The user's own policy applies without the flag.
    std::fs::create_dir_all(dir.join(".config/gs")).unwrap();
    std::fs::copy(dir.join("team.pub"), dir.join(".config/gs/team.pub")).unwrap();
    std::fs::write(
        dir.join(".config/gs/trust-policy.toml"),
        "[[namespace]]\nprefix = \"oci-layout:store\"\nkeys = [\"team.pub\"]\n",
    )
    .unwrap();
    launch(dir, "oci-layout:store:unsigned", &[]).fails_with(1, &["has no signature"]);
}

#[test]
fn the_lock_pins_layout_tags_as_it_pins_registry_tags() {
    let graph = small_demo_graph();
    let dir = graph.path();
    let sage = std::fs::read(plugin_path("sage")).unwrap();
    let reference = "oci-layout:store:stable";
    push_plugin(dir, "sage", reference);
    launch(dir, reference, &[]).ok();
    let lock = std::fs::read_to_string(dir.join("gs.lock")).unwrap();
    assert!(
        lock.contains(reference) && lock.contains(&sha256(&sage)),
        "{lock}"
    );

    let push = push_plugin(dir, "gat", reference);
    let moved = printed(&push, "manifest:");
    launch(dir, reference, &[]).fails_with(1, &["gs.lock", reference, &sha256(&sage), &moved]);
    launch(dir, "oci-layout:store:other", &["--locked", "true"])
        .fails_with(1, &["does not pin", "--locked"]);
}
