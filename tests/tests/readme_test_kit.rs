//! The README's test-kit example, copied into a fresh crate outside the
//! workspace that depends on nitric-runtime as a user's crate would, must
//! compile and pass.

use nitric_tests::fresh_crate::{workspace, FreshCrate};

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

    let krate = FreshCrate::new("readme-user", &dependencies);
    krate.write("src/lib.rs", "");
    krate.write("tests/shout.rs", test_file);
    let output = krate.cargo(&["test", "--quiet"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("2 passed"),
        "both of the README's tests ran:\n{stdout}"
    );
}
