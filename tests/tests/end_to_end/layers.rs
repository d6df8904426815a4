//! Each crate's modules form layers: `lib.rs` declares them bottom up and
//! no module names one declared after it, so there is no import cycle.

use nitric_tests::layers;
use std::path::Path;

fn check(crate_dir: &str) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(crate_dir)
        .join("src");
    assert!(
        layers::declared_modules(&src).len() > 3,
        "{crate_dir}: found no module list in lib.rs"
    );
    let violations = layers::violations(&src);
    assert!(
        violations.is_empty(),
        "{crate_dir}: modules that reach up a layer:\n{}",
        violations
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn nitric_runtime_has_no_module_using_a_later_one() {
    check("nitric-runtime");
}

#[test]
fn nitric_local_has_no_module_using_a_later_one() {
    check("nitric-local");
}
