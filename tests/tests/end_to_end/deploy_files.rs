//! The files the Nitric CLI reads for the chat example point at things that
//! exist: Docker is not available to the tests, so this is as far as they
//! can follow `nitric up` (see docs/deploying.md, "Running under the Nitric CLI and
//! deploying").

use std::path::{Path, PathBuf};

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

/// The value of the first `key: value` line for `key` (comments dropped).
fn yaml_value<'a>(text: &'a str, key: &str) -> &'a str {
    text.lines()
        .map(|line| line.split(" #").next().unwrap().trim())
        .find_map(|line| line.strip_prefix(&format!("{key}:")))
        .map(str::trim)
        .unwrap_or_else(|| panic!("nitric.yaml has no `{key}:`"))
}

#[test]
fn the_chat_project_names_a_template_a_context_and_an_example_that_exist() {
    let project = repository().join("examples/chat");
    let config = std::fs::read_to_string(project.join("nitric.yaml")).unwrap();

    let entrypoint = project.join(yaml_value(&config, "- match"));
    assert!(entrypoint.is_file(), "{}", entrypoint.display());
    assert_eq!(yaml_value(&config, "runtime"), "rust");

    let dockerfile = project.join(yaml_value(&config, "dockerfile"));
    let template = std::fs::read_to_string(&dockerfile)
        .unwrap_or_else(|error| panic!("{}: {error}", dockerfile.display()));
    let ignore = PathBuf::from(format!("{}.dockerignore", dockerfile.display()));
    let ignored = std::fs::read_to_string(&ignore)
        .unwrap_or_else(|error| panic!("{}: {error}", ignore.display()));
    assert!(
        ignored.lines().any(|line| line.trim() == "target/"),
        "the build output stays out of the context"
    );

    let context = project.join(yaml_value(&config, "context"));
    assert_eq!(
        context.canonicalize().unwrap(),
        repository().canonicalize().unwrap(),
        "the context is the workspace root"
    );
    assert!(context.join("Cargo.lock").is_file(), "--locked needs it");

    for arg in ["TARGET_KIND", "TARGET_NAME"] {
        assert!(
            template.contains(&format!("ARG {arg}")),
            "the template takes {arg}"
        );
    }
    assert_eq!(yaml_value(&config, "TARGET_KIND"), "example");
    let example = yaml_value(&config, "TARGET_NAME");
    let examples = std::fs::read_to_string(repository().join("examples/Cargo.toml")).unwrap();
    assert!(
        examples.contains(&format!("name = \"{example}\"")),
        "examples/Cargo.toml has an example named {example:?}"
    );
    assert!(
        yaml_value(&config, "start").contains(&format!("--example {example}")),
        "`nitric start` runs the same example"
    );
    assert!(
        template.contains("ENTRYPOINT [\""),
        "an exec-form ENTRYPOINT, which the deployment wraps"
    );
}
