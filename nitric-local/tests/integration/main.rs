//! End-to-end tests of the local membrane: real gRPC over loopback, real
//! websocket clients, the real database on disk, real topic subscribers.
//! One test binary, one module per area, so the crate links its tests once.

mod apis;
mod binary;
mod common;
#[cfg(target_os = "linux")]
mod descriptors;
mod frames;
mod gateway;
mod host_header;
mod kvstore;
mod lifecycle;
mod limits;
mod malformed_requests;
mod page;
mod registration;
mod resources;
mod schedules;
mod slow_clients;
mod topics;
mod websocket_api;
