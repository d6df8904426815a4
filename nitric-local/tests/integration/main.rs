//! End-to-end tests of the local membrane: real gRPC over loopback, real
//! websocket clients, the real database on disk. One test binary, one module
//! per area, so the crate links its tests once.

mod binary;
mod common;
mod gateway;
mod kvstore;
mod lifecycle;
mod registration;
mod resources;
mod websocket_api;
