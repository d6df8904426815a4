//! Nitric applications in Rust.
