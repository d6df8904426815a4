//! A local Nitric membrane: the sidecar a Nitric application talks to,
//! running on your machine.
//!
//! It serves the membrane's gRPC services (`Resources`, `Websocket`,
//! `WebsocketHandler`, `KvStore`) for the application, runs a real websocket
//! gateway for each socket the application handles, and keeps key/value
//! stores in a database file on disk, so data survives restarts.
//!
//! Run it as the `nitric-local` binary, or embed it with [`start`]:
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), nitric_local::StartError> {
//! # let data = tempfile::tempdir().unwrap();
//! let membrane = nitric_local::start(nitric_local::Config {
//!     grpc_addr: "127.0.0.1:0".parse().unwrap(), // any free port
//!     ws_port: 0,
//!     data_dir: data.path().to_owned(),
//!     announce: false,
//!     ..Default::default()
//! })
//! .await?;
//! // Point the application at the membrane:
//! println!("SERVICE_ADDRESS={}", membrane.grpc_addr());
//! // No application has registered a handler for "public" yet.
//! assert_eq!(membrane.socket_url("public"), None);
//! membrane.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! Inside, one module per part: the handler registry that pairs events with
//! the application's answers, the per-socket websocket gateway, the on-disk
//! store, and one module per gRPC service.

#![warn(missing_docs)]

mod config;
mod gateway;
mod membrane;
mod registry;
mod services;
mod store;

pub use config::Config;
pub use membrane::{start, LocalMembrane, StartError};
