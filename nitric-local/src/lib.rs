//! The local membrane: the sidecar a Nitric application talks to, running
//! on your machine, either as the `nitric-local` binary or embedded in the
//! application's process.
//!
//! It serves the membrane's gRPC services for the application:
//!
//! - `Resources`: declarations of resources and policies; the policies are
//!   enforced (see "Policies" below);
//! - `Websocket` and `WebsocketHandler`: a real websocket gateway for each
//!   socket the application handles;
//! - `KvStore`: key/value stores kept in a database file on disk, so data
//!   survives restarts. When the disk fails, a call fails with UNAVAILABLE
//!   naming the key and the I/O error, and the database is reopened so
//!   that calls succeed again once the disk works. Keys follow the
//!   cloud's rules (DynamoDB's for a partition key: 1 to 2,048 bytes of
//!   UTF-8, any characters); others are refused with INVALID_ARGUMENT
//!   naming the rule;
//! - `Topics` and `Subscriber`: messages published to a topic are delivered
//!   to every stream subscribed to it, at least once, retried with a
//!   jittered exponential backoff when a subscriber fails, and dropped after
//!   a bounded number of attempts with an error log giving the topic, the
//!   payload's size and at most its first 200 characters. A `Publish` may
//!   ask for a delay, at most 7 days (INVALID_ARGUMENT beyond).
//! - `Schedules`: each schedule registered on its stream fires on its
//!   rate (Nitric's words, "5 minutes") or its 5-field cron expression
//!   (UTC), one stream per schedule name (see the `schedules` module).
//! - `Api`: `Serve` streams each serving one route of an HTTP API, which
//!   gets a real HTTP listener (the first on port 4100); requests are routed
//!   by method and path (`:name` parameters), answered 404, 405, 503 or 504
//!   when the application cannot answer; `ApiDetails` gives its URL.
//!
//! Topic messages live in memory only. A message published while its topic
//! has no subscriber is queued and delivered once a subscriber registers.
//! The messages held (queued, delayed, or not yet delivered) are bounded
//! across all topics, by default to 10 000 messages and 64 MiB of payload
//! ([`TopicLimits`]): beyond either bound `Publish` fails with
//! RESOURCE_EXHAUSTED saying which. One task and one timer wheel drive
//! every delayed message and retry. Queued, delayed and undelivered
//! messages are lost when the membrane stops; shutdown logs how many.
//!
//! # Policies
//!
//! As in the cloud, a service may only do what its declared policies allow:
//! `KvStore.GetValue` and `ScanKeys` need `KeyValueStoreRead` on the store,
//! `SetValue` `KeyValueStoreWrite`, `DeleteKey` `KeyValueStoreDelete`;
//! `Topics.Publish` needs `TopicPublish` on the topic (subscribing needs
//! nothing); `Websocket.SendMessage`, `CloseConnection` and `SocketDetails`
//! need `WebsocketManage` on the socket. Anything else is refused with
//! PERMISSION_DENIED naming the resource, the missing action and the
//! permission to declare, such as
//! `key/value store "connections": this service has no policy allowing
//! KeyValueStoreWrite; declare the store with the "set" permission (...)`.
//! A membrane serves one service, so every policy naming a service as
//! principal (the SDKs name "this service" with an empty name) counts. A
//! call is checked when it arrives, against the declarations received so
//! far. [`Config::enforce_policies`] `= false` (the binary's
//! `--no-enforce-policies`) allows every call.
//!
//! # Limits of the websocket gateway
//!
//! The gateway behaves like the cloud gateway the application deploys to
//! (AWS API Gateway WebSockets), so that a client or handler that would
//! fail there fails here first. Each limit is a [`Config`] field, whose
//! documentation gives its default and what happens beyond it, and a flag
//! of the `nitric-local` binary (`max_message_size` is
//! `--max-message-size`; `nitric-local --help` lists them all).
//!
//! A slow client never slows anyone else down: `SendMessage` only queues
//! and never waits. When a client's queue would exceed its bound, the
//! gateway closes that client (1008, "policy violation") and the send
//! fails with NOT_FOUND, as a send to a client that has gone does (AWS
//! answers GoneException; API Gateway too drops clients that do not read).
//! Failing the send with RESOURCE_EXHAUSTED and keeping the client instead
//! would stop a broadcast loop at the first slow member (the usual loop
//! skips only members that are gone), and the client would stay behind
//! anyway. `CloseConnection` never waits either: the close frame goes out
//! after what is queued, and the TCP connection is dropped if that takes
//! more than 2 seconds. Every closed connection gets its disconnect event.
//!
//! Every client holds a file descriptor: the `nitric-local` binary raises
//! its limit on them to the most the system allows ([`raise_fd_limit`]).
//! When they run out anyway, a gateway or an API's listener answers a new
//! client 503 at once, and the gRPC listener closes a new connection,
//! instead of leaving them waiting until a descriptor is freed; connected
//! clients carry on.
//!
//! Each idle connection costs about 8 KiB: tungstenite reads in 4 KiB
//! chunks, writes every frame at once instead of buffering, the queue holds
//! nothing while nothing waits, and the connection's task keeps what only
//! runs for a moment (an event on its way, a write) in a box of its own.
//! After a burst of connections opened or closed, the `nitric-local` binary
//! asks glibc to give the memory it freed back to the system
//! (`malloc_trim`, [`Config::trim_memory`]); an embedded membrane leaves
//! the application's allocator alone.
//!
//! Run it as the `nitric-local` binary, or embed it with [`start`] (on the
//! current tokio runtime) or [`start_on_own_runtime`] (on threads of its
//! own, as an application embedding it does, so that nothing the
//! application's tasks do can stall its gateways). A membrane whose
//! [`Config::grpc_addr`] is `None` opens no gRPC port: only its own
//! process reaches it, in-process ([`LocalMembrane::in_process`]). One
//! [`Config::max_message_size`] sizes the gateway's messages and the gRPC
//! messages carrying them ([`Config::validate`] refuses sizes that cannot
//! be carried).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), nitric_local::StartError> {
//! # let data = tempfile::tempdir().unwrap();
//! let membrane = nitric_local::start(nitric_local::Config {
//!     grpc_addr: Some("127.0.0.1:0".parse().unwrap()), // any free port
//!     ws_port: 0,
//!     data_dir: data.path().to_owned(),
//!     announce: false,
//!     ..Default::default()
//! })
//! .await?;
//! // Point the application at the membrane:
//! println!("SERVICE_ADDRESS={}", membrane.grpc_addr().unwrap());
//! // No application has registered a handler for "public" yet.
//! assert_eq!(membrane.socket_url("public"), None);
//! membrane.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! # Words
//!
//! - The *local membrane* is this crate: the membrane of the Nitric
//!   contract, running on your machine instead of in the cloud.
//! - An *embedded* membrane is one started inside the application's own
//!   process ([`start_on_own_runtime`] with [`Config::embedded`]), as
//!   `nitric-runtime` does when no `SERVICE_ADDRESS` is set; the
//!   `nitric-local` binary runs one in a process of its own.
//! - *In-process* calls reach the services of an embedded membrane without
//!   HTTP/2 or a socket ([`InProcessChannel`]), where a process of its own
//!   is reached over gRPC on TCP.
//!
//! # Inside
//!
//! The folders follow the path of the work: clients come in at a gateway
//! (`websocket/`), their events go down the application's streams
//! (`app_stream/`), the application's calls arrive at the gRPC services
//! (`services/`), which keep data in the store (`store/`) and topic
//! messages in the broker (`topics/`).
//!
//! - `lifecycle`: [`start`] brings the parts up, [`LocalMembrane`] takes
//!   them down;
//! - `listener`: serving HTTP/1.1 on a gateway's or an API's port, with
//!   a header read timeout, a refusal when file descriptors run out, and
//!   a cap on connections;
//! - `websocket/`: the per-socket gateways and their connections;
//! - `apis/`: one HTTP listener per API, routing requests by method and
//!   path to the application's `Api.Serve` streams;
//! - `app_stream/`: the application's streams (`HandleEvents`, `Subscribe`):
//!   the handler router that sends each websocket event down the stream
//!   registered for its socket and event type, and the pairing of requests
//!   with their answers by id;
//! - `services/`: one module per gRPC service, each translating between
//!   protobuf messages and the parts around it;
//! - `topics/`: the topic broker, its subscriber streams and deliveries;
//! - `store/`: the on-disk key/value database, its writer thread, and its
//!   recovery from I/O errors;
//! - `policies`: what the declared policies allow, checked by each service;
//! - `in_process`: in-process calls ([`InProcessChannel`]);
//! - `descriptors/`: raising the limit on open file descriptors
//!   ([`raise_fd_limit`]), and accepting connections when they run out;
//! - `memory`: giving freed memory back after a burst of connections
//!   ([`Config::trim_memory`]);
//! - `config`: what [`Config`] holds, and reading it from the environment.
//!
//! Socket names are compared, and websocket events named, as
//! [`nitric_protocol::names`] says.

#![warn(missing_docs)]

// From the bottom up: no module uses one listed after it
// (tests/tests/end_to_end/layers.rs checks).
mod memory;
mod descriptors;
mod store;
mod policies;
mod app_stream;
mod topics;
mod schedules;
mod config;
mod listener;
mod websocket;
mod apis;
mod in_process;
mod services;
mod lifecycle;

use std::sync::{Mutex, MutexGuard, PoisonError};

/// Not part of the API: what the source of the `nitric-local` binary takes
/// from the library. The workspace's test crate builds that source as a
/// binary of its own, which reaches clap through here instead of depending
/// on it.
#[cfg(feature = "cli")]
#[doc(hidden)]
pub mod __cli {
    pub use clap;
}

pub use config::{
    parse_duration, parse_origins, parse_size, Config, ConfigError, ALLOWED_ORIGINS_ENV,
    ENV_VARIABLES,
};
pub use descriptors::{raise_fd_limit, FdLimit};
pub use in_process::InProcessChannel;
pub use lifecycle::{start, start_on_own_runtime, LocalMembrane, StartError};
pub use schedules::ScheduleTiming;
#[doc(hidden)]
pub use topics::TopicDelivery;
pub use topics::TopicLimits;

/// Locks `mutex`, even one whose holder panicked: every update of what the
/// membrane keeps behind a mutex leaves it consistent, so a panic cannot
/// leave it half-changed.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
