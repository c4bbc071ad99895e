//! Every option gs accepts as supported names the test that shows it acts: a test that runs
//! with the default and a non-default value and asserts a difference. This meta-test fails
//! when a `Supported` row of the option table names no test, or one that does not exist.

use std::path::Path;

use gs_config::{Support, known_options};

/// The repository root (the tests crate sits one folder below it).
fn repo_root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// Why `reference` (`path/from/root.rs::test_fn`) does not name a test, or `None` if it does.
fn problem_with(reference: &str) -> Option<String> {
    let Some((file, test)) = reference.rsplit_once("::") else {
        return Some(format!("`{reference}` is not `path/to/file.rs::test_fn`"));
    };
    // `file.rs::tests::name` names a test inside a module of the file.
    let file = file.split("::").next().unwrap_or(file);
    if !file.ends_with(".rs") || test.is_empty() {
        return Some(format!("`{reference}` is not `path/to/file.rs::test_fn`"));
    }
    let text = match std::fs::read_to_string(repo_root().join(file)) {
        Ok(text) => text,
        Err(e) => return Some(format!("cannot read `{file}`: {e}")),
    };
    let needle = format!("fn {test}(");
    let Some(at) = text.find(&needle) else {
        return Some(format!("`{file}` has no `{needle}`"));
    };
    // The function is a test: `#[test]` is among the lines just above it.
    let before: Vec<&str> = text[..at].lines().rev().take(4).collect();
    if !before.iter().any(|line| line.trim() == "#[test]") {
        return Some(format!("`{test}` in `{file}` is not a #[test]"));
    }
    None
}

#[test]
fn every_supported_option_names_an_existing_test() {
    let mut problems = Vec::new();
    let mut named = 0;
    for spec in known_options() {
        let Support::Supported(reference) = spec.support else {
            continue;
        };
        named += 1;
        if let Some(problem) = problem_with(reference) {
            problems.push(format!("{}: {problem}", spec.key));
        }
    }
    assert!(named > 20, "only {named} supported options name a test");
    assert!(
        problems.is_empty(),
        "supported options must name an existing test:\n  {}",
        problems.join("\n  ")
    );
}

#[test]
fn the_check_itself_catches_missing_and_misnamed_tests() {
    assert!(
        problem_with("tests/tests/options_table.rs::every_supported_option_names_an_existing_test")
            .is_none()
    );
    assert!(problem_with("tests/tests/options_table.rs::no_such_test").is_some());
    assert!(problem_with("tests/tests/no_such_file.rs::a_test").is_some());
    assert!(
        problem_with("tests/tests/options_table.rs::problem_with").is_some(),
        "not a #[test]"
    );
    assert!(problem_with("").is_some());
    assert!(problem_with("just words").is_some());
}
