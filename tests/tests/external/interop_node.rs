//! The chat, greeting, denied and routes apps written with the official Nitric Node SDK
//! (`@nitric/sdk`, pinned in `tests/interop/node/`), run against this
//! project's `nitric-local` binary with real websocket clients. The SDK is
//! installed under `target/interop/` on first run.

use nitric_tests::interop::{routes, scenarios, Sdk};

const MEMBRANE: &str = env!("CARGO_BIN_EXE_nitric-local-membrane");

#[tokio::test]
async fn chat_broadcasts_and_forgets_who_left() {
    scenarios::chat_broadcasts_and_forgets_who_left(Sdk::Node, MEMBRANE).await;
}

#[tokio::test]
async fn chat_refuses_a_rejected_connection() {
    scenarios::chat_refuses_a_rejected_connection(Sdk::Node, MEMBRANE).await;
}

#[tokio::test]
async fn chat_reads_writes_and_deletes_key_values() {
    scenarios::chat_reads_writes_and_deletes_key_values(Sdk::Node, MEMBRANE).await;
}

#[tokio::test]
async fn greeting_goes_through_a_topic() {
    scenarios::greeting_goes_through_a_topic(Sdk::Node, MEMBRANE).await;
}

#[tokio::test]
async fn an_undeclared_permission_is_denied() {
    scenarios::an_undeclared_permission_is_denied(Sdk::Node, MEMBRANE).await;
}

#[tokio::test]
async fn routes_answer_http_requests() {
    routes::routes_answer_http_requests(Sdk::Node, MEMBRANE).await;
}

#[tokio::test]
async fn a_route_sends_to_the_sockets() {
    routes::a_route_sends_to_the_sockets(Sdk::Node, MEMBRANE).await;
}

#[tokio::test]
async fn the_schedule_fires_and_reaches_the_sockets() {
    routes::the_schedule_fires_and_reaches_the_sockets(Sdk::Node, MEMBRANE).await;
}
