//! The hermetic end-to-end tier: app binaries as real processes, real
//! websocket clients over loopback, and nothing from outside the workspace
//! (no network, no root, no tools but cargo). One test binary, one module
//! per area; `cargo test` runs it. The tests that need more are in
//! `tests/tests/external/` (see docs/testing.md).

mod behaviours;
mod build_mode;
mod chat;
mod deploy_files;
mod echo;
mod greeting;
mod layers;
mod membrane_restart;
mod shutdown;
mod startup_errors;
mod topics;
mod validation;
