//! The external tier: tests that need more than the workspace and cargo.
//! They install the official Node and Python SDKs from npm and PyPI, drive
//! headless Chromium (installed with apt-get, as root, when missing), and
//! build crates outside the workspace that resolve their dependencies on
//! crates.io. Built only with the `external` feature of nitric-tests:
//!
//! ```sh
//! cargo test --workspace --features nitric-tests/external
//! ```
//!
//! runs this tier with the hermetic one (see docs/testing.md).

mod equivalence;
mod interop_node;
mod interop_python;
mod outside_user;
mod readme_test_kit;
mod try_page;
