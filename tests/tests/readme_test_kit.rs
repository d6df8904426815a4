//! The README's test-kit example, copied into a fresh crate outside the
//! workspace that depends on nitric-runtime as a user's crate would, must
//! compile and pass.

use std::path::{Path, PathBuf};
use std::process::Command;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the workspace")
        .to_owned()
}

/// The body of the first fenced block of `language` whose first line is
/// `first_line`.
fn block<'a>(readme: &'a str, language: &str, first_line: &str) -> &'a str {
    let fence = format!("```{language}\n{first_line}\n");
    let start = readme
        .find(&fence)
        .unwrap_or_else(|| panic!("README.md has no {language} block starting {first_line:?}"))
        + format!("```{language}\n").len();
    let length = readme[start..].find("```").expect("the block is closed");
    &readme[start..start + length]
}

#[test]
fn the_readme_test_file_passes_in_a_fresh_crate() {
    let root = workspace();
    let readme = std::fs::read_to_string(root.join("README.md")).expect("read README.md");
    let dependencies = block(&readme, "toml", "[dev-dependencies]");
    let test_file = block(&readme, "rust", "// tests/shout.rs");

    // The README's dependency, pointed at this checkout instead of crates.io.
    let runtime = root.join("nitric-runtime");
    let dependencies = dependencies.replace(
        "nitric-runtime = { version = \"0.1\",",
        &format!(
            "nitric-runtime = {{ path = {:?},",
            runtime.display().to_string()
        ),
    );
    assert!(
        dependencies.contains("path ="),
        "the README names nitric-runtime 0.1:\n{dependencies}"
    );

    let krate = tempfile::tempdir().expect("create the crate's folder");
    let manifest = format!(
        "[package]\nname = \"readme-user\"\nversion = \"0.1.0\"\nedition = \"2021\"\npublish = false\n\n[workspace]\n\n{dependencies}"
    );
    std::fs::write(krate.path().join("Cargo.toml"), manifest).unwrap();
    std::fs::create_dir_all(krate.path().join("src")).unwrap();
    std::fs::write(krate.path().join("src/lib.rs"), "").unwrap();
    std::fs::create_dir_all(krate.path().join("tests")).unwrap();
    std::fs::write(krate.path().join("tests/shout.rs"), test_file).unwrap();
    // The workspace's lock file pins the same versions, so nothing new is
    // resolved; its own target folder keeps later runs incremental.
    std::fs::copy(root.join("Cargo.lock"), krate.path().join("Cargo.lock")).unwrap();
    let target = root.join("target").join("readme-user");

    let output = Command::new(env!("CARGO"))
        .args(["test", "--quiet", "--manifest-path"])
        .arg(krate.path().join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", &target)
        .env_remove("RUSTFLAGS")
        .output()
        .expect("run cargo");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "cargo test of the README's example failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    assert!(
        stdout.contains("2 passed"),
        "both of the README's tests ran:\n{stdout}"
    );
}
