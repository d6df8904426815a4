//! Compile tests: what the attributes accept, and how they refuse the rest.
//!
//! `tests/ui/pass` must build; each file in `tests/ui/fail/<kind>/` must fail
//! with exactly the errors in the `.stderr` beside it. After a deliberate
//! change to a message, regenerate them with
//! `TRYBUILD=overwrite cargo test -p nitric-macros --test ui` and read the
//! diff: each error should point at the token at fault.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
    t.compile_fail("tests/ui/fail/**/*.rs");
}
