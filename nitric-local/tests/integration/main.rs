//! End-to-end tests of the local membrane: real gRPC over loopback, real
//! websocket clients, the real database on disk, real topic subscribers.
//! One test binary, one module per area, so the crate links its tests once.

mod binary;
mod common;
mod gateway;
mod kvstore;
mod lifecycle;
mod malformed_requests;
mod registration;
mod resources;
mod topics;
mod websocket_api;
