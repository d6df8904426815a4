//! The README's code, copied into a fresh crate outside the workspace that
//! depends on nitric-runtime as a user's crate would: the test-kit example
//! must compile and pass, and every other Rust block must compile as an
//! example of that crate.

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

/// Every fenced Rust block of the README, in order.
fn rust_blocks(readme: &str) -> Vec<&str> {
    readme
        .split("```rust\n")
        .skip(1)
        .map(|rest| &rest[..rest.find("```").expect("the block is closed")])
        .collect()
}

/// `examples/chat/main.rs` without its leading `//!` comment, as the README
/// quotes it.
fn chat_example_code(root: &std::path::Path) -> String {
    let source = std::fs::read_to_string(root.join("examples/chat/main.rs"))
        .expect("read examples/chat/main.rs");
    source
        .lines()
        .skip_while(|line| line.starts_with("//!") || line.is_empty())
        .map(|line| format!("{line}\n"))
        .collect()
}

#[test]
fn the_readme_code_builds_and_its_test_file_passes_in_a_fresh_crate() {
    let root = workspace();
    // The README and every page of docs/, in order: the blocks live there.
    let mut pages = vec![root.join("README.md")];
    let mut docs: Vec<_> = std::fs::read_dir(root.join("docs"))
        .expect("read docs/")
        .map(|entry| entry.expect("read docs/").path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "md"))
        .collect();
    docs.sort();
    pages.extend(docs);
    let readme: String = pages
        .iter()
        .map(|page| std::fs::read_to_string(page).expect("read a page of the docs"))
        .collect();
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

    // What the other blocks use besides the runtime.
    let dependencies = format!(
        "{dependencies}serde = {{ version = \"1\", features = [\"derive\"] }}\nserde_json = \"1\"\ntracing = \"0.1\"\n"
    );

    let blocks = rust_blocks(&readme);
    assert!(
        blocks.contains(&chat_example_code(&root).as_str()),
        "the README quotes examples/chat/main.rs as it is"
    );

    let krate = FreshCrate::new("readme-user", &dependencies);
    krate.write("src/lib.rs", "");
    krate.write("tests/shout.rs", test_file);
    // `cargo test` builds every example: each block is one, as a user would
    // paste it into a binary of their own.
    for (number, code) in blocks.iter().enumerate() {
        if *code == test_file {
            continue;
        }
        let main = if code.contains("fn main()") {
            ""
        } else {
            "\nfn main() {}\n"
        };
        krate.write(
            &format!("examples/readme_{number}.rs"),
            &format!("{code}{main}"),
        );
    }
    // Warnings fail the build too: the README is code users copy.
    let output = krate.cargo(&[
        "test",
        "--quiet",
        "--config",
        "build.rustflags=[\"-Dwarnings\"]",
    ]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("2 passed"),
        "both of the README's tests ran:\n{stdout}"
    );
}
